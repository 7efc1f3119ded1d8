//! # collop-theory: exact problems, as pure and cited functions
//!
//! The reference problems that tests, benchmarks and the CLI share. Units as
//! in `collop-core`: velocities in the background thermal velocity `v_th`
//! (per-component standard deviation), time in `1/omega_p`, and the
//! Fokker-Planck equation in Kramers-Moyal form
//!
//! ```text
//! df/dt = - d_i (A_i f) + 1/2 d_i d_j (D_ij f)
//! ```
//!
//! - Distributions on a grid: [`BiMaxwellian`] (drifting, per-axis
//!   variances; point values or exact cell averages, [`Sampling`]) and
//!   [`ring_on_grid`].
//! - [`OrnsteinUhlenbeck`]: the Lenard-Bernstein operator `A = -nu v`,
//!   `D = 2 nu T I`, its [`FpFields`](collop_core::FpFields) and its exact
//!   Gaussian solution.
//! - [`static_shielding_fields`]: collision coefficients of 2D finite-size
//!   particles with static shielding, from the profiles
//!   [`static_shielding_profiles`], which keep the Maxwellian stationary.
//! - Collisions of a 2D PIC plasma from its parameters ([`PlasmaParams`]:
//!   particles per Debye area, cell size, B-spline shape order):
//!   [`static_shielding_amplitude`] gives `C` of the static profiles from the
//!   2D Lenard-Balescu wave-number integral with the PIC's form factor,
//!   `C = <int dkappa S^4 kappa^2 / (kappa^2 + S^2)^2>_alpha / (pi n lambda_D^2)`
//!   ([`StaticShielding`] also reports what it leaves out); [`ShieldingTable`]
//!   tabulates the test-particle drift and diffusion with static or dynamic
//!   ([`Shielding`]) shielding, `eps = 1 + S^2 (1 + zeta Z(zeta)) / (k lambda_D)^2`,
//!   as radial profiles ([`dynamic_shielding_profiles`]), radial fields
//!   ([`dynamic_shielding_fields`]) or fields with the direction dependence of
//!   the anisotropic form factor. Both keep the Maxwellian stationary.
//! - A measured isotropic background instead of the Maxwellian
//!   ([`RadialProfile`] of a histogram, fitted as a [`MeasuredBackground`]
//!   with its projection and response `W`): [`MeasuredTable`] gives the
//!   Lenard-Balescu diffusion and the polarisation drag (not the
//!   fluctuation-dissipation shortcut), with a test-to-background charge ratio.
//! - [`faddeeva_w`], [`plasma_dispersion`], [`dawson`], [`maxwellian_response`]:
//!   the Faddeeva function (Weideman 1994) and the plasma dispersion function.
//! - Isotropic operators in general: [`RadialCoefficients`] rotated onto
//!   `(v_x, v_y)` by [`radial_to_cartesian`] (and back by
//!   [`cartesian_to_radial`]), on a grid by
//!   [`fields_from_radial_fn`] or [`fields_from_radial_cells`].
//! - [`bessel_i0e`], [`bessel_i1e`]: `e^{-x} I_0(x)`, `e^{-x} I_1(x)`.
//! - [`weibel_growth_rate`], [`weibel_fastest_growth`]: the linear growth of
//!   the Weibel instability of a non-relativistic bi-Maxwellian plasma.
//!
//! ```
//! use collop_core::VelocityGrid;
//! use collop_theory::{BiMaxwellian, OrnsteinUhlenbeck, Sampling};
//!
//! let grid = VelocityGrid::square(51, 5.0)?;
//! let ou = OrnsteinUhlenbeck::new(0.1, 1.0)?;
//! let blob = BiMaxwellian::isotropic(1.0, [-2.0, 0.0], 0.25)?;
//! let f_later = ou.solution_on_grid(&blob, 10.0, &grid, Sampling::CellAverage)?;
//! let fields = ou.fields(&grid);
//! assert_eq!(f_later.dim(), fields.grid.shape());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bessel;
mod collision_amplitude;
mod error;
mod finite_size;
mod lenard_balescu;
mod maxwellian;
mod measured_background;
mod ornstein_uhlenbeck;
mod plasma_dispersion;
mod quadrature;
mod radial;
mod weibel;

pub use bessel::{bessel_i0e, bessel_i1e};
pub use collision_amplitude::{PlasmaParams, StaticShielding, static_shielding_amplitude};
pub use error::TheoryError;
pub use finite_size::{static_shielding_fields, static_shielding_profiles};
pub use lenard_balescu::{Shielding, ShieldingTable, dynamic_shielding_fields, dynamic_shielding_profiles};
pub use maxwellian::{BiMaxwellian, Sampling, ring_on_grid};
pub use measured_background::{
    CoefficientParts, FitReport, MIN_SHELLS, MeasuredBackground, MeasuredTable, RadialProfile, Smoothing,
};
pub use ornstein_uhlenbeck::OrnsteinUhlenbeck;
pub use plasma_dispersion::{dawson, faddeeva_w, maxwellian_response, plasma_dispersion};
// The radial frame moved to collop-core; re-exported so that
// `collop_theory::RadialCoefficients` and friends keep working.
pub use collop_core::{RadialCoefficients, cartesian_to_radial, radial_direction};
#[allow(deprecated)]
pub use radial::cell_speed_and_direction;
pub use radial::{fields_from_radial_cells, fields_from_radial_fn, radial_to_cartesian};
pub use weibel::{weibel_fastest_growth, weibel_growth_rate};
