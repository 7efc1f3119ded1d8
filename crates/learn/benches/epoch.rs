//! One training epoch of the time-conditioned par/perp network on the
//! published data (Carvalho et al. 2026: `normal_-2_0` and
//! `ring_normal_2_0.2`, 96 frames each on a 51 x 51 grid, 95 dump steps).
//!
//! The model is the one `configs/reference-parperp-mlp.toml` trains: three
//! MLPs of `(|v|, t)` (2 x 64, LeakyReLU) producing `A_par, D_par, D_perp`,
//! rotated onto the grid, one operator slot per dump step (95). The
//! training numerics are the config's: reference scheme with one-sided
//! edges, one step per dump, `f >= 0` clamped, MAE accumulated over the
//! unrolled steps, 5 % of the window starts held out (seed 0).
//!
//! Benchmarks:
//!
//! * `epoch/parperp_time/unroll{1,10}`: the loss and its gradient over all
//!   training windows (what one Adam epoch of the reference schedule costs,
//!   `Objective::evaluate` with a gradient), at a new `phi` each time;
//! * `epoch/parperp_time/theta_and_vjp`: `theta` and `theta_vjp` alone (the
//!   networks' share of an epoch), at a new `phi` each time.
//!
//! * `epoch/tensor/nodes{1,25}/unroll{1,10}`: the same for the free
//!   Fokker-Planck tensor, constant and with 25 time nodes.
//! * `epoch/kernel/{tensor_k2,tensor_k3,mlp_k2}/unroll{1,10}`: the kernel
//!   operator's free tensor at `k = 2, 3` and its network at `k = 2`;
//!   `epoch/kernel/tensor_k3_t25/unroll{1,10}` the `k = 3` tensor with 25
//!   time nodes.
//!
//! Skipped with a message when the data are absent (see
//! `collop_io::locate_reference_data`). Run with
//! `cargo bench -p collop-learn --bench epoch`.
//!
//! ## Measured
//!
//! On a 2-core x86-64 machine shared with other builds, rayon on both
//! cores, criterion medians (`load` is the 1-minute load average before and
//! after the run, 1 of it this process's own):
//!
//! | benchmark | before: per cell, slot by slot | after: distinct speeds, slots batched |
//! | --- | --- | --- |
//! | `theta_and_vjp` | 1.436 s | 0.086 s |
//! | `unroll1` | 1.150 s | 0.249 s |
//! | `unroll10` | 1.478 s | 0.440 s |
//! | load | 0.80 -> 1.74 | 0.54 -> 1.04 |
//!
//! A short `collop train` of `configs/reference-parperp-mlp.toml` with
//! stages `unroll = 1` x 8 and `unroll = 10` x 5 epochs (seconds per epoch
//! from `history.csv`, median over the epochs after each stage's first,
//! which builds its window sets; an epoch includes the validation loss and
//! the history log): before 1.03 s (unroll 1) and 1.20 s (unroll 10), after
//! 0.30 s and 0.59 s, with the same losses to the last digit or two; load
//! about 1.
//!
//! ## The reference implementation on the same machine and data
//!
//! The authors' PyTorch code (`diogodcarvalho/ml-pic-collision-operators`,
//! its `FokkerPlanck2D_NNConditioned_AD_ParPerp`: three MLPs of `(|v|, t)`,
//! 2 x 64 LeakyReLU, `include_time = true`, `guard_cells = false`, MAE
//! accumulated over the unrolled steps, Adam, full batch, a 95/5 random
//! split), PyTorch 2.15 on the CPU, `torch.set_num_threads(2)`, float64
//! (`torch.set_default_dtype(torch.float64)`; its datasets follow the
//! default dtype), driven through its own dataset, dataloader, model,
//! optimiser and loss functions (`train.py`), with its epoch loop (train
//! step, then the validation loss under `no_grad`) re-stated without the
//! MLflow logging and plots; one warm-up epoch, then the median of the
//! timed epochs:
//!
//! | unroll | reference: train step | reference: epoch with validation | collop `unroll*` (after) |
//! | --- | --- | --- | --- |
//! | 1 (170 windows) | 4.83 s | 5.02 s | 0.249 s |
//! | 10 (152 windows) | 72.5 s | 74.6 s | 0.440 s |
//!
//! The reference evaluates its networks at every cell for every distinct
//! time in the batch (~90 x 2601 rows per network) at EVERY unrolled step
//! (it keeps the window's starting time through the unroll, so the rows
//! repeat step after step), and back-propagates through all of them; its
//! datasets count files rather than dump numbers, so it trains on dumps
//! 5..95 (fewer windows than collop's 5..100).

use collop_core::PhaseSpaceSeries;
use collop_fp::{
    Accumulation, Difference, Edges, Loss, LossKind, RolloutConfig, Scheme, StabilityPolicy, Substeps,
};
use collop_learn::{
    Conditioners, LinearKind, MlpKind, MlpModel, Model, Objective, Split, Symmetry, TimeInput, TimeNodes,
    WindowSet, linear_model,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn published_data() -> Option<Vec<PhaseSpaceSeries>> {
    let root = collop_io::locate_reference_data(env!("CARGO_MANIFEST_DIR"))?;
    Some(
        ["normal_-2_0", "ring_normal_2_0.2"]
            .iter()
            .map(|f| collop_io::read_dataset(root.join(f)).expect("published dataset").series)
            .collect(),
    )
}

fn bench_epoch(c: &mut Criterion) {
    let Some(data) = published_data() else { return };
    let n_steps = data.iter().map(|s| s.len() - 1).max().unwrap();
    let grid = data[0].grid;
    let conditioners = Conditioners {
        time: Some(TimeInput { window_steps: n_steps, n_slots: n_steps }),
        conditions: Vec::new(),
    };
    let model = MlpModel::build(
        grid,
        MlpKind::ParPerp,
        Scheme::Reference(Edges::OneSided),
        false,
        &[64, 64],
        0,
        conditioners,
    )
    .unwrap();
    let rollout =
        RolloutConfig { substeps: Substeps::Fixed(1), clamp_f: true, stability: StabilityPolicy::Ignore };
    let loss = Loss { kind: LossKind::Mae, accumulation: Accumulation::AllSteps };
    let split = Split::new(&data, 0.05, 0).unwrap();
    let mut phi = model.init();
    let mut grad = vec![0.0; phi.len()];

    let mut group = c.benchmark_group("epoch/parperp_time");
    group.sample_size(10);
    {
        let mut theta = vec![0.0; model.operator().nparams()];
        let dtheta = vec![1e-3; theta.len()];
        group.bench_function("theta_and_vjp", |b| {
            b.iter(|| {
                // A new parameter vector each time, as after an optimiser step.
                phi[0] += 1e-12;
                model.theta(&phi, &mut theta).unwrap();
                grad.fill(0.0);
                model.theta_vjp(&phi, &dtheta, &mut grad).unwrap();
            })
        });
    }
    for unroll in [1, 10] {
        let set = WindowSet::new(&data, unroll, &split, false, true).unwrap();
        let mut objective = Objective::new(&model, rollout, loss);
        group.bench_function(format!("unroll{unroll}"), |b| {
            b.iter(|| {
                phi[0] += 1e-12;
                objective.evaluate(&set, &phi, Some(&mut grad)).unwrap()
            })
        });
    }
    group.finish();
}

/// The free tensor (five fields on every cell) constant and with 25 time
/// nodes, same data, numerics and windows as above: what the time nodes
/// add to an epoch (every slot's operator is its nodes' interpolation; an
/// epoch sums the windows' gradients per slot and builds each slot's
/// matrix once, `collop_fp::GradientSum`).
fn bench_tensor_nodes(c: &mut Criterion) {
    let Some(data) = published_data() else { return };
    let n_steps = data.iter().map(|s| s.len() - 1).max().unwrap();
    let grid = data[0].grid;
    let rollout =
        RolloutConfig { substeps: Substeps::Fixed(1), clamp_f: true, stability: StabilityPolicy::Ignore };
    let loss = Loss { kind: LossKind::Mae, accumulation: Accumulation::AllSteps };
    let split = Split::new(&data, 0.05, 0).unwrap();
    let mut group = c.benchmark_group("epoch/tensor");
    group.sample_size(10);
    for nodes in [1, 25] {
        let time = TimeNodes::uniform(nodes, n_steps, n_steps).unwrap();
        let model = linear_model(
            grid,
            LinearKind::FpTensor(Symmetry::None),
            Scheme::Reference(Edges::OneSided),
            false,
            time,
        )
        .unwrap();
        let mut phi = model.init();
        let mut grad = vec![0.0; phi.len()];
        for unroll in [1, 10] {
            let set = WindowSet::new(&data, unroll, &split, false, true).unwrap();
            let mut objective = Objective::new(&model, rollout, loss);
            group.bench_function(format!("nodes{nodes}/unroll{unroll}"), |b| {
                b.iter(|| {
                    phi[0] += 1e-12;
                    objective.evaluate(&set, &phi, Some(&mut grad)).unwrap()
                })
            });
        }
    }
    group.finish();
}

/// The kernel operator `df/dt = delta . (K * f)` (arXiv 2601.13377) on
/// the same data, numerics and windows: the free kernel tensor (`K_x, K_y`
/// of `k x k` on every cell, forward outer differences) at `k = 2` and
/// `3`, and the kernel network (one 2 x 64 MLP of `v` giving both kernels
/// at `k = 2`), one epoch at unroll 1 and 10.
fn bench_kernel(c: &mut Criterion) {
    let Some(data) = published_data() else { return };
    let grid = data[0].grid;
    let rollout =
        RolloutConfig { substeps: Substeps::Fixed(1), clamp_f: true, stability: StabilityPolicy::Ignore };
    let loss = Loss { kind: LossKind::Mae, accumulation: Accumulation::AllSteps };
    let split = Split::new(&data, 0.05, 0).unwrap();
    let scheme = Scheme::Reference(Edges::OneSided);
    let mut models: Vec<(String, Box<dyn Model>)> = Vec::new();
    for k in [2, 3] {
        let kind = LinearKind::Kernel { k, difference: Difference::Forward, transpose: false };
        models.push((
            format!("tensor_k{k}"),
            Box::new(linear_model(grid, kind, scheme, false, TimeNodes::constant()).unwrap()),
        ));
    }
    let n_steps = data.iter().map(|s| s.len() - 1).max().unwrap();
    let time = TimeNodes::uniform(25, n_steps, n_steps).unwrap();
    let kind = LinearKind::Kernel { k: 3, difference: Difference::Forward, transpose: false };
    models.push(("tensor_k3_t25".into(), Box::new(linear_model(grid, kind, scheme, false, time).unwrap())));
    let kind = MlpKind::Kernel { k: 2, difference: Difference::Forward, transpose: false };
    let mlp = MlpModel::build(grid, kind, scheme, false, &[64, 64], 0, Conditioners::default()).unwrap();
    models.push(("mlp_k2".into(), Box::new(mlp)));
    let mut group = c.benchmark_group("epoch/kernel");
    group.sample_size(10);
    for (name, model) in &models {
        let mut phi = model.init();
        let mut grad = vec![0.0; phi.len()];
        for unroll in [1, 10] {
            // Grouped by start for a time-dependent model, as training does.
            let time_dependent = model.operator().n_slots() > 1;
            let set = WindowSet::new(&data, unroll, &split, false, time_dependent).unwrap();
            let mut objective = Objective::new(model.as_ref(), rollout, loss);
            group.bench_function(format!("{name}/unroll{unroll}"), |b| {
                b.iter(|| {
                    phi[0] += 1e-12;
                    objective.evaluate(&set, &phi, Some(&mut grad)).unwrap()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_epoch, bench_tensor_nodes, bench_kernel);
criterion_main!(benches);
