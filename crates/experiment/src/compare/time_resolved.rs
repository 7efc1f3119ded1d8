//! The comparison in time: what every model's operator is, and what every
//! rollout's speed distribution looks like, at a few dumps through the run.
//!
//! For backgrounds that evolve (arXiv 2601.13377) one number per rollout
//! hides the story: a time-independent operator can fit the middle of the
//! run and miss both ends. This module samples [`TIME_SAMPLES`] frames
//! spread over the run (the first and the last included) and records
//!
//! - the shell-averaged radial coefficients `A_par`, `D_par`, `D_perp` of
//!   every Fokker-Planck model at the operator slot of each sampled frame
//!   (slot `s` drives dump step `s`; the last frame takes the last slot),
//!   averaged over the cells the training sub-populations populate over the
//!   run (the mask of the agreement table, the same at every frame so that
//!   a time-independent model shows the same profiles at every frame),
//!   track models without their empty bins (zero fields, see
//!   [`crate::tracks`]);
//! - the speed distribution `f(|v|) = |v| int dtheta f` of every
//!   sub-population at each sampled frame, from the PIC and from every
//!   model's rollout ([`collop_core::shells::speed_distribution`], shells of
//!   [`SPEED_SHELL`] up to the grid's inscribed speed).
//!
//! - the anisotropy of every Fokker-Planck model's diffusion at every
//!   operator slot, `(<D_xx> - <D_yy>) / (<D_xx> + <D_yy>)` over the same
//!   cells: zero for an isotropic operator, the history of an operator
//!   that isotropises a background (the Weibel case of arXiv 2601.13377).
//!
//! - every non-theory model against every theory at the sampled frames
//!   (signed relative deviations of the shell averages, as the agreement
//!   table of the comparison, [`TimeAgreement`]): against the
//!   measured-background theory, the test of a time-dependent operator.
//!
//! Written as `profiles_in_time.csv`, `speed_distributions.csv`,
//! `anisotropy_in_time.csv` and `agreement_in_time.csv`, and as
//! figures: `profiles_frame<k>.png` (one per sampled frame) and
//! `speed_distribution_<subpop>.png` (one per held-out sub-population).

use std::fmt::Write as _;
use std::path::Path;

use collop_core::shells::{Cells, ShellSpec, average_shells, signed_deviation, speed_distribution};
use collop_core::{FpFields, VelocityGrid};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{Entry, Pop};
use crate::conditioning::Extrapolation;
use crate::error::Result;
use crate::report::{Family, Role};

/// A labelled curve `(label, [(x, y)])`.
pub type Series = (String, Vec<(f64, f64)>);

/// Frames sampled through the run.
pub const TIME_SAMPLES: usize = 4;
/// Width of the speed shells of the speed distributions, `v_th`.
pub const SPEED_SHELL: f64 = 0.25;
/// Width of the speed shells of the coefficient profiles, `v_th`.
pub const PROFILE_SHELL: f64 = 0.5;

/// `n` frame indices spread evenly over `0..=steps` (first and last
/// included; fewer when the run is shorter).
pub fn sampled_frames(steps: usize, n: usize) -> Vec<usize> {
    if n <= 1 || steps == 0 {
        return vec![0];
    }
    let mut out: Vec<usize> =
        (0..n).map(|k| ((k * steps) as f64 / (n - 1) as f64).round() as usize).collect();
    out.dedup();
    out
}

/// One model's shell-averaged radial coefficients at the sampled frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSeries {
    /// The model.
    pub model: String,
    /// Its family.
    pub family: Family,
    /// Per sampled frame, per shell: `[A_par, D_par, D_perp]` (`None`: no cell there).
    pub at: Vec<Vec<Option<[f64; 3]>>>,
}

/// One sub-population's speed distributions at the sampled frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeedDistributions {
    /// The sub-population.
    pub pop: String,
    /// Trained on or held out.
    pub role: Role,
    /// The PIC's, per sampled frame, per speed shell.
    pub pic: Vec<Vec<f64>>,
    /// Every model's rollout that got there: `(model, per frame, per shell)`.
    pub models: Vec<(String, Vec<Vec<f64>>)>,
}

/// The comparison in time (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeResolved {
    /// Sampled frame indices (0: the first frame of the datasets).
    pub frames: Vec<usize>,
    /// Their times, `1/omega_p`.
    pub times: Vec<f64>,
    /// `(lower, upper)` speeds of the coefficient shells, `v_th`.
    pub profile_shells: Vec<(f64, f64)>,
    /// Coefficient profiles of every Fokker-Planck model.
    pub profiles: Vec<ProfileSeries>,
    /// `(lower, upper)` speeds of the distribution shells, `v_th`.
    pub speed_shells: Vec<(f64, f64)>,
    /// Speed distributions of every sub-population.
    pub distributions: Vec<SpeedDistributions>,
    /// Times of the operator slots (the start of each dump step), `1/omega_p`.
    #[serde(default)]
    pub slot_times: Vec<f64>,
    /// Diffusion anisotropy of every Fokker-Planck model per slot (one
    /// value for a time-independent model).
    #[serde(default)]
    pub anisotropy: Vec<(String, Vec<f64>)>,
    /// Every non-theory model against every theory at the sampled frames.
    #[serde(default)]
    pub agreement: Vec<TimeAgreement>,
    /// The run's field energies and background moments, when the PIC run
    /// recorded them ([`super::history`]).
    #[serde(default)]
    pub history: Option<super::history::RunHistory>,
    /// How far every sub-population is from the background's shape, and
    /// how much it changes per dump ([`super::signal`]).
    #[serde(default)]
    pub signal: Vec<super::signal::RelaxationSignal>,
}

/// One model against one theory at the sampled frames: signed relative
/// deviations of the shell averages, `(model - theory) / |theory|`, the
/// drift's relative to `max(|A_par|, 0.1 max_shells |A_par|)` of the theory
/// at that frame (it vanishes at `v = 0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeAgreement {
    /// The model.
    pub model: String,
    /// The theory.
    pub theory: String,
    /// Per sampled frame, per profile shell: `[A_par, D_par, D_perp]`
    /// deviations (`None` where either has no value).
    pub deviation: Vec<Vec<Option<[f64; 3]>>>,
}

/// Shells up to the largest speed whose whole circle lies on the grid.
fn shell_count(grid: &VelocityGrid, width: f64) -> usize {
    let inscribed = (-grid.x_range[0]).min(grid.x_range[1]).min(-grid.y_range[0]).min(grid.y_range[1]);
    ((inscribed / width).floor() as usize).max(1)
}

/// Accumulates the distributions while the rollouts run.
pub(super) struct Collector {
    frames: Vec<usize>,
    spec: ShellSpec,
    n_shells: usize,
    grid: VelocityGrid,
    distributions: Vec<SpeedDistributions>,
}

impl Collector {
    /// Sample the run of `pops` (all on one grid and one time axis).
    pub(super) fn new(pops: &[Pop]) -> Result<Self> {
        let steps = pops.iter().map(|p| p.ds.steps()).min().unwrap_or(0);
        let frames = sampled_frames(steps, TIME_SAMPLES);
        let grid = pops[0].ds.series.grid;
        let spec = ShellSpec::width(SPEED_SHELL)?;
        let n_shells = shell_count(&grid, SPEED_SHELL);
        let mut distributions = Vec::new();
        for p in pops {
            let pic = frames
                .iter()
                .map(|&k| speed_distribution(p.ds.series.frame(k), &grid, spec, n_shells))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            distributions.push(SpeedDistributions {
                pop: p.name.clone(),
                role: p.role,
                pic,
                models: Vec::new(),
            });
        }
        Ok(Self { frames, spec, n_shells, grid, distributions })
    }

    /// Record the rolled-out `frames` (`(steps + 1, 1, nx, ny)`) of `model` on sub-population `pop`.
    pub(super) fn rollout(&mut self, model: &str, pop: &str, frames: &ndarray::Array4<f64>) -> Result<()> {
        let Some(d) = self.distributions.iter_mut().find(|d| d.pop == pop) else { return Ok(()) };
        let mut at = Vec::new();
        for &k in &self.frames {
            if k >= frames.dim().0 {
                return Ok(());
            }
            let f: ArrayView2<'_, f64> = frames.slice(ndarray::s![k, 0, .., ..]);
            at.push(speed_distribution(f, &self.grid, self.spec, self.n_shells)?);
        }
        d.models.push((model.to_string(), at));
        Ok(())
    }

    /// The profiles of every Fokker-Planck model of `entries` at the sampled
    /// frames, and the whole record. Models whose fields cannot be formed
    /// are listed in `failures`.
    /// `populated`: the cells the profiles average over.
    pub(super) fn finish(
        self,
        entries: &[Entry],
        train: &[&Pop],
        populated: &Array2<bool>,
        failures: &mut Vec<String>,
    ) -> Result<TimeResolved> {
        let pspec = ShellSpec::width(PROFILE_SHELL)?;
        let n_profile = shell_count(&self.grid, PROFILE_SHELL);
        let mut profiles = Vec::new();
        let mut anisotropy = Vec::new();
        for e in entries.iter().filter(|e| e.family != Family::Frozen) {
            let slots = match e.source.params_for(&train[0].ds, Extrapolation::Refuse) {
                Ok((p, _)) => match p.fields() {
                    Some(f) if !f.is_empty() => f,
                    _ => continue, // kernel models: no drift and diffusion fields
                },
                Err(err) => {
                    failures.push(format!("profiles in time of {}: {err}", e.name));
                    continue;
                }
            };
            let cells_of = |f: &FpFields| {
                let mut cells = populated.clone();
                if e.family == Family::Tracks {
                    // Empty track bins hold zero fields: no estimate there.
                    let empty = |i: usize, j: usize| f.at(i, j).iter().all(|&x| x == 0.0);
                    cells.indexed_iter_mut().for_each(|((i, j), c)| *c &= !empty(i, j));
                }
                cells
            };
            let mut at = Vec::new();
            for &k in &self.frames {
                let f = &slots[k.min(slots.len() - 1)];
                at.push(shell_means(f, &cells_of(f), pspec, n_profile)?);
            }
            profiles.push(ProfileSeries { model: e.name.clone(), family: e.family, at });
            anisotropy.push((
                e.name.clone(),
                slots.iter().map(|f| diffusion_anisotropy(f, &cells_of(f))).collect(),
            ));
        }
        let agreement = agreement(&profiles);
        let times = self.frames.iter().map(|&k| train[0].ds.series.time(k)).collect();
        let steps = train[0].ds.steps();
        Ok(TimeResolved {
            slot_times: (0..steps).map(|s| train[0].ds.series.time(s)).collect(),
            anisotropy,
            agreement,
            times,
            profile_shells: (0..n_profile).map(|b| pspec.edges(b)).collect(),
            profiles,
            speed_shells: (0..self.n_shells).map(|b| self.spec.edges(b)).collect(),
            distributions: self.distributions,
            frames: self.frames,
            history: None,
            signal: Vec::new(),
        })
    }
}

/// Every non-theory profile against every theory profile, frame by frame.
fn agreement(profiles: &[ProfileSeries]) -> Vec<TimeAgreement> {
    let mut out = Vec::new();
    for t in profiles.iter().filter(|p| p.family == Family::Theory) {
        for m in profiles.iter().filter(|p| p.family != Family::Theory) {
            let deviation =
                m.at.iter()
                    .zip(&t.at)
                    .map(|(ms, ts)| {
                        let floor = 0.1 * ts.iter().flatten().map(|v| v[0].abs()).fold(0.0, f64::max);
                        ms.iter()
                            .zip(ts)
                            .map(|(a, b)| match (a, b) {
                                (Some(a), Some(b)) => Some(signed_deviation(*a, *b, floor)),
                                _ => None,
                            })
                            .collect()
                    })
                    .collect();
            out.push(TimeAgreement { model: m.model.clone(), theory: t.model.clone(), deviation });
        }
    }
    out
}

/// `(<D_xx> - <D_yy>) / (<D_xx> + <D_yy>)` over the cells of `mask` (NaN
/// without cells or without diffusion). On a grid symmetric under the swap
/// `v_x <-> v_y` the mask is made symmetric first (a cell counts if it or
/// its mirror image is in the mask), so an isotropic operator gives zero
/// whatever cells the data populate: its `D_xx` at `(v_x, v_y)` is its
/// `D_yy` at `(v_y, v_x)`.
fn diffusion_anisotropy(f: &FpFields, mask: &Array2<bool>) -> f64 {
    let g = &f.grid;
    let swap = g.nx == g.ny && g.x_range == g.y_range;
    let (mut xx, mut yy) = (0.0, 0.0);
    for ((i, j), &keep) in mask.indexed_iter() {
        if keep || (swap && mask[[j, i]]) {
            xx += f.d_xx[[i, j]];
            yy += f.d_yy[[i, j]];
        }
    }
    (xx - yy) / (xx + yy)
}

/// `[A_par, D_par, D_perp]` per shell over the cells of `mask`.
fn shell_means(
    f: &FpFields,
    mask: &Array2<bool>,
    spec: ShellSpec,
    n: usize,
) -> Result<Vec<Option<[f64; 3]>>> {
    let means = average_shells(f, Cells::Mask(mask), spec)?;
    let mut out = vec![None; n];
    for m in means {
        if m.index < n {
            out[m.index] = Some(m.mean);
        }
    }
    Ok(out)
}

impl TimeResolved {
    /// Write `profiles_in_time.csv` and `speed_distributions.csv` into `out`.
    pub(super) fn write_tables(&self, out: &Path) -> Result<()> {
        let mut s = String::from("model,family,frame,time,shell_min,shell_max,A_par,D_par,D_perp\n");
        for p in &self.profiles {
            for ((frame, time), shells) in self.frames.iter().zip(&self.times).zip(&p.at) {
                for ((lo, hi), v) in self.profile_shells.iter().zip(shells) {
                    let Some([a, dp, dq]) = v else { continue };
                    writeln!(
                        s,
                        "{},{},{frame},{time},{lo},{hi},{a:e},{dp:e},{dq:e}",
                        p.model,
                        p.family.name()
                    )?;
                }
            }
        }
        collop_io::write_text(out.join("profiles_in_time.csv"), &s)?;
        let mut s = String::from("subpopulation,role,source,frame,time,speed_min,speed_max,f\n");
        for d in &self.distributions {
            let sources =
                std::iter::once(("pic", &d.pic)).chain(d.models.iter().map(|(m, a)| (m.as_str(), a)));
            for (source, at) in sources {
                for ((frame, time), shells) in self.frames.iter().zip(&self.times).zip(at) {
                    for ((lo, hi), v) in self.speed_shells.iter().zip(shells) {
                        writeln!(s, "{},{},{source},{frame},{time},{lo},{hi},{v:e}", d.pop, d.role.name())?;
                    }
                }
            }
        }
        collop_io::write_text(out.join("speed_distributions.csv"), &s)?;
        let mut s = String::from("model,slot,time,anisotropy\n");
        for (m, a) in &self.anisotropy {
            for (k, v) in a.iter().enumerate() {
                let t = self.slot_times.get(k).copied().unwrap_or(f64::NAN);
                writeln!(s, "{m},{k},{t},{v:e}")?;
            }
        }
        collop_io::write_text(out.join("anisotropy_in_time.csv"), &s)?;
        let mut s = String::from("model,theory,frame,time,shell_min,shell_max,A_par,D_par,D_perp\n");
        for a in &self.agreement {
            for ((frame, time), shells) in self.frames.iter().zip(&self.times).zip(&a.deviation) {
                for ((lo, hi), d) in self.profile_shells.iter().zip(shells) {
                    let Some([x, y, z]) = d else { continue };
                    writeln!(s, "{},{},{frame},{time},{lo},{hi},{x:.4},{y:.4},{z:.4}", a.model, a.theory)?;
                }
            }
        }
        collop_io::write_text(out.join("agreement_in_time.csv"), &s)?;
        if let Some(h) = &self.history {
            h.write_tables(out)?;
        }
        Ok(())
    }

    /// The coefficient profiles at sampled frame `k` as plot curves.
    pub(super) fn curves_at(&self, k: usize) -> Vec<collop_plot::RadialCurve> {
        use collop_plot::{CurveStyle, Profile, RadialCurve};
        let mut curves = Vec::new();
        for p in &self.profiles {
            let (speed, vals): (Vec<f64>, Vec<[f64; 3]>) = self
                .profile_shells
                .iter()
                .zip(&p.at[k])
                .filter_map(|((lo, hi), v)| v.map(|v| (0.5 * (lo + hi), v)))
                .unzip();
            if speed.is_empty() {
                continue;
            }
            let style = match p.family {
                Family::Theory => CurveStyle::Dashed,
                Family::Tracks => CurveStyle::Markers,
                _ => CurveStyle::Line,
            };
            let col = |c: usize| Profile::new(vals.iter().map(|v| v[c]).collect());
            curves.push(RadialCurve {
                label: p.model.clone(),
                style,
                speed,
                a_par: col(0),
                d_par: col(1),
                d_perp: col(2),
            });
        }
        curves
    }

    /// The anisotropy histories of the time-dependent models as `(label,
    /// points)` series against time, and the time-independent models as
    /// flat lines over the run.
    pub(super) fn anisotropy_series(&self) -> Vec<Series> {
        let (t0, t1) = match (self.slot_times.first(), self.slot_times.last()) {
            (Some(&a), Some(&b)) => (a, b),
            _ => return Vec::new(),
        };
        self.anisotropy
            .iter()
            .filter_map(|(m, a)| {
                let pts: Vec<(f64, f64)> = if a.len() == 1 {
                    vec![(t0, a[0]), (t1, a[0])]
                } else {
                    self.slot_times.iter().copied().zip(a.iter().copied()).collect()
                };
                let pts: Vec<(f64, f64)> = pts.into_iter().filter(|p| p.1.is_finite()).collect();
                (!pts.is_empty()).then(|| (m.clone(), pts))
            })
            .collect()
    }

    /// The speed distributions of sub-population `pop` as `(label, points)`
    /// series: the PIC and every model at the first and last sampled frames
    /// and the PIC at the others.
    pub(super) fn distribution_series(&self, pop: &str) -> Option<Vec<Series>> {
        let d = self.distributions.iter().find(|d| d.pop == pop)?;
        let centres: Vec<f64> = self.speed_shells.iter().map(|(lo, hi)| 0.5 * (lo + hi)).collect();
        let points = |v: &[f64]| centres.iter().copied().zip(v.iter().copied()).collect::<Vec<_>>();
        let mut out = Vec::new();
        let last = self.frames.len() - 1;
        for (k, t) in self.times.iter().enumerate() {
            out.push((format!("PIC t = {t:.0}"), points(&d.pic[k])));
        }
        for (m, at) in &d.models {
            if m == "frozen" || at.len() <= last {
                continue;
            }
            out.push((format!("{m} t = {:.0}", self.times[last]), points(&at[last])));
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_spread_over_the_run() {
        assert_eq!(sampled_frames(90, 4), vec![0, 30, 60, 90]);
        assert_eq!(sampled_frames(5, 4), vec![0, 2, 3, 5]);
        assert_eq!(sampled_frames(2, 4), vec![0, 1, 2]);
        assert_eq!(sampled_frames(0, 4), vec![0]);
    }
}
