//! `collop train` and `collop test`: parse, call the experiment layer, render.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use collop_experiment::conditioning::Extrapolation;
use collop_experiment::{AnyModel, Dataset, Score, TrainConfig, TrainOptions};
use collop_learn::{EpochRecord, LearnError, Observer, TrainState};
use serde::Serialize;

/// Arguments of `collop train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Configuration file (TOML).
    pub config: PathBuf,
    /// Run directory to create (or resume): refused while another command
    /// writes into it, or when it holds a run, unless `--resume`.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Continue an interrupted run from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
}

/// Arguments of `collop test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Run directories written by `collop train`, or fields directories
    /// written by `collop theory` or `collop tracks` (these need --data).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Datasets to roll out (default: those the first run was trained on).
    #[arg(long)]
    pub data: Vec<PathBuf>,
    /// Also score the static-shielding theory model with this amplitude.
    #[arg(long)]
    pub amplitude: Option<f64>,
    /// Average the errors over the first N dump steps (default: all).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Sub-steps per dump of every rollout (a number or `auto`; default:
    /// each run's evaluation settings, one step for the baselines).
    #[arg(long)]
    pub substeps: Option<String>,
    /// Evaluate networks with conditioners outside their training range
    /// (refused by default); each extrapolated input is reported.
    #[arg(long)]
    pub extrapolate: bool,
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write error-vs-time and snapshot pictures into this folder.
    #[arg(long)]
    pub plots: Option<PathBuf>,
}

/// Progress bar observer.
struct Progress {
    bar: indicatif::ProgressBar,
}

impl Observer for Progress {
    fn on_epoch(&mut self, r: &EpochRecord, _phi: &[f64], _s: &TrainState) -> Result<(), LearnError> {
        self.bar.set_position(r.global_epoch as u64);
        let val = r.val_loss.map(|v| format!(" val {v:.4e}")).unwrap_or_default();
        self.bar
            .set_message(format!("stage {} (unroll {}) train {:.4e}{val}", r.stage, r.unroll, r.train_loss));
        Ok(())
    }
}

/// A spinner over the epochs of one training after another (their number
/// is not known in advance): stage, unroll, epoch and loss.
#[derive(Default)]
pub struct EpochProgress {
    bar: Option<indicatif::ProgressBar>,
}

impl EpochProgress {
    /// Remove the spinner.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Observer for EpochProgress {
    fn on_epoch(&mut self, r: &EpochRecord, _phi: &[f64], _s: &TrainState) -> Result<(), LearnError> {
        let bar = self.bar.get_or_insert_with(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template("{elapsed_precise} {spinner} {msg}")
                    .expect("valid template"),
            );
            b
        });
        bar.set_message(format!(
            "epoch {} (stage {}, unroll {}) loss {:.4e}",
            r.global_epoch, r.stage, r.unroll, r.train_loss
        ));
        bar.tick();
        Ok(())
    }
}

/// A progress bar over `total` epochs.
pub fn epoch_bar(total: u64, done: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} epochs {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_position(done);
    bar
}

/// Trains as one rank of `comm` (one process: [`collop_learn::SingleProcess`]);
/// rank 0 alone shows progress and gets the summary (`None` elsewhere).
fn train_on(
    cfg: &TrainConfig,
    out: &std::path::Path,
    resume: bool,
    comm: &dyn collop_learn::Communicator,
) -> Result<Option<String>> {
    let total: u64 = cfg.training.stages.iter().map(|s| s.epochs as u64).sum();
    let mut progress = Progress { bar: epoch_bar(total, 0) };
    if comm.rank() != 0 {
        progress.bar = indicatif::ProgressBar::hidden();
    }
    let opts = TrainOptions { resume, plots: true };
    let outcome = collop_experiment::train_distributed(cfg, out, opts, &mut [&mut progress], comm)
        .with_context(|| match comm.size() {
            1 => format!("training into {}", out.display()),
            n => format!("rank {} of {n}: training into {}", comm.rank(), out.display()),
        });
    progress.bar.finish_and_clear();
    let Some(outcome) = outcome? else { return Ok(None) };
    let mut text = String::new();
    writeln!(text, "run       {}", out.display())?;
    writeln!(text, "model     {}", outcome.model)?;
    writeln!(
        text,
        "training  {} epochs, {} gradient evaluations, {:.1} s",
        outcome.epochs, outcome.evaluations, outcome.seconds
    )?;
    writeln!(
        text,
        "best      {:.4e} ({} loss)",
        outcome.best.0,
        if outcome.best.1 { "validation" } else { "training" }
    )?;
    writeln!(text, "test rollouts ({}):", cfg.evaluation)?;
    let model = AnyModel::Trained(Box::new(outcome.run));
    for ds in Dataset::load_all(&cfg.data.folders)? {
        let (_, e) = model.evaluate_on(&ds, &cfg.evaluation, Extrapolation::Refuse, None, false)?;
        match &e.score {
            Score::Scored { errors, window } => writeln!(
                text,
                "  {}: mae {:.4e}  l1 {:.4e}  ({window})",
                ds.name, errors.mean.mae, errors.mean.l1
            )?,
            Score::Diverged { step, .. } => writeln!(text, "  {}: diverged at step {step}", ds.name)?,
        }
    }
    if comm.size() > 1 {
        writeln!(text, "ranks     {} (MPI, gradients summed in rank order)", comm.size())?;
    }
    Ok(Some(text))
}

/// Run `collop train`: one process, or, built with the feature `mpi`, one
/// rank of `mpirun -np N collop train` (rank 0 prints and writes).
pub fn run_train(a: &TrainArgs) -> Result<()> {
    let cfg = TrainConfig::load(&a.config)?;
    #[cfg(feature = "mpi")]
    let text = match collop_learn::mpi::MpiCommunicator::init() {
        Some(comm) => {
            let start = std::time::Instant::now();
            let text = train_on(&cfg, &a.out, a.resume, &comm)?;
            let (sums, seconds) = comm.communication();
            text.map(|t| {
                format!(
                    "{t}sums      {sums} of the gradient, {seconds:.2} s ({:.1} % of the command's {:.2} s; rank 0, waits included)\n",
                    100.0 * seconds / start.elapsed().as_secs_f64(),
                    start.elapsed().as_secs_f64()
                )
            })
        }
        None => anyhow::bail!("MPI could not be initialised"),
    };
    #[cfg(not(feature = "mpi"))]
    let text = train_on(&cfg, &a.out, a.resume, &collop_learn::SingleProcess)?;
    match text {
        Some(text) => crate::output::print(&text),
        None => Ok(()),
    }
}

#[derive(Serialize)]
struct TestRow {
    model: String,
    dataset: String,
    /// The dump steps the means cover, e.g. "steps 1-90 of 95".
    window: String,
    /// `scored`, or `diverged at step N`.
    status: String,
    /// Means of `mae`, `mse`, `l1`, `l2`, `l1_norm`, `l2_norm` over the window
    /// (absent when the rollout diverged).
    #[serde(flatten)]
    mean: Option<collop_fp::FrameErrors>,
    per_step_mae: Vec<f64>,
    warnings: Vec<String>,
}

/// A file-name-safe tag from the last component of a path.
fn plot_tag(p: &std::path::Path) -> String {
    let last = p
        .components()
        .rev()
        .filter_map(|c| c.as_os_str().to_str())
        .find(|c| *c != "f" && *c != "." && *c != "..")
        .unwrap_or("model");
    last.chars().map(|c| if c.is_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

/// Run `collop test`.
pub fn run_test(a: &TestArgs) -> Result<()> {
    let policy = if a.extrapolate { Extrapolation::Allow } else { Extrapolation::Refuse };
    if let Some(p) = &a.plots {
        collop_experiment::pictures::folder(p)?;
    }
    let mut models: Vec<(String, AnyModel)> = Vec::new();
    for dir in &a.runs {
        let m = AnyModel::open(&dir.display().to_string())?;
        if matches!(m, AnyModel::Fields(_)) && a.data.is_empty() {
            bail!("{}: a fields directory records no datasets; pass --data DATASET", dir.display());
        }
        models.push((dir.display().to_string(), m));
    }
    let folders: Vec<PathBuf> = if !a.data.is_empty() {
        a.data.clone()
    } else {
        match &models[0].1 {
            AnyModel::Trained(r) => r.config.data.folders.clone(),
            _ => bail!("pass --data DATASET"),
        }
    };
    let data = Dataset::load_all(&folders)?;
    models.push(("frozen".into(), AnyModel::Frozen));
    if let Some(c) = a.amplitude {
        let model =
            collop_experiment::theory::static_model(&data[0].series.grid, c).context("--amplitude")?;
        models.push((format!("theory C = {c}"), AnyModel::Fields(model)));
    }
    let mut rows = Vec::new();
    let mut profiles: Vec<collop_plot::RadialCurve> = Vec::new();
    for (name, model) in &models {
        let numerics = match &a.substeps {
            Some(s) => crate::model::with_substeps(model.evaluation_numerics(), s)?,
            None => model.evaluation_numerics(),
        };
        for (k, ds) in data.iter().enumerate() {
            let (params, e) = model
                .evaluate_on(ds, &numerics, policy, a.steps, a.plots.is_some())
                .with_context(|| format!("{name} on {}", ds.name))?;
            if k == 0
                && a.plots.is_some()
                && let Some(f) = params.fields().and_then(|f| f.into_iter().next())
                && !matches!(model, AnyModel::Frozen)
            {
                profiles.push(
                    collop_plot::radial_binned(&f, 25)?
                        .with_label(plot_tag(std::path::Path::new(name)))
                        .with_style(collop_plot::CurveStyle::LineMarkers),
                );
            }
            if let (Some(p), Some(frames), Score::Scored { errors, .. }) = (&a.plots, &e.frames, &e.score)
                && matches!(model, AnyModel::Trained(_))
            {
                let tag = format!("{}-{}", plot_tag(std::path::Path::new(name)), plot_tag(&ds.folder));
                let curves = vec![("learned".to_string(), errors.per_step.iter().map(|x| x.mae).collect())];
                collop_experiment::pictures::rollout(p, &tag, &ds.series, &curves, frames)?;
            }
            let warnings = e.warnings.clone();
            let (window, status, mean, per_step_mae) = match &e.score {
                Score::Scored { errors, window } => (
                    window.to_string(),
                    "scored".to_string(),
                    Some(errors.mean),
                    errors.per_step.iter().map(|x| x.mae).collect(),
                ),
                Score::Diverged { step, of } => {
                    (format!("steps 1-{of}"), format!("diverged at step {step}"), None, Vec::new())
                }
            };
            rows.push(TestRow {
                model: name.clone(),
                dataset: ds.name.clone(),
                window,
                status,
                mean,
                per_step_mae,
                warnings,
            });
        }
    }
    if let Some(p) = &a.plots
        && !profiles.is_empty()
    {
        collop_plot::radial_profiles(
            p.join("radial.png"),
            &profiles,
            "Radial profiles (bin means over |v| shells, std bands)",
        )?;
    }
    let mut text = String::new();
    if a.json {
        writeln!(text, "{}", serde_json::to_string(&rows)?)?;
    } else {
        writeln!(
            text,
            "{:<40} {:<40} {:>11} {:>11} {:>11}  window",
            "model", "dataset", "MAE", "l1", "l2_norm"
        )?;
        for r in &rows {
            match &r.mean {
                Some(m) => writeln!(
                    text,
                    "{:<40} {:<40} {:>11.4e} {:>11.4e} {:>11.4e}  {}",
                    short(&r.model),
                    short(&r.dataset),
                    m.mae,
                    m.l1,
                    m.l2_norm,
                    r.window
                )?,
                None => writeln!(
                    text,
                    "{:<40} {:<40} {:>35}  {}",
                    short(&r.model),
                    short(&r.dataset),
                    r.status,
                    r.window
                )?,
            }
            for w in &r.warnings {
                writeln!(text, "  note: {w}")?;
            }
        }
    }
    crate::output::print(&text)
}

fn short(s: &str) -> String {
    if s.chars().count() <= 40 { s.to_string() } else { format!("...{}", &s[s.len() - 37..]) }
}
