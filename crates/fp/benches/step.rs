//! Speed of the simulator's hot path: one Fokker-Planck step (forward) and
//! one step with its adjoint (forward + vector-Jacobian product, MAE loss,
//! gradient with respect to the coefficients, as in training) on a batch
//! of 190 distributions of 51 x 51 cells, the size of a training batch of the
//! reference data (two sub-populations x 95 windows), on 1 and 2 threads.
//!
//! Run with `cargo bench -p collop-fp --bench step`.

use collop_core::VelocityGrid;
use collop_fp::{
    Accumulation, BatchState, Edges, FokkerPlanck, Loss, LossKind, PreparedWindow, RolloutConfig, Scheme,
    Simulator, Window,
};
use collop_theory::{BiMaxwellian, Sampling, static_shielding_fields};
use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::{Array3, Array4, Axis};

const BATCH: usize = 190;

fn batch(grid: &VelocityGrid) -> Array3<f64> {
    let mut f = Array3::zeros((BATCH, grid.nx, grid.ny));
    for (b, mut frame) in f.axis_iter_mut(Axis(0)).enumerate() {
        let angle = b as f64 * 0.37;
        let blob =
            BiMaxwellian::isotropic(1.0, [2.0 * angle.cos(), 2.0 * angle.sin()], 0.5 + 0.002 * b as f64)
                .expect("valid blob");
        frame.assign(&blob.on_grid_normalised(grid, Sampling::CellCentre).expect("normalisable"));
    }
    f
}

fn bench_step(c: &mut Criterion) {
    let grid = VelocityGrid::square(51, 5.0).unwrap();
    let theta = static_shielding_fields(&grid, 0.034).unwrap().to_grid_units();
    let f0 = batch(&grid);
    let dt = 0.9978696;
    for edges in [Edges::Guard, Edges::OneSided] {
        let op = FokkerPlanck::new(grid, Scheme::Reference(edges)).unwrap();
        let sim = Simulator::new(&op, RolloutConfig::reference());
        let targets: Array4<f64> = f0.clone().insert_axis(Axis(0));
        let loss = Loss { kind: LossKind::Mae, accumulation: Accumulation::AllSteps };
        let tag = match edges {
            Edges::Guard => "guard",
            Edges::OneSided => "one-sided",
        };
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            // The batch is chunked for the pool it is made in.
            let mut state = pool.install(|| BatchState::from_frames(f0.view()).unwrap());
            c.bench_function(&format!("fp_{tag}/forward_step/190x51x51/{threads}t"), |b| {
                b.iter(|| pool.install(|| sim.advance(&theta, dt, &mut state, 0).unwrap()))
            });
            // Windows are converted to the simulator's layout once per training run.
            let window = Window { f0: f0.view(), targets: targets.view(), first_step: 0 };
            let prepared = pool.install(|| PreparedWindow::new(&window).unwrap());
            c.bench_function(&format!("fp_{tag}/forward_vjp_step/190x51x51/{threads}t"), |b| {
                b.iter(|| {
                    pool.install(|| {
                        sim.loss_and_gradient_prepared(&theta, dt, &prepared, loss, false).unwrap()
                    })
                })
            });
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench_step
}
criterion_main!(benches);
