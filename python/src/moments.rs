//! The kernel study's tools: the Kramers-Moyal moments of a model's
//! operator, and synthetic data like a dataset.

use std::path::PathBuf;

use collop_experiment::operator_moments::{MomentSettings, analyse};
use collop_experiment::synthetic_like::{SynthesisSettings, synthesise_like};
use pyo3::prelude::*;

use crate::data::json_to_py;
use crate::error::{py_err, value_error};

/// The Kramers-Moyal moments of the operator of `model` (a trained run or
/// a fields model) over the cells the datasets `data` populate, written
/// into `out` (as `collop moments`); returns `moments.json` as a dict.
#[pyfunction]
#[pyo3(signature = (model, data, out, scale = 1.0, cells = vec![], overwrite = false))]
pub fn operator_moments<'py>(
    py: Python<'py>,
    model: PathBuf,
    data: Vec<PathBuf>,
    out: PathBuf,
    scale: f64,
    cells: Vec<(f64, f64)>,
    overwrite: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let settings =
        MomentSettings { model, data, scale, cells: cells.into_iter().map(|(x, y)| [x, y]).collect() };
    let existing = if overwrite { collop_io::Existing::Overwrite } else { collop_io::Existing::Refuse };
    let r = py.detach(|| analyse(&settings, &out, existing)).map_err(py_err)?;
    json_to_py(py, &serde_json::to_string(&r).map_err(|e| value_error(e.to_string()))?)
}

/// Write into `out` the dataset `model` would give from the first frame of
/// the dataset `like`, each frame drawn as the histogram of `particles`
/// particles (as `collop synthesise`); returns the number of frames.
#[pyfunction]
#[pyo3(signature = (model, like, out, particles, seed = 0))]
pub fn synthesise(
    py: Python<'_>,
    model: PathBuf,
    like: PathBuf,
    out: PathBuf,
    particles: u64,
    seed: u64,
) -> PyResult<usize> {
    let s = SynthesisSettings { model, like, particles, seed };
    py.detach(|| synthesise_like(&s, &out)).map_err(py_err)
}
