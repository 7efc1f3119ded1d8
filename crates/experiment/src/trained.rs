//! Trained runs: the run directory of a training, its one owner.
//!
//! Layout (format 2):
//! - `config.toml`: the resolved [`TrainConfig`];
//! - `run.json`: [`RunInfo`] (format version, collop version, seed, model,
//!   parameter counts, datasets);
//! - `history.csv`: losses per epoch;
//! - `checkpoint.npz`: the resumable training state;
//! - `model.npz`: `phi` (final model parameters), `best_phi`, `theta` (the
//!   best operator parameters, condition 0) and, for Fokker-Planck models,
//!   the fields `A_x, A_y, D_xx, D_yy, D_xy` per time slot in physical units
//!   (`(n_slots, nx, ny)`), with `grid`;
//! - `conditioning.json`: for networks with conditioners;
//! - `plots/`: loss history and fields.
//!
//! Every file is written atomically (write then rename). Run directories of
//! format 1 (no `format_version` in `run.json`, the format-1 config) load.
//!
//! [`train`] holds the directory's lock ([`collop_io::OutputDir`]) while
//! it trains, and refuses a directory that holds a run ([`TRAINED_RUN`])
//! unless resumed; nothing is written before the config, the data and the
//! checkpoint have been checked.
//!
//! What is read back is checked: every archive member against its CRC-32
//! (collop-io), every value of `checkpoint.npz` and `model.npz` finite, a
//! checkpoint's counters against the schedule of `config.toml` (a stage
//! past it is refused, not taken as a finished training), each refusal
//! naming the file and the fix; and a run is rolled out only on its
//! training grid ([`TrainedRun::check_grid`]).

use std::path::{Path, PathBuf};

use collop_core::{FIELD_NAMES, VelocityGrid};
use collop_learn::{
    Communicator, EpochRecord, LearnError, Observer, OptimiserState, SingleProcess, Split, Stage,
    TrainSettings, TrainState,
};
use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Serialize};

use crate::conditioning::{CONDITIONING, Conditioning, DatasetConditioners, Extrapolation};
use crate::config::TrainConfig;
use crate::dataset::Dataset;
use crate::error::{ExperimentError, Result};
use crate::fields_model::{grid_array, read_grid};
use crate::params::OperatorParams;

/// The resolved config.
pub const CONFIG: &str = "config.toml";
/// Run metadata.
pub const RUN_JSON: &str = "run.json";
/// Loss history.
pub const HISTORY: &str = "history.csv";
/// Resumable training state.
pub const CHECKPOINT: &str = "checkpoint.npz";
/// Learned parameters (numpy-readable).
pub const MODEL: &str = "model.npz";
/// The format this version writes.
pub const FORMAT_VERSION: u32 = 2;

const HISTORY_HEADER: &str = "stage,epoch,global_epoch,unroll,train_loss,val_loss,lr,evaluations,elapsed_s";

/// `run.json` of a trained run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Format of the run directory (absent, 1, in earlier versions).
    #[serde(default = "one")]
    pub format_version: u32,
    /// The collop version that trained it.
    pub version: String,
    /// Seed of the split and the initialisation.
    pub seed: u64,
    /// Description of the model.
    pub model: String,
    /// Model parameters `phi`.
    pub model_parameters: usize,
    /// Operator parameters `theta` (condition 0).
    pub operator_parameters: usize,
    /// The training datasets.
    pub datasets: Vec<String>,
    /// Training windows held out for validation.
    pub training_windows_held_out: usize,
}

fn one() -> u32 {
    1
}

fn arr(v: &[f64]) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.to_vec()).expect("1D")
}

fn text_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| ExperimentError::file(path, e))
}

/// Write the training state as a numpy archive.
pub fn save_checkpoint(dir: &Path, state: &TrainState) -> Result<()> {
    let mut named: Vec<(String, ArrayD<f64>)> = vec![
        ("phi".into(), arr(&state.phi)),
        ("progress".into(), arr(&[state.stage as f64, state.epoch as f64, state.global_epoch as f64])),
    ];
    match &state.optimiser {
        OptimiserState::Adam { m, v, t } => {
            named.push(("adam_m".into(), arr(m)));
            named.push(("adam_v".into(), arr(v)));
            named.push(("adam_t".into(), arr(&[*t as f64])));
        }
        OptimiserState::Lbfgs { s, y } => {
            for (k, (sk, yk)) in s.iter().zip(y).enumerate() {
                named.push((format!("lbfgs_s_{k:03}"), arr(sk)));
                named.push((format!("lbfgs_y_{k:03}"), arr(yk)));
            }
        }
    }
    if let Some((score, phi)) = &state.best {
        named.push(("best_score".into(), arr(&[*score])));
        named.push(("best_phi".into(), arr(phi)));
    }
    for (k, sb) in state.stage_best.iter().enumerate() {
        if let Some((score, phi)) = sb {
            named.push((format!("stage_{k:02}_best_score"), arr(&[*score])));
            named.push((format!("stage_{k:02}_best_phi"), arr(phi)));
        }
    }
    let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
        named.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    collop_io::write_npz(dir.join(CHECKPOINT), &views)?;
    Ok(())
}

/// What to do with a training checkpoint that cannot be used.
const CHECKPOINT_FIX: &str =
    "delete it to restart the training from its beginning, or restore it from a copy";

/// The first non-finite value of the arrays of `path`, as an error naming
/// the file and the array: parameters, optimiser states and scores are
/// finite, so a NaN or an infinity is damage.
fn check_finite(path: &Path, arrays: &[(String, ArrayD<f64>)], fix: &str) -> Result<()> {
    for (name, a) in arrays {
        if let Some((k, v)) = a.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ExperimentError::artefact(
                path,
                format!("array `{name}` holds {v} at index {k}; the file is damaged: {fix}"),
            ));
        }
    }
    Ok(())
}

/// Read a checkpoint written by [`save_checkpoint`] into `state` (whose
/// optimiser kind and stage count must match the run's config), checked
/// against the schedule `stages`: a damaged member (CRC-32), a non-finite
/// value, counters that are not counts, a stage past the schedule or an
/// epoch past its stage's are refused naming the file, never resumed.
pub fn load_checkpoint(dir: &Path, state: &mut TrainState, stages: &[Stage]) -> Result<()> {
    let path = dir.join(CHECKPOINT);
    let bad = |m: &str| ExperimentError::artefact(&path, format!("{m}; {CHECKPOINT_FIX}"));
    let arrays = collop_io::read_npz(&path).map_err(|e| match e {
        collop_io::IoError::Npz { reason, .. } => ExperimentError::artefact(
            &path,
            format!("{reason}; for a training checkpoint that means: {CHECKPOINT_FIX}"),
        ),
        other => other.into(),
    })?;
    check_finite(&path, &arrays, CHECKPOINT_FIX)?;
    let get = |name: &str| {
        arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a.iter().copied().collect::<Vec<f64>>())
    };
    let phi = get("phi").ok_or_else(|| bad("no `phi`: not a checkpoint"))?;
    if phi.len() != state.phi.len() {
        return Err(bad(&format!(
            "{} parameters, the model in config.toml has {}: the config changed since the checkpoint",
            phi.len(),
            state.phi.len()
        )));
    }
    let progress =
        get("progress").filter(|p| p.len() == 3).ok_or_else(|| bad("no `progress`: not a checkpoint"))?;
    let count = |k: usize, what: &str| {
        let v = progress[k];
        if v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(53) {
            Ok(v as usize)
        } else {
            Err(bad(&format!("`progress` gives the {what} as {v}, not a count")))
        }
    };
    let nparams = state.phi.len();
    state.phi = phi;
    state.stage = count(0, "stage")?;
    state.epoch = count(1, "epoch")?;
    state.global_epoch = count(2, "global epoch")?;
    match &mut state.optimiser {
        OptimiserState::Adam { m, v, t } => {
            let missing =
                || bad("no Adam state (adam_m, adam_v, adam_t): the optimiser changed since the checkpoint");
            *m = get("adam_m").ok_or_else(missing)?;
            *v = get("adam_v").ok_or_else(missing)?;
            *t = get("adam_t").and_then(|t| t.first().copied()).ok_or_else(missing)? as u64;
        }
        OptimiserState::Lbfgs { s, y } => {
            s.clear();
            y.clear();
            for k in 0.. {
                match (get(&format!("lbfgs_s_{k:03}")), get(&format!("lbfgs_y_{k:03}"))) {
                    (Some(sk), Some(yk)) => {
                        s.push(sk);
                        y.push(yk);
                    }
                    _ => break,
                }
            }
        }
    }
    if let (Some(score), Some(phi)) = (get("best_score"), get("best_phi")) {
        let score = *score.first().ok_or_else(|| bad("`best_score` is empty"))?;
        state.best = Some((score, phi));
    }
    for k in 0..state.stage_best.len() {
        if let (Some(score), Some(phi)) =
            (get(&format!("stage_{k:02}_best_score")), get(&format!("stage_{k:02}_best_phi")))
        {
            let score = *score.first().ok_or_else(|| bad(&format!("`stage_{k:02}_best_score` is empty")))?;
            state.stage_best[k] = Some((score, phi));
        }
    }
    state
        .check(stages, nparams)
        .map_err(|e| bad(&format!("it cannot continue the training of config.toml: {e}")))
}

/// Logs every epoch to history.csv and writes checkpoints.
pub struct RunLogger {
    dir: PathBuf,
    lines: Vec<String>,
    every: usize,
    /// Loss evaluations before a resume (of the last epoch kept), so that
    /// the history counts them over the whole run.
    evaluations_before: usize,
}

impl RunLogger {
    /// A logger for `dir`; on resume, the history up to `global_epoch` is kept.
    pub fn new(dir: &Path, every: usize, resume_at: Option<usize>) -> Self {
        let mut lines = Vec::new();
        if let Some(done) = resume_at {
            let text = std::fs::read_to_string(dir.join(HISTORY)).unwrap_or_default();
            for line in text.lines().skip(1) {
                let ge: usize = line.split(',').nth(2).and_then(|v| v.parse().ok()).unwrap_or(usize::MAX);
                if ge <= done {
                    lines.push(line.to_string());
                }
            }
        }
        let evaluations_before =
            lines.last().and_then(|l| l.split(',').nth(7)).and_then(|v| v.parse().ok()).unwrap_or(0);
        Self { dir: dir.to_path_buf(), lines, every, evaluations_before }
    }

    /// The epochs of the whole run so far, read back from the history's
    /// lines (those kept from before a resume included).
    pub fn records(&self) -> Vec<EpochRecord> {
        let parse = |line: &str| -> Option<EpochRecord> {
            let f: Vec<&str> = line.split(',').collect();
            let int = |k: usize| f.get(k)?.parse::<usize>().ok();
            let real = |k: usize| f.get(k)?.parse::<f64>().ok();
            Some(EpochRecord {
                stage: int(0)?,
                epoch: int(1)?,
                global_epoch: int(2)?,
                unroll: int(3)?,
                train_loss: real(4)?,
                val_loss: real(5),
                lr: real(6)?,
                evaluations: int(7)?,
                elapsed: real(8)?,
            })
        };
        self.lines.iter().filter_map(|l| parse(l)).collect()
    }

    fn flush(&self, state: &TrainState) -> std::result::Result<(), LearnError> {
        let mut text = String::from(HISTORY_HEADER);
        text.push('\n');
        for l in &self.lines {
            text.push_str(l);
            text.push('\n');
        }
        let io = |e: ExperimentError| LearnError::Config(format!("writing the run directory: {e}"));
        collop_io::write_text(self.dir.join(HISTORY), &text).map_err(|e| io(e.into()))?;
        save_checkpoint(&self.dir, state).map_err(io)
    }
}

impl Observer for RunLogger {
    fn on_epoch(
        &mut self,
        r: &EpochRecord,
        _phi: &[f64],
        state: &TrainState,
    ) -> std::result::Result<(), LearnError> {
        let val = r.val_loss.map(|v| format!("{v:e}")).unwrap_or_default();
        self.lines.push(format!(
            "{},{},{},{},{:e},{val},{:e},{},{:.3}",
            r.stage,
            r.epoch,
            r.global_epoch,
            r.unroll,
            r.train_loss,
            r.lr,
            self.evaluations_before + r.evaluations,
            r.elapsed
        ));
        if self.every > 0 && r.global_epoch.is_multiple_of(self.every) {
            self.flush(state)?;
        }
        Ok(())
    }

    fn on_stage_end(&mut self, _stage: usize, state: &TrainState) -> std::result::Result<(), LearnError> {
        // The state already counts the stage as done once `train` advances it;
        // write it with the stage marked complete so a resume starts the next.
        let mut done = state.clone();
        done.stage += 1;
        done.epoch = 0;
        self.flush(&done)
    }
}

/// Keeps the epoch records of one training call.
#[derive(Debug, Default)]
pub struct Records(pub Vec<EpochRecord>);

impl Observer for Records {
    fn on_epoch(
        &mut self,
        r: &EpochRecord,
        _phi: &[f64],
        _s: &TrainState,
    ) -> std::result::Result<(), LearnError> {
        self.0.push(r.clone());
        Ok(())
    }
}

/// A trained run loaded from its directory.
#[derive(Debug, Clone)]
pub struct TrainedRun {
    /// The run directory.
    pub dir: PathBuf,
    /// The resolved config.
    pub config: TrainConfig,
    /// `run.json`.
    pub info: Option<RunInfo>,
    /// Best operator parameters (condition 0, the training slots).
    pub theta: Vec<f64>,
    /// Best model parameters.
    pub phi: Option<Vec<f64>>,
    /// Normalisation of the conditioners, if the model has any.
    pub conditioning: Option<Conditioning>,
    /// The velocity grid the run was trained on: `grid` of model.npz, else
    /// (runs of format 1) the first training dataset's; `None` when neither
    /// can be read. Rollouts on another grid are refused
    /// ([`TrainedRun::check_grid`]).
    pub grid: Option<VelocityGrid>,
}

/// What a training made.
pub struct TrainOutcome {
    /// The run, as saved.
    pub run: TrainedRun,
    /// Epochs done in all (this call and earlier ones).
    pub epochs: usize,
    /// Gradient evaluations of this call.
    pub evaluations: usize,
    /// Wall time of this call, seconds.
    pub seconds: f64,
    /// Best score and whether it is a validation loss.
    pub best: (f64, bool),
    /// Description of the model.
    pub model: String,
}

/// Options of [`train`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TrainOptions {
    /// Continue from the directory's checkpoint.
    pub resume: bool,
    /// Draw the loss history and the fields into `plots/`.
    pub plots: bool,
}

/// A run directory for the overwrite rule of [`collop_io::OutputDir`]: it
/// holds a run when it holds a checkpoint or a model ([`holds_run`]).
pub const TRAINED_RUN: collop_io::OutputKind = collop_io::OutputKind {
    name: "a trained run",
    holds: holds_run,
    owns: None,
    accepts: "continue it with `--resume`",
};

/// Train `cfg` into the run directory `dir` (created, and locked while the
/// training goes; a directory that holds a run is refused unless
/// `resume`, which continues from its checkpoint if the recorded config is
/// the same). `observers` see every epoch (progress bars, callbacks).
pub fn train(
    cfg: &TrainConfig,
    dir: &Path,
    opts: TrainOptions,
    observers: &mut [&mut dyn Observer],
) -> Result<TrainOutcome> {
    let outcome = train_distributed(cfg, dir, opts, observers, &SingleProcess)?;
    Ok(outcome.expect("rank 0 of one process returns the outcome"))
}

/// As [`train`], as one rank of a data-parallel training over `comm`
/// (`mpirun -np N collop train`; [`collop_learn::communicator`]): every
/// rank reads the config, the data and, when resuming, the checkpoint
/// (so a run resumes under any rank count), trains its block of the
/// windows with the gradients summed over the ranks, and rank 0 alone
/// claims and writes the run directory (config, history, checkpoints,
/// model) and gets the outcome (`None` on the other ranks). A failure on
/// any rank before training (a locked directory, a missing file) stops
/// every rank.
pub fn train_distributed(
    cfg: &TrainConfig,
    dir: &Path,
    opts: TrainOptions,
    observers: &mut [&mut dyn Observer],
    comm: &dyn Communicator,
) -> Result<Option<TrainOutcome>> {
    let writer = comm.rank() == 0;
    // Whether any rank failed, asked by every rank at the same point (one
    // process: nothing to ask): a rank that failed returns its own error,
    // the others stop with the count of failed ranks.
    let sync = |failed: bool| -> Result<()> {
        if comm.size() <= 1 {
            return Ok(());
        }
        let local = if failed { Err(LearnError::Data(String::new())) } else { Ok(()) };
        collop_learn::communicator::agree(comm, local).map_err(Into::into)
    };
    let existing = if opts.resume { collop_io::Existing::Resume } else { collop_io::Existing::Refuse };
    // Held until the run is written: one writer at a time (rank 0 writes).
    let claimed = (|| -> Result<_> {
        cfg.validate()?;
        Ok(if writer { Some(collop_io::OutputDir::claim(dir, &TRAINED_RUN, existing)?) } else { None })
    })();
    let synced = sync(claimed.is_err());
    let _owner = claimed?;
    synced?;
    let prepared = (|| -> Result<_> {
        // A run killed before its first checkpoint is resumed from the start
        // (its config, if it wrote one, must still be the same).
        let from_checkpoint = opts.resume && dir.join(CHECKPOINT).exists();
        if opts.resume && dir.join(CONFIG).exists() {
            let recorded = TrainConfig::from_toml(
                &text_file(&dir.join(CONFIG))?,
                &dir.join(CONFIG).display().to_string(),
            )?;
            if let Some(diff) = config_difference(&recorded, cfg) {
                return Err(ExperimentError::artefact(
                    dir,
                    format!(
                        "the run was started with another config ({diff}); resume it with the config in its config.toml, or train into another directory"
                    ),
                ));
            }
        }
        // Everything is checked and read before the directory is written.
        let data = Dataset::load_all(&cfg.data.folders)?;
        let series: Vec<_> = data.iter().map(|d| d.series.clone()).collect();
        let n_steps = data.iter().map(Dataset::steps).max().unwrap_or(0);
        if n_steps == 0 {
            return Err(ExperimentError::Data(
                "the datasets have a single frame each; training needs at least two".into(),
            ));
        }
        let (conditioning, conditioners, conditions) = Conditioning::from_training(cfg, &data, n_steps)?;
        let grid = series[0].grid;
        let model = cfg.model.build(
            grid,
            n_steps,
            cfg.numerics.scheme,
            cfg.numerics.clamp_d,
            cfg.seed,
            conditioners,
        )?;
        let split = Split::new(&series, cfg.data.validation_fraction, cfg.seed)?;
        let settings = TrainSettings {
            stages: cfg.training.stages.clone(),
            optimiser: cfg.training.optimiser,
            loss: cfg.training.loss(),
            rollout: cfg.numerics.rollout(),
        };
        let mut state = TrainState::new(model.init(), &settings.optimiser, settings.stages.len());
        if writer {
            std::fs::create_dir_all(dir).map_err(|e| ExperimentError::file(dir, e))?;
        }
        if from_checkpoint {
            load_checkpoint(dir, &mut state, &settings.stages)?;
        } else if writer {
            // The data folders as absolute paths: the run is read from any
            // working directory (`collop test RUN` from elsewhere).
            let mut recorded = cfg.clone();
            for f in &mut recorded.data.folders {
                *f = std::path::absolute(&*f).map_err(|e| ExperimentError::file(&*f, e))?;
            }
            collop_io::write_text(dir.join(CONFIG), &recorded.to_toml()?)?;
            let info = RunInfo {
                format_version: FORMAT_VERSION,
                version: env!("CARGO_PKG_VERSION").into(),
                seed: cfg.seed,
                model: model.describe(),
                model_parameters: model.nparams(),
                operator_parameters: model.operator().nparams(),
                datasets: data.iter().map(|d| d.name.clone()).collect(),
                training_windows_held_out: split.len(),
            };
            write_json(&dir.join(RUN_JSON), &info)?;
            if !cfg.model.conditioners().is_empty() {
                write_json(&dir.join(CONDITIONING), &conditioning)?;
            }
        }
        Ok((from_checkpoint, series, conditions, grid, model, split, settings, state))
    })();
    let synced = sync(prepared.is_err());
    let (from_checkpoint, series, conditions, grid, model, split, settings, mut state) = prepared?;
    synced?;
    let mut logger =
        RunLogger::new(dir, cfg.training.checkpoint_every, from_checkpoint.then_some(state.global_epoch));
    let mut records = Records::default();
    let start = std::time::Instant::now();
    {
        let mut all: Vec<&mut dyn Observer> = vec![&mut records];
        if writer {
            all.push(&mut logger);
            for o in observers.iter_mut() {
                all.push(&mut **o);
            }
        }
        collop_learn::train_distributed(
            model.as_ref(),
            &series,
            &conditions,
            &split,
            &settings,
            &mut state,
            &mut all,
            comm,
        )?;
    }
    if !writer {
        return Ok(None);
    }
    let seconds = start.elapsed().as_secs_f64();
    let best_phi = state.best.as_ref().map(|(_, p)| p.clone()).unwrap_or_else(|| state.phi.clone());
    let mut theta = vec![0.0; model.operator().nparams()];
    model.theta(&best_phi, &mut theta)?;
    let params = OperatorParams::new(grid, cfg.model.operator_shape(), theta.clone())?;
    save_model(dir, &state.phi, state.best.as_ref().map(|(_, p)| p.as_slice()), &params)?;
    if opts.plots {
        let plots = dir.join("plots");
        std::fs::create_dir_all(&plots).map_err(|e| ExperimentError::file(&plots, e))?;
        // The whole history, resumed parts included.
        let history = logger.records();
        if !history.is_empty() {
            crate::pictures::loss(&plots, &history)?;
        }
        if let Some(f) = params.fields().and_then(|f| f.into_iter().next()) {
            crate::pictures::fields(&plots, &f, "first time slot")?;
        }
    }
    let (best_score, _) =
        state.best.clone().ok_or_else(|| ExperimentError::Data("training ran no epoch".into()))?;
    let run = TrainedRun::load(dir)?;
    Ok(Some(TrainOutcome {
        run,
        epochs: state.global_epoch,
        evaluations: records.0.last().map(|r| r.evaluations).unwrap_or(0),
        seconds,
        best: (best_score, !split.is_empty()),
        model: model.describe(),
    }))
}

/// Whether `dir` already holds a (possibly unfinished) run.
pub fn holds_run(dir: &Path) -> bool {
    dir.join(CHECKPOINT).exists() || dir.join(MODEL).exists()
}

/// The first section in which two configs differ, for a resume refused.
pub(crate) fn config_difference(a: &TrainConfig, b: &TrainConfig) -> Option<String> {
    let canon = |p: &PathBuf| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
    let folders = |c: &TrainConfig| c.data.folders.iter().map(canon).collect::<Vec<_>>();
    if folders(a) != folders(b)
        || a.data.conditions != b.data.conditions
        || a.data.validation_fraction != b.data.validation_fraction
    {
        return Some("[data] differs".into());
    }
    if a.model != b.model {
        return Some("[model] differs".into());
    }
    if a.numerics != b.numerics {
        return Some("[numerics] differs".into());
    }
    if a.seed != b.seed {
        return Some(format!("seed {} against {}", a.seed, b.seed));
    }
    if a.training != b.training {
        return Some("[training] differs".into());
    }
    None
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| ExperimentError::artefact(path, e.to_string()))?;
    collop_io::write_text(path, &text)?;
    Ok(())
}

/// Write model.npz: final and best parameters, the best operator parameters
/// and, for Fokker-Planck models, the fields in physical units per slot.
fn save_model(dir: &Path, phi: &[f64], best_phi: Option<&[f64]>, params: &OperatorParams) -> Result<()> {
    let mut named: Vec<(String, ArrayD<f64>)> =
        vec![("phi".into(), arr(phi)), ("theta".into(), arr(&params.theta))];
    if let Some(p) = best_phi {
        named.push(("best_phi".into(), arr(p)));
    }
    named.extend(field_arrays(params));
    let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
        named.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    collop_io::write_npz(dir.join(MODEL), &views)?;
    Ok(())
}

/// `A_x ... D_xy` as `(n_slots, nx, ny)` arrays and `grid`, for Fokker-Planck parameters.
pub fn field_arrays(params: &OperatorParams) -> Vec<(String, ArrayD<f64>)> {
    let g = params.grid;
    let mut named = vec![("grid".to_string(), grid_array(&g))];
    if let Some(fields) = params.fields() {
        for (k, name) in FIELD_NAMES.iter().enumerate() {
            let mut a = ArrayD::zeros(IxDyn(&[fields.len(), g.nx, g.ny]));
            for (s, f) in fields.iter().enumerate() {
                a.index_axis_mut(ndarray::Axis(0), s).assign(&f.as_array()[k].clone().into_dyn());
            }
            named.push(((*name).to_string(), a));
        }
    }
    named
}

impl TrainedRun {
    /// Whether `dir` looks like a trained run (a `config.toml`).
    pub fn is_run_dir(dir: &Path) -> bool {
        dir.join(CONFIG).is_file()
    }

    /// Load a run directory written by [`train`] (format 2 or 1).
    pub fn load(dir: &Path) -> Result<Self> {
        let cfg_path = dir.join(CONFIG);
        if !cfg_path.is_file() {
            return Err(ExperimentError::artefact(
                dir,
                "not a run directory (no config.toml): train one with `collop train`",
            ));
        }
        let mut config = TrainConfig::from_toml(&text_file(&cfg_path)?, &cfg_path.display().to_string())?;
        // Runs record absolute folders. A relative one (a run assembled by
        // hand, or written by an earlier version, which recorded the paths
        // as given) is read relative to the run directory when it is there,
        // else as it stands (relative to the working directory).
        for f in &mut config.data.folders {
            if f.is_relative() && dir.join(&*f).is_dir() {
                *f = dir.join(&*f);
            }
        }
        let model_path = dir.join(MODEL);
        if !model_path.is_file() {
            return Err(ExperimentError::artefact(
                dir,
                "no learned model yet (model.npz): the training is unfinished; resume it",
            ));
        }
        let arrays = collop_io::read_npz(&model_path)?;
        check_finite(&model_path, &arrays, "restore it from a copy, or train the run again")?;
        let get = |name: &str| {
            arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a.iter().copied().collect::<Vec<f64>>())
        };
        let theta = get("theta").ok_or_else(|| ExperimentError::artefact(&model_path, "no `theta`"))?;
        let phi = get("best_phi").or_else(|| get("phi"));
        let grid = match get("grid") {
            Some(g) => Some(read_grid(&g).map_err(|e| ExperimentError::artefact(&model_path, e))?),
            // Format 1 stored no grid: the training data's, if still there.
            None => config.data.folders.first().and_then(|f| collop_io::read_meta(f).ok()).map(|m| m.grid),
        };
        if let Some(grid) = grid {
            // The operator of condition 0 must fit the model on its grid:
            // a `theta` of another length belongs to another run.
            OperatorParams::new(grid, config.model.operator_shape(), theta.clone()).map_err(|e| {
                ExperimentError::artefact(
                    &model_path,
                    format!(
                        "`theta` does not fit the model of config.toml ({e}); the file is damaged or belongs to \
                         another run: restore it from a copy, or train the run again"
                    ),
                )
            })?;
        }
        let run_json = dir.join(RUN_JSON);
        let info =
            match std::fs::read_to_string(&run_json) {
                Ok(text) => {
                    crate::error::check_format_version(&run_json, &text, FORMAT_VERSION)?;
                    Some(serde_json::from_str::<RunInfo>(&text).map_err(|e| {
                        ExperimentError::artefact(&run_json, format!("not a run record: {e}"))
                    })?)
                }
                // Format-1 directories may have none; any other failure is reported.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(ExperimentError::file(&run_json, e)),
            };
        let conditioning = if config.model.conditioners().is_empty() {
            None
        } else {
            let path = dir.join(CONDITIONING);
            let text = text_file(&path)?;
            let c: Conditioning = serde_json::from_str(&text)
                .map_err(|e| ExperimentError::artefact(&path, format!("invalid: {e}")))?;
            c.check_matches(&config)?;
            Some(c)
        };
        Ok(Self { dir: dir.to_path_buf(), config, info, theta, phi, conditioning, grid })
    }

    /// Write the run into `dir` (created): `config.toml`, `run.json`,
    /// `conditioning.json` for conditioned models, and `model.npz` with the
    /// best parameters (`phi`, `best_phi`), `theta` and, for Fokker-Planck
    /// models, the fields; the run then loads from `dir` (a copy, or a run
    /// assembled by a library user). The training history and checkpoint
    /// are not part of it.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| ExperimentError::file(dir, e))?;
        collop_io::write_text(dir.join(CONFIG), &self.config.to_toml()?)?;
        if let Some(info) = &self.info {
            write_json(&dir.join(RUN_JSON), &RunInfo { format_version: FORMAT_VERSION, ..info.clone() })?;
        }
        if let Some(c) = &self.conditioning {
            write_json(&dir.join(CONDITIONING), c)?;
        }
        let grid = match (self.grid, self.config.data.folders.first()) {
            (Some(g), _) => g,
            (None, Some(f)) => collop_io::read_meta(f)?.grid,
            (None, None) => return Err(ExperimentError::Config("[data] folders is empty".into())),
        };
        let params = OperatorParams::new(grid, self.config.model.operator_shape(), self.theta.clone())?;
        let phi = self.phi.clone().unwrap_or_default();
        save_model(dir, &phi, self.phi.as_deref(), &params)
    }

    /// Refuses `grid` unless it is the training grid (same cell counts and
    /// velocity ranges), naming both: the operator's coefficients, and a
    /// network's inputs normalised over the grid's range, belong to the
    /// cells the run was trained on. `what` names the grid's owner.
    pub fn check_grid(&self, grid: &VelocityGrid, what: &str) -> Result<()> {
        match &self.grid {
            Some(trained) if !trained.same_as(grid) => Err(ExperimentError::Data(format!(
                "the run {} was trained on the {trained} grid, {what} is on the {grid} grid; roll it out on data \
                 of its training grid (the same velocity range and cell count), or train a run on this grid",
                self.dir.display()
            ))),
            _ => Ok(()),
        }
    }

    /// Whether the model has conditioners (its operator depends on the dataset).
    pub fn is_conditioned(&self) -> bool {
        self.conditioning.is_some()
    }

    /// The operator parameters on dataset `ds`: the saved ones, checked
    /// against its grid; or, for models with conditioners, computed from the
    /// saved model parameters with the dataset's conditioners under the
    /// training normalisation (and one time slot per dump step of the
    /// dataset), refused outside the training range unless `policy` allows it.
    pub fn params_for(&self, ds: &Dataset, policy: Extrapolation) -> Result<(OperatorParams, Vec<String>)> {
        let grid = ds.series.grid;
        self.check_grid(&grid, &format!("the dataset {}", ds.name))?;
        let Some(conditioning) = &self.conditioning else {
            let p = OperatorParams::new(grid, self.config.model.operator_shape(), self.theta.clone())
                .map_err(|e| ExperimentError::artefact(&self.dir, format!("on {}: {e}", ds.name)))?;
            return Ok((p, Vec::new()));
        };
        let dc = conditioning.for_dataset(&self.config, ds, policy)?;
        self.params_conditioned(grid, dc)
    }

    /// The operator parameters for given raw PIC-parameter values (the
    /// config's conditioner order) and `n_steps` dump steps on `grid`: the
    /// fields of any condition, not only the training datasets'.
    pub fn params_for_values(
        &self,
        grid: collop_core::VelocityGrid,
        raw: &[f64],
        n_steps: usize,
        policy: Extrapolation,
    ) -> Result<(OperatorParams, Vec<String>)> {
        self.check_grid(&grid, "the grid asked for")?;
        let Some(conditioning) = &self.conditioning else {
            if !raw.is_empty() {
                return Err(ExperimentError::Data(format!(
                    "{}: the model has no conditioners; it has one operator for every dataset",
                    self.dir.display()
                )));
            }
            let p = OperatorParams::new(grid, self.config.model.operator_shape(), self.theta.clone())?;
            return Ok((p, Vec::new()));
        };
        let dc = conditioning.for_values(raw, n_steps, policy)?;
        self.params_conditioned(grid, dc)
    }

    /// The fields of the model for given raw PIC-parameter values (the
    /// config's conditioner order) and `n_steps` dump steps on `grid`, as a
    /// fields model: the operator of any condition, exported. Kernel models
    /// have no drift and diffusion fields and are refused.
    pub fn fields_model(
        &self,
        grid: collop_core::VelocityGrid,
        raw: &[f64],
        n_steps: usize,
        policy: Extrapolation,
    ) -> Result<crate::fields_model::FieldsModel> {
        let (params, extrapolated) = self.params_for_values(grid, raw, n_steps, policy)?;
        let fields = params.fields().ok_or_else(|| {
            ExperimentError::Data(format!(
                "{}: a {} model has kernels, not drift and diffusion fields; its parameters are in model.npz",
                self.dir.display(),
                self.config.model.family()
            ))
        })?;
        let condition =
            self.config.model.features().iter().zip(raw).map(|(c, &v)| (c.key().to_string(), v)).collect();
        let source = crate::fields_model::FieldsSource::Learned {
            run: self.dir.display().to_string(),
            condition,
            steps: n_steps,
            extrapolated,
        };
        crate::fields_model::FieldsModel::new(fields, source)
    }

    /// The fields under a condition ([`TrainedRun::fields_for`]) written
    /// as a fields model into `out`, with its pictures (`fields.png`,
    /// `radial.png` of the first time slot). The directory is claimed
    /// first ([`collop_io::OutputDir::claim`] with
    /// [`crate::fields_model::FIELDS_MODEL`]): another writer, or a model
    /// already there without [`collop_io::Existing::Overwrite`], is refused
    /// before any work.
    pub fn export_fields(
        &self,
        ds: Option<&Dataset>,
        given: &collop_io::PicParameters,
        steps: Option<usize>,
        policy: Extrapolation,
        out: &Path,
        existing: collop_io::Existing,
    ) -> Result<crate::fields_model::FieldsModel> {
        let mut dir = collop_io::OutputDir::claim(out, &crate::fields_model::FIELDS_MODEL, existing)?;
        let model = self.fields_for(ds, given, steps, policy)?;
        model.save_into(&mut dir)?;
        crate::pictures::fields(out, &model.fields[0], "first time slot")?;
        Ok(model)
    }

    /// The fields of the model under a condition: the PIC parameters of
    /// `given` where set, else those of `ds`'s args.yaml (and the config's
    /// `[data] conditions` when `ds` is a training folder); on `ds`'s grid
    /// (the first training dataset's without one), with time slots for
    /// `steps` dump steps (default: `ds`'s, or the training window).
    pub fn fields_for(
        &self,
        ds: Option<&Dataset>,
        given: &collop_io::PicParameters,
        steps: Option<usize>,
        policy: Extrapolation,
    ) -> Result<crate::fields_model::FieldsModel> {
        let features = self.config.model.features();
        if features.is_empty() && *given != collop_io::PicParameters::default() {
            return Err(ExperimentError::Data(format!(
                "{}: the model has no PIC-parameter conditioners; its fields do not depend on them",
                self.dir.display()
            )));
        }
        let from_data = match ds {
            Some(d) if features.iter().any(|&c| crate::conditioning::recorded(given, c).is_none()) => {
                Some(crate::conditioning::raw_features(&self.config, d)?)
            }
            _ => None,
        };
        let mut raw = Vec::with_capacity(features.len());
        for (k, &c) in features.iter().enumerate() {
            match (crate::conditioning::recorded(given, c), &from_data) {
                (Some(v), _) => raw.push(v),
                (None, Some(d)) => raw.push(d[k]),
                (None, None) => {
                    return Err(ExperimentError::Data(format!(
                        "the model is conditioned on `{0}`: give it (--{1} VALUE), or a dataset whose args.yaml has it",
                        c.key(),
                        c.key().replace('_', "-")
                    )));
                }
            }
        }
        let grid = match ds {
            Some(d) => d.series.grid,
            None => {
                let first = self.config.data.folders.first().ok_or_else(|| {
                    ExperimentError::artefact(self.dir.join(CONFIG), "names no dataset to take the grid from")
                })?;
                collop_io::read_meta(first)?.grid
            }
        };
        let steps = steps.or(ds.map(Dataset::steps)).or(self.time_window()).unwrap_or(1);
        self.fields_model(grid, &raw, steps, policy)
    }

    /// The dump steps of the training window of a time-conditioned network
    /// (`None` for other models, whose operators do not depend on it).
    pub fn time_window(&self) -> Option<usize> {
        self.conditioning.as_ref().and_then(|c| c.time_window_steps)
    }

    fn params_conditioned(
        &self,
        grid: collop_core::VelocityGrid,
        dc: DatasetConditioners,
    ) -> Result<(OperatorParams, Vec<String>)> {
        let cfg = &self.config;
        let model =
            cfg.model.build(grid, 0, cfg.numerics.scheme, cfg.numerics.clamp_d, cfg.seed, dc.conditioners)?;
        let phi = self
            .phi
            .as_ref()
            .ok_or_else(|| ExperimentError::artefact(self.dir.join(MODEL), "no model parameters `phi`"))?;
        if phi.len() != model.nparams() {
            return Err(ExperimentError::artefact(
                self.dir.join(MODEL),
                format!(
                    "{} model parameters, the network of config.toml on the {grid} grid has {}: the run was trained \
                     with another network shape or grid",
                    phi.len(),
                    model.nparams()
                ),
            ));
        }
        let mut theta = vec![0.0; model.operator().nparams()];
        model.theta_for(phi, 0, &mut theta)?;
        Ok((OperatorParams::new(grid, cfg.model.operator_shape(), theta)?, dc.extrapolated))
    }
}
