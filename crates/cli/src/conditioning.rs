//! Conditioners of neural-network models in runs: the PIC parameters of
//! each dataset (from its args.yaml or the config's `[data] conditions`),
//! their min-max normalisation over the training datasets, the time
//! window, and the record a run keeps so that other datasets are evaluated
//! with the training normalisation.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use collop_core::PhaseSpaceSeries;
use collop_io::DatasetMeta;
use collop_learn::{Conditioners, FeatureRange, TimeInput};
use serde::{Deserialize, Serialize};

use crate::config::{Conditioner, TrainConfig};

/// File of a run directory holding the [`Conditioning`].
pub const CONDITIONING: &str = "conditioning.json";

/// A dataset read from a folder.
pub struct Loaded {
    /// Display name (the resolved dataset path).
    pub name: String,
    /// The folder as given (config or command line).
    pub folder: PathBuf,
    /// Frames.
    pub series: PhaseSpaceSeries,
    /// args.yaml.
    pub meta: DatasetMeta,
}

/// What a run needs to rebuild its conditioners on any dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditioning {
    /// Dump steps of the training window, if the model has a time input:
    /// step `s` has the input `2 s / (steps - 1) - 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_window_steps: Option<usize>,
    /// Ranges of the PIC-parameter features over the training datasets, in
    /// the config's conditioner order.
    #[serde(default)]
    pub features: Vec<FeatureRange>,
}

/// Whether two folder paths name the same folder.
fn same_folder(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The raw PIC-parameter features of `ds`, in the config's order: the
/// config's `[data] conditions` entry of the folder if it gives the key,
/// else the dataset's args.yaml.
pub fn raw_features(cfg: &TrainConfig, ds: &Loaded) -> Result<Vec<f64>> {
    let index = cfg.data.folders.iter().position(|f| same_folder(f, &ds.folder));
    let given = index.and_then(|k| cfg.data.conditions.get(k));
    cfg.model
        .features()
        .into_iter()
        .map(|c| {
            if let Some(v) = given.and_then(|p| p.get(c)) {
                return Ok(v);
            }
            let key = c.key();
            match ds.meta.extra.get(key) {
                Some(v) => v.as_f64().with_context(|| {
                    format!("{}: args.yaml key `{key}` is not a number (the `{key}` conditioner needs one)", ds.name)
                }),
                None if index.is_some() => bail!(
                    "{}: args.yaml has no `{key}`, which the `{key}` conditioner needs; add `{key}: VALUE` to \
                     its args.yaml, or give it in the config as [data] conditions = [{{ {key} = VALUE, ... }}, \
                     ...], one table per folder in the order of `folders`",
                    ds.name
                ),
                None => bail!(
                    "{}: args.yaml has no `{key}`, which the `{key}` conditioner needs; add `{key}: VALUE` to \
                     the dataset's args.yaml",
                    ds.name
                ),
            }
        })
        .collect()
}

impl Conditioning {
    /// From the training datasets (whose longest has `n_steps` dump steps):
    /// the record, the model's conditioners (one condition per distinct set
    /// of PIC parameters) and the condition of each dataset.
    pub fn from_training(
        cfg: &TrainConfig,
        data: &[Loaded],
        n_steps: usize,
    ) -> Result<(Self, Conditioners, Vec<usize>)> {
        let time = if cfg.model.has_time() {
            if n_steps < 2 {
                bail!(
                    "the time conditioner normalises the dump time over the training window, which needs at \
                     least two dump steps (three frames); the datasets have {n_steps}"
                );
            }
            Some(TimeInput { window_steps: n_steps, n_slots: n_steps })
        } else {
            None
        };
        let raw: Vec<Vec<f64>> = data.iter().map(|ds| raw_features(cfg, ds)).collect::<Result<_>>()?;
        let features = cfg
            .model
            .features()
            .iter()
            .enumerate()
            .map(|(k, c)| FeatureRange::over(c.key(), &raw.iter().map(|r| r[k]).collect::<Vec<f64>>()))
            .collect::<Result<Vec<_>, _>>()?;
        let record = Self { time_window_steps: time.map(|t| t.window_steps), features };
        let mut distinct: Vec<&Vec<f64>> = Vec::new();
        let mut index = Vec::with_capacity(raw.len());
        for r in &raw {
            let k = distinct.iter().position(|d| *d == r).unwrap_or_else(|| {
                distinct.push(r);
                distinct.len() - 1
            });
            index.push(k);
        }
        let conditions = if record.features.is_empty() {
            Vec::new()
        } else {
            distinct.iter().map(|r| record.normalise(r)).collect()
        };
        Ok((record, Conditioners { time, conditions }, index))
    }

    fn normalise(&self, raw: &[f64]) -> Vec<f64> {
        self.features.iter().zip(raw).map(|(f, &x)| f.normalise(x)).collect()
    }

    /// The conditioners of one dataset with the training normalisation (one
    /// condition; a time slot per dump step of the dataset).
    pub fn for_dataset(&self, cfg: &TrainConfig, ds: &Loaded) -> Result<Conditioners> {
        let time = match (cfg.model.has_time(), self.time_window_steps) {
            (false, _) => None,
            (true, Some(w)) => Some(TimeInput { window_steps: w, n_slots: (ds.series.len() - 1).max(1) }),
            (true, None) => bail!("the run has a time conditioner but its {CONDITIONING} no training window"),
        };
        let features: Vec<Conditioner> = cfg.model.features();
        if features.len() != self.features.len()
            || features.iter().zip(&self.features).any(|(c, f)| c.key() != f.name)
        {
            bail!("the run's {CONDITIONING} does not list the conditioners of its config.toml");
        }
        let conditions =
            if features.is_empty() { Vec::new() } else { vec![self.normalise(&raw_features(cfg, ds)?)] };
        Ok(Conditioners { time, conditions })
    }
}
