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
    /// Numerics of the training rollouts; keys not given take the values
    /// of [`Numerics::training`] (see [`numerics_over`]).
    #[serde(default = "Numerics::training", deserialize_with = "training_numerics")]
    pub numerics: Numerics,
    /// Numerics of the test rollouts (`collop test`, the comparison); keys
    /// not given take the values of [`Numerics::evaluation`].
    #[serde(default = "Numerics::evaluation", deserialize_with = "evaluation_numerics")]
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
    /// Optimiser: `{ kind = "adam" }`, or its name alone (`"adam"`).
    #[serde(default = "adam", deserialize_with = "optimiser_by_name")]
    pub optimiser: OptimiserKind,
    /// Stages, run in order with the optimiser state kept.
    #[serde(default = "reference_schedule")]
    pub stages: Vec<Stage>,
    /// Write a checkpoint every this many epochs (0: only at stage ends).
    #[serde(default = "hundred")]
    pub checkpoint_every: usize,
}

fn training_numerics<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Numerics, D::Error> {
    numerics_over(d, Numerics::training(), "numerics")
}

fn evaluation_numerics<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Numerics, D::Error> {
    numerics_over(d, Numerics::evaluation(), "evaluation")
}

/// A numerics table read over the section's defaults `base`: the keys
/// given replace `base`'s, so `[numerics]` with `substeps = 2` alone is the
/// training numerics with two sub-steps. Naming a `scheme` starts from that
/// scheme's own defaults instead (guard edges, one sub-step, both clamps
/// as documented in [`collop_fp::numerics`]), since `base`'s edges or
/// stability policy may not apply to it.
fn numerics_over<'de, D: serde::Deserializer<'de>>(
    d: D,
    base: Numerics,
    section: &str,
) -> std::result::Result<Numerics, D::Error> {
    use serde::de::Error;
    let given = toml::Table::deserialize(d)?;
    let mut table = if given.contains_key("scheme") {
        toml::Table::new()
    } else {
        toml::Table::try_from(base).map_err(D::Error::custom)?
    };
    table.extend(given);
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| D::Error::custom(format!("[{section}]: {e}")))
}

/// An optimiser given as a table (`{ kind = "lbfgs", history = 10 }`) or by
/// its name alone (`"adam"`, for the kinds whose keys all have defaults).
fn optimiser_by_name<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<OptimiserKind, D::Error> {
    use serde::de::Error;
    let value = match toml::Value::deserialize(d)? {
        toml::Value::String(name) => {
            toml::Value::Table(toml::Table::from_iter([("kind".into(), name.into())]))
        }
        other => other,
    };
    value.try_into().map_err(|e: toml::de::Error| D::Error::custom(format!("optimiser: {e}")))
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

/// The model families, as `kind` of `[model]`.
pub const MODEL_KINDS: [&str; 6] =
    ["fp-tensor", "fp-par-perp", "kernel-tensor", "fp-mlp", "parperp-mlp", "kernel-mlp"];

const LINEAR: &[&str] = &["fp-tensor", "fp-par-perp", "kernel-tensor"];
const NETWORKS: &[&str] = &["fp-mlp", "parperp-mlp", "kernel-mlp"];
const KERNELS: &[&str] = &["kernel-tensor", "kernel-mlp"];

/// Every key of `[model]`: the families that take it, its value when a
/// config leaves it out (written only where the default is not written
/// back by the config itself), and its meaning.
const MODEL_KEYS: &[(&str, &[&str], &str, &str)] = &[
    (
        "symmetry",
        &["fp-tensor"],
        "\"none\"",
        "\"none\", \"transpose\", or \"axis\" (transpose and reflection in v_x)",
    ),
    ("n_radial", &["fp-par-perp"], "32", "nodes of the radial profiles A_par, D_par, D_perp"),
    ("kernel_size", KERNELS, "2", "kernel size k (k x k per cell)"),
    ("difference", KERNELS, "\"forward\"", "outer difference: \"forward\", \"backward\" or \"centred\""),
    ("transpose", KERNELS, "false", "impose the transpose symmetry (K_y from K_x)"),
    (
        "time",
        LINEAR,
        "\"constant\"",
        "\"constant\", \"per-dump\", or { nodes = N } (linear in time between N nodes)",
    ),
    ("lambda1", LINEAR, "0.0", "time regularisation, first differences (time-dependent models only)"),
    ("lambda2", LINEAR, "0.0", "time regularisation, second differences (time-dependent models only)"),
    ("smoothness", LINEAR, "0.0", "weight of the velocity-space smoothness prior"),
    ("smoothness_order", LINEAR, "3", "order of the smoothness prior: 2 or 3"),
    ("hidden", NETWORKS, "[64, 64]", "hidden layer widths of the network"),
    (
        "conditioners",
        NETWORKS,
        "[]",
        "inputs besides velocity: \"time\", \"ppc\", \"vth_c\", \"shape_order\", \"dx_over_debye\"",
    ),
];

/// A complete training config for the model family `kind` (one of
/// [`MODEL_KINDS`]): every section and key with its default value and
/// meaning, reading back as [`TrainConfig::new`] with that family's
/// defaults. What `collop config --example KIND` prints.
pub fn example(kind: &str) -> Result<String> {
    use std::fmt::Write as _;
    if !MODEL_KINDS.contains(&kind) {
        return Err(ExperimentError::Config(format!(
            "no model family \"{kind}\"; the families are {}",
            MODEL_KINDS.join(", ")
        )));
    }
    let spec: ModelSpec = toml::from_str(&format!("kind = \"{kind}\""))
        .map_err(|e| ExperimentError::Config(format!("model family {kind}: {e}")))?;
    let cfg = TrainConfig::new(spec, vec![PathBuf::from("path/to/dataset")]);
    let written: toml::Table =
        toml::Table::try_from(&cfg.model).map_err(|e| ExperimentError::Config(e.to_string()))?;
    let mut t = String::new();
    let w = |t: &mut String, s: &str| t.push_str(s);
    w(&mut t, &format!("# A training config for `kind = \"{kind}\"`: every key with its default.\n"));
    w(&mut t, "# Keys left out take these values; unknown keys are refused.\n\n");
    w(&mut t, "seed = 0                       # train/validation split and random initialisation\n\n");
    w(&mut t, "[data]\n");
    w(
        &mut t,
        "folders = [\"path/to/dataset\"]  # dataset folders (args.yaml + NNNNNN.npy), relative to this file\n",
    );
    let _ = writeln!(
        t,
        "validation_fraction = {:?}     # windows held out for validation",
        cfg.data.validation_fraction
    );
    w(
        &mut t,
        "# conditions = [{ ppc = 4, vth_c = 0.01 }]  # PIC parameters per folder, for conditioners\n\n",
    );
    w(&mut t, "[model]\n");
    let _ = writeln!(t, "kind = \"{kind}\"");
    for (key, families, absent, meaning) in MODEL_KEYS {
        if families.contains(&kind) {
            let value = written.get(*key).map_or_else(|| absent.to_string(), |v| v.to_string());
            let _ = writeln!(t, "{key} = {value}    # {meaning}");
        }
    }
    w(&mut t, "\n# Numerics of the training rollouts (give only the keys to change;\n");
    w(&mut t, "# naming a scheme starts from that scheme's defaults).\n");
    w(&mut t, &section("numerics", &cfg.numerics)?);
    w(&mut t, "\n# Numerics of the test rollouts (collop test, compare).\n");
    w(&mut t, &section("evaluation", &cfg.evaluation)?);
    w(
        &mut t,
        "\n# Optimisation: the reference schedule (unrolled steps, epochs, learning rate per stage).\n",
    );
    w(&mut t, &section("training", &cfg.training)?);
    Ok(t)
}

/// `value` as the TOML table `[name]`.
fn section<T: Serialize>(name: &str, value: &T) -> Result<String> {
    let inner = toml::Value::try_from(value).map_err(|e| ExperimentError::Config(e.to_string()))?;
    let outer = toml::Table::from_iter([(name.to_string(), inner)]);
    toml::to_string(&outer).map_err(|e| ExperimentError::Config(e.to_string()))
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

    /// Sections are not all-or-nothing: the keys given replace the
    /// section's defaults, the others keep them (a `[numerics]` with one
    /// key was refused for want of `scheme`); the optimiser can be named.
    #[test]
    fn partial_sections_keep_their_defaults() {
        let cfg = |rest: &str| TrainConfig::from_toml(&format!("[data]\nfolders = [\"a\"]\n{rest}"), "t");
        let c = cfg("[numerics]\nsubsteps = 2\n[evaluation]\nclamp_d = false\n").unwrap();
        let two = Numerics::training().with_substeps(2).unwrap();
        assert_eq!(c.numerics, two, "training numerics but the sub-steps");
        assert_eq!(c.evaluation, Numerics { clamp_d: false, ..Numerics::evaluation() });
        // A scheme named starts from that scheme's defaults: no one-sided
        // edges carried into the conservative scheme, its stability check on.
        let c = cfg("[numerics]\nscheme = \"conservative\"\nsubsteps = \"auto\"\n").unwrap();
        assert_eq!(c.numerics.scheme, collop_fp::Scheme::Conservative);
        assert_eq!(c.numerics.stability, collop_fp::StabilityPolicy::Error);
        let e = cfg("[numerics]\nsubstep = 2\n").unwrap_err().to_string();
        assert!(e.contains("[numerics]") && e.contains("substep"), "{e}");
        assert_eq!(
            cfg("[training]\noptimiser = \"adam\"\n").unwrap().training.optimiser,
            OptimiserKind::Adam
        );
        let lbfgs = cfg("[training]\noptimiser = \"lbfgs\"\n").unwrap().training.optimiser;
        assert_eq!(lbfgs, OptimiserKind::Lbfgs { history: 10 });
        // A stage needs its epochs only: unroll 1 and the reference's rate otherwise.
        let stages = cfg("[training]\nstages = [{ epochs = 7 }, { unroll = 3, epochs = 2, lr = 1e-4 }]\n")
            .unwrap()
            .training
            .stages;
        assert_eq!((stages[0].unroll, stages[0].epochs, stages[0].lr), (1, 7, 1e-3));
        assert_eq!((stages[1].unroll, stages[1].epochs, stages[1].lr), (3, 2, 1e-4));
        let e = cfg("[training]\nstages = [{ unroll = 2 }]\n").unwrap_err().to_string();
        assert!(e.contains("epochs"), "{e}");
        let e = cfg("[training]\noptimiser = \"sgd\"\n").unwrap_err().to_string();
        assert!(e.contains("optimiser") && e.contains("sgd") && e.contains("adam"), "{e}");
    }

    /// The example of every family reads back as the family's defaults
    /// (every key shown is one the family takes, with the value it gets
    /// when left out), and an unknown family is named with the list.
    #[test]
    fn examples_read_back_as_the_defaults() {
        for kind in MODEL_KINDS {
            let text = example(kind).unwrap();
            let cfg = TrainConfig::from_toml(&text, kind).unwrap_or_else(|e| panic!("{kind}: {e}\n{text}"));
            let spec: ModelSpec = toml::from_str(&format!("kind = \"{kind}\"")).unwrap();
            assert_eq!(cfg, TrainConfig::new(spec, vec![PathBuf::from("path/to/dataset")]), "{kind}");
            let keys = MODEL_KEYS.iter().filter(|(_, f, _, _)| f.contains(&kind)).count();
            let model: Vec<&str> =
                text.lines().skip_while(|l| *l != "[model]").skip(2).take_while(|l| !l.is_empty()).collect();
            assert_eq!(model.len(), keys, "{kind}: {model:?}");
        }
        let e = example("fp-tensr").unwrap_err().to_string();
        assert!(e.contains("fp-tensr") && e.contains("kernel-mlp"), "{e}");
    }
}
