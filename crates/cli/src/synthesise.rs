//! `collop synthesise`: a model's rollout from a dataset's first frame,
//! drawn as histograms of a finite number of particles, written as a
//! dataset like the original (the noise floor of any analysis of it).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use collop_experiment::synthetic_like::{SynthesisSettings, synthesise_like};

/// Arguments of `collop synthesise`.
#[derive(Debug, Args)]
pub struct SynthesiseArgs {
    /// A run directory of `collop train`, or a fields model (`collop theory`, `collop tracks`).
    pub model: PathBuf,
    /// The dataset to imitate: its first frame, grid, dumps and args.yaml.
    #[arg(long)]
    pub like: PathBuf,
    /// The new dataset's folder (refused if it holds a dataset).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Macro-particles per frame: the counting noise of the histograms.
    #[arg(long)]
    pub particles: u64,
    /// Seed of the particle draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Run `collop synthesise`.
pub fn run(a: &SynthesiseArgs) -> Result<()> {
    let s = SynthesisSettings {
        model: a.model.clone(),
        like: a.like.clone(),
        particles: a.particles,
        seed: a.seed,
    };
    let n = synthesise_like(&s, &a.out)?;
    crate::output::print(&format!(
        "wrote {} frames of {} particles each to {}\n",
        n,
        a.particles,
        a.out.display()
    ))
}
