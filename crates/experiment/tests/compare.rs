//! The comparison on a tiny PIC run of two sub-populations with tracks:
//! every model on every sub-population, trained and held out apart, every
//! file written, the record read back equal, and the report showing
//! exactly the numbers the library computed.

use std::path::Path;

use collop_experiment::compare::{BuiltinModel, CompareSettings, Comparison, Family, Role, compare};
use collop_experiment::report::check_report_html;

mod common;

fn pic_run(dir: &Path) {
    common::run_pic(&common::es_deck(3, common::TWO_POPULATIONS), dir);
}

/// The values of the rollout table's cells (`data-value`), by row model
/// and column index.
fn report_values(html: &str) -> Vec<(String, usize, f64)> {
    let doc = scraper::Html::parse_document(html);
    let table = scraper::Selector::parse("table.rollout tbody tr").unwrap();
    let cell = scraper::Selector::parse("td").unwrap();
    let mut out = Vec::new();
    for tr in doc.select(&table) {
        let cells: Vec<_> = tr.select(&cell).collect();
        let model = cells[0].text().collect::<String>().trim().to_string();
        for (k, c) in cells[2..].iter().enumerate() {
            if let Some(v) = c.value().attr("data-value") {
                out.push((model.clone(), k, v.parse().unwrap()));
            }
        }
    }
    out
}

#[test]
fn every_model_on_every_subpopulation_and_the_report_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    pic_run(&run);
    let out = dir.path().join("cmp");
    let settings = CompareSettings {
        train: vec!["blob".into()],
        lags: vec![1, 2],
        epochs_scale: 0.003,
        substeps: 2,
        models: vec![BuiltinModel::TENSOR, BuiltinModel::PAR_PERP, BuiltinModel::KERNEL],
        ..CompareSettings::new(&run)
    };
    let mut lines = Vec::new();
    let c = compare(&settings, &out, &mut |l| lines.push(l.to_string()), &mut []).unwrap();
    assert!(c.failures.is_empty(), "{:?}", c.failures);
    for f in [
        "compare.json",
        "table.csv",
        "agreement.csv",
        "amplitude.csv",
        "radial_profiles.png",
        "comparison.json",
        "report.html",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    // Every model on every sub-population, with a finite positive error.
    let models = [
        "tensor",
        "par-perp",
        "kernel-k2",
        "tracks-lag1",
        "tracks-lag2",
        "theory-static",
        "theory-dynamic",
        "frozen",
    ];
    assert_eq!(c.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), models);
    assert_eq!(c.rows.len(), 2 * models.len());
    for m in models {
        for (pop, role) in [("blob", Role::Train), ("ring", Role::HeldOut)] {
            let row = c.row(m, pop).unwrap_or_else(|| panic!("no row {m} x {pop}"));
            assert_eq!(row.role, role);
            let e = row.result.as_ref().unwrap_or_else(|e| panic!("{m} x {pop}: {e}"));
            assert!(e.mae.is_finite() && e.mae > 0.0, "{m} x {pop}");
            assert_eq!(row.per_step_mae.len(), c.populations[0].steps, "{m}");
            // The mean is the mean of the per-step errors.
            let mean = row.per_step_mae.iter().sum::<f64>() / row.per_step_mae.len() as f64;
            assert!((mean - e.mae).abs() <= 1e-12 * e.mae, "{m}: {mean} vs {}", e.mae);
        }
    }
    // The sub-steps reach the learned models' training and evaluation.
    let cfg = std::fs::read_to_string(out.join("configs").join("tensor.toml")).unwrap();
    assert_eq!(cfg.matches("substeps = 2").count(), 2, "{cfg}");
    assert_eq!(c.evaluation.substeps, collop_fp::Substeps::Fixed(2));
    // Every Fokker-Planck model has an amplitude; the kernel has none.
    let amp = c.amplitude.as_ref().unwrap();
    for m in ["tensor", "par-perp", "tracks-lag1"] {
        assert!(amp.models.iter().any(|a| a.model == m), "no amplitude of {m}");
    }
    assert!(!amp.models.iter().any(|a| a.model == "kernel-k2"));
    assert!(c.agreement.iter().any(|a| a.model == "par-perp" && a.theory == "theory-dynamic"));
    assert!(c.setup.iter().any(|s| s.name.starts_with("N_D")), "{:?}", c.setup);

    // The record reads back equal.
    assert_eq!(Comparison::load(&out).unwrap(), c);

    // The report passes the structural check, and its rollout table holds
    // exactly the library's numbers, the best of each column marked.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let check = check_report_html(&html).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(check.rollout_models, models);
    assert!(check.images.len() >= 3, "profiles, snapshots, error curve: {:?}", check.images);
    let values = report_values(&html);
    assert_eq!(values.len(), c.rows.len());
    for (model, k, v) in &values {
        let pop = &c.populations[*k].name;
        assert_eq!(*v, c.row(model, pop).unwrap().result.as_ref().unwrap().mae, "{model} x {pop}");
    }
    for (k, p) in c.populations.iter().enumerate() {
        let best =
            c.best(&p.name, &[Family::Learned, Family::Tracks, Family::Theory, Family::Frozen]).unwrap();
        assert!(check.best[k].1.contains(&best.model), "{:?} vs {}", check.best[k], best.model);
    }

    // A second comparison into the same folder is refused; resuming reuses the models.
    assert!(
        compare(&settings, &out, &mut |_| {}, &mut []).unwrap_err().to_string().contains("already holds")
    );
    let mut reused = Vec::new();
    let again = compare(
        &CompareSettings { resume: true, ..settings },
        &out,
        &mut |l| reused.push(l.to_string()),
        &mut [],
    )
    .unwrap();
    assert!(reused.iter().filter(|l| l.contains("reusing")).count() == 3, "{reused:?}");
    // The reused models roll out exactly as before.
    for r in &c.rows {
        assert_eq!(again.row(&r.model, &r.pop).unwrap().result, r.result, "{} x {}", r.model, r.pop);
    }
}

/// Bad settings are refused before anything is written.
#[test]
fn bad_settings_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let missing = CompareSettings::new(dir.path().join("none"));
    assert!(compare(&missing, &out, &mut |_| {}, &mut []).is_err());
    let bad = CompareSettings { epochs_scale: 0.0, ..CompareSettings::new(dir.path()) };
    assert!(compare(&bad, &out, &mut |_| {}, &mut []).unwrap_err().to_string().contains("epochs scale"));
    let bad = CompareSettings { substeps: 0, ..CompareSettings::new(dir.path()) };
    assert!(compare(&bad, &out, &mut |_| {}, &mut []).unwrap_err().to_string().contains("at least 1"));
    assert!(!out.exists());
}

/// Time-dependent learned models and time-resolved track models: trained,
/// estimated and rolled out like the others; a windowed track model holds
/// one estimate per window, its slots follow the windows, and the
/// command line of the comparison names the options.
#[test]
fn time_dependent_models_and_windowed_tracks() {
    use collop_experiment::compare::TimeRegularisation;
    use collop_experiment::fields_model::{FieldsModel, FieldsSource};
    use collop_experiment::spec::TimeDependence;

    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    pic_run(&run);
    let out = dir.path().join("cmp");
    let settings = CompareSettings {
        train: vec!["blob".into()],
        lags: vec![1],
        windows: vec![2],
        overlapping: true,
        epochs_scale: 0.003,
        time_regularisation: TimeRegularisation { lambda1: 0.0, lambda2: 1e-5 },
        models: vec![BuiltinModel::TENSOR, BuiltinModel::Tensor(TimeDependence::Nodes(2))],
        ..CompareSettings::new(&run)
    };
    let c = compare(&settings, &out, &mut |_| {}, &mut []).unwrap();
    assert!(c.failures.is_empty(), "{:?}", c.failures);
    let names: Vec<&str> = c.models.iter().map(|m| m.name.as_str()).collect();
    for m in ["tensor", "tensor-t2", "tracks-lag1", "tracks-lag1-ovl", "tracks-lag1-w2", "tracks-lag1-w2-ovl"]
    {
        assert!(names.contains(&m), "{m} missing from {names:?}");
        for pop in ["blob", "ring"] {
            let e = c.row(m, pop).unwrap().result.as_ref().unwrap_or_else(|e| panic!("{m} x {pop}: {e}"));
            assert!(e.mae.is_finite() && e.mae > 0.0);
        }
    }
    // The regularisation reached the time-dependent model only.
    let cfg = std::fs::read_to_string(out.join("configs").join("tensor-t2.toml")).unwrap();
    assert!(cfg.contains("lambda2 = 0.00001") && cfg.contains("nodes = 2"), "{cfg}");
    let cfg = std::fs::read_to_string(out.join("configs").join("tensor.toml")).unwrap();
    assert!(!cfg.contains("lambda2"), "{cfg}");
    // Windows of two dumps over dumps 0-6 (the dataset starts at dump 1):
    // step s starts at dump s + 1, in window (s + 1) / 2; slots of one
    // window hold the same fields and the windows' fields differ
    // (independent samples).
    let steps = c.populations[0].steps;
    let windowed = FieldsModel::load(&out.join("models").join("tracks-lag1-w2")).unwrap();
    assert_eq!(windowed.fields.len(), steps);
    let FieldsSource::Tracks(record) = &windowed.meta.source else { panic!("not a track model") };
    assert_eq!(record.slot_window, (1..=steps).map(|first_dump| first_dump / 2).collect::<Vec<_>>());
    assert!(record.windows.len() >= 3, "{:?}", record.windows);
    assert_eq!(windowed.fields[1], windowed.fields[2]);
    assert_ne!(windowed.fields[0].a_x, windowed.fields[1].a_x);
    assert_ne!(windowed.fields[2].a_x, windowed.fields[3].a_x);
    let whole = FieldsModel::load(&out.join("models").join("tracks-lag1")).unwrap();
    assert_eq!(whole.fields.len(), 1);
    // In time: the sampled frames, profiles of every Fokker-Planck model,
    // the speed distribution of every rollout.
    let t = c.time_resolved.as_ref().expect("time-resolved record");
    assert_eq!(t.frames, collop_experiment::compare::time_resolved::sampled_frames(steps, 4));
    let profiled: Vec<&str> = t.profiles.iter().map(|p| p.model.as_str()).collect();
    for m in ["tensor", "tensor-t2", "tracks-lag1-w2", "theory-dynamic"] {
        assert!(profiled.contains(&m), "{m} not in {profiled:?}");
    }
    // A time-independent model has one operator: the same profiles at every frame.
    let tensor = t.profiles.iter().find(|p| p.model == "tensor").unwrap();
    assert!(tensor.at.iter().all(|a| *a == tensor.at[0]));
    // Two nodes: the operator at the first and last frames differ.
    let t2 = t.profiles.iter().find(|p| p.model == "tensor-t2").unwrap();
    assert_ne!(t2.at[0], t2.at[t.frames.len() - 1]);
    for d in &t.distributions {
        assert_eq!(d.pic.len(), t.frames.len());
        assert_eq!(d.models.len(), c.models.len(), "{}: every model rolled out", d.pop);
        for (m, at) in &d.models {
            // Every rollout starts from the PIC's first frame: the same
            // distribution, bit for bit (the same frame through the same sum).
            assert_eq!(at[0], d.pic[0], "{m} on {}", d.pop);
        }
        // The frozen model keeps the first frame.
        let frozen = &d.models.iter().find(|(m, _)| m == "frozen").unwrap().1;
        assert!(frozen.iter().all(|f| *f == d.pic[0]));
    }
    // Anisotropy: one value per slot of each model; the isotropic static
    // theory (square cells: a form factor symmetric under k_x <-> k_y)
    // gives zero to round-off on the symmetrised cells.
    let aniso = |m: &str| &t.anisotropy.iter().find(|(n, _)| n == m).unwrap_or_else(|| panic!("{m}")).1;
    assert_eq!(aniso("tensor").len(), 1);
    assert_eq!(aniso("tensor-t2").len(), steps);
    assert_eq!(aniso("tracks-lag1-w2").len(), steps);
    assert_eq!(t.slot_times.len(), steps);
    assert!(aniso("theory-static")[0].abs() < 1e-12, "{:?}", aniso("theory-static"));
    assert!(aniso("tensor-t2").iter().all(|a| a.is_finite() && a.abs() < 1.0));
    // Agreement in time: every non-theory model against both theories; a
    // constant model against a constant theory deviates alike at every frame,
    // and its D_par deviations are those of the agreement table (the same
    // shells and cells, another route through the code).
    assert_eq!(t.agreement.len(), 2 * (t.profiles.len() - 2));
    let dev = t.agreement.iter().find(|a| a.model == "tensor" && a.theory == "theory-dynamic").unwrap();
    assert!(dev.deviation.iter().all(|d| *d == dev.deviation[0]));
    let table = c
        .agreement
        .iter()
        .find(|a| {
            a.model == "tensor"
                && a.theory == "theory-dynamic"
                && a.coefficient == collop_experiment::report::Coefficient::DPar
        })
        .unwrap();
    for (k, d) in table.deviation.iter().enumerate() {
        if let (Some(d), Some(Some(e))) = (d, dev.deviation[0].get(k)) {
            assert!((d - e[1]).abs() < 1e-12, "shell {k}: {d} vs {}", e[1]);
        }
    }
    for f in [
        "agreement_in_time.csv",
        "profiles_in_time.csv",
        "speed_distributions.csv",
        "speed_distribution_ring.png",
        "anisotropy_in_time.csv",
        "anisotropy_in_time.png",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    assert!(out.join(format!("profiles_frame{}.png", t.frames[1])).is_file());
    assert_eq!(Comparison::load(&out).unwrap(), c);

    // The command line names what was asked for.
    let cmd = settings.command(&out);
    for flag in ["--models tensor,tensor-t2", "--lambda2 0.00001", "--windows 2", "--overlapping"] {
        assert!(cmd.contains(flag), "{flag} not in {cmd}");
    }
}

/// A run whose background is written whole (`method = "all"`): the
/// background is rolled out but not trained on, and the measured-background
/// theory joins the models with one operator slot per dump step.
#[test]
fn a_background_brings_the_measured_theory() {
    let deck = common::es_deck(7, "").replace(
        r#"distribution = { kind = "maxwellian", u_th = 0.1 }"#,
        r#"distribution = { kind = "waterbag", radius = 0.2 }"#,
    ) + r#"
[time]
dt = 0.05
n_steps = 60
dump_every = 10
[output]
energy_every = 10
checkpoint_every_dumps = 0
[phase_space]
bins = 15
v_max = 4.0
[[sub_populations]]
name = "blob"
species = "electrons"
method = "region"
region = { kind = "blob", centre = [-1.0, 0.0], radius = 0.6 }
[[sub_populations]]
name = "rest"
species = "electrons"
method = "region"
region = { kind = "rest" }
[[sub_populations]]
name = "background"
species = "electrons"
method = "all"
"#;
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    common::run_pic(&deck, &run);
    let out = dir.path().join("cmp");
    let settings = CompareSettings {
        test: vec!["rest".into()],
        lags: vec![],
        epochs_scale: 0.003,
        models: vec![BuiltinModel::TENSOR],
        ..CompareSettings::new(&run)
    };
    let c = compare(&settings, &out, &mut |_| {}, &mut []).unwrap();
    assert!(c.failures.is_empty(), "{:?}", c.failures);
    let roles: Vec<(&str, Role)> = c.populations.iter().map(|p| (p.name.as_str(), p.role)).collect();
    assert_eq!(roles, [("background", Role::HeldOut), ("blob", Role::Train), ("rest", Role::HeldOut)]);
    let measured =
        collop_experiment::fields_model::FieldsModel::load(&out.join("models").join("theory-measured"))
            .unwrap();
    assert_eq!(measured.fields.len(), c.populations[0].steps);
    for pop in ["background", "blob", "rest"] {
        let e = c.row("theory-measured", pop).unwrap().result.as_ref().unwrap();
        assert!(e.mae.is_finite() && e.mae > 0.0);
    }
}
