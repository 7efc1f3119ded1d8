//! Track models: drift and diffusion estimated from particle tracks
//! (the baseline of Carvalho et al., arXiv 2601.10885 and 2601.13377),
//! written as a fixed-fields model that rolls out like a learned one.
//!
//! The track files (`<run>/<subpop>/tracks.npz` of `collop pic`: `t`
//! (dumps), `vx`, `vy` (dumps x particles, the momenta `u = gamma v` in units
//! of the owning species' `v_th`) and `v_th_c`) are **streamed**: each
//! array is decompressed incrementally from the archive and handed over one
//! dump (one row of the C-order array, contiguous in the stream) at a time
//! to [`collop_learn::tracks::TrackStream`], which keeps only the dumps that
//! start an interval still waiting for its end. Memory is a few rows of
//! particles plus the per-cell sums, whatever the length of the run.
//! (Fortran-order or non-float members, which no collop writer produces,
//! are decoded whole first; see [`collop_io::for_each_npz_row`].)
//!
//! Units: the histograms of a sub-population are in the `v_th` of its
//! owning species, and so are its tracks. When a track file's `v_th_c`
//! differs from the dataset's `v_th / c` (its `vth_c`, or `v_range_c /
//! v_range`), the tracks are converted to the dataset's units.
//!
//! Output directory `RUN`:
//! - `fields.npz` + `run.json` (`source = "tracks"`, [`TrackRecord`]): the
//!   fixed-fields model ([`crate::fields_model`]); with `window = Some(W)`, one time slot per dump step
//!   of the dataset holding the estimate of the window containing that
//!   step's first dump (`FokkerPlanck::with_slots` uses slot `s` at step
//!   `s`), otherwise one slot;
//! - `stderr.npz`: standard errors `a_x ... d_xy`, `(windows, nx, ny)`;
//! - `count.npz`: `count` (intervals per bin) and `empty` (1 where the bin
//!   has fewer than `min_count` intervals), `(windows, nx, ny)`;
//! - `radial.csv`: `A_par`, `D_par`, `D_perp` against `|v|` estimated
//!   directly from the intervals, with standard errors, per window.
//!
//! Empty bins (fewer than `min_count` intervals) get zero drift and zero
//! diffusion: the rolled-out distribution does not evolve there, which
//! cannot blow up a rollout (any non-zero guess could), and the mask says
//! where that was done.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use collop_core::{FpFields, VelocityGrid};
use collop_learn::tracks::{RadialBins, TrackEstimate, TrackEstimator, TrackStream};
use ndarray::{Array3, ArrayD, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{Context, ExperimentError, Result, bail};
use crate::fields_model::{FieldsModel, FieldsSource, grid_array};

/// How a track model is estimated.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackSettings {
    /// Track files (`tracks.npz` of `collop pic`: t, vx, vy, v_th_c), one
    /// or more, e.g. several sub-populations of one run.
    pub tracks: Vec<PathBuf>,
    /// The histogram dataset whose grid, units and dump times the estimate uses.
    pub grid_from: PathBuf,
    /// Lag in dumps between the two velocities of an interval.
    pub lag: usize,
    /// Start an interval at every dump (more, but correlated, samples).
    pub overlapping: bool,
    /// Diffusion from the covariance `<dv dv> - <dv><dv>` instead of `<dv dv>`.
    pub covariance: bool,
    /// Bins with fewer intervals are empty (zero coefficients, marked in count.npz).
    pub min_count: usize,
    /// Time-resolved estimates: one per window of this many dumps.
    pub window: Option<usize>,
}

impl TrackSettings {
    /// Lag `lag`, non-overlapping intervals, `<dv dv>`, 10 intervals per bin, no windows.
    pub fn new(tracks: Vec<PathBuf>, grid_from: PathBuf, lag: usize) -> Self {
        Self { tracks, grid_from, lag, overlapping: false, covariance: false, min_count: 10, window: None }
    }

    /// Refuses settings no estimate can be made with, before any file is
    /// read: `min_count` below 2 (a standard error needs two intervals).
    pub fn check(&self) -> Result<()> {
        check_min_count(self.min_count)
    }
}

/// Refuses a minimum below 2 intervals per bin (a standard error needs
/// two), for every estimate from tracks (`collop tracks`, the comparison).
pub(crate) fn check_min_count(min_count: usize) -> Result<()> {
    if min_count < 2 {
        return Err(ExperimentError::Data(format!(
            "min_count = {min_count} (--min-count): a bin needs at least 2 intervals for a mean and its standard \
             error; give 2 or more (the default, 10, keeps bins whose error is itself reliable)"
        )));
    }
    Ok(())
}

/// The record of a track model (`run.json`, `source = "tracks"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackRecord {
    /// The dataset whose grid and units the estimate uses.
    pub dataset: String,
    /// The track files read.
    pub files: Vec<TrackFileRecord>,
    /// Lag in dumps.
    pub lag: usize,
    /// Mean lag in time, `1/omega_p`.
    pub tau: f64,
    /// Estimator options.
    pub options: TrackOptions,
    /// Interval counts.
    pub counts: TrackCounts,
    /// One entry per time window (one without windows).
    pub windows: Vec<TrackWindow>,
    /// The window of each time slot (dump step of the dataset).
    pub slot_window: Vec<usize>,
    /// Bytes of the track files against the histograms.
    pub bytes: TrackBytes,
    /// Unit conversions and other remarks.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One track file read into a track model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackFileRecord {
    /// Path as given.
    pub path: String,
    /// Size.
    pub bytes: u64,
    /// Dumps.
    pub dumps: usize,
    /// Particles.
    pub particles: usize,
    /// `v_th / c` of the tracks, if recorded.
    pub v_th_c: Option<f64>,
    /// Factor applied to convert to the dataset's velocity units.
    pub velocity_factor: f64,
}

/// Estimator options of a track model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackOptions {
    /// Overlapping intervals.
    pub overlapping: bool,
    /// Covariance form of the diffusion.
    pub covariance: bool,
    /// Bins with fewer intervals are empty.
    pub min_count: usize,
    /// Dumps per time window.
    pub window: Option<usize>,
}

/// Interval counts of a track model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackCounts {
    /// Intervals starting on the grid.
    pub intervals_on_grid: usize,
    /// Intervals starting outside it.
    pub intervals_outside_grid: usize,
    /// Bins of the grid.
    pub bins: usize,
    /// Empty bins per window.
    pub empty_bins: Vec<usize>,
}

/// One time window of a track model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackWindow {
    /// Index.
    pub window: usize,
    /// First and last dump starting an interval, with windows.
    pub start_dumps: Option<[usize; 2]>,
    /// Times of the first and last interval start.
    pub start_times: [f64; 2],
    /// Mean lag.
    pub tau: f64,
    /// Intervals on the grid.
    pub intervals_on_grid: usize,
    /// Intervals outside it.
    pub intervals_outside_grid: usize,
    /// Bins with fewer than `min_count` intervals.
    pub empty_bins: usize,
}

/// Bytes of the track files against the histograms of the same sub-population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackBytes {
    /// Track files.
    pub tracks: u64,
    /// Histogram frames of the dataset.
    pub histograms: u64,
    /// Their ratio.
    pub tracks_over_histograms: f64,
}

/// What a track estimate made: the fields model, the estimates per window
/// (with standard errors, counts, radial profiles) and a report.
pub struct TrackModel {
    /// The fields model (one time slot per dump step with windows, else one).
    pub model: FieldsModel,
    /// One estimate per window (one without windows).
    pub estimates: Vec<TrackEstimate>,
    /// The report, for a terminal.
    pub text: String,
}

/// Total size of the `.npy` frames of a dataset folder.
pub fn histogram_bytes(folder: &Path) -> Result<u64> {
    let mut total = 0;
    let err = |e| ExperimentError::file(folder, e);
    for entry in std::fs::read_dir(folder).map_err(err)? {
        let entry = entry.map_err(err)?;
        if entry.path().extension().is_some_and(|e| e == "npy") {
            total += entry.metadata().map_err(err)?.len();
        }
    }
    Ok(total)
}

/// `v_th / c` of a dataset: its `vth_c`, else `v_range_c / v_range`.
fn dataset_vth_c(meta: &collop_io::DatasetMeta) -> Option<f64> {
    if let Some(v) = meta.extra.get("vth_c").and_then(|v| v.as_f64()) {
        return Some(v);
    }
    let vc = meta.v_range_c?;
    let x = meta.grid.x_range[1];
    (x != 0.0 && vc[1] != 0.0).then(|| vc[1] / x)
}

/// The speed bins of the radial estimate: cells' width up to the grid's corner.
pub fn radial_bins(grid: &VelocityGrid) -> RadialBins {
    let v_max = grid.corner_speed();
    let width = grid.dvx().min(grid.dvy());
    RadialBins { n_bins: ((v_max / width).ceil() as usize).max(1), v_max }
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.2} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

/// Estimate the track model of `a` (not written: see [`TrackModel::save`]);
/// returns it with its estimates and report.
///
/// See [`estimate_into`] to write the model into a directory.
pub fn estimate(a: &TrackSettings) -> Result<TrackModel> {
    a.check()?;
    let data = collop_io::read_dataset(&a.grid_from)
        .with_context(|| format!("the dataset {} giving the grid", a.grid_from.display()))?;
    let grid = data.series.grid;
    let data_vth = dataset_vth_c(&data.meta);
    let hist_bytes = histogram_bytes(&data.path)?;
    let settings = TrackEstimator {
        lag: a.lag,
        overlapping: a.overlapping,
        covariance: a.covariance,
        min_count: a.min_count,
    };
    let mut stream = TrackStream::new(settings, grid, a.window)?.with_radial_bins(radial_bins(&grid))?;
    let mut notes: Vec<String> = Vec::new();
    let mut files = Vec::new();
    let mut track_bytes = 0u64;
    let mut reference_times: Option<Vec<f64>> = None;
    for (n, path) in a.tracks.iter().enumerate() {
        // The one reader of the format pic writes: members, shapes, finite
        // times and a positive v_th_c are checked there.
        let file = collop_io::TrackFile::open(path)
            .with_context(|| "reading a tracks file (the tracks.npz of `collop pic`)".into())?;
        let (dumps, particles) = (file.dumps(), file.particles());
        if a.lag == 0 || a.lag >= dumps {
            bail!(
                "{}: --lag {} is not shorter than the run ({dumps} dumps); use 1 <= --lag < {dumps}",
                path.display(),
                a.lag
            );
        }
        let t: Vec<f64> = file.times().to_vec();
        let track_vth = file.v_th_c();
        let factor = match (track_vth, data_vth) {
            (Some(tv), Some(dv)) if tv > 0.0 && dv > 0.0 => tv / dv,
            (Some(tv), _) if !(tv.is_finite() && tv > 0.0) => {
                bail!("{}: `v_th_c` is {tv}; it must be a positive thermal speed over c", path.display())
            }
            (_, None) => {
                notes.push(format!(
                    "{}: the dataset gives no v_th/c (vth_c or v_range_c); the tracks are taken to be in its units",
                    path.display()
                ));
                1.0
            }
            (None, Some(_)) => {
                notes.push(format!(
                    "{}: no `v_th_c`; the tracks are taken to be in the dataset's units",
                    path.display()
                ));
                1.0
            }
            _ => 1.0,
        };
        if (factor - 1.0).abs() > 1e-9 {
            notes.push(format!(
                "{}: v_th/c of the tracks {} differs from the dataset's {}: velocities scaled by {factor:.6}",
                path.display(),
                track_vth.unwrap_or(f64::NAN),
                data_vth.unwrap_or(f64::NAN)
            ));
        }
        match &reference_times {
            None => reference_times = Some(t.clone()),
            Some(r) => {
                let n = r.len().min(t.len());
                if r[..n].iter().zip(&t[..n]).any(|(x, y)| (x - y).abs() > 1e-9 * x.abs().max(1.0)) {
                    notes.push(format!(
                        "{}: dump times differ from those of {}; windows follow each file's own dumps",
                        path.display(),
                        a.tracks[0].display()
                    ));
                }
            }
        }
        if n > 0 {
            stream.next_track_set()?;
        }
        file.for_each_dump(|rows: collop_io::tracks::DumpRows<'_>| -> Result<()> {
            if factor != 1.0 {
                rows.vx.iter_mut().chain(rows.vy.iter_mut()).for_each(|v| *v *= factor);
            }
            stream
                .push_dump(rows.time, rows.vx, rows.vy)
                .with_context(|| format!("{}: dump {}", path.display(), rows.dump))
        })?;
        let bytes = std::fs::metadata(path).map_err(|e| ExperimentError::file(path, e))?.len();
        track_bytes += bytes;
        files.push(TrackFileRecord {
            path: path.display().to_string(),
            bytes,
            dumps,
            particles,
            v_th_c: track_vth,
            velocity_factor: factor,
        });
    }
    let estimates = stream.finish().with_context(|| format!("--lag {} --window {:?}", a.lag, a.window))?;
    let on_grid: usize = estimates.iter().map(|e| e.count.sum()).sum();
    let outside: usize = estimates.iter().map(|e| e.outside).sum();
    if on_grid == 0 {
        bail!(
            "no track interval starts on the grid of {} ({grid}): the tracks and the dataset disagree in grid or \
             units (tracks in v_th of their species, histograms in v_th of theirs); check --grid-from",
            data.path.display()
        );
    }
    if outside > on_grid {
        notes.push(format!(
            "{outside} intervals start outside the grid and {on_grid} inside: are the tracks in the dataset's units?"
        ));
    }

    // Time slots: the window of each dump step of the dataset.
    let times = reference_times.unwrap_or_default();
    let n_windows = estimates.len();
    let steps = data.series.len().saturating_sub(1).max(1);
    let slot_window: Vec<usize> = match a.window {
        None => vec![0],
        Some(w) => {
            let dt_tracks = if times.len() > 1 { times[1] - times[0] } else { data.meta.dt };
            let mut out = Vec::with_capacity(steps);
            let mut outside_times = 0;
            for s in 0..steps {
                let ts = data.series.time(s);
                // The track dump nearest to the step's first frame.
                let d = times.partition_point(|&x| x < ts);
                let d = match (d.checked_sub(1), times.get(d)) {
                    (Some(p), Some(&x)) if (ts - times[p]) < (x - ts) => p,
                    (Some(p), None) => p,
                    _ => d,
                };
                if times.is_empty()
                    || ts < times[0] - 0.5 * dt_tracks
                    || ts > times[times.len() - 1] + 0.5 * dt_tracks
                {
                    outside_times += 1;
                }
                out.push((d / w).min(n_windows - 1));
            }
            if outside_times > 0 {
                notes.push(format!(
                    "{outside_times} of the dataset's {steps} steps start outside the tracks' times; they use the \
                     nearest window"
                ));
            }
            out
        }
    };
    let slots: Vec<FpFields> = slot_window.iter().map(|&w| estimates[w].fields.clone()).collect();

    let min = a.min_count;
    let empty: Vec<usize> = estimates.iter().map(|e| e.count.iter().filter(|&&c| c < min).count()).collect();
    let windows: Vec<TrackWindow> = estimates
        .iter()
        .enumerate()
        .map(|(w, e)| TrackWindow {
            window: w,
            start_dumps: a.window.map(|s| [w * s, (w + 1) * s - 1]),
            start_times: e.start_times,
            tau: e.tau,
            intervals_on_grid: e.count.sum(),
            intervals_outside_grid: e.outside,
            empty_bins: empty[w],
        })
        .collect();
    let tau = estimates.iter().map(|e| e.tau).sum::<f64>() / n_windows as f64;
    let ratio = track_bytes as f64 / hist_bytes.max(1) as f64;
    let record = TrackRecord {
        dataset: data.path.display().to_string(),
        files,
        lag: a.lag,
        tau,
        options: TrackOptions {
            overlapping: a.overlapping,
            covariance: a.covariance,
            min_count: a.min_count,
            window: a.window,
        },
        counts: TrackCounts {
            intervals_on_grid: on_grid,
            intervals_outside_grid: outside,
            bins: grid.len(),
            empty_bins: empty.clone(),
        },
        windows,
        slot_window,
        bytes: TrackBytes { tracks: track_bytes, histograms: hist_bytes, tracks_over_histograms: ratio },
        notes: notes.clone(),
    };
    let model = FieldsModel::new(slots, FieldsSource::Tracks(Box::new(record)))?;

    let mut text = String::new();
    writeln!(
        text,
        "tracks     {} file(s), {on_grid} intervals on the {grid} grid ({outside} outside), lag {} dumps, tau = {tau:.4} /omega_p",
        a.tracks.len(),
        a.lag
    )?;
    for (w, e) in estimates.iter().enumerate() {
        if n_windows > 1 {
            writeln!(
                text,
                "window {w:>3} starts t = {:.3} .. {:.3}: {} intervals, {} of {} bins empty",
                e.start_times[0],
                e.start_times[1],
                e.count.sum(),
                empty[w],
                grid.len()
            )?;
        } else {
            writeln!(
                text,
                "bins       {} of {} empty (fewer than {min} intervals): zero coefficients",
                empty[w],
                grid.len()
            )?;
        }
    }
    writeln!(
        text,
        "memory     tracks {} vs histograms {} of the same sub-population ({ratio:.2}x)",
        human(track_bytes),
        human(hist_bytes)
    )?;
    for n in &notes {
        writeln!(text, "note       {n}")?;
    }
    writeln!(text, "slots      {} time slot(s)", model.fields.len())?;
    Ok(TrackModel { model, estimates, text })
}

/// Estimates the fields model from tracks ([`estimate`]) and writes it
/// into the model directory `out` ([`TrackModel::save`]). The directory is
/// claimed first ([`collop_io::OutputDir::claim`] with
/// [`crate::fields_model::FIELDS_MODEL`]): another writer, or a model
/// already there without [`collop_io::Existing::Overwrite`], is refused
/// before the tracks are read.
pub fn estimate_into(a: &TrackSettings, out: &Path, existing: collop_io::Existing) -> Result<TrackModel> {
    a.check()?;
    let mut dir = collop_io::OutputDir::claim(out, &crate::fields_model::FIELDS_MODEL, existing)?;
    let model = estimate(a)?;
    model.save_into(&mut dir)?;
    Ok(model)
}

impl TrackModel {
    /// Write into the output directory `out`, claimed with
    /// [`crate::fields_model::FIELDS_MODEL`]: a model it held under
    /// `--overwrite` is removed first.
    pub(crate) fn save_into(&self, out: &mut collop_io::OutputDir) -> Result<()> {
        out.clear_replaced()?;
        self.save(out.path())
    }

    /// Write the model directory: `fields.npz` + `run.json` (the fields
    /// model, empty bins at zero), `stderr.npz` (standard errors `A_x ...
    /// D_xy` per window), `count.npz` (`count`, and `empty`: 1 where a bin has
    /// fewer than `min_count` intervals) and `radial.csv`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.model.save(dir)?;
        let FieldsSource::Tracks(record) = &self.model.meta.source else {
            bail!("a track model holds a track record");
        };
        let min = record.options.min_count;
        write_errors(dir, &self.estimates, &self.model.grid(), min)?;
        write_radial_csv(&dir.join("radial.csv"), &self.estimates)
    }
}

/// `stderr.npz` and `count.npz`, one entry per window.
fn write_errors(dir: &Path, estimates: &[TrackEstimate], grid: &VelocityGrid, min: usize) -> Result<()> {
    let n = estimates.len();
    let mut arrays: Vec<(&str, ArrayD<f64>)> = Vec::new();
    for (k, name) in collop_core::FIELD_NAMES.iter().enumerate() {
        let mut a = Array3::zeros((n, grid.nx, grid.ny));
        for (w, e) in estimates.iter().enumerate() {
            a.index_axis_mut(Axis(0), w).assign(e.stderr.as_array()[k]);
        }
        arrays.push((name, a.into_dyn()));
    }
    arrays.push(("grid", grid_array(grid)));
    let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
        arrays.iter().map(|(n, a)| (*n, a.view())).collect();
    collop_io::write_npz(dir.join("stderr.npz"), &views)?;
    let mut count = Array3::zeros((n, grid.nx, grid.ny));
    let mut empty = Array3::zeros((n, grid.nx, grid.ny));
    for (w, e) in estimates.iter().enumerate() {
        count.index_axis_mut(Axis(0), w).assign(&e.count.mapv(|c| c as f64));
        empty.index_axis_mut(Axis(0), w).assign(&e.count.mapv(|c| if c < min { 1.0 } else { 0.0 }));
    }
    let (count, empty) = (count.into_dyn(), empty.into_dyn());
    collop_io::write_npz(dir.join("count.npz"), &[("count", count.view()), ("empty", empty.view())])?;
    Ok(())
}

/// `radial.csv`: window, speed, count, then each profile with its standard error.
fn write_radial_csv(path: &Path, estimates: &[TrackEstimate]) -> Result<()> {
    let mut s =
        String::from("window,speed,count,a_par,a_par_stderr,d_par,d_par_stderr,d_perp,d_perp_stderr\n");
    for (w, e) in estimates.iter().enumerate() {
        let Some(r) = &e.radial else { continue };
        for b in 0..r.speed.len() {
            write!(s, "{w},{:.6e},{}", r.speed[b], r.count[b])?;
            for k in 0..3 {
                write!(s, ",{:.6e},{:.6e}", r.value[k][b], r.stderr[k][b])?;
            }
            s.push('\n');
        }
    }
    collop_io::write_text(path, &s)?;
    Ok(())
}
