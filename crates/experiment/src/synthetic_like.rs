//! Synthetic data shaped like a dataset (`collop synthesise`): a model
//! (theory, tracks, a trained Fokker-Planck operator, anything collop rolls
//! out) rolled out from the dataset's first frame over its dumps, each
//! frame drawn as the histogram of a finite number of particles
//! (multinomial counts, `collop_learn::synthetic::multinomial_counts`).
//!
//! The data have a known operator and the dataset's grid, times, PIC
//! parameters and counting noise: trained on, they give the noise floor of
//! any analysis of the real data. A kernel learned from Fokker-Planck data
//! shows the higher Kramers-Moyal terms that noise and discretisation alone
//! produce (`collop moments`), which the same kernel learned from PIC data
//! must exceed before the data can be said to ask for them.
//!
//! The folder is a dataset in the reference layout; its `args.yaml` keeps
//! the original's keys and adds `synthetic_model`, `synthetic_particles`
//! and `synthetic_seed`.

use std::path::{Path, PathBuf};

use collop_io::{DatasetWriter, WriteMode};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::conditioning::Extrapolation;
use crate::dataset::Dataset;
use crate::error::{ExperimentError, Result, bail};
use crate::evaluate::{AnyModel, EvalOptions, Score, evaluate};

/// The most particles per frame: beyond it the counts are the frames to
/// round-off and the draw would only cost time.
pub const MAX_PARTICLES: u64 = 1 << 40;

/// What to synthesise.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthesisSettings {
    /// A trained run or a fields model.
    pub model: PathBuf,
    /// The dataset to imitate: first frame, grid, dumps, `args.yaml`.
    pub like: PathBuf,
    /// Particles per frame (the counting noise of a PIC histogram of that
    /// many macro-particles).
    pub particles: u64,
    /// Seed of the draws.
    pub seed: u64,
}

/// Write the synthetic dataset of `s` into the folder `out` (new: a folder
/// holding a dataset is refused; one writer at a time). Returns the number
/// of frames written.
pub fn synthesise_like(s: &SynthesisSettings, out: &Path) -> Result<usize> {
    if s.particles == 0 || s.particles > MAX_PARTICLES {
        bail!(
            "--particles {}: give the number of macro-particles of the histogram, between 1 and 2^40",
            s.particles
        );
    }
    let model = AnyModel::open(&s.model.to_string_lossy())?;
    let ds = Dataset::load(&s.like)?;
    let (params, _) = model.params_for(&ds, Extrapolation::Refuse)?;
    let numerics = model.evaluation_numerics();
    let _owner = collop_io::OutputDir::lock(out)?;
    let eval = evaluate(
        &params,
        &ds,
        &numerics,
        EvalOptions { keep_frames: true, fitted_substeps: model.fitted_substeps(), ..Default::default() },
    )?;
    if let Score::Diverged { step, of } = eval.score {
        bail!(
            "the model's rollout diverges at dump step {step} of {of} on {}: nothing to synthesise; \
             take more sub-steps or another model",
            ds.name
        );
    }
    let frames = eval.frames.expect("kept");
    let meta = ds
        .meta
        .clone()
        .with_extra("synthetic_model", model.describe())
        .with_extra("synthetic_particles", s.particles as f64)
        .with_extra("synthetic_seed", s.seed as f64);
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let mut writer = DatasetWriter::create(out, &meta, WriteMode::New)?;
    for k in 0..frames.dim().0 {
        let f = frames.slice(ndarray::s![k, 0, .., ..]).mapv(|v| v.max(0.0));
        let counts = collop_learn::synthetic::multinomial_counts(&f, s.particles, &mut rng)
            .map_err(|e| ExperimentError::Data(e.to_string()))?;
        writer.write_frame(ds.meta.i_start + k, counts.view())?;
    }
    writer.finish()?;
    Ok(frames.dim().0)
}
