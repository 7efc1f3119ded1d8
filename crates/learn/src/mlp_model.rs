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
//! ## Evaluation: once per distinct input, all slots in one batch
//!
//! A network's input is the cell's velocity input, the slot's time and the
//! condition's features. Cells with the same velocity input row (compared
//! bit for bit) get the same outputs, so each network is evaluated once
//! per DISTINCT velocity input and slot: for the par/perp networks the
//! distinct speeds `|v|` (470 of the 2601 cells of the reference 51 x 51
//! grid: the speeds of cells mirrored about an axis agree to the bit only
//! where the cell centres do), for the other kinds every cell (their inputs
//! differ per cell). The outputs reach the cells through the kind's map
//! composed with that gather (`P G`), so the vector-Jacobian product sums
//! the cotangents of the cells sharing an input before the network's
//! backward pass. The slots are stacked into one batch of `slots x
//! distinct inputs` rows (slot slowest), evaluated by one forward pass per
//! network, whose activations the vector-Jacobian product reuses.
//!
//! ## Cache and memory
//!
//! Each condition keeps, per network, the activations of one BLOCK of
//! consecutive slots, keyed by the parameters `phi` they were computed at
//! (compared bit for bit); the blocks are as large as a budget of
//! [`CACHE_BYTES`] over all networks and conditions allows (at least one
//! slot). Kept per row of a block and per network, in `f64`: the inputs
//! and hidden activations (`n_in + sum(hidden)`), the output and its
//! cotangent (`2 n_out`) and a share of the blocks' parameter gradients
//! (`nparams / CHUNK`) -- about 150 values (1.2 kB) for 2 x 64 hidden units,
//! so the reference par/perp network with a time input (3 networks, 470
//! distinct speeds x 95 slots = 44 650 rows each) keeps about 160 MB in one
//! block. When all slots fit in one block, `theta` runs every forward pass
//! once and the vector-Jacobian product at the same `phi` recomputes
//! nothing (and `theta` again at the same `phi`, as for the validation
//! windows, only re-gathers the outputs). When they do not (e.g. the field
//! networks of a large grid with a time input), the vector-Jacobian product
//! recomputes the forward pass of every block but the last one `theta` left.
//!
//! The cache is invalidated by any change of `phi` (the next call runs the
//! forward passes again); conditions never share a cache (their inputs
//! differ), so evaluating another condition keeps this one's.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Mutex;

use collop_core::VelocityGrid;
use collop_fp::{Difference, FokkerPlanck, KernelOperator, Operator, Scheme};
use ndarray::{Array2, ArrayView2, Axis, s};

use crate::linear::SparseLinear;
use crate::model::{kernel_map, radial_rotation};
use crate::nn::{Activation, CHUNK, Mlp, MlpWorkspace, grid_inputs};
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

/// Memory budget of the activations an [`MlpModel`] keeps, over all its
/// networks and conditions (see the module documentation): 256 MiB.
pub const CACHE_BYTES: usize = 256 << 20;

/// Forward passes of one condition over one block of slots, and scratch.
#[derive(Default)]
struct Cache {
    /// Parameters of the forward passes held in `ws`.
    phi: Vec<f64>,
    /// The block of slots `ws` holds at `phi`, if any.
    block: Option<usize>,
    /// Network inputs of a block, `(slots x distinct inputs, n_in)`, slot
    /// slowest; the velocity and feature columns are filled once, the time
    /// column per block.
    inputs: Array2<f64>,
    /// One workspace per network.
    ws: Vec<MlpWorkspace>,
    /// One slot's network outputs (or their cotangents) in the layout of
    /// the composed map's input: net, output, distinct input.
    raw: Vec<f64>,
    /// Output cotangents of a block per network, `(rows, n_out)` row-major.
    d_out: Vec<Vec<f64>>,
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
    /// The distinct rows of `base`, in order of first appearance.
    distinct: Array2<f64>,
    conditioners: Conditioners,
    /// Network outputs of one slot at the distinct inputs -> the operator's
    /// parameters of one slot (the kind's map of cell outputs composed with
    /// the gather of each cell's distinct input).
    map: SparseLinear,
    /// Slots per block of the batched forward pass.
    block_slots: usize,
    seed: u64,
    /// Forward passes and scratch per condition, reused by the vector-Jacobian
    /// product at the same parameters.
    caches: Vec<Mutex<Cache>>,
}

/// The Fokker-Planck fields model (five networks of the velocity).
pub type MlpFieldModel = MlpModel;

/// The distinct rows of `base` (compared bit for bit) in order of first
/// appearance, and the distinct row of every row.
fn distinct_rows(base: &Array2<f64>) -> (Array2<f64>, Vec<usize>) {
    let mut seen: HashMap<Vec<u64>, usize> = HashMap::new();
    let mut firsts = Vec::new();
    let of_row = base
        .rows()
        .into_iter()
        .enumerate()
        .map(|(r, row)| {
            let key = row.iter().map(|v| v.to_bits()).collect();
            *seen.entry(key).or_insert_with(|| {
                firsts.push(r);
                firsts.len() - 1
            })
        })
        .collect();
    (base.select(Axis(0), &firsts), of_row)
}

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
        let (op, base, cell_map, n_nets, n_out) = match kind {
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
        // The gather G: output o of net f at cell c <- the same at the cell's distinct input.
        let (distinct, of_cell) = distinct_rows(&base);
        let n_distinct = distinct.nrows();
        let gather = SparseLinear::new(
            n_nets * n_out * n,
            n_nets * n_out * n_distinct,
            (0..n_nets * n_out)
                .flat_map(|fo| {
                    of_cell
                        .iter()
                        .enumerate()
                        .map(move |(c, &u)| ((fo * n + c) as u32, (fo * n_distinct + u) as u32, 1.0))
                })
                .collect(),
        );
        let map = cell_map.compose(&gather);
        let caches = (0..conditioners.n_conditions()).map(|_| Mutex::new(Cache::default())).collect();
        let model =
            Self { op, kind, net, n_nets, base, distinct, conditioners, map, block_slots: 1, seed, caches };
        Ok(model.with_cache_bytes(CACHE_BYTES))
    }

    /// The same model with a budget of `bytes` for the activations it keeps
    /// over all networks and conditions (default [`CACHE_BYTES`]; see the
    /// module documentation): blocks of as many slots as fit, at least one.
    /// A smaller budget trades memory for recomputed forward passes in the
    /// vector-Jacobian product; results agree to round-off.
    pub fn with_cache_bytes(self, bytes: usize) -> Self {
        // Values kept per row and network, plus the block's inputs.
        let (n_in, n_out) = (self.net.inputs(), self.net.outputs());
        let per_row = 2 * n_in
            + self.net.hidden().iter().sum::<usize>()
            + 2 * n_out
            + self.net.nparams().div_ceil(CHUNK);
        let rows_per_slot = self.n_nets * self.conditioners.n_conditions() * self.distinct.nrows();
        self.with_slots_per_block(bytes / (8 * per_row * rows_per_slot))
    }

    /// Blocks of `slots` slots (at least one, at most all), empty caches.
    fn with_slots_per_block(mut self, slots: usize) -> Self {
        self.block_slots = slots.clamp(1, self.n_slots());
        self.caches = (0..self.conditioners.n_conditions()).map(|_| Mutex::new(Cache::default())).collect();
        self
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

    /// Number of distinct velocity inputs: the rows each network is
    /// evaluated at per slot and condition.
    pub fn n_distinct_inputs(&self) -> usize {
        self.distinct.nrows()
    }

    /// Slots per block of the batched forward pass (all slots: the
    /// vector-Jacobian product recomputes no forward pass).
    pub fn slots_per_block(&self) -> usize {
        self.block_slots
    }

    /// The network inputs of condition `condition` at dump step `slot`, one row per cell.
    pub fn inputs(&self, condition: usize, slot: usize) -> Array2<f64> {
        let mut x = Array2::zeros((self.base.nrows(), self.net.inputs()));
        let features = self.features(condition);
        self.fill_velocity_and_features(&mut x, &self.base, 1, features);
        self.set_time(&mut x, slot..slot + 1, self.base.nrows());
        x
    }

    fn features(&self, condition: usize) -> &[f64] {
        self.conditioners.conditions.get(condition).map_or(&[][..], Vec::as_slice)
    }

    /// Fill `repeats` stacked copies of `velocity` (one row per point) with
    /// the features after the time column.
    fn fill_velocity_and_features(
        &self,
        x: &mut Array2<f64>,
        velocity: &Array2<f64>,
        repeats: usize,
        features: &[f64],
    ) {
        let nb = velocity.ncols();
        let offset = nb + usize::from(self.conditioners.time.is_some());
        let rows = x.rows_mut().into_iter().take(repeats * velocity.nrows());
        for (mut row, b) in rows.zip(velocity.rows().into_iter().cycle()) {
            row.iter_mut().zip(b).for_each(|(r, &v)| *r = v);
            row.iter_mut().skip(offset).zip(features).for_each(|(r, &v)| *r = v);
        }
    }

    /// Write the time input of `slots` into the stacked rows of `x`,
    /// `points` rows per slot.
    fn set_time(&self, x: &mut Array2<f64>, slots: Range<usize>, points: usize) {
        if let Some(t) = self.conditioners.time {
            let mut column = x.column_mut(self.base.ncols());
            for (k, s) in slots.enumerate() {
                column.slice_mut(s![k * points..(k + 1) * points]).fill(t.value(s));
            }
        }
    }

    fn per_net(&self) -> usize {
        self.net.nparams()
    }

    fn n_slots(&self) -> usize {
        self.op.n_slots()
    }

    fn n_blocks(&self) -> usize {
        self.n_slots().div_ceil(self.block_slots)
    }

    /// The slots of block `b`.
    fn block(&self, b: usize) -> Range<usize> {
        b * self.block_slots..((b + 1) * self.block_slots).min(self.n_slots())
    }

    /// The per-condition cache, laid out for this model.
    fn cache(&self, condition: usize) -> std::sync::MutexGuard<'_, Cache> {
        let mut guard = self.caches[condition].lock().unwrap_or_else(|e| e.into_inner());
        if guard.ws.len() != self.n_nets {
            let rows = self.block_slots * self.distinct.nrows();
            let c = &mut *guard;
            c.inputs = Array2::zeros((rows, self.net.inputs()));
            self.fill_velocity_and_features(
                &mut c.inputs,
                &self.distinct,
                self.block_slots,
                self.features(condition),
            );
            c.ws = (0..self.n_nets).map(|_| MlpWorkspace::new()).collect();
            c.raw = vec![0.0; self.map.cols()];
            c.d_out = vec![vec![0.0; rows * self.net.outputs()]; self.n_nets];
            c.block = None;
        }
        guard
    }

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

    /// Run the forward passes of block `b` at `phi` into `cache` (if not there yet).
    fn forward(&self, cache: &mut Cache, phi: &[f64], b: usize) -> Result<(), LearnError> {
        if cache.block == Some(b) && cache.phi == phi {
            return Ok(());
        }
        cache.block = None;
        let slots = self.block(b);
        let points = self.distinct.nrows();
        let rows = slots.len() * points;
        self.set_time(&mut cache.inputs, slots, points);
        let p = self.per_net();
        let x = cache.inputs.slice(s![..rows, ..]);
        for (f, ws) in cache.ws.iter_mut().enumerate() {
            self.net
                .forward(&phi[f * p..(f + 1) * p], x, ws)
                .map_err(|e| LearnError::Data(format!("the network cannot be evaluated: {e}")))?;
        }
        cache.phi.clear();
        cache.phi.extend_from_slice(phi);
        cache.block = Some(b);
        Ok(())
    }

    fn try_theta(&self, phi: &[f64], condition: usize, theta: &mut [f64]) -> Result<(), LearnError> {
        self.check_call(phi, condition, theta.len())?;
        let mut guard = self.cache(condition);
        let cache = &mut *guard;
        let per = self.map.rows();
        let (points, n_out) = (self.distinct.nrows(), self.net.outputs());
        // Blocks in order, so that the last one stays for the vector-Jacobian product.
        for b in 0..self.n_blocks() {
            self.forward(cache, phi, b)?;
            for (k, s) in self.block(b).enumerate() {
                for (f, ws) in cache.ws.iter().enumerate() {
                    let out: ArrayView2<'_, f64> = ws.outputs().expect("forward pass done");
                    let out = out.slice(s![k * points..(k + 1) * points, ..]);
                    for o in 0..n_out {
                        let dst = &mut cache.raw[(f * n_out + o) * points..(f * n_out + o + 1) * points];
                        dst.iter_mut().zip(out.column(o)).for_each(|(d, &v)| *d = v);
                    }
                }
                self.map.apply(&cache.raw, &mut theta[s * per..(s + 1) * per]);
            }
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
        let (points, n_out) = (self.distinct.nrows(), self.net.outputs());
        // Backwards over the blocks: the last one is still cached from `theta_for`.
        for b in (0..self.n_blocks()).rev() {
            let slots = self.block(b);
            if dtheta[slots.start * per..slots.end * per].iter().all(|&d| d == 0.0) {
                continue;
            }
            self.forward(cache, phi, b)?;
            let rows = slots.len() * points;
            for d in &mut cache.d_out {
                d[..rows * n_out].fill(0.0);
            }
            for (k, s) in slots.enumerate() {
                let ds = &dtheta[s * per..(s + 1) * per];
                if ds.iter().all(|&d| d == 0.0) {
                    continue;
                }
                cache.raw.fill(0.0);
                self.map.apply_transpose(ds, &mut cache.raw);
                for (f, d_out) in cache.d_out.iter_mut().enumerate() {
                    for o in 0..n_out {
                        let src = &cache.raw[(f * n_out + o) * points..(f * n_out + o + 1) * points];
                        for (pt, &v) in src.iter().enumerate() {
                            d_out[(k * points + pt) * n_out + o] = v;
                        }
                    }
                }
            }
            for (f, ws) in cache.ws.iter_mut().enumerate() {
                let d_out = ArrayView2::from_shape((rows, n_out), &cache.d_out[f][..rows * n_out])
                    .expect("rows x n_out");
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

#[cfg(test)]
mod tests {
    //! The batched evaluation (distinct inputs, slots stacked, activations
    //! kept) against a straightforward per-cell, per-slot evaluation written
    //! here with plain loops; the vector-Jacobian product of the
    //! time-conditioned par/perp model against central differences and by
    //! the dot-product test.

    use super::*;
    use collop_fp::Edges;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
        (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// Activations of every layer of `net` at one input row `x` (the
    /// input, each hidden layer after its activation, the output), by loops
    /// over the documented parameter layout.
    fn naive_forward(net: &Mlp, params: &[f64], x: &[f64]) -> Vec<Vec<f64>> {
        let mut acts = vec![x.to_vec()];
        for l in 0..net.nlayers() {
            let (w, b) = (&params[net.weight_range(l).unwrap()], &params[net.bias_range(l).unwrap()]);
            let a = acts.last().unwrap();
            let fan_in = a.len();
            let z: Vec<f64> = (0..b.len())
                .map(|o| b[o] + (0..fan_in).map(|i| w[o * fan_in + i] * a[i]).sum::<f64>())
                .collect();
            let hidden = l + 1 < net.nlayers();
            acts.push(if hidden { z.iter().map(|&v| net.activation().apply(v)).collect() } else { z });
        }
        acts
    }

    /// `d_params += (d y / d params)^T d_y` at one row, from its activations.
    fn naive_backward(net: &Mlp, params: &[f64], acts: &[Vec<f64>], d_y: &[f64], d_params: &mut [f64]) {
        let mut g = d_y.to_vec();
        for l in (0..net.nlayers()).rev() {
            let (wr, br) = (net.weight_range(l).unwrap(), net.bias_range(l).unwrap());
            let a = &acts[l];
            let fan_in = a.len();
            for (o, &go) in g.iter().enumerate() {
                d_params[br.start + o] += go;
                for (i, &ai) in a.iter().enumerate() {
                    d_params[wr.start + o * fan_in + i] += go * ai;
                }
            }
            if l > 0 {
                let slope = match net.activation() {
                    Activation::LeakyRelu(s) => s,
                    _ => unreachable!("the models use LeakyReLU"),
                };
                g = (0..fan_in)
                    .map(|i| {
                        let back: f64 =
                            g.iter().enumerate().map(|(o, &go)| go * params[wr.start + o * fan_in + i]).sum();
                        back * if a[i] > 0.0 { 1.0 } else { slope }
                    })
                    .collect();
            }
        }
    }

    /// The per-cell map and the velocity input of each cell, built here
    /// from the grid (not from the model's tables).
    fn per_cell(grid: &VelocityGrid, kind: MlpKind) -> (SparseLinear, Vec<Vec<f64>>) {
        let centre = |i: usize, n: usize| ((2 * i + 1) as f64 - n as f64) / n as f64;
        let cells = (0..grid.nx).flat_map(|i| (0..grid.ny).map(move |j| (i, j)));
        match kind {
            MlpKind::ParPerp => {
                let vmax = grid.corner_speed();
                let x = cells.map(|(i, j)| vec![2.0 * grid.cell_speed_and_direction(i, j).0 / vmax - 1.0]);
                (radial_rotation(grid), x.collect())
            }
            MlpKind::Fields => {
                let x = cells.map(|(i, j)| vec![centre(i, grid.nx), centre(j, grid.ny)]);
                (SparseLinear::identity(5 * grid.len()), x.collect())
            }
            MlpKind::Kernel { k, transpose, .. } => {
                let x = cells.map(|(i, j)| vec![centre(i, grid.nx), centre(j, grid.ny)]);
                (kernel_map(grid, k, transpose).unwrap().0, x.collect())
            }
        }
    }

    /// The input row of a cell at slot `s` under condition `c`.
    fn row(m: &MlpModel, v: &[f64], s: usize, c: usize) -> Vec<f64> {
        let mut x = v.to_vec();
        if let Some(t) = m.conditioners.time {
            x.push(2.0 * s as f64 / (t.window_steps - 1) as f64 - 1.0);
        }
        x.extend(m.conditioners.conditions.get(c).into_iter().flatten());
        x
    }

    /// `theta` and `dphi = J^T dtheta` cell by cell and slot by slot.
    fn reference(m: &MlpModel, phi: &[f64], c: usize, dtheta: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let grid = *m.op.grid();
        let (map, velocity) = per_cell(&grid, m.kind);
        let (n, n_out, p) = (grid.len(), m.net.outputs(), m.net.nparams());
        let per = map.rows();
        let mut theta = vec![0.0; m.op.nparams()];
        let mut dphi = vec![0.0; m.nparams()];
        for s in 0..m.op.n_slots() {
            let mut raw = vec![0.0; map.cols()];
            let mut raw_bar = vec![0.0; map.cols()];
            map.apply_transpose(&dtheta[s * per..(s + 1) * per], &mut raw_bar);
            for (cell, v) in velocity.iter().enumerate() {
                let x = row(m, v, s, c);
                for f in 0..m.n_nets {
                    let params = &phi[f * p..(f + 1) * p];
                    let acts = naive_forward(&m.net, params, &x);
                    let d_y: Vec<f64> = (0..n_out).map(|o| raw_bar[(f * n_out + o) * n + cell]).collect();
                    for (o, &y) in acts.last().unwrap().iter().enumerate() {
                        raw[(f * n_out + o) * n + cell] = y;
                    }
                    naive_backward(&m.net, params, &acts, &d_y, &mut dphi[f * p..(f + 1) * p]);
                }
            }
            map.apply(&raw, &mut theta[s * per..(s + 1) * per]);
        }
        (theta, dphi)
    }

    fn max_abs(v: &[f64]) -> f64 {
        v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
    }

    fn conditioner_sets() -> Vec<(&'static str, Conditioners)> {
        let time = TimeInput { window_steps: 4, n_slots: 6 };
        let features = vec![vec![-1.0, 0.5], vec![0.25, 1.5]];
        vec![
            ("none", Conditioners::none()),
            ("time", Conditioners { time: Some(time), conditions: Vec::new() }),
            ("features", Conditioners { time: None, conditions: features.clone() }),
            ("time + features", Conditioners { time: Some(time), conditions: features }),
        ]
    }

    #[test]
    fn batched_evaluation_matches_a_per_cell_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        // Odd and even, square and oblong grids (repeated speeds on the
        // symmetric ones), and the reference 51 x 51 grid.
        let grids = [
            VelocityGrid::square(7, 3.0).unwrap(),
            VelocityGrid::new(6, 5, [-3.0, 3.0], [-2.0, 2.5]).unwrap(),
            VelocityGrid::square(51, 5.0).unwrap(),
        ];
        for grid in grids {
            // The transpose symmetry needs a square grid.
            let transpose = grid.nx == grid.ny;
            let kernel = MlpKind::Kernel { k: 3, difference: collop_fp::Difference::Centred, transpose };
            for kind in [MlpKind::ParPerp, MlpKind::Fields, kernel] {
                for (name, cond) in conditioner_sets() {
                    let big = grid.nx > 10;
                    if big && (kind != MlpKind::ParPerp || name != "time") {
                        continue;
                    }
                    let hidden: &[usize] = if big { &[6, 5] } else { &[5, 4] };
                    let built = |cond: Conditioners| {
                        MlpModel::build(grid, kind, Scheme::Reference(Edges::Guard), false, hidden, 5, cond)
                            .unwrap()
                    };
                    let slots = cond.time.map_or(1, |t| t.n_slots);
                    // All slots in one block, one slot per block, and blocks of 4 (a partial last one).
                    for block in [slots, 1, 4] {
                        let m = built(cond.clone()).with_slots_per_block(block);
                        let tag = format!("{grid}, {kind:?}, conditioners {name}, {block} slots per block");
                        let phi = random(&mut rng, m.nparams());
                        for c in 0..m.n_conditions() {
                            let dtheta = random(&mut rng, m.op.nparams());
                            let (want_theta, want_dphi) = reference(&m, &phi, c, &dtheta);
                            let mut theta = vec![0.0; m.op.nparams()];
                            m.theta_for(&phi, c, &mut theta).unwrap();
                            let mut dphi = vec![0.0; m.nparams()];
                            m.theta_vjp_for(&phi, c, &dtheta, &mut dphi).unwrap();
                            // Each theta is one network output times one map
                            // weight: the same sums in another order (matrix
                            // products vs loops), round-off of a few ulps.
                            let scale = max_abs(&want_theta);
                            for (a, b) in theta.iter().zip(&want_theta) {
                                assert!((a - b).abs() <= 1e-13 * scale, "{tag}: theta {a} vs {b}");
                            }
                            // dphi sums up to slots x cells terms per entry, grouped
                            // differently (cells sharing an input first, then blocks
                            // of 256 rows): relative round-off ~ sqrt(terms) eps, far
                            // below 1e-11 of the largest entry for these sizes.
                            let scale = max_abs(&want_dphi);
                            for (a, b) in dphi.iter().zip(&want_dphi) {
                                assert!((a - b).abs() <= 1e-11 * scale, "{tag}: dphi {a} vs {b}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn speeds_are_evaluated_once_and_the_reference_model_fits_one_block() {
        let grid = VelocityGrid::square(51, 5.0).unwrap();
        let time = TimeInput { window_steps: 95, n_slots: 95 };
        let build = |kind| {
            let cond = Conditioners { time: Some(time), conditions: Vec::new() };
            MlpModel::build(grid, kind, Scheme::Reference(Edges::OneSided), false, &[64, 64], 0, cond)
                .unwrap()
        };
        let m = build(MlpKind::ParPerp);
        // Distinct speeds bit for bit: cells related by the swap v_x <-> v_y
        // share them (hypot is symmetric), mirrored cells only where the
        // centres -v and v agree to the bit.
        assert_eq!(m.n_distinct_inputs(), 470);
        assert_eq!(m.slots_per_block(), 95, "the reference model keeps every slot");
        let phi = m.init();
        let mut theta = vec![0.0; m.op.nparams()];
        m.theta(&phi, &mut theta).unwrap();
        let dtheta = vec![1e-3; theta.len()];
        let mut dphi = vec![0.0; m.nparams()];
        m.theta_vjp(&phi, &dtheta, &mut dphi).unwrap();
        let cache = m.cache(0);
        let kept = 8
            * (cache.ws.iter().map(MlpWorkspace::capacity).sum::<usize>()
                + cache.inputs.len()
                + cache.d_out.iter().map(Vec::capacity).sum::<usize>());
        assert!(kept <= CACHE_BYTES, "{kept} bytes kept, budget {CACHE_BYTES}");
        // 3 networks x 44 650 rows x ~150 values: about 160 MB.
        assert!(kept > 120 << 20, "{kept} bytes kept");
        drop(cache);

        // The field networks have no repeated inputs and need several blocks.
        let m = build(MlpKind::Fields);
        assert_eq!(m.n_distinct_inputs(), 2601);
        assert!(m.slots_per_block() < 95 && m.slots_per_block() > 5, "{}", m.slots_per_block());
    }

    /// The time-conditioned par/perp model on an odd grid (repeated
    /// speeds), with all slots in one block and with partial blocks:
    /// `theta_vjp` against central differences of `theta` in random
    /// directions, and the dot-product test `<J u, w> = <u, J^T w>` for
    /// directions `u` in the output layers' weights and biases, along which
    /// `theta` is affine so that `J u = theta(phi + u) - theta(phi)` exactly.
    #[test]
    fn time_conditioned_parperp_vjp_is_the_exact_transpose() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let grid = VelocityGrid::square(15, 4.0).unwrap();
        let cond =
            Conditioners { time: Some(TimeInput { window_steps: 6, n_slots: 8 }), conditions: Vec::new() };
        for block in [8, 3] {
            let m = MlpModel::build(
                grid,
                MlpKind::ParPerp,
                Scheme::Reference(Edges::Guard),
                false,
                &[8, 8],
                4,
                cond.clone(),
            )
            .unwrap()
            .with_slots_per_block(block);
            let theta_at = |p: &[f64]| {
                let mut t = vec![0.0; m.op.nparams()];
                m.theta(p, &mut t).unwrap();
                t
            };
            let phi = m.init();
            let w = random(&mut rng, m.op.nparams());
            let mut g = vec![0.0; m.nparams()];
            m.theta_vjp(&phi, &w, &mut g).unwrap();

            // Central differences: truncation O(h^2) and round-off
            // ~1e-16 |terms| / h ~ 1e-10 relative, so 1e-6 of the scale of the
            // terms is a wide margin, while a wrong index or a missing
            // term is an O(1) error. A step of 1e-6 crosses no LeakyReLU kink
            // with these seeds (a crossing would show as an O(1e-3) error).
            for _ in 0..3 {
                let u = random(&mut rng, m.nparams());
                let h = 1e-6;
                let shifted =
                    |s: f64| theta_at(&phi.iter().zip(&u).map(|(p, u)| p + s * u).collect::<Vec<_>>());
                let fd = (dot(&shifted(h), &w) - dot(&shifted(-h), &w)) / (2.0 * h);
                let an = dot(&u, &g);
                let scale = g.iter().zip(&u).map(|(a, b)| (a * b).abs()).sum::<f64>();
                assert!((fd - an).abs() <= 1e-6 * scale, "{block} slots per block: vjp {an} vs FD {fd}");
            }

            // Dot-product test along the output layers.
            let last = m.net.nlayers() - 1;
            let (wr, br) = (m.net.weight_range(last).unwrap(), m.net.bias_range(last).unwrap());
            let mut u = vec![0.0; m.nparams()];
            for f in 0..m.n_nets {
                let off = f * m.net.nparams();
                for i in wr.start..br.end {
                    u[off + i] = rng.random_range(-1.0..1.0);
                }
            }
            let base = theta_at(&phi);
            let moved = theta_at(&phi.iter().zip(&u).map(|(p, u)| p + u).collect::<Vec<_>>());
            let ju: Vec<f64> = moved.iter().zip(&base).map(|(a, b)| a - b).collect();
            let (lhs, rhs) = (dot(&ju, &w), dot(&u, &g));
            // Round-off of the O(1) sums on both sides.
            let scale = ju.iter().zip(&w).map(|(a, b)| (a * b).abs()).sum::<f64>()
                + base.iter().zip(&w).map(|(a, b)| (a * b).abs()).sum::<f64>();
            assert!(
                (lhs - rhs).abs() <= 1e-12 * scale,
                "{block} slots per block: <Ju, w> {lhs} vs <u, J^T w> {rhs}"
            );

            // Linear in the cotangent, and accumulating.
            let w2 = random(&mut rng, m.op.nparams());
            let mut g2 = vec![0.0; m.nparams()];
            m.theta_vjp(&phi, &w2, &mut g2).unwrap();
            let combined: Vec<f64> = w.iter().zip(&w2).map(|(a, b)| 0.5 * a - 2.0 * b).collect();
            let mut g3 = vec![0.0; m.nparams()];
            m.theta_vjp(&phi, &combined, &mut g3).unwrap();
            let scale = max_abs(&g).max(max_abs(&g2));
            for ((a, b), c) in g3.iter().zip(&g).zip(&g2) {
                assert!((a - (0.5 * b - 2.0 * c)).abs() <= 1e-12 * scale, "linearity");
            }
            let mut twice = g.clone();
            m.theta_vjp(&phi, &w, &mut twice).unwrap();
            assert!(twice.iter().zip(&g).all(|(a, b)| (a - 2.0 * b).abs() <= 1e-13 * scale), "accumulation");
        }
    }

    #[test]
    fn the_cache_follows_phi_and_the_condition() {
        // theta at new parameters, at the same parameters again, and a vjp
        // after another condition was evaluated, against fresh models.
        let grid = VelocityGrid::square(9, 3.0).unwrap();
        let cond = Conditioners {
            time: Some(TimeInput { window_steps: 3, n_slots: 4 }),
            conditions: vec![vec![0.5], vec![-0.5]],
        };
        let build = || {
            MlpModel::build(
                grid,
                MlpKind::ParPerp,
                Scheme::Reference(Edges::Guard),
                false,
                &[4, 4],
                1,
                cond.clone(),
            )
            .unwrap()
        };
        let m = build();
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let (phi1, phi2) = (random(&mut rng, m.nparams()), random(&mut rng, m.nparams()));
        let w = random(&mut rng, m.op.nparams());
        let fresh = |phi: &[f64], c: usize| {
            let f = build();
            let mut t = vec![0.0; f.op.nparams()];
            f.theta_for(phi, c, &mut t).unwrap();
            let mut g = vec![0.0; f.nparams()];
            f.theta_vjp_for(phi, c, &w, &mut g).unwrap();
            (t, g)
        };
        let mut t = vec![0.0; m.op.nparams()];
        let mut g = vec![0.0; m.nparams()];
        for (phi, c) in [(&phi1, 0), (&phi1, 1), (&phi2, 0), (&phi2, 0), (&phi1, 1)] {
            m.theta_for(phi, c, &mut t).unwrap();
            m.theta_for(if c == 0 { &phi1 } else { &phi2 }, 1 - c, &mut vec![0.0; m.op.nparams()]).unwrap();
            g.fill(0.0);
            m.theta_vjp_for(phi, c, &w, &mut g).unwrap();
            let (ft, fg) = fresh(phi, c);
            assert_eq!(t, ft, "theta, condition {c}");
            assert_eq!(g, fg, "vjp, condition {c}");
        }
    }
}
