//! `collop fields`: the drift and diffusion fields of a trained run under
//! any condition (a dataset, or given PIC parameters), written as a fields
//! model with pictures. A conditioned network's `model.npz` holds the
//! fields of its first condition only; this exports any other.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use collop_experiment::conditioning::{Extrapolation, raw_features};
use collop_experiment::{Conditioner, Dataset, TrainedRun};

/// Arguments of `collop fields`.
#[derive(Debug, Args)]
pub struct FieldsArgs {
    /// Run directory written by `collop train`.
    pub run: PathBuf,
    /// Fields model directory to write (fields.npz, run.json, fields.png, radial.png).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Take the grid, the dump steps and the PIC parameters from this
    /// dataset (its args.yaml; flags override).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Particles per cell (`ppc` conditioner).
    #[arg(long)]
    pub ppc: Option<f64>,
    /// Thermal speed over c (`vth_c` conditioner).
    #[arg(long)]
    pub vth_c: Option<f64>,
    /// Particle shape order (`shape_order` conditioner).
    #[arg(long)]
    pub shape_order: Option<f64>,
    /// Cell size over the Debye length (`dx_over_debye` conditioner).
    #[arg(long)]
    pub dx_over_debye: Option<f64>,
    /// Dump steps of the time slots (time-conditioned networks; default:
    /// the dataset's, or the training window).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Allow conditions outside the training range (reported).
    #[arg(long)]
    pub extrapolate: bool,
}

/// Run `collop fields`.
pub fn run(a: &FieldsArgs) -> Result<()> {
    let run = TrainedRun::load(&a.run)?;
    let ds = a.data.as_deref().map(Dataset::load).transpose()?;
    let given = |c: Conditioner| match c {
        Conditioner::Ppc => a.ppc,
        Conditioner::VthC => a.vth_c,
        Conditioner::ShapeOrder => a.shape_order,
        Conditioner::DxOverDebye => a.dx_over_debye,
        Conditioner::Time => None,
    };
    let features = run.config.model.features();
    let from_data = match &ds {
        Some(d) if !features.is_empty() && features.iter().any(|&c| given(c).is_none()) => {
            Some(raw_features(&run.config, d)?)
        }
        _ => None,
    };
    let mut raw = Vec::with_capacity(features.len());
    for (k, &c) in features.iter().enumerate() {
        match (given(c), &from_data) {
            (Some(v), _) => raw.push(v),
            (None, Some(d)) => raw.push(d[k]),
            (None, None) => bail!(
                "the model is conditioned on `{}`: give --{} VALUE, or --data DATASET whose args.yaml has it",
                c.key(),
                c.key().replace('_', "-")
            ),
        }
    }
    if features.is_empty() && [a.ppc, a.vth_c, a.shape_order, a.dx_over_debye].iter().any(Option::is_some) {
        bail!(
            "{}: the model has no PIC-parameter conditioners; its fields do not depend on them",
            a.run.display()
        );
    }
    let grid = match &ds {
        Some(d) => d.series.grid,
        None => {
            let first = run.config.data.folders.first().context("the run's config names no dataset")?;
            collop_io::read_meta(first)
                .with_context(|| format!("the grid of the training dataset {}", first.display()))?
                .grid
        }
    };
    let steps = a.steps.or(ds.as_ref().map(Dataset::steps)).or(run.time_window()).unwrap_or(1);
    let policy = if a.extrapolate { Extrapolation::Allow } else { Extrapolation::Refuse };
    let model = run.fields_model(grid, &raw, steps, policy)?;
    model.save(&a.out)?;
    collop_experiment::pictures::fields(&a.out, &model.fields[0], "first time slot")?;
    let mut text = String::new();
    writeln!(text, "run       {}", a.run.display())?;
    if !raw.is_empty() {
        let cond: Vec<String> =
            features.iter().zip(&raw).map(|(c, v)| format!("{} = {v}", c.key())).collect();
        writeln!(text, "condition {}", cond.join(", "))?;
    }
    writeln!(text, "fields    {} time slot(s) on the {grid} grid", model.fields.len())?;
    if let collop_experiment::FieldsSource::Learned { extrapolated, .. } = &model.meta.source {
        for e in extrapolated {
            writeln!(text, "note      extrapolated: {e}")?;
        }
    }
    writeln!(text, "wrote     {} (fields.npz, run.json, fields.png, radial.png)", a.out.display())?;
    crate::output::print(&text)
}
