//! `collop import`: datasets and track files from OSIRIS, openPMD (WarpX,
//! PIConGPU, FBPIC) and Smilei output. Parses, calls `collop-import`,
//! renders.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use collop_import::grid::{GridOptions, import_grid};
use collop_import::input::{Format, Input, InputOptions, Kind, open_input};
use collop_import::{DEFAULT_CHUNK, ImportObserver, ImportOptions, ImportSpec, Plane, import_particles};
use collop_io::{Existing, PicParameters};

/// The output formats of the PIC codes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// OSIRIS (MS/RAW, MS/TRACKS, MS/PHA).
    Osiris,
    /// openPMD in HDF5 (WarpX, PIConGPU, FBPIC); ADIOS2 .bp: convert with openpmd-pipe first.
    Openpmd,
    /// Smilei (TrackParticlesDisordered_*.h5, ParticleBinning*.h5).
    Smilei,
}

/// What to read.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// Particle dumps (OSIRIS RAW, openPMD particles).
    Particles,
    /// Track files (OSIRIS TRACKS, Smilei TrackParticlesDisordered).
    Tracks,
    /// The code's own phase-space histogram (OSIRIS PHA p1p2, Smilei ParticleBinning).
    PhaseSpace,
}

/// Arguments of `collop import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The output: an OSIRIS run (or its MS directory, or a MS/TRACKS/*-tracks.h5), an openPMD file or
    /// directory of files, a Smilei results directory (or one of its .h5 files).
    pub input: PathBuf,
    /// Output directory: `<out>/<sub-population>/f/` datasets and `tracks.npz`.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Input format (detected from the path when absent).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// What to read (default: a tracks or binning file as such, else particle dumps; Smilei: tracks).
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Species (as the code names it).
    #[arg(long, default_value = "electrons")]
    pub species: String,
    /// Sub-populations: a TOML file with a deck's `[phase_space]` and `[[sub_populations]]` tables
    /// (the syntax of `collop pic` decks; optional `seed`).
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// A sub-population: the particles starting in the disk CX,CY,R (v_th) at the first dump
    /// (repeatable; regions are exclusive in order).
    #[arg(long = "blob", value_name = "CX,CY,R")]
    pub blobs: Vec<String>,
    /// A sub-population: the particles starting in the annulus R_MIN,R_MAX (v_th) about 0 (repeatable).
    #[arg(long = "ring", value_name = "R_MIN,R_MAX")]
    pub rings: Vec<String>,
    /// Also the whole species (the default when no region is given).
    #[arg(long)]
    pub all: bool,
    /// Particles tracked per sub-population (tracks.npz).
    #[arg(long, default_value_t = 0)]
    pub tracks: usize,
    /// Histogram cells per axis (default 51, or the spec's).
    #[arg(long)]
    pub bins: Option<usize>,
    /// Half-width of the histogram window in v_th (default 5, or the spec's).
    #[arg(long, alias = "v-range")]
    pub v_max: Option<f64>,
    /// Seed of selections and track choices (default 0, or the spec's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Dumps to import, `A:B` (indices in time order, B exclusive, either may be empty); the first is
    /// where sub-populations are selected.
    #[arg(long)]
    pub dumps: Option<String>,
    /// v_th / c of the species (default: measured at the first dump).
    #[arg(long)]
    pub vth_c: Option<f64>,
    /// Plasma frequency of the background, rad/s (openPMD: times in seconds become 1/omega_p).
    #[arg(long)]
    pub omega_p: Option<f64>,
    /// The momentum components histogrammed as (v_x, v_y): `xy`, or `xz` for a 2D run in the (x, z)
    /// plane (WarpX, FBPIC), or `yz` (particle dumps and Smilei tracks).
    #[arg(long, default_value = "xy")]
    pub plane: String,
    /// Mass of the species in electron masses (Smilei: momenta in m_e c).
    #[arg(long, default_value_t = 1.0)]
    pub mass: f64,
    /// Smilei's time step in 1/omega_r, for ParticleBinning without a track file beside it.
    #[arg(long)]
    pub pic_dt: Option<f64>,
    /// Macro-particles per cell (args.yaml `ppc`, for theory).
    #[arg(long)]
    pub ppc: Option<u64>,
    /// Cell size over the Debye length (args.yaml `dx_over_debye`; OSIRIS files give it).
    #[arg(long)]
    pub dx_over_debye: Option<f64>,
    /// B-spline order of the particle shape (args.yaml `shape_order`).
    #[arg(long)]
    pub shape_order: Option<usize>,
    /// The sub-populations' macro-particle charge over the background's (args.yaml `charge_ratio`,
    /// for a separate test species; 1 for pieces of the background).
    #[arg(long)]
    pub charge_ratio: Option<f64>,
    /// Continue an interrupted import (the same options).
    #[arg(long)]
    pub resume: bool,
    /// Replace an import already in the output directory.
    #[arg(long)]
    pub overwrite: bool,
    /// Particles read per chunk (memory is bounded by it).
    #[arg(long, default_value_t = DEFAULT_CHUNK)]
    pub chunk: usize,
}

/// A progress bar per species.
#[derive(Default)]
struct Bar {
    bar: Option<indicatif::ProgressBar>,
}

impl ImportObserver for Bar {
    fn species_started(&mut self, species: &str, dumps: usize) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        let b = indicatif::ProgressBar::new(dumps as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} dumps {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        b.set_message(species.to_string());
        self.bar = Some(b);
    }

    fn dump_done(&mut self, k: usize) {
        if let Some(b) = &self.bar {
            b.set_position(k as u64 + 1);
        }
    }
}

fn numbers(text: &str, n: usize, flag: &str) -> Result<Vec<f64>> {
    let v: Vec<f64> = text
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{flag} {text}: expected {n} comma-separated numbers"))?;
    if v.len() != n {
        bail!("{flag} {text}: expected {n} comma-separated numbers, got {}", v.len());
    }
    Ok(v)
}

fn dump_range(text: &Option<String>) -> Result<(usize, Option<usize>)> {
    let Some(t) = text else { return Ok((0, None)) };
    let (a, b) = t.split_once(':').with_context(|| format!("--dumps {t}: expected A:B"))?;
    let a = if a.is_empty() {
        0
    } else {
        a.parse().with_context(|| format!("--dumps {t}: A is not a dump index"))?
    };
    let b = if b.is_empty() {
        None
    } else {
        Some(b.parse().with_context(|| format!("--dumps {t}: B is not a dump index"))?)
    };
    Ok((a, b))
}

fn spec_of(a: &ImportArgs) -> Result<ImportSpec> {
    let mut spec = match &a.spec {
        Some(path) => {
            if !a.blobs.is_empty() || !a.rings.is_empty() || a.all {
                bail!(
                    "give the sub-populations either in --spec {} or by --blob/--ring/--all, not both",
                    path.display()
                );
            }
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            ImportSpec::from_toml(&text).with_context(|| format!("{}", path.display()))?
        }
        None => {
            let blobs = a
                .blobs
                .iter()
                .map(|b| numbers(b, 3, "--blob").map(|v| [v[0], v[1], v[2]]))
                .collect::<Result<Vec<_>>>()?;
            let rings = a
                .rings
                .iter()
                .map(|r| numbers(r, 2, "--ring").map(|v| [v[0], v[1]]))
                .collect::<Result<Vec<_>>>()?;
            ImportSpec::from_regions(&a.species, &blobs, &rings, a.all, a.tracks)?
        }
    };
    if let Some(b) = a.bins {
        spec.phase_space.bins = b;
    }
    if let Some(v) = a.v_max {
        spec.phase_space.v_max = v;
    }
    if let Some(s) = a.seed {
        spec.seed = s;
    }
    spec.check()?;
    Ok(spec)
}

/// Run `collop import`.
pub fn run(a: &ImportArgs) -> Result<()> {
    if a.resume && a.overwrite {
        bail!("--resume and --overwrite exclude each other");
    }
    let existing = if a.resume { Existing::Resume } else { crate::output::existing(a.overwrite) };
    let (first_dump, end_dump) = dump_range(&a.dumps)?;
    let pic = PicParameters {
        ppc: a.ppc,
        dx_over_debye: a.dx_over_debye,
        shape_order: a.shape_order,
        charge_ratio: a.charge_ratio,
        ..PicParameters::default()
    };
    let input_opts = InputOptions {
        format: a.format.map(|f| match f {
            FormatArg::Osiris => Format::Osiris,
            FormatArg::Openpmd => Format::OpenPmd,
            FormatArg::Smilei => Format::Smilei,
        }),
        kind: a.kind.map(|k| match k {
            KindArg::Particles => Kind::Particles,
            KindArg::Tracks => Kind::Tracks,
            KindArg::PhaseSpace => Kind::PhaseSpace,
        }),
        omega_p: a.omega_p,
        mass: a.mass,
        pic_dt: a.pic_dt,
        plane: Plane::parse(&a.plane)
            .with_context(|| format!("--plane {}: expected xy, xz or yz", a.plane))?,
    };
    let label = format!("{} (plane {})", a.input.display(), a.plane);
    let mut bar = Bar::default();
    let text = match open_input(&a.input, &a.species, &input_opts)? {
        Input::Grid(src) => {
            let opts = GridOptions {
                first_dump,
                end_dump,
                vth_c: a.vth_c,
                pic,
                existing,
                source_label: label,
                ..GridOptions::new(&a.species)
            };
            let r = import_grid(src.as_ref(), &a.out, &opts, &mut bar);
            if let Some(b) = &bar.bar {
                b.finish_and_clear();
            }
            let (vth, dt) = r?;
            format!(
                "imported   {} -> {}/{}/f (the code's phase space)\nv_th / c   {vth:.6e}{}\ndt         {dt:.6} / omega_p\n",
                a.input.display(),
                a.out.display(),
                a.species,
                if a.vth_c.is_some() { " (given)" } else { " (measured)" }
            )
        }
        Input::Particles(open) => {
            let mut opts = ImportOptions::new(spec_of(a)?);
            opts.first_dump = first_dump;
            opts.end_dump = end_dump;
            opts.vth_c = a.vth_c;
            opts.pic = pic;
            opts.chunk_len = a.chunk;
            opts.existing = existing;
            opts.source_label = label;
            let r = import_particles(open.as_ref(), &a.out, &opts, &mut bar);
            if let Some(b) = &bar.bar {
                b.finish_and_clear();
            }
            let r = r?;
            let mut t = format!("imported   {} -> {}\n", a.input.display(), a.out.display());
            for (s, vth, measured) in &r.species {
                t += &format!(
                    "species    {s}: v_th / c = {vth:.6e} ({})\n",
                    if *measured { "measured" } else { "given" }
                );
            }
            t += &format!("dumps      {} every {:.6} / omega_p\n", r.dumps, r.dt);
            for p in &r.populations {
                t += &format!(
                    "{:<10} {} particles, effective sample size {:.1}, {} tracks\n",
                    p.name, p.particles, p.effective_sample_size, p.tracks
                );
            }
            for n in &r.notes {
                t += &format!("note       {n}\n");
            }
            if !r.missing_parameters.is_empty() {
                t += &format!(
                    "note       args.yaml lacks {} (the files do not hold them); theory models need them: \
                     give --ppc, --dx-over-debye, --shape-order\n",
                    r.missing_parameters.join(", ")
                );
            }
            t
        }
    };
    crate::output::print(&text)
}
