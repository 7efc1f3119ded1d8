use ndarray::Array2;

use crate::{CoreError, VelocityGrid};

/// Names of the five Fokker-Planck coefficient fields, in storage order.
pub const FIELD_NAMES: [&str; 5] = ["A_x", "A_y", "D_xx", "D_yy", "D_xy"];

/// Fokker-Planck coefficient fields on a velocity grid, in physical units.
///
/// Kramers-Moyal convention, `i, j in {x, y}`, `D` symmetric:
///
/// ```text
/// df/dt = - d_i (A_i f) + 1/2 d_i d_j (D_ij f)
/// A_i  = <dv_i> / dt          (units v_th omega_p)
/// D_ij = <dv_i dv_j> / dt     (units v_th^2 omega_p)
/// ```
///
/// Each array has the grid's shape `(nx, ny)`, axis 0 is `v_x`.
#[derive(Debug, Clone, PartialEq)]
pub struct FpFields {
    /// The grid the fields live on.
    pub grid: VelocityGrid,
    /// Drift along `v_x`.
    pub a_x: Array2<f64>,
    /// Drift along `v_y`.
    pub a_y: Array2<f64>,
    /// Diffusion `D_xx`.
    pub d_xx: Array2<f64>,
    /// Diffusion `D_yy`.
    pub d_yy: Array2<f64>,
    /// Diffusion `D_xy = D_yx`.
    pub d_xy: Array2<f64>,
}

impl FpFields {
    /// All-zero fields on `grid`.
    pub fn zeros(grid: VelocityGrid) -> Self {
        let z = Array2::zeros(grid.shape());
        Self { grid, a_x: z.clone(), a_y: z.clone(), d_xx: z.clone(), d_yy: z.clone(), d_xy: z }
    }

    /// Fields from the values of a function `(v_x, v_y) -> [A_x, A_y, D_xx, D_yy, D_xy]`
    /// at every cell centre.
    pub fn from_fn(grid: VelocityGrid, mut f: impl FnMut(f64, f64) -> [f64; 5]) -> Self {
        let mut out = Self::zeros(grid);
        for i in 0..grid.nx {
            for j in 0..grid.ny {
                let c = f(grid.vx(i), grid.vy(j));
                out.a_x[[i, j]] = c[0];
                out.a_y[[i, j]] = c[1];
                out.d_xx[[i, j]] = c[2];
                out.d_yy[[i, j]] = c[3];
                out.d_xy[[i, j]] = c[4];
            }
        }
        out
    }

    /// The five fields in [`FIELD_NAMES`] order.
    pub fn as_array(&self) -> [&Array2<f64>; 5] {
        [&self.a_x, &self.a_y, &self.d_xx, &self.d_yy, &self.d_xy]
    }

    /// Mutable access in [`FIELD_NAMES`] order.
    pub fn as_array_mut(&mut self) -> [&mut Array2<f64>; 5] {
        [&mut self.a_x, &mut self.a_y, &mut self.d_xx, &mut self.d_yy, &mut self.d_xy]
    }

    /// Check shapes against the grid and that every value is finite.
    pub fn validate(&self) -> Result<(), CoreError> {
        for (name, a) in FIELD_NAMES.iter().zip(self.as_array()) {
            if a.dim() != self.grid.shape() {
                return Err(CoreError::ShapeMismatch(format!(
                    "field {name} has shape {:?}, grid is {:?}",
                    a.dim(),
                    self.grid.shape()
                )));
            }
            if let Some(((i, j), v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
                return Err(CoreError::NonFinite(format!("field {name} is {v} at cell ({i}, {j})")));
            }
        }
        Ok(())
    }

    /// Scale factors from physical to grid units, per field: `A_x / dv_x`,
    /// `A_y / dv_y`, `D_xx / dv_x^2`, `D_yy / dv_y^2`, `D_xy / (dv_x dv_y)`.
    pub fn grid_unit_scales(grid: &VelocityGrid) -> [f64; 5] {
        let (hx, hy) = (grid.dvx(), grid.dvy());
        [1.0 / hx, 1.0 / hy, 1.0 / (hx * hx), 1.0 / (hy * hy), 1.0 / (hx * hy)]
    }

    /// The fields in grid units, concatenated in [`FIELD_NAMES`] order
    /// (`5 * nx * ny` values, each field row-major): the parameter vector of
    /// a Fokker-Planck operator for one time slot.
    pub fn to_grid_units(&self) -> Vec<f64> {
        let s = Self::grid_unit_scales(&self.grid);
        let mut out = Vec::with_capacity(5 * self.grid.len());
        for (a, scale) in self.as_array().into_iter().zip(s) {
            out.extend(a.iter().map(|v| v * scale));
        }
        out
    }

    /// Inverse of [`FpFields::to_grid_units`].
    pub fn from_grid_units(grid: VelocityGrid, theta: &[f64]) -> Result<Self, CoreError> {
        let n = grid.len();
        if theta.len() != 5 * n {
            return Err(CoreError::ShapeMismatch(format!(
                "{} grid-unit coefficients given, {} expected for 5 fields on {} cells",
                theta.len(),
                5 * n,
                n
            )));
        }
        let s = Self::grid_unit_scales(&grid);
        let mut out = Self::zeros(grid);
        for (k, a) in out.as_array_mut().into_iter().enumerate() {
            for (dst, src) in a.iter_mut().zip(&theta[k * n..(k + 1) * n]) {
                *dst = src / s[k];
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_unit_round_trip() {
        let g = VelocityGrid::new(3, 4, [-1.0, 2.0], [0.0, 2.0]).unwrap();
        let f = FpFields::from_fn(g, |x, y| [x, y, x * x + 1.0, y * y + 2.0, x * y]);
        let t = f.to_grid_units();
        assert_eq!(t.len(), 60);
        // A_x at cell (0,0) = v_x / dv_x.
        assert!((t[0] - g.vx(0) / g.dvx()).abs() < 1e-14);
        let back = FpFields::from_grid_units(g, &t).unwrap();
        for (a, b) in back.as_array().iter().zip(f.as_array()) {
            for (x, y) in a.iter().zip(b.iter()) {
                assert!((x - y).abs() < 1e-13);
            }
        }
        assert!(FpFields::from_grid_units(g, &t[1..]).is_err());
    }

    #[test]
    fn validate_finds_nan() {
        let g = VelocityGrid::square(3, 1.0).unwrap();
        let mut f = FpFields::zeros(g);
        f.d_xy[[1, 2]] = f64::NAN;
        let e = f.validate().unwrap_err().to_string();
        assert!(e.contains("D_xy") && e.contains("(1, 2)"), "{e}");
    }
}
