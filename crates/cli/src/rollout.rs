//! `collop rollout`: roll a model over a dataset and score it.

use std::path::PathBuf;

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use clap::Args;
use collop_experiment::conditioning::Extrapolation;
use collop_experiment::{AnyModel, Dataset, Score};
use collop_fp::RolloutErrors;
use serde::Serialize;

use crate::model::NumericsArgs;

/// Arguments of `collop rollout`.
#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// Dataset folder.
    #[arg(long)]
    pub data: PathBuf,
    /// Model to roll out: `frozen`, `theory` (with `--amplitude`), the run
    /// directory of a trained model, or a fields directory (`collop theory`, `collop tracks`).
    #[arg(long)]
    pub model: String,
    /// Amplitude C (v_th^3 omega_p) of the theory model.
    #[arg(long)]
    pub amplitude: Option<f64>,
    #[command(flatten)]
    pub numerics: NumericsArgs,
    /// Average the errors over the first N dump steps (default: all).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Evaluate a network with conditioners outside its training range.
    #[arg(long)]
    pub extrapolate: bool,
    /// One JSON object on stdout: time-averaged metrics and `per_step` arrays.
    #[arg(long)]
    pub json: bool,
}

/// Metrics per step as arrays, for JSON.
#[derive(Serialize)]
struct PerStep {
    mae: Vec<f64>,
    mse: Vec<f64>,
    l1: Vec<f64>,
    l2: Vec<f64>,
    l1_norm: Vec<f64>,
    l2_norm: Vec<f64>,
}

impl PerStep {
    fn of(e: &RolloutErrors) -> Self {
        let col = |f: fn(&collop_fp::FrameErrors) -> f64| e.per_step.iter().map(f).collect();
        Self {
            mae: col(|x| x.mae),
            mse: col(|x| x.mse),
            l1: col(|x| x.l1),
            l2: col(|x| x.l2),
            l1_norm: col(|x| x.l1_norm),
            l2_norm: col(|x| x.l2_norm),
        }
    }
}

#[derive(Serialize)]
struct Report {
    dataset: String,
    model: String,
    operator: String,
    steps: usize,
    /// The dump steps the means cover.
    window: String,
    substeps: Vec<usize>,
    /// Means over `window` of `mae`, `mse`, `l1`, `l2`, `l1_norm`, `l2_norm`.
    #[serde(flatten)]
    mean: collop_fp::FrameErrors,
    per_step: PerStep,
    warnings: Vec<String>,
}

/// Run `collop rollout`.
pub fn run(a: &RolloutArgs) -> Result<()> {
    let mut text = String::new();
    let result = report(a, &mut text);
    crate::output::print(&text)?;
    result
}

fn report(a: &RolloutArgs, text: &mut String) -> Result<()> {
    let ds = Dataset::load(&a.data)?;
    let numerics = a.numerics.numerics()?;
    let (model, name) = match (a.model.as_str(), a.amplitude) {
        ("theory", Some(c)) => (
            AnyModel::Fields(
                collop_experiment::theory::static_model(&ds.series.grid, c).context("--amplitude")?,
            ),
            format!("theory (static shielding, C = {c})"),
        ),
        ("theory", None) => {
            bail!(
                "--model theory needs --amplitude C (in v_th^3 omega_p; about 0.034 for the reference data)"
            )
        }
        (_, Some(_)) => bail!("--amplitude applies to --model theory only"),
        (spec, None) => {
            let m = AnyModel::open(spec)?;
            let name = match &m {
                AnyModel::Frozen => "frozen".to_string(),
                AnyModel::Fields(f) => format!("fields {spec} ({})", f.meta.source.name()),
                AnyModel::Trained(_) => format!("trained run {spec}"),
            };
            (m, name)
        }
    };
    let policy = if a.extrapolate { Extrapolation::Allow } else { Extrapolation::Refuse };
    let (_, e) = model.evaluate_on(&ds, &numerics, policy, a.steps, false)?;
    let warnings = e.warnings.clone();
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let (errors, window) = match &e.score {
        Score::Scored { errors, window } => (errors, window),
        Score::Diverged { step, of } => bail!(
            "the rollout of {name} diverged at dump step {step} of {of}: the time step is unstable for this \
             operator; use more sub-steps (--substeps N) or --substeps auto"
        ),
    };
    let m = errors.mean;
    let report = Report {
        dataset: ds.name.clone(),
        model: name,
        operator: e.operator.clone(),
        steps: errors.per_step.len(),
        window: window.to_string(),
        substeps: e.substeps.clone(),
        mean: m,
        per_step: PerStep::of(errors),
        warnings,
    };
    if a.json {
        writeln!(text, "{}", serde_json::to_string(&report)?)?;
    } else {
        writeln!(text, "dataset   {}", report.dataset)?;
        writeln!(text, "model     {}", report.model)?;
        writeln!(text, "operator  {}", report.operator)?;
        writeln!(text, "steps     {} (sub-steps per dump: {})", report.steps, summarise(&report.substeps))?;
        writeln!(text, "errors averaged over {} of the rollout from the first frame:", report.window)?;
        writeln!(
            text,
            "  mae {:.4e}   mse {:.4e}   l1 {:.4e}   l2 {:.4e}   l1_norm {:.4e}   l2_norm {:.4e}",
            m.mae, m.mse, m.l1, m.l2, m.l1_norm, m.l2_norm
        )?;
    }
    Ok(())
}

fn summarise(v: &[usize]) -> String {
    match (v.iter().min(), v.iter().max()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}..{b}"),
        _ => "none".into(),
    }
}
