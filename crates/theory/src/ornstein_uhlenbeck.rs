//! The Ornstein-Uhlenbeck (Lenard-Bernstein) operator and its exact
//! Gaussian solution.

use collop_core::{FpFields, VelocityGrid};
use ndarray::Array2;

use crate::TheoryError;
use crate::maxwellian::{BiMaxwellian, Sampling};

/// The Ornstein-Uhlenbeck collision operator (Uhlenbeck & Ornstein, Phys.
/// Rev. 36, 823 (1930); in plasma physics the Lenard-Bernstein operator,
/// Lenard & Bernstein, Phys. Rev. 112, 1456 (1958)): linear drag towards
/// `v = 0` at rate `nu` and constant diffusion that relaxes every
/// distribution to the Maxwellian of per-axis variance `T` = `temperature`.
///
/// In the Kramers-Moyal convention of [`FpFields`],
/// `df/dt = -d_i (A_i f) + 1/2 d_i d_j (D_ij f)`, with
///
/// ```text
/// A_i = -nu v_i,    D_ij = 2 nu T delta_ij
/// ```
///
/// (so `1/2 D = nu T` is the physical diffusion coefficient). With velocities
/// in `v_th` the background has `T = 1`; `nu` is in `omega_p`.
///
/// **Exact solution.** Multiply the equation by `v_i` and by `v_i v_j` and
/// integrate by parts (`f` decays at infinity):
///
/// ```text
/// d<v_i>/dt     = <A_i> = -nu <v_i>
/// d<v_i v_j>/dt = <v_i A_j + v_j A_i> + <D_ij> = -2 nu <v_i v_j> + 2 nu T delta_ij
/// ```
///
/// so the mean and the covariance `S_ij = <v_i v_j> - <v_i><v_j>` obey
/// `d<v>/dt = -nu <v>` and `dS/dt = -2 nu (S - T I)`, and the density is
/// conserved. The equation has linear drift and constant diffusion, so its
/// Green's function is Gaussian and a Gaussian initial condition stays
/// Gaussian (in Fourier space `log f^` stays quadratic in `k`), fixed by these
/// moments. From a [`BiMaxwellian`] with mean `m_0` and variances `s_0^2` per
/// axis:
///
/// ```text
/// mean(t)     = m_0 e^{-nu t}
/// variance(t) = T + (s_0^2 - T) e^{-2 nu t}     (each axis; S_xy stays 0)
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrnsteinUhlenbeck {
    /// Relaxation rate `nu` (drag coefficient), in `omega_p`.
    pub nu: f64,
    /// Equilibrium per-axis variance `T`, in `v_th^2` (1 for the background).
    pub temperature: f64,
}

impl OrnsteinUhlenbeck {
    /// An operator with rate `nu >= 0` and equilibrium variance `temperature > 0`.
    pub fn new(nu: f64, temperature: f64) -> Result<Self, TheoryError> {
        if !(nu.is_finite() && nu >= 0.0) {
            return Err(TheoryError::InvalidParameter(format!("rate nu = {nu} must be finite and >= 0")));
        }
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(TheoryError::InvalidParameter(format!(
                "equilibrium temperature {temperature} must be finite and > 0"
            )));
        }
        Ok(Self { nu, temperature })
    }

    /// `A_x = -nu v_x`, `A_y = -nu v_y`, `D_xx = D_yy = 2 nu T`, `D_xy = 0` at
    /// the cell centres of `grid`.
    pub fn fields(&self, grid: &VelocityGrid) -> FpFields {
        let d = 2.0 * self.nu * self.temperature;
        FpFields::from_fn(*grid, |vx, vy| [-self.nu * vx, -self.nu * vy, d, d, 0.0])
    }

    /// The exact solution at time `t >= 0` from the Gaussian `initial` at
    /// `t = 0`: same density, `mean(t) = m_0 e^{-nu t}`,
    /// `variance(t) = T + (s_0^2 - T) e^{-2 nu t}` per axis (derivation above).
    pub fn evolve(&self, initial: &BiMaxwellian, t: f64) -> Result<BiMaxwellian, TheoryError> {
        if !(t.is_finite() && t >= 0.0) {
            return Err(TheoryError::InvalidParameter(format!("time t = {t} must be finite and >= 0")));
        }
        let decay = (-self.nu * t).exp();
        // T + (s0^2 - T) e^{-2 nu t}, with e^{-2 nu t} - 1 = expm1 for small nu t
        // so the variance change keeps full relative accuracy.
        let variance = |s0: f64| s0 + (s0 - self.temperature) * (-2.0 * self.nu * t).exp_m1();
        BiMaxwellian::new(
            initial.density,
            [initial.mean[0] * decay, initial.mean[1] * decay],
            [variance(initial.temperature[0]), variance(initial.temperature[1])],
        )
    }

    /// [`OrnsteinUhlenbeck::evolve`] sampled on `grid` (point values or exact
    /// cell averages, [`BiMaxwellian::on_grid`]), in density units.
    pub fn solution_on_grid(
        &self,
        initial: &BiMaxwellian,
        t: f64,
        grid: &VelocityGrid,
        sampling: Sampling,
    ) -> Result<Array2<f64>, TheoryError> {
        Ok(self.evolve(initial, t)?.on_grid(grid, sampling))
    }
}

#[cfg(test)]
mod tests {
    use collop_core::Moments;

    use super::*;

    #[test]
    fn fields_are_linear_drag_and_constant_diffusion() {
        let g = VelocityGrid::new(5, 4, [-2.0, 3.0], [-1.0, 1.0]).unwrap();
        let ou = OrnsteinUhlenbeck::new(0.3, 1.5).unwrap();
        let f = ou.fields(&g);
        for i in 0..g.nx {
            for j in 0..g.ny {
                assert_eq!(f.a_x[[i, j]], -0.3 * g.vx(i));
                assert_eq!(f.a_y[[i, j]], -0.3 * g.vy(j));
                assert!((f.d_xx[[i, j]] - 0.9).abs() < 1e-15 && f.d_yy[[i, j]] == f.d_xx[[i, j]]);
                assert_eq!(f.d_xy[[i, j]], 0.0);
            }
        }
    }

    #[test]
    fn fields_equal_the_isotropic_radial_form() {
        // The OU operator is isotropic: a_par = -nu |v|, d_par = d_perp = 2 nu T.
        // Rotating that with the radial builder must give the Cartesian fields
        // (an independent route through the rotation), to round-off.
        let g = VelocityGrid::new(9, 8, [-3.0, 3.0], [-2.5, 1.5]).unwrap();
        let ou = OrnsteinUhlenbeck::new(0.7, 1.2).unwrap();
        let d = 2.0 * 0.7 * 1.2;
        let radial = crate::fields_from_radial_fn(&g, |v| crate::RadialCoefficients {
            a_par: -0.7 * v,
            d_par: d,
            d_perp: d,
        });
        for (a, b) in ou.fields(&g).as_array().iter().zip(radial.as_array()) {
            for (x, y) in a.iter().zip(b.iter()) {
                assert!((x - y).abs() < 1e-14, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(OrnsteinUhlenbeck::new(-0.1, 1.0).is_err());
        assert!(OrnsteinUhlenbeck::new(0.1, 0.0).is_err());
        assert!(OrnsteinUhlenbeck::new(f64::NAN, 1.0).is_err());
        let ou = OrnsteinUhlenbeck::new(0.1, 1.0).unwrap();
        let m = BiMaxwellian::isotropic(1.0, [0.0, 0.0], 1.0).unwrap();
        assert!(ou.evolve(&m, -1.0).is_err());
        assert!(ou.evolve(&m, f64::INFINITY).is_err());
    }

    #[test]
    fn moments_follow_the_closed_form() {
        let ou = OrnsteinUhlenbeck::new(0.25, 1.0).unwrap();
        let m0 = BiMaxwellian::new(2.0, [1.5, -2.0], [0.2, 3.0]).unwrap();
        assert_eq!(ou.evolve(&m0, 0.0).unwrap(), m0);
        let m = ou.evolve(&m0, 2.0).unwrap();
        let e1 = (-0.5_f64).exp();
        let e2 = (-1.0_f64).exp();
        assert_eq!(m.density, 2.0);
        assert!((m.mean[0] - 1.5 * e1).abs() < 1e-15 && (m.mean[1] + 2.0 * e1).abs() < 1e-15);
        assert!((m.temperature[0] - (1.0 - 0.8 * e2)).abs() < 1e-15);
        assert!((m.temperature[1] - (1.0 + 2.0 * e2)).abs() < 1e-15);
        // Long times: the equilibrium Maxwellian.
        let inf = ou.evolve(&m0, 400.0).unwrap();
        assert!(inf.mean[0].abs() < 1e-40 && (inf.temperature[0] - 1.0).abs() < 1e-15);
        // nu = 0: nothing moves.
        let frozen = OrnsteinUhlenbeck::new(0.0, 1.0).unwrap().evolve(&m0, 10.0).unwrap();
        assert_eq!(frozen, m0);
    }

    #[test]
    fn solution_satisfies_the_fokker_planck_equation() {
        // Continuum residual df/dt + d_i(A_i f) - 1/2 d_i d_j (D_ij f) at
        // points over the distribution, with 4th-order central differences
        // (h = 1e-3 in v, 1e-3 in t): truncation ~ h^4 ~ 1e-12, round-off of
        // the second differences ~ eps f / h^2 ~ 1e-10 relative; 1e-7 of the
        // local scale |df/dt| + nu f is a wide margin that catches any
        // O(1) error in the mean or variance laws.
        let (nu, temp) = (0.4, 1.3);
        let ou = OrnsteinUhlenbeck::new(nu, temp).unwrap();
        let m0 = BiMaxwellian::new(1.0, [1.2, -0.7], [0.3, 2.2]).unwrap();
        let f = |t: f64, vx: f64, vy: f64| ou.evolve(&m0, t).unwrap().value(vx, vy);
        let h = 1e-3;
        let d1 = |g: &dyn Fn(f64) -> f64, x: f64| {
            (-g(x + 2.0 * h) + 8.0 * g(x + h) - 8.0 * g(x - h) + g(x - 2.0 * h)) / (12.0 * h)
        };
        let d2 = |g: &dyn Fn(f64) -> f64, x: f64| {
            (-g(x + 2.0 * h) + 16.0 * g(x + h) - 30.0 * g(x) + 16.0 * g(x - h) - g(x - 2.0 * h))
                / (12.0 * h * h)
        };
        for t in [0.1, 0.8, 3.0] {
            for (vx, vy) in [(0.0, 0.0), (1.0, -0.5), (-0.8, 1.5), (2.0, 0.3), (0.5, -2.5)] {
                let dfdt = d1(&|s| f(s, vx, vy), t);
                // A_i f = -nu v_i f; D_ij f = 2 nu T delta_ij f.
                let drift = d1(&|x| -nu * x * f(t, x, vy), vx) + d1(&|y| -nu * y * f(t, vx, y), vy);
                let diff = nu * temp * (d2(&|x| f(t, x, vy), vx) + d2(&|y| f(t, vx, y), vy));
                let residual = dfdt + drift - diff;
                let scale = dfdt.abs() + nu * f(t, vx, vy);
                assert!(residual.abs() < 1e-7 * scale, "t = {t}, v = ({vx}, {vy}): {residual} vs {scale}");
            }
        }
    }

    #[test]
    fn cell_averaged_solution_has_exact_moments() {
        // Exact cell averages: midpoint moments give the exact mean and
        // variance + dv^2/12 (Sheppard), to round-off, on an awkward grid.
        let ou = OrnsteinUhlenbeck::new(1.0, 1.0).unwrap();
        let m0 = BiMaxwellian::new(1.0, [2.0, 0.0], [0.25, 0.25]).unwrap();
        let g = VelocityGrid::new(97, 101, [-9.0, 10.0], [-10.0, 10.0]).unwrap();
        let t = 0.7;
        let f = ou.solution_on_grid(&m0, t, &g, Sampling::CellAverage).unwrap();
        let mo = Moments::of(&g, f.view());
        let var = 1.0 - 0.75 * (-2.0 * t).exp();
        assert!((mo.density * g.dvx() * g.dvy() - 1.0).abs() < 1e-13);
        assert!((mo.mean_vx - 2.0 * (-t).exp()).abs() < 1e-12 && mo.mean_vy.abs() < 1e-12);
        assert!((mo.temp_x - var - g.dvx().powi(2) / 12.0).abs() < 1e-12);
        assert!((mo.temp_y - var - g.dvy().powi(2) / 12.0).abs() < 1e-12);
    }
}
