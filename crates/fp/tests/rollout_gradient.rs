//! The full-rollout gradient (many steps, clamp active, sub-steps, slots)
//! against central finite differences of the loss, for parameters and the
//! initial state.
//!
//! The loss is piecewise smooth: its kinks are where a clamped value or an
//! MAE residual crosses zero. Random data keep those crossings away from the
//! finite-difference stencil (step 1e-6 relative), so central differences
//! agree with the exact adjoint to their truncation and cancellation error,
//! about 1e-7 relative here; we assert 1e-5.

use collop_core::VelocityGrid;
use collop_fp::{
    Accumulation, Difference, Edges, FokkerPlanck, KernelOperator, Loss, LossKind, Operator, RolloutConfig,
    Scheme, Simulator, StabilityPolicy, Substeps, Window,
};
use ndarray::{Array3, Array4};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Case {
    theta: Vec<f64>,
    f0: Array3<f64>,
    targets: Array4<f64>,
}

/// Smooth-ish positive initial data with a region of near-zero values next
/// to a steep edge, where the explicit step undershoots below zero and the
/// clamp acts.
fn make_case(op: &dyn Operator, batch: usize, n_steps: usize, seed: u64, fp_like: bool) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let g = *op.grid();
    let n = g.len();
    let np = op.nparams();
    let mut theta: Vec<f64> = (0..np).map(|_| rng.random_range(-0.05..0.05)).collect();
    if fp_like {
        // Positive diffusion of moderate size keeps the rollout stable; drifts
        // strong enough for centred advection to undershoot at the steep edge.
        let per = 5 * n;
        for slot in 0..np / per {
            for p in 0..2 * n {
                theta[slot * per + p] = rng.random_range(-0.4..0.4);
            }
            for p in 2 * n..4 * n {
                theta[slot * per + p] = rng.random_range(0.15..0.3);
            }
        }
    }
    let f0 = Array3::from_shape_fn((batch, g.nx, g.ny), |(b, i, j)| {
        let inside = i + j + b > g.nx / 2;
        if inside { rng.random_range(0.5..1.0) } else { rng.random_range(0.0..0.02) }
    });
    let targets = Array4::from_shape_fn((n_steps, batch, g.nx, g.ny), |_| rng.random_range(0.0..1.0));
    Case { theta, f0, targets }
}

fn check_gradient(sim: &Simulator, op: &dyn Operator, case: &Case, dt: f64, loss: Loss, seed: u64) {
    let name = op.describe();
    let first_step = 1;
    let window = Window { f0: case.f0.view(), targets: case.targets.view(), first_step };
    let grad = sim.loss_and_gradient(&case.theta, dt, &window, loss, true).unwrap();
    let df0 = grad.df0.as_ref().unwrap();
    // Skipping the initial-state adjoint changes nothing else.
    let lean = sim.loss_and_gradient(&case.theta, dt, &window, loss, false).unwrap();
    assert!(lean.df0.is_none());
    assert_eq!(lean.dtheta, grad.dtheta, "{name}: dtheta with and without df0");
    // A one-step window without df0 takes the fused pass, which sums the
    // loss row by row: the same terms in another order, so equal to rounding.
    assert!((lean.loss - grad.loss).abs() <= 1e-14 * grad.loss.abs(), "{name}: loss with and without df0");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let eval = |theta: &[f64], f0: &Array3<f64>| {
        let w = Window { f0: f0.view(), targets: case.targets.view(), first_step };
        sim.loss_and_gradient(theta, dt, &w, loss, false).unwrap().loss
    };
    for trial in 0..3 {
        // Parameters.
        let u: Vec<f64> = (0..op.nparams()).map(|_| rng.random_range(-1.0..1.0)).collect();
        let eps = 1e-6;
        let tp: Vec<f64> = case.theta.iter().zip(&u).map(|(t, d)| t + eps * d).collect();
        let tm: Vec<f64> = case.theta.iter().zip(&u).map(|(t, d)| t - eps * d).collect();
        let fd = (eval(&tp, &case.f0) - eval(&tm, &case.f0)) / (2.0 * eps);
        let an: f64 = u.iter().zip(&grad.dtheta).map(|(a, b)| a * b).sum();
        assert!(
            (fd - an).abs() <= 1e-5 * an.abs().max(fd.abs()),
            "{name} {loss:?} trial {trial}: d/dtheta adjoint {an:e} vs FD {fd:e}"
        );
        // Initial state.
        let v = Array3::from_shape_fn(case.f0.dim(), |_| rng.random_range(-1.0..1.0));
        let fd = (eval(&case.theta, &(&case.f0 + &(&v * eps)))
            - eval(&case.theta, &(&case.f0 - &(&v * eps))))
            / (2.0 * eps);
        let an: f64 = (&v * df0).sum();
        assert!(
            (fd - an).abs() <= 1e-5 * an.abs().max(fd.abs()),
            "{name} {loss:?} trial {trial}: d/df0 adjoint {an:e} vs FD {fd:e}"
        );
    }
}

fn clamp_is_active(sim_clamped: &Simulator, op: &dyn Operator, case: &Case, dt: f64, n_steps: usize) -> bool {
    let mut cfg = *sim_clamped.config();
    cfg.clamp_f = false;
    let free = Simulator::new(op, cfg);
    let a = sim_clamped.rollout(&case.theta, dt, case.f0.view(), 1, n_steps).unwrap();
    let b = free.rollout(&case.theta, dt, case.f0.view(), 1, n_steps).unwrap();
    a.frames != b.frames && b.frames.iter().any(|&v| v < 0.0)
}

const N_STEPS: usize = 12;

#[test]
fn reference_scheme_rollout_gradient_with_active_clamp() {
    let g = VelocityGrid::new(9, 8, [-3.0, 3.0], [-3.0, 3.0]).unwrap();
    let cfg =
        RolloutConfig { substeps: Substeps::Fixed(1), clamp_f: true, stability: StabilityPolicy::Ignore };
    for edges in [Edges::Guard, Edges::OneSided] {
        let op = FokkerPlanck::new(g, Scheme::Reference(edges)).unwrap();
        let sim = Simulator::new(&op, cfg);
        let case = make_case(&op, 3, N_STEPS, 7, true);
        assert!(clamp_is_active(&sim, &op, &case, 1.0, N_STEPS), "the test must exercise the clamp");
        for kind in [LossKind::Mae, LossKind::Mse] {
            for acc in [Accumulation::AllSteps, Accumulation::LastStep] {
                check_gradient(&sim, &op, &case, 1.0, Loss { kind, accumulation: acc }, 11);
            }
        }
    }
}

#[test]
fn substeps_slots_and_diffusion_clamp_gradient() {
    let g = VelocityGrid::new(7, 10, [-3.0, 3.0], [-2.0, 4.0]).unwrap();
    let cfg =
        RolloutConfig { substeps: Substeps::Fixed(3), clamp_f: true, stability: StabilityPolicy::Ignore };
    // Time-dependent: 5 slots over 12 steps starting at step 1 (slot 4 repeats).
    let op =
        FokkerPlanck::with_slots(g, Scheme::Reference(Edges::Guard), 5).unwrap().with_diffusion_clamp(true);
    let sim = Simulator::new(&op, cfg);
    let mut case = make_case(&op, 2, N_STEPS, 21, true);
    // Some negative diffusion, far from zero, so the clamp on D acts.
    for p in (2 * g.len()..2 * g.len() + 10).step_by(2) {
        case.theta[p] = -0.2;
    }
    assert!(clamp_is_active(&sim, &op, &case, 2.0, N_STEPS));
    check_gradient(
        &sim,
        &op,
        &case,
        2.0,
        Loss { kind: LossKind::Mse, accumulation: Accumulation::AllSteps },
        5,
    );
}

#[test]
fn conservative_scheme_rollout_gradient_with_auto_substeps() {
    let g = VelocityGrid::new(8, 8, [-3.0, 3.0], [-3.0, 3.0]).unwrap();
    let op = FokkerPlanck::new(g, Scheme::Conservative).unwrap();
    let sim = Simulator::new(&op, RolloutConfig::automatic());
    let case = make_case(&op, 2, N_STEPS, 3, true);
    let out = sim.rollout(&case.theta, 3.0, case.f0.view(), 1, N_STEPS).unwrap();
    assert!(out.substeps.iter().all(|&m| m > 1), "dt = 3 must need sub-steps here: {:?}", out.substeps);
    check_gradient(
        &sim,
        &op,
        &case,
        3.0,
        Loss { kind: LossKind::Mae, accumulation: Accumulation::AllSteps },
        9,
    );
}

#[test]
fn kernel_operator_rollout_gradient() {
    let g = VelocityGrid::new(8, 7, [-3.0, 3.0], [-3.0, 3.0]).unwrap();
    let cfg =
        RolloutConfig { substeps: Substeps::Fixed(2), clamp_f: true, stability: StabilityPolicy::Ignore };
    for d in [Difference::Forward, Difference::Centred] {
        let op = KernelOperator::new(g, 3, d).unwrap();
        let sim = Simulator::new(&op, cfg);
        let case = make_case(&op, 2, N_STEPS, 13, false);
        assert!(clamp_is_active(&sim, &op, &case, 1.0, N_STEPS));
        check_gradient(
            &sim,
            &op,
            &case,
            1.0,
            Loss { kind: LossKind::Mae, accumulation: Accumulation::AllSteps },
            17,
        );
    }
}

/// The gradient does not depend on how the batch is split over threads.
#[test]
fn gradient_independent_of_thread_count() {
    let g = VelocityGrid::new(9, 9, [-3.0, 3.0], [-3.0, 3.0]).unwrap();
    let op = FokkerPlanck::new(g, Scheme::Reference(Edges::Guard)).unwrap();
    let cfg =
        RolloutConfig { substeps: Substeps::Fixed(1), clamp_f: true, stability: StabilityPolicy::Ignore };
    let case = make_case(&op, 5, 6, 99, true);
    let loss = Loss { kind: LossKind::Mae, accumulation: Accumulation::AllSteps };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            Simulator::new(&op, cfg)
                .loss_and_gradient(
                    &case.theta,
                    1.0,
                    &Window { f0: case.f0.view(), targets: case.targets.view(), first_step: 0 },
                    loss,
                    true,
                )
                .unwrap()
        })
    };
    let (a, b) = (run(1), run(3));
    assert!((a.loss - b.loss).abs() <= 1e-14 * a.loss);
    for (x, y) in a.dtheta.iter().zip(&b.dtheta) {
        assert!((x - y).abs() <= 1e-12 * (1.0 + x.abs()), "{x} vs {y}");
    }
    assert_eq!(a.df0, b.df0, "the state adjoint is computed column by column, identically");
}

/// Windows of one step (the unroll-1 stage of a schedule): without the
/// initial-state adjoint they take the fused forward-loss-adjoint pass,
/// checked against finite differences and, in `check_gradient`, against
/// the general sweeps (which the df0 request selects).
#[test]
fn one_step_window_gradient() {
    let g = VelocityGrid::new(9, 8, [-3.0, 3.0], [-3.0, 3.0]).unwrap();
    let cfg =
        RolloutConfig { substeps: Substeps::Fixed(1), clamp_f: true, stability: StabilityPolicy::Ignore };
    let fp = FokkerPlanck::new(g, Scheme::Reference(Edges::OneSided)).unwrap();
    let kern = KernelOperator::new(g, 3, Difference::Forward).unwrap();
    for op in [&fp as &dyn Operator, &kern] {
        let sim = Simulator::new(op, cfg);
        let case = make_case(op, 3, 1, 13, op.nparams() == 5 * g.len());
        assert!(
            clamp_is_active(&sim, op, &case, 1.0, 1),
            "{}: the test must exercise the clamp",
            op.describe()
        );
        for kind in [LossKind::Mae, LossKind::Mse] {
            check_gradient(&sim, op, &case, 1.0, Loss { kind, accumulation: Accumulation::AllSteps }, 5);
        }
    }
}

/// An odd number of sub-steps in total (the adjoint buffers end swapped).
#[test]
fn odd_number_of_substeps_gradient() {
    let g = VelocityGrid::new(7, 9, [-3.0, 3.0], [-3.0, 3.0]).unwrap();
    let op = FokkerPlanck::new(g, Scheme::Reference(Edges::Guard)).unwrap();
    let cfg =
        RolloutConfig { substeps: Substeps::Fixed(1), clamp_f: true, stability: StabilityPolicy::Ignore };
    let sim = Simulator::new(&op, cfg);
    let case = make_case(&op, 3, 11, 31, true);
    check_gradient(
        &sim,
        &op,
        &case,
        1.0,
        Loss { kind: LossKind::Mse, accumulation: Accumulation::AllSteps },
        3,
    );
}

/// The accumulating gradient (what a training epoch sums windows with) is
/// the scaled gradient of `loss_and_gradient`, touches only the parameters
/// of the time slots its window steps through, and refuses a non-finite
/// parameter in those slots while it does not scan the others.
#[test]
fn accumulated_gradient_is_the_scaled_gradient_of_the_window_slots() {
    let g = VelocityGrid::new(7, 8, [-3.0, 3.0], [-3.0, 3.0]).unwrap();
    let cfg =
        RolloutConfig { substeps: Substeps::Fixed(2), clamp_f: true, stability: StabilityPolicy::Ignore };
    // 6 slots; a window of 2 steps from step 2 uses slots 2 and 3 only.
    let op = FokkerPlanck::with_slots(g, Scheme::Reference(Edges::Guard), 6).unwrap();
    let sim = Simulator::new(&op, cfg);
    let case = make_case(&op, 3, 2, 5, true);
    let loss = Loss { kind: LossKind::Mae, accumulation: Accumulation::AllSteps };
    let window = Window { f0: case.f0.view(), targets: case.targets.view(), first_step: 2 };
    let prepared = collop_fp::PreparedWindow::new(&window).unwrap();
    let full = sim.loss_and_gradient_prepared(&case.theta, 1.0, &prepared, loss, false).unwrap();
    let start = vec![0.25; op.nparams()];
    let mut acc = start.clone();
    let (l, _) = sim.accumulate_gradient_prepared(&case.theta, 1.0, &prepared, loss, -0.5, &mut acc).unwrap();
    assert_eq!(l, full.loss);
    // The same sums in the same order, scaled: equal to round-off.
    for (k, ((a, s), d)) in acc.iter().zip(&start).zip(&full.dtheta).enumerate() {
        assert!(
            (a - (s - 0.5 * d)).abs() <= 1e-15 * (1.0 + d.abs()),
            "parameter {k}: {a} against {}",
            s - 0.5 * d
        );
    }
    let per_slot = op.nparams() / 6;
    let used = 2 * per_slot..4 * per_slot;
    assert!(full.dtheta[used.clone()].iter().any(|&v| v != 0.0), "the window's slots get a gradient");
    assert!(
        acc.iter().enumerate().filter(|(k, _)| !used.contains(k)).all(|(_, &v)| v == 0.25),
        "the other slots are untouched"
    );
    // NaN outside the window's slots: not looked at; inside: refused.
    let mut theta = case.theta.clone();
    theta[5 * per_slot] = f64::NAN;
    assert!(sim.accumulate_gradient_prepared(&theta, 1.0, &prepared, loss, 1.0, &mut acc).is_ok());
    theta[2 * per_slot + 3] = f64::NAN;
    let err = sim.accumulate_gradient_prepared(&theta, 1.0, &prepared, loss, 1.0, &mut acc).unwrap_err();
    assert!(err.to_string().contains("slot 2"), "{err}");
    // The non-accumulating route still checks the whole vector.
    let mut theta = case.theta.clone();
    theta[5 * per_slot] = f64::NAN;
    assert!(sim.loss_and_gradient_prepared(&theta, 1.0, &prepared, loss, false).is_err());
}

/// A sum over windows that share slots (built once in the sum) equals the
/// scaled sum of the windows' own gradients: the cache changes the work,
/// not the result.
#[test]
fn gradient_sum_over_windows_equals_the_sum_of_gradients() {
    let g = VelocityGrid::new(6, 7, [-3.0, 3.0], [-3.0, 3.0]).unwrap();
    let cfg =
        RolloutConfig { substeps: Substeps::Fixed(2), clamp_f: true, stability: StabilityPolicy::Ignore };
    let op = FokkerPlanck::with_slots(g, Scheme::Reference(Edges::Guard), 5).unwrap();
    let sim = Simulator::new(&op, cfg);
    let loss = Loss { kind: LossKind::Mse, accumulation: Accumulation::AllSteps };
    let cases: Vec<(Case, usize)> = [(0, 1), (1, 3), (2, 2)]
        .iter()
        .map(|&(first, seed)| (make_case(&op, 2, 3, seed, true), first))
        .collect();
    let theta = &cases[0].0.theta;
    let scales = [0.5, 0.25, 2.0];
    let mut expected = vec![0.0; op.nparams()];
    let mut sum = collop_fp::GradientSum::new(&sim, theta, 1.5).unwrap();
    for ((case, first), scale) in cases.iter().zip(scales) {
        let w = Window { f0: case.f0.view(), targets: case.targets.view(), first_step: *first };
        let prepared = collop_fp::PreparedWindow::new(&w).unwrap();
        let own = sim.loss_and_gradient_prepared(theta, 1.5, &prepared, loss, false).unwrap();
        expected.iter_mut().zip(&own.dtheta).for_each(|(e, d)| *e += scale * d);
        assert_eq!(sum.add(&prepared, loss, scale).unwrap(), own.loss);
    }
    let mut got = vec![0.0; op.nparams()];
    sum.finish(&mut got).unwrap();
    let norm = expected.iter().map(|v| v.abs()).fold(0.0, f64::max);
    assert!(norm > 0.0);
    // Sums in another order: equal to a few ulps of the largest entry.
    for (k, (a, b)) in got.iter().zip(&expected).enumerate() {
        assert!((a - b).abs() <= 1e-13 * norm, "parameter {k}: {a} against {b}");
    }
}

/// A sum over time nodes ([`collop_fp::GradientSum::blended`]: each node's
/// matrix assembled once, each slot's the blend of two) gives the loss and
/// the node gradient of the route through the interpolated parameters
/// (every slot assembled from its own blend of the nodes, the slots'
/// gradients interpolated back). The two differ only in where the blend's
/// products are rounded (parameters against entries): equal to a few ulps
/// of the largest value.
#[test]
fn blended_node_sum_equals_the_interpolated_parameters() {
    let g = VelocityGrid::new(6, 7, [-3.0, 3.0], [-3.0, 3.0]).unwrap();
    let cfg =
        RolloutConfig { substeps: Substeps::Fixed(2), clamp_f: true, stability: StabilityPolicy::Ignore };
    let n_slots = 6;
    // Three nodes over six slots, one slot on a node, one past the last.
    let weights: Vec<[(usize, f64); 2]> = vec![
        [(0, 1.0), (1, 0.0)],
        [(0, 0.6), (1, 0.4)],
        [(0, 0.2), (1, 0.8)],
        [(1, 0.7), (2, 0.3)],
        [(1, 0.1), (2, 0.9)],
        [(1, -0.3), (2, 1.3)],
    ];
    let kernel = KernelOperator::with_slots(g, 3, Difference::Centred, n_slots).unwrap();
    let fp = FokkerPlanck::with_slots(g, Scheme::Reference(Edges::Guard), n_slots).unwrap();
    for (op, fp_like) in [(&kernel as &dyn Operator, false), (&fp as &dyn Operator, true)] {
        let name = op.describe();
        let per = op.nparams() / n_slots;
        let sim = Simulator::new(op, cfg);
        let loss = Loss { kind: LossKind::Mae, accumulation: Accumulation::AllSteps };
        // Node blocks drawn like a slot's parameters (FP-like: stable).
        let nodes: Vec<f64> =
            (0..3).flat_map(|k| make_case(op, 1, 1, 10 + k, fp_like).theta[..per].to_vec()).collect();
        let mut theta = vec![0.0; op.nparams()];
        for (s, w) in weights.iter().enumerate() {
            for &(k, wk) in w {
                for p in 0..per {
                    theta[s * per + p] += wk * nodes[k * per + p];
                }
            }
        }
        let cases: Vec<(Case, usize)> = [(0, 1), (2, 3), (3, 2)]
            .iter()
            .map(|&(first, seed)| (make_case(op, 2, 3, seed, fp_like), first))
            .collect();
        let mut by_slots = collop_fp::GradientSum::new(&sim, &theta, 1.5).unwrap();
        let blend = collop_fp::NodeBlend { nodes: &nodes, weights: &weights };
        let mut by_nodes = collop_fp::GradientSum::blended(&sim, blend, 1.5).unwrap();
        for ((case, first), scale) in cases.iter().zip([0.5, 0.25, 2.0]) {
            let w = Window { f0: case.f0.view(), targets: case.targets.view(), first_step: *first };
            let prepared = collop_fp::PreparedWindow::new(&w).unwrap();
            let a = by_slots.add(&prepared, loss, scale).unwrap();
            let b = by_nodes.add(&prepared, loss, scale).unwrap();
            assert!((a - b).abs() <= 1e-13 * a.abs(), "{name}: loss {a} by slots, {b} by nodes");
        }
        let mut dtheta = vec![0.0; op.nparams()];
        by_slots.finish(&mut dtheta).unwrap();
        let mut expected = vec![0.0; nodes.len()];
        for (s, w) in weights.iter().enumerate() {
            for &(k, wk) in w {
                for p in 0..per {
                    expected[k * per + p] += wk * dtheta[s * per + p];
                }
            }
        }
        // Accumulates onto what is there.
        let mut got = vec![1.0; nodes.len()];
        by_nodes.finish_nodes(&mut got).unwrap();
        let norm = expected.iter().map(|v| v.abs()).fold(0.0, f64::max);
        assert!(norm > 0.0, "{name}: the windows reach every node");
        for (p, (a, b)) in got.iter().zip(&expected).enumerate() {
            assert!(
                (a - 1.0 - b).abs() <= 1e-12 * norm,
                "{name}: node parameter {p}: {} against {b}",
                a - 1.0
            );
        }
        // A node sum has no theta gradient, nor a slot sum a node gradient.
        let by_nodes = collop_fp::GradientSum::blended(&sim, blend, 1.5).unwrap();
        assert!(by_nodes.finish(&mut dtheta).unwrap_err().to_string().contains("finish_nodes"));
        let by_slots = collop_fp::GradientSum::new(&sim, &theta, 1.5).unwrap();
        assert!(by_slots.finish_nodes(&mut expected).is_err());
        // Weights naming a node that is not given, or too few slots.
        let bad = [[(0, 1.0), (3, 0.5)]; 6];
        let err =
            collop_fp::GradientSum::blended(&sim, collop_fp::NodeBlend { nodes: &nodes, weights: &bad }, 1.5);
        assert!(err.is_err(), "{name}: node 3 of 3");
        let short = collop_fp::NodeBlend { nodes: &nodes, weights: &weights[..5] };
        assert!(collop_fp::GradientSum::blended(&sim, short, 1.5).is_err(), "{name}: 5 of 6 slots");
    }
    // The clamp D >= 0 is not linear: no blend.
    let clamped = FokkerPlanck::with_slots(g, Scheme::Reference(Edges::Guard), n_slots)
        .unwrap()
        .with_diffusion_clamp(true);
    assert!(clamped.linear_assembly().is_none());
    let sim = Simulator::new(&clamped, cfg);
    let nodes = vec![0.1; 3 * 5 * g.len()];
    let err =
        collop_fp::GradientSum::blended(&sim, collop_fp::NodeBlend { nodes: &nodes, weights: &weights }, 1.5)
            .err()
            .expect("refused");
    assert!(err.to_string().contains("not linear"), "{err}");
}
