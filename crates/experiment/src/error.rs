use std::path::PathBuf;

use thiserror::Error;

/// Errors of the experiment layer. Messages name the file, key or model at
/// fault and the fix.
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// A configuration or specification that cannot work.
    #[error("{0}")]
    Config(String),
    /// A saved artefact that is missing, of another kind, or malformed.
    #[error("{path}: {message}")]
    Artefact {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Data that do not fit a model or each other.
    #[error("{0}")]
    Data(String),
    /// A file could not be read or written.
    #[error("{path}: {cause}")]
    File {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        cause: std::io::Error,
    },
    /// Datasets, npz archives and text files.
    #[error(transparent)]
    Io(#[from] collop_io::IoError),
    /// The simulator.
    #[error(transparent)]
    Fp(#[from] collop_fp::FpError),
    /// Models and training.
    #[error(transparent)]
    Learn(#[from] collop_learn::LearnError),
    /// Collision theory.
    #[error(transparent)]
    Theory(#[from] collop_theory::TheoryError),
    /// Grids and fields.
    #[error(transparent)]
    Core(#[from] collop_core::CoreError),
    /// Pictures.
    #[error(transparent)]
    Plot(#[from] collop_plot::PlotError),
    /// The report.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// The PIC code.
    #[error(transparent)]
    Pic(#[from] collop_pic::PicError),
}

impl ExperimentError {
    /// An artefact error at `path`.
    pub fn artefact(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Artefact { path: path.into(), message: message.into() }
    }

    /// A file error at `path`.
    pub fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::File { path: path.into(), cause: source }
    }

    /// Whether the error is a missing file (for callers that map it, e.g. to
    /// Python's `FileNotFoundError`).
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::File { cause, .. } => cause.kind() == std::io::ErrorKind::NotFound,
            Self::Io(collop_io::IoError::MissingFolder { .. } | collop_io::IoError::MissingArgs { .. }) => {
                true
            }
            _ => false,
        }
    }
}

impl From<std::fmt::Error> for ExperimentError {
    // Formatting into a `String` fails only if a `Display` impl does.
    fn from(e: std::fmt::Error) -> Self {
        ExperimentError::Data(format!("formatting a report: {e}"))
    }
}

/// Refuse a JSON record written by a newer collop (its `format_version`,
/// 1 when absent, above `current`) before reading its fields, whose names
/// may have changed; `path` names the file.
pub(crate) fn check_format_version(path: &std::path::Path, text: &str, current: u32) -> Result<()> {
    // Text that is not JSON is left to the typed reader, which says what it expected.
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else { return Ok(()) };
    let version = value.get("format_version").and_then(serde_json::Value::as_u64).unwrap_or(1);
    if version > u64::from(current) {
        return Err(ExperimentError::artefact(
            path,
            format!("format version {version} is newer than this collop reads ({current}); update collop"),
        ));
    }
    Ok(())
}

/// Result of the experiment layer.
pub type Result<T, E = ExperimentError> = std::result::Result<T, E>;

/// Context for errors and missing values inside the crate: the message
/// says what was being done, then the cause.
pub(crate) trait Context<T> {
    /// Wrap the error (or the absence) with the message of `f`.
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T>;
}

impl<T, E: std::fmt::Display> Context<T> for std::result::Result<T, E> {
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T> {
        self.map_err(|e| ExperimentError::Data(format!("{}: {e}", f())))
    }
}

impl<T> Context<T> for Option<T> {
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T> {
        self.ok_or_else(|| ExperimentError::Data(f()))
    }
}

/// Return an [`ExperimentError::Data`] with a formatted message.
macro_rules! bail {
    ($($t:tt)*) => {
        return Err($crate::error::ExperimentError::Data(format!($($t)*)))
    };
}
pub(crate) use bail;
