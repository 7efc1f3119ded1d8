//! `operator_moments`: the Kramers-Moyal moments of a model, written to a
//! folder, on a Fokker-Planck model whose moments are known.

mod common;

use collop_core::FpFields;
use collop_experiment::operator_moments::{MomentSettings, OperatorMoments, analyse};
use collop_experiment::{FieldsModel, FieldsSource};

/// The Ornstein-Uhlenbeck (Lenard-Bernstein) operator `A = -nu v`,
/// `D = 2 nu` on the test grid, saved as a fields model.
fn ou_model(dir: &std::path::Path, nu: f64) {
    let fields = FpFields::from_fn(common::grid(), |vx, vy| [-nu * vx, -nu * vy, 2.0 * nu, 2.0 * nu, 0.0]);
    let model = FieldsModel::new(vec![fields], FieldsSource::Given { description: "OU".into() }).unwrap();
    model.save(dir).unwrap();
}

fn csv(path: &std::path::Path) -> Vec<std::collections::HashMap<String, f64>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let head: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| head.iter().cloned().zip(l.split(',').map(|v| v.parse::<f64>().unwrap())).collect())
        .collect()
}

/// The moments of a Fokker-Planck model are its fields (drift `-nu v`,
/// diffusion `2 nu`) at every interior cell, to round-off; its higher
/// terms are only its discretisation's: the centred drift stencil has
/// `M_3 = A dv^2` and the diffusion stencil `M_4 = D dv^2` along each
/// axis, so on the scale of 1 v_th the third term is `dv^2 / 6` of the
/// drift term and the fourth `dv^2 / 12` of the diffusion term, and the
/// higher share can nowhere exceed `dv^2 / 6` (0.0104 for dv = 0.25).
#[test]
fn a_fokker_planck_model_has_its_fields_as_moments_and_only_discretisation_beyond() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("blob");
    common::write_dataset(&data, 6, 0.2, &[]);
    let model = tmp.path().join("ou");
    let nu = 0.05;
    ou_model(&model, nu);
    let out = tmp.path().join("moments");
    let settings =
        MomentSettings { model: model.clone(), data: vec![data.clone()], scale: 1.0, cells: vec![] };
    let r = analyse(&settings, &out, collop_io::Existing::Refuse).unwrap();
    assert_eq!(r.kernel, None);
    assert_eq!(r.slots.len(), 1);
    let dv = common::grid().dvx();
    let bound = dv * dv / 6.0;
    let s = &r.slots[0];
    assert!(s.cells > 0);
    assert!(
        s.higher_share[3] <= bound * (1.0 + 1e-9),
        "largest higher share {} > {bound}",
        s.higher_share[3]
    );
    assert!(s.higher_share[0] > 0.0, "the discretisation has higher moments");
    assert!(s.loss < 1e-12, "the operator conserves particles: {}", s.loss);
    let shares: f64 = s.term_shares.iter().sum();
    assert!((shares - 1.0).abs() < 1e-9, "the four shares add up to one: {shares}");
    let rows = csv(&out.join("moments_slot0.csv"));
    let mut interior = 0;
    for row in rows.iter().filter(|r| r["interior"] == 1.0) {
        interior += 1;
        let (vx, vy) = (row["v_x"], row["v_y"]);
        // CSV values are written with full precision ({:e}).
        assert!((row["a_x"] + nu * vx).abs() < 1e-12, "A_x at ({vx}, {vy}): {}", row["a_x"]);
        assert!((row["a_y"] + nu * vy).abs() < 1e-12);
        assert!((row["d_xx"] - 2.0 * nu).abs() < 1e-12 && (row["d_yy"] - 2.0 * nu).abs() < 1e-12);
        assert!(row["d_xy"].abs() < 1e-12);
        assert!((row["m3_xxx"] + nu * vx * dv * dv).abs() < 1e-12, "M_3xxx = A_x dv^2");
        assert!((row["m4_yyyy"] - 2.0 * nu * dv * dv).abs() < 1e-12, "M_4yyyy = D_yy dv^2");
    }
    // 12 x 12 cells; a fields model is rolled out with the reference
    // evaluation numerics (guard-cell edges): jumps of one cell, so cells
    // 2 ..= 9 are interior.
    assert_eq!(r.reach, 1);
    assert_eq!(interior, 8 * 8);
    assert!(out.join("moments_slot0.png").is_file());
    assert_eq!(OperatorMoments::load(&out).unwrap(), r);

    // The folder is the analysis's: refused without --overwrite, replaced with it.
    let e = analyse(&settings, &out, collop_io::Existing::Refuse).unwrap_err().to_string();
    assert!(e.contains("--overwrite"), "{e}");
    analyse(&settings, &out, collop_io::Existing::Overwrite).unwrap();
}

/// Bad input is refused before anything is written.
#[test]
fn bad_input_is_refused_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("blob");
    common::write_dataset(&data, 4, 0.2, &[]);
    let model = tmp.path().join("ou");
    ou_model(&model, 0.05);
    let out = tmp.path().join("moments");
    let base = MomentSettings { model: model.clone(), data: vec![data.clone()], scale: 1.0, cells: vec![] };
    let cases = [
        (MomentSettings { data: vec![], ..base.clone() }, "--data"),
        (MomentSettings { scale: 0.0, ..base.clone() }, "scale"),
        (MomentSettings { cells: vec![[9.0, 0.0]], ..base.clone() }, "off the grid"),
        (MomentSettings { model: tmp.path().join("nothing"), ..base.clone() }, "collop train"),
    ];
    for (s, words) in cases {
        let e = analyse(&s, &out, collop_io::Existing::Refuse).unwrap_err().to_string();
        assert!(e.contains(words), "expected `{words}` in: {e}");
        assert!(!out.join("moments.json").exists());
    }
}

/// Synthetic data like a dataset: integer counts of N particles per frame,
/// the original's dumps and keys plus the provenance, and with very many
/// particles the model's own rollout (relative counting noise
/// `1 / sqrt(N p)`, below 1e-4 for N = 10^12 on cells holding 1e-4 of the
/// particles or more).
#[test]
fn synthetic_data_are_the_model_rollout_drawn_as_particles() {
    use collop_experiment::synthetic_like::{SynthesisSettings, synthesise_like};
    use collop_experiment::{AnyModel, Dataset, EvalOptions, evaluate};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("blob");
    common::write_dataset(&data, 5, 0.2, &[("ppc", 4.0)]);
    let model = tmp.path().join("ou");
    ou_model(&model, 0.05);
    let few = tmp.path().join("few");
    let s = SynthesisSettings { model: model.clone(), like: data.clone(), particles: 1000, seed: 3 };
    assert_eq!(synthesise_like(&s, &few).unwrap(), 5);
    let raw = collop_io::read_dataset(&few).unwrap();
    assert_eq!(raw.meta.i_start, 3);
    let args = std::fs::read_to_string(few.join("args.yaml")).unwrap();
    assert!(args.contains("synthetic_particles") && args.contains("ppc"), "{args}");
    let e = synthesise_like(&s, &few).unwrap_err().to_string();
    assert!(e.contains("already holds"), "a second write into the folder: {e}");
    let bad = SynthesisSettings { particles: 0, ..s.clone() };
    assert!(synthesise_like(&bad, &tmp.path().join("none")).unwrap_err().to_string().contains("--particles"));

    let many = tmp.path().join("many");
    synthesise_like(&SynthesisSettings { particles: 1_000_000_000_000, ..s }, &many).unwrap();
    let got = Dataset::load(&many).unwrap();
    let ds = Dataset::load(&data).unwrap();
    let m = AnyModel::open(&model.to_string_lossy()).unwrap();
    let (params, _) = m.params_for(&ds, collop_experiment::conditioning::Extrapolation::Refuse).unwrap();
    let eval = evaluate(
        &params,
        &ds,
        &m.evaluation_numerics(),
        EvalOptions { keep_frames: true, ..Default::default() },
    )
    .unwrap();
    let want = eval.frames.unwrap();
    for k in 0..5 {
        let (w, g) = (want.slice(ndarray::s![k, 0, .., ..]), got.series.frame(k));
        let (tw, tg) = (w.sum(), g.sum());
        for (a, b) in w.iter().zip(g.iter()) {
            // Six standard deviations of a cell's fraction, sqrt(p / N):
            // over the ~600 cells a false alarm has odds below 1e-6.
            let p = a / tw;
            assert!(
                (p - b / tg).abs() <= 6.0 * (p / 1e12).sqrt() + 1e-15,
                "frame {k}: {} against {p}",
                b / tg
            );
        }
    }
}
