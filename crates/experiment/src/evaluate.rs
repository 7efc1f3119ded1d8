//! Evaluation of any model: a rollout from a dataset's first frame under
//! one [`Numerics`], scored against every later frame.
//!
//! Every score names its window (the dump steps it averages over), a
//! diverged rollout is a result that says so (the rest of a table is still
//! scored), and the model's operator parameters are computed once and
//! rolled out under any numerics.

use std::fmt;
use std::path::Path;

use collop_fp::{FpError, FrameErrors, Numerics, RolloutErrors, Simulator, StabilityEstimate, Substeps};
use ndarray::{Array4, s};

use crate::conditioning::Extrapolation;
use crate::dataset::Dataset;
use crate::error::{ExperimentError, Result};
use crate::fields_model::FieldsModel;
use crate::params::OperatorParams;
use crate::trained::TrainedRun;

/// Any model collop can roll out.
#[derive(Debug, Clone)]
pub enum AnyModel {
    /// A trained run.
    Trained(Box<TrainedRun>),
    /// A fixed-fields model (theory, tracks, given fields).
    Fields(FieldsModel),
    /// No evolution: the frozen baseline.
    Frozen,
}

impl AnyModel {
    /// `frozen`, or a directory holding a fields model or a trained run.
    pub fn open(spec: &str) -> Result<Self> {
        if spec == "frozen" {
            return Ok(AnyModel::Frozen);
        }
        let dir = Path::new(spec);
        if FieldsModel::is_fields_dir(dir) {
            Ok(AnyModel::Fields(FieldsModel::load(dir)?))
        } else if TrainedRun::is_run_dir(dir) {
            Ok(AnyModel::Trained(Box::new(TrainedRun::load(dir)?)))
        } else {
            Err(ExperimentError::artefact(
                dir,
                "not `frozen`, a run directory written by `collop train`, or a fields directory written by \
                 `collop theory` or `collop tracks`",
            ))
        }
    }

    /// The sub-steps per dump a trained model was fitted with (`None` for
    /// models that were not fitted to rollouts).
    pub fn fitted_substeps(&self) -> Option<Substeps> {
        match self {
            AnyModel::Trained(r) => Some(r.config.numerics.substeps),
            _ => None,
        }
    }

    /// The evaluation options that say how the model was fitted.
    pub fn eval_options(&self, steps: Option<usize>, keep_frames: bool) -> EvalOptions {
        EvalOptions { steps, keep_frames, fitted_substeps: self.fitted_substeps() }
    }

    /// What the model is, in a few words.
    pub fn describe(&self) -> String {
        match self {
            AnyModel::Trained(r) => format!("trained run {}", r.dir.display()),
            AnyModel::Fields(f) => format!("fields ({})", f.meta.source.name()),
            AnyModel::Frozen => "frozen".into(),
        }
    }

    /// The operator parameters on dataset `ds`, with notes on extrapolated
    /// conditioners (trained networks only).
    pub fn params_for(&self, ds: &Dataset, policy: Extrapolation) -> Result<(OperatorParams, Vec<String>)> {
        match self {
            AnyModel::Trained(r) => r.params_for(ds, policy),
            AnyModel::Fields(f) => {
                let p = f.params()?;
                p.check_grid(&ds.series.grid, &format!("the {} model", f.meta.source.name()))?;
                Ok((p, Vec::new()))
            }
            AnyModel::Frozen => Ok((OperatorParams::frozen(ds.series.grid), Vec::new())),
        }
    }

    /// The numerics the model is evaluated with unless told otherwise: a
    /// trained run's `[evaluation]`, the reference evaluation settings else.
    pub fn evaluation_numerics(&self) -> Numerics {
        match self {
            AnyModel::Trained(r) => r.config.evaluation,
            _ => Numerics::evaluation(),
        }
    }

    /// Roll the model out on `ds` under `numerics`: its operator parameters
    /// there ([`AnyModel::params_for`]) and their [`evaluate`]-ion over the
    /// first `steps` dump steps (all when `None`), with the extrapolation
    /// notes first among the warnings.
    pub fn evaluate_on(
        &self,
        ds: &Dataset,
        numerics: &Numerics,
        policy: Extrapolation,
        steps: Option<usize>,
        keep_frames: bool,
    ) -> Result<(OperatorParams, Evaluation)> {
        let (params, mut notes) = self.params_for(ds, policy)?;
        let mut e = evaluate(&params, ds, numerics, self.eval_options(steps, keep_frames))?;
        notes.append(&mut e.warnings);
        e.warnings = notes;
        Ok((params, e))
    }
}

/// The dump steps an average covers: `1..=last` (1-based, after the first frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepWindow {
    /// Last dump step included.
    pub last: usize,
    /// Dump steps of the dataset.
    pub of: usize,
}

impl fmt::Display for StepWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.last == self.of {
            write!(f, "steps 1-{} (all)", self.last)
        } else {
            write!(f, "steps 1-{} of {}", self.last, self.of)
        }
    }
}

/// The outcome of one rollout.
#[derive(Debug, Clone)]
pub enum Score {
    /// Scored: the errors per step and their mean over the window.
    Scored {
        /// Errors at each step of the window.
        errors: RolloutErrors,
        /// The window of `errors.mean`.
        window: StepWindow,
    },
    /// The rollout diverged at this dump step (1-based).
    Diverged {
        /// Dump step.
        step: usize,
        /// Dump steps rolled out.
        of: usize,
    },
}

impl Score {
    /// The mean errors, when scored.
    pub fn mean(&self) -> Option<&FrameErrors> {
        match self {
            Score::Scored { errors, .. } => Some(&errors.mean),
            Score::Diverged { .. } => None,
        }
    }

    /// The mean absolute error, or what happened instead.
    pub fn mae_text(&self) -> String {
        match self {
            Score::Scored { errors, .. } => format!("{:.4e}", errors.mean.mae),
            Score::Diverged { step, .. } => format!("diverged at step {step}"),
        }
    }
}

/// One model rolled out on one dataset.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The score.
    pub score: Score,
    /// Sub-steps taken per dump.
    pub substeps: Vec<usize>,
    /// Stability warnings of the rollout, and extrapolation notes.
    pub warnings: Vec<String>,
    /// The operator, described.
    pub operator: String,
    /// The predicted frames `(steps + 1, 1, nx, ny)`, when kept.
    pub frames: Option<Array4<f64>>,
}

/// Options of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EvalOptions {
    /// Roll out and average over the first `n` dump steps (all when `None`).
    pub steps: Option<usize>,
    /// Keep the predicted frames.
    pub keep_frames: bool,
    /// The sub-steps per dump the model was fitted with, for trained models
    /// ([`AnyModel::fitted_substeps`]): evaluated with the same sub-steps,
    /// a step above the explicit stability estimate is explained rather
    /// than met with advice to take more sub-steps, which would change the
    /// operator that was fitted.
    pub fitted_substeps: Option<Substeps>,
}

/// Roll `params` out from the first frame of `ds` under `numerics` and
/// score it against the following frames. A diverged rollout is a
/// [`Score::Diverged`], not an error; an unusable model or dataset is.
pub fn evaluate(
    params: &OperatorParams,
    ds: &Dataset,
    numerics: &Numerics,
    opts: EvalOptions,
) -> Result<Evaluation> {
    let series = &ds.series;
    let total = ds.steps();
    if total == 0 {
        return Err(ExperimentError::Data(format!(
            "{}: a rollout needs at least two frames, the dataset has one",
            ds.name
        )));
    }
    let n = match opts.steps {
        None => total,
        Some(0) => return Err(ExperimentError::Data("--steps 0: score at least one dump step".into())),
        Some(n) if n > total => {
            return Err(ExperimentError::Data(format!(
                "--steps {n}: {} has {total} dump steps after its first frame; use at most {total}",
                ds.name
            )));
        }
        Some(n) => n,
    };
    params.check_grid(&series.grid, "the model")?;
    numerics.validate()?;
    let op = params.operator(numerics)?;
    let sim = Simulator::new(op.as_ref(), numerics.rollout());
    let f0 = series.frames.slice(s![0..1, .., ..]);
    let out = match sim.rollout(&params.theta, series.dt, f0, 0, n) {
        Ok(out) => out,
        Err(FpError::Diverged { step, n_steps }) => {
            return Ok(Evaluation {
                score: Score::Diverged { step, of: n_steps },
                substeps: Vec::new(),
                warnings: Vec::new(),
                operator: op.describe(),
                frames: None,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let per_step =
        (1..=n).map(|k| FrameErrors::between(out.frames.slice(s![k, 0, .., ..]), series.frame(k))).collect();
    let errors = RolloutErrors::from_steps(per_step);
    let warnings = match (opts.fitted_substeps, numerics.substeps) {
        (Some(Substeps::Fixed(fitted)), Substeps::Fixed(m)) if fitted == m && !out.warnings.is_empty() => {
            fitted_step_notes(op.as_ref(), params, ds, m)
        }
        _ => out.warnings,
    };
    Ok(Evaluation {
        score: Score::Scored { errors, window: StepWindow { last: n, of: total } },
        substeps: out.substeps,
        warnings,
        operator: op.describe(),
        frames: opts.keep_frames.then_some(out.frames),
    })
}

/// Cells a dataset populates: at least 1e-3 of its largest value in some frame.
fn populated_cells(ds: &Dataset) -> Vec<bool> {
    let f = &ds.series.frames;
    let peak = f.iter().fold(0.0_f64, |m, &v| m.max(v));
    let mut keep = vec![false; ds.series.grid.len()];
    for frame in f.outer_iter() {
        for (k, &v) in keep.iter_mut().zip(frame.iter()) {
            *k |= peak > 0.0 && v >= 1e-3 * peak;
        }
    }
    keep
}

/// Notes on a fixed step above the explicit stability estimate, for a model
/// fitted with `m` sub-steps per dump and evaluated with the same.
///
/// The estimate is a sufficient condition over every row of the operator.
/// A learned free tensor has arbitrary values in cells its data never
/// reach, where `f` stays zero (clamped), so there the estimate says
/// nothing about the rollout; and where the data are, the fitted
/// parameters already absorb the error of the step they were fitted with,
/// so more sub-steps change the operator rather than its accuracy. A
/// rollout that really grows is reported as diverged.
fn fitted_step_notes(
    op: &dyn collop_fp::Operator,
    params: &OperatorParams,
    ds: &Dataset,
    m: usize,
) -> Vec<String> {
    let keep = populated_cells(ds);
    let dt_sub = ds.series.dt / m as f64;
    let grid = ds.series.grid;
    let mut c = vec![0.0; op.pattern().nnz()];
    let mut notes = Vec::new();
    for slot in 0..params.n_slots {
        op.assemble(&params.theta, slot, &mut c);
        let all = StabilityEstimate::of(op.pattern(), &c);
        if dt_sub <= all.dt_max && all.undamped_rows == 0 {
            continue;
        }
        let data = StabilityEstimate::of_rows(op.pattern(), &c, |r| keep[r]);
        let at = if params.n_slots > 1 { format!("slot {slot}: ") } else { String::new() };
        if dt_sub <= data.dt_max && data.undamped_rows == 0 {
            notes.push(format!(
                "{at}the step ({dt_sub:.3e} per sub-step) is above the explicit stability estimate only in cells the data never \
                 populate ({}); the distribution stays at zero there, so no more sub-steps are needed",
                all.cause(&grid)
            ));
        } else {
            let what = if dt_sub > data.dt_max { "above" } else { "within" };
            notes.push(format!(
                "{at}the step ({dt_sub:.3e} per sub-step) is {what} the explicit stability estimate {:.3e} in cells the \
                 data populate ({}); the model was fitted with {m} sub-step(s) per dump and its parameters absorb that \
                 step, so more sub-steps change the fitted operator and need not improve the rollout (a rollout that \
                 grows without bound is reported as diverged)",
                data.dt_max,
                data.cause(&grid)
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use collop_core::{FpFields, PhaseSpaceSeries, VelocityGrid};
    use ndarray::Array3;

    fn dataset(grid: VelocityGrid, frames: usize) -> Dataset {
        let f0 = collop_theory::BiMaxwellian::isotropic(1.0, [0.5, 0.0], 0.5)
            .unwrap()
            .on_grid_normalised(&grid, collop_theory::Sampling::CellCentre)
            .unwrap();
        let mut a = Array3::zeros((frames, grid.nx, grid.ny));
        for k in 0..frames {
            a.index_axis_mut(ndarray::Axis(0), k).assign(&f0);
        }
        let series = PhaseSpaceSeries::new(grid, a, 1.0, 0, 0.0).unwrap();
        Dataset {
            name: "test".into(),
            folder: "test".into(),
            meta: collop_io::DatasetMeta::for_series(&series),
            series,
        }
    }

    /// The frozen model scores zero on a stationary series; the window is
    /// named; a large diffusion diverges and is reported as such.
    #[test]
    fn windows_and_divergence() {
        let grid = VelocityGrid::square(15, 3.0).unwrap();
        let ds = dataset(grid, 6);
        let e = evaluate(&OperatorParams::frozen(grid), &ds, &Numerics::evaluation(), EvalOptions::default())
            .unwrap();
        assert_eq!(e.score.mean().unwrap().mae, 0.0);
        let Score::Scored { window, .. } = e.score else { panic!("scored") };
        assert_eq!(window.to_string(), "steps 1-5 (all)");
        let opts = EvalOptions { steps: Some(3), keep_frames: true, fitted_substeps: None };
        let e = evaluate(&OperatorParams::frozen(grid), &ds, &Numerics::evaluation(), opts).unwrap();
        assert_eq!(e.frames.unwrap().dim().0, 4);
        assert!(matches!(e.score, Score::Scored { window: StepWindow { last: 3, of: 5 }, .. }));
        assert!(
            evaluate(
                &OperatorParams::frozen(grid),
                &ds,
                &Numerics::evaluation(),
                EvalOptions { steps: Some(9), ..EvalOptions::default() }
            )
            .is_err()
        );
        // D = 50 v_th^2 omega_p on cells of 0.4 v_th is far above the explicit limit.
        let hot = FpFields::from_fn(grid, |_, _| [0.0, 0.0, 50.0, 50.0, 0.0]);
        let p = OperatorParams::from_fields(&[hot]).unwrap();
        let e = evaluate(&p, &ds, &Numerics::evaluation(), EvalOptions::default()).unwrap();
        assert!(matches!(e.score, Score::Diverged { .. }), "{:?}", e.score);
        assert!(e.score.mae_text().starts_with("diverged at step"));
    }

    /// A fitted model whose step is above the explicit stability estimate
    /// only where the data never go is told so, not advised to take more
    /// sub-steps; an unfitted one gets the estimate's advice.
    #[test]
    fn stability_notes_of_fitted_models() {
        let grid = VelocityGrid::square(15, 3.0).unwrap();
        let ds = dataset(grid, 4);
        // Mild diffusion everywhere; a strong drift in a corner cell the
        // blob at (0.5, 0) never reaches (its values there are ~1e-9 of the peak).
        let f = FpFields::from_fn(grid, |x, y| {
            let a = if x < -2.5 && y < -2.5 { 40.0 } else { 0.0 };
            [a, 0.0, 0.02, 0.02, 0.0]
        });
        let p = OperatorParams::from_fields(&[f]).unwrap();
        let plain = evaluate(&p, &ds, &Numerics::evaluation(), EvalOptions::default()).unwrap();
        assert!(plain.warnings.iter().any(|w| w.contains("use at least")), "{:?}", plain.warnings);
        let fitted = EvalOptions { fitted_substeps: Some(Substeps::Fixed(1)), ..EvalOptions::default() };
        let e = evaluate(&p, &ds, &Numerics::evaluation(), fitted).unwrap();
        assert_eq!(e.warnings.len(), 1, "{:?}", e.warnings);
        assert!(
            e.warnings[0].contains("never populate") && !e.warnings[0].contains("use at least"),
            "{:?}",
            e.warnings
        );
        // The same rollout either way: only the message differs.
        assert_eq!(e.score.mean(), plain.score.mean());
    }
}
