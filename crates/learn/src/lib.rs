//! # collop-learn: learning collision operators
//!
//! (being written)

pub mod nn;
