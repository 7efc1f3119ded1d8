//! How much the data say about the operator at each time.
//!
//! A sub-population of test particles relaxes toward the shape of the
//! background it lives in: once its histogram is proportional to the
//! background's, any operator whose drift and diffusion are in
//! fluctuation-dissipation balance with that background leaves it
//! unchanged, so the data no longer fix the operator's magnitude. Late in a
//! relaxing run the training sub-populations carry less and less of that
//! information, and what remains competes with the particles' random walk
//! between cells.
//!
//! For every sub-population other than the background this module records,
//! frame by frame,
//!
//! - `distance`: the L1 distance per unit mass between its histogram and
//!   the background's scaled to the same mass, `sum_j |f_j / m - g_j / M|`
//!   (2 for disjoint supports, 0 at the background's shape); its decrease
//!   per dump is the systematic relaxation the operator must reproduce;
//! - `change`: the L1 change per unit mass from one dump to the next,
//!   `sum_j |f_j(t + dt) - f_j(t)| / m`, relaxation and random walk
//!   together;
//! - `counting_noise`: the scale of the sampling noise of one histogram of
//!   `N` particles (the effective sample size of `args.yaml`), the expected
//!   L1 distance per unit mass of such a histogram from its mean,
//!   `sqrt(2 / pi) sum_j sqrt(N p_j (1 - p_j)) / N` with `p_j` the last
//!   frame's normalised histogram (the mean absolute deviation of a
//!   multinomial count of mean `N p_j`, Gaussian limit).
//!
//! Written as `relaxation_signal.csv`.

use std::fmt::Write as _;
use std::path::Path;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::Pop;
use crate::error::Result;
use crate::report::Role;

/// The relaxation signal of one sub-population (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelaxationSignal {
    /// Sub-population.
    pub pop: String,
    /// Trained on or held out.
    pub role: Role,
    /// Time of every frame, `1/omega_p`.
    pub times: Vec<f64>,
    /// L1 distance per unit mass from the background's shape, per frame.
    pub distance: Vec<f64>,
    /// L1 change per unit mass to the next frame, per dump step.
    pub change: Vec<f64>,
    /// Counting-noise scale of one histogram, per unit mass; `None` when
    /// the dataset records no sample size.
    pub counting_noise: Option<f64>,
}

/// L1 distance between `a / sum a` and `b / sum b`; `None` for an empty histogram.
fn shape_distance(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Option<f64> {
    let (ma, mb) = (a.sum(), b.sum());
    if ma <= 0.0 || mb <= 0.0 {
        return None;
    }
    Some(a.iter().zip(b.iter()).map(|(x, y)| (x / ma - y / mb).abs()).sum())
}

/// Expected L1 distance per unit mass of a histogram of `n` particles
/// drawn from the shape of `f` from that shape (Gaussian limit of the
/// cells' counts); `None` for an empty `f`.
fn counting_noise(f: ArrayView2<'_, f64>, n: f64) -> Option<f64> {
    let m = f.sum();
    let sd = |x: &f64| (n * (x / m) * (1.0 - x / m)).max(0.0).sqrt();
    (m > 0.0).then(|| (2.0 / std::f64::consts::PI).sqrt() * f.iter().map(sd).sum::<f64>() / n)
}

/// The signal of every sub-population of `pops` against the background
/// among them; empty when none is the whole background.
pub(super) fn relaxation_signal(pops: &[Pop]) -> Vec<RelaxationSignal> {
    let Some(bg) = pops.iter().find(|p| p.background) else { return Vec::new() };
    let mut out = Vec::new();
    for p in pops.iter().filter(|p| !p.background) {
        let s = &p.ds.series;
        let frames = s.len().min(bg.ds.series.len());
        let mass = |k: usize| s.frame(k).sum();
        let distance = (0..frames)
            .map(|k| shape_distance(s.frame(k), bg.ds.series.frame(k)).unwrap_or(f64::NAN))
            .collect();
        let change = (0..frames.saturating_sub(1))
            .map(|k| {
                let m = mass(k);
                let d: f64 = s.frame(k + 1).iter().zip(s.frame(k).iter()).map(|(x, y)| (x - y).abs()).sum();
                if m > 0.0 { d / m } else { f64::NAN }
            })
            .collect();
        let n =
            p.ds.meta
                .pic_parameters(&p.ds.folder.join("args.yaml"))
                .ok()
                .and_then(|q| q.effective_sample_size.or(q.particles.map(|n| n as f64)))
                .filter(|n| *n > 0.0);
        let counting_noise = n.and_then(|n| counting_noise(s.frame(frames - 1), n));
        out.push(RelaxationSignal {
            pop: p.name.clone(),
            role: p.role,
            times: (0..frames).map(|k| s.time(k)).collect(),
            distance,
            change,
            counting_noise,
        });
    }
    out
}

/// `relaxation_signal.csv`: one row per sub-population and frame.
pub(super) fn write_table(signal: &[RelaxationSignal], out: &Path) -> Result<()> {
    let mut s = String::from(
        "subpopulation,role,frame,time,distance_from_background_shape,change_to_next_dump,counting_noise\n",
    );
    for r in signal {
        let noise = r.counting_noise.map(|x| format!("{x:e}")).unwrap_or_default();
        for (k, (t, d)) in r.times.iter().zip(&r.distance).enumerate() {
            let c = r.change.get(k).map(|x| format!("{x:e}")).unwrap_or_default();
            writeln!(s, "{},{},{k},{t},{d:e},{c},{noise}", r.pop, r.role.name())?;
        }
    }
    collop_io::write_text(out.join("relaxation_signal.csv"), &s)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// The distance is between shapes: a histogram against a multiple of
    /// itself is 0, against a disjoint one 2, and halfway between them 1.
    #[test]
    fn distance_of_shapes() {
        let a = array![[1.0, 0.0], [0.0, 0.0]];
        let b = array![[0.0, 0.0], [0.0, 3.0]];
        assert_eq!(shape_distance(a.view(), (&a * 7.0).view()), Some(0.0));
        assert_eq!(shape_distance(a.view(), b.view()), Some(2.0));
        let half = array![[0.5, 0.0], [0.0, 0.5]];
        assert!((shape_distance(a.view(), half.view()).unwrap() - 1.0).abs() < 1e-15);
        assert_eq!(shape_distance(a.view(), (&a * 0.0).view()), None);
    }

    /// The counting-noise scale against histograms actually drawn: 200
    /// histograms of 20,000 particles over 4 x 5 cells of unequal weight.
    /// The mean L1 distance of each from its shape estimates the formula's
    /// value with a relative standard error near 0.2 / sqrt(200) (the
    /// distance is a sum of 20 nearly independent absolute deviations);
    /// 3 % allows for that and for the Gaussian limit's error at counts of
    /// a few hundred (a fraction of a per cent).
    #[test]
    fn counting_noise_of_drawn_histograms() {
        use rand::{RngExt, SeedableRng};
        let f = ndarray::Array2::from_shape_fn((4, 5), |(i, j)| 1.0 + (i * 5 + j) as f64);
        let n = 20_000usize;
        let expected = counting_noise(f.view(), n as f64).unwrap();
        let total = f.sum();
        let cumulative: Vec<f64> = f
            .iter()
            .scan(0.0, |acc, x| {
                *acc += x / total;
                Some(*acc)
            })
            .collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let draws = 200;
        let mut mean = 0.0;
        for _ in 0..draws {
            let mut h = ndarray::Array2::<f64>::zeros((4, 5));
            for _ in 0..n {
                let u: f64 = rng.random();
                let k = cumulative.iter().position(|&c| u < c).unwrap_or(19);
                h[(k / 5, k % 5)] += 1.0;
            }
            mean += shape_distance(h.view(), f.view()).unwrap() / draws as f64;
        }
        assert!((mean / expected - 1.0).abs() < 0.03, "drawn {mean:.5}, formula {expected:.5}");
    }
}
