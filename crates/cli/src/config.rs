//! The TOML configuration of `collop train`: typed, unknown keys rejected,
//! composed from the settings each crate owns.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use collop_core::VelocityGrid;
use collop_fp::{
    Accumulation, Difference, Edges, Loss, LossKind, RolloutConfig, Scheme, StabilityPolicy, Substeps,
};
use collop_learn::{
    LinearKind, LinearModel, MlpFieldModel, Model, OptimiserKind, Stage, Symmetry, TimeNodes, linear_model,
    reference_schedule,
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
    /// One MLP per Fokker-Planck field (time independent).
    FpMlp,
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
    /// Hidden layer widths of MLP models.
    #[serde(default = "default_hidden")]
    pub hidden: Vec<usize>,
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
            hidden: default_hidden(),
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
        if self.model.time_nodes < -1 {
            bail!(
                "[model] time_nodes = {}: use 0 (constant), -1 (one per dump) or a count",
                self.model.time_nodes
            );
        }
        Ok(())
    }

    /// Build the model on `grid` for datasets of `n_steps` dump steps,
    /// with the discretisation of `numerics`.
    pub fn model(
        &self,
        grid: VelocityGrid,
        n_steps: usize,
        numerics: &NumericsConfig,
    ) -> Result<Box<dyn Model>> {
        let m = &self.model;
        if m.kind == ModelFamily::FpMlp {
            if m.time_nodes > 1 || m.time_nodes == -1 {
                bail!("[model] fp-mlp is time independent; set time_nodes = 0");
            }
            return Ok(Box::new(MlpFieldModel::new(
                grid,
                numerics.scheme(),
                numerics.clamp_d,
                &m.hidden,
                self.seed,
            )?));
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
            ModelFamily::FpMlp => unreachable!("handled above"),
        };
        let model: LinearModel = linear_model(grid, kind, numerics.scheme(), numerics.clamp_d, time)?
            .with_time_regularisation(m.lambda1, m.lambda2);
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
        for (name, family) in
            [("reference-tensor", ModelFamily::FpTensor), ("reference-mlp", ModelFamily::FpMlp)]
        {
            let path = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs"))
                .join(format!("{name}.toml"));
            let cfg = TrainConfig::load(&path).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert_eq!(cfg.model.kind, family);
            assert_eq!(cfg.training.stages, reference_schedule(), "{name}");
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
}
