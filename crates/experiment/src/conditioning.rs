//! Conditioners of network models: the PIC parameters of each dataset
//! (from its args.yaml or the config's `[data] conditions`), their min-max
//! normalisation over the training datasets, the time window, and the
//! record a run keeps (`conditioning.json`) so that other datasets are
//! evaluated with the training normalisation.
//!
//! A network learns nothing about an input that never varied in training,
//! and outside the training range it extrapolates freely. So a conditioner
//! constant over the training datasets is refused when training, and a
//! dataset outside the training range (PIC parameters beyond the training
//! values, or more dump steps than the training window for a time input)
//! is refused when evaluating, unless extrapolation is asked for
//! ([`Extrapolation::Allow`]); then every extrapolated input is reported.

use std::path::Path;

use collop_learn::{Conditioners, FeatureRange, TimeInput};
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::dataset::Dataset;
use crate::error::{ExperimentError, Result};
use crate::spec::Conditioner;

/// File of a run directory holding the [`Conditioning`].
pub const CONDITIONING: &str = "conditioning.json";

/// Whether evaluation outside the training range of the conditioners is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Extrapolation {
    /// Refuse datasets outside the training range.
    #[default]
    Refuse,
    /// Go ahead, and report each extrapolated input.
    Allow,
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

/// The conditioners of one dataset, and what was extrapolated.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetConditioners {
    /// The network inputs (one condition).
    pub conditioners: Conditioners,
    /// The raw PIC-parameter values, in the config's conditioner order.
    pub raw: Vec<f64>,
    /// One line per input outside the training range (empty when none).
    pub extrapolated: Vec<String>,
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
pub fn raw_features(cfg: &TrainConfig, ds: &Dataset) -> Result<Vec<f64>> {
    let index = cfg.data.folders.iter().position(|f| same_folder(f, &ds.folder));
    let given = index.and_then(|k| cfg.data.conditions.get(k));
    let pic = ds.meta.pic_parameters(&ds.folder.join(collop_io::ARGS_FILE))?;
    cfg.model
        .features()
        .into_iter()
        .map(|c| {
            if let Some(v) = given.and_then(|p| recorded(p, c)) {
                return Ok(v);
            }
            let key = c.key();
            match recorded(&pic, c) {
                Some(v) => Ok(v),
                None if index.is_some() => Err(ExperimentError::Data(format!(
                    "{}: args.yaml has no `{key}`, which the `{key}` conditioner needs; add `{key}: VALUE` to \
                     its args.yaml, or give it in the config as [data] conditions = [{{ {key} = VALUE, ... }}, \
                     ...], one table per folder in the order of `folders`",
                    ds.name
                ))),
                None => Err(ExperimentError::Data(format!(
                    "{}: args.yaml has no `{key}`, which the `{key}` conditioner needs; add `{key}: VALUE` to \
                     the dataset's args.yaml",
                    ds.name
                ))),
            }
        })
        .collect()
}

/// The value of conditioner `c` in PIC parameters (a dataset's or a config's).
pub fn recorded(p: &collop_io::PicParameters, c: Conditioner) -> Option<f64> {
    match c {
        Conditioner::Time => None,
        Conditioner::Ppc => p.ppc.map(|v| v as f64),
        Conditioner::VthC => p.vth_c,
        Conditioner::ShapeOrder => p.shape_order.map(|v| v as f64),
        Conditioner::DxOverDebye => p.dx_over_debye,
    }
}

impl Conditioning {
    /// From the training datasets (whose longest has `n_steps` dump steps):
    /// the record, the model's conditioners (one condition per distinct set
    /// of PIC parameters) and the condition of each dataset. A
    /// PIC-parameter conditioner with one value over all training datasets
    /// is refused: the network could not learn its effect.
    pub fn from_training(
        cfg: &TrainConfig,
        data: &[Dataset],
        n_steps: usize,
    ) -> Result<(Self, Conditioners, Vec<usize>)> {
        let time = if cfg.model.has_time_input() {
            if n_steps < 2 {
                return Err(ExperimentError::Data(format!(
                    "the time conditioner normalises the dump time over the training window, which needs at \
                     least two dump steps (three frames); the datasets have {n_steps}"
                )));
            }
            Some(TimeInput { window_steps: n_steps, n_slots: n_steps })
        } else {
            None
        };
        let raw: Vec<Vec<f64>> = data.iter().map(|ds| raw_features(cfg, ds)).collect::<Result<_>>()?;
        let mut features = Vec::new();
        for (k, c) in cfg.model.features().iter().enumerate() {
            let values: Vec<f64> = raw.iter().map(|r| r[k]).collect();
            let range = FeatureRange::over(c.key(), &values)?;
            if range.max <= range.min {
                return Err(ExperimentError::Data(format!(
                    "the `{}` conditioner is {} in every training dataset: the network cannot learn how the \
                     operator depends on it, and would ignore it; remove it from [model] conditioners, or train \
                     on datasets with different values",
                    c.key(),
                    range.min
                )));
            }
            features.push(range);
        }
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

    /// Check that the record lists the conditioners of `cfg`'s model.
    pub fn check_matches(&self, cfg: &TrainConfig) -> Result<()> {
        let features: Vec<Conditioner> = cfg.model.features();
        if features.len() != self.features.len()
            || features.iter().zip(&self.features).any(|(c, f)| c.key() != f.name)
            || cfg.model.has_time_input() != self.time_window_steps.is_some()
        {
            return Err(ExperimentError::Data(format!(
                "the run's {CONDITIONING} does not list the conditioners of its config.toml"
            )));
        }
        Ok(())
    }

    /// The conditioners of a dataset with `n_steps` dump steps and raw
    /// PIC-parameter values `raw` (config order), under the training
    /// normalisation: one condition, a time slot per dump step.
    pub fn for_values(
        &self,
        raw: &[f64],
        n_steps: usize,
        policy: Extrapolation,
    ) -> Result<DatasetConditioners> {
        if raw.len() != self.features.len() {
            return Err(ExperimentError::Data(format!(
                "{} PIC-parameter values given, the model has {} conditioners ({})",
                raw.len(),
                self.features.len(),
                self.features.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        let mut extrapolated = Vec::new();
        for (f, &x) in self.features.iter().zip(raw) {
            // Round-off in args.yaml values must not count as extrapolation.
            let tol = 1e-9 * (f.max.abs() + f.min.abs()).max(1.0);
            if !x.is_finite() || x < f.min - tol || x > f.max + tol {
                extrapolated
                    .push(format!("{} = {x} is outside the training range [{}, {}]", f.name, f.min, f.max));
            }
        }
        let time = match self.time_window_steps {
            None => None,
            Some(w) => {
                if n_steps > w {
                    extrapolated.push(format!(
                        "time: {n_steps} dump steps, the network was trained on a window of {w}; the time input \
                         goes up to {:.2} (trained on [-1, 1])",
                        TimeInput { window_steps: w, n_slots: n_steps }.value(n_steps - 1)
                    ));
                }
                Some(TimeInput { window_steps: w, n_slots: n_steps.max(1) })
            }
        };
        if !extrapolated.is_empty() && policy == Extrapolation::Refuse {
            return Err(ExperimentError::Data(format!(
                "the network would extrapolate beyond its training data: {}; a network is not to be trusted \
                 there (evaluate on data inside the training range, or allow it explicitly with --extrapolate)",
                extrapolated.join("; ")
            )));
        }
        let conditions = if self.features.is_empty() { Vec::new() } else { vec![self.normalise(raw)] };
        Ok(DatasetConditioners {
            conditioners: Conditioners { time, conditions },
            raw: raw.to_vec(),
            extrapolated,
        })
    }

    /// The conditioners of dataset `ds` with the training normalisation.
    pub fn for_dataset(
        &self,
        cfg: &TrainConfig,
        ds: &Dataset,
        policy: Extrapolation,
    ) -> Result<DatasetConditioners> {
        self.check_matches(cfg)?;
        let raw = if self.features.is_empty() { Vec::new() } else { raw_features(cfg, ds)? };
        self.for_values(&raw, ds.steps(), policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Conditioning {
        Conditioning {
            time_window_steps: Some(10),
            features: vec![FeatureRange { name: "ppc".into(), min: 4.0, max: 16.0 }],
        }
    }

    #[test]
    fn inside_the_range_is_normalised() {
        let d = record().for_values(&[10.0], 10, Extrapolation::Refuse).unwrap();
        assert_eq!(d.conditioners.conditions, vec![vec![0.0]]);
        assert_eq!(d.conditioners.time.unwrap().n_slots, 10);
        assert!(d.extrapolated.is_empty());
    }

    #[test]
    fn extrapolation_is_refused_unless_asked_for() {
        let r = record();
        let e = r.for_values(&[32.0], 10, Extrapolation::Refuse).unwrap_err().to_string();
        assert!(e.contains("ppc = 32") && e.contains("[4, 16]") && e.contains("--extrapolate"), "{e}");
        let e = r.for_values(&[8.0], 20, Extrapolation::Refuse).unwrap_err().to_string();
        assert!(e.contains("window of 10"), "{e}");
        let d = r.for_values(&[32.0], 20, Extrapolation::Allow).unwrap();
        assert_eq!(d.extrapolated.len(), 2, "{:?}", d.extrapolated);
        assert!(d.conditioners.conditions[0][0] > 1.0, "extrapolated input beyond 1");
    }
}
