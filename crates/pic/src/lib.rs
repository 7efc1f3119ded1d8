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
//! holds to round-off at every step.
//!
//! - [`deck`]: the typed TOML deck, its validation and derived quantities;
//! - [`sim`]: the simulation state and its time step ([`Simulation::step`]);
//! - [`run()`]: a whole run into a run directory, with an [`Observer`] for
//!   progress, checkpoints and resume (the [`mod@run`] module docs list the files);
//! - [`checkpoint`]: the checkpoint format (`checkpoint.npz`), checked
//!   against the deck before a run resumes from it;
//! - [`diag`]: sub-populations (test species, selection, reweighting,
//!   regions of initial velocity that partition a species, the whole
//!   species), their velocity histograms and tracks, and the moments of the
//!   background species at every dump (`background.csv`);
//! - [`history`]: `energy.csv` and `background.csv`, written and read back;
//! - [`ensemble`]: seeds of independent realisations (`--seed`, a Slurm
//!   job-array index) and their merge into one run directory (histograms
//!   summed, tracks side by side, provenance in `ensemble.json`);
//! - kernels: [`push`] (Boris), [`shape`] (B-splines), [`yee`] (Maxwell),
//!   [`poisson`] (FFT), [`filter`] (binomial), [`particles`] (storage, sort),
//!   [`load`] (initial conditions).
//!
//! ```no_run
//! use collop_pic::{Deck, RunOptions, Silent, run};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let deck = Deck::from_toml(&std::fs::read_to_string("deck.toml")?)?;
//! print!("{}", deck.derived(2)?);
//! let summary = run(&deck, "RUN".as_ref(), &RunOptions { threads: 2, ..RunOptions::default() }, &mut Silent)?;
//! println!("{} dumps, max energy error {:.2e}", summary.dumps, summary.max_energy_error);
//! # Ok(()) }
//! ```

pub mod checkpoint;
pub mod deck;
pub mod diag;
pub mod ensemble;
pub mod filter;
pub mod grid;
pub mod history;
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
