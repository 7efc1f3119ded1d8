//! The background and the fields through the run, beside the learned
//! operators: the PIC run's `energy.csv` and `background.csv` (written and
//! read by [`collop_pic::history`]) summarised for the comparison.
//!
//! In the Weibel case of arXiv 2601.13377 the operator is the trace of the
//! instability: the magnetic field grows out of the noise, saturates, and
//! its scattering isotropises the background; a learned operator that
//! follows the data should lose its diffusion anisotropy on the same time
//! scale as the background loses its temperature anisotropy, and after the
//! magnetic energy saturates. This module lines the three up:
//!
//! - the magnetic and electric field energies against time;
//! - the background's temperature anisotropy `(T_x - T_y) / (T_x + T_y)`,
//!   its kurtoses and its distance from a Maxwellian against time;
//! - for every anisotropy history (every model's diffusion anisotropy of
//!   [`super::TimeResolved`] and the background's), the time at which it
//!   has fallen to half its initial value ([`half_time`]), and the time of
//!   the magnetic energy's peak.
//!
//! Runs from other codes have neither file: the comparison then has no
//! history. A file that exists but cannot be read is a failure of the
//! comparison's list, not an abort.

use std::fmt::Write as _;
use std::path::Path;

use collop_pic::history::{BACKGROUND_FILE, ENERGY_FILE, read_background, read_energy};
use serde::{Deserialize, Serialize};

use super::time_resolved::Series;
use crate::error::Result;

/// One dump of the background species.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackgroundPoint {
    /// Time, `1/omega_p`.
    pub time: f64,
    /// `T_x`, `T_y` (initial `v_th^2`).
    pub temperature: [f64; 2],
    /// Kurtoses of `u_x`, `u_y` (waterbag 2, Maxwellian 3).
    pub kurtosis: [f64; 2],
    /// Kurtosis of the in-plane speed (waterbag 4/3, Maxwellian 2).
    pub kurtosis_plane: f64,
    /// l1 distance of the histogram from the Maxwellian of its moments.
    pub l1_maxwellian: f64,
    /// That distance's noise floor for the particle count.
    pub l1_noise: f64,
}

impl BackgroundPoint {
    /// `(T_x - T_y) / (T_x + T_y)`.
    pub fn anisotropy(&self) -> f64 {
        let [x, y] = self.temperature;
        (x - y) / (x + y)
    }
}

/// The run's fields and background in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHistory {
    /// `(time, electric, magnetic)` field energies (`m_e c^2 n_0 (c/omega_p)^2`).
    pub fields: Vec<(f64, f64, f64)>,
    /// The background species (the first of `background.csv`), if recorded.
    pub species: Option<String>,
    /// Its moments at every dump.
    pub background: Vec<BackgroundPoint>,
}

impl RunHistory {
    /// The history of the PIC run `run`, `None` when the run has neither
    /// file (data from other codes). Unreadable files go to `failures`.
    pub fn read(run: &Path, failures: &mut Vec<String>) -> Option<Self> {
        let (has_energy, has_background) =
            (run.join(ENERGY_FILE).is_file(), run.join(BACKGROUND_FILE).is_file());
        if !has_energy && !has_background {
            return None;
        }
        let fields = match has_energy.then(|| read_energy(run)) {
            Some(Ok(e)) => e.records.iter().map(|r| (r.time, r.electric, r.magnetic)).collect(),
            Some(Err(e)) => {
                failures.push(format!("history of the run: {e}"));
                Vec::new()
            }
            None => Vec::new(),
        };
        let (species, background) = match has_background.then(|| read_background(run)) {
            Some(Ok(b)) => match b.species.first() {
                Some(name) => (
                    Some(name.clone()),
                    b.of(name)
                        .into_iter()
                        .map(|r| BackgroundPoint {
                            time: r.time,
                            temperature: [r.temperature[0], r.temperature[1]],
                            kurtosis: r.kurtosis,
                            kurtosis_plane: r.kurtosis_plane,
                            l1_maxwellian: r.l1_maxwellian,
                            l1_noise: r.l1_noise,
                        })
                        .collect(),
                ),
                None => (None, Vec::new()),
            },
            Some(Err(e)) => {
                failures.push(format!("history of the run: {e}"));
                (None, Vec::new())
            }
            None => (None, Vec::new()),
        };
        Some(Self { fields, species, background })
    }

    /// The time and value of the magnetic energy's peak.
    pub fn magnetic_peak(&self) -> Option<(f64, f64)> {
        self.fields.iter().map(|&(t, _, b)| (t, b)).max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Whether the run has a magnetic field worth showing: its peak above
    /// a thousandth of the peak electric energy (an electrostatic or a
    /// collisional electromagnetic run has only noise there).
    pub fn is_magnetic(&self) -> bool {
        let e = self.fields.iter().map(|f| f.1).fold(0.0, f64::max);
        self.magnetic_peak().is_some_and(|(_, b)| b > 1e-3 * e && b > 0.0)
    }

    /// The background's temperature anisotropy against time.
    pub fn temperature_anisotropy(&self) -> Vec<(f64, f64)> {
        self.background.iter().map(|p| (p.time, p.anisotropy())).collect()
    }

    /// The curves of the figure "anisotropy and fields": every model's
    /// diffusion anisotropy (`models`), the background's temperature
    /// anisotropy and the magnetic energy over its peak, on one axis (all
    /// between 0 and 1 for a background hot along `x`).
    pub fn anisotropy_and_fields(&self, models: &[Series]) -> Vec<Series> {
        let mut out: Vec<Series> = models.to_vec();
        if !self.background.is_empty() {
            out.push(("background (T_x − T_y)/(T_x + T_y)".into(), self.temperature_anisotropy()));
        }
        if let Some((_, peak)) = self.magnetic_peak().filter(|_| self.is_magnetic()) {
            out.push(("W_B / max W_B".into(), self.fields.iter().map(|&(t, _, b)| (t, b / peak)).collect()));
        }
        out
    }

    /// The distance of the background from a Maxwellian and its noise
    /// floor against time (for a log axis; empty without a background).
    pub fn relaxation(&self) -> Vec<Series> {
        if self.background.is_empty() {
            return Vec::new();
        }
        let positive = |v: Vec<(f64, f64)>| v.into_iter().filter(|p| p.1 > 0.0).collect::<Vec<_>>();
        vec![
            (
                "l1 from the Maxwellian".into(),
                positive(self.background.iter().map(|p| (p.time, p.l1_maxwellian)).collect()),
            ),
            (
                "its noise floor".into(),
                positive(self.background.iter().map(|p| (p.time, p.l1_noise)).collect()),
            ),
        ]
    }

    /// Writes `fields_in_time.csv` and `background_in_time.csv` into `out`.
    ///
    /// Errors: a file cannot be written.
    pub fn write_tables(&self, out: &Path) -> Result<()> {
        if !self.fields.is_empty() {
            let mut s = String::from("time,electric,magnetic\n");
            for (t, e, b) in &self.fields {
                writeln!(s, "{t},{e:e},{b:e}")?;
            }
            collop_io::write_text(out.join("fields_in_time.csv"), &s)?;
        }
        if !self.background.is_empty() {
            let mut s = String::from(
                "time,T_x,T_y,temperature_anisotropy,kurtosis_x,kurtosis_y,kurtosis_plane,l1_maxwellian,l1_noise\n",
            );
            for p in &self.background {
                writeln!(
                    s,
                    "{},{},{},{:.5},{:.4},{:.4},{:.4},{:e},{:e}",
                    p.time,
                    p.temperature[0],
                    p.temperature[1],
                    p.anisotropy(),
                    p.kurtosis[0],
                    p.kurtosis[1],
                    p.kurtosis_plane,
                    p.l1_maxwellian,
                    p.l1_noise
                )?;
            }
            collop_io::write_text(out.join("background_in_time.csv"), &s)?;
        }
        Ok(())
    }
}

/// The first time at which `series` (time-ordered `(t, a)`) has fallen to
/// half its first value, linearly interpolated between the two points that
/// bracket the crossing; `None` if it never does or starts at zero or a
/// non-finite value.
pub fn half_time(series: &[(f64, f64)]) -> Option<f64> {
    let &(_, a0) = series.first()?;
    if !(a0.is_finite() && a0 != 0.0) {
        return None;
    }
    let half = 0.5 * a0;
    // In units of the first value, so that a negative start works alike.
    let r = |a: f64| a / a0;
    series.windows(2).find_map(|w| {
        let ((t0, a), (t1, b)) = (w[0], w[1]);
        (r(a) > 0.5 && r(b) <= 0.5).then(|| t0 + (t1 - t0) * (a - half) / (a - b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a straight line from 1 to 0 over t in [0, 10], half is at t = 5;
    /// a negative start halves alike; a series that never halves, or
    /// starts at zero, has none.
    #[test]
    fn half_time_interpolates_the_crossing() {
        let line: Vec<(f64, f64)> = (0..=4).map(|k| (2.5 * k as f64, 1.0 - 0.25 * k as f64)).collect();
        assert!((half_time(&line).unwrap() - 5.0).abs() < 1e-12);
        let exp: Vec<(f64, f64)> = (0..=20).map(|k| (k as f64, -0.8 * (-0.1 * k as f64).exp())).collect();
        // -0.8 e^{-t/10} halves at t = 10 ln 2 = 6.93; linear interpolation
        // between integer times errs by at most 0.01 (curvature of e^{-t/10}).
        assert!((half_time(&exp).unwrap() - 10.0 * 2f64.ln()).abs() < 0.01);
        assert_eq!(half_time(&[(0.0, 1.0), (1.0, 0.9)]), None);
        assert_eq!(half_time(&[(0.0, 0.0), (1.0, 0.0)]), None);
    }

    /// A run directory with both histories: read, summarised, written.
    #[test]
    fn a_run_history_is_read_and_summarised() {
        let dir = tempfile::tempdir().unwrap();
        let mut failures = Vec::new();
        assert!(RunHistory::read(dir.path(), &mut failures).is_none());
        let energy: Vec<collop_pic::EnergyRecord> = (0..=10)
            .map(|k| collop_pic::EnergyRecord {
                step: 10 * k,
                time: k as f64,
                electric: 1e-4,
                // grows, peaks at t = 6, decays
                magnetic: 1e-3 * (-(k as f64 - 6.0).powi(2)).exp(),
                kinetic: vec![1.0],
                total: 1.0,
            })
            .collect();
        collop_pic::history::write_energy(dir.path(), &["electrons"], &energy).unwrap();
        let bg: Vec<collop_pic::diag::BackgroundRecord> = (0..=10)
            .map(|k| collop_pic::diag::BackgroundRecord {
                dump: k,
                time: k as f64,
                background: 0,
                particles: 100,
                mean: [0.0; 3],
                temperature: [9.0 - 0.8 * k as f64, 1.0, 1.0],
                kurtosis: [3.0, 3.0],
                kurtosis_plane: 2.0,
                l1_maxwellian: 0.1,
                l1_noise: 0.01,
            })
            .collect();
        collop_pic::history::write_background(dir.path(), &["electrons"], &bg).unwrap();
        let h = RunHistory::read(dir.path(), &mut failures).unwrap();
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(h.species.as_deref(), Some("electrons"));
        let (t, b) = h.magnetic_peak().unwrap();
        assert_eq!(t, 6.0);
        assert!((b - 1e-3).abs() < 1e-12);
        assert!(h.is_magnetic());
        // T_x = 9 - 0.8 t, T_y = 1: anisotropy 0.8 at t = 0 falls to 0.4
        // where (8 - 0.8 t) / (10 - 0.8 t) = 0.4, t = 50/6.
        let a = h.temperature_anisotropy();
        assert!((a[0].1 - 0.8).abs() < 1e-12);
        // Linear interpolation between dumps one apart of this convex
        // curve puts the crossing at 8.28 instead: within 0.1.
        let th = half_time(&a).unwrap();
        assert!((th - 50.0 / 6.0).abs() < 0.1, "{th}");
        let curves = h.anisotropy_and_fields(&[]);
        assert_eq!(curves.len(), 2);
        assert!(curves[1].1.iter().all(|p| p.1 <= 1.0));
        h.write_tables(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join("background_in_time.csv")).unwrap();
        assert_eq!(text.lines().count(), 12);
        // A corrupt file is a failure, not an abort.
        std::fs::write(dir.path().join(ENERGY_FILE), "garbage\n").unwrap();
        let h = RunHistory::read(dir.path(), &mut failures).unwrap();
        assert!(h.fields.is_empty());
        assert_eq!(failures.len(), 1, "{failures:?}");
    }
}
