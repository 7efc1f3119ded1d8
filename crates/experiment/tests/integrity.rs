//! What a trained run reads back is checked: a training checkpoint with a
//! non-finite value or a stage past its schedule is refused naming the file
//! (never resumed as finished), a model file with a non-finite parameter
//! is refused naming it, and a run is refused on a dataset of another
//! velocity grid with the same cell count.

mod common;

use std::path::{Path, PathBuf};

use collop_core::VelocityGrid;
use collop_experiment::conditioning::Extrapolation;
use collop_experiment::{AnyModel, Dataset, TrainOptions, TrainedRun, train};
use ndarray::ArrayD;

use common::write_dataset;

/// The config of these tests: a free tensor trained for 4 + 2 epochs, a checkpoint every 2.
fn cfg_of(folders: &[PathBuf]) -> collop_experiment::TrainConfig {
    common::tensor_config(folders, (4, 2), 2)
}

/// A finished run on the tiny dataset of `common`; returns (data, run).
fn trained(dir: &Path) -> (PathBuf, PathBuf) {
    let data = dir.join("data");
    write_dataset(&data, 5, 0.5, &[]);
    let run = dir.join("run");
    train(&cfg_of(std::slice::from_ref(&data)), &run, TrainOptions::default(), &mut []).unwrap();
    (data, run)
}

/// Rewrites the archive `path` with `edit` applied to its arrays.
fn edit_npz(path: &Path, edit: impl Fn(&str, &mut ArrayD<f64>)) {
    let mut arrays = collop_io::read_npz(path).unwrap();
    for (name, a) in &mut arrays {
        edit(name, a);
    }
    let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
        arrays.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    collop_io::write_npz(path, &views).unwrap();
}

fn resume(data: &Path, run: &Path) -> String {
    let cfg = cfg_of(&[data.to_path_buf()]);
    train(&cfg, run, TrainOptions { resume: true, plots: false }, &mut []).err().expect("refused").to_string()
}

#[test]
fn a_checkpoint_with_a_nan_or_a_stage_past_its_schedule_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (data, run) = trained(dir.path());
    let ckpt = run.join("checkpoint.npz");
    let good = std::fs::read(&ckpt).unwrap();

    edit_npz(&ckpt, |name, a| {
        if name == "adam_v" {
            a[[3]] = f64::NAN;
        }
    });
    let e = resume(&data, &run);
    assert!(e.contains("checkpoint.npz") && e.contains("`adam_v` holds NaN at index 3"), "{e}");
    assert!(e.contains("delete it to restart the training"), "{e}");

    // The finished run's checkpoint says stage 2 of 2; stage 7 is past the
    // schedule and must not be taken as a finished training.
    std::fs::write(&ckpt, &good).unwrap();
    edit_npz(&ckpt, |name, a| {
        if name == "progress" {
            a[[0]] = 7.0;
        }
    });
    let e = resume(&data, &run);
    assert!(e.contains("checkpoint.npz") && e.contains("stage 7 is past the schedule of 2 stage"), "{e}");

    std::fs::write(&ckpt, &good).unwrap();
    edit_npz(&ckpt, |name, a| {
        if name == "progress" {
            a[[1]] = -1.0;
        }
    });
    let e = resume(&data, &run);
    assert!(e.contains("checkpoint.npz") && e.contains("`progress`"), "{e}");
}

#[test]
fn a_model_file_with_a_nan_is_refused_naming_the_file_and_the_array() {
    let dir = tempfile::tempdir().unwrap();
    let (_, run) = trained(dir.path());
    edit_npz(&run.join("model.npz"), |name, a| {
        if name == "theta" {
            a[[5]] = f64::INFINITY;
        }
    });
    let e = TrainedRun::load(&run).unwrap_err().to_string();
    assert!(e.contains("model.npz") && e.contains("`theta` holds inf at index 5"), "{e}");
}

/// The same 12 x 12 cells over another velocity range: the operator's
/// coefficients would be read on cells they were not trained for.
#[test]
fn a_run_is_refused_on_a_dataset_of_another_velocity_range_naming_both_grids() {
    let dir = tempfile::tempdir().unwrap();
    let (data, run) = trained(dir.path());
    let other = dir.path().join("other");
    let wide = VelocityGrid::square(12, 4.0).unwrap();
    let frames = collop_io::read_dataset_raw(&data).unwrap().series;
    let meta = collop_io::DatasetMeta::new(wide, 0.5, 3, 1.5);
    let stacked = ndarray::Array3::from_shape_fn((frames.len(), 12, 12), |(k, i, j)| frames.frame(k)[[i, j]]);
    collop_io::write_dataset(&other, &meta, stacked.view()).unwrap();
    let model = AnyModel::open(run.to_str().unwrap()).unwrap();
    let ds = Dataset::load(&other).unwrap();
    let e = model.params_for(&ds, Extrapolation::Refuse).unwrap_err().to_string();
    assert!(e.contains(&common::grid().to_string()) && e.contains(&wide.to_string()), "{e}");
    assert!(e.contains("trained on"), "{e}");
    // Its own data still roll out.
    assert!(model.params_for(&Dataset::load(&data).unwrap(), Extrapolation::Refuse).is_ok());
}
