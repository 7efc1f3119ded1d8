//! Training into a run directory and reading it back: the files of a run,
//! one history line per epoch, a second training into the same directory
//! refused, a resume of a finished run changing nothing and of an
//! interrupted one finishing it, and the trained model evaluated against
//! the frozen baseline.

mod common;

use std::path::Path;

use collop_experiment::conditioning::Extrapolation;
use collop_experiment::trained::RunInfo;
use collop_experiment::{AnyModel, Dataset, TrainOptions, TrainedRun, evaluate, train};
use collop_learn::{EpochRecord, LearnError, Observer, TrainState};

use common::{npz, write_dataset};

/// The config of these tests: a free tensor (the default model) on one dataset: 12 + 6 epochs of Adam,
/// a checkpoint every 5 epochs.
fn cfg_of(folders: &[std::path::PathBuf]) -> collop_experiment::TrainConfig {
    common::tensor_config(folders, (12, 6), 5)
}

fn history(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("history.csv")).unwrap().lines().map(String::from).collect()
}

/// The mean absolute error of `model` on `ds` under the run's evaluation numerics.
fn mae(model: &AnyModel, ds: &Dataset, numerics: &collop_fp::Numerics) -> f64 {
    let (params, notes) = model.params_for(ds, Extrapolation::Refuse).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    let e = evaluate(&params, ds, numerics, model.eval_options(None, false)).unwrap();
    e.score.mean().expect("scored, not diverged").mae
}

#[test]
fn a_run_is_written_read_back_and_beats_the_frozen_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_dataset(&data, 5, 0.5, &[]);
    let cfg = cfg_of(std::slice::from_ref(&data));
    let run = dir.path().join("run");
    let out = train(&cfg, &run, TrainOptions { resume: false, plots: true }, &mut []).unwrap();
    assert_eq!(out.epochs, 18);
    assert!(out.evaluations > 0 && out.best.0.is_finite() && !out.best.1, "training loss, no validation");
    for f in [
        "config.toml",
        "run.json",
        "history.csv",
        "checkpoint.npz",
        "model.npz",
        "plots/loss.png",
        "plots/fields.png",
    ] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    // A header and one line per epoch, numbered 1..=18 over both stages.
    let lines = history(&run);
    assert_eq!(lines.len(), 19, "header + one line per epoch");
    assert!(lines[0].starts_with("stage,epoch,global_epoch,"), "{}", lines[0]);
    let global: Vec<usize> =
        lines[1..].iter().map(|l| l.split(',').nth(2).unwrap().parse().unwrap()).collect();
    assert_eq!(global, (1..=18).collect::<Vec<_>>());
    // model.npz: parameters, best parameters and the fields per time slot on the grid.
    let model = run.join("model.npz");
    let names: Vec<String> = collop_io::read_npz(&model).unwrap().into_iter().map(|(n, _)| n).collect();
    for n in ["phi", "theta", "best_phi", "A_x", "A_y", "D_xx", "D_yy", "D_xy", "grid"] {
        assert!(names.iter().any(|m| m == n), "model.npz lacks {n}: {names:?}");
    }
    assert_eq!(npz(&model, "D_xy").shape(), [1, 12, 12]);
    let info: RunInfo =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!((info.format_version, info.seed, info.datasets.len()), (2, 3, 1));
    // The run as loaded is the run as trained.
    let loaded = TrainedRun::load(&run).unwrap();
    assert_eq!(loaded.config, cfg);
    assert_eq!(loaded.theta, out.run.theta);
    assert_eq!(loaded.theta.len(), info.operator_parameters);
    assert!(loaded.conditioning.is_none() && !loaded.is_conditioned());

    // A second training into the run is refused; resuming the finished run
    // trains no epoch and leaves the history and the model as they were.
    let e = train(&cfg, &run, TrainOptions::default(), &mut []).err().expect("refused").to_string();
    assert!(e.contains("already holds a trained run") && e.contains("resume"), "{e}");
    let again = train(&cfg, &run, TrainOptions { resume: true, plots: false }, &mut []).unwrap();
    assert_eq!((again.epochs, again.evaluations), (18, 0));
    assert_eq!(history(&run), lines);
    assert_eq!(TrainedRun::load(&run).unwrap().theta, loaded.theta);
    // Resuming with another config is refused with the difference named.
    let mut other = cfg.clone();
    other.seed = 4;
    let e =
        train(&other, &run, TrainOptions { resume: true, plots: false }, &mut []).err().unwrap().to_string();
    assert!(e.contains("another config") && e.contains("seed 3 against 4"), "{e}");

    // The trained model beats the frozen distribution on its data (the blob
    // moves by a cell per dump; the frozen error is that whole displacement).
    let ds = Dataset::load(&data).unwrap();
    let model = AnyModel::open(run.to_str().unwrap()).unwrap();
    assert!(matches!(model, AnyModel::Trained(_)));
    let (learned, frozen) = (mae(&model, &ds, &cfg.evaluation), mae(&AnyModel::Frozen, &ds, &cfg.evaluation));
    assert!(learned < frozen, "a trained model beats the frozen distribution: {learned} vs {frozen}");
}

/// Stops a training with an error after `at` epochs, as an interrupt would.
struct StopAt(usize);

impl Observer for StopAt {
    fn on_epoch(&mut self, r: &EpochRecord, _phi: &[f64], _s: &TrainState) -> Result<(), LearnError> {
        if r.global_epoch == self.0 {
            return Err(LearnError::Config("interrupted".into()));
        }
        Ok(())
    }
}

/// A training interrupted after epoch 7 keeps its checkpoint of epoch 5;
/// the resume runs the 13 epochs left, and the history holds each epoch
/// once, the first five as the uninterrupted training wrote them.
#[test]
fn an_interrupted_run_resumes_from_its_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_dataset(&data, 5, 0.5, &[]);
    let cfg = cfg_of(std::slice::from_ref(&data));
    let whole = dir.path().join("whole");
    train(&cfg, &whole, TrainOptions::default(), &mut []).unwrap();
    let run = dir.path().join("run");
    let e = train(&cfg, &run, TrainOptions::default(), &mut [&mut StopAt(7)]).err().expect("interrupted");
    assert!(e.to_string().contains("interrupted"), "{e}");
    assert!(!run.join("model.npz").exists(), "no model before the training ends");
    let e = TrainedRun::load(&run).unwrap_err().to_string();
    assert!(e.contains("unfinished") && e.contains("resume"), "{e}");
    assert_eq!(history(&run).len(), 6, "the checkpoint of epoch 5");
    let e = train(&cfg, &run, TrainOptions::default(), &mut []).err().expect("refused").to_string();
    assert!(e.contains("already holds a trained run"), "{e}");
    let out = train(&cfg, &run, TrainOptions { resume: true, plots: false }, &mut []).unwrap();
    assert_eq!(out.epochs, 18);
    let lines = history(&run);
    assert_eq!(lines.len(), 19);
    let global: Vec<usize> =
        lines[1..].iter().map(|l| l.split(',').nth(2).unwrap().parse().unwrap()).collect();
    assert_eq!(global, (1..=18).collect::<Vec<_>>());
    // The first five epochs' losses (column 5) are those of the uninterrupted run.
    let loss = |l: &String| l.split(',').nth(4).unwrap().to_string();
    let first: Vec<String> = history(&whole)[1..6].iter().map(loss).collect();
    assert_eq!(lines[1..6].iter().map(loss).collect::<Vec<_>>(), first);
}
