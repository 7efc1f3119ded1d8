//! The experiment layer of collop: everything between the learning crate
//! and the user interfaces (the `collop` binary, the Python package).
//!
//! It owns the typed model specifications, the saved artefacts (trained
//! runs, fixed-fields models, comparisons), the evaluation of any model
//! under one numerics type, and the comparison of learned, track, theory
//! and frozen models returned as data, with its report.

pub mod report;
