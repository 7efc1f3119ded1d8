//! Datasets as the rest of collop reads them: the frames, dumps, times and
//! moments of a dataset folder, the frozen baseline scored against them,
//! and the datasets the PIC code writes.

mod common;

use collop_experiment::{AnyModel, Dataset, Score, StepWindow, evaluate};
use collop_fp::Numerics;
use ndarray::Axis;

use common::{es_deck, run_pic, write_dataset};

/// A blob drifting by half a thermal speed per dump: frames, dumps and
/// times as written, the density normalised to one, the mean velocity
/// moving by the drift.
#[test]
fn a_dataset_reads_back_with_its_dumps_times_and_moments() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), 5, 0.5, &[]);
    let ds = Dataset::load(dir.path()).unwrap();
    let s = &ds.series;
    assert_eq!((s.len(), s.first_dump, ds.steps()), (5, 3, 4));
    assert!((s.time(2) - 2.5).abs() < 1e-12, "t = 1.5 + 2 dt");
    let m = s.moments();
    assert!((m[0].density - 1.0).abs() < 1e-12);
    // Over two dumps the blob moves by 1 v_th; the 12-cell grid cuts its
    // tail (e^-9 at the edge), hence 2 % rather than round-off.
    let shift = m[2].mean_vx - m[0].mean_vx;
    assert!((shift - 1.0).abs() < 0.02, "mean moved by {shift}");
}

/// The frozen baseline keeps the first frame: its mean absolute error is
/// the mean over dump steps and cells of |f_k - f_0| (normalised by the
/// first frame's sum), to round-off; a step window averages fewer steps.
#[test]
fn the_frozen_baseline_scores_the_displacement_of_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let raw = write_dataset(dir.path(), 5, 0.5, &[]);
    let ds = Dataset::load(dir.path()).unwrap();
    let f0 = raw.index_axis(Axis(0), 0);
    let norm: f64 = f0.sum();
    let per_step: Vec<f64> = (1..5)
        .map(|k| {
            raw.index_axis(Axis(0), k).iter().zip(f0.iter()).map(|(a, b)| (a - b).abs() / norm).sum::<f64>()
                / 144.0
        })
        .collect();
    let model = AnyModel::Frozen;
    let (params, _) = model.params_for(&ds, Default::default()).unwrap();
    let e = evaluate(&params, &ds, &Numerics::evaluation(), model.eval_options(None, false)).unwrap();
    let Score::Scored { errors, window } = &e.score else { panic!("{:?}", e.score) };
    assert_eq!(*window, StepWindow { last: 4, of: 4 });
    for (k, (got, want)) in errors.per_step.iter().zip(&per_step).enumerate() {
        assert!((got.mae - want).abs() < 1e-14 * want, "step {}: {} vs {want}", k + 1, got.mae);
    }
    let expected = per_step.iter().sum::<f64>() / 4.0;
    assert!((errors.mean.mae - expected).abs() < 1e-14 * expected, "{} vs {expected}", errors.mean.mae);
    for v in [errors.mean.mse, errors.mean.l1, errors.mean.l2, errors.mean.l1_norm, errors.mean.l2_norm] {
        assert!(v > 0.0 && v.is_finite());
    }
    let e = evaluate(&params, &ds, &Numerics::evaluation(), model.eval_options(Some(2), false)).unwrap();
    let Score::Scored { errors, window } = &e.score else { panic!("{:?}", e.score) };
    assert_eq!(window.to_string(), "steps 1-2 of 4");
    assert!((errors.mean.mae - (per_step[0] + per_step[1]) / 2.0).abs() < 1e-14 * expected);
    let e = evaluate(&params, &ds, &Numerics::evaluation(), model.eval_options(Some(0), false)).unwrap_err();
    assert!(e.to_string().contains("--steps 0"), "{e}");
    let e = evaluate(&params, &ds, &Numerics::evaluation(), model.eval_options(Some(9), false)).unwrap_err();
    assert!(e.to_string().contains("use at most 4"), "{e}");
}

/// A tiny PIC run of one selected sub-population writes a dataset per dump
/// that the experiment layer reads: its frames, the phase-space grid of
/// the deck, and a blob of electrons around v_x = -2 v_th.
#[test]
fn pic_datasets_are_read_by_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let deck = es_deck(
        7,
        r#"
[time]
dt = 0.05
n_steps = 60
dump_every = 20
[output]
energy_every = 20
checkpoint_every_dumps = 1
[phase_space]
bins = 21
v_max = 5.0
i_start = 0
[[sub_populations]]
name = "blob"
species = "electrons"
method = "selection"
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
"#,
    );
    let summary = run_pic(&deck, dir.path());
    assert!(summary.finished && summary.steps == 60, "{summary:?}");
    let ds = Dataset::load(&dir.path().join("blob")).unwrap();
    assert_eq!(ds.series.len(), 4, "dumps 0, 1, 2, 3");
    assert_eq!((ds.series.grid.nx, ds.series.grid.ny), (21, 21));
    assert!((ds.series.grid.x_range[1] - 5.0).abs() < 1e-12);
    // The selection's target: drift -2 v_th, spread 0.5 v_th; the mean of
    // the selected electrons (a sample of the 4096 in the box) is within 0.3 of it.
    let m = ds.series.moments();
    assert!((m[0].mean_vx + 2.0).abs() < 0.3, "blob centre {}", m[0].mean_vx);
    assert!((m[0].density - 1.0).abs() < 1e-12);
    // The frozen baseline rolls out on it like on any dataset.
    let (params, _) = AnyModel::Frozen.params_for(&ds, Default::default()).unwrap();
    let e = evaluate(&params, &ds, &Numerics::evaluation(), Default::default()).unwrap();
    assert!(e.score.mean().is_some_and(|m| m.mae.is_finite()));
}
