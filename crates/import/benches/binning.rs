//! Binning speed: the hot loop of an import, particles per second.
//!
//! `cargo bench -p collop-import --bench binning` bins 2^20 thermal
//! particles (Gaussian, `v_th = 1`, a quarter outside the window) on a
//! 51 x 51 grid over `[-2, 2]^2` with weights, the work `Binner::add` does
//! per chunk of an import. The side-by-side comparison with h5py + numpy
//! on the same file (reading included) is `scripts/import-bench.py`.
//!
//! Figures: see the README's Benchmarks (measure on an idle machine:
//! `uptime` load below 0.3 on the cores used).

use collop_core::VelocityGrid;
use collop_import::bin::Binner;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn particles(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    // A deterministic Gaussian sample (Box-Muller on hashed uniforms).
    let g = |s: u64, q: u64| {
        let a = collop_core::population::uniform_hash(7, s, q);
        let b = collop_core::population::uniform_hash(7, s + 100, q);
        (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
    };
    let vx = (0..n as u64).map(|q| g(1, q)).collect();
    let vy = (0..n as u64).map(|q| g(2, q)).collect();
    let w = (0..n).map(|q| 0.5 + (q % 5) as f64 * 0.25).collect();
    (vx, vy, w)
}

fn bench(c: &mut Criterion) {
    let n = 1 << 20;
    let (vx, vy, w) = particles(n);
    let grid = VelocityGrid::square(51, 2.0).expect("grid");
    let binner = Binner::new(&grid);
    let mut hist = vec![0.0; 51 * 51];
    let mut group = c.benchmark_group("binning");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("binner_add_2^20_particles_51x51", |b| {
        b.iter(|| {
            hist.iter_mut().for_each(|h| *h = 0.0);
            binner.add(&vx, &vy, &w, &mut hist);
            std::hint::black_box(&hist);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
