//! Training: windows of PIC frames, the rollout-loss objective, optimisers
//! (Adam, L-BFGS) and the staged schedule, with observers for logging and
//! checkpoints (the argmin pattern: problem, iteration, observation apart).

use collop_core::PhaseSpaceSeries;
use collop_fp::{GradientSum, Loss, NodeBlend, PreparedWindow, RolloutConfig, Simulator, Window};
use ndarray::{Array3, Array4, Axis, s};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::communicator::{Communicator, Part, SingleProcess};
use crate::{LearnError, Model};

/// One stage of the schedule: unrolled steps per window, epochs, learning rate.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Dump steps rolled out per window (the loss compares each); 1 when
    /// not given.
    #[serde(default = "one")]
    pub unroll: usize,
    /// Optimiser iterations (full-batch epochs).
    pub epochs: usize,
    /// Learning rate (Adam) or initial trial step (L-BFGS); the
    /// reference's 1e-3 when not given.
    #[serde(default = "reference_lr")]
    pub lr: f64,
    /// Optimiser of this stage, if not the run's (its state starts fresh
    /// when the kind changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimiser: Option<OptimiserKind>,
}

fn one() -> usize {
    1
}

fn reference_lr() -> f64 {
    1e-3
}

fn ten() -> usize {
    10
}

/// The reference's schedule (arXiv 2601.10885): unroll 1, 2, 5, 10 for
/// 1000, 200, 200, 500 epochs at learning rate 1e-3.
pub fn reference_schedule() -> Vec<Stage> {
    [(1, 1000), (2, 200), (5, 200), (10, 500)]
        .map(|(unroll, epochs)| Stage { unroll, epochs, lr: reference_lr(), optimiser: None })
        .to_vec()
}

/// Which windows are held out for validation: a seeded random fraction of
/// the starting frames `(dataset, frame)`, the same for every stage.
#[derive(Debug, Clone)]
pub struct Split {
    validation: std::collections::HashSet<(usize, usize)>,
}

impl Split {
    /// Hold out `fraction` of the window starts of `data` (rounded), chosen with `seed`.
    pub fn new(data: &[PhaseSpaceSeries], fraction: f64, seed: u64) -> Result<Self, LearnError> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(LearnError::Config(format!("validation fraction {fraction} must be in [0, 1)")));
        }
        let mut starts: Vec<(usize, usize)> = data
            .iter()
            .enumerate()
            .flat_map(|(d, s)| (0..s.len().saturating_sub(1)).map(move |k| (d, k)))
            .collect();
        starts.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let n_val = (fraction * starts.len() as f64).round() as usize;
        Ok(Self { validation: starts.into_iter().take(n_val).collect() })
    }

    /// No validation windows.
    pub fn none() -> Self {
        Self { validation: Default::default() }
    }

    /// Whether the window starting at frame `k` of dataset `d` is held out.
    pub fn is_validation(&self, d: usize, k: usize) -> bool {
        self.validation.contains(&(d, k))
    }

    /// Number of held-out starts.
    pub fn len(&self) -> usize {
        self.validation.len()
    }

    /// Whether nothing is held out.
    pub fn is_empty(&self) -> bool {
        self.validation.is_empty()
    }
}

/// Windows of `unroll + 1` consecutive frames, grouped into batches that
/// share a model condition and a time step (and, for time-dependent models,
/// a starting step), in the simulator's layout.
pub struct WindowSet {
    /// `(condition, dt, batch)`, sorted by condition.
    groups: Vec<(usize, f64, PreparedWindow)>,
    /// The conditions of `groups`, ascending, each once.
    conditions: Vec<usize>,
    total: usize,
    /// Unique per set built, so that evaluations can be cached per set.
    id: u64,
}

/// Source of [`WindowSet`] ids.
static NEXT_SET_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl WindowSet {
    /// The windows of `data` with `unroll` steps, training (`validation =
    /// false`) or held-out ones, grouped for `time_dependent` models by start.
    pub fn new(
        data: &[PhaseSpaceSeries],
        unroll: usize,
        split: &Split,
        validation: bool,
        time_dependent: bool,
    ) -> Result<Self, LearnError> {
        Self::conditioned(data, &vec![0; data.len()], unroll, split, validation, time_dependent)
    }

    /// As [`WindowSet::new`], with dataset `d` under model condition `conditions[d]`.
    pub fn conditioned(
        data: &[PhaseSpaceSeries],
        conditions: &[usize],
        unroll: usize,
        split: &Split,
        validation: bool,
        time_dependent: bool,
    ) -> Result<Self, LearnError> {
        Self::part(data, conditions, unroll, split, validation, time_dependent, Part::WHOLE)
    }

    /// As [`WindowSet::conditioned`], keeping only `part`'s block of the
    /// windows (numbered by dataset, then start; [`Part::range`]) for one
    /// rank of a data-parallel training. [`WindowSet::len`] stays the count
    /// of all ranks' windows, the denominator of the mean loss.
    pub fn part(
        data: &[PhaseSpaceSeries],
        conditions: &[usize],
        unroll: usize,
        split: &Split,
        validation: bool,
        time_dependent: bool,
        part: Part,
    ) -> Result<Self, LearnError> {
        if unroll == 0 {
            return Err(LearnError::Config("unroll must be at least 1 step".into()));
        }
        if conditions.len() != data.len() {
            return Err(LearnError::Config(format!(
                "{} conditions for {} datasets: give one condition index per dataset",
                conditions.len(),
                data.len()
            )));
        }
        let mut all = Vec::new();
        for (d, series) in data.iter().enumerate() {
            for k in 0..series.len().saturating_sub(unroll) {
                if split.is_validation(d, k) == validation {
                    all.push((d, k));
                }
            }
        }
        let total = all.len();
        // (condition, dt bits, start or 0) -> list of (dataset, start).
        let mut keyed: std::collections::BTreeMap<(usize, u64, usize), Vec<(usize, usize)>> =
            Default::default();
        for &(d, k) in &all[part.range(total)] {
            let key = (conditions[d], data[d].dt.to_bits(), if time_dependent { k } else { 0 });
            keyed.entry(key).or_default().push((d, k));
        }
        let mut groups = Vec::new();
        for ((condition, dt_bits, first), members) in keyed {
            let (nx, ny) = data[members[0].0].grid.shape();
            let b = members.len();
            let mut f0 = Array3::zeros((b, nx, ny));
            let mut targets = Array4::zeros((unroll, b, nx, ny));
            for (m, &(d, k)) in members.iter().enumerate() {
                f0.index_axis_mut(Axis(0), m).assign(&data[d].frame(k));
                for u in 0..unroll {
                    targets.slice_mut(s![u, m, .., ..]).assign(&data[d].frame(k + 1 + u));
                }
            }
            let window = Window { f0: f0.view(), targets: targets.view(), first_step: first };
            groups.push((condition, f64::from_bits(dt_bits), PreparedWindow::new(&window)?));
        }
        let mut conditions: Vec<usize> = groups.iter().map(|g| g.0).collect();
        conditions.dedup();
        let id = NEXT_SET_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Self { groups, conditions, total, id })
    }

    /// Number of windows (of all ranks, for a [`WindowSet::part`]).
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether there are no windows.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The model conditions the windows use, ascending, each once.
    pub fn conditions(&self) -> &[usize] {
        &self.conditions
    }
}

/// The training objective: the rollout loss over a window set (the mean over
/// windows) plus the model's regularisation, as a function of `phi`.
pub struct Objective<'m> {
    model: &'m dyn Model,
    /// The ranks whose partial losses and gradients are summed.
    comm: &'m dyn Communicator,
    sim: Simulator<'m>,
    loss: Loss,
    /// Operator parameters and their gradient per model condition.
    theta: Vec<Vec<f64>>,
    dtheta: Vec<Vec<f64>>,
    /// For a model interpolated between time nodes (over an operator linear
    /// slot by slot): the nodes' operator parameters and their gradient,
    /// which replace `theta` and `dtheta`.
    nodes: Option<(Vec<f64>, Vec<f64>)>,
    /// Gradient evaluations so far.
    pub evaluations: usize,
    /// The last evaluation with its gradient: `(set id, phi, loss, dphi)`.
    /// L-BFGS evaluates the accepted trial point and then starts the next
    /// iteration at the same point; this makes the second call free.
    last: Option<(u64, Vec<f64>, f64, Vec<f64>)>,
}

impl<'m> Objective<'m> {
    /// The objective of `model` with rollout settings `cfg` and loss `loss`.
    pub fn new(model: &'m dyn Model, cfg: RolloutConfig, loss: Loss) -> Self {
        Self::distributed(model, cfg, loss, &SingleProcess)
    }

    /// As [`Objective::new`], for one rank of a data-parallel training:
    /// [`Objective::evaluate`] on a [`WindowSet::part`] returns the loss
    /// and gradient of all ranks' windows, summed by `comm` (every rank
    /// must evaluate the same sets at the same `phi`, in the same order).
    pub fn distributed(
        model: &'m dyn Model,
        cfg: RolloutConfig,
        loss: Loss,
        comm: &'m dyn Communicator,
    ) -> Self {
        let op = model.operator();
        // Slots blended from the nodes' matrices: each node assembled once
        // per evaluation instead of each slot (dump step), and no vector of
        // every slot's parameters formed.
        let nodes = match (model.time_interpolation(), op.linear_assembly()) {
            (Some(time), Some(assembly)) if model.n_conditions() == 1 => {
                let len = time.n_nodes() * assembly.nparams();
                Some((vec![0.0; len], vec![0.0; len]))
            }
            _ => None,
        };
        let nt = if nodes.is_some() { 0 } else { op.nparams() };
        Self {
            model,
            comm,
            sim: Simulator::new(op, cfg),
            loss,
            theta: vec![vec![0.0; nt]; model.n_conditions()],
            dtheta: vec![vec![0.0; nt]; model.n_conditions()],
            nodes,
            evaluations: 0,
            last: None,
        }
    }

    /// Loss over `set` at `phi`; its gradient is written to `grad` if given.
    /// `theta` is formed once per model condition the windows use, and the
    /// gradient is the sum of the conditions' vector-Jacobian products.
    pub fn evaluate(
        &mut self,
        set: &WindowSet,
        phi: &[f64],
        grad: Option<&mut [f64]>,
    ) -> Result<f64, LearnError> {
        if set.is_empty() {
            return Err(LearnError::Data("no windows to evaluate the loss on".into()));
        }
        if let Some((id, last_phi, loss, last_grad)) = &self.last
            && *id == set.id
            && last_phi.as_slice() == phi
        {
            if let Some(g) = grad {
                g.copy_from_slice(last_grad);
            }
            return Ok(*loss);
        }
        let with_gradient = grad.is_some();
        let mut scratch;
        let dphi = match grad {
            Some(g) => g,
            None => {
                scratch = vec![0.0; phi.len()];
                &mut scratch[..]
            }
        };
        let local = self.local_part(set, phi, with_gradient, dphi);
        let mut total = match local {
            Ok(t) if self.comm.size() <= 1 => t,
            // The ranks' parts summed: [failed ranks, loss, gradient].
            local => {
                let mut buffer = vec![0.0; 1 + 1 + if with_gradient { dphi.len() } else { 0 }];
                match &local {
                    Ok(t) => {
                        buffer[1] = *t;
                        if with_gradient {
                            buffer[2..].copy_from_slice(dphi);
                        }
                    }
                    Err(_) => buffer[0] = 1.0,
                }
                self.comm.all_reduce_sum(&mut buffer)?;
                local?;
                if buffer[0] > 0.0 {
                    // Another rank's rollout failed (most often a divergence,
                    // which L-BFGS answers with a shorter step on every rank).
                    return Err(LearnError::Diverged(format!(
                        "the rollout failed on {} other rank(s)",
                        buffer[0]
                    )));
                }
                if with_gradient {
                    dphi.copy_from_slice(&buffer[2..]);
                }
                buffer[1]
            }
        };
        if with_gradient {
            self.evaluations += 1;
        } else {
            dphi.fill(0.0);
        }
        total += self.model.regularisation(phi, dphi);
        if !total.is_finite() || dphi.iter().any(|v| !v.is_finite()) {
            return Err(LearnError::Diverged(format!(
                "loss {total} or its gradient is not finite; lower the learning rate or use more sub-steps"
            )));
        }
        match &mut self.last {
            // Only full gradients are kept (without one, `dphi` holds the
            // regularisation's part only).
            _ if !with_gradient => {}
            Some((id, last_phi, loss, last_grad)) => {
                *id = set.id;
                last_phi.clear();
                last_phi.extend_from_slice(phi);
                *loss = total;
                last_grad.clear();
                last_grad.extend_from_slice(dphi);
            }
            None => self.last = Some((set.id, phi.to_vec(), total, dphi.to_vec())),
        }
        Ok(total)
    }

    /// This rank's part of the loss over `set` (without the
    /// regularisation) and, when `with_gradient`, of its gradient, written
    /// to `dphi`.
    fn local_part(
        &mut self,
        set: &WindowSet,
        phi: &[f64],
        with_gradient: bool,
        dphi: &mut [f64],
    ) -> Result<f64, LearnError> {
        let conditions = set.conditions();
        if let Some((nodes, dnodes)) = &mut self.nodes {
            return nodes_part(
                self.model,
                &self.sim,
                self.loss,
                set,
                phi,
                nodes,
                dnodes,
                with_gradient,
                dphi,
            );
        }
        if let Some(&c) = conditions.iter().find(|&&c| c >= self.theta.len()) {
            return Err(LearnError::Config(format!(
                "windows under condition {c}, the model has {} condition(s)",
                self.theta.len()
            )));
        }
        for &c in conditions {
            self.model.theta_for(phi, c, &mut self.theta[c])?;
            // Checked once here, not once per window below.
            self.sim.operator().check_params(&self.theta[c])?;
            self.dtheta[c].fill(0.0);
        }
        let mut total = 0.0;
        // One gradient sum per condition and time between dumps: each time
        // slot's matrix is built once per evaluation, not once per window.
        let mut sums: Vec<((usize, u64), GradientSum<'_, '_>)> = Vec::new();
        for (c, dt, w) in &set.groups {
            let weight = w.batch() as f64 / set.total as f64;
            let key = (*c, dt.to_bits());
            let k = match sums.iter().position(|(k, _)| *k == key) {
                Some(k) => k,
                None => {
                    sums.push((key, GradientSum::new(&self.sim, &self.theta[*c], *dt)?));
                    sums.len() - 1
                }
            };
            total += weight * sums[k].1.add(w, self.loss, weight)?;
        }
        for ((c, _), sum) in sums {
            sum.finish(&mut self.dtheta[c])?;
        }
        dphi.fill(0.0);
        if with_gradient {
            for &c in conditions {
                self.model.theta_vjp_for(phi, c, &self.dtheta[c], dphi)?;
            }
        }
        Ok(total)
    }
}

/// Replace `best` by `(score, phi)` if `score` is lower (or `best` empty),
/// reusing its buffer.
fn keep_if_better(best: &mut Option<(f64, Vec<f64>)>, score: f64, phi: &[f64]) {
    match best {
        Some((b, p)) if score < *b => {
            *b = score;
            p.clear();
            p.extend_from_slice(phi);
        }
        Some(_) => {}
        None => *best = Some((score, phi.to_vec())),
    }
}

/// [`Objective::local_part`] for a model interpolated between time nodes:
/// `nodes` and `dnodes` hold the nodes' operator parameters and gradient.
#[allow(clippy::too_many_arguments)]
fn nodes_part(
    model: &dyn Model,
    sim: &Simulator<'_>,
    loss: Loss,
    set: &WindowSet,
    phi: &[f64],
    nodes: &mut [f64],
    dnodes: &mut [f64],
    with_gradient: bool,
    dphi: &mut [f64],
) -> Result<f64, LearnError> {
    let time = model
        .time_interpolation()
        .ok_or_else(|| LearnError::Config("the model lost its time nodes".into()))?;
    if let Some(&c) = set.conditions().iter().find(|&&c| c > 0) {
        return Err(LearnError::Config(format!("windows under condition {c}, the model has 1 condition")));
    }
    model.node_theta(phi, nodes)?;
    // Checked once here, not once per slot below.
    if let Some(p) = nodes.iter().position(|v| !v.is_finite()) {
        let per = nodes.len() / time.n_nodes();
        return Err(collop_fp::FpError::NonFinite(format!(
            "parameter {} of time node {} is {}",
            p % per,
            p / per,
            nodes[p]
        ))
        .into());
    }
    let blend = NodeBlend { nodes, weights: time.weights() };
    let mut total = 0.0;
    // One gradient sum per time between dumps, as in the slots' route.
    let mut sums: Vec<(u64, GradientSum<'_, '_>)> = Vec::new();
    for (_, dt, w) in &set.groups {
        let weight = w.batch() as f64 / set.total as f64;
        let k = match sums.iter().position(|(k, _)| *k == dt.to_bits()) {
            Some(k) => k,
            None => {
                sums.push((dt.to_bits(), GradientSum::blended(sim, blend, *dt)?));
                sums.len() - 1
            }
        };
        total += weight * sums[k].1.add(w, loss, weight)?;
    }
    dnodes.fill(0.0);
    for (_, sum) in sums {
        sum.finish_nodes(dnodes)?;
    }
    dphi.fill(0.0);
    if with_gradient {
        model.node_theta_vjp(dnodes, dphi)?;
    }
    Ok(total)
}

/// The state of an optimiser, kept across stages and saved in checkpoints.
#[derive(Debug, Clone, PartialEq)]
pub enum OptimiserState {
    /// Adam moments and step count.
    Adam {
        /// First moment.
        m: Vec<f64>,
        /// Second moment.
        v: Vec<f64>,
        /// Steps taken.
        t: u64,
    },
    /// L-BFGS curvature pairs.
    Lbfgs {
        /// Steps `s_k`.
        s: Vec<Vec<f64>>,
        /// Gradient changes `y_k`.
        y: Vec<Vec<f64>>,
    },
}

/// Which optimiser to use.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum OptimiserKind {
    /// Adam (Kingma & Ba 2015) with the PyTorch defaults beta = (0.9, 0.999), eps = 1e-8.
    Adam,
    /// Limited-memory BFGS (Nocedal 1980) with `history` pairs and a
    /// backtracking Armijo line search; for smooth full-batch problems.
    Lbfgs {
        /// Curvature pairs kept (10 when not given).
        #[serde(default = "ten")]
        history: usize,
    },
}

impl OptimiserKind {
    /// A fresh state for `n` parameters.
    pub fn fresh_state(&self, n: usize) -> OptimiserState {
        match self {
            OptimiserKind::Adam => OptimiserState::Adam { m: vec![0.0; n], v: vec![0.0; n], t: 0 },
            OptimiserKind::Lbfgs { .. } => OptimiserState::Lbfgs { s: Vec::new(), y: Vec::new() },
        }
    }
}

/// One optimiser iteration: evaluate, update `phi`; returns the loss at
/// the parameters the iteration started from.
pub fn iterate(
    kind: &OptimiserKind,
    state: &mut OptimiserState,
    lr: f64,
    objective: &mut Objective<'_>,
    set: &WindowSet,
    phi: &mut [f64],
) -> Result<f64, LearnError> {
    let n = phi.len();
    let mut grad = vec![0.0; n];
    let loss = objective.evaluate(set, phi, Some(&mut grad))?;
    match (kind, state) {
        (OptimiserKind::Adam, OptimiserState::Adam { m, v, t }) => {
            let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
            *t += 1;
            let (c1, c2) = (1.0 - b1.powi(*t as i32), 1.0 - b2.powi(*t as i32));
            for k in 0..n {
                m[k] = b1 * m[k] + (1.0 - b1) * grad[k];
                v[k] = b2 * v[k] + (1.0 - b2) * grad[k] * grad[k];
                phi[k] -= lr * (m[k] / c1) / ((v[k] / c2).sqrt() + eps);
            }
        }
        (OptimiserKind::Lbfgs { history }, OptimiserState::Lbfgs { s, y }) => {
            // Two-loop recursion for d = -H g.
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
            let mut q = grad.clone();
            let mut alphas = Vec::with_capacity(s.len());
            for (sk, yk) in s.iter().zip(y.iter()).rev() {
                let rho = 1.0 / dot(yk, sk);
                let a = rho * dot(sk, &q);
                for (qi, yi) in q.iter_mut().zip(yk) {
                    *qi -= a * yi;
                }
                alphas.push((a, rho));
            }
            let gamma = match (s.last(), y.last()) {
                (Some(sk), Some(yk)) => dot(sk, yk) / dot(yk, yk),
                _ => lr / dot(&grad, &grad).sqrt().max(1e-300),
            };
            for qi in q.iter_mut() {
                *qi *= gamma;
            }
            for ((sk, yk), (a, rho)) in s.iter().zip(y.iter()).zip(alphas.into_iter().rev()) {
                let b = rho * dot(yk, &q);
                for (qi, si) in q.iter_mut().zip(sk) {
                    *qi += (a - b) * si;
                }
            }
            let mut d: Vec<f64> = q.iter().map(|v| -v).collect();
            let mut slope = dot(&grad, &d);
            if slope >= 0.0 {
                // Not a descent direction: restart from steepest descent.
                s.clear();
                y.clear();
                let scale = lr / dot(&grad, &grad).sqrt().max(1e-300);
                d = grad.iter().map(|g| -scale * g).collect();
                slope = dot(&grad, &d);
            }
            // Backtracking Armijo line search.
            let mut step = 1.0;
            let mut trial = vec![0.0; n];
            let mut new_grad = vec![0.0; n];
            let mut accepted = false;
            for _ in 0..30 {
                for k in 0..n {
                    trial[k] = phi[k] + step * d[k];
                }
                match objective.evaluate(set, &trial, Some(&mut new_grad)) {
                    Ok(l) if l <= loss + 1e-4 * step * slope => {
                        accepted = true;
                        break;
                    }
                    Ok(_) | Err(LearnError::Diverged(_)) | Err(LearnError::Fp(_)) => step *= 0.5,
                    Err(e) => return Err(e),
                }
            }
            if accepted {
                let sk: Vec<f64> = d.iter().map(|v| step * v).collect();
                let yk: Vec<f64> = new_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
                if dot(&sk, &yk) > 1e-12 * dot(&yk, &yk).sqrt() * dot(&sk, &sk).sqrt() {
                    s.push(sk);
                    y.push(yk);
                    if s.len() > *history {
                        s.remove(0);
                        y.remove(0);
                    }
                }
                phi.copy_from_slice(&trial);
            } else {
                s.clear();
                y.clear();
            }
        }
        _ => return Err(LearnError::Config("optimiser state does not match the optimiser".into())),
    }
    Ok(loss)
}

/// A training step whose rollout or loss stopped being finite, said with
/// its likely cause: at the initial parameters (global epoch 0) the
/// explicit time step is unstable for the starting operator (more
/// sub-steps); after epochs that went well, the last update made the
/// operator blow up, which a too large learning rate does (sub-steps are
/// the second suspect). Other errors pass unchanged.
fn divergence_in_training(
    e: LearnError,
    stage: usize,
    epoch: usize,
    global_epoch: usize,
    lr: f64,
) -> LearnError {
    let what = match &e {
        LearnError::Fp(collop_fp::FpError::Diverged { step, n_steps }) => {
            format!("a rollout grew without bound (dump step {step} of {n_steps})")
        }
        LearnError::Diverged(_) | LearnError::Fp(collop_fp::FpError::NonFinite(_)) => {
            "the loss or its gradient is not finite".to_string()
        }
        _ => return e,
    };
    if global_epoch == 0 {
        return LearnError::Diverged(format!(
            "at the initial parameters (stage {stage}, first epoch): {what}. Nothing has been learned yet, so the \
             time step is unstable for the starting operator: use more sub-steps per dump (numerics substeps, \
             or \"auto\"), or start from smaller coefficients"
        ));
    }
    LearnError::Diverged(format!(
        "in stage {stage}, epoch {} ({global_epoch} epochs went well before): {what}. The last update made the \
         operator blow up, most often because the learning rate ({lr:e}) is too large: lower it (e.g. to \
         {:e}) and train again; if a smaller rate does not help, use more sub-steps per dump",
        epoch + 1,
        lr / 10.0
    ))
}

/// What an observer sees after every epoch.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EpochRecord {
    /// Stage index.
    pub stage: usize,
    /// Epoch within the stage.
    pub epoch: usize,
    /// Epoch counted over all stages.
    pub global_epoch: usize,
    /// Unrolled steps of the stage.
    pub unroll: usize,
    /// Training loss at the parameters the epoch started from.
    pub train_loss: f64,
    /// Validation loss at the same parameters, if there is a validation set.
    pub val_loss: Option<f64>,
    /// Learning rate.
    pub lr: f64,
    /// Gradient evaluations so far.
    pub evaluations: usize,
    /// Wall time since training started, seconds.
    pub elapsed: f64,
}

/// Watches training; logging, checkpoints and progress bars are observers,
/// never code inside the optimiser.
pub trait Observer {
    /// After every epoch, with the parameters the record refers to, the
    /// updated parameters and the optimiser state after the update.
    fn on_epoch(
        &mut self,
        _record: &EpochRecord,
        _phi_scored: &[f64],
        _state: &TrainState,
    ) -> Result<(), LearnError> {
        Ok(())
    }
    /// After a stage, with the state (its best parameters included).
    fn on_stage_end(&mut self, _stage: usize, _state: &TrainState) -> Result<(), LearnError> {
        Ok(())
    }
}

/// Everything needed to resume training.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainState {
    /// Current parameters.
    pub phi: Vec<f64>,
    /// Optimiser state.
    pub optimiser: OptimiserState,
    /// Stage to run next (or running).
    pub stage: usize,
    /// Epochs of that stage already done.
    pub epoch: usize,
    /// Epochs done over all stages.
    pub global_epoch: usize,
    /// Best parameters of the current (after training, the last) stage and
    /// their score (validation loss, or training loss without a validation
    /// set): losses of different unroll lengths are not comparable, so the
    /// model a run delivers is the best of its final stage.
    pub best: Option<(f64, Vec<f64>)>,
    /// Best parameters of each finished or running stage.
    pub stage_best: Vec<Option<(f64, Vec<f64>)>>,
}

impl TrainState {
    /// A fresh state from initial parameters.
    pub fn new(phi: Vec<f64>, kind: &OptimiserKind, n_stages: usize) -> Self {
        let optimiser = kind.fresh_state(phi.len());
        Self {
            phi,
            optimiser,
            stage: 0,
            epoch: 0,
            global_epoch: 0,
            best: None,
            stage_best: vec![None; n_stages],
        }
    }
}

impl TrainState {
    /// Refuses a state that cannot continue the schedule `stages` of a
    /// model with `nparams` parameters (a damaged or foreign checkpoint):
    /// a stage past the schedule (never taken as a finished run), an epoch
    /// past its stage's, parameter or optimiser vectors of another length,
    /// and non-finite parameters, optimiser state or scores. The error says
    /// which value is at fault.
    pub fn check(&self, stages: &[Stage], nparams: usize) -> Result<(), String> {
        let n = stages.len();
        if self.stage > n {
            return Err(format!("stage {} is past the schedule of {n} stage(s)", self.stage));
        }
        let limit = stages.get(self.stage).map_or(0, |s| s.epochs);
        if self.epoch > limit {
            return Err(if self.stage == n {
                format!("the schedule is done but {} epoch(s) of a further stage are counted", self.epoch)
            } else {
                format!("epoch {} of stage {} is past its {limit} epoch(s)", self.epoch, self.stage)
            });
        }
        if self.stage_best.len() != n {
            return Err(format!("{} stage record(s) for a schedule of {n} stage(s)", self.stage_best.len()));
        }
        let vector = |what: &str, v: &[f64]| {
            if v.len() != nparams {
                return Err(format!("`{what}` has {} values, the model has {nparams} parameters", v.len()));
            }
            match v.iter().position(|x| !x.is_finite()) {
                Some(k) => Err(format!("`{what}` holds {} at index {k}", v[k])),
                None => Ok(()),
            }
        };
        let scored = |what: &str, score: f64, phi: &[f64]| {
            if !score.is_finite() {
                return Err(format!("the score of `{what}` is {score}"));
            }
            vector(what, phi)
        };
        vector("phi", &self.phi)?;
        match &self.optimiser {
            OptimiserState::Adam { m, v, .. } => {
                vector("adam_m", m)?;
                vector("adam_v", v)?;
            }
            OptimiserState::Lbfgs { s, y } => {
                if s.len() != y.len() {
                    return Err(format!("{} L-BFGS steps but {} gradient changes", s.len(), y.len()));
                }
                for (k, (sk, yk)) in s.iter().zip(y).enumerate() {
                    vector(&format!("lbfgs_s_{k:03}"), sk)?;
                    vector(&format!("lbfgs_y_{k:03}"), yk)?;
                }
            }
        }
        if let Some((score, phi)) = &self.best {
            scored("best_phi", *score, phi)?;
        }
        for (k, best) in self.stage_best.iter().enumerate() {
            if let Some((score, phi)) = best {
                scored(&format!("stage_{k:02}_best_phi"), *score, phi)?;
            }
        }
        Ok(())
    }
}

/// Settings of a training run.
#[derive(Debug, Clone)]
pub struct TrainSettings {
    /// Stages run in order.
    pub stages: Vec<Stage>,
    /// Optimiser.
    pub optimiser: OptimiserKind,
    /// Loss.
    pub loss: Loss,
    /// Rollout settings during training.
    pub rollout: RolloutConfig,
}

/// Run (or resume) the schedule on `data` from `state`, reporting to `observers`.
pub fn train(
    model: &dyn Model,
    data: &[PhaseSpaceSeries],
    split: &Split,
    settings: &TrainSettings,
    state: &mut TrainState,
    observers: &mut [&mut dyn Observer],
) -> Result<(), LearnError> {
    train_conditioned(model, data, &vec![0; data.len()], split, settings, state, observers)
}

/// As [`train`], with dataset `d` under model condition `conditions[d]`
/// (see [`Model::theta_for`]).
pub fn train_conditioned(
    model: &dyn Model,
    data: &[PhaseSpaceSeries],
    conditions: &[usize],
    split: &Split,
    settings: &TrainSettings,
    state: &mut TrainState,
    observers: &mut [&mut dyn Observer],
) -> Result<(), LearnError> {
    train_distributed(model, data, conditions, split, settings, state, observers, &SingleProcess)
}

/// As [`train_conditioned`], as one rank of a data-parallel training over
/// `comm` ([`crate::communicator`]): every rank calls it with the same
/// data, settings and state; each rolls out its block of the windows, the
/// losses and gradients are summed over the ranks at every evaluation, and
/// every rank takes the same optimiser steps, so `state` ends the same on
/// every rank. `observers` see every epoch on every rank: give them to
/// rank 0 alone for files and progress bars.
#[allow(clippy::too_many_arguments)]
pub fn train_distributed(
    model: &dyn Model,
    data: &[PhaseSpaceSeries],
    conditions: &[usize],
    split: &Split,
    settings: &TrainSettings,
    state: &mut TrainState,
    observers: &mut [&mut dyn Observer],
    comm: &dyn Communicator,
) -> Result<(), LearnError> {
    if data.is_empty() {
        return Err(LearnError::Data("no datasets to train on".into()));
    }
    if let Some(&c) = conditions.iter().find(|&&c| c >= model.n_conditions()) {
        return Err(LearnError::Config(format!(
            "a dataset is under condition {c}, the model has {} condition(s)",
            model.n_conditions()
        )));
    }
    let grid = *model.operator().grid();
    for s in data {
        if !s.grid.same_as(&grid) {
            return Err(LearnError::Data(format!(
                "a dataset's grid ({}) differs from the model's ({grid})",
                s.grid
            )));
        }
    }
    state
        .check(&settings.stages, model.nparams())
        .map_err(|e| LearnError::Config(format!("the training state cannot continue this schedule: {e}")))?;
    let time_dependent = model.operator().n_slots() > 1;
    let start = std::time::Instant::now();
    let mut objective = Objective::distributed(model, settings.rollout, settings.loss, comm);
    let part = Part::of(comm);
    let mut scored = Vec::new();
    while state.stage < settings.stages.len() {
        let stage = settings.stages[state.stage];
        let train_set = WindowSet::part(data, conditions, stage.unroll, split, false, time_dependent, part)?;
        if train_set.is_empty() {
            return Err(LearnError::Data(format!(
                "stage {}: no training windows of {} steps; the datasets are too short",
                state.stage, stage.unroll
            )));
        }
        let val_set = WindowSet::part(data, conditions, stage.unroll, split, true, time_dependent, part)?;
        if state.epoch == 0 {
            // Losses of different unroll lengths are not comparable: the
            // best parameters are those of the current stage (the reference's rule).
            state.best = None;
        }
        while state.epoch < stage.epochs {
            // The buffer of the parameters scored is reused epoch after
            // epoch (a 25-node kernel has a million of them).
            scored.clone_from(&state.phi);
            let blame = |e| divergence_in_training(e, state.stage, state.epoch, state.global_epoch, stage.lr);
            let train_loss = iterate(
                &settings.optimiser,
                &mut state.optimiser,
                stage.lr,
                &mut objective,
                &train_set,
                &mut state.phi,
            )
            .map_err(blame)?;
            let val_loss = if val_set.is_empty() {
                None
            } else {
                Some(objective.evaluate(&val_set, &scored, None).map_err(blame)?)
            };
            let score = val_loss.unwrap_or(train_loss);
            keep_if_better(&mut state.best, score, &scored);
            keep_if_better(&mut state.stage_best[state.stage], score, &scored);
            state.epoch += 1;
            state.global_epoch += 1;
            let record = EpochRecord {
                stage: state.stage,
                epoch: state.epoch,
                global_epoch: state.global_epoch,
                unroll: stage.unroll,
                train_loss,
                val_loss,
                lr: stage.lr,
                evaluations: objective.evaluations,
                elapsed: start.elapsed().as_secs_f64(),
            };
            for o in observers.iter_mut() {
                o.on_epoch(&record, &scored, state)?;
            }
        }
        for o in observers.iter_mut() {
            o.on_stage_end(state.stage, state)?;
        }
        state.stage += 1;
        state.epoch = 0;
    }
    Ok(())
}
