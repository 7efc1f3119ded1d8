//! openPMD particle output (HDF5 backend), as WarpX, PIConGPU and FBPIC
//! write it, and Smilei's `TrackParticlesDisordered_<species>.h5`, which
//! follows the same layout in Smilei's normalised units.
//!
//! Layout followed: the openPMD standard 1.1 (`openPMD/openPMD-standard`,
//! `STANDARD.md`: root attributes `basePath = /data/%T/`, `particlesPath`,
//! `iterationEncoding` fileBased | groupBased; per iteration the attributes
//! `time`, `dt`, `timeUnitSI`; per species the records `momentum/{x,y,z}`,
//! `weighting`, `id`, `mass`, `charge`, each component a dataset or a
//! *constant record component* (a group with the attributes `value` and
//! `shape`), with `unitSI` per component and `macroWeighted` /
//! `weightingPower` per record), as the openPMD-api writes it. Smilei's
//! track files (`src/Diagnostic/DiagnosticTrack.cpp` and
//! `src/Params/OpenPMDparams.cpp` of `SmileiPIC/Smilei`, read by its
//! `happi/_Diagnostics/TrackParticles.py`) put `data/<10-digit
//! timestep>/particles/<species>/{id, momentum/x.., weight}`, momenta in
//! `m_e c`, the time attribute in `1/omega_r`.
//!
//! ADIOS2 output (`.bp`) is refused with the conversion command
//! (`openpmd-pipe --infile run.bp --outfile run_%T.h5`).

use std::path::{Path, PathBuf};

use hdf5_reader::Dataset;

use crate::ImportError;
use crate::h5::{H5, attr_f64, attr_string, read_f64, read_u64, refuse_adios2};
use crate::source::{Chunk, DumpInfo, ParticleSource, Plane};

/// Speed of light, m/s (exact, SI).
pub const SPEED_OF_LIGHT: f64 = 299_792_458.0;

/// How the numbers of an openPMD-like file become collop's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Units {
    /// openPMD in SI: momenta times `unitSI` in kg m/s per real particle
    /// (divided by `w^weightingPower` when `macroWeighted = 1`), divided by
    /// the `mass` record (kg) and `c`; times `time * timeUnitSI` seconds
    /// times `omega_p` (rad/s, given: particle files do not hold the density).
    Si {
        /// The plasma frequency of the background, rad/s.
        omega_p: f64,
    },
    /// Smilei's normalised units: momenta in `m_e c`, divided by the
    /// species' mass in `m_e`; times in `1/omega_r`, which is `1/omega_p`
    /// when the reference density is the plasma's (Smilei's usual choice).
    Smilei {
        /// The species' mass in electron masses.
        mass: f64,
    },
}

/// One record component: stored values or a constant.
enum Component {
    Data { ds: Box<Dataset>, unit_si: f64 },
    Constant(f64),
}

/// Where one iteration lives.
#[derive(Debug, Clone)]
struct Entry {
    file: PathBuf,
    /// `/data/<iteration>/particles/<species>`.
    species_path: String,
}

/// The particles of one species in an openPMD series (or a Smilei track file).
pub struct OpenPmdSource {
    path: PathBuf,
    entries: Vec<Entry>,
    dumps: Vec<DumpInfo>,
    has_ids: bool,
    units: Units,
    /// `[dx, dy]` in `c/omega_p` from the meshes' `gridSpacing` (SI series).
    cell: Option<[f64; 2]>,
    /// The species' `particleShape` attribute.
    shape: Option<usize>,
    /// The histograms' plane.
    plane: Plane,
}

impl OpenPmdSource {
    /// Opens the series at `path` (one file, the directory of a file-based
    /// series, or one of its files) for `species`, checking every iteration
    /// holds it with momenta.
    pub fn open(path: &Path, species: &str, units: Units) -> Result<Self, ImportError> {
        refuse_adios2(path)?;
        let files = series_files(path)?;
        let mut found: Vec<(u64, Entry, f64)> = Vec::new();
        for file in &files {
            let h5 = H5::open(file)?;
            let root = h5.group_attributes("/")?;
            let base = attr_string(&root, "basePath").unwrap_or_else(|| "/data/%T/".into());
            let base_dir = base.split("%T").next().unwrap_or("/data/").trim_end_matches('/').to_string();
            let particles_path = attr_string(&root, "particlesPath")
                .unwrap_or_else(|| "particles/".into())
                .trim_matches('/')
                .to_string();
            let base_dir = if base_dir.is_empty() { "/".to_string() } else { base_dir };
            let (groups, _) = h5.members(&base_dir)?;
            for g in groups {
                let Ok(it) = g.trim().parse::<u64>() else { continue };
                let it_path = format!("{base_dir}/{g}");
                let species_path = format!("{it_path}/{particles_path}/{species}");
                if !h5.has_group(&species_path) {
                    let have = h5
                        .members(&format!("{it_path}/{particles_path}"))
                        .map(|m| m.0.join(", "))
                        .unwrap_or_default();
                    return Err(ImportError::input(
                        file,
                        format!(
                            "iteration {it} has no species `{species}` (species present: {}); give one of them with --species",
                            if have.is_empty() { "none".to_string() } else { have }
                        ),
                    ));
                }
                if !h5.has_group(&format!("{species_path}/momentum")) {
                    return Err(ImportError::input(
                        file,
                        format!(
                            "iteration {it}, species `{species}` has no record `momentum`; write the particles' \
                             momenta in the diagnostic (WarpX: `<diag>.<species>.variables = ux uy uz w`, \
                             Smilei: `attributes = [\"px\", \"py\", \"pz\", \"w\"]`)"
                        ),
                    ));
                }
                let attrs = h5.group_attributes(&it_path)?;
                let time = attr_f64(&attrs, "time").ok_or_else(|| {
                    ImportError::input(
                        file,
                        format!("iteration {it} has no `time` attribute (openPMD requires it)"),
                    )
                })?;
                let time = match units {
                    Units::Si { omega_p } => {
                        let unit = attr_f64(&attrs, "timeUnitSI").ok_or_else(|| {
                            ImportError::input(file, format!("iteration {it} has no `timeUnitSI` attribute"))
                        })?;
                        time * unit * omega_p
                    }
                    Units::Smilei { .. } => time,
                };
                if found.iter().any(|(i, _, _)| *i == it) {
                    return Err(ImportError::input(
                        file,
                        format!("iteration {it} is written twice in the series; remove the duplicate file"),
                    ));
                }
                found.push((it, Entry { file: file.clone(), species_path }, time));
            }
        }
        if found.is_empty() {
            return Err(ImportError::input(
                path,
                "holds no openPMD iteration (no group under the basePath /data/); give the openPMD output \
                 (the diags/ directory of WarpX, simOutput/openPMD of PIConGPU, diags/hdf5 of FBPIC)",
            ));
        }
        found.sort_by_key(|f| f.0);
        let first = &found[0].1;
        let h5 = H5::open(&first.file)?;
        let has_ids = h5.has_dataset(&format!("{}/id", first.species_path));
        let shape = h5
            .group_attributes(&first.species_path)
            .ok()
            .and_then(|a| attr_f64(&a, "particleShape"))
            .filter(|s| s.fract() == 0.0 && *s >= 0.0 && *s <= 8.0)
            .map(|s| s as usize);
        let cell = match units {
            Units::Si { omega_p } => mesh_cell(&h5, &first.species_path, omega_p),
            Units::Smilei { .. } => None,
        };
        let dumps = found.iter().map(|(it, _, t)| DumpInfo { iteration: *it, time: *t }).collect();
        let entries = found.into_iter().map(|f| f.1).collect();
        Ok(Self { path: path.to_path_buf(), entries, dumps, has_ids, units, cell, shape, plane: Plane::Xy })
    }
}

impl OpenPmdSource {
    /// The same source histogramming the momentum components of `plane`.
    pub fn with_plane(mut self, plane: Plane) -> Self {
        self.plane = plane;
        self
    }
}

/// Smilei's track file of `species`: `path` is the file
/// `TrackParticlesDisordered_<species>.h5` or the results directory holding it.
pub fn open_smilei_tracks(path: &Path, species: &str, mass: f64) -> Result<OpenPmdSource, ImportError> {
    let file = if path.is_dir() {
        path.join(format!("TrackParticlesDisordered_{species}.h5"))
    } else {
        path.to_path_buf()
    };
    if !file.is_file() {
        return Err(ImportError::input(
            &file,
            format!(
                "does not exist: no track diagnostic of species `{species}`; add a DiagTrackParticles block with \
                 species = \"{species}\" and attributes [\"px\", \"py\", \"pz\", \"w\"] to the namelist"
            ),
        ));
    }
    if !(mass.is_finite() && mass > 0.0) {
        return Err(ImportError::Spec(format!(
            "--mass {mass} must be > 0 (the species' mass in electron masses)"
        )));
    }
    OpenPmdSource::open(&file, species, Units::Smilei { mass })
}

/// The cell size `[dx, dy]` in `c/omega_p` from the first mesh of the
/// iteration holding `species_path`: its first two `gridSpacing` values
/// times `gridUnitSI` (m) times `omega_p / c`.
fn mesh_cell(h5: &H5, species_path: &str, omega_p: f64) -> Option<[f64; 2]> {
    let it = species_path.rsplitn(3, '/').nth(2)?;
    let root = h5.group_attributes("/").ok()?;
    let meshes = attr_string(&root, "meshesPath").unwrap_or_else(|| "meshes/".into());
    let mpath = format!("{it}/{}", meshes.trim_matches('/'));
    let (groups, datasets) = h5.members(&mpath).ok()?;
    let first = groups.into_iter().chain(datasets).next()?;
    let mesh = format!("{mpath}/{first}");
    let attrs = if h5.has_group(&mesh) {
        h5.group_attributes(&mesh).ok()?
    } else {
        h5.dataset(&mesh).ok()?.attributes()
    };
    let spacing = crate::h5::attr_f64s(&attrs, "gridSpacing")?;
    let unit = attr_f64(&attrs, "gridUnitSI").unwrap_or(1.0);
    let k = unit * omega_p / SPEED_OF_LIGHT;
    (spacing.len() >= 2 && spacing[..2].iter().all(|d| d.is_finite() && *d > 0.0))
        .then(|| [spacing[0] * k, spacing[1] * k])
}

/// The files of the series `path` points into.
fn series_files(path: &Path) -> Result<Vec<PathBuf>, ImportError> {
    if !path.exists() {
        return Err(ImportError::input(
            path,
            "does not exist; give the openPMD file or the directory of its files",
        ));
    }
    let h5_in = |dir: &Path| -> Result<Vec<PathBuf>, ImportError> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| ImportError::input(dir, format!("cannot be listed ({e})")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "h5" || e == "hdf5"))
            .collect();
        v.sort();
        Ok(v)
    };
    if path.is_dir() {
        let files = h5_in(path)?;
        if files.is_empty() {
            let bp = std::fs::read_dir(path)
                .ok()
                .and_then(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| refuse_adios2(p).is_err()));
            if let Some(bp) = bp {
                refuse_adios2(&bp)?;
            }
            return Err(ImportError::input(
                path,
                "holds no .h5 file; give the directory of the openPMD HDF5 files",
            ));
        }
        return Ok(files);
    }
    // One file: group-based, or one file of a file-based series (its
    // siblings with the same name up to the iteration number).
    let h5 = H5::open(path)?;
    let enc = attr_string(&h5.group_attributes("/")?, "iterationEncoding").unwrap_or_default();
    if enc == "fileBased" {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let prefix: String = name
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .to_string();
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let files = h5_in(dir)?
            .into_iter()
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix)))
            .collect();
        return Ok(files);
    }
    Ok(vec![path.to_path_buf()])
}

/// A record component at `path` (dataset or constant group).
/// `unitSI` is applied only with `si` (Smilei's files carry the factors
/// of its reference units, which its normalised numbers must not get).
fn component(h5: &H5, path: &str, si: bool) -> Result<Component, ImportError> {
    let unit =
        |attrs: &[hdf5_reader::Attribute]| if si { attr_f64(attrs, "unitSI").unwrap_or(1.0) } else { 1.0 };
    if h5.has_dataset(path) {
        let ds = h5.dataset(path)?;
        let unit_si = unit(&ds.attributes());
        return Ok(Component::Data { ds: Box::new(ds), unit_si });
    }
    let attrs = h5.group_attributes(path)?;
    let value = attr_f64(&attrs, "value").ok_or_else(|| {
        ImportError::input(
            h5.path(),
            format!("`{path}` is neither a dataset nor a constant record (no `value`)"),
        )
    })?;
    Ok(Component::Constant(value * unit(&attrs)))
}

/// `(macroWeighted, weightingPower)` of the record at `path`.
fn weighting_of(h5: &H5, path: &str) -> (bool, f64) {
    let attrs = if h5.has_dataset(path) {
        h5.dataset(path).map(|d| d.attributes()).unwrap_or_default()
    } else {
        h5.group_attributes(path).unwrap_or_default()
    };
    (
        attr_f64(&attrs, "macroWeighted").is_some_and(|m| m != 0.0),
        attr_f64(&attrs, "weightingPower").unwrap_or(0.0),
    )
}

fn particle_count(h5: &H5, path: &str) -> Result<u64, ImportError> {
    if h5.has_dataset(path) {
        let ds = h5.dataset(path)?;
        return Ok(ds.shape().first().copied().unwrap_or(0));
    }
    let attrs = h5.group_attributes(path)?;
    attr_f64(&attrs, "shape")
        .map(|n| n as u64)
        .ok_or_else(|| ImportError::input(h5.path(), format!("constant record `{path}` has no `shape`")))
}

fn values(h5: &H5, c: &Component, start: u64, count: u64) -> Result<Vec<f64>, ImportError> {
    match c {
        Component::Data { ds, unit_si } => {
            let mut v = read_f64(h5, ds, start, count)?;
            if *unit_si != 1.0 {
                v.iter_mut().for_each(|x| *x *= unit_si);
            }
            Ok(v)
        }
        Component::Constant(v) => Ok(vec![*v; count as usize]),
    }
}

impl ParticleSource for OpenPmdSource {
    fn path(&self) -> &Path {
        &self.path
    }

    fn dumps(&self) -> &[DumpInfo] {
        &self.dumps
    }

    fn has_ids(&self) -> bool {
        self.has_ids
    }

    fn cell_size(&self) -> Option<[f64; 2]> {
        self.cell
    }

    fn shape_order(&self) -> Option<usize> {
        self.shape
    }

    fn read_dump(
        &self,
        k: usize,
        chunk_len: usize,
        with_ids: bool,
        f: &mut dyn FnMut(&Chunk) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        let e = &self.entries[k];
        let h5 = H5::open(&e.file)?;
        let sp = &e.species_path;
        let mom = format!("{sp}/momentum");
        let n = particle_count(&h5, &format!("{mom}/x"))?;
        let si = matches!(self.units, Units::Si { .. });
        let comp = |name: &str| component(&h5, &format!("{mom}/{name}"), si);
        let [a, b, c] = self.plane.axes().map(|i| ["x", "y", "z"][i]);
        let (cx, cy) = (comp(a)?, comp(b)?);
        let has_z = h5.has_dataset(&format!("{mom}/{c}")) || h5.has_group(&format!("{mom}/{c}"));
        let cz = if has_z { Some(comp(c)?) } else { None };
        let weight_name = match self.units {
            Units::Si { .. } => "weighting",
            Units::Smilei { .. } => "weight",
        };
        let wpath = format!("{sp}/{weight_name}");
        let cw = if h5.has_dataset(&wpath) || h5.has_group(&wpath) {
            Some(component(&h5, &wpath, si)?)
        } else {
            None
        };
        let (p_macro, p_power) = weighting_of(&h5, &mom);
        let (mass, m_macro, m_power) = match self.units {
            Units::Si { .. } => {
                let mpath = format!("{sp}/mass");
                if !(h5.has_dataset(&mpath) || h5.has_group(&mpath)) {
                    return Err(ImportError::input(
                        &e.file,
                        format!(
                            "species path `{sp}` has no record `mass`, needed to turn momenta into velocities; \
                             write it in the diagnostic (the openPMD-api writes it as a constant record)"
                        ),
                    ));
                }
                let (mm, mp) = weighting_of(&h5, &mpath);
                (Some(component(&h5, &mpath, si)?), mm, mp)
            }
            Units::Smilei { .. } => (None, false, 0.0),
        };
        let id_ds = if self.has_ids && with_ids { Some(h5.dataset(&format!("{sp}/id"))?) } else { None };
        let chunk_len = chunk_len.max(1) as u64;
        let mut start = 0u64;
        let mut chunk = Chunk::default();
        while start < n {
            let count = chunk_len.min(n - start);
            let mut ux = values(&h5, &cx, start, count)?;
            let mut uy = values(&h5, &cy, start, count)?;
            let mut uz = match &cz {
                Some(c) => values(&h5, c, start, count)?,
                None => vec![0.0; count as usize],
            };
            let w = match &cw {
                Some(c) => values(&h5, c, start, count)?,
                None => vec![1.0; count as usize],
            };
            if let Some(bad) = w.iter().position(|&x| !(x.is_finite() && x > 0.0)) {
                return Err(ImportError::input(
                    &e.file,
                    format!(
                        "particle {} of `{sp}` has the weight {}; weights must be > 0",
                        start + bad as u64,
                        w[bad]
                    ),
                ));
            }
            // Per-particle divisor: mass (and c) in SI, the mass ratio in Smilei units.
            let m = match (&mass, self.units) {
                (Some(mc), Units::Si { .. }) => values(&h5, mc, start, count)?,
                (_, Units::Smilei { mass }) => vec![mass; count as usize],
                (None, Units::Si { .. }) => unreachable!("checked above"),
            };
            for q in 0..count as usize {
                let mut p_div = 1.0;
                if p_macro && p_power != 0.0 {
                    p_div = w[q].powf(p_power);
                }
                let mut m_q = m[q];
                if m_macro && m_power != 0.0 {
                    m_q /= w[q].powf(m_power);
                }
                let scale = match self.units {
                    Units::Si { .. } => 1.0 / (p_div * m_q * SPEED_OF_LIGHT),
                    Units::Smilei { .. } => 1.0 / (p_div * m_q),
                };
                ux[q] *= scale;
                uy[q] *= scale;
                uz[q] *= scale;
            }
            chunk.ux = ux;
            chunk.uy = uy;
            chunk.uz = uz;
            chunk.w = w;
            chunk.id = match &id_ds {
                Some(ds) => Some(read_u64(&h5, ds, start, count)?),
                None => None,
            };
            f(&chunk)?;
            start += count;
        }
        Ok(())
    }
}
