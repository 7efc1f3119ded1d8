//! The import of particle data: sub-populations selected at the first dump,
//! binned dump by dump, tracked particles followed by id, written through
//! `collop-io` (datasets with their `args.yaml`, track files) into an
//! output directory claimed with [`collop_io::OutputDir`].
//!
//! ## Units (collop pic's convention)
//!
//! Histogram velocities are the momenta per mass `u = gamma v` (OSIRIS'
//! `p1, p2`, collop pic's histograms) in units of the species' thermal
//! spread `v_th`, the weighted rms of `u_x` about its mean at the first
//! imported dump (or the `v_th / c` given). For `v_th << c` they equal
//! `v / v_th` to `O(v^2 / c^2)`. `v_th / c` goes into `args.yaml`
//! (`vth_c`) and the track files (`v_th_c`).
//!
//! ## Weights
//!
//! A particle adds `w / <w>` to its cell (times its reweighting weight),
//! `<w>` the species' mean macro-particle weight at the first dump: plain
//! particle counts when every weight is equal, as in collop pic's datasets.
//!
//! ## Memory
//!
//! One chunk of particles at a time (`chunk_len`, 2^16 by default), plus
//! per sub-population its histogram, its tracked particles' rows, and the
//! ids of its members when membership is not `all` (16 bytes per member in
//! a hash map): a region of 10^6 particles costs tens of MB whatever the
//! size of the run.
//!
//! ## Resume
//!
//! The output directory records the import in `import.toml`; `--resume`
//! refuses another import, recomputes the selection (deterministic: the
//! same ids, the same uniform numbers), skips the dumps whose frames are
//! all on disk (unless tracks must be re-read) and writes the rest, so an
//! interrupted import resumed gives the same files as an uninterrupted one.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::{Path, PathBuf};

use collop_core::VelocityGrid;
use collop_core::population::{
    Distribution, Method, Region, choose_key, first_region, reweighting_weight, selected, selection_bound,
};
use collop_io::{
    DatasetMeta, DatasetWriter, Existing, OutputDir, OutputKind, PicParameters, TRACKS_FILE, TrackData,
    WriteMode, frame_file_name, write_text, write_tracks,
};
use ndarray::{Array2, ArrayView2};

use crate::ImportError;
use crate::bin::Binner;
use crate::source::{Chunk, ParticleSource};
use crate::spec::ImportSpec;

/// The record of an import in its output directory.
pub const IMPORT_FILE: &str = "import.toml";

/// Default particles per chunk.
pub const DEFAULT_CHUNK: usize = 1 << 16;

fn holds_import(dir: &Path) -> bool {
    dir.join(IMPORT_FILE).is_file()
}

fn owned_by_import(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n == IMPORT_FILE) || p.join("f").join(collop_io::ARGS_FILE).is_file()
}

/// An import's output directory for the overwrite rule of [`OutputDir`].
pub const IMPORT_RUN: OutputKind = OutputKind {
    name: "an import",
    holds: holds_import,
    owns: Some(owned_by_import),
    accepts: "continue it with `--resume` or replace it with `--overwrite`",
};

/// How to import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// The sub-populations and the grid.
    pub spec: ImportSpec,
    /// First dump imported (an index into the source's dumps, in time
    /// order): where sub-populations are selected.
    pub first_dump: usize,
    /// One past the last dump imported (`None`: to the end).
    pub end_dump: Option<usize>,
    /// `v_th / c` of the species (`None`: measured at the first dump).
    pub vth_c: Option<f64>,
    /// PIC parameters the files do not hold (`ppc`, `dx_over_debye`,
    /// `shape_order`, ...), written into every `args.yaml`.
    pub pic: PicParameters,
    /// Particles per chunk read.
    pub chunk_len: usize,
    /// What to do with an output directory that holds an import.
    pub existing: Existing,
    /// Stop (as if interrupted) after this many dumps are written in this
    /// call: for tests of `--resume`.
    pub stop_after: Option<usize>,
    /// A description of the input (format and path) recorded in `import.toml`.
    pub source_label: String,
}

impl ImportOptions {
    /// Options for `spec` with defaults: every dump, `v_th` measured, no
    /// PIC parameters, a new output directory.
    pub fn new(spec: ImportSpec) -> Self {
        Self {
            spec,
            first_dump: 0,
            end_dump: None,
            vth_c: None,
            pic: PicParameters::default(),
            chunk_len: DEFAULT_CHUNK,
            existing: Existing::Refuse,
            stop_after: None,
            source_label: String::new(),
        }
    }
}

/// Progress of an import.
pub trait ImportObserver {
    /// A species starts: `dumps` dumps to go through.
    fn species_started(&mut self, _species: &str, _dumps: usize) {}
    /// Dump `k` (from 0) of the species is done.
    fn dump_done(&mut self, _k: usize) {}
    /// Whether to stop at the next dump (Ctrl-C).
    fn stop_requested(&self) -> bool {
        false
    }
}

/// An observer that reports nothing.
pub struct Silent;

impl ImportObserver for Silent {}

/// What an import did, per sub-population.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationReport {
    /// Its name (the dataset `<out>/<name>/f`).
    pub name: String,
    /// Its species.
    pub species: String,
    /// Member particles at the first dump.
    pub particles: u64,
    /// Effective sample size `(sum m)^2 / sum m^2` of the membership weights.
    pub effective_sample_size: f64,
    /// Tracked particles.
    pub tracks: usize,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    /// Per species: name, `v_th / c`, and whether it was measured.
    pub species: Vec<(String, f64, bool)>,
    /// Dumps imported.
    pub dumps: usize,
    /// Time between dumps, `1/omega_p`.
    pub dt: f64,
    /// The sub-populations.
    pub populations: Vec<PopulationReport>,
    /// PIC parameters collop's theory needs that neither the files nor the
    /// options gave (`args.yaml` keys).
    pub missing_parameters: Vec<&'static str>,
    /// What the user should know about the result.
    pub notes: Vec<String>,
}

/// Membership of one sub-population.
enum Rule {
    All,
    Region(Region),
    Selection { target: Distribution, bound: f64 },
    Reweighting { target: Distribution },
}

/// A sub-population at import time.
struct Pop {
    name: String,
    method: Method,
    rule: Rule,
    /// Membership weights by id (not for `all`).
    members: HashMap<u64, f64>,
    stream: u64,
    tracks_wanted: usize,
    /// Tracked ids ascending and their columns.
    track_ids: Vec<u64>,
    track_col: HashMap<u64, usize>,
    /// Per dump: vx, vy, vz of each tracked particle (NaN when absent).
    track_rows: Vec<[Vec<f64>; 3]>,
    particles: u64,
    s1: f64,
    s2: f64,
}

/// The largest `k` keys seen (streaming [`collop_core::population::choose`]).
struct TopK {
    k: usize,
    heap: BinaryHeap<Reverse<(Key, u64)>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Key(f64);
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl TopK {
    fn new(k: usize) -> Self {
        Self { k, heap: BinaryHeap::new() }
    }

    fn push(&mut self, key: f64, id: u64) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Reverse((Key(key), id)));
        } else if let Some(Reverse((min, _))) = self.heap.peek()
            && Key(key) > *min
        {
            self.heap.pop();
            self.heap.push(Reverse((Key(key), id)));
        }
    }

    fn ids(self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.heap.into_iter().map(|Reverse((_, id))| id).collect();
        ids.sort_unstable();
        ids
    }
}

/// Weighted moments of a species at one dump.
struct Moments {
    n: u64,
    sw: f64,
    /// Sum of squared weights.
    sww: f64,
    mx: f64,
    my: f64,
    vth_c: f64,
}

fn moments(src: &dyn ParticleSource, k: usize, chunk_len: usize) -> Result<Moments, ImportError> {
    // One pass of sums shifted by the first particle's velocity, so that the
    // variance does not cancel catastrophically when the mean is large
    // against the spread (Chan, Golub & LeVeque, Am. Stat. 37 (1983) 242).
    let (mut n, mut sw, mut sww, mut sx, mut sy, mut sxx) = (0u64, 0.0, 0.0, 0.0, 0.0, 0.0);
    let mut shift: Option<(f64, f64)> = None;
    src.read_dump(k, chunk_len, false, &mut |c: &Chunk| {
        if c.is_empty() {
            return Ok(());
        }
        let (kx, ky) = *shift.get_or_insert((c.ux[0], c.uy[0]));
        n += c.len() as u64;
        for q in 0..c.len() {
            let (w, dx) = (c.w[q], c.ux[q] - kx);
            sw += w;
            sww += w * w;
            sx += w * dx;
            sy += w * (c.uy[q] - ky);
            sxx += w * dx * dx;
        }
        Ok(())
    })?;
    let Some((kx, ky)) = shift.filter(|_| sw > 0.0) else {
        return Err(ImportError::input(src.path(), format!("dump {k} holds no particle of the species")));
    };
    let (dx, dy) = (sx / sw, sy / sw);
    Ok(Moments { n, sw, sww, mx: kx + dx, my: ky + dy, vth_c: (sxx / sw - dx * dx).max(0.0).sqrt() })
}

/// Opens the particle source of a species by name.
pub type OpenSource<'a> = dyn Fn(&str) -> Result<Box<dyn ParticleSource>, ImportError> + 'a;

/// Imports the sub-populations of `opts.spec` from the particle sources
/// `open(species)` into `out`: `<out>/<name>/f/` datasets and
/// `<out>/<name>/tracks.npz` track files.
pub fn import_particles(
    open: &OpenSource<'_>,
    out: &Path,
    opts: &ImportOptions,
    observer: &mut dyn ImportObserver,
) -> Result<ImportReport, ImportError> {
    let spec = &opts.spec;
    spec.check()?;
    if let Some(sp) = spec.sub_populations.iter().find(|sp| sp.track_positions) {
        return Err(ImportError::Spec(format!(
            "sub-population '{}': track_positions is not imported (only velocities); remove it",
            sp.name
        )));
    }
    if let Some(v) = opts.vth_c
        && !(v.is_finite() && v > 0.0)
    {
        return Err(ImportError::Spec(format!(
            "--vth-c {v} must be finite and > 0 (v_th / c of the species)"
        )));
    }
    // Every source opened and checked before anything is written.
    let mut sources = Vec::new();
    let mut range = None;
    for species in spec.species() {
        let src = open(&species)?;
        let dumps = src.dumps();
        let end = opts.end_dump.unwrap_or(dumps.len()).min(dumps.len());
        if opts.first_dump >= end {
            return Err(ImportError::Spec(format!(
                "--dumps {}:{}: the source has dumps 0..{} (iterations {}..{}); choose a non-empty range",
                opts.first_dump,
                end,
                dumps.len(),
                dumps.first().map_or(0, |d| d.iteration),
                dumps.last().map_or(0, |d| d.iteration)
            )));
        }
        let times: Vec<f64> = dumps[opts.first_dump..end].iter().map(|d| d.time).collect();
        let dt = check_spacing(src.path(), &dumps[opts.first_dump..end])?;
        if let Some((t0, d0)) = &range
            && (*t0 != times || *d0 != dt)
        {
            return Err(ImportError::input(
                src.path(),
                format!(
                    "species '{species}' has other dumps than the species before it; import them separately"
                ),
            ));
        }
        range = Some((times, dt));
        let needs_ids = spec
            .sub_populations
            .iter()
            .any(|sp| sp.species == species && (sp.method != Method::All || sp.tracks > 0));
        if needs_ids && !src.has_ids() {
            return Err(ImportError::input(
                src.path(),
                format!(
                    "the particles of species '{species}' have no ids, which selection, regions, reweighting and \
                     tracks need to follow them; write ids in the diagnostic (openPMD `id`, OSIRIS RAW `tag` with \
                     `raw_fraction` and tags on, Smilei tracks) or import the whole species with method = \"all\" \
                     and tracks = 0"
                ),
            ));
        }
        sources.push((species, src));
    }
    let (times, dt) = range.ok_or_else(|| ImportError::Spec("no species to import".into()))?;
    let n_dumps = times.len();
    let ps = &spec.phase_space;
    if ps.i_start >= n_dumps {
        return Err(ImportError::Spec(format!(
            "phase_space.i_start = {} but only {n_dumps} dumps are imported",
            ps.i_start
        )));
    }
    let grid = VelocityGrid::square(ps.bins, ps.v_max).map_err(|e| ImportError::Spec(e.to_string()))?;

    let record = format!(
        "# collop import: the resolved specification of this directory's datasets\nsource = {:?}\nfirst_dump = {}\n\
         end_dump = {}\nvth_c = {}\n\n{}",
        opts.source_label,
        opts.first_dump,
        opts.first_dump + n_dumps,
        opts.vth_c.map_or("\"measured\"".to_string(), |v| format!("{v:e}")),
        spec.to_toml()
    );
    let mut dir = OutputDir::claim(out, &IMPORT_RUN, opts.existing)?;
    let record_path = out.join(IMPORT_FILE);
    let resume = opts.existing == Existing::Resume && record_path.is_file();
    if resume {
        let old = std::fs::read_to_string(&record_path).map_err(|e| {
            ImportError::input(
                &record_path,
                format!("cannot be read ({e}); replace the import with --overwrite"),
            )
        })?;
        if old != record {
            return Err(ImportError::input(
                &record_path,
                "records another import (source, dumps, v_th or specification differ); resume with the same \
                 options, or replace it with --overwrite",
            ));
        }
    }
    dir.clear_replaced()?;
    write_text(&record_path, &record)?;
    let mode = if resume { WriteMode::Resume } else { WriteMode::New };

    let mut report = ImportReport {
        species: Vec::new(),
        dumps: n_dumps,
        dt,
        populations: Vec::new(),
        missing_parameters: Vec::new(),
        notes: Vec::new(),
    };
    let mut written = 0usize;
    let mut missing = std::collections::BTreeSet::new();
    for (species, src) in &sources {
        let src = src.as_ref();
        let first = opts.first_dump;
        let m = moments(src, first, opts.chunk_len)?;
        let vth_c = opts.vth_c.unwrap_or(m.vth_c);
        if !(vth_c.is_finite() && vth_c > 0.0) {
            return Err(ImportError::input(
                src.path(),
                format!(
                    "species '{species}' has no thermal spread at the first dump (v_th = {vth_c}); give --vth-c"
                ),
            ));
        }
        report.species.push((species.clone(), vth_c, opts.vth_c.is_none()));
        let w_ref = m.sw / m.n as f64;
        let inv = 1.0 / vth_c;
        let background = Distribution::Maxwellian { u_th: 1.0, drift: [m.mx * inv, m.my * inv, 0.0] };
        let mut pops = build_pops(spec, species, &background, ps.v_max)?;
        if pops.iter().all(|p| matches!(p.rule, Rule::All) && p.tracks_wanted == 0) {
            // Nothing to decide per particle: the counts are the moments'.
            for p in &mut pops {
                p.particles = m.n;
                (p.s1, p.s2) = (m.sw / w_ref, m.sww / (w_ref * w_ref));
            }
        } else {
            select(src, first, opts.chunk_len, spec.seed, inv, w_ref, &background, &mut pops)?;
        }

        // The datasets, checked all before the first is created.
        // The files' cell size with the measured v_th: lambda_D = v_th / omega_p
        // is `vth_c` in c/omega_p (the species' own Debye length, omega_p
        // being the plasma frequency of the time unit).
        let mut species_pic = opts.pic.clone();
        if species_pic.dx_over_debye.is_none()
            && let Some([dx, dy]) = src.cell_size()
        {
            species_pic.dx_over_debye = Some(dx / vth_c);
            species_pic.dy_over_debye = Some(dy / vth_c);
        }
        if species_pic.dx_over_debye.is_none() {
            missing.insert("dx_over_debye");
        }
        if species_pic.shape_order.is_none() {
            species_pic.shape_order = src.shape_order();
        }
        if species_pic.shape_order.is_none() {
            missing.insert("shape_order");
        }
        let metas: Vec<DatasetMeta> = pops
            .iter()
            .map(|p| {
                let mut pic = species_pic.clone();
                pic.vth_c = Some(vth_c);
                pic.species = Some(species.clone());
                pic.method = Some(p.method.name().to_string());
                pic.particles = Some(p.particles);
                pic.seed = Some(spec.seed);
                if p.method == Method::Reweighting {
                    pic.effective_sample_size = Some(if p.s2 > 0.0 { p.s1 * p.s1 / p.s2 } else { 0.0 });
                }
                let r = grid.x_range;
                let q = grid.y_range;
                DatasetMeta::new(grid, dt, ps.i_start, times[ps.i_start])
                    .with_v_range_c([r[0] * vth_c, r[1] * vth_c, q[0] * vth_c, q[1] * vth_c])
                    .with_pic_parameters(&pic)
            })
            .collect();
        let folders: Vec<PathBuf> = pops.iter().map(|p| out.join(&p.name).join("f")).collect();
        for (f, meta) in folders.iter().zip(&metas) {
            DatasetWriter::check(f, meta, mode)?;
        }
        let mut writers = Vec::new();
        for (f, meta) in folders.iter().zip(&metas) {
            writers.push(DatasetWriter::create(f, meta, mode)?);
        }
        let wants_tracks = pops.iter().any(|p| !p.track_ids.is_empty());
        let needs_ids = wants_tracks || pops.iter().any(|p| !matches!(p.rule, Rule::All));
        let binner = Binner::new(&grid);
        let cells = grid.nx * grid.ny;
        observer.species_started(species, n_dumps);
        let mut hists: Vec<Vec<f64>> = vec![vec![0.0; cells]; pops.len()];
        let mut weights = Vec::new();
        let mut vx = Vec::new();
        let mut vy = Vec::new();
        for k in 0..n_dumps {
            let done = writers.iter().zip(&folders).all(|(w, f)| {
                if k >= ps.i_start { k < w.next_dump() } else { f.join(frame_file_name(k)).is_file() }
            });
            if done && !wants_tracks {
                observer.dump_done(k);
                continue;
            }
            if observer.stop_requested() || opts.stop_after.is_some_and(|s| written >= s) {
                return Err(ImportError::Interrupted);
            }
            hists.iter_mut().for_each(|h| h.iter_mut().for_each(|x| *x = 0.0));
            for p in pops.iter_mut() {
                let n = p.track_ids.len();
                p.track_rows.push([vec![f64::NAN; n], vec![f64::NAN; n], vec![f64::NAN; n]]);
            }
            src.read_dump(first + k, opts.chunk_len, needs_ids, &mut |c: &Chunk| {
                vx.clear();
                vy.clear();
                vx.extend(c.ux.iter().map(|u| u * inv));
                vy.extend(c.uy.iter().map(|u| u * inv));
                for (p, h) in pops.iter_mut().zip(hists.iter_mut()) {
                    match (&p.rule, &c.id) {
                        (Rule::All, _) => {
                            weights.clear();
                            weights.extend(c.w.iter().map(|w| w / w_ref));
                            binner.add(&vx, &vy, &weights, h);
                        }
                        (_, Some(ids)) => {
                            for q in 0..c.len() {
                                if let Some(m) = p.members.get(&ids[q])
                                    && let Some(cell) = binner.cell(vx[q], vy[q])
                                {
                                    h[cell] += m * c.w[q] / w_ref;
                                }
                            }
                        }
                        (_, None) => unreachable!("ids checked when the source was opened"),
                    }
                    if !p.track_col.is_empty()
                        && let Some(ids) = &c.id
                    {
                        let row = p.track_rows.last_mut().expect("pushed above");
                        for q in 0..c.len() {
                            if let Some(&col) = p.track_col.get(&ids[q]) {
                                row[0][col] = vx[q];
                                row[1][col] = vy[q];
                                row[2][col] = c.uz[q] * inv;
                            }
                        }
                    }
                }
                Ok(())
            })?;
            if !done {
                for (w, h) in writers.iter_mut().zip(&hists) {
                    let frame = ArrayView2::from_shape((grid.nx, grid.ny), h).map_err(|e| {
                        ImportError::Spec(format!("internal: histogram of {cells} cells: {e}"))
                    })?;
                    w.write_frame(k, frame)?;
                }
                written += 1;
            }
            observer.dump_done(k);
        }
        for w in writers {
            w.finish()?;
        }
        for p in &pops {
            if p.track_ids.is_empty() {
                continue;
            }
            let n = p.track_ids.len();
            let column = |a: usize| Array2::from_shape_fn((n_dumps, n), |(d, i)| p.track_rows[d][a][i]);
            // Track files hold ids as float64, exact to 2^53; codes that pack
            // the rank into the id (WarpX: 64-bit ids) are numbered by rank.
            let exact = p.track_ids.iter().all(|&id| id <= 1u64 << 53);
            if !exact {
                report.notes.push(format!(
                    "{}: the tracked particles' ids exceed 2^53 (float64 in tracks.npz), so the track file numbers \
                     them 0..{} in the order of their ids",
                    p.name, n
                ));
            }
            let data = TrackData {
                ids: if exact { p.track_ids.clone() } else { (0..n as u64).collect() },
                times: times.clone(),
                vx: column(0),
                vy: column(1),
                vz: column(2),
                x: None,
                y: None,
                v_th_c: Some(vth_c),
            };
            write_tracks(out.join(&p.name).join(TRACKS_FILE), &data)?;
        }
        for p in &pops {
            report.populations.push(PopulationReport {
                name: p.name.clone(),
                species: species.clone(),
                particles: p.particles,
                effective_sample_size: if p.s2 > 0.0 { p.s1 * p.s1 / p.s2 } else { 0.0 },
                tracks: p.track_ids.len(),
            });
        }
    }
    let pic = &opts.pic;
    report.missing_parameters.extend(missing);
    if pic.ppc.is_none() {
        report.missing_parameters.push("ppc");
    }
    Ok(report)
}

/// The time between dumps, refusing unequally spaced or repeated ones.
pub(crate) fn check_spacing(path: &Path, dumps: &[crate::source::DumpInfo]) -> Result<f64, ImportError> {
    if dumps.len() < 2 {
        return Ok(1.0);
    }
    let dt = (dumps[dumps.len() - 1].time - dumps[0].time) / (dumps.len() - 1) as f64;
    if !(dt.is_finite() && dt > 0.0) {
        return Err(ImportError::input(
            path,
            format!(
                "the dumps' times do not increase (first {}, last {}); check the files",
                dumps[0].time,
                dumps[dumps.len() - 1].time
            ),
        ));
    }
    for (k, d) in dumps.iter().enumerate() {
        let expected = dumps[0].time + k as f64 * dt;
        if (d.time - expected).abs() > 1e-6 * dt.max(expected.abs() * 1e-9) + 1e-9 * dt {
            return Err(ImportError::input(
                path,
                format!(
                    "inconsistent iterations: dump {k} (iteration {}) is at t = {} but equally spaced dumps would put it \
                     at {expected} (dt = {dt}); a dataset needs equally spaced dumps: choose a range with --dumps",
                    d.iteration, d.time
                ),
            ));
        }
    }
    Ok(dt)
}

fn build_pops(
    spec: &ImportSpec,
    species: &str,
    background: &Distribution,
    v_max: f64,
) -> Result<Vec<Pop>, ImportError> {
    let mut pops = Vec::new();
    for (index, sp) in spec.sub_populations.iter().enumerate() {
        if sp.species != species {
            continue;
        }
        let rule = match sp.method {
            Method::All => Rule::All,
            Method::Region => Rule::Region(
                sp.region
                    .clone()
                    .ok_or_else(|| ImportError::Spec(format!("'{}' needs a region", sp.name)))?,
            ),
            Method::Selection => {
                let target = sp
                    .target
                    .clone()
                    .ok_or_else(|| ImportError::Spec(format!("'{}' needs a target", sp.name)))?;
                let bound = selection_bound(&target, background, v_max.max(6.0));
                if !(bound.is_finite() && bound > 0.0) {
                    return Err(ImportError::Spec(format!(
                        "sub-population '{}': the target has no overlap with species '{species}'",
                        sp.name
                    )));
                }
                Rule::Selection { target, bound }
            }
            Method::Reweighting => Rule::Reweighting {
                target: sp
                    .target
                    .clone()
                    .ok_or_else(|| ImportError::Spec(format!("'{}' needs a target", sp.name)))?,
            },
            Method::TestSpecies => unreachable!("refused by ImportSpec::check"),
        };
        pops.push(Pop {
            name: sp.name.clone(),
            method: sp.method,
            rule,
            members: HashMap::new(),
            stream: 3000 + index as u64,
            tracks_wanted: sp.tracks,
            track_ids: Vec::new(),
            track_col: HashMap::new(),
            track_rows: Vec::new(),
            particles: 0,
            s1: 0.0,
            s2: 0.0,
        });
    }
    Ok(pops)
}

/// Decides membership at the first dump and chooses the tracked particles
/// (the same rules, streams and keys as collop pic): regions exclusive in
/// order ([`first_region`]), [`selected`], [`reweighting_weight`] against
/// `background`, tracks by [`choose_key`].
#[allow(clippy::too_many_arguments)]
fn select(
    src: &dyn ParticleSource,
    first: usize,
    chunk_len: usize,
    seed: u64,
    inv: f64,
    w_ref: f64,
    background: &Distribution,
    pops: &mut [Pop],
) -> Result<(), ImportError> {
    let region_pops: Vec<usize> =
        (0..pops.len()).filter(|&i| matches!(pops[i].rule, Rule::Region(_))).collect();
    let regions: Vec<Region> = region_pops
        .iter()
        .filter_map(|&i| match &pops[i].rule {
            Rule::Region(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    let region_refs: Vec<&Region> = regions.iter().collect();
    let mut tops: Vec<TopK> = pops.iter().map(|p| TopK::new(p.tracks_wanted)).collect();
    src.read_dump(first, chunk_len, true, &mut |c: &Chunk| {
        for q in 0..c.len() {
            let (vx, vy) = (c.ux[q] * inv, c.uy[q] * inv);
            let id = c.id.as_ref().map(|ids| ids[q]);
            let wrel = c.w[q] / w_ref;
            let in_region = first_region(&region_refs, vx, vy).map(|k| region_pops[k]);
            for (i, p) in pops.iter_mut().enumerate() {
                let m = match (&p.rule, id) {
                    (Rule::All, _) => 1.0,
                    (Rule::Region(_), _) => f64::from(u8::from(in_region == Some(i))),
                    (Rule::Selection { target, bound }, Some(id)) => {
                        f64::from(u8::from(selected(target, background, *bound, seed, p.stream, id, vx, vy)))
                    }
                    (Rule::Reweighting { target }, _) => reweighting_weight(target, background, vx, vy),
                    (Rule::Selection { .. }, None) => 0.0,
                };
                record(p, &mut tops[i], seed, id, m, wrel);
            }
        }
        Ok(())
    })?;
    for (p, t) in pops.iter_mut().zip(tops) {
        p.track_ids = t.ids();
        p.track_col = p.track_ids.iter().enumerate().map(|(c, &id)| (id, c)).collect();
    }
    Ok(())
}

fn record(p: &mut Pop, top: &mut TopK, seed: u64, id: Option<u64>, m: f64, wrel: f64) {
    if m <= 0.0 {
        return;
    }
    p.particles += 1;
    p.s1 += m * wrel;
    p.s2 += (m * wrel).powi(2);
    if let Some(id) = id {
        if !matches!(p.rule, Rule::All) {
            p.members.insert(id, m);
        }
        // collop pic's streams: `all` chooses on its own stream, the others on stream + 1000.
        let stream = if matches!(p.rule, Rule::All) { p.stream } else { p.stream + 1000 };
        top.push(choose_key(seed, stream, id, m), id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::DumpInfo;
    use collop_core::population::{SubPopulationDeck, choose};

    /// Particles in memory: a deterministic pseudo-random thermal species
    /// whose order changes at every dump.
    struct Memory {
        dumps: Vec<DumpInfo>,
        data: Vec<Chunk>,
    }

    impl Memory {
        fn new(n: usize, dumps: usize) -> Self {
            Self::with_ids(n, dumps, 1000)
        }

        fn with_ids(n: usize, dumps: usize, first_id: u64) -> Self {
            let u = |seed: u64, q: u64| {
                // Box-Muller from two hashed uniforms: a Gaussian of spread 0.05.
                let (a, b) = (
                    collop_core::population::uniform_hash(seed, 1, q),
                    collop_core::population::uniform_hash(seed, 2, q),
                );
                0.05 * (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
            };
            let mut data = Vec::new();
            for k in 0..dumps as u64 {
                let mut c = Chunk::default();
                let mut ids = Vec::new();
                for q in 0..n as u64 {
                    // Another order at every dump: particle p = (q * 7 + k) mod n.
                    let p = (q * 7 + k) % n as u64;
                    c.ux.push(u(10 + k, p) + u(1, p));
                    c.uy.push(u(20 + k, p) + u(2, p));
                    c.uz.push(u(3, p));
                    c.w.push(0.5 + (p % 3) as f64 * 0.25);
                    ids.push(first_id + p);
                }
                c.id = Some(ids);
                data.push(c);
            }
            let dumps =
                (0..dumps).map(|k| DumpInfo { iteration: 10 * k as u64, time: 0.25 * k as f64 }).collect();
            Self { dumps, data }
        }
    }

    impl ParticleSource for Memory {
        fn path(&self) -> &Path {
            Path::new("memory")
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
            chunk_len: usize,
            with_ids: bool,
            f: &mut dyn FnMut(&Chunk) -> Result<(), ImportError>,
        ) -> Result<(), ImportError> {
            let c = &self.data[k];
            let _ = with_ids;
            for s in (0..c.len()).step_by(chunk_len) {
                let e = (s + chunk_len).min(c.len());
                f(&Chunk {
                    ux: c.ux[s..e].to_vec(),
                    uy: c.uy[s..e].to_vec(),
                    uz: c.uz[s..e].to_vec(),
                    w: c.w[s..e].to_vec(),
                    id: c.id.as_ref().map(|i| i[s..e].to_vec()),
                })?;
            }
            Ok(())
        }
    }

    fn spec() -> ImportSpec {
        let sub = |name: &str, method: Method, region: Option<Region>, target: Option<Distribution>| {
            SubPopulationDeck {
                name: name.into(),
                species: "e".into(),
                method,
                target,
                region,
                fraction: 0.0,
                tracks: 25,
                track_positions: false,
            }
        };
        ImportSpec {
            seed: 5,
            phase_space: collop_core::population::PhaseSpaceDeck { bins: 15, v_max: 4.0, i_start: 1 },
            sub_populations: vec![
                sub("blob", Method::Region, Some(Region::Blob { centre: [1.0, 0.0], radius: 1.0 }), None),
                sub("rest", Method::Region, Some(Region::Rest), None),
                sub(
                    "sel",
                    Method::Selection,
                    None,
                    Some(Distribution::Maxwellian { u_th: 0.5, drift: [-1.0, 0.0, 0.0] }),
                ),
                sub(
                    "rew",
                    Method::Reweighting,
                    None,
                    Some(Distribution::Maxwellian { u_th: 0.7, drift: [0.0, 1.0, 0.0] }),
                ),
                sub("all", Method::All, None, None),
            ],
        }
    }

    fn open_memory(n: usize) -> impl Fn(&str) -> Result<Box<dyn ParticleSource>, ImportError> {
        move |_: &str| Ok(Box::new(Memory::new(n, 6)) as Box<dyn ParticleSource>)
    }

    fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("listing").flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.file_name().is_some_and(|n| n != collop_io::LOCK_FILE) {
                    out.push((
                        p.strip_prefix(dir).expect("inside").to_path_buf(),
                        std::fs::read(&p).expect("read"),
                    ));
                }
            }
        }
        out.sort();
        out
    }

    /// Regions partition the species and `all` sums the weights: at every
    /// dump blob + rest = all cell by cell (to round-off), the frames'
    /// total is the in-window weight sum over the mean weight, and the
    /// reweighting's effective sample size is below its particle count.
    #[test]
    fn regions_partition_and_weights_are_honoured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let opts = ImportOptions { chunk_len: 333, ..ImportOptions::new(spec()) };
        let r = import_particles(&open_memory(3000), &out, &opts, &mut Silent).expect("import");
        assert_eq!(r.dumps, 6);
        assert!((r.dt - 0.25).abs() < 1e-15);
        for k in 0..6 {
            let f = |name: &str| {
                collop_io::read_npy_f64(out.join(name).join("f").join(frame_file_name(k))).expect("frame")
            };
            let (b, rest, all) = (f("blob"), f("rest"), f("all"));
            for ((x, y), z) in b.iter().zip(rest.iter()).zip(all.iter()) {
                assert!((x + y - z).abs() < 1e-9, "dump {k}: {x} + {y} != {z}");
            }
        }
        let rew = r.populations.iter().find(|p| p.name == "rew").expect("rew");
        assert!(rew.effective_sample_size < rew.particles as f64 && rew.effective_sample_size > 10.0);
        let sel = r.populations.iter().find(|p| p.name == "sel").expect("sel");
        assert!(sel.particles > 0 && sel.particles < 3000);
        // Tracked particles: 25 each, followed by id through the reordering.
        let t = collop_io::TrackFile::open(out.join("blob").join(collop_io::TRACKS_FILE))
            .expect("tracks")
            .read_data()
            .expect("data");
        assert_eq!(t.ids.len(), 25);
        assert!(t.vx.iter().all(|v| v.is_finite()));
    }

    /// An import stopped after two dumps and resumed writes the same bytes
    /// as one run through; another specification is refused on resume.
    #[test]
    fn resume_is_exact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let whole = dir.path().join("whole");
        let opts = ImportOptions::new(spec());
        import_particles(&open_memory(800), &whole, &opts, &mut Silent).expect("whole");
        let part = dir.path().join("part");
        let stopped = ImportOptions { stop_after: Some(2), ..opts.clone() };
        let e = import_particles(&open_memory(800), &part, &stopped, &mut Silent).expect_err("stopped");
        assert!(matches!(e, ImportError::Interrupted), "{e}");
        let again = import_particles(&open_memory(800), &part, &opts, &mut Silent).expect_err("refused");
        assert!(again.to_string().contains("--resume"), "{again}");
        let mut other = opts.clone();
        other.existing = Existing::Resume;
        other.spec.seed = 6;
        let e = import_particles(&open_memory(800), &part, &other, &mut Silent).expect_err("other spec");
        assert!(e.to_string().contains("another import"), "{e}");
        let resumed = ImportOptions { existing: Existing::Resume, ..opts };
        import_particles(&open_memory(800), &part, &resumed, &mut Silent).expect("resumed");
        let (a, b) = (files(&whole), files(&part));
        assert_eq!(a.iter().map(|f| &f.0).collect::<Vec<_>>(), b.iter().map(|f| &f.0).collect::<Vec<_>>());
        for (x, y) in a.iter().zip(&b) {
            assert!(x.1 == y.1, "{} differs after the resume", x.0.display());
        }
    }

    /// A directory another process writes into is refused, naming the
    /// holder, and left untouched.
    #[test]
    fn a_locked_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let held = OutputDir::lock(&out).expect("lock");
        let e = import_particles(&open_memory(100), &out, &ImportOptions::new(spec()), &mut Silent)
            .expect_err("locked")
            .to_string();
        assert!(e.contains(&format!("process {}", std::process::id())), "{e}");
        assert!(!out.join(IMPORT_FILE).exists());
        drop(held);
    }

    /// Ids beyond float64's exact range (WarpX packs the rank into them)
    /// are numbered by rank in the track file, with a note.
    #[test]
    fn huge_ids_are_numbered_in_track_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let open = |_: &str| Ok(Box::new(Memory::with_ids(300, 3, 1 << 60)) as Box<dyn ParticleSource>);
        let r = import_particles(&open, &out, &ImportOptions::new(spec()), &mut Silent).expect("import");
        assert!(r.notes.iter().any(|n| n.contains("2^53")), "{:?}", r.notes);
        let t = collop_io::TrackFile::open(out.join("all").join(collop_io::TRACKS_FILE)).expect("tracks");
        assert_eq!(t.ids(), (0..25).collect::<Vec<u64>>().as_slice());
    }

    /// The streaming choice keeps exactly the items `core::population::choose` picks.
    #[test]
    fn streaming_choice_equals_choose() {
        let items: Vec<(u64, f64)> = (0..500u64).map(|i| (i * 13 + 7, 0.1 + (i % 7) as f64)).collect();
        let mut top = TopK::new(37);
        for &(id, w) in &items {
            top.push(choose_key(9, 4000, id, w), id);
        }
        assert_eq!(top.ids(), choose(items.into_iter(), 37, 9, 4000));
    }

    /// Unequally spaced dumps are refused with the dump and the fix.
    #[test]
    fn inconsistent_iterations_refused() {
        let d = |t: f64| DumpInfo { iteration: (t * 10.0) as u64, time: t };
        assert!(
            (check_spacing(Path::new("x"), &[d(0.0), d(0.5), d(1.0)]).expect("even") - 0.5).abs() < 1e-15
        );
        let e = check_spacing(Path::new("run"), &[d(0.0), d(0.5), d(1.5), d(2.0)])
            .expect_err("uneven")
            .to_string();
        assert!(
            e.contains("inconsistent iterations") && e.contains("dump 1") && e.contains("--dumps"),
            "{e}"
        );
    }
}
