//! PIC checkpoints, `<run>/checkpoint.npz`: the one owner of the format.
//!
//! A checkpoint holds everything a run needs to continue bit for bit from
//! a dump: [`crate::run()`] writes one every `checkpoint_every_dumps` dumps
//! (replacing the previous one atomically) and resumes from it. It exists
//! only to resume an interrupted run; deleting it restarts the run from
//! its beginning, which, the run being deterministic, recomputes the dumps
//! already on disk identically.
//!
//! ## Layout (format 3)
//!
//! An uncompressed `.npz` archive (numpy's `np.savez`; `np.load` reads it),
//! written with [`collop_io::write_npz_stored`]. `S` is a species' index in
//! [`Simulation::species`] (mobile species, each followed by its test
//! species), `P` a sub-population's index in the deck.
//!
//! | member | type | shape | holds |
//! | --- | --- | --- | --- |
//! | `format_version` | uint64 | `(1,)` | [`FORMAT_VERSION`] |
//! | `deck` | uint8 | `(bytes,)` | the resolved deck, TOML in UTF-8 |
//! | `counters` | uint64 | `(4,)` | step, next dump to write, particle chunks (threads), AVX2 kernels (0 or 1) |
//! | `species_S_x`, `species_S_y` | float64 | `(n,)` | positions in cells, in `[0, nx) x [0, ny)` |
//! | `species_S_ux`, `_uy`, `_uz` | float64 | `(n,)` | momenta `u = gamma v` at `n - 1/2`, `c` |
//! | `species_S_id` | uint64 | `(n,)` | particle ids |
//! | `species_S_tag` | uint32 | `(n,)` or `(0,)` | selection bits |
//! | `species_S_u0` | float32 | `(n, 2)` or `(0, 2)` | initial in-plane momenta (reweighting) |
//! | `field_ex` ... `field_phi` | float64 | `(cells with guards,)` | `ex, ey, ez, bx, by, bz, jx, jy, jz, rho, phi` on the padded grid ([`crate::grid`]) |
//! | `energy_step` | uint64 | `(records,)` | steps of the energy records |
//! | `energy` | float64 | `(records, 4)` | time, electric, magnetic, total |
//! | `energy_kinetic` | float64 | `(records, species)` | kinetic energy per species |
//! | `background_counts` | uint64 | `(records, 3)` | dump, background species, particles |
//! | `background` | float64 | `(records, 12)` | time, mean `x, y, z`, `T_x, T_y, T_z`, kurtosis `x, y`, plane kurtosis, `l1_maxwellian`, `l1_noise` |
//! | `tracks_P_times` | float64 | `(dumps,)` | dump times of the tracks so far |
//! | `tracks_P_data` | float64 | `(dumps * particles * width,)` | [`crate::diag::Tracks::data`] |
//!
//! ## Integrity
//!
//! Every member carries the CRC-32 of the zip format, checked when it is
//! read; the checkpoint is then checked against the deck before anything
//! of it is used: its format version and deck, the species and
//! sub-populations, every array's length, particle positions inside the
//! box, finite momenta and fields, and counters within the run (a step
//! past the run's end, or a next dump that does not follow the step, is
//! refused, never taken as a finished run). Every refusal names the file,
//! what is wrong and the fix: delete the checkpoint to restart the run, or
//! restore it from a copy.
//!
//! Versions of collop before format 3 wrote `checkpoint.bin`, a binary
//! format without checksums; it is not read (a checkpoint is only for
//! resuming a run): resuming next to one is refused with the fix.

use std::path::Path;

use collop_io::{IoError, NpzArchive, NpzElement, TypedArray, write_npz_stored};
use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewD};

use crate::PicError;
use crate::deck::Deck;
use crate::diag::{BackgroundRecord, Diagnostics};
use crate::particles::Particles;
use crate::sim::{EnergyRecord, Simulation};

/// File name of the checkpoint in a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.npz";

/// File name of the checkpoints of collop before format 3, not read.
pub const LEGACY_CHECKPOINT_FILE: &str = "checkpoint.bin";

/// The layout this version writes and reads.
pub const FORMAT_VERSION: u64 = 3;

/// What to do with a checkpoint that cannot be used.
const FIX: &str = "delete it to restart the run from its beginning (the dumps already written are \
                   recomputed identically and kept), or restore it from a copy";

/// The field arrays, in member order.
const FIELDS: [&str; 11] = ["ex", "ey", "ez", "bx", "by", "bz", "jx", "jy", "jz", "rho", "phi"];

/// Values per background record in `background`.
const BACKGROUND_VALUES: usize = 12;

/// Whether `dir` holds a checkpoint of this format or of an earlier one
/// (which [`crate::run()`] refuses with the fix).
pub fn exists(dir: &Path) -> bool {
    dir.join(CHECKPOINT_FILE).is_file() || dir.join(LEGACY_CHECKPOINT_FILE).is_file()
}

/// The error about checkpoint `path`: what is wrong, and the fix.
fn refuse(path: &Path, what: impl std::fmt::Display) -> PicError {
    PicError::Checkpoint(format!("{}: {what}; {FIX}", path.display()))
}

/// An error of the archive reader (it names the file and the array).
fn unreadable(e: IoError) -> PicError {
    PicError::Checkpoint(format!("{e}; for the run's checkpoint that means: {FIX}"))
}

/// The run's checkpoint file in `dir`, refusing a checkpoint of an
/// earlier format; `None` when there is none.
pub(crate) fn locate(dir: &Path) -> Result<Option<std::path::PathBuf>, PicError> {
    let path = dir.join(CHECKPOINT_FILE);
    if path.is_file() {
        return Ok(Some(path));
    }
    let legacy = dir.join(LEGACY_CHECKPOINT_FILE);
    if legacy.is_file() {
        return Err(PicError::Checkpoint(format!(
            "{}: a checkpoint of an earlier collop (binary, without checksums), which this version does not \
             read; delete it to restart the run from its beginning (the dumps already written are recomputed \
             identically and kept), or finish the run with the collop version that wrote it",
            legacy.display()
        )));
    }
    Ok(None)
}

fn view1<T>(v: &[T]) -> ArrayViewD<'_, T> {
    ArrayView1::from(v).into_dyn()
}

/// The floating-point fields of a background record, in checkpoint order.
fn background_values(r: &BackgroundRecord) -> [f64; BACKGROUND_VALUES] {
    [
        r.time,
        r.mean[0],
        r.mean[1],
        r.mean[2],
        r.temperature[0],
        r.temperature[1],
        r.temperature[2],
        r.kurtosis[0],
        r.kurtosis[1],
        r.kurtosis_plane,
        r.l1_maxwellian,
        r.l1_noise,
    ]
}

/// The run's state after `next_dump - 1` was written, borrowed.
pub(crate) struct State<'a> {
    pub(crate) deck: &'a Deck,
    pub(crate) sim: &'a Simulation,
    pub(crate) diag: &'a Diagnostics,
    pub(crate) energy: &'a [EnergyRecord],
    pub(crate) background: &'a [BackgroundRecord],
    pub(crate) next_dump: usize,
}

/// Writes the checkpoint of `state` to `path` atomically (no temporary
/// file is left on any error, a full disk included).
pub(crate) fn write(path: &Path, state: &State<'_>) -> Result<(), PicError> {
    let sim = state.sim;
    let n_kinetic = sim.species.len();
    if let Some(r) = state.energy.iter().find(|r| r.kinetic.len() != n_kinetic) {
        return Err(PicError::Run(format!(
            "energy record of step {} has {} kinetic energies for {n_kinetic} species (a bug: please report it)",
            r.step,
            r.kinetic.len()
        )));
    }
    let deck = state.deck.to_toml().into_bytes();
    let version = [FORMAT_VERSION];
    let counters = [sim.step_count(), state.next_dump as u64, sim.chunks() as u64, u64::from(sim.simd())];
    let energy_step: Vec<u64> = state.energy.iter().map(|r| r.step).collect();
    let energy = Array2::from_shape_fn((state.energy.len(), 4), |(k, c)| {
        let r = &state.energy[k];
        [r.time, r.electric, r.magnetic, r.total][c]
    });
    let kinetic = Array2::from_shape_fn((state.energy.len(), n_kinetic), |(k, s)| state.energy[k].kinetic[s]);
    let counts = Array2::from_shape_fn((state.background.len(), 3), |(k, c)| {
        let r = &state.background[k];
        [r.dump, r.background, r.particles][c] as u64
    });
    let background = Array2::from_shape_fn((state.background.len(), BACKGROUND_VALUES), |(k, c)| {
        background_values(&state.background[k])[c]
    });
    let mut owned: Vec<(String, TypedArray<'_>)> = vec![
        ("format_version".into(), TypedArray::U64(view1(&version))),
        ("deck".into(), TypedArray::U8(view1(&deck))),
        ("counters".into(), TypedArray::U64(view1(&counters))),
    ];
    for (s, sp) in sim.species.iter().enumerate() {
        let p = &sp.particles;
        for (c, a) in [("x", &p.x), ("y", &p.y), ("ux", &p.ux), ("uy", &p.uy), ("uz", &p.uz)] {
            owned.push((format!("species_{s}_{c}"), TypedArray::F64(view1(a))));
        }
        owned.push((format!("species_{s}_id"), TypedArray::U64(view1(&p.id))));
        owned.push((format!("species_{s}_tag"), TypedArray::U32(view1(&p.tag))));
        let u0 =
            ArrayView2::from_shape((p.u0.len(), 2), p.u0.as_flattened()).expect("two values per particle");
        owned.push((format!("species_{s}_u0"), TypedArray::F32(u0.into_dyn())));
    }
    let f = &sim.fields;
    for (name, a) in
        FIELDS.iter().zip([&f.ex, &f.ey, &f.ez, &f.bx, &f.by, &f.bz, &f.jx, &f.jy, &f.jz, &f.rho, &f.phi])
    {
        owned.push((format!("field_{name}"), TypedArray::F64(view1(a))));
    }
    owned.push(("energy_step".into(), TypedArray::U64(view1(&energy_step))));
    owned.push(("energy".into(), TypedArray::F64(energy.view().into_dyn())));
    owned.push(("energy_kinetic".into(), TypedArray::F64(kinetic.view().into_dyn())));
    owned.push(("background_counts".into(), TypedArray::U64(counts.view().into_dyn())));
    owned.push(("background".into(), TypedArray::F64(background.view().into_dyn())));
    for (k, pop) in state.diag.pops.iter().enumerate() {
        owned.push((format!("tracks_{k}_times"), TypedArray::F64(view1(&pop.tracks.times))));
        owned.push((format!("tracks_{k}_data"), TypedArray::F64(view1(&pop.tracks.data))));
    }
    let members: Vec<(&str, TypedArray<'_>)> = owned.iter().map(|(n, a)| (n.as_str(), a.clone())).collect();
    write_npz_stored(path, &members).map_err(|e| PicError::Run(format!("writing the checkpoint failed: {e}")))
}

/// A checkpoint read and checked against the run it resumes.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    step: u64,
    next_dump: usize,
    chunks: u64,
    simd: bool,
    species: Vec<Particles>,
    fields: Vec<Vec<f64>>,
    energy: Vec<EnergyRecord>,
    background: Vec<BackgroundRecord>,
    tracks: Vec<(Vec<f64>, Vec<f64>)>,
}

/// Reads arrays of one checkpoint, refusing shapes other than expected.
struct Reader {
    archive: NpzArchive,
}

impl Reader {
    fn path(&self) -> &Path {
        self.archive.path()
    }

    /// Array `name` of element type `T` and shape `shape`.
    fn array<T: NpzElement>(&mut self, name: &str, shape: &[usize]) -> Result<Vec<T>, PicError> {
        let (values, found) = self.archive.read_vec::<T>(name).map_err(unreadable)?;
        if found != shape {
            return Err(refuse(
                self.path(),
                format!("array `{name}` has shape {found:?}, the run needs {shape:?}"),
            ));
        }
        Ok(values)
    }

    /// A one-dimensional array `name` of any length.
    fn vector<T: NpzElement>(&mut self, name: &str) -> Result<Vec<T>, PicError> {
        let (values, found) = self.archive.read_vec::<T>(name).map_err(unreadable)?;
        if found.len() != 1 {
            return Err(refuse(
                self.path(),
                format!("array `{name}` has shape {found:?}, expected one axis"),
            ));
        }
        Ok(values)
    }

    /// A two-dimensional array `name` of `columns` columns and any number of rows.
    fn rows<T: NpzElement>(&mut self, name: &str, columns: usize) -> Result<(Vec<T>, usize), PicError> {
        let (values, found) = self.archive.read_vec::<T>(name).map_err(unreadable)?;
        match found[..] {
            [rows, c] if c == columns => Ok((values, rows)),
            _ => Err(refuse(
                self.path(),
                format!("array `{name}` has shape {found:?}, expected (records, {columns})"),
            )),
        }
    }
}

impl Checkpoint {
    /// Reads the checkpoint at `path` and checks it against the run it
    /// resumes: `deck`, and `sim` / `diag` as built from it (before any
    /// step). Nothing is changed.
    pub(crate) fn read(
        path: &Path,
        deck: &Deck,
        sim: &Simulation,
        diag: &Diagnostics,
    ) -> Result<Self, PicError> {
        let archive = NpzArchive::open(path).map_err(unreadable)?;
        let mut r = Reader { archive };
        if !r.archive.contains("format_version") {
            return Err(refuse(path, "not a collop-pic checkpoint (no `format_version`)"));
        }
        let version = r.array::<u64>("format_version", &[1])?[0];
        if version != FORMAT_VERSION {
            return Err(refuse(
                path,
                format!("checkpoint format {version}, this collop reads format {FORMAT_VERSION}"),
            ));
        }
        let written = String::from_utf8(r.vector::<u8>("deck")?)
            .map_err(|_| refuse(path, "the deck it holds is not UTF-8 text"))?;
        if written != deck.to_toml() {
            return Err(PicError::Checkpoint(format!(
                "{}: the checkpoint belongs to another deck; resume with the deck it was written with (deck.toml \
                 in the run directory), or {FIX}",
                path.display()
            )));
        }
        let counters = r.array::<u64>("counters", &[4])?;
        let (step, next_dump, chunks, simd) = (counters[0], counters[1], counters[2], counters[3]);
        check_counters(path, deck, step, next_dump, simd)?;
        let next_dump = next_dump as usize;

        let g = sim.grid;
        let mut species = Vec::with_capacity(sim.species.len());
        for (s, sp) in sim.species.iter().enumerate() {
            let n = sp.particles.len();
            let (n_tag, n_u0) = (sp.particles.tag.len(), sp.particles.u0.len());
            let mut f64s = |c: &str| r.array::<f64>(&format!("species_{s}_{c}"), &[n]);
            let (x, y, ux, uy, uz) = (f64s("x")?, f64s("y")?, f64s("ux")?, f64s("uy")?, f64s("uz")?);
            let id = r.array::<u64>(&format!("species_{s}_id"), &[n])?;
            let tag = r.array::<u32>(&format!("species_{s}_tag"), &[n_tag])?;
            let u0 = r.array::<f32>(&format!("species_{s}_u0"), &[n_u0, 2])?;
            let u0: Vec<[f32; 2]> = u0.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
            let p = Particles { x, y, ux, uy, uz, id, tag, u0 };
            check_particles(path, &sp.name, &p, g.nx as f64, g.ny as f64)?;
            species.push(p);
        }
        if r.archive.contains(&format!("species_{}_x", sim.species.len())) {
            return Err(refuse(path, "it holds more species than the deck"));
        }
        let len = g.padded_len();
        let mut fields = Vec::with_capacity(FIELDS.len());
        for name in FIELDS {
            let a = r.array::<f64>(&format!("field_{name}"), &[len])?;
            if let Some(k) = a.iter().position(|v| !v.is_finite()) {
                return Err(refuse(
                    path,
                    format!("field `{name}` is {} at index {k}; fields must be finite", a[k]),
                ));
            }
            // Finite values whose energy overflows (near 1e154 and above).
            if !a.iter().map(|v| v * v).sum::<f64>().is_finite() {
                let k = a.iter().position(|v| !(v * v).is_finite()).unwrap_or(0);
                return Err(refuse(
                    path,
                    format!(
                        "field `{name}` is {} at index {k}; its energy overflows, fields must be far smaller",
                        a[k]
                    ),
                ));
            }
            fields.push(a);
        }

        let energy = read_energy(&mut r, sim.species.len(), step)?;
        let background = read_background(&mut r, diag.backgrounds.len(), next_dump)?;
        let mut tracks = Vec::with_capacity(diag.pops.len());
        for (k, pop) in diag.pops.iter().enumerate() {
            let times = r.vector::<f64>(&format!("tracks_{k}_times"))?;
            let data = r.vector::<f64>(&format!("tracks_{k}_data"))?;
            if let Some(j) = times.iter().position(|t| !t.is_finite()) {
                return Err(refuse(
                    path,
                    format!(
                        "the tracks of `{}` are at time {} at dump {j}; times must be finite",
                        pop.name, times[j]
                    ),
                ));
            }
            let expected = times.len() * pop.tracks.ids.len() * pop.tracks.width();
            if times.len() > next_dump || data.len() != expected {
                return Err(refuse(
                    path,
                    format!(
                        "the tracks of `{}` hold {} dumps and {} values, the run needs at most {next_dump} dumps of \
                         {} particles x {} values",
                        pop.name,
                        times.len(),
                        data.len(),
                        pop.tracks.ids.len(),
                        pop.tracks.width()
                    ),
                ));
            }
            tracks.push((times, data));
        }
        if r.archive.contains(&format!("tracks_{}_times", diag.pops.len())) {
            return Err(refuse(path, "it holds more sub-populations than the deck"));
        }
        Ok(Self { step, next_dump, chunks, simd: simd == 1, species, fields, energy, background, tracks })
    }

    /// Puts the checkpoint's state into the run; a warning when the
    /// continuation will not be bit-identical (another thread count or
    /// kernel build).
    pub(crate) fn restore(
        self,
        sim: &mut Simulation,
        diag: &mut Diagnostics,
        energy: &mut Vec<EnergyRecord>,
        background: &mut Vec<BackgroundRecord>,
        next_dump: &mut usize,
    ) -> Option<String> {
        // Still a valid continuation, but not bit-identical to an
        // uninterrupted run: rounding differs.
        let warning = (self.chunks != sim.chunks() as u64 || self.simd != sim.simd()).then(|| {
            format!(
                "checkpoint written with {} threads (simd {}), resumed with {} (simd {}): \
                 the continuation is valid but not bit-identical",
                self.chunks,
                self.simd,
                sim.chunks(),
                sim.simd()
            )
        });
        for (sp, p) in sim.species.iter_mut().zip(self.species) {
            sp.particles = p;
        }
        let f = &mut sim.fields;
        for (a, saved) in [
            &mut f.ex, &mut f.ey, &mut f.ez, &mut f.bx, &mut f.by, &mut f.bz, &mut f.jx, &mut f.jy,
            &mut f.jz, &mut f.rho, &mut f.phi,
        ]
        .into_iter()
        .zip(self.fields)
        {
            *a = saved;
        }
        sim.set_step_count(self.step);
        for (pop, (t, d)) in diag.pops.iter_mut().zip(self.tracks) {
            pop.tracks.times = t;
            pop.tracks.data = d;
        }
        *energy = self.energy;
        *background = self.background;
        *next_dump = self.next_dump;
        warning
    }
}

/// A checkpoint is written right after the dump at `step`, and only before
/// the run's last step.
fn check_counters(path: &Path, deck: &Deck, step: u64, next_dump: u64, simd: u64) -> Result<(), PicError> {
    let n_steps = deck.time.n_steps as u64;
    let dump_every = deck.time.dump_every as u64;
    if step > n_steps {
        return Err(refuse(
            path,
            format!(
                "it is at step {step}, past the run's last step {n_steps}: it does not belong to this run"
            ),
        ));
    }
    if !step.is_multiple_of(dump_every) || next_dump != step / dump_every + 1 {
        return Err(refuse(
            path,
            format!(
                "it is at step {step} with dump {next_dump} next; checkpoints are written right after a dump \
                 (every {dump_every} steps), with the following dump next"
            ),
        ));
    }
    if simd > 1 {
        return Err(refuse(path, format!("its kernel flag is {simd}, not 0 or 1")));
    }
    Ok(())
}

/// Positions inside the box and finite momenta: anything else would send
/// the particle kernels out of the grid.
fn check_particles(path: &Path, species: &str, p: &Particles, nx: f64, ny: f64) -> Result<(), PicError> {
    let outside = |v: &[f64], n: f64| v.iter().position(|&x| !(0.0..n).contains(&x));
    for (axis, v, n) in [("x", &p.x, nx), ("y", &p.y, ny)] {
        if let Some(k) = outside(v, n) {
            return Err(refuse(
                path,
                format!(
                    "particle {k} of `{species}` is at {axis} = {} cells, outside the box [0, {n})",
                    v[k]
                ),
            ));
        }
    }
    for (axis, v) in [("u_x", &p.ux), ("u_y", &p.uy), ("u_z", &p.uz)] {
        if let Some(k) = v.iter().position(|u| !u.is_finite()) {
            return Err(refuse(path, format!("particle {k} of `{species}` has {axis} = {}", v[k])));
        }
    }
    // Finite components whose Lorentz factor overflows (|u| near 1e154 c
    // and above) would make the first step's energy infinite.
    let u2 = |k: usize| p.ux[k] * p.ux[k] + p.uy[k] * p.uy[k] + p.uz[k] * p.uz[k];
    if let Some(k) = (0..p.ux.len().min(p.uy.len()).min(p.uz.len())).find(|&k| !u2(k).is_finite()) {
        return Err(refuse(
            path,
            format!(
                "particle {k} of `{species}` has momentum u = ({}, {}, {}), whose Lorentz factor overflows",
                p.ux[k], p.uy[k], p.uz[k]
            ),
        ));
    }
    if let Some(k) = p.u0.iter().position(|u| !(u[0].is_finite() && u[1].is_finite())) {
        return Err(refuse(path, format!("particle {k} of `{species}` has initial momentum {:?}", p.u0[k])));
    }
    Ok(())
}

fn read_energy(r: &mut Reader, n_species: usize, step: u64) -> Result<Vec<EnergyRecord>, PicError> {
    let steps = r.vector::<u64>("energy_step")?;
    let (values, records) = r.rows::<f64>("energy", 4)?;
    let (kinetic, kinetic_records) = r.rows::<f64>("energy_kinetic", n_species)?;
    if records != steps.len() || kinetic_records != steps.len() {
        return Err(refuse(
            r.path(),
            format!(
                "`energy_step`, `energy` and `energy_kinetic` hold {}, {records} and {kinetic_records} records",
                steps.len()
            ),
        ));
    }
    if let Some(k) = steps.iter().position(|&s| s > step) {
        return Err(refuse(
            r.path(),
            format!("energy record {k} is at step {}, after the checkpoint's {step}", steps[k]),
        ));
    }
    // The run refuses a non-finite energy when it records one.
    for (name, v, width) in [("energy", &values, 4), ("energy_kinetic", &kinetic, n_species)] {
        if let Some(j) = v.iter().position(|x| !x.is_finite()) {
            return Err(refuse(
                r.path(),
                format!("`{name}` holds {} in record {}; energies must be finite", v[j], j / width.max(1)),
            ));
        }
    }
    Ok(steps
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let v = &values[4 * k..4 * k + 4];
            EnergyRecord {
                step: s,
                time: v[0],
                electric: v[1],
                magnetic: v[2],
                kinetic: kinetic[n_species * k..n_species * (k + 1)].to_vec(),
                total: v[3],
            }
        })
        .collect())
}

fn read_background(
    r: &mut Reader,
    n_backgrounds: usize,
    next_dump: usize,
) -> Result<Vec<BackgroundRecord>, PicError> {
    let (counts, records) = r.rows::<u64>("background_counts", 3)?;
    let (values, value_records) = r.rows::<f64>("background", BACKGROUND_VALUES)?;
    if records != value_records {
        return Err(refuse(
            r.path(),
            format!("`background_counts` and `background` hold {records} and {value_records} records"),
        ));
    }
    let mut out = Vec::with_capacity(records);
    for k in 0..records {
        let c = &counts[3 * k..3 * k + 3];
        if c[0] >= next_dump as u64 || c[1] >= n_backgrounds as u64 {
            return Err(refuse(
                r.path(),
                format!(
                    "background record {k} is of dump {} and species {}, the run has {next_dump} dumps so far and \
                     {n_backgrounds} background species",
                    c[0], c[1]
                ),
            ));
        }
        let v = &values[BACKGROUND_VALUES * k..BACKGROUND_VALUES * (k + 1)];
        out.push(BackgroundRecord {
            dump: c[0] as usize,
            background: c[1] as usize,
            particles: c[2] as usize,
            time: v[0],
            mean: [v[1], v[2], v[3]],
            temperature: [v[4], v[5], v[6]],
            kurtosis: [v[7], v[8]],
            kurtosis_plane: v[9],
            l1_maxwellian: v[10],
            l1_noise: v[11],
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deck() -> Deck {
        Deck::from_toml(include_str!("../decks/small.toml")).unwrap()
    }

    #[test]
    fn counters_past_the_run_or_off_a_dump_are_refused() {
        let d = deck();
        let (n, every) = (d.time.n_steps as u64, d.time.dump_every as u64);
        let p = Path::new("run").join(CHECKPOINT_FILE);
        assert!(check_counters(&p, &d, 2 * every, 3, 0).is_ok());
        // Past the end: refused, never taken as a finished run.
        let past = (n / every + 2) * every;
        let e = check_counters(&p, &d, past, past / every + 1, 0).unwrap_err().to_string();
        assert!(e.contains("past the run's last step") && e.contains(&format!("{}", p.display())), "{e}");
        assert!(e.contains("delete it to restart"), "{e}");
        let e = check_counters(&p, &d, 2 * every, 7, 0).unwrap_err().to_string();
        assert!(e.contains("dump 7 next"), "{e}");
        let e = check_counters(&p, &d, 2 * every + 1, 3, 0).unwrap_err().to_string();
        assert!(e.contains("written right after a dump"), "{e}");
        assert!(check_counters(&p, &d, 2 * every, 3, 2).is_err());
    }

    #[test]
    fn particles_outside_the_box_or_with_non_finite_momenta_are_refused() {
        let p = Path::new(CHECKPOINT_FILE);
        let mut ps = Particles::with_capacity(2);
        ps.push(0.5, 3.25, [0.1, -0.2, 0.0], 0);
        ps.push(7.999, 0.0, [0.0, 0.0, 1.0], 1);
        assert!(check_particles(p, "electrons", &ps, 8.0, 4.0).is_ok());
        for (bad, what) in [(8.0, "x = 8"), (-1e-9, "x = -0.000000001"), (f64::NAN, "x = NaN")] {
            let mut q = ps.clone();
            q.x[1] = bad;
            let e = check_particles(p, "electrons", &q, 8.0, 4.0).unwrap_err().to_string();
            assert!(e.contains(&format!("particle 1 of `electrons` is at {what}")), "{e}");
        }
        let mut q = ps.clone();
        q.uz[0] = f64::INFINITY;
        let e = check_particles(p, "electrons", &q, 8.0, 4.0).unwrap_err().to_string();
        assert!(e.contains("u_z = inf"), "{e}");
        let mut q = ps;
        q.u0 = vec![[0.0, 0.0], [f32::NAN, 0.0]];
        assert!(check_particles(p, "electrons", &q, 8.0, 4.0).is_err());
    }
}
