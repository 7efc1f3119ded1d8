//! Maxwellians and rings on a velocity grid.

use std::f64::consts::{PI, SQRT_2};

use collop_core::VelocityGrid;
use ndarray::Array2;

use crate::TheoryError;

/// How a continuous distribution is turned into one number per cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// The value at the cell centre `(v_x(i), v_y(j))`.
    CellCentre,
    /// The exact mean of the distribution over the cell,
    /// `(1 / (dv_x dv_y)) int_cell f dv_x dv_y`: what an ideal histogram of
    /// infinitely many particles, divided by the cell area, converges to.
    CellAverage,
}

/// A drifting bi-Maxwellian in 2V, axes aligned with `v_x`, `v_y`:
///
/// ```text
/// f(v) = n / (2 pi sqrt(T_x T_y)) exp(-(v_x - u_x)^2 / (2 T_x) - (v_y - u_y)^2 / (2 T_y))
/// ```
///
/// `n` = `density` (the continuum integral of `f`), `(u_x, u_y)` = `mean`,
/// `(T_x, T_y)` = `temperature`, the per-axis variances. With velocities in
/// `v_th`, the background Maxwellian is `T_x = T_y = 1`.
///
/// Build with [`BiMaxwellian::new`] or [`BiMaxwellian::isotropic`], which
/// check the parameters; the fields are public for reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiMaxwellian {
    /// Density `n`, the integral of `f` over all velocities.
    pub density: f64,
    /// Mean velocity `(u_x, u_y)`.
    pub mean: [f64; 2],
    /// Per-axis variances `(T_x, T_y)`.
    pub temperature: [f64; 2],
}

impl BiMaxwellian {
    /// A bi-Maxwellian; `density >= 0`, `temperature > 0`, everything finite.
    pub fn new(density: f64, mean: [f64; 2], temperature: [f64; 2]) -> Result<Self, TheoryError> {
        if !(density.is_finite() && density >= 0.0) {
            return Err(TheoryError::InvalidParameter(format!("density {density} must be finite and >= 0")));
        }
        if !(mean[0].is_finite() && mean[1].is_finite()) {
            return Err(TheoryError::InvalidParameter(format!("mean {mean:?} must be finite")));
        }
        if !temperature.iter().all(|t| t.is_finite() && *t > 0.0) {
            return Err(TheoryError::InvalidParameter(format!(
                "temperatures {temperature:?} must be finite and > 0"
            )));
        }
        Ok(Self { density, mean, temperature })
    }

    /// A Maxwellian with the same variance `temperature` on both axes.
    pub fn isotropic(density: f64, mean: [f64; 2], temperature: f64) -> Result<Self, TheoryError> {
        Self::new(density, mean, [temperature, temperature])
    }

    /// `f(v_x, v_y)`, the point value of the density above.
    pub fn value(&self, vx: f64, vy: f64) -> f64 {
        let [tx, ty] = self.temperature;
        let (dx, dy) = (vx - self.mean[0], vy - self.mean[1]);
        self.density / (2.0 * PI * (tx * ty).sqrt()) * (-0.5 * (dx * dx / tx + dy * dy / ty)).exp()
    }

    /// `f` sampled on `grid`, shape `(nx, ny)`, in density units (per `v_th^2`).
    ///
    /// [`Sampling::CellAverage`] is exact: the Gaussian factorises, so the
    /// mean over the cell `[a_x, b_x] x [a_y, b_y]` is `n m_x m_y` with
    ///
    /// ```text
    /// m_x = (erf((b_x - u_x) / sqrt(2 T_x)) - erf((a_x - u_x) / sqrt(2 T_x))) / (2 (b_x - a_x))
    /// ```
    ///
    /// evaluated with `erfc` on the tails so that cells far from the mean keep
    /// full relative accuracy (Abramowitz & Stegun 7.1.2, 26.2.29).
    pub fn on_grid(&self, grid: &VelocityGrid, sampling: Sampling) -> Array2<f64> {
        match sampling {
            Sampling::CellCentre => {
                Array2::from_shape_fn(grid.shape(), |(i, j)| self.value(grid.vx(i), grid.vy(j)))
            }
            Sampling::CellAverage => {
                let (hx, hy) = (grid.dvx(), grid.dvy());
                let mx: Vec<f64> = (0..grid.nx)
                    .map(|i| {
                        let a = grid.vx(i) - 0.5 * hx;
                        normal_interval_mass(a, a + hx, self.mean[0], self.temperature[0]) / hx
                    })
                    .collect();
                let my: Vec<f64> = (0..grid.ny)
                    .map(|j| {
                        let a = grid.vy(j) - 0.5 * hy;
                        normal_interval_mass(a, a + hy, self.mean[1], self.temperature[1]) / hy
                    })
                    .collect();
                Array2::from_shape_fn(grid.shape(), |(i, j)| self.density * mx[i] * my[j])
            }
        }
    }

    /// [`BiMaxwellian::on_grid`] scaled to sum to one over the grid (the
    /// reference dataset's normalisation; the density drops out). Fails when
    /// the distribution is zero on the whole grid (e.g. far outside it).
    pub fn on_grid_normalised(
        &self,
        grid: &VelocityGrid,
        sampling: Sampling,
    ) -> Result<Array2<f64>, TheoryError> {
        normalise_to_sum_one(self.on_grid(grid, sampling))
    }
}

/// A ring in velocity space, cell-centre values normalised to sum one:
///
/// ```text
/// f(v_x, v_y) proportional to exp(-(|v| - r_0)^2 / (2 sigma^2)),   |v| = sqrt(v_x^2 + v_y^2)
/// ```
///
/// with `r_0` = `radius >= 0` and `sigma` = `width > 0` (in `v_th`). This is a
/// 2D density that is Gaussian across the ring; the distribution of the
/// speed `|v|` is then `proportional to |v| exp(...)`, which differs from a
/// Gaussian by the Jacobian `|v|` (negligible when `r_0 >> sigma`).
pub fn ring_on_grid(grid: &VelocityGrid, radius: f64, width: f64) -> Result<Array2<f64>, TheoryError> {
    if !(radius.is_finite() && radius >= 0.0) {
        return Err(TheoryError::InvalidParameter(format!("ring radius {radius} must be finite and >= 0")));
    }
    if !(width.is_finite() && width > 0.0) {
        return Err(TheoryError::InvalidParameter(format!("ring width {width} must be finite and > 0")));
    }
    let f = Array2::from_shape_fn(grid.shape(), |(i, j)| {
        let d = grid.vx(i).hypot(grid.vy(j)) - radius;
        (-0.5 * d * d / (width * width)).exp()
    });
    normalise_to_sum_one(f)
}

/// `f / sum(f)`, or an error when the sum is not positive and finite.
fn normalise_to_sum_one(mut f: Array2<f64>) -> Result<Array2<f64>, TheoryError> {
    let total = f.sum();
    if !(total > 0.0 && total.is_finite()) {
        return Err(TheoryError::NotNormalisable(format!(
            "the distribution sums to {total} on the grid; it must be positive and finite"
        )));
    }
    f.mapv_inplace(|v| v / total);
    Ok(f)
}

/// Probability that a normal variable of mean `m` and variance `t` lies in
/// `[a, b]`, `(erf(z_b) - erf(z_a)) / 2` with `z = (v - m) / sqrt(2 t)`.
///
/// When both ends are on the same side of the mean the difference is taken
/// between `erfc` values (`erf(z) = 1 - erfc(z)`), which are small there, so
/// tail cells do not lose relative accuracy to `1 - 1` cancellation.
fn normal_interval_mass(a: f64, b: f64, m: f64, t: f64) -> f64 {
    let s = SQRT_2 * t.sqrt();
    let (za, zb) = ((a - m) / s, (b - m) / s);
    if za >= 0.0 {
        0.5 * (libm::erfc(za) - libm::erfc(zb))
    } else if zb <= 0.0 {
        0.5 * (libm::erfc(-zb) - libm::erfc(-za))
    } else {
        0.5 * (libm::erf(zb) - libm::erf(za))
    }
}

#[cfg(test)]
mod tests {
    use collop_core::Moments;

    use super::*;

    /// Composite Simpson rule of `g` on `[a, b]` with `n` (even) intervals.
    fn simpson(g: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
        let h = (b - a) / n as f64;
        let inner: f64 = (1..n).map(|k| g(a + k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 }).sum();
        (g(a) + g(b) + inner) * h / 3.0
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(BiMaxwellian::new(-1.0, [0.0, 0.0], [1.0, 1.0]).is_err());
        assert!(BiMaxwellian::new(f64::NAN, [0.0, 0.0], [1.0, 1.0]).is_err());
        assert!(BiMaxwellian::new(1.0, [f64::INFINITY, 0.0], [1.0, 1.0]).is_err());
        assert!(BiMaxwellian::new(1.0, [0.0, 0.0], [1.0, 0.0]).is_err());
        assert!(BiMaxwellian::isotropic(1.0, [0.0, 0.0], -2.0).is_err());
        assert!(BiMaxwellian::new(0.0, [0.0, 0.0], [1.0, 1.0]).is_ok());
        let g = VelocityGrid::square(5, 1.0).unwrap();
        assert!(ring_on_grid(&g, -1.0, 0.1).is_err());
        assert!(ring_on_grid(&g, 1.0, 0.0).is_err());
    }

    #[test]
    fn point_values_integrate_to_density() {
        // Midpoint rule on a Gaussian well inside the box is spectrally
        // accurate; the truncated tails are < 1e-20. 1e-12 is round-off margin.
        let g = VelocityGrid::new(161, 120, [-9.0, 8.0], [-12.0, 12.0]).unwrap();
        let m = BiMaxwellian::new(2.5, [-0.5, 0.75], [0.8, 1.6]).unwrap();
        let f = m.on_grid(&g, Sampling::CellCentre);
        let total = f.sum() * g.dvx() * g.dvy();
        assert!((total - 2.5).abs() < 1e-12 * 2.5, "{total}");
        assert_eq!(f[[40, 50]], m.value(g.vx(40), g.vy(50)));
    }

    #[test]
    fn cell_averages_hold_the_exact_box_mass() {
        // sum(avg) dv^2 telescopes to the mass inside the box, known in
        // closed form; only the summation round-off remains.
        let g = VelocityGrid::new(7, 13, [-1.0, 2.0], [-3.0, 0.5]).unwrap();
        let m = BiMaxwellian::new(1.7, [0.3, -1.0], [0.5, 2.0]).unwrap();
        let f = m.on_grid(&g, Sampling::CellAverage);
        let box_mass =
            1.7 * normal_interval_mass(-1.0, 2.0, 0.3, 0.5) * normal_interval_mass(-3.0, 0.5, -1.0, 2.0);
        let total = f.sum() * g.dvx() * g.dvy();
        assert!((total - box_mass).abs() < 1e-14, "{total} vs {box_mass}");
    }

    #[test]
    fn cell_averages_match_quadrature_including_far_tails() {
        // Compare every 1D cell mean with Simpson's rule (n = 4000, relative
        // error ~ h^4 max|g''''| / (180 g) < 1e-13 even in the cells 12 standard
        // deviations out, where the Gaussian falls by e^{-7} across a cell).
        let (m, t) = (0.4, 0.7);
        let g = VelocityGrid::new(41, 1, [-10.0, 10.0], [0.0, 1.0]).unwrap();
        let dens = |v: f64| (-(v - m) * (v - m) / (2.0 * t)).exp() / (2.0 * PI * t).sqrt();
        for i in 0..g.nx {
            let (a, b) = (g.vx(i) - 0.5 * g.dvx(), g.vx(i) + 0.5 * g.dvx());
            let exact = simpson(dens, a, b, 4000);
            let got = normal_interval_mass(a, b, m, t);
            assert!((got - exact).abs() <= 1e-11 * exact, "cell {i}: {got} vs {exact}");
        }
    }

    #[test]
    fn cell_average_minus_centre_value_is_second_order() {
        // avg - f(centre) = (dv_x^2 f_xx + dv_y^2 f_yy) / 24 + O(dv^4)
        // (Taylor expansion of the cell mean). Halving dv must divide the
        // difference by 4; the O(dv^4) remainder allows 2% slack.
        let m = BiMaxwellian::new(1.0, [0.1, -0.2], [1.0, 0.6]).unwrap();
        let diff = |n: usize| {
            let g = VelocityGrid::new(n, n, [-1.0, 1.0], [-1.0, 1.0]).unwrap();
            let a = m.on_grid(&g, Sampling::CellAverage);
            let c = m.on_grid(&g, Sampling::CellCentre);
            (&a - &c).iter().map(|d| d.abs()).fold(0.0, f64::max)
        };
        let ratio = diff(20) / diff(40);
        assert!((ratio - 4.0).abs() < 0.08, "{ratio}");
    }

    #[test]
    fn cell_average_moments_carry_sheppards_correction() {
        // For exact cell averages of a Gaussian well inside the box, the
        // midpoint moments are the mean and T + dv^2/12 (Sheppard's
        // correction), up to exponentially small aliasing (~e^{-2 pi^2 T / dv^2}).
        let g = VelocityGrid::new(84, 64, [-10.0, 11.0], [-7.0, 9.0]).unwrap();
        let m = BiMaxwellian::new(1.0, [0.6, 1.1], [1.3, 0.9]).unwrap();
        let f = m.on_grid_normalised(&g, Sampling::CellAverage).unwrap();
        let mo = Moments::of(&g, f.view());
        assert!((mo.density - 1.0).abs() < 1e-14);
        assert!((mo.mean_vx - 0.6).abs() < 1e-12);
        assert!((mo.mean_vy - 1.1).abs() < 1e-12);
        assert!((mo.temp_x - (1.3 + g.dvx().powi(2) / 12.0)).abs() < 1e-12);
        assert!((mo.temp_y - (0.9 + g.dvy().powi(2) / 12.0)).abs() < 1e-12);
    }

    #[test]
    fn normalised_variants_sum_to_one_on_awkward_grids() {
        let m = BiMaxwellian::isotropic(3.0, [0.2, -0.1], 1.0).unwrap();
        for (nx, ny) in [(1, 1), (1, 7), (2, 3), (17, 16), (33, 65)] {
            let g = VelocityGrid::new(nx, ny, [-3.0, 2.0], [-2.0, 4.0]).unwrap();
            for s in [Sampling::CellCentre, Sampling::CellAverage] {
                let f = m.on_grid_normalised(&g, s).unwrap();
                assert_eq!(f.dim(), (nx, ny));
                assert!((f.sum() - 1.0).abs() < 1e-14, "{nx} x {ny} {s:?}");
                assert!(f.iter().all(|v| *v > 0.0));
            }
        }
    }

    #[test]
    fn far_away_gaussian_is_not_normalisable() {
        let g = VelocityGrid::square(9, 1.0).unwrap();
        let m = BiMaxwellian::isotropic(1.0, [100.0, 0.0], 0.01).unwrap();
        let e = m.on_grid_normalised(&g, Sampling::CellCentre).unwrap_err();
        assert!(matches!(e, TheoryError::NotNormalisable(_)), "{e}");
        // Zero density too.
        let z = BiMaxwellian::isotropic(0.0, [0.0, 0.0], 1.0).unwrap();
        assert!(z.on_grid_normalised(&g, Sampling::CellAverage).is_err());
    }

    #[test]
    fn ring_is_normalised_isotropic_and_peaks_at_its_radius() {
        let g = VelocityGrid::square(81, 5.0).unwrap();
        let f = ring_on_grid(&g, 2.5, 0.3).unwrap();
        assert!((f.sum() - 1.0).abs() < 1e-14);
        // The symmetric grid maps onto itself under v_x <-> v_y and v_x -> -v_x.
        for i in 0..g.nx {
            for j in 0..g.ny {
                assert!((f[[i, j]] - f[[j, i]]).abs() < 1e-16);
                assert!((f[[i, j]] - f[[g.nx - 1 - i, j]]).abs() < 1e-16);
            }
        }
        // Along the v_x axis (j = 40, v_y = 0) the maximum is the cell nearest v_x = 2.5.
        let (imax, _) =
            (0..g.nx).map(|i| (i, f[[i, 40]])).fold((0, 0.0), |b, c| if c.1 > b.1 { c } else { b });
        let nearest = (0..g.nx)
            .min_by(|&a, &b| (g.vx(a).abs() - 2.5).abs().total_cmp(&(g.vx(b).abs() - 2.5).abs()))
            .unwrap();
        assert!((g.vx(imax).abs() - g.vx(nearest).abs()).abs() < 1e-12);
        let mo = Moments::of(&g, f.view());
        assert!(mo.mean_vx.abs() < 1e-14 && mo.mean_vy.abs() < 1e-14);
    }
}
