use std::path::PathBuf;

use thiserror::Error;

/// Errors of the PIC code.
#[derive(Debug, Error)]
pub enum PicError {
    /// The deck cannot be parsed (syntax, unknown key, wrong type).
    #[error("cannot read deck: {0}")]
    Parse(String),
    /// The deck is well-formed but impossible or numerically unstable.
    #[error("deck refused: {0}")]
    Deck(String),
    /// A file could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// The run directory is taken: another process writes into it, or it
    /// holds a run that was neither resumed nor overwritten.
    #[error(transparent)]
    RunDir(collop_io::IoError),
    /// A checkpoint is corrupt or belongs to another deck.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// Realisations cannot be merged into one ensemble (different decks,
    /// equal seeds, different dumps, unfinished runs).
    #[error("merge refused: {0}")]
    Ensemble(String),
    /// The run went wrong (non-finite energy, ...).
    #[error("run failed: {0}")]
    Run(String),
}

impl PicError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), cause: source }
    }
}
