//! The periodic 2D grid and its guard-cell arrays.
//!
//! Every grid quantity is stored in a padded array of
//! `(nx + 2 GUARD) x (ny + 2 GUARD)` values, row-major with `y` contiguous:
//! interior node `(i, j)` sits at `(i + GUARD) * stride + (j + GUARD)`. The
//! guards let the particle kernels index without wrapping; they are filled
//! from the periodic images before a gather ([`Grid::fill_guards`]) and
//! folded back onto the interior after a deposit ([`Grid::fold_guards`]).
//!
//! Yee staggering (index `[i][j]` of each array):
//! `E_x (i+1/2, j)`, `E_y (i, j+1/2)`, `E_z (i, j)`, `B_x (i, j+1/2)`,
//! `B_y (i+1/2, j)`, `B_z (i+1/2, j+1/2)`; `J` sits with `E`; `rho` and
//! `phi` on the nodes `(i, j)`.

/// Guard cells on each side: enough for an order-4 shape of a particle that
/// moved up to one cell, evaluated half a cell off the nodes.
pub const GUARD: usize = 4;

/// Geometry of the periodic grid: `nx x ny` cells of `dx x dy` (in `c/omega_p`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// Cells along x.
    pub nx: usize,
    /// Cells along y.
    pub ny: usize,
    /// Cell width along x, `c/omega_p`.
    pub dx: f64,
    /// Cell width along y, `c/omega_p`.
    pub dy: f64,
}

impl Grid {
    /// Length of one padded row (the y extent with guards).
    #[inline]
    pub fn stride(&self) -> usize {
        self.ny + 2 * GUARD
    }

    /// Length of a padded array.
    pub fn padded_len(&self) -> usize {
        (self.nx + 2 * GUARD) * self.stride()
    }

    /// Number of interior cells.
    pub fn cells(&self) -> usize {
        self.nx * self.ny
    }

    /// Cell area `dx dy`.
    pub fn cell_area(&self) -> f64 {
        self.dx * self.dy
    }

    /// Padded index of interior node `(i, j)`.
    #[inline]
    pub fn idx(&self, i: usize, j: usize) -> usize {
        (i + GUARD) * self.stride() + j + GUARD
    }

    /// A zeroed padded array.
    pub fn zeros(&self) -> Vec<f64> {
        vec![0.0; self.padded_len()]
    }

    /// Copy the periodic images of the interior into the guard cells.
    pub fn fill_guards(&self, a: &mut [f64]) {
        let (nx, ny, s) = (self.nx, self.ny, self.stride());
        for r in GUARD..GUARD + nx {
            let row = &mut a[r * s..(r + 1) * s];
            for g in 0..GUARD {
                row[g] = row[g + ny];
                row[GUARD + ny + g] = row[GUARD + g];
            }
        }
        for g in 0..GUARD {
            a.copy_within((g + nx) * s..(g + nx + 1) * s, g * s);
            a.copy_within((GUARD + g) * s..(GUARD + g + 1) * s, (GUARD + nx + g) * s);
        }
    }

    /// Add the guard cells onto their periodic images in the interior and
    /// zero the guards (the periodic sum of a deposit).
    pub fn fold_guards(&self, a: &mut [f64]) {
        let (nx, ny, s) = (self.nx, self.ny, self.stride());
        for g in 0..GUARD {
            for c in 0..s {
                let lo = a[g * s + c];
                a[(g + nx) * s + c] += lo;
                a[g * s + c] = 0.0;
                let hi = a[(GUARD + nx + g) * s + c];
                a[(GUARD + g) * s + c] += hi;
                a[(GUARD + nx + g) * s + c] = 0.0;
            }
        }
        for r in GUARD..GUARD + nx {
            let row = &mut a[r * s..(r + 1) * s];
            for g in 0..GUARD {
                row[g + ny] += row[g];
                row[g] = 0.0;
                row[GUARD + g] += row[GUARD + ny + g];
                row[GUARD + ny + g] = 0.0;
            }
        }
    }

    /// Sum over the interior of `f(a[k])`.
    pub fn sum_interior(&self, a: &[f64], f: impl Fn(f64) -> f64) -> f64 {
        let mut sum = 0.0;
        for i in 0..self.nx {
            let k = self.idx(i, 0);
            sum += a[k..k + self.ny].iter().map(|&v| f(v)).sum::<f64>();
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_fill_and_fold_periodically() {
        let g = Grid { nx: 5, ny: 7, dx: 1.0, dy: 1.0 };
        let mut a = g.zeros();
        for i in 0..5 {
            for j in 0..7 {
                a[g.idx(i, j)] = (10 * i + j) as f64;
            }
        }
        g.fill_guards(&mut a);
        let s = g.stride();
        for r in 0..5 + 2 * GUARD {
            for c in 0..s {
                let i = (r as isize - GUARD as isize).rem_euclid(5) as usize;
                let j = (c as isize - GUARD as isize).rem_euclid(7) as usize;
                assert_eq!(a[r * s + c], (10 * i + j) as f64);
            }
        }
        // Folding the filled array counts each interior value once per image.
        let mut b = g.zeros();
        b.iter_mut().for_each(|v| *v = 1.0);
        g.fold_guards(&mut b);
        let total: f64 = b.iter().sum();
        assert_eq!(total, g.padded_len() as f64);
        assert!(b.iter().enumerate().all(|(k, &v)| {
            let (r, c) = (k / s, k % s);
            let interior = (GUARD..GUARD + 5).contains(&r) && (GUARD..GUARD + 7).contains(&c);
            interior || v == 0.0
        }));
    }
}
