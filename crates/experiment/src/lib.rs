//! The experiment layer of collop: everything between the learning crate
//! and the user interfaces (the `collop` binary, the Python package).
//!
//! It owns the typed model specifications, the saved artefacts (trained
//! runs, fixed-fields models, comparisons), the evaluation of any model
//! under one numerics type, and the comparison of learned, track, theory
//! and frozen models returned as data, with its report.

mod error;
pub mod spec;

pub use error::{ExperimentError, Result};
pub use spec::{Conditioner, LinearOptions, ModelSpec, OperatorShape, TimeDependence};
pub mod compare;
pub mod config;
pub mod legacy;

pub use config::{ConditionValues, DataConfig, TrainConfig, TrainingConfig};
pub mod conditioning;
pub mod dataset;
pub mod evaluate;
pub mod fields_model;
pub mod params;
pub mod pictures;
pub mod theory;
pub mod tracks;
pub mod trained;

pub use dataset::Dataset;
pub use evaluate::{AnyModel, EvalOptions, Evaluation, Score, StepWindow, evaluate};
pub use fields_model::{FieldsMeta, FieldsModel, FieldsSource};
pub use params::OperatorParams;
pub use trained::{TrainOptions, TrainOutcome, TrainedRun, train};
