//! `collop demo`: the main job on built-in defaults, needing no input files.
//!
//! By default the real pipeline ([`collop_experiment::pipeline`]): a small
//! electromagnetic PIC run from the deck built into the binary, four learned
//! models, track estimates, static and dynamic theory, every model rolled
//! out on every sub-population, and the report `report.html`.
//!
//! With `--synthetic`, the synthetic demonstration of
//! [`collop_experiment::synthetic_demo`] (no PIC, a few seconds).

use std::path::PathBuf;

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use clap::Args;

/// Arguments of `collop demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder of the pipeline: the PIC run (`pic/`), the models and
    /// the report (`compare/report.html`). An interrupted PIC run there is
    /// resumed.
    #[arg(short, long, default_value = "collop-demo")]
    pub out: PathBuf,
    /// Multiply the epochs of the learned models' schedule (the demo uses
    /// 0.3 of the reference schedule).
    #[arg(long)]
    pub epochs_scale: Option<f64>,
    /// The synthetic demonstration instead (no PIC: an Ornstein-Uhlenbeck
    /// dataset and noisy static-shielding data, a few seconds).
    #[arg(long)]
    pub synthetic: bool,
    /// Synthetic demonstration: keep its dataset in this folder (default: a
    /// temporary folder, removed afterwards).
    #[arg(long, requires = "synthetic")]
    pub keep_data: Option<PathBuf>,
    /// Synthetic demonstration: collision frequency nu of the operator (omega_p).
    #[arg(long, default_value_t = 0.01, requires = "synthetic")]
    pub nu: f64,
    /// Synthetic demonstration: number of dumps after the first.
    #[arg(long, default_value_t = 100, requires = "synthetic")]
    pub steps: usize,
    /// Synthetic demonstration: epochs of the first learning stage (0 skips it).
    #[arg(long, default_value_t = 600, requires = "synthetic")]
    pub learn_epochs: usize,
}

/// The pipeline on the built-in deck.
fn pipeline(a: &DemoArgs) -> Result<()> {
    use collop_experiment::pipeline::{DEMO_DECK, PipelineDirs, demo_settings, run_pipeline};
    let deck = collop_pic::Deck::from_toml(DEMO_DECK).context("the built-in deck")?;
    let dirs = PipelineDirs::under(&a.out);
    if collop_experiment::compare::holds_comparison(&dirs.compare) {
        bail!(
            "{} already holds a finished demo (report {}); remove it, or give another folder with -o",
            a.out.display(),
            dirs.report().display()
        );
    }
    if let Some(s) = a.epochs_scale
        && !(s.is_finite() && s > 0.0)
    {
        bail!("--epochs-scale {s}: must be a positive number");
    }
    let start = std::time::Instant::now();
    eprintln!("demo: PIC run of the built-in electromagnetic deck into {}", dirs.pic.display());
    let mut console = crate::pic::Console::default();
    let mut progress = crate::train::EpochProgress::default();
    let scale = a.epochs_scale;
    let cmp = run_pipeline(
        &deck,
        &dirs,
        |run| {
            let s = demo_settings(run)?;
            Ok(collop_experiment::compare::CompareSettings {
                epochs_scale: scale.unwrap_or(s.epochs_scale),
                ..s
            })
        },
        &mut console,
        &mut |line| console_line(line),
        &mut [&mut progress],
    );
    console.finish();
    progress.finish();
    let cmp = cmp?;
    let mut text = crate::compare::render_table(&cmp)?;
    writeln!(text, "(MAE averaged over every dump step)")?;
    writeln!(text, "report    {}", dirs.report().display())?;
    writeln!(text, "time      {:.0} s", start.elapsed().as_secs_f64())?;
    crate::output::print(&text)?;
    if !cmp.failures.is_empty() {
        bail!(
            "{} step(s) failed (the other results are in the report):\n  {}",
            cmp.failures.len(),
            cmp.failures.join("\n  ")
        );
    }
    Ok(())
}

fn console_line(line: &str) {
    for l in line.trim_end().lines() {
        eprintln!("{l}");
    }
}

/// Run `collop demo`.
pub fn run(a: &DemoArgs) -> Result<()> {
    if !a.synthetic {
        return pipeline(a);
    }
    let settings = collop_experiment::synthetic_demo::SyntheticDemo {
        keep_data: a.keep_data.clone(),
        nu: a.nu,
        steps: a.steps,
        learn_epochs: a.learn_epochs,
    };
    let (text, warnings) = collop_experiment::synthetic_demo::run_synthetic(&settings)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    crate::output::print(&text)
}
