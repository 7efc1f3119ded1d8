//! Binning particles on a dataset grid: the hot loop of an import.
//!
//! A particle at `(v_x, v_y)` (in `v_th`) falls in cell `(i, j)` with
//! `e_i <= v_x < e_{i+1}`, the last edge included in the last cell:
//! `numpy.histogram2d`'s rule, with the edges computed as `numpy.linspace`
//! computes them (`e_i = v_min + i (v_max - v_min) / n`, the last edge
//! `v_max` exactly), so that an import equals `histogram2d` of the same
//! velocities bit for bit. The cell is found by one multiplication and
//! corrected by at most one step against the edges.

use collop_core::VelocityGrid;

/// One axis: its edges and the scale to a first guess of the cell.
#[derive(Debug, Clone)]
struct Axis {
    edges: Vec<f64>,
    lo: f64,
    scale: f64,
}

impl Axis {
    fn new(n: usize, range: [f64; 2]) -> Self {
        let step = (range[1] - range[0]) / n as f64;
        let mut edges: Vec<f64> = (0..=n).map(|i| i as f64 * step + range[0]).collect();
        edges[n] = range[1];
        Self { edges, lo: range[0], scale: n as f64 / (range[1] - range[0]) }
    }

    #[inline(always)]
    fn cell(&self, v: f64) -> Option<usize> {
        let n = self.edges.len() - 1;
        let f = (v - self.lo) * self.scale;
        // Outside (or NaN): `!(f >= -1 && f < n + 1)` also catches NaN.
        if !(f > -1.0 && f < n as f64 + 1.0) {
            return None;
        }
        let mut i = f.max(0.0) as usize;
        if i > n - 1 {
            i = n - 1;
        }
        if v < self.edges[i] {
            if i == 0 {
                return None;
            }
            i -= 1;
        } else if v >= self.edges[i + 1] {
            if i + 1 == n {
                return if v == self.edges[n] { Some(n - 1) } else { None };
            }
            i += 1;
        }
        Some(i)
    }
}

/// A grid's cell lookup (axis 0 = `v_x`, row-major cells `i * n_y + j`).
#[derive(Debug, Clone)]
pub struct Binner {
    x: Axis,
    y: Axis,
    ny: usize,
}

impl Binner {
    /// The lookup of `grid`.
    pub fn new(grid: &VelocityGrid) -> Self {
        Self { x: Axis::new(grid.nx, grid.x_range), y: Axis::new(grid.ny, grid.y_range), ny: grid.ny }
    }

    /// The flat index of the cell holding `(vx, vy)`, `None` outside.
    #[inline(always)]
    pub fn cell(&self, vx: f64, vy: f64) -> Option<usize> {
        Some(self.x.cell(vx)? * self.ny + self.y.cell(vy)?)
    }

    /// Adds `w[q]` at `(vx[q], vy[q])` to `hist` (`n_x n_y` cells) for
    /// every particle; particles outside the grid are dropped.
    pub fn add(&self, vx: &[f64], vy: &[f64], w: &[f64], hist: &mut [f64]) {
        for ((&x, &y), &wq) in vx.iter().zip(vy).zip(w) {
            if let Some(c) = self.cell(x, y) {
                hist[c] += wq;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edges, the last edge and points outside, against the rule written out.
    #[test]
    fn cells_follow_numpys_rule() {
        let grid = VelocityGrid::new(4, 3, [-2.0, 2.0], [0.0, 3.0]).expect("grid");
        let b = Binner::new(&grid);
        assert_eq!(b.cell(-2.0, 0.0), Some(0));
        assert_eq!(b.cell(-1.0, 1.0), Some(3 + 1)); // x edge 1 starts cell 1
        assert_eq!(b.cell(2.0, 3.0), Some(3 * 3 + 2)); // both last edges included
        assert_eq!(b.cell(-2.000_000_1, 1.0), None);
        assert_eq!(b.cell(2.000_000_1, 1.0), None);
        assert_eq!(b.cell(0.0, f64::NAN), None);
        assert_eq!(b.cell(f64::INFINITY, 1.0), None);
        // Every point of a fine sweep lands in the cell whose edges enclose it.
        for k in 0..4001 {
            let v = -2.0 + 4.0 * k as f64 / 4000.0;
            let i = b.x.cell(v).expect("inside");
            assert!(b.x.edges[i] <= v && (v < b.x.edges[i + 1] || (i == 3 && v == 2.0)), "{v} -> {i}");
        }
    }

    /// Weights add up; a particle outside adds nothing.
    #[test]
    fn add_sums_weights() {
        let grid = VelocityGrid::square(2, 1.0).expect("grid");
        let b = Binner::new(&grid);
        let mut h = vec![0.0; 4];
        b.add(&[-0.5, -0.5, 0.5, 3.0], &[-0.5, -0.5, 0.5, 0.0], &[1.0, 2.5, 4.0, 8.0], &mut h);
        assert_eq!(h, vec![3.5, 0.0, 0.0, 4.0]);
    }
}
