//! Which code wrote a path, and the reader of it: what `collop import`
//! calls before the import itself.

use std::path::{Path, PathBuf};

use crate::ImportError;
use crate::grid::{GridSource, OsirisPhaseSpace, SmileiBinning};
use crate::h5::{H5, attr_string, refuse_adios2};
use crate::openpmd::{OpenPmdSource, Units, open_smilei_tracks};
use crate::osiris::{OsirisRaw, OsirisTracks};
use crate::pipeline::OpenSource;
use crate::source::{ParticleSource, Plane};

/// The PIC codes' output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OSIRIS (RAW, TRACKS, PHA).
    Osiris,
    /// openPMD, HDF5 backend (WarpX, PIConGPU, FBPIC).
    OpenPmd,
    /// Smilei (TrackParticlesDisordered, ParticleBinning).
    Smilei,
}

impl Format {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Osiris => "osiris",
            Self::OpenPmd => "openpmd",
            Self::Smilei => "smilei",
        }
    }
}

/// What to read from a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Particle dumps (OSIRIS RAW, openPMD particles).
    Particles,
    /// Track files (OSIRIS TRACKS, Smilei TrackParticlesDisordered).
    Tracks,
    /// The code's own phase-space histograms (OSIRIS PHA p1p2, Smilei ParticleBinning).
    PhaseSpace,
}

/// How to open an input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputOptions {
    /// The format (`None`: detected).
    pub format: Option<Format>,
    /// What to read (`None`: from the path: a tracks or binning file, else particles).
    pub kind: Option<Kind>,
    /// The background plasma frequency, rad/s (openPMD's SI times).
    pub omega_p: Option<f64>,
    /// The species' mass in electron masses (Smilei's momenta are in `m_e c`).
    pub mass: f64,
    /// Smilei's time step, `1/omega_r` (ParticleBinning).
    pub pic_dt: Option<f64>,
    /// The momentum components histogrammed (particle data of openPMD,
    /// OSIRIS RAW and Smilei tracks).
    pub plane: Plane,
}

impl Default for InputOptions {
    fn default() -> Self {
        Self { format: None, kind: None, omega_p: None, mass: 1.0, pic_dt: None, plane: Plane::Xy }
    }
}

/// An opened input.
pub enum Input {
    /// Particles, opened per species.
    Particles(Box<OpenSource<'static>>),
    /// A code's histogram.
    Grid(Box<dyn GridSource>),
}

fn name_of(path: &Path) -> String {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string()
}

/// The format of `path`: by the names the codes give their files and
/// directories, else by an HDF5 file's root attributes.
pub fn detect(path: &Path) -> Result<Format, ImportError> {
    refuse_adios2(path)?;
    if !path.exists() {
        return Err(ImportError::input(path, "does not exist"));
    }
    let name = name_of(path);
    if name.ends_with("-tracks.h5") || name == "MS" {
        return Ok(Format::Osiris);
    }
    if name.starts_with("TrackParticlesDisordered_") || name.starts_with("ParticleBinning") {
        return Ok(Format::Smilei);
    }
    if path.is_dir() {
        let entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| ImportError::input(path, format!("cannot be listed ({e})")))?
            .flatten()
            .map(|e| e.path())
            .collect();
        let names: Vec<String> = entries.iter().map(|p| name_of(p)).collect();
        if names.iter().any(|n| n == "MS" || n == "RAW" || n == "PHA" || n == "TRACKS") {
            return Ok(Format::Osiris);
        }
        if names
            .iter()
            .any(|n| n.starts_with("TrackParticlesDisordered_") || n.starts_with("ParticleBinning"))
        {
            return Ok(Format::Smilei);
        }
        if let Some(bp) = entries.iter().find(|p| refuse_adios2(p).is_err()) {
            refuse_adios2(bp)?;
        }
        if let Some(h5) = entries.iter().find(|p| p.extension().is_some_and(|e| e == "h5")) {
            return detect(h5);
        }
        return Err(ImportError::input(
            path,
            "holds no output collop recognises (OSIRIS MS/, openPMD .h5 files, Smilei TrackParticlesDisordered_*.h5 \
             or ParticleBinning*.h5); give --format and the file",
        ));
    }
    let h5 = H5::open(path)?;
    let attrs = h5.group_attributes("/")?;
    if attr_string(&attrs, "openPMD").is_some() {
        return Ok(Format::OpenPmd);
    }
    if attr_string(&attrs, "TYPE").is_some() {
        return Ok(Format::Osiris);
    }
    Err(ImportError::input(path, "is HDF5 but neither openPMD nor OSIRIS output; give --format"))
}

/// Opens `path` for `species` (the species is checked when the import opens it).
pub fn open_input(path: &Path, species: &str, opts: &InputOptions) -> Result<Input, ImportError> {
    let format = match opts.format {
        Some(f) => f,
        None => detect(path)?,
    };
    refuse_adios2(path)?;
    let name = name_of(path);
    let kind = opts.kind.unwrap_or(
        if name.ends_with("-tracks.h5") || name.starts_with("TrackParticlesDisordered_") {
            Kind::Tracks
        } else if name.starts_with("ParticleBinning") {
            Kind::PhaseSpace
        } else if format == Format::Smilei {
            Kind::Tracks
        } else {
            Kind::Particles
        },
    );
    let p = path.to_path_buf();
    let plane = opts.plane;
    if plane != Plane::Xy
        && !matches!(kind, Kind::Particles)
        && !(format == Format::Smilei && kind == Kind::Tracks)
    {
        return Err(ImportError::Spec(format!(
            "--plane {:?} applies to particle dumps (openPMD, OSIRIS RAW) and Smilei tracks; the other inputs are in \
             their own plane",
            plane
        )));
    }
    match (format, kind) {
        (Format::OpenPmd, Kind::Particles) => {
            let omega_p = opts.omega_p.ok_or_else(|| {
                ImportError::Spec(format!(
                    "{}: openPMD times are in seconds; give the background's plasma frequency with --omega-p <rad/s> \
                     (omega_p = sqrt(n e^2 / (eps0 m_e))) so that times come out in 1/omega_p",
                    path.display()
                ))
            })?;
            if !(omega_p.is_finite() && omega_p > 0.0) {
                return Err(ImportError::Spec(format!("--omega-p {omega_p} must be > 0 (rad/s)")));
            }
            Ok(Input::Particles(Box::new(move |s: &str| {
                Ok(Box::new(OpenPmdSource::open(&p, s, Units::Si { omega_p })?.with_plane(plane))
                    as Box<dyn ParticleSource>)
            })))
        }
        (Format::Osiris, Kind::Particles) => Ok(Input::Particles(Box::new(move |s: &str| {
            Ok(Box::new(OsirisRaw::open(&p, s)?.with_plane(plane)) as Box<dyn ParticleSource>)
        }))),
        (Format::Osiris, Kind::Tracks) => Ok(Input::Particles(Box::new(move |s: &str| {
            let file = if p.is_dir() {
                let ms = if p.join("MS").is_dir() { p.join("MS") } else { p.clone() };
                ms.join("TRACKS").join(format!("{s}-tracks.h5"))
            } else {
                p.clone()
            };
            Ok(Box::new(OsirisTracks::open(&file)?) as Box<dyn ParticleSource>)
        }))),
        (Format::Osiris, Kind::PhaseSpace) => {
            Ok(Input::Grid(Box::new(OsirisPhaseSpace::open(path, species)?)))
        }
        (Format::Smilei, Kind::Tracks) => {
            let mass = opts.mass;
            Ok(Input::Particles(Box::new(move |s: &str| {
                Ok(Box::new(open_smilei_tracks(&p, s, mass)?.with_plane(plane)) as Box<dyn ParticleSource>)
            })))
        }
        (Format::Smilei, Kind::PhaseSpace) => {
            let file = if path.is_dir() { path.join("ParticleBinning0.h5") } else { path.to_path_buf() };
            Ok(Input::Grid(Box::new(SmileiBinning::open(&file, opts.pic_dt, opts.mass)?)))
        }
        (f, k) => Err(ImportError::Spec(format!(
            "{}: {} output has no {} to import; {}",
            path.display(),
            f.name(),
            match k {
                Kind::Particles => "particle dumps",
                Kind::Tracks => "track files",
                Kind::PhaseSpace => "phase-space histograms",
            },
            match f {
                Format::OpenPmd => "import its particles",
                Format::Smilei => "import its tracks (TrackParticlesDisordered) or ParticleBinning",
                Format::Osiris => "import RAW, TRACKS or PHA",
            }
        ))),
    }
}
