//! Coefficient fields of isotropic (radial) Fokker-Planck operators: drift
//! along `v` and a diffusion tensor with eigenvectors along and across `v`.
//! The radial frame itself (a cell's direction, the projection back onto
//! it) is grid geometry and lives in `collop-core`.

use collop_core::{FpFields, RadialCoefficients, VelocityGrid};

use crate::TheoryError;

/// Cartesian coefficients `[A_x, A_y, D_xx, D_yy, D_xy]` ([`collop_core::FIELD_NAMES`]
/// order) of the radial coefficients `c` at the velocity with direction
/// `[cos, sin]` (see [`collop_core::radial_direction`]):
///
/// ```text
/// A_x = a_par cos,   A_y = a_par sin,
/// D_xx = d_par cos^2 + d_perp sin^2,   D_yy = d_par sin^2 + d_perp cos^2,
/// D_xy = (d_par - d_perp) cos sin
/// ```
///
/// (the rotation `D = R diag(d_par, d_perp) R^T`). Linear in `c`, so its
/// adjoint is the transpose of this 5 x 3 matrix;
/// [`collop_core::cartesian_to_radial`] is its left inverse.
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

/// Speed `|v|` and direction of the centre of cell `(i, j)`: now
/// [`VelocityGrid::cell_speed_and_direction`].
#[deprecated(note = "use `VelocityGrid::cell_speed_and_direction` (collop-core)")]
pub fn cell_speed_and_direction(grid: &VelocityGrid, i: usize, j: usize) -> (f64, [f64; 2]) {
    grid.cell_speed_and_direction(i, j)
}

/// Fields on `grid` of radial profiles given as a function of the speed:
/// `profiles(|v|)` at every cell centre, rotated with [`radial_to_cartesian`]
/// (cell speeds and directions as in
/// [`VelocityGrid::cell_speed_and_direction`]).
pub fn fields_from_radial_fn(
    grid: &VelocityGrid,
    mut profiles: impl FnMut(f64) -> RadialCoefficients,
) -> FpFields {
    let mut out = FpFields::zeros(*grid);
    for i in 0..grid.nx {
        for j in 0..grid.ny {
            let (v, dir) = grid.cell_speed_and_direction(i, j);
            set_cell(&mut out, i, j, radial_to_cartesian(dir, profiles(v)));
        }
    }
    out
}

/// Fields on `grid` from per-cell radial values (e.g. a learned profile
/// already interpolated to the cell speeds): three slices of `nx * ny`
/// values in row-major order (`k = i * ny + j`, as [`VelocityGrid::index`]),
/// rotated with [`radial_to_cartesian`] and the directions of
/// [`VelocityGrid::cell_speed_and_direction`].
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
            let (_, dir) = grid.cell_speed_and_direction(i, j);
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
    use collop_core::{cartesian_to_radial, radial_direction};

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
    fn closure_and_slice_builders_agree() {
        let g = VelocityGrid::new(7, 6, [-3.0, 3.5], [-2.0, 2.0]).unwrap();
        let prof = |v: f64| RadialCoefficients { a_par: -v, d_par: 1.0 / (1.0 + v), d_perp: 2.0 + v };
        let from_fn = fields_from_radial_fn(&g, prof);
        let speeds: Vec<f64> =
            (0..g.len()).map(|k| g.cell_speed_and_direction(k / g.ny, k % g.ny).0).collect();
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
