//! Every neural-network parametrisation (Fokker-Planck fields, par/perp
//! profiles, kernels), without and with each kind of conditioner: exact
//! vector-Jacobian products (against central finite differences), the
//! dot-product test of the operator each drives, seeded initialisation,
//! the symmetries promised, conditioned training objectives and a short
//! training run.
//!
//! Finite-difference tolerances: the maps are piecewise smooth (LeakyReLU
//! kinks); a step of 1e-6 in a random direction crosses a kink only if a
//! pre-activation is within ~1e-6 of zero, which these seeded draws avoid
//! (a crossing would show as an O(1) relative error, not a small one).
//! Away from kinks, central differences have truncation error O(h^2 f''')
//! ~ 1e-12 and round-off ~ 1e-16 |terms| / h ~ 1e-10 relative for these
//! O(1) sums, so a relative tolerance of 1e-6 is a wide margin while any
//! indexing, transposition or missing-term error is O(1).

use collop_core::{FpFields, VelocityGrid};
use collop_fp::{
    Accumulation, Difference, Edges, FokkerPlanck, Loss, LossKind, RolloutConfig, Scheme, StabilityPolicy,
    Substeps,
};
use collop_learn::synthetic::{SyntheticSpec, synthesise};
use collop_learn::{
    Conditioners, FeatureRange, MlpKind, MlpModel, Model, Objective, OptimiserKind, Split, Stage, TimeInput,
    TrainSettings, TrainState, WindowSet, train, train_conditioned,
};
use collop_theory::{BiMaxwellian, Sampling, fields_from_radial_cells, static_shielding_fields};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: &[f64], s: f64, b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + s * y).collect()
}

fn grid() -> VelocityGrid {
    VelocityGrid::square(7, 3.0).unwrap()
}

fn kinds() -> [MlpKind; 4] {
    [
        MlpKind::Fields,
        MlpKind::ParPerp,
        MlpKind::Kernel { k: 2, difference: Difference::Forward, transpose: false },
        MlpKind::Kernel { k: 3, difference: Difference::Centred, transpose: true },
    ]
}

/// No conditioners, time only (with slots beyond the window), features only
/// (three conditions, one of them outside the training range), and both.
fn conditioner_sets() -> Vec<(&'static str, Conditioners)> {
    let time = TimeInput { window_steps: 4, n_slots: 6 };
    let features = vec![vec![-1.0, 0.0], vec![1.0, 0.0], vec![0.25, 1.5]];
    vec![
        ("none", Conditioners::none()),
        ("time", Conditioners { time: Some(time), conditions: Vec::new() }),
        ("features", Conditioners { time: None, conditions: features.clone() }),
        ("time + features", Conditioners { time: Some(time), conditions: features }),
    ]
}

fn model(kind: MlpKind, cond: Conditioners, seed: u64) -> MlpModel {
    MlpModel::build(grid(), kind, Scheme::Reference(Edges::Guard), false, &[5, 4], seed, cond).unwrap()
}

fn theta_of(m: &dyn Model, phi: &[f64], c: usize) -> Vec<f64> {
    let mut theta = vec![0.0; m.operator().nparams()];
    m.theta_for(phi, c, &mut theta).unwrap();
    theta
}

#[test]
fn theta_vjp_matches_central_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for kind in kinds() {
        for (name, cond) in conditioner_sets() {
            let m = model(kind, cond, 7);
            let tag = format!("{kind:?}, conditioners {name}");
            let phi = m.init();
            let nt = m.operator().nparams();
            for c in 0..m.n_conditions() {
                let w = random(&mut rng, nt);
                let mut g = vec![0.0; m.nparams()];
                m.theta_vjp_for(&phi, c, &w, &mut g).unwrap();
                for _ in 0..2 {
                    let u = random(&mut rng, m.nparams());
                    let h = 1e-6;
                    let fd = (dot(&theta_of(&m, &axpy(&phi, h, &u), c), &w)
                        - dot(&theta_of(&m, &axpy(&phi, -h, &u), c), &w))
                        / (2.0 * h);
                    let an = dot(&u, &g);
                    let scale = g.iter().zip(&u).map(|(a, b)| (a * b).abs()).sum::<f64>();
                    assert!((fd - an).abs() <= 1e-6 * scale, "{tag}, condition {c}: vjp {an} vs FD {fd}");
                }
                // Accumulates: a second call adds the same gradient.
                let mut g2 = g.clone();
                m.theta_vjp_for(&phi, c, &w, &mut g2).unwrap();
                assert!(
                    g2.iter().zip(&g).all(|(a, b)| (a - 2.0 * b).abs() <= 1e-12 * b.abs().max(1.0)),
                    "{tag}"
                );
            }
        }
    }
}

/// The operator each model drives: `<C v, w> = <v, C^T w>` at the model's
/// parameters, in every slot, and the whole chain `phi -> <C(theta(phi)) f, w>`
/// against central differences through the operator's parameter vjp.
#[test]
fn driven_operators_pass_the_dot_product_test() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for kind in kinds() {
        for (name, cond) in conditioner_sets() {
            let m = model(kind, cond, 3);
            let tag = format!("{kind:?}, conditioners {name}");
            let op = m.operator();
            let n = op.grid().len();
            let phi = m.init();
            let c = m.n_conditions() - 1;
            let theta = theta_of(&m, &phi, c);
            for step in 0..op.n_slots() + 1 {
                let (v, w) = (random(&mut rng, n), random(&mut rng, n));
                let mut cv = vec![0.0; n];
                op.apply(&theta, step, &v, &mut cv);
                let mut dtheta = vec![0.0; op.nparams()];
                let mut ctw = vec![0.0; n];
                op.vjp(&theta, step, &v, &w, &mut dtheta, &mut ctw);
                let (lhs, rhs) = (dot(&cv, &w), dot(&v, &ctw));
                let scale = cv.iter().zip(&w).map(|(a, b)| (a * b).abs()).sum::<f64>();
                assert!((lhs - rhs).abs() <= 1e-12 * scale, "{tag}, step {step}: {lhs} vs {rhs}");

                let mut g = vec![0.0; m.nparams()];
                m.theta_vjp_for(&phi, c, &dtheta, &mut g).unwrap();
                let u = random(&mut rng, m.nparams());
                let h = 1e-6;
                let chain = |p: &[f64]| {
                    let mut out = vec![0.0; n];
                    op.apply(&theta_of(&m, p, c), step, &v, &mut out);
                    dot(&out, &w)
                };
                let fd = (chain(&axpy(&phi, h, &u)) - chain(&axpy(&phi, -h, &u))) / (2.0 * h);
                let an = dot(&u, &g);
                let scale = g.iter().zip(&u).map(|(a, b)| (a * b).abs()).sum::<f64>();
                assert!((fd - an).abs() <= 1e-6 * scale, "{tag}, step {step}: chain {an} vs FD {fd}");
            }
        }
    }
}

#[test]
fn seeded_initialisation_is_reproducible() {
    for kind in kinds() {
        for (name, cond) in conditioner_sets() {
            let (a, b) = (model(kind, cond.clone(), 11), model(kind, cond.clone(), 11));
            let phi = a.init();
            assert_eq!(phi.len(), a.nparams());
            assert_eq!(phi, b.init(), "{kind:?}, {name}: same seed, same parameters");
            for c in 0..a.n_conditions() {
                assert_eq!(theta_of(&a, &phi, c), theta_of(&b, &phi, c), "{kind:?}, {name}: same theta");
            }
            let other = model(kind, cond, 12).init();
            assert!(
                phi.iter().zip(&other).filter(|(x, y)| x == y).count() < 3,
                "{kind:?}, {name}: other seed"
            );
        }
    }
}

/// `K_y(v_x, v_y; l, m) = K_x(v_y, v_x; m, l)` to the last bit, in every slot
/// and condition.
#[test]
fn kernel_mlp_transpose_symmetry_is_exact() {
    let k = 3;
    for (name, cond) in conditioner_sets() {
        let m = model(MlpKind::Kernel { k, difference: Difference::Forward, transpose: true }, cond, 5);
        let g = grid();
        let n = g.len();
        let per = 2 * k * k * n;
        assert_eq!(m.net().outputs(), k * k, "only K_x is produced");
        for c in 0..m.n_conditions() {
            let theta = theta_of(&m, &m.init(), c);
            for s in 0..m.operator().n_slots() {
                let t = &theta[s * per..(s + 1) * per];
                let kx = |l: usize, mm: usize, i: usize, j: usize| t[(l * k + mm) * n + g.index(i, j)];
                let ky = |l: usize, mm: usize, i: usize, j: usize| t[((k + l) * k + mm) * n + g.index(i, j)];
                for l in 0..k {
                    for mm in 0..k {
                        for i in 0..g.nx {
                            for j in 0..g.ny {
                                assert_eq!(
                                    ky(l, mm, i, j),
                                    kx(mm, l, j, i),
                                    "{name}: slot {s}, ({l},{mm},{i},{j})"
                                );
                            }
                        }
                    }
                }
                assert!(t.iter().any(|&v| v != 0.0));
            }
        }
    }
}

/// The par/perp fields are the theory crate's rotation of the networks'
/// per-cell profiles (computed here by running the networks directly on
/// the model's inputs), so isotropic: `D_xy = 0` on the axes, `A` radial.
#[test]
fn parperp_mlp_fields_are_rotated_profiles() {
    for (name, cond) in conditioner_sets() {
        let m = model(MlpKind::ParPerp, cond, 9);
        let g = grid();
        let n = g.len();
        let h = g.dvx();
        let phi = m.init();
        let p = m.net().nparams();
        for c in 0..m.n_conditions() {
            let theta = theta_of(&m, &phi, c);
            for s in 0..m.operator().n_slots() {
                let x = m.inputs(c, s);
                // Speed input 2 |v| / v_max - 1 in the first column.
                let vmax = 3.0f64.hypot(3.0);
                let k = g.index(6, 2);
                assert!((x[[k, 0]] - (2.0 * g.vx(6).hypot(g.vy(2)) / vmax - 1.0)).abs() < 1e-14);
                let mut profiles = Vec::new();
                for f in 0..3 {
                    let mut ws = collop_learn::nn::MlpWorkspace::new();
                    let y = m.net().forward(&phi[f * p..(f + 1) * p], x.view(), &mut ws).unwrap();
                    let scale = if f == 0 { h } else { h * h };
                    profiles.push(y.column(0).iter().map(|v| v * scale).collect::<Vec<f64>>());
                }
                let expected =
                    fields_from_radial_cells(&g, &profiles[0], &profiles[1], &profiles[2]).unwrap();
                let ours = FpFields::from_grid_units(g, &theta[s * 5 * n..(s + 1) * 5 * n]).unwrap();
                let big =
                    expected.as_array().iter().flat_map(|a| a.iter()).fold(0.0f64, |a, v| a.max(v.abs()));
                for (a, b) in ours.as_array().iter().zip(expected.as_array()) {
                    for (x, y) in a.iter().zip(b.iter()) {
                        assert!((x - y).abs() <= 1e-13 * big, "{name}: {x} vs {y}");
                    }
                }
                // On the axes (the middle row and column of the odd grid,
                // whose centres are within a few ulps of zero) D_xy vanishes;
                // the origin itself has the diagonal direction by convention.
                for q in (0..g.nx).filter(|&q| q != 3) {
                    for (i, j) in [(3, q), (q, 3)] {
                        assert!(
                            ours.d_xy[[i, j]].abs() <= 1e-12 * big,
                            "{name}: D_xy({i},{j}) = {}",
                            ours.d_xy[[i, j]]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn feature_ranges_normalise_to_the_unit_interval() {
    let r = FeatureRange::over("ppc", &[4.0, 16.0, 8.0]).unwrap();
    assert_eq!((r.min, r.max), (4.0, 16.0));
    assert_eq!(r.normalise(4.0), -1.0);
    assert_eq!(r.normalise(16.0), 1.0);
    assert_eq!(r.normalise(10.0), 0.0);
    assert_eq!(r.normalise(22.0), 2.0, "linear beyond the training range");
    let constant = FeatureRange::over("shape_order", &[2.0, 2.0]).unwrap();
    assert_eq!(constant.normalise(2.0), 0.0);
    assert_eq!(constant.normalise(3.0), 0.0, "a constant training feature always maps to 0");
    assert!(FeatureRange::over("vth_c", &[]).is_err());
    assert!(FeatureRange::over("vth_c", &[f64::NAN]).is_err());
    let t = TimeInput { window_steps: 5, n_slots: 8 };
    assert_eq!((t.value(0), t.value(2), t.value(4), t.value(6)), (-1.0, 0.0, 1.0, 2.0));
}

fn rollout_cfg() -> RolloutConfig {
    RolloutConfig { substeps: Substeps::Fixed(1), clamp_f: false, stability: StabilityPolicy::Ignore }
}

/// Two small synthetic datasets from the static-shielding operator at two amplitudes.
fn two_datasets(g: VelocityGrid, n_dumps: usize) -> Vec<collop_core::PhaseSpaceSeries> {
    let op = FokkerPlanck::new(g, Scheme::Reference(Edges::Guard)).unwrap();
    [(0.05, [-1.0, 0.0]), (0.1, [0.5, 0.5])]
        .iter()
        .map(|&(c, mean)| {
            let theta = static_shielding_fields(&g, c).unwrap().to_grid_units();
            let f0 = BiMaxwellian::isotropic(1.0, mean, 0.6)
                .unwrap()
                .on_grid_normalised(&g, Sampling::CellCentre)
                .unwrap();
            let spec = SyntheticSpec { rollout: rollout_cfg(), dt: 0.5, n_dumps, particles: None, seed: 0 };
            synthesise(&op, &theta, &f0, &spec).unwrap()
        })
        .collect()
}

/// A training objective over two datasets under two conditions: its
/// gradient against central differences, and its value as the
/// window-weighted mean of the two single-condition objectives.
#[test]
fn two_condition_objective_gradient_matches_finite_differences() {
    let g = grid();
    let data = two_datasets(g, 4);
    let loss = Loss { kind: LossKind::Mse, accumulation: Accumulation::AllSteps };
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for time in [None, Some(TimeInput { window_steps: 4, n_slots: 4 })] {
        let cond = Conditioners { time, conditions: vec![vec![-1.0], vec![1.0]] };
        let m = MlpModel::build(g, MlpKind::ParPerp, Scheme::Reference(Edges::Guard), false, &[4], 2, cond)
            .unwrap();
        let td = time.is_some();
        let both = WindowSet::conditioned(&data, &[0, 1], 2, &Split::none(), false, td).unwrap();
        assert_eq!(both.conditions(), [0, 1]);
        let mut obj = Objective::new(&m, rollout_cfg(), loss);
        // Small outputs: rollouts of a freshly initialised network stay tame.
        let phi: Vec<f64> = m.init().iter().map(|p| 0.1 * p).collect();
        let mut grad = vec![0.0; m.nparams()];
        let l = obj.evaluate(&both, &phi, Some(&mut grad)).unwrap();
        for _ in 0..3 {
            let u = random(&mut rng, m.nparams());
            let h = 1e-6;
            let fd = (obj.evaluate(&both, &axpy(&phi, h, &u), None).unwrap()
                - obj.evaluate(&both, &axpy(&phi, -h, &u), None).unwrap())
                / (2.0 * h);
            let an = dot(&u, &grad);
            let scale = grad.iter().zip(&u).map(|(a, b)| (a * b).abs()).sum::<f64>();
            assert!((fd - an).abs() <= 1e-6 * scale, "time {td}: objective gradient {an} vs FD {fd}");
        }
        // The conditions differ: each dataset on its own under its condition.
        let mut single = |d: usize| {
            let set = WindowSet::conditioned(&data[d..=d], &[d], 2, &Split::none(), false, td).unwrap();
            (obj.evaluate(&set, &phi, None).unwrap(), set.len() as f64)
        };
        let ((l0, n0), (l1, n1)) = (single(0), single(1));
        assert!((l - (n0 * l0 + n1 * l1) / (n0 + n1)).abs() <= 1e-12 * l, "{l} vs {l0}, {l1}");
        let swapped = WindowSet::conditioned(&data, &[1, 0], 2, &Split::none(), false, td).unwrap();
        assert!((obj.evaluate(&swapped, &phi, None).unwrap() - l).abs() > 1e-6 * l, "conditions matter");
        // A condition the model does not have is refused.
        let bad = WindowSet::conditioned(&data, &[0, 2], 2, &Split::none(), false, td).unwrap();
        assert!(obj.evaluate(&bad, &phi, None).is_err());
    }
}

/// The par/perp MLP learns: a short Adam run on a tiny synthetic dataset
/// lowers the rollout loss well below its starting value, with and without
/// a time conditioner and with two conditions.
#[test]
fn parperp_mlp_training_lowers_the_loss() {
    let g = VelocityGrid::square(9, 3.0).unwrap();
    let data = two_datasets(g, 4);
    let settings = TrainSettings {
        stages: vec![Stage { unroll: 1, epochs: 60, lr: 1e-2, optimiser: None }],
        optimiser: OptimiserKind::Adam,
        loss: Loss { kind: LossKind::Mse, accumulation: Accumulation::AllSteps },
        rollout: rollout_cfg(),
    };
    let cases = [
        ("plain", None, vec![]),
        ("time", Some(TimeInput { window_steps: 4, n_slots: 4 }), vec![]),
        ("two conditions", None, vec![vec![-1.0], vec![1.0]]),
    ];
    for (name, time, conditions) in cases {
        let two = !conditions.is_empty();
        let cond = Conditioners { time, conditions };
        let m = MlpModel::build(g, MlpKind::ParPerp, Scheme::Reference(Edges::Guard), false, &[8], 1, cond)
            .unwrap();
        let mut state = TrainState::new(m.init(), &settings.optimiser, 1);
        let mut log = Losses(Vec::new());
        if two {
            train_conditioned(&m, &data, &[0, 1], &Split::none(), &settings, &mut state, &mut [&mut log])
        } else {
            train(&m, &data, &Split::none(), &settings, &mut state, &mut [&mut log])
        }
        .unwrap();
        let (first, best) = (log.0[0], state.best.as_ref().unwrap().0);
        assert!(best < 0.1 * first, "{name}: loss {first:e} -> {best:e}");
    }
}

struct Losses(Vec<f64>);

impl collop_learn::Observer for Losses {
    fn on_epoch(
        &mut self,
        r: &collop_learn::EpochRecord,
        _phi: &[f64],
        _s: &TrainState,
    ) -> Result<(), collop_learn::LearnError> {
        self.0.push(r.train_loss);
        Ok(())
    }
}

/// A state that cannot continue the schedule (a damaged or foreign
/// checkpoint) is refused with the value at fault: a stage past the
/// schedule is never taken as a finished training.
#[test]
fn a_state_past_the_schedule_or_with_nan_parameters_is_refused() {
    let g = VelocityGrid::square(9, 3.0).unwrap();
    let data = two_datasets(g, 4);
    let settings = TrainSettings {
        stages: vec![Stage { unroll: 1, epochs: 2, lr: 1e-2, optimiser: None }],
        optimiser: OptimiserKind::Adam,
        loss: Loss { kind: LossKind::Mse, accumulation: Accumulation::AllSteps },
        rollout: rollout_cfg(),
    };
    let m = MlpModel::build(
        g,
        MlpKind::ParPerp,
        Scheme::Reference(Edges::Guard),
        false,
        &[4],
        1,
        Conditioners::default(),
    )
    .unwrap();
    let fresh = TrainState::new(m.init(), &settings.optimiser, 1);
    let refused = |edit: &dyn Fn(&mut TrainState)| {
        let mut state = fresh.clone();
        edit(&mut state);
        train(&m, &data, &Split::none(), &settings, &mut state, &mut []).unwrap_err().to_string()
    };
    let e = refused(&|s| s.stage = 3);
    assert!(e.contains("stage 3 is past the schedule of 1 stage"), "{e}");
    let e = refused(&|s| s.epoch = 5);
    assert!(e.contains("epoch 5 of stage 0 is past its 2 epoch"), "{e}");
    let e = refused(&|s| s.phi[3] = f64::NAN);
    assert!(e.contains("`phi` holds NaN at index 3"), "{e}");
    let e = refused(&|s| {
        if let collop_learn::OptimiserState::Adam { v, .. } = &mut s.optimiser {
            v.pop();
        }
    });
    assert!(e.contains("`adam_v` has"), "{e}");
    let e = refused(&|s| s.best = Some((0.5, vec![f64::INFINITY; s.phi.len()])));
    assert!(e.contains("`best_phi` holds inf at index 0"), "{e}");
    // The schedule done (stage = its length, epoch 0) is a finished state.
    let mut done = fresh.clone();
    done.stage = 1;
    train(&m, &data, &Split::none(), &settings, &mut done, &mut []).unwrap();
}

/// A training that blows up says why in the user's terms: after epochs
/// that went well, the learning rate (not the sub-steps it used to blame);
/// at the initial parameters, the time step.
#[test]
fn a_divergence_names_the_learning_rate_or_the_time_step() {
    let g = VelocityGrid::square(9, 3.0).unwrap();
    let data = two_datasets(g, 4);
    let settings = |lr: f64| TrainSettings {
        stages: vec![Stage { unroll: 2, epochs: 20, lr, optimiser: None }],
        optimiser: OptimiserKind::Adam,
        loss: Loss { kind: LossKind::Mse, accumulation: Accumulation::AllSteps },
        rollout: rollout_cfg(),
    };
    let tensor = collop_learn::linear_model(
        g,
        collop_learn::LinearKind::FpTensor(collop_learn::Symmetry::None),
        Scheme::Reference(Edges::Guard),
        false,
        collop_learn::TimeNodes::constant(),
    )
    .unwrap();
    // Adam moves every parameter by about the rate per update: at 1e100
    // the first update takes the coefficients so far past the explicit
    // limit that the next rollout overflows.
    let big = settings(1e100);
    let mut state = TrainState::new(tensor.init(), &big.optimiser, 1);
    let e = train(&tensor, &data, &Split::none(), &big, &mut state, &mut []).unwrap_err().to_string();
    assert!(e.contains("learning rate (1e100) is too large") && e.contains("lower it (e.g. to 1e99)"), "{e}");
    assert!(!e.contains("initial parameters"), "{e}");
    // A tensor whose starting coefficients (1e200 in grid units) overflow
    // the first rollout: the time step is blamed.
    let fine = settings(1e-3);
    let mut state = TrainState::new(vec![1e200; tensor.nparams()], &fine.optimiser, 1);
    let e = train(&tensor, &data, &Split::none(), &fine, &mut state, &mut []).unwrap_err().to_string();
    assert!(e.contains("at the initial parameters") && e.contains("more sub-steps"), "{e}");
}

/// One rank of `size` whose sum over ranks is left to the test: its
/// `all_reduce_sum` keeps the local values, so the objective returns this
/// rank's part (plus the regularisation, which every rank adds).
struct OneRankOf {
    rank: usize,
    size: usize,
}

impl collop_learn::Communicator for OneRankOf {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_reduce_sum(&self, _values: &mut [f64]) -> Result<(), collop_learn::LearnError> {
        Ok(())
    }
}

/// Data-parallel training's split: the ranks' parts of the loss and of its
/// gradient (two datasets under two conditions, so ranks hold one
/// condition, both, or no window at all) add up to the single-process
/// objective. The parts add the same per-window terms in another grouping:
/// equal within round-off, 1e-12 relative to the sum of absolute terms.
#[test]
fn ranks_parts_of_the_objective_add_up_to_the_whole() {
    let g = grid();
    let data = two_datasets(g, 4);
    let loss = Loss { kind: LossKind::Mse, accumulation: Accumulation::AllSteps };
    let cond = Conditioners { time: None, conditions: vec![vec![-1.0], vec![1.0]] };
    let m =
        MlpModel::build(g, MlpKind::ParPerp, Scheme::Reference(Edges::Guard), false, &[4], 2, cond).unwrap();
    let phi: Vec<f64> = m.init().iter().map(|p| 0.1 * p).collect();
    let n = m.nparams();
    let whole_set = WindowSet::conditioned(&data, &[0, 1], 2, &Split::none(), false, false).unwrap();
    let mut whole_grad = vec![0.0; n];
    let whole =
        Objective::new(&m, rollout_cfg(), loss).evaluate(&whole_set, &phi, Some(&mut whole_grad)).unwrap();
    let mut dreg = vec![0.0; n];
    let reg = m.regularisation(&phi, &mut dreg);
    for size in [1, 2, 3, 7, 40] {
        let (mut sum, mut grad) = (0.0, vec![0.0; n]);
        for rank in 0..size {
            let comm = OneRankOf { rank, size };
            let part = collop_learn::Part { rank, size };
            let set = WindowSet::part(&data, &[0, 1], 2, &Split::none(), false, false, part).unwrap();
            assert_eq!(set.len(), whole_set.len(), "every rank weights by all windows");
            let mut g = vec![0.0; n];
            sum += Objective::distributed(&m, rollout_cfg(), loss, &comm)
                .evaluate(&set, &phi, Some(&mut g))
                .unwrap()
                - reg;
            for k in 0..n {
                grad[k] += g[k] - dreg[k];
            }
        }
        sum += reg;
        assert!((sum - whole).abs() <= 1e-12 * whole, "{size} ranks: loss {sum} vs {whole}");
        let scale = whole_grad.iter().map(|v| v.abs()).sum::<f64>();
        let worst = (0..n).map(|k| (grad[k] + dreg[k] - whole_grad[k]).abs()).fold(0.0, f64::max);
        assert!(worst <= 1e-12 * scale, "{size} ranks: gradient off by {worst:e} (scale {scale:e})");
    }
    // Negative control: one rank's part alone is not the whole.
    let set = WindowSet::part(
        &data,
        &[0, 1],
        2,
        &Split::none(),
        false,
        false,
        collop_learn::Part { rank: 0, size: 2 },
    )
    .unwrap();
    let comm = OneRankOf { rank: 0, size: 2 };
    let half = Objective::distributed(&m, rollout_cfg(), loss, &comm).evaluate(&set, &phi, None).unwrap();
    assert!((half - whole).abs() > 1e-3 * whole);
}
