use thiserror::Error;

/// Errors of model building and training.
#[derive(Debug, Error)]
pub enum LearnError {
    /// A model or training setting that cannot work, with the reason and fix.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Data that do not fit the model or each other.
    #[error("inconsistent data: {0}")]
    Data(String),
    /// The simulator refused or diverged.
    #[error(transparent)]
    Fp(#[from] collop_fp::FpError),
    /// Training produced a non-finite loss or gradient.
    #[error("training diverged: {0}")]
    Diverged(String),
}
