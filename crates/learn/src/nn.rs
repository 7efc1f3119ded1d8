//! # Multi-layer perceptrons with a hand-written backward pass
//!
//! A small fully connected network evaluated on a batch of points at once,
//! used to produce Fokker-Planck coefficient fields (or kernel entries) at
//! every velocity cell, as in Carvalho et al. (arXiv 2601.10885). With
//! `a_0 = x` the `(points, n_in)` input batch and `L` affine layers,
//!
//! ```text
//! z_l = a_{l-1} W_l^T + 1 b_l^T         l = 1 .. L    (W_l has shape (n_l, n_{l-1}))
//! a_l = sigma(z_l)                      l = 1 .. L-1  (hidden layers)
//! y   = z_L                             (linear output layer)
//! ```
//!
//! and [`Mlp::backward`] is its reverse-mode derivative (vector-Jacobian
//! product): given `g_L = dloss/dy`,
//!
//! ```text
//! dW_l += g_l^T a_{l-1},   db_l += sum over points of g_l,
//! g_{l-1} = (g_l W_l) * sigma'(z_{l-1})   (elementwise),   dx += g_1 W_1.
//! ```
//!
//! The reference architecture is two hidden layers of 64 units with
//! LeakyReLU of negative slope 0.01 (PyTorch's default), see
//! [`Mlp::reference`]. Inputs are typically the cell-centre velocity
//! normalised to `[-1, 1]` ([`grid_inputs`]) plus constant conditioners
//! (time, PIC parameters).
//!
//! ## Parameter layout
//!
//! Parameters are one flat `&[f64]` owned by the caller (the optimiser).
//! Layer after layer, from the input side: first the weight matrix `W_l`,
//! row-major with shape `(fan_out, fan_in)`, then the bias `b_l` (`fan_out`
//! values). This is the order and layout of the `state_dict` of
//! `torch.nn.Sequential(Linear, act, Linear, act, ..., Linear)` with every
//! tensor flattened in C order and concatenated, so weights can be exported
//! to and compared with PyTorch or numpy as they are. [`Mlp::weight_range`]
//! and [`Mlp::bias_range`] give the slices.
//!
//! ## Workspaces
//!
//! [`MlpWorkspace`] holds the activations of the last forward pass (needed
//! by the backward pass) and the backward scratch. It is sized by the first
//! call and reused: repeated calls with the same number of points (or fewer)
//! never allocate. Points are processed in blocks of [`CHUNK`] in parallel
//! on the current rayon pool, with a fixed summation order, so results are
//! bit-identical whatever the number of threads.

use std::ops::Range;

use collop_core::VelocityGrid;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Zip, s};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors raised when building or evaluating a network.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum NnError {
    /// Zero-sized layers or an invalid activation parameter.
    #[error("invalid network architecture: {0}")]
    InvalidArchitecture(String),
    /// Parameters, inputs or gradients whose shape does not match the network.
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    /// A backward pass was asked of a workspace that holds no forward pass of this network.
    #[error("the workspace holds no forward pass of this network: call forward first")]
    NoForwardPass,
}

/// Activation of the hidden layers (the output layer is always linear).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `sigma(z) = z` for `z > 0`, `slope * z` otherwise; the slope must be
    /// finite and `>= 0` (0 is a plain ReLU). `sigma'(0)` is taken as `slope`,
    /// as in PyTorch.
    LeakyRelu(f64),
    /// `sigma(z) = tanh(z)`.
    Tanh,
    /// `sigma(z) = z` (the network is then affine in its inputs).
    Identity,
}

impl Activation {
    /// PyTorch's default negative slope of `nn.LeakyReLU`.
    pub const DEFAULT_LEAKY_SLOPE: f64 = 0.01;

    /// LeakyReLU with PyTorch's default negative slope 0.01.
    pub fn leaky_relu() -> Self {
        Self::LeakyRelu(Self::DEFAULT_LEAKY_SLOPE)
    }

    fn validate(self) -> Result<(), NnError> {
        match self {
            Self::LeakyRelu(s) if !(s.is_finite() && s >= 0.0) => Err(NnError::InvalidArchitecture(format!(
                "LeakyReLU negative slope {s} must be finite and >= 0"
            ))),
            _ => Ok(()),
        }
    }

    /// `sigma(z)`.
    #[inline]
    pub fn apply(self, z: f64) -> f64 {
        match self {
            Self::LeakyRelu(s) => {
                if z > 0.0 {
                    z
                } else {
                    s * z
                }
            }
            Self::Tanh => z.tanh(),
            Self::Identity => z,
        }
    }

    /// `sigma'(z)` written in terms of `a = sigma(z)`: `1 - a^2` for tanh; for
    /// LeakyReLU with a slope `>= 0`, `a > 0` exactly when `z > 0`.
    #[inline]
    fn derivative_from_output(self, a: f64) -> f64 {
        match self {
            Self::LeakyRelu(s) => {
                if a > 0.0 {
                    1.0
                } else {
                    s
                }
            }
            Self::Tanh => 1.0 - a * a,
            Self::Identity => 1.0,
        }
    }

    fn apply_in_place(self, values: &mut [f64]) {
        match self {
            Self::LeakyRelu(s) => values.iter_mut().for_each(|v| *v = if *v > 0.0 { *v } else { s * *v }),
            Self::Tanh => values.iter_mut().for_each(|v| *v = v.tanh()),
            Self::Identity => {}
        }
    }
}

impl Default for Activation {
    fn default() -> Self {
        Self::leaky_relu()
    }
}

/// A multi-layer perceptron: layer sizes and hidden activation, no parameters.
///
/// Serialised as `{ inputs, hidden, outputs, activation }`; deserialisation
/// validates like [`Mlp::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MlpShape", into = "MlpShape")]
pub struct Mlp {
    /// `[n_in, hidden..., n_out]`.
    sizes: Vec<usize>,
    activation: Activation,
}

/// The serialised form of an [`Mlp`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MlpShape {
    inputs: usize,
    hidden: Vec<usize>,
    outputs: usize,
    activation: Activation,
}

impl TryFrom<MlpShape> for Mlp {
    type Error = NnError;
    fn try_from(s: MlpShape) -> Result<Self, NnError> {
        Mlp::new(s.inputs, &s.hidden, s.outputs, s.activation)
    }
}

impl From<Mlp> for MlpShape {
    fn from(m: Mlp) -> Self {
        MlpShape {
            inputs: m.inputs(),
            hidden: m.hidden().to_vec(),
            outputs: m.outputs(),
            activation: m.activation,
        }
    }
}

impl Mlp {
    /// A network `inputs -> hidden[0] -> ... -> outputs`; `hidden` may be empty
    /// (a single affine layer). Every size must be at least 1.
    pub fn new(
        inputs: usize,
        hidden: &[usize],
        outputs: usize,
        activation: Activation,
    ) -> Result<Self, NnError> {
        activation.validate()?;
        let mut sizes = Vec::with_capacity(hidden.len() + 2);
        sizes.push(inputs);
        sizes.extend_from_slice(hidden);
        sizes.push(outputs);
        if sizes.contains(&0) {
            return Err(NnError::InvalidArchitecture(format!(
                "layer sizes {sizes:?} (inputs, hidden..., outputs): every layer needs at least one unit"
            )));
        }
        Ok(Self { sizes, activation })
    }

    /// The reference architecture of arXiv 2601.10885: two hidden layers of
    /// 64 units, LeakyReLU (slope 0.01), linear output.
    pub fn reference(inputs: usize, outputs: usize) -> Result<Self, NnError> {
        Self::new(inputs, &[64, 64], outputs, Activation::leaky_relu())
    }

    /// Number of inputs per point.
    pub fn inputs(&self) -> usize {
        self.sizes[0]
    }

    /// Number of outputs per point.
    pub fn outputs(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }

    /// Widths of the hidden layers.
    pub fn hidden(&self) -> &[usize] {
        &self.sizes[1..self.sizes.len() - 1]
    }

    /// `[n_in, hidden..., n_out]`.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Activation of the hidden layers.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Number of affine layers (hidden layers + 1).
    pub fn nlayers(&self) -> usize {
        self.sizes.len() - 1
    }

    /// Total number of weights and biases.
    pub fn nparams(&self) -> usize {
        self.sizes.windows(2).map(|w| (w[0] + 1) * w[1]).sum()
    }

    /// Offset in the flat parameter vector of the weights of `layer`.
    fn offset(&self, layer: usize) -> usize {
        self.sizes[..=layer].windows(2).map(|w| (w[0] + 1) * w[1]).sum()
    }

    /// Slice of the flat parameters holding `W_layer` (row-major, shape
    /// `(fan_out, fan_in)`); `layer` counts affine layers from 0 at the input.
    pub fn weight_range(&self, layer: usize) -> Option<Range<usize>> {
        (layer < self.nlayers()).then(|| {
            let start = self.offset(layer);
            start..start + self.sizes[layer] * self.sizes[layer + 1]
        })
    }

    /// Slice of the flat parameters holding `b_layer` (`fan_out` values).
    pub fn bias_range(&self, layer: usize) -> Option<Range<usize>> {
        self.weight_range(layer).map(|w| w.end..w.end + self.sizes[layer + 1])
    }

    /// Seeded initial parameters (ChaCha8): PyTorch's `nn.Linear` default,
    /// every weight and bias of a layer uniform in
    /// `[-1/sqrt(fan_in), 1/sqrt(fan_in))`, drawn in layout order.
    pub fn init(&self, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = Vec::with_capacity(self.nparams());
        for w in self.sizes.windows(2) {
            let bound = 1.0 / (w[0] as f64).sqrt();
            params.extend((0..(w[0] + 1) * w[1]).map(|_| rng.random_range(-bound..bound)));
        }
        params
    }

    /// A workspace already sized for `points` points (and the backward pass).
    pub fn workspace(&self, points: usize) -> MlpWorkspace {
        let mut ws = MlpWorkspace::new();
        ws.prepare(&self.sizes, points);
        ws.prepare_gradients(self, true);
        ws
    }

    fn max_hidden(&self) -> usize {
        self.hidden().iter().copied().max().unwrap_or(0)
    }

    fn check_params(&self, params: &[f64], what: &str) -> Result<(), NnError> {
        if params.len() != self.nparams() {
            return Err(NnError::ShapeMismatch(format!(
                "{what} has {} values, the network {:?} has {} parameters",
                params.len(),
                self.sizes,
                self.nparams()
            )));
        }
        Ok(())
    }

    /// `(W_l, b_l)` of affine layer `l` as views into `params`.
    fn layer<'p>(&self, params: &'p [f64], l: usize) -> (ArrayView2<'p, f64>, &'p [f64]) {
        let (fan_in, fan_out) = (self.sizes[l], self.sizes[l + 1]);
        let start = self.offset(l);
        let (w, rest) = params[start..].split_at(fan_in * fan_out);
        (view(w, fan_out, fan_in), &rest[..fan_out])
    }

    /// Outputs `y` (shape `(points, n_out)`) of the network with parameters
    /// `params` at `inputs` (shape `(points, n_in)`), one row per point.
    ///
    /// Blocks of [`CHUNK`] points run in parallel on the current rayon pool;
    /// the result does not depend on the number of threads. The activations
    /// are kept in `ws` for [`Mlp::backward`]; the returned view borrows them
    /// (also available later as [`MlpWorkspace::outputs`]).
    pub fn forward<'w>(
        &self,
        params: &[f64],
        inputs: ArrayView2<f64>,
        ws: &'w mut MlpWorkspace,
    ) -> Result<ArrayView2<'w, f64>, NnError> {
        self.check_params(params, "params")?;
        if inputs.ncols() != self.inputs() {
            return Err(NnError::ShapeMismatch(format!(
                "inputs have {} columns, the network takes {}",
                inputs.ncols(),
                self.inputs()
            )));
        }
        let n = inputs.nrows();
        ws.prepare(&self.sizes, n);
        let n_out = self.outputs();
        let active = ws.active;
        ws.chunks[..active]
            .par_iter_mut()
            .zip(ws.outputs.par_chunks_mut(CHUNK * n_out))
            .enumerate()
            .for_each(|(c, (chunk, out))| {
                let rows = c * CHUNK..(c * CHUNK + chunk.rows);
                self.forward_chunk(params, inputs.slice(s![rows, ..]), chunk, out);
            });
        ws.filled = true;
        Ok(view(&ws.outputs, n, n_out))
    }

    /// The forward pass on one block of points, outputs into `out`.
    fn forward_chunk(&self, params: &[f64], inputs: ArrayView2<f64>, chunk: &mut Chunk, out: &mut [f64]) {
        let rows = inputs.nrows();
        view_mut(&mut chunk.acts[0], rows, self.inputs()).assign(&inputs);
        let last = self.nlayers() - 1;
        for l in 0..=last {
            let (w, b) = self.layer(params, l);
            let (fan_in, fan_out) = (self.sizes[l], self.sizes[l + 1]);
            let (done, todo) = chunk.acts.split_at_mut(l + 1);
            let a_prev = view(&done[l], rows, fan_in);
            let z: &mut [f64] = if l == last { out } else { &mut todo[0] };
            // Start from the bias in every row, then accumulate the product (beta = 1).
            z.chunks_exact_mut(fan_out).for_each(|row| row.copy_from_slice(b));
            general_mat_mul(1.0, &a_prev, &w.t(), 1.0, &mut view_mut(z, rows, fan_out));
            if l < last {
                self.activation.apply_in_place(z);
            }
        }
    }

    /// Vector-Jacobian product of the last [`Mlp::forward`] held in `ws`
    /// (which must have used the same `params`): with `d_outputs = dloss/dy`
    /// (shape `(points, n_out)`), ACCUMULATES `dloss/dparams` into `d_params`
    /// (layout of `params`) and, if given, `dloss/dinputs` into `d_inputs`
    /// (shape `(points, n_in)`). Neither is zeroed first.
    ///
    /// Blocks of [`CHUNK`] points run in parallel on the current rayon pool
    /// and their parameter gradients are summed in block order, so the result
    /// does not depend on the number of threads. `ws` is mutable only for its
    /// backward scratch; its activations are left as they are, so the call
    /// can be repeated.
    pub fn backward(
        &self,
        params: &[f64],
        ws: &mut MlpWorkspace,
        d_outputs: ArrayView2<f64>,
        d_params: &mut [f64],
        d_inputs: Option<ArrayViewMut2<f64>>,
    ) -> Result<(), NnError> {
        self.check_params(params, "params")?;
        self.check_params(d_params, "d_params")?;
        if !ws.filled || ws.sizes != self.sizes {
            return Err(NnError::NoForwardPass);
        }
        let n = ws.points;
        if d_outputs.dim() != (n, self.outputs()) {
            return Err(NnError::ShapeMismatch(format!(
                "d_outputs has shape {:?}, the forward pass made ({n}, {})",
                d_outputs.dim(),
                self.outputs()
            )));
        }
        if let Some(d) = &d_inputs
            && d.dim() != (n, self.inputs())
        {
            return Err(NnError::ShapeMismatch(format!(
                "d_inputs has shape {:?}, the forward pass took ({n}, {})",
                d.dim(),
                self.inputs()
            )));
        }
        let want_inputs = d_inputs.is_some();
        let lanes = ws.prepare_gradients(self, want_inputs);
        // Blocks are dealt to lanes in contiguous runs; a lane's scratch
        // does not enter the results, so they do not depend on the lanes.
        let per_lane = ws.active.div_ceil(lanes).max(1);
        let chunks = &mut ws.chunks[..ws.active];
        chunks.par_chunks_mut(per_lane).zip(ws.scratch.par_iter_mut()).enumerate().for_each(
            |(lane, (run, scratch))| {
                for (k, chunk) in run.iter_mut().enumerate() {
                    let c = lane * per_lane + k;
                    let rows = c * CHUNK..(c * CHUNK + chunk.rows);
                    self.backward_chunk(params, chunk, scratch, d_outputs.slice(s![rows, ..]), want_inputs);
                }
            },
        );
        // A fixed summation order: bit-identical whatever the thread count.
        for chunk in chunks.iter() {
            d_params.iter_mut().zip(&chunk.d_params).for_each(|(d, &p)| *d += p);
        }
        if let Some(mut d_in) = d_inputs {
            let n_in = self.inputs();
            for (chunk, mut rows) in chunks.iter().zip(d_in.axis_chunks_iter_mut(Axis(0), CHUNK)) {
                rows += &view(&chunk.d_inputs, chunk.rows, n_in);
            }
        }
        Ok(())
    }

    /// The backward pass on one block of points: parameter gradient into
    /// `chunk.d_params` (overwritten) and, if asked, input gradient into
    /// `chunk.d_inputs` (overwritten), with the hidden-layer cotangents in
    /// `scratch`.
    fn backward_chunk(
        &self,
        params: &[f64],
        chunk: &mut Chunk,
        scratch: &mut Scratch,
        d_outputs: ArrayView2<f64>,
        want_inputs: bool,
    ) {
        let rows = chunk.rows;
        let Chunk { acts, d_params, d_inputs, .. } = chunk;
        let Scratch { grad_cur, grad_next } = scratch;
        let last = self.nlayers() - 1;
        for l in (0..=last).rev() {
            let (fan_in, fan_out) = (self.sizes[l], self.sizes[l + 1]);
            let (w, _) = self.layer(params, l);
            let g = if l == last { d_outputs.view() } else { view(grad_cur, rows, fan_out) };
            let a_prev = view(&acts[l], rows, fan_in);

            let w_range = self.weight_range(l).expect("layer index in range");
            let (dw, db) = d_params[w_range.start..].split_at_mut(w_range.len());
            general_mat_mul(1.0, &g.t(), &a_prev, 0.0, &mut view_mut(dw, fan_out, fan_in));
            let db = &mut db[..fan_out];
            db.fill(0.0);
            for row in g.rows() {
                db.iter_mut().zip(row).for_each(|(d, &x)| *d += x);
            }

            if l > 0 {
                let mut g_prev = view_mut(grad_next, rows, fan_in);
                general_mat_mul(1.0, &g, &w, 0.0, &mut g_prev);
                let act = self.activation;
                if act != Activation::Identity {
                    Zip::from(&mut g_prev).and(&a_prev).for_each(|g, &a| *g *= act.derivative_from_output(a));
                }
                std::mem::swap(grad_cur, grad_next);
            } else if want_inputs {
                general_mat_mul(1.0, &g, &w, 0.0, &mut view_mut(d_inputs, rows, fan_in));
            }
        }
    }
}

/// Points per block of the parallel forward and backward passes: enough
/// for efficient matrix products, few enough for a block's activations to
/// stay in cache (256 x 64 values = 128 KiB per layer) and for a 51 x 51 grid
/// to make 11 blocks to share between threads.
pub const CHUNK: usize = 256;

/// Activations of the last forward pass and backward scratch of an [`Mlp`].
///
/// Sized by the first call for a given architecture and number of points;
/// later calls with as many points or fewer reuse the memory. One workspace
/// per concurrent evaluation (e.g. one per time level).
///
/// Memory, in `f64` per point: the inputs and every hidden layer's
/// activations (`n_in + sum(hidden)`), the outputs (`n_out`), and after a
/// backward pass each block's parameter gradient (`nparams / CHUNK`) and,
/// if asked, input gradient (`n_in`); plus two `CHUNK x max(hidden)`
/// cotangent buffers per rayon thread (not per point).
#[derive(Debug, Clone, Default)]
pub struct MlpWorkspace {
    /// Layer sizes of the network the buffers are laid out for.
    sizes: Vec<usize>,
    /// Points of the last forward pass.
    points: usize,
    /// Whether the buffers hold a complete forward pass.
    filled: bool,
    /// Outputs `y`, `(points, n_out)` row-major.
    outputs: Vec<f64>,
    /// Blocks of [`CHUNK`] points; the first `active` are in use.
    chunks: Vec<Chunk>,
    active: usize,
    /// Backward scratch, one per lane (rayon thread) of the backward pass.
    scratch: Vec<Scratch>,
}

/// Hidden-layer cotangents of one block during the backward pass,
/// `CHUNK x max hidden width` each; reused block after block.
#[derive(Debug, Clone, Default)]
struct Scratch {
    grad_cur: Vec<f64>,
    grad_next: Vec<f64>,
}

/// Buffers of one block of points.
#[derive(Debug, Clone, Default)]
struct Chunk {
    /// Points in this block.
    rows: usize,
    /// `acts[0]`: copy of the inputs; `acts[l]`: hidden activations `a_l`, row-major.
    acts: Vec<Vec<f64>>,
    /// This block's parameter gradient.
    d_params: Vec<f64>,
    /// This block's input gradient, `rows x n_in`.
    d_inputs: Vec<f64>,
}

impl MlpWorkspace {
    /// An empty workspace, sized by its first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of points of the last forward pass.
    pub fn points(&self) -> usize {
        self.points
    }

    /// Outputs of the last forward pass, shape `(points, n_out)`, if any.
    pub fn outputs(&self) -> Option<ArrayView2<'_, f64>> {
        let n_out = *self.sizes.last()?;
        self.filled.then(|| view(&self.outputs, self.points, n_out))
    }

    /// Number of `f64` slots allocated (to check that reuse does not grow it).
    pub fn capacity(&self) -> usize {
        let chunk = |c: &Chunk| {
            c.acts.iter().map(Vec::capacity).sum::<usize>() + c.d_params.capacity() + c.d_inputs.capacity()
        };
        let scratch = |s: &Scratch| s.grad_cur.capacity() + s.grad_next.capacity();
        self.outputs.capacity()
            + self.chunks.iter().map(chunk).sum::<usize>()
            + self.scratch.iter().map(scratch).sum::<usize>()
    }

    /// Lays the buffers out for `points` points of the network `sizes`.
    fn prepare(&mut self, sizes: &[usize], points: usize) {
        self.filled = false;
        if self.sizes != sizes {
            self.sizes.clear();
            self.sizes.extend_from_slice(sizes);
        }
        self.points = points;
        self.outputs.resize(points * sizes[sizes.len() - 1], 0.0);
        self.active = points.div_ceil(CHUNK);
        if self.chunks.len() < self.active {
            self.chunks.resize_with(self.active, Chunk::default);
        }
        for (c, chunk) in self.chunks[..self.active].iter_mut().enumerate() {
            chunk.rows = CHUNK.min(points - c * CHUNK);
            // Input copy and hidden activations: every layer but the output.
            chunk.acts.resize_with(sizes.len() - 1, Vec::new);
            for (buf, &width) in chunk.acts.iter_mut().zip(sizes) {
                buf.resize(chunk.rows * width, 0.0);
            }
        }
    }

    /// Sizes the gradients of the active blocks and the backward scratch
    /// for `mlp`, one scratch per rayon thread (at most one per block);
    /// returns the number of lanes.
    fn prepare_gradients(&mut self, mlp: &Mlp, inputs: bool) -> usize {
        let (width, nparams) = (mlp.max_hidden(), mlp.nparams());
        let lanes = rayon::current_num_threads().clamp(1, self.active.max(1));
        if self.scratch.len() < lanes {
            self.scratch.resize_with(lanes, Scratch::default);
        }
        for s in &mut self.scratch[..lanes] {
            s.grad_cur.resize(CHUNK * width, 0.0);
            s.grad_next.resize(CHUNK * width, 0.0);
        }
        for chunk in &mut self.chunks[..self.active] {
            chunk.d_params.resize(nparams, 0.0);
            if inputs {
                chunk.d_inputs.resize(chunk.rows * mlp.inputs(), 0.0);
            }
        }
        lanes
    }
}

/// Row-major `(rows, cols)` view of the first `rows * cols` values of `data`.
fn view(data: &[f64], rows: usize, cols: usize) -> ArrayView2<'_, f64> {
    ArrayView2::from_shape((rows, cols), &data[..rows * cols]).expect("buffer sized for the view")
}

/// Mutable row-major `(rows, cols)` view of the first `rows * cols` values of `data`.
fn view_mut(data: &mut [f64], rows: usize, cols: usize) -> ArrayViewMut2<'_, f64> {
    ArrayViewMut2::from_shape((rows, cols), &mut data[..rows * cols]).expect("buffer sized for the view")
}

/// Network inputs at every cell of `grid`: one row per cell in row-major cell
/// order (`k = i * ny + j`), columns `[u_x, u_y, extra...]` where
/// `u = 2 (v - v_min) / (v_max - v_min) - 1` maps the grid's range onto
/// `[-1, 1]` (cell centres are at `u_i = (2 i + 1 - n) / n`), and `extra`
/// (conditioners: time, PIC parameters) is repeated on every row.
pub fn grid_inputs(grid: &VelocityGrid, extra: &[f64]) -> Array2<f64> {
    // An exact integer numerator: the inputs are exactly antisymmetric about the grid's middle.
    let centre = |i: usize, n: usize| ((2 * i + 1) as f64 - n as f64) / n as f64;
    let mut x = Array2::zeros((grid.len(), 2 + extra.len()));
    for i in 0..grid.nx {
        for j in 0..grid.ny {
            let mut row = x.row_mut(grid.index(i, j));
            row[0] = centre(i, grid.nx);
            row[1] = centre(j, grid.ny);
            row.iter_mut().skip(2).zip(extra).for_each(|(r, &e)| *r = e);
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array, s};
    use serde::de::IntoDeserializer;

    fn random_matrix(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> Array2<f64> {
        Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0..1.0))
    }

    fn random_vec(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
        (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// Architectures exercised by every gradient test: no hidden layer, one and
    /// several hidden layers, every activation, widths of 1 and odd widths.
    fn architectures() -> Vec<Mlp> {
        vec![
            Mlp::new(3, &[], 2, Activation::leaky_relu()).unwrap(),
            Mlp::new(2, &[5], 1, Activation::Tanh).unwrap(),
            Mlp::new(1, &[1], 1, Activation::leaky_relu()).unwrap(),
            Mlp::new(2, &[13], 3, Activation::LeakyRelu(0.0)).unwrap(),
            Mlp::new(7, &[3, 9], 4, Activation::Tanh).unwrap(),
            Mlp::new(4, &[7, 1, 5], 3, Activation::Identity).unwrap(),
            Mlp::reference(2, 5).unwrap(),
        ]
    }

    /// Straightforward loops over points, units and inputs: an independent
    /// route to the outputs, reading the documented parameter layout by hand.
    fn naive_forward(mlp: &Mlp, params: &[f64], x: &Array2<f64>) -> Array2<f64> {
        let mut out = Array2::zeros((x.nrows(), mlp.outputs()));
        for (p, xp) in x.rows().into_iter().enumerate() {
            let mut a: Vec<f64> = xp.to_vec();
            let mut offset = 0;
            for l in 0..mlp.nlayers() {
                let (fan_in, fan_out) = (mlp.sizes()[l], mlp.sizes()[l + 1]);
                let bias = offset + fan_in * fan_out;
                let z: Vec<f64> = (0..fan_out)
                    .map(|o| {
                        params[bias + o]
                            + (0..fan_in).map(|i| params[offset + o * fan_in + i] * a[i]).sum::<f64>()
                    })
                    .collect();
                offset = bias + fan_out;
                a = if l + 1 < mlp.nlayers() {
                    z.iter().map(|&v| mlp.activation().apply(v)).collect()
                } else {
                    z
                };
            }
            out.row_mut(p).assign(&ndarray::ArrayView1::from(&a));
        }
        out
    }

    /// Scalar test loss `sum_{p,o} y_{po} r_{po}`, whose gradient with respect to `y` is `r`.
    fn weighted_sum(
        mlp: &Mlp,
        params: &[f64],
        x: &Array2<f64>,
        r: &Array2<f64>,
        ws: &mut MlpWorkspace,
    ) -> f64 {
        let y = mlp.forward(params, x.view(), ws).unwrap();
        y.iter().zip(r).map(|(a, b)| a * b).sum()
    }

    /// Which hidden units are on the positive branch of a LeakyReLU, to make
    /// sure a finite difference does not straddle a kink.
    fn branch_pattern(mlp: &Mlp, ws: &MlpWorkspace) -> Vec<bool> {
        match mlp.activation() {
            Activation::LeakyRelu(_) => ws.chunks[..ws.active]
                .iter()
                .flat_map(|c| c.acts[1..].iter().flatten())
                .map(|&a| a > 0.0)
                .collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn layout_matches_a_hand_computed_network() {
        // 2 -> 2 (LeakyReLU 0.1) -> 1. Layout: W1 (2x2 row-major), b1, W2 (1x2), b2.
        let mlp = Mlp::new(2, &[2], 1, Activation::LeakyRelu(0.1)).unwrap();
        let params = [1.0, 2.0, 3.0, 4.0, 0.5, -20.0, 10.0, -1.0, 0.25];
        assert_eq!(mlp.nparams(), params.len());
        assert_eq!(mlp.weight_range(0), Some(0..4));
        assert_eq!(mlp.bias_range(0), Some(4..6));
        assert_eq!(mlp.weight_range(1), Some(6..8));
        assert_eq!(mlp.bias_range(1), Some(8..9));
        assert_eq!(mlp.weight_range(2), None);
        let x = array![[1.0, 1.0], [0.0, -1.0]];
        // Point 0: z1 = (1 + 2 + 0.5, 3 + 4 - 20) = (3.5, -13) -> a1 = (3.5, -1.3),
        //          y = 10 * 3.5 - 1 * (-1.3) + 0.25 = 36.55.
        // Point 1: z1 = (-2 + 0.5, -4 - 20) = (-1.5, -24) -> a1 = (-0.15, -2.4),
        //          y = -1.5 + 2.4 + 0.25 = 1.15.
        let mut ws = MlpWorkspace::new();
        let y = mlp.forward(&params, x.view(), &mut ws).unwrap();
        assert!((y[[0, 0]] - 36.55).abs() < 1e-13 && (y[[1, 0]] - 1.15).abs() < 1e-13, "{y}");
    }

    #[test]
    fn forward_matches_naive_loops() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for (a, mlp) in architectures().iter().enumerate() {
            for points in [1, 7, 300] {
                let params = mlp.init(a as u64);
                let x = random_matrix(&mut rng, points, mlp.inputs());
                let mut ws = MlpWorkspace::new();
                let y = mlp.forward(&params, x.view(), &mut ws).unwrap().to_owned();
                let expected = naive_forward(mlp, &params, &x);
                // Same sums in a different order (packed, blocked products): round-off only.
                let err = (&y - &expected).iter().fold(0.0_f64, |m, e| m.max(e.abs()));
                assert!(err < 1e-13, "{:?}, {points} points: max difference {err:e}", mlp.sizes());
            }
        }
    }

    #[test]
    fn backward_matches_central_finite_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(2601);
        for (a, mlp) in architectures().iter().enumerate() {
            // One point, odd counts, and two blocks with a partial last one.
            for points in [1, 7, 33, CHUNK + 45] {
                let tag = format!("{:?} {:?}, {points} points", mlp.sizes(), mlp.activation());
                let params = mlp.init(100 + a as u64);
                let x = random_matrix(&mut rng, points, mlp.inputs());
                let r = random_matrix(&mut rng, points, mlp.outputs());
                let mut ws = MlpWorkspace::new();
                let loss = weighted_sum(mlp, &params, &x, &r, &mut ws);
                assert!(loss.is_finite());
                let pattern = branch_pattern(mlp, &ws);
                let mut d_params = vec![0.0; mlp.nparams()];
                let mut d_inputs = Array2::zeros(x.dim());
                mlp.backward(&params, &mut ws, r.view(), &mut d_params, Some(d_inputs.view_mut())).unwrap();

                // Central differences: truncation O(h^2) ~ 1e-12 and round-off
                // ~ 1e-16 |terms| / h ~ 1e-9 for these O(1)..O(100) sums, so a
                // relative 1e-6 of the gradient's scale is a wide margin while
                // any indexing or transposition error is O(1).
                let h = 1e-6;
                let shifted = |p: &[f64], x: &Array2<f64>, ws: &mut MlpWorkspace| {
                    let l = weighted_sum(mlp, p, x, &r, ws);
                    assert_eq!(
                        branch_pattern(mlp, ws),
                        pattern,
                        "{tag}: step crosses a kink, change the seed"
                    );
                    l
                };

                // A random direction in parameter space.
                let u = random_vec(&mut rng, mlp.nparams());
                let plus: Vec<f64> = params.iter().zip(&u).map(|(p, u)| p + h * u).collect();
                let minus: Vec<f64> = params.iter().zip(&u).map(|(p, u)| p - h * u).collect();
                let fd = (shifted(&plus, &x, &mut ws) - shifted(&minus, &x, &mut ws)) / (2.0 * h);
                let exact = dot(&d_params, &u);
                let scale = d_params.iter().zip(&u).map(|(g, u)| (g * u).abs()).sum::<f64>();
                assert!((fd - exact).abs() <= 1e-6 * scale, "{tag}: params fd {fd} vs {exact}");

                // Every parameter on its own where there are few (catches
                // errors that a single direction could average away).
                if mlp.nparams() <= 200 {
                    let gmax = d_params.iter().fold(0.0_f64, |m, g| m.max(g.abs()));
                    for i in 0..mlp.nparams() {
                        let mut p = params.clone();
                        p[i] = params[i] + h;
                        let lp = shifted(&p, &x, &mut ws);
                        p[i] = params[i] - h;
                        let lm = shifted(&p, &x, &mut ws);
                        let fd = (lp - lm) / (2.0 * h);
                        assert!(
                            (fd - d_params[i]).abs() <= 1e-6 * gmax,
                            "{tag}: param {i}: {fd} vs {}",
                            d_params[i]
                        );
                    }
                }

                // A random direction in input space.
                let v = random_matrix(&mut rng, points, mlp.inputs());
                let fd = (shifted(&params, &(&x + &(&v * h)), &mut ws)
                    - shifted(&params, &(&x - &(&v * h)), &mut ws))
                    / (2.0 * h);
                let exact: f64 = d_inputs.iter().zip(&v).map(|(g, v)| g * v).sum();
                let scale: f64 = d_inputs.iter().zip(&v).map(|(g, v)| (g * v).abs()).sum();
                assert!((fd - exact).abs() <= 1e-6 * scale, "{tag}: inputs fd {fd} vs {exact}");
            }
        }
    }

    #[test]
    fn backward_accumulates_and_is_linear_in_d_outputs() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for mlp in architectures() {
            let points = 2601;
            let params = mlp.init(9);
            let x = random_matrix(&mut rng, points, mlp.inputs());
            let (r1, r2) = (
                random_matrix(&mut rng, points, mlp.outputs()),
                random_matrix(&mut rng, points, mlp.outputs()),
            );
            let mut ws = mlp.workspace(points);
            mlp.forward(&params, x.view(), &mut ws).unwrap();
            let grads = |r: &Array2<f64>, ws: &mut MlpWorkspace| {
                let mut dp = vec![0.0; mlp.nparams()];
                let mut dx = Array2::zeros(x.dim());
                mlp.backward(&params, ws, r.view(), &mut dp, Some(dx.view_mut())).unwrap();
                (dp, dx)
            };
            let (g1, x1) = grads(&r1, &mut ws);
            let (g2, x2) = grads(&r2, &mut ws);
            // Relative to the size of each entry's terms; round-off of sums over 2601 points.
            let close = |a: f64, b: f64, scale: f64| (a - b).abs() <= 1e-12 * scale;
            let gscale = g1.iter().chain(&g2).fold(1.0_f64, |m, g| m.max(g.abs()));
            let xscale = x1.iter().chain(&x2).fold(1.0_f64, |m, g| m.max(g.abs()));

            // A second call adds the same gradient again.
            let mut dp = g1.clone();
            let mut dx = x1.clone();
            mlp.backward(&params, &mut ws, r1.view(), &mut dp, Some(dx.view_mut())).unwrap();
            assert!(
                dp.iter().zip(&g1).all(|(&d, &g)| close(d, 2.0 * g, gscale)),
                "{:?}: d_params",
                mlp.sizes()
            );
            assert!(
                dx.iter().zip(&x1).all(|(&d, &g)| close(d, 2.0 * g, xscale)),
                "{:?}: d_inputs",
                mlp.sizes()
            );

            // The vector-Jacobian product is linear in the output cotangent.
            let (a, b) = (0.7, -1.9);
            let (g3, x3) = grads(&(&r1 * a + &r2 * b), &mut ws);
            for ((&g, &p), &q) in g3.iter().zip(&g1).zip(&g2) {
                assert!(close(g, a * p + b * q, 3.0 * gscale), "{:?}: linearity in d_params", mlp.sizes());
            }
            for ((&g, &p), &q) in x3.iter().zip(&x1).zip(&x2) {
                assert!(close(g, a * p + b * q, 3.0 * xscale), "{:?}: linearity in d_inputs", mlp.sizes());
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        // Blocks and the order of their sums are fixed, so 1 and 3 threads
        // must agree to the last bit (3 does not divide the 11 blocks evenly).
        let mlp = Mlp::new(3, &[64, 31], 5, Activation::Tanh).unwrap();
        let params = mlp.init(8);
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let x = random_matrix(&mut rng, 2601, 3);
        let r = random_matrix(&mut rng, 2601, 5);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut ws = MlpWorkspace::new();
                let y = mlp.forward(&params, x.view(), &mut ws).unwrap().to_owned();
                let mut dp = vec![0.0; mlp.nparams()];
                let mut dx = Array2::zeros(x.dim());
                mlp.backward(&params, &mut ws, r.view(), &mut dp, Some(dx.view_mut())).unwrap();
                (y, dp, dx)
            })
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn dot_product_test_where_the_network_is_linear() {
        let mut rng = ChaCha8Rng::seed_from_u64(77);
        // No hidden layer: y = x W^T + b is linear in theta = (W, b), so
        // forward(u) = J u exactly and <J u, w> = <u, J^T w>.
        let mlp = Mlp::new(5, &[], 3, Activation::Tanh).unwrap();
        let x = random_matrix(&mut rng, 101, 5);
        let w = random_matrix(&mut rng, 101, 3);
        let u = random_vec(&mut rng, mlp.nparams());
        let mut ws = MlpWorkspace::new();
        let ju = mlp.forward(&u, x.view(), &mut ws).unwrap().to_owned();
        let mut jtw = vec![0.0; mlp.nparams()];
        mlp.backward(&u, &mut ws, w.view(), &mut jtw, None).unwrap();
        let (lhs, rhs) = ((&ju * &w).sum(), dot(&u, &jtw));
        assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0), "{lhs} vs {rhs}");

        // Identity activation: y(x) = x M + c is affine in x, J_x v = y(v) - y(0).
        let mlp = Mlp::new(4, &[6, 3], 2, Activation::Identity).unwrap();
        let params = mlp.init(3);
        let v = random_matrix(&mut rng, 50, 4);
        let w = random_matrix(&mut rng, 50, 2);
        let y0 = mlp.forward(&params, Array2::zeros((50, 4)).view(), &mut ws).unwrap().to_owned();
        let jv = &mlp.forward(&params, v.view(), &mut ws).unwrap() - &y0;
        let mut dp = vec![0.0; mlp.nparams()];
        let mut jtw = Array2::zeros((50, 4));
        mlp.backward(&params, &mut ws, w.view(), &mut dp, Some(jtw.view_mut())).unwrap();
        let (lhs, rhs) = ((&jv * &w).sum(), (&v * &jtw).sum());
        assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0), "{lhs} vs {rhs}");
    }

    #[test]
    fn init_follows_pytorch_bounds_and_the_seed() {
        let mlp = Mlp::new(3, &[64, 64], 5, Activation::leaky_relu()).unwrap();
        let p = mlp.init(42);
        assert_eq!(p.len(), mlp.nparams());
        assert_eq!(mlp.nparams(), (3 + 1) * 64 + (64 + 1) * 64 + (64 + 1) * 5);
        for l in 0..mlp.nlayers() {
            let bound = 1.0 / (mlp.sizes()[l] as f64).sqrt();
            let (w, b) = (mlp.weight_range(l).unwrap(), mlp.bias_range(l).unwrap());
            assert!(p[w.start..b.end].iter().all(|v| v.abs() <= bound), "layer {l} exceeds 1/sqrt(fan_in)");
        }
        // The 64 x 64 weights: U(-c, c) has mean 0 and variance c^2 / 3; with
        // 4096 draws the sample mean has standard deviation c / sqrt(3 * 4096)
        // ~ 0.009 c and the sample variance a relative one of ~ 0.017, so 5
        // standard deviations are 0.05 c and 9 %.
        let w = &p[mlp.weight_range(1).unwrap()];
        let c = 1.0 / 8.0;
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / w.len() as f64;
        assert!(mean.abs() < 0.05 * c, "mean {mean}");
        assert!((var / (c * c / 3.0) - 1.0).abs() < 0.09, "variance {var}");
        assert!(w.iter().any(|v| v.abs() > 0.95 * c), "draws should fill the interval");

        assert_eq!(p, mlp.init(42), "same seed, same parameters");
        let q = mlp.init(43);
        assert_eq!(q.len(), p.len());
        assert!(p.iter().zip(&q).filter(|(a, b)| a == b).count() < 5, "another seed, other parameters");
    }

    #[test]
    fn workspace_is_reused_without_growing() {
        let mlp = Mlp::reference(3, 5).unwrap();
        let params = mlp.init(1);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x = random_matrix(&mut rng, 2601, 3);
        let r = random_matrix(&mut rng, 2601, 5);
        let mut ws = MlpWorkspace::new();
        let first = mlp.forward(&params, x.view(), &mut ws).unwrap().to_owned();
        let mut d_first = vec![0.0; mlp.nparams()];
        let mut dx_first = Array2::zeros(x.dim());
        mlp.backward(&params, &mut ws, r.view(), &mut d_first, Some(dx_first.view_mut())).unwrap();
        let capacity = ws.capacity();
        let output_ptr = ws.outputs.as_ptr();
        assert_eq!(capacity, mlp.workspace(2601).capacity(), "pre-sized workspace has the same size");
        for _ in 0..3 {
            let y = mlp.forward(&params, x.view(), &mut ws).unwrap();
            assert_eq!(y, first, "repeated forward passes are bit-identical");
            let mut d = vec![0.0; mlp.nparams()];
            let mut dx = Array2::zeros(x.dim());
            mlp.backward(&params, &mut ws, r.view(), &mut d, Some(dx.view_mut())).unwrap();
            assert_eq!(d, d_first, "repeated backward passes are bit-identical");
            assert_eq!(dx, dx_first);
            assert_eq!(ws.capacity(), capacity);
            assert_eq!(ws.outputs.as_ptr(), output_ptr, "no reallocation");
        }
        // Fewer points reuse the same memory; the outputs are those of the rows given.
        let y = mlp.forward(&params, x.slice(s![..100, ..]), &mut ws).unwrap();
        assert_eq!(y, first.slice(s![..100, ..]));
        assert_eq!(ws.points(), 100);
        assert_eq!(ws.capacity(), capacity);
        assert_eq!(ws.outputs().unwrap().dim(), (100, 5));
        // An empty batch is allowed and leaves the gradient untouched.
        let y = mlp.forward(&params, Array2::zeros((0, 3)).view(), &mut ws).unwrap();
        assert_eq!(y.dim(), (0, 5));
        let mut d = vec![0.0; mlp.nparams()];
        mlp.backward(&params, &mut ws, Array2::zeros((0, 5)).view(), &mut d, None).unwrap();
        assert!(d.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(matches!(Mlp::new(0, &[4], 1, Activation::Tanh), Err(NnError::InvalidArchitecture(_))));
        assert!(matches!(Mlp::new(2, &[4, 0], 1, Activation::Tanh), Err(NnError::InvalidArchitecture(_))));
        assert!(matches!(Mlp::new(2, &[4], 0, Activation::Tanh), Err(NnError::InvalidArchitecture(_))));
        for s in [-0.1, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Mlp::new(2, &[4], 1, Activation::LeakyRelu(s)),
                Err(NnError::InvalidArchitecture(_))
            ));
        }
        let mlp = Mlp::new(2, &[4], 3, Activation::Tanh).unwrap();
        let other = Mlp::new(2, &[5], 3, Activation::Tanh).unwrap();
        let params = mlp.init(0);
        let x = Array2::zeros((6, 2));
        let mut ws = MlpWorkspace::new();
        let mut d = vec![0.0; mlp.nparams()];
        let g = Array2::zeros((6, 3));
        assert_eq!(mlp.backward(&params, &mut ws, g.view(), &mut d, None), Err(NnError::NoForwardPass));
        assert!(matches!(mlp.forward(&params[1..], x.view(), &mut ws), Err(NnError::ShapeMismatch(_))));
        assert!(matches!(
            mlp.forward(&params, Array2::zeros((6, 3)).view(), &mut ws),
            Err(NnError::ShapeMismatch(_))
        ));
        other.forward(&other.init(0), x.view(), &mut ws).unwrap();
        assert_eq!(mlp.backward(&params, &mut ws, g.view(), &mut d, None), Err(NnError::NoForwardPass));
        mlp.forward(&params, x.view(), &mut ws).unwrap();
        let mut short = vec![0.0; 3];
        assert!(matches!(
            mlp.backward(&params, &mut ws, g.view(), &mut short, None),
            Err(NnError::ShapeMismatch(_))
        ));
        let wrong = Array2::zeros((5, 3));
        assert!(matches!(
            mlp.backward(&params, &mut ws, wrong.view(), &mut d, None),
            Err(NnError::ShapeMismatch(_))
        ));
        let mut dx = Array2::zeros((6, 1));
        let res = mlp.backward(&params, &mut ws, g.view(), &mut d, Some(dx.view_mut()));
        assert!(matches!(res, Err(NnError::ShapeMismatch(_))));
        assert!(d.iter().all(|&v| v == 0.0), "a rejected call changes nothing");
    }

    #[test]
    fn activation_names_in_configs() {
        let named = |name: &str| {
            Activation::deserialize(IntoDeserializer::<serde::de::value::Error>::into_deserializer(name))
        };
        assert_eq!(named("tanh"), Ok(Activation::Tanh));
        assert_eq!(named("identity"), Ok(Activation::Identity));
        assert!(named("relu").is_err());
        assert_eq!(Activation::default(), Activation::LeakyRelu(0.01));
    }

    #[test]
    fn grid_inputs_follow_the_cell_order() {
        let grid = VelocityGrid::new(5, 3, [-5.0, 5.0], [0.0, 3.0]).unwrap();
        let x = grid_inputs(&grid, &[0.25, -2.0]);
        assert_eq!(x.dim(), (15, 4));
        for i in 0..grid.nx {
            for j in 0..grid.ny {
                let row = x.row(grid.index(i, j));
                // Independent route: the cell centre mapped affinely from the grid's range.
                let ux = 2.0 * (grid.vx(i) - grid.x_range[0]) / (grid.x_range[1] - grid.x_range[0]) - 1.0;
                let uy = 2.0 * (grid.vy(j) - grid.y_range[0]) / (grid.y_range[1] - grid.y_range[0]) - 1.0;
                assert!((row[0] - ux).abs() < 1e-15 && (row[1] - uy).abs() < 1e-15, "cell ({i}, {j})");
                assert_eq!((row[2], row[3]), (0.25, -2.0));
            }
        }
        // The reference grid: 51 x 51 over [-5, 5]^2, v / 5 at the centres, symmetric, 0 in the middle.
        let grid = VelocityGrid::square(51, 5.0).unwrap();
        let x = grid_inputs(&grid, &[]);
        assert_eq!(x.dim(), (2601, 2));
        assert_eq!(x[[grid.index(25, 25), 0]], 0.0);
        assert!((x[[0, 0]] - grid.vx(0) / 5.0).abs() < 1e-15 && x[[0, 0]] == -x[[2600, 0]]);
        assert!(x.iter().all(|u| u.abs() < 1.0));
    }

    #[test]
    fn adam_fits_a_smooth_function() {
        // The reference architecture (2 x 64, LeakyReLU) fitted to a smooth
        // field on a 21 x 21 grid by full-batch Adam (PyTorch's defaults,
        // learning rate 3e-3), mean-squared error.
        let grid = VelocityGrid::square(21, 5.0).unwrap();
        let x = grid_inputs(&grid, &[]);
        let target = Array2::from_shape_fn((x.nrows(), 1), |(k, _)| {
            let (u, v) = (x[[k, 0]], x[[k, 1]]);
            (std::f64::consts::PI * u).sin() * (0.5 * std::f64::consts::PI * v).cos() + 0.5 * u * v
        });
        let mlp = Mlp::reference(2, 1).unwrap();
        let mut theta = mlp.init(2026);
        let mut ws = mlp.workspace(x.nrows());
        let (mut m, mut s) = (vec![0.0; theta.len()], vec![0.0; theta.len()]);
        let (lr, b1, b2, eps): (f64, f64, f64, f64) = (3e-3, 0.9, 0.999, 1e-8);
        let mut grad = vec![0.0; theta.len()];
        let mut dy = Array2::zeros(target.dim());
        let loss = |theta: &[f64], ws: &mut MlpWorkspace, dy: &mut Array2<f64>| {
            let y = mlp.forward(theta, x.view(), ws).unwrap();
            let n = y.len() as f64;
            Zip::from(&mut *dy).and(&y).and(&target).for_each(|d, &y, &t| *d = 2.0 * (y - t) / n);
            y.iter().zip(&target).map(|(y, t)| (y - t).powi(2)).sum::<f64>() / n
        };
        let initial = loss(&theta, &mut ws, &mut dy);
        for step in 1..=500 {
            loss(&theta, &mut ws, &mut dy);
            grad.iter_mut().for_each(|g| *g = 0.0);
            mlp.backward(&theta, &mut ws, dy.view(), &mut grad, None).unwrap();
            let (c1, c2) = (1.0 - b1.powi(step), 1.0 - b2.powi(step));
            for i in 0..theta.len() {
                m[i] = b1 * m[i] + (1.0 - b1) * grad[i];
                s[i] = b2 * s[i] + (1.0 - b2) * grad[i] * grad[i];
                theta[i] -= lr * (m[i] / c1) / ((s[i] / c2).sqrt() + eps);
            }
        }
        let fitted = loss(&theta, &mut ws, &mut dy);
        // The loss starts near the target's mean square (~0.26) and a network
        // that learns nothing stays there; these 500 steps bring it to ~8e-5
        // (a factor ~3000), so a factor 100 is a real fit with a wide margin
        // for round-off differences between machines.
        assert!(fitted < initial / 100.0, "loss {initial:e} -> {fitted:e}");
    }
}
