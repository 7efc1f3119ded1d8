//! Wall time per particle per step of the full PIC cycle (gather, push,
//! deposit, field solve, reduction, periodic sort) on the benchmark
//! deck: a 128 x 128 periodic thermal plasma, v_th = 0.1 c, dx = 0.5 lambda_D,
//! 16 particles per cell, immobile ions.
//!
//! `cargo bench -p collop-pic --bench push`. Group `pic_step` measures wall
//! time (throughput in particle-steps per second; ns per particle-step =
//! 1e3 / Melem/s); group `pic_step_cpu` measures process CPU time, whose
//! throughput line reads directly in CPU ns per particle-step (robust to a
//! busy machine; with two threads it is the sum over both). Filter with e.g.
//! `-- pic_step_cpu/em/order2/threads1`.

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use collop_pic::Simulation;
use collop_pic::deck::{Deck, SolverKind};

#[path = "cpu_time.rs"]
mod cpu_time;
#[path = "deck.rs"]
mod deck;
use deck::BENCH_DECK;

fn bench_wall(c: &mut Criterion) {
    bench(c, "pic_step");
}

fn bench_cpu(c: &mut Criterion<cpu_time::CpuTime>) {
    bench(c, "pic_step_cpu");
}

fn bench<M: Measurement>(c: &mut Criterion<M>, group_name: &str) {
    let mut group = c.benchmark_group(group_name);
    group.sample_size(10);
    for kind in [SolverKind::Em, SolverKind::Es] {
        for order in 1..=4 {
            for threads in [1, 2] {
                let mut deck = Deck::from_toml(BENCH_DECK).unwrap();
                deck.solver.kind = kind;
                deck.solver.shape_order = order;
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let mut sim = pool.install(|| Simulation::new(&deck, threads).unwrap());
                group.throughput(Throughput::Elements(sim.particle_count() as u64));
                let name = format!(
                    "{}/order{order}/threads{threads}",
                    if kind == SolverKind::Em { "em" } else { "es" }
                );
                group.bench_function(name, |b| b.iter(|| pool.install(|| sim.step())));
            }
        }
    }
    // The second particle count: 64 per cell (1M particles).
    for order in [2, 4] {
        let mut deck = Deck::from_toml(BENCH_DECK).unwrap();
        deck.solver.shape_order = order;
        deck.species[0].ppc = 64;
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let mut sim = pool.install(|| Simulation::new(&deck, 1).unwrap());
        group.throughput(Throughput::Elements(sim.particle_count() as u64));
        group.bench_function(format!("em/order{order}/ppc64/threads1"), |b| {
            b.iter(|| pool.install(|| sim.step()))
        });
    }
    group.finish();
}

criterion_group!(wall, bench_wall);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(cpu_time::CpuTime::default());
    targets = bench_cpu
}
criterion_main!(wall, cpu);
