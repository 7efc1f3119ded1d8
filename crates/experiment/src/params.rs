//! Operator parameters of any model, apart from the numerics they are
//! rolled out with.
//!
//! Every model, learned or not, ends as `theta`: five Fokker-Planck fields
//! (grid units) or two kernels per cell and time slot. [`OperatorParams`]
//! holds them with their grid and shape; [`OperatorParams::operator`] builds
//! the simulator operator for any [`Numerics`], so one model is evaluated
//! under other numerics without being rebuilt.

use collop_core::{FpFields, VelocityGrid};
use collop_fp::{KernelOperator, Numerics, Operator};

use crate::error::{ExperimentError, Result};
use crate::spec::OperatorShape;

/// A simulator operator that can be shared between rayon workers.
pub type BoxedOperator = Box<dyn Operator + Send + Sync>;

/// The operator parameters of a model on one grid.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorParams {
    /// The velocity grid.
    pub grid: VelocityGrid,
    /// What `theta` holds.
    pub shape: OperatorShape,
    /// Time slots (slot `s` is used at dump step `s`, the last one after).
    pub n_slots: usize,
    /// The parameters, slots concatenated.
    pub theta: Vec<f64>,
}

impl OperatorParams {
    /// Parameters `theta` of `shape` on `grid`, refused unless they are whole time slots.
    pub fn new(grid: VelocityGrid, shape: OperatorShape, theta: Vec<f64>) -> Result<Self> {
        let per = shape.per_slot(&grid);
        if theta.is_empty() || !theta.len().is_multiple_of(per) {
            return Err(ExperimentError::Data(format!(
                "{} operator parameters are not whole time slots of {per} on the {grid} grid: the model was \
                 saved for another grid",
                theta.len()
            )));
        }
        if let Some(k) = theta.iter().position(|v| !v.is_finite()) {
            return Err(ExperimentError::Data(format!("operator parameter {k} is {}", theta[k])));
        }
        Ok(Self { grid, shape, n_slots: theta.len() / per, theta })
    }

    /// No evolution (the frozen baseline): zero Fokker-Planck fields.
    pub fn frozen(grid: VelocityGrid) -> Self {
        let theta = vec![0.0; OperatorShape::FokkerPlanck.per_slot(&grid)];
        Self { grid, shape: OperatorShape::FokkerPlanck, n_slots: 1, theta }
    }

    /// Fokker-Planck fields in physical units, one per time slot, all on one grid.
    pub fn from_fields(fields: &[FpFields]) -> Result<Self> {
        let first = fields
            .first()
            .ok_or_else(|| ExperimentError::Data("no fields: give at least one time slot".into()))?;
        let mut theta = Vec::with_capacity(5 * first.grid.len() * fields.len());
        for (s, f) in fields.iter().enumerate() {
            if !f.grid.same_as(&first.grid) {
                return Err(ExperimentError::Data(format!(
                    "slot {s} is on grid {}, slot 0 on {}: every slot must share one grid",
                    f.grid, first.grid
                )));
            }
            theta.extend(f.to_grid_units());
        }
        Self::new(first.grid, OperatorShape::FokkerPlanck, theta)
    }

    /// Refuse a rollout on another grid, naming both.
    pub fn check_grid(&self, grid: &VelocityGrid, what: &str) -> Result<()> {
        if self.grid.same_as(grid) {
            Ok(())
        } else {
            Err(ExperimentError::Data(format!(
                "{what} is on the {} grid, the dataset on {grid}; build it for this dataset's grid \
                 (collop theory or collop tracks ... --grid-from DATASET)",
                self.grid
            )))
        }
    }

    /// The simulator operator of these parameters under `numerics`.
    pub fn operator(&self, numerics: &Numerics) -> Result<BoxedOperator> {
        Ok(match self.shape {
            OperatorShape::FokkerPlanck => Box::new(numerics.fokker_planck(self.grid, self.n_slots)?),
            OperatorShape::Kernel { k, difference } => {
                Box::new(KernelOperator::with_slots(self.grid, k, difference, self.n_slots)?)
            }
        })
    }

    /// The Fokker-Planck fields (physical units) of every slot; `None` for kernels.
    pub fn fields(&self) -> Option<Vec<FpFields>> {
        if self.shape != OperatorShape::FokkerPlanck {
            return None;
        }
        let per = self.shape.per_slot(&self.grid);
        self.theta.chunks_exact(per).map(|t| FpFields::from_grid_units(self.grid, t).ok()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_shapes_are_checked() {
        let g = VelocityGrid::new(5, 4, [-2.0, 2.0], [-1.0, 3.0]).unwrap();
        let f0 = FpFields::from_fn(g, |x, y| [x, y, 1.0 + x * x, 2.0, 0.1 * x * y]);
        let f1 = FpFields::from_fn(g, |x, y| [-x, y, 1.0, 2.0 + y * y, 0.0]);
        let p = OperatorParams::from_fields(&[f0.clone(), f1.clone()]).unwrap();
        assert_eq!(p.n_slots, 2);
        let back = p.fields().unwrap();
        for (a, b) in back.iter().zip([&f0, &f1]) {
            for (x, y) in a.as_array().iter().zip(b.as_array()) {
                assert!(x.iter().zip(y.iter()).all(|(u, v)| (u - v).abs() <= 1e-12 * v.abs().max(1.0)));
            }
        }
        let op = p.operator(&Numerics::evaluation()).unwrap();
        assert_eq!(op.nparams(), p.theta.len());
        assert_eq!(op.n_slots(), 2);
        let e = OperatorParams::new(g, OperatorShape::FokkerPlanck, vec![0.0; 7]).unwrap_err().to_string();
        assert!(e.contains("another grid"), "{e}");
        let other = VelocityGrid::square(5, 2.0).unwrap();
        assert!(p.check_grid(&other, "theory").unwrap_err().to_string().contains("--grid-from"));
    }
}
