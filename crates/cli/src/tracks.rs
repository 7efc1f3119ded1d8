//! `collop tracks`: drift and diffusion estimated from particle tracks
//! (the baseline of Carvalho et al., arXiv 2601.10885 and 2601.13377),
//! written as a fixed-fields model that rolls out like a learned one.
//!
//! The estimate itself, its files and units are those of
//! [`collop_experiment::tracks`]: streamed track files, the dataset's grid
//! and units, empty bins at zero, `fields.npz` + `run.json`, `stderr.npz`,
//! `count.npz`, `radial.csv`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use collop_experiment::tracks::{TrackSettings, estimate_into};

/// Arguments of `collop tracks`.
#[derive(Debug, Clone, Args)]
pub struct TracksArgs {
    /// Track files (`tracks.npz` of `collop pic`: t, vx, vy, v_th_c), one
    /// or more, e.g. several sub-populations of one run.
    #[arg(required = true)]
    pub tracks: Vec<PathBuf>,
    /// Model directory to write (fields.npz, run.json, stderr.npz, count.npz,
    /// radial.csv): refused while another command writes into it, or when
    /// it holds a model, unless `--overwrite`.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Replace a model already in the output directory.
    #[arg(long)]
    pub overwrite: bool,
    /// The histogram dataset whose grid, units and dump times the estimate uses.
    #[arg(long)]
    pub grid_from: PathBuf,
    /// Lag in dumps between the two velocities of an interval.
    #[arg(long, default_value_t = 1)]
    pub lag: usize,
    /// Start an interval at every dump (more, but correlated, samples).
    #[arg(long)]
    pub overlapping: bool,
    /// Diffusion from the covariance `<dv dv> - <dv><dv>` instead of `<dv dv>`.
    #[arg(long)]
    pub covariance: bool,
    /// Bins with fewer intervals are empty (zero coefficients, marked in count.npz).
    #[arg(long, default_value_t = 10)]
    pub min_count: usize,
    /// Time-resolved estimates: one per window of this many dumps.
    #[arg(long)]
    pub window: Option<usize>,
}

impl TracksArgs {
    /// The estimator settings.
    pub fn settings(&self) -> TrackSettings {
        TrackSettings {
            tracks: self.tracks.clone(),
            grid_from: self.grid_from.clone(),
            lag: self.lag,
            overlapping: self.overlapping,
            covariance: self.covariance,
            min_count: self.min_count,
            window: self.window,
        }
    }
}

/// Run `collop tracks`.
pub fn run(a: &TracksArgs) -> Result<()> {
    let model = estimate_into(&a.settings(), &a.out, crate::output::existing(a.overwrite))?;
    crate::output::print(&format!("{}wrote      {}\n", model.text, a.out.display()))
}
