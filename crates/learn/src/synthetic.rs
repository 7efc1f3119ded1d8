//! Synthetic datasets from a known operator, with the sampling noise of a
//! finite number of particles: the ground truth for recovery tests, the
//! demonstration and convergence studies.

use collop_core::PhaseSpaceSeries;
use collop_fp::{Operator, RolloutConfig, Simulator};
use ndarray::{Array2, Array3, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};

use crate::LearnError;

/// Counts of `n` particles distributed over the cells with probabilities
/// proportional to `f` (a multinomial draw, by successive conditional
/// binomials), as a PIC histogram of `n` particles would hold.
pub fn multinomial_counts(f: &Array2<f64>, n: u64, rng: &mut ChaCha8Rng) -> Result<Array2<f64>, LearnError> {
    let total: f64 = f.iter().map(|v| v.max(0.0)).sum();
    if !(total > 0.0 && total.is_finite()) {
        return Err(LearnError::Data(format!(
            "cannot sample particles from a distribution summing to {total}"
        )));
    }
    let mut out = Array2::zeros(f.dim());
    let (mut left, mut mass) = (n, total);
    for (o, &p) in out.iter_mut().zip(f.iter()) {
        if left == 0 || mass <= 0.0 {
            break;
        }
        let p = p.max(0.0);
        let q = (p / mass).clamp(0.0, 1.0);
        let k = Binomial::new(left, q)
            .map_err(|e| LearnError::Data(format!("binomial({left}, {q}): {e}")))?
            .sample(rng);
        *o = k as f64;
        left -= k;
        mass -= p;
    }
    Ok(out)
}

/// How to make a synthetic dataset.
#[derive(Debug, Clone, Copy)]
pub struct SyntheticSpec {
    /// Rollout settings of the true operator.
    pub rollout: RolloutConfig,
    /// Time between dumps.
    pub dt: f64,
    /// Dumps after the initial frame.
    pub n_dumps: usize,
    /// Particles per frame (multinomial noise), or exact frames.
    pub particles: Option<u64>,
    /// Seed of the noise.
    pub seed: u64,
}

/// Roll `theta` of `op` forward from `f0` as `spec` says and return the
/// frames (exact, or as counts of `particles` particles per frame),
/// normalised so that the first frame sums to one.
pub fn synthesise(
    op: &dyn Operator,
    theta: &[f64],
    f0: &Array2<f64>,
    spec: &SyntheticSpec,
) -> Result<PhaseSpaceSeries, LearnError> {
    let SyntheticSpec { rollout: cfg, dt, n_dumps, particles, seed } = *spec;
    let sim = Simulator::new(op, cfg);
    let batch = f0.clone().insert_axis(Axis(0));
    let out = sim.rollout(theta, dt, batch.view(), 0, n_dumps)?;
    let mut frames: Array3<f64> = out.frames.index_axis(Axis(1), 0).to_owned();
    if let Some(n) = particles {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for mut frame in frames.outer_iter_mut() {
            let counts = multinomial_counts(&frame.to_owned(), n, &mut rng)?;
            frame.assign(&counts);
        }
    }
    let mut series =
        PhaseSpaceSeries::new(*op.grid(), frames, dt, 0, 0.0).map_err(|e| LearnError::Data(e.to_string()))?;
    series.normalise_to_first().map_err(|e| LearnError::Data(e.to_string()))?;
    Ok(series)
}
