//! `collop`: learn plasma collision operators from phase-space data.
//!
//! The binary only parses arguments, builds the pieces from the library
//! crates, runs them and writes results; the science lives in the crates.

mod compare;
mod config;
mod demo;
mod fields;
mod import;
mod info;
mod merge;
mod model;
mod moments;
mod output;
mod pic;
mod rollout;
mod sweep;
mod synthesise;
mod theory;
mod tracks;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Learn plasma collision operators from phase-space data with a
/// differentiable kinetic simulator.
#[derive(Debug, Parser)]
#[command(name = "collop", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Built-in demonstration, no input files: synthesise an
    /// Ornstein-Uhlenbeck dataset, roll operators forward, print the errors.
    Demo(demo::DemoArgs),
    /// Describe a dataset: frames, times, grid, and moments per dump.
    Info(info::InfoArgs),
    /// Roll a model forward from the first frame of a dataset and score it
    /// against every later frame.
    Rollout(rollout::RolloutArgs),
    /// Learn an operator from datasets into a run directory (TOML config).
    Train(train::TrainArgs),
    /// Training configs: a complete example for a model family
    /// (`--example fp-tensor`), or a config file checked and shown with
    /// every default filled in.
    Config(config::ConfigArgs),
    /// Score trained runs by full rollouts, with the frozen (and theory) baselines.
    Test(train::TestArgs),
    /// The drift and diffusion fields of a trained run under any condition
    /// (a dataset, or given PIC parameters), written as a fields model.
    Fields(fields::FieldsArgs),
    /// The Kramers-Moyal moments of a model's operator (drift, diffusion
    /// and the higher, non-Fokker-Planck terms) over the cells a dataset
    /// populates, and a kernel model's kernels at chosen velocities.
    Moments(moments::MomentsArgs),
    /// Synthetic data like a dataset: a model rolled out from its first
    /// frame, each frame drawn as the histogram of N particles.
    Synthesise(synthesise::SynthesiseArgs),
    /// Run the 2D particle-in-cell code from a deck: datasets of tagged
    /// sub-populations, tracks, energy history.
    Pic(pic::PicArgs),
    /// Independent realisations of one deck (seeds from `collop pic
    /// --seed` or a job array) merged into one run: histograms summed,
    /// tracks side by side, provenance.
    Merge(merge::MergeArgs),
    /// Collision coefficients of a PIC plasma from its parameters (deck or
    /// dataset), static or dynamic shielding, written as a fields model
    /// that `collop rollout --model DIR` reads.
    Theory(theory::TheoryArgs),
    /// Drift and diffusion estimated from particle tracks (streamed), on a
    /// dataset's grid, written as a fields model that `collop rollout
    /// --model DIR` reads; optionally resolved in time windows.
    Tracks(tracks::TracksArgs),
    /// Learned, track, theory and frozen models of one PIC run, rolled out
    /// on every sub-population (trained and held out): table, agreement
    /// with theory, radial profiles, summary.
    Compare(compare::CompareArgs),
    /// Learned models trained many times on one PIC run (models, time
    /// regularisations, random subsets of training sub-populations), each
    /// scored on held-out sub-populations: tables and figures.
    Sweep(sweep::SweepArgs),
    /// Datasets and track files from OSIRIS, openPMD (WarpX, PIConGPU,
    /// FBPIC; HDF5) and Smilei output: sub-populations selected at the
    /// first dump as in `collop pic` decks, streamed dump by dump.
    Import(import::ImportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => demo::run(&a),
        Command::Info(a) => info::run(&a),
        Command::Rollout(a) => rollout::run(&a),
        Command::Train(a) => train::run_train(&a),
        Command::Config(a) => config::run(&a),
        Command::Test(a) => train::run_test(&a),
        Command::Fields(a) => fields::run(&a),
        Command::Moments(a) => moments::run(&a),
        Command::Synthesise(a) => synthesise::run(&a),
        Command::Pic(a) => pic::run(&a),
        Command::Merge(a) => merge::run(&a),
        Command::Theory(a) => theory::run(&a),
        Command::Tracks(a) => tracks::run(&a),
        Command::Compare(a) => compare::run(&a),
        Command::Sweep(a) => sweep::run(&a),
        Command::Import(a) => import::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
