//! Numerics options shared by the commands that roll operators forward,
//! parsed into the library's [`collop_fp::Numerics`].

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use collop_fp::{Edges, Numerics, Scheme, StabilityPolicy};

/// Discretisation of the Fokker-Planck operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemeArg {
    /// The reference finite differences (comparable with the authors' code).
    Reference,
    /// Finite volumes, density conserved to round-off, automatic sub-steps.
    Conservative,
}

/// Edge treatment of the reference scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EdgesArg {
    /// One zero guard cell (the reference's evaluation setting).
    Guard,
    /// One-sided differences (the reference's training setting).
    OneSided,
}

/// Numerical options shared by the commands that roll operators forward.
#[derive(Debug, Clone, Args)]
pub struct NumericsArgs {
    /// Discretisation.
    #[arg(long, value_enum, default_value_t = SchemeArg::Reference)]
    pub scheme: SchemeArg,
    /// Edges of the reference scheme.
    #[arg(long, value_enum, default_value_t = EdgesArg::Guard)]
    pub edges: EdgesArg,
    /// Explicit sub-steps per dump: a number, or `auto` for the fewest that
    /// are stable (default: 1 for the reference scheme, auto for the
    /// conservative one).
    #[arg(long)]
    pub substeps: Option<String>,
    /// Do not clamp f >= 0 after each step (the reference clamps).
    #[arg(long)]
    pub no_clamp_f: bool,
    /// Clamp D_xx, D_yy >= 0 before use.
    #[arg(long)]
    pub clamp_d: bool,
}

/// Parse `--substeps`: a positive count or `auto`, applied to `base`.
pub fn with_substeps(base: Numerics, substeps: &str) -> Result<Numerics> {
    if substeps == "auto" {
        return Ok(base.with_auto_substeps());
    }
    let n: usize = substeps
        .parse()
        .with_context(|| format!("--substeps {substeps}: expected a positive integer or `auto`"))?;
    base.with_substeps(n).with_context(|| format!("--substeps {substeps}"))
}

impl NumericsArgs {
    /// The numerics: fixed steps warn when unstable (as the reference,
    /// which never checks), except in the conservative scheme where they are
    /// refused; `auto` picks stable sub-steps.
    pub fn numerics(&self) -> Result<Numerics> {
        let base = match (self.scheme, self.edges) {
            (SchemeArg::Conservative, _) => Numerics::conservative(),
            (SchemeArg::Reference, e) => Numerics {
                scheme: Scheme::Reference(if e == EdgesArg::Guard { Edges::Guard } else { Edges::OneSided }),
                stability: StabilityPolicy::Warn,
                ..Numerics::evaluation()
            },
        };
        let base = Numerics { clamp_f: !self.no_clamp_f, clamp_d: self.clamp_d, ..base };
        match self.substeps.as_deref() {
            Some(s) => with_substeps(base, s),
            None => Ok(base),
        }
    }
}
