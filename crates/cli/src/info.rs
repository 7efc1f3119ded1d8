//! `collop info`: what a dataset holds.

use std::path::PathBuf;

use std::fmt::Write as _;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;

/// Arguments of `collop info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Dataset folder (holding args.yaml and NNNNNN.npy frames, or its parent with f/).
    pub dataset: PathBuf,
    /// One JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    path: String,
    frames: usize,
    first_dump: usize,
    dt: f64,
    t_start: f64,
    grid: &'a collop_core::VelocityGrid,
    particles_first_frame: f64,
    dumps: Vec<usize>,
    times: Vec<f64>,
    moments: Vec<collop_core::Moments>,
}

/// Run `collop info`.
pub fn run(a: &InfoArgs) -> Result<()> {
    let mut text = String::new();
    let result = report(a, &mut text);
    crate::output::print(&text)?;
    result
}

fn report(a: &InfoArgs, text: &mut String) -> Result<()> {
    let data =
        collop_io::read_dataset(&a.dataset).with_context(|| format!("reading {}", a.dataset.display()))?;
    let s = &data.series;
    let report = Report {
        path: data.path.display().to_string(),
        frames: s.len(),
        first_dump: s.first_dump,
        dt: s.dt,
        t_start: s.t_start,
        grid: &s.grid,
        particles_first_frame: data.norm,
        dumps: (0..s.len()).map(|k| s.first_dump + k).collect(),
        times: s.times(),
        moments: s.moments(),
    };
    if a.json {
        writeln!(text, "{}", serde_json::to_string(&report)?)?;
        return Ok(());
    }
    writeln!(text, "dataset   {}", report.path)?;
    writeln!(text, "frames    {} (dumps {}..={})", s.len(), s.first_dump, s.first_dump + s.len() - 1)?;
    writeln!(text, "times     {:.6} .. {:.6} (dt = {} / omega_p)", s.time(0), s.time(s.len() - 1), s.dt)?;
    writeln!(text, "grid      {}", s.grid)?;
    writeln!(text, "norm      {} (sum of the first frame; frames are divided by it)", data.norm)?;
    writeln!(text)?;
    writeln!(
        text,
        "{:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "dump", "t", "density", "<v_x>", "<v_y>", "T_x", "T_y"
    )?;
    for (k, m) in report.moments.iter().enumerate() {
        writeln!(
            text,
            "{:>6} {:>10.4} {:>10.6} {:>10.5} {:>10.5} {:>10.5} {:>10.5}",
            report.dumps[k], report.times[k], m.density, m.mean_vx, m.mean_vy, m.temp_x, m.temp_y
        )?;
    }
    Ok(())
}
