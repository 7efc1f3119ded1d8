//! A whole run: deck in, run directory out, with progress reporting,
//! checkpoints and resume.
//!
//! The run directory holds
//!
//! ```text
//! deck.toml               the resolved deck
//! derived.json            derived quantities (Debye length, Courant number, ...)
//! energy.csv              step, time, electric, magnetic, kinetic per species, total
//! background.csv          per dump and thermal species: moments, kurtoses, distance from a Maxwellian
//! run.json                seed and its source (deck, --seed, job-array index), version, threads,
//!                         timing, energy error, sample sizes
//! checkpoint.npz          the latest checkpoint (when enabled; format in [`crate::checkpoint`])
//! fields/NNNNNN.npz       field snapshots ex, ey, ez, bx, by, bz, rho (nx x ny, when enabled)
//! <sub-population>/f/     NNNNNN.npy histograms + args.yaml (the reference layout)
//! <sub-population>/tracks.npz   ids, t, v_th_c, vx, vy, vz [, x, y], format_version (collop_io::tracks)
//! ```
//!
//! `energy.csv` (every `energy_every` steps and at every dump) splits the
//! field energy into its electric part `sum E^2 / 2 dx dy` (in an
//! electromagnetic run both the electrostatic and the transverse fields)
//! and its magnetic part `sum B^2 / 2 dx dy` (the diagnostic of Weibel and
//! other magnetic instabilities); energies in `m_e c^2 n_0 (c/omega_p)^2`
//! ([`EnergyRecord`]).
//!
//! `background.csv` has one row per dump and per thermal mobile species of
//! the deck, in the units of the datasets (momenta `u` in the species'
//! initial `v_th`), with the columns of [`BackgroundRecord`]:
//!
//! ```text
//! dump, time             dump number, time (1/omega_p)
//! species, particles     the species and its macro-particles (own, without test species)
//! mean_x, mean_y, mean_z <u_a>
//! T_x, T_y, T_z          <(u_a - <u_a>)^2> (v_th^2: 1 for T_x at t = 0)
//! kurtosis_x, kurtosis_y <(u_a - <u_a>)^4> / T_a^2 (waterbag 2, Maxwellian 3)
//! kurtosis_plane         <w^4> / <w^2>^2 of the in-plane speed w about the mean (waterbag 4/3, Maxwellian 2)
//! l1_maxwellian          sum over histogram cells of |f / N - Maxwellian cell probability|
//!                        (isotropic in-plane Maxwellian of the same mean and (T_x + T_y) / 2)
//! l1_noise               the l1_maxwellian expected of N particles drawn from that Maxwellian (its noise floor)
//! ```
//!
//! The run directory has one writer at a time ([`collop_io::OutputDir`],
//! the lock file `.collop.lock`). A directory that holds a run
//! ([`PIC_RUN`]) is refused unless resumed (`RunOptions::resume`) or
//! overwritten (`RunOptions::overwrite`: the old run's files are removed,
//! after every check has passed and before the first file is written);
//! nothing is written into it before the deck, the checkpoint and the
//! datasets have been checked.
//!
//! Every file is written atomically. A resumed run restarts from the last
//! checkpoint and, the run being deterministic for a given seed, thread
//! count and kernel build, recomputes exactly the dumps written after it:
//! those already on disk are kept, none is lost or written twice.

use std::path::{Path, PathBuf};
use std::time::Instant;

use collop_io::{
    DatasetMeta, DatasetWriter, Existing, MetaValue, OutputDir, OutputKind, PicParameters, PicSolver,
    TRACKS_FILE, WriteMode, write_tracks,
};
use serde::{Deserialize, Serialize};

use crate::PicError;
use crate::checkpoint::{self, Checkpoint};
use crate::deck::{Deck, Derived, SolverKind};
use crate::diag::{BackgroundRecord, Diagnostics};
use crate::ensemble::SeedSource;
use crate::sim::{EnergyRecord, Simulation};

/// The resolved deck of a run.
pub const DECK_FILE: &str = "deck.toml";
/// Derived quantities of a run.
pub const DERIVED_FILE: &str = "derived.json";
/// The summary of a run.
pub const RUN_FILE: &str = "run.json";
/// The latest checkpoint of a run (format in [`crate::checkpoint`]).
pub use crate::checkpoint::CHECKPOINT_FILE;
/// Field snapshots of a run.
pub const FIELDS_FOLDER: &str = "fields";

/// Whether `entry` of a run directory is one a run writes: its files, the
/// field snapshots, or a sub-population folder (holding `f/` or a track
/// file).
fn owned_by_run(entry: &Path) -> bool {
    let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
    [DECK_FILE, DERIVED_FILE, RUN_FILE, CHECKPOINT_FILE, checkpoint::LEGACY_CHECKPOINT_FILE, FIELDS_FOLDER]
        .into_iter()
        .chain([crate::history::ENERGY_FILE, crate::history::BACKGROUND_FILE])
        .any(|f| f == name)
        || (entry.is_dir() && (entry.join("f").is_dir() || entry.join(TRACKS_FILE).is_file()))
}

fn holds_run(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.any(|e| e.is_ok_and(|e| owned_by_run(&e.path()))))
}

/// A run directory for the overwrite rule of [`collop_io::OutputDir`]:
/// it holds a run when it holds any file or sub-population folder a run
/// writes.
pub const PIC_RUN: OutputKind = OutputKind {
    name: "a PIC run",
    holds: holds_run,
    owns: Some(owned_by_run),
    accepts: "continue it with `--resume` or replace it with `--overwrite`",
};

/// How to run a deck.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Threads (0: all available cores).
    pub threads: usize,
    /// Continue the run in the run directory: from `checkpoint.npz` if
    /// there is one ([`crate::checkpoint`]; a damaged or foreign one is
    /// refused), keeping the dumps on disk; refused if the directory holds
    /// a run of another deck.
    pub resume: bool,
    /// Replace a run already in the run directory (otherwise refused
    /// unless resuming): its files are removed once the deck and the
    /// datasets have been checked.
    pub overwrite: bool,
    /// Use the AVX2 + FMA kernels where the CPU has them.
    pub simd: bool,
    /// Steps between progress reports (0: only at dumps).
    pub progress_every: usize,
    /// Stop (as if interrupted) once this many steps have been taken in
    /// this invocation; `None` runs to the end.
    pub stop_after: Option<u64>,
    /// Where the deck's seed came from (`collop pic --seed`,
    /// `--seed-from-array`: [`crate::ensemble::choose_seed`]), recorded in
    /// `run.json`.
    pub seed_source: SeedSource,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            threads: 0,
            resume: false,
            overwrite: false,
            simd: true,
            progress_every: 50,
            stop_after: None,
            seed_source: SeedSource::Deck,
        }
    }
}

/// What a run reports while it goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// Steps done.
    pub step: u64,
    /// Steps in the run.
    pub n_steps: u64,
    /// Simulation time, `1/omega_p`.
    pub time: f64,
    /// Particle-steps per second since the previous report.
    pub particle_steps_per_second: f64,
    /// `|E_total / E_total(0) - 1|` at the latest energy record.
    pub energy_error: f64,
    /// Dumps written (or found on disk) so far.
    pub dumps: usize,
}

/// Receives progress from [`run`] (called from the run's worker thread,
/// hence `Send`); every method has an empty default.
pub trait Observer {
    /// The run starts (or resumes at `start_step`), after validation.
    fn started(&mut self, _derived: &Derived, _start_step: u64) {}
    /// Regular progress.
    fn progress(&mut self, _progress: &Progress) {}
    /// Dump `dump` was written at `time`.
    fn dumped(&mut self, _dump: usize, _time: f64) {}
    /// A checkpoint was written at `step`.
    fn checkpointed(&mut self, _step: u64) {}
    /// Something the user should know that does not stop the run.
    fn warning(&mut self, _message: &str) {}
    /// Whether the run should stop now (asked before every step): it then
    /// ends as an interrupted run does, with its dumps, tracks and history
    /// written and its last checkpoint left for `--resume`
    /// ([`RunSummary::finished`] false). A user interface's interrupt.
    fn stop_requested(&mut self) -> bool {
        false
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {}

/// Effective sample size of a sub-population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleSize {
    /// Sub-population.
    pub name: String,
    /// Contributing particles.
    pub particles: usize,
    /// `(sum w)^2 / sum w^2` (the particle count for unit weights).
    pub effective: f64,
}

/// The outcome of [`run`], written as `run.json` (and read back by
/// [`crate::ensemble::merge`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Steps done in total.
    pub steps: u64,
    /// Whether the run reached its last step (false when stopped early).
    pub finished: bool,
    /// Dumps on disk.
    pub dumps: usize,
    /// Particle-steps done by this invocation.
    pub particle_steps: u64,
    /// Wall time of this invocation, s.
    pub wall_seconds: f64,
    /// Largest `|E_total / E_total(0) - 1|` of the energy history.
    pub max_energy_error: f64,
    /// Numerical heating rate: least-squares slope of `E_total / E_total(0)`
    /// against time, per `1/omega_p`.
    pub heating_rate: f64,
    /// Sample sizes of the sub-populations at `t = 0`.
    pub sample_sizes: Vec<SampleSize>,
    /// Threads used.
    pub threads: usize,
    /// Whether the AVX2 + FMA kernels ran.
    pub simd: bool,
    /// Seed of the run.
    pub seed: u64,
    /// Where the seed came from (the deck, `--seed`, a job-array index).
    #[serde(default)]
    pub seed_source: SeedSource,
    /// Version of collop-pic.
    pub version: String,
}

/// Run `deck`, writing into `out_dir` (created if needed, locked while the
/// run goes); see the module documentation for the layout and the rule
/// for a directory that already holds a run.
pub fn run(
    deck: &Deck,
    out_dir: &Path,
    opts: &RunOptions,
    observer: &mut (dyn Observer + Send),
) -> Result<RunSummary, PicError> {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| PicError::Run(format!("cannot start {threads} threads: {e}")))?;
    pool.install(|| run_in_pool(deck, out_dir, opts, threads, observer))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PicError + '_ {
    move |e| PicError::io(path, e)
}

fn write_text(path: &Path, text: &str) -> Result<(), PicError> {
    collop_io::write_text(path, text).map_err(|e| PicError::Run(e.to_string()))
}

/// Refuses a run whose expected memory ([`Derived::memory_bytes`]) is more
/// than `available` bytes (the machine's, see [`available_memory`]; `None`
/// where it cannot be read, and nothing is refused), before anything is
/// allocated or written.
pub fn check_memory(derived: &Derived, available: Option<u64>) -> Result<(), PicError> {
    let Some(available) = available else { return Ok(()) };
    let need = derived.memory_bytes as u64;
    if need <= available {
        return Ok(());
    }
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    Err(PicError::Deck(format!(
        "this deck needs about {:.1} GiB ({:.3e} macro-particles at {} bytes, the fields and the tracks), more \
         than the {:.1} GiB this machine has available: lower ppc or the grid, record fewer tracks, run \
         independent realisations of a smaller box instead, or run it where more memory is free",
        gib(need),
        derived.particles as f64,
        crate::deck::BYTES_PER_PARTICLE,
        gib(available)
    )))
}

/// The memory this process may still use, in bytes: the smaller of the
/// system's available memory and the room left under its control group's
/// limit (a batch job's allocation). `None` where neither can be read
/// (systems other than Linux).
pub fn available_memory() -> Option<u64> {
    let read_u64 = |p: &str| std::fs::read_to_string(p).ok().and_then(|t| t.trim().parse::<u64>().ok());
    let system = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        let line = t.lines().find(|l| l.starts_with("MemAvailable:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib.saturating_mul(1024))
    });
    // cgroup v2 (`0::/path`) or v1 (`N:memory:/path`); "max" reads as none.
    let mut group = None;
    if let Ok(t) = std::fs::read_to_string("/proc/self/cgroup") {
        for line in t.lines() {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) =
                (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let room =
                |limit: Option<u64>, used: Option<u64>| limit.map(|l| l.saturating_sub(used.unwrap_or(0)));
            if controllers.is_empty() {
                let base = format!("/sys/fs/cgroup{path}");
                group = group.or(room(
                    read_u64(&format!("{base}/memory.max")),
                    read_u64(&format!("{base}/memory.current")),
                ));
            } else if controllers.split(',').any(|c| c == "memory") {
                for base in [format!("/sys/fs/cgroup/memory{path}"), "/sys/fs/cgroup/memory".to_string()] {
                    group = group.or(room(
                        read_u64(&format!("{base}/memory.limit_in_bytes")),
                        read_u64(&format!("{base}/memory.usage_in_bytes")),
                    ));
                }
            }
        }
    }
    match (system, group) {
        (Some(s), Some(g)) => Some(s.min(g)),
        (s, g) => s.or(g),
    }
}

fn run_in_pool(
    deck: &Deck,
    out_dir: &Path,
    opts: &RunOptions,
    threads: usize,
    observer: &mut (dyn Observer + Send),
) -> Result<RunSummary, PicError> {
    let derived = deck.derived(threads)?;
    check_memory(&derived, available_memory())?;
    let existing = if opts.resume {
        Existing::Resume
    } else if opts.overwrite {
        Existing::Overwrite
    } else {
        Existing::Refuse
    };
    // Held until the run returns: one writer at a time.
    let mut dir = OutputDir::claim(out_dir, &PIC_RUN, existing).map_err(PicError::RunDir)?;
    let deck_text = deck.to_toml();
    let deck_path = out_dir.join(DECK_FILE);
    if opts.resume && deck_path.is_file() {
        let theirs = std::fs::read_to_string(&deck_path).map_err(io_err(&deck_path))?;
        if theirs != deck_text {
            return Err(PicError::RunDir(collop_io::IoError::Clobber {
                path: out_dir.to_path_buf(),
                reason: format!(
                    "holds a run of another deck (its {DECK_FILE} differs from this deck); resume it with \
                     that {DECK_FILE}, replace it with `--overwrite`, or write into another directory"
                ),
            }));
        }
    }
    let mut sim = Simulation::new(deck, threads)?;
    sim.use_simd(opts.simd);
    let mut diag = Diagnostics::new(deck, &mut sim)?;
    let sample_sizes: Vec<SampleSize> = (0..diag.pops.len())
        .map(|k| {
            let (effective, particles) = diag.effective_sample_size(&sim, k);
            SampleSize { name: diag.pops[k].name.clone(), particles, effective }
        })
        .collect();
    let mut energy: Vec<EnergyRecord> = Vec::new();
    let mut background: Vec<BackgroundRecord> = Vec::new();
    let mut next_dump = 0usize;
    let ckpt = out_dir.join(CHECKPOINT_FILE);
    let found = if opts.resume { checkpoint::locate(out_dir)? } else { None };
    if let Some(path) = found {
        let state = Checkpoint::read(&path, deck, &sim, &diag)?;
        if let Some(w) = state.restore(&mut sim, &mut diag, &mut energy, &mut background, &mut next_dump) {
            observer.warning(&w);
        }
    }
    let mode = if opts.resume {
        WriteMode::Resume
    } else if opts.overwrite {
        WriteMode::Overwrite
    } else {
        WriteMode::New
    };
    let metas: Vec<(PathBuf, DatasetMeta)> = (0..diag.pops.len())
        .map(|k| {
            let folder = out_dir.join(&diag.pops[k].name).join("f");
            (folder, dataset_meta(deck, &derived, &diag, k, &sample_sizes[k]))
        })
        .collect();
    for (folder, meta) in &metas {
        DatasetWriter::check(folder, meta, mode).map_err(PicError::RunDir)?;
    }
    // Every check has passed: from here on the directory is written.
    dir.clear_replaced().map_err(PicError::RunDir)?;
    for w in &derived.warnings {
        observer.warning(w);
    }
    write_text(&deck_path, &deck_text)?;
    write_text(&out_dir.join(DERIVED_FILE), &serde_json::to_string_pretty(&derived).unwrap_or_default())?;
    let mut writers = Vec::new();
    for (folder, meta) in &metas {
        writers.push(DatasetWriter::create(folder, meta, mode).map_err(|e| PicError::Run(e.to_string()))?);
    }
    observer.started(&derived, sim.step_count());

    let n_steps = deck.time.n_steps as u64;
    let dump_every = deck.time.dump_every as u64;
    let energy_every = deck.output.energy_every as u64;
    let ckpt_every = deck.output.checkpoint_every_dumps;
    let particles = sim.particle_count() as u64;
    let start = Instant::now();
    let (mut last_report, mut last_step) = (Instant::now(), sim.step_count());
    let mut taken = 0u64;
    let mut finished = false;
    loop {
        let step = sim.step_count();
        if step % dump_every == 0 && (step / dump_every) as usize >= next_dump {
            let dump = (step / dump_every) as usize;
            for (k, w) in writers.iter_mut().enumerate() {
                let h = diag.histogram(&sim, k);
                w.write_frame(dump, h.view()).map_err(|e| PicError::Run(e.to_string()))?;
            }
            diag.record_tracks(&sim);
            background.extend(diag.background_moments(&sim, dump));
            let fe = deck.output.fields_every_dumps;
            if fe > 0 && dump.is_multiple_of(fe) {
                write_fields(out_dir, &sim, dump)?;
            }
            next_dump = dump + 1;
            observer.dumped(dump, sim.time());
            if ckpt_every > 0 && dump > 0 && dump.is_multiple_of(ckpt_every) && step < n_steps {
                let state = checkpoint::State {
                    deck,
                    sim: &sim,
                    diag: &diag,
                    energy: &energy,
                    background: &background,
                    next_dump,
                };
                checkpoint::write(&ckpt, &state)?;
                write_energy(out_dir, &sim, &energy)?;
                write_background(out_dir, &diag, &background)?;
                observer.checkpointed(step);
            }
        }
        if step >= n_steps {
            finished = true;
            break;
        }
        if opts.stop_after.is_some_and(|s| taken >= s) || observer.stop_requested() {
            break;
        }
        if (energy_every > 0 && step % energy_every == 0) || step % dump_every == 0 {
            let rec = sim.step_with_energy();
            if !rec.total.is_finite() {
                return Err(PicError::Run(format!("energy is {} at step {step}", rec.total)));
            }
            energy.push(rec);
        } else {
            sim.step();
        }
        taken += 1;
        let s = sim.step_count();
        if opts.progress_every > 0 && s % opts.progress_every as u64 == 0 {
            let dt = last_report.elapsed().as_secs_f64();
            let rate = if dt > 0.0 { (s - last_step) as f64 * particles as f64 / dt } else { 0.0 };
            observer.progress(&Progress {
                step: s,
                n_steps,
                time: sim.time(),
                particle_steps_per_second: rate,
                energy_error: energy_error(&energy),
                dumps: next_dump,
            });
            last_report = Instant::now();
            last_step = s;
        }
    }
    write_energy(out_dir, &sim, &energy)?;
    write_background(out_dir, &diag, &background)?;
    for (pop, w) in diag.pops.iter().zip(writers) {
        w.finish().map_err(|e| PicError::Run(e.to_string()))?;
        if !pop.tracks.ids.is_empty() {
            let path = out_dir.join(&pop.name).join(TRACKS_FILE);
            write_tracks(&path, &pop.track_data()).map_err(|e| PicError::Run(e.to_string()))?;
        }
    }
    let summary = RunSummary {
        steps: sim.step_count(),
        finished,
        dumps: next_dump,
        particle_steps: taken * particles,
        wall_seconds: start.elapsed().as_secs_f64(),
        max_energy_error: energy
            .first()
            .map_or(0.0, |e0| energy.iter().map(|e| (e.total / e0.total - 1.0).abs()).fold(0.0, f64::max)),
        heating_rate: heating_rate(&energy),
        sample_sizes,
        threads,
        simd: sim.simd(),
        seed: deck.seed,
        seed_source: opts.seed_source.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    write_text(&out_dir.join(RUN_FILE), &serde_json::to_string_pretty(&summary).unwrap_or_default())?;
    Ok(summary)
}

fn heating_rate(energy: &[EnergyRecord]) -> f64 {
    if energy.len() < 2 {
        return 0.0;
    }
    let n = energy.len() as f64;
    let e0 = energy[0].total;
    let mt = energy.iter().map(|r| r.time).sum::<f64>() / n;
    let me = energy.iter().map(|r| r.total / e0).sum::<f64>() / n;
    let cov: f64 = energy.iter().map(|r| (r.time - mt) * (r.total / e0 - me)).sum();
    let var: f64 = energy.iter().map(|r| (r.time - mt).powi(2)).sum();
    if var > 0.0 { cov / var } else { 0.0 }
}

/// The interior of every field (and the charge density) at `dump`.
fn write_fields(out_dir: &Path, sim: &Simulation, dump: usize) -> Result<(), PicError> {
    let dir = out_dir.join(FIELDS_FOLDER);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let g = sim.grid;
    let f = &sim.fields;
    let rho = match sim.kind {
        SolverKind::Em => sim.charge_density(),
        SolverKind::Es => f.rho.clone(),
    };
    let arrays: Vec<(&str, ndarray::ArrayD<f64>)> = [
        ("ex", &f.ex),
        ("ey", &f.ey),
        ("ez", &f.ez),
        ("bx", &f.bx),
        ("by", &f.by),
        ("bz", &f.bz),
        ("rho", &rho),
    ]
    .into_iter()
    .map(|(name, a)| (name, ndarray::Array2::from_shape_fn((g.nx, g.ny), |(i, j)| a[g.idx(i, j)]).into_dyn()))
    .collect();
    let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
        arrays.iter().map(|(n, a)| (*n, a.view())).collect();
    let path = dir.join(format!("{dump:06}.npz"));
    collop_io::write_npz(&path, &views).map_err(|e| PicError::Run(e.to_string()))
}

fn energy_error(energy: &[EnergyRecord]) -> f64 {
    match (energy.first(), energy.last()) {
        (Some(a), Some(b)) => (b.total / a.total - 1.0).abs(),
        _ => 0.0,
    }
}

fn write_energy(out_dir: &Path, sim: &Simulation, energy: &[EnergyRecord]) -> Result<(), PicError> {
    let names: Vec<&str> = sim.species.iter().map(|s| s.name.as_str()).collect();
    crate::history::write_energy(out_dir, &names, energy)
}

fn write_background(
    out_dir: &Path,
    diag: &Diagnostics,
    records: &[BackgroundRecord],
) -> Result<(), PicError> {
    let names: Vec<&str> = diag.backgrounds.iter().map(|b| b.name.as_str()).collect();
    crate::history::write_background(out_dir, &names, records)
}

/// `args.yaml` of sub-population `k`: the reference keys plus the PIC
/// parameters ([`PicParameters`]: `ppc`, `vth_c`, `shape_order`,
/// `dx_over_debye`, ...).
fn dataset_meta(
    deck: &Deck,
    derived: &Derived,
    diag: &Diagnostics,
    k: usize,
    ess: &SampleSize,
) -> DatasetMeta {
    let pop = &diag.pops[k];
    let dump_dt = deck.time.dt * deck.time.dump_every as f64;
    let i_start = deck.phase_space.i_start;
    let v = deck.phase_space.v_max;
    let vc = v * pop.v_th;
    let owner = deck.species.iter().find(|s| s.name == deck.sub_populations[k].species).expect("validated");
    DatasetMeta::new(diag.grid, dump_dt, i_start, i_start as f64 * dump_dt)
        .with_v_range_c([-vc, vc, -vc, vc])
        .with_extra("v_max", MetaValue::from(v))
        .with_extra("v_max_c", MetaValue::from(vc))
        .with_extra("v_range_units", "[v_th]")
        .with_extra("v_range_c_units", "[c]")
        .with_extra("fdist_name", pop.name.as_str())
        .with_extra("fdist_subname", "f")
        .with_pic_parameters(&pic_parameters(deck, derived, pop, &owner.name, owner.ppc, ess))
}

/// The PIC parameters of a sub-population's `args.yaml`. `dy_over_debye`
/// is left out, as it always was (readers derive it:
/// [`PicParameters::dy_over_debye_or_derived`]).
fn pic_parameters(
    deck: &Deck,
    derived: &Derived,
    pop: &crate::diag::SubPopulation,
    owner: &str,
    owner_ppc: usize,
    ess: &SampleSize,
) -> PicParameters {
    PicParameters {
        ppc: Some(owner_ppc as u64),
        particles_per_debye_area: Some(derived.particles_per_debye_area),
        dx_over_debye: Some(derived.dx_over_debye),
        dy_over_debye: None,
        shape_order: Some(deck.solver.shape_order),
        vth_c: Some(pop.v_th),
        solver: Some(match deck.solver.kind {
            SolverKind::Em => PicSolver::Electromagnetic,
            SolverKind::Es => PicSolver::Electrostatic,
        }),
        pic_dt: Some(deck.time.dt),
        seed: Some(deck.seed),
        species: Some(owner.to_string()),
        method: Some(pop.method.name().to_string()),
        particles: Some(ess.particles as u64),
        effective_sample_size: Some(ess.effective),
        // Not recorded by collop pic: its sub-populations share the background's charge and weight.
        charge_ratio: None,
    }
}
