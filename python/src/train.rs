//! Training from a TOML config (a file, its text, or a dict), with a
//! per-epoch callback and Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use collop_experiment::{AnyModel, TrainConfig, TrainOptions};
use collop_learn::{EpochRecord, LearnError, Observer, TrainState};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{py_err, value_error};
use crate::interrupt::interruptible;
use crate::model::Model;

/// The config of a dict (the TOML tables as nested dicts) given as JSON.
fn config_from_json(json: &str) -> PyResult<TrainConfig> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| value_error(format!("config: {e}")))?;
    let text = toml::to_string(&value).map_err(|e| {
        value_error(format!("config: not a TOML table of tables ({e}); None values cannot be written"))
    })?;
    TrainConfig::from_toml(&text, "config").map_err(py_err)
}

/// Calls the Python callback with every epoch's record, and stops the
/// training when the callback raises or the stop flag is set.
struct Callback<'a> {
    callback: Option<&'a Py<PyAny>>,
    total: usize,
    stop: &'a AtomicBool,
    raised: Option<PyErr>,
}

impl Observer for Callback<'_> {
    fn on_epoch(&mut self, r: &EpochRecord, _phi: &[f64], _s: &TrainState) -> Result<(), LearnError> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(LearnError::Config("training interrupted".into()));
        }
        let Some(cb) = self.callback else { return Ok(()) };
        let result = Python::attach(|py| -> PyResult<()> {
            let d = PyDict::new(py);
            d.set_item("stage", r.stage)?;
            d.set_item("epoch", r.epoch)?;
            d.set_item("global_epoch", r.global_epoch)?;
            d.set_item("total_epochs", self.total)?;
            d.set_item("unroll", r.unroll)?;
            d.set_item("train_loss", r.train_loss)?;
            d.set_item("val_loss", r.val_loss)?;
            d.set_item("lr", r.lr)?;
            d.set_item("evaluations", r.evaluations)?;
            d.set_item("elapsed", r.elapsed)?;
            cb.call1(py, (d,))?;
            Ok(())
        });
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                self.raised = Some(e);
                Err(LearnError::Config("training stopped by an exception in the callback".into()))
            }
        }
    }
}

/// Train the config `config` (a path to a TOML file; or, with `is_json`,
/// a JSON text of the same tables) into the run directory `out`; with
/// `resume`, continue its interrupted run from the last checkpoint.
/// `callback(record)` is called after every epoch with a dict (`stage`,
/// `epoch`, `global_epoch`, `total_epochs`, `unroll`, `train_loss`,
/// `val_loss`, `lr`, `evaluations`, `elapsed`). Returns the trained model
/// and a dict of the outcome.
#[pyfunction]
#[pyo3(signature = (config, out, resume = false, callback = None, is_json = false, plots = false))]
pub fn train<'py>(
    py: Python<'py>,
    config: &str,
    out: PathBuf,
    resume: bool,
    callback: Option<Py<PyAny>>,
    is_json: bool,
    plots: bool,
) -> PyResult<(Model, Bound<'py, PyDict>)> {
    let cfg = if is_json {
        config_from_json(config)?
    } else {
        let path = Path::new(config);
        if !path.is_file() {
            return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
                "{config}: no such config file"
            )));
        }
        TrainConfig::load(path).map_err(py_err)?
    };
    let total: usize = cfg.training.stages.iter().map(|s| s.epochs).sum();
    let cb = callback.as_ref();
    let (outcome, raised) = interruptible(py, |stop| {
        let mut observer = Callback { callback: cb, total, stop, raised: None };
        let r = collop_experiment::train(&cfg, &out, TrainOptions { resume, plots }, &mut [&mut observer]);
        (r, observer.raised)
    })?;
    if let Some(e) = raised {
        return Err(e);
    }
    let outcome = outcome.map_err(py_err)?;
    let d = PyDict::new(py);
    d.set_item("epochs", outcome.epochs)?;
    d.set_item("evaluations", outcome.evaluations)?;
    d.set_item("seconds", outcome.seconds)?;
    d.set_item("best_loss", outcome.best.0)?;
    d.set_item("best_is_validation", outcome.best.1)?;
    d.set_item("model", outcome.model)?;
    Ok((Model::new(AnyModel::Trained(Box::new(outcome.run))), d))
}
