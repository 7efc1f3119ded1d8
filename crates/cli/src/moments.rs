//! `collop moments`: the Kramers-Moyal moments of a model's operator
//! (drift, diffusion, higher terms) over the cells a dataset populates,
//! and a kernel model's kernels at chosen velocities.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use collop_experiment::operator_moments::{MomentSettings, analyse};

/// Arguments of `collop moments`.
#[derive(Debug, Args)]
pub struct MomentsArgs {
    /// A run directory of `collop train`, or a fields model.
    pub model: PathBuf,
    /// Datasets: the grid, the dump steps and the cells that count
    /// (populated ones, weighted by their time-averaged histograms).
    #[arg(long, num_args = 1.., required = true)]
    pub data: Vec<PathBuf>,
    /// Output folder (moments.json, summary.csv, moments_slot*.csv/png,
    /// kernels_slot*.png).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Velocity scale of the Kramers-Moyal term sizes, in v_th.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Velocities `v_x,v_y` (v_th) where a kernel model's kernels are
    /// drawn; repeat the flag for more.
    #[arg(long = "cell", value_name = "VX,VY", allow_negative_numbers = true)]
    pub cells: Vec<String>,
    /// Replace an analysis already in the output folder.
    #[arg(long)]
    pub overwrite: bool,
}

fn parse_cell(s: &str) -> Result<[f64; 2]> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if let [x, y] = parts[..]
        && let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>())
    {
        return Ok([x, y]);
    }
    bail!("--cell {s}: give a velocity as two numbers `v_x,v_y` in v_th, e.g. --cell=-2,0")
}

/// Run `collop moments`.
pub fn run(a: &MomentsArgs) -> Result<()> {
    let settings = MomentSettings {
        model: a.model.clone(),
        data: a.data.clone(),
        scale: a.scale,
        cells: a.cells.iter().map(|c| parse_cell(c)).collect::<Result<_>>()?,
    };
    let existing = if a.overwrite { collop_io::Existing::Overwrite } else { collop_io::Existing::Refuse };
    let r = analyse(&settings, &a.out, existing)?;
    let mut text = String::new();
    writeln!(text, "{}; longest jump {} cell(s)", r.model, r.reach)?;
    writeln!(
        text,
        "{:>5} {:>6} {:>9} {:>9} {:>9} {:>9} {:>12} {:>12} {:>12}",
        "slot", "cells", "drift", "diffusion", "third", "fourth", "higher mean", "higher p90", "M_0 share"
    )?;
    let shown: Vec<_> = if r.slots.len() <= 6 {
        r.slots.iter().collect()
    } else {
        let n = r.slots.len();
        [0, n / 4, n / 2, 3 * n / 4, n - 1].iter().map(|&k| &r.slots[k]).collect()
    };
    for s in shown {
        let [a1, a2, a3, a4] = s.term_shares;
        writeln!(
            text,
            "{:>5} {:>6} {a1:>9.4} {a2:>9.4} {a3:>9.4} {a4:>9.4} {:>12.4e} {:>12.4e} {:>12.4e}",
            s.slot, s.cells, s.higher_share[0], s.higher_share[2], s.loss
        )?;
    }
    writeln!(
        text,
        "(shares of the Kramers-Moyal terms on a scale of {} v_th, weighted by the data)",
        a.scale
    )?;
    writeln!(text, "wrote {}", a.out.display())?;
    crate::output::print(&text)
}
