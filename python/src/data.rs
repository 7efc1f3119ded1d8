//! Velocity grids and datasets: folders read and written through
//! `collop-io`, frames handed to numpy without a copy.

use std::path::PathBuf;

use collop_core::{PhaseSpaceSeries, VelocityGrid};
use collop_experiment::Dataset as ExpDataset;
use collop_io::{DatasetMeta, PicParameters};
use numpy::{PyArray1, PyArray3, PyArrayMethods, PyReadonlyArray3};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{py_err, value_error};

/// A cell-centred 2V velocity grid: `nx x ny` cells over
/// `v_range = (vx_min, vx_max, vy_min, vy_max)` in units of `v_th`;
/// axis 0 is `v_x`.
#[pyclass(module = "collop", frozen, eq, skip_from_py_object)]
#[derive(Clone, Copy, PartialEq)]
pub struct Grid {
    pub inner: VelocityGrid,
}

#[pymethods]
impl Grid {
    #[new]
    fn new(nx: usize, ny: usize, v_range: (f64, f64, f64, f64)) -> PyResult<Self> {
        let inner =
            VelocityGrid::new(nx, ny, [v_range.0, v_range.1], [v_range.2, v_range.3]).map_err(py_err)?;
        Ok(Self { inner })
    }

    /// Cells along `v_x`.
    #[getter]
    fn nx(&self) -> usize {
        self.inner.nx
    }

    /// Cells along `v_y`.
    #[getter]
    fn ny(&self) -> usize {
        self.inner.ny
    }

    /// `(nx, ny)`.
    #[getter]
    fn shape(&self) -> (usize, usize) {
        self.inner.shape()
    }

    /// `(vx_min, vx_max, vy_min, vy_max)`, `v_th`.
    #[getter]
    fn v_range(&self) -> (f64, f64, f64, f64) {
        let g = &self.inner;
        (g.x_range[0], g.x_range[1], g.y_range[0], g.y_range[1])
    }

    /// Cell centres along `v_x`, `v_th`.
    #[getter]
    fn vx<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, self.inner.vx_centres())
    }

    /// Cell centres along `v_y`, `v_th`.
    #[getter]
    fn vy<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, self.inner.vy_centres())
    }

    fn __repr__(&self) -> String {
        let (a, b, c, d) = self.v_range();
        format!("Grid(nx={}, ny={}, v_range=({a}, {b}, {c}, {d}))", self.inner.nx, self.inner.ny)
    }
}

/// A dataset: the frames of one sub-population at successive dumps, the
/// grid, the times and the PIC parameters of its `args.yaml`.
#[pyclass(module = "collop", frozen)]
pub struct Dataset {
    pub inner: ExpDataset,
}

impl Dataset {
    pub fn new(inner: ExpDataset) -> Self {
        Self { inner }
    }
}

/// Read the dataset folder `path` (the folder holding `args.yaml` and the
/// `NNNNNN.npy` frames, or its parent holding them in `f/`).
#[pyfunction]
pub fn load_dataset(py: Python<'_>, path: PathBuf) -> PyResult<Dataset> {
    let ds = py.detach(|| ExpDataset::load(&path)).map_err(py_err)?;
    Ok(Dataset::new(ds))
}

fn pic_parameters_from(py: Python<'_>, given: Option<&Bound<'_, PyDict>>) -> PyResult<PicParameters> {
    let Some(d) = given else { return Ok(PicParameters::default()) };
    let json: String = py.import("json")?.call_method1("dumps", (d,))?.extract()?;
    serde_json::from_str(&json).map_err(|e| value_error(format!("pic_parameters: {e}")))
}

#[pymethods]
impl Dataset {
    /// A dataset from arrays: `frames` `(n_dumps, nx, ny)` on `grid`, `dt`
    /// (`1/omega_p`) apart, the first at dump `i_start` and time `t_start`;
    /// `pic_parameters` a dict of the `args.yaml` PIC keys (`ppc`,
    /// `particles_per_debye_area`, `dx_over_debye`, `shape_order`,
    /// `vth_c`, ...). The frames are copied once, as given (a folder
    /// read back is normalised so that its first frame sums to one).
    #[staticmethod]
    #[pyo3(signature = (frames, grid, dt, i_start = 0, t_start = None, pic_parameters = None, name = None))]
    #[allow(clippy::too_many_arguments)]
    fn from_arrays(
        py: Python<'_>,
        frames: PyReadonlyArray3<'_, f64>,
        grid: &Grid,
        dt: f64,
        i_start: usize,
        t_start: Option<f64>,
        pic_parameters: Option<&Bound<'_, PyDict>>,
        name: Option<String>,
    ) -> PyResult<Self> {
        let frames = frames.as_array().to_owned();
        let t_start = t_start.unwrap_or(i_start as f64 * dt);
        let series = PhaseSpaceSeries::new(grid.inner, frames, dt, i_start, t_start).map_err(py_err)?;
        let params = pic_parameters_from(py, pic_parameters)?;
        let meta = DatasetMeta::for_series(&series).with_pic_parameters(&params);
        let name = name.unwrap_or_else(|| "arrays".into());
        Ok(Self::new(ExpDataset { name, folder: PathBuf::new(), series, meta }))
    }

    /// Write the dataset as a folder (`args.yaml` and `NNNNNN.npy` frames),
    /// refused when `path` already holds one.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let ds = &self.inner;
        py.detach(|| collop_io::write_dataset(&path, &ds.meta, ds.series.frames.view())).map_err(py_err)
    }

    /// Display name (the resolved folder).
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// The folder it was read from (`None` when made from arrays).
    #[getter]
    fn folder(&self) -> Option<PathBuf> {
        (!self.inner.folder.as_os_str().is_empty()).then(|| self.inner.folder.clone())
    }

    /// Frames `(n_dumps, nx, ny)`: a read-only numpy view of the dataset's
    /// memory (no copy; it keeps the dataset alive).
    #[getter]
    fn frames<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyArray3<f64>>> {
        let frames = &slf.get().inner.series.frames;
        // SAFETY: the dataset is frozen (never mutated after construction),
        // and the array keeps the dataset object alive as its base.
        let view = unsafe { PyArray3::borrow_from_array(frames, slf.clone().into_any()) };
        view.readwrite().make_nonwriteable();
        Ok(view)
    }

    /// The velocity grid.
    #[getter]
    fn grid(&self) -> Grid {
        Grid { inner: self.inner.series.grid }
    }

    /// Time between dumps, `1/omega_p`.
    #[getter]
    fn dt(&self) -> f64 {
        self.inner.series.dt
    }

    /// Times of the frames, `1/omega_p`.
    #[getter]
    fn times<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        let s = &self.inner.series;
        PyArray1::from_vec(py, (0..s.len()).map(|k| s.t_start + k as f64 * s.dt).collect())
    }

    /// Dump number of the first frame.
    #[getter]
    fn first_dump(&self) -> usize {
        self.inner.series.first_dump
    }

    /// Dump steps after the first frame.
    #[getter]
    fn steps(&self) -> usize {
        self.inner.steps()
    }

    /// The PIC parameters recorded in `args.yaml`, as a dict (keys absent
    /// from the file are left out).
    #[getter]
    fn pic_parameters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let args = self.inner.folder.join("args.yaml");
        let p = self.inner.meta.pic_parameters(&args).map_err(py_err)?;
        json_to_py(py, &serde_json::to_string(&p).map_err(|e| value_error(e.to_string()))?)
    }

    /// Every key of `args.yaml` as a dict.
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &serde_json::to_string(&self.inner.meta).map_err(|e| value_error(e.to_string()))?)
    }

    fn __len__(&self) -> usize {
        self.inner.series.len()
    }

    fn __repr__(&self) -> String {
        let s = &self.inner.series;
        format!("Dataset({:?}, {} frames on {}, dt = {})", self.inner.name, s.len(), s.grid, s.dt)
    }
}

/// A JSON text as Python objects.
pub fn json_to_py<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (text,))
}

/// Python objects (dicts, lists, numbers, strings) as JSON text.
pub fn py_to_json(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    obj.py().import("json")?.call_method1("dumps", (obj,))?.extract()
}
