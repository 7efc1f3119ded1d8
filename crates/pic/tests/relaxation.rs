//! A test-particle blob in a thermal plasma slows down and spreads by
//! collisions (qualitative direction and order of magnitude; the
//! quantitative comparison with Lenard-Balescu theory belongs to the
//! theory crate).

mod common;

use collop_pic::deck::Deck;
use collop_pic::{Simulation, diag::Diagnostics};

/// ppc 4 at dx = lambda_D: 4 particles per Debye area, a very collisional
/// 2D plasma (the reference data's resolution), so the blob relaxes within
/// a few tens of 1/omega_p.
const TABLES: &str = r#"
seed = 21
[grid]
nx = 32
ny = 32
dx = 0.1
dy = 0.1
[time]
dt = 0.05
n_steps = 800
dump_every = 800
[solver]
kind = "em"
shape_order = 2
[[sub_populations]]
name = "blob"
species = "electrons"
method = "test_species"
fraction = 0.1
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
"#;

/// The deck: [`TABLES`] and its species.
fn deck_text() -> String {
    format!("{TABLES}{}", common::electrons_over_ions(4, r#"{ kind = "maxwellian", u_th = 0.1 }"#))
}

#[test]
fn blob_slows_down_and_heats_towards_the_background() {
    let deck = Deck::from_toml(&deck_text()).unwrap();
    let tau = deck.validate().unwrap().collision_time;
    let mut sim = Simulation::new(&deck, 2).unwrap();
    let diag = Diagnostics::new(&deck, &mut sim).unwrap();
    let blob = diag.pops[0].species;
    let v_th = diag.pops[0].v_th;
    let moments = |sim: &Simulation| {
        let p = &sim.species[blob].particles;
        let n = p.len() as f64;
        let m = p.ux.iter().sum::<f64>() / n / v_th;
        let t = p.ux.iter().map(|u| (u / v_th - m).powi(2)).sum::<f64>() / n;
        (m, t)
    };
    let mut history = vec![(0.0, moments(&sim))];
    for step in 1..=deck.time.n_steps {
        sim.step();
        if step % 40 == 0 {
            history.push((sim.time(), moments(&sim)));
        }
    }
    let (m0, t0) = history[0].1;
    let (m1, t1) = history.last().unwrap().1;
    // Drag: e-folding rate from a straight-line fit of ln(-m) over the run.
    let pts: Vec<(f64, f64)> =
        history.iter().filter(|h| h.1.0 < -0.2).map(|h| (h.0, (-h.1.0).ln())).collect();
    let n = pts.len() as f64;
    let (mt, ml) = (pts.iter().map(|p| p.0).sum::<f64>() / n, pts.iter().map(|p| p.1).sum::<f64>() / n);
    let slope = pts.iter().map(|p| (p.0 - mt) * (p.1 - ml)).sum::<f64>()
        / pts.iter().map(|p| (p.0 - mt).powi(2)).sum::<f64>();
    let nu = -slope;
    eprintln!(
        "blob: mean {m0:.3} -> {m1:.3} v_th, variance {t0:.3} -> {t1:.3} v_th^2 in {:.0} / omega_p; \
         drag rate {nu:.4} omega_p, estimate 1 / tau = {:.4}",
        sim.time(),
        1.0 / tau
    );
    // Direction: the mean relaxes towards the background's (0), the
    // variance grows towards the background's (1). The blob's ~400
    // particles give standard errors 0.03 on the mean, 0.02 on the variance.
    assert!(m1 > m0 + 0.3, "no slowing down: {m0} -> {m1}");
    assert!(t1 > t0 + 0.1 && t1 < 1.5, "no heating towards v_th^2: {t0} -> {t1}");
    // Order of magnitude: for point particles the drag rate at v = 2 v_th is
    // 0.26 / tau (see `Derived::collision_time`); finite-size particles
    // (dx = lambda_D, quadratic shapes) collide less. Within a factor of
    // five either way.
    assert!(nu * tau > 0.26 / 5.0 && nu * tau < 0.26 * 5.0, "drag rate {nu} vs 0.26 / tau = {}", 0.26 / tau);
}

/// The test species' current is cancelled by the background's drift: the
/// uniform (k = 0) electric field, driven by the net current
/// (`dE/dt = -<J>`), stays far below the `q n_t <v_t> / omega_p = 0.01` it
/// would oscillate with otherwise (5 % at -2 v_th, v_th = 0.1 c). The
/// cancellation is exact in momentum; in velocity it leaves an `O(v^2/c^2)`
/// relativistic remainder, hence a tenth of the uncompensated amplitude.
#[test]
fn test_species_current_is_cancelled() {
    let deck = Deck::from_toml(&deck_text().replace("fraction = 0.1", "fraction = 0.05")).unwrap();
    let mut sim = Simulation::new(&deck, 2).unwrap();
    let total: f64 = sim.species.iter().map(|s| s.particles.ux.iter().sum::<f64>()).sum();
    assert!(total.abs() < 1e-9, "net momentum {total}");
    let g = sim.grid;
    let mut worst: f64 = 0.0;
    for _ in 0..300 {
        sim.step();
        let mean = g.sum_interior(&sim.fields.ex, |v| v) / g.cells() as f64;
        worst = worst.max(mean.abs());
    }
    eprintln!("largest uniform E_x: {worst:.2e}");
    assert!(worst < 1e-3, "uniform field {worst}");
}
