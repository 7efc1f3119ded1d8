//! Kramers-Moyal (jump) moments of a linear operator: what any operator
//! `df/dt = C f` does to the particles of one velocity cell, in the terms
//! of a Fokker-Planck equation and beyond.
//!
//! Column `c` of `C` is the rate at which the content of cell `c` moves to
//! every cell `r` (its diagonal, minus the rate of leaving). Its moments in
//! the jump `Delta v = v_r - v_c`,
//!
//! ```text
//! M_n(c)_{i..j} = sum_r Delta v_i ... Delta v_j C(r, c)
//! ```
//!
//! are the Kramers-Moyal coefficients of the operator at `v_c`: `M_0` the
//! net loss rate (zero for an operator that conserves particles), `M_1` the
//! drift `A`, `M_2` the diffusion `D` (collop's convention
//! `df/dt = -d_i (A_i f) + 1/2 d_i d_j (D_ij f)`, so `D = M_2`), and the
//! Kramers-Moyal expansion `df/dt = sum_n (-1)^n / n! d^n (M_n f)` says how
//! much of the operator is advection-diffusion and how much is higher order
//! (Risken, *The Fokker-Planck Equation*, 2nd ed., ch. 4). A true
//! Fokker-Planck operator has `M_n = 0` for `n >= 3` (Pawula's theorem);
//! its second-order discretisations have `M_3, M_4 = O(dv^2)` (the centred
//! drift stencil has `M_3 = A dv^2`, the three-point diffusion stencil
//! `M_4 = D dv^2` along its axis), and a kernel operator learned from data
//! can put any weight there. The moments are exact sums over the assembled
//! matrix: no fit, any operator (Fokker-Planck, kernel, theory, tracks).
//!
//! Columns near the edges are cut (jumps off the grid are lost) or carry
//! the edge rows' own stencils (one-sided differences reach further); the
//! cells more than the operator's longest jump from every edge are marked
//! in [`JumpMoments::interior`], and only they belong in statistics.

use collop_core::VelocityGrid;
use ndarray::Array2;

use crate::operator::Operator;

/// Kramers-Moyal moments `M_0 ... M_4` of every column of an operator, in
/// the units of the grid and of time the operator uses (velocity `v`,
/// `M_n` in `v^n / t`).
///
/// Symmetric tensors are stored by their distinct components, in the
/// order of the number of `y` indices: `M_1 = (x, y)`, `M_2 = (xx, xy,
/// yy)`, `M_3 = (xxx, xxy, xyy, yyy)`, `M_4 = (xxxx, xxxy, xxyy, xyyy,
/// yyyy)`.
#[derive(Debug, Clone, PartialEq)]
pub struct JumpMoments {
    /// The grid.
    pub grid: VelocityGrid,
    /// `M_0`: net rate of change of the cell's content (zero when conserved).
    pub loss: Array2<f64>,
    /// `M_1`, the drift `A_x, A_y`.
    pub drift: [Array2<f64>; 2],
    /// `M_2`, the diffusion `D_xx, D_xy, D_yy`.
    pub diffusion: [Array2<f64>; 3],
    /// `M_3`.
    pub third: [Array2<f64>; 4],
    /// `M_4`.
    pub fourth: [Array2<f64>; 5],
    /// Cells more than `reach` cells from every edge: their columns are
    /// neither cut by the edges nor touched by the edge rows' stencils.
    pub interior: Array2<bool>,
    /// The longest jump of the operator's pattern, in cells (largest
    /// `max(|di|, |dj|)` over its stored entries).
    pub reach: usize,
}

/// Number of index orderings of the component with `y` indices `k` of an
/// order-`n` symmetric tensor (the binomial coefficient): its weight in the
/// tensor's Frobenius norm.
fn multiplicity(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Frobenius norm of the symmetric tensor of order `components.len() - 1`
/// with these distinct components at one cell.
fn tensor_norm(components: &[&Array2<f64>], at: (usize, usize)) -> f64 {
    let n = components.len() - 1;
    components.iter().enumerate().map(|(k, c)| multiplicity(n, k) * c[at] * c[at]).sum::<f64>().sqrt()
}

impl JumpMoments {
    /// The moments of `op` with parameters `theta` in time slot `slot`.
    ///
    /// Panics if `theta` does not fit `op` or `slot` is out of range (a
    /// programming error; check with [`Operator::check_params`]).
    pub fn of(op: &dyn Operator, theta: &[f64], slot: usize) -> Self {
        assert!(slot < op.n_slots(), "slot {slot} of an operator with {} slots", op.n_slots());
        let grid = *op.grid();
        let (nx, ny) = grid.shape();
        let pattern = op.pattern();
        let mut values = vec![0.0; pattern.nnz()];
        op.assemble(theta, slot, &mut values);
        let (dx, dy) = (grid.dvx(), grid.dvy());
        let z = || Array2::zeros((nx, ny));
        let mut m = Self {
            grid,
            loss: z(),
            drift: [z(), z()],
            diffusion: [z(), z(), z()],
            third: [z(), z(), z(), z()],
            fourth: [z(), z(), z(), z(), z()],
            interior: Array2::from_elem((nx, ny), false),
            reach: 0,
        };
        for c in 0..grid.len() {
            let (ci, cj) = (c / ny, c % ny);
            for (r, k) in pattern.col_entries(c) {
                let (di, dj) = ((r / ny) as f64 - ci as f64, (r % ny) as f64 - cj as f64);
                m.reach = m.reach.max(di.abs().max(dj.abs()) as usize);
                let w = values[k];
                if w == 0.0 {
                    continue;
                }
                let (x, y) = (di * dx, dj * dy);
                let at = (ci, cj);
                m.loss[at] += w;
                // Powers x^(n-k) y^k, k = number of y indices.
                let mut px = [1.0; 5];
                let mut py = [1.0; 5];
                for p in 1..5 {
                    px[p] = px[p - 1] * x;
                    py[p] = py[p - 1] * y;
                }
                for k in 0..2 {
                    m.drift[k][at] += w * px[1 - k] * py[k];
                }
                for k in 0..3 {
                    m.diffusion[k][at] += w * px[2 - k] * py[k];
                }
                for k in 0..4 {
                    m.third[k][at] += w * px[3 - k] * py[k];
                }
                for k in 0..5 {
                    m.fourth[k][at] += w * px[4 - k] * py[k];
                }
            }
        }
        let reach = m.reach;
        m.interior = Array2::from_shape_fn((nx, ny), |(i, j)| {
            i > reach && j > reach && i + reach + 1 < nx && j + reach + 1 < ny
        });
        m
    }

    /// The size of each term `n = 1 ... 4` of the Kramers-Moyal expansion
    /// at every cell, on a distribution that varies over the velocity
    /// `scale` (e.g. the thermal velocity): `|M_n| scale^(2 - n) / n!`,
    /// with `|M_n|` the Frobenius norm of the tensor. A term
    /// `d^n (M_n f) / n!` is of order `|M_n| f / (n! scale^n)`; all four
    /// are multiplied by `scale^2`, so they are comparable with each other
    /// and the second is the diffusion's `|D| / 2`.
    ///
    /// Panics if `scale` is not a positive number.
    pub fn term_sizes(&self, scale: f64) -> [Array2<f64>; 4] {
        assert!(scale.is_finite() && scale > 0.0, "the velocity scale must be positive, not {scale}");
        let (nx, ny) = self.grid.shape();
        let size = |n: usize, comps: &[&Array2<f64>]| {
            let factorial = (1..=n).product::<usize>() as f64;
            Array2::from_shape_fn((nx, ny), |at| {
                tensor_norm(comps, at) * scale.powi(2 - n as i32) / factorial
            })
        };
        [
            size(1, &[&self.drift[0], &self.drift[1]]),
            size(2, &self.diffusion.iter().collect::<Vec<_>>()),
            size(3, &self.third.iter().collect::<Vec<_>>()),
            size(4, &self.fourth.iter().collect::<Vec<_>>()),
        ]
    }

    /// The share of the higher terms (`n = 3, 4`) in the sum of the four
    /// [`term_sizes`](Self::term_sizes) at every cell (zero where the
    /// operator does nothing).
    pub fn higher_share(&self, scale: f64) -> Array2<f64> {
        let [t1, t2, t3, t4] = self.term_sizes(scale);
        let total = &t1 + &t2 + &t3 + &t4;
        let higher = &t3 + &t4;
        ndarray::Zip::from(&higher).and(&total).map_collect(|&h, &t| if t > 0.0 { h / t } else { 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use collop_core::FpFields;

    use super::*;
    use crate::kernel::{Difference, KernelOperator, kernels_from_fp};
    use crate::{Edges, FokkerPlanck, Scheme};

    fn grid() -> VelocityGrid {
        VelocityGrid::new(21, 19, [-3.0, 3.0], [-2.0, 2.5]).unwrap()
    }

    /// Smooth fields with every component non-zero and varying.
    fn fields(grid: VelocityGrid) -> FpFields {
        FpFields::from_fn(grid, |vx, vy| {
            [
                -0.3 * vx + 0.1 * vy,
                0.2 - 0.25 * vy,
                1.0 + 0.1 * vx * vx,
                0.8 + 0.05 * vy * vy,
                0.1 * vx * vy.sin(),
            ]
        })
    }

    /// Independent route: the reference scheme discretises
    /// `-d_i(A_i f) + 1/2 d_i d_j(D_ij f)` by differences of the products
    /// `A f`, `D f`, so column `c` holds `A(c)`, `D(c)` alone, and its first
    /// and second moments are exactly the fields at `c`; the operator
    /// conserves particles, so `M_0 = 0`. Round-off: sums of a few terms of
    /// size `|D| / dv^2 * dv^2`, so 1e-12 relative.
    #[test]
    fn moments_of_the_fokker_planck_operator_are_its_fields() {
        let g = grid();
        let f = fields(g);
        let op = FokkerPlanck::new(g, Scheme::Reference(Edges::OneSided)).unwrap();
        let m = JumpMoments::of(&op, &f.to_grid_units(), 0);
        // One-sided edge rows read up to three cells inwards.
        assert_eq!(m.reach, 3);
        let fa = f.as_array();
        let mut checked = 0;
        for ((i, j), &inside) in m.interior.indexed_iter() {
            if !inside {
                continue;
            }
            checked += 1;
            let close = |a: f64, b: f64, what: &str| {
                assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{what} at ({i}, {j}): {a} against {b}")
            };
            close(m.loss[[i, j]], 0.0, "M_0");
            close(m.drift[0][[i, j]], fa[0][[i, j]], "A_x");
            close(m.drift[1][[i, j]], fa[1][[i, j]], "A_y");
            close(m.diffusion[0][[i, j]], fa[2][[i, j]], "D_xx");
            close(m.diffusion[1][[i, j]], fa[4][[i, j]], "D_xy");
            close(m.diffusion[2][[i, j]], fa[3][[i, j]], "D_yy");
        }
        assert_eq!(checked, (21 - 8) * (19 - 8));
    }

    /// The discretisation's own higher moments, derived by hand: the
    /// centred drift stencil `(+-A / 2 dv)` at `+-dv` has `M_3 = A dv^2`,
    /// the three-point diffusion stencil `D / 2 (1, -2, 1) / dv^2` has
    /// `M_4 = D dv^2`; with constant fields nothing else contributes along
    /// an axis, and the odd mixed moments vanish by symmetry.
    #[test]
    fn discretisation_moments_of_constant_fields() {
        let g = grid();
        let (ax, ay, dxx, dyy) = (0.4, -0.3, 1.2, 0.7);
        let f = FpFields::from_fn(g, |_, _| [ax, ay, dxx, dyy, 0.0]);
        let op = FokkerPlanck::new(g, Scheme::Reference(Edges::OneSided)).unwrap();
        let m = JumpMoments::of(&op, &f.to_grid_units(), 0);
        let (dx, dy) = (g.dvx(), g.dvy());
        let at = [10, 9];
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
        assert!(close(m.third[0][at], ax * dx * dx), "{}", m.third[0][at]);
        assert!(close(m.third[3][at], ay * dy * dy), "{}", m.third[3][at]);
        assert!(close(m.third[1][at], 0.0) && close(m.third[2][at], 0.0));
        assert!(close(m.fourth[0][at], dxx * dx * dx), "{}", m.fourth[0][at]);
        assert!(close(m.fourth[4][at], dyy * dy * dy), "{}", m.fourth[4][at]);
        assert!(close(m.fourth[1][at], 0.0) && close(m.fourth[2][at], 0.0) && close(m.fourth[3][at], 0.0));
    }

    /// The `k = 2` forward kernels that discretise a Fokker-Planck operator
    /// (`kernels_from_fp`, another stencil for the mixed derivative) have
    /// the same drift and diffusion at every interior cell: a route through
    /// the kernel operator's own assembly.
    #[test]
    fn kernels_of_a_fokker_planck_operator_have_its_moments() {
        let g = grid();
        let f = fields(g);
        let theta = kernels_from_fp(&g, &f.to_grid_units()).unwrap();
        let op = KernelOperator::new(g, 2, Difference::Forward).unwrap();
        let m = JumpMoments::of(&op, &theta, 0);
        let fa = f.as_array();
        for ((i, j), &inside) in m.interior.indexed_iter() {
            if !inside {
                continue;
            }
            let want = [fa[0][[i, j]], fa[1][[i, j]], fa[2][[i, j]], fa[4][[i, j]], fa[3][[i, j]]];
            let got = [
                m.drift[0][[i, j]],
                m.drift[1][[i, j]],
                m.diffusion[0][[i, j]],
                m.diffusion[1][[i, j]],
                m.diffusion[2][[i, j]],
            ];
            for (a, b) in got.iter().zip(want) {
                assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "({i}, {j}): {got:?} against {want:?}");
            }
            assert!(m.loss[[i, j]].abs() <= 1e-12);
        }
    }

    /// Independent route for any pattern: column `c` of `C` is the
    /// operator applied to the indicator of cell `c`; its jump moments
    /// summed directly over the whole grid equal the assembled sums, for
    /// kernels of several sizes and differences with arbitrary values
    /// (reach up to 3 cells). Round-off: sums of O(50) terms of size O(1).
    #[test]
    fn moments_equal_brute_force_sums_of_the_operator_action() {
        let g = grid();
        let (nx, ny) = g.shape();
        for (k, difference) in [(3, Difference::Forward), (4, Difference::Centred), (2, Difference::Backward)]
        {
            let op = KernelOperator::new(g, k, difference).unwrap();
            let theta: Vec<f64> =
                (0..op.nparams()).map(|p| ((p * 7919) % 1000) as f64 / 1000.0 - 0.5).collect();
            let m = JumpMoments::of(&op, &theta, 0);
            let c = (10, 8);
            let mut e = vec![0.0; g.len()];
            e[c.0 * ny + c.1] = 1.0;
            let mut col = vec![0.0; g.len()];
            op.apply(&theta, 0, &e, &mut col);
            let (mut m1x, mut m2xy, mut m3xxy, mut m4yyyy) = (0.0, 0.0, 0.0, 0.0);
            for i in 0..nx {
                for j in 0..ny {
                    let (x, y) = ((i as f64 - c.0 as f64) * g.dvx(), (j as f64 - c.1 as f64) * g.dvy());
                    let w = col[i * ny + j];
                    m1x += w * x;
                    m2xy += w * x * y;
                    m3xxy += w * x * x * y;
                    m4yyyy += w * y.powi(4);
                }
            }
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
            assert!(close(m.drift[0][c], m1x), "k = {k}: {} against {m1x}", m.drift[0][c]);
            assert!(close(m.diffusion[1][c], m2xy));
            assert!(close(m.third[1][c], m3xxy));
            assert!(close(m.fourth[4][c], m4yyyy));
        }
    }

    /// The term sizes of a pure diffusion operator: only the even ones,
    /// `|D| / 2` for the second and the stencil's `M_4 / 24` for the fourth.
    #[test]
    fn term_sizes_of_pure_diffusion() {
        let g = grid();
        let d = 0.9;
        let f = FpFields::from_fn(g, |_, _| [0.0, 0.0, d, d, 0.0]);
        let op = FokkerPlanck::new(g, Scheme::Reference(Edges::OneSided)).unwrap();
        let m = JumpMoments::of(&op, &f.to_grid_units(), 0);
        let [t1, t2, t3, t4] = m.term_sizes(1.0);
        let at = [10, 9];
        assert!(t1[at].abs() < 1e-12 && t3[at].abs() < 1e-12);
        // |M_2| = sqrt(D^2 + D^2) (the xx and yy components).
        assert!((t2[at] - d * 2f64.sqrt() / 2.0).abs() < 1e-12, "{}", t2[at]);
        let want4 = (d * g.dvx().powi(2)).hypot(d * g.dvy().powi(2)) / 24.0;
        assert!((t4[at] - want4).abs() < 1e-12, "{} against {want4}", t4[at]);
        let share = m.higher_share(1.0);
        assert!((share[at] - want4 / (t2[at] + want4)).abs() < 1e-12);
    }
}
