//! # collop-core: the shared vocabulary
//!
//! Types every other collop crate speaks, and nothing else:
//!
//! - [`VelocityGrid`]: the cell-centred 2V grid, `v_i = v_min + (i + 1/2) dv`,
//!   axis 0 is `v_x`, velocities in units of the background thermal velocity
//!   `v_th` (per-component standard deviation);
//! - [`PhaseSpaceSeries`]: histograms `f(v_x, v_y, t)` at successive
//!   diagnostic dumps, time in `1/omega_p`;
//! - [`FpFields`]: Fokker-Planck drift `A_i` and diffusion `D_ij` on a grid, in
//!   the Kramers-Moyal convention
//!   `df/dt = -d_i (A_i f) + 1/2 d_i d_j (D_ij f)`;
//! - [`Moments`]: density, mean velocity and temperatures of a distribution;
//! - the radial frame of a cell: [`VelocityGrid::cell_speed_and_direction`],
//!   [`RadialCoefficients`] (`A_par`, `D_par`, `D_perp`) from the five fields
//!   by [`cartesian_to_radial`] or [`FpFields::radial_at`], and their averages
//!   over shells of `|v|` ([`shells`]: [`shells::average_shells`],
//!   [`shells::ShellComparison`]);
//! - [`CoreError`]: what can be wrong with them.

mod error;
mod fields;
mod grid;
mod moments;
pub mod population;
mod radial;
mod series;
pub mod shells;
pub mod temp_name;

pub use error::CoreError;
pub use fields::{FIELD_NAMES, FpFields};
pub use grid::VelocityGrid;
pub use moments::Moments;
pub use radial::{RadialCoefficients, cartesian_to_radial, radial_direction};
pub use series::PhaseSpaceSeries;
