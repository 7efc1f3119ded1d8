//! collop's errors as Python exceptions, with the library's messages.
//!
//! A missing file or folder is `FileNotFoundError`, another failure of the
//! file system `OSError`, a rollout that diverged or a training that did
//! `ArithmeticError`, everything else (bad values, configs, artefacts,
//! data that do not fit) `ValueError`.

use collop_experiment::ExperimentError;
use pyo3::PyErr;
use pyo3::exceptions::{PyArithmeticError, PyFileNotFoundError, PyOSError, PyValueError};

/// `e` as the Python exception of its kind, with its message.
pub fn to_py(e: ExperimentError) -> PyErr {
    let message = e.to_string();
    if e.is_not_found() {
        return PyFileNotFoundError::new_err(message);
    }
    match &e {
        ExperimentError::File { .. } => PyOSError::new_err(message),
        ExperimentError::Io(io) => io_kind(io, message),
        ExperimentError::Fp(collop_fp::FpError::Diverged { .. })
        | ExperimentError::Learn(collop_learn::LearnError::Diverged(_)) => {
            PyArithmeticError::new_err(message)
        }
        _ => PyValueError::new_err(message),
    }
}

fn io_kind(e: &collop_io::IoError, message: String) -> PyErr {
    match e {
        collop_io::IoError::MissingFolder { .. } | collop_io::IoError::MissingArgs { .. } => {
            PyFileNotFoundError::new_err(message)
        }
        _ => PyValueError::new_err(message),
    }
}

/// Any library error, through [`ExperimentError`].
pub fn py_err(e: impl Into<ExperimentError>) -> PyErr {
    to_py(e.into())
}

/// A bad argument.
pub fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}
