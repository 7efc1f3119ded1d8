//! Training models interpolated between time nodes: the objective that
//! blends the nodes' assembled matrices (each node assembled once per
//! evaluation) against the one that assembles every slot from the
//! interpolated parameters. Same loss and gradient up to where the blend
//! is rounded.

use collop_core::{PhaseSpaceSeries, VelocityGrid};
use collop_fp::{
    Accumulation, Difference, Edges, FokkerPlanck, Loss, LossKind, Operator, RolloutConfig, Scheme,
    StabilityPolicy, Substeps,
};
use collop_learn::synthetic::{SyntheticSpec, synthesise};
use collop_learn::{
    LearnError, LinearKind, Model, Objective, Split, Symmetry, TimeNodes, WindowSet, linear_model,
};
use collop_theory::{BiMaxwellian, Sampling, static_shielding_fields};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A model seen without its time nodes: the objective falls back to
/// assembling every slot from `theta`.
struct SlotsOnly<'a>(&'a dyn Model);

impl Model for SlotsOnly<'_> {
    fn operator(&self) -> &dyn Operator {
        self.0.operator()
    }
    fn nparams(&self) -> usize {
        self.0.nparams()
    }
    fn init(&self) -> Vec<f64> {
        self.0.init()
    }
    fn theta(&self, phi: &[f64], theta: &mut [f64]) -> Result<(), LearnError> {
        self.0.theta(phi, theta)
    }
    fn theta_vjp(&self, phi: &[f64], dtheta: &[f64], dphi: &mut [f64]) -> Result<(), LearnError> {
        self.0.theta_vjp(phi, dtheta, dphi)
    }
    fn regularisation(&self, phi: &[f64], dphi: &mut [f64]) -> f64 {
        self.0.regularisation(phi, dphi)
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
}

fn rollout() -> RolloutConfig {
    RolloutConfig { substeps: Substeps::Fixed(2), clamp_f: true, stability: StabilityPolicy::Ignore }
}

/// Two synthetic sub-populations of `n_dumps` dumps from the static-shielding operator.
fn data(g: VelocityGrid, n_dumps: usize) -> Vec<PhaseSpaceSeries> {
    let op = FokkerPlanck::new(g, Scheme::Reference(Edges::Guard)).unwrap();
    let theta = static_shielding_fields(&g, 0.05).unwrap().to_grid_units();
    [[-1.0, 0.0], [0.5, 0.5]]
        .iter()
        .map(|&mean| {
            let f0 = BiMaxwellian::isotropic(1.0, mean, 0.6)
                .unwrap()
                .on_grid_normalised(&g, Sampling::CellCentre)
                .unwrap();
            let spec =
                SyntheticSpec { rollout: rollout(), dt: 0.5, n_dumps, particles: Some(100_000), seed: 3 };
            synthesise(&op, &theta, &f0, &spec).unwrap()
        })
        .collect()
}

#[test]
fn node_objective_equals_the_slot_objective() {
    let g = VelocityGrid::square(9, 3.0).unwrap();
    let n_dumps = 7;
    let data = data(g, n_dumps);
    let kinds = [
        LinearKind::Kernel { k: 3, difference: Difference::Centred, transpose: false },
        LinearKind::Kernel { k: 2, difference: Difference::Forward, transpose: true },
        LinearKind::FpTensor(Symmetry::None),
        LinearKind::ParPerp(6),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for kind in kinds {
        // Four nodes over the seven dump steps, with time regularisation.
        let time = TimeNodes::uniform(4, n_dumps - 1, n_dumps).unwrap();
        let m = linear_model(g, kind, Scheme::Reference(Edges::Guard), false, time)
            .unwrap()
            .with_time_regularisation(0.2, 0.1);
        assert!(m.time_interpolation().is_some() && m.operator().linear_assembly().is_some());
        let name = m.describe();
        // Small parameters (diffusion-like for the tensors): tame rollouts.
        let phi: Vec<f64> = (0..m.nparams()).map(|_| rng.random_range(0.0..0.02)).collect();
        for (kind, accumulation, unroll) in
            [(LossKind::Mae, Accumulation::AllSteps, 1), (LossKind::Mse, Accumulation::LastStep, 3)]
        {
            let loss = Loss { kind, accumulation };
            let set = WindowSet::new(&data, unroll, &Split::none(), false, true).unwrap();
            let slots_only = SlotsOnly(&m);
            assert!(slots_only.time_interpolation().is_none());
            assert!(
                slots_only.node_theta(&phi, &mut vec![0.0; m.nparams()]).is_err(),
                "the default: no nodes"
            );
            let mut by_nodes = Objective::new(&m, rollout(), loss);
            let mut by_slots = Objective::new(&slots_only, rollout(), loss);
            let mut gn = vec![0.0; m.nparams()];
            let mut gs = vec![0.0; m.nparams()];
            let ln = by_nodes.evaluate(&set, &phi, Some(&mut gn)).unwrap();
            let ls = by_slots.evaluate(&set, &phi, Some(&mut gs)).unwrap();
            assert!(
                ln > 0.0 && (ln - ls).abs() <= 1e-12 * ls,
                "{name}, unroll {unroll}: loss {ln} by nodes, {ls} by slots"
            );
            let norm = gs.iter().map(|v| v.abs()).fold(0.0, f64::max);
            assert!(norm > 0.0);
            for (p, (a, b)) in gn.iter().zip(&gs).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-11 * norm,
                    "{name}, unroll {unroll}: parameter {p}: {a} by nodes, {b} by slots"
                );
            }
            // The loss alone (a validation pass) is the same.
            let again = by_nodes.evaluate(&set, &phi, None).unwrap();
            assert!((again - ln).abs() <= 1e-14 * ln, "{name}: loss without the gradient");
        }
    }
}

/// A non-finite parameter is refused naming its time node, not passed on.
#[test]
fn node_objective_refuses_a_non_finite_node() {
    let g = VelocityGrid::square(9, 3.0).unwrap();
    let data = data(g, 4);
    let time = TimeNodes::uniform(2, 3, 4).unwrap();
    let kind = LinearKind::Kernel { k: 2, difference: Difference::Forward, transpose: false };
    let m = linear_model(g, kind, Scheme::Reference(Edges::Guard), false, time).unwrap();
    let mut phi = vec![0.0; m.nparams()];
    phi[m.nparams() / 2 + 7] = f64::NAN;
    let set = WindowSet::new(&data, 1, &Split::none(), false, true).unwrap();
    let loss = Loss { kind: LossKind::Mae, accumulation: Accumulation::AllSteps };
    let err = Objective::new(&m, rollout(), loss).evaluate(&set, &phi, None).unwrap_err().to_string();
    assert!(err.contains("time node 1"), "{err}");
}
