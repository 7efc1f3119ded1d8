//! The comparison (`collop compare`): learned, track, theory and frozen models of one PIC run,
//! each rolled out on every sub-population, trained ones and held-out ones
//! listed apart; the experiment of Carvalho et al. (arXiv 2601.10885,
//! 2601.13377) that sets learned operators beside the particle-track
//! baseline and collision theory.
//!
//! Input: a run directory of `collop pic`, with sub-population folders
//! `<run>/<subpop>/f/` (histograms and an `args.yaml` holding the PIC
//! parameters) and `<run>/<subpop>/tracks.npz`. Models:
//!
//! - **learned**: trained with the `collop train` machinery on the training
//!   sub-populations: a free tensor and a par/perp model on the reference
//!   schedule (epochs scaled by `--epochs-scale`, unrolls capped at the
//!   datasets' length), or one model per `--config` file (its `[data]
//!   folders` replaced by the training sub-populations);
//!   Time-dependent built-ins (`tensor-tN`, `par-perp-tdump`,
//!   `parperp-mlp-t`, ...; [`BuiltinModel`]) learn an operator that changes
//!   during the run, for backgrounds that evolve (arXiv 2601.13377);
//! - **tracks-lagN**: `collop tracks` on the training sub-populations'
//!   tracks for every lag of `--lags`; with `--windows W`, also
//!   **tracks-lagN-wW**, one estimate per window of `W` dumps (time
//!   resolved), and with `--overlapping` every track model again from
//!   overlapping intervals (**-ovl**);
//! - **theory-static**, **theory-dynamic**: `collop theory` from the PIC
//!   parameters in the first training sub-population's `args.yaml`;
//! - **theory-measured**: when the run holds a whole species' histograms
//!   (a sub-population of `method = "all"`, the background), the
//!   Lenard-Balescu coefficients in the background measured at every dump
//!   ([`crate::theory::measured_theory_model`]), one operator slot per dump
//!   step. The background is rolled out like a held-out sub-population and
//!   never trained on unless named in `--train`;
//! - **frozen**: no evolution.
//!
//! Every model is rolled out on every sub-population with the reference
//! evaluation settings (guard cells, clamps `f >= 0` and `D_xx, D_yy >= 0`)
//! and `--substeps` sub-steps per dump (default one, as the reference);
//! learned models are trained with the same sub-steps, so that the operator
//! evaluated is the one fitted.
//!
//! Output `OUT` (locked while the comparison runs, [`COMPARISON`]; a
//! folder that holds a comparison is refused unless `--resume`; each
//! step's files are written as soon as the step ends, so a late failure
//! keeps the earlier results; `--resume` reuses finished models trained
//! with the same config):
//!
//! ```text
//! compare.json            sub-populations, roles, options (written first)
//! configs/<model>.toml    the training config of each learned model
//! models/<model>/         run directories and fields directories
//! table.csv               model, family, sub-population, role, rollout errors
//! agreement.csv           shell-averaged A_par, D_par, D_perp of each model against each theory
//! amplitude.csv           amplitude of each model relative to the dynamic theory, and N_D C_eff
//! radial_profiles.png     A_par, D_par, D_perp against |v| for all models
//! profiles_in_time.csv    the same shell averages at a few frames through the run ([`time_resolved`])
//! speed_distributions.csv f(|v|) of every sub-population at those frames, PIC and every rollout
//! profiles_frame<k>.png, speed_distribution_<subpop>.png   their figures
//! anisotropy_in_time.csv/.png   every model's diffusion anisotropy per operator slot
//! fields_in_time.csv, background_in_time.csv   the PIC run's field energies and background
//!                         moments ([`history`]), with anisotropy_and_fields.png and
//!                         background_relaxation.png
//! error_vs_time_nodes.csv/.png   held-out error of the linear models against their time nodes
//! relaxation_signal.csv   every sub-population's distance from the background's shape and
//!                         its change per dump, against counting noise ([`signal`])
//! comparison.json         the whole result as data ([`Comparison`], `save`/`load`)
//! report.html             the self-contained report ([`crate::report`])
//! ```
//!
//! Agreement with theory: the coefficients of each model and each theory
//! are projected on the radial direction of every cell and averaged over
//! shells of `|v|` 0.5 wide up to 3 ([`collop_learn::recovery`]), over the
//! cells the data populate (learned models: cells holding at least 0.1 % of
//! the peak time-averaged density of a training sub-population; tracks:
//! bins with at least `--min-count` intervals). The relative deviation is
//! `(model - theory) / |theory|`, for `A_par` relative to
//! `max(|A_par|, 0.1 max_shells |A_par|)` since the drift vanishes at
//! `v = 0`. Time-dependent models enter the agreement table and the figure
//! with their first time slot; kernel models (no drift and diffusion
//! fields) only the rollout table. Track models are zero in bins without
//! enough intervals ([`crate::tracks`]), so on held-out sub-populations
//! that reach velocities the training tracks never visited they roll out
//! as frozen there.

mod analysis;
pub mod history;
mod output;
pub mod signal;
pub mod time_resolved;

use std::path::{Path, PathBuf};

use collop_core::{FpFields, VelocityGrid};
use collop_fp::{Difference, FrameErrors, Numerics};
use collop_learn::tracks::TrackEstimate;
use collop_learn::{Observer, reference_schedule};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::conditioning::Extrapolation;
use crate::config::{DataConfig, TrainConfig, TrainingConfig};
use crate::dataset::Dataset;
use crate::error::{Context, ExperimentError, Result, bail};
use crate::evaluate::{AnyModel, Score};
use crate::fields_model::{FieldsModel, absolute};
pub use crate::report::{Coefficient, Family, Role};
use crate::spec::{Conditioner, ModelSpec, TimeDependence};
use crate::theory::{PicInput, TheoryKind, theory_model};
use crate::tracks::TrackSettings;
use crate::trained::{CHECKPOINT, MODEL, TrainOptions, TrainedRun};

pub use analysis::{AMPLITUDE_RANGE, SHELL, SHELLS};
pub use time_resolved::TimeResolved;

/// The name of the Lenard-Balescu model in the measured background.
pub const MEASURED_THEORY: &str = "theory-measured";

/// The record of a comparison in its folder.
pub const COMPARISON_FILE: &str = "comparison.json";
/// The report.
pub const REPORT_FILE: &str = "report.html";
/// The format this version writes.
pub const FORMAT_VERSION: u32 = 1;

/// What to compare, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareSettings {
    /// Run directory of `collop pic` (sub-population folders with f/ and tracks.npz).
    pub run: PathBuf,
    /// Sub-populations to train on (default: all but the held-out ones; all
    /// but the last by name when neither list is given).
    pub train: Vec<String>,
    /// Held-out sub-populations (default: those not trained on).
    pub test: Vec<String>,
    /// Lags (dumps) of the track models.
    pub lags: Vec<usize>,
    /// Built-in learned models, trained on the reference schedule.
    pub models: Vec<BuiltinModel>,
    /// Training configs, one learned model each beside the built-in ones;
    /// their data folders are replaced by the training sub-populations.
    pub configs: Vec<PathBuf>,
    /// Multiply the epochs of every training stage (e.g. 0.1 for a quick look).
    pub epochs_scale: f64,
    /// Track bins with fewer intervals are empty.
    pub min_count: usize,
    /// Reuse the finished models of an earlier comparison in the output folder.
    pub resume: bool,
    /// Sub-steps per dump of every rollout, in training and evaluation alike.
    pub substeps: usize,
    /// Time regularisation of the time-dependent linear built-in models.
    pub time_regularisation: TimeRegularisation,
    /// Time-resolved track models: for every lag, one model per window
    /// length (dumps) here, its estimate changing from window to window
    /// (empty: whole-run estimates only).
    pub windows: Vec<usize>,
    /// Also estimate every track model from overlapping intervals (one
    /// starting at every dump: more, but correlated, samples), named `-ovl`.
    pub overlapping: bool,
}

impl CompareSettings {
    /// The defaults of `collop compare` for the PIC run `run`.
    pub fn new(run: impl Into<PathBuf>) -> Self {
        Self {
            run: run.into(),
            train: Vec::new(),
            test: Vec::new(),
            lags: vec![1, 2, 5, 10],
            models: vec![BuiltinModel::TENSOR, BuiltinModel::PAR_PERP],
            configs: Vec::new(),
            epochs_scale: 1.0,
            min_count: 10,
            resume: false,
            substeps: 1,
            time_regularisation: TimeRegularisation::default(),
            windows: Vec::new(),
            overlapping: false,
        }
    }
}

/// Built-in learned models, by the names of `--models`.
///
/// | name | model |
/// | --- | --- |
/// | `tensor` | free grid tensor, one operator for the run |
/// | `tensor-tN`, `tensor-tdump` | the same with `N` time nodes (linear interpolation between them) or one operator per dump step |
/// | `par-perp`, `par-perp-tN`, `par-perp-tdump` | linear radial profiles, constant or with time nodes |
/// | `parperp-mlp`, `parperp-mlp-t` | one 2 x 64 network per radial profile, of `|v|` (and the dump time) |
/// | `mlp`, `mlp-t` | one 2 x 64 network per field, of `(v_x, v_y)` (and the dump time) |
/// | `kernel-kN`, `kernel-bN`, `kernel-cN` | free kernels `K_x, K_y` of size `N` per cell with forward, backward or centred outer differences (arXiv 2601.13377); `kernel` is `kernel-k2`, the advection-diffusion operator; a suffix `-tN` / `-tdump` adds time nodes |
/// | `kernel-mlp-kN`, `-bN`, `-cN` | one 2 x 64 network of `(v_x, v_y)` giving both kernels; `-t`: the dump time is an input |
/// | `none` | no built-in model (only the `--config` ones) |
///
/// The time-dependent linear models carry the time regularisation of
/// [`CompareSettings::time_regularisation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum BuiltinModel {
    /// Free grid tensor.
    Tensor(TimeDependence),
    /// Linear radial profiles.
    ParPerp(TimeDependence),
    /// One network per radial profile; `true`: the dump time is an input.
    ParperpMlp(bool),
    /// One network per field; `true`: the dump time is an input.
    Mlp(bool),
    /// Free kernels of size `k` per cell with an outer difference.
    Kernel {
        /// Kernel size.
        k: usize,
        /// Outer difference.
        difference: Difference,
        /// Time dependence.
        time: TimeDependence,
    },
    /// One network of `(v_x, v_y)` giving the kernels of size `k`.
    KernelMlp {
        /// Kernel size.
        k: usize,
        /// Outer difference.
        difference: Difference,
        /// Whether the dump time is an input.
        time: bool,
    },
    /// No built-in model (only the `--config` ones).
    None,
}

/// The weights of the time regularisation of time-dependent linear models
/// (first and second differences between time nodes; see
/// `collop_learn::LinearModel`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TimeRegularisation {
    /// First-difference weight.
    pub lambda1: f64,
    /// Second-difference weight.
    pub lambda2: f64,
}

impl BuiltinModel {
    /// The constant free tensor.
    pub const TENSOR: Self = Self::Tensor(TimeDependence::Constant);
    /// The constant par/perp profiles.
    pub const PAR_PERP: Self = Self::ParPerp(TimeDependence::Constant);
    /// The par/perp networks of `|v|` alone.
    pub const PARPERP_MLP: Self = Self::ParperpMlp(false);
    /// The field networks of `(v_x, v_y)` alone.
    pub const MLP: Self = Self::Mlp(false);
    /// The constant free kernels of size 2 with forward differences
    /// (advection-diffusion).
    pub const KERNEL: Self =
        Self::Kernel { k: 2, difference: Difference::Forward, time: TimeDependence::Constant };

    /// The letter of an outer difference in a kernel model's name.
    fn difference_letter(d: Difference) -> char {
        match d {
            Difference::Forward => 'k',
            Difference::Backward => 'b',
            Difference::Centred => 'c',
        }
    }

    /// The name (also the run folder under `models/`), as `--models` takes it.
    pub fn name(self) -> String {
        let time = |t: TimeDependence| match t {
            TimeDependence::Constant => String::new(),
            TimeDependence::PerDump => "-tdump".into(),
            TimeDependence::Nodes(n) => format!("-t{n}"),
        };
        let flag = |b: bool| if b { "-t" } else { "" };
        match self {
            Self::Tensor(t) => format!("tensor{}", time(t)),
            Self::ParPerp(t) => format!("par-perp{}", time(t)),
            Self::ParperpMlp(t) => format!("parperp-mlp{}", flag(t)),
            Self::Mlp(t) => format!("mlp{}", flag(t)),
            Self::Kernel { k, difference, time: t } => {
                format!("kernel-{}{k}{}", Self::difference_letter(difference), time(t))
            }
            Self::KernelMlp { k, difference, time: t } => {
                format!("kernel-mlp-{}{k}{}", Self::difference_letter(difference), flag(t))
            }
            Self::None => "none".into(),
        }
    }

    /// Run name and model specification (`None` for [`BuiltinModel::None`]);
    /// time-dependent linear models take the weights of `reg`.
    pub fn spec(self, reg: TimeRegularisation) -> Option<(String, ModelSpec)> {
        let net = |parperp: bool, time: bool| {
            let hidden = vec![64, 64];
            let conditioners = if time { vec![Conditioner::Time] } else { Vec::new() };
            if parperp {
                ModelSpec::ParperpMlp { hidden, conditioners }
            } else {
                ModelSpec::FpMlp { hidden, conditioners }
            }
        };
        let spec = match self {
            Self::Tensor(t) => ModelSpec::fp_tensor().with_time(t, reg.lambda1, reg.lambda2),
            Self::ParPerp(t) => ModelSpec::par_perp().with_time(t, reg.lambda1, reg.lambda2),
            Self::ParperpMlp(t) => net(true, t),
            Self::Mlp(t) => net(false, t),
            Self::Kernel { k, difference, time } => {
                let mut spec = ModelSpec::kernel(k).with_time(time, reg.lambda1, reg.lambda2);
                if let ModelSpec::KernelTensor { difference: d, .. } = &mut spec {
                    *d = difference;
                }
                spec
            }
            Self::KernelMlp { k, difference, time } => ModelSpec::KernelMlp {
                kernel_size: k,
                difference,
                transpose: false,
                hidden: vec![64, 64],
                conditioners: if time { vec![Conditioner::Time] } else { Vec::new() },
            },
            Self::None => return None,
        };
        Some((self.name(), spec))
    }

    /// Whether the model changes in time.
    pub fn is_time_dependent(self) -> bool {
        match self {
            Self::Tensor(t) | Self::ParPerp(t) | Self::Kernel { time: t, .. } => !t.is_constant(),
            Self::ParperpMlp(t) | Self::Mlp(t) | Self::KernelMlp { time: t, .. } => t,
            Self::None => false,
        }
    }
}

impl From<BuiltinModel> for String {
    fn from(m: BuiltinModel) -> String {
        m.name()
    }
}

impl TryFrom<String> for BuiltinModel {
    type Error = ExperimentError;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl std::str::FromStr for BuiltinModel {
    type Err = ExperimentError;

    /// Parse a name of the table of [`BuiltinModel`] (`kernel` is taken for `kernel-k2`).
    fn from_str(s: &str) -> Result<Self> {
        let time = |rest: &str| -> Option<TimeDependence> {
            match rest {
                "" => Some(TimeDependence::Constant),
                "-tdump" => Some(TimeDependence::PerDump),
                r => {
                    r.strip_prefix("-t")?.parse::<usize>().ok().filter(|&n| n >= 2).map(TimeDependence::Nodes)
                }
            }
        };
        let flag = |rest: &str| match rest {
            "" => Some(false),
            "-t" => Some(true),
            _ => None,
        };
        // `kernel-mlp-<d><k>[-t]`, `kernel-<d><k>[-tN|-tdump]`: the
        // difference letter, the size, the rest.
        let kernel = |r: &str| -> Option<(Difference, usize, String)> {
            let difference = match r.chars().next()? {
                'k' => Difference::Forward,
                'b' => Difference::Backward,
                'c' => Difference::Centred,
                _ => return None,
            };
            let digits: String = r[1..].chars().take_while(char::is_ascii_digit).collect();
            let k = digits.parse::<usize>().ok().filter(|&k| k >= 1)?;
            Some((difference, k, r[1 + digits.len()..].to_string()))
        };
        let parsed = if s == "kernel" {
            Some(Self::KERNEL)
        } else if let Some(r) = s.strip_prefix("kernel-mlp-") {
            kernel(r).and_then(|(difference, k, rest)| {
                flag(&rest).map(|time| Self::KernelMlp { k, difference, time })
            })
        } else if let Some(r) = s.strip_prefix("kernel-") {
            kernel(r).and_then(|(difference, k, rest)| {
                time(&rest).map(|time| Self::Kernel { k, difference, time })
            })
        } else if let Some(r) = s.strip_prefix("parperp-mlp") {
            flag(r).map(Self::ParperpMlp)
        } else if let Some(r) = s.strip_prefix("par-perp") {
            time(r).map(Self::ParPerp)
        } else if let Some(r) = s.strip_prefix("tensor") {
            time(r).map(Self::Tensor)
        } else if let Some(r) = s.strip_prefix("mlp") {
            flag(r).map(Self::Mlp)
        } else {
            match s {
                "none" => Some(Self::None),
                _ => None,
            }
        };
        parsed.ok_or_else(|| {
            ExperimentError::Config(format!(
                "model `{s}`: not a built-in model; use tensor, tensor-tN (N >= 2 time nodes), tensor-tdump, \
                 par-perp, par-perp-tN, par-perp-tdump, parperp-mlp, parperp-mlp-t, mlp, mlp-t, kernel, \
                 kernel-kN / -bN / -cN (size N, forward / backward / centred differences; -tM for time nodes), \
                 kernel-mlp-kN (-bN, -cN; -t) or none"
            ))
        })
    }
}

/// A sub-population of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationRecord {
    /// Folder name in the PIC run.
    pub name: String,
    /// Trained on or held out.
    pub role: Role,
    /// Dump steps after the first frame.
    pub steps: usize,
    /// Time of each frame, `1/omega_p`.
    pub times: Vec<f64>,
}

/// A model of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// Name (also its folder under `models/`, except `frozen`).
    pub name: String,
    /// Learned, tracks, theory or frozen.
    pub family: Family,
}

/// One model rolled out on one sub-population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Model name.
    pub model: String,
    /// Its family.
    pub family: Family,
    /// Sub-population.
    pub pop: String,
    /// Trained on or held out.
    pub role: Role,
    /// Means over every dump step, or why there are none (diverged, failed).
    pub result: std::result::Result<FrameErrors, String>,
    /// The mean absolute error at each dump step (empty without a result).
    pub per_step_mae: Vec<f64>,
}

/// Relative deviations of one model from one theory in one coefficient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Model.
    pub model: String,
    /// Theory model (`theory-static`, `theory-dynamic`).
    pub theory: String,
    /// Coefficient.
    pub coefficient: Coefficient,
    /// `(model - theory) / |theory|` per shell of [`Comparison::shells`] (`None`: no populated cell).
    pub deviation: Vec<Option<f64>>,
}

/// One model's amplitude against the dynamic theory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Amplitude {
    /// Model.
    pub model: String,
    /// Least-squares ratios model / theory of `A_par`, `D_par`, `D_perp` over [`AMPLITUDE_RANGE`].
    pub ratio: [f64; 3],
    /// `C (ratio_D_par + ratio_D_perp) / 2`, `v_th^3 omega_p`.
    pub c_eff: f64,
    /// `N_D C_eff`.
    pub nd_c_eff: f64,
}

/// The amplitude comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Amplitudes {
    /// The dynamic theory's static-shielding amplitude `C`, `v_th^3 omega_p`.
    pub theory_c: f64,
    /// Particles per Debye area of the theory.
    pub n_d: f64,
    /// Every model with drift and diffusion fields.
    pub models: Vec<Amplitude>,
}

/// One quantity of the PIC setup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupItem {
    /// Name with its symbol.
    pub name: String,
    /// Value with units.
    pub value: String,
    /// Source or meaning.
    pub note: String,
}

/// Bytes of the tracks against the histograms of one sub-population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryRow {
    /// Sub-population.
    pub pop: String,
    /// `tracks.npz` bytes.
    pub tracks: u64,
    /// Histogram frames bytes.
    pub histograms: u64,
}

/// The comparison as data: what `collop compare` writes to `comparison.json`
/// and renders in `report.html`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Format of the record.
    pub format_version: u32,
    /// The collop version that made it.
    pub version: String,
    /// The PIC run.
    pub run: String,
    /// The command that reproduces it.
    pub command: String,
    /// The numerics of every rollout.
    pub evaluation: Numerics,
    /// The PIC setup and derived quantities.
    pub setup: Vec<SetupItem>,
    /// Sub-populations, in table order.
    pub populations: Vec<PopulationRecord>,
    /// Models, in table order.
    pub models: Vec<ModelRecord>,
    /// Every model on every sub-population.
    pub rows: Vec<Row>,
    /// Shells of `|v|` of the agreement table.
    pub shells: Vec<(f64, f64)>,
    /// Agreement of every model with fields with every theory.
    pub agreement: Vec<Agreement>,
    /// Amplitudes against the dynamic theory, when it was built.
    pub amplitude: Option<Amplitudes>,
    /// Tracks against histograms.
    pub memory: Vec<MemoryRow>,
    /// Operators and speed distributions at a few frames through the run
    /// (absent from comparisons of earlier versions).
    #[serde(default)]
    pub time_resolved: Option<TimeResolved>,
    /// Steps that failed (the rest are in the results).
    pub failures: Vec<String>,
    /// Rollouts whose explicit step the evaluation flagged (beyond the
    /// stability estimate, or cells without damping), the first warning
    /// of each model: their errors are those of the clamped rollout.
    #[serde(default)]
    pub stability_warnings: Vec<String>,
}

impl Comparison {
    /// The row of `model` on `pop`.
    pub fn row(&self, model: &str, pop: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.model == model && r.pop == pop)
    }

    /// The model with the lowest MAE on `pop`, among `families`.
    pub fn best(&self, pop: &str, families: &[Family]) -> Option<&Row> {
        self.rows
            .iter()
            .filter(|r| r.pop == pop && families.contains(&r.family))
            .filter_map(|r| r.result.as_ref().ok().map(|e| (r, e.mae)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(r, _)| r)
    }

    /// Write `comparison.json` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(COMPARISON_FILE);
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| ExperimentError::artefact(&path, e.to_string()))?;
        collop_io::write_text(&path, &text)?;
        Ok(())
    }

    /// Read `comparison.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(COMPARISON_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| ExperimentError::file(&path, e))?;
        crate::error::check_format_version(&path, &text, FORMAT_VERSION)?;
        let c: Comparison = serde_json::from_str(&text)
            .map_err(|e| ExperimentError::artefact(&path, format!("not a comparison record: {e}")))?;
        if c.format_version > FORMAT_VERSION {
            return Err(ExperimentError::artefact(
                &path,
                format!(
                    "format version {} is newer than this collop reads ({FORMAT_VERSION}); update collop",
                    c.format_version
                ),
            ));
        }
        Ok(c)
    }
}

struct Pop {
    name: String,
    role: Role,
    tracks: Option<PathBuf>,
    ds: Dataset,
    /// The histograms of a whole species (the measured background).
    background: bool,
}

/// A model of the comparison with what the analysis needs of it.
struct Entry {
    name: String,
    family: Family,
    source: AnyModel,
    /// Time-slot-0 fields and the cells where they mean something.
    fields: Option<(FpFields, Array2<bool>)>,
    /// Track estimate (radial profiles with standard errors).
    tracks: Option<TrackEstimate>,
}

/// Sub-population folders of a PIC run (directories holding `f/args.yaml`), sorted.
pub fn subpopulations(run: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in
        std::fs::read_dir(run).with_context(|| format!("{}: not a readable run directory", run.display()))?
    {
        let entry = entry.map_err(|e| ExperimentError::file(run, e))?;
        if entry.path().join("f").join(collop_io::ARGS_FILE).is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    if names.is_empty() {
        bail!(
            "{}: no sub-population folders (<subpop>/f/args.yaml); give a run directory written by `collop pic`",
            run.display()
        );
    }
    Ok(names)
}

/// Roles of the sub-populations `all` of a run. `backgrounds` (histograms
/// of a whole species, `method = "all"`) are never trained on unless named
/// in `train`, and always rolled out: the operator of test particles in a
/// background rolls the background itself out, since it is the sum of its
/// sub-populations and the operator is linear.
fn roles(
    all: &[String],
    train: &[String],
    test: &[String],
    backgrounds: &[String],
) -> Result<Vec<(String, Role)>> {
    for n in train.iter().chain(test) {
        if !all.contains(n) {
            bail!("sub-population `{n}` is not in the run; it has {}", all.join(", "));
        }
    }
    if let Some(n) = train.iter().find(|n| test.contains(n)) {
        bail!("sub-population `{n}` is both in --train and --test");
    }
    let parts: Vec<String> = all.iter().filter(|n| !backgrounds.contains(n)).cloned().collect();
    let train: Vec<String> = match (train.is_empty(), test.is_empty()) {
        (false, _) => train.to_vec(),
        (true, false) => parts.iter().filter(|n| !test.contains(n)).cloned().collect(),
        (true, true) if parts.len() > 1 => parts[..parts.len() - 1].to_vec(),
        (true, true) => parts.to_vec(),
    };
    if train.is_empty() {
        bail!("no sub-population left to train on: name some with --train");
    }
    Ok(all
        .iter()
        .filter(|n| train.contains(n) || test.is_empty() || test.contains(n) || backgrounds.contains(n))
        .map(|n| (n.clone(), if train.contains(n) { Role::Train } else { Role::HeldOut }))
        .collect())
}

/// Whether the dataset holds a whole species' histograms (`method = "all"`
/// in its args.yaml).
pub(crate) fn is_background(ds: &Dataset) -> bool {
    ds.meta
        .pic_parameters(&ds.folder.join(collop_io::ARGS_FILE))
        .is_ok_and(|p| p.method.as_deref() == Some("all"))
}

/// The training configs: the built-in models, then the config files.
fn configs(
    a: &CompareSettings,
    folders: &[PathBuf],
    max_unroll: usize,
) -> Result<Vec<(String, TrainConfig)>> {
    let reference = TrainingConfig::default();
    let training = TrainingConfig { stages: reference.scaled(a.epochs_scale, max_unroll), ..reference };
    debug_assert_eq!(TrainingConfig::default().stages, reference_schedule());
    let mut out: Vec<(String, TrainConfig)> = Vec::new();
    for (name, spec) in a.models.iter().filter_map(|m| m.spec(a.time_regularisation)) {
        if out.iter().any(|(n, _)| *n == name) {
            continue;
        }
        out.push((
            name,
            TrainConfig {
                seed: 0,
                data: DataConfig::folders(folders.to_vec()),
                model: spec,
                numerics: Numerics::training().with_substeps(a.substeps)?,
                evaluation: evaluation(a)?,
                training: training.clone(),
            },
        ));
    }
    for path in &a.configs {
        let mut cfg = TrainConfig::load(path)?;
        cfg.data.folders = folders.to_vec();
        cfg.data.conditions.clear();
        cfg.numerics = cfg.numerics.with_substeps(a.substeps)?;
        cfg.evaluation = cfg.evaluation.with_substeps(a.substeps)?;
        cfg.training.stages = cfg.training.scaled(a.epochs_scale, max_unroll);
        let stem =
            path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        let mut name = stem.clone();
        let mut k = 2;
        while out.iter().any(|(n, _)| *n == name) {
            name = format!("{stem}-{k}");
            k += 1;
        }
        out.push((name, cfg));
    }
    Ok(out)
}

/// Cells holding at least 0.1 % of the peak time-averaged density of some sub-population.
fn populated(pops: &[&Pop], grid: &VelocityGrid) -> Array2<bool> {
    crate::operator_moments::cell_weights(pops.iter().map(|p| &p.ds.series), grid).1
}

/// The evaluation settings of every rollout: the reference's, with the sub-steps.
fn evaluation(a: &CompareSettings) -> Result<Numerics> {
    Ok(Numerics::evaluation().with_substeps(a.substeps)?)
}

/// Mean errors over all dump steps of `model` on `ds`, and the MAE per step, or why there are none.
/// `frames` receives the predicted frames of a rollout that was scored.
fn rollout(
    model: &AnyModel,
    ds: &Dataset,
    numerics: &Numerics,
    frames: &mut dyn FnMut(&ndarray::Array4<f64>) -> Result<()>,
    warnings: &mut Vec<String>,
) -> (std::result::Result<FrameErrors, String>, Vec<f64>) {
    match model.evaluate_on(ds, numerics, Extrapolation::Refuse, None, true) {
        Ok((_, e)) => match e.score {
            Score::Scored { errors, .. } => {
                if let Some(f) = &e.frames
                    && let Err(err) = frames(f)
                {
                    return (Err(format!("speed distributions of the rollout: {err}")), Vec::new());
                }
                warnings.extend(e.warnings);
                (Ok(errors.mean), errors.per_step.iter().map(|x| x.mae).collect())
            }
            Score::Diverged { step, of } => {
                (Err(format!("diverged at dump step {step} of {of}")), Vec::new())
            }
        },
        Err(e) => (Err(e.to_string()), Vec::new()),
    }
}

impl CompareSettings {
    /// The `collop compare` command line of these settings into `out`.
    pub fn command(&self, out: &Path) -> String {
        let mut c = format!("collop compare {} -o {}", self.run.display(), out.display());
        if !self.train.is_empty() {
            c += &format!(" --train {}", self.train.join(" "));
        }
        if !self.test.is_empty() {
            c += &format!(" --test {}", self.test.join(" "));
        }
        let models: Vec<String> = self.models.iter().map(|m| m.name()).collect();
        c += &format!(" --models {}", models.join(","));
        let reg = self.time_regularisation;
        if reg.lambda1 != 0.0 {
            c += &format!(" --lambda1 {}", reg.lambda1);
        }
        if reg.lambda2 != 0.0 {
            c += &format!(" --lambda2 {}", reg.lambda2);
        }
        if !self.windows.is_empty() {
            let w: Vec<String> = self.windows.iter().map(|w| w.to_string()).collect();
            c += &format!(" --windows {}", w.join(","));
        }
        if self.overlapping {
            c += " --overlapping";
        }
        for cfg in &self.configs {
            c += &format!(" --config {}", cfg.display());
        }
        let lags: Vec<String> = self.lags.iter().map(|l| l.to_string()).collect();
        c += &format!(
            " --lags {} --epochs-scale {} --min-count {} --substeps {}",
            lags.join(","),
            self.epochs_scale,
            self.min_count,
            self.substeps
        );
        c
    }
}

/// Run the comparison `a` into the folder `out`: train, estimate, build
/// and roll out every model, write the results there as each step ends
/// (`log` receives progress lines; `observers` see every training epoch),
/// and return them. A step that fails is listed in
/// [`Comparison::failures`] and the others go on.
pub fn compare(
    a: &CompareSettings,
    out: &Path,
    log: &mut dyn FnMut(&str),
    observers: &mut [&mut dyn Observer],
) -> Result<Comparison> {
    if !(a.epochs_scale.is_finite() && a.epochs_scale > 0.0) {
        bail!("epochs scale {}: must be a positive number", a.epochs_scale);
    }
    let numerics = evaluation(a)?;
    if a.lags.contains(&0) {
        bail!("lags: every lag must be at least one dump");
    }
    if a.windows.contains(&0) {
        bail!("windows: a track time window must hold at least one dump");
    }
    crate::tracks::check_min_count(a.min_count)?;
    for (key, w) in [("lambda1", a.time_regularisation.lambda1), ("lambda2", a.time_regularisation.lambda2)] {
        if !(w.is_finite() && w >= 0.0) {
            bail!("{key} = {w}: a time-regularisation weight must be a finite number >= 0");
        }
    }
    let existing = if a.resume { collop_io::Existing::Resume } else { collop_io::Existing::Refuse };
    // Held until the comparison is written: one writer at a time.
    let _owner = collop_io::OutputDir::claim(out, &COMPARISON, existing)?;
    let names = subpopulations(&a.run)?;
    let mut loaded = Vec::new();
    for name in &names {
        loaded.push(Dataset::load(&absolute(&a.run.join(name).join("f")))?);
    }
    let backgrounds: Vec<String> =
        names.iter().zip(&loaded).filter(|(_, ds)| is_background(ds)).map(|(n, _)| n.clone()).collect();
    let roles = roles(&names, &a.train, &a.test, &backgrounds)?;
    let mut pops = Vec::new();
    for (name, ds) in names.into_iter().zip(loaded) {
        let Some(&(_, role)) = roles.iter().find(|(n, _)| *n == name) else { continue };
        let tracks = Some(a.run.join(&name).join("tracks.npz")).filter(|p| p.is_file());
        let background = backgrounds.contains(&name);
        pops.push(Pop { name, role, tracks, ds, background });
    }
    let grid = pops[0].ds.series.grid;
    if let Some(p) = pops.iter().find(|p| !p.ds.series.grid.same_as(&grid)) {
        bail!(
            "{}: grid {} differs from {}'s {grid}; compare needs one grid",
            p.name,
            p.ds.series.grid,
            pops[0].name
        );
    }
    let train: Vec<&Pop> = pops.iter().filter(|p| p.role == Role::Train).collect();
    // Every config is built (and refused) before anything is written.
    let learned = {
        let folders: Vec<PathBuf> = train.iter().map(|p| p.ds.folder.clone()).collect();
        let max_unroll = train.iter().map(|p| p.ds.steps()).max().unwrap_or(1).max(1);
        configs(a, &folders, max_unroll)?
    };
    std::fs::create_dir_all(out.join("models")).map_err(|e| ExperimentError::file(out, e))?;
    let plan = json!({
        "run": absolute(&a.run).display().to_string(),
        "train": train.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        "held_out": pops.iter().filter(|p| p.role == Role::HeldOut).map(|p| p.name.as_str()).collect::<Vec<_>>(),
        "lags": a.lags,
        "windows": a.windows,
        "overlapping": a.overlapping,
        "time_regularisation": a.time_regularisation,
        "configs": a.configs.iter().map(|c| c.display().to_string()).collect::<Vec<_>>(),
        "epochs_scale": a.epochs_scale,
        "min_count": a.min_count,
        "evaluation": numerics,
        "substeps": a.substeps,
        "version": env!("CARGO_PKG_VERSION"),
    });
    collop_io::write_text(
        out.join("compare.json"),
        &serde_json::to_string_pretty(&plan).expect("JSON value"),
    )?;
    let mut failures: Vec<String> = Vec::new();
    let mut entries = learned_models(a, out, &train, learned, &grid, log, observers, &mut failures)?;
    entries.extend(track_models(a, out, &train, log, &mut failures));
    // The measured-background theory takes an isotropic background; an
    // anisotropic one (e.g. Weibel-unstable) has no collision theory.
    let background =
        pops.iter().find(|p| p.background).filter(|p| {
            match crate::theory::anisotropic_background(&p.ds.series, &p.name) {
                Some(why) => {
                    log(&format!("compare: no {MEASURED_THEORY} model: {why}"));
                    false
                }
                None => true,
            }
        });
    let theories = theory_models(a, out, &train, background, &grid, &mut entries, &mut failures);
    entries.push(Entry {
        name: "frozen".into(),
        family: Family::Frozen,
        source: AnyModel::Frozen,
        fields: None,
        tracks: None,
    });

    // Rollouts, the table rewritten after every model.
    let mut rows: Vec<Row> = Vec::new();
    let mut in_time = time_resolved::Collector::new(&pops)?;
    let mut stability: Vec<String> = Vec::new();
    for e in &entries {
        let mut flagged = false;
        for p in &pops {
            let mut warnings = Vec::new();
            let (result, per_step_mae) = rollout(
                &e.source,
                &p.ds,
                &numerics,
                &mut |frames| in_time.rollout(&e.name, &p.name, frames),
                &mut warnings,
            );
            if let Err(msg) = &result {
                failures.push(format!("rollout of {} on {}: {msg}", e.name, p.name));
            }
            // An explicit step past its stability limit is clamped, not
            // diverged: its errors are not the operator's. Say so once per
            // model, with the first warning.
            if let Some(w) = warnings.first()
                && !flagged
            {
                let msg = format!("rollout of {} on {}: {w} ({} warning(s))", e.name, p.name, warnings.len());
                log(&format!("compare: {msg}"));
                stability.push(msg);
                flagged = true;
            }
            rows.push(Row {
                model: e.name.clone(),
                family: e.family,
                pop: p.name.clone(),
                role: p.role,
                result,
                per_step_mae,
            });
        }
        output::write_table(&out.join("table.csv"), &rows)?;
    }
    let (agreement, amplitude) = analysis::against_theory(&entries, &theories, &mut failures);
    let time_resolved = match in_time.finish(&entries, &train, &populated(&train, &grid), &mut failures) {
        Ok(mut t) => {
            t.history = history::RunHistory::read(&a.run, &mut failures);
            t.signal = signal::relaxation_signal(&pops);
            signal::write_table(&t.signal, out)?;
            t.write_tables(out)?;
            Some(t)
        }
        Err(e) => {
            failures.push(format!("time-resolved analysis: {e}"));
            None
        }
    };
    let mut memory = Vec::new();
    for p in &pops {
        let Some(t) = &p.tracks else { continue };
        let tracks = std::fs::metadata(t).map_err(|e| ExperimentError::file(t, e))?.len();
        memory.push(MemoryRow {
            pop: p.name.clone(),
            tracks,
            histograms: crate::tracks::histogram_bytes(&p.ds.folder)?,
        });
    }
    let comparison = Comparison {
        format_version: FORMAT_VERSION,
        version: env!("CARGO_PKG_VERSION").into(),
        run: absolute(&a.run).display().to_string(),
        command: a.command(out),
        evaluation: numerics,
        setup: output::setup(
            &train[0].ds,
            theories.iter().find(|(n, ..)| n == "theory-dynamic").map(|(_, _, m)| m),
        ),
        populations: pops
            .iter()
            .map(|p| PopulationRecord {
                name: p.name.clone(),
                role: p.role,
                steps: p.ds.steps(),
                times: (0..p.ds.series.len()).map(|k| p.ds.series.time(k)).collect(),
            })
            .collect(),
        models: entries.iter().map(|e| ModelRecord { name: e.name.clone(), family: e.family }).collect(),
        rows,
        shells: (0..SHELLS).map(|b| (b as f64 * SHELL, (b + 1) as f64 * SHELL)).collect(),
        agreement,
        amplitude,
        memory,
        time_resolved,
        failures,
        stability_warnings: stability,
    };
    output::write_analysis(out, &comparison)?;
    let mut comparison = comparison;
    let mut failures = comparison.failures.clone();
    let report = output::report(&comparison, &entries, &pops, a, &numerics, out, &mut failures)?;
    if let Err(e) = report.write(out.join(REPORT_FILE)) {
        failures.push(format!("{REPORT_FILE}: {e}"));
    }
    comparison.failures = failures;
    comparison.save(out)?;
    Ok(comparison)
}

/// Whether `dir` already holds (part of) a comparison.
pub fn holds_comparison(dir: &Path) -> bool {
    dir.join("table.csv").exists() || dir.join("models").exists()
}

/// A comparison folder for the overwrite rule of [`collop_io::OutputDir`]:
/// it holds a comparison when [`holds_comparison`] says so.
pub const COMPARISON: collop_io::OutputKind = collop_io::OutputKind {
    name: "a comparison",
    holds: holds_comparison,
    owns: None,
    accepts: "reuse its finished models with `--resume`",
};

/// Train (or, resuming, reuse) every learned model.
#[allow(clippy::too_many_arguments)]
fn learned_models(
    a: &CompareSettings,
    out: &Path,
    train: &[&Pop],
    learned: Vec<(String, TrainConfig)>,
    grid: &VelocityGrid,
    log: &mut dyn FnMut(&str),
    observers: &mut [&mut dyn Observer],
    failures: &mut Vec<String>,
) -> Result<Vec<Entry>> {
    let mask_data = populated(train, grid);
    let cfg_dir = out.join("configs");
    std::fs::create_dir_all(&cfg_dir).map_err(|e| ExperimentError::file(&cfg_dir, e))?;
    let mut entries = Vec::new();
    for (name, cfg) in learned {
        let dir = out.join("models").join(&name);
        let mut result = || -> Result<TrainedRun> {
            if a.resume && dir.join(MODEL).is_file() {
                let run = TrainedRun::load(&dir)?;
                // A finished model is reused only if it is this model: a
                // comparison resumed with other settings must not mix in
                // another training.
                if let Some(diff) = crate::trained::config_difference(&run.config, &cfg) {
                    return Err(ExperimentError::artefact(
                        &dir,
                        format!(
                            "was trained with another config than this comparison's ({diff}); resume with the settings in compare.json, or compare into another folder"
                        ),
                    ));
                }
                log(&format!("compare: reusing the learned model {}", dir.display()));
                return Ok(run);
            }
            collop_io::write_text(cfg_dir.join(format!("{name}.toml")), &cfg.to_toml()?)?;
            log(&format!(
                "compare: training {name} on {}",
                train.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            ));
            let resume = a.resume && dir.join(CHECKPOINT).is_file();
            Ok(crate::trained::train(&cfg, &dir, TrainOptions { resume, plots: true }, observers)?.run)
        };
        match result() {
            Ok(run) => {
                let fields = crate::params::OperatorParams::new(
                    *grid,
                    run.config.model.operator_shape(),
                    run.theta.clone(),
                )
                .ok()
                .and_then(|p| p.fields())
                .and_then(|f| f.into_iter().next());
                entries.push(Entry {
                    name,
                    family: Family::Learned,
                    source: AnyModel::Trained(Box::new(run)),
                    fields: fields.map(|f| (f, mask_data.clone())),
                    tracks: None,
                });
            }
            Err(e) => failures.push(format!("training {name}: {e}")),
        }
    }
    Ok(entries)
}

/// A track model per lag from the training sub-populations' tracks.
fn track_models(
    a: &CompareSettings,
    out: &Path,
    train: &[&Pop],
    log: &mut dyn FnMut(&str),
    failures: &mut Vec<String>,
) -> Vec<Entry> {
    let track_files: Vec<PathBuf> = train.iter().filter_map(|p| p.tracks.clone()).collect();
    if a.lags.is_empty() {
        return Vec::new();
    }
    if track_files.is_empty() {
        failures.push("no tracks.npz in the training sub-populations: no track models".into());
        return Vec::new();
    }
    let mut entries = Vec::new();
    let windows: Vec<Option<usize>> =
        std::iter::once(None).chain(a.windows.iter().map(|&w| Some(w))).collect();
    let intervals: &[bool] = if a.overlapping { &[false, true] } else { &[false] };
    for &lag in &a.lags {
        for &window in &windows {
            for &overlapping in intervals {
                let mut name = format!("tracks-lag{lag}");
                if let Some(w) = window {
                    name += &format!("-w{w}");
                }
                if overlapping {
                    name += "-ovl";
                }
                let settings = TrackSettings {
                    min_count: a.min_count,
                    window,
                    overlapping,
                    ..TrackSettings::new(track_files.clone(), train[0].ds.folder.clone(), lag)
                };
                let dir = out.join("models").join(&name);
                match crate::tracks::estimate(&settings).and_then(|m| m.save(&dir).map(|()| m)) {
                    Ok(model) => {
                        log(&model.text);
                        // Time-resolved models enter the agreement with their first window.
                        let est = model.estimates.into_iter().next().expect("at least one estimate");
                        let mask = est.count.mapv(|c| c >= a.min_count);
                        entries.push(Entry {
                            name,
                            family: Family::Tracks,
                            source: AnyModel::Fields(model.model),
                            fields: mask.iter().any(|&b| b).then(|| (est.fields.clone(), mask)),
                            tracks: Some(est),
                        });
                    }
                    Err(e) => failures.push(format!("{name}: {e}")),
                }
            }
        }
    }
    entries
}

/// The static and dynamic theory models from the first training
/// sub-population's PIC parameters: pushed to `entries`, and returned as
/// `(name, fields, model)` for the agreement.
fn theory_models(
    a: &CompareSettings,
    out: &Path,
    train: &[&Pop],
    background: Option<&Pop>,
    grid: &VelocityGrid,
    entries: &mut Vec<Entry>,
    failures: &mut Vec<String>,
) -> Vec<(String, FpFields, FieldsModel)> {
    let mut theories = Vec::new();
    let mut kinds: Vec<(&str, Option<TheoryKind>)> = vec![
        (TheoryKind::Static.name(), Some(TheoryKind::Static)),
        (TheoryKind::Dynamic.name(), Some(TheoryKind::Dynamic)),
    ];
    if background.is_some() {
        kinds.push((MEASURED_THEORY, None));
    }
    for (name, kind) in kinds {
        let dir = out.join("models").join(name);
        let result = if a.resume && FieldsModel::is_fields_dir(&dir) {
            FieldsModel::load(&dir)
        } else {
            match (kind, background) {
                (Some(kind), _) => PicInput::new(train[0].ds.folder.clone())
                    .resolve()
                    .and_then(|(params, grid, from)| theory_model(&params, &grid, kind, &from)),
                (None, Some(bg)) => {
                    crate::theory::measured_theory_model(&bg.ds, &PicInput::new(bg.ds.folder.clone()), None)
                }
                (None, None) => unreachable!("the measured theory is listed only with a background"),
            }
            .and_then(|(model, _)| model.save(&dir).map(|()| model))
        };
        match result {
            Ok(model) => {
                let f = model.fields[0].clone();
                theories.push((name.to_string(), f.clone(), model.clone()));
                entries.push(Entry {
                    name: name.into(),
                    family: Family::Theory,
                    source: AnyModel::Fields(model),
                    fields: Some((f, Array2::from_elem(grid.shape(), true))),
                    tracks: None,
                });
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    theories
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::OperatorShape;

    /// Every name of the table parses back to the model it came from, and
    /// the time dependence is read from the suffix.
    #[test]
    fn builtin_names_round_trip() {
        let all = [
            BuiltinModel::TENSOR,
            BuiltinModel::Tensor(TimeDependence::Nodes(25)),
            BuiltinModel::Tensor(TimeDependence::PerDump),
            BuiltinModel::PAR_PERP,
            BuiltinModel::ParPerp(TimeDependence::Nodes(2)),
            BuiltinModel::PARPERP_MLP,
            BuiltinModel::ParperpMlp(true),
            BuiltinModel::MLP,
            BuiltinModel::Mlp(true),
            BuiltinModel::KERNEL,
            BuiltinModel::Kernel { k: 5, difference: Difference::Centred, time: TimeDependence::Nodes(3) },
            BuiltinModel::Kernel { k: 3, difference: Difference::Backward, time: TimeDependence::PerDump },
            BuiltinModel::KernelMlp { k: 2, difference: Difference::Forward, time: false },
            BuiltinModel::KernelMlp { k: 4, difference: Difference::Backward, time: true },
            BuiltinModel::None,
        ];
        for m in all {
            assert_eq!(m.name().parse::<BuiltinModel>().unwrap(), m, "{}", m.name());
        }
        assert_eq!("kernel".parse::<BuiltinModel>().unwrap(), BuiltinModel::KERNEL);
        assert_eq!(BuiltinModel::KERNEL.name(), "kernel-k2");
        let (_, spec) =
            "kernel-c3-t4".parse::<BuiltinModel>().unwrap().spec(TimeRegularisation::default()).unwrap();
        assert_eq!(spec.operator_shape(), OperatorShape::Kernel { k: 3, difference: Difference::Centred });
        spec.validate().unwrap();
        assert!(BuiltinModel::Tensor(TimeDependence::Nodes(25)).is_time_dependent());
        assert!(!BuiltinModel::TENSOR.is_time_dependent());
        // One node is a constant model under another name; a typo is not a model.
        for bad in [
            "tensor-t1",
            "tensor-t0",
            "tensor-tx",
            "par-perp-t",
            "mlp-t2",
            "tensors",
            "kernel-k0",
            "kernel-x2",
            "kernel-k",
            "kernel-mlp-k2-t3",
            "kernel-k2-t",
        ] {
            let e = bad.parse::<BuiltinModel>().unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("tensor-tN"), "{e}");
        }
    }

    /// A time-dependent linear model carries the regularisation; a constant
    /// one drops it (a constant model with weights is refused by the spec).
    #[test]
    fn time_regularisation_goes_to_time_dependent_models_only() {
        let reg = TimeRegularisation { lambda1: 1e-5, lambda2: 1e-8 };
        let (_, spec) = BuiltinModel::Tensor(TimeDependence::Nodes(25)).spec(reg).unwrap();
        let o = spec.linear_options().unwrap();
        assert_eq!((o.time, o.lambda1, o.lambda2), (TimeDependence::Nodes(25), 1e-5, 1e-8));
        spec.validate().unwrap();
        let (_, spec) = BuiltinModel::TENSOR.spec(reg).unwrap();
        let o = spec.linear_options().unwrap();
        assert_eq!((o.lambda1, o.lambda2), (0.0, 0.0));
        spec.validate().unwrap();
        let (_, spec) = BuiltinModel::ParperpMlp(true).spec(reg).unwrap();
        assert!(spec.has_time_input());
    }
}
