//! OSIRIS output: RAW particle dumps, TRACKS files and phase spaces.
//!
//! Layouts followed (the readers of OSIRIS users):
//!
//! - RAW, `MS/RAW/<species>/RAW-<species>-NNNNNN.h5`: one dataset per
//!   quantity at the root (`x1`, `x2`, `p1`, `p2`, `p3`, `q`, `ene`; `tag`
//!   of shape `(n, 2)`: the node and the particle's number on it, when
//!   tags are on), the root attributes `TIME` (`[t]`, `1/omega_p`),
//!   `ITER`, `NAME`, `TYPE = "particles"`, `QUANTS`, `LABELS`, `UNITS`; the
//!   newer layout adds the group `/SIMULATION` whose attributes (`NX`,
//!   `XMIN`, `XMAX`, `DT`, ...) older files keep at the root. As read by
//!   `osirispy` (PyPI, `osirispy.raw`) and pyVisOS (`osh5io.read_raw`).
//! - TRACKS, `MS/TRACKS/<species>-tracks.h5` (`TYPE = "tracks-2"`): the
//!   attribute `QUANTS` (its first entry, the iteration, is not a column),
//!   `NTRACKS`, the dataset `data` (rows x `QUANTS[1:]`) and `itermap`
//!   (rows `[track, points, _]`: `points` consecutive rows of `data`
//!   belong to track `track`, 1-based), as `osirispy.track` reads it.
//! - Phase spaces, `MS/PHA/p1p2/<species>/p1p2-<species>-NNNNNN.h5`: the one
//!   dataset at the root (`p1p2`, shape `(n_2, n_1)`: the last HDF5 axis is
//!   `p1`), `AXIS/AXIS1` and `AXIS/AXIS2` each `[min, max]`, the root
//!   attribute `TIME`, as `osirispy.grid` reads them.
//!
//! Momenta `p1, p2, p3` are `u = gamma v` in `c` (per mass): collop's
//! convention as they are. Weights are `|q|` (the macro-particle charge).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::ImportError;
use crate::h5::{H5, attr_f64, attr_f64s, attr_strings, read_all_f64, read_f64, read_rows_f64};
use crate::source::{Chunk, DumpInfo, ParticleSource, Plane};

/// The numbered `.h5` files of a diagnostic directory, by their number.
pub(crate) fn numbered_files(dir: &Path, prefix: &str) -> Result<Vec<(u64, PathBuf)>, ImportError> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| ImportError::input(dir, format!("cannot be listed ({e})")))?;
    for e in entries.flatten() {
        let p = e.path();
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_suffix(".h5")) else { continue };
        if let Ok(n) = rest.parse::<u64>() {
            out.push((n, p));
        }
    }
    out.sort();
    Ok(out)
}

/// The cell size `[dx, dy]` (`c/omega_p`) from `NX`, `XMIN`, `XMAX` in
/// `/SIMULATION` (newer files) or the root (older ones).
fn cell_size(h5: &H5) -> Option<[f64; 2]> {
    let from = |attrs: Vec<hdf5_reader::Attribute>| -> Option<[f64; 2]> {
        let (nx, lo, hi) = (attr_f64s(&attrs, "NX")?, attr_f64s(&attrs, "XMIN")?, attr_f64s(&attrs, "XMAX")?);
        if nx.len() < 2 || lo.len() < 2 || hi.len() < 2 {
            return None;
        }
        Some([(hi[0] - lo[0]) / nx[0], (hi[1] - lo[1]) / nx[1]])
    };
    h5.group_attributes("/SIMULATION")
        .ok()
        .and_then(from)
        .or_else(|| h5.group_attributes("/").ok().and_then(from))
}

/// The RAW dumps of one species.
pub struct OsirisRaw {
    dir: PathBuf,
    files: Vec<PathBuf>,
    dumps: Vec<DumpInfo>,
    has_ids: bool,
    cell: Option<[f64; 2]>,
    plane: Plane,
}

impl OsirisRaw {
    /// Opens `MS/RAW/<species>` under `ms` (the `MS` directory or the run
    /// directory holding it).
    pub fn open(ms: &Path, species: &str) -> Result<Self, ImportError> {
        let ms = if ms.join("MS").is_dir() { ms.join("MS") } else { ms.to_path_buf() };
        let raw = ms.join("RAW");
        let dir = raw.join(species);
        if !dir.is_dir() {
            let have: Vec<String> = std::fs::read_dir(&raw)
                .map(|d| d.flatten().filter_map(|e| e.file_name().to_str().map(String::from)).collect())
                .unwrap_or_default();
            return Err(ImportError::input(
                &dir,
                format!(
                    "does not exist: no RAW output of species `{species}` (RAW species present: {}); give a species \
                     with a RAW diagnostic (`diag_species` with `ndump_fac_raw`) or the run's MS directory",
                    if have.is_empty() { "none".into() } else { have.join(", ") }
                ),
            ));
        }
        let files = numbered_files(&dir, &format!("RAW-{species}-"))?;
        if files.is_empty() {
            return Err(ImportError::input(&dir, format!("holds no RAW-{species}-NNNNNN.h5 file")));
        }
        let mut dumps = Vec::new();
        let mut has_ids = true;
        let mut cell = None;
        for (n, f) in &files {
            let h5 = H5::open(f)?;
            let attrs = h5.group_attributes("/")?;
            let time = attr_f64(&attrs, "TIME").ok_or_else(|| {
                ImportError::input(f, "has no TIME attribute; it is not an OSIRIS RAW file")
            })?;
            let iteration = attr_f64(&attrs, "ITER").map_or(*n, |i| i as u64);
            if !h5.has_dataset("p1") || !h5.has_dataset("p2") {
                return Err(ImportError::input(
                    f,
                    "has no p1 or p2 dataset; an OSIRIS RAW file of particle momenta is expected",
                ));
            }
            has_ids &= h5.has_dataset("tag");
            if cell.is_none() {
                cell = cell_size(&h5);
            }
            dumps.push(DumpInfo { iteration, time });
        }
        Ok(Self {
            dir,
            files: files.into_iter().map(|f| f.1).collect(),
            dumps,
            has_ids,
            cell,
            plane: Plane::Xy,
        })
    }
}

impl OsirisRaw {
    /// The same dumps histogramming the momenta of `plane` (`xz`: `p1, p3`).
    pub fn with_plane(mut self, plane: Plane) -> Self {
        self.plane = plane;
        self
    }
}

impl ParticleSource for OsirisRaw {
    fn path(&self) -> &Path {
        &self.dir
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

    fn read_dump(
        &self,
        k: usize,
        chunk_len: usize,
        with_ids: bool,
        f: &mut dyn FnMut(&Chunk) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        let h5 = H5::open(&self.files[k])?;
        let [a, b, c] = self.plane.axes().map(|i| ["p1", "p2", "p3"][i]);
        let p1 = h5.dataset(a)?;
        let n = p1.shape().first().copied().unwrap_or(0);
        let p2 = h5.dataset(b)?;
        let p3 = if h5.has_dataset(c) { Some(h5.dataset(c)?) } else { None };
        let q = if h5.has_dataset("q") { Some(h5.dataset("q")?) } else { None };
        let tag = if self.has_ids && with_ids { Some(h5.dataset("tag")?) } else { None };
        let mut start = 0;
        let mut chunk = Chunk::default();
        while start < n {
            let count = (chunk_len.max(1) as u64).min(n - start);
            chunk.ux = read_f64(&h5, &p1, start, count)?;
            chunk.uy = read_f64(&h5, &p2, start, count)?;
            chunk.uz = match &p3 {
                Some(d) => read_f64(&h5, d, start, count)?,
                None => vec![0.0; count as usize],
            };
            chunk.w = match &q {
                Some(d) => read_f64(&h5, d, start, count)?.into_iter().map(f64::abs).collect(),
                None => vec![1.0; count as usize],
            };
            if let Some(bad) = chunk.w.iter().position(|&w| !(w > 0.0 && w.is_finite())) {
                return Err(ImportError::input(
                    &self.files[k],
                    format!(
                        "particle {} has the charge q = {}; macro-particles need q != 0",
                        start + bad as u64,
                        chunk.w[bad]
                    ),
                ));
            }
            chunk.id = match &tag {
                Some(d) => {
                    let t = read_rows_f64(&h5, d, start, count)?;
                    if t.len() != 2 * count as usize {
                        return Err(ImportError::input(&self.files[k], "tag must have shape (particles, 2)"));
                    }
                    Some(
                        t.chunks_exact(2)
                            .map(|r| ((r[0] as u64) << 32) | (r[1] as u64 & 0xFFFF_FFFF))
                            .collect(),
                    )
                }
                None => None,
            };
            f(&chunk)?;
            start += count;
        }
        Ok(())
    }
}

/// An OSIRIS TRACKS file (`tracks-2`), held whole (tracks files are small:
/// the tracked particles only), served dump by dump; the particles' ids are
/// their track numbers.
pub struct OsirisTracks {
    path: PathBuf,
    dumps: Vec<DumpInfo>,
    /// Per dump: the chunk of its particles.
    chunks: Vec<Chunk>,
}

impl OsirisTracks {
    /// Reads `path` (`MS/TRACKS/<species>-tracks.h5`).
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        let h5 = H5::open(path)?;
        let attrs = h5.group_attributes("/")?;
        let quants = attr_strings(&attrs, "QUANTS").ok_or_else(|| {
            ImportError::input(
                path,
                "has no QUANTS attribute; an OSIRIS tracks file (TYPE tracks-2) is expected",
            )
        })?;
        let columns: Vec<String> = quants.into_iter().skip(1).collect();
        let col = |name: &str| columns.iter().position(|c| c == name);
        let (Some(ct), Some(c1), Some(c2)) = (col("t"), col("p1"), col("p2")) else {
            return Err(ImportError::input(
                path,
                format!(
                    "QUANTS {columns:?} lack t, p1 or p2; track the momenta (`ifdmp_tracks_efl` and the quantities)"
                ),
            ));
        };
        let (c3, cq) = (col("p3"), col("q"));
        let (shape, data) = read_all_f64(&h5, &h5.dataset("data")?)?;
        let (mshape, itermap) = read_all_f64(&h5, &h5.dataset("itermap")?)?;
        if shape.len() != 2 || shape[1] != columns.len() || mshape.len() != 2 || mshape[1] < 2 {
            return Err(ImportError::input(
                path,
                format!(
                    "data {shape:?} and itermap {mshape:?} do not fit QUANTS ({} columns)",
                    columns.len()
                ),
            ));
        }
        let width = shape[1];
        // By time: (track, row) pairs.
        let mut by_time: BTreeMap<u64, (f64, Vec<(u64, usize)>)> = BTreeMap::new();
        let mut row = 0usize;
        for m in itermap.chunks_exact(mshape[1]) {
            let (track, points) = (m[0] as u64, m[1] as usize);
            for _ in 0..points {
                if row >= shape[0] {
                    return Err(ImportError::input(
                        path,
                        "itermap names more rows than data holds; the file is truncated",
                    ));
                }
                let t = data[row * width + ct];
                by_time.entry(t.to_bits()).or_insert((t, Vec::new())).1.push((track, row));
                row += 1;
            }
        }
        let mut times: Vec<(f64, Vec<(u64, usize)>)> = by_time.into_values().collect();
        times.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut dumps = Vec::new();
        let mut chunks = Vec::new();
        for (k, (t, rows)) in times.into_iter().enumerate() {
            let get = |c: Option<usize>, r: usize, default: f64| c.map_or(default, |c| data[r * width + c]);
            let mut ch = Chunk::default();
            for (track, r) in rows {
                ch.ux.push(data[r * width + c1]);
                ch.uy.push(data[r * width + c2]);
                ch.uz.push(get(c3, r, 0.0));
                ch.w.push(get(cq, r, 1.0).abs());
                ch.id.get_or_insert_with(Vec::new).push(track);
            }
            dumps.push(DumpInfo { iteration: k as u64, time: t });
            chunks.push(ch);
        }
        if dumps.is_empty() {
            return Err(ImportError::input(path, "holds no track point"));
        }
        Ok(Self { path: path.to_path_buf(), dumps, chunks })
    }
}

impl ParticleSource for OsirisTracks {
    fn path(&self) -> &Path {
        &self.path
    }

    fn dumps(&self) -> &[DumpInfo] {
        &self.dumps
    }

    fn has_ids(&self) -> bool {
        true
    }

    fn read_dump(
        &self,
        k: usize,
        _chunk_len: usize,
        _with_ids: bool,
        f: &mut dyn FnMut(&Chunk) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        f(&self.chunks[k])
    }
}
