//! Gauss's law with Esirkepov deposition: `div E - rho` stays at round-off.

mod common;

use collop_pic::Simulation;
use common::Setup;

/// A hot plasma (u_th = 0.3 c, up to 0.4 cells per step) so that particles
/// cross cells in both directions at once; 60 steps, every shape order.
/// The initial E solves Gauss's law to round-off; afterwards the
/// continuity equation is discrete-exact, so the residual can only grow by
/// round-off of the current sums (about 1e-16 per step relative to |rho| ~ 1):
/// 1e-11 leaves three orders of margin and would catch any real leak, which
/// is O(q w / cell) ~ 0.25.
#[test]
fn gauss_law_holds_to_round_off_for_every_shape_order() {
    for order in 1..=4 {
        for (filter, simd) in [(0, false), (0, true), (2, true)] {
            let mut deck = Setup { order, u_th: 0.3, seed: order as u64, ..Setup::default() }.deck();
            deck.solver.filter_passes = filter;
            deck.solver.sort_every = 7;
            let mut sim = Simulation::new(&deck, 3).unwrap();
            // Both builds of the particle kernels (portable and AVX2 + FMA).
            sim.use_simd(simd);
            let r0 = sim.gauss_residual();
            assert!(r0 < 1e-11, "order {order}: initial residual {r0}");
            for _ in 0..60 {
                sim.step();
            }
            let r = sim.gauss_residual();
            let rho_max = sim.charge_density().iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(rho_max > 0.1, "a noisy plasma has charge fluctuations");
            assert!(
                r < 1e-11,
                "order {order}, filter {filter}, simd {simd}: residual {r} (|rho| max {rho_max})"
            );
        }
    }
}

/// Mobile ions (a second species, drifting) and a relativistic electron
/// drift: Gauss's law still holds to round-off (same reasoning as above).
#[test]
fn gauss_law_with_mobile_ions_and_relativistic_drift() {
    use collop_pic::deck::Distribution;
    let mut deck = Setup { order: 2, u_th: 0.2, seed: 4, ..Setup::default() }.deck();
    deck.species[0].distribution = Some(Distribution::Maxwellian { u_th: 0.2, drift: [1.5, -0.7, 0.3] });
    deck.species[1].mobile = true;
    deck.species[1].mass = 25.0;
    deck.species[1].ppc = 4;
    deck.species[1].distribution = Some(Distribution::Maxwellian { u_th: 0.02, drift: [-0.1, 0.0, 0.0] });
    let mut sim = Simulation::new(&deck, 2).unwrap();
    assert_eq!(sim.species.len(), 2);
    for _ in 0..60 {
        sim.step();
    }
    let r = sim.gauss_residual();
    assert!(r < 1e-11, "residual {r}");
}

/// Same seed and chunk count: bit-identical runs, whatever the pool size.
#[test]
fn runs_are_reproducible_for_a_given_seed_and_thread_count() {
    let deck = Setup { order: 3, seed: 9, ..Setup::default() }.deck();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut sim = Simulation::new(&deck, 2).unwrap();
            for _ in 0..25 {
                sim.step();
            }
            (sim.fields.ex.clone(), sim.species[0].particles.clone())
        })
    };
    let (a, b) = (run(2), run(1));
    assert!(a == b, "two chunks on one or two threads must agree bit for bit");
    let (c, _) = run(2);
    assert!(a.0 == c);
}
