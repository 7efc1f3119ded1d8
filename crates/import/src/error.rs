//! The one error type of the import.

use std::path::{Path, PathBuf};

use collop_io::IoError;
use thiserror::Error;

/// Everything an import can refuse. Every message names the file (or the
/// option) at fault and says what to do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ImportError {
    /// ADIOS2 output (a `.bp` directory or file), which collop does not read.
    #[error(
        "{}: this is ADIOS2 output, which collop does not read; convert it to HDF5 with \
         `openpmd-pipe --infile {} --outfile {}` (openPMD-api's converter) and import the .h5 files",
        .path.display(), .infile, .outfile
    )]
    Adios2 {
        /// The file or directory given.
        path: PathBuf,
        /// The `--infile` pattern to suggest.
        infile: String,
        /// The `--outfile` pattern to suggest.
        outfile: String,
    },
    /// A file that is not HDF5, is truncated, or lacks what the format needs.
    #[error("{}: {message}", .path.display())]
    Input {
        /// The file or directory at fault.
        path: PathBuf,
        /// What is wrong and the fix.
        message: String,
    },
    /// An impossible or incomplete import specification.
    #[error("{0}")]
    Spec(String),
    /// Writing the datasets or the track files.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The import was stopped by its observer (Ctrl-C); `--resume` continues it.
    #[error("the import was interrupted; continue it with `--resume`")]
    Interrupted,
}

impl ImportError {
    /// An input error about `path`.
    pub fn input(path: &Path, message: impl Into<String>) -> Self {
        Self::Input { path: path.to_path_buf(), message: message.into() }
    }

    /// The file or directory at fault, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Adios2 { path, .. } | Self::Input { path, .. } => Some(path),
            Self::Io(e) => Some(e.path()),
            Self::Spec(_) | Self::Interrupted => None,
        }
    }
}
