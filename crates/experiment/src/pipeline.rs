//! The whole pipeline of collop on one PIC deck: the PIC run (histograms
//! of tagged sub-populations and their tracks), then the comparison of
//! learned, track, theory and frozen models on it, and its report.
//!
//! [`DEMO_DECK`] is the built-in deck of `collop demo`: a small
//! electromagnetic thermal plasma with few particles per Debye area (strong
//! collisions), three trained and two held-out sub-populations, tracks.

use std::path::{Path, PathBuf};

use collop_learn::Observer;
use collop_pic::{Deck, RunOptions};

use crate::compare::{BuiltinModel, CompareSettings, Comparison, REPORT_FILE, compare};
use crate::error::{ExperimentError, Result};

/// The deck of `collop demo` (TOML).
pub const DEMO_DECK: &str = include_str!("../decks/demo.toml");

/// Where the pipeline writes inside its output folder.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineDirs {
    /// The PIC run.
    pub pic: PathBuf,
    /// The comparison (models, tables, `report.html`).
    pub compare: PathBuf,
}

impl PipelineDirs {
    /// `out/pic` and `out/compare`.
    pub fn under(out: &Path) -> Self {
        Self { pic: out.join("pic"), compare: out.join("compare") }
    }

    /// The report.
    pub fn report(&self) -> PathBuf {
        self.compare.join(REPORT_FILE)
    }
}

/// The comparison settings of the demo on the PIC run `run`: four learned
/// models (free tensor, par/perp, par/perp network, k = 2 kernel) on 0.3 of
/// the reference schedule, tracks at lags 1, 2, 5 and 10 dumps, the
/// sub-populations named `heldout_*` held out, one sub-step per dump.
pub fn demo_settings(run: &Path) -> Result<CompareSettings> {
    let names = crate::compare::subpopulations(run)?;
    let test: Vec<String> = names.iter().filter(|n| n.starts_with("heldout_")).cloned().collect();
    Ok(CompareSettings {
        test,
        models: vec![
            BuiltinModel::TENSOR,
            BuiltinModel::PAR_PERP,
            BuiltinModel::PARPERP_MLP,
            BuiltinModel::KERNEL,
        ],
        epochs_scale: 0.3,
        ..CompareSettings::new(run)
    })
}

/// Run `deck` into `dirs.pic` (resuming an interrupted run there), then the
/// comparison `settings(dirs.pic)` into `dirs.compare` with its report.
/// `pic_observer` sees the PIC progress, `log` the comparison's steps,
/// `observers` every training epoch.
pub fn run_pipeline(
    deck: &Deck,
    dirs: &PipelineDirs,
    settings: impl FnOnce(&Path) -> Result<CompareSettings>,
    pic_observer: &mut (dyn collop_pic::Observer + Send),
    log: &mut dyn FnMut(&str),
    observers: &mut [&mut dyn Observer],
) -> Result<Comparison> {
    deck.validate()?;
    if crate::compare::holds_comparison(&dirs.compare) {
        return Err(ExperimentError::artefact(
            &dirs.compare,
            "already holds a comparison; write the pipeline into another folder",
        ));
    }
    let resume = collop_pic::checkpoint::exists(&dirs.pic);
    let opts = RunOptions { resume, ..RunOptions::default() };
    let summary = collop_pic::run(deck, &dirs.pic, &opts, pic_observer)?;
    if !summary.finished {
        return Err(ExperimentError::Data(format!(
            "the PIC run in {} stopped before its end; run the pipeline again to resume it",
            dirs.pic.display()
        )));
    }
    log(&format!(
        "pic: {} steps, {} dumps, {:.1} s, max energy error {:.2e}",
        summary.steps, summary.dumps, summary.wall_seconds, summary.max_energy_error
    ));
    let settings = settings(&dirs.pic)?;
    compare(&settings, &dirs.compare, log, observers)
}
