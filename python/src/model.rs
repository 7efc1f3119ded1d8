//! Models: trained runs, fields models (theory, tracks, given fields) and
//! the frozen baseline, with their fields and radial profiles as arrays.

use std::path::PathBuf;

use collop_core::FpFields;
use collop_core::shells::{Cells, ShellSpec, average_shells};
use collop_experiment::conditioning::Extrapolation;
use collop_experiment::theory::{PicInput, TheoryKind, static_model, theory_model};
use collop_experiment::tracks::{TrackSettings, estimate};
use collop_experiment::{AnyModel, FieldsModel, FieldsSource, OperatorParams};
use collop_learn::tracks::{TrackEstimate, TrackEstimator, Tracks};
use ndarray::{Array2, Array3, Axis};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2, ToPyArray};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::data::{Dataset, Grid, json_to_py, py_to_json};
use crate::error::{py_err, value_error};

/// Names of the five Fokker-Planck fields, in `FpFields` order.
pub const FIELD_NAMES: [&str; 5] = ["A_x", "A_y", "D_xx", "D_yy", "D_xy"];

/// A model collop can roll out: a trained run, a fields model (theory,
/// tracks, given fields) or the frozen baseline.
#[pyclass(module = "collop", frozen)]
pub struct Model {
    pub inner: AnyModel,
    /// What made it (theory and track models): the library's report text.
    report: Option<String>,
    /// Track models: the estimates behind the fields (one per time window).
    estimates: Vec<TrackEstimate>,
}

impl Model {
    pub fn new(inner: AnyModel) -> Self {
        Self { inner, report: None, estimates: Vec::new() }
    }

    /// The fields under a condition (see `Model.fields`).
    fn fields_of(
        &self,
        ds: Option<&Dataset>,
        steps: Option<usize>,
        policy: Extrapolation,
        given: &collop_io::PicParameters,
    ) -> PyResult<Vec<FpFields>> {
        match &self.inner {
            AnyModel::Trained(r) => {
                if r.is_conditioned() {
                    let m = r.fields_for(ds.map(|d| &d.inner), given, steps, policy).map_err(py_err)?;
                    return Ok(m.fields);
                }
                if *given != collop_io::PicParameters::default() {
                    return Err(value_error(format!(
                        "{}: the model has no PIC-parameter conditioners; its fields do not depend on them",
                        r.dir.display()
                    )));
                }
                let grid = match (ds, r.grid) {
                    (Some(d), _) => d.inner.series.grid,
                    (None, Some(g)) => g,
                    (None, None) => return Err(value_error("give a dataset: the run records no grid")),
                };
                let p = OperatorParams::new(grid, r.config.model.operator_shape(), r.theta.clone())
                    .map_err(py_err)?;
                p.check_grid(&grid, "the dataset").map_err(py_err)?;
                p.fields().ok_or_else(|| {
                    value_error(format!(
                        "{}: a {} model has kernels, not drift and diffusion fields; see Model.theta",
                        r.dir.display(),
                        r.config.model.family()
                    ))
                })
            }
            AnyModel::Fields(f) => Ok(f.fields.clone()),
            AnyModel::Frozen => match ds {
                Some(d) => Ok(vec![FpFields::zeros(d.inner.series.grid)]),
                None => Err(value_error("the frozen model has zero fields on any grid: give a dataset")),
            },
        }
    }
}

fn policy(extrapolate: bool) -> Extrapolation {
    if extrapolate { Extrapolation::Allow } else { Extrapolation::Refuse }
}

fn given_parameters(py: Python<'_>, d: Option<&Bound<'_, PyDict>>) -> PyResult<collop_io::PicParameters> {
    let Some(d) = d else { return Ok(collop_io::PicParameters::default()) };
    let _ = py;
    serde_json::from_str(&py_to_json(d.as_any())?).map_err(|e| value_error(format!("pic_parameters: {e}")))
}

/// Stack per-slot fields into `{name: (n_slots, nx, ny)}`.
fn fields_dict<'py>(py: Python<'py>, fields: &[FpFields]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let Some(first) = fields.first() else { return Ok(d) };
    let (nx, ny) = first.grid.shape();
    for (k, name) in FIELD_NAMES.iter().enumerate() {
        let mut a = Array3::zeros((fields.len(), nx, ny));
        for (s, f) in fields.iter().enumerate() {
            a.index_axis_mut(Axis(0), s).assign(f.as_array()[k]);
        }
        d.set_item(*name, a.into_pyarray(py))?;
    }
    Ok(d)
}

#[pymethods]
impl Model {
    /// `"trained"`, `"fields"` or `"frozen"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match &self.inner {
            AnyModel::Trained(_) => "trained",
            AnyModel::Fields(_) => "fields",
            AnyModel::Frozen => "frozen",
        }
    }

    /// Where the fields come from (`theory-static`, `theory-dynamic`,
    /// `tracks`, `learned`, `given`, ...), or the trained model's family.
    #[getter]
    fn source(&self) -> String {
        match &self.inner {
            AnyModel::Trained(r) => r.config.model.family().to_string(),
            AnyModel::Fields(f) => f.meta.source.name().to_string(),
            AnyModel::Frozen => "frozen".into(),
        }
    }

    /// The run or fields directory (`None` for models made in memory).
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        match &self.inner {
            AnyModel::Trained(r) => Some(r.dir.clone()),
            _ => None,
        }
    }

    /// What the model is, in a few words.
    fn describe(&self) -> String {
        self.inner.describe()
    }

    /// The library's report of a theory or track model (amplitude and
    /// profiles, interval counts), else `None`.
    #[getter]
    fn report(&self) -> Option<String> {
        self.report.clone()
    }

    /// The numerics the model is rolled out with unless told otherwise
    /// (a trained run's `[evaluation]`), as a dict.
    #[getter]
    fn evaluation_numerics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let n = self.inner.evaluation_numerics();
        json_to_py(py, &serde_json::to_string(&n).map_err(|e| value_error(e.to_string()))?)
    }

    /// Operator parameters `theta` (grid units; the saved ones of a
    /// trained run, condition 0), `None` for the frozen model.
    #[getter]
    fn theta<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyArray1<f64>>>> {
        Ok(match &self.inner {
            AnyModel::Trained(r) => Some(PyArray1::from_slice(py, &r.theta)),
            AnyModel::Fields(f) => Some(PyArray1::from_vec(py, f.params().map_err(py_err)?.theta)),
            AnyModel::Frozen => None,
        })
    }

    /// The best model parameters `phi` of a trained run (`None` otherwise).
    #[getter]
    fn parameters<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        match &self.inner {
            AnyModel::Trained(r) => r.phi.as_deref().map(|p| PyArray1::from_slice(py, p)),
            _ => None,
        }
    }

    /// The resolved training config of a trained run, as TOML text.
    #[getter]
    fn config(&self) -> PyResult<Option<String>> {
        match &self.inner {
            AnyModel::Trained(r) => Ok(Some(r.config.to_toml().map_err(py_err)?)),
            _ => Ok(None),
        }
    }

    /// The velocity grid of the model (`None` for the frozen model, which
    /// lives on any grid).
    #[getter]
    fn grid(&self) -> Option<Grid> {
        match &self.inner {
            AnyModel::Trained(r) => r.grid.map(|inner| Grid { inner }),
            AnyModel::Fields(f) => Some(Grid { inner: f.grid() }),
            AnyModel::Frozen => None,
        }
    }

    /// The drift and diffusion fields `{"A_x", "A_y", "D_xx", "D_yy",
    /// "D_xy"}`, each `(n_slots, nx, ny)` in physical units (`A` in
    /// `v_th omega_p`, `D` in `v_th^2 omega_p`), one slot per time slot.
    /// A model conditioned on PIC parameters or time gives the fields of
    /// the condition of `dataset` (its `args.yaml`) and of
    /// `pic_parameters` (a dict, e.g. `{"ppc": 8}`), with slots for
    /// `steps` dump steps; outside the training range it is refused
    /// unless `extrapolate`.
    #[pyo3(signature = (dataset = None, pic_parameters = None, steps = None, extrapolate = false))]
    fn fields<'py>(
        &self,
        py: Python<'py>,
        dataset: Option<&Dataset>,
        pic_parameters: Option<&Bound<'py, PyDict>>,
        steps: Option<usize>,
        extrapolate: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let given = given_parameters(py, pic_parameters)?;
        let f = self.fields_of(dataset, steps, policy(extrapolate), &given)?;
        fields_dict(py, &f)
    }

    /// Radial profiles: the fields' `A_par`, `D_par`, `D_perp` averaged
    /// over `n_bins` shells of `|v|` from 0 to the largest cell speed.
    /// Returns `speed` `(n_shells,)` (mean speed of each shell's cells,
    /// `v_th`) and `A_par`, `D_par`, `D_perp` with their spreads over the
    /// shell's cells (`A_par_spread`, ...), each `(n_slots, n_shells)`.
    /// Conditions as for `fields`.
    #[pyo3(signature = (n_bins = 25, dataset = None, pic_parameters = None, steps = None, extrapolate = false))]
    fn radial_profiles<'py>(
        &self,
        py: Python<'py>,
        n_bins: usize,
        dataset: Option<&Dataset>,
        pic_parameters: Option<&Bound<'py, PyDict>>,
        steps: Option<usize>,
        extrapolate: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let given = given_parameters(py, pic_parameters)?;
        let fields = self.fields_of(dataset, steps, policy(extrapolate), &given)?;
        let Some(first) = fields.first() else { return Err(value_error("the model has no fields")) };
        let spec = ShellSpec::bins(n_bins, first.grid.max_cell_speed()).map_err(py_err)?;
        let mut speed: Vec<f64> = Vec::new();
        let (mut mean, mut spread) = (Vec::new(), Vec::new());
        for f in &fields {
            let shells = average_shells(f, Cells::All, spec).map_err(py_err)?;
            if speed.is_empty() {
                speed = shells.iter().map(|s| s.speed).collect();
            }
            mean.push(shells.iter().map(|s| s.mean).collect::<Vec<_>>());
            spread.push(shells.iter().map(|s| s.spread).collect::<Vec<_>>());
        }
        let d = PyDict::new(py);
        d.set_item("speed", PyArray1::from_vec(py, speed.clone()))?;
        for (k, name) in ["A_par", "D_par", "D_perp"].iter().enumerate() {
            for (suffix, values) in [("", &mean), ("_spread", &spread)] {
                let a = Array2::from_shape_fn((fields.len(), speed.len()), |(s, b)| values[s][b][k]);
                d.set_item(format!("{name}{suffix}"), a.into_pyarray(py))?;
            }
        }
        Ok(d)
    }

    /// Track models: the estimates behind the fields, one dict per time
    /// window: `stderr` (standard errors of `A_x ... D_xy`, each
    /// `(nx, ny)`), `count` (intervals per cell), `tau` (`1/omega_p`),
    /// `outside` (intervals starting off the grid). Empty for other models.
    #[getter]
    fn track_estimates<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.estimates.iter().map(|e| estimate_dict(py, e)).collect()
    }

    /// Write a fields model (theory, tracks, given) as a fields directory
    /// (`fields.npz` + `run.json`) that `load_model` and the CLI read;
    /// refused when `path` holds one unless `overwrite`.
    #[pyo3(signature = (path, overwrite = false))]
    fn save(&self, py: Python<'_>, path: PathBuf, overwrite: bool) -> PyResult<()> {
        let AnyModel::Fields(f) = &self.inner else {
            return Err(value_error(
                "only fields models are saved this way; a trained run is its directory already",
            ));
        };
        let existing = if overwrite { collop_io::Existing::Overwrite } else { collop_io::Existing::Refuse };
        py.detach(|| f.write_dir(&path, existing)).map_err(py_err)
    }

    fn __repr__(&self) -> String {
        format!("Model({})", self.inner.describe())
    }
}

fn estimate_dict<'py>(py: Python<'py>, e: &TrackEstimate) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let stderr = PyDict::new(py);
    for (name, a) in FIELD_NAMES.iter().zip(e.stderr.as_array()) {
        stderr.set_item(*name, a.to_pyarray(py))?;
    }
    let fields = PyDict::new(py);
    for (name, a) in FIELD_NAMES.iter().zip(e.fields.as_array()) {
        fields.set_item(*name, a.to_pyarray(py))?;
    }
    d.set_item("fields", fields)?;
    d.set_item("stderr", stderr)?;
    d.set_item("count", e.count.mapv(|c| c as u64).into_pyarray(py))?;
    d.set_item("tau", e.tau)?;
    d.set_item("outside", e.outside)?;
    d.set_item("start_times", (e.start_times[0], e.start_times[1]))?;
    Ok(d)
}

/// Open a model: `"frozen"`, a run directory written by `collop train` or
/// `collop.train`, or a fields directory (`collop theory`, `collop tracks`,
/// `Model.save`).
#[pyfunction]
pub fn load_model(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
    let spec = path.display().to_string();
    if spec != "frozen" && !path.exists() {
        return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
            "{spec}: no such run or fields directory"
        )));
    }
    Ok(Model::new(py.detach(|| AnyModel::open(&spec)).map_err(py_err)?))
}

/// The frozen baseline: no evolution.
#[pyfunction]
pub fn frozen() -> Model {
    Model::new(AnyModel::Frozen)
}

/// The static-shielding theory model with amplitude `amplitude`
/// (`C`, `v_th^3 omega_p`; about 0.034 for the published data) on `grid`.
#[pyfunction]
pub fn static_theory(grid: &Grid, amplitude: f64) -> PyResult<Model> {
    Ok(Model::new(AnyModel::Fields(static_model(&grid.inner, amplitude).map_err(py_err)?)))
}

/// The 2D Lenard-Balescu collision model of finite-size particles from PIC
/// parameters: `source` is a PIC deck (TOML) or a dataset folder (its
/// `args.yaml`); keyword values override or complete what it records.
/// `kind` is `"static"` or `"dynamic"` shielding; the grid is `grid_from`'s
/// (default: the dataset's, or the deck's phase-space window).
#[pyfunction]
#[pyo3(signature = (source, kind = "dynamic", grid_from = None, ppc = None, particles_per_debye_area = None,
    dx_over_debye = None, dy_over_debye = None, shape_order = None, vth_c = None))]
#[allow(clippy::too_many_arguments)]
pub fn theory(
    py: Python<'_>,
    source: PathBuf,
    kind: &str,
    grid_from: Option<PathBuf>,
    ppc: Option<f64>,
    particles_per_debye_area: Option<f64>,
    dx_over_debye: Option<f64>,
    dy_over_debye: Option<f64>,
    shape_order: Option<usize>,
    vth_c: Option<f64>,
) -> PyResult<Model> {
    let kind = match kind {
        "static" => TheoryKind::Static,
        "dynamic" => TheoryKind::Dynamic,
        other => return Err(value_error(format!("kind = {other:?}: use \"static\" or \"dynamic\""))),
    };
    let input = PicInput {
        input: source,
        grid_from,
        ppc,
        particles_per_debye_area,
        dx_over_debye,
        dy_over_debye,
        shape_order,
        vth_c,
    };
    let (model, text) = py
        .detach(|| {
            let (params, grid, from) = input.resolve()?;
            theory_model(&params, &grid, kind, &from)
        })
        .map_err(py_err)?;
    Ok(Model { inner: AnyModel::Fields(model), report: Some(text), estimates: Vec::new() })
}

/// Drift and diffusion estimated from particle tracks (`tracks.npz` files
/// written by the PIC code, streamed) on the grid of the dataset
/// `grid_from`: `A = <dv>/tau`, `D = <dv dv>/tau` binned by starting
/// velocity over intervals of `lag` dumps; bins with fewer than
/// `min_count` intervals are zero; `window` resolves the estimate in
/// time windows of that many dumps (one time slot per dump step).
#[pyfunction]
#[pyo3(signature = (paths, grid_from, lag = 1, overlapping = false, covariance = false, min_count = 10, window = None))]
#[allow(clippy::too_many_arguments)]
pub fn tracks(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    grid_from: PathBuf,
    lag: usize,
    overlapping: bool,
    covariance: bool,
    min_count: usize,
    window: Option<usize>,
) -> PyResult<Model> {
    for p in &paths {
        if !p.exists() {
            return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
                "{}: no such track file",
                p.display()
            )));
        }
    }
    let settings =
        TrackSettings { tracks: paths, grid_from, lag, overlapping, covariance, min_count, window };
    let m = py.detach(|| estimate(&settings)).map_err(py_err)?;
    Ok(Model { inner: AnyModel::Fields(m.model), report: Some(m.text), estimates: m.estimates })
}

/// Drift and diffusion estimated from arrays of velocities: `vx`, `vy`
/// `(n_dumps, n_particles)` in `v_th` at times `t` (`1/omega_p`), binned
/// on `grid` as `tracks` does.
#[pyfunction]
#[pyo3(signature = (t, vx, vy, grid, lag = 1, overlapping = false, covariance = false, min_count = 10))]
#[allow(clippy::too_many_arguments)]
pub fn tracks_from_arrays(
    py: Python<'_>,
    t: PyReadonlyArray1<'_, f64>,
    vx: PyReadonlyArray2<'_, f64>,
    vy: PyReadonlyArray2<'_, f64>,
    grid: &Grid,
    lag: usize,
    overlapping: bool,
    covariance: bool,
    min_count: usize,
) -> PyResult<Model> {
    let tracks =
        Tracks { t: t.as_array().to_vec(), vx: vx.as_array().to_owned(), vy: vy.as_array().to_owned() };
    let estimator = TrackEstimator { lag, overlapping, covariance, min_count };
    let g = grid.inner;
    let e = py.detach(|| estimator.estimate(&tracks, &g)).map_err(py_err)?;
    let source = FieldsSource::Given { description: format!("tracks from arrays, lag {lag} dumps") };
    let model = FieldsModel::new(vec![e.fields.clone()], source).map_err(py_err)?;
    Ok(Model { inner: AnyModel::Fields(model), report: None, estimates: vec![e] })
}
