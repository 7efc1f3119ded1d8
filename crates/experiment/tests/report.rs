//! The comparison report: rendered from small synthetic data, parsed back
//! with an HTML parser (`check_report_html`), checked section by section;
//! bad data refused with a clear error; the check itself catches broken
//! pages.

use collop_core::VelocityGrid;
use collop_experiment::report::{
    AgreementRow, AgreementTable, AmplitudeRow, AmplitudeTable, BEST_MARKER, Block, Coefficient, ErrorFigure,
    ErrorSeries, Family, Image, Outcome, Population, ProfileFigure, Provenance, Report, ReportError, Role,
    RolloutRow, RolloutTable, Section, SetupRow, SnapshotFigure, SnapshotFrame, Table, check_report_html,
};
use collop_plot::{CurveStyle, Profile, RadialCurve};
use ndarray::Array2;

fn populations() -> Vec<Population> {
    vec![Population::new("pop-a", Role::Train), Population::new("pop-b", Role::HeldOut)]
}

fn row(model: &str, family: Family, cells: Vec<Outcome>) -> RolloutRow {
    RolloutRow { model: model.into(), family, cells }
}

/// Rollout errors of five models; the best of pop-a is `tensor`, of pop-b
/// the model named `<b>`, which failed on pop-a.
fn rollout() -> RolloutTable {
    use Outcome::{Failed, Value};
    RolloutTable {
        metric: "MAE of the normalised histograms".into(),
        window: "averaged over steps 1-40".into(),
        populations: populations(),
        rows: vec![
            row("tensor", Family::Learned, vec![Value(1.2e-4), Value(3.0e-4)]),
            row("<b>", Family::Learned, vec![Failed("diverged at step 12".into()), Value(2.5e-4)]),
            row("tracks-lag1", Family::Tracks, vec![Value(2.0e-4), Value(f64::NAN)]),
            row("theory-static", Family::Theory, vec![Value(5.0e-4), Value(6.0e-4)]),
            row("frozen", Family::Frozen, vec![Value(1.0e-3), Value(1.1e-3)]),
        ],
    }
}

/// Profiles of a drag `-v` and diffusions falling off with `|v|`, scaled.
fn curve(label: &str, style: CurveStyle, scale: f64, band: bool) -> RadialCurve {
    let speed: Vec<f64> = (1..=12).map(|k| 0.25 * k as f64).collect();
    let p = |f: &dyn Fn(f64) -> f64| {
        let value: Vec<f64> = speed.iter().map(|&v| scale * f(v)).collect();
        if band {
            let lo = value.iter().map(|x| x - 0.002).collect();
            let hi = value.iter().map(|x| x + 0.002).collect();
            Profile::with_band(value, lo, hi)
        } else {
            Profile::new(value)
        }
    };
    RadialCurve {
        label: label.into(),
        style,
        speed: speed.clone(),
        a_par: p(&|v| -0.01 * v / (1.0 + v * v)),
        d_par: p(&|v| 0.02 / (1.0 + v * v * v)),
        d_perp: p(&|v| 0.03 / (1.0 + v * v)),
    }
}

/// A Maxwellian of temperature `t` on `grid`, summing to one.
fn gaussian(grid: &VelocityGrid, t: f64) -> Array2<f64> {
    let f = Array2::from_shape_fn(grid.shape(), |(i, j)| {
        let (x, y) = (grid.vx(i), grid.vy(j));
        (-(x * x + y * y) / (2.0 * t)).exp()
    });
    let s = f.sum();
    f / s
}

fn error_figure(population: Population) -> ErrorFigure {
    let series = ["tensor", "<b>", "tracks-lag1", "theory-static", "frozen"]
        .iter()
        .enumerate()
        .map(|(k, m)| ErrorSeries {
            model: m.to_string(),
            points: (1..=20).map(|s| (0.5 * s as f64, 1e-4 * (k + 1) as f64 * (s as f64).sqrt())).collect(),
        })
        .collect();
    ErrorFigure { population, metric: "MAE".into(), log_y: true, series, caption: "Lower is better.".into() }
}

fn agreement() -> AgreementTable {
    let shells: Vec<(f64, f64)> = (0..6).map(|b| (0.5 * b as f64, 0.5 * (b + 1) as f64)).collect();
    let mut rows = Vec::new();
    for model in ["tensor", "<b>"] {
        for (k, coefficient) in
            [Coefficient::APar, Coefficient::DPar, Coefficient::DPerp].into_iter().enumerate()
        {
            let deviation =
                (0..6).map(|b| (b + k > 0).then(|| 0.04 * (b as f64 - 2.0) * (k + 1) as f64)).collect();
            rows.push(AgreementRow { model: model.into(), coefficient, deviation });
        }
    }
    AgreementTable {
        theory: "theory-dynamic".into(),
        shells,
        note: "Shell averages over populated cells.".into(),
        rows,
    }
}

fn full_report() -> Report {
    let grid = VelocityGrid::square(21, 4.0).unwrap();
    let frames = [(0.0, 1.0), (5.0, 1.1), (10.0, 1.2)]
        .iter()
        .map(|&(time, t)| SnapshotFrame {
            time,
            pic: gaussian(&grid, t),
            predicted: gaussian(&grid, 1.03 * t),
        })
        .collect();
    let loss = collop_plot::loss_curves_png(
        &[("train", (1..30).map(|e| (e as f64, 1.0 / e as f64)).collect::<Vec<_>>())],
        &[],
        "loss",
    )
    .unwrap();
    Report {
        title: "collop compare: synthetic run & <friends>".into(),
        summary: "Five models on two sub-populations.\n\nThe learned tensor is best on pop-a.".into(),
        setup: vec![
            SetupRow::new("N_D = n λ_D²", "64", "particles per Debye area"),
            SetupRow::new("dx / λ_D", "1.0", ""),
            SetupRow::new("shape order", "2", "quadratic B-spline"),
        ],
        rollout: Some(rollout()),
        profiles: Some(ProfileFigure {
            title: String::new(),
            caption: "Theory dashed; tracks with one standard error.".into(),
            curves: vec![
                curve("tensor", CurveStyle::Line, 1.1, false),
                curve("<b>", CurveStyle::Line, 0.9, false),
                curve("tracks-lag1", CurveStyle::Markers, 1.0, true),
                curve("theory-static", CurveStyle::Dashed, 1.0, false),
            ],
        }),
        snapshots: vec![SnapshotFigure {
            population: "pop-b".into(),
            model: "tensor".into(),
            grid,
            frames,
            caption: "A slightly too hot prediction.".into(),
        }],
        errors: vec![
            error_figure(Population::new("pop-a", Role::Train)),
            error_figure(Population::new("pop-b", Role::HeldOut)),
        ],
        agreement: vec![agreement()],
        amplitude: Some(AmplitudeTable {
            reference: "theory-dynamic".into(),
            note: "Least-squares ratios over 0.5 <= |v| <= 3.".into(),
            rows: vec![
                AmplitudeRow {
                    model: "theory-dynamic".into(),
                    ratio: [1.0; 3],
                    c_eff: 2e-3,
                    nd_c_eff: 0.128,
                },
                AmplitudeRow {
                    model: "tensor".into(),
                    ratio: [0.9, 1.1, 1.05],
                    c_eff: 2.15e-3,
                    nd_c_eff: 0.1376,
                },
            ],
        }),
        extra: vec![Section {
            heading: "Training".into(),
            blocks: vec![
                Block::Text("The loss of the tensor model.".into()),
                Block::Image(Image { caption: "loss against epoch".into(), png: loss }),
                Block::Table(Table {
                    caption: "memory".into(),
                    header: vec!["sub-population".into(), "bytes".into(), "note".into()],
                    rows: vec![vec!["pop-a".into(), "1024".into(), String::new()]],
                }),
                Block::Code("collop train config.toml".into()),
            ],
        }],
        failures: vec!["rollout of <b> on pop-a: diverged at step 12".into()],
        provenance: Provenance {
            version: "0.1.0".into(),
            seed: Some(7),
            date: "2025-01-01".into(),
            commands: vec!["collop pic deck.toml -o run".into(), "collop compare run -o cmp".into()],
            inputs: vec!["run".into()],
        },
    }
}

#[test]
fn full_report_parses_and_reads_correctly() {
    let report = full_report();
    let html = report.to_html().unwrap();
    let check = check_report_html(&html).unwrap_or_else(|e| panic!("report check failed:\n{e}"));

    assert_eq!(check.title, "collop compare: synthetic run & <friends>");
    assert_eq!(
        check.headings,
        [
            "Setup",
            "Rollout error",
            "Radial profiles",
            "Phase-space snapshots",
            "Error against time",
            "Agreement with theory",
            "Training",
            "Failures",
            "Provenance"
        ]
    );
    // Radial profiles, three snapshot rows, two error curves, the loss.
    assert_eq!(check.images.len(), 5, "{:?}", check.images);
    assert_eq!(check.images[0].0, 1650);
    assert_eq!(check.images[1], (1640, 52 + 3 * 528));
    assert_eq!(check.images[2].0, 1100);
    assert_eq!(check.images[3].0, 1100);
    // Setup, rollout, agreement, amplitude, the extra table, provenance.
    assert_eq!(check.tables, 6);

    assert_eq!(check.rollout_models, ["tensor", "<b>", "tracks-lag1", "theory-static", "frozen"]);
    assert_eq!(
        check.best,
        [
            ("pop-a train".to_string(), vec!["tensor".to_string()]),
            ("pop-b held-out".to_string(), vec!["<b>".to_string()])
        ]
    );
    assert_eq!(check.failure_cells, ["diverged at step 12", "non-finite error (NaN)"]);

    // Text is escaped: the model `<b>` is text, never an element.
    assert!(html.contains("<td class=\"model\">&lt;b&gt;</td>"));
    assert!(!html.contains("<b>"));
    assert!(html.contains("synthetic run &amp; &lt;friends&gt;"));
    // The metric and window are stated; the failure list and provenance read.
    assert!(html.contains("<caption>MAE of the normalised histograms (averaged over steps 1-40)</caption>"));
    assert!(html.contains("<li>rollout of &lt;b&gt; on pop-a: diverged at step 12</li>"));
    assert!(html.contains("<pre><code>collop pic deck.toml -o run\ncollop compare run -o cmp</code></pre>"));
    // No script, no network: the only URIs are data URIs and anchors.
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    // The setup row without a note shows a dash, not an empty cell.
    assert!(html.contains("<td>dx / λ_D</td><td class=\"num\">1.0</td><td class=\"na note\">–</td>"));
}

#[test]
fn write_puts_the_rendered_page_in_place_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    let mut report = Report::new("only a rollout table");
    report.rollout = Some(rollout());
    report.write(&path).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, report.to_html().unwrap());
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["report.html"]);

    // Empty sections say so; the page still checks out.
    let check = check_report_html(&written).unwrap();
    assert!(check.images.is_empty());
    assert_eq!(check.tables, 2, "rollout and provenance");
    assert!(written.contains("This comparison has no radial profiles."));
    assert!(written.contains("This comparison has no phase-space snapshots."));
    assert!(!check.headings.contains(&"Failures".to_string()));

    let err = report.write(dir.path().join("missing").join("report.html")).unwrap_err();
    assert!(matches!(err, ReportError::Io(_)), "{err}");
}

#[test]
fn ties_are_all_marked_and_columns_without_values_mark_none() {
    use Outcome::{Failed, Value};
    let mut report = Report::new("ties");
    report.rollout = Some(RolloutTable {
        metric: "MSE".into(),
        window: "step 1 only".into(),
        populations: populations(),
        rows: vec![
            row("m1", Family::Learned, vec![Value(2.0), Failed("not run".into())]),
            row("m2", Family::Theory, vec![Value(2.0), Failed("not run".into())]),
            row("m3", Family::Frozen, vec![Value(3.0), Failed("not run".into())]),
        ],
    });
    let html = report.to_html().unwrap();
    let check = check_report_html(&html).unwrap();
    assert_eq!(check.best, [("pop-a train".to_string(), vec!["m1".to_string(), "m2".to_string()])]);
    assert_eq!(html.matches(BEST_MARKER).count(), 2 + 1, "two cells and the explanation");
}

#[test]
fn bad_data_is_refused_with_the_culprit_named() {
    let mut r = Report::new("bad");
    assert!(matches!(Report::default().to_html(), Err(ReportError::Invalid(m)) if m.contains("title")));

    let mut t = rollout();
    t.rows[2].cells.pop();
    r.rollout = Some(t);
    let err = r.to_html().unwrap_err();
    assert!(err.to_string().contains("tracks-lag1") && err.to_string().contains("1 cells for 2"), "{err}");
    r.rollout = None;

    let mut bad = curve("short", CurveStyle::Line, 1.0, false);
    bad.d_par.value.pop();
    r.profiles = Some(ProfileFigure { curves: vec![bad], ..ProfileFigure::default() });
    let err = r.to_html().unwrap_err();
    assert!(matches!(&err, ReportError::Figure { figure, .. } if figure == "radial profiles"), "{err}");
    r.profiles = None;

    // A zero error on a log axis (the initial dump) is the plot's error.
    let mut e = error_figure(Population::new("pop-b", Role::HeldOut));
    e.series[0].points[0].1 = 0.0;
    r.errors = vec![e];
    let err = r.to_html().unwrap_err();
    assert!(err.to_string().contains("error against time on pop-b"), "{err}");
    r.errors.clear();

    let mut a = agreement();
    a.rows[4].deviation.push(None);
    r.agreement = vec![a];
    let err = r.to_html().unwrap_err();
    assert!(err.to_string().contains("'<b>', D_par has 7 values for 6 shells"), "{err}");
    r.agreement.clear();

    r.extra = vec![Section {
        heading: "x".into(),
        blocks: vec![Block::Image(Image { caption: "not a picture".into(), png: b"GIF89a....".repeat(4) })],
    }];
    assert!(r.to_html().unwrap_err().to_string().contains("'not a picture' is not a PNG"));
    r.extra[0].blocks = vec![Block::Table(Table {
        caption: "ragged".into(),
        header: vec!["a".into(), "b".into()],
        rows: vec![vec!["1".into()]],
    })];
    assert!(r.to_html().unwrap_err().to_string().contains("row 1 has 1 cells for 2 columns"));
}

/// A minimal page around `body` for the check.
fn page(body: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><title>t</title></head><body><main><h1>t</h1>{body}</main></body></html>"
    )
}

#[test]
fn the_check_catches_broken_pages() {
    let table = |rows: &str| {
        format!("<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>{rows}</tbody></table>")
    };
    assert!(check_report_html(&page(&table("<tr><td>1</td><td>2</td></tr>"))).is_ok());
    let fails = |body: &str, what: &str| {
        let err = check_report_html(&page(body)).expect_err(body);
        assert!(err.contains(what), "'{err}' does not mention '{what}'");
    };
    fails(&table("<tr><td>1</td></tr>"), "1 cells for 2 header cells");
    fails(&table("<tr><td>1</td><td> </td></tr>"), "empty cell");
    fails(&table(""), "no body rows");
    fails("<table><tbody><tr><td>1</td></tr></tbody></table>", "0 header rows");
    fails("<p>a <b>bold</b> model</p>", "unexpected element <b>");
    fails("<script>alert(1)</script>", "unexpected element <script>");
    fails("<p onclick=\"x()\">p</p>", "event handler");
    fails("<a href=\"https://example.org\">x</a>", "not to an anchor");
    fails("<img src=\"figure.png\">", "not a base64 PNG data URI");
    fails("<img src=\"data:image/png;base64,@@@\">", "base64");
    fails("<img src=\"data:image/png;base64,R0lGODlhAQABAAAAACw=\">", "PNG");

    // On a real report: a best mark removed, or moved to another cell.
    let mut report = Report::new("marks");
    report.rollout = Some(rollout());
    let html = report.to_html().unwrap();
    let unmarked = html.replacen("class=\"num best\"", "class=\"num\"", 1);
    assert!(
        check_report_html(&unmarked)
            .unwrap_err()
            .contains("'pop-a train': the lowest value (tensor) is not marked")
    );
    let wrong = html.replacen(
        "<td class=\"num\" data-value=\"2e-4\">",
        "<td class=\"num best\" data-value=\"2e-4\">",
        1,
    );
    assert_ne!(wrong, html);
    assert!(
        check_report_html(&wrong).unwrap_err().contains("tracks-lag1 is marked best but is not the lowest")
    );
}
