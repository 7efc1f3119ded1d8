//! Coefficient fields of isotropic (radial) Fokker-Planck operators: drift
//! along `v` and a diffusion tensor with eigenvectors along and across `v`.

use std::f64::consts::FRAC_1_SQRT_2;

use collop_core::{FpFields, VelocityGrid};

use crate::TheoryError;

/// Drift and diffusion of an isotropic operator at one speed `|v|`, in the
/// frame `(e_par, e_perp) = (v / |v|, z x v / |v|)`:
///
/// ```text
/// A = a_par e_par,      D = d_par e_par e_par + d_perp e_perp e_perp
/// ```
///
/// Units as in [`FpFields`]: `a_par` in `v_th omega_p`, the `d` in
/// `v_th^2 omega_p` (Kramers-Moyal convention, `df/dt = -d_i (A_i f) + 1/2 d_i d_j (D_ij f)`).
/// `a_par < 0` is drag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadialCoefficients {
    /// Drift along `v`.
    pub a_par: f64,
    /// Diffusion along `v`.
    pub d_par: f64,
    /// Diffusion across `v`.
    pub d_perp: f64,
}

/// `[cos theta, sin theta] = [v_x, v_y] / |v|`, the direction of `v`; at
/// `v = 0` exactly, `[sqrt(1/2), sqrt(1/2)]`.
///
/// The convention at the origin is the reference implementation's: it makes
/// a learned `a_par(0)` and `d_par(0) - d_perp(0)` show up in both `x` and
/// `y` components, so that training drives them to zero as isotropy demands.
pub fn radial_direction(vx: f64, vy: f64) -> [f64; 2] {
    let v = vx.hypot(vy);
    if v == 0.0 { [FRAC_1_SQRT_2, FRAC_1_SQRT_2] } else { [vx / v, vy / v] }
}

/// Cartesian coefficients `[A_x, A_y, D_xx, D_yy, D_xy]` ([`collop_core::FIELD_NAMES`]
/// order) of the radial coefficients `c` at the velocity with direction
/// `[cos, sin]` (see [`radial_direction`]):
///
/// ```text
/// A_x = a_par cos,   A_y = a_par sin,
/// D_xx = d_par cos^2 + d_perp sin^2,   D_yy = d_par sin^2 + d_perp cos^2,
/// D_xy = (d_par - d_perp) cos sin
/// ```
///
/// (the rotation `D = R diag(d_par, d_perp) R^T`). Linear in `c`, so its
/// adjoint is the transpose of this 5 x 3 matrix.
pub fn radial_to_cartesian(direction: [f64; 2], c: RadialCoefficients) -> [f64; 5] {
    let [cos, sin] = direction;
    let (c2, s2, cs) = (cos * cos, sin * sin, cos * sin);
    [
        c.a_par * cos,
        c.a_par * sin,
        c.d_par * c2 + c.d_perp * s2,
        c.d_par * s2 + c.d_perp * c2,
        (c.d_par - c.d_perp) * cs,
    ]
}

/// Radial coefficients seen along `direction = [cos, sin]` (a unit vector,
/// see [`radial_direction`]) in the Cartesian coefficients
/// `[A_x, A_y, D_xx, D_yy, D_xy]` ([`collop_core::FIELD_NAMES`] order): the
/// projections onto `e_par = (cos, sin)` and `e_perp = (-sin, cos)`,
///
/// ```text
/// a_par  = A . e_par         = A_x cos + A_y sin,
/// d_par  = e_par . D . e_par  = D_xx cos^2 + 2 D_xy cos sin + D_yy sin^2,
/// d_perp = e_perp . D . e_perp = D_xx sin^2 - 2 D_xy cos sin + D_yy cos^2.
/// ```
///
/// A left inverse of [`radial_to_cartesian`]: `cartesian_to_radial(e, radial_to_cartesian(e, c)) = c`.
/// What a non-isotropic field has beyond the radial form (the drift across
/// `v`, `A . e_perp`, and the off-diagonal `e_par . D . e_perp`) is dropped.
pub fn cartesian_to_radial(direction: [f64; 2], cartesian: [f64; 5]) -> RadialCoefficients {
    let [cos, sin] = direction;
    let [ax, ay, dxx, dyy, dxy] = cartesian;
    let (c2, s2, cs2) = (cos * cos, sin * sin, 2.0 * cos * sin);
    RadialCoefficients {
        a_par: ax * cos + ay * sin,
        d_par: dxx * c2 + dxy * cs2 + dyy * s2,
        d_perp: dxx * s2 - dxy * cs2 + dyy * c2,
    }
}

/// Speed `|v|` and direction of the centre of cell `(i, j)`.
///
/// A centre within round-off of the origin (`|v| <= 1e-9 min(dv_x, dv_y)`,
/// as the middle cell of an odd symmetric grid, whose centre is a few ulps
/// off zero) counts as `v = 0`, so it gets the direction convention of
/// [`radial_direction`] and `|v| = 0` exactly.
pub fn cell_speed_and_direction(grid: &VelocityGrid, i: usize, j: usize) -> (f64, [f64; 2]) {
    let (vx, vy) = (grid.vx(i), grid.vy(j));
    let v = vx.hypot(vy);
    if v <= 1e-9 * grid.dvx().min(grid.dvy()) {
        (0.0, radial_direction(0.0, 0.0))
    } else {
        (v, radial_direction(vx, vy))
    }
}

/// Fields on `grid` of radial profiles given as a function of the speed:
/// `profiles(|v|)` at every cell centre, rotated with [`radial_to_cartesian`]
/// (cell speeds and directions as in [`cell_speed_and_direction`]).
pub fn fields_from_radial_fn(
    grid: &VelocityGrid,
    mut profiles: impl FnMut(f64) -> RadialCoefficients,
) -> FpFields {
    let mut out = FpFields::zeros(*grid);
    for i in 0..grid.nx {
        for j in 0..grid.ny {
            let (v, dir) = cell_speed_and_direction(grid, i, j);
            set_cell(&mut out, i, j, radial_to_cartesian(dir, profiles(v)));
        }
    }
    out
}

/// Fields on `grid` from per-cell radial values (e.g. a learned profile
/// already interpolated to the cell speeds): three slices of `nx * ny`
/// values in row-major order (`k = i * ny + j`, as [`VelocityGrid::index`]),
/// rotated with [`radial_to_cartesian`] and the directions of
/// [`cell_speed_and_direction`].
pub fn fields_from_radial_cells(
    grid: &VelocityGrid,
    a_par: &[f64],
    d_par: &[f64],
    d_perp: &[f64],
) -> Result<FpFields, TheoryError> {
    let n = grid.len();
    for (name, s) in [("a_par", a_par), ("d_par", d_par), ("d_perp", d_perp)] {
        if s.len() != n {
            return Err(TheoryError::ShapeMismatch(format!(
                "{name} has {} values, the {} x {} grid has {n} cells",
                s.len(),
                grid.nx,
                grid.ny
            )));
        }
    }
    let mut out = FpFields::zeros(*grid);
    for i in 0..grid.nx {
        for j in 0..grid.ny {
            let k = grid.index(i, j);
            let (_, dir) = cell_speed_and_direction(grid, i, j);
            let c = RadialCoefficients { a_par: a_par[k], d_par: d_par[k], d_perp: d_perp[k] };
            set_cell(&mut out, i, j, radial_to_cartesian(dir, c));
        }
    }
    Ok(out)
}

fn set_cell(out: &mut FpFields, i: usize, j: usize, c: [f64; 5]) {
    for (field, value) in out.as_array_mut().into_iter().zip(c) {
        field[[i, j]] = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: RadialCoefficients = RadialCoefficients { a_par: -0.7, d_par: 0.3, d_perp: 1.1 };

    #[test]
    fn rotation_preserves_invariants() {
        // Trace, determinant and eigenvector e_par of D, and A parallel to v,
        // at directions all around the circle (to round-off).
        for k in 0..24 {
            let th = 0.3 + k as f64 * std::f64::consts::PI / 12.0;
            let dir = radial_direction(2.0 * th.cos(), 2.0 * th.sin());
            let [ax, ay, dxx, dyy, dxy] = radial_to_cartesian(dir, C);
            assert!((dxx + dyy - (C.d_par + C.d_perp)).abs() < 1e-15);
            assert!((dxx * dyy - dxy * dxy - C.d_par * C.d_perp).abs() < 1e-15);
            let (ex, ey) = (dir[0], dir[1]);
            assert!((dxx * ex + dxy * ey - C.d_par * ex).abs() < 1e-15);
            assert!((dxy * ex + dyy * ey - C.d_par * ey).abs() < 1e-15);
            assert!((ax - C.a_par * ex).abs() < 1e-15 && (ay - C.a_par * ey).abs() < 1e-15);
        }
    }

    #[test]
    fn cartesian_to_radial_inverts_the_rotation() {
        // Round trip radial -> Cartesian -> radial at directions all around
        // the circle and at the origin convention (to round-off).
        let dirs = (0..24)
            .map(|k| {
                let th = 0.1 + k as f64 * std::f64::consts::PI / 12.0;
                radial_direction(th.cos(), th.sin())
            })
            .chain([radial_direction(0.0, 0.0)]);
        for dir in dirs {
            let back = cartesian_to_radial(dir, radial_to_cartesian(dir, C));
            assert!((back.a_par - C.a_par).abs() < 1e-15, "{back:?}");
            assert!((back.d_par - C.d_par).abs() < 1e-15, "{back:?}");
            assert!((back.d_perp - C.d_perp).abs() < 1e-15, "{back:?}");
        }
        // Components outside the radial form are dropped: a drift across v
        // and an off-diagonal e_par.D.e_perp project to zero.
        let [cos, sin] = radial_direction(1.0, 2.0);
        let across = [-sin, cos, -2.0 * cos * sin, 2.0 * cos * sin, cos * cos - sin * sin];
        let r = cartesian_to_radial([cos, sin], across);
        assert!(r.a_par.abs() < 1e-15 && r.d_par.abs() < 1e-15 && r.d_perp.abs() < 1e-15, "{r:?}");
    }

    #[test]
    fn axes_and_diagonal() {
        let [ax, ay, dxx, dyy, dxy] = radial_to_cartesian(radial_direction(0.0, -3.0), C);
        assert!(ax.abs() < 1e-16 && (ay - 0.7).abs() < 1e-16);
        assert!((dxx - 1.1).abs() < 1e-16 && (dyy - 0.3).abs() < 1e-16 && dxy.abs() < 1e-16);
        let [_, _, _, _, dxy] = radial_to_cartesian(radial_direction(1.0, 1.0), C);
        assert!((dxy - (0.3 - 1.1) / 2.0).abs() < 1e-15);
    }

    #[test]
    fn origin_convention() {
        assert_eq!(radial_direction(0.0, 0.0), [FRAC_1_SQRT_2, FRAC_1_SQRT_2]);
        // The middle cell of the reference grid (51 bins on [-5, 5]) is at
        // the origin up to round-off: it takes the convention and |v| = 0.
        let g = VelocityGrid::square(51, 5.0).unwrap();
        assert_eq!(cell_speed_and_direction(&g, 25, 25), (0.0, [FRAC_1_SQRT_2, FRAC_1_SQRT_2]));
        // Its neighbours do not.
        let (v, dir) = cell_speed_and_direction(&g, 26, 25);
        assert!((v - g.dvx()).abs() < 1e-14 && (dir[0] - 1.0).abs() < 1e-15 && dir[1].abs() < 1e-13);
    }

    #[test]
    fn closure_and_slice_builders_agree() {
        let g = VelocityGrid::new(7, 6, [-3.0, 3.5], [-2.0, 2.0]).unwrap();
        let prof = |v: f64| RadialCoefficients { a_par: -v, d_par: 1.0 / (1.0 + v), d_perp: 2.0 + v };
        let from_fn = fields_from_radial_fn(&g, prof);
        let speeds: Vec<f64> =
            (0..g.len()).map(|k| cell_speed_and_direction(&g, k / g.ny, k % g.ny).0).collect();
        let a: Vec<f64> = speeds.iter().map(|&v| prof(v).a_par).collect();
        let dp: Vec<f64> = speeds.iter().map(|&v| prof(v).d_par).collect();
        let dq: Vec<f64> = speeds.iter().map(|&v| prof(v).d_perp).collect();
        let from_cells = fields_from_radial_cells(&g, &a, &dp, &dq).unwrap();
        assert_eq!(from_fn, from_cells);
        assert!(from_fn.validate().is_ok());
        assert!((from_fn.a_x[[1, 2]] + g.vx(1)).abs() < 1e-15, "a_par cos = -|v| v_x/|v|");
        let e = fields_from_radial_cells(&g, &a[1..], &dp, &dq).unwrap_err();
        assert!(matches!(e, TheoryError::ShapeMismatch(_)), "{e}");
    }
}
