//! `collop fields`: the drift and diffusion fields of a trained run under
//! any condition (a dataset, or given PIC parameters), written as a fields
//! model with pictures. A conditioned network's `model.npz` holds the
//! fields of its first condition only; this exports any other.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use collop_experiment::conditioning::Extrapolation;
use collop_experiment::{Dataset, FieldsSource, TrainedRun};

/// Arguments of `collop fields`.
#[derive(Debug, Args)]
pub struct FieldsArgs {
    /// Run directory written by `collop train`.
    pub run: PathBuf,
    /// Fields model directory to write (fields.npz, run.json, fields.png,
    /// radial.png): refused while another command writes into it, or when
    /// it holds a model, unless `--overwrite`.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Replace a model already in the output directory.
    #[arg(long)]
    pub overwrite: bool,
    /// Take the grid, the dump steps and the PIC parameters from this
    /// dataset (its args.yaml; flags override).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Particles per cell (`ppc` conditioner).
    #[arg(long)]
    pub ppc: Option<u64>,
    /// Thermal speed over c (`vth_c` conditioner).
    #[arg(long)]
    pub vth_c: Option<f64>,
    /// Particle shape order (`shape_order` conditioner).
    #[arg(long)]
    pub shape_order: Option<usize>,
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
    let given = collop_io::PicParameters {
        ppc: a.ppc,
        vth_c: a.vth_c,
        shape_order: a.shape_order,
        dx_over_debye: a.dx_over_debye,
        ..Default::default()
    };
    let policy = if a.extrapolate { Extrapolation::Allow } else { Extrapolation::Refuse };
    let model = run.export_fields(
        ds.as_ref(),
        &given,
        a.steps,
        policy,
        &a.out,
        crate::output::existing(a.overwrite),
    )?;
    let mut text = String::new();
    writeln!(text, "run       {}", a.run.display())?;
    if let FieldsSource::Learned { condition, extrapolated, .. } = &model.meta.source {
        if !condition.is_empty() {
            let cond: Vec<String> = condition.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            writeln!(text, "condition {}", cond.join(", "))?;
        }
        writeln!(text, "fields    {} time slot(s) on the {} grid", model.fields.len(), model.grid())?;
        for e in extrapolated {
            writeln!(text, "note      extrapolated: {e}")?;
        }
    }
    writeln!(text, "wrote     {} (fields.npz, run.json, fields.png, radial.png)", a.out.display())?;
    crate::output::print(&text)
}
