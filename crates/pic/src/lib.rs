//! # collop-pic: a 2D3V particle-in-cell code for collision-operator data
//!
//! A periodic 2D box, three momentum components, relativistic throughout,
//! in the normalised units of OSIRIS: time `1/omega_p`, length `c/omega_p`,
//! momentum `u = gamma v` in `c`, fields in `m_e c omega_p / e`, charge
//! `e`, mass `m_e`, density `n_0`. The equations solved are
//!
//! ```text
//! du/dt = (q/m) (E + u x B / gamma),   dx/dt = u / gamma,
//! dB/dt = -curl E,   dE/dt = curl B - J      (electromagnetic, Yee FDTD)
//! laplacian(phi) = -rho,   E = -grad phi      (electrostatic, FFT Poisson)
//! ```
//!
//! Particles are B-spline shapes of order 1 to 4 ([`shape`]), pushed by the
//! relativistic Boris scheme ([`push::boris`]); the electromagnetic current
//! is deposited by Esirkepov's charge-conserving scheme, so Gauss's law
//! holds to round-off at every step. See [`sim`] for the time step,
//! [`deck`] for the input deck.

pub mod deck;
pub mod diag;
pub mod filter;
pub mod grid;
pub mod load;
pub mod particles;
pub mod poisson;
pub mod push;
pub mod run;
pub mod shape;
pub mod sim;
pub mod yee;

mod advance;
mod error;

pub use deck::{Deck, Derived};
pub use error::PicError;
pub use run::{Observer, Progress, RunOptions, RunSummary, Silent, run};
pub use sim::{EnergyRecord, Simulation, Species};
