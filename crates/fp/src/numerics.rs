//! The numerics a model is evaluated with: discretisation, sub-steps,
//! clamps and the reaction to an unstable step, in one serde type.
//!
//! A model (its operator parameters `theta`, fields in grid units or
//! kernels) does not depend on these settings; a rollout does. Keeping them
//! apart lets one model be rolled out under several numerics without being
//! rebuilt.
//!
//! In TOML (the `[numerics]` and `[evaluation]` sections of a training
//! config, `collop compare`'s records):
//!
//! ```toml
//! scheme = "reference"      # or "conservative"
//! edges = "one-sided"       # reference scheme only: "guard" or "one-sided"
//! substeps = 1              # explicit sub-steps per dump, or "auto"
//! clamp_f = true            # f >= 0 after every sub-step
//! clamp_d = false           # D_xx, D_yy >= 0 before use
//! stability = "ignore"      # fixed steps above the limit: "ignore", "warn" or "error"
//! ```

use std::fmt;

use collop_core::VelocityGrid;
use serde::{Deserialize, Serialize};

use crate::{Edges, FokkerPlanck, FpError, RolloutConfig, Scheme, StabilityPolicy, Substeps};

/// Most explicit sub-steps per dump a rollout may take, fixed or automatic:
/// beyond this a rollout of a typical dataset runs for hours, which is
/// never what was meant (a stiff operator, or a typo in `--substeps`).
pub const MAX_SUBSTEPS: usize = 100_000;

/// Discretisation and rollout settings of an evaluation or a training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "NumericsRepr", into = "NumericsRepr")]
pub struct Numerics {
    /// Discretisation of the Fokker-Planck operator (kernel operators have one).
    pub scheme: Scheme,
    /// Explicit sub-steps per dump.
    pub substeps: Substeps,
    /// Clamp `f >= 0` after every sub-step (the reference does).
    pub clamp_f: bool,
    /// Clamp `D_xx, D_yy >= 0` before use.
    pub clamp_d: bool,
    /// Reaction to a fixed sub-step above the stability estimate.
    pub stability: StabilityPolicy,
}

impl Numerics {
    /// The reference's training settings: one-sided edges, one step per
    /// dump, clamp `f >= 0`, no stability check (the reference has none).
    pub fn training() -> Self {
        Self {
            scheme: Scheme::Reference(Edges::OneSided),
            substeps: Substeps::Fixed(1),
            clamp_f: true,
            clamp_d: false,
            stability: StabilityPolicy::Ignore,
        }
    }

    /// The reference's evaluation settings: guard cells, one step per dump,
    /// both clamps; an unstable step is reported as a warning.
    pub fn evaluation() -> Self {
        Self {
            scheme: Scheme::Reference(Edges::Guard),
            substeps: Substeps::Fixed(1),
            clamp_f: true,
            clamp_d: true,
            stability: StabilityPolicy::Warn,
        }
    }

    /// The conservative finite-volume scheme with automatic sub-steps.
    pub fn conservative() -> Self {
        Self {
            scheme: Scheme::Conservative,
            substeps: RolloutConfig::automatic().substeps,
            clamp_f: true,
            clamp_d: false,
            stability: StabilityPolicy::Error,
        }
    }

    /// The same settings with `n` fixed sub-steps per dump, refused outside
    /// `1..=MAX_SUBSTEPS`.
    pub fn with_substeps(mut self, n: usize) -> Result<Self, FpError> {
        self.substeps = Substeps::Fixed(n);
        self.validate()?;
        Ok(self)
    }

    /// The same settings with automatic sub-steps (90 % of the estimated
    /// stability limit, at most [`MAX_SUBSTEPS`]).
    pub fn with_auto_substeps(mut self) -> Self {
        self.substeps = Substeps::Auto { safety: 0.9, max: MAX_SUBSTEPS };
        self
    }

    /// Refuse settings that cannot work, saying why and what to use.
    pub fn validate(&self) -> Result<(), FpError> {
        match self.substeps {
            Substeps::Fixed(0) => Err(FpError::Invalid(
                "0 sub-steps per dump: use at least 1, or \"auto\" for the fewest stable ones".into(),
            )),
            Substeps::Fixed(n) if n > MAX_SUBSTEPS => Err(FpError::Invalid(format!(
                "{n} sub-steps per dump is more than the {MAX_SUBSTEPS} collop allows (a rollout would \
                 take hours); use \"auto\" for the fewest stable ones, or a number up to {MAX_SUBSTEPS}"
            ))),
            Substeps::Auto { safety, max } if !(safety > 0.0 && safety <= 1.0) || max == 0 => {
                Err(FpError::Invalid(format!(
                    "automatic sub-steps with safety {safety} and at most {max}: the safety must be in \
                     (0, 1] and the maximum at least 1"
                )))
            }
            _ => Ok(()),
        }
    }

    /// The rollout settings.
    pub fn rollout(&self) -> RolloutConfig {
        RolloutConfig { substeps: self.substeps, clamp_f: self.clamp_f, stability: self.stability }
    }

    /// The Fokker-Planck operator of these numerics on `grid` with `n_slots`
    /// time slots.
    pub fn fokker_planck(&self, grid: VelocityGrid, n_slots: usize) -> Result<FokkerPlanck, FpError> {
        Ok(FokkerPlanck::with_slots(grid, self.scheme, n_slots)?.with_diffusion_clamp(self.clamp_d))
    }
}

impl fmt::Display for Numerics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let substeps = match self.substeps {
            Substeps::Fixed(n) => format!("{n} sub-step(s) per dump"),
            Substeps::Auto { safety, .. } => {
                format!("automatic sub-steps ({:.0} % of the limit)", 100.0 * safety)
            }
        };
        write!(
            f,
            "{} scheme, {substeps}, clamp f >= 0 {}, clamp D >= 0 {}",
            self.scheme,
            if self.clamp_f { "on" } else { "off" },
            if self.clamp_d { "on" } else { "off" }
        )
    }
}

/// Scheme names in TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum SchemeName {
    Reference,
    Conservative,
}

/// Sub-steps in TOML: a count or `"auto"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum SubstepsRepr {
    Count(u64),
    Word(String),
}

/// Stability policies in TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum StabilityName {
    Ignore,
    Warn,
    Error,
}

/// The TOML form of [`Numerics`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NumericsRepr {
    scheme: SchemeName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    edges: Option<Edges>,
    #[serde(default = "one_substep")]
    substeps: SubstepsRepr,
    #[serde(default = "yes")]
    clamp_f: bool,
    #[serde(default)]
    clamp_d: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stability: Option<StabilityName>,
}

fn one_substep() -> SubstepsRepr {
    SubstepsRepr::Count(1)
}

fn yes() -> bool {
    true
}

impl TryFrom<NumericsRepr> for Numerics {
    type Error = String;

    fn try_from(r: NumericsRepr) -> Result<Self, String> {
        let scheme = match (r.scheme, r.edges) {
            (SchemeName::Reference, edges) => Scheme::Reference(edges.unwrap_or(Edges::Guard)),
            (SchemeName::Conservative, None) => Scheme::Conservative,
            (SchemeName::Conservative, Some(_)) => {
                return Err(
                    "`edges` applies to the reference scheme only; remove it for \"conservative\"".into()
                );
            }
        };
        let substeps = match r.substeps {
            SubstepsRepr::Count(n) => Substeps::Fixed(usize::try_from(n).unwrap_or(usize::MAX)),
            SubstepsRepr::Word(w) if w == "auto" => Substeps::Auto { safety: 0.9, max: MAX_SUBSTEPS },
            SubstepsRepr::Word(w) => {
                return Err(format!("substeps = \"{w}\": give a number of sub-steps per dump or \"auto\""));
            }
        };
        let stability = match r.stability {
            Some(StabilityName::Ignore) => StabilityPolicy::Ignore,
            Some(StabilityName::Warn) => StabilityPolicy::Warn,
            Some(StabilityName::Error) => StabilityPolicy::Error,
            None if scheme == Scheme::Conservative => StabilityPolicy::Error,
            None => StabilityPolicy::Warn,
        };
        let n = Numerics { scheme, substeps, clamp_f: r.clamp_f, clamp_d: r.clamp_d, stability };
        n.validate().map_err(|e| match e {
            FpError::Invalid(m) => m,
            other => other.to_string(),
        })?;
        Ok(n)
    }
}

impl From<Numerics> for NumericsRepr {
    fn from(n: Numerics) -> Self {
        let (scheme, edges) = match n.scheme {
            Scheme::Reference(e) => (SchemeName::Reference, Some(e)),
            Scheme::Conservative => (SchemeName::Conservative, None),
        };
        NumericsRepr {
            scheme,
            edges,
            substeps: match n.substeps {
                Substeps::Fixed(k) => SubstepsRepr::Count(k as u64),
                Substeps::Auto { .. } => SubstepsRepr::Word("auto".into()),
            },
            clamp_f: n.clamp_f,
            clamp_d: n.clamp_d,
            stability: Some(match n.stability {
                StabilityPolicy::Ignore => StabilityName::Ignore,
                StabilityPolicy::Warn => StabilityName::Warn,
                StabilityPolicy::Error => StabilityName::Error,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Wrap {
        numerics: Numerics,
    }

    fn parse(text: &str) -> Result<Numerics, String> {
        serde_json::from_str::<Wrap>(text).map(|w| w.numerics).map_err(|e| e.to_string())
    }

    #[test]
    fn presets_round_trip() {
        for n in [Numerics::training(), Numerics::evaluation(), Numerics::conservative()] {
            let text = serde_json::to_string(&Wrap { numerics: n }).unwrap();
            assert_eq!(parse(&text).unwrap(), n, "{text}");
        }
    }

    #[test]
    fn bad_settings_are_refused_with_the_fix() {
        let e = parse(r#"{"numerics": {"scheme": "reference", "substeps": 0}}"#).unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
        let e = parse(r#"{"numerics": {"scheme": "reference", "substeps": 1000000000}}"#).unwrap_err();
        assert!(e.contains("100000"), "{e}");
        let e = parse(r#"{"numerics": {"scheme": "reference", "substeps": "many"}}"#).unwrap_err();
        assert!(e.contains("\"auto\""), "{e}");
        let e = parse(r#"{"numerics": {"scheme": "conservative", "edges": "guard"}}"#).unwrap_err();
        assert!(e.contains("reference scheme only"), "{e}");
        let e = parse(r#"{"numerics": {"scheme": "reference", "step": 1}}"#).unwrap_err();
        assert!(e.contains("step"), "{e}");
        assert!(Numerics::evaluation().with_substeps(0).is_err());
        assert_eq!(Numerics::evaluation().with_substeps(3).unwrap().substeps, Substeps::Fixed(3));
    }

    #[test]
    fn defaults_and_auto() {
        let n = parse(r#"{"numerics": {"scheme": "reference", "substeps": "auto"}}"#).unwrap();
        assert_eq!(n.scheme, Scheme::Reference(Edges::Guard));
        assert!(matches!(n.substeps, Substeps::Auto { .. }));
        assert!(n.clamp_f && !n.clamp_d);
        assert_eq!(n.stability, StabilityPolicy::Warn);
        let c = parse(r#"{"numerics": {"scheme": "conservative"}}"#).unwrap();
        assert_eq!(c.stability, StabilityPolicy::Error);
    }
}
