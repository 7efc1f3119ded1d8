use serde::{Deserialize, Serialize};

use crate::CoreError;

/// A uniform, cell-centred grid in 2D velocity space.
///
/// Cell `(i, j)` has centre `(v_x, v_y) = (x_min + (i + 1/2) dv_x, y_min + (j + 1/2) dv_y)`.
/// Axis 0 is `v_x`; flat indices are row-major, `k = i * ny + j`, as in the
/// `.npy` frames of the reference dataset layout. Velocities are in units of
/// the background thermal velocity `v_th` unless stated otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VelocityGrid {
    /// Number of cells along `v_x` (axis 0).
    pub nx: usize,
    /// Number of cells along `v_y` (axis 1).
    pub ny: usize,
    /// `[x_min, x_max]`: outer faces along `v_x`.
    pub x_range: [f64; 2],
    /// `[y_min, y_max]`: outer faces along `v_y`.
    pub y_range: [f64; 2],
}

impl VelocityGrid {
    /// A grid of `nx x ny` cells spanning `x_range x y_range`.
    pub fn new(nx: usize, ny: usize, x_range: [f64; 2], y_range: [f64; 2]) -> Result<Self, CoreError> {
        if nx == 0 || ny == 0 {
            return Err(CoreError::InvalidGrid(format!(
                "{nx} x {ny} cells: need at least one cell per axis"
            )));
        }
        for (name, r) in [("v_x", x_range), ("v_y", y_range)] {
            if !(r[0].is_finite() && r[1].is_finite()) || r[1] <= r[0] {
                return Err(CoreError::InvalidGrid(format!(
                    "{name} range [{}, {}] must be finite with max > min",
                    r[0], r[1]
                )));
            }
        }
        Ok(Self { nx, ny, x_range, y_range })
    }

    /// A square grid of `n x n` cells over `[-v_max, v_max]^2`.
    pub fn square(n: usize, v_max: f64) -> Result<Self, CoreError> {
        Self::new(n, n, [-v_max, v_max], [-v_max, v_max])
    }

    /// Total number of cells.
    pub fn len(&self) -> usize {
        self.nx * self.ny
    }

    /// Whether the grid has no cells (never true for a validated grid).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(nx, ny)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.nx, self.ny)
    }

    /// Cell width along `v_x`.
    pub fn dvx(&self) -> f64 {
        (self.x_range[1] - self.x_range[0]) / self.nx as f64
    }

    /// Cell width along `v_y`.
    pub fn dvy(&self) -> f64 {
        (self.y_range[1] - self.y_range[0]) / self.ny as f64
    }

    /// Centre of cell `i` along `v_x`.
    pub fn vx(&self, i: usize) -> f64 {
        self.x_range[0] + (i as f64 + 0.5) * self.dvx()
    }

    /// Centre of cell `j` along `v_y`.
    pub fn vy(&self, j: usize) -> f64 {
        self.y_range[0] + (j as f64 + 0.5) * self.dvy()
    }

    /// All cell centres along `v_x`.
    pub fn vx_centres(&self) -> Vec<f64> {
        (0..self.nx).map(|i| self.vx(i)).collect()
    }

    /// All cell centres along `v_y`.
    pub fn vy_centres(&self) -> Vec<f64> {
        (0..self.ny).map(|j| self.vy(j)).collect()
    }

    /// Flat row-major index of cell `(i, j)`.
    #[inline]
    pub fn index(&self, i: usize, j: usize) -> usize {
        i * self.ny + j
    }

    /// `sqrt(max|v_x|^2 + max|v_y|^2)` over the grid's edges: the speed of
    /// its farthest corner, the largest speed radial profiles and shells of
    /// `|v|` on this grid need to cover.
    pub fn corner_speed(&self) -> f64 {
        let ax = self.x_range[0].abs().max(self.x_range[1].abs());
        let ay = self.y_range[0].abs().max(self.y_range[1].abs());
        ax.hypot(ay)
    }

    /// Whether both grids have the same cells (up to a relative 1e-12 in the ranges).
    pub fn same_as(&self, other: &VelocityGrid) -> bool {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()));
        self.nx == other.nx
            && self.ny == other.ny
            && close(self.x_range[0], other.x_range[0])
            && close(self.x_range[1], other.x_range[1])
            && close(self.y_range[0], other.y_range[0])
            && close(self.y_range[1], other.y_range[1])
    }
}

impl std::fmt::Display for VelocityGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} x {} cells, v_x in [{}, {}], v_y in [{}, {}], dv = ({:.6}, {:.6})",
            self.nx,
            self.ny,
            self.x_range[0],
            self.x_range[1],
            self.y_range[0],
            self.y_range[1],
            self.dvx(),
            self.dvy()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centres_match_reference_layout() {
        // The reference data: 51 bins over [-5, 5], centres -5 + (i + 1/2) 10/51.
        let g = VelocityGrid::square(51, 5.0).unwrap();
        assert!((g.dvx() - 10.0 / 51.0).abs() < 1e-15);
        assert!((g.vx(0) - (-5.0 + 0.5 * 10.0 / 51.0)).abs() < 1e-14);
        assert!(g.vx(25).abs() < 1e-14, "odd grid has a centre bin at v = 0");
        assert_eq!(g.index(2, 3), 2 * 51 + 3);
    }

    #[test]
    fn rejects_bad_grids() {
        assert!(VelocityGrid::new(0, 3, [-1.0, 1.0], [-1.0, 1.0]).is_err());
        assert!(VelocityGrid::new(3, 3, [1.0, -1.0], [-1.0, 1.0]).is_err());
        assert!(VelocityGrid::new(3, 3, [-1.0, f64::NAN], [-1.0, 1.0]).is_err());
    }
}
