//! `collop merge`: independent realisations of one deck merged into one
//! run directory.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// Arguments of `collop merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// PIC run directories of one deck with distinct seeds (`collop pic
    /// --seed S` or `--seed-from-array`), each finished.
    #[arg(required = true, num_args = 2..)]
    pub runs: Vec<PathBuf>,
    /// The merged directory (laid out like a PIC run: sub-population
    /// datasets with the summed histograms, tracks, ensemble.json).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Replace a merged ensemble already in the output directory.
    #[arg(long)]
    pub overwrite: bool,
}

/// Run `collop merge`.
pub fn run(a: &MergeArgs) -> Result<()> {
    let record = collop_pic::ensemble::merge(&a.runs, &a.out, a.overwrite)?;
    let seeds: Vec<String> = record.realisations.iter().map(|r| r.seed.to_string()).collect();
    let mut text = format!(
        "ensemble  {} ({} realisations, seeds {})\n",
        a.out.display(),
        record.realisations.len(),
        seeds.join(", ")
    );
    for p in &record.sub_populations {
        text += &format!(
            "{:<20} {} dumps, {} particles{}\n",
            p.name,
            p.dumps,
            p.particles.iter().sum::<u64>(),
            if p.tracks > 0 { format!(", {} tracks", p.tracks) } else { String::new() }
        );
    }
    crate::output::print(&text)
}
