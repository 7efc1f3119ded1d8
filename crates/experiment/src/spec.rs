//! Typed model specifications: one tagged enum of model families, each
//! with only its own keys.
//!
//! In a training config (`[model]`):
//!
//! ```toml
//! kind = "fp-tensor"            # free per-cell fields A_x, A_y, D_xx, D_yy, D_xy
//! symmetry = "none"             # "transpose", or "axis" (transpose and reflection in v_x)
//! time = "constant"             # "per-dump", or { nodes = 25 }
//! lambda1 = 1e-4                # time regularisation (time-dependent models only)
//! smoothness = 3e-6             # velocity-space prior, order 3 (smoothness_order = 2 or 3)
//! ```
//!
//! Families and their keys:
//! - `fp-tensor`: `symmetry`, and the linear keys;
//! - `fp-par-perp`: `n_radial`, and the linear keys;
//! - `kernel-tensor`: `kernel_size`, `difference`, `transpose`, and the linear keys;
//! - `fp-mlp`, `parperp-mlp`: `hidden`, `conditioners`;
//! - `kernel-mlp`: `kernel_size`, `difference`, `transpose`, `hidden`, `conditioners`.
//!
//! The linear keys: `time`, `lambda1`, `lambda2`, `smoothness`, `smoothness_order`.

use collop_core::VelocityGrid;
use collop_fp::{Difference, Scheme};
use collop_learn::{
    Conditioners, LinearKind, LinearModel, MlpKind, MlpModel, Model, Symmetry, TimeNodes, linear_model,
};
use serde::{Deserialize, Serialize};

use crate::error::{ExperimentError, Result};

/// How the operator of a linear model depends on time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum TimeDependence {
    /// One operator for the whole run.
    #[default]
    Constant,
    /// One operator per dump step, linked by the time regularisation.
    PerDump,
    /// This many nodes spread uniformly over the dump steps (at least 2),
    /// linear interpolation between them.
    Nodes(usize),
}

impl TimeDependence {
    /// Whether the operator changes in time.
    pub fn is_constant(self) -> bool {
        self == TimeDependence::Constant
    }

    /// The time nodes for datasets of `n_steps` dump steps.
    pub fn nodes(self, n_steps: usize) -> Result<TimeNodes> {
        let n_steps = n_steps.max(1);
        Ok(match self {
            TimeDependence::Constant => TimeNodes::constant(),
            TimeDependence::PerDump if n_steps == 1 => TimeNodes::constant(),
            TimeDependence::PerDump => TimeNodes::uniform(n_steps, n_steps - 1, n_steps)?,
            TimeDependence::Nodes(n) => TimeNodes::uniform(n, n_steps - 1, n_steps)?,
        })
    }
}

/// Extra inputs of network models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conditioner {
    /// Dump time normalised to [-1, 1] over the training window.
    Time,
    /// Particles per cell.
    Ppc,
    /// Thermal velocity over c.
    VthC,
    /// Particle shape order.
    ShapeOrder,
    /// Cell size over the Debye length.
    DxOverDebye,
}

impl Conditioner {
    /// The name in configs and the key in args.yaml.
    pub fn key(self) -> &'static str {
        match self {
            Conditioner::Time => "time",
            Conditioner::Ppc => "ppc",
            Conditioner::VthC => "vth_c",
            Conditioner::ShapeOrder => "shape_order",
            Conditioner::DxOverDebye => "dx_over_debye",
        }
    }
}

fn default_n_radial() -> usize {
    32
}
fn default_kernel_size() -> usize {
    2
}
fn default_smoothness_order() -> usize {
    3
}
fn default_hidden() -> Vec<usize> {
    vec![64, 64]
}
fn is_zero(x: &f64) -> bool {
    *x == 0.0
}
fn is_three(x: &usize) -> bool {
    *x == 3
}
fn is_false(x: &bool) -> bool {
    !*x
}

/// Time dependence and regularisation of a linear model.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LinearOptions {
    /// Time dependence of the operator.
    pub time: TimeDependence,
    /// Weight of the first-difference time regularisation.
    pub lambda1: f64,
    /// Weight of the second-difference time regularisation.
    pub lambda2: f64,
    /// Weight of the velocity-space smoothness prior (mean squared
    /// `smoothness_order`-th difference of every field along `v_x` and
    /// `v_y`, grid units; 0 = off); see `LinearModel::with_smoothness`.
    pub smoothness: f64,
    /// Difference order of the smoothness prior: 2 or 3.
    pub smoothness_order: usize,
}

/// A model family and its own settings.
///
/// The linear families repeat the keys of [`LinearOptions`] instead of
/// flattening it: serde cannot refuse unknown keys through a flattened
/// struct, and a misspelt key must be an error. [`ModelSpec::linear_options`]
/// reads them back as one value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ModelSpec {
    /// Free Fokker-Planck fields on the grid.
    FpTensor {
        /// Symmetry imposed on the fields.
        #[serde(default = "no_symmetry")]
        symmetry: Symmetry,
        /// Time dependence.
        #[serde(default)]
        time: TimeDependence,
        /// First-difference time regularisation.
        #[serde(default, skip_serializing_if = "is_zero")]
        lambda1: f64,
        /// Second-difference time regularisation.
        #[serde(default, skip_serializing_if = "is_zero")]
        lambda2: f64,
        /// Velocity-space smoothness prior.
        #[serde(default, skip_serializing_if = "is_zero")]
        smoothness: f64,
        /// Its difference order (2 or 3).
        #[serde(default = "default_smoothness_order", skip_serializing_if = "is_three")]
        smoothness_order: usize,
    },
    /// Radial profiles `A_par, D_par, D_perp` of `|v|`, rotated onto the grid.
    FpParPerp {
        /// Radial nodes of each profile.
        #[serde(default = "default_n_radial")]
        n_radial: usize,
        /// Time dependence.
        #[serde(default)]
        time: TimeDependence,
        /// First-difference time regularisation.
        #[serde(default, skip_serializing_if = "is_zero")]
        lambda1: f64,
        /// Second-difference time regularisation.
        #[serde(default, skip_serializing_if = "is_zero")]
        lambda2: f64,
        /// Velocity-space smoothness prior.
        #[serde(default, skip_serializing_if = "is_zero")]
        smoothness: f64,
        /// Its difference order (2 or 3).
        #[serde(default = "default_smoothness_order", skip_serializing_if = "is_three")]
        smoothness_order: usize,
    },
    /// Free kernels `K_x, K_y` of size `k x k` per cell.
    KernelTensor {
        /// Kernel size `k`.
        #[serde(default = "default_kernel_size")]
        kernel_size: usize,
        /// Outer difference.
        #[serde(default = "forward")]
        difference: Difference,
        /// Impose `K_y(v_x, v_y; l, m) = K_x(v_y, v_x; m, l)`.
        #[serde(default, skip_serializing_if = "is_false")]
        transpose: bool,
        /// Time dependence.
        #[serde(default)]
        time: TimeDependence,
        /// First-difference time regularisation.
        #[serde(default, skip_serializing_if = "is_zero")]
        lambda1: f64,
        /// Second-difference time regularisation.
        #[serde(default, skip_serializing_if = "is_zero")]
        lambda2: f64,
        /// Velocity-space smoothness prior.
        #[serde(default, skip_serializing_if = "is_zero")]
        smoothness: f64,
        /// Its difference order (2 or 3).
        #[serde(default = "default_smoothness_order", skip_serializing_if = "is_three")]
        smoothness_order: usize,
    },
    /// One network of `(v_x, v_y)` per Fokker-Planck field.
    FpMlp {
        /// Hidden layer widths.
        #[serde(default = "default_hidden")]
        hidden: Vec<usize>,
        /// Extra inputs.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        conditioners: Vec<Conditioner>,
    },
    /// One network of `|v|` per radial profile.
    ParperpMlp {
        /// Hidden layer widths.
        #[serde(default = "default_hidden")]
        hidden: Vec<usize>,
        /// Extra inputs.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        conditioners: Vec<Conditioner>,
    },
    /// One network of `(v_x, v_y)` producing the kernels of each cell.
    KernelMlp {
        /// Kernel size `k`.
        #[serde(default = "default_kernel_size")]
        kernel_size: usize,
        /// Outer difference.
        #[serde(default = "forward")]
        difference: Difference,
        /// Impose the transpose symmetry (the network gives `K_x` only).
        #[serde(default, skip_serializing_if = "is_false")]
        transpose: bool,
        /// Hidden layer widths.
        #[serde(default = "default_hidden")]
        hidden: Vec<usize>,
        /// Extra inputs.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        conditioners: Vec<Conditioner>,
    },
}

fn no_symmetry() -> Symmetry {
    Symmetry::None
}
fn forward() -> Difference {
    Difference::Forward
}

impl Default for ModelSpec {
    fn default() -> Self {
        ModelSpec::fp_tensor()
    }
}

/// What a model's operator parameters `theta` are, independent of the
/// numerics they are rolled out with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OperatorShape {
    /// Five Fokker-Planck fields per cell and time slot (grid units).
    FokkerPlanck,
    /// Kernels `K_x, K_y` of `k x k` per cell and time slot, with an outer difference.
    Kernel {
        /// Kernel size.
        k: usize,
        /// Outer difference.
        difference: Difference,
    },
}

impl OperatorShape {
    /// Operator parameters per time slot on `grid`.
    pub fn per_slot(self, grid: &VelocityGrid) -> usize {
        match self {
            OperatorShape::FokkerPlanck => 5 * grid.len(),
            OperatorShape::Kernel { k, .. } => 2 * k * k * grid.len(),
        }
    }
}

impl ModelSpec {
    /// A time-independent free tensor without symmetry or prior.
    pub fn fp_tensor() -> Self {
        ModelSpec::FpTensor {
            symmetry: Symmetry::None,
            time: TimeDependence::Constant,
            lambda1: 0.0,
            lambda2: 0.0,
            smoothness: 0.0,
            smoothness_order: 3,
        }
    }

    /// Time-independent radial profiles on 32 nodes.
    pub fn par_perp() -> Self {
        ModelSpec::FpParPerp {
            n_radial: default_n_radial(),
            time: TimeDependence::Constant,
            lambda1: 0.0,
            lambda2: 0.0,
            smoothness: 0.0,
            smoothness_order: 3,
        }
    }

    /// A time-independent free kernel of size `k` with forward differences.
    pub fn kernel(k: usize) -> Self {
        ModelSpec::KernelTensor {
            kernel_size: k,
            difference: Difference::Forward,
            transpose: false,
            time: TimeDependence::Constant,
            lambda1: 0.0,
            lambda2: 0.0,
            smoothness: 0.0,
            smoothness_order: 3,
        }
    }

    /// This linear model with time dependence `t` and, when `t` is not
    /// constant, the time-regularisation weights `lambda1`, `lambda2`
    /// (a constant model keeps none: they would be refused). Network
    /// families are returned unchanged (their time dependence is the
    /// `time` conditioner).
    pub fn with_time(mut self, t: TimeDependence, l1: f64, l2: f64) -> Self {
        let (l1, l2) = if t.is_constant() { (0.0, 0.0) } else { (l1, l2) };
        match &mut self {
            ModelSpec::FpTensor { time, lambda1, lambda2, .. }
            | ModelSpec::FpParPerp { time, lambda1, lambda2, .. }
            | ModelSpec::KernelTensor { time, lambda1, lambda2, .. } => {
                *time = t;
                *lambda1 = l1;
                *lambda2 = l2;
            }
            _ => {}
        }
        self
    }

    /// The config name of the family.
    pub fn family(&self) -> &'static str {
        match self {
            ModelSpec::FpTensor { .. } => "fp-tensor",
            ModelSpec::FpParPerp { .. } => "fp-par-perp",
            ModelSpec::KernelTensor { .. } => "kernel-tensor",
            ModelSpec::FpMlp { .. } => "fp-mlp",
            ModelSpec::ParperpMlp { .. } => "parperp-mlp",
            ModelSpec::KernelMlp { .. } => "kernel-mlp",
        }
    }

    /// Whether the family is a neural network.
    pub fn is_network(&self) -> bool {
        matches!(self, ModelSpec::FpMlp { .. } | ModelSpec::ParperpMlp { .. } | ModelSpec::KernelMlp { .. })
    }

    /// The linear options of linear families.
    pub fn linear_options(&self) -> Option<LinearOptions> {
        match *self {
            ModelSpec::FpTensor { time, lambda1, lambda2, smoothness, smoothness_order, .. }
            | ModelSpec::FpParPerp { time, lambda1, lambda2, smoothness, smoothness_order, .. }
            | ModelSpec::KernelTensor { time, lambda1, lambda2, smoothness, smoothness_order, .. } => {
                Some(LinearOptions { time, lambda1, lambda2, smoothness, smoothness_order })
            }
            _ => None,
        }
    }

    /// The conditioners of network families (empty for linear ones).
    pub fn conditioners(&self) -> &[Conditioner] {
        match self {
            ModelSpec::FpMlp { conditioners, .. }
            | ModelSpec::ParperpMlp { conditioners, .. }
            | ModelSpec::KernelMlp { conditioners, .. } => conditioners,
            _ => &[],
        }
    }

    /// Whether the model has a time input.
    pub fn has_time_input(&self) -> bool {
        self.conditioners().contains(&Conditioner::Time)
    }

    /// The PIC-parameter conditioners, in config order.
    pub fn features(&self) -> Vec<Conditioner> {
        self.conditioners().iter().copied().filter(|&c| c != Conditioner::Time).collect()
    }

    /// What the model's operator parameters are.
    pub fn operator_shape(&self) -> OperatorShape {
        match *self {
            ModelSpec::KernelTensor { kernel_size, difference, .. }
            | ModelSpec::KernelMlp { kernel_size, difference, .. } => {
                OperatorShape::Kernel { k: kernel_size, difference }
            }
            _ => OperatorShape::FokkerPlanck,
        }
    }

    /// Refuse settings that cannot work, saying why and what to use.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ExperimentError::Config(format!("[model] {m}")));
        if let Some(o) = self.linear_options() {
            for (name, value) in
                [("lambda1", o.lambda1), ("lambda2", o.lambda2), ("smoothness", o.smoothness)]
            {
                if !(value.is_finite() && value >= 0.0) {
                    return bad(format!("{name} = {value}: regularisation weights must be finite and >= 0"));
                }
            }
            if o.time.is_constant() && (o.lambda1 > 0.0 || o.lambda2 > 0.0) {
                return bad(
                    "lambda1 / lambda2 regularise the operator's change in time, but time = \"constant\": set \
                     time = \"per-dump\" or time = { nodes = N }, or remove them"
                        .into(),
                );
            }
            if let TimeDependence::Nodes(n) = o.time
                && n < 2
            {
                return bad(format!(
                    "time = {{ nodes = {n} }}: a time-dependent model needs at least 2 nodes; use time = \"constant\" \
                     for one operator"
                ));
            }
            if o.smoothness_order != 2 && o.smoothness_order != 3 {
                return bad(format!("smoothness_order = {}: use 2 or 3", o.smoothness_order));
            }
        }
        match self {
            ModelSpec::FpParPerp { n_radial, .. } if *n_radial < 2 => {
                return bad(format!("n_radial = {n_radial}: a radial profile needs at least 2 nodes"));
            }
            ModelSpec::KernelTensor { kernel_size, .. } | ModelSpec::KernelMlp { kernel_size, .. }
                if *kernel_size == 0 =>
            {
                return bad("kernel_size = 0: use 1 or more".into());
            }
            _ => {}
        }
        let c = self.conditioners();
        if let Some((k, dup)) = c.iter().enumerate().find(|(k, x)| c[..*k].contains(x)) {
            return bad(format!("conditioners: `{}` is listed twice (entry {k})", dup.key()));
        }
        match self {
            ModelSpec::FpMlp { hidden, .. }
            | ModelSpec::ParperpMlp { hidden, .. }
            | ModelSpec::KernelMlp { hidden, .. }
                if hidden.contains(&0) =>
            {
                bad(format!("hidden = {hidden:?}: every layer needs at least one unit"))
            }
            _ => Ok(()),
        }
    }

    /// Build the model on `grid` for datasets of `n_steps` dump steps. The
    /// Fokker-Planck families drive an operator of `scheme` (with the
    /// optional clamp `D_xx, D_yy >= 0`): the numerics of training. Network
    /// families are initialised from `seed` and take their conditioners
    /// (time input, normalised features per condition) from `conditioners`.
    pub fn build(
        &self,
        grid: VelocityGrid,
        n_steps: usize,
        scheme: Scheme,
        clamp_d: bool,
        seed: u64,
        conditioners: Conditioners,
    ) -> Result<Box<dyn Model>> {
        self.validate()?;
        let mlp = |kind: MlpKind, hidden: &[usize]| -> Result<Box<dyn Model>> {
            Ok(Box::new(MlpModel::build(grid, kind, scheme, clamp_d, hidden, seed, conditioners.clone())?))
        };
        match self {
            ModelSpec::FpMlp { hidden, .. } => return mlp(MlpKind::Fields, hidden),
            ModelSpec::ParperpMlp { hidden, .. } => return mlp(MlpKind::ParPerp, hidden),
            ModelSpec::KernelMlp { kernel_size, difference, transpose, hidden, .. } => {
                return mlp(
                    MlpKind::Kernel { k: *kernel_size, difference: *difference, transpose: *transpose },
                    hidden,
                );
            }
            _ => {}
        }
        if conditioners != Conditioners::none() {
            return Err(ExperimentError::Config(format!(
                "[model] {} takes no conditioners; conditioners are inputs of the network families",
                self.family()
            )));
        }
        let kind = match *self {
            ModelSpec::FpTensor { symmetry, .. } => LinearKind::FpTensor(symmetry),
            ModelSpec::FpParPerp { n_radial, .. } => LinearKind::ParPerp(n_radial),
            ModelSpec::KernelTensor { kernel_size, difference, transpose, .. } => {
                LinearKind::Kernel { k: kernel_size, difference, transpose }
            }
            _ => unreachable!("network families returned above"),
        };
        let o = self.linear_options().expect("a linear family");
        let model: LinearModel = linear_model(grid, kind, scheme, clamp_d, o.time.nodes(n_steps)?)?
            .with_time_regularisation(o.lambda1, o.lambda2)
            .with_smoothness(o.smoothness, o.smoothness_order)?;
        Ok(Box::new(model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Wrap {
        model: ModelSpec,
    }

    fn parse(text: &str) -> std::result::Result<ModelSpec, String> {
        toml::from_str::<Wrap>(text).map(|w| w.model).map_err(|e| e.to_string())
    }

    #[test]
    fn families_parse_with_only_their_keys() {
        let m = parse("[model]\nkind = \"fp-tensor\"\ntime = { nodes = 25 }\nlambda1 = 1e-4\n").unwrap();
        assert_eq!(m.linear_options().unwrap().time, TimeDependence::Nodes(25));
        m.validate().unwrap();
        let m = parse("[model]\nkind = \"fp-par-perp\"\ntime = \"per-dump\"\n").unwrap();
        assert_eq!(m.linear_options().unwrap().time, TimeDependence::PerDump);
        let m =
            parse("[model]\nkind = \"kernel-tensor\"\nkernel_size = 3\ndifference = \"backward\"\n").unwrap();
        assert_eq!(m.operator_shape(), OperatorShape::Kernel { k: 3, difference: Difference::Backward });
        // A tensor has no kernel size, a par/perp model no symmetry, a network no time nodes.
        for (text, key) in [
            ("[model]\nkind = \"fp-tensor\"\nkernel_size = 2\n", "kernel_size"),
            ("[model]\nkind = \"fp-par-perp\"\nsymmetry = \"none\"\n", "symmetry"),
            ("[model]\nkind = \"fp-mlp\"\ntime = \"per-dump\"\n", "time"),
            ("[model]\nkind = \"fp-tensor\"\ntime_nodes = -1\n", "time_nodes"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(key), "{text}: {e}");
        }
        let e = parse("[model]\nkind = \"tensor\"\n").unwrap_err();
        assert!(e.contains("fp-tensor"), "{e}");
    }

    #[test]
    fn written_specs_read_back() {
        for m in [
            ModelSpec::fp_tensor(),
            ModelSpec::par_perp(),
            ModelSpec::kernel(2),
            ModelSpec::ParperpMlp { hidden: vec![8, 8], conditioners: vec![Conditioner::Time] },
            ModelSpec::FpParPerp {
                n_radial: 12,
                time: TimeDependence::Nodes(3),
                lambda1: 1e-4,
                lambda2: 1e-5,
                smoothness: 1e-6,
                smoothness_order: 2,
            },
        ] {
            let text = toml::to_string(&Wrap { model: m.clone() }).unwrap();
            assert_eq!(parse(&text).unwrap(), m, "{text}");
        }
    }

    #[test]
    fn impossible_settings_are_refused() {
        for (text, needle) in [
            ("[model]\nkind = \"fp-tensor\"\nlambda1 = 1e-3\n", "time = \"constant\""),
            ("[model]\nkind = \"fp-tensor\"\ntime = { nodes = 1 }\n", "at least 2 nodes"),
            ("[model]\nkind = \"fp-tensor\"\nsmoothness = -1.0\n", "finite and >= 0"),
            ("[model]\nkind = \"fp-mlp\"\nconditioners = [\"ppc\", \"ppc\"]\n", "twice"),
            ("[model]\nkind = \"fp-mlp\"\nhidden = [0]\n", "at least one unit"),
        ] {
            let e = parse(text).unwrap().validate().unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn every_family_builds() {
        let grid = VelocityGrid::square(7, 3.0).unwrap();
        let scheme = Scheme::Reference(collop_fp::Edges::OneSided);
        for m in [
            ModelSpec::fp_tensor(),
            ModelSpec::par_perp(),
            ModelSpec::kernel(2),
            ModelSpec::FpMlp { hidden: vec![4], conditioners: vec![] },
            ModelSpec::KernelMlp {
                kernel_size: 3,
                difference: Difference::Forward,
                transpose: true,
                hidden: vec![4],
                conditioners: vec![],
            },
        ] {
            let model = m.build(grid, 4, scheme, false, 0, Conditioners::none()).unwrap();
            assert_eq!(
                model.operator().nparams(),
                m.operator_shape().per_slot(&grid),
                "{}: one time slot",
                m.family()
            );
        }
        let per_dump = ModelSpec::FpTensor {
            symmetry: Symmetry::None,
            time: TimeDependence::PerDump,
            lambda1: 1e-4,
            lambda2: 0.0,
            smoothness: 0.0,
            smoothness_order: 3,
        };
        let model = per_dump.build(grid, 4, scheme, false, 0, Conditioners::none()).unwrap();
        assert_eq!(model.operator().n_slots(), 4);
    }

    /// Parameters of another network shape are an error that says so, not
    /// a NaN handed to the simulator.
    #[test]
    fn wrong_parameter_shapes_are_errors() {
        let grid = VelocityGrid::square(7, 3.0).unwrap();
        let scheme = Scheme::Reference(collop_fp::Edges::OneSided);
        for m in [ModelSpec::FpMlp { hidden: vec![4], conditioners: vec![] }, ModelSpec::par_perp()] {
            let model = m.build(grid, 4, scheme, false, 0, Conditioners::none()).unwrap();
            let mut theta = vec![0.0; model.operator().nparams()];
            let e = model.theta(&vec![0.1; model.nparams() + 3], &mut theta).unwrap_err().to_string();
            assert!(e.contains("network shape"), "{}: {e}", m.family());
            let mut short = vec![0.0; 3];
            assert!(model.theta(&model.init(), &mut short).is_err());
            model.theta(&model.init(), &mut theta).unwrap();
            assert!(theta.iter().all(|v| v.is_finite()));
        }
    }
}
