//! `collop train` and `collop test`: learn an operator into a run
//! directory, and score runs by full rollouts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use collop_core::PhaseSpaceSeries;
use collop_fp::metrics::{RolloutErrors, rollout_errors};
use collop_fp::{Operator, Simulator};
use collop_learn::{
    Conditioners, EpochRecord, LearnError, Model, Observer, Split, TrainSettings, TrainState, fp_fields,
    train_conditioned,
};
use ndarray::{ArrayD, IxDyn};
use serde::Serialize;

use crate::conditioning::{CONDITIONING, Conditioning, Loaded};
use crate::config::{ModelFamily, NumericsConfig, TrainConfig};
use crate::run::{self, RunLogger};

/// Arguments of `collop train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Configuration file (TOML).
    pub config: PathBuf,
    /// Run directory to create (or resume).
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
    /// Datasets to roll out (default: those the run was trained on).
    #[arg(long)]
    pub data: Vec<PathBuf>,
    /// Also score the static-shielding theory model with this amplitude.
    #[arg(long)]
    pub amplitude: Option<f64>,
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write error-vs-time and snapshot pictures into this folder.
    #[arg(long)]
    pub plots: Option<PathBuf>,
}

/// Read one dataset folder.
pub fn load_dataset(folder: &Path) -> Result<Loaded> {
    let d = collop_io::read_dataset(folder).with_context(|| format!("reading {}", folder.display()))?;
    Ok(Loaded {
        name: d.path.display().to_string(),
        folder: folder.to_path_buf(),
        series: d.series,
        meta: d.meta,
    })
}

/// Read every dataset of a config; all must share one grid.
pub fn load_data(folders: &[PathBuf]) -> Result<Vec<Loaded>> {
    let mut out: Vec<Loaded> = Vec::new();
    for f in folders {
        let d = load_dataset(f)?;
        if let Some(first) = out.first()
            && !first.series.grid.same_as(&d.series.grid)
        {
            bail!(
                "{}: grid {} differs from {}'s {}",
                f.display(),
                d.series.grid,
                first.name,
                first.series.grid
            );
        }
        out.push(d);
    }
    Ok(out)
}

/// Progress bar observer (on a terminal only).
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

#[derive(Serialize)]
struct RunInfo<'a> {
    version: &'a str,
    seed: u64,
    model: String,
    model_parameters: usize,
    operator_parameters: usize,
    datasets: Vec<&'a str>,
    training_windows_held_out: usize,
}

/// Run `collop train`.
pub fn run_train(a: &TrainArgs) -> Result<()> {
    let cfg = TrainConfig::load(&a.config)?;
    let dir = &a.out;
    let exists = dir.join(run::CHECKPOINT).exists() || dir.join(run::MODEL).exists();
    if exists && !a.resume {
        bail!("{} already holds a run; use --resume to continue it, or another -o", dir.display());
    }
    if a.resume && !dir.join(run::CHECKPOINT).exists() {
        bail!("--resume: {} has no checkpoint.npz to resume from", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let data = load_data(&cfg.data.folders)?;
    let series: Vec<PhaseSpaceSeries> = data.iter().map(|d| d.series.clone()).collect();
    let n_steps = series.iter().map(|s| s.len() - 1).max().unwrap_or(0);
    if n_steps == 0 {
        bail!("the datasets have a single frame each; training needs at least two");
    }
    let (conditioning, conditioners, conditions) = Conditioning::from_training(&cfg, &data, n_steps)?;
    let model = cfg.model(series[0].grid, n_steps, &cfg.numerics, conditioners)?;
    let split = Split::new(&series, cfg.data.validation_fraction, cfg.seed)?;
    let settings = TrainSettings {
        stages: cfg.training.stages.clone(),
        optimiser: cfg.training.optimiser,
        loss: cfg.training.loss(),
        rollout: cfg.numerics.rollout(),
    };
    let mut state = TrainState::new(model.init(), &settings.optimiser, settings.stages.len());
    if a.resume {
        run::load_checkpoint(dir, &mut state)?;
        eprintln!(
            "resuming at stage {}, epoch {} ({} epochs done)",
            state.stage, state.epoch, state.global_epoch
        );
    } else {
        collop_io::write_text(dir.join(run::CONFIG), &toml::to_string(&cfg)?)?;
        let info = RunInfo {
            version: env!("CARGO_PKG_VERSION"),
            seed: cfg.seed,
            model: model.describe(),
            model_parameters: model.nparams(),
            operator_parameters: model.operator().nparams(),
            datasets: data.iter().map(|d| d.name.as_str()).collect(),
            training_windows_held_out: split.len(),
        };
        collop_io::write_text(dir.join(run::RUN_JSON), &serde_json::to_string_pretty(&info)?)?;
        if !cfg.model.conditioners.is_empty() {
            collop_io::write_text(dir.join(CONDITIONING), &serde_json::to_string_pretty(&conditioning)?)?;
        }
    }
    eprintln!("model: {}", model.describe());
    let total: u64 = settings.stages.iter().map(|s| s.epochs as u64).sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} epochs {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_position(state.global_epoch as u64);
    let mut progress = Progress { bar };
    let mut logger =
        RunLogger::new(dir, cfg.training.checkpoint_every, a.resume.then_some(state.global_epoch))?;
    let start = std::time::Instant::now();
    let mut records = Records(Vec::new());
    train_conditioned(
        model.as_ref(),
        &series,
        &conditions,
        &split,
        &settings,
        &mut state,
        &mut [&mut logger, &mut progress, &mut records],
    )?;
    progress.bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let evaluations = records.0.last().map(|r| r.evaluations).unwrap_or(0);
    save_model(dir, model.as_ref(), &state)?;
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots)?;
    if !records.0.is_empty() {
        crate::pictures::loss(&plots, &records.0)?;
    }
    if let Ok(fields) = fp_fields(model.operator().grid(), &best_theta(model.as_ref(), &state)) {
        crate::pictures::fields(&plots, &fields[0], "first time slot")?;
    }

    let mut text = String::new();
    let (best_score, _) = state.best.as_ref().context("training ran no epoch")?;
    writeln!(text, "run       {}", dir.display())?;
    writeln!(text, "model     {}", model.describe())?;
    writeln!(
        text,
        "training  {} epochs, {evaluations} gradient evaluations, {seconds:.1} s",
        state.global_epoch
    )?;
    writeln!(
        text,
        "best      {best_score:.4e} ({} loss)",
        if split.is_empty() { "training" } else { "validation" }
    )?;
    writeln!(text, "test rollouts ({}):", describe_numerics(&cfg))?;
    let phi = state.best.as_ref().map(|(_, p)| p.clone()).unwrap_or_else(|| state.phi.clone());
    let trained = Run {
        theta: best_theta(model.as_ref(), &state),
        phi: Some(phi),
        conditioning: Some(conditioning),
        cfg: cfg.clone(),
    };
    for ds in &data {
        let (eval_model, theta) = run_operator(&trained, ds, &cfg.evaluation)?;
        let sim = Simulator::new(eval_model.operator(), cfg.evaluation.rollout());
        let e = rollout_errors(&sim, &theta, &ds.series)?.0;
        writeln!(text, "  {}: mae {:.4e}  l1 {:.4e}", ds.name, e.mean.mae, e.mean.l1)?;
    }
    crate::output::print(&text)
}

/// Keeps the epoch records of this invocation (for the loss picture).
struct Records(Vec<EpochRecord>);

impl Observer for Records {
    fn on_epoch(&mut self, r: &EpochRecord, _phi: &[f64], _s: &TrainState) -> Result<(), LearnError> {
        self.0.push(r.clone());
        Ok(())
    }
}

fn describe_numerics(cfg: &TrainConfig) -> String {
    let e = &cfg.evaluation;
    format!("{:?} scheme, {:?} edges, clamp f {}, clamp D {}", e.scheme, e.edges, e.clamp_f, e.clamp_d)
}

fn best_theta(model: &dyn Model, state: &TrainState) -> Vec<f64> {
    let phi = state.best.as_ref().map(|(_, p)| p.as_slice()).unwrap_or(&state.phi);
    let mut theta = vec![0.0; model.operator().nparams()];
    model.theta(phi, &mut theta);
    theta
}

/// Write model.npz: final and best parameters, the best operator parameters
/// and, for Fokker-Planck models, the fields in physical units per slot.
fn save_model(dir: &Path, model: &dyn Model, state: &TrainState) -> Result<()> {
    let v = |x: &[f64]| ArrayD::from_shape_vec(IxDyn(&[x.len()]), x.to_vec()).expect("1D");
    let theta = best_theta(model, state);
    let mut named: Vec<(String, ArrayD<f64>)> =
        vec![("phi".into(), v(&state.phi)), ("theta".into(), v(&theta))];
    if let Some((_, p)) = &state.best {
        named.push(("best_phi".into(), v(p)));
    }
    let grid = *model.operator().grid();
    if let Ok(fields) = fp_fields(&grid, &theta) {
        for (k, name) in collop_core::FIELD_NAMES.iter().enumerate() {
            let mut a = ArrayD::zeros(IxDyn(&[fields.len(), grid.nx, grid.ny]));
            for (s, f) in fields.iter().enumerate() {
                a.index_axis_mut(ndarray::Axis(0), s).assign(&f.as_array()[k].clone().into_dyn());
            }
            named.push(((*name).to_string(), a));
        }
    }
    let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
        named.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    collop_io::write_npz(dir.join(run::MODEL), &views)?;
    Ok(())
}

#[derive(Serialize)]
struct TestRow {
    model: String,
    dataset: String,
    /// Time-averaged `mae`, `mse`, `l1`, `l2`, `l1_norm`, `l2_norm`.
    #[serde(flatten)]
    mean: collop_fp::FrameErrors,
    per_step_mae: Vec<f64>,
}

fn row(model: String, dataset: &str, e: &RolloutErrors) -> TestRow {
    TestRow {
        model,
        dataset: dataset.to_string(),
        mean: e.mean,
        per_step_mae: e.per_step.iter().map(|x| x.mae).collect(),
    }
}

/// A trained run: its config, best operator parameters (of condition 0)
/// and model parameters, and its conditioning record.
pub struct Run {
    /// The resolved config.
    pub cfg: TrainConfig,
    /// Best operator parameters (condition 0, the training slots).
    pub theta: Vec<f64>,
    /// Best model parameters, if saved.
    pub phi: Option<Vec<f64>>,
    /// Normalisation of the conditioners, if the model has any.
    pub conditioning: Option<Conditioning>,
}

/// Load a run directory written by `collop train`.
pub fn load_run(dir: &Path) -> Result<Run> {
    let cfg_path = dir.join(run::CONFIG);
    let text = std::fs::read_to_string(&cfg_path)
        .with_context(|| format!("{} is not a run directory", dir.display()))?;
    let cfg: TrainConfig =
        toml::from_str(&text).with_context(|| format!("{}: invalid config", cfg_path.display()))?;
    let arrays = collop_io::read_npz(dir.join(run::MODEL)).with_context(|| {
        format!("{}: no learned model yet (training unfinished? use collop train --resume)", dir.display())
    })?;
    let get = |name: &str| arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a.iter().copied().collect());
    let theta = get("theta").with_context(|| format!("{}: model.npz has no `theta`", dir.display()))?;
    let phi = get("best_phi").or_else(|| get("phi"));
    let conditioning = if cfg.model.conditioners.is_empty() {
        None
    } else {
        let path = dir.join(CONDITIONING);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("{}: the model has conditioners but the run has no {CONDITIONING}", dir.display())
        })?;
        Some(serde_json::from_str(&text).with_context(|| format!("{}: invalid", path.display()))?)
    };
    Ok(Run { cfg, theta, phi, conditioning })
}

/// The model of a trained run on dataset `ds` with `numerics`, and its
/// operator parameters there: the saved ones, checked against the grid;
/// or, for models with conditioners, recomputed from the saved model
/// parameters with the dataset's conditioners under the training
/// normalisation (and one time slot per dump step of the dataset).
pub fn run_operator(run: &Run, ds: &Loaded, numerics: &NumericsConfig) -> Result<(Box<dyn Model>, Vec<f64>)> {
    let (cfg, grid) = (&run.cfg, ds.series.grid);
    if cfg.model.conditioners.is_empty() {
        let theta = &run.theta;
        let per_slot = match cfg.model.kind {
            ModelFamily::KernelTensor | ModelFamily::KernelMlp => {
                2 * cfg.model.kernel_size.pow(2) * grid.len()
            }
            _ => 5 * grid.len(),
        };
        if theta.len() % per_slot != 0 {
            bail!(
                "the run's {} operator parameters do not fit the {} grid of {}",
                theta.len(),
                grid,
                ds.name
            );
        }
        let model = cfg.model(grid, (theta.len() / per_slot).max(2), numerics, Conditioners::none())?;
        if model.operator().nparams() != theta.len() {
            bail!(
                "the run's {} operator parameters do not fit the model on the grid of {}",
                theta.len(),
                ds.name
            );
        }
        return Ok((model, theta.clone()));
    }
    let conditioning =
        run.conditioning.as_ref().context("the run has conditioners but no conditioning record")?;
    let conditioners = conditioning.for_dataset(cfg, ds)?;
    let model = cfg.model(grid, 0, numerics, conditioners)?;
    let phi = run.phi.as_ref().context("the run's model.npz has no model parameters `phi`")?;
    if phi.len() != model.nparams() {
        bail!("the run's {} model parameters do not fit the model on the grid of {}", phi.len(), ds.name);
    }
    let mut theta = vec![0.0; model.operator().nparams()];
    model.theta_for(phi, 0, &mut theta);
    Ok((model, theta))
}

/// Run `collop test`.
pub fn run_test(a: &TestArgs) -> Result<()> {
    let mut rows = Vec::new();
    // Radial profiles of every Fokker-Planck model (first time slot), for
    // the comparison picture.
    let mut profiles: Vec<collop_plot::RadialCurve> = Vec::new();
    let mut add_profile = |label: String, fields: &collop_core::FpFields| -> Result<()> {
        if a.plots.is_some() {
            profiles.push(
                collop_plot::radial_binned(fields, 25)?
                    .with_label(label)
                    .with_style(collop_plot::CurveStyle::LineMarkers),
            );
        }
        Ok(())
    };
    for dir in &a.runs {
        if crate::fields_run::is_fields_run(dir) {
            if a.data.is_empty() {
                bail!("{}: a fields directory records no datasets; pass --data DATASET", dir.display());
            }
            let (fields, _) = crate::fields_run::load_fields_run(dir)?;
            if let Some(f) = fields.first() {
                add_profile(plot_tag(dir), f)?;
            }
            for ds in load_data(&a.data)? {
                let (name, s) = (&ds.name, &ds.series);
                let theta = crate::fields_run::fields_theta(&fields, &s.grid, dir)?;
                let op = collop_fp::FokkerPlanck::with_slots(
                    s.grid,
                    collop_fp::Scheme::Reference(collop_fp::Edges::Guard),
                    fields.len(),
                )?;
                let sim = Simulator::new(&op, collop_fp::RolloutConfig::reference());
                let (e, _) = rollout_errors(&sim, &theta, s)?;
                rows.push(row(dir.display().to_string(), name, &e));
            }
            continue;
        }
        let run = load_run(dir)?;
        let folders = if a.data.is_empty() { run.cfg.data.folders.clone() } else { a.data.clone() };
        for ds in load_data(&folders)? {
            let (name, s) = (&ds.name, &ds.series);
            let (model, theta) = run_operator(&run, &ds, &run.cfg.evaluation)
                .with_context(|| format!("run {}", dir.display()))?;
            if Some(&ds.folder) == folders.first()
                && let Ok(fields) = collop_learn::fp_fields(&s.grid, &theta)
                && let Some(f) = fields.first()
            {
                add_profile(plot_tag(dir), f)?;
            }
            let sim = Simulator::new(model.operator(), run.cfg.evaluation.rollout());
            let (e, out) = rollout_errors(&sim, &theta, s)?;
            if let Some(p) = &a.plots {
                std::fs::create_dir_all(p)?;
                let fop = collop_fp::FokkerPlanck::new(
                    s.grid,
                    collop_fp::Scheme::Reference(collop_fp::Edges::Guard),
                )?;
                let fsim = Simulator::new(&fop, collop_fp::RolloutConfig::reference());
                let (fe, _) = rollout_errors(&fsim, &vec![0.0; fop.nparams()], s)?;
                let tag = format!("{}-{}", plot_tag(dir), plot_tag(Path::new(name)));
                let curves = vec![
                    ("learned".to_string(), e.per_step.iter().map(|x| x.mae).collect()),
                    ("frozen".to_string(), fe.per_step.iter().map(|x| x.mae).collect()),
                ];
                crate::pictures::rollout(p, &tag, s, &curves, &out.frames)?;
            }
            rows.push(row(dir.display().to_string(), name, &e));
        }
    }
    // Baselines on the same datasets.
    let folders: Vec<PathBuf> =
        if a.data.is_empty() { load_run(&a.runs[0])?.cfg.data.folders } else { a.data.clone() };
    for Loaded { name, series: s, .. } in load_data(&folders)? {
        let op = collop_fp::FokkerPlanck::new(s.grid, collop_fp::Scheme::Reference(collop_fp::Edges::Guard))?;
        let sim = Simulator::new(&op, collop_fp::RolloutConfig::reference());
        let (e, _) = rollout_errors(&sim, &vec![0.0; op.nparams()], &s)?;
        rows.push(row("frozen".into(), &name, &e));
        if let Some(c) = a.amplitude {
            let theta = collop_theory::static_shielding_fields(&s.grid, c)?.to_grid_units();
            let (e, _) = rollout_errors(&sim, &theta, &s)?;
            rows.push(row(format!("theory C = {c}"), &name, &e));
        }
    }
    if let Some(p) = &a.plots
        && !profiles.is_empty()
    {
        if let Some(c) = a.amplitude {
            // The static-shielding profiles, sampled finely, dashed.
            let speed: Vec<f64> = (0..=140).map(|k| 0.05 * k as f64).collect();
            let prof: Vec<_> =
                speed.iter().map(|&v| collop_theory::static_shielding_profiles(c, v)).collect();
            profiles.push(collop_plot::RadialCurve::new(
                format!("static shielding, C = {c}"),
                collop_plot::CurveStyle::Dashed,
                speed,
                prof.iter().map(|r| r.a_par).collect(),
                prof.iter().map(|r| r.d_par).collect(),
                prof.iter().map(|r| r.d_perp).collect(),
            ));
        }
        std::fs::create_dir_all(p)?;
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
        writeln!(text, "{:<40} {:<40} {:>11} {:>11} {:>11}", "model", "dataset", "MAE", "l1", "l2_norm")?;
        for r in &rows {
            writeln!(
                text,
                "{:<40} {:<40} {:>11.4e} {:>11.4e} {:>11.4e}",
                short(&r.model),
                short(&r.dataset),
                r.mean.mae,
                r.mean.l1,
                r.mean.l2_norm
            )?;
        }
    }
    crate::output::print(&text)
}

/// A file-name-safe tag from the last components of a path.
fn plot_tag(p: &Path) -> String {
    let parts: Vec<String> = p
        .components()
        .rev()
        .filter_map(|c| c.as_os_str().to_str().map(String::from))
        .filter(|c| c != "f" && c != "." && c != "..")
        .take(1)
        .collect();
    parts
        .join("-")
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .collect()
}

fn short(s: &str) -> String {
    if s.chars().count() <= 40 { s.to_string() } else { format!("...{}", &s[s.len() - 37..]) }
}
