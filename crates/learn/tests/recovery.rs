//! Synthetic recovery: data made by rolling out a known operator from blob
//! and ring initial conditions, with the multinomial noise of 300,000
//! particles per frame; the learned operator must give back the true
//! `A_par`, `D_par`, `D_perp` within 10 % where the data determine them.
//!
//! Experiment design. One Gaussian structure determines the diffusion
//! across it only together with the slope of the drift
//! (`d sigma^2/dt = D + 2 A' sigma^2`, see `collop_learn::recovery`), and a
//! ring carries no information on `D_perp` (it is uniform along its
//! circumference). The datasets therefore cross every speed up to about
//! 3 v_th with narrow and wide blobs (variance 0.1 and 0.4) and narrow rings.
//! Cells count when one dataset keeps at least 100 particles in them in every
//! frame. Beyond |v| = 3 the diffusion along v, `D_par ~ C/v^3`, falls below a
//! tenth of `D_perp` and changes the structures' tails by less than their
//! counting noise over the run: those shells are printed, not asserted.
//!
//! Training uses L-BFGS on the mean squared error (the problem is smooth and
//! full-batch); the schedule is short (unroll 1, 2, 5; free tensors 1, 5, 15).
//!
//! Free per-cell tensors carry a third-order smoothness prior
//! (`LinearModel::with_smoothness`), see every moving blob also mirrored
//! through the origin, so that the cells a ring alone covers (which fix
//! `A_par` and `D_par` but not `D_perp`) lie between blob paths on both
//! sides, and are trained to a 15-step unroll. The last matters for the
//! small `D_par` at 2.75-3 v_th (a sixth of `D_perp`): ending at 5 steps,
//! it comes out 13 % high there. That excess is the errors-in-variables bias
//! of fitting from independently sampled noisy start frames
//! (`collop_learn::recovery`): the loss gains from any extra diffusion that
//! damps the start frame's counting noise, a bias of fixed absolute size (a
//! few 1e-4 v_th^2 omega_p here, ~2 % of `D_perp`) that matters only
//! relative to a small coefficient. It falls as 1/N (5 % with 1,200,000
//! particles) and with the unroll length, since the signal of a `K`-step
//! rollout grows with `K` while the start frame's noise is damped once: 3 %
//! at 15 steps.

use collop_core::{FpFields, PhaseSpaceSeries, VelocityGrid};
use collop_fp::{
    Accumulation, Edges, FokkerPlanck, Loss, LossKind, Operator, RolloutConfig, Scheme, StabilityPolicy,
    Substeps,
};
use collop_learn::mlp_model::{Conditioners, MlpKind, MlpModel};
use collop_learn::recovery::{RadialComparison, min_counts_over_frames};
use collop_learn::synthetic::{SyntheticSpec, synthesise};
use collop_learn::{
    LinearKind, Model, OptimiserKind, Split, Stage, Symmetry, TimeNodes, TrainSettings, TrainState,
    fp_fields, linear_model, train,
};
use collop_theory::{BiMaxwellian, OrnsteinUhlenbeck, Sampling, ring_on_grid, static_shielding_fields};
use ndarray::Array2;

const PARTICLES: u64 = 300_000;
const MIN_COUNTS: f64 = 100.0;
/// Shells of `|v|` a bit wider than a cell (10/51 v_th), so that each
/// averages over cells on both sides of the checkerboard (see `recovery`).
const SHELL: f64 = 0.25;
/// The drift vanishes at `v = 0`: its error is relative to at least 10 % of
/// its largest value.
const DRIFT_FLOOR: f64 = 0.1;
const TOLERANCE: f64 = 0.10;
/// Speeds over which recovery is asserted for models radial by
/// construction (see the module docs). Below 0.5 v_th the shells hold fewer
/// than 20 cells and the drift, `A_par ~ -v D_par`, is small everywhere.
const PAR_PERP_RANGE: (f64, f64) = (0.5, 3.0);
/// Weight and order of the tensors' smoothness prior: third differences
/// (second differences bias the steep `D_par ~ v^-3` by up to 10 % at
/// 2.5-3 v_th); with the 15-step schedule, 3e-6 recovers both operators and
/// 1e-5 flattens the Ornstein-Uhlenbeck diffusion at 2.9 v_th by 13 %.
const SMOOTHNESS: (f64, usize) = (3e-6, 3);

fn grid() -> VelocityGrid {
    VelocityGrid::square(51, 5.0).unwrap()
}

fn scheme() -> Scheme {
    Scheme::Reference(Edges::Guard)
}

fn rollout() -> RolloutConfig {
    // Two sub-steps per dump keep the explicit step stable for C = 0.05.
    RolloutConfig { substeps: Substeps::Fixed(2), clamp_f: true, stability: StabilityPolicy::Ignore }
}

/// A narrow blob at rest, narrow and wide blobs at speeds 0.8 ... 3.2
/// (directions spread; `mirrored`: each also at the opposite velocity), and
/// narrow rings of radius 0.6, 1.2, 2.0, 2.8.
fn initial_conditions(grid: &VelocityGrid, mirrored: bool) -> Vec<Array2<f64>> {
    let at_rest = BiMaxwellian::isotropic(1.0, [0.0, 0.0], 0.1).unwrap();
    let mut out = vec![at_rest.on_grid_normalised(grid, Sampling::CellCentre).unwrap()];
    let mut k = 0;
    for r in [0.8, 1.6, 2.4, 3.2] {
        for var in [0.1, 0.4] {
            let angle: f64 = 0.7 * k as f64 + 0.3;
            k += 1;
            let turns: &[f64] = if mirrored { &[0.0, std::f64::consts::PI] } else { &[0.0] };
            for turn in turns {
                let (s, c) = (angle + turn).sin_cos();
                let blob = BiMaxwellian::isotropic(1.0, [r * c, r * s], var).unwrap();
                out.push(blob.on_grid_normalised(grid, Sampling::CellCentre).unwrap());
            }
        }
    }
    for r in [0.6, 1.2, 2.0, 2.8] {
        out.push(ring_on_grid(grid, r, 0.2).unwrap());
    }
    out
}

/// Noisy datasets of `n_dumps` dumps rolled out by `theta` of `op`.
fn datasets(op: &dyn Operator, theta: &[f64], n_dumps: usize, mirrored: bool) -> Vec<PhaseSpaceSeries> {
    initial_conditions(&op.grid().clone(), mirrored)
        .iter()
        .enumerate()
        .map(|(k, f0)| {
            let spec = SyntheticSpec {
                rollout: rollout(),
                dt: 1.0,
                n_dumps,
                particles: Some(PARTICLES),
                seed: 100 + k as u64,
            };
            synthesise(op, theta, f0, &spec).unwrap()
        })
        .collect()
}

/// Train `model` on `data` with L-BFGS on the MSE, unroll 1, 2, 5; the best parameters.
fn fit(model: &dyn Model, data: &[PhaseSpaceSeries], iterations: usize) -> Vec<f64> {
    fit_stages(model, data, &[(1, iterations), (2, iterations / 2), (5, iterations / 2)])
}

/// Train with L-BFGS on the MSE over stages `(unroll, iterations)`; the
/// best parameters of the last stage.
fn fit_stages(model: &dyn Model, data: &[PhaseSpaceSeries], stages: &[(usize, usize)]) -> Vec<f64> {
    let settings = TrainSettings {
        stages: stages
            .iter()
            .map(|&(unroll, epochs)| Stage { unroll, epochs, lr: 1e-2, optimiser: None })
            .collect(),
        optimiser: OptimiserKind::Lbfgs { history: 20 },
        loss: Loss { kind: LossKind::Mse, accumulation: Accumulation::AllSteps },
        rollout: rollout(),
    };
    let mut state = TrainState::new(model.init(), &settings.optimiser, settings.stages.len());
    train(model, data, &Split::none(), &settings, &mut state, &mut []).unwrap();
    state.best.expect("a best point").1
}

/// Assert the shells in `range` with enough counts, print all.
fn check(
    name: &str,
    learned: &FpFields,
    truth: &FpFields,
    data: &[PhaseSpaceSeries],
    range: (f64, f64),
    with_drift: bool,
) {
    let counts = min_counts_over_frames(data, PARTICLES as f64);
    let cmp = RadialComparison::new(learned, truth, &counts, MIN_COUNTS, SHELL).unwrap();
    println!("{name}:\n{}", cmp.table(DRIFT_FLOOR));
    let errors = cmp.relative_errors(DRIFT_FLOOR);
    let asserted: Vec<_> = cmp
        .comparison
        .shells
        .iter()
        .zip(&errors)
        .filter(|(s, _)| s.speed >= range.0 && s.speed <= range.1)
        .collect();
    let expected = ((range.1 - range.0) / SHELL) as usize - 1;
    assert!(asserted.len() >= expected, "{name}: only {} shells with >= 100 counts", asserted.len());
    for (s, e) in asserted {
        assert!(
            e.iter().skip(if with_drift { 0 } else { 1 }).all(|&x| x <= TOLERANCE),
            "{name}: at |v| = {:.2} ({} cells) relative errors A_par, D_par, D_perp = {e:.3?} exceed {TOLERANCE}",
            s.speed,
            s.cells
        );
    }
}

fn learned_fields(model: &dyn Model, phi: &[f64]) -> Vec<FpFields> {
    let mut theta = vec![0.0; model.operator().nparams()];
    model.theta(phi, &mut theta).unwrap();
    fp_fields(model.operator().grid(), &theta).unwrap()
}

fn recover(kind: LinearKind, truth: &FpFields, iterations: usize, name: &str) {
    let g = grid();
    let op = FokkerPlanck::new(g, scheme()).unwrap();
    let data = datasets(&op, &truth.to_grid_units(), 30, false);
    let model = linear_model(g, kind, scheme(), false, TimeNodes::constant()).unwrap();
    let phi = fit(&model, &data, iterations);
    check(name, &learned_fields(&model, &phi)[0], truth, &data, PAR_PERP_RANGE, true);
}

/// The free tensor with the smoothness prior on mirrored data, trained to a
/// 15-step unroll (module docs), asserted as the par/perp models are.
fn recover_tensor(truth: &FpFields, name: &str) {
    let g = grid();
    let op = FokkerPlanck::new(g, scheme()).unwrap();
    let data = datasets(&op, &truth.to_grid_units(), 30, true);
    let model = linear_model(g, LinearKind::FpTensor(Symmetry::None), scheme(), false, TimeNodes::constant())
        .unwrap()
        .with_smoothness(SMOOTHNESS.0, SMOOTHNESS.1)
        .unwrap();
    let phi = fit_stages(&model, &data, &[(1, 400), (5, 200), (15, 200)]);
    check(name, &learned_fields(&model, &phi)[0], truth, &data, PAR_PERP_RANGE, true);
}

#[test]
fn par_perp_recovers_static_shielding() {
    let truth = static_shielding_fields(&grid(), 0.05).unwrap();
    recover(LinearKind::ParPerp(32), &truth, 300, "par/perp, static shielding");
}

#[test]
fn par_perp_recovers_ornstein_uhlenbeck() {
    let truth = OrnsteinUhlenbeck::new(0.02, 1.0).unwrap().fields(&grid());
    recover(LinearKind::ParPerp(32), &truth, 300, "par/perp, Ornstein-Uhlenbeck");
}

/// The amplitude of the static-shielding operator grows linearly in time,
/// `C(t) = 0.04 (1 + t / 20)` (doubling over the run); a par/perp model with
/// three time nodes (dump steps 0, 10, 20; linear in between) recovers the
/// amplitude at every node: the least-squares ratio of learned to true
/// `A_par`, `D_par` and `D_perp` over the shells is within 10 % of one.
#[test]
fn time_dependent_par_perp_recovers_a_linear_amplitude() {
    let g = grid();
    let n_steps = 21;
    let amplitude = |step: usize| 0.04 * (1.0 + step as f64 / 20.0);
    let op = FokkerPlanck::with_slots(g, scheme(), n_steps).unwrap();
    let theta: Vec<f64> = (0..n_steps)
        .flat_map(|s| static_shielding_fields(&g, amplitude(s)).unwrap().to_grid_units())
        .collect();
    let data = datasets(&op, &theta, n_steps, false);
    let time = TimeNodes::uniform(3, n_steps - 1, n_steps).unwrap();
    let model = linear_model(g, LinearKind::ParPerp(32), scheme(), false, time).unwrap();
    let phi = fit(&model, &data, 300);
    let learned = learned_fields(&model, &phi);
    let counts = min_counts_over_frames(&data, PARTICLES as f64);
    for step in [0, 10, 20] {
        let truth = static_shielding_fields(&g, amplitude(step)).unwrap();
        let cmp = RadialComparison::new(&learned[step], &truth, &counts, MIN_COUNTS, SHELL).unwrap();
        println!("node at step {step}, C = {:.4}:\n{}", amplitude(step), cmp.table(DRIFT_FLOOR));
        let ratios = cmp.amplitude_ratios(PAR_PERP_RANGE).unwrap();
        println!("learned / true amplitude from A_par, D_par, D_perp: {ratios:.4?}");
        assert!(
            ratios.iter().all(|r| (r - 1.0).abs() <= TOLERANCE),
            "node at step {step}: amplitude ratios {ratios:.4?} not within {TOLERANCE} of 1"
        );
    }
}

#[test]
#[ignore = "about a minute in release; run with `cargo test --release -p collop-learn --test recovery -- --ignored`"]
fn tensor_recovers_static_shielding() {
    let truth = static_shielding_fields(&grid(), 0.05).unwrap();
    recover_tensor(&truth, "tensor, static shielding");
}

#[test]
#[ignore = "about a minute in release; run with `cargo test --release -p collop-learn --test recovery -- --ignored`"]
fn tensor_recovers_ornstein_uhlenbeck() {
    let truth = OrnsteinUhlenbeck::new(0.02, 1.0).unwrap().fields(&grid());
    recover_tensor(&truth, "tensor, Ornstein-Uhlenbeck");
}

/// The neural par/perp model (three MLPs of |v|, two hidden layers of 32)
/// recovers the static-shielding profiles like the linear one.
#[test]
fn par_perp_mlp_recovers_static_shielding() {
    let g = grid();
    let truth = static_shielding_fields(&g, 0.05).unwrap();
    let op = FokkerPlanck::new(g, scheme()).unwrap();
    let data = datasets(&op, &truth.to_grid_units(), 30, false);
    let model =
        MlpModel::build(g, MlpKind::ParPerp, scheme(), false, &[32, 32], 7, Conditioners::none()).unwrap();
    let phi = fit(&model, &data, 300);
    check(
        "par/perp MLP, static shielding",
        &learned_fields(&model, &phi)[0],
        &truth,
        &data,
        PAR_PERP_RANGE,
        true,
    );
}
