//! # collop-fuzz: support for the fuzz tests of collop's parsers
//!
//! The property-based fuzz tests (`tests/fuzz.rs` of collop-io,
//! collop-experiment and collop-pic) feed every parser of user input with
//! valid files written by collop's own writers, then mutated, and with
//! arbitrary bytes. This crate holds what they share:
//!
//! - [`alloc`]: a counting global allocator, to bound the memory one parse
//!   takes ([`alloc::peak_during`]);
//! - [`bytes`]: mutations of raw bytes (bit flips, overwrites with
//!   interesting values, truncation, insertion, removal, splicing);
//! - [`npy`]: mutations of a `.npy` header (shape, element type, order,
//!   magic, version, header length);
//! - [`zip`]: an `.npz` taken apart into its members and put back together,
//!   with member-level mutations (a member's data or `.npy` header changed
//!   with its CRC-32 fixed so that the change reaches the `.npy` parser,
//!   a wrong CRC-32, wrong sizes, duplicate, missing and renamed members);
//! - [`toml_text`] and [`yaml_text`]: mutations of configuration files
//!   (keys dropped, values of the wrong type, zero, negative, NaN,
//!   infinite, huge, very long strings);
//! - [`config`]: the number of cases, fixed in CI and overridable by the
//!   standard `PROPTEST_CASES` variable for long runs.
//!
//! It is a dev-dependency only.

pub mod alloc;
pub mod bytes;
pub mod npy;
pub mod toml_text;
pub mod yaml_text;
pub mod zip;

use proptest::test_runner::Config;

/// The proptest configuration of a fuzz test: `ci_cases` cases, or the
/// number in the `PROPTEST_CASES` environment variable when it is set (for
/// long runs).
pub fn config(ci_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(ci_cases);
    Config { cases, ..Config::default() }
}
