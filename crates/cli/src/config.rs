//! `collop config`: the schema of training configs (a complete example
//! for a model family, every key with its default and meaning), and a
//! config file checked and shown with every default filled in.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use collop_experiment::config::{MODEL_KINDS, TrainConfig, example};

/// Arguments of `collop config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// A training config to check and show resolved (every default filled in).
    pub file: Option<PathBuf>,
    /// Print a complete example config for this model family (fp-tensor,
    /// fp-par-perp, kernel-tensor, fp-mlp, parperp-mlp, kernel-mlp).
    #[arg(long, value_name = "KIND")]
    pub example: Option<String>,
}

/// Run `collop config`.
pub fn run(a: &ConfigArgs) -> Result<()> {
    match (&a.file, &a.example) {
        (None, Some(kind)) => crate::output::print(&example(kind)?),
        (Some(file), None) => {
            let cfg = TrainConfig::load(file)?;
            crate::output::print(&format!(
                "# {} resolved: every key, defaults filled in\n{}",
                file.display(),
                cfg.to_toml()?
            ))
        }
        _ => bail!("give a config file to check, or --example KIND for one of {}", MODEL_KINDS.join(", ")),
    }
}
