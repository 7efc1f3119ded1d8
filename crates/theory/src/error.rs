use thiserror::Error;

/// Errors raised by the exact problems of `collop-theory`.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum TheoryError {
    /// A physical parameter is out of its domain (negative density,
    /// non-positive temperature, non-finite value, ...).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// Per-cell inputs whose length does not match the grid.
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    /// A distribution asked to sum to one is zero (or not finite) on the grid,
    /// e.g. a Gaussian far outside the velocity box.
    #[error("cannot normalise to sum one: {0}")]
    NotNormalisable(String),
}
