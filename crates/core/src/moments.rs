use ndarray::ArrayView2;
use serde::Serialize;

use crate::VelocityGrid;

/// Velocity moments of a histogram, computed at cell centres (midpoint rule).
///
/// `density = sum f`, `mean_i = sum v_i f / density`,
/// `temp_i = sum (v_i - mean_i)^2 f / density` (per-component variance, in
/// `v_th^2` when the grid is in `v_th`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Moments {
    /// Zeroth moment, `sum f`.
    pub density: f64,
    /// Mean `v_x`.
    pub mean_vx: f64,
    /// Mean `v_y`.
    pub mean_vy: f64,
    /// Variance of `v_x`.
    pub temp_x: f64,
    /// Variance of `v_y`.
    pub temp_y: f64,
}

impl Moments {
    /// Moments of `f` on `grid` (`f` has the grid's shape). Means and
    /// temperatures are NaN when the density is zero.
    pub fn of(grid: &VelocityGrid, f: ArrayView2<'_, f64>) -> Self {
        let (mut n, mut sx, mut sy) = (0.0, 0.0, 0.0);
        for ((i, j), &v) in f.indexed_iter() {
            n += v;
            sx += grid.vx(i) * v;
            sy += grid.vy(j) * v;
        }
        let (mx, my) = (sx / n, sy / n);
        let (mut txx, mut tyy) = (0.0, 0.0);
        for ((i, j), &v) in f.indexed_iter() {
            txx += (grid.vx(i) - mx).powi(2) * v;
            tyy += (grid.vy(j) - my).powi(2) * v;
        }
        Self { density: n, mean_vx: mx, mean_vy: my, temp_x: txx / n, temp_y: tyy / n }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn moments_of_a_displaced_gaussian() {
        // A Gaussian well inside the box: midpoint-rule moments are exact to
        // spectral accuracy, so 1e-8 is loose.
        let g = VelocityGrid::square(101, 8.0).unwrap();
        let f = Array2::from_shape_fn(g.shape(), |(i, j)| {
            let (x, y) = (g.vx(i) - 0.5, g.vy(j) + 0.25);
            (-(x * x) / (2.0 * 0.64) - y * y / 2.0).exp()
        });
        let m = Moments::of(&g, f.view());
        assert!((m.mean_vx - 0.5).abs() < 1e-8);
        assert!((m.mean_vy + 0.25).abs() < 1e-8);
        assert!((m.temp_x - 0.64).abs() < 1e-8);
        assert!((m.temp_y - 1.0).abs() < 1e-8);
    }
}
