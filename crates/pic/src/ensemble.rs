//! Ensembles: independent realisations of one deck, and their merge into
//! one run directory.
//!
//! A uniform plasma's statistics add over independent realisations: the
//! histogram of the particles of `R` runs of one deck that differ only in
//! their seed is the sum of the runs' histograms, and its counting noise
//! (Poisson, `sqrt(N)` per cell of `N` counts) falls relative to the signal
//! like `1 / sqrt(R)`, as in one run with `R` times the particles. So a
//! Slurm job array of small runs lowers the noise floor of the learned
//! operator without one bigger run. It does not replace a bigger box when
//! the physics depends on the box: modes longer than the box (wavelengths
//! beyond `L`, growth of an instability whose fastest mode does not fit),
//! or collective effects set by the number of particles in a Debye area or
//! in the box (the realisations sum, they do not interact).
//!
//! ## Seeds of realisations
//!
//! A realisation is a run of the deck with its own seed ([`SeedChoice`]):
//! the deck's `seed`, a given one (`collop pic --seed S`), or the deck's
//! seed plus the Slurm job-array index (`collop pic --seed-from-array`:
//! `seed + $SLURM_ARRAY_TASK_ID`, so `--array=0-15` runs seeds `seed` to
//! `seed + 15`). The seed and where it came from ([`SeedSource`]) are
//! recorded in the run's `run.json` and `deck.toml`.
//!
//! ## The merged directory
//!
//! [`merge`] writes a directory laid out like a PIC run, so every command
//! that reads one (`train`, `tracks`, `compare`, `theory`) reads it:
//!
//! ```text
//! deck.toml              the common deck, with the first realisation's seed
//! ensemble.json          provenance: the realisations' paths and seeds, particles, the track-id stride
//! energy.csv             the realisations' mean energies (the expected energy of one box)
//! <sub-population>/f/    NNNNNN.npy: the sum of the realisations' histograms (raw counts or
//!                        weights), dump by dump; args.yaml with particles and effective sample
//!                        sizes summed, no single seed, and `ensemble_seeds`, `ensemble_runs`
//! <sub-population>/tracks.npz   every realisation's tracks side by side, ids made distinct
//! ```
//!
//! Track ids of realisation `r` (in the order given) become
//! `r * stride + id`, with `stride` the smallest power of ten above every
//! id of the realisations (recorded in `ensemble.json`).
//!
//! `background.csv` is not merged: its distance from the Maxwellian is a
//! property of each realisation's own histogram; the realisations' files
//! stay where they are and `ensemble.json` lists them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use collop_io::{
    DatasetMeta, DatasetWriter, Existing, MetaValue, OutputDir, OutputKind, TRACKS_FILE, TrackData,
    TrackFile, WriteMode, write_tracks,
};
use ndarray::{Array2, Ix2};
use serde::{Deserialize, Serialize};

use crate::PicError;
use crate::deck::Deck;
use crate::run::{DECK_FILE, RUN_FILE, RunSummary};

/// The environment variable of a Slurm job-array index.
pub const ARRAY_TASK_VARIABLE: &str = "SLURM_ARRAY_TASK_ID";
/// Provenance of a merged ensemble.
pub const ENSEMBLE_FILE: &str = "ensemble.json";
/// Format version of [`ENSEMBLE_FILE`].
pub const ENSEMBLE_FORMAT_VERSION: u32 = 1;
/// Largest track id a float64 holds exactly (2^53).
const MAX_EXACT_ID: u64 = 1 << 53;

/// How the seed of a run is chosen (`collop pic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeedChoice {
    /// The deck's `seed`.
    #[default]
    Deck,
    /// This seed (`--seed S`).
    Given(u64),
    /// The deck's seed plus the job-array index in [`ARRAY_TASK_VARIABLE`]
    /// (`--seed-from-array`).
    ArrayTask,
}

/// Where a run's seed came from, recorded in its `run.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum SeedSource {
    /// The deck's `seed`.
    #[default]
    Deck,
    /// Given on the command line.
    Given,
    /// The deck's seed plus a job-array index.
    ArrayTask {
        /// The environment variable read.
        variable: String,
        /// Its value, the array index.
        task: u64,
        /// The deck's own seed.
        deck_seed: u64,
    },
}

/// The seed of a run under `choice`: `deck` with its seed replaced, and
/// where the seed came from. `env` reads an environment variable
/// (`|k| std::env::var(k).ok()`).
///
/// Errors, before any work: `ArrayTask` without the variable set, or with
/// a value that is not a non-negative integer, or a sum that overflows.
pub fn choose_seed(
    deck: &Deck,
    choice: SeedChoice,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Deck, SeedSource), PicError> {
    let mut deck = deck.clone();
    let source = match choice {
        SeedChoice::Deck => SeedSource::Deck,
        SeedChoice::Given(seed) => {
            deck.seed = seed;
            SeedSource::Given
        }
        SeedChoice::ArrayTask => {
            let v = ARRAY_TASK_VARIABLE;
            let text = env(v).ok_or_else(|| {
                PicError::Deck(format!(
                    "--seed-from-array reads the job-array index from ${v}, which is not set: run inside a \
                     Slurm job array (sbatch --array=0-N), or give the seed with --seed S"
                ))
            })?;
            let task: u64 = text.trim().parse().map_err(|_| {
                PicError::Deck(format!(
                    "${v} is {text:?}, not a job-array index (a non-negative integer); give the seed with --seed S"
                ))
            })?;
            let deck_seed = deck.seed;
            deck.seed = deck_seed.checked_add(task).ok_or_else(|| {
                PicError::Deck(format!(
                    "the deck's seed {deck_seed} plus ${v} = {task} overflows a 64-bit seed; lower the deck's seed"
                ))
            })?;
            SeedSource::ArrayTask { variable: v.to_string(), task, deck_seed }
        }
    };
    Ok((deck, source))
}

/// One realisation in a merged ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Realisation {
    /// Its run directory (absolute).
    pub path: PathBuf,
    /// Its seed.
    pub seed: u64,
    /// Where its seed came from.
    #[serde(default)]
    pub seed_source: SeedSource,
}

/// One merged sub-population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedPopulation {
    /// Its name (folder).
    pub name: String,
    /// The dumps merged.
    pub dumps: usize,
    /// Contributing particles per realisation (from `args.yaml`).
    pub particles: Vec<u64>,
    /// Tracked particles in the merged track file (0: none).
    pub tracks: usize,
}

/// `ensemble.json`: what a merge read and wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleRecord {
    /// [`ENSEMBLE_FORMAT_VERSION`].
    pub format_version: u32,
    /// Version of collop-pic that merged.
    pub version: String,
    /// The realisations, in the order their track ids were offset.
    pub realisations: Vec<Realisation>,
    /// The sub-populations.
    pub sub_populations: Vec<MergedPopulation>,
    /// Track id of particle `id` of realisation `r`: `r * id_stride + id`.
    pub id_stride: u64,
}

/// A merged ensemble's directory for the overwrite rule of
/// [`collop_io::OutputDir`]: it holds one when it holds `ensemble.json` or
/// anything a PIC run writes.
pub const ENSEMBLE: OutputKind = OutputKind {
    name: "a merged ensemble or a PIC run",
    holds: holds_ensemble,
    owns: Some(owned_by_ensemble),
    accepts: "replace a merged ensemble with `--overwrite`",
};

fn owned_by_ensemble(entry: &Path) -> bool {
    let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == ENSEMBLE_FILE
        || name == DECK_FILE
        || name == crate::history::ENERGY_FILE
        || (entry.is_dir() && (entry.join("f").is_dir() || entry.join(TRACKS_FILE).is_file()))
}

fn holds_ensemble(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| {
        d.any(|e| {
            e.is_ok_and(|e| {
                let p = e.path();
                owned_by_ensemble(&p) || p.file_name().is_some_and(|n| n == RUN_FILE)
            })
        })
    })
}

fn ensemble_err(message: String) -> PicError {
    PicError::Ensemble(message)
}

fn io_text(e: collop_io::IoError) -> PicError {
    PicError::Ensemble(e.to_string())
}

/// The first key (dotted path) at which two TOML values differ, with
/// both values, or `None` when they are equal.
fn first_difference(a: &toml::Value, b: &toml::Value, path: &str) -> Option<(String, String, String)> {
    use toml::Value;
    let show = |v: Option<&Value>| v.map_or("absent".to_string(), |v| v.to_string());
    match (a, b) {
        (Value::Table(x), Value::Table(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => {
                        if let Some(d) = first_difference(u, v, &p) {
                            return Some(d);
                        }
                    }
                    (u, v) => return Some((p, show(u), show(v))),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (u, v))| first_difference(u, v, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some((path.to_string(), a.to_string(), b.to_string())),
    }
}

/// The dumps (frame numbers) in a dataset folder, sorted.
fn frame_dumps(folder: &Path) -> Result<Vec<usize>, PicError> {
    let read = std::fs::read_dir(folder).map_err(|e| PicError::io(folder, e))?;
    let mut dumps = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| PicError::io(folder, e))?;
        if let Some(d) = entry.file_name().to_str().and_then(collop_io::parse_frame_file_name) {
            dumps.push(d);
        }
    }
    dumps.sort_unstable();
    Ok(dumps)
}

/// `path` made absolute (provenance readable from anywhere); as given
/// where the working directory cannot be read.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A realisation's run directory read for a merge.
struct Input {
    path: PathBuf,
    deck: Deck,
    summary: RunSummary,
}

fn read_input(path: &Path) -> Result<Input, PicError> {
    let deck_path = path.join(DECK_FILE);
    if !deck_path.is_file() {
        return Err(ensemble_err(format!(
            "{} is not a PIC run directory (no {DECK_FILE}); give the directories `collop pic -o` wrote",
            path.display()
        )));
    }
    let deck = Deck::from_file(&deck_path)?;
    let run_path = path.join(RUN_FILE);
    let text = std::fs::read_to_string(&run_path).map_err(|_| {
        ensemble_err(format!(
            "{} has no {RUN_FILE}: the run has not ended; finish it (`collop pic DECK -o {} --resume`) before \
             merging",
            path.display(),
            path.display()
        ))
    })?;
    let summary: RunSummary = serde_json::from_str(&text)
        .map_err(|e| ensemble_err(format!("{}: not a run summary ({e})", run_path.display())))?;
    if !summary.finished {
        return Err(ensemble_err(format!(
            "{} was interrupted at step {} of its deck: finish it with `collop pic DECK -o {} --resume` before \
             merging",
            path.display(),
            summary.steps,
            path.display()
        )));
    }
    if summary.seed != deck.seed {
        return Err(ensemble_err(format!(
            "{}: its {RUN_FILE} has seed {} but its {DECK_FILE} seed {}; the directory was changed by hand, \
             rerun the realisation",
            path.display(),
            summary.seed,
            deck.seed
        )));
    }
    Ok(Input { path: path.to_path_buf(), deck, summary })
}

/// Checks that the inputs are distinct realisations of one deck: every
/// key equal but the seed, and no two seeds equal.
fn check_realisations(inputs: &[Input]) -> Result<(), PicError> {
    let first = &inputs[0];
    let unseeded = |d: &Deck| -> Result<toml::Value, PicError> {
        let mut d = d.clone();
        d.seed = 0;
        toml::from_str(&d.to_toml()).map_err(|e| PicError::Parse(e.to_string()))
    };
    let reference = unseeded(&first.deck)?;
    for other in &inputs[1..] {
        if let Some((key, theirs, ours)) = first_difference(&unseeded(&other.deck)?, &reference, "") {
            return Err(ensemble_err(format!(
                "{} is not a realisation of the deck of {}: `{key}` is {theirs} there and {ours} here; merge \
                 only runs of one deck that differ in their seed alone",
                other.path.display(),
                first.path.display()
            )));
        }
    }
    for (i, a) in inputs.iter().enumerate() {
        if let Some(b) = inputs[..i].iter().find(|b| b.deck.seed == a.deck.seed) {
            return Err(ensemble_err(format!(
                "{} and {} have the same seed {}: they are one realisation, not two independent ones; rerun one \
                 with another seed (`collop pic --seed S`, or `--seed-from-array` in a job array)",
                b.path.display(),
                a.path.display(),
                a.deck.seed
            )));
        }
    }
    Ok(())
}

/// A sub-population's plan: the dumps and the merged `args.yaml`.
struct PopulationPlan {
    name: String,
    dumps: Vec<usize>,
    meta: DatasetMeta,
    particles: Vec<u64>,
    tracks: bool,
}

fn plan_population(inputs: &[Input], name: &str) -> Result<PopulationPlan, PicError> {
    let folder = |i: &Input| i.path.join(name).join(collop_io::FRAMES_SUBFOLDER);
    let mut dumps: Option<Vec<usize>> = None;
    let mut metas = Vec::new();
    for input in inputs {
        let f = folder(input);
        let these = frame_dumps(&f)?;
        if these.is_empty() {
            return Err(ensemble_err(format!(
                "{} holds no frame of sub-population `{name}`; rerun that realisation",
                f.display()
            )));
        }
        match &dumps {
            None => dumps = Some(these),
            Some(d) if *d != these => {
                return Err(ensemble_err(format!(
                    "{} has dumps {}..={} ({} frames) but {} has {}..={} ({} frames): the realisations wrote \
                     different dumps of `{name}`; rerun the incomplete one",
                    f.display(),
                    these[0],
                    these[these.len() - 1],
                    these.len(),
                    folder(&inputs[0]).display(),
                    d[0],
                    d[d.len() - 1],
                    d.len()
                )));
            }
            Some(_) => {}
        }
        metas.push(collop_io::read_meta(&f).map_err(io_text)?);
    }
    let args = |i: usize| folder(&inputs[i]).join(collop_io::ARGS_FILE);
    let mut params = Vec::new();
    for (i, m) in metas.iter().enumerate() {
        params.push(m.pic_parameters(&args(i)).map_err(io_text)?);
    }
    let particles: Vec<u64> = params.iter().map(|p| p.particles.unwrap_or(0)).collect();
    let mut merged = params[0].clone();
    merged.seed = None;
    merged.particles = params.iter().map(|p| p.particles).sum();
    // The effective sample size (sum w)^2 / sum w^2 of the union is the
    // sum of the realisations' when their weight sums are equal, as they
    // are in expectation for one deck (exact for unit weights).
    merged.effective_sample_size = params.iter().map(|p| p.effective_sample_size).sum();
    let mut meta = metas[0].clone().with_pic_parameters(&merged);
    meta.extra.remove("seed");
    meta.extra.insert(
        "ensemble_seeds".into(),
        MetaValue::List(inputs.iter().map(|i| MetaValue::Int(i.deck.seed as i64)).collect()),
    );
    meta.extra.insert(
        "ensemble_runs".into(),
        MetaValue::List(
            inputs.iter().map(|i| MetaValue::Str(absolute(&i.path).display().to_string())).collect(),
        ),
    );
    let has_tracks: Vec<bool> =
        inputs.iter().map(|i| i.path.join(name).join(TRACKS_FILE).is_file()).collect();
    if has_tracks.iter().any(|&t| t != has_tracks[0]) {
        let k = has_tracks.iter().position(|&t| t != has_tracks[0]).unwrap_or(0);
        return Err(ensemble_err(format!(
            "`{name}` has a {TRACKS_FILE} in {} but not in {}: rerun the realisation that lacks it",
            inputs[if has_tracks[0] { 0 } else { k }].path.display(),
            inputs[if has_tracks[0] { k } else { 0 }].path.display()
        )));
    }
    Ok(PopulationPlan {
        name: name.to_string(),
        dumps: dumps.unwrap_or_default(),
        meta,
        particles,
        tracks: has_tracks[0],
    })
}

/// The tracks of every realisation side by side, ids offset by
/// `r * stride`; every file is checked (dump times, `v_th_c`, positions)
/// before anything is merged.
fn merge_tracks(files: &[TrackFile], stride: u64) -> Result<TrackData, PicError> {
    let first = &files[0];
    for f in &files[1..] {
        if f.times() != first.times() {
            return Err(ensemble_err(format!(
                "{} and {} record tracks at different dump times; rerun the realisation that differs",
                f.path().display(),
                first.path().display()
            )));
        }
        if f.v_th_c() != first.v_th_c() || f.has_positions() != first.has_positions() {
            return Err(ensemble_err(format!(
                "{} and {} differ in v_th_c or in recording positions: not realisations of one deck",
                f.path().display(),
                first.path().display()
            )));
        }
    }
    let data: Vec<TrackData> =
        files.iter().map(|f| f.read_data().map_err(io_text)).collect::<Result<_, _>>()?;
    let dumps = first.dumps();
    let total: usize = data.iter().map(|d| d.particles()).sum();
    let join = |get: &dyn Fn(&TrackData) -> &Array2<f64>| -> Array2<f64> {
        let mut out = Array2::zeros((dumps, total));
        let mut col = 0;
        for d in &data {
            let a = get(d);
            out.slice_mut(ndarray::s![.., col..col + a.ncols()]).assign(a);
            col += a.ncols();
        }
        out
    };
    let ids = data
        .iter()
        .enumerate()
        .flat_map(|(r, d)| d.ids.iter().map(move |id| r as u64 * stride + id))
        .collect();
    let positions = first.has_positions();
    Ok(TrackData {
        ids,
        times: first.times().to_vec(),
        vx: join(&|d| &d.vx),
        vy: join(&|d| &d.vy),
        vz: join(&|d| &d.vz),
        x: positions.then(|| join(&|d| d.x.as_ref().expect("checked: positions recorded"))),
        y: positions.then(|| join(&|d| d.y.as_ref().expect("checked: positions recorded"))),
        v_th_c: first.v_th_c(),
    })
}

/// The smallest power of ten above every id of `files`.
fn id_stride(files: &[TrackFile]) -> u64 {
    let max = files.iter().flat_map(|f| f.ids().iter().copied()).max().unwrap_or(0);
    let mut stride = 10u64;
    while stride <= max {
        stride = stride.saturating_mul(10);
    }
    stride
}

/// Merges the realisations `runs` (PIC run directories of one deck with
/// distinct seeds, each finished) into `out` (see the module docs for the
/// layout). `overwrite` replaces a merged ensemble already in `out`.
///
/// Every check comes before the first file is written: at least two
/// runs, each a finished run, the decks equal in every key but the seed,
/// the seeds distinct, every sub-population with the same dumps in every
/// run and tracks in all or none, track files of equal dump times, the
/// output neither an input nor holding results. The frames are summed
/// one dump at a time (memory: one frame per realisation); the track
/// files are read whole.
pub fn merge(runs: &[PathBuf], out: &Path, overwrite: bool) -> Result<EnsembleRecord, PicError> {
    if runs.len() < 2 {
        return Err(ensemble_err(format!(
            "an ensemble needs at least two realisations, {} given: `collop merge RUN1 RUN2 ... -o OUT`",
            runs.len()
        )));
    }
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let out_c = canonical(out);
    if let Some(r) = runs.iter().find(|r| canonical(r) == out_c) {
        return Err(ensemble_err(format!(
            "the output {} is one of the realisations ({}); merge into another directory",
            out.display(),
            r.display()
        )));
    }
    let inputs: Vec<Input> = runs.iter().map(|r| read_input(r)).collect::<Result<_, _>>()?;
    check_realisations(&inputs)?;
    let names: Vec<String> = inputs[0].deck.sub_populations.iter().map(|s| s.name.clone()).collect();
    let plans: Vec<PopulationPlan> =
        names.iter().map(|n| plan_population(&inputs, n)).collect::<Result<_, _>>()?;
    let mut track_files: BTreeMap<String, Vec<TrackFile>> = BTreeMap::new();
    for p in plans.iter().filter(|p| p.tracks) {
        let files: Vec<TrackFile> = inputs
            .iter()
            .map(|i| TrackFile::open(i.path.join(&p.name).join(TRACKS_FILE)).map_err(io_text))
            .collect::<Result<_, _>>()?;
        track_files.insert(p.name.clone(), files);
    }
    let all_files: Vec<TrackFile> = track_files.values().flat_map(|v| v.iter().cloned()).collect();
    let stride = id_stride(&all_files);
    if (inputs.len() as u64).checked_mul(stride).is_none_or(|top| top > MAX_EXACT_ID) {
        return Err(ensemble_err(format!(
            "{} realisations with track ids below {stride} cannot get distinct ids under 2^53 (what a track \
             file holds exactly); merge fewer realisations at a time",
            inputs.len()
        )));
    }
    let energies: Vec<_> = inputs
        .iter()
        .filter(|i| i.path.join(crate::history::ENERGY_FILE).is_file())
        .map(|i| crate::history::read_energy(&i.path))
        .collect::<Result<_, _>>()?;
    let energy = mean_energy(&inputs, &energies)?;

    let existing = if overwrite { Existing::Overwrite } else { Existing::Refuse };
    let mut dir = OutputDir::claim(out, &ENSEMBLE, existing).map_err(PicError::RunDir)?;
    let mode = if overwrite { WriteMode::Overwrite } else { WriteMode::New };
    for p in &plans {
        DatasetWriter::check(out.join(&p.name).join(collop_io::FRAMES_SUBFOLDER), &p.meta, mode)
            .map_err(PicError::RunDir)?;
    }
    let merged_tracks: BTreeMap<String, TrackData> = track_files
        .iter()
        .map(|(name, files)| Ok((name.clone(), merge_tracks(files, stride)?)))
        .collect::<Result<_, PicError>>()?;

    // Every check has passed: from here on the directory is written.
    dir.clear_replaced().map_err(PicError::RunDir)?;
    let mut populations = Vec::new();
    for p in &plans {
        let folder = out.join(&p.name).join(collop_io::FRAMES_SUBFOLDER);
        let mut writer = DatasetWriter::create(&folder, &p.meta, mode).map_err(io_text)?;
        for &dump in &p.dumps {
            let mut sum: Option<Array2<f64>> = None;
            for input in &inputs {
                let path = input
                    .path
                    .join(&p.name)
                    .join(collop_io::FRAMES_SUBFOLDER)
                    .join(collop_io::frame_file_name(dump));
                let frame = collop_io::read_npy_f64(&path)
                    .map_err(io_text)?
                    .into_dimensionality::<Ix2>()
                    .map_err(|_| ensemble_err(format!("{} is not a 2D histogram", path.display())))?;
                match &mut sum {
                    None => sum = Some(frame),
                    Some(s) if s.dim() == frame.dim() => *s += &frame,
                    Some(s) => {
                        return Err(ensemble_err(format!(
                            "{} is {:?} but the other realisations' frames are {:?}: rerun that realisation",
                            path.display(),
                            frame.dim(),
                            s.dim()
                        )));
                    }
                }
            }
            let sum = sum.expect("at least two realisations");
            writer.write_frame(dump, sum.view()).map_err(io_text)?;
        }
        writer.finish().map_err(io_text)?;
        let tracks = match merged_tracks.get(&p.name) {
            Some(t) => {
                write_tracks(out.join(&p.name).join(TRACKS_FILE), t).map_err(io_text)?;
                t.particles()
            }
            None => 0,
        };
        populations.push(MergedPopulation {
            name: p.name.clone(),
            dumps: p.dumps.len(),
            particles: p.particles.clone(),
            tracks,
        });
    }
    if let Some((species, records)) = &energy {
        let names: Vec<&str> = species.iter().map(String::as_str).collect();
        crate::history::write_energy(out, &names, records)?;
    }
    collop_io::write_text(out.join(DECK_FILE), &inputs[0].deck.to_toml()).map_err(io_text)?;
    let record = EnsembleRecord {
        format_version: ENSEMBLE_FORMAT_VERSION,
        version: env!("CARGO_PKG_VERSION").to_string(),
        realisations: inputs
            .iter()
            .map(|i| Realisation {
                path: absolute(&i.path),
                seed: i.deck.seed,
                seed_source: i.summary.seed_source.clone(),
            })
            .collect(),
        sub_populations: populations,
        id_stride: stride,
    };
    let text = serde_json::to_string_pretty(&record).map_err(|e| ensemble_err(e.to_string()))?;
    collop_io::write_text(out.join(ENSEMBLE_FILE), &text).map_err(io_text)?;
    Ok(record)
}

/// The realisations' mean energy history (the expected energies of one
/// box), when every realisation has one; their records must be at the
/// same steps.
#[allow(clippy::type_complexity)]
fn mean_energy(
    inputs: &[Input],
    energies: &[crate::history::EnergyHistory],
) -> Result<Option<(Vec<String>, Vec<crate::EnergyRecord>)>, PicError> {
    if energies.len() != inputs.len() {
        return Ok(None);
    }
    let first = &energies[0];
    let steps = |h: &crate::history::EnergyHistory| h.records.iter().map(|r| r.step).collect::<Vec<_>>();
    if energies.iter().any(|h| steps(h) != steps(first) || h.species != first.species) {
        return Err(ensemble_err(
            "the realisations' energy.csv files have different steps or species: rerun the realisations with one \
             deck"
                .into(),
        ));
    }
    let n = energies.len() as f64;
    let records = (0..first.records.len())
        .map(|k| {
            let mean = |f: &dyn Fn(&crate::EnergyRecord) -> f64| {
                energies.iter().map(|h| f(&h.records[k])).sum::<f64>() / n
            };
            let r0 = &first.records[k];
            crate::EnergyRecord {
                step: r0.step,
                time: r0.time,
                electric: mean(&|r| r.electric),
                magnetic: mean(&|r| r.magnetic),
                kinetic: (0..r0.kinetic.len()).map(|s| mean(&|r| r.kinetic[s])).collect(),
                total: mean(&|r| r.total),
            }
        })
        .collect();
    Ok(Some((first.species.clone(), records)))
}
