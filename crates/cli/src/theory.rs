//! `collop theory`: collision coefficients of a PIC plasma from its
//! parameters (static or dynamic shielding), written as a fixed-fields model.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use collop_experiment::theory::{PicInput, TheoryKind, write_theory_model};

/// Which shielding the coefficients use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Static (Debye) shielding: the Bessel-function shapes times the amplitude C.
    Static,
    /// Dynamic (Lenard-Balescu) shielding with the Maxwellian dielectric function.
    Dynamic,
}

/// Arguments of `collop theory`.
#[derive(Debug, Args)]
pub struct TheoryArgs {
    /// A PIC deck (TOML) or a dataset folder (its args.yaml gives the PIC parameters).
    pub input: PathBuf,
    /// Model directory to write (fields.npz, run.json): refused while
    /// another command writes into it, or when it holds a model, unless
    /// `--overwrite`.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Replace a model already in the output directory.
    #[arg(long)]
    pub overwrite: bool,
    /// Shielding.
    #[arg(long, value_enum, default_value_t = KindArg::Dynamic)]
    pub kind: KindArg,
    /// Take the velocity grid from this dataset (default: the input dataset,
    /// or the deck's phase-space window).
    #[arg(long)]
    pub grid_from: Option<PathBuf>,
    /// Macro-particles per cell of the mobile species (overrides the input).
    #[arg(long)]
    pub ppc: Option<f64>,
    /// Macro-particles per Debye area n lambda_D^2 (overrides --ppc).
    #[arg(long)]
    pub particles_per_debye_area: Option<f64>,
    /// Cell size along x in Debye lengths.
    #[arg(long)]
    pub dx_over_debye: Option<f64>,
    /// Cell size along y in Debye lengths (default: as along x).
    #[arg(long)]
    pub dy_over_debye: Option<f64>,
    /// B-spline order of the particle shape, 1 (linear) to 4.
    #[arg(long)]
    pub shape_order: Option<usize>,
    /// Thermal speed over c.
    #[arg(long)]
    pub vth_c: Option<f64>,
}

/// Run `collop theory`.
pub fn run(a: &TheoryArgs) -> Result<()> {
    let input = PicInput {
        input: a.input.clone(),
        grid_from: a.grid_from.clone(),
        ppc: a.ppc,
        particles_per_debye_area: a.particles_per_debye_area,
        dx_over_debye: a.dx_over_debye,
        dy_over_debye: a.dy_over_debye,
        shape_order: a.shape_order,
        vth_c: a.vth_c,
    };
    let start = std::time::Instant::now();
    let kind = match a.kind {
        KindArg::Static => TheoryKind::Static,
        KindArg::Dynamic => TheoryKind::Dynamic,
    };
    let (model, mut text) = write_theory_model(&input, kind, &a.out, crate::output::existing(a.overwrite))?;
    writeln!(
        text,
        "wrote {} ({}, {} grid, {:.2} s)",
        a.out.display(),
        kind.name(),
        model.grid(),
        start.elapsed().as_secs_f64()
    )?;
    crate::output::print(&text)
}
