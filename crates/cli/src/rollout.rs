//! `collop rollout`: roll a model over a dataset and score it.

use std::path::PathBuf;

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use clap::Args;
use collop_fp::metrics::{RolloutErrors, rollout_errors};
use collop_fp::{Operator, Simulator};
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
    substeps: Vec<usize>,
    /// Time-averaged `mae`, `mse`, `l1`, `l2`, `l1_norm`, `l2_norm`.
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
    let data = collop_io::read_dataset(&a.data).with_context(|| format!("reading {}", a.data.display()))?;
    let s = &data.series;
    if s.len() < 2 {
        bail!("{}: a rollout needs at least two frames, the dataset has {}", data.path.display(), s.len());
    }
    let fp_holder;
    let run_holder;
    let (op, theta, model): (&dyn Operator, Vec<f64>, String) = match (a.model.as_str(), a.amplitude) {
        ("frozen", None) => {
            fp_holder = a.numerics.operator(s.grid)?;
            (&fp_holder, vec![0.0; fp_holder.nparams()], "frozen".to_string())
        }
        ("frozen", Some(_)) => bail!("--amplitude applies to --model theory only"),
        ("theory", Some(c)) if c.is_finite() => {
            fp_holder = a.numerics.operator(s.grid)?;
            let fields = collop_theory::static_shielding_fields(&s.grid, c)?;
            (&fp_holder, fields.to_grid_units(), format!("theory (static shielding, C = {c})"))
        }
        ("theory", Some(c)) => bail!("--amplitude {c}: must be a finite number"),
        ("theory", None) => {
            bail!(
                "--model theory needs --amplitude C (in v_th^3 omega_p; about 0.034 for the reference data)"
            )
        }
        (run, amplitude) => {
            if amplitude.is_some() {
                bail!("--amplitude applies to --model theory only");
            }
            let dir = std::path::Path::new(run);
            if !dir.is_dir() {
                bail!(
                    "--model {run}: not `frozen`, `theory`, a run directory written by `collop train`, or \
                     a fields directory written by `collop theory` or `collop tracks`"
                );
            }
            if crate::fields_run::is_fields_run(dir) {
                let (fields, meta) = crate::fields_run::load_fields_run(dir)?;
                let theta = crate::fields_run::fields_theta(&fields, &s.grid, dir)?;
                fp_holder = collop_fp::FokkerPlanck::with_slots(s.grid, a.numerics.scheme(), fields.len())?
                    .with_diffusion_clamp(a.numerics.clamp_d);
                let source = meta.get("source").and_then(|v| v.as_str()).unwrap_or("fields").to_string();
                (&fp_holder, theta, format!("fields {run} ({source})"))
            } else {
                let trained = crate::train::load_run(dir)?;
                let ds = crate::conditioning::Loaded {
                    name: data.path.display().to_string(),
                    folder: a.data.clone(),
                    series: s.clone(),
                    meta: data.meta.clone(),
                };
                let (model, theta) = crate::train::run_operator(&trained, &ds, &a.numerics.config())?;
                run_holder = model;
                (run_holder.operator(), theta, format!("trained run {run}"))
            }
        }
    };
    let sim = Simulator::new(op, a.numerics.rollout_config()?);
    let (errors, out) = rollout_errors(&sim, &theta, s)?;
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    let m = errors.mean;
    let report = Report {
        dataset: data.path.display().to_string(),
        model,
        operator: op.describe(),
        steps: errors.per_step.len(),
        substeps: out.substeps.clone(),
        mean: m,
        per_step: PerStep::of(&errors),
        warnings: out.warnings.clone(),
    };
    if a.json {
        writeln!(text, "{}", serde_json::to_string(&report)?)?;
    } else {
        writeln!(text, "dataset   {}", report.dataset)?;
        writeln!(text, "model     {}", report.model)?;
        writeln!(text, "operator  {}", report.operator)?;
        writeln!(text, "steps     {} (sub-steps per dump: {})", report.steps, summarise(&report.substeps))?;
        writeln!(text, "time-averaged errors over the rollout from the first frame:")?;
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
