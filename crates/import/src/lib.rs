//! # collop-import: datasets from the PIC codes physicists run
//!
//! Turns the output of OSIRIS, openPMD codes (WarpX, PIConGPU, FBPIC) and
//! Smilei into collop datasets (velocity histograms of sub-populations,
//! `<out>/<name>/f/NNNNNN.npy` + `args.yaml`) and track files
//! (`<out>/<name>/tracks.npz`), streaming one dump (one chunk of a dump) at
//! a time.
//!
//! - [`openpmd`]: openPMD particle records (HDF5; WarpX, PIConGPU, FBPIC),
//!   Smilei's `TrackParticlesDisordered` files;
//! - [`osiris`]: OSIRIS RAW dumps and TRACKS files;
//! - [`grid`]: the codes' own phase spaces (OSIRIS `p1p2`, Smilei
//!   `ParticleBinning`), copied onto their grid in units of `v_th`;
//! - [`input`]: which code wrote a path, and its reader;
//! - [`pipeline`]: selection of sub-populations at the first dump with the
//!   shared specification of `collop pic` ([`collop_core::population`],
//!   [`spec::ImportSpec`]), binning ([`bin`]), tracks, `--resume`.
//!
//! Each reader cites the layout it follows (the codes' own readers:
//! osirispy / pyVisOS for OSIRIS, happi for Smilei, the openPMD standard
//! and openPMD-api); the tests write files in those layouts with h5py and
//! the openPMD-api (`tests/python/`).
//!
//! ## Momentum convention
//!
//! As `collop pic`: histogram velocities are `u = gamma v` (momentum per
//! mass) in units of the species' `v_th`, the rms of `u_x` about its mean
//! at the first imported dump; see [`pipeline`].
//!
//! ## Reading HDF5
//!
//! With the pure-Rust reader `hdf5-reader` (no libhdf5 to install), chosen
//! after checking it on the files of the tests: it
//! reads superblocks 0-3, old and new style groups, contiguous and chunked
//! datasets with the deflate (gzip) and shuffle filters, fixed and variable
//! length string attributes, and hyperslabs of chunked datasets (so a dump
//! is read one chunk of particles at a time); numbers of any width are
//! widened to `f64` by [`h5`]. The tests check it on files written by h5py
//! (contiguous, and gzip-chunked for OSIRIS tracks) and by the openPMD-api.
//! A truncated file is refused with the file named; a file without the
//! HDF5 signature is refused as possible ADIOS2 output. ADIOS2 output is refused with
//! the conversion command ([`ImportError::Adios2`]).

pub mod bin;
mod error;
pub mod grid;
pub mod h5;
pub mod input;
pub mod openpmd;
pub mod osiris;
pub mod pipeline;
pub mod source;
pub mod spec;

pub use error::ImportError;
pub use pipeline::{
    DEFAULT_CHUNK, IMPORT_FILE, IMPORT_RUN, ImportObserver, ImportOptions, ImportReport, PopulationReport,
    Silent, import_particles,
};
pub use source::{Chunk, DumpInfo, ParticleSource, Plane};
pub use spec::ImportSpec;
