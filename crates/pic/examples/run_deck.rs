//! Run a deck into a run directory with line-by-line progress (a stand-in
//! for `collop pic DECK -o RUN`):
//! `cargo run --release -p collop-pic --example run_deck -- decks/small.toml RUN [--resume] [--threads N]`.

use std::path::PathBuf;

use collop_pic::deck::{Deck, Derived};
use collop_pic::{Observer, Progress, RunOptions, run};

struct Lines;

impl Observer for Lines {
    fn started(&mut self, derived: &Derived, start_step: u64) {
        print!("{derived}");
        if start_step > 0 {
            println!("resuming at step {start_step}");
        }
    }
    fn progress(&mut self, p: &Progress) {
        println!(
            "step {:>7}/{} t = {:>8.2} {:>7.2} Mparticle-steps/s energy error {:.2e} dumps {}",
            p.step,
            p.n_steps,
            p.time,
            p.particle_steps_per_second / 1e6,
            p.energy_error,
            p.dumps
        );
    }
    fn checkpointed(&mut self, step: u64) {
        println!("checkpoint at step {step}");
    }
    fn warning(&mut self, message: &str) {
        println!("warning: {message}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: run_deck DECK OUT_DIR [--resume] [--threads N]");
        std::process::exit(2);
    }
    let deck = Deck::from_file(&args[0]).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let mut opts = RunOptions { progress_every: 200, ..RunOptions::default() };
    let mut k = 2;
    while k < args.len() {
        match args[k].as_str() {
            "--resume" => opts.resume = true,
            "--threads" => {
                k += 1;
                opts.threads = args.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
            }
            other => eprintln!("ignoring {other}"),
        }
        k += 1;
    }
    match run(&deck, &PathBuf::from(&args[1]), &opts, &mut Lines) {
        Ok(s) => println!(
            "done: {} steps, {} dumps, {:.1} s, {:.1} ns per particle-step (wall), max energy error {:.2e}",
            s.steps,
            s.dumps,
            s.wall_seconds,
            s.wall_seconds * 1e9 / s.particle_steps.max(1) as f64,
            s.max_energy_error
        ),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}
