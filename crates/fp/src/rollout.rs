//! Autoregressive rollouts and their exact reverse-mode gradients.
//!
//! A rollout advances a batch of distributions over `n_steps` diagnostic
//! dumps of spacing `dt`. Dump step `s` is made of `m_s` explicit Euler
//! sub-steps with the operator of slot `slot(first_step + s)`:
//!
//! ```text
//! g = (I + dt/m_s C) f,     f <- max(g, 0)  (the clamp, on by default as in the reference)
//! ```
//!
//! The gradient of a rollout loss is the discrete adjoint of exactly these
//! operations, exact to round-off: `lambda <- (I + dt/m C)^T (mask * lambda)`
//! with `mask = [g >= 0]` (the derivative convention of `torch.clamp`),
//! and `dC += dt/m (mask * lambda) f^T` on the sparsity pattern, mapped to
//! the parameters by [`Operator::assemble_vjp`].

use ndarray::{Array3, Array4, ArrayView3, ArrayView4, Axis};
use rayon::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::FpError;
use crate::batch::{BatchState, gather_chunk, scatter_chunk};
use crate::operator::{Operator, StabilityEstimate};
use crate::stencil::LinearAssembly;
use crate::stencil::{
    BackwardArgs, ForwardArgs, OneStepArgs, add_loss_gradient, backward, forward, one_step,
};

/// How many explicit sub-steps make one dump step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Substeps {
    /// Exactly this many (the reference uses 1).
    Fixed(usize),
    /// The fewest that keep every sub-step below `safety` times the
    /// estimated stability limit, at most `max`.
    Auto {
        /// Fraction of the stability limit used (0 < safety <= 1).
        safety: f64,
        /// Refuse to take more sub-steps than this per dump.
        max: usize,
    },
}

/// What to do when a fixed sub-step exceeds the stability estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StabilityPolicy {
    /// Do not check.
    Ignore,
    /// Record a warning in the output (the rollout goes on).
    Warn,
    /// Refuse with [`FpError::Unstable`].
    Error,
}

/// Settings of a rollout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RolloutConfig {
    /// Sub-steps per dump.
    pub substeps: Substeps,
    /// Clamp `f >= 0` after every sub-step.
    pub clamp_f: bool,
    /// Reaction to an unstable fixed step.
    pub stability: StabilityPolicy,
}

impl RolloutConfig {
    /// The reference's settings: one step per dump, clamp on, warn if unstable.
    pub fn reference() -> Self {
        Self { substeps: Substeps::Fixed(1), clamp_f: true, stability: StabilityPolicy::Warn }
    }

    /// Automatic sub-stepping at 90 % of the stability limit, clamp on.
    pub fn automatic() -> Self {
        Self {
            substeps: Substeps::Auto { safety: 0.9, max: 100_000 },
            clamp_f: true,
            stability: StabilityPolicy::Error,
        }
    }
}

/// Error norm of a rollout loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// Mean absolute error.
    Mae,
    /// Mean squared error.
    Mse,
}

/// Which unrolled steps enter a rollout loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Accumulation {
    /// Mean over all unrolled steps.
    AllSteps,
    /// The last step only.
    LastStep,
}

/// A rollout loss: `L = mean over included steps s of mean_{b, cells} err(f_s - f_s^target)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loss {
    /// MAE or MSE.
    pub kind: LossKind,
    /// All steps or the last.
    pub accumulation: Accumulation,
}

/// A training window: an initial batch, the frames that should follow it,
/// and the dump step of the initial frame (which selects operator slots).
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    /// Initial distributions `(B, nx, ny)`.
    pub f0: ArrayView3<'a, f64>,
    /// Target frames after each dump step, `(n_steps, B, nx, ny)`.
    pub targets: ArrayView4<'a, f64>,
    /// Dump step of `f0`, counted from the first frame of the dataset.
    pub first_step: usize,
}

/// The outcome of a forward rollout.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// Frames `(n_steps + 1, B, nx, ny)`; index 0 is the initial state.
    pub frames: Array4<f64>,
    /// Sub-steps taken in each dump step.
    pub substeps: Vec<usize>,
    /// Stability warnings.
    pub warnings: Vec<String>,
}

/// The outcome of a gradient evaluation.
#[derive(Debug, Clone)]
pub struct Gradient {
    /// Loss value.
    pub loss: f64,
    /// `d loss / d theta`.
    pub dtheta: Vec<f64>,
    /// `d loss / d f0`, shape `(B, nx, ny)`, if asked for.
    pub df0: Option<Array3<f64>>,
    /// Stability warnings.
    pub warnings: Vec<String>,
}

/// The matrix of one operator slot, ready to step with.
#[derive(Debug, Clone)]
struct SlotMatrix {
    slot: usize,
    /// Entries of `I + dt_sub C`.
    m: Vec<f64>,
    substeps: usize,
    dt_sub: f64,
}

impl SlotMatrix {
    /// `I + dt_sub C` of `slot`, with its sub-steps; warnings go to
    /// `warnings`. `check_finite`: refuse non-finite coefficients (when
    /// `theta` was not scanned as a whole).
    fn build(
        op: &dyn Operator,
        theta: &[f64],
        dt: f64,
        slot: usize,
        cfg: &RolloutConfig,
        check_finite: bool,
        warnings: &mut Vec<String>,
    ) -> Result<Self, FpError> {
        let mut c = vec![0.0; op.pattern().nnz()];
        op.assemble(theta, slot, &mut c);
        Self::from_entries(op, c, dt, slot, cfg, check_finite, warnings)
    }

    /// As [`SlotMatrix::build`], from the entries `c` of `C` (its
    /// allocation becomes that of `I + dt_sub C`).
    fn from_entries(
        op: &dyn Operator,
        mut c: Vec<f64>,
        dt: f64,
        slot: usize,
        cfg: &RolloutConfig,
        check_finite: bool,
        warnings: &mut Vec<String>,
    ) -> Result<Self, FpError> {
        let pattern = op.pattern();
        if check_finite && let Some(v) = c.iter().find(|v| !v.is_finite()) {
            return Err(FpError::NonFinite(format!(
                "operator coefficient {v} in time slot {slot}: a parameter of that slot is not finite"
            )));
        }
        // Fixed sub-steps with stability ignored need no estimate (a
        // training loop's case: the estimate costs a pass over the
        // matrix per window and slot).
        let needs_estimate =
            !(matches!(cfg.substeps, Substeps::Fixed(_)) && cfg.stability == StabilityPolicy::Ignore);
        let est = if needs_estimate {
            StabilityEstimate::of(pattern, &c)
        } else {
            // Never read: every use below is under a stability policy
            // other than `Ignore` or under automatic sub-steps.
            StabilityEstimate {
                dt_max: f64::INFINITY,
                limiting_row: 0,
                advection_limited: false,
                undamped_rows: 0,
            }
        };
        let substeps = match cfg.substeps {
            Substeps::Fixed(0) => {
                return Err(FpError::Invalid("sub-steps per dump must be at least 1".into()));
            }
            Substeps::Fixed(m) => {
                let dt_sub = dt / m as f64;
                if dt_sub > est.dt_max && cfg.stability != StabilityPolicy::Ignore {
                    let needed = (dt / est.dt_max).ceil() as usize;
                    let err =
                        FpError::Unstable { dt_sub, dt_max: est.dt_max, needed, cause: est.cause(op.grid()) };
                    if cfg.stability == StabilityPolicy::Error {
                        return Err(err);
                    }
                    warnings.push(format!("slot {slot}: {err}"));
                }
                m
            }
            Substeps::Auto { safety, max } => {
                if !(safety > 0.0 && safety <= 1.0) {
                    return Err(FpError::Invalid(format!(
                        "sub-step safety factor {safety} must be in (0, 1]"
                    )));
                }
                let m =
                    if est.dt_max.is_finite() { (dt / (safety * est.dt_max)).ceil().max(1.0) } else { 1.0 };
                if m > max as f64 {
                    return Err(FpError::Unstable {
                        dt_sub: dt / max as f64,
                        dt_max: est.dt_max,
                        needed: m as usize,
                        cause: format!(
                            "{}; more than the allowed {max} sub-steps per dump",
                            est.cause(op.grid())
                        ),
                    });
                }
                m as usize
            }
        };
        if est.undamped_rows > 0 && cfg.stability != StabilityPolicy::Ignore {
            warnings.push(format!(
                "slot {slot}: {} cells have zero, negative or negligible diffusion; centred differences are not \
                 stabilised there by any time step",
                est.undamped_rows
            ));
        }
        let dt_sub = dt / substeps as f64;
        c.iter_mut().for_each(|v| *v *= dt_sub);
        for r in 0..pattern.n() {
            c[pattern.diag(r)] += 1.0;
        }
        Ok(Self { slot, m: c, substeps, dt_sub })
    }
}

/// The length of a gradient `dtheta` against the operator's parameters.
fn check_gradient_length(op: &dyn Operator, dtheta: &[f64]) -> Result<(), FpError> {
    if dtheta.len() != op.nparams() {
        return Err(FpError::Shape(format!(
            "gradient of length {} for an operator of {} parameters",
            dtheta.len(),
            op.nparams()
        )));
    }
    Ok(())
}

fn check_dt(dt: f64) -> Result<(), FpError> {
    if !(dt.is_finite() && dt > 0.0) {
        return Err(FpError::Invalid(format!("time between dumps dt = {dt} must be finite and > 0")));
    }
    Ok(())
}

/// Parameters given as time nodes: slot `s` of the operator has the
/// parameter block `sum_k w theta_node(k)` over the (at most two) pairs
/// `(k, w)` of `weights[s]` (linear interpolation in time between nodes).
/// For an operator with a [`Operator::linear_assembly`], slot `s`'s matrix
/// is then the same blend of the nodes' matrices: a [`GradientSum::blended`]
/// assembles each node once instead of each slot, and returns the gradient
/// with respect to the nodes (the interpolation's transpose applied to
/// the slots' gradients).
#[derive(Debug, Clone, Copy)]
pub struct NodeBlend<'a> {
    /// The nodes' parameter blocks one after the other (`n_nodes` blocks of
    /// the assembly's [`crate::stencil::LinearAssembly::nparams`]).
    pub nodes: &'a [f64],
    /// Per slot of the operator, the nodes it blends and their weights.
    pub weights: &'a [[(usize, f64); 2]],
}

/// Where a [`SlotCache`] takes each slot's entries from.
enum SlotSource<'a> {
    /// The operator's parameters, every slot.
    Theta(&'a [f64]),
    /// Blends of the nodes' matrices (assembled on first use).
    Nodes { blend: NodeBlend<'a>, assembly: &'a LinearAssembly, node_entries: Vec<Option<Vec<f64>>> },
}

/// The slot matrices of one `theta` (or node blend) and `dt`, built on
/// first use and shared by every window of a [`GradientSum`].
struct SlotCache<'a> {
    op: &'a dyn Operator,
    /// Where entry buffers come from.
    sim: &'a Simulator<'a>,
    source: SlotSource<'a>,
    dt: f64,
    cfg: RolloutConfig,
    matrices: Vec<Option<Arc<SlotMatrix>>>,
    warnings: Vec<String>,
}

impl SlotCache<'_> {
    fn get(&mut self, slot: usize) -> Result<Arc<SlotMatrix>, FpError> {
        if let Some(m) = &self.matrices[slot] {
            return Ok(Arc::clone(m));
        }
        let m = match &mut self.source {
            SlotSource::Theta(theta) => {
                // `assemble` overwrites every entry.
                let mut c = self.sim.scratch_buffer();
                self.op.assemble(theta, slot, &mut c);
                SlotMatrix::from_entries(self.op, c, self.dt, slot, &self.cfg, true, &mut self.warnings)?
            }
            SlotSource::Nodes { blend, assembly, node_entries } => {
                let per = assembly.nparams();
                let mut c = self.sim.scratch_buffer();
                let mut first = true;
                for &(k, w) in blend.weights[slot].iter().filter(|(_, w)| *w != 0.0) {
                    let node = node_entries[k].get_or_insert_with(|| {
                        // `assemble` overwrites every entry.
                        let mut v = self.sim.scratch_buffer();
                        assembly.assemble(&blend.nodes[k * per..(k + 1) * per], &mut v);
                        v
                    });
                    // The first node writes, the second adds.
                    if std::mem::take(&mut first) {
                        c.iter_mut().zip(node.iter()).for_each(|(a, b)| *a = w * b);
                    } else {
                        c.iter_mut().zip(node.iter()).for_each(|(a, b)| *a += w * b);
                    }
                }
                if first {
                    // A slot with no node of nonzero weight (none are made
                    // by `TimeNodes`): the zero matrix.
                    c.fill(0.0);
                }
                SlotMatrix::from_entries(self.op, c, self.dt, slot, &self.cfg, true, &mut self.warnings)?
            }
        };
        let m = Arc::new(m);
        self.matrices[slot] = Some(Arc::clone(&m));
        Ok(m)
    }
}

/// The assembled matrices of a rollout.
#[derive(Debug, Clone)]
struct Plan {
    slots: Vec<Arc<SlotMatrix>>,
    /// Index into `slots` for each dump step of the rollout.
    step_slot: Vec<usize>,
    warnings: Vec<String>,
}

impl Plan {
    fn build(
        op: &dyn Operator,
        theta: &[f64],
        dt: f64,
        first_step: usize,
        n_steps: usize,
        cfg: &RolloutConfig,
    ) -> Result<Self, FpError> {
        op.check_params(theta)?;
        check_dt(dt)?;
        let mut warnings = Vec::new();
        let mut plan = Self::steps(op, first_step, n_steps, |slot| {
            // `theta` was scanned whole above.
            SlotMatrix::build(op, theta, dt, slot, cfg, false, &mut warnings).map(Arc::new)
        })?;
        plan.warnings = warnings;
        Ok(plan)
    }

    /// The plan of a window from the matrices of `cache` (built there
    /// when first needed).
    fn cached(cache: &mut SlotCache<'_>, first_step: usize, n_steps: usize) -> Result<Self, FpError> {
        let op = cache.op;
        Self::steps(op, first_step, n_steps, |slot| cache.get(slot))
    }

    /// The distinct slots of dump steps `first_step ..` (`n_steps` of
    /// them), each matrix from `matrix`, and the slot index of each step.
    fn steps(
        op: &dyn Operator,
        first_step: usize,
        n_steps: usize,
        mut matrix: impl FnMut(usize) -> Result<Arc<SlotMatrix>, FpError>,
    ) -> Result<Self, FpError> {
        let mut slots: Vec<Arc<SlotMatrix>> = Vec::new();
        let mut step_slot = Vec::with_capacity(n_steps);
        for s in 0..n_steps {
            let slot = op.slot(first_step + s);
            match slots.iter().position(|p| p.slot == slot) {
                Some(k) => step_slot.push(k),
                None => {
                    step_slot.push(slots.len());
                    slots.push(matrix(slot)?);
                }
            }
        }
        Ok(Self { slots, step_slot, warnings: Vec::new() })
    }

    fn substeps_per_dump(&self) -> Vec<usize> {
        self.step_slot.iter().map(|&k| self.slots[k].substeps).collect()
    }
}

/// Advance one chunk by the sub-steps of one dump step, in place.
fn advance_chunk(
    ch: &mut crate::batch::Chunk,
    pattern: &crate::stencil::Pattern,
    sm: &SlotMatrix,
    clamp: bool,
) {
    for _ in 0..sm.substeps {
        forward(ForwardArgs {
            pattern,
            m: &sm.m,
            f: &ch.data,
            out: Some(&mut ch.scratch),
            pre_clamp: None,
            bc: ch.bc,
            clamp,
        });
        std::mem::swap(&mut ch.data, &mut ch.scratch);
    }
}

/// The simulator: an operator, rollout settings, and reusable buffers.
pub struct Simulator<'o> {
    op: &'o dyn Operator,
    cfg: RolloutConfig,
    work: std::sync::Mutex<Vec<ChunkWork>>,
    /// Buffers of the matrix's entries (`pattern().nnz()` values) that
    /// [`GradientSum`]s used and returned: a training loop builds and drops
    /// one matrix, and one gradient of the entries, per time slot and
    /// evaluation, and fresh buffers of that size would cost the kernel's
    /// page faults every time (most of an epoch with many slots).
    spare: std::sync::Mutex<Vec<Vec<f64>>>,
}

impl<'o> Simulator<'o> {
    /// A simulator for `op`.
    pub fn new(op: &'o dyn Operator, cfg: RolloutConfig) -> Self {
        Self { op, cfg, work: std::sync::Mutex::new(Vec::new()), spare: std::sync::Mutex::new(Vec::new()) }
    }

    /// A zeroed buffer of the matrix's entries, reused when one was returned.
    /// A buffer of the matrix's entries whose contents are unspecified (a
    /// recycled one, or zeros): for callers that overwrite every entry, so
    /// no pass is spent zeroing it.
    fn scratch_buffer(&self) -> Vec<f64> {
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
        spare.unwrap_or_else(|| vec![0.0; self.op.pattern().nnz()])
    }

    /// Return buffers of the matrix's entries for reuse.
    fn recycle(&self, buffers: impl IntoIterator<Item = Vec<f64>>) {
        let nnz = self.op.pattern().nnz();
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        spare.extend(buffers.into_iter().filter(|v| v.len() == nnz));
    }

    /// The operator.
    pub fn operator(&self) -> &'o dyn Operator {
        self.op
    }

    /// The settings.
    pub fn config(&self) -> &RolloutConfig {
        &self.cfg
    }

    fn check_batch(&self, f0: &ArrayView3<'_, f64>) -> Result<(), FpError> {
        let (_, nx, ny) = f0.dim();
        let g = self.op.grid();
        if (nx, ny) != g.shape() {
            return Err(FpError::Shape(format!(
                "distributions are {nx} x {ny}, the operator's grid is {} x {}",
                g.nx, g.ny
            )));
        }
        Ok(())
    }

    /// Advance `state` in place by one dump step (`first_step` selects the
    /// operator slot). The hot path of every rollout, exposed for custom loops.
    pub fn advance(
        &self,
        theta: &[f64],
        dt: f64,
        state: &mut BatchState,
        step: usize,
    ) -> Result<Vec<String>, FpError> {
        let plan = Plan::build(self.op, theta, dt, step, 1, &self.cfg)?;
        let sm = &plan.slots[0];
        let pattern = self.op.pattern();
        let clamp = self.cfg.clamp_f;
        state.chunks.par_iter_mut().for_each(|ch| advance_chunk(ch, pattern, sm, clamp));
        Ok(plan.warnings)
    }

    /// Roll a batch `f0` of shape `(B, nx, ny)` forward over `n_steps` dumps.
    pub fn rollout(
        &self,
        theta: &[f64],
        dt: f64,
        f0: ArrayView3<'_, f64>,
        first_step: usize,
        n_steps: usize,
    ) -> Result<Rollout, FpError> {
        self.rollout_until(theta, dt, f0, first_step, n_steps, &AtomicBool::new(false))
    }

    /// [`Simulator::rollout`] that stops with [`FpError::Stopped`] at the
    /// first dump step after `stop` is set (from another thread: a user
    /// interface's interrupt). Each chunk of the batch checks it before
    /// every dump step, so a large batch stops within one step.
    pub fn rollout_until(
        &self,
        theta: &[f64],
        dt: f64,
        f0: ArrayView3<'_, f64>,
        first_step: usize,
        n_steps: usize,
        stop: &AtomicBool,
    ) -> Result<Rollout, FpError> {
        self.check_batch(&f0)?;
        let plan = Plan::build(self.op, theta, dt, first_step, n_steps, &self.cfg)?;
        let mut state = BatchState::from_frames(f0)?;
        let (b, nx, ny) = f0.dim();
        let mut frames = Array4::zeros((n_steps + 1, b, nx, ny));
        frames.index_axis_mut(Axis(0), 0).assign(&f0);
        let pattern = self.op.pattern();
        let clamp = self.cfg.clamp_f;
        // Each chunk writes its own batch columns of every frame.
        let chunk_len: Vec<usize> = state.chunks.iter().map(|c| c.bc).collect();
        let mut views: Vec<_> = Vec::with_capacity(chunk_len.len());
        {
            let mut rest = frames.view_mut();
            for &bc in &chunk_len {
                let (head, tail) = rest.split_at(Axis(1), bc);
                views.push(head);
                rest = tail;
            }
        }
        // An explicit step that is unstable for the operator grows without
        // bound (the clamp keeps it finite for a while): a growth of 10^6
        // over the largest initial value is taken as divergence.
        let limit = 1e6 * f0.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(f64::MIN_POSITIVE);
        // Per chunk: the step at which it diverged, or stopped as asked.
        let ended: Vec<Option<Result<usize, usize>>> = state
            .chunks
            .par_iter_mut()
            .zip(views.into_par_iter())
            .map(|(ch, mut out)| {
                for s in 0..n_steps {
                    if stop.load(Ordering::Relaxed) {
                        return Some(Err(s));
                    }
                    advance_chunk(ch, pattern, &plan.slots[plan.step_slot[s]], clamp);
                    scatter_chunk(&ch.data, ch.bc, out.index_axis_mut(Axis(0), s + 1));
                    if !bounded(&ch.data, limit) {
                        return Some(Ok(s));
                    }
                }
                None
            })
            .collect();
        if let Some(s) = ended.iter().flatten().filter_map(|e| e.ok()).min() {
            return Err(FpError::Diverged { step: s + 1, n_steps });
        }
        if let Some(s) = ended.iter().flatten().filter_map(|e| e.err()).min() {
            return Err(FpError::Stopped { step: s, n_steps });
        }
        Ok(Rollout { frames, substeps: plan.substeps_per_dump(), warnings: plan.warnings })
    }

    /// Loss of a rollout over a [`Window`] and its exact gradient with
    /// respect to the parameters and, optionally, the initial batch.
    ///
    /// Converts the window to the simulator's layout first; a training loop
    /// that visits the same windows many times should convert them once with
    /// [`PreparedWindow::new`] and call
    /// [`Simulator::loss_and_gradient_prepared`].
    pub fn loss_and_gradient(
        &self,
        theta: &[f64],
        dt: f64,
        window: &Window<'_>,
        loss: Loss,
        want_df0: bool,
    ) -> Result<Gradient, FpError> {
        let prepared = PreparedWindow::new(window)?;
        self.loss_and_gradient_prepared(theta, dt, &prepared, loss, want_df0)
    }

    /// [`Simulator::loss_and_gradient`] on a window already in the
    /// simulator's layout. Buffers are kept in the simulator between calls,
    /// so repeated evaluations touch no fresh memory.
    pub fn loss_and_gradient_prepared(
        &self,
        theta: &[f64],
        dt: f64,
        window: &PreparedWindow,
        loss: Loss,
        want_df0: bool,
    ) -> Result<Gradient, FpError> {
        let plan = Plan::build(self.op, theta, dt, window.first_step, window.n_steps, &self.cfg)?;
        let mut dtheta = vec![0.0; self.op.nparams()];
        let g = self.sweep(&plan, window, loss, want_df0, &mut |sm, dc| {
            self.op.assemble_vjp(theta, sm.slot, dc, &mut dtheta)
        })?;
        Ok(Gradient { dtheta, ..g })
    }

    /// Adds `scale * d loss / d theta` of a rollout over `window` to
    /// `dtheta` and returns the loss and the stability warnings; only the
    /// entries of the time slots the window steps through are touched.
    /// For many windows at one `theta`, a [`GradientSum`] builds each
    /// slot's matrix once.
    ///
    /// `theta`'s length is checked and the coefficients of the slots the
    /// window uses must be finite, but the rest of `theta` is not scanned.
    pub fn accumulate_gradient_prepared(
        &self,
        theta: &[f64],
        dt: f64,
        window: &PreparedWindow,
        loss: Loss,
        scale: f64,
        dtheta: &mut [f64],
    ) -> Result<(f64, Vec<String>), FpError> {
        check_gradient_length(self.op, dtheta)?;
        let mut sum = GradientSum::new(self, theta, dt)?;
        let l = sum.add(window, loss, scale)?;
        let warnings = sum.finish(dtheta)?;
        Ok((l, warnings))
    }

    /// The forward and adjoint sweeps of a window over the matrices of
    /// `plan`: returns the loss, the gradient with respect to the initial
    /// batch (if `want_df0`) and the warnings (its `dtheta` left empty),
    /// and hands `sink` each slot matrix of the plan with the gradient of
    /// the loss with respect to that slot's operator entries `C`.
    fn sweep(
        &self,
        plan: &Plan,
        window: &PreparedWindow,
        loss: Loss,
        want_df0: bool,
        sink: &mut dyn FnMut(&SlotMatrix, &[f64]),
    ) -> Result<Gradient, FpError> {
        let (b, nx, ny, n_steps) = (window.batch, window.nx, window.ny, window.n_steps);
        let g = self.op.grid();
        if (nx, ny) != g.shape() {
            return Err(FpError::Shape(format!(
                "the window's distributions are {nx} x {ny}, the operator's grid is {} x {}",
                g.nx, g.ny
            )));
        }
        let n = nx * ny;
        let pattern = self.op.pattern();
        let nnz = pattern.nnz();
        let clamp = self.cfg.clamp_f;
        let total_sub: usize = plan.step_slot.iter().map(|&k| plan.slots[k].substeps).sum();
        // Last record index of each dump step.
        let mut dump_end = Vec::with_capacity(n_steps);
        let mut acc = 0;
        for &k in &plan.step_slot {
            acc += plan.slots[k].substeps;
            dump_end.push(acc - 1);
        }
        let weight = |s: usize| -> f64 {
            let per_step = 1.0 / (b * n) as f64;
            match loss.accumulation {
                Accumulation::AllSteps => per_step / n_steps as f64,
                Accumulation::LastStep if s + 1 == n_steps => per_step,
                Accumulation::LastStep => 0.0,
            }
        };

        let mut work = self.work.lock().unwrap_or_else(|e| e.into_inner());
        work.resize_with(window.chunks.len(), ChunkWork::default);
        let mut jobs: Vec<(&mut ChunkWork, &PreparedChunk)> = work.iter_mut().zip(&window.chunks).collect();
        let losses: Vec<f64> = jobs
            .par_iter_mut()
            .map(|(w, ch)| {
                let bc = ch.bc;
                let len = n * bc;
                w.size(len, total_sub, plan.slots.len() * nnz);
                let ChunkWork { record, cur, next, lambda, lambda_in, mu, dm } = &mut **w;
                // Buffers only grow (a training loop alternates batch sizes); use their heads.
                let record = &mut record[..total_sub * len];
                let (mut cur, mut next) = (&mut cur[..len], &mut next[..len]);
                let (mut lambda, mut lambda_in, mu) =
                    (&mut lambda[..len], &mut lambda_in[..len], &mut mu[..len]);
                let dm = &mut dm[..plan.slots.len() * nnz];
                if total_sub == 1 && !want_df0 {
                    // A single step from data: forward, loss and adjoint in one pass.
                    let ks = plan.step_slot[0];
                    dm.fill(0.0);
                    return one_step(OneStepArgs {
                        pattern,
                        m: &plan.slots[ks].m,
                        f: &ch.f0,
                        target: &ch.targets[..len],
                        mse: loss.kind == LossKind::Mse,
                        weight: weight(0),
                        clamp,
                        dm: &mut dm[ks * nnz..(ks + 1) * nnz],
                        scratch: mu,
                        bc,
                    });
                }
                // Forward sweep: record every sub-step's output (pre-clamp if clamped).
                let mut k = 0;
                for s in 0..n_steps {
                    let sm = &plan.slots[plan.step_slot[s]];
                    for _ in 0..sm.substeps {
                        let rec = &mut record[k * len..(k + 1) * len];
                        let input: &[f64] = if k == 0 { &ch.f0 } else { cur };
                        if clamp {
                            // The state after the last sub-step is only needed through its record.
                            let out = if k + 1 == total_sub { None } else { Some(&mut next[..]) };
                            forward(ForwardArgs {
                                pattern,
                                m: &sm.m,
                                f: input,
                                out,
                                pre_clamp: Some(rec),
                                bc,
                                clamp,
                            });
                        } else {
                            forward(ForwardArgs {
                                pattern,
                                m: &sm.m,
                                f: input,
                                out: Some(rec),
                                pre_clamp: None,
                                bc,
                                clamp,
                            });
                            next.copy_from_slice(rec);
                        }
                        std::mem::swap(&mut cur, &mut next);
                        k += 1;
                    }
                }
                // Reverse sweep, adding each dump's loss gradient on the way.
                dm.fill(0.0);
                let mut loss_sum = 0.0;
                for s in (0..n_steps).rev() {
                    let wgt = weight(s);
                    // The last dump's gradient starts lambda (no clearing pass).
                    let first = s + 1 == n_steps;
                    if wgt != 0.0 {
                        let pred = &record[dump_end[s] * len..(dump_end[s] + 1) * len];
                        let target = &ch.targets[s * len..(s + 1) * len];
                        let mse = loss.kind == LossKind::Mse;
                        loss_sum += add_loss_gradient(pred, clamp, target, mse, wgt, lambda, !first);
                    } else if first {
                        lambda.fill(0.0);
                    }
                    let ks = plan.step_slot[s];
                    let sm = &plan.slots[ks];
                    for _ in 0..sm.substeps {
                        k -= 1;
                        let out_rec = &record[k * len..(k + 1) * len];
                        let (input, clamp_input) = if k == 0 {
                            (&ch.f0[..], false)
                        } else {
                            (&record[(k - 1) * len..k * len], clamp)
                        };
                        backward(BackwardArgs {
                            pattern,
                            m: &sm.m,
                            f: input,
                            clamp_input,
                            pre_clamp: if clamp { Some(out_rec) } else { None },
                            lambda_out: lambda,
                            lambda_in: if k > 0 || want_df0 { Some(&mut lambda_in[..]) } else { None },
                            dm: &mut dm[ks * nnz..(ks + 1) * nnz],
                            mu,
                            bc,
                        });
                        std::mem::swap(&mut lambda, &mut lambda_in);
                    }
                }
                if want_df0 && total_sub % 2 == 1 {
                    // After an odd number of swaps the result sits in the
                    // buffer the chunk calls `lambda_in`; move it home.
                    lambda_in.copy_from_slice(lambda);
                }
                loss_sum
            })
            .collect();

        let loss_value: f64 = losses.iter().sum();
        if !loss_value.is_finite() {
            return Err(FpError::NonFinite(format!(
                "the rollout diverged (loss {loss_value}): the time step is unstable for this operator; \
                 use more sub-steps or automatic sub-stepping"
            )));
        }
        let mut dc = vec![0.0; nnz];
        for (ks, sm) in plan.slots.iter().enumerate() {
            dc.fill(0.0);
            for (w, _) in &jobs {
                for (d, v) in dc.iter_mut().zip(&w.dm[ks * nnz..(ks + 1) * nnz]) {
                    *d += sm.dt_sub * v;
                }
            }
            sink(sm, &dc);
        }
        let df0 = want_df0.then(|| {
            let mut out = Array3::zeros((b, nx, ny));
            for (w, ch) in &jobs {
                scatter_chunk(
                    &w.lambda[..n * ch.bc],
                    ch.bc,
                    out.slice_mut(ndarray::s![ch.b0..ch.b0 + ch.bc, .., ..]),
                );
            }
            out
        });
        Ok(Gradient { loss: loss_value, dtheta: Vec::new(), df0, warnings: plan.warnings.clone() })
    }
}

/// The gradient of a weighted sum of windows' losses at one `theta` and
/// `dt`, as a training epoch needs it: each time slot's matrix `I + dt C`
/// is built once for all windows (not once per window), and the
/// gradient with respect to each slot's operator entries is summed over
/// the windows before one vector-Jacobian product per slot maps it to the
/// parameters. For a time-dependent operator, whose windows each step
/// through several slots, this removes the assembly from the per-window
/// work.
///
/// `theta`'s length is checked and the coefficients of every slot used
/// must be finite, but the rest of `theta` is not scanned: check a
/// `theta` used over many windows once, with [`Operator::check_params`].
pub struct GradientSum<'s, 'o> {
    sim: &'s Simulator<'o>,
    cache: SlotCache<'s>,
    /// Summed gradient with respect to the entries `C` of each slot.
    dc: Vec<Option<Vec<f64>>>,
}

impl<'s, 'o> GradientSum<'s, 'o> {
    /// An empty sum for `theta` and the time between dumps `dt`.
    ///
    /// Errors: `theta` of the wrong length, `dt` not finite and positive.
    pub fn new(sim: &'s Simulator<'o>, theta: &'s [f64], dt: f64) -> Result<Self, FpError> {
        crate::operator::check_length(theta.len(), sim.op.nparams(), || sim.op.describe())?;
        Self::with_source(sim, SlotSource::Theta(theta), dt)
    }

    /// An empty sum for the operator's parameters given as time nodes
    /// (`blend`) and the time between dumps `dt`: each node's matrix is
    /// assembled once, each slot's is the blend of its nodes'. Finish it
    /// with [`GradientSum::finish_nodes`].
    ///
    /// Errors: an operator without a [`Operator::linear_assembly`], node
    /// blocks that do not fit it, weights not one pair per slot, naming a
    /// node that is not given or not finite, and those of [`GradientSum::new`].
    pub fn blended(sim: &'s Simulator<'o>, blend: NodeBlend<'s>, dt: f64) -> Result<Self, FpError> {
        let op = sim.op;
        let assembly = op.linear_assembly().ok_or_else(|| {
            FpError::Invalid(format!(
                "the operator '{}' is not linear in its parameters slot by slot: its slots cannot be blended \
                 from time nodes",
                op.describe()
            ))
        })?;
        let per = assembly.nparams();
        if per == 0 || !blend.nodes.len().is_multiple_of(per) || blend.weights.len() != op.n_slots() {
            return Err(FpError::Shape(format!(
                "time nodes: {} values for blocks of {per} and weights for {} slots; the operator '{}' has \
                 {} slots",
                blend.nodes.len(),
                blend.weights.len(),
                op.describe(),
                op.n_slots()
            )));
        }
        let n_nodes = blend.nodes.len() / per;
        if let Some((s, w)) = blend
            .weights
            .iter()
            .enumerate()
            .find(|(_, w)| w.iter().any(|&(k, w)| k >= n_nodes || !w.is_finite()))
        {
            return Err(FpError::Invalid(format!("slot {s}: node weights {w:?} for {n_nodes} nodes")));
        }
        let source = SlotSource::Nodes { blend, assembly, node_entries: vec![None; n_nodes] };
        Self::with_source(sim, source, dt)
    }

    fn with_source(sim: &'s Simulator<'o>, source: SlotSource<'s>, dt: f64) -> Result<Self, FpError> {
        check_dt(dt)?;
        let n_slots = sim.op.n_slots();
        Ok(Self {
            sim,
            cache: SlotCache {
                op: sim.op,
                sim,
                source,
                dt,
                cfg: sim.cfg,
                matrices: vec![None; n_slots],
                warnings: Vec::new(),
            },
            dc: vec![None; n_slots],
        })
    }

    /// Adds `scale` times the gradient of the loss of a rollout over
    /// `window`; returns that loss (unscaled).
    ///
    /// Errors: those of [`Simulator::loss_and_gradient_prepared`].
    pub fn add(&mut self, window: &PreparedWindow, loss: Loss, scale: f64) -> Result<f64, FpError> {
        let plan = Plan::cached(&mut self.cache, window.first_step, window.n_steps)?;
        let dc = &mut self.dc;
        let sim = self.sim;
        let g = self.sim.sweep(&plan, window, loss, false, &mut |sm, d| match &mut dc[sm.slot] {
            Some(acc) => acc.iter_mut().zip(d).for_each(|(a, v)| *a += scale * v),
            // The first window of a slot writes instead of adding to zeros.
            slot @ None => {
                let mut acc = sim.scratch_buffer();
                acc.iter_mut().zip(d).for_each(|(a, v)| *a = scale * v);
                *slot = Some(acc);
            }
        })?;
        Ok(g.loss)
    }

    /// Adds the summed gradient to `dtheta` (only the entries of the slots
    /// the windows used) and returns the stability warnings.
    ///
    /// Errors: `dtheta` of the wrong length.
    pub fn finish(self, dtheta: &mut [f64]) -> Result<Vec<String>, FpError> {
        check_gradient_length(self.sim.op, dtheta)?;
        let SlotSource::Theta(theta) = self.cache.source else {
            return Err(FpError::Invalid(
                "a sum over time nodes gives the nodes' gradient: finish it with finish_nodes".into(),
            ));
        };
        for (slot, dc) in self.dc.iter().enumerate() {
            if let Some(dc) = dc {
                self.sim.op.assemble_vjp(theta, slot, dc, dtheta);
            }
        }
        Ok(self.recycle())
    }

    /// Hands the sum's buffers back to the simulator; returns the warnings.
    fn recycle(self) -> Vec<String> {
        let SlotCache { matrices, source, warnings, .. } = self.cache;
        let nodes = match source {
            SlotSource::Nodes { node_entries, .. } => node_entries,
            SlotSource::Theta(_) => Vec::new(),
        };
        // A matrix a caller still holds (none after a window's sweep) is
        // simply dropped.
        let matrices = matrices.into_iter().flatten().filter_map(|m| Arc::try_unwrap(m).ok()).map(|m| m.m);
        self.sim.recycle(matrices.chain(self.dc.into_iter().flatten()).chain(nodes.into_iter().flatten()));
        warnings
    }

    /// Adds the summed gradient with respect to the nodes of a
    /// [`GradientSum::blended`] sum to `dnodes` (the layout of its
    /// [`NodeBlend::nodes`]) and returns the stability warnings.
    ///
    /// Errors: a sum not made by [`GradientSum::blended`], `dnodes` of the
    /// wrong length.
    pub fn finish_nodes(self, dnodes: &mut [f64]) -> Result<Vec<String>, FpError> {
        let SlotSource::Nodes { blend, assembly, .. } = self.cache.source else {
            return Err(FpError::Invalid(
                "a sum over slots gives theta's gradient: finish it with finish".into(),
            ));
        };
        if dnodes.len() != blend.nodes.len() {
            return Err(FpError::Shape(format!(
                "node gradient of length {} for {} node values",
                dnodes.len(),
                blend.nodes.len()
            )));
        }
        let per = assembly.nparams();
        let n_nodes = blend.nodes.len() / per;
        // The slots' gradients blended back onto the nodes (the transpose
        // of the slots' blend), then each node's through the assembly.
        let mut dnode_entries: Vec<Option<Vec<f64>>> = vec![None; n_nodes];
        for (slot, dc) in self.dc.iter().enumerate() {
            let Some(dc) = dc else { continue };
            for &(k, w) in blend.weights[slot].iter().filter(|(_, w)| *w != 0.0) {
                match &mut dnode_entries[k] {
                    Some(acc) => acc.iter_mut().zip(dc).for_each(|(a, b)| *a += w * b),
                    // The first slot of a node writes instead of adding to zeros.
                    acc @ None => {
                        let mut v = self.sim.scratch_buffer();
                        v.iter_mut().zip(dc).for_each(|(a, b)| *a = w * b);
                        *acc = Some(v);
                    }
                }
            }
        }
        for (k, d) in dnode_entries.iter().enumerate() {
            if let Some(d) = d {
                assembly.vjp(d, &mut dnodes[k * per..(k + 1) * per]);
            }
        }
        self.sim.recycle(dnode_entries.into_iter().flatten());
        Ok(self.recycle())
    }
}

/// One chunk of a [`PreparedWindow`].
#[derive(Debug, Clone)]
struct PreparedChunk {
    b0: usize,
    bc: usize,
    /// Initial states, chunk layout.
    f0: Vec<f64>,
    /// Targets, `n_steps` blocks in chunk layout.
    targets: Vec<f64>,
}

/// A [`Window`] converted once into the simulator's internal layout (batch
/// split over the current rayon pool, cells slowest, distributions fastest),
/// after checking shapes and finiteness.
#[derive(Debug, Clone)]
pub struct PreparedWindow {
    batch: usize,
    nx: usize,
    ny: usize,
    n_steps: usize,
    first_step: usize,
    chunks: Vec<PreparedChunk>,
}

impl PreparedWindow {
    /// Check and convert a window.
    pub fn new(window: &Window<'_>) -> Result<Self, FpError> {
        let Window { f0, targets, first_step } = *window;
        let (n_steps, tb, tx, ty) = targets.dim();
        let (b, nx, ny) = f0.dim();
        if (tb, tx, ty) != (b, nx, ny) {
            return Err(FpError::Shape(format!(
                "targets are {tb} x {tx} x {ty} per step, the initial batch is {b} x {nx} x {ny}"
            )));
        }
        if n_steps == 0 || b == 0 {
            return Err(FpError::Invalid(
                "a rollout loss needs at least one target step and one distribution".into(),
            ));
        }
        check_finite(f0.as_slice(), f0.iter(), || locate_non_finite3(&f0, "initial distribution"))?;
        check_finite(targets.as_slice(), targets.iter(), || {
            let ((s, bb, i, j), v) =
                targets.indexed_iter().find(|(_, v)| !v.is_finite()).expect("one is non-finite");
            FpError::NonFinite(format!("target step {s}, distribution {bb} is {v} at cell ({i}, {j})"))
        })?;
        let n = nx * ny;
        let mut chunks = Vec::new();
        let mut b0 = 0;
        for bc in BatchState::chunk_sizes(b) {
            let mut cf0 = vec![0.0; n * bc];
            gather_chunk(&f0, b0, bc, &mut cf0);
            let mut ct = vec![0.0; n_steps * n * bc];
            for (s, block) in ct.chunks_exact_mut(n * bc).enumerate() {
                gather_chunk(&targets.index_axis(Axis(0), s), b0, bc, block);
            }
            chunks.push(PreparedChunk { b0, bc, f0: cf0, targets: ct });
            b0 += bc;
        }
        Ok(Self { batch: b, nx, ny, n_steps, first_step, chunks })
    }

    /// Number of distributions.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Number of target steps.
    pub fn n_steps(&self) -> usize {
        self.n_steps
    }
}

/// Buffers of one chunk of a gradient evaluation, kept between calls.
#[derive(Debug, Default)]
struct ChunkWork {
    record: Vec<f64>,
    cur: Vec<f64>,
    next: Vec<f64>,
    lambda: Vec<f64>,
    lambda_in: Vec<f64>,
    mu: Vec<f64>,
    dm: Vec<f64>,
}

impl ChunkWork {
    fn size(&mut self, len: usize, records: usize, dm: usize) {
        for (v, l) in [
            (&mut self.record, records * len),
            (&mut self.cur, len),
            (&mut self.next, len),
            (&mut self.lambda, len),
            (&mut self.lambda_in, len),
            (&mut self.mu, len),
            (&mut self.dm, dm),
        ] {
            if v.len() < l {
                v.resize(l, 0.0);
            }
        }
    }
}

/// Whether every value is finite and at most `limit` in magnitude.
fn bounded(values: &[f64], limit: f64) -> bool {
    // max(|v|) over eight lanes; NaN fails the comparison below.
    let mut lanes = [0.0f64; 8];
    let mut chunks = values.chunks_exact(8);
    for c in &mut chunks {
        for l in 0..8 {
            let a = c[l].abs();
            lanes[l] = if a > lanes[l] || a.is_nan() { a } else { lanes[l] };
        }
    }
    lanes.iter().chain(chunks.remainder()).all(|v| v.abs() <= limit)
}

/// `Ok` if every value is finite, the located error otherwise. Uses the
/// contiguous slice when there is one (a vectorised pass).
fn check_finite<'a>(
    contiguous: Option<&[f64]>,
    values: impl Iterator<Item = &'a f64>,
    locate: impl FnOnce() -> FpError,
) -> Result<(), FpError> {
    // A sum of v * 0 is NaN exactly when some v is NaN or infinite; eight
    // independent lanes let the compiler vectorise it.
    let finite = match contiguous {
        Some(s) => {
            let mut lanes = [0.0f64; 8];
            let mut chunks = s.chunks_exact(8);
            for c in &mut chunks {
                for l in 0..8 {
                    lanes[l] += c[l] * 0.0;
                }
            }
            lanes.iter().sum::<f64>().is_finite() && chunks.remainder().iter().all(|v| v.is_finite())
        }
        None => values.fold(0.0, |a, &v| a + v * 0.0).is_finite(),
    };
    if finite { Ok(()) } else { Err(locate()) }
}

fn locate_non_finite3(a: &ArrayView3<'_, f64>, what: &str) -> FpError {
    match a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((b, i, j), v)) => FpError::NonFinite(format!("{what} {b} is {v} at cell ({i}, {j})")),
        None => FpError::NonFinite(format!("{what}: non-finite value")),
    }
}
