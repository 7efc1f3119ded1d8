//! Binomial (1-2-1) smoothing of deposited sources.
//!
//! One pass multiplies mode `k` by `cos^2(k dx / 2)` along each axis
//! (Birdsall & Langdon 1991, appendix C; Vay et al., J. Comput. Phys. 230
//! (2011) 5908). The stencil is the same at every staggered position and
//! commutes with the Yee differences, so a filtered current still satisfies
//! the continuity equation with the equally filtered charge density.

use crate::grid::Grid;

/// `passes` passes of the 1-2-1 filter along x then y on the interior of
/// `a` (padded); `tmp` is a padded workspace. Guards are left filled.
pub fn binomial(grid: &Grid, a: &mut [f64], tmp: &mut [f64], passes: usize) {
    let s = grid.stride();
    for _ in 0..passes {
        grid.fill_guards(a);
        for i in 0..grid.nx {
            let k = grid.idx(i, 0);
            for j in 0..grid.ny {
                tmp[k + j] = 0.25 * (a[k + j - s] + 2.0 * a[k + j] + a[k + j + s]);
            }
        }
        grid.fill_guards(tmp);
        for i in 0..grid.nx {
            let k = grid.idx(i, 0);
            for j in 0..grid.ny {
                a[k + j] = 0.25 * (tmp[k + j - 1] + 2.0 * tmp[k + j] + tmp[k + j + 1]);
            }
        }
    }
    grid.fill_guards(a);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_damps_a_mode_by_cos_squared() {
        let g = Grid { nx: 16, ny: 12, dx: 1.0, dy: 1.0 };
        let (kx, ky) = (2.0 * std::f64::consts::PI * 3.0 / 16.0, 2.0 * std::f64::consts::PI * 2.0 / 12.0);
        let mut a = g.zeros();
        for i in 0..g.nx {
            for j in 0..g.ny {
                a[g.idx(i, j)] = (kx * i as f64 + ky * j as f64).cos();
            }
        }
        let mut tmp = g.zeros();
        binomial(&g, &mut a, &mut tmp, 2);
        let damp = ((0.5 * kx).cos() * (0.5 * ky).cos()).powi(4);
        for i in 0..g.nx {
            for j in 0..g.ny {
                let expect = damp * (kx * i as f64 + ky * j as f64).cos();
                assert!((a[g.idx(i, j)] - expect).abs() < 1e-14);
            }
        }
    }
}
