//! # collop-fp: the differentiable collision-operator simulator
//!
//! Rolls phase-space distributions `f(v_x, v_y)` forward under a
//! parametrised collision operator and returns exact gradients of rollout
//! losses with respect to every parameter and the initial state.
//!
//! ## Operators
//!
//! Every operator is linear in `f`, `df/dt = C_theta(t) f`, and implements
//! [`Operator`]: a fixed sparse pattern, `assemble` (parameters to matrix
//! entries) and its transpose `assemble_vjp`. Two families:
//!
//! - [`FokkerPlanck`]: `df/dt = -d_i (A_i f) + 1/2 d_i d_j (D_ij f)` with free
//!   coefficient fields, in the reference scheme of Carvalho et al.
//!   (arXiv 2601.10885; guard-cell or one-sided edges) or our conservative
//!   finite-volume scheme ([`Scheme`]).
//! - [`KernelOperator`]: the integro-differential operator of arXiv
//!   2601.13377, `df/dt = delta_x F_x + delta_y F_y` with
//!   `F_c = sum_{l,m} K_c(.; l, m) f(. + (l, m) - p)`.
//!
//! Coefficients are in grid units (`A / dv`, `D / dv^2`, `K / dv`); convert
//! physical fields with [`collop_core::FpFields::to_grid_units`].
//!
//! ## Rollouts and gradients
//!
//! [`Simulator::rollout`] advances a batch over many dumps with explicit
//! Euler sub-steps and the clamp `f >= 0`; [`Simulator::loss_and_gradient`]
//! returns an MAE/MSE rollout loss and its discrete adjoint gradient.
//! Batches are split over the rayon pool; hot loops work on buffers sized
//! once per call and use AVX2/FMA when the CPU has them.
//!
//! ```
//! use collop_core::{FpFields, VelocityGrid};
//! use collop_fp::{FokkerPlanck, RolloutConfig, Scheme, Edges, Simulator};
//! use ndarray::Array3;
//!
//! let grid = VelocityGrid::square(21, 5.0).unwrap();
//! // Ornstein-Uhlenbeck: A = -nu v, D = 2 nu (v_th = 1).
//! let nu = 0.1;
//! let fields = FpFields::from_fn(grid, |vx, vy| [-nu * vx, -nu * vy, 2.0 * nu, 2.0 * nu, 0.0]);
//! let op = FokkerPlanck::new(grid, Scheme::Reference(Edges::Guard)).unwrap();
//! let sim = Simulator::new(&op, RolloutConfig::reference());
//! let mut f0 = Array3::zeros((1, 21, 21));
//! f0[[0, 10, 10]] = 1.0;
//! let out = sim.rollout(&fields.to_grid_units(), 0.5, f0.view(), 0, 4).unwrap();
//! assert_eq!(out.frames.dim(), (5, 1, 21, 21));
//! ```

mod batch;
mod error;
pub mod fokker_planck;
pub mod jump_moments;
pub mod kernel;
pub mod metrics;
pub mod numerics;
mod operator;
pub mod rollout;
pub mod stencil;

pub use batch::BatchState;
pub use error::FpError;
pub use fokker_planck::{Edges, FokkerPlanck, Scheme};
pub use jump_moments::JumpMoments;
pub use kernel::{Difference, KernelOperator, kernels_from_fp};
pub use metrics::{FrameErrors, RolloutErrors};
pub use numerics::{MAX_SUBSTEPS, Numerics};
pub use operator::{Operator, StabilityEstimate};
pub use rollout::{
    Accumulation, Gradient, GradientSum, Loss, LossKind, NodeBlend, PreparedWindow, Rollout, RolloutConfig,
    Simulator, StabilityPolicy, Substeps, Window,
};
