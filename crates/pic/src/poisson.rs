//! Periodic Poisson solver by FFT (rustfft).
//!
//! Solves the five-point discrete Poisson equation on the nodes,
//!
//! ```text
//! (phi[i+1,j] - 2 phi[i,j] + phi[i-1,j]) / dx^2 + (phi[i,j+1] - 2 phi[i,j] + phi[i,j-1]) / dy^2 = -rho[i,j],
//! ```
//!
//! exactly (to round-off) in Fourier space, where the operator is diagonal with
//! eigenvalue `-K^2`, `K^2 = (2 sin(k_x dx / 2) / dx)^2 + (2 sin(k_y dy / 2) / dy)^2`
//! (Birdsall & Langdon 1991, section 4-9; Hockney & Eastwood 1988, section
//! 6-5). The `k = 0` mode is dropped: a periodic box is neutral, any net
//! charge being cancelled by a uniform background. This is the Laplacian
//! of the Yee grid, so `E = -grad phi` by one-sided differences onto the
//! staggered `E_x (i+1/2, j)`, `E_y (i, j+1/2)` satisfies Gauss's law
//! `div E = rho` at every node to round-off.

use std::sync::Arc;

use rayon::prelude::*;
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

use crate::grid::Grid;

/// FFT plans, workspaces and the inverse eigenvalues `1 / K^2`, sized once.
pub struct PoissonSolver {
    grid: Grid,
    fwd_y: Arc<dyn Fft<f64>>,
    inv_y: Arc<dyn Fft<f64>>,
    fwd_x: Arc<dyn Fft<f64>>,
    inv_x: Arc<dyn Fft<f64>>,
    /// `(nx, ny)` data, y contiguous.
    a: Vec<Complex64>,
    /// Transposed `(ny, nx)` data, x contiguous.
    t: Vec<Complex64>,
    scratch: Vec<Complex64>,
    /// `1 / K^2` in the transposed layout, zero at `k = 0`.
    inv_k2: Vec<f64>,
}

impl std::fmt::Debug for PoissonSolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoissonSolver").field("grid", &self.grid).finish()
    }
}

impl PoissonSolver {
    /// Plans and workspaces for `grid`.
    pub fn new(grid: Grid) -> Self {
        let (nx, ny) = (grid.nx, grid.ny);
        let mut planner = FftPlanner::new();
        let fwd_y = planner.plan_fft_forward(ny);
        let inv_y = planner.plan_fft_inverse(ny);
        let fwd_x = planner.plan_fft_forward(nx);
        let inv_x = planner.plan_fft_inverse(nx);
        let scratch_len =
            [&fwd_y, &inv_y, &fwd_x, &inv_x].iter().map(|p| p.get_inplace_scratch_len()).max().unwrap_or(0);
        let mut inv_k2 = vec![0.0; nx * ny];
        for j in 0..ny {
            let sy = 2.0 * (std::f64::consts::PI * j as f64 / ny as f64).sin() / grid.dy;
            for i in 0..nx {
                let sx = 2.0 * (std::f64::consts::PI * i as f64 / nx as f64).sin() / grid.dx;
                let k2 = sx * sx + sy * sy;
                inv_k2[j * nx + i] = if i == 0 && j == 0 { 0.0 } else { 1.0 / k2 };
            }
        }
        let zero = Complex64::new(0.0, 0.0);
        Self {
            grid,
            fwd_y,
            inv_y,
            fwd_x,
            inv_x,
            a: vec![zero; nx * ny],
            t: vec![zero; nx * ny],
            scratch: vec![zero; scratch_len],
            inv_k2,
        }
    }

    /// `phi` (padded, interior written, guards filled) from `rho` (padded, interior read).
    pub fn solve(&mut self, rho: &[f64], phi: &mut [f64]) {
        let g = self.grid;
        let (nx, ny) = (g.nx, g.ny);
        for i in 0..nx {
            let k = g.idx(i, 0);
            for j in 0..ny {
                self.a[i * ny + j] = Complex64::new(rho[k + j], 0.0);
            }
        }
        rows(&self.fwd_y, &mut self.a, ny, &mut self.scratch);
        transpose(&self.a, &mut self.t, nx, ny);
        rows(&self.fwd_x, &mut self.t, nx, &mut self.scratch);
        let norm = 1.0 / (nx * ny) as f64;
        for (c, &w) in self.t.iter_mut().zip(&self.inv_k2) {
            *c *= w * norm;
        }
        rows(&self.inv_x, &mut self.t, nx, &mut self.scratch);
        transpose(&self.t, &mut self.a, ny, nx);
        rows(&self.inv_y, &mut self.a, ny, &mut self.scratch);
        for i in 0..nx {
            let k = g.idx(i, 0);
            for j in 0..ny {
                phi[k + j] = self.a[i * ny + j].re;
            }
        }
        g.fill_guards(phi);
    }
}

/// The transform `fft` of every row (length `len`) of `data`: split among
/// the pool's threads when there are several (each row is transformed the
/// same way whichever thread does it), else with the reusable scratch.
fn rows(fft: &Arc<dyn Fft<f64>>, data: &mut [Complex64], len: usize, scratch: &mut [Complex64]) {
    let threads = rayon::current_num_threads();
    let n_rows = data.len() / len;
    if threads > 1 && n_rows >= 2 * threads {
        let per = n_rows.div_ceil(threads) * len;
        data.par_chunks_mut(per).for_each(|c| fft.process(c));
    } else {
        fft.process_with_scratch(data, scratch);
    }
}

/// `dst (cols x rows) = src (rows x cols)^T`, both row-major.
fn transpose(src: &[Complex64], dst: &mut [Complex64], rows: usize, cols: usize) {
    const B: usize = 16;
    for r0 in (0..rows).step_by(B) {
        for c0 in (0..cols).step_by(B) {
            for r in r0..(r0 + B).min(rows) {
                for c in c0..(c0 + B).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_point_laplacian_of_solution_is_rho() {
        // Awkward sizes (odd, prime) and unequal spacings.
        let g = Grid { nx: 13, ny: 10, dx: 0.3, dy: 0.17 };
        let mut rho = g.zeros();
        let mut mean = 0.0;
        for i in 0..g.nx {
            for j in 0..g.ny {
                let v = ((i * 7 + j * 3) % 11) as f64 - 4.0 + 0.1 * (i as f64).sin();
                rho[g.idx(i, j)] = v;
                mean += v;
            }
        }
        mean /= g.cells() as f64;
        let mut phi = g.zeros();
        let mut s = PoissonSolver::new(g);
        s.solve(&rho, &mut phi);
        let st = g.stride();
        for i in 0..g.nx {
            for j in 0..g.ny {
                let k = g.idx(i, j);
                let lap = (phi[k + st] - 2.0 * phi[k] + phi[k - st]) / (g.dx * g.dx)
                    + (phi[k + 1] - 2.0 * phi[k] + phi[k - 1]) / (g.dy * g.dy);
                // The k = 0 mode (the mean of rho) is removed. Round-off of
                // an FFT of this size times 1/dx^2.
                assert!((lap + rho[k] - mean).abs() < 1e-10, "({i}, {j}): {lap} vs {}", rho[k]);
            }
        }
    }
}
