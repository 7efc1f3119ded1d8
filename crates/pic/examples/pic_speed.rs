//! Quick timing of the benchmark deck outside criterion, reporting wall and
//! CPU time per particle-step (CPU time is robust to a busy machine):
//! `cargo run --release -p collop-pic --example pic_speed -- em 2 1 100`
//! (solver, shape order, threads, steps[, particles per cell]).

use std::time::Instant;

use collop_pic::Simulation;
use collop_pic::deck::{Deck, SolverKind};

#[path = "../benches/deck.rs"]
mod deck;

/// Process CPU time (user + system) in seconds, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let tick = |k: usize| fields.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = if args.get(1).map(String::as_str) == Some("es") { SolverKind::Es } else { SolverKind::Em };
    let order: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(2);
    let threads: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(1);
    let steps: usize = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(100);
    let ppc: Option<usize> = args.get(5).and_then(|v| v.parse().ok());
    let mut d = Deck::from_toml(deck::BENCH_DECK).unwrap();
    d.solver.kind = kind;
    d.solver.shape_order = order;
    if let Some(ppc) = ppc {
        d.species[0].ppc = ppc;
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let mut sim = pool.install(|| Simulation::new(&d, threads).unwrap());
    pool.install(|| {
        for _ in 0..5 {
            sim.step();
        }
    });
    let (w0, c0) = (Instant::now(), cpu_seconds());
    pool.install(|| {
        for _ in 0..steps {
            sim.step();
        }
    });
    let (wall, cpu) = (w0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    let ps = (sim.particle_count() * steps) as f64;
    println!(
        "{kind:?} order {order} threads {threads} ppc {}: wall {:.1} ns/particle-step, cpu {:.1} ns/particle-step (cpu/thread {:.1})",
        d.species[0].ppc,
        wall / ps * 1e9,
        cpu / ps * 1e9,
        cpu / ps * 1e9 / threads as f64
    );
}
