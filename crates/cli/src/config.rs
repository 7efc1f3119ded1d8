//! The TOML configuration of `collop train`: typed, unknown keys rejected,
//! composed from the settings each crate owns.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use collop_core::VelocityGrid;
use collop_fp::{
    Accumulation, Difference, Edges, Loss, LossKind, RolloutConfig, Scheme, StabilityPolicy, Substeps,
};
use collop_learn::{
    Conditioners, LinearKind, LinearModel, MlpKind, MlpModel, Model, OptimiserKind, Stage, Symmetry,
    TimeNodes, linear_model, reference_schedule,
};
use serde::{Deserialize, Serialize};

/// Whole training configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Seed of the train/validation split and of any random initialisation.
    #[serde(default)]
    pub seed: u64,
    /// Datasets.
    pub data: DataConfig,
    /// Parametrisation.
    #[serde(default)]
    pub model: ModelConfig,
    /// Numerics of the training rollouts.
    #[serde(default = "NumericsConfig::training")]
    pub numerics: NumericsConfig,
    /// Numerics of the test rollouts (`collop test`).
    #[serde(default = "NumericsConfig::evaluation")]
    pub evaluation: NumericsConfig,
    /// Optimisation.
    #[serde(default)]
    pub training: TrainingConfig,
}

/// Datasets to train on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Dataset folders (relative paths are relative to the config file).
    pub folders: Vec<PathBuf>,
    /// Fraction of windows held out for validation.
    #[serde(default = "default_validation")]
    pub validation_fraction: f64,
    /// PIC parameters per folder (aligned with `folders`), overriding or
    /// supplying the values of each dataset's args.yaml for the
    /// PIC-parameter conditioners.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<PicParameters>,
}

/// PIC parameters of one dataset, as our PIC writes them into args.yaml.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PicParameters {
    /// Particles per cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppc: Option<f64>,
    /// Thermal velocity over c.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vth_c: Option<f64>,
    /// Particle shape order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape_order: Option<f64>,
    /// Cell size over the Debye length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dx_over_debye: Option<f64>,
}

impl PicParameters {
    /// The value given for `c` (not the time).
    pub fn get(&self, c: Conditioner) -> Option<f64> {
        match c {
            Conditioner::Time => None,
            Conditioner::Ppc => self.ppc,
            Conditioner::VthC => self.vth_c,
            Conditioner::ShapeOrder => self.shape_order,
            Conditioner::DxOverDebye => self.dx_over_debye,
        }
    }
}

/// Extra inputs of MLP models.
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

fn default_validation() -> f64 {
    0.05
}

/// Model families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelFamily {
    /// Free coefficient fields on the grid.
    FpTensor,
    /// Radial profiles A_par, D_par, D_perp.
    FpParPerp,
    /// Free kernels.
    KernelTensor,
    /// One MLP per Fokker-Planck field.
    FpMlp,
    /// One MLP per radial profile A_par, D_par, D_perp of |v|.
    ParperpMlp,
    /// One MLP producing the kernels at each cell.
    KernelMlp,
}

impl ModelFamily {
    /// Whether the family is a neural network.
    pub fn is_mlp(self) -> bool {
        matches!(self, ModelFamily::FpMlp | ModelFamily::ParperpMlp | ModelFamily::KernelMlp)
    }
}

/// Parametrisation settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Family.
    pub kind: ModelFamily,
    /// Symmetry of tensor models.
    pub symmetry: Symmetry,
    /// Radial nodes of par/perp models.
    pub n_radial: usize,
    /// Time nodes: 0 or 1 time independent, -1 one per dump, N > 1 nodes.
    pub time_nodes: i64,
    /// Weight of the first-difference time regularisation.
    pub lambda1: f64,
    /// Weight of the second-difference time regularisation.
    pub lambda2: f64,
    /// Kernel size of kernel models.
    pub kernel_size: usize,
    /// Outer difference of kernel models.
    pub difference: Difference,
    /// Transpose symmetry of kernel models.
    pub kernel_transpose: bool,
    /// Weight of the velocity-space smoothness prior of linear models (mean
    /// squared second difference of every operator field along v_x and
    /// v_y, grid units; 0 = off). Makes free per-cell tensors identifiable;
    /// see `LinearModel::with_smoothness`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub smoothness: f64,
    /// Difference order of the smoothness prior: 2 (curvature) or 3 (less
    /// bias on steep profiles).
    #[serde(default = "default_smoothness_order")]
    pub smoothness_order: usize,
    /// Hidden layer widths of MLP models.
    #[serde(default = "default_hidden")]
    pub hidden: Vec<usize>,
    /// Extra inputs of MLP models: `time`, `ppc`, `vth_c`, `shape_order`, `dx_over_debye`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditioners: Vec<Conditioner>,
}

impl ModelConfig {
    /// Whether the model has a time input.
    pub fn has_time(&self) -> bool {
        self.conditioners.contains(&Conditioner::Time)
    }

    /// The PIC-parameter conditioners, in config order.
    pub fn features(&self) -> Vec<Conditioner> {
        self.conditioners.iter().copied().filter(|&c| c != Conditioner::Time).collect()
    }
}

fn default_smoothness_order() -> usize {
    3
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn default_hidden() -> Vec<usize> {
    vec![64, 64]
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            kind: ModelFamily::FpTensor,
            symmetry: Symmetry::None,
            n_radial: 32,
            time_nodes: 0,
            lambda1: 0.0,
            lambda2: 0.0,
            kernel_size: 2,
            difference: Difference::Forward,
            kernel_transpose: false,
            smoothness: 0.0,
            smoothness_order: default_smoothness_order(),
            hidden: default_hidden(),
            conditioners: Vec::new(),
        }
    }
}

/// Discretisation and rollout settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumericsConfig {
    /// `reference` or `conservative`.
    pub scheme: SchemeName,
    /// Edges of the reference scheme.
    pub edges: Edges,
    /// Sub-steps per dump (0 = automatic).
    pub substeps: usize,
    /// Clamp f >= 0 after each step.
    pub clamp_f: bool,
    /// Clamp D_xx, D_yy >= 0.
    pub clamp_d: bool,
}

/// Scheme names in configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchemeName {
    /// Reference finite differences.
    Reference,
    /// Finite volumes.
    Conservative,
}

impl NumericsConfig {
    /// The reference's training settings: one-sided edges, one step per dump, clamp f.
    pub fn training() -> Self {
        Self {
            scheme: SchemeName::Reference,
            edges: Edges::OneSided,
            substeps: 1,
            clamp_f: true,
            clamp_d: false,
        }
    }

    /// The reference's evaluation settings: guard cells, clamps on.
    pub fn evaluation() -> Self {
        Self { scheme: SchemeName::Reference, edges: Edges::Guard, substeps: 1, clamp_f: true, clamp_d: true }
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        match self.scheme {
            SchemeName::Reference => Scheme::Reference(self.edges),
            SchemeName::Conservative => Scheme::Conservative,
        }
    }

    /// Rollout settings.
    pub fn rollout(&self) -> RolloutConfig {
        let substeps = if self.substeps == 0 {
            RolloutConfig::automatic().substeps
        } else {
            Substeps::Fixed(self.substeps)
        };
        // Training follows the reference, which never checks the step; the
        // evaluation reports instability as a warning.
        RolloutConfig { substeps, clamp_f: self.clamp_f, stability: StabilityPolicy::Ignore }
    }
}

/// Optimisation settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Error norm.
    pub loss: LossKind,
    /// Steps that enter the loss.
    pub accumulation: Accumulation,
    /// Optimiser.
    pub optimiser: OptimiserKind,
    /// Stages, run in order with the optimiser state kept.
    pub stages: Vec<Stage>,
    /// Write a checkpoint every this many epochs (0: only at stage ends).
    pub checkpoint_every: usize,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            loss: LossKind::Mae,
            accumulation: Accumulation::AllSteps,
            optimiser: OptimiserKind::Adam,
            stages: reference_schedule(),
            checkpoint_every: 100,
        }
    }
}

impl TrainingConfig {
    /// The loss.
    pub fn loss(&self) -> Loss {
        Loss { kind: self.loss, accumulation: self.accumulation }
    }
}

impl TrainConfig {
    /// Parse a config file; relative data folders are resolved against its folder.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the config {}", path.display()))?;
        let mut cfg: TrainConfig =
            toml::from_str(&text).with_context(|| format!("{}: invalid config", path.display()))?;
        let base = path.parent().unwrap_or(std::path::Path::new("."));
        for f in &mut cfg.data.folders {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Refuse settings that cannot work, saying why.
    pub fn validate(&self) -> Result<()> {
        if self.data.folders.is_empty() {
            bail!("[data] folders is empty: give at least one dataset folder");
        }
        if self.training.stages.is_empty() {
            bail!("[training] stages is empty: give at least one stage (unroll, epochs, lr)");
        }
        for (k, s) in self.training.stages.iter().enumerate() {
            if s.unroll == 0 || !(s.lr.is_finite() && s.lr > 0.0) {
                bail!(
                    "stage {k}: unroll must be >= 1 and lr finite and > 0 (got unroll {}, lr {})",
                    s.unroll,
                    s.lr
                );
            }
        }
        let m = &self.model;
        for (name, value) in [("lambda1", m.lambda1), ("lambda2", m.lambda2), ("smoothness", m.smoothness)] {
            if !(value.is_finite() && value >= 0.0) {
                bail!("[model] {name} = {value}: regularisation weights must be finite and >= 0");
            }
        }
        if m.smoothness > 0.0 && m.kind.is_mlp() {
            bail!(
                "[model] smoothness is a prior on the fields of linear models (tensor, par/perp, kernel); a \
                 network's fields are smooth by construction: remove it"
            );
        }
        if !m.conditioners.is_empty() && !m.kind.is_mlp() {
            bail!(
                "[model] conditioners are inputs of neural networks; use kind = \"fp-mlp\", \"parperp-mlp\" or \
                 \"kernel-mlp\", or remove them"
            );
        }
        if let Some((k, c)) =
            m.conditioners.iter().enumerate().find(|(k, c)| m.conditioners[..*k].contains(c))
        {
            bail!("[model] conditioners: `{}` is listed twice (entry {k})", c.key());
        }
        if m.kind.is_mlp() && (m.time_nodes > 1 || m.time_nodes == -1) {
            bail!(
                "[model] {:?} models take time as an input: set time_nodes = 0 and add \"time\" to conditioners",
                m.kind
            );
        }
        if !self.data.conditions.is_empty() && self.data.conditions.len() != self.data.folders.len() {
            bail!(
                "[data] conditions has {} entries for {} folders: give one table per folder, in the order of folders",
                self.data.conditions.len(),
                self.data.folders.len()
            );
        }
        if self.model.time_nodes < -1 {
            bail!(
                "[model] time_nodes = {}: use 0 (constant), -1 (one per dump) or a count",
                self.model.time_nodes
            );
        }
        Ok(())
    }

    /// Build the model on `grid` for datasets of `n_steps` dump steps,
    /// with the discretisation of `numerics`; MLP models take their
    /// conditioners (time input, normalised features per condition) from
    /// `conditioners`.
    pub fn model(
        &self,
        grid: VelocityGrid,
        n_steps: usize,
        numerics: &NumericsConfig,
        conditioners: Conditioners,
    ) -> Result<Box<dyn Model>> {
        let m = &self.model;
        if m.kind.is_mlp() {
            let kind = match m.kind {
                ModelFamily::ParperpMlp => MlpKind::ParPerp,
                ModelFamily::KernelMlp => MlpKind::Kernel {
                    k: m.kernel_size,
                    difference: m.difference,
                    transpose: m.kernel_transpose,
                },
                _ => MlpKind::Fields,
            };
            return Ok(Box::new(MlpModel::build(
                grid,
                kind,
                numerics.scheme(),
                numerics.clamp_d,
                &m.hidden,
                self.seed,
                conditioners,
            )?));
        }
        if conditioners != Conditioners::none() {
            bail!("[model] {:?} takes no conditioners", m.kind);
        }
        let time = match m.time_nodes {
            0 | 1 => TimeNodes::constant(),
            -1 => TimeNodes::uniform(n_steps, n_steps - 1, n_steps)?,
            n => TimeNodes::uniform(n as usize, n_steps - 1, n_steps)?,
        };
        let kind = match m.kind {
            ModelFamily::FpTensor => LinearKind::FpTensor(m.symmetry),
            ModelFamily::FpParPerp => LinearKind::ParPerp(m.n_radial),
            ModelFamily::KernelTensor => LinearKind::Kernel {
                k: m.kernel_size,
                difference: m.difference,
                transpose: m.kernel_transpose,
            },
            ModelFamily::FpMlp | ModelFamily::ParperpMlp | ModelFamily::KernelMlp => {
                unreachable!("handled above")
            }
        };
        let model: LinearModel = linear_model(grid, kind, numerics.scheme(), numerics.clamp_d, time)?
            .with_time_regularisation(m.lambda1, m.lambda2)
            .with_smoothness(m.smoothness, m.smoothness_order)?;
        Ok(Box::new(model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped configs parse, resolve their data folders relative to
    /// themselves and describe the reference schedule.
    #[test]
    fn shipped_configs_parse() {
        for (name, family) in [
            ("reference-tensor", ModelFamily::FpTensor),
            ("reference-mlp", ModelFamily::FpMlp),
            ("reference-parperp-mlp", ModelFamily::ParperpMlp),
            ("tensor-long", ModelFamily::FpTensor),
            ("tensor-lbfgs-mse", ModelFamily::FpTensor),
        ] {
            let path = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs"))
                .join(format!("{name}.toml"));
            let cfg = TrainConfig::load(&path).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert_eq!(cfg.model.kind, family);
            match name {
                // The reference schedule and one more stage at unroll 20.
                "tensor-long" => {
                    assert_eq!(cfg.training.stages[..4], reference_schedule()[..], "{name}");
                    assert_eq!(cfg.training.stages[4].unroll, 20, "{name}");
                }
                // The same unroll ladder, fewer (L-BFGS) iterations.
                "tensor-lbfgs-mse" => {
                    let unrolls: Vec<usize> = cfg.training.stages.iter().map(|s| s.unroll).collect();
                    assert_eq!(unrolls, [1, 2, 5, 10], "{name}");
                    assert!(matches!(cfg.training.optimiser, OptimiserKind::Lbfgs { .. }), "{name}");
                }
                _ => assert_eq!(cfg.training.stages, reference_schedule(), "{name}"),
            }
            assert_eq!(cfg.data.folders.len(), 2, "{name}: both published sub-populations");
            assert!(cfg.data.folders[0].starts_with(path.parent().unwrap()), "relative to the config file");
            assert_eq!(cfg.numerics.edges, Edges::OneSided);
            assert_eq!(cfg.evaluation.edges, Edges::Guard);
        }
    }

    /// Unknown keys are refused with their name.
    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<TrainConfig>("[data]\nfolders = []\nvalidation = 0.1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("validation"), "{err}");
    }

    const MLP_MODEL: &str = "[model]\nkind = \"parperp-mlp\"\nsymmetry = \"none\"\nn_radial = 8\ntime_nodes = 0\n\
        lambda1 = 0.0\nlambda2 = 0.0\nkernel_size = 2\ndifference = \"forward\"\nkernel_transpose = false\n";

    /// Conditioners parse by name; unknown names are refused with the list of allowed ones.
    #[test]
    fn conditioners_parse_and_unknown_names_are_refused() {
        let text = format!(
            "[data]\nfolders = [\"a\", \"b\"]\nconditions = [{{ ppc = 4, vth_c = 0.01 }}, {{ ppc = 16 }}]\n\
             {MLP_MODEL}conditioners = [\"time\", \"ppc\", \"vth_c\", \"shape_order\", \"dx_over_debye\"]\n"
        );
        let cfg: TrainConfig = toml::from_str(&text).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.model.kind, ModelFamily::ParperpMlp);
        assert!(cfg.model.has_time());
        assert_eq!(
            cfg.model.features(),
            [Conditioner::Ppc, Conditioner::VthC, Conditioner::ShapeOrder, Conditioner::DxOverDebye]
        );
        assert_eq!(cfg.data.conditions[0].get(Conditioner::Ppc), Some(4.0));
        assert_eq!(cfg.data.conditions[1].get(Conditioner::VthC), None);
        // The resolved config written into a run parses back to the same settings.
        let back: TrainConfig = toml::from_str(&toml::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back.model.conditioners, cfg.model.conditioners);
        assert_eq!(back.data.conditions, cfg.data.conditions);

        let bad = format!("[data]\nfolders = [\"a\"]\n{MLP_MODEL}conditioners = [\"density\"]\n");
        let err = toml::from_str::<TrainConfig>(&bad).unwrap_err().to_string();
        for name in ["density", "time", "ppc", "vth_c", "shape_order", "dx_over_debye"] {
            assert!(err.contains(name), "{err}");
        }
        let bad = format!("[data]\nfolders = [\"a\"]\nconditions = [{{ ppc = 4, debye = 1 }}]\n{MLP_MODEL}");
        assert!(toml::from_str::<TrainConfig>(&bad).unwrap_err().to_string().contains("debye"));
    }

    /// Every MLP family builds with and without conditioners; linear
    /// families refuse conditioners.
    #[test]
    fn mlp_families_build_with_conditioners() {
        let grid = VelocityGrid::square(7, 3.0).unwrap();
        let time = collop_learn::TimeInput { window_steps: 4, n_slots: 5 };
        for kind in ["fp-mlp", "parperp-mlp", "kernel-mlp"] {
            let text = format!("[data]\nfolders = [\"a\"]\n{}", MLP_MODEL.replace("parperp-mlp", kind))
                .replace("kernel_transpose = false", "kernel_transpose = true")
                .replace("kernel_size = 2", "kernel_size = 3");
            let cfg: TrainConfig = toml::from_str(&text).unwrap();
            let numerics = NumericsConfig::training();
            let plain = cfg.model(grid, 4, &numerics, Conditioners::none()).unwrap();
            let cond = Conditioners { time: Some(time), conditions: vec![vec![0.5, -1.0], vec![1.0, 1.0]] };
            let m = cfg.model(grid, 4, &numerics, cond).unwrap();
            assert_eq!(m.n_conditions(), 2, "{kind}");
            assert_eq!(m.operator().n_slots(), 5, "{kind}");
            assert!(m.nparams() > plain.nparams(), "{kind}: three more inputs");
            if kind == "kernel-mlp" {
                assert!(m.describe().contains("k = 3, transpose symmetry"), "{}", m.describe());
                assert_eq!(m.operator().nparams(), 5 * 2 * 9 * grid.len());
            }
        }
        let cfg: TrainConfig = toml::from_str("[data]\nfolders = [\"a\"]\n").unwrap();
        let cond = Conditioners { time: Some(time), conditions: Vec::new() };
        assert!(cfg.model(grid, 4, &NumericsConfig::training(), cond).is_err());
    }

    /// Settings that cannot work are refused with the fix.
    #[test]
    fn inconsistent_conditioner_settings_are_refused() {
        let cases = [
            (
                "[data]\nfolders = [\"a\"]\n[model]\nkind = \"fp-tensor\"\nsymmetry = \"none\"\nn_radial = 8\n\
                 time_nodes = 0\nlambda1 = 0.0\nlambda2 = 0.0\nkernel_size = 2\ndifference = \"forward\"\n\
                 kernel_transpose = false\nconditioners = [\"ppc\"]\n"
                    .to_string(),
                "neural networks",
            ),
            (format!("[data]\nfolders = [\"a\"]\n{MLP_MODEL}conditioners = [\"ppc\", \"ppc\"]\n"), "twice"),
            (
                format!("[data]\nfolders = [\"a\", \"b\"]\nconditions = [{{ ppc = 4 }}]\n{MLP_MODEL}"),
                "one table per folder",
            ),
            (
                format!("[data]\nfolders = [\"a\"]\n{}", MLP_MODEL.replace("time_nodes = 0", "time_nodes = -1")),
                "conditioners",
            ),
        ];
        for (text, needle) in cases {
            let cfg: TrainConfig = toml::from_str(&text).unwrap();
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }
}
