//! `collop pic`: run the particle-in-cell code from a TOML deck.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use collop_pic::ensemble::{SeedChoice, choose_seed};
use collop_pic::{Derived, Observer, Progress, RunOptions};

/// Arguments of `collop pic`.
#[derive(Debug, Args)]
pub struct PicArgs {
    /// The deck (TOML; see crates/pic/decks for examples).
    pub deck: PathBuf,
    /// Run directory (datasets, tracks, energy history, checkpoints):
    /// refused while another command writes into it, or when it holds a
    /// run, unless `--resume` or `--overwrite`.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Continue an interrupted run from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Replace a run already in the run directory (its files are removed
    /// once the deck and the datasets have been checked).
    #[arg(long)]
    pub overwrite: bool,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// The seed of this realisation (replaces the deck's `seed`; recorded
    /// in deck.toml and run.json).
    #[arg(long, conflicts_with = "seed_from_array")]
    pub seed: Option<u64>,
    /// Seed = the deck's `seed` + $SLURM_ARRAY_TASK_ID (one realisation per
    /// task of a Slurm job array; refused when the variable is not set).
    #[arg(long)]
    pub seed_from_array: bool,
}

/// Progress bar and derived quantities on the terminal.
#[derive(Default)]
pub struct Console {
    bar: Option<indicatif::ProgressBar>,
}

impl Console {
    /// Remove the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Console {
    fn started(&mut self, derived: &Derived, _start_step: u64) {
        eprintln!("{derived}");
    }

    fn progress(&mut self, p: &Progress) {
        let bar = self.bar.get_or_insert_with(|| {
            let bar = indicatif::ProgressBar::new(p.n_steps);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:30}] {pos}/{len} steps {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        });
        {
            bar.set_position(p.step);
            bar.set_message(format!(
                "{:.3e} particle-steps/s, energy error {:.2e}, {} dumps",
                p.particle_steps_per_second, p.energy_error, p.dumps
            ));
        }
    }

    fn warning(&mut self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("warning: {message}")),
            None => eprintln!("warning: {message}"),
        }
    }
}

/// Run `collop pic`.
pub fn run(a: &PicArgs) -> Result<()> {
    let deck = collop_pic::Deck::from_file(&a.deck)
        .with_context(|| format!("reading the deck {}", a.deck.display()))?;
    let choice = match (a.seed, a.seed_from_array) {
        (Some(s), _) => SeedChoice::Given(s),
        (None, true) => SeedChoice::ArrayTask,
        (None, false) => SeedChoice::Deck,
    };
    let (deck, seed_source) = choose_seed(&deck, choice, |k| std::env::var(k).ok())?;
    let opts = RunOptions {
        threads: a.threads,
        resume: a.resume,
        overwrite: a.overwrite,
        seed_source,
        ..RunOptions::default()
    };
    let mut console = Console::default();
    let summary = collop_pic::run(&deck, &a.out, &opts, &mut console);
    console.finish();
    let summary = summary?;
    let text = format!(
        "run       {} (seed {})\nsteps     {} ({}), {} dumps\nspeed     {:.1} ns per particle-step ({} threads, {:.1} s)\nenergy    max error {:.2e}, heating rate {:.2e} / omega_p\n",
        a.out.display(),
        summary.seed,
        summary.steps,
        if summary.finished { "finished" } else { "interrupted" },
        summary.dumps,
        1e9 * summary.wall_seconds * summary.threads as f64 / summary.particle_steps.max(1) as f64,
        summary.threads,
        summary.wall_seconds,
        summary.max_energy_error,
        summary.heating_rate
    );
    crate::output::print(&text)
}
