//! Readers of what earlier versions wrote (format 1), converted to the
//! current types, so that existing configs and run directories keep
//! loading. Nothing here is written any more.
//!
//! Format 1 of a training config had one `[model]` table with the keys of
//! every family (`kind`, `symmetry`, `n_radial`, `time_nodes` with `-1` for
//! one operator per dump, `lambda1`, `lambda2`, `kernel_size`, `difference`,
//! `kernel_transpose`, `smoothness`, `smoothness_order`, `hidden`,
//! `conditioners`) and numerics tables with `substeps = 0` for automatic
//! sub-steps and `edges` stated for every scheme.

use collop_fp::{Difference, Edges, Numerics, RolloutConfig, Scheme, StabilityPolicy, Substeps};
use collop_learn::Symmetry;
use serde::Deserialize;

use crate::config::{DataConfig, TrainConfig, TrainingConfig};
use crate::spec::{Conditioner, ModelSpec, TimeDependence};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigV1 {
    #[serde(default)]
    seed: u64,
    data: DataConfig,
    model: Option<ModelV1>,
    numerics: Option<NumericsV1>,
    evaluation: Option<NumericsV1>,
    #[serde(default)]
    training: TrainingConfig,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum FamilyV1 {
    FpTensor,
    FpParPerp,
    KernelTensor,
    FpMlp,
    ParperpMlp,
    KernelMlp,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelV1 {
    kind: FamilyV1,
    symmetry: Symmetry,
    n_radial: usize,
    time_nodes: i64,
    lambda1: f64,
    lambda2: f64,
    kernel_size: usize,
    difference: Difference,
    kernel_transpose: bool,
    #[serde(default)]
    smoothness: f64,
    #[serde(default = "three")]
    smoothness_order: usize,
    #[serde(default = "hidden")]
    hidden: Vec<usize>,
    #[serde(default)]
    conditioners: Vec<Conditioner>,
}

fn three() -> usize {
    3
}
fn hidden() -> Vec<usize> {
    vec![64, 64]
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum SchemeV1 {
    Reference,
    Conservative,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NumericsV1 {
    scheme: SchemeV1,
    edges: Edges,
    substeps: usize,
    clamp_f: bool,
    clamp_d: bool,
}

impl NumericsV1 {
    /// Format 1 never checked the step of configured rollouts.
    fn convert(self) -> Numerics {
        let scheme = match self.scheme {
            SchemeV1::Reference => Scheme::Reference(self.edges),
            SchemeV1::Conservative => Scheme::Conservative,
        };
        let substeps = if self.substeps == 0 {
            RolloutConfig::automatic().substeps
        } else {
            Substeps::Fixed(self.substeps)
        };
        Numerics {
            scheme,
            substeps,
            clamp_f: self.clamp_f,
            clamp_d: self.clamp_d,
            stability: StabilityPolicy::Ignore,
        }
    }
}

impl ModelV1 {
    fn convert(self) -> Result<ModelSpec, String> {
        let time = match self.time_nodes {
            0 | 1 => TimeDependence::Constant,
            -1 => TimeDependence::PerDump,
            n if n > 1 => TimeDependence::Nodes(n as usize),
            n => return Err(format!("[model] time_nodes = {n}: format 1 allowed 0, 1, -1 or a count")),
        };
        let (lambda1, lambda2, smoothness, smoothness_order) =
            (self.lambda1, self.lambda2, self.smoothness, self.smoothness_order);
        Ok(match self.kind {
            FamilyV1::FpTensor => ModelSpec::FpTensor {
                symmetry: self.symmetry,
                time,
                lambda1,
                lambda2,
                smoothness,
                smoothness_order,
            },
            FamilyV1::FpParPerp => ModelSpec::FpParPerp {
                n_radial: self.n_radial,
                time,
                lambda1,
                lambda2,
                smoothness,
                smoothness_order,
            },
            FamilyV1::KernelTensor => ModelSpec::KernelTensor {
                kernel_size: self.kernel_size,
                difference: self.difference,
                transpose: self.kernel_transpose,
                time,
                lambda1,
                lambda2,
                smoothness,
                smoothness_order,
            },
            FamilyV1::FpMlp => ModelSpec::FpMlp { hidden: self.hidden, conditioners: self.conditioners },
            FamilyV1::ParperpMlp => {
                ModelSpec::ParperpMlp { hidden: self.hidden, conditioners: self.conditioners }
            }
            FamilyV1::KernelMlp => ModelSpec::KernelMlp {
                kernel_size: self.kernel_size,
                difference: self.difference,
                transpose: self.kernel_transpose,
                hidden: self.hidden,
                conditioners: self.conditioners,
            },
        })
    }
}

/// A format-1 config converted, if `text` is one (`None` if it is not
/// format 1 either; the caller reports the current format's error).
pub fn read_config(text: &str) -> Option<Result<TrainConfig, String>> {
    let v1: ConfigV1 = toml::from_str(text).ok()?;
    let model = match v1.model {
        Some(m) => match m.convert() {
            Ok(m) => m,
            Err(e) => return Some(Err(e)),
        },
        None => ModelSpec::default(),
    };
    // Format 1's defaults when a numerics table was absent.
    let numerics = v1
        .numerics
        .map(NumericsV1::convert)
        .unwrap_or(Numerics { stability: StabilityPolicy::Ignore, ..Numerics::training() });
    let evaluation = v1
        .evaluation
        .map(NumericsV1::convert)
        .unwrap_or(Numerics { stability: StabilityPolicy::Ignore, ..Numerics::evaluation() });
    Some(Ok(TrainConfig { seed: v1.seed, data: v1.data, model, numerics, evaluation, training: v1.training }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config as format 1 wrote it into run directories.
    const V1: &str = r#"seed = 3

[data]
folders = ["a", "b"]
validation_fraction = 0.05

[model]
kind = "fp-par-perp"
symmetry = "none"
n_radial = 16
time_nodes = -1
lambda1 = 0.0001
lambda2 = 0.0
kernel_size = 2
difference = "forward"
kernel_transpose = false
smoothness_order = 3
hidden = [64, 64]

[numerics]
scheme = "reference"
edges = "one-sided"
substeps = 2
clamp_f = true
clamp_d = false

[evaluation]
scheme = "conservative"
edges = "guard"
substeps = 0
clamp_f = true
clamp_d = true
"#;

    #[test]
    fn format_1_configs_convert() {
        let cfg = TrainConfig::from_toml(V1, "v1").unwrap();
        assert_eq!(cfg.seed, 3);
        assert_eq!(
            cfg.model,
            ModelSpec::FpParPerp {
                n_radial: 16,
                time: TimeDependence::PerDump,
                lambda1: 1e-4,
                lambda2: 0.0,
                smoothness: 0.0,
                smoothness_order: 3
            }
        );
        assert_eq!(cfg.numerics.substeps, Substeps::Fixed(2));
        assert_eq!(cfg.numerics.scheme, Scheme::Reference(Edges::OneSided));
        assert_eq!(cfg.evaluation.scheme, Scheme::Conservative);
        assert!(matches!(cfg.evaluation.substeps, Substeps::Auto { .. }), "0 meant automatic");
        // Written again, it is the current format.
        let text = cfg.to_toml().unwrap();
        assert!(!text.contains("time_nodes") && !text.contains("kernel_size"), "{text}");
        assert_eq!(TrainConfig::from_toml(&text, "v2").unwrap(), cfg);
    }
}
