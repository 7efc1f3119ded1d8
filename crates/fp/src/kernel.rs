//! The integro-differential kernel operator (Carvalho et al., arXiv 2601.13377).
//!
//! At every velocity cell `q` two `k x k` kernels `K_x(q; l, m)`, `K_y(q; l, m)`
//! act on the neighbourhood of `q` as a cross-correlation, and an outer
//! finite difference turns the result into a rate of change:
//!
//! ```text
//! F_c(i, j) = sum_{l,m=0}^{k-1} K_c(i, j; l, m) f(i + l - p, j + m - p),   p = floor(k / 2)
//! df/dt(i, j) = delta_x F_x(i, j) + delta_y F_y(i, j)
//! ```
//!
//! with `delta` forward `F(i+1) - F(i)`, backward `F(i) - F(i-1)` or centred
//! `(F(i+1) - F(i-1)) / 2`, and `f`, `F` zero outside the grid. Kernels are in
//! grid units (`K / dv`). Parameters are laid out as the reference's kernel
//! tensor `(2, k, k, nx, ny)`, repeated per time slot:
//! `theta[slot * 2 k^2 n + ((c * k + l) * k + m) * n + cell]`.
//!
//! With `k = 2` and forward differences the operator can represent a second
//! order Fokker-Planck discretisation (see [`kernels_from_fp`]).

use collop_core::VelocityGrid;

use crate::FpError;
use crate::operator::Operator;
use crate::stencil::{LinearAssembly, Pattern};

/// Outer finite difference of the kernel operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Difference {
    /// `F(i+1) - F(i)` (the reference default).
    Forward,
    /// `F(i) - F(i-1)`.
    Backward,
    /// `(F(i+1) - F(i-1)) / 2`.
    Centred,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Forward => "forward",
            Self::Backward => "backward",
            Self::Centred => "centred",
        })
    }
}

impl Difference {
    /// Rows `r` and weights with `delta[r, q] != 0` for intermediate index `q` on `n` points.
    fn rows_of(self, q: usize, n: usize) -> impl Iterator<Item = (usize, f64)> {
        let (a, b) = match self {
            Difference::Forward => ((q.checked_sub(1), 1.0), (Some(q), -1.0)),
            Difference::Backward => ((Some(q), 1.0), ((q + 1 < n).then_some(q + 1), -1.0)),
            Difference::Centred => ((q.checked_sub(1), 0.5), ((q + 1 < n).then_some(q + 1), -0.5)),
        };
        [a, b].into_iter().filter_map(|(r, w)| r.map(|r| (r, w)))
    }
}

/// The kernel operator with free kernels at every cell.
#[derive(Debug, Clone)]
pub struct KernelOperator {
    grid: VelocityGrid,
    k: usize,
    difference: Difference,
    n_slots: usize,
    assembly: LinearAssembly,
}

impl KernelOperator {
    /// A time-independent kernel operator of kernel size `k >= 1`.
    pub fn new(grid: VelocityGrid, k: usize, difference: Difference) -> Result<Self, FpError> {
        Self::with_slots(grid, k, difference, 1)
    }

    /// A kernel operator with `n_slots` time slots.
    pub fn with_slots(
        grid: VelocityGrid,
        k: usize,
        difference: Difference,
        n_slots: usize,
    ) -> Result<Self, FpError> {
        if k == 0 {
            return Err(FpError::Invalid("kernel size must be at least 1".into()));
        }
        if n_slots == 0 {
            return Err(FpError::Invalid("a kernel operator needs at least one time slot".into()));
        }
        let (nx, ny) = grid.shape();
        let n = grid.len();
        let p = k / 2;
        let mut terms = Vec::new();
        for qi in 0..nx {
            for qj in 0..ny {
                let q = qi * ny + qj;
                for l in 0..k {
                    let Some(ci) = (qi + l).checked_sub(p).filter(|&c| c < nx) else { continue };
                    for m in 0..k {
                        let Some(cj) = (qj + m).checked_sub(p).filter(|&c| c < ny) else { continue };
                        let c = ci * ny + cj;
                        for comp in 0..2 {
                            let param = ((comp * k + l) * k + m) * n + q;
                            if comp == 0 {
                                for (ri, w) in difference.rows_of(qi, nx) {
                                    terms.push((ri * ny + qj, c, param, w));
                                }
                            } else {
                                for (rj, w) in difference.rows_of(qj, ny) {
                                    terms.push((qi * ny + rj, c, param, w));
                                }
                            }
                        }
                    }
                }
            }
        }
        let assembly = LinearAssembly::build(n, 2 * k * k * n, terms);
        Ok(Self { grid, k, difference, n_slots, assembly })
    }

    /// Kernel size.
    pub fn kernel_size(&self) -> usize {
        self.k
    }

    /// Outer difference.
    pub fn difference(&self) -> Difference {
        self.difference
    }

    /// Parameters per slot (`2 k^2 nx ny`).
    pub fn params_per_slot(&self) -> usize {
        2 * self.k * self.k * self.grid.len()
    }
}

impl Operator for KernelOperator {
    fn grid(&self) -> &VelocityGrid {
        &self.grid
    }

    fn nparams(&self) -> usize {
        self.n_slots * self.params_per_slot()
    }

    fn n_slots(&self) -> usize {
        self.n_slots
    }

    fn pattern(&self) -> &Pattern {
        self.assembly.pattern()
    }

    fn assemble(&self, theta: &[f64], slot: usize, values: &mut [f64]) {
        let per = self.params_per_slot();
        self.assembly.assemble(&theta[slot * per..(slot + 1) * per], values);
    }

    fn assemble_vjp(&self, _theta: &[f64], slot: usize, dvalues: &[f64], dtheta: &mut [f64]) {
        let per = self.params_per_slot();
        self.assembly.vjp(dvalues, &mut dtheta[slot * per..(slot + 1) * per]);
    }

    fn linear_assembly(&self) -> Option<&LinearAssembly> {
        Some(&self.assembly)
    }

    fn describe(&self) -> String {
        format!(
            "kernel operator, k = {}, {} differences, {} time slot(s)",
            self.k, self.difference, self.n_slots
        )
    }
}

/// Kernels (`k = 2`, forward differences, one slot) that discretise the
/// Fokker-Planck operator with grid-unit fields `fp` (layout of
/// [`crate::FokkerPlanck`]) in flux form.
///
/// `F_x(i, j)` is minus the flux through the lower `x` face of cell `(i, j)`:
/// `F_x = -[(A_x f)_{i-1,j} + (A_x f)_{i,j}] / 2 + [(D_xx f)_{i,j} - (D_xx f)_{i-1,j}] / 2
/// + [(D_xy f)_{i,j} - (D_xy f)_{i,j-1}] / 2`, and `F_y` likewise with the axes
/// swapped. In the interior this is the reference scheme's advection and
/// pure diffusion exactly, with the mixed derivative replaced by the
/// second-order seven-point formula
/// `d_xy g = [g(i+1,j) + g(i-1,j) + g(i,j+1) + g(i,j-1) - 2 g(i,j) - g(i+1,j-1) - g(i-1,j+1)] / 2`
/// (the only second-order mixed stencil the `k = 2` forward footprint reaches).
pub fn kernels_from_fp(grid: &VelocityGrid, fp: &[f64]) -> Result<Vec<f64>, FpError> {
    let n = grid.len();
    if fp.len() != 5 * n {
        return Err(FpError::Shape(format!(
            "{} Fokker-Planck parameters given, expected {}",
            fp.len(),
            5 * n
        )));
    }
    let (nx, ny) = grid.shape();
    let k = 2;
    let fld = |f: usize, i: usize, j: usize| fp[f * n + i * ny + j];
    let mut theta = vec![0.0; 2 * k * k * n];
    // Tap (l, m) of cell q reads f(qi + l - 1, qj + m - 1).
    let mut set =
        |comp: usize, l: usize, m: usize, q: usize, v: f64| theta[((comp * k + l) * k + m) * n + q] += v;
    use crate::fokker_planck::field::*;
    for i in 0..nx {
        for j in 0..ny {
            let q = i * ny + j;
            // F_x: taps (l=1,m=1) -> f(i, j); (l=0,m=1) -> f(i-1, j); (l=1,m=0) -> f(i, j-1).
            set(0, 1, 1, q, -0.5 * fld(A_X, i, j) + 0.5 * fld(D_XX, i, j) + 0.5 * fld(D_XY, i, j));
            if i >= 1 {
                set(0, 0, 1, q, -0.5 * fld(A_X, i - 1, j) - 0.5 * fld(D_XX, i - 1, j));
            }
            if j >= 1 {
                set(0, 1, 0, q, -0.5 * fld(D_XY, i, j - 1));
            }
            // F_y: taps (1,1) -> f(i, j); (1,0) -> f(i, j-1); (0,1) -> f(i-1, j).
            set(1, 1, 1, q, -0.5 * fld(A_Y, i, j) + 0.5 * fld(D_YY, i, j) + 0.5 * fld(D_XY, i, j));
            if j >= 1 {
                set(1, 1, 0, q, -0.5 * fld(A_Y, i, j - 1) - 0.5 * fld(D_YY, i, j - 1));
            }
            if i >= 1 {
                set(1, 0, 1, q, -0.5 * fld(D_XY, i - 1, j));
            }
        }
    }
    Ok(theta)
}
