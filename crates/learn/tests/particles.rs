//! Particle-based synthetic data: histograms of test particles moved by the
//! Ito process of known fields reproduce the exact moments of the
//! Ornstein-Uhlenbeck process.

use collop_core::VelocityGrid;
use collop_learn::synthetic::{ParticleSpec, synthesise_particles};
use collop_theory::{BiMaxwellian, OrnsteinUhlenbeck, Sampling};

/// Mean and variance along each axis of a normalised histogram.
fn moments(g: &VelocityGrid, f: ndarray::ArrayView2<f64>) -> ([f64; 2], [f64; 2]) {
    let mut s = [0.0; 5];
    for ((i, j), &w) in f.indexed_iter() {
        let (x, y) = (g.vx(i), g.vy(j));
        s[0] += w;
        s[1] += w * x;
        s[2] += w * y;
        s[3] += w * x * x;
        s[4] += w * y * y;
    }
    let m = [s[1] / s[0], s[2] / s[0]];
    (m, [s[3] / s[0] - m[0] * m[0], s[4] / s[0] - m[1] * m[1]])
}

#[test]
fn particles_follow_the_ornstein_uhlenbeck_moments() {
    let g = VelocityGrid::square(51, 5.0).unwrap();
    let (nu, temperature) = (0.05, 1.0);
    let fields = OrnsteinUhlenbeck::new(nu, temperature).unwrap().fields(&g);
    let (m0, s0) = ([1.5, -0.5], 0.2);
    let f0 =
        BiMaxwellian::isotropic(1.0, m0, s0).unwrap().on_grid_normalised(&g, Sampling::CellCentre).unwrap();
    let n = 200_000;
    let spec = ParticleSpec { dt: 1.0, n_dumps: 20, particles: n, substeps: 8, seed: 3 };
    let series = synthesise_particles(&fields, &f0, &spec).unwrap();
    assert_eq!(series.frames.shape(), &[21, 51, 51]);
    // Initial moments of the particles: those of the histogram f0 (counts).
    let (mean0, var0) = moments(&g, series.frames.index_axis(ndarray::Axis(0), 0));
    let (dvx, dvy) = (g.dvx(), g.dvy());
    for k in [5, 10, 20] {
        let t = k as f64;
        let (mean, var) = moments(&g, series.frames.index_axis(ndarray::Axis(0), k));
        for a in 0..2 {
            let d2 = if a == 0 { dvx * dvx } else { dvy * dvy };
            // Particles start uniform in their cell: their variance is the
            // cell-centre histogram's plus dv^2 / 12, and relaxes to T.
            let exp_mean = mean0[a] * (-nu * t).exp();
            let exp_var = temperature + (var0[a] + d2 / 12.0 - temperature) * (-2.0 * nu * t).exp();
            // Tolerances: four standard errors of the sample mean (sqrt(var / n),
            // 0.009 at n = 2e5) and variance (var sqrt(2 / n), 0.013), plus the
            // Euler-Maruyama bias of the mean, |(1 - nu h)^(t/h) - e^{-nu t}| < 3e-3 here.
            let se_mean = (var[a] / n as f64).sqrt();
            let se_var = var[a] * (2.0 / n as f64).sqrt();
            assert!(
                (mean[a] - exp_mean).abs() <= 4.0 * se_mean + 3e-3,
                "t = {t}, axis {a}: mean {} vs {exp_mean}",
                mean[a]
            );
            // The histogram's own binning adds d2 / 12 (Sheppard's correction).
            assert!(
                (var[a] - d2 / 12.0 - exp_var).abs() <= 4.0 * se_var + 3e-3,
                "t = {t}, axis {a}: variance {} vs {}",
                var[a] - d2 / 12.0,
                exp_var
            );
        }
    }
    // Same seed, same data; another seed, other data.
    let again = synthesise_particles(&fields, &f0, &spec).unwrap();
    assert_eq!(again.frames, series.frames);
    let other = synthesise_particles(&fields, &f0, &ParticleSpec { seed: 4, ..spec }).unwrap();
    assert_ne!(other.frames, series.frames);
}
