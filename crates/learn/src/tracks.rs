//! Drift and diffusion estimated from particle tracks: the baseline the
//! learned operators are compared with (Carvalho et al., arXiv 2601.10885,
//! and for the kernel operators arXiv 2601.13377, which compare learned
//! Fokker-Planck coefficients with such track estimates).
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
//! is too short is not yet diffusive: for a force with autocorrelation
//! `C(s)`, `<dv^2> / tau = (2 / tau) int_0^tau (tau - s) C(s) ds`, which
//! reaches `2 int_0^inf C(s) ds` only for `tau` long against the correlation
//! time (in a PIC plasma about a plasma period, and the fields' fast
//! fluctuations add short-time, non-diffusive variance on top). In collop's
//! PIC runs a lag of `1/omega_p` gives a diffusion 40 % low, `2/omega_p`
//! 10-30 % low, and 5-10 `1/omega_p` a converged value
//! (`docs/collision-study.md`). The learned operator needs no lag: it is
//! fitted to the histograms' evolution itself.
//!
//! **Streaming.** Track files of long runs need not fit in memory: the
//! estimator is a set of running sums ([`TrackAccumulator`]: per cell the
//! count and the sums and sums of squares of the five samples) fed one
//! interval or one pair of dumps at a time, and [`TrackStream`] feeds it one
//! dump at a time, keeping only the dumps that start an interval still
//! waiting for its end. The batch [`TrackEstimator::estimate`] is that stream
//! run over arrays in memory, so both give bit-identical results.
//!
//! **Time windows.** [`TrackStream`] with a window of `W` dumps gives one
//! estimate per window (intervals assigned by their start dump), so a
//! collision operator that changes during a run (a relaxing or heating
//! plasma) is resolved in time, as the learned models with time nodes are.
//!
//! **Memory.** The papers' argument for learning from histograms: a
//! histogram costs `n_x n_y` numbers per dump whatever the number of
//! particles, tracks cost `3 N_tracks` (or 5 with positions) per dump and
//! need many tracks for small standard errors (`std / sqrt(count)` per bin).

use std::collections::VecDeque;

use collop_core::shells::ShellSpec;
use collop_core::{FpFields, VelocityGrid, radial_direction};
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

/// Speed bins `[b, b + 1) v_max / n_bins`, `b = 0 .. n_bins`, of the radial
/// track estimate ([`RadialTrackEstimate`]): the bins of
/// [`ShellSpec::bins`], without the speed `v_max` itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadialBins {
    /// Number of bins.
    pub n_bins: usize,
    /// Upper speed of the last bin, `v_th`.
    pub v_max: f64,
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
    /// The lag `tau` (mean over the pushes of intervals), `1/omega_p`.
    pub tau: f64,
    /// Intervals that started outside the grid (not counted in any bin).
    pub outside: usize,
    /// Times of the first and last interval start, `1/omega_p` (both 0
    /// when the intervals were pushed without times).
    pub start_times: [f64; 2],
    /// Radial profiles, when asked for ([`TrackAccumulator::with_radial_bins`]).
    pub radial: Option<RadialTrackEstimate>,
}

/// `A_par`, `D_par`, `D_perp` estimated directly from the intervals binned by
/// their starting speed `|v0|`: with `e = v0 / |v0|` and `e_perp` the unit
/// vector across it, the samples are `(dv . e) / tau`, `(dv . e)^2 / tau`
/// and `(dv . e_perp)^2 / tau` (covariance form: minus the squared mean
/// displacement over tau, as for the Cartesian fields). The standard errors
/// are those of the sample means.
#[derive(Debug, Clone, PartialEq)]
pub struct RadialTrackEstimate {
    /// Mean starting speed of each bin's intervals (the bin centre when
    /// empty), `v_th`.
    pub speed: Vec<f64>,
    /// Intervals per bin.
    pub count: Vec<usize>,
    /// `[A_par, D_par, D_perp]` per bin (zero where `count < min_count`).
    pub value: [Vec<f64>; 3],
    /// Their standard errors.
    pub stderr: [Vec<f64>; 3],
}

/// Running sums of one estimate: per grid cell (and per speed bin) the
/// number of intervals and the sums and sums of squares of their samples.
///
/// The streaming unit of the estimator: intervals are pushed one at a time
/// ([`push_interval`](Self::push_interval)) or one pair of dumps at a time
/// ([`push_rows`](Self::push_rows)), and [`finish`](Self::finish) forms the
/// means and standard errors. Memory is a few numbers per cell, whatever
/// the number of tracks. Pushing the same intervals in the same order gives
/// bit-identical estimates.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackAccumulator {
    grid: VelocityGrid,
    count: Vec<usize>,
    sum: Vec<[f64; 5]>,
    sq: Vec<[f64; 5]>,
    tau_sum: f64,
    tau_n: usize,
    outside: usize,
    start_times: Option<[f64; 2]>,
    radial: Option<RadialSums>,
}

/// Per speed bin: count, sum of speeds, sums and squares of
/// `[par / tau, par^2 / tau, perp / tau, perp^2 / tau]`.
#[derive(Debug, Clone, PartialEq)]
struct RadialSums {
    bins: RadialBins,
    spec: ShellSpec,
    count: Vec<usize>,
    speed: Vec<f64>,
    sum: Vec<[f64; 4]>,
    sq: Vec<[f64; 4]>,
}

fn check_tau(tau: f64) -> Result<(), LearnError> {
    if tau.is_finite() && tau > 0.0 {
        Ok(())
    } else {
        Err(LearnError::Data(format!("an interval of length {tau}: track times must increase")))
    }
}

/// Mean and standard error of the mean from a count, a sum and a sum of squares.
fn mean_and_stderr(m: usize, sum: f64, sq: f64) -> (f64, f64) {
    let mf = m as f64;
    let mean = sum / mf;
    (mean, ((sq / mf - mean * mean).max(0.0) * mf / (mf - 1.0) / mf).sqrt())
}

impl TrackAccumulator {
    /// Empty sums on `grid`.
    pub fn new(grid: VelocityGrid) -> Self {
        let cells = grid.len();
        Self {
            grid,
            count: vec![0; cells],
            sum: vec![[0.0; 5]; cells],
            sq: vec![[0.0; 5]; cells],
            tau_sum: 0.0,
            tau_n: 0,
            outside: 0,
            start_times: None,
            radial: None,
        }
    }

    /// Also bin the intervals by starting speed for [`RadialTrackEstimate`]
    /// (only intervals that start on the grid).
    pub fn with_radial_bins(mut self, bins: RadialBins) -> Result<Self, LearnError> {
        let invalid = || {
            LearnError::Config(format!(
                "radial track bins: {} bins up to |v| = {}: need at least one bin and v_max > 0",
                bins.n_bins, bins.v_max
            ))
        };
        if bins.v_max <= 0.0 {
            return Err(invalid());
        }
        let spec = ShellSpec::bins(bins.n_bins, bins.v_max).map_err(|_| invalid())?;
        let n = bins.n_bins;
        self.radial = Some(RadialSums {
            bins,
            spec,
            count: vec![0; n],
            speed: vec![0.0; n],
            sum: vec![[0.0; 4]; n],
            sq: vec![[0.0; 4]; n],
        });
        Ok(self)
    }

    /// The grid.
    pub fn grid(&self) -> &VelocityGrid {
        &self.grid
    }

    /// Pushes of intervals so far (a row push counts once).
    pub fn pushes(&self) -> usize {
        self.tau_n
    }

    fn cell_of(&self, vx: f64, vy: f64) -> Option<usize> {
        let g = &self.grid;
        let i = ((vx - g.x_range[0]) / g.dvx()).floor();
        let j = ((vy - g.y_range[0]) / g.dvy()).floor();
        (i >= 0.0 && j >= 0.0 && (i as usize) < g.nx && (j as usize) < g.ny)
            .then(|| g.index(i as usize, j as usize))
    }

    /// Adds one interval's samples (values already checked).
    fn add(&mut self, v0: [f64; 2], v1: [f64; 2], tau: f64) -> bool {
        let Some(c) = self.cell_of(v0[0], v0[1]) else {
            self.outside += 1;
            return false;
        };
        let (dx, dy) = (v1[0] - v0[0], v1[1] - v0[1]);
        let s = [dx / tau, dy / tau, dx * dx / tau, dy * dy / tau, dx * dy / tau];
        self.count[c] += 1;
        for ((sum, sq), x) in self.sum[c].iter_mut().zip(&mut self.sq[c]).zip(s) {
            *sum += x;
            *sq += x * x;
        }
        if let Some(r) = &mut self.radial {
            let speed = v0[0].hypot(v0[1]);
            // The bins are half-open: a start at exactly v_max is in none.
            if let Some(b) = r.spec.index(speed).filter(|_| speed < r.bins.v_max) {
                let [cos, sin] = radial_direction(v0[0], v0[1]);
                let (par, perp) = (dx * cos + dy * sin, -dx * sin + dy * cos);
                let s = [par / tau, par * par / tau, perp / tau, perp * perp / tau];
                r.count[b] += 1;
                r.speed[b] += speed;
                for ((sum, sq), x) in r.sum[b].iter_mut().zip(&mut r.sq[b]).zip(s) {
                    *sum += x;
                    *sq += x * x;
                }
            }
        }
        true
    }

    fn note_start(&mut self, t0: f64) {
        let st = self.start_times.get_or_insert([t0, t0]);
        st[0] = st[0].min(t0);
        st[1] = st[1].max(t0);
    }

    /// Push one particle's interval from velocity `v0` to `v1` over `tau`
    /// (`1/omega_p`); returns whether it started on the grid.
    ///
    /// Errors: a non-finite velocity, `tau <= 0`.
    pub fn push_interval(&mut self, v0: [f64; 2], v1: [f64; 2], tau: f64) -> Result<bool, LearnError> {
        check_tau(tau)?;
        if let Some(v) = v0.iter().chain(&v1).find(|v| !v.is_finite()) {
            return Err(LearnError::Data(format!("tracks contain a non-finite value ({v})")));
        }
        self.tau_sum += tau;
        self.tau_n += 1;
        Ok(self.add(v0, v1, tau))
    }

    /// Push the intervals of every particle between two dumps `tau` apart:
    /// `(v0x[p], v0y[p])` at the start, `(v1x[p], v1y[p])` at the end. The
    /// start time `t0` is recorded for [`TrackEstimate::start_times`].
    /// Returns the number of intervals that started on the grid.
    ///
    /// Errors: rows of different lengths, a non-finite velocity (naming the
    /// particle), `tau <= 0`.
    pub fn push_rows(
        &mut self,
        t0: f64,
        tau: f64,
        v0: (&[f64], &[f64]),
        v1: (&[f64], &[f64]),
    ) -> Result<usize, LearnError> {
        check_tau(tau)?;
        let n = v0.0.len();
        if [v0.1.len(), v1.0.len(), v1.1.len()].iter().any(|&m| m != n) {
            return Err(LearnError::Data(format!(
                "tracks: rows of {}, {}, {} and {} particles; every row must hold the same particles",
                n,
                v0.1.len(),
                v1.0.len(),
                v1.1.len()
            )));
        }
        for row in [v0.0, v0.1, v1.0, v1.1] {
            if let Some((p, v)) = row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(LearnError::Data(format!(
                    "tracks contain a non-finite value ({v}) for particle {p} of the interval starting at t = {t0}"
                )));
            }
        }
        self.tau_sum += tau;
        self.tau_n += 1;
        self.note_start(t0);
        let mut on_grid = 0;
        for p in 0..n {
            on_grid += usize::from(self.add([v0.0[p], v0.1[p]], [v1.0[p], v1.1[p]], tau));
        }
        Ok(on_grid)
    }

    /// Means and standard errors: bins with fewer than `min_count` (and at
    /// least two) intervals are left at zero; `covariance` subtracts
    /// `<dv_i><dv_j>` from `<dv_i dv_j>` (both over `tau`).
    pub fn finish(&self, covariance: bool, min_count: usize) -> TrackEstimate {
        let grid = self.grid;
        let mut fields = FpFields::zeros(grid);
        let mut stderr = FpFields::zeros(grid);
        let tau = self.tau_sum / self.tau_n.max(1) as f64;
        for c in 0..grid.len() {
            let m = self.count[c];
            if m < min_count.max(2) {
                continue;
            }
            let mut est = [0.0; 5];
            let mut se = [0.0; 5];
            for q in 0..5 {
                (est[q], se[q]) = mean_and_stderr(m, self.sum[c][q], self.sq[c][q]);
            }
            if covariance {
                // <dv_i dv_j> - <dv_i><dv_j>, over tau: the drift samples are dv/tau.
                est[2] -= est[0] * est[0] * tau;
                est[3] -= est[1] * est[1] * tau;
                est[4] -= est[0] * est[1] * tau;
            }
            let (i, j) = (c / grid.ny, c % grid.ny);
            for (q, (f, e)) in fields.as_array_mut().into_iter().zip(stderr.as_array_mut()).enumerate() {
                f[[i, j]] = est[q];
                e[[i, j]] = se[q];
            }
        }
        let count = Array2::from_shape_vec(grid.shape(), self.count.clone()).expect("grid-sized");
        let radial = self.radial.as_ref().map(|r| {
            let n = r.bins.n_bins;
            let mut out = RadialTrackEstimate {
                speed: (0..n).map(|b| r.spec.centre(b)).collect(),
                count: r.count.clone(),
                value: [vec![0.0; n], vec![0.0; n], vec![0.0; n]],
                stderr: [vec![0.0; n], vec![0.0; n], vec![0.0; n]],
            };
            for b in 0..n {
                let m = r.count[b];
                if m == 0 {
                    continue;
                }
                out.speed[b] = r.speed[b] / m as f64;
                if m < min_count.max(2) {
                    continue;
                }
                let st: [(f64, f64); 4] =
                    std::array::from_fn(|q| mean_and_stderr(m, r.sum[b][q], r.sq[b][q]));
                let (mut d_par, mut d_perp) = (st[1].0, st[3].0);
                if covariance {
                    d_par -= st[0].0 * st[0].0 * tau;
                    d_perp -= st[2].0 * st[2].0 * tau;
                }
                for (k, (v, e)) in
                    [(st[0].0, st[0].1), (d_par, st[1].1), (d_perp, st[3].1)].into_iter().enumerate()
                {
                    out.value[k][b] = v;
                    out.stderr[k][b] = e;
                }
            }
            out
        });
        TrackEstimate {
            fields,
            stderr,
            count,
            tau,
            outside: self.outside,
            start_times: self.start_times.unwrap_or([0.0; 2]),
            radial,
        }
    }
}

/// A start of an interval waiting for its end dump.
#[derive(Debug, Clone)]
struct Pending {
    dump: usize,
    t: f64,
    vx: Vec<f64>,
    vy: Vec<f64>,
}

/// The estimator fed one dump at a time, for tracks too large to hold:
/// it keeps only the dumps that start an interval still waiting for its
/// end (two dumps for non-overlapping intervals, `lag + 1` for overlapping
/// ones), whatever the length of the run.
///
/// Several independent sets of tracks (files of the same plasma, e.g. two
/// sub-populations of one run) are pushed one after the other, separated
/// by [`next_track_set`](Self::next_track_set): intervals never cross sets,
/// and all sets feed the same sums (time window `w` of every set feeds
/// estimate `w`).
///
/// **Time windows.** With `window = Some(W)` the interval starting at dump
/// `k` of a set (its first dump is 0) belongs to window `k / W`, and
/// [`finish`](Self::finish) returns one estimate per window, in order: drift
/// and diffusion resolved in time, for a plasma whose collision operator
/// changes during the run. An interval may end in the next window.
#[derive(Debug, Clone)]
pub struct TrackStream {
    settings: TrackEstimator,
    window: Option<usize>,
    grid: VelocityGrid,
    radial: Option<RadialBins>,
    pending: VecDeque<Pending>,
    spare: Vec<Pending>,
    dump: usize,
    last_t: Option<f64>,
    particles: Option<usize>,
    windows: Vec<TrackAccumulator>,
}

impl TrackStream {
    /// A stream estimating with `settings` on `grid`, in windows of
    /// `window` dumps (`None`: one estimate over the whole run).
    ///
    /// Errors: `lag = 0`, `window = Some(0)`.
    pub fn new(
        settings: TrackEstimator,
        grid: VelocityGrid,
        window: Option<usize>,
    ) -> Result<Self, LearnError> {
        if settings.lag == 0 {
            return Err(LearnError::Config("lag of 0 dumps: needs lag >= 1".into()));
        }
        if window == Some(0) {
            return Err(LearnError::Config("a time window of 0 dumps: use at least one dump".into()));
        }
        Ok(Self {
            settings,
            window,
            grid,
            radial: None,
            pending: VecDeque::new(),
            spare: Vec::new(),
            dump: 0,
            last_t: None,
            particles: None,
            windows: Vec::new(),
        })
    }

    /// Also estimate radial profiles in `bins` ([`RadialTrackEstimate`]).
    pub fn with_radial_bins(mut self, bins: RadialBins) -> Result<Self, LearnError> {
        TrackAccumulator::new(self.grid).with_radial_bins(bins)?;
        self.radial = Some(bins);
        Ok(self)
    }

    /// Dumps pushed into the present set of tracks.
    pub fn dumps(&self) -> usize {
        self.dump
    }

    fn lag_error(&self) -> LearnError {
        let dumps = self.dump;
        LearnError::Config(format!(
            "lag of {} dumps: needs 1 <= lag < {dumps} (the tracks hold {dumps} dumps)",
            self.settings.lag
        ))
    }

    /// End the present set of tracks and start another (the next file):
    /// its first dump is dump 0 again.
    ///
    /// Errors: the set just ended held no more dumps than the lag.
    pub fn next_track_set(&mut self) -> Result<(), LearnError> {
        if self.dump <= self.settings.lag {
            return Err(self.lag_error());
        }
        self.spare.extend(self.pending.drain(..));
        self.dump = 0;
        self.last_t = None;
        self.particles = None;
        Ok(())
    }

    /// Push the next dump at time `t`: every particle's `v_x`, `v_y` (in
    /// the grid's units), the same particles in the same order at every dump
    /// of a set.
    ///
    /// Errors: times that do not increase, rows whose lengths change or
    /// differ, non-finite values (naming the dump and particle).
    pub fn push_dump(&mut self, t: f64, vx: &[f64], vy: &[f64]) -> Result<(), LearnError> {
        let d = self.dump;
        if vx.len() != vy.len() || self.particles.is_some_and(|n| n != vx.len()) {
            return Err(LearnError::Data(format!(
                "tracks: dump {d} holds {} v_x and {} v_y values, earlier dumps {:?}; every dump must hold \
                 the same particles",
                vx.len(),
                vy.len(),
                self.particles
            )));
        }
        if !t.is_finite() {
            return Err(LearnError::Data(format!(
                "tracks contain a non-finite value ({t}) as the time of dump {d}"
            )));
        }
        if let Some(t0) = self.last_t
            && t <= t0
        {
            return Err(LearnError::Data(format!(
                "track times must increase (dumps {} and {d}: t = {t0} and {t})",
                d - 1
            )));
        }
        for (name, row) in [("v_x", vx), ("v_y", vy)] {
            if let Some((p, v)) = row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(LearnError::Data(format!(
                    "tracks contain a non-finite value ({v}) in {name} of particle {p} at dump {d}"
                )));
            }
        }
        let lag = self.settings.lag;
        while self.pending.front().is_some_and(|p| p.dump + lag == d) {
            let start = self.pending.pop_front().expect("checked");
            let w = self.window.map_or(0, |w| start.dump / w);
            while self.windows.len() <= w {
                let mut acc = TrackAccumulator::new(self.grid);
                if let Some(bins) = self.radial {
                    acc = acc.with_radial_bins(bins)?;
                }
                self.windows.push(acc);
            }
            self.windows[w].push_rows(start.t, t - start.t, (&start.vx, &start.vy), (vx, vy))?;
            self.spare.push(start);
        }
        let step = if self.settings.overlapping { 1 } else { lag };
        if d.is_multiple_of(step) {
            let mut p =
                self.spare.pop().unwrap_or(Pending { dump: 0, t: 0.0, vx: Vec::new(), vy: Vec::new() });
            p.dump = d;
            p.t = t;
            p.vx.clear();
            p.vx.extend_from_slice(vx);
            p.vy.clear();
            p.vy.extend_from_slice(vy);
            self.pending.push_back(p);
        }
        self.particles = Some(vx.len());
        self.last_t = Some(t);
        self.dump += 1;
        Ok(())
    }

    /// The estimates, one per time window (one without windows).
    ///
    /// Errors: the last set held no more dumps than the lag; a window
    /// without any interval start (a window shorter than the lag of
    /// non-overlapping intervals).
    pub fn finish(self) -> Result<Vec<TrackEstimate>, LearnError> {
        if self.dump <= self.settings.lag {
            return Err(self.lag_error());
        }
        if let Some(w) = self.windows.iter().position(|a| a.pushes() == 0) {
            let size = self.window.unwrap_or(0);
            return Err(LearnError::Config(format!(
                "time window {w} (dumps {} to {}) holds no interval start: with non-overlapping intervals \
                 of {} dumps a window needs at least that many dumps; use a longer window or overlapping \
                 intervals",
                w * size,
                (w + 1) * size - 1,
                self.settings.lag
            )));
        }
        let (cov, min) = (self.settings.covariance, self.settings.min_count);
        Ok(self.windows.iter().map(|a| a.finish(cov, min)).collect())
    }
}

impl TrackEstimator {
    /// Estimate on `grid` from `tracks`.
    pub fn estimate(&self, tracks: &Tracks, grid: &VelocityGrid) -> Result<TrackEstimate, LearnError> {
        let mut all = self.estimate_windows(tracks, grid, None)?;
        Ok(all.pop().expect("one estimate without windows"))
    }

    /// Estimates on `grid` from `tracks` in time windows of `window` dumps
    /// (see [`TrackStream`]); `None` gives one estimate. The tracks are fed
    /// to a [`TrackStream`] dump by dump, so this and streaming agree
    /// exactly.
    pub fn estimate_windows(
        &self,
        tracks: &Tracks,
        grid: &VelocityGrid,
        window: Option<usize>,
    ) -> Result<Vec<TrackEstimate>, LearnError> {
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
        let mut stream = TrackStream::new(*self, *grid, window)?;
        let (mut rx, mut ry) = (vec![0.0; n], vec![0.0; n]);
        for k in 0..dumps {
            // Rows are copied so that any memory layout of the arrays works.
            for (d, s) in rx.iter_mut().zip(tracks.vx.row(k)) {
                *d = *s;
            }
            for (d, s) in ry.iter_mut().zip(tracks.vy.row(k)) {
                *d = *s;
            }
            stream.push_dump(tracks.t[k], &rx, &ry)?;
        }
        stream.finish()
    }
}
