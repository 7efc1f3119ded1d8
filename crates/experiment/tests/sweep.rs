//! Sweeps on a tiny PIC run of three sub-populations: the product of
//! models, regularisations and training subsets trained and scored on the
//! held-out one, the record read back equal, a resumed sweep reusing the
//! finished variants, bad settings refused before anything is written.

use std::path::Path;

use collop_experiment::compare::{BuiltinModel, TimeRegularisation};
use collop_experiment::spec::TimeDependence;
use collop_experiment::sweep::{Sweep, SweepSettings, sweep};

mod common;

const THREE_POPULATIONS: &str = r#"
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
name = "blob_a"
species = "electrons"
method = "selection"
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
[[sub_populations]]
name = "blob_b"
species = "electrons"
method = "selection"
target = { kind = "maxwellian", u_th = 0.5, drift = [0.0, 1.5, 0.0] }
[[sub_populations]]
name = "ring"
species = "electrons"
method = "selection"
target = { kind = "ring", radius = 2.0, width = 0.3, u_th_z = 1.0 }
"#;

fn settings(run: &Path) -> SweepSettings {
    SweepSettings {
        regularisations: vec![
            TimeRegularisation { lambda1: 1e-4, lambda2: 0.0 },
            TimeRegularisation { lambda1: 0.0, lambda2: 1e-8 },
        ],
        train_counts: vec![1, 2],
        seeds: 2,
        epochs_scale: 0.003,
        ..SweepSettings::new(
            run,
            vec!["ring".into()],
            vec![BuiltinModel::TENSOR, BuiltinModel::Tensor(TimeDependence::Nodes(2))],
        )
    }
}

#[test]
fn the_product_is_trained_and_scored_on_the_held_out_subpopulation() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    common::run_pic(&common::es_deck(5, THREE_POPULATIONS), &run);
    let out = dir.path().join("sweep");
    let s = settings(&run);
    let record = sweep(&s, &out, &mut |_| {}, &mut []).unwrap();
    assert!(record.failures.is_empty(), "{:?}", record.failures);
    // tensor: two seeds of one sub-population and the whole pool (3);
    // tensor-t2: the same for each of two regularisations (6).
    assert_eq!(record.rows.len(), 9);
    for r in &record.rows {
        assert_eq!(r.pop, "ring");
        assert_eq!(r.train.len(), r.n_train);
        assert!(r.train.iter().all(|t| t == "blob_a" || t == "blob_b"), "{:?}", r.train);
        let e = r.result.as_ref().unwrap_or_else(|e| panic!("{}: {e}", r.variant));
        assert!(e.mae.is_finite() && e.mae > 0.0);
        // The regularisation reached the time-dependent model's config only.
        let cfg = std::fs::read_to_string(out.join("runs").join(&r.variant).join("config.toml")).unwrap();
        assert_eq!(cfg.contains("lambda"), r.model == "tensor-t2", "{}: {cfg}", r.variant);
    }
    // The summary groups the seeds: tensor at n = 1 over two seeds.
    let summary = record.summary();
    assert_eq!(summary.len(), 2 + 4);
    let one = summary.iter().find(|g| g.model == "tensor" && g.n_train == 1).unwrap();
    assert_eq!((one.scored, one.unscored), (2, 0));
    let [mean, lo, hi, _] = one.mae.unwrap();
    assert!(lo <= mean && mean <= hi);
    let maes: Vec<f64> = record
        .rows
        .iter()
        .filter(|r| r.model == "tensor" && r.n_train == 1)
        .map(|r| r.result.as_ref().unwrap().mae)
        .collect();
    assert_eq!(mean, (maes[0] + maes[1]) / 2.0);
    for f in ["sweep.json", "sweep.csv", "summary.csv", "error_vs_training_subpopulations_ring.png"] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    assert_eq!(Sweep::load(&out).unwrap(), record);

    // Into the same folder: refused, unless resumed; resumed, the finished
    // variants are reused and score the same.
    let e = sweep(&s, &out, &mut |_| {}, &mut []).unwrap_err().to_string();
    assert!(e.contains("already holds a sweep"), "{e}");
    let again = sweep(&SweepSettings { resume: true, ..s }, &out, &mut |_| {}, &mut []).unwrap();
    assert_eq!(again.rows, record.rows);
}

/// The kernel study's sweep: kernels of two sizes and two differences
/// beside the tensor, each trained with two training seeds; the counts of
/// trained parameters are the models' (`2 k^2` per cell for kernels, 5 per
/// cell for the tensor, on the 15 x 15 grid), the repeats differ only in
/// their seed (their validation windows), and the error-against-size and
/// error-against-parameters pictures are drawn.
#[test]
fn kernel_sizes_and_differences_with_repeats() {
    use collop_fp::Difference;
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    common::run_pic(&common::es_deck(5, THREE_POPULATIONS), &run);
    let out = dir.path().join("sweep");
    let kernel = |k, difference| BuiltinModel::Kernel { k, difference, time: TimeDependence::Constant };
    let s = SweepSettings {
        repeats: 2,
        epochs_scale: 0.003,
        ..SweepSettings::new(
            &run,
            vec!["ring".into()],
            vec![
                BuiltinModel::TENSOR,
                kernel(2, Difference::Forward),
                kernel(3, Difference::Forward),
                kernel(3, Difference::Centred),
            ],
        )
    };
    let record = sweep(&s, &out, &mut |_| {}, &mut []).unwrap();
    assert!(record.failures.is_empty(), "{:?}", record.failures);
    assert_eq!(record.rows.len(), 4 * 2);
    let cells = 15 * 15;
    for r in &record.rows {
        let want = match r.model.as_str() {
            "tensor" => 5 * cells,
            "kernel-k2" => 2 * 4 * cells,
            "kernel-k3" | "kernel-c3" => 2 * 9 * cells,
            other => panic!("unexpected model {other}"),
        };
        assert_eq!(r.n_params, want, "{}", r.variant);
        assert!(r.variant.ends_with(&format!("-r{}", r.train_seed)), "{}", r.variant);
        let cfg = std::fs::read_to_string(out.join("runs").join(&r.variant).join("config.toml")).unwrap();
        assert!(cfg.contains(&format!("seed = {}", r.train_seed)), "{cfg}");
    }
    let summary = record.summary();
    assert_eq!(summary.len(), 4);
    assert!(summary.iter().all(|r| r.scored == 2 && r.unscored == 0));
    for f in ["error_vs_kernel_size_ring.png", "error_vs_parameters_ring.png", "summary.csv"] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let table = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(
        table.starts_with("model,n_params,") && table.contains(&format!("kernel-c3,{}", 18 * cells)),
        "{table}"
    );
}

#[test]
fn bad_settings_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    common::run_pic(&common::es_deck(5, THREE_POPULATIONS), &run);
    let out = dir.path().join("sweep");
    let cases: Vec<(SweepSettings, &str)> = vec![
        (SweepSettings { test: vec![], ..settings(&run) }, "--test"),
        (SweepSettings { test: vec!["nope".into()], ..settings(&run) }, "not in the run"),
        (SweepSettings { train_counts: vec![3], ..settings(&run) }, "sizes run from 1"),
        (SweepSettings { seeds: 0, ..settings(&run) }, "seeds = 0"),
        (SweepSettings { repeats: 0, ..settings(&run) }, "repeats = 0"),
        (SweepSettings { models: vec![BuiltinModel::None], ..settings(&run) }, "learned model"),
        (
            SweepSettings {
                regularisations: vec![TimeRegularisation { lambda1: -1.0, lambda2: 0.0 }],
                ..settings(&run)
            },
            "lambda1",
        ),
        (SweepSettings { pool: vec!["ring".into()], ..settings(&run) }, "both held out"),
    ];
    for (s, msg) in cases {
        let e = sweep(&s, &out, &mut |_| {}, &mut []).unwrap_err().to_string();
        assert!(e.contains(msg), "{msg}: {e}");
        assert!(!out.exists(), "{msg}: the output folder was written");
    }
}

/// The whole-background dataset (`method = "all"`, the sum of the other
/// sub-populations) is left out of the default training pool, as
/// `collop compare` leaves it out of training: with it the pool would
/// hold three sub-populations, without it two.
#[test]
fn the_whole_background_is_not_in_the_default_pool() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let deck = format!(
        "{THREE_POPULATIONS}\n[[sub_populations]]\nname = \"everyone\"\nspecies = \"electrons\"\nmethod = \"all\"\n"
    );
    common::run_pic(&common::es_deck(5, &deck), &run);
    let out = dir.path().join("sweep");
    let e = sweep(&SweepSettings { train_counts: vec![3], ..settings(&run) }, &out, &mut |_| {}, &mut [])
        .unwrap_err()
        .to_string();
    assert!(e.contains("the pool's 2") && !e.contains("everyone"), "{e}");
    assert!(!out.exists());
}
