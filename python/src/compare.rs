//! The comparison of one PIC run's models, as data.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use collop_learn::{EpochRecord, LearnError, Observer, TrainState};

use collop_experiment::compare::{BuiltinModel, CompareSettings, Comparison};
use pyo3::prelude::*;

use crate::data::json_to_py;
use crate::error::{py_err, value_error};
use crate::interrupt::interruptible;

/// Stops the trainings of a comparison when the stop flag is set.
struct Stop<'a>(&'a AtomicBool);

impl Observer for Stop<'_> {
    fn on_epoch(&mut self, _r: &EpochRecord, _phi: &[f64], _s: &TrainState) -> Result<(), LearnError> {
        if self.0.load(Ordering::SeqCst) {
            return Err(LearnError::Config("comparison interrupted".into()));
        }
        Ok(())
    }
}

fn as_json<'py>(py: Python<'py>, c: &Comparison) -> PyResult<Bound<'py, PyAny>> {
    json_to_py(py, &serde_json::to_string(c).map_err(|e| value_error(e.to_string()))?)
}

/// Compare the learned, track, theory and frozen models of the PIC run
/// `run` (as `collop compare`), writing into `out`; returns the
/// comparison as a dict (the content of `comparison.json`).
#[pyfunction]
#[pyo3(signature = (run, out, train = vec![], test = vec![], models = None, lags = None, epochs_scale = 1.0,
    substeps = 1, min_count = 10, resume = false))]
#[allow(clippy::too_many_arguments)]
pub fn compare<'py>(
    py: Python<'py>,
    run: PathBuf,
    out: PathBuf,
    train: Vec<String>,
    test: Vec<String>,
    models: Option<Vec<String>>,
    lags: Option<Vec<usize>>,
    epochs_scale: f64,
    substeps: usize,
    min_count: usize,
    resume: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if !run.is_dir() {
        return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
            "{}: no such PIC run directory",
            run.display()
        )));
    }
    let mut a = CompareSettings::new(run);
    a.train = train;
    a.test = test;
    if let Some(m) = models {
        a.models =
            m.iter().map(|s| BuiltinModel::try_from(s.clone()).map_err(py_err)).collect::<PyResult<_>>()?;
    }
    if let Some(l) = lags {
        a.lags = l;
    }
    a.epochs_scale = epochs_scale;
    a.substeps = substeps;
    a.min_count = min_count;
    a.resume = resume;
    let cmp = interruptible(py, |stop| {
        let mut watch = Stop(stop);
        collop_experiment::compare::compare(&a, &out, &mut |_| {}, &mut [&mut watch])
    })?
    .map_err(py_err)?;
    as_json(py, &cmp)
}

/// Read the comparison written into `dir` by `collop compare` or
/// `collop.compare`, as a dict.
#[pyfunction]
pub fn load_comparison(py: Python<'_>, dir: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    if !dir.join("comparison.json").is_file() {
        return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
            "{}: no comparison.json here",
            dir.display()
        )));
    }
    let c = py.detach(|| Comparison::load(&dir)).map_err(py_err)?;
    as_json(py, &c)
}
