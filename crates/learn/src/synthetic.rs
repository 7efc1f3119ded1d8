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

/// How to make a synthetic dataset from particles.
#[derive(Debug, Clone, Copy)]
pub struct ParticleSpec {
    /// Time between dumps.
    pub dt: f64,
    /// Dumps after the initial frame.
    pub n_dumps: usize,
    /// Number of particles.
    pub particles: usize,
    /// Euler-Maruyama steps per dump.
    pub substeps: usize,
    /// Seed of the initial sampling and of the kicks.
    pub seed: u64,
}

/// Histograms of `spec.particles` test particles drawn from `f0` (a cell by
/// the multinomial weights of `f0`, then uniformly inside it) and moved by
/// the Ito process of `fields` (physical units),
/// `dv = A dt + L dW` with `L L^T = D`, whose density obeys
/// `df/dt = -d_i (A_i f) + 1/2 d_i d_j (D_ij f)`: the simulator's equation.
/// Coefficients are interpolated bilinearly between cell centres (held
/// constant beyond the outer centres); Euler-Maruyama with
/// `spec.substeps` steps per dump; particles leaving the grid are lost, as
/// through the simulator's zero guard cells.
///
/// Unlike [`synthesise`], whose frames are drawn independently of each
/// other, every frame here counts the same particles, so the counting noise
/// is carried from frame to frame as in a PIC run (see [`crate::recovery`]
/// on what independent frames do to a fit). The data follow the continuous
/// process, not the grid scheme: a grid operator fitted to them also
/// absorbs the scheme's discretisation error.
pub fn synthesise_particles(
    fields: &collop_core::FpFields,
    f0: &Array2<f64>,
    spec: &ParticleSpec,
) -> Result<PhaseSpaceSeries, LearnError> {
    use rand::RngExt;
    use rayon::prelude::*;

    let g = fields.grid;
    let (nx, ny) = g.shape();
    if f0.dim() != (nx, ny) {
        return Err(LearnError::Data(format!("initial frame {:?} on a {nx} x {ny} grid", f0.dim())));
    }
    if spec.particles == 0 || spec.substeps == 0 || !(spec.dt.is_finite() && spec.dt > 0.0) {
        return Err(LearnError::Config(format!(
            "particle synthesis: {} particles, {} sub-steps, dt {}: all must be positive",
            spec.particles, spec.substeps, spec.dt
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let counts = multinomial_counts(f0, spec.particles as u64, &mut rng)?;
    let (dvx, dvy) = (g.dvx(), g.dvy());
    let mut start: Vec<[f64; 2]> = Vec::with_capacity(spec.particles);
    for ((i, j), &c) in counts.indexed_iter() {
        for _ in 0..c as usize {
            let (a, b): (f64, f64) = (rng.random(), rng.random());
            start.push([g.vx(i) + (a - 0.5) * dvx, g.vy(j) + (b - 0.5) * dvy]);
        }
    }
    // Bilinear interpolation weights between cell centres, clamped.
    let locate = |v: f64, lo: f64, d: f64, n: usize| -> (usize, f64) {
        let x = ((v - lo) / d - 0.5).clamp(0.0, (n - 1) as f64);
        let k = (x.floor() as usize).min(n.saturating_sub(2));
        (k, x - k as f64)
    };
    let coeffs = |v: [f64; 2]| -> [f64; 5] {
        let (i, wx) = locate(v[0], g.x_range[0], dvx, nx);
        let (j, wy) = locate(v[1], g.y_range[0], dvy, ny);
        let (i1, j1) = ((i + 1).min(nx - 1), (j + 1).min(ny - 1));
        let at = |a: &Array2<f64>| {
            (1.0 - wx) * ((1.0 - wy) * a[[i, j]] + wy * a[[i, j1]])
                + wx * ((1.0 - wy) * a[[i1, j]] + wy * a[[i1, j1]])
        };
        [at(&fields.a_x), at(&fields.a_y), at(&fields.d_xx), at(&fields.d_yy), at(&fields.d_xy)]
    };
    let inside = |v: [f64; 2]| {
        v[0] >= g.x_range[0] && v[0] < g.x_range[1] && v[1] >= g.y_range[0] && v[1] < g.y_range[1]
    };
    let h = spec.dt / spec.substeps as f64;
    let sq = h.sqrt();
    // Particles in chunks, each with its own stream and its own counts:
    // deterministic whatever the threads (counts add exactly).
    const CHUNK: usize = 4096;
    let moved = start
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x9e37_79b9_7f4a_7c15);
            rng.set_stream(c as u64 + 1);
            let normal = rand_distr::StandardNormal;
            let mut counts = Array3::<f64>::zeros((spec.n_dumps, nx, ny));
            for &p in chunk {
                let mut v = p;
                for k in 0..spec.n_dumps {
                    for _ in 0..spec.substeps {
                        let [ax, ay, dxx, dyy, dxy] = coeffs(v);
                        let l11 = dxx.max(0.0).sqrt();
                        let l21 = if l11 > 0.0 { dxy / l11 } else { 0.0 };
                        let l22 = (dyy - l21 * l21).max(0.0).sqrt();
                        let (z1, z2): (f64, f64) = (normal.sample(&mut rng), normal.sample(&mut rng));
                        v = [v[0] + ax * h + sq * l11 * z1, v[1] + ay * h + sq * (l21 * z1 + l22 * z2)];
                        if !inside(v) {
                            break;
                        }
                    }
                    if !inside(v) {
                        break;
                    }
                    let i = (((v[0] - g.x_range[0]) / dvx) as usize).min(nx - 1);
                    let j = (((v[1] - g.y_range[0]) / dvy) as usize).min(ny - 1);
                    counts[[k, i, j]] += 1.0;
                }
            }
            counts
        })
        .reduce(|| Array3::zeros((spec.n_dumps, nx, ny)), |a, b| a + b);
    let mut frames = Array3::zeros((spec.n_dumps + 1, nx, ny));
    frames.index_axis_mut(Axis(0), 0).assign(&counts);
    frames.slice_mut(ndarray::s![1.., .., ..]).assign(&moved);
    let mut series =
        PhaseSpaceSeries::new(g, frames, spec.dt, 0, 0.0).map_err(|e| LearnError::Data(e.to_string()))?;
    series.normalise_to_first().map_err(|e| LearnError::Data(e.to_string()))?;
    Ok(series)
}
