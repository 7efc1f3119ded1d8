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
//! - **tracks-lagN**: `collop tracks` on the training sub-populations'
//!   tracks for every lag of `--lags`;
//! - **theory-static**, **theory-dynamic**: `collop theory` from the PIC
//!   parameters in the first training sub-population's `args.yaml`;
//! - **frozen**: no evolution.
//!
//! Every model is rolled out on every sub-population with the reference
//! evaluation settings (guard cells, clamps `f >= 0` and `D_xx, D_yy >= 0`)
//! and `--substeps` sub-steps per dump (default one, as the reference);
//! learned models are trained with the same sub-steps, so that the operator
//! evaluated is the one fitted.
//!
//! Output `OUT` (each step's files are written as soon as the step ends, so
//! a late failure keeps the earlier results; `--resume` reuses finished
//! models):
//!
//! ```text
//! compare.json            sub-populations, roles, options
//! configs/<model>.toml    the training config of each learned model
//! models/<model>/         run directories and fields directories
//! table.csv               model, family, sub-population, role, rollout errors
//! agreement.csv           shell-averaged A_par, D_par, D_perp of each model against each theory
//! amplitude.csv           amplitude of each model relative to the dynamic theory, and N_D C_eff
//! radial_profiles.png     A_par, D_par, D_perp against |v| for all models
//! summary.md, summary.html
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

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use collop_core::{FpFields, VelocityGrid};
use collop_fp::{FrameErrors, Numerics};
use collop_learn::recovery::RadialComparison;
use collop_learn::tracks::TrackEstimate;
use collop_learn::{Observer, reference_schedule};
use collop_plot::{CurveStyle, Profile, RadialCurve, radial_binned, radial_binned_where, radial_profiles};
use ndarray::Array2;
use serde_json::json;

use crate::conditioning::Extrapolation;
use crate::config::{DataConfig, TrainConfig, TrainingConfig};
use crate::dataset::Dataset;
use crate::error::{Context, ExperimentError, Result, bail};
use crate::evaluate::{AnyModel, EvalOptions, Score, evaluate};
use crate::fields_model::{FieldsModel, absolute};
use crate::spec::ModelSpec;
use crate::theory::{PicInput, TheoryKind, theory_model};
use crate::tracks::TrackSettings;
use crate::trained::{CHECKPOINT, MODEL, TrainOptions, TrainedRun};

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
}

impl CompareSettings {
    /// The defaults of `collop compare` for the PIC run `run`.
    pub fn new(run: impl Into<PathBuf>) -> Self {
        Self {
            run: run.into(),
            train: Vec::new(),
            test: Vec::new(),
            lags: vec![1, 2, 5, 10],
            models: vec![BuiltinModel::Tensor, BuiltinModel::ParPerp],
            configs: Vec::new(),
            epochs_scale: 1.0,
            min_count: 10,
            resume: false,
            substeps: 1,
        }
    }
}

/// Built-in learned models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinModel {
    /// Free grid tensor.
    Tensor,
    /// Linear radial profiles.
    ParPerp,
    /// One network per radial profile.
    ParperpMlp,
    /// One network per field.
    Mlp,
    /// Free kernels of size 2 with forward differences (advection-diffusion).
    Kernel,
    /// No built-in model (only the `--config` ones).
    None,
}

impl BuiltinModel {
    /// Run name and model specification (`None` for [`BuiltinModel::None`]).
    pub fn spec(self) -> Option<(&'static str, ModelSpec)> {
        let net = |parperp: bool| {
            let (hidden, conditioners) = (vec![64, 64], Vec::new());
            if parperp {
                ModelSpec::ParperpMlp { hidden, conditioners }
            } else {
                ModelSpec::FpMlp { hidden, conditioners }
            }
        };
        match self {
            BuiltinModel::Tensor => Some(("tensor", ModelSpec::fp_tensor())),
            BuiltinModel::ParPerp => Some(("par-perp", ModelSpec::par_perp())),
            BuiltinModel::ParperpMlp => Some(("parperp-mlp", net(true))),
            BuiltinModel::Mlp => Some(("mlp", net(false))),
            BuiltinModel::Kernel => Some(("kernel-k2", ModelSpec::kernel(2))),
            BuiltinModel::None => None,
        }
    }
}

/// Whether a sub-population was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Trained on.
    Train,
    /// Held out.
    HeldOut,
}

impl Role {
    /// `train` or `held-out`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Train => "train",
            Role::HeldOut => "held-out",
        }
    }
}

struct Pop {
    name: String,
    role: Role,
    tracks: Option<PathBuf>,
    ds: Dataset,
}

struct Entry {
    name: String,
    family: &'static str,
    source: AnyModel,
    /// Time-slot-0 fields and the cells where they mean something.
    fields: Option<(FpFields, Array2<bool>)>,
    /// Track estimate (radial profiles with standard errors).
    tracks: Option<TrackEstimate>,
}

/// One model rolled out on one sub-population.
#[derive(Debug, Clone)]
pub struct Row {
    /// Model name.
    pub model: String,
    /// `learned`, `tracks`, `theory` or `frozen`.
    pub family: &'static str,
    /// Sub-population.
    pub pop: String,
    /// Trained on or held out.
    pub role: Role,
    /// The mean errors over all dump steps, or why there are none (diverged, failed).
    pub result: std::result::Result<FrameErrors, String>,
}

/// The comparison as data.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Every model on every sub-population.
    pub rows: Vec<Row>,
    /// Steps that failed (the rest are in the results).
    pub failures: Vec<String>,
}

/// Sub-population folders of a PIC run: directories holding `f/args.yaml`.
fn discover(run: &Path) -> Result<Vec<String>> {
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

fn roles(all: &[String], train: &[String], test: &[String]) -> Result<Vec<(String, Role)>> {
    for n in train.iter().chain(test) {
        if !all.contains(n) {
            bail!("sub-population `{n}` is not in the run; it has {}", all.join(", "));
        }
    }
    if let Some(n) = train.iter().find(|n| test.contains(n)) {
        bail!("sub-population `{n}` is both in --train and --test");
    }
    let train: Vec<String> = match (train.is_empty(), test.is_empty()) {
        (false, _) => train.to_vec(),
        (true, false) => all.iter().filter(|n| !test.contains(n)).cloned().collect(),
        (true, true) if all.len() > 1 => all[..all.len() - 1].to_vec(),
        (true, true) => all.to_vec(),
    };
    if train.is_empty() {
        bail!("no sub-population left to train on: name some with --train");
    }
    Ok(all
        .iter()
        .filter(|n| train.contains(n) || test.is_empty() || test.contains(n))
        .map(|n| (n.clone(), if train.contains(n) { Role::Train } else { Role::HeldOut }))
        .collect())
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
    for (name, spec) in a.models.iter().filter_map(|m| m.spec()) {
        if out.iter().any(|(n, _)| n == name) {
            continue;
        }
        out.push((
            name.to_string(),
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
    let mut keep = Array2::from_elem(grid.shape(), false);
    for p in pops {
        let s = &p.ds.series;
        let mean = s.frames.mean_axis(ndarray::Axis(0)).expect("at least one frame");
        let peak = mean.iter().fold(0.0_f64, |m, &v| m.max(v));
        for (k, &v) in keep.iter_mut().zip(mean.iter()) {
            *k |= peak > 0.0 && v >= 1e-3 * peak;
        }
    }
    keep
}

/// The evaluation settings of every rollout: the reference's, with the sub-steps.
fn evaluation(a: &CompareSettings) -> Result<Numerics> {
    Ok(Numerics::evaluation().with_substeps(a.substeps)?)
}

/// Mean errors over all dump steps of `model` on `ds`, or why there are none.
fn rollout(model: &AnyModel, ds: &Dataset, numerics: &Numerics) -> std::result::Result<FrameErrors, String> {
    let (params, _) = model.params_for(ds, Extrapolation::Refuse).map_err(|e| e.to_string())?;
    let e = evaluate(&params, ds, numerics, EvalOptions::default()).map_err(|e| e.to_string())?;
    match e.score {
        Score::Scored { errors, .. } => Ok(errors.mean),
        Score::Diverged { step, of } => Err(format!("diverged at dump step {step} of {of}")),
    }
}

fn write_table(path: &Path, rows: &[Row]) -> Result<()> {
    let mut s = String::from("model,family,subpopulation,role,mae,mse,l1,l2,l1_norm,l2_norm,error\n");
    for r in rows {
        write!(s, "{},{},{},{}", r.model, r.family, r.pop, r.role.name())?;
        match &r.result {
            Ok(e) => writeln!(
                s,
                ",{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},",
                e.mae, e.mse, e.l1, e.l2, e.l1_norm, e.l2_norm
            )?,
            Err(msg) => writeln!(s, ",,,,,,,\"{}\"", msg.replace('"', "'"))?,
        }
    }
    collop_io::write_text(path, &s)?;
    Ok(())
}

/// Pieces of the summary, rendered as Markdown and as HTML.
enum Block {
    Heading(String),
    Text(String),
    Table { header: Vec<String>, rows: Vec<Vec<String>> },
    Image(String),
}

fn markdown(blocks: &[Block]) -> String {
    let mut s = String::new();
    for b in blocks {
        match b {
            Block::Heading(h) => s.push_str(&format!("## {h}\n\n")),
            Block::Text(t) => s.push_str(&format!("{t}\n\n")),
            Block::Table { header, rows } => {
                s.push_str(&format!("| {} |\n", header.join(" | ")));
                s.push_str(&format!("|{}\n", " --- |".repeat(header.len())));
                for r in rows {
                    s.push_str(&format!("| {} |\n", r.join(" | ")));
                }
                s.push('\n');
            }
            Block::Image(p) => s.push_str(&format!("![radial profiles]({p})\n\n")),
        }
    }
    s
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn html(title: &str, blocks: &[Block]) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title>\n<style>body{{font-family:sans-serif;\
         max-width:1700px;margin:2em}} table{{border-collapse:collapse;margin-bottom:1.5em}} td,th{{border:1px solid \
         #bbb;padding:3px 8px;text-align:right}} th{{background:#eee}} td:first-child{{text-align:left}}</style>\
         </head><body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    for b in blocks {
        match b {
            Block::Heading(h) => s.push_str(&format!("<h2>{}</h2>\n", escape(h))),
            Block::Text(t) => s.push_str(&format!("<p>{}</p>\n", escape(t))),
            Block::Table { header, rows } => {
                s.push_str("<table>\n<tr>");
                for h in header {
                    s.push_str(&format!("<th>{}</th>", escape(h)));
                }
                s.push_str("</tr>\n");
                for r in rows {
                    s.push_str("<tr>");
                    for c in r {
                        s.push_str(&format!("<td>{}</td>", escape(c)));
                    }
                    s.push_str("</tr>\n");
                }
                s.push_str("</table>\n");
            }
            Block::Image(p) => {
                s.push_str(&format!("<p><img src=\"{}\" style=\"max-width:100%\"></p>\n", escape(p)))
            }
        }
    }
    s.push_str("</body></html>\n");
    s
}

const SHELL: f64 = 0.5;
const SHELLS: usize = 6; // |v| <= 3
const COEFFS: [&str; 3] = ["A_par", "D_par", "D_perp"];

/// Speeds over which amplitudes are compared (the issue's `|v| <= 3 v_th`,
/// without the innermost shell, where the drift vanishes and few cells lie).
const AMPLITUDE_RANGE: (f64, f64) = (0.5, 3.0);

/// Shell averages of `model` against `theory` over the cells of `mask`.
fn shells(model: &FpFields, mask: &Array2<bool>, theory: &FpFields) -> Result<RadialComparison> {
    let counts = mask.mapv(|b| if b { 1.0 } else { 0.0 });
    Ok(RadialComparison::new(model, theory, &counts, 0.5, SHELL)?)
}

/// `(C, N_D)` of a theory model: the static-shielding amplitude and the
/// particles per Debye area it was computed for.
fn theory_amplitude(model: &FieldsModel) -> Result<(f64, f64)> {
    let t = model.meta.source.theory().with_context(|| "not a theory model".into())?;
    Ok((t.amplitude, t.parameters.particles_per_debye_area))
}

/// Signed relative deviations per shell index (`None` where the shell has no cell).
fn deviations(model: &FpFields, mask: &Array2<bool>, theory: &FpFields) -> Result<Vec<Option<[f64; 3]>>> {
    let cmp = shells(model, mask, theory)?;
    let floor = 0.1 * cmp.drift_scale;
    let mut out = vec![None; SHELLS];
    for sh in &cmp.shells {
        let b = (sh.speed / SHELL) as usize;
        if b < SHELLS {
            out[b] = Some(std::array::from_fn(|k| {
                let scale = if k == 0 { sh.truth[0].abs().max(floor) } else { sh.truth[k].abs() };
                (sh.learned[k] - sh.truth[k]) / scale.max(f64::MIN_POSITIVE)
            }));
        }
    }
    Ok(out)
}

fn track_curve(name: &str, e: &TrackEstimate, min: usize) -> Option<RadialCurve> {
    let r = e.radial.as_ref()?;
    let used: Vec<usize> = (0..r.speed.len()).filter(|&b| r.count[b] >= min.max(2)).collect();
    if used.is_empty() {
        return None;
    }
    let profile = |k: usize| {
        let v: Vec<f64> = used.iter().map(|&b| r.value[k][b]).collect();
        let lo = used.iter().map(|&b| r.value[k][b] - r.stderr[k][b]).collect();
        let hi = used.iter().map(|&b| r.value[k][b] + r.stderr[k][b]).collect();
        Profile::with_band(v, lo, hi)
    };
    Some(RadialCurve {
        label: format!("{name} (± s.e.)"),
        style: CurveStyle::Markers,
        speed: used.iter().map(|&b| r.speed[b]).collect(),
        a_par: profile(0),
        d_par: profile(1),
        d_perp: profile(2),
    })
}

/// Run `collop compare`.
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
    evaluation(a)?;
    if a.lags.contains(&0) {
        bail!("lags: every lag must be at least one dump");
    }
    if !a.resume && (out.join("table.csv").exists() || out.join("models").exists()) {
        return Err(ExperimentError::artefact(
            out,
            "already holds a comparison; resume it to reuse its finished models, or write into another folder",
        ));
    }
    let names = discover(&a.run)?;
    let mut pops = Vec::new();
    for (name, role) in roles(&names, &a.train, &a.test)? {
        let dir = a.run.join(&name);
        let ds = Dataset::load(&absolute(&dir.join("f")))?;
        let tracks = Some(dir.join("tracks.npz")).filter(|p| p.is_file());
        pops.push(Pop { name, role, tracks, ds });
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
    let cfgs_of = |train: &[&Pop]| -> Result<Vec<(String, TrainConfig)>> {
        let folders: Vec<PathBuf> = train.iter().map(|p| p.ds.folder.clone()).collect();
        let max_unroll = train.iter().map(|p| p.ds.steps()).max().unwrap_or(1).max(1);
        configs(a, &folders, max_unroll)
    };
    let train: Vec<&Pop> = pops.iter().filter(|p| p.role == Role::Train).collect();
    // Every config is built (and refused) before anything is written.
    let learned = cfgs_of(&train)?;
    std::fs::create_dir_all(out.join("models")).map_err(|e| ExperimentError::file(out, e))?;
    let plan = json!({
        "run": absolute(&a.run).display().to_string(),
        "train": train.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        "held_out": pops.iter().filter(|p| p.role == Role::HeldOut).map(|p| p.name.as_str()).collect::<Vec<_>>(),
        "lags": a.lags,
        "configs": a.configs.iter().map(|c| c.display().to_string()).collect::<Vec<_>>(),
        "epochs_scale": a.epochs_scale,
        "min_count": a.min_count,
        "evaluation": "reference scheme, guard cells, clamp f >= 0 and D_xx, D_yy >= 0",
        "substeps": a.substeps,
        "version": env!("CARGO_PKG_VERSION"),
    });
    collop_io::write_text(
        out.join("compare.json"),
        &serde_json::to_string_pretty(&plan).expect("JSON value"),
    )?;
    let mask_data = populated(&train, &grid);
    let mut failures: Vec<String> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();

    // Learned models.
    let cfg_dir = out.join("configs");
    std::fs::create_dir_all(&cfg_dir).map_err(|e| ExperimentError::file(&cfg_dir, e))?;
    for (name, cfg) in learned {
        let dir = out.join("models").join(&name);
        let result = (|| -> Result<TrainedRun> {
            if a.resume && dir.join(MODEL).is_file() {
                log(&format!("compare: reusing the learned model {}", dir.display()));
                return TrainedRun::load(&dir);
            }
            collop_io::write_text(cfg_dir.join(format!("{name}.toml")), &cfg.to_toml()?)?;
            log(&format!(
                "compare: training {name} on {}",
                train.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            ));
            let resume = a.resume && dir.join(CHECKPOINT).is_file();
            Ok(crate::trained::train(&cfg, &dir, TrainOptions { resume, plots: true }, observers)?.run)
        })();
        match result {
            Ok(run) => {
                let fields = crate::params::OperatorParams::new(
                    grid,
                    run.config.model.operator_shape(),
                    run.theta.clone(),
                )
                .ok()
                .and_then(|p| p.fields())
                .and_then(|f| f.into_iter().next());
                entries.push(Entry {
                    name,
                    family: "learned",
                    source: AnyModel::Trained(Box::new(run)),
                    fields: fields.map(|f| (f, mask_data.clone())),
                    tracks: None,
                });
            }
            Err(e) => failures.push(format!("training {name}: {e}")),
        }
    }

    // Track models.
    let track_files: Vec<PathBuf> = train.iter().filter_map(|p| p.tracks.clone()).collect();
    if track_files.is_empty() {
        failures.push("no tracks.npz in the training sub-populations: no track models".into());
    }
    for &lag in if track_files.is_empty() { &[][..] } else { &a.lags[..] } {
        let name = format!("tracks-lag{lag}");
        let settings = TrackSettings {
            min_count: a.min_count,
            ..TrackSettings::new(track_files.clone(), train[0].ds.folder.clone(), lag)
        };
        let dir = out.join("models").join(&name);
        match crate::tracks::estimate(&settings).and_then(|m| m.save(&dir).map(|()| m)) {
            Ok(model) => {
                log(&model.text);
                let est = model.estimates.into_iter().next().expect("one estimate without windows");
                let mask = est.count.mapv(|c| c >= a.min_count.max(2));
                entries.push(Entry {
                    name,
                    family: "tracks",
                    source: AnyModel::Fields(model.model),
                    fields: mask.iter().any(|&b| b).then(|| (est.fields.clone(), mask)),
                    tracks: Some(est),
                });
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }

    // Theory models.
    let mut theories: Vec<(String, FpFields, FieldsModel)> = Vec::new();
    for kind in [TheoryKind::Static, TheoryKind::Dynamic] {
        let name = kind.name();
        let dir = out.join("models").join(name);
        let result = if a.resume && FieldsModel::is_fields_dir(&dir) {
            FieldsModel::load(&dir)
        } else {
            PicInput::new(train[0].ds.folder.clone())
                .resolve()
                .and_then(|(params, grid, from)| theory_model(&params, &grid, kind, &from))
                .and_then(|(model, _)| model.save(&dir).map(|()| model))
        };
        match result {
            Ok(model) => {
                let f = model.fields[0].clone();
                theories.push((name.to_string(), f.clone(), model.clone()));
                entries.push(Entry {
                    name: name.into(),
                    family: "theory",
                    source: AnyModel::Fields(model),
                    fields: Some((f, Array2::from_elem(grid.shape(), true))),
                    tracks: None,
                });
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    entries.push(Entry {
        name: "frozen".into(),
        family: "frozen",
        source: AnyModel::Frozen,
        fields: None,
        tracks: None,
    });

    // Rollouts, the table rewritten after every model.
    let mut rows: Vec<Row> = Vec::new();
    for e in &entries {
        for p in &pops {
            let result = rollout(&e.source, &p.ds, &evaluation(a)?);
            if let Err(msg) = &result {
                failures.push(format!("rollout of {} on {}: {msg}", e.name, p.name));
            }
            rows.push(Row {
                model: e.name.clone(),
                family: e.family,
                pop: p.name.clone(),
                role: p.role,
                result,
            });
        }
        write_table(&out.join("table.csv"), &rows)?;
    }

    // Agreement with theory.
    let mut agreement = String::from("model,theory,coefficient,shell_min,shell_max,relative_deviation\n");
    let mut blocks = vec![Block::Text(format!(
        "PIC run `{}`; trained on {}; held out: {}. Rollouts with the reference evaluation settings (guard cells, {} \
         sub-step(s) per dump, clamps f >= 0 and D_xx, D_yy >= 0), time-averaged mean absolute error of the \
         normalised histograms.",
        a.run.display(),
        train.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "),
        {
            let h: Vec<&str> =
                pops.iter().filter(|p| p.role == Role::HeldOut).map(|p| p.name.as_str()).collect();
            if h.is_empty() { "none".to_string() } else { h.join(", ") }
        },
        a.substeps
    ))];
    blocks.push(Block::Heading("Rollout MAE".into()));
    let mut header = vec!["model".to_string(), "family".to_string()];
    header.extend(pops.iter().map(|p| format!("{} ({})", p.name, p.role.name())));
    let table_rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let mut r = vec![e.name.clone(), e.family.to_string()];
            for p in &pops {
                let row = rows
                    .iter()
                    .find(|x| x.model == e.name && x.pop == p.name)
                    .expect("every pair rolled out");
                r.push(match &row.result {
                    Ok(err) => format!("{:.4e}", err.mae),
                    Err(_) => "failed".into(),
                });
            }
            r
        })
        .collect();
    blocks.push(Block::Table { header, rows: table_rows });
    for (tname, tfields, _) in &theories {
        blocks.push(Block::Heading(format!("Agreement with {tname} (|v| <= 3)")));
        blocks.push(Block::Text(format!(
            "Relative deviation (model - theory) / |theory| of the shell averages over populated cells, shells of \
             |v| {SHELL} wide; A_par relative to max(|A_par|, 0.1 of its largest shell value)."
        )));
        let mut header = vec!["model".to_string(), "coefficient".to_string()];
        header.extend((0..SHELLS).map(|b| format!("{:.1}-{:.1}", b as f64 * SHELL, (b + 1) as f64 * SHELL)));
        let mut trs = Vec::new();
        for e in entries.iter().filter(|e| e.family != "theory") {
            let Some((f, mask)) = &e.fields else { continue };
            let dev = match deviations(f, mask, tfields) {
                Ok(d) => d,
                Err(err) => {
                    failures.push(format!("agreement of {} with {tname}: {err}", e.name));
                    continue;
                }
            };
            for (k, coeff) in COEFFS.iter().enumerate() {
                let mut r = vec![e.name.clone(), coeff.to_string()];
                for (b, d) in dev.iter().enumerate() {
                    match d {
                        Some(d) => {
                            r.push(format!("{:+.2}", d[k]));
                            writeln!(
                                agreement,
                                "{},{tname},{coeff},{},{},{:.6e}",
                                e.name,
                                b as f64 * SHELL,
                                (b + 1) as f64 * SHELL,
                                d[k]
                            )?;
                        }
                        None => r.push("-".into()),
                    }
                }
                trs.push(r);
            }
        }
        blocks.push(Block::Table { header, rows: trs });
    }
    collop_io::write_text(out.join("agreement.csv"), &agreement)?;

    // Amplitudes against the dynamic theory: the 1/(n lambda_D^2) scaling.
    let dynamic = theories.iter().find(|(n, ..)| n == "theory-dynamic");
    match dynamic.map(|(_, f, model)| theory_amplitude(model).map(|cn| (f, cn))) {
        None => {}
        Some(Err(e)) => failures.push(format!("amplitude of theory-dynamic: {e}")),
        Some(Ok((dyn_fields, (c, nd)))) => {
            let mut csv = String::from("model,ratio_a_par,ratio_d_par,ratio_d_perp,c_eff,nd_c_eff\n");
            writeln!(csv, "theory-dynamic,1,1,1,{c:.6e},{:.6e}", nd * c)?;
            let mut trs = vec![vec![
                "theory-dynamic".to_string(),
                "1".into(),
                "1".into(),
                "1".into(),
                format!("{c:.4e}"),
                format!("{:.4}", nd * c),
            ]];
            for e in entries.iter().filter(|e| e.family != "theory") {
                let Some((f, mask)) = &e.fields else { continue };
                match shells(f, mask, dyn_fields).map(|cmp| cmp.amplitude_ratios(AMPLITUDE_RANGE)) {
                    Ok(Some(r)) => {
                        let c_eff = 0.5 * (r[1] + r[2]) * c;
                        writeln!(
                            csv,
                            "{},{:.6e},{:.6e},{:.6e},{c_eff:.6e},{:.6e}",
                            e.name,
                            r[0],
                            r[1],
                            r[2],
                            nd * c_eff
                        )?;
                        let mut row = vec![e.name.clone()];
                        row.extend(r.iter().map(|x| format!("{x:.3}")));
                        row.push(format!("{c_eff:.4e}"));
                        row.push(format!("{:.4}", nd * c_eff));
                        trs.push(row);
                    }
                    Ok(None) => {}
                    Err(err) => failures.push(format!("amplitude of {}: {err}", e.name)),
                }
            }
            collop_io::write_text(out.join("amplitude.csv"), &csv)?;
            blocks.push(Block::Heading("Amplitude against theory-dynamic".into()));
            blocks.push(Block::Text(format!(
            "Least-squares ratio model / theory of the shell averages over {} <= |v| <= {} (A_par, D_par, \
             D_perp), and the effective amplitude C_eff = C (ratio_D_par + ratio_D_perp) / 2, where C = {c:.4e} \
             v_th^3 omega_p is the theory's amplitude for N_D = n lambda_D^2 = {nd}. Collision theory has C \
             proportional to 1 / N_D at a fixed particle shape and dx / lambda_D, so N_D C_eff compares runs \
             with different N_D.",
            AMPLITUDE_RANGE.0, AMPLITUDE_RANGE.1
        )));
            blocks.push(Block::Table {
                header: ["model", "A_par", "D_par", "D_perp", "C_eff", "N_D C_eff"]
                    .map(String::from)
                    .to_vec(),
                rows: trs,
            });
        }
    }

    // Memory: tracks against histograms of each sub-population.
    let mut mem = Vec::new();
    for p in &pops {
        let Some(t) = &p.tracks else { continue };
        let tb = std::fs::metadata(t).map_err(|e| ExperimentError::file(t, e))?.len();
        let hb = crate::tracks::histogram_bytes(&p.ds.folder)?;
        mem.push(vec![
            p.name.clone(),
            tb.to_string(),
            hb.to_string(),
            format!("{:.2}", tb as f64 / hb.max(1) as f64),
        ]);
    }
    if !mem.is_empty() {
        blocks.push(Block::Heading("Memory: tracks against histograms".into()));
        blocks.push(Block::Table {
            header: ["sub-population", "tracks.npz bytes", "histogram bytes", "ratio"]
                .map(String::from)
                .to_vec(),
            rows: mem,
        });
    }

    // The figure.
    let n_bins = crate::tracks::radial_bins(&grid).n_bins;
    let mut curves = Vec::new();
    for e in &entries {
        let curve = match (e.family, &e.fields, &e.tracks) {
            ("tracks", _, Some(t)) => track_curve(&e.name, t, a.min_count),
            ("theory", Some((f, _)), _) => radial_binned(f, n_bins).ok().map(|c| {
                let mut c = c.with_label(e.name.clone()).with_style(CurveStyle::Dashed);
                for p in [&mut c.a_par, &mut c.d_par, &mut c.d_perp] {
                    p.band = None;
                }
                c
            }),
            (_, Some((f, mask)), _) => radial_binned_where(f, Some(mask), n_bins).ok().map(|c| {
                c.with_label(format!("{} (± spread over cells)", e.name)).with_style(CurveStyle::Line)
            }),
            _ => None,
        };
        curves.extend(curve);
    }
    let picture = out.join("radial_profiles.png");
    match radial_profiles(&picture, &curves, "A_par, D_par, D_perp of every model") {
        Ok(()) => {
            blocks.push(Block::Heading("Radial profiles".into()));
            blocks.push(Block::Text(
                "Learned tensor models binned in |v| over populated cells (band: spread over cells); track estimates \
                 from the intervals binned by starting speed (band: one standard error); theory dashed."
                    .into(),
            ));
            blocks.push(Block::Image("radial_profiles.png".into()));
        }
        Err(e) => failures.push(format!("radial_profiles.png: {e}")),
    }
    if !failures.is_empty() {
        blocks.push(Block::Heading("Failures".into()));
        for f in &failures {
            blocks.push(Block::Text(f.clone()));
        }
    }
    let title = format!("collop compare: {}", a.run.display());
    collop_io::write_text(out.join("summary.md"), &format!("# {title}\n\n{}", markdown(&blocks)))?;
    collop_io::write_text(out.join("summary.html"), &html(&title, &blocks))?;

    Ok(Comparison { rows, failures })
}
