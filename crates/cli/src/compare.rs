//! `collop compare`: parse, call [`collop_experiment::compare`], render.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use collop_experiment::compare::{BuiltinModel, CompareSettings, Comparison, TimeRegularisation, compare};

/// Arguments of `collop compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Run directory of `collop pic` (sub-population folders with f/ and tracks.npz).
    pub run: PathBuf,
    /// Output folder (refused while another command writes into it, or
    /// when it holds a comparison, unless `--resume`).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Sub-populations to train on (default: all but the held-out ones; all
    /// but the last by name when neither list is given).
    #[arg(long, num_args = 1..)]
    pub train: Vec<String>,
    /// Held-out sub-populations (default: those not trained on).
    #[arg(long, num_args = 1..)]
    pub test: Vec<String>,
    /// Lags (dumps) of the track models.
    #[arg(long, value_delimiter = ',', default_value = "1,2,5,10")]
    pub lags: Vec<usize>,
    /// Built-in learned models, trained on the reference schedule:
    /// `tensor` (free grid tensor), `par-perp` (linear radial profiles),
    /// `parperp-mlp` (one 2 x 64 network per radial profile), `mlp` (one
    /// 2 x 64 network per field), `kernel` (k = 2 kernels, forward
    /// differences), `kernel-kN` / `kernel-bN` / `kernel-cN` (size N,
    /// forward / backward / centred differences), `kernel-mlp-kN` (a
    /// network giving the kernels); time-dependent: `tensor-tN` / `par-perp-tN` (N >= 2
    /// time nodes; also `kernel-k2-tN`), `tensor-tdump` / `par-perp-tdump` (one operator per
    /// dump step), `parperp-mlp-t` / `mlp-t` (the dump time as a network
    /// input); `none` for only the `--config` models.
    #[arg(long, value_delimiter = ',', default_value = "tensor,par-perp")]
    pub models: Vec<BuiltinModel>,
    /// First-difference time regularisation of the time-dependent linear models.
    #[arg(long, default_value_t = 0.0)]
    pub lambda1: f64,
    /// Second-difference time regularisation of the time-dependent linear models.
    #[arg(long, default_value_t = 0.0)]
    pub lambda2: f64,
    /// Time-resolved track models: window lengths in dumps (one estimate
    /// per window, for every lag), beside the whole-run estimates.
    #[arg(long, value_delimiter = ',')]
    pub windows: Vec<usize>,
    /// Also estimate every track model from overlapping intervals (`-ovl`).
    #[arg(long)]
    pub overlapping: bool,
    /// Training configs, one learned model each beside the `--models` ones;
    /// their data folders are replaced by the training sub-populations.
    #[arg(long)]
    pub config: Vec<PathBuf>,
    /// Multiply the epochs of every training stage (e.g. 0.1 for a quick look).
    #[arg(long, default_value_t = 1.0)]
    pub epochs_scale: f64,
    /// Track bins with fewer intervals are empty.
    #[arg(long, default_value_t = 10)]
    pub min_count: usize,
    /// Reuse the finished models of an earlier comparison in OUT.
    #[arg(long)]
    pub resume: bool,
    /// Sub-steps per dump of every rollout, in training and evaluation
    /// alike (overrides the `--config` files' values). Raise it when the
    /// dump interval is long against the diffusion time of a cell,
    /// `dv^2 / D` (the rollouts warn when a step is unstable).
    #[arg(long, default_value_t = 1)]
    pub substeps: usize,
}

impl CompareArgs {
    /// The library's settings.
    pub fn settings(&self) -> CompareSettings {
        CompareSettings {
            run: self.run.clone(),
            train: self.train.clone(),
            test: self.test.clone(),
            lags: self.lags.clone(),
            models: self.models.clone(),
            configs: self.config.clone(),
            epochs_scale: self.epochs_scale,
            min_count: self.min_count,
            resume: self.resume,
            substeps: self.substeps,
            time_regularisation: TimeRegularisation { lambda1: self.lambda1, lambda2: self.lambda2 },
            windows: self.windows.clone(),
            overlapping: self.overlapping,
        }
    }
}

/// The rollout table of a comparison, one line per model and sub-population.
pub fn render_table(cmp: &Comparison) -> Result<String> {
    let mut text = String::new();
    writeln!(text, "{:<22} {:<9} {:<28} {:<9} {:>11}", "model", "family", "sub-population", "role", "MAE")?;
    for r in &cmp.rows {
        let mae = match &r.result {
            Ok(e) => format!("{:.4e}", e.mae),
            Err(m) if m.starts_with("diverged") => "diverged".into(),
            Err(_) => "failed".into(),
        };
        writeln!(
            text,
            "{:<22} {:<9} {:<28} {:<9} {mae:>11}",
            r.model,
            r.family.name(),
            r.pop,
            r.role.name()
        )?;
    }
    Ok(text)
}

/// Run `collop compare`.
pub fn run(a: &CompareArgs) -> Result<()> {
    let mut progress = crate::train::EpochProgress::default();
    let cmp =
        compare(&a.settings(), &a.out, &mut |line| eprintln!("{}", line.trim_end()), &mut [&mut progress]);
    progress.finish();
    let cmp = cmp?;
    let mut text = render_table(&cmp)?;
    writeln!(
        text,
        "(MAE averaged over every dump step)\nwrote {} (report.html, table.csv, agreement.csv, amplitude.csv, radial_profiles.png, comparison.json)",
        a.out.display()
    )?;
    crate::output::print(&text)?;
    if !cmp.failures.is_empty() {
        bail!(
            "{} step(s) failed (the other results are in {}):\n  {}",
            cmp.failures.len(),
            a.out.display(),
            cmp.failures.join("\n  ")
        );
    }
    Ok(())
}
