//! Energy and momentum conservation of thermal plasmas.
//!
//! Long runs are `#[ignore]`d; run them with
//! `cargo test --release -p collop-pic --test energy -- --ignored --nocapture`.

mod common;

use collop_pic::Simulation;
use collop_pic::deck::{EsScheme, Positions, SolverKind};
use common::Setup;

/// Run `periods` plasma periods and return the largest and final relative
/// deviation of the total energy and the linear-fit heating rate
/// `d E_total / dt / E_total(0)` per `1/omega_p`.
fn energy_history(setup: &Setup, es_scheme: EsScheme, periods: f64) -> (f64, f64, f64) {
    let mut deck = setup.deck();
    deck.solver.es_scheme = es_scheme;
    let mut sim = Simulation::new(&deck, 2).unwrap();
    let steps = (periods * 2.0 * std::f64::consts::PI / setup.dt).round() as usize;
    let mut records = Vec::new();
    for n in 0..steps {
        if n % 10 == 0 {
            records.push(sim.step_with_energy());
        } else {
            sim.step();
        }
    }
    let e0 = records[0].total;
    let worst = records.iter().map(|r| (r.total / e0 - 1.0).abs()).fold(0.0, f64::max);
    let last = records.last().unwrap().total / e0 - 1.0;
    let (n, st, se) = (
        records.len() as f64,
        records.iter().map(|r| r.time).sum::<f64>(),
        records.iter().map(|r| r.total).sum::<f64>(),
    );
    let (mt, me) = (st / n, se / n);
    let cov: f64 = records.iter().map(|r| (r.time - mt) * (r.total - me)).sum();
    let var: f64 = records.iter().map(|r| (r.time - mt).powi(2)).sum();
    (worst, last, cov / var / e0)
}

/// Electromagnetic, order 2, dx = 0.5 lambda_D (the benchmark plasma),
/// 20 plasma periods. Energy-conserving to the extent of the leapfrog and
/// the (small) grid heating at dx < lambda_D: measured 2e-4 here;
/// 0.3 % leaves room for other seeds and thread counts and would catch a
/// broken deposit or push (those heat by percents within a few periods).
#[test]
fn thermal_plasma_keeps_its_energy_em() {
    let setup =
        Setup { order: 2, nx: 16, ny: 16, dx: 0.05, dt: 0.03, ppc: 16, u_th: 0.1, ..Setup::default() };
    let (worst, last, rate) = energy_history(&setup, EsScheme::Momentum, 20.0);
    eprintln!(
        "em order 2, 20 periods: max |dE/E| = {worst:.2e}, final {last:.2e}, rate {rate:.2e} per 1/omega_p"
    );
    assert!(worst < 3e-3, "energy deviation {worst}");
}

/// Electrostatic, both interpolation schemes, 20 periods (same tolerance
/// and reasoning as above).
#[test]
fn thermal_plasma_keeps_its_energy_es() {
    let setup = Setup {
        kind: SolverKind::Es,
        order: 2,
        nx: 16,
        ny: 16,
        dx: 0.05,
        dt: 0.05,
        ppc: 16,
        u_th: 0.1,
        ..Setup::default()
    };
    for scheme in [EsScheme::Momentum, EsScheme::Energy] {
        let (worst, last, rate) = energy_history(&setup, scheme, 20.0);
        eprintln!(
            "es {scheme:?} order 2, 20 periods: max |dE/E| = {worst:.2e}, final {last:.2e}, rate {rate:.2e}"
        );
        assert!(worst < 3e-3, "{scheme:?}: energy deviation {worst}");
    }
}

/// The momentum-conserving electrostatic scheme has no self-force: the
/// force on the particles sums to `sum_i rho_i E_i = 0` at every step, so
/// total momentum changes only by round-off (relative to the thermal
/// momentum `N m w u_th`, 1e-12 after 200 steps). The energy scheme does
/// not share this property; checked to show the test is sensitive.
#[test]
fn momentum_scheme_conserves_total_momentum() {
    let setup = Setup {
        kind: SolverKind::Es,
        order: 3,
        nx: 16,
        ny: 16,
        dx: 0.05,
        dt: 0.05,
        ppc: 8,
        u_th: 0.1,
        positions: Positions::Random,
        ..Setup::default()
    };
    let total = |sim: &Simulation| {
        let p = &sim.species[0].particles;
        (p.ux.iter().sum::<f64>(), p.uy.iter().sum::<f64>())
    };
    for (scheme, exact) in [(EsScheme::Momentum, true), (EsScheme::Energy, false)] {
        let mut deck = setup.deck();
        deck.solver.es_scheme = scheme;
        let mut sim = Simulation::new(&deck, 2).unwrap();
        let p0 = total(&sim);
        for _ in 0..200 {
            sim.step();
        }
        let p1 = total(&sim);
        let scale = sim.species[0].particles.len() as f64 * setup.u_th;
        let change = (p1.0 - p0.0).abs().max((p1.1 - p0.1).abs()) / scale;
        eprintln!("es {scheme:?}: relative momentum change {change:.2e}");
        if exact {
            assert!(change < 1e-12, "{scheme:?}: {change}");
        } else {
            assert!(change > 1e-9, "{scheme:?} is not expected to conserve momentum exactly: {change}");
        }
    }
}

/// The long check: dx = lambda_D, shape order 2, 1000 plasma
/// periods, total energy within 1 %. About three minutes in release.
#[test]
#[ignore = "1000 plasma periods: minutes; run with --ignored in release"]
fn thermal_plasma_energy_over_1000_periods() {
    // 64 particles per Debye area: with 16 (ppc 16 on the same cells) the
    // numerical heating reached 1.04 % after 1000 periods.
    let setup = Setup { order: 2, nx: 16, ny: 16, dx: 0.1, dt: 0.06, ppc: 64, u_th: 0.1, ..Setup::default() };
    let (worst, last, rate) = energy_history(&setup, EsScheme::Momentum, 1000.0);
    eprintln!(
        "em order 2, dx = lambda_D, 1000 periods: max |dE/E| = {worst:.2e}, final {last:.2e}, rate {rate:.2e}"
    );
    assert!(worst < 0.01, "energy deviation {worst}");
}

/// The field energy is split into its electric part `sum E^2 / 2 dx dy`
/// and its magnetic part `sum B^2 / 2 dx dy` (the Weibel diagnostic): set
/// known fields, `B_z = b cos(2 pi i / nx)`, `B_x = b`, `E_x = e sin(2 pi j / ny)`,
/// `E_z = e`, and compare with the sums done by hand (`cos^2` averages to
/// 1/2 over whole periods); the energy record of the next step reports the
/// same split. The electrostatic solver has no magnetic energy.
#[test]
fn field_energy_splits_electric_and_magnetic() {
    let setup = Setup { nx: 16, ny: 12, dx: 0.05, ..Setup::default() };
    let mut sim = Simulation::new(&setup.deck(), 2).unwrap();
    let g = sim.grid;
    let (b, e) = (0.3, 0.02);
    let f = &mut sim.fields;
    for a in [&mut f.ex, &mut f.ey, &mut f.ez, &mut f.bx, &mut f.by, &mut f.bz] {
        a.iter_mut().for_each(|v| *v = 0.0);
    }
    let tau = 2.0 * std::f64::consts::PI;
    for i in 0..g.nx {
        for j in 0..g.ny {
            let k = g.idx(i, j);
            f.bz[k] = b * (tau * i as f64 / g.nx as f64).cos();
            f.bx[k] = b;
            f.ex[k] = e * (tau * j as f64 / g.ny as f64).sin();
            f.ez[k] = e;
        }
    }
    let area = (g.nx * g.ny) as f64 * g.dx * g.dy;
    let magnetic = 0.5 * area * (b * b / 2.0 + b * b);
    let electric = 0.5 * area * (e * e / 2.0 + e * e);
    let (we, wb) = sim.field_energy();
    assert!((wb / magnetic - 1.0).abs() < 1e-12, "magnetic {wb} vs {magnetic}");
    assert!((we / electric - 1.0).abs() < 1e-12, "electric {we} vs {electric}");
    let rec = sim.step_with_energy();
    assert_eq!((rec.electric, rec.magnetic), (we, wb));
    assert!((rec.total - we - wb - rec.kinetic.iter().sum::<f64>()).abs() < 1e-15 * rec.total);

    let es = Simulation::new(&Setup { kind: SolverKind::Es, ..setup }.deck(), 2).unwrap();
    let (we, wb) = es.field_energy();
    assert!(we > 0.0 && wb == 0.0, "{we} {wb}");
}
