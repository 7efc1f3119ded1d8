//! PIC runs from a deck (a file or a dict), with progress and Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use collop_pic::{Deck, Derived, Observer, Progress, RunOptions};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::data::{Dataset, json_to_py};
use crate::error::{py_err, value_error};
use crate::interrupt::interruptible;

/// Passes progress to the Python callback and the stop flag to the run.
struct Watcher<'a> {
    callback: Option<&'a Py<PyAny>>,
    stop: &'a AtomicBool,
    raised: Option<PyErr>,
}

impl Watcher<'_> {
    fn call(&mut self, event: &str, fill: impl FnOnce(&Bound<'_, PyDict>) -> PyResult<()>) {
        let Some(cb) = self.callback else { return };
        if self.raised.is_some() {
            return;
        }
        let r = Python::attach(|py| -> PyResult<()> {
            let d = PyDict::new(py);
            d.set_item("event", event)?;
            fill(&d)?;
            cb.call1(py, (d,))?;
            Ok(())
        });
        if let Err(e) = r {
            self.raised = Some(e);
        }
    }
}

impl Observer for Watcher<'_> {
    fn started(&mut self, derived: &Derived, start_step: u64) {
        let text = derived.to_string();
        self.call("started", |d| {
            d.set_item("start_step", start_step)?;
            d.set_item("derived", text)
        });
    }

    fn progress(&mut self, p: &Progress) {
        self.call("progress", |d| {
            d.set_item("step", p.step)?;
            d.set_item("n_steps", p.n_steps)?;
            d.set_item("time", p.time)?;
            d.set_item("particle_steps_per_second", p.particle_steps_per_second)?;
            d.set_item("energy_error", p.energy_error)?;
            d.set_item("dumps", p.dumps)
        });
    }

    fn dumped(&mut self, dump: usize, time: f64) {
        self.call("dumped", |d| {
            d.set_item("dump", dump)?;
            d.set_item("time", time)
        });
    }

    fn warning(&mut self, message: &str) {
        self.call("warning", |d| d.set_item("message", message));
    }

    fn stop_requested(&mut self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.raised.is_some()
    }
}

/// The datasets of a PIC run directory: every `<out>/<sub-population>/f`,
/// by name.
fn run_datasets(out: &Path) -> collop_experiment::Result<Vec<(String, collop_experiment::Dataset)>> {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .map_err(|e| collop_experiment::ExperimentError::file(out, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("f").join("args.yaml").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| Ok((n.clone(), collop_experiment::Dataset::load(&out.join(&n).join("f"))?)))
        .collect()
}

/// The datasets of a run by sub-population name.
type Datasets = Vec<(String, Dataset)>;

/// Run the PIC deck `deck` (a TOML file; or, with `is_json`, the JSON text
/// of the same tables) into the run directory `out`. `callback(event)`
/// receives dicts with `event` = `started`, `progress` (`step`,
/// `n_steps`, `time`, `particle_steps_per_second`, `energy_error`,
/// `dumps`), `dumped` or `warning`. Returns the summary (a dict) and the
/// datasets of the sub-populations by name.
#[pyfunction]
#[pyo3(signature = (deck, out, resume = false, overwrite = false, threads = 0, callback = None, is_json = false))]
#[allow(clippy::too_many_arguments)]
pub fn run_pic<'py>(
    py: Python<'py>,
    deck: &str,
    out: PathBuf,
    resume: bool,
    overwrite: bool,
    threads: usize,
    callback: Option<Py<PyAny>>,
    is_json: bool,
) -> PyResult<(Bound<'py, PyAny>, Datasets)> {
    let deck = if is_json {
        let value: serde_json::Value =
            serde_json::from_str(deck).map_err(|e| value_error(format!("deck: {e}")))?;
        let text = toml::to_string(&value).map_err(|e| value_error(format!("deck: {e}")))?;
        Deck::from_toml(&text).map_err(py_err)?
    } else {
        let path = Path::new(deck);
        if !path.is_file() {
            return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!("{deck}: no such deck file")));
        }
        Deck::from_file(path).map_err(py_err)?
    };
    let opts = RunOptions { threads, resume, overwrite, ..RunOptions::default() };
    let cb = callback.as_ref();
    let (summary, raised) = interruptible(py, |stop| {
        let mut w = Watcher { callback: cb, stop, raised: None };
        let s = collop_pic::run(&deck, &out, &opts, &mut w);
        (s, w.raised)
    })?;
    if let Some(e) = raised {
        return Err(e);
    }
    let summary = summary.map_err(py_err)?;
    let json = serde_json::to_string(&summary).map_err(|e| value_error(e.to_string()))?;
    let datasets = py.detach(|| run_datasets(&out)).map_err(py_err)?;
    Ok((json_to_py(py, &json)?, datasets.into_iter().map(|(n, d)| (n, Dataset::new(d))).collect()))
}
