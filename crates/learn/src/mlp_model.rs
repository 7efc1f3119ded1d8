//! Neural-network parametrisations (Carvalho et al., arXiv 2601.10885 and
//! 2601.13377): multi-layer perceptrons evaluated at every velocity cell,
//! whose outputs, mapped linearly, are the simulator operator's parameters.
//!
//! Three families ([`MlpKind`]):
//!
//! * `Fields`: five networks of `(u_x, u_y)`, one per Fokker-Planck field
//!   `A_x, A_y, D_xx, D_yy, D_xy` (grid units), `u` the cell centre
//!   normalised to `[-1, 1]` per axis ([`grid_inputs`]);
//! * `ParPerp`: three networks of `u = 2 |v| / v_max - 1` (`v_max =
//!   sqrt(v_x,max^2 + v_y,max^2)`), one per radial profile `A_par, D_par,
//!   D_perp` (grid units of `v_x`), rotated onto `(x, y)` cell by cell exactly
//!   as the linear par/perp model;
//! * `Kernel`: one network of `(u_x, u_y)` with the `k x k` entries of `K_x`
//!   and `K_y` as outputs, or of `K_x` only with the transpose symmetry
//!   `K_y(v_x, v_y; l, m) = K_x(v_y, v_x; m, l)` (the linear kernel model's map).
//!
//! Conditioners ([`Conditioners`]) are extra inputs appended to every
//! point: the dump time normalised to `[-1, 1]` over the training window
//! ([`TimeInput`]; the operator then has one time slot per dump step), and
//! per-condition feature vectors (normalised PIC parameters, see
//! [`FeatureRange`]), so that one network covers many simulations: each
//! condition is one [`Model::theta_for`] condition.
//!
//! With `r` the network outputs of one slot (net after net, output after
//! output, point after point) and `P` the kind's fixed linear map, the
//! operator parameters of slot `s` under condition `c` are
//! `theta_s = P r(phi; inputs(s, c))`, and the vector-Jacobian product is
//! `dphi += backward(P^T dtheta_s)` through each network's hand-written
//! backward pass ([`Mlp::backward`]).
//!
//! Memory: each condition keeps the activations of one slot (one workspace
//! per network, sized once). With a time input the vector-Jacobian product
//! therefore recomputes the forward pass of every slot but the last (about
//! a fifth more work than keeping all slots, whose activations would take
//! gigabytes for the reference grid, 2 x 64 units and ~100 dumps).

use std::sync::Mutex;

use collop_core::VelocityGrid;
use collop_fp::{Difference, FokkerPlanck, KernelOperator, Operator, Scheme};
use ndarray::{Array2, ArrayView2};

use crate::linear::SparseLinear;
use crate::model::{kernel_map, radial_rotation};
use crate::nn::{Activation, Mlp, MlpWorkspace, grid_inputs};
use crate::{LearnError, Model};

/// Which quantities the networks produce.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MlpKind {
    /// Five networks of `(u_x, u_y)`: the Fokker-Planck fields.
    Fields,
    /// Three networks of `|v|`: the radial profiles `A_par, D_par, D_perp`.
    ParPerp,
    /// One network of `(u_x, u_y)`: the kernels of a [`KernelOperator`].
    Kernel {
        /// Kernel size.
        k: usize,
        /// Outer difference.
        difference: Difference,
        /// Produce `K_x` only and read `K_y(v_x, v_y; l, m) = K_x(v_y, v_x; m, l)`.
        transpose: bool,
    },
}

/// The time conditioner: dump step `s` (counted from a dataset's first
/// frame) has the input `2 s / (window_steps - 1) - 1`, i.e. `[-1, 1]` over
/// the training window and a linear continuation beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeInput {
    /// Dump steps of the training window (at least 2).
    pub window_steps: usize,
    /// Operator time slots, one per dump step (at least `1`; more than
    /// `window_steps` to roll out beyond the training window).
    pub n_slots: usize,
}

impl TimeInput {
    /// The normalised time input of dump step `step`.
    pub fn value(&self, step: usize) -> f64 {
        2.0 * step as f64 / (self.window_steps - 1) as f64 - 1.0
    }
}

/// Min-max normalisation of one conditioning feature over a training set:
/// `x -> 2 (x - min) / (max - min) - 1`, so the training values fill
/// `[-1, 1]`; a feature constant over the training set (`max == min`) maps
/// to 0 for every value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureRange {
    /// Feature name.
    pub name: String,
    /// Smallest training value.
    pub min: f64,
    /// Largest training value.
    pub max: f64,
}

impl FeatureRange {
    /// The range of `values` (finite, at least one).
    pub fn over(name: &str, values: &[f64]) -> Result<Self, LearnError> {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return Err(LearnError::Data(format!(
                "feature '{name}': need at least one finite value to normalise over, got {values:?}"
            )));
        }
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Ok(Self { name: name.to_string(), min, max })
    }

    /// The normalised value of `x`.
    pub fn normalise(&self, x: f64) -> f64 {
        if self.max > self.min { 2.0 * (x - self.min) / (self.max - self.min) - 1.0 } else { 0.0 }
    }
}

/// Extra network inputs beyond the velocity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditioners {
    /// The normalised dump time, if the model is time dependent.
    pub time: Option<TimeInput>,
    /// Normalised feature vectors, one per condition, all of one length.
    /// Empty: a single condition without features.
    pub conditions: Vec<Vec<f64>>,
}

impl Conditioners {
    /// No conditioners.
    pub fn none() -> Self {
        Self::default()
    }

    fn n_features(&self) -> usize {
        self.conditions.first().map_or(0, Vec::len)
    }

    fn n_conditions(&self) -> usize {
        self.conditions.len().max(1)
    }

    fn validate(&self) -> Result<(), LearnError> {
        if let Some(t) = self.time
            && (t.window_steps < 2 || t.n_slots == 0)
        {
            return Err(LearnError::Config(format!(
                "time conditioner over {} dump steps with {} slots: the training window needs at least two \
                 dump steps (three frames) and the operator one slot",
                t.window_steps, t.n_slots
            )));
        }
        let nf = self.n_features();
        if let Some(c) = self.conditions.iter().find(|c| c.len() != nf || c.iter().any(|v| !v.is_finite())) {
            return Err(LearnError::Config(format!(
                "condition features {c:?}: every condition needs {nf} finite values"
            )));
        }
        Ok(())
    }
}

/// Forward passes of one condition at one slot, and scratch.
#[derive(Default)]
struct Cache {
    /// Parameters and slot of the forward passes held in `ws`.
    phi: Vec<f64>,
    slot: Option<usize>,
    /// Network inputs of this condition; the time column is rewritten per slot.
    inputs: Array2<f64>,
    /// One workspace per network.
    ws: Vec<MlpWorkspace>,
    /// Network outputs (or their cotangents) in the layout of the map's input.
    raw: Vec<f64>,
    /// Output cotangent of one network, `(points, n_out)` row-major.
    d_out: Vec<f64>,
}

/// Multi-layer perceptrons producing a simulator operator's parameters at
/// every cell (see the module documentation).
pub struct MlpModel {
    op: Box<dyn Operator + Send>,
    kind: MlpKind,
    net: Mlp,
    n_nets: usize,
    /// Velocity inputs, one row per cell.
    base: Array2<f64>,
    conditioners: Conditioners,
    /// Network outputs of one slot -> the operator's parameters of one slot.
    map: SparseLinear,
    seed: u64,
    /// Forward passes and scratch per condition, reused by the vector-Jacobian
    /// product at the same parameters.
    caches: Vec<Mutex<Cache>>,
}

/// The Fokker-Planck fields model (five networks of the velocity).
pub type MlpFieldModel = MlpModel;

impl MlpModel {
    /// Five field networks with `hidden` layer widths, LeakyReLU(0.01), no conditioners, seeded.
    pub fn new(
        grid: VelocityGrid,
        scheme: Scheme,
        clamp_d: bool,
        hidden: &[usize],
        seed: u64,
    ) -> Result<Self, LearnError> {
        Self::build(grid, MlpKind::Fields, scheme, clamp_d, hidden, seed, Conditioners::none())
    }

    /// Networks of `kind` with `hidden` layer widths and LeakyReLU(0.01),
    /// seeded, with `conditioners` as extra inputs. Fokker-Planck kinds use
    /// `scheme` and the optional clamp `D_xx, D_yy >= 0`.
    pub fn build(
        grid: VelocityGrid,
        kind: MlpKind,
        scheme: Scheme,
        clamp_d: bool,
        hidden: &[usize],
        seed: u64,
        conditioners: Conditioners,
    ) -> Result<Self, LearnError> {
        conditioners.validate()?;
        let slots = conditioners.time.map_or(1, |t| t.n_slots);
        let n = grid.len();
        let fp = |slots| -> Result<Box<dyn Operator + Send>, LearnError> {
            Ok(Box::new(FokkerPlanck::with_slots(grid, scheme, slots)?.with_diffusion_clamp(clamp_d)))
        };
        let (op, base, map, n_nets, n_out) = match kind {
            MlpKind::Fields => (fp(slots)?, grid_inputs(&grid, &[]), SparseLinear::identity(5 * n), 5, 1),
            MlpKind::ParPerp => {
                let vmax = grid.corner_speed();
                let base = Array2::from_shape_fn((n, 1), |(c, _)| {
                    let (v, _) = grid.cell_speed_and_direction(c / grid.ny, c % grid.ny);
                    2.0 * v / vmax - 1.0
                });
                (fp(slots)?, base, radial_rotation(&grid), 3, 1)
            }
            MlpKind::Kernel { k, difference, transpose } => {
                let op = KernelOperator::with_slots(grid, k, difference, slots)?;
                let (map, _) = kernel_map(&grid, k, transpose)?;
                let n_out = if transpose { k * k } else { 2 * k * k };
                (Box::new(op) as Box<dyn Operator + Send>, grid_inputs(&grid, &[]), map, 1, n_out)
            }
        };
        let n_in = base.ncols() + usize::from(conditioners.time.is_some()) + conditioners.n_features();
        let net = Mlp::new(n_in, hidden, n_out, Activation::leaky_relu())
            .map_err(|e| LearnError::Config(e.to_string()))?;
        let caches = (0..conditioners.n_conditions()).map(|_| Mutex::new(Cache::default())).collect();
        Ok(Self { op, kind, net, n_nets, base, conditioners, map, seed, caches })
    }

    /// The family.
    pub fn kind(&self) -> MlpKind {
        self.kind
    }

    /// The network architecture (the same for every network of the model).
    pub fn net(&self) -> &Mlp {
        &self.net
    }

    /// Number of networks.
    pub fn n_nets(&self) -> usize {
        self.n_nets
    }

    /// The conditioners.
    pub fn conditioners(&self) -> &Conditioners {
        &self.conditioners
    }

    /// The network inputs of condition `condition` at dump step `slot`, one row per cell.
    pub fn inputs(&self, condition: usize, slot: usize) -> Array2<f64> {
        let mut x = Array2::zeros((self.base.nrows(), self.net.inputs()));
        self.fill_inputs(&mut x, condition);
        self.set_time(&mut x, slot);
        x
    }

    fn fill_inputs(&self, x: &mut Array2<f64>, condition: usize) {
        let nb = self.base.ncols();
        let offset = nb + usize::from(self.conditioners.time.is_some());
        let features = self.conditioners.conditions.get(condition).map_or(&[][..], Vec::as_slice);
        for (mut row, b) in x.rows_mut().into_iter().zip(self.base.rows()) {
            row.iter_mut().zip(b).for_each(|(r, &v)| *r = v);
            row.iter_mut().skip(offset).zip(features).for_each(|(r, &v)| *r = v);
        }
    }

    fn set_time(&self, x: &mut Array2<f64>, slot: usize) {
        if let Some(t) = self.conditioners.time {
            x.column_mut(self.base.ncols()).fill(t.value(slot));
        }
    }

    fn per_net(&self) -> usize {
        self.net.nparams()
    }

    fn n_slots(&self) -> usize {
        self.op.n_slots()
    }

    /// The per-condition cache, laid out for this model.
    fn cache(&self, condition: usize) -> std::sync::MutexGuard<'_, Cache> {
        let mut guard = self.caches[condition].lock().unwrap_or_else(|e| e.into_inner());
        if guard.ws.len() != self.n_nets {
            let points = self.base.nrows();
            let c = &mut *guard;
            c.inputs = Array2::zeros((points, self.net.inputs()));
            self.fill_inputs(&mut c.inputs, condition);
            c.ws = (0..self.n_nets).map(|_| self.net.workspace(points)).collect();
            c.raw = vec![0.0; self.map.cols()];
            c.d_out = vec![0.0; points * self.net.outputs()];
            c.slot = None;
        }
        guard
    }

    /// Run the forward passes of `slot` at `phi` into `cache` (if not there yet).
    /// Refuse parameters of another network shape, operator parameters of
    /// another length and conditions the model does not have.
    fn check_call(&self, phi: &[f64], condition: usize, n_theta: usize) -> Result<(), LearnError> {
        crate::model::check_lengths("network parameters", phi.len(), self.nparams())?;
        crate::model::check_lengths("operator parameters", n_theta, self.op.nparams())?;
        if condition >= self.conditioners.n_conditions() {
            return Err(LearnError::Data(format!(
                "condition {condition} asked for, the model has {}",
                self.conditioners.n_conditions()
            )));
        }
        Ok(())
    }

    fn forward(&self, cache: &mut Cache, phi: &[f64], slot: usize) -> Result<(), LearnError> {
        if cache.slot == Some(slot) && cache.phi == phi {
            return Ok(());
        }
        cache.slot = None;
        self.set_time(&mut cache.inputs, slot);
        let p = self.per_net();
        for (f, ws) in cache.ws.iter_mut().enumerate() {
            self.net
                .forward(&phi[f * p..(f + 1) * p], cache.inputs.view(), ws)
                .map_err(|e| LearnError::Data(format!("the network cannot be evaluated: {e}")))?;
        }
        cache.phi.clear();
        cache.phi.extend_from_slice(phi);
        cache.slot = Some(slot);
        Ok(())
    }

    fn try_theta(&self, phi: &[f64], condition: usize, theta: &mut [f64]) -> Result<(), LearnError> {
        self.check_call(phi, condition, theta.len())?;
        let mut guard = self.cache(condition);
        let cache = &mut *guard;
        let per = self.map.rows();
        let (points, n_out) = (self.base.nrows(), self.net.outputs());
        for s in 0..self.n_slots() {
            self.forward(cache, phi, s)?;
            for (f, ws) in cache.ws.iter().enumerate() {
                let out: ArrayView2<'_, f64> = ws.outputs().expect("forward pass done");
                for o in 0..n_out {
                    let dst = &mut cache.raw[(f * n_out + o) * points..(f * n_out + o + 1) * points];
                    dst.iter_mut().zip(out.column(o)).for_each(|(d, &v)| *d = v);
                }
            }
            self.map.apply(&cache.raw, &mut theta[s * per..(s + 1) * per]);
        }
        Ok(())
    }

    fn try_theta_vjp(
        &self,
        phi: &[f64],
        condition: usize,
        dtheta: &[f64],
        dphi: &mut [f64],
    ) -> Result<(), LearnError> {
        self.check_call(phi, condition, dtheta.len())?;
        crate::model::check_lengths("network parameter gradient", dphi.len(), self.nparams())?;
        let mut guard = self.cache(condition);
        let cache = &mut *guard;
        let per = self.map.rows();
        let p = self.per_net();
        let (points, n_out) = (self.base.nrows(), self.net.outputs());
        // Backwards over the slots: the last one is still cached from `theta_for`.
        for s in (0..self.n_slots()).rev() {
            let ds = &dtheta[s * per..(s + 1) * per];
            if ds.iter().all(|&d| d == 0.0) {
                continue;
            }
            self.forward(cache, phi, s)?;
            cache.raw.fill(0.0);
            self.map.apply_transpose(ds, &mut cache.raw);
            for (f, ws) in cache.ws.iter_mut().enumerate() {
                for o in 0..n_out {
                    let src = &cache.raw[(f * n_out + o) * points..(f * n_out + o + 1) * points];
                    for (pt, &v) in src.iter().enumerate() {
                        cache.d_out[pt * n_out + o] = v;
                    }
                }
                let d_out =
                    ArrayView2::from_shape((points, n_out), &cache.d_out[..]).expect("points x n_out");
                self.net
                    .backward(&phi[f * p..(f + 1) * p], ws, d_out, &mut dphi[f * p..(f + 1) * p], None)
                    .map_err(|e| LearnError::Diverged(e.to_string()))?;
            }
        }
        Ok(())
    }
}

impl Model for MlpModel {
    fn operator(&self) -> &dyn Operator {
        self.op.as_ref()
    }

    fn nparams(&self) -> usize {
        self.n_nets * self.per_net()
    }

    fn init(&self) -> Vec<f64> {
        (0..self.n_nets as u64)
            .flat_map(|f| self.net.init(self.seed.wrapping_mul(31).wrapping_add(f)))
            .collect()
    }

    /// Condition 0.
    fn theta(&self, phi: &[f64], theta: &mut [f64]) -> Result<(), LearnError> {
        self.theta_for(phi, 0, theta)
    }

    fn theta_vjp(&self, phi: &[f64], dtheta: &[f64], dphi: &mut [f64]) -> Result<(), LearnError> {
        self.theta_vjp_for(phi, 0, dtheta, dphi)
    }

    fn n_conditions(&self) -> usize {
        self.conditioners.n_conditions()
    }

    fn theta_for(&self, phi: &[f64], condition: usize, theta: &mut [f64]) -> Result<(), LearnError> {
        self.try_theta(phi, condition, theta)
    }

    fn theta_vjp_for(
        &self,
        phi: &[f64],
        condition: usize,
        dtheta: &[f64],
        dphi: &mut [f64],
    ) -> Result<(), LearnError> {
        self.try_theta_vjp(phi, condition, dtheta, dphi)
    }

    fn describe(&self) -> String {
        let what = match self.kind {
            MlpKind::Fields => "FP MLP fields".to_string(),
            MlpKind::ParPerp => "FP par/perp MLP profiles".to_string(),
            MlpKind::Kernel { k, transpose, .. } => {
                format!("kernel MLP, k = {k}{}", if transpose { ", transpose symmetry" } else { "" })
            }
        };
        let mut cond = Vec::new();
        if let Some(t) = self.conditioners.time {
            cond.push(format!("time over {} steps", t.window_steps));
        }
        let nf = self.conditioners.n_features();
        if nf > 0 {
            cond.push(format!("{nf} features x {} conditions", self.n_conditions()));
        }
        let cond =
            if cond.is_empty() { String::new() } else { format!(", conditioners: {}", cond.join(", ")) };
        format!(
            "{what}, {} x MLP {:?}{cond} ({} parameters) -> {}",
            self.n_nets,
            self.net.sizes(),
            self.nparams(),
            self.op.describe()
        )
    }
}
