//! The radial frame of a velocity: the direction of `v`, and the drift and
//! diffusion seen along and across it.

use std::f64::consts::FRAC_1_SQRT_2;

use crate::{FpFields, VelocityGrid};

/// Drift and diffusion at one velocity in the frame
/// `(e_par, e_perp) = (v / |v|, z x v / |v|)`:
///
/// ```text
/// A = a_par e_par,      D = d_par e_par e_par + d_perp e_perp e_perp
/// ```
///
/// for an isotropic operator exactly, and the projections
/// ([`cartesian_to_radial`]) for any other. Units as in [`FpFields`]:
/// `a_par` in `v_th omega_p`, the `d` in `v_th^2 omega_p` (Kramers-Moyal
/// convention, `df/dt = -d_i (A_i f) + 1/2 d_i d_j (D_ij f)`). `a_par < 0`
/// is drag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadialCoefficients {
    /// Drift along `v`.
    pub a_par: f64,
    /// Diffusion along `v`.
    pub d_par: f64,
    /// Diffusion across `v`.
    pub d_perp: f64,
}

impl RadialCoefficients {
    /// `[a_par, d_par, d_perp]`.
    pub fn to_array(self) -> [f64; 3] {
        [self.a_par, self.d_par, self.d_perp]
    }
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

/// Radial coefficients seen along `direction = [cos, sin]` (a unit vector,
/// see [`radial_direction`]) in the Cartesian coefficients
/// `[A_x, A_y, D_xx, D_yy, D_xy]` ([`crate::FIELD_NAMES`] order): the
/// projections onto `e_par = (cos, sin)` and `e_perp = (-sin, cos)`,
///
/// ```text
/// a_par  = A . e_par         = A_x cos + A_y sin,
/// d_par  = e_par . D . e_par  = D_xx cos^2 + 2 D_xy cos sin + D_yy sin^2,
/// d_perp = e_perp . D . e_perp = D_xx sin^2 - 2 D_xy cos sin + D_yy cos^2.
/// ```
///
/// A left inverse of the rotation `D = R diag(d_par, d_perp) R^T`
/// (`collop_theory::radial_to_cartesian`). What a non-isotropic field has
/// beyond the radial form (the drift across `v`, `A . e_perp`, and the
/// off-diagonal `e_par . D . e_perp`) is dropped.
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

impl VelocityGrid {
    /// Speed `|v|` and direction ([`radial_direction`]) of the centre of
    /// cell `(i, j)`.
    ///
    /// A centre within round-off of the origin (`|v| <= 1e-9 min(dv_x, dv_y)`,
    /// as the middle cell of an odd symmetric grid, whose centre is a few ulps
    /// off zero) counts as `v = 0`, so it gets the direction convention of
    /// [`radial_direction`] and `|v| = 0` exactly.
    pub fn cell_speed_and_direction(&self, i: usize, j: usize) -> (f64, [f64; 2]) {
        let (vx, vy) = (self.vx(i), self.vy(j));
        let v = vx.hypot(vy);
        if v <= 1e-9 * self.dvx().min(self.dvy()) {
            (0.0, radial_direction(0.0, 0.0))
        } else {
            (v, radial_direction(vx, vy))
        }
    }

    /// The largest cell-centre speed ([`VelocityGrid::cell_speed_and_direction`])
    /// over the grid (below [`VelocityGrid::corner_speed`] by half a cell's
    /// diagonal on a grid symmetric about 0).
    pub fn max_cell_speed(&self) -> f64 {
        (0..self.nx)
            .flat_map(|i| (0..self.ny).map(move |j| (i, j)))
            .fold(0.0_f64, |m, (i, j)| m.max(self.cell_speed_and_direction(i, j).0))
    }
}

impl FpFields {
    /// `[A_x, A_y, D_xx, D_yy, D_xy]` at cell `(i, j)`.
    ///
    /// Panics when `(i, j)` lies outside a field's shape, as indexing does
    /// (fields that passed [`FpFields::validate`] have the grid's shape).
    pub fn at(&self, i: usize, j: usize) -> [f64; 5] {
        self.as_array().map(|a| a[[i, j]])
    }

    /// The radial coefficients of cell `(i, j)`: its five fields projected
    /// with [`cartesian_to_radial`] onto the direction of its centre
    /// ([`VelocityGrid::cell_speed_and_direction`]).
    ///
    /// Panics as [`FpFields::at`].
    pub fn radial_at(&self, i: usize, j: usize) -> RadialCoefficients {
        let (_, direction) = self.grid.cell_speed_and_direction(i, j);
        cartesian_to_radial(direction, self.at(i, j))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_convention() {
        assert_eq!(radial_direction(0.0, 0.0), [FRAC_1_SQRT_2, FRAC_1_SQRT_2]);
        // The middle cell of the reference grid (51 bins on [-5, 5]) is at
        // the origin up to round-off: it takes the convention and |v| = 0.
        let g = VelocityGrid::square(51, 5.0).unwrap();
        assert_eq!(g.cell_speed_and_direction(25, 25), (0.0, [FRAC_1_SQRT_2, FRAC_1_SQRT_2]));
        // Its neighbours do not (direction (1, 0) up to the ~1e-15 offset of
        // v_y(25) from zero, over dv).
        let (v, dir) = g.cell_speed_and_direction(26, 25);
        assert!((v - g.dvx()).abs() < 1e-14 && (dir[0] - 1.0).abs() < 1e-15 && dir[1].abs() < 1e-13);
    }

    #[test]
    fn max_cell_speed_is_the_corner_cell() {
        // Cells of width 1 on [-2, 2] x [-1, 2]: farthest centres (+-1.5, 1.5).
        let g = VelocityGrid::new(4, 3, [-2.0, 2.0], [-1.0, 2.0]).unwrap();
        assert_eq!(g.max_cell_speed(), 1.5f64.hypot(1.5));
        assert!(g.max_cell_speed() < g.corner_speed());
        // One cell at the origin: speed 0.
        assert_eq!(VelocityGrid::square(1, 1.0).unwrap().max_cell_speed(), 0.0);
    }

    #[test]
    fn projection_of_known_tensors() {
        // Along (3, 4) / 5: A = (1, 2) gives 3/5 + 8/5 = 11/5; D = [[2, 1],
        // [1, 3]] gives e.D.e = (2*9 + 2*12 + 3*16) / 25 = 90/25 and, across
        // (-4, 3) / 5, (2*16 - 2*12 + 3*9) / 25 = 35/25 (trace 5 kept).
        // Each to a few ulps of the O(1) values.
        let r = cartesian_to_radial(radial_direction(3.0, 4.0), [1.0, 2.0, 2.0, 3.0, 1.0]);
        assert!((r.a_par - 2.2).abs() < 1e-15, "{r:?}");
        assert!((r.d_par - 3.6).abs() < 1e-15, "{r:?}");
        assert!((r.d_perp - 1.4).abs() < 1e-15, "{r:?}");
        assert_eq!(r.to_array(), [r.a_par, r.d_par, r.d_perp]);
    }

    #[test]
    fn radial_at_projects_the_cell_centre() {
        // A = -v projects to a_par = -|v| at every cell; an isotropic
        // D = 2 I to d_par = d_perp = 2 (to round-off of the direction).
        let g = VelocityGrid::new(5, 4, [-2.5, 2.5], [-1.0, 3.0]).unwrap();
        let f = FpFields::from_fn(g, |x, y| [-x, -y, 2.0, 2.0, 0.0]);
        for i in 0..g.nx {
            for j in 0..g.ny {
                let (v, _) = g.cell_speed_and_direction(i, j);
                let r = f.radial_at(i, j);
                assert!((r.a_par + v).abs() < 1e-14, "({i}, {j}): {r:?}");
                assert!((r.d_par - 2.0).abs() < 1e-14 && (r.d_perp - 2.0).abs() < 1e-14, "{r:?}");
                assert_eq!(f.at(i, j), [-g.vx(i), -g.vy(j), 2.0, 2.0, 0.0]);
            }
        }
    }
}
