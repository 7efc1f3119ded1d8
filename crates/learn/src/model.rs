//! Parametrisations: maps from a model's parameters `phi` to the parameters
//! `theta` of a simulator operator, with their exact vector-Jacobian products.

use collop_core::{FpFields, VelocityGrid};
use collop_fp::{Difference, FokkerPlanck, KernelOperator, Operator, Scheme};

use crate::LearnError;
use crate::linear::SparseLinear;

/// A learnable collision operator: parameters `phi` produce the parameters
/// `theta` of an [`Operator`] (for Fokker-Planck operators, coefficient
/// fields in grid units per time slot; for kernel operators, kernels).
///
/// A model may depend on the dataset through *conditions* (e.g. the PIC
/// parameters of each simulation fed to a network): it then has
/// [`Model::n_conditions`] `> 1` and [`Model::theta_for`] /
/// [`Model::theta_vjp_for`] give `theta` and its vector-Jacobian product
/// under each condition, with one `phi` shared by all. Models without
/// conditions implement only [`Model::theta`] / [`Model::theta_vjp`], to
/// which the conditioned methods default.
pub trait Model: Sync + Send {
    /// The simulator operator the model drives.
    fn operator(&self) -> &dyn Operator;
    /// Number of model parameters.
    fn nparams(&self) -> usize;
    /// Initial parameters.
    fn init(&self) -> Vec<f64>;
    /// `theta = theta(phi)` (length `operator().nparams()`, overwritten).
    /// Parameters of the wrong length, or a network that cannot be
    /// evaluated, are an error (never a NaN passed on to the simulator).
    fn theta(&self, phi: &[f64], theta: &mut [f64]) -> Result<(), LearnError>;
    /// `dphi += (d theta / d phi)^T dtheta`.
    fn theta_vjp(&self, phi: &[f64], dtheta: &[f64], dphi: &mut [f64]) -> Result<(), LearnError>;
    /// Number of conditions (1: `theta` does not depend on the dataset).
    fn n_conditions(&self) -> usize {
        1
    }
    /// `theta` under condition `condition < n_conditions()` (overwritten);
    /// by default [`Model::theta`].
    fn theta_for(&self, phi: &[f64], _condition: usize, theta: &mut [f64]) -> Result<(), LearnError> {
        self.theta(phi, theta)
    }
    /// `dphi += (d theta_for(phi, condition) / d phi)^T dtheta`; by default
    /// [`Model::theta_vjp`].
    fn theta_vjp_for(
        &self,
        phi: &[f64],
        _condition: usize,
        dtheta: &[f64],
        dphi: &mut [f64],
    ) -> Result<(), LearnError> {
        self.theta_vjp(phi, dtheta, dphi)
    }
    /// For a model whose `theta` interpolates in time between per-node
    /// blocks (slot `s` has `sum_k w theta_node(k)` over the pairs `(k, w)`
    /// of [`TimeNodes::weights`]`[s]`), the interpolation; the blocks are
    /// [`Model::node_theta`]. With an operator that has a
    /// [`Operator::linear_assembly`], training then assembles each node's
    /// matrix once instead of each slot's ([`collop_fp::GradientSum::blended`]).
    /// `None` (the default): `theta` only through [`Model::theta`].
    fn time_interpolation(&self) -> Option<&TimeNodes> {
        None
    }
    /// The node blocks of `theta` (`n_nodes` blocks of the operator's
    /// per-slot parameters, overwritten); for models with
    /// [`Model::time_interpolation`].
    fn node_theta(&self, _phi: &[f64], _nodes: &mut [f64]) -> Result<(), LearnError> {
        Err(LearnError::Config(format!("{}: not interpolated between time nodes", self.describe())))
    }
    /// `dphi += (d node_theta / d phi)^T dnodes`; for models with
    /// [`Model::time_interpolation`].
    fn node_theta_vjp(&self, _dnodes: &[f64], _dphi: &mut [f64]) -> Result<(), LearnError> {
        Err(LearnError::Config(format!("{}: not interpolated between time nodes", self.describe())))
    }
    /// Regularisation `R(phi)`; adds `dR/dphi` to `dphi`.
    fn regularisation(&self, _phi: &[f64], _dphi: &mut [f64]) -> f64 {
        0.0
    }
    /// One-line description.
    fn describe(&self) -> String;
}

/// Refuse `got` values where the model has `want`, naming `what`.
pub(crate) fn check_lengths(what: &str, got: usize, want: usize) -> Result<(), LearnError> {
    if got == want {
        Ok(())
    } else {
        Err(LearnError::Data(format!(
            "{got} {what} given, the model has {want}: they were saved for another model, grid or network shape"
        )))
    }
}

/// Symmetry imposed on a Fokker-Planck tensor model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Symmetry {
    /// All five fields free.
    None,
    /// `A_y(v_x, v_y) = A_x(v_y, v_x)`, `D_yy = D_xx^T`, `D_xy` free.
    Transpose,
    /// Transpose symmetry plus reflection in `v_x`: `A_x` odd, `D_xx` even,
    /// `D_xy` odd in `v_x`; half the grid is free.
    #[serde(alias = "transpose-reflect")]
    Axis,
}

impl Symmetry {
    /// The configuration's name of the symmetry.
    pub fn name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Transpose => "transpose",
            Self::Axis => "axis",
        }
    }
}

impl std::fmt::Display for Symmetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Linear interpolation in time between `n_nodes` nodes spread uniformly
/// over dump steps `0..=last`, evaluated (and extrapolated) at slots
/// `0..n_slots`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeNodes {
    n_nodes: usize,
    /// Per slot: `(node, weight)` pairs.
    weights: Vec<[(usize, f64); 2]>,
}

impl TimeNodes {
    /// One node: time independent.
    pub fn constant() -> Self {
        Self { n_nodes: 1, weights: vec![[(0, 1.0), (0, 0.0)]] }
    }

    /// `n_nodes >= 2` nodes over steps `0..=last_step`, slots `0..n_slots`.
    pub fn uniform(n_nodes: usize, last_step: usize, n_slots: usize) -> Result<Self, LearnError> {
        if n_nodes == 1 {
            return Ok(Self::constant());
        }
        if n_nodes == 0 || last_step == 0 || n_slots == 0 {
            return Err(LearnError::Config(format!(
                "time nodes: {n_nodes} nodes over {last_step} steps, {n_slots} slots; need at least one node, \
                 a window of at least two steps and one slot"
            )));
        }
        let spacing = last_step as f64 / (n_nodes - 1) as f64;
        let weights = (0..n_slots)
            .map(|s| {
                let x = s as f64 / spacing;
                // Interval [k, k+1], the last one extended for extrapolation.
                let k = (x.floor() as usize).min(n_nodes - 2);
                let w = x - k as f64;
                [(k, 1.0 - w), (k + 1, w)]
            })
            .collect();
        Ok(Self { n_nodes, weights })
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.n_nodes
    }

    /// Per slot, the nodes it interpolates between and their weights.
    pub fn weights(&self) -> &[[(usize, f64); 2]] {
        &self.weights
    }

    /// Number of slots.
    pub fn n_slots(&self) -> usize {
        self.weights.len()
    }
}

/// A model linear in its parameters: per time node, `fields = P phi_node`;
/// per slot, `theta_slot = sum_node w(slot, node) fields_node`. Covers the
/// free, symmetric and par/perp tensor models, their time-dependent
/// versions, and free kernels.
pub struct LinearModel {
    op: Box<dyn Operator + Send>,
    spatial: SparseLinear,
    time: TimeNodes,
    /// Ranges of `phi` (per node) that form one field, for the regularisation.
    field_ranges: Vec<std::ops::Range<usize>>,
    lambda: [f64; 2],
    /// Weight and difference order of the velocity-space smoothness prior.
    smoothness: (f64, usize),
    name: String,
}

impl LinearModel {
    fn new(
        op: Box<dyn Operator + Send>,
        spatial: SparseLinear,
        time: TimeNodes,
        field_ranges: Vec<std::ops::Range<usize>>,
        name: String,
    ) -> Result<Self, LearnError> {
        let per_slot = op.nparams() / op.n_slots();
        if spatial.rows() != per_slot || op.n_slots() != time.n_slots() {
            return Err(LearnError::Config(format!(
                "model '{name}': spatial map gives {} values per slot for {} slots, the operator takes {per_slot} \
                 per slot for {} slots",
                spatial.rows(),
                time.n_slots(),
                op.n_slots()
            )));
        }
        Ok(Self { op, spatial, time, field_ranges, lambda: [0.0, 0.0], smoothness: (0.0, 2), name })
    }

    /// Regularisation weights of time-dependent models:
    /// `lambda1 mean|first differences| + lambda2 sqrt(mean(second differences^2) + 1e-10)`
    /// over the time nodes, summed over fields.
    pub fn with_time_regularisation(mut self, lambda1: f64, lambda2: f64) -> Self {
        self.lambda = [lambda1, lambda2];
        self
    }

    /// A smoothness prior in velocity space of weight `lambda_v` and
    /// difference order `order` (2 or 3): the mean squared `order`-th
    /// difference of every operator field (grid units, each time node) along
    /// `v_x` and along `v_y`; for `order = 2`,
    ///
    /// `R_v = lambda_v mean_{fields, cells} [(F_{i+1,j} - 2 F_{i,j} + F_{i-1,j})^2
    ///        + (F_{i,j+1} - 2 F_{i,j} + F_{i,j-1})^2]`,
    ///
    /// and for `order = 3` the stencil `(-1, 3, -3, 1)`. A Tikhonov prior. It
    /// is what makes a free per-cell tensor identifiable: the central
    /// differences of the reference scheme do not see odd-even
    /// ("checkerboard") modes of `A f` and of the cross term, which the
    /// data's counting noise then excites freely, and cells no data reach
    /// keep whatever value the initialisation gave them. The prior
    /// suppresses the former (a checkerboard has the largest differences of
    /// all, `2^order` per cell) and interpolates smoothly into the latter. Its
    /// null space is the polynomials of degree `< order` along each axis;
    /// true fields pay in proportion to their `order`-th derivative times
    /// `dv^order`, so the third order biases steep profiles (`D_par ~ v^-3`
    /// beyond the thermal speed) much less than the second. See
    /// [`crate::recovery`]. The loss is in units of `f^2` (MSE) or `f`
    /// (MAE), so `lambda_v` depends on the loss and on the data's scale.
    pub fn with_smoothness(mut self, lambda_v: f64, order: usize) -> Result<Self, LearnError> {
        if !(lambda_v.is_finite() && lambda_v >= 0.0 && (2..=3).contains(&order)) {
            return Err(LearnError::Config(format!(
                "smoothness prior: weight {lambda_v} must be finite and >= 0 and order {order} 2 or 3"
            )));
        }
        self.smoothness = (lambda_v, order);
        Ok(self)
    }

    /// Parameters per time node.
    pub fn params_per_node(&self) -> usize {
        self.spatial.cols()
    }

    /// The time interpolation.
    pub fn time_nodes(&self) -> &TimeNodes {
        &self.time
    }

    /// Fields of node `k` in the operator's per-slot layout.
    pub fn node_values(&self, phi: &[f64], k: usize) -> Vec<f64> {
        let per = self.params_per_node();
        let mut out = vec![0.0; self.spatial.rows()];
        self.spatial.apply(&phi[k * per..(k + 1) * per], &mut out);
        out
    }
}

impl LinearModel {
    /// The velocity-space smoothness prior of [`LinearModel::with_smoothness`];
    /// adds its gradient to `dphi`.
    fn smoothness_penalty(&self, phi: &[f64], dphi: &mut [f64]) -> f64 {
        let (lambda, order) = self.smoothness;
        if lambda == 0.0 {
            return 0.0;
        }
        // Stencil (-1)^(order - m) binom(order, m), m = 0..=order.
        let stencil: &[f64] = if order == 2 { &[1.0, -2.0, 1.0] } else { &[-1.0, 3.0, -3.0, 1.0] };
        let grid = self.op.grid();
        let (nx, ny) = grid.shape();
        let n = grid.len();
        let per = self.spatial.rows();
        let pn = self.params_per_node();
        // Operators' per-slot parameters are stacked grid fields of n cells.
        let n_fields = per / n;
        let terms = n_fields * (nx.saturating_sub(order) * ny + nx * ny.saturating_sub(order));
        if terms == 0 {
            return 0.0;
        }
        let scale = lambda / terms as f64;
        let mut total = 0.0;
        let mut dfield = vec![0.0; per];
        for k in 0..self.time.n_nodes() {
            let values = self.node_values(phi, k);
            dfield.iter_mut().for_each(|d| *d = 0.0);
            for (f, df) in values.chunks_exact(n).zip(dfield.chunks_exact_mut(n)) {
                // Along v_x (cells i * ny + j, stride ny) and along v_y (stride 1).
                for (stride, len_a, len_b) in [(ny, nx, ny), (1, ny, nx)] {
                    for a in 0..len_a.saturating_sub(order) {
                        for b in 0..len_b {
                            let first = if stride == 1 { b * ny + a } else { a * ny + b };
                            let d: f64 =
                                stencil.iter().enumerate().map(|(m, c)| c * f[first + m * stride]).sum();
                            total += scale * d * d;
                            for (m, c) in stencil.iter().enumerate() {
                                df[first + m * stride] += 2.0 * scale * d * c;
                            }
                        }
                    }
                }
            }
            self.spatial.apply_transpose(&dfield, &mut dphi[k * pn..(k + 1) * pn]);
        }
        total
    }
}

impl Model for LinearModel {
    fn operator(&self) -> &dyn Operator {
        self.op.as_ref()
    }

    fn nparams(&self) -> usize {
        self.time.n_nodes() * self.spatial.cols()
    }

    fn init(&self) -> Vec<f64> {
        vec![0.0; self.nparams()]
    }

    fn theta(&self, phi: &[f64], theta: &mut [f64]) -> Result<(), LearnError> {
        check_lengths("model parameters", phi.len(), self.nparams())?;
        check_lengths("operator parameters", theta.len(), self.op.nparams())?;
        let per = self.spatial.rows();
        let nodes: Vec<Vec<f64>> = (0..self.time.n_nodes()).map(|k| self.node_values(phi, k)).collect();
        for (s, w) in self.time.weights.iter().enumerate() {
            let out = &mut theta[s * per..(s + 1) * per];
            for (o, (a, b)) in out.iter_mut().zip(nodes[w[0].0].iter().zip(&nodes[w[1].0])) {
                *o = w[0].1 * a + w[1].1 * b;
            }
        }
        Ok(())
    }

    fn theta_vjp(&self, _phi: &[f64], dtheta: &[f64], dphi: &mut [f64]) -> Result<(), LearnError> {
        check_lengths("model parameter gradient", dphi.len(), self.nparams())?;
        check_lengths("operator parameter gradient", dtheta.len(), self.op.nparams())?;
        let per = self.spatial.rows();
        let pn = self.params_per_node();
        let mut dnode = vec![vec![0.0; per]; self.time.n_nodes()];
        for (s, w) in self.time.weights.iter().enumerate() {
            let d = &dtheta[s * per..(s + 1) * per];
            for &(k, wk) in w {
                if wk != 0.0 {
                    for (a, b) in dnode[k].iter_mut().zip(d) {
                        *a += wk * b;
                    }
                }
            }
        }
        for (k, dn) in dnode.iter().enumerate() {
            self.spatial.apply_transpose(dn, &mut dphi[k * pn..(k + 1) * pn]);
        }
        Ok(())
    }

    fn time_interpolation(&self) -> Option<&TimeNodes> {
        // One node is one slot: the slot route is the same work.
        (self.time.n_nodes() > 1).then_some(&self.time)
    }

    fn node_theta(&self, phi: &[f64], nodes: &mut [f64]) -> Result<(), LearnError> {
        check_lengths("model parameters", phi.len(), self.nparams())?;
        let (per, pn) = (self.spatial.rows(), self.params_per_node());
        check_lengths("node parameters", nodes.len(), self.time.n_nodes() * per)?;
        for (x, y) in phi.chunks_exact(pn).zip(nodes.chunks_exact_mut(per)) {
            self.spatial.apply(x, y);
        }
        Ok(())
    }

    fn node_theta_vjp(&self, dnodes: &[f64], dphi: &mut [f64]) -> Result<(), LearnError> {
        check_lengths("model parameter gradient", dphi.len(), self.nparams())?;
        let (per, pn) = (self.spatial.rows(), self.params_per_node());
        check_lengths("node parameter gradient", dnodes.len(), self.time.n_nodes() * per)?;
        for (dy, dx) in dnodes.chunks_exact(per).zip(dphi.chunks_exact_mut(pn)) {
            self.spatial.apply_transpose(dy, dx);
        }
        Ok(())
    }

    fn regularisation(&self, phi: &[f64], dphi: &mut [f64]) -> f64 {
        let nn = self.time.n_nodes();
        let pn = self.params_per_node();
        let [l1, l2] = self.lambda;
        let mut total = self.smoothness_penalty(phi, dphi);
        if nn < 2 || (l1 == 0.0 && l2 == 0.0) {
            return total;
        }
        for range in &self.field_ranges {
            if l1 != 0.0 {
                let count = ((nn - 1) * range.len()) as f64;
                for k in 0..nn - 1 {
                    for p in range.clone() {
                        let d = phi[(k + 1) * pn + p] - phi[k * pn + p];
                        total += l1 * d.abs() / count;
                        let s = l1 * d.signum() * f64::from(u8::from(d != 0.0)) / count;
                        dphi[(k + 1) * pn + p] += s;
                        dphi[k * pn + p] -= s;
                    }
                }
            }
            if l2 != 0.0 && nn >= 3 {
                let count = ((nn - 2) * range.len()) as f64;
                let second = |k: usize, p: usize| {
                    phi[(k + 1) * pn + p] - 2.0 * phi[k * pn + p] + phi[(k - 1) * pn + p]
                };
                let ms: f64 = (1..nn - 1)
                    .flat_map(|k| range.clone().map(move |p| (k, p)))
                    .map(|(k, p)| second(k, p).powi(2))
                    .sum::<f64>()
                    / count;
                let root = (ms + 1e-10).sqrt();
                total += l2 * root;
                // d sqrt(m + eps) = dm / (2 sqrt(m + eps)), dm/dd2 = 2 d2 / count.
                for k in 1..nn - 1 {
                    for p in range.clone() {
                        let g = l2 * second(k, p) / (count * root);
                        dphi[(k + 1) * pn + p] += g;
                        dphi[k * pn + p] -= 2.0 * g;
                        dphi[(k - 1) * pn + p] += g;
                    }
                }
            }
        }
        total
    }

    fn describe(&self) -> String {
        let t = if self.time.n_nodes() > 1 {
            format!(", {} time nodes", self.time.n_nodes())
        } else {
            String::new()
        };
        format!("{}{t} ({} parameters) -> {}", self.name, self.nparams(), self.op.describe())
    }
}

/// Map of the free Fokker-Planck tensor model with a symmetry: `phi` to the
/// five grid-unit fields, and the field ranges of `phi`.
fn tensor_map(
    grid: &VelocityGrid,
    symmetry: Symmetry,
) -> Result<(SparseLinear, Vec<std::ops::Range<usize>>), LearnError> {
    let n = grid.len();
    let (nx, ny) = grid.shape();
    if symmetry != Symmetry::None && !(nx == ny && grid.x_range == grid.y_range) {
        return Err(LearnError::Config(format!(
            "symmetry = \"{symmetry}\" swaps v_x and v_y and needs a square grid with equal ranges; the grid is {grid}; \
             use symmetry = \"none\" on this grid"
        )));
    }
    let idx = |i: usize, j: usize| (i * ny + j) as u32;
    match symmetry {
        Symmetry::None => Ok((SparseLinear::identity(5 * n), (0..5).map(|f| f * n..(f + 1) * n).collect())),
        Symmetry::Transpose => {
            // phi = [A_x, D_xx, D_xy].
            let mut t = Vec::with_capacity(5 * n);
            for i in 0..nx {
                for j in 0..ny {
                    let (k, kt) = (idx(i, j), idx(j, i));
                    let n32 = n as u32;
                    t.push((k, k, 1.0)); // A_x
                    t.push((n32 + k, kt, 1.0)); // A_y(i, j) = A_x(j, i)
                    t.push((2 * n32 + k, n32 + k, 1.0)); // D_xx
                    t.push((3 * n32 + k, n32 + kt, 1.0)); // D_yy(i, j) = D_xx(j, i)
                    t.push((4 * n32 + k, 2 * n32 + k, 1.0)); // D_xy
                }
            }
            Ok((SparseLinear::new(5 * n, 3 * n, t), (0..3).map(|f| f * n..(f + 1) * n).collect()))
        }
        Symmetry::Axis => {
            // Free cells: i >= nx / 2 (the upper half in v_x, the centre column included).
            let half = nx / 2;
            let free_cols = nx - half;
            let m = free_cols * ny;
            let free = |i: usize, j: usize| -> (u32, f64, bool) {
                // Index of the free cell mirroring (i, j) and whether (i, j) is mirrored.
                if i >= half {
                    (((i - half) * ny + j) as u32, 1.0, false)
                } else {
                    (((nx - 1 - i - half) * ny + j) as u32, 1.0, true)
                }
            };
            let centre = nx % 2 == 1;
            let mut t = Vec::new();
            let n32 = n as u32;
            let m32 = m as u32;
            for i in 0..nx {
                for j in 0..ny {
                    let k = idx(i, j);
                    // A_x odd and D_xy odd in v_x (zero on the centre column), D_xx even.
                    let (p, _, mirrored) = free(i, j);
                    let odd = if mirrored { -1.0 } else { 1.0 };
                    let on_axis = centre && i == half;
                    if !on_axis {
                        t.push((k, p, odd));
                        t.push((4 * n32 + k, 2 * m32 + p, odd));
                    }
                    t.push((2 * n32 + k, m32 + p, 1.0));
                    // A_y(i, j) = A_x(j, i), D_yy(i, j) = D_xx(j, i).
                    let (pt, _, mt) = free(j, i);
                    let odd_t = if mt { -1.0 } else { 1.0 };
                    if !(centre && j == half) {
                        t.push((n32 + k, pt, odd_t));
                    }
                    t.push((3 * n32 + k, m32 + pt, 1.0));
                }
            }
            Ok((SparseLinear::new(5 * n, 3 * m, t), (0..3).map(|f| f * m..(f + 1) * m).collect()))
        }
    }
}

/// Map of the par/perp model: radial profiles `A_par, D_par, D_perp` on
/// `n_radial` nodes uniform over `[0, sqrt(v_x,max^2 + v_y,max^2)]`, linearly
/// interpolated to each cell's `|v|` and rotated onto `(x, y)` as the theory
/// fields (`A_par > 0` points outward). Profiles are in grid units of `v_x`
/// (`A / dv_x`, `D / dv_x^2`).
fn par_perp_map(grid: &VelocityGrid, n_radial: usize) -> Result<SparseLinear, LearnError> {
    if n_radial < 2 {
        return Err(LearnError::Config(format!(
            "par/perp profiles need at least 2 radial nodes, got {n_radial}"
        )));
    }
    let n = grid.len();
    let h = grid.corner_speed() / (n_radial - 1) as f64;
    // Interpolation of each profile from its nodes to the cell speeds.
    let mut t = Vec::new();
    let nr = n_radial as u32;
    for i in 0..grid.nx {
        for j in 0..grid.ny {
            let k = grid.index(i, j) as u32;
            let (v, _) = grid.cell_speed_and_direction(i, j);
            let x = (v / h).min((n_radial - 1) as f64);
            let lo = (x.floor() as usize).min(n_radial - 2);
            let w = x - lo as f64;
            for (node, wn) in [(lo as u32, 1.0 - w), (lo as u32 + 1, w)] {
                for p in 0..3u32 {
                    t.push((p * n as u32 + k, p * nr + node, wn));
                }
            }
        }
    }
    let interpolation = SparseLinear::new(3 * n, 3 * n_radial, t);
    Ok(radial_rotation(grid).compose(&interpolation))
}

/// Rotation of per-cell radial values `[A_par, D_par, D_perp]` (three blocks
/// of `nx * ny` cells, grid units of `v_x`) onto the five Cartesian fields in
/// grid units, with each cell's direction from [`VelocityGrid::cell_speed_and_direction`]
/// (`A_par > 0` points outward; `D = R diag(D_par, D_perp) R^T`).
pub(crate) fn radial_rotation(grid: &VelocityGrid) -> SparseLinear {
    let n = grid.len() as u32;
    let (hx, hy) = (grid.dvx(), grid.dvy());
    // Grid-unit rescaling of each Cartesian field relative to the x-based profiles.
    let (sx, sy) = (1.0, hx / hy);
    let (sxx, syy, sxy) = (1.0, (hx / hy).powi(2), hx / hy);
    let mut t = Vec::with_capacity(8 * grid.len());
    for i in 0..grid.nx {
        for j in 0..grid.ny {
            let k = grid.index(i, j) as u32;
            let (_, [c, s]) = grid.cell_speed_and_direction(i, j);
            let (a, dpar, dperp) = (k, n + k, 2 * n + k);
            t.push((k, a, c * sx));
            t.push((n + k, a, s * sy));
            t.push((2 * n + k, dpar, c * c * sxx));
            t.push((2 * n + k, dperp, s * s * sxx));
            t.push((3 * n + k, dpar, s * s * syy));
            t.push((3 * n + k, dperp, c * c * syy));
            t.push((4 * n + k, dpar, c * s * sxy));
            t.push((4 * n + k, dperp, -c * s * sxy));
        }
    }
    SparseLinear::new(5 * grid.len(), 3 * grid.len(), t)
}

/// Radial node speeds of a par/perp model on `grid`.
pub fn radial_nodes(grid: &VelocityGrid, n_radial: usize) -> Vec<f64> {
    let vmax = grid.corner_speed();
    (0..n_radial).map(|k| k as f64 * vmax / (n_radial - 1).max(1) as f64).collect()
}

/// Map of the free kernel model, optionally with the transpose symmetry
/// `K_y(v_x, v_y; l, m) = K_x(v_y, v_x; m, l)`.
pub(crate) fn kernel_map(
    grid: &VelocityGrid,
    k: usize,
    transpose: bool,
) -> Result<(SparseLinear, Vec<std::ops::Range<usize>>), LearnError> {
    let n = grid.len();
    let per = 2 * k * k * n;
    if !transpose {
        return Ok((SparseLinear::identity(per), (0..2).map(|c| c * per / 2..(c + 1) * per / 2).collect()));
    }
    if !(grid.nx == grid.ny && grid.x_range == grid.y_range) {
        return Err(LearnError::Config(format!(
            "kernel transpose symmetry needs a square grid; the grid is {grid}"
        )));
    }
    let ny = grid.ny;
    let mut t = Vec::with_capacity(per);
    for l in 0..k {
        for m in 0..k {
            for i in 0..grid.nx {
                for j in 0..ny {
                    let q = i * ny + j;
                    let qt = j * ny + i;
                    let kx = (l * k + m) * n + q;
                    t.push((kx as u32, kx as u32, 1.0));
                    let ky = ((k + l) * k + m) * n + q;
                    let src = (m * k + l) * n + qt;
                    t.push((ky as u32, src as u32, 1.0));
                }
            }
        }
    }
    let ranges = std::iter::once(0..per / 2).collect();
    Ok((SparseLinear::new(per, per / 2, t), ranges))
}

/// Which family of linear model to build.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LinearKind {
    /// Free Fokker-Planck fields with a symmetry.
    FpTensor(Symmetry),
    /// Radial profiles on this many nodes.
    ParPerp(usize),
    /// Free kernels of size `k`, outer difference, transpose symmetry.
    Kernel {
        /// Kernel size.
        k: usize,
        /// Outer difference.
        difference: Difference,
        /// Impose `K_y(v_x, v_y; l, m) = K_x(v_y, v_x; m, l)`.
        transpose: bool,
    },
}

/// Build a linear model on `grid`. `time` gives the time nodes (use
/// [`TimeNodes::constant`] for a time-independent model); Fokker-Planck
/// models use `scheme` (and the optional clamp `D_xx, D_yy >= 0`).
pub fn linear_model(
    grid: VelocityGrid,
    kind: LinearKind,
    scheme: Scheme,
    clamp_d: bool,
    time: TimeNodes,
) -> Result<LinearModel, LearnError> {
    let slots = time.n_slots();
    match kind {
        LinearKind::FpTensor(sym) => {
            let (map, ranges) = tensor_map(&grid, sym)?;
            let op = FokkerPlanck::with_slots(grid, scheme, slots)?.with_diffusion_clamp(clamp_d);
            LinearModel::new(Box::new(op), map, time, ranges, format!("FP tensor, symmetry {sym}"))
        }
        LinearKind::ParPerp(nr) => {
            let map = par_perp_map(&grid, nr)?;
            let op = FokkerPlanck::with_slots(grid, scheme, slots)?.with_diffusion_clamp(clamp_d);
            let ranges = (0..3).map(|f| f * nr..(f + 1) * nr).collect();
            LinearModel::new(Box::new(op), map, time, ranges, format!("FP par/perp, {nr} radial nodes"))
        }
        LinearKind::Kernel { k, difference, transpose } => {
            let (map, ranges) = kernel_map(&grid, k, transpose)?;
            let op = KernelOperator::with_slots(grid, k, difference, slots)?;
            let sym = if transpose { ", transpose symmetry" } else { "" };
            LinearModel::new(Box::new(op), map, time, ranges, format!("kernel tensor, k = {k}{sym}"))
        }
    }
}

/// The Fokker-Planck fields (physical units) of every slot of a model's
/// `theta`, if its operator is a Fokker-Planck operator.
pub fn fp_fields(grid: &VelocityGrid, theta: &[f64]) -> Result<Vec<FpFields>, LearnError> {
    let per = 5 * grid.len();
    if !theta.len().is_multiple_of(per) {
        return Err(LearnError::Data(format!(
            "{} values are not whole slots of {per} Fokker-Planck fields",
            theta.len()
        )));
    }
    theta
        .chunks_exact(per)
        .map(|t| FpFields::from_grid_units(*grid, t).map_err(|e| LearnError::Data(e.to_string())))
        .collect()
}
