//! The run's time histories, `energy.csv` and `background.csv`: this module
//! writes them during a run and reads them back for analyses (the Weibel
//! instability's magnetic energy against the learned operator's anisotropy,
//! the relaxation of a waterbag background). The columns are documented in
//! [`crate::run`]; both files are plain CSV with a one-line header.

use std::path::Path;

use crate::diag::BackgroundRecord;
use crate::error::PicError;
use crate::sim::EnergyRecord;

/// File name of the energy history in a run directory.
pub const ENERGY_FILE: &str = "energy.csv";
/// File name of the background history in a run directory.
pub const BACKGROUND_FILE: &str = "background.csv";

/// `energy.csv` read back: the kinetic columns' species and the records.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyHistory {
    /// The mobile species of the kinetic columns, in column order.
    pub species: Vec<String>,
    /// One record per row, in time order.
    pub records: Vec<EnergyRecord>,
}

impl EnergyHistory {
    /// The times of the records, `1/omega_p`.
    pub fn times(&self) -> Vec<f64> {
        self.records.iter().map(|r| r.time).collect()
    }

    /// The magnetic field energy of the records.
    pub fn magnetic(&self) -> Vec<f64> {
        self.records.iter().map(|r| r.magnetic).collect()
    }

    /// The record of largest magnetic energy (the saturation of a magnetic
    /// instability), if any.
    pub fn magnetic_peak(&self) -> Option<&EnergyRecord> {
        self.records.iter().max_by(|a, b| a.magnetic.total_cmp(&b.magnetic))
    }
}

/// `background.csv` read back: the species named in it and the records
/// (each record's [`BackgroundRecord::background`] indexes `species`).
#[derive(Debug, Clone, PartialEq)]
pub struct BackgroundHistory {
    /// The thermal species, in order of first appearance.
    pub species: Vec<String>,
    /// One record per row.
    pub records: Vec<BackgroundRecord>,
}

impl BackgroundHistory {
    /// The records of species `name`, in file (time) order.
    pub fn of(&self, name: &str) -> Vec<&BackgroundRecord> {
        match self.species.iter().position(|s| s == name) {
            Some(k) => self.records.iter().filter(|r| r.background == k).collect(),
            None => Vec::new(),
        }
    }
}

fn write_text(path: &Path, text: &str) -> Result<(), PicError> {
    collop_io::write_text(path, text).map_err(|e| PicError::Run(e.to_string()))
}

/// Writes `out_dir/energy.csv` for the mobile species `species` (the
/// kinetic columns, in the order of [`EnergyRecord::kinetic`]).
///
/// Errors: the file cannot be written.
pub fn write_energy(out_dir: &Path, species: &[&str], energy: &[EnergyRecord]) -> Result<(), PicError> {
    let mut s = String::from("step,time,electric,magnetic");
    for name in species {
        s.push_str(&format!(",kinetic_{name}"));
    }
    s.push_str(",total\n");
    for r in energy {
        s.push_str(&format!("{},{:.10e},{:.10e},{:.10e}", r.step, r.time, r.electric, r.magnetic));
        for k in &r.kinetic {
            s.push_str(&format!(",{k:.10e}"));
        }
        s.push_str(&format!(",{:.10e}\n", r.total));
    }
    write_text(&out_dir.join(ENERGY_FILE), &s)
}

/// Writes `out_dir/background.csv`; `species[r.background]` names the
/// species of record `r`.
///
/// Errors: the file cannot be written.
pub fn write_background(
    out_dir: &Path,
    species: &[&str],
    records: &[BackgroundRecord],
) -> Result<(), PicError> {
    let mut s = String::from(BackgroundRecord::CSV_HEADER);
    s.push('\n');
    for r in records {
        s.push_str(&r.csv_row(species[r.background]));
        s.push('\n');
    }
    write_text(&out_dir.join(BACKGROUND_FILE), &s)
}

/// A history file's header and its numbered non-empty lines after it.
type Body<'a> = (&'a str, Vec<(usize, &'a str)>);

/// The lines of a history file after its header, which must be `header`
/// (or, for `energy.csv`, start with it).
fn body<'a>(path: &Path, text: &'a str, check: impl Fn(&str) -> bool) -> Result<Body<'a>, PicError> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let header = match lines.next() {
        Some((_, h)) if check(h) => h,
        Some((_, h)) => {
            return Err(PicError::Run(format!(
                "{}: unexpected header '{h}': not a collop PIC history file (rerun `collop pic` to rewrite it)",
                path.display()
            )));
        }
        None => return Err(PicError::Run(format!("{}: empty file", path.display()))),
    };
    Ok((header, lines.map(|(i, l)| (i + 1, l)).collect()))
}

fn parse<T: std::str::FromStr>(path: &Path, line: usize, column: &str, s: &str) -> Result<T, PicError> {
    s.trim().parse().map_err(|_| {
        PicError::Run(format!("{}, line {line}: column {column} holds '{s}', not a number", path.display()))
    })
}

/// The comma-separated values of `row` (line `line` of `path`), which
/// must be `n`.
fn values<'a>(path: &Path, line: usize, row: &'a str, n: usize) -> Result<Vec<&'a str>, PicError> {
    let v: Vec<&str> = row.split(',').collect();
    if v.len() != n {
        return Err(PicError::Run(format!(
            "{}, line {line}: {} values for {n} columns (a truncated file: rerun or resume `collop pic`)",
            path.display(),
            v.len()
        )));
    }
    Ok(v)
}

/// Reads `run_dir/energy.csv`.
///
/// Errors: the file is missing (with the path) or is not an energy history
/// (header, column count, a value that is not a number, with the line).
pub fn read_energy(run_dir: &Path) -> Result<EnergyHistory, PicError> {
    let path = run_dir.join(ENERGY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| PicError::io(&path, e))?;
    let (header, rows) =
        body(&path, &text, |h| h.starts_with("step,time,electric,magnetic") && h.ends_with(",total"))?;
    let columns: Vec<&str> = header.split(',').collect();
    let species: Vec<String> = columns[4..columns.len() - 1]
        .iter()
        .map(|c| c.strip_prefix("kinetic_").unwrap_or(c).to_string())
        .collect();
    let mut records = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        let v = values(&path, line, row, columns.len())?;
        let f = |k: usize| parse::<f64>(&path, line, columns[k], v[k]);
        records.push(EnergyRecord {
            step: parse(&path, line, "step", v[0])?,
            time: f(1)?,
            electric: f(2)?,
            magnetic: f(3)?,
            kinetic: (4..columns.len() - 1).map(f).collect::<Result<_, _>>()?,
            total: f(columns.len() - 1)?,
        });
    }
    Ok(EnergyHistory { species, records })
}

/// Reads `run_dir/background.csv`.
///
/// Errors: the file is missing (with the path) or is not a background
/// history (header, column count, a value that is not a number, with the
/// line).
pub fn read_background(run_dir: &Path) -> Result<BackgroundHistory, PicError> {
    let path = run_dir.join(BACKGROUND_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| PicError::io(&path, e))?;
    let (header, rows) = body(&path, &text, |h| h == BackgroundRecord::CSV_HEADER)?;
    let columns: Vec<&str> = header.split(',').collect();
    let mut species: Vec<String> = Vec::new();
    let mut records = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        let v = values(&path, line, row, columns.len())?;
        let f = |k: usize| parse::<f64>(&path, line, columns[k], v[k]);
        let name = v[2].trim();
        let background = match species.iter().position(|s| s == name) {
            Some(k) => k,
            None => {
                species.push(name.to_string());
                species.len() - 1
            }
        };
        records.push(BackgroundRecord {
            dump: parse(&path, line, "dump", v[0])?,
            time: f(1)?,
            background,
            particles: parse(&path, line, "particles", v[3])?,
            mean: [f(4)?, f(5)?, f(6)?],
            temperature: [f(7)?, f(8)?, f(9)?],
            kurtosis: [f(10)?, f(11)?],
            kurtosis_plane: f(12)?,
            l1_maxwellian: f(13)?,
            l1_noise: f(14)?,
        });
    }
    Ok(BackgroundHistory { species, records })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(step: u64) -> EnergyRecord {
        let t = step as f64 * 0.1;
        EnergyRecord {
            step,
            time: t,
            electric: 1e-3 * (1.0 + t).ln(),
            magnetic: 1e-7 * (0.3 * t).exp(),
            kinetic: vec![0.5 + 1e-9 * t, 1.0 / 3.0],
            total: 1.0 + std::f64::consts::PI * 1e-12,
        }
    }

    fn background(dump: usize, k: usize) -> BackgroundRecord {
        let x = dump as f64 + 0.25 * k as f64;
        BackgroundRecord {
            dump,
            time: 1.2 * dump as f64,
            background: k,
            particles: 4_194_304 + k,
            mean: [1e-4 * x, -2e-4, 0.0],
            temperature: [9.0 - 0.1 * x, 1.0 + 0.1 * x, 1.0],
            kurtosis: [2.0 + 0.01 * x, 3.0],
            kurtosis_plane: 4.0 / 3.0,
            l1_maxwellian: 0.2 / (1.0 + x),
            l1_noise: 3e-3,
        }
    }

    /// Written and read back, the histories are the records, to the ten
    /// significant digits the files keep (a relative 5e-11 of each value).
    #[test]
    fn histories_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<EnergyRecord> = (0..7).map(|s| energy(10 * s)).collect();
        write_energy(dir.path(), &["electrons", "ions"], &records).unwrap();
        let back = read_energy(dir.path()).unwrap();
        assert_eq!(back.species, ["electrons", "ions"]);
        assert_eq!(back.records.len(), records.len());
        let close = |a: f64, b: f64| (a - b).abs() <= 5e-11 * b.abs();
        for (a, b) in back.records.iter().zip(&records) {
            assert_eq!(a.step, b.step);
            for (x, y) in
                [(a.time, b.time), (a.electric, b.electric), (a.magnetic, b.magnetic), (a.total, b.total)]
            {
                assert!(close(x, y), "{x} against {y}");
            }
            assert!(a.kinetic.iter().zip(&b.kinetic).all(|(x, y)| close(*x, *y)));
        }
        assert_eq!(back.magnetic_peak().unwrap().step, 60);

        let records: Vec<BackgroundRecord> =
            (0..4).flat_map(|d| (0..2).map(move |k| background(d, k))).collect();
        write_background(dir.path(), &["electrons", "hot"], &records).unwrap();
        let back = read_background(dir.path()).unwrap();
        assert_eq!(back.species, ["electrons", "hot"]);
        assert_eq!(back.of("hot").len(), 4);
        assert!(back.of("nobody").is_empty());
        for (a, b) in back.records.iter().zip(&records) {
            assert_eq!((a.dump, a.background, a.particles), (b.dump, b.background, b.particles));
            let va =
                a.mean.iter().chain(&a.temperature).chain(&a.kurtosis).chain([&a.l1_maxwellian, &a.l1_noise]);
            let vb =
                b.mean.iter().chain(&b.temperature).chain(&b.kurtosis).chain([&b.l1_maxwellian, &b.l1_noise]);
            assert!(va.zip(vb).all(|(x, y)| close(*x, *y)));
        }
    }

    /// A missing file names the path; a truncated row or a foreign file is
    /// refused with the line and what to do.
    #[test]
    fn bad_histories_are_refused_with_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_energy(dir.path()).unwrap_err().to_string();
        assert!(err.contains("energy.csv"), "{err}");
        write_energy(dir.path(), &["electrons", "ions"], &[energy(0), energy(1)]).unwrap();
        let path = dir.path().join(ENERGY_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        let cut = &text[..text.len() - 20];
        std::fs::write(&path, cut).unwrap();
        let err = read_energy(dir.path()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("truncated"), "{err}");
        std::fs::write(&path, text.replacen("0.0000000000e0", "nan?", 1)).unwrap();
        assert!(read_energy(dir.path()).is_err());
        std::fs::write(&path, "a,b,c\n1,2,3\n").unwrap();
        let err = read_energy(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a collop PIC history"), "{err}");
        std::fs::write(dir.path().join(BACKGROUND_FILE), format!("{}\n1,2", BackgroundRecord::CSV_HEADER))
            .unwrap();
        let err = read_background(dir.path()).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
