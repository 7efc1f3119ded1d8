//! The Weibel (filamentation) instability of a temperature-anisotropic
//! electron plasma: the magnetic energy grows exponentially from the
//! thermal noise at about the rate of linear theory, saturates, and the
//! plasma isotropises in the simulation plane.

use collop_pic::Simulation;
use collop_pic::deck::{Deck, Distribution};
use collop_pic::diag::Diagnostics;

/// Electrons with `T_x / T_y = 9` (`u_th = 0.25 c` along `x`, `0.083 c`
/// along `y` and `z`) on fixed ions; a 5.6 x 5.6 `c/omega_p` box holds one
/// wavelength `2 pi / k` of the fastest-growing mode along `y`
/// (`k = 1.12 omega_p / c`); 28 x 28 cells of 0.2 `c/omega_p`, 16 particles
/// per cell, quadratic shapes. About a second in the test profile.
const DECK: &str = r#"
seed = 5
[grid]
nx = 28
ny = 28
dx = 0.2
dy = 0.2
[time]
dt = 0.1
n_steps = 800
dump_every = 100
[solver]
kind = "em"
shape_order = 2
[[species]]
name = "electrons"
charge = -1.0
mass = 1.0
density = 1.0
ppc = 16
distribution = { kind = "bi_maxwellian", u_th = [0.25, 0.08333333333333333, 0.08333333333333333] }
[[species]]
name = "ions"
charge = 1.0
mass = 1836.0
density = 1.0
mobile = false
"#;

/// Over 80 / omega_p the magnetic energy grows from its thermal level by
/// more than a factor 20; its fastest growth over any 10 / omega_p, halved
/// (the energy goes as `B^2`), is between 0.4 and 1.0 times the linear
/// growth rate of the fastest mode, `gamma = 0.127 omega_p`
/// ([`collop_theory::weibel_fastest_growth`], non-relativistic). The
/// tolerance is wide because the rate is not measured cleanly here: the
/// relativistic mass increase at `u = 0.25 c` lowers the rate to about
/// 0.11 (the same dispersion relation integrated over the momentum
/// distribution), and with 12,544 particles the thermal noise leaves about
/// one decade of clean exponential growth of the total magnetic energy
/// before the magnetic trapping of the electrons saturates it (0.081 is
/// measured here; the shipped `decks/time-varying/weibel.toml`, with 400
/// times more particles, gives 0.107 for the Fourier amplitude of this
/// mode). A plasma without the instability (or a broken current deposit)
/// would show no growth at all. The plasma then
/// isotropises in the plane: `T_x / T_y` falls from 9 below 5 (3.7 at the
/// end, after oscillating about 3), while
/// `T_z` (which the in-plane filaments do not heat) stays put.
#[test]
fn weibel_magnetic_energy_grows_and_the_plasma_isotropises() {
    let deck = Deck::from_toml(DECK).unwrap();
    let Some(Distribution::BiMaxwellian { u_th, .. }) = &deck.species[0].distribution else { unreachable!() };
    let anisotropy = (u_th[0] / u_th[1]).powi(2);
    let (k, gamma) = collop_theory::weibel_fastest_growth(anisotropy, u_th[1]).unwrap();
    assert!((2.0 * std::f64::consts::PI / k - 5.6).abs() < 0.1, "the box holds one fastest wavelength");
    let mut sim = Simulation::new(&deck, 2).unwrap();
    let diag = Diagnostics::new(&deck, &mut sim).unwrap();
    let first = diag.background_moments(&sim, 0).remove(0);
    let mut history = Vec::new();
    for step in 0..deck.time.n_steps {
        if step % 10 == 0 {
            let r = sim.step_with_energy();
            history.push((r.time, r.magnetic));
        } else {
            sim.step();
        }
    }
    let last = diag.background_moments(&sim, 1).remove(0);
    let noise = history.iter().filter(|h| h.0 <= 10.0).map(|h| h.1).sum::<f64>()
        / history.iter().filter(|h| h.0 <= 10.0).count() as f64;
    let peak = history.iter().map(|h| h.1).fold(0.0, f64::max);
    // Windows of 10 / omega_p (10 records), once the thermal magnetic
    // fluctuations (B = 0 at t = 0) have built up.
    let rate = history
        .windows(11)
        .filter(|w| w[0].0 >= 5.0)
        .map(|w| (w[10].1 / w[0].1).ln() / (w[10].0 - w[0].0) / 2.0)
        .fold(f64::MIN, f64::max);
    let t = |r: &collop_pic::diag::BackgroundRecord| r.temperature;
    eprintln!(
        "Weibel: B energy {noise:.2e} -> peak {peak:.2e}, fastest growth {rate:.4} (theory {gamma:.4} at k = {k:.3}); \
         T {:?} -> {:?}",
        t(&first),
        t(&last)
    );
    assert!(peak > 20.0 * noise, "no magnetic growth: {noise:.2e} -> {peak:.2e}");
    assert!(rate > 0.4 * gamma && rate < 1.0 * gamma, "growth rate {rate} vs theory {gamma}");
    let ratio = |r: &collop_pic::diag::BackgroundRecord| r.temperature[0] / r.temperature[1];
    assert!((ratio(&first) - 9.0).abs() < 0.5, "{}", ratio(&first));
    assert!(ratio(&last) < 5.0, "no isotropisation: T_x / T_y = {}", ratio(&last));
    assert!((last.temperature[2] / first.temperature[2] - 1.0).abs() < 0.05, "T_z {:?}", last.temperature);
}
