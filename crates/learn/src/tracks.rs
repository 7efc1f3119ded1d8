//! Drift and diffusion estimated from particle tracks: the baseline the
//! learned operators are compared with (Carvalho et al., arXiv 2601.10885).
//!
//! For every interval `[t_k, t_k + tau]` of a track, binned by the velocity
//! `v(t_k)` at its start on the histogram grid, in the Kramers-Moyal
//! convention of the simulator:
//!
//! ```text
//! A_i  = < dv_i > / tau
//! D_ij = < dv_i dv_j > / tau        (or the covariance form < dv_i dv_j > - < dv_i >< dv_j >, over tau)
//! ```
//!
//! with `tau = N_dump dt`. Intervals are non-overlapping by default
//! (independent samples, honest standard errors) or overlapping (more, but
//! correlated, samples). Bins with fewer than `min_count` intervals are empty.
//! The standard error of each estimate is `std(sample) / sqrt(n)`.
//!
//! **Lag bias.** The moments converge to `A` and `D` only as `tau -> 0`.
//! For the Ornstein-Uhlenbeck process `A = -nu v`, `D = 2 nu v_th^2`, the
//! exact moments over a lag `tau` are `<dv> = v (e^{-nu tau} - 1)` and
//! `<dv^2> = v^2 (1 - e^{-nu tau})^2 + v_th^2 (1 - e^{-2 nu tau})`, so the
//! estimated drift is `A (1 - e^{-nu tau}) / (nu tau) = A (1 - nu tau / 2 + ...)`
//! and the estimated diffusion `D (1 - nu tau) + nu^2 v^2 tau + ...`: a lag
//! comparable to the collision time underestimates the drag and distorts the
//! diffusion (the drift's own displacement leaks into `<dv^2>`). A lag that
//! is too short instead leaves few velocity changes above the noise of the
//! PIC fields' fast fluctuations (plasma oscillations, finite-grid noise), so
//! `D` picks up their short-time, non-diffusive variance. The learned
//! operator needs no lag: it is fitted to the histograms' evolution itself.

use collop_core::{FpFields, VelocityGrid};
use ndarray::Array2;

use crate::LearnError;

/// Velocities of tracked particles at successive dumps.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracks {
    /// Dump times, `1/omega_p`.
    pub t: Vec<f64>,
    /// `v_x` per dump and particle, `(dumps, particles)`, in the grid's units.
    pub vx: Array2<f64>,
    /// `v_y`, same shape.
    pub vy: Array2<f64>,
}

/// Settings of the track estimator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackEstimator {
    /// Lag in dumps, `N_dump >= 1`.
    pub lag: usize,
    /// Use every dump as an interval start (overlapping intervals).
    pub overlapping: bool,
    /// Use the covariance `<dv dv> - <dv><dv>` for `D`.
    pub covariance: bool,
    /// Bins with fewer intervals are left empty (zero, with `count` telling).
    pub min_count: usize,
}

/// Estimated coefficients with their standard errors and sample counts.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackEstimate {
    /// `A_x, A_y, D_xx, D_yy, D_xy` (zero in empty bins).
    pub fields: FpFields,
    /// Standard errors of the same.
    pub stderr: FpFields,
    /// Intervals per bin.
    pub count: Array2<usize>,
    /// The lag `tau` (mean over intervals), `1/omega_p`.
    pub tau: f64,
}

impl TrackEstimator {
    /// Estimate on `grid` from `tracks`.
    pub fn estimate(&self, tracks: &Tracks, grid: &VelocityGrid) -> Result<TrackEstimate, LearnError> {
        let (dumps, n) = tracks.vx.dim();
        if tracks.vy.dim() != (dumps, n) || tracks.t.len() != dumps {
            return Err(LearnError::Data(format!(
                "tracks: vx {:?}, vy {:?} and {} times do not match",
                tracks.vx.dim(),
                tracks.vy.dim(),
                tracks.t.len()
            )));
        }
        if self.lag == 0 || self.lag >= dumps {
            return Err(LearnError::Config(format!(
                "lag of {} dumps: needs 1 <= lag < {dumps} (the tracks hold {dumps} dumps)",
                self.lag
            )));
        }
        if let Some(v) = tracks.vx.iter().chain(tracks.vy.iter()).chain(&tracks.t).find(|v| !v.is_finite()) {
            return Err(LearnError::Data(format!("tracks contain a non-finite value ({v})")));
        }
        let cells = grid.len();
        // Per cell: count, then sums of the five samples and of their squares.
        let mut sum = vec![[0.0f64; 5]; cells];
        let mut sq = vec![[0.0f64; 5]; cells];
        let mut cnt = vec![0usize; cells];
        let (mut tau_sum, mut tau_n) = (0.0, 0usize);
        let step = if self.overlapping { 1 } else { self.lag };
        let cell_of = |vx: f64, vy: f64| -> Option<usize> {
            let i = ((vx - grid.x_range[0]) / grid.dvx()).floor();
            let j = ((vy - grid.y_range[0]) / grid.dvy()).floor();
            (i >= 0.0 && j >= 0.0 && (i as usize) < grid.nx && (j as usize) < grid.ny)
                .then(|| grid.index(i as usize, j as usize))
        };
        let mut k = 0;
        while k + self.lag < dumps {
            let tau = tracks.t[k + self.lag] - tracks.t[k];
            if tau <= 0.0 {
                return Err(LearnError::Data(format!(
                    "track times must increase (dumps {k} and {})",
                    k + self.lag
                )));
            }
            tau_sum += tau;
            tau_n += 1;
            for p in 0..n {
                let (x0, y0) = (tracks.vx[[k, p]], tracks.vy[[k, p]]);
                let Some(c) = cell_of(x0, y0) else { continue };
                let (dx, dy) = (tracks.vx[[k + self.lag, p]] - x0, tracks.vy[[k + self.lag, p]] - y0);
                let s = [dx / tau, dy / tau, dx * dx / tau, dy * dy / tau, dx * dy / tau];
                cnt[c] += 1;
                for q in 0..5 {
                    sum[c][q] += s[q];
                    sq[c][q] += s[q] * s[q];
                }
            }
            k += step;
        }
        let mut fields = FpFields::zeros(*grid);
        let mut stderr = FpFields::zeros(*grid);
        let tau = tau_sum / tau_n.max(1) as f64;
        for c in 0..cells {
            let m = cnt[c];
            if m < self.min_count.max(2) {
                continue;
            }
            let mf = m as f64;
            let mean: Vec<f64> = sum[c].iter().map(|s| s / mf).collect();
            let se: Vec<f64> = (0..5)
                .map(|q| ((sq[c][q] / mf - mean[q] * mean[q]).max(0.0) * mf / (mf - 1.0) / mf).sqrt())
                .collect();
            let mut est = [mean[0], mean[1], mean[2], mean[3], mean[4]];
            if self.covariance {
                // <dv_i dv_j> - <dv_i><dv_j>, over tau: the drift samples are dv/tau.
                est[2] -= mean[0] * mean[0] * tau;
                est[3] -= mean[1] * mean[1] * tau;
                est[4] -= mean[0] * mean[1] * tau;
            }
            let (i, j) = (c / grid.ny, c % grid.ny);
            for (q, (f, e)) in fields.as_array_mut().into_iter().zip(stderr.as_array_mut()).enumerate() {
                f[[i, j]] = est[q];
                e[[i, j]] = se[q];
            }
        }
        let count = Array2::from_shape_vec(grid.shape(), cnt).expect("grid-sized");
        Ok(TrackEstimate { fields, stderr, count, tau })
    }
}
