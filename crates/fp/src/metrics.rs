//! Rollout error metrics, as defined by the reference evaluation.

use ndarray::ArrayView2;
use serde::Serialize;

/// Errors between a predicted and a true frame (`df = pred - true`):
/// `mae = mean |df|`, `mse = mean df^2`, `l1 = sum |df|`, `l2 = ||df||_2`,
/// `l1_norm = l1 / sum f_true`, `l2_norm = l2 / ||f_true||_2`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct FrameErrors {
    /// Mean absolute error.
    pub mae: f64,
    /// Mean squared error.
    pub mse: f64,
    /// Sum of absolute errors.
    pub l1: f64,
    /// Euclidean norm of the error.
    pub l2: f64,
    /// `l1` relative to the true density.
    pub l1_norm: f64,
    /// `l2` relative to the norm of the truth.
    pub l2_norm: f64,
}

impl FrameErrors {
    /// Errors of `pred` against `truth` (same shape).
    pub fn between(pred: ArrayView2<'_, f64>, truth: ArrayView2<'_, f64>) -> Self {
        assert_eq!(pred.dim(), truth.dim(), "frames of different shapes");
        let n = pred.len() as f64;
        let (mut l1, mut l2sq, mut sum_t, mut norm_t) = (0.0, 0.0, 0.0, 0.0);
        for (&p, &t) in pred.iter().zip(truth.iter()) {
            let d = p - t;
            l1 += d.abs();
            l2sq += d * d;
            sum_t += t;
            norm_t += t * t;
        }
        let l2 = l2sq.sqrt();
        Self { mae: l1 / n, mse: l2sq / n, l1, l2, l1_norm: l1 / sum_t, l2_norm: l2 / norm_t.sqrt() }
    }

    /// Element-wise mean of several frame errors.
    pub fn mean(items: &[FrameErrors]) -> Self {
        let k = items.len() as f64;
        let mut m = FrameErrors::default();
        for e in items {
            m.mae += e.mae / k;
            m.mse += e.mse / k;
            m.l1 += e.l1 / k;
            m.l2 += e.l2 / k;
            m.l1_norm += e.l1_norm / k;
            m.l2_norm += e.l2_norm / k;
        }
        m
    }
}

/// Errors of every step of a rollout and their time average.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RolloutErrors {
    /// Mean over steps (the reference's rollout metric).
    pub mean: FrameErrors,
    /// One entry per rollout step (the initial frame is not counted).
    pub per_step: Vec<FrameErrors>,
}

impl RolloutErrors {
    /// From per-step errors.
    pub fn from_steps(per_step: Vec<FrameErrors>) -> Self {
        Self { mean: FrameErrors::mean(&per_step), per_step }
    }
}

/// Roll `theta` forward from the first frame of `series` over all its
/// frames (one rollout step per dump) and score every step against the
/// series: the reference's evaluation of a model on a dataset.
pub fn rollout_errors(
    sim: &crate::Simulator<'_>,
    theta: &[f64],
    series: &collop_core::PhaseSpaceSeries,
) -> Result<(RolloutErrors, crate::Rollout), crate::FpError> {
    let n_steps = series.len() - 1;
    let f0 = series.frames.slice(ndarray::s![0..1, .., ..]);
    let out = sim.rollout(theta, series.dt, f0, 0, n_steps)?;
    let per_step = (1..=n_steps)
        .map(|k| FrameErrors::between(out.frames.slice(ndarray::s![k, 0, .., ..]), series.frame(k)))
        .collect();
    Ok((RolloutErrors::from_steps(per_step), out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn metrics_by_hand() {
        let t = array![[1.0, 2.0], [3.0, 4.0]];
        let p = array![[1.5, 2.0], [2.0, 4.0]];
        let e = FrameErrors::between(p.view(), t.view());
        assert!((e.mae - 1.5 / 4.0).abs() < 1e-15);
        assert!((e.mse - 1.25 / 4.0).abs() < 1e-15);
        assert!((e.l1 - 1.5).abs() < 1e-15);
        assert!((e.l2 - 1.25f64.sqrt()).abs() < 1e-15);
        assert!((e.l1_norm - 0.15).abs() < 1e-15);
        assert!((e.l2_norm - 1.25f64.sqrt() / 30f64.sqrt()).abs() < 1e-15);
    }
}
