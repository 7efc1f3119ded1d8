//! The training configuration (one TOML file): data, model, numerics of
//! training and of evaluation, optimisation. Typed, unknown keys refused.
//!
//! Configs written before the typed model specification (format 1: one
//! `[model]` table carrying the keys of every family, `time_nodes = -1` for
//! one operator per dump, `substeps = 0` for automatic sub-steps) are read
//! by [`crate::legacy`] and converted, so existing run directories keep
//! loading.

use std::path::{Path, PathBuf};

use collop_fp::{Accumulation, Loss, LossKind, Numerics};
use collop_learn::{OptimiserKind, Stage, reference_schedule};
use serde::{Deserialize, Serialize};

use crate::error::{ExperimentError, Result};
use crate::spec::ModelSpec;

/// Whole training configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Seed of the train/validation split and of any random initialisation.
    #[serde(default)]
    pub seed: u64,
    /// Datasets.
    pub data: DataConfig,
    /// Parametrisation.
    #[serde(default)]
    pub model: ModelSpec,
    /// Numerics of the training rollouts.
    #[serde(default = "Numerics::training")]
    pub numerics: Numerics,
    /// Numerics of the test rollouts (`collop test`, the comparison).
    #[serde(default = "Numerics::evaluation")]
    pub evaluation: Numerics,
    /// Optimisation.
    #[serde(default)]
    pub training: TrainingConfig,
}

/// Datasets to train on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Dataset folders (relative paths are relative to the config file).
    pub folders: Vec<PathBuf>,
    /// Fraction of windows held out for validation.
    #[serde(default = "default_validation")]
    pub validation_fraction: f64,
    /// PIC parameters per folder (aligned with `folders`), overriding or
    /// supplying the values of each dataset's args.yaml for the
    /// PIC-parameter conditioners: the same typed record as args.yaml
    /// ([`collop_io::PicParameters`], e.g. `{ ppc = 4, vth_c = 0.01 }`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<collop_io::PicParameters>,
}

impl DataConfig {
    /// The given folders, the default validation fraction, no conditions.
    pub fn folders(folders: Vec<PathBuf>) -> Self {
        Self { folders, validation_fraction: default_validation(), conditions: Vec::new() }
    }
}

fn default_validation() -> f64 {
    0.05
}

/// Optimisation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Error norm.
    #[serde(default = "mae")]
    pub loss: LossKind,
    /// Steps that enter the loss.
    #[serde(default = "all_steps")]
    pub accumulation: Accumulation,
    /// Optimiser.
    #[serde(default = "adam")]
    pub optimiser: OptimiserKind,
    /// Stages, run in order with the optimiser state kept.
    #[serde(default = "reference_schedule")]
    pub stages: Vec<Stage>,
    /// Write a checkpoint every this many epochs (0: only at stage ends).
    #[serde(default = "hundred")]
    pub checkpoint_every: usize,
}

fn mae() -> LossKind {
    LossKind::Mae
}
fn all_steps() -> Accumulation {
    Accumulation::AllSteps
}
fn adam() -> OptimiserKind {
    OptimiserKind::Adam
}
fn hundred() -> usize {
    100
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            loss: mae(),
            accumulation: all_steps(),
            optimiser: adam(),
            stages: reference_schedule(),
            checkpoint_every: hundred(),
        }
    }
}

impl TrainingConfig {
    /// The loss.
    pub fn loss(&self) -> Loss {
        Loss { kind: self.loss, accumulation: self.accumulation }
    }

    /// The stages with epochs scaled by `scale` (at least one each) and
    /// unrolls capped at `max_unroll` dump steps.
    pub fn scaled(&self, scale: f64, max_unroll: usize) -> Vec<Stage> {
        self.stages
            .iter()
            .map(|s| Stage {
                unroll: s.unroll.min(max_unroll).max(1),
                epochs: ((s.epochs as f64 * scale).round() as usize).max(1),
                ..*s
            })
            .collect()
    }
}

impl TrainConfig {
    /// A config for `model` on `folders` with the reference schedule and numerics.
    pub fn new(model: ModelSpec, folders: Vec<PathBuf>) -> Self {
        Self {
            seed: 0,
            data: DataConfig::folders(folders),
            model,
            numerics: Numerics::training(),
            evaluation: Numerics::evaluation(),
            training: TrainingConfig::default(),
        }
    }

    /// Parse a config from TOML text (the current format, or format 1,
    /// converted). `origin` names the text in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let cfg = match toml::from_str::<TrainConfig>(text) {
            Ok(cfg) => cfg,
            Err(current) => match crate::legacy::read_config(text) {
                Some(Ok(cfg)) => cfg,
                Some(Err(e)) => return Err(ExperimentError::Config(format!("{origin}: {e}"))),
                None => return Err(ExperimentError::Config(format!("{origin}: invalid config: {current}"))),
            },
        };
        cfg.validate().map_err(|e| ExperimentError::Config(format!("{origin}: {e}")))?;
        Ok(cfg)
    }

    /// Read a config file; relative data folders are resolved against its folder.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| ExperimentError::file(path, e))?;
        let mut cfg = Self::from_toml(&text, &path.display().to_string())?;
        let base = path.parent().unwrap_or(Path::new("."));
        for f in &mut cfg.data.folders {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        }
        Ok(cfg)
    }

    /// The config as TOML (the current format).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| ExperimentError::Config(format!("config cannot be written: {e}")))
    }

    /// Refuse settings that cannot work, saying why.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ExperimentError::Config(m));
        if self.data.folders.is_empty() {
            return bad("[data] folders is empty: give at least one dataset folder".into());
        }
        let v = self.data.validation_fraction;
        if !(0.0..1.0).contains(&v) {
            return bad(format!("[data] validation_fraction = {v}: use a fraction in [0, 1)"));
        }
        if self.training.stages.is_empty() {
            return bad("[training] stages is empty: give at least one stage (unroll, epochs, lr)".into());
        }
        for (k, s) in self.training.stages.iter().enumerate() {
            if s.unroll == 0 || !(s.lr.is_finite() && s.lr > 0.0) {
                return bad(format!(
                    "[training] stage {k}: unroll must be >= 1 and lr finite and > 0 (got unroll {}, lr {})",
                    s.unroll, s.lr
                ));
            }
        }
        self.model.validate()?;
        self.numerics.validate().map_err(|e| ExperimentError::Config(format!("[numerics] {e}")))?;
        self.evaluation.validate().map_err(|e| ExperimentError::Config(format!("[evaluation] {e}")))?;
        if !self.data.conditions.is_empty() && self.data.conditions.len() != self.data.folders.len() {
            return bad(format!(
                "[data] conditions has {} entries for {} folders: give one table per folder, in the order of folders",
                self.data.conditions.len(),
                self.data.folders.len()
            ));
        }
        if !self.data.conditions.is_empty() && self.model.features().is_empty() {
            return bad(
                "[data] conditions gives PIC parameters for conditioners, but the model has none: add them to \
                 [model] conditioners or remove [data] conditions"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped configs parse, resolve their data folders relative to
    /// themselves and describe the reference schedule.
    #[test]
    fn shipped_configs_parse() {
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs"));
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let cfg = TrainConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // In the current format, not read through the format-1 reader.
            let text = std::fs::read_to_string(&path).unwrap();
            toml::from_str::<TrainConfig>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(cfg.data.folders.len(), 2, "{}: both published sub-populations", path.display());
            assert!(cfg.data.folders[0].starts_with(&dir), "relative to the config file");
            // The written form is the current format and reads back the same.
            let back = TrainConfig::from_toml(&cfg.to_toml().unwrap(), "written").unwrap();
            assert_eq!(back, cfg, "{}", path.display());
            n += 1;
        }
        assert!(n >= 5, "the shipped configs: {n}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let e =
            TrainConfig::from_toml("[data]\nfolders = []\nvalidation = 0.1\n", "t").unwrap_err().to_string();
        assert!(e.contains("validation"), "{e}");
        let e = TrainConfig::from_toml(
            "[data]\nfolders = [\"a\"]\n[numerics]\nscheme = \"reference\"\nsubsteps = 0\n",
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("at least 1"), "{e}");
        let e = TrainConfig::from_toml("[data]\nfolders = [\"a\"]\nvalidation_fraction = 1.5\n", "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[0, 1)"), "{e}");
        let e = TrainConfig::from_toml(
            "[data]\nfolders = [\"a\", \"b\"]\nconditions = [{ ppc = 4 }]\n[model]\nkind = \"fp-mlp\"\nconditioners = [\"ppc\"]\n",
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("one table per folder"), "{e}");
    }
}
