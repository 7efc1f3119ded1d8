//! The experiment layer of collop: everything between the learning crate
//! and the user interfaces (the `collop` binary, the Python package).
//!
//! It owns:
//! - typed model specifications ([`ModelSpec`]: one tagged enum of model
//!   families, each with its own keys) and training configs ([`TrainConfig`],
//!   with a reader of format 1);
//! - the saved artefacts, each with one owner, `save`/`load` and a format
//!   version: trained runs ([`trained`]), fixed-fields models
//!   ([`fields_model`]: theory, tracks), comparisons ([`compare`]);
//! - operator parameters apart from the numerics they are rolled out with
//!   ([`OperatorParams`], [`collop_fp::Numerics`]), and the evaluation of
//!   any model ([`AnyModel`], [`evaluate`]) with named step windows and
//!   diverged rollouts as results;
//! - the comparison of learned, track, theory and frozen models of a PIC run
//!   returned as data ([`compare::compare`]), and its self-contained HTML
//!   report ([`report`]).

mod error;

pub mod compare;
pub mod conditioning;
pub mod config;
pub mod dataset;
pub mod evaluate;
pub mod fields_model;
pub mod legacy;
pub mod operator_moments;
pub mod params;
pub mod pictures;
pub mod pipeline;
pub mod report;
pub mod spec;
pub mod sweep;
pub mod synthetic_demo;
pub mod synthetic_like;
pub mod theory;
pub mod tracks;
pub mod trained;

pub use config::{DataConfig, TrainConfig, TrainingConfig};
pub use dataset::Dataset;
pub use error::{ExperimentError, Result};
pub use evaluate::{AnyModel, EvalOptions, Evaluation, Score, StepWindow, evaluate};
pub use fields_model::{FieldsMeta, FieldsModel, FieldsSource, MeasuredRecord, MeasuredSlot};
pub use params::OperatorParams;
pub use spec::{Conditioner, LinearOptions, ModelSpec, OperatorShape, TimeDependence};
pub use trained::{TrainOptions, TrainOutcome, TrainedRun, train, train_distributed};
