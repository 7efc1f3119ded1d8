//! Phase-space histograms the codes bin themselves: OSIRIS `p1p2` phase
//! spaces and Smilei `ParticleBinning` diagnostics, converted to datasets
//! on their own grid in units of `v_th`.
//!
//! Layouts followed: OSIRIS' (see [`crate::osiris`]: the one root dataset
//! of shape `(n_2, n_1)`, `AXIS/AXIS1..2 = [min, max]`, `TIME`), and
//! Smilei's `ParticleBinning<N>.h5` as happi reads it
//! (`happi/_Diagnostics/ParticleBinning.py`: root attributes `axis<i> =
//! "type min max size log edges_included coefficients"`, one dataset
//! `timestep<8 digits>` per dump of shape `(size_0, size_1)`); Smilei
//! stores time steps, so the time step comes from the run (the `dt` of a
//! track file beside it, or given).
//!
//! Values are taken as absolute values (OSIRIS' phase spaces hold charge
//! density, negative for electrons). `v_th` is measured from the first
//! frame as the rms of `p_1` about its mean with Sheppard's correction
//! `- dp^2 / 12` for the binning, or given; there are no particles to
//! select sub-populations from, so one dataset is written, named after the
//! species.

use std::path::{Path, PathBuf};

use collop_core::VelocityGrid;
use collop_io::{DatasetMeta, DatasetWriter, Existing, OutputDir, PicParameters, WriteMode, write_text};
use ndarray::ArrayView2;

use crate::ImportError;
use crate::h5::{H5, attr_f64, attr_string, read_all_f64};
use crate::osiris::numbered_files;
use crate::pipeline::{IMPORT_FILE, IMPORT_RUN, ImportObserver};
use crate::source::DumpInfo;

/// A code's own phase-space histograms, dump by dump.
pub trait GridSource {
    /// The file or directory read.
    fn path(&self) -> &Path;
    /// The dumps in time order.
    fn dumps(&self) -> &[DumpInfo];
    /// Cells and ranges (`u / c`) of axis 0 (`u_x`) and axis 1 (`u_y`).
    fn axes(&self) -> ([usize; 2], [[f64; 2]; 2]);
    /// Frame `k`, `n_0 x n_1` row-major (axis 0 = `u_x`), absolute values.
    fn read(&self, k: usize) -> Result<Vec<f64>, ImportError>;
}

/// OSIRIS `MS/PHA/p1p2/<species>/p1p2-<species>-NNNNNN.h5`.
pub struct OsirisPhaseSpace {
    dir: PathBuf,
    files: Vec<PathBuf>,
    dumps: Vec<DumpInfo>,
    shape: [usize; 2],
    ranges: [[f64; 2]; 2],
}

impl OsirisPhaseSpace {
    /// Opens the `p1p2` phase spaces of `species` under `ms` (the run or its `MS`).
    pub fn open(ms: &Path, species: &str) -> Result<Self, ImportError> {
        let ms = if ms.join("MS").is_dir() { ms.join("MS") } else { ms.to_path_buf() };
        let dir = ms.join("PHA").join("p1p2").join(species);
        if !dir.is_dir() {
            return Err(ImportError::input(
                &dir,
                format!(
                    "does not exist: no p1p2 phase space of species `{species}`; add `ps_pmin`, `ps_pmax`, `ps_np` and \
                         phasespaces = \"p1p2\" to its diag_species, or import its RAW dumps"
                ),
            ));
        }
        let files = numbered_files(&dir, &format!("p1p2-{species}-"))?;
        if files.is_empty() {
            return Err(ImportError::input(&dir, format!("holds no p1p2-{species}-NNNNNN.h5 file")));
        }
        let mut dumps = Vec::new();
        let mut geometry = None;
        for (n, f) in &files {
            let h5 = H5::open(f)?;
            let attrs = h5.group_attributes("/")?;
            let time =
                attr_f64(&attrs, "TIME").ok_or_else(|| ImportError::input(f, "has no TIME attribute"))?;
            let iteration = attr_f64(&attrs, "ITER").map_or(*n, |i| i as u64);
            let g = Self::geometry(&h5)?;
            if geometry.is_some_and(|x| x != g) {
                return Err(ImportError::input(
                    f,
                    "has another grid than the first dump; import dumps of one grid",
                ));
            }
            geometry = Some(g);
            dumps.push(DumpInfo { iteration, time });
        }
        let (shape, ranges) = geometry.expect("at least one file");
        Ok(Self { dir, files: files.into_iter().map(|f| f.1).collect(), dumps, shape, ranges })
    }

    fn data_name(h5: &H5) -> Result<String, ImportError> {
        let (_, datasets) = h5.members("/")?;
        datasets
            .into_iter()
            .next()
            .ok_or_else(|| ImportError::input(h5.path(), "holds no dataset at the root"))
    }

    fn geometry(h5: &H5) -> Result<([usize; 2], [[f64; 2]; 2]), ImportError> {
        let ds = h5.dataset(&Self::data_name(h5)?)?;
        let s = ds.shape();
        if s.len() != 2 {
            return Err(ImportError::input(
                h5.path(),
                format!("holds a {}-D phase space; a 2-D p1p2 is expected", s.len()),
            ));
        }
        let mut ranges = [[0.0; 2]; 2];
        for (a, r) in ranges.iter_mut().enumerate() {
            let (_, v) = read_all_f64(h5, &h5.dataset(&format!("/AXIS/AXIS{}", a + 1))?)?;
            if v.len() != 2 || v.iter().any(|x| !x.is_finite()) || v[1] <= v[0] {
                return Err(ImportError::input(
                    h5.path(),
                    format!("AXIS{} must be [min, max], is {v:?}", a + 1),
                ));
            }
            *r = [v[0], v[1]];
        }
        // HDF5 shape (n2, n1): the last axis is p1.
        Ok(([s[1] as usize, s[0] as usize], ranges))
    }
}

impl GridSource for OsirisPhaseSpace {
    fn path(&self) -> &Path {
        &self.dir
    }
    fn dumps(&self) -> &[DumpInfo] {
        &self.dumps
    }
    fn axes(&self) -> ([usize; 2], [[f64; 2]; 2]) {
        (self.shape, self.ranges)
    }
    fn read(&self, k: usize) -> Result<Vec<f64>, ImportError> {
        let h5 = H5::open(&self.files[k])?;
        let (_, v) = read_all_f64(&h5, &h5.dataset(&Self::data_name(&h5)?)?)?;
        let [n1, n2] = self.shape;
        // Transpose (n2, n1) to (n1, n2).
        Ok((0..n1 * n2).map(|c| v[(c % n2) * n1 + c / n2].abs()).collect())
    }
}

/// Smilei `ParticleBinning<N>.h5` over `px, py` (or `vx, vy`).
pub struct SmileiBinning {
    path: PathBuf,
    names: Vec<String>,
    dumps: Vec<DumpInfo>,
    shape: [usize; 2],
    ranges: [[f64; 2]; 2],
    /// Divisor turning the axis into `u / c` (the mass for momenta).
    mass: f64,
}

impl SmileiBinning {
    /// Opens `path` (a `ParticleBinning<N>.h5`); `timestep` is the run's
    /// time step in `1/omega_r` (read from a track file beside it when
    /// `None`); `mass` the species' mass in `m_e`.
    pub fn open(path: &Path, timestep: Option<f64>, mass: f64) -> Result<Self, ImportError> {
        let h5 = H5::open(path)?;
        let attrs = h5.group_attributes("/")?;
        let mut shape = [0usize; 2];
        let mut ranges = [[0.0; 2]; 2];
        for a in 0..2 {
            let text = attr_string(&attrs, &format!("axis{a}")).ok_or_else(|| {
                ImportError::input(
                    path,
                    format!("has no attribute axis{a}; a 2-D ParticleBinning over px, py is expected"),
                )
            })?;
            let f: Vec<&str> = text.split_whitespace().collect();
            let want = if a == 0 { ["px", "vx"] } else { ["py", "vy"] };
            if f.len() < 6 || !want.contains(&f[0]) {
                return Err(ImportError::input(
                    path,
                    format!(
                        "axis{a} is `{text}`; collop needs axes = [[\"px\", ...], [\"py\", ...]] (or vx, vy)"
                    ),
                ));
            }
            let parse = |s: &str| {
                s.parse::<f64>()
                    .map_err(|_| ImportError::input(path, format!("axis{a} `{text}` is unreadable")))
            };
            let (lo, hi) = (parse(f[1])?, parse(f[2])?);
            let n = f[3]
                .parse::<usize>()
                .map_err(|_| ImportError::input(path, format!("axis{a} `{text}` has no size")))?;
            if f[4] != "0" {
                return Err(ImportError::input(
                    path,
                    format!("axis{a} is logarithmic; a dataset needs a linear axis"),
                ));
            }
            if f[5] != "0" {
                return Err(ImportError::input(
                    path,
                    format!(
                        "axis{a} includes its edges (particles outside are piled into the end cells); \
                             rerun the diagnostic with edge_inclusive off"
                    ),
                ));
            }
            shape[a] = n;
            ranges[a] = [lo, hi];
        }
        let axis0 = attr_string(&attrs, "axis0").unwrap_or_default();
        let mass = if axis0.starts_with('v') { 1.0 } else { mass };
        let step = match timestep {
            Some(t) => t,
            None => Self::timestep_beside(path).ok_or_else(|| {
                ImportError::input(
                    path,
                    "Smilei records time steps, not times, and no TrackParticlesDisordered_*.h5 beside it says the \
                     step; give the run's timestep (Main.timestep of the namelist) with --pic-dt",
                )
            })?,
        };
        let (_, names) = h5.members("/")?;
        let mut found: Vec<(u64, String)> = names
            .into_iter()
            .filter_map(|n| {
                n.strip_prefix("timestep").and_then(|d| d.parse::<u64>().ok()).map(|i| (i, n.clone()))
            })
            .collect();
        found.sort();
        if found.is_empty() {
            return Err(ImportError::input(path, "holds no timestepNNNNNNNN dataset"));
        }
        let dumps = found.iter().map(|(i, _)| DumpInfo { iteration: *i, time: *i as f64 * step }).collect();
        Ok(Self {
            path: path.to_path_buf(),
            names: found.into_iter().map(|f| f.1).collect(),
            dumps,
            shape,
            ranges,
            mass,
        })
    }

    fn timestep_beside(path: &Path) -> Option<f64> {
        let dir = path.parent()?;
        let track = std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("TrackParticlesDisordered_"))
        })?;
        let h5 = H5::open(&track).ok()?;
        let (groups, _) = h5.members("/data").ok()?;
        let first = groups.first()?;
        attr_f64(&h5.group_attributes(&format!("/data/{first}")).ok()?, "dt")
    }
}

impl GridSource for SmileiBinning {
    fn path(&self) -> &Path {
        &self.path
    }
    fn dumps(&self) -> &[DumpInfo] {
        &self.dumps
    }
    fn axes(&self) -> ([usize; 2], [[f64; 2]; 2]) {
        let r = self.ranges.map(|[a, b]| [a / self.mass, b / self.mass]);
        (self.shape, r)
    }
    fn read(&self, k: usize) -> Result<Vec<f64>, ImportError> {
        let h5 = H5::open(&self.path)?;
        let (shape, v) = read_all_f64(&h5, &h5.dataset(&self.names[k])?)?;
        if shape != [self.shape[0], self.shape[1]] {
            return Err(ImportError::input(
                &self.path,
                format!("{} has shape {shape:?}, not {:?}", self.names[k], self.shape),
            ));
        }
        Ok(v.into_iter().map(f64::abs).collect())
    }
}

/// How to import a code's histograms.
#[derive(Debug, Clone, PartialEq)]
pub struct GridOptions {
    /// The dataset's name (`<out>/<name>/f`).
    pub name: String,
    /// First and one-past-last dump (indices into the source's dumps).
    pub first_dump: usize,
    /// `None`: to the end.
    pub end_dump: Option<usize>,
    /// `v_th / c` (`None`: measured from the first frame).
    pub vth_c: Option<f64>,
    /// PIC parameters for `args.yaml`.
    pub pic: PicParameters,
    /// First dump readers use (`i_start`).
    pub i_start: usize,
    /// What to do with an existing import.
    pub existing: Existing,
    /// Recorded in `import.toml`.
    pub source_label: String,
}

impl GridOptions {
    /// Every dump of dataset `name`, `v_th` measured, no PIC parameters,
    /// readers' first dump 0, an existing import refused.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            first_dump: 0,
            end_dump: None,
            vth_c: None,
            pic: PicParameters::default(),
            i_start: 0,
            existing: Existing::default(),
            source_label: String::new(),
        }
    }
}

/// `v_th / c` of a histogram over `u_x`: the rms about the mean with
/// Sheppard's correction `- du^2 / 12`.
pub fn histogram_vth(frame: &[f64], shape: [usize; 2], range: [f64; 2]) -> f64 {
    let du = (range[1] - range[0]) / shape[0] as f64;
    let (mut s0, mut s1, mut s2) = (0.0, 0.0, 0.0);
    for i in 0..shape[0] {
        let u = range[0] + (i as f64 + 0.5) * du;
        let f: f64 = frame[i * shape[1]..(i + 1) * shape[1]].iter().sum();
        s0 += f;
        s1 += f * u;
        s2 += f * u * u;
    }
    let mean = s1 / s0;
    (s2 / s0 - mean * mean - du * du / 12.0).max(0.0).sqrt()
}

/// Imports the histograms of `src` as the dataset `<out>/<name>/f`; returns
/// `v_th / c` and the time between dumps.
pub fn import_grid(
    src: &dyn GridSource,
    out: &Path,
    opts: &GridOptions,
    observer: &mut dyn ImportObserver,
) -> Result<(f64, f64), ImportError> {
    let dumps = src.dumps();
    let end = opts.end_dump.unwrap_or(dumps.len()).min(dumps.len());
    if opts.first_dump >= end {
        return Err(ImportError::Spec(format!(
            "--dumps {}:{end}: the source has dumps 0..{}",
            opts.first_dump,
            dumps.len()
        )));
    }
    let sel = &dumps[opts.first_dump..end];
    let dt = crate::pipeline::check_spacing(src.path(), sel)?;
    if opts.i_start >= sel.len() {
        return Err(ImportError::Spec(format!(
            "i_start = {} but only {} dumps are imported",
            opts.i_start,
            sel.len()
        )));
    }
    let (shape, ranges) = src.axes();
    let first = src.read(opts.first_dump)?;
    let vth_c = opts.vth_c.unwrap_or_else(|| histogram_vth(&first, shape, ranges[0]));
    if !(vth_c.is_finite() && vth_c > 0.0) {
        return Err(ImportError::input(
            src.path(),
            format!("the first frame has no spread (v_th = {vth_c}); give --vth-c"),
        ));
    }
    let grid = VelocityGrid::new(
        shape[0],
        shape[1],
        [ranges[0][0] / vth_c, ranges[0][1] / vth_c],
        [ranges[1][0] / vth_c, ranges[1][1] / vth_c],
    )
    .map_err(|e| ImportError::input(src.path(), e.to_string()))?;
    let mut pic = opts.pic.clone();
    pic.vth_c = Some(vth_c);
    let meta = DatasetMeta::new(grid, dt, opts.i_start, sel[opts.i_start].time)
        .with_v_range_c([ranges[0][0], ranges[0][1], ranges[1][0], ranges[1][1]])
        .with_pic_parameters(&pic);
    let record = format!(
        "# collop import: the resolved specification of this directory's datasets\nsource = {:?}\nname = {:?}\n\
         first_dump = {}\nend_dump = {end}\nvth_c = {}\ni_start = {}\n",
        opts.source_label,
        opts.name,
        opts.first_dump,
        opts.vth_c.map_or("\"measured\"".to_string(), |v| format!("{v:e}")),
        opts.i_start
    );
    let folder = out.join(&opts.name).join("f");
    let mut dir = OutputDir::claim(out, &IMPORT_RUN, opts.existing)?;
    let record_path = out.join(IMPORT_FILE);
    let resume = opts.existing == Existing::Resume && record_path.is_file();
    if resume && std::fs::read_to_string(&record_path).ok().as_deref() != Some(record.as_str()) {
        return Err(ImportError::input(
            &record_path,
            "records another import; resume with the same options, or --overwrite",
        ));
    }
    let mode = if resume { WriteMode::Resume } else { WriteMode::New };
    DatasetWriter::check(&folder, &meta, mode)?;
    dir.clear_replaced()?;
    write_text(&record_path, &record)?;
    let mut writer = DatasetWriter::create(&folder, &meta, mode)?;
    observer.species_started(&opts.name, sel.len());
    for k in 0..sel.len() {
        if observer.stop_requested() {
            return Err(ImportError::Interrupted);
        }
        let frame = if k == 0 { first.clone() } else { src.read(opts.first_dump + k)? };
        let view = ArrayView2::from_shape((shape[0], shape[1]), &frame)
            .map_err(|e| ImportError::input(src.path(), format!("frame {k}: {e}")))?;
        writer.write_frame(k, view)?;
        observer.dump_done(k);
    }
    writer.finish()?;
    Ok((vth_c, dt))
}
