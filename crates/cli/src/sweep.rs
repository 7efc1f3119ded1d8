//! `collop sweep`: parse, call [`collop_experiment::sweep`], render.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use collop_experiment::compare::{BuiltinModel, TimeRegularisation};
use collop_experiment::sweep::{Sweep, SweepSettings, sweep};

/// Arguments of `collop sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Run directory of `collop pic`.
    pub run: PathBuf,
    /// Output folder (refused while another command writes into it, or
    /// when it holds a sweep, unless `--resume`).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Held-out sub-populations, scored.
    #[arg(long, num_args = 1.., required = true)]
    pub test: Vec<String>,
    /// Sub-populations the training subsets are drawn from (default: all but the held-out ones
    /// and a whole-background dataset).
    #[arg(long, num_args = 1..)]
    pub pool: Vec<String>,
    /// Learned models, by the names of `collop compare --models`
    /// (e.g. `tensor,tensor-t2,tensor-t25,tensor-tdump,parperp-mlp-t`).
    #[arg(long, value_delimiter = ',', required = true)]
    pub models: Vec<BuiltinModel>,
    /// First-difference time-regularisation weights, paired with `--lambda2`
    /// (a single value is repeated to the other list's length).
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub lambda1: Vec<f64>,
    /// Second-difference time-regularisation weights, paired with `--lambda1`.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub lambda2: Vec<f64>,
    /// Sizes of the training subsets (default: the whole pool).
    #[arg(long, value_delimiter = ',')]
    pub train_counts: Vec<usize>,
    /// Random subsets per size.
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// Trainings of every variant, with training seeds 0 .. N (the
    /// validation windows and the networks' initial weights): the spread
    /// of the optimisation on the same data.
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
    /// Multiply the epochs of every training stage (e.g. 0.1 for a quick look).
    #[arg(long, default_value_t = 1.0)]
    pub epochs_scale: f64,
    /// Sub-steps per dump, in training and evaluation alike.
    #[arg(long, default_value_t = 1)]
    pub substeps: usize,
    /// Reuse the finished variants of an earlier sweep in OUT.
    #[arg(long)]
    pub resume: bool,
}

impl SweepArgs {
    /// The library's settings.
    pub fn settings(&self) -> Result<SweepSettings> {
        let (l1, l2) = (&self.lambda1, &self.lambda2);
        let n = l1.len().max(l2.len());
        let pick = |v: &[f64], k: usize| if v.len() == 1 { v[0] } else { v[k] };
        if !(l1.len() == n || l1.len() == 1) || !(l2.len() == n || l2.len() == 1) {
            bail!(
                "--lambda1 has {} values and --lambda2 {}: give lists of one length, or one value to repeat",
                l1.len(),
                l2.len()
            );
        }
        Ok(SweepSettings {
            run: self.run.clone(),
            test: self.test.clone(),
            pool: self.pool.clone(),
            models: self.models.clone(),
            regularisations: (0..n)
                .map(|k| TimeRegularisation { lambda1: pick(l1, k), lambda2: pick(l2, k) })
                .collect(),
            train_counts: self.train_counts.clone(),
            seeds: self.seeds,
            repeats: self.repeats,
            epochs_scale: self.epochs_scale,
            substeps: self.substeps,
            resume: self.resume,
        })
    }
}

/// The summary of a sweep, one line per group of seeds.
pub fn render(s: &Sweep) -> Result<String> {
    let mut text = String::new();
    writeln!(
        text,
        "{:<18} {:>9} {:>9} {:>9} {:>7} {:<24} {:>6} {:>11} {:>11} {:>11}",
        "model", "params", "lambda1", "lambda2", "n_train", "held out", "runs", "MAE mean", "min", "max"
    )?;
    for r in s.summary() {
        let reg = r.regularisation;
        let (m, lo, hi) = match r.mae {
            Some([m, lo, hi, _]) => (format!("{m:.4e}"), format!("{lo:.4e}"), format!("{hi:.4e}")),
            None => ("-".into(), "-".into(), "-".into()),
        };
        writeln!(
            text,
            "{:<18} {:>9} {:>9} {:>9} {:>7} {:<24} {:>6} {m:>11} {lo:>11} {hi:>11}",
            r.model,
            r.n_params,
            format!("{:e}", reg.lambda1),
            format!("{:e}", reg.lambda2),
            r.n_train,
            r.pop,
            format!("{}/{}", r.scored, r.scored + r.unscored)
        )?;
    }
    Ok(text)
}

/// Run `collop sweep`.
pub fn run(a: &SweepArgs) -> Result<()> {
    let settings = a.settings()?;
    let mut progress = crate::train::EpochProgress::default();
    let s = sweep(&settings, &a.out, &mut |line| eprintln!("{}", line.trim_end()), &mut [&mut progress]);
    progress.finish();
    let s = s?;
    let mut text = render(&s)?;
    writeln!(text, "wrote {} (sweep.json, sweep.csv, summary.csv, figures)", a.out.display())?;
    crate::output::print(&text)?;
    if !s.failures.is_empty() {
        bail!(
            "{} variant(s) failed (the other results are in {}):\n  {}",
            s.failures.len(),
            a.out.display(),
            s.failures.join("\n  ")
        );
    }
    Ok(())
}
