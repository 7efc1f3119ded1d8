//! `collop._collop`: the Rust half of the Python package `collop`.
//!
//! Like the `collop` binary, it only parses arguments, calls the library
//! crates (`collop-experiment` above all) and renders their results as
//! numpy arrays, dicts and Python exceptions; the science lives in the
//! crates. Long calls run with the GIL released on a worker thread while
//! the calling thread watches for Ctrl-C ([`interrupt`]).

mod compare;
mod data;
mod error;
mod interrupt;
mod model;
mod moments;
mod pic;
mod rollout;
mod train;

use pyo3::prelude::*;

/// The compiled core of the `collop` package.
#[pymodule]
fn _collop(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<data::Grid>()?;
    m.add_class::<data::Dataset>()?;
    m.add_function(wrap_pyfunction!(data::load_dataset, m)?)?;
    m.add_class::<model::Model>()?;
    m.add_function(wrap_pyfunction!(model::load_model, m)?)?;
    m.add_function(wrap_pyfunction!(model::frozen, m)?)?;
    m.add_function(wrap_pyfunction!(model::static_theory, m)?)?;
    m.add_function(wrap_pyfunction!(model::theory, m)?)?;
    m.add_function(wrap_pyfunction!(model::tracks, m)?)?;
    m.add_function(wrap_pyfunction!(model::tracks_from_arrays, m)?)?;
    m.add_class::<rollout::Rollout>()?;
    m.add_function(wrap_pyfunction!(rollout::rollout, m)?)?;
    m.add_function(wrap_pyfunction!(rollout::rollout_array, m)?)?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add_function(wrap_pyfunction!(pic::run_pic, m)?)?;
    m.add_function(wrap_pyfunction!(compare::compare, m)?)?;
    m.add_function(wrap_pyfunction!(compare::load_comparison, m)?)?;
    m.add_function(wrap_pyfunction!(moments::operator_moments, m)?)?;
    m.add_function(wrap_pyfunction!(moments::synthesise, m)?)?;
    Ok(())
}
