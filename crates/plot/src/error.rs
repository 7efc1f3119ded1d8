use std::path::PathBuf;

use collop_core::CoreError;
use plotters::drawing::DrawingAreaErrorKind;
use thiserror::Error;

/// Errors raised while checking the data of a picture, drawing it or
/// writing it.
#[derive(Debug, Error)]
pub enum PlotError {
    /// Data that cannot be drawn as asked (no series, a series with no
    /// points, a non-positive value on a log axis, zero bins, ...).
    #[error("invalid plot input: {0}")]
    InvalidInput(String),
    /// Arrays whose lengths or shapes should agree do not.
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    /// A value to be drawn is NaN or infinite.
    #[error("non-finite value: {0}")]
    NonFinite(String),
    /// The embedded font could not be loaded.
    #[error("font: {0}")]
    Font(String),
    /// The drawing library failed.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// Encoding the bitmap as PNG failed.
    #[error("PNG encoding failed: {0}")]
    Encode(String),
    /// Writing the picture to disk failed.
    #[error("cannot write {path}: {cause}")]
    Io {
        /// The picture's path.
        path: PathBuf,
        /// What the file system said.
        cause: std::io::Error,
    },
}

impl From<CoreError> for PlotError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::ShapeMismatch(s) => Self::ShapeMismatch(s),
            CoreError::NonFinite(s) => Self::NonFinite(s),
            CoreError::InvalidGrid(s) | CoreError::InvalidArgument(s) => Self::InvalidInput(s),
        }
    }
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        Self::Draw(e.to_string())
    }
}
