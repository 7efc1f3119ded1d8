//! Speed of the coefficient network: forward, and forward + backward (the
//! gradient with respect to all parameters, as in training), of the reference
//! MLP (2 hidden layers of 64 units, LeakyReLU) producing 5 Fokker-Planck
//! coefficient fields at every cell of a 51 x 51 grid (2601 points) and of a
//! 101 x 101 grid (10201 points), from the normalised velocity alone (2
//! inputs) and with one conditioner (3 inputs, e.g. time), on 1 and 2 threads.
//!
//! The parametrisations built on it (`MlpModel`): `theta` and `theta` +
//! `theta_vjp` (one training evaluation's share) on the 51 x 51 grid for the
//! field, par/perp and kernel families, and for the field networks with a
//! time input over 10 slots (all slots in one batched forward pass whose
//! activations the vjp reuses). The epoch of the time-conditioned par/perp
//! network on the published data is the `epoch` bench.
//!
//! Run with `cargo bench -p collop-learn --bench mlp`.

use collop_core::VelocityGrid;
use collop_fp::{Difference, Edges, Scheme};
use collop_learn::nn::{Mlp, grid_inputs};
use collop_learn::{Conditioners, MlpKind, MlpModel, Model, TimeInput};
use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array2;

fn bench_mlp(c: &mut Criterion) {
    for (cells, extra) in [(51, &[][..]), (51, &[0.5][..]), (101, &[][..])] {
        let grid = VelocityGrid::square(cells, 5.0).unwrap();
        let x = grid_inputs(&grid, extra);
        let mlp = Mlp::reference(x.ncols(), 5).unwrap();
        let params = mlp.init(0);
        let mut ws = mlp.workspace(x.nrows());
        let d_outputs = Array2::from_elem((x.nrows(), 5), 1e-3);
        let mut d_params = vec![0.0; mlp.nparams()];
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let tag = format!("{}in_2x64_5out/{}pts/{threads}t", x.ncols(), x.nrows());
            c.bench_function(&format!("mlp/forward/{tag}"), |b| {
                b.iter(|| {
                    pool.install(|| {
                        mlp.forward(&params, x.view(), &mut ws).unwrap();
                    })
                })
            });
            c.bench_function(&format!("mlp/forward_backward/{tag}"), |b| {
                b.iter(|| {
                    pool.install(|| {
                        mlp.forward(&params, x.view(), &mut ws).unwrap();
                        mlp.backward(&params, &mut ws, d_outputs.view(), &mut d_params, None).unwrap();
                    })
                })
            });
        }
    }
}

fn bench_models(c: &mut Criterion) {
    let grid = VelocityGrid::square(51, 5.0).unwrap();
    let time =
        Conditioners { time: Some(TimeInput { window_steps: 10, n_slots: 10 }), conditions: Vec::new() };
    let cases = [
        ("fields", MlpKind::Fields, Conditioners::none()),
        ("fields_time10", MlpKind::Fields, time),
        ("parperp", MlpKind::ParPerp, Conditioners::none()),
        (
            "kernel3_transpose",
            MlpKind::Kernel { k: 3, difference: Difference::Forward, transpose: true },
            Conditioners::none(),
        ),
    ];
    for (name, kind, cond) in cases {
        let m =
            MlpModel::build(grid, kind, Scheme::Reference(Edges::Guard), false, &[64, 64], 0, cond).unwrap();
        let phi = m.init();
        let mut theta = vec![0.0; m.operator().nparams()];
        let dtheta = vec![1e-3; theta.len()];
        let mut dphi = vec![0.0; m.nparams()];
        let mut shifted = phi.clone();
        c.bench_function(&format!("mlp_model/theta/{name}"), |b| {
            b.iter(|| {
                // A new parameter vector each time, as after an optimiser step.
                shifted[0] += 1e-12;
                m.theta(&shifted, &mut theta).unwrap();
            })
        });
        c.bench_function(&format!("mlp_model/theta_and_vjp/{name}"), |b| {
            b.iter(|| {
                shifted[0] += 1e-12;
                m.theta(&shifted, &mut theta).unwrap();
                m.theta_vjp(&shifted, &dtheta, &mut dphi).unwrap();
            })
        });
    }
}

criterion_group!(benches, bench_mlp, bench_models);
criterion_main!(benches);
