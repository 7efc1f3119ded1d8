//! Rollouts of any model: on a dataset (scored against its frames, as
//! `collop rollout` and `collop test` do) or from an array of initial
//! distributions.
//!
//! Copies: an initial batch from numpy is read in place (a view of the
//! numpy array) and gathered once into the simulator's chunk layout (the
//! state it advances); the frames are written once into one array that is
//! handed to numpy without a copy (numpy then owns the Rust allocation).

use collop_experiment::conditioning::Extrapolation;
use collop_experiment::{AnyModel, OperatorParams, Score};
use collop_fp::{FpError, Numerics, Simulator};
use ndarray::{ArrayView3, Axis, Ix3};
use numpy::{IntoPyArray, PyArray1, PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::data::{Dataset, Grid, json_to_py, py_to_json};
use crate::error::{py_err, value_error};
use crate::interrupt::interruptible;
use crate::model::Model;

/// `base` with the keys of the dict `numerics` replaced (`scheme`,
/// `edges`, `substeps` (a count or `"auto"`), `clamp_f`, `clamp_d`,
/// `stability`), the keys of a config's `[evaluation]` table.
pub fn numerics_from(base: Numerics, numerics: Option<&Bound<'_, PyDict>>) -> PyResult<Numerics> {
    let Some(d) = numerics else { return Ok(base) };
    let mut value = serde_json::to_value(base).map_err(|e| value_error(e.to_string()))?;
    let given: serde_json::Value =
        serde_json::from_str(&py_to_json(d.as_any())?).map_err(|e| value_error(format!("numerics: {e}")))?;
    if let (Some(v), Some(g)) = (value.as_object_mut(), given.as_object()) {
        if g.get("scheme").and_then(|s| s.as_str()) == Some("conservative") {
            v.remove("edges");
        }
        for (k, x) in g {
            v.insert(k.clone(), x.clone());
        }
    }
    let n: Numerics = serde_json::from_value(value).map_err(|e| value_error(format!("numerics: {e}")))?;
    n.validate().map_err(py_err)?;
    Ok(n)
}

fn policy(extrapolate: bool) -> Extrapolation {
    if extrapolate { Extrapolation::Allow } else { Extrapolation::Refuse }
}

/// The outcome of a rollout on a dataset.
#[pyclass(module = "collop", frozen)]
pub struct Rollout {
    /// Frames `(steps + 1, nx, ny)`, index 0 the dataset's first frame.
    #[pyo3(get)]
    frames: Py<PyAny>,
    /// Means over the window and per-step arrays (see `collop.rollout`).
    #[pyo3(get)]
    metrics: Py<PyDict>,
    /// Stability and extrapolation notes.
    #[pyo3(get)]
    warnings: Vec<String>,
    /// The operator as rolled out (scheme, sub-steps, clamps).
    #[pyo3(get)]
    operator: String,
    /// Sub-steps taken in each dump step.
    #[pyo3(get)]
    substeps: Vec<usize>,
}

#[pymethods]
impl Rollout {
    fn __repr__(&self, py: Python<'_>) -> String {
        let m = self.metrics.bind(py);
        let get =
            |k: &str| m.get_item(k).ok().flatten().and_then(|v| v.extract::<f64>().ok()).unwrap_or(f64::NAN);
        format!("Rollout(mae={:.4e}, l1={:.4e}, operator={:?})", get("mae"), get("l1"), self.operator)
    }
}

/// Roll `model` out from the first frame of `dataset` under `numerics`
/// (a dict of `[evaluation]` keys over the model's evaluation numerics)
/// and score it against the dataset's frames over the first `steps` dump
/// steps (all by default).
#[pyfunction]
#[pyo3(signature = (model, dataset, numerics = None, steps = None, extrapolate = false, keep_frames = true))]
pub fn rollout(
    py: Python<'_>,
    model: &Model,
    dataset: &Dataset,
    numerics: Option<&Bound<'_, PyDict>>,
    steps: Option<usize>,
    extrapolate: bool,
    keep_frames: bool,
) -> PyResult<Rollout> {
    let numerics = numerics_from(model.inner.evaluation_numerics(), numerics)?;
    let (m, ds) = (&model.inner, &dataset.inner);
    let (_, e) =
        interruptible(py, |_| m.evaluate_on(ds, &numerics, policy(extrapolate), steps, keep_frames))?
            .map_err(py_err)?;
    let (errors, window) = match &e.score {
        Score::Scored { errors, window } => (errors, window),
        Score::Diverged { step, of } => {
            return Err(pyo3::exceptions::PyArithmeticError::new_err(format!(
                "the rollout of {} diverged at dump step {step} of {of}: the time step is unstable for this \
                 operator; use more sub-steps (numerics={{\"substeps\": N}}) or {{\"substeps\": \"auto\"}}",
                m.describe()
            )));
        }
    };
    let metrics = PyDict::new(py);
    let mean = json_to_py(py, &serde_json::to_string(&errors.mean).map_err(|e| value_error(e.to_string()))?)?;
    metrics.update(mean.cast::<pyo3::types::PyMapping>()?)?;
    let per_step = PyDict::new(py);
    let col = |f: fn(&collop_fp::FrameErrors) -> f64| -> Vec<f64> { errors.per_step.iter().map(f).collect() };
    per_step.set_item("mae", PyArray1::from_vec(py, col(|x| x.mae)))?;
    per_step.set_item("mse", PyArray1::from_vec(py, col(|x| x.mse)))?;
    per_step.set_item("l1", PyArray1::from_vec(py, col(|x| x.l1)))?;
    per_step.set_item("l2", PyArray1::from_vec(py, col(|x| x.l2)))?;
    per_step.set_item("l1_norm", PyArray1::from_vec(py, col(|x| x.l1_norm)))?;
    per_step.set_item("l2_norm", PyArray1::from_vec(py, col(|x| x.l2_norm)))?;
    metrics.set_item("per_step", per_step)?;
    metrics.set_item("window", window.to_string())?;
    metrics.set_item("steps", errors.per_step.len())?;
    let frames = match e.frames {
        Some(f) => {
            // (steps + 1, 1, nx, ny) -> (steps + 1, nx, ny): the same memory.
            let (n, _, nx, ny) = f.dim();
            let f = f.into_shape_with_order((n, nx, ny)).map_err(|e| value_error(e.to_string()))?;
            f.into_pyarray(py).into_any().unbind()
        }
        None => py.None(),
    };
    Ok(Rollout {
        frames,
        metrics: metrics.unbind(),
        warnings: e.warnings,
        operator: e.operator,
        substeps: e.substeps,
    })
}

/// The operator parameters of `model` on `grid` for `n_steps` dump steps
/// (under `dataset`'s condition when given).
fn params_on(
    model: &AnyModel,
    grid: collop_core::VelocityGrid,
    dataset: Option<&Dataset>,
    n_steps: usize,
    policy: Extrapolation,
) -> collop_experiment::Result<(OperatorParams, Vec<String>)> {
    if let Some(d) = dataset {
        return model.params_for(&d.inner, policy);
    }
    match model {
        AnyModel::Trained(r) => r.params_for_values(grid, &[], n_steps, policy),
        AnyModel::Fields(f) => {
            let p = f.params()?;
            p.check_grid(&grid, &format!("the {} model", f.meta.source.name()))?;
            Ok((p, Vec::new()))
        }
        AnyModel::Frozen => Ok((OperatorParams::frozen(grid), Vec::new())),
    }
}

/// Roll `model` out from the initial distributions `f0` (`(batch, nx, ny)`,
/// or one `(nx, ny)`) on `grid`, `dt` (`1/omega_p`) per dump step, over
/// `steps` dump steps starting at dump step `first_step` (which selects
/// time slots). Returns the frames `(steps + 1, batch, nx, ny)` (or
/// `(steps + 1, nx, ny)`) and the simulator's warnings.
#[pyfunction]
#[pyo3(signature = (model, f0, grid, dt, steps, numerics = None, first_step = 0, dataset = None, extrapolate = false))]
#[allow(clippy::too_many_arguments)]
pub fn rollout_array<'py>(
    py: Python<'py>,
    model: &Model,
    f0: PyReadonlyArrayDyn<'py, f64>,
    grid: &Grid,
    dt: f64,
    steps: usize,
    numerics: Option<&Bound<'py, PyDict>>,
    first_step: usize,
    dataset: Option<&Dataset>,
    extrapolate: bool,
) -> PyResult<(Bound<'py, PyArrayDyn<f64>>, Vec<String>)> {
    if !(dt.is_finite() && dt > 0.0) {
        return Err(value_error(format!("dt = {dt}: the time between dumps must be finite and > 0")));
    }
    if steps == 0 {
        return Err(value_error("steps = 0: roll out at least one dump step"));
    }
    let numerics = numerics_from(model.inner.evaluation_numerics(), numerics)?;
    let view = f0.as_array();
    let shape = view.shape().to_vec();
    let single = view.ndim() == 2;
    let batch: ArrayView3<'_, f64> = if single {
        view.insert_axis(Axis(0)).into_dimensionality::<Ix3>().map_err(|e| value_error(e.to_string()))?
    } else {
        view.into_dimensionality::<Ix3>()
            .map_err(|_| value_error(format!("f0 has shape {shape:?}: give (batch, nx, ny) or (nx, ny)")))?
    };
    if let Some(((b, i, j), v)) = batch.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(value_error(format!("f0[{b}, {i}, {j}] is {v}: initial distributions must be finite")));
    }
    let g = grid.inner;
    let m = &model.inner;
    let out = interruptible(py, |stop| -> collop_experiment::Result<_> {
        let (params, mut notes) = params_on(m, g, dataset, first_step + steps, policy(extrapolate))?;
        let op = params.operator(&numerics)?;
        let sim = Simulator::new(op.as_ref(), numerics.rollout());
        let r = sim.rollout_until(&params.theta, dt, batch, first_step, steps, stop)?;
        notes.extend(r.warnings);
        Ok((r.frames, notes))
    })?;
    let (frames, warnings) = match out {
        Ok(x) => x,
        Err(collop_experiment::ExperimentError::Fp(FpError::Stopped { .. })) => {
            // Only the interrupt sets the flag; it was raised above.
            return Err(value_error("the rollout was stopped"));
        }
        Err(e) => return Err(py_err(e)),
    };
    let frames = if single {
        let (n, _, nx, ny) = frames.dim();
        frames.into_shape_with_order((n, nx, ny)).map_err(|e| value_error(e.to_string()))?.into_dyn()
    } else {
        frames.into_dyn()
    };
    Ok((frames.into_pyarray(py), warnings))
}
