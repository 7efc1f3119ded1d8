use thiserror::Error;

/// Errors of the simulator.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FpError {
    /// Array or parameter sizes do not match the operator's grid.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// The chosen explicit time step exceeds the stability limit.
    #[error(
        "unstable time step: {dt_sub:.4e} per sub-step exceeds the explicit-Euler stability limit \
         {dt_max:.4e} ({cause}); use at least {needed} sub-steps per dump (--substeps {needed}) \
         or automatic sub-stepping"
    )]
    Unstable {
        /// Sub-step used.
        dt_sub: f64,
        /// Estimated largest stable sub-step.
        dt_max: f64,
        /// Sub-steps per dump that would be stable.
        needed: usize,
        /// What limits the step.
        cause: String,
    },
    /// The grid cannot carry the requested stencil.
    #[error("grid too small: {0}")]
    GridTooSmall(String),
    /// A NaN or infinity appeared in an input or during a rollout.
    #[error("non-finite value: {0}")]
    NonFinite(String),
    /// A rollout grew without bound (beyond 10^6 times the initial maximum,
    /// or NaN): the explicit step is unstable for the operator.
    #[error(
        "the rollout diverged (values beyond 10^6 times the initial maximum, or NaN) at dump step {step} of \
         {n_steps}: the time step is unstable for this operator; use more sub-steps or automatic sub-stepping"
    )]
    Diverged {
        /// First dump step (1-based) past the bound.
        step: usize,
        /// Dump steps of the rollout.
        n_steps: usize,
    },
    /// The caller asked the rollout to stop (its stop flag was set) before
    /// it ended.
    #[error("the rollout was stopped at dump step {step} of {n_steps}, as asked")]
    Stopped {
        /// Dump steps done (the frames after them are not computed).
        step: usize,
        /// Dump steps of the rollout.
        n_steps: usize,
    },
    /// Any other invalid argument.
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl From<collop_core::CoreError> for FpError {
    fn from(e: collop_core::CoreError) -> Self {
        FpError::Invalid(e.to_string())
    }
}
