use thiserror::Error;

/// Errors raised while building or combining core objects.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoreError {
    /// A velocity grid was asked for with no cells or an empty/inverted range.
    #[error("invalid velocity grid: {0}")]
    InvalidGrid(String),
    /// Arrays whose shapes should agree do not.
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    /// A value that must be finite is NaN or infinite.
    #[error("non-finite value: {0}")]
    NonFinite(String),
    /// Any other inconsistent argument.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}
