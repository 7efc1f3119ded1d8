//! # collop-learn: learning collision operators
//!
//! A [`Model`] maps its parameters `phi` to the parameters `theta` of a
//! simulator [`collop_fp::Operator`], with an exact vector-Jacobian product,
//! so that the gradient of a rollout loss reaches `phi` by the chain rule:
//! `dL/dphi = (dtheta/dphi)^T dL/dtheta`, with `dL/dtheta` from the
//! simulator's adjoint.
//!
//! Linear parametrisations ([`LinearModel`], built by [`linear_model`]):
//! free Fokker-Planck tensors with or without transpose / axis symmetry,
//! radial par/perp profiles, free kernels, and their time-dependent versions
//! (linear interpolation between time nodes, [`TimeNodes`]).
//!
//! Neural-network parametrisations ([`MlpModel`], [`MlpKind`]): MLPs of the
//! cell velocity producing Fokker-Planck fields, radial par/perp profiles
//! or kernels, optionally conditioned on the normalised dump time and on
//! per-dataset features such as PIC parameters ([`Conditioners`]); a model
//! with several conditions gives each dataset its own `theta`
//! ([`Model::theta_for`], [`train_conditioned`]).
//!
//! The baseline the learned operators are judged against
//! ([`tracks`], Carvalho et al., arXiv 2601.10885, 2601.13377): drift and
//! diffusion from particle tracks, `A = <dv>/tau`, `D = <dv dv>/tau` binned
//! by starting velocity, with standard errors, streamed dump by dump
//! ([`tracks::TrackStream`]) and optionally resolved in time windows.

pub mod communicator;
mod error;
pub mod linear;
pub mod mlp_model;
pub mod model;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod nn;
pub mod recovery;
pub mod synthetic;
pub mod tracks;
pub mod train;

pub use communicator::{Communicator, Part, SingleProcess};
pub use error::LearnError;
pub use mlp_model::{Conditioners, FeatureRange, MlpFieldModel, MlpKind, MlpModel, TimeInput};
pub use model::{LinearKind, LinearModel, Model, Symmetry, TimeNodes, fp_fields, linear_model, radial_nodes};
pub use train::{
    EpochRecord, Objective, Observer, OptimiserKind, OptimiserState, Split, Stage, TrainSettings, TrainState,
    WindowSet, iterate, reference_schedule, train, train_conditioned, train_distributed,
};
