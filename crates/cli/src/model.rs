//! The operator and parameters a rollout uses, built from command-line choices.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use collop_core::VelocityGrid;
use collop_fp::{Edges, FokkerPlanck, RolloutConfig, Scheme, StabilityPolicy, Substeps};

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

impl NumericsArgs {
    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        match (self.scheme, self.edges) {
            (SchemeArg::Reference, EdgesArg::Guard) => Scheme::Reference(Edges::Guard),
            (SchemeArg::Reference, EdgesArg::OneSided) => Scheme::Reference(Edges::OneSided),
            (SchemeArg::Conservative, _) => Scheme::Conservative,
        }
    }

    /// Rollout settings: fixed steps warn when unstable (as the reference,
    /// which never checks), except in the conservative scheme where they are
    /// refused; `auto` picks stable sub-steps.
    pub fn rollout_config(&self) -> Result<RolloutConfig> {
        let auto = RolloutConfig::automatic();
        let substeps = match self.substeps.as_deref() {
            Some("auto") => auto.substeps,
            Some(s) => {
                let n: usize = s
                    .parse()
                    .with_context(|| format!("--substeps {s}: expected a positive integer or `auto`"))?;
                if n == 0 {
                    bail!("--substeps 0: at least one step per dump is needed");
                }
                Substeps::Fixed(n)
            }
            None if self.scheme == SchemeArg::Conservative => auto.substeps,
            None => Substeps::Fixed(1),
        };
        let stability = if self.scheme == SchemeArg::Conservative {
            StabilityPolicy::Error
        } else {
            StabilityPolicy::Warn
        };
        Ok(RolloutConfig { substeps, clamp_f: !self.no_clamp_f, stability })
    }

    /// The same settings as a config section (for trained runs).
    pub fn config(&self) -> crate::config::NumericsConfig {
        crate::config::NumericsConfig {
            scheme: match self.scheme {
                SchemeArg::Reference => crate::config::SchemeName::Reference,
                SchemeArg::Conservative => crate::config::SchemeName::Conservative,
            },
            edges: match self.edges {
                EdgesArg::Guard => Edges::Guard,
                EdgesArg::OneSided => Edges::OneSided,
            },
            substeps: match self.substeps.as_deref() {
                Some("auto") => 0,
                Some(s) => s.parse().unwrap_or(1),
                None if self.scheme == SchemeArg::Conservative => 0,
                None => 1,
            },
            clamp_f: !self.no_clamp_f,
            clamp_d: self.clamp_d,
        }
    }

    /// The Fokker-Planck operator on `grid`.
    pub fn operator(&self, grid: VelocityGrid) -> Result<FokkerPlanck> {
        Ok(FokkerPlanck::new(grid, self.scheme())?.with_diffusion_clamp(self.clamp_d))
    }
}
