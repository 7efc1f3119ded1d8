//! Initial particle loading: positions and momenta, seeded and
//! reproducible independently of the thread count.
//!
//! Every row of cells of every species draws from its own ChaCha8 stream
//! (`seed`, stream `species << 32 | row`), so the particles do not depend
//! on how rows are shared among threads.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use crate::deck::{Distribution, Positions};
use crate::particles::Particles;

/// Draw one momentum from `d`.
pub fn sample(d: &Distribution, rng: &mut ChaCha8Rng) -> [f64; 3] {
    let mut normal = || -> f64 { rng.sample(StandardNormal) };
    match d {
        Distribution::Maxwellian { u_th, drift } => {
            [drift[0] + u_th * normal(), drift[1] + u_th * normal(), drift[2] + u_th * normal()]
        }
        Distribution::BiMaxwellian { u_th, drift } => {
            [drift[0] + u_th[0] * normal(), drift[1] + u_th[1] * normal(), drift[2] + u_th[2] * normal()]
        }
        Distribution::Ring { radius, width, centre, u_th_z } => {
            // A Gaussian radius truncated at zero (redrawn), uniform angle.
            let r = loop {
                let r = radius + width * normal();
                if r >= 0.0 {
                    break r;
                }
            };
            let uz = u_th_z * normal();
            let phi = 2.0 * std::f64::consts::PI * rng.random::<f64>();
            [centre[0] + r * phi.cos(), centre[1] + r * phi.sin(), uz]
        }
        Distribution::Waterbag { radius, centre, u_th_z } => {
            let uz = u_th_z.unwrap_or(0.5 * radius) * normal();
            // Uniform in the disk: r = R sqrt(U) has P(r' < r) = r^2 / R^2.
            let r = radius * rng.random::<f64>().sqrt();
            let phi = 2.0 * std::f64::consts::PI * rng.random::<f64>();
            [centre[0] + r * phi.cos(), centre[1] + r * phi.sin(), uz]
        }
        Distribution::Sum { components } => {
            let total: f64 = components.iter().map(|c| c.fraction).sum();
            let mut pick = rng.random::<f64>() * total;
            for c in components {
                if pick < c.fraction {
                    return sample(&c.distribution, rng);
                }
                pick -= c.fraction;
            }
            sample(&components[components.len() - 1].distribution, rng)
        }
    }
}

/// `(px, py)` with `px py = ppc`, `px` the largest divisor not above `sqrt(ppc)`.
pub fn quiet_lattice(ppc: usize) -> (usize, usize) {
    let px = (1..=ppc).filter(|d| d * d <= ppc && ppc.is_multiple_of(*d)).max().unwrap_or(1);
    (px, ppc / px)
}

/// Load `ppc` particles in every cell of an `nx x ny` box. Particle ids
/// are `(i ny + j) ppc + k` for particle `k` of cell `(i, j)`.
pub fn load(
    nx: usize,
    ny: usize,
    ppc: usize,
    positions: Positions,
    dist: Option<&Distribution>,
    seed: u64,
    species: u32,
) -> Particles {
    let (px, py) = quiet_lattice(ppc);
    let rows: Vec<Particles> = (0..nx)
        .into_par_iter()
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(((species as u64) << 32) | i as u64);
            let mut p = Particles::with_capacity(ny * ppc);
            for j in 0..ny {
                for k in 0..ppc {
                    let (x, y) = match positions {
                        Positions::Random => (i as f64 + rng.random::<f64>(), j as f64 + rng.random::<f64>()),
                        Positions::Quiet => {
                            let (a, b) = (k / py, k % py);
                            (i as f64 + (a as f64 + 0.5) / px as f64, j as f64 + (b as f64 + 0.5) / py as f64)
                        }
                    };
                    let u = dist.map_or([0.0; 3], |d| sample(d, &mut rng));
                    p.push(x, y, u, ((i * ny + j) * ppc + k) as u64);
                }
            }
            p
        })
        .collect();
    let mut all = Particles::with_capacity(nx * ny * ppc);
    for mut r in rows {
        all.append(&mut r);
    }
    all
}

/// Load `n` particles uniformly over the whole `nx x ny` box (a test
/// species), ids `0..n`. Blocks of 4096 particles draw from their own
/// streams (`stream_base | block`), independent of the thread count.
pub fn load_uniform(
    n: usize,
    nx: usize,
    ny: usize,
    dist: &Distribution,
    seed: u64,
    stream_base: u64,
) -> Particles {
    const B: usize = 4096;
    let blocks: Vec<Particles> = (0..n.div_ceil(B))
        .into_par_iter()
        .map(|blk| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(stream_base | blk as u64);
            let m = B.min(n - blk * B);
            let mut p = Particles::with_capacity(m);
            for k in 0..m {
                let (x, y) = (rng.random::<f64>() * nx as f64, rng.random::<f64>() * ny as f64);
                let u = sample(dist, &mut rng);
                p.push(
                    x.min(nx as f64 * (1.0 - f64::EPSILON)),
                    y.min(ny as f64 * (1.0 - f64::EPSILON)),
                    u,
                    (blk * B + k) as u64,
                );
            }
            p
        })
        .collect();
    let mut all = Particles::with_capacity(n);
    for mut b in blocks {
        all.append(&mut b);
    }
    all
}

pub use collop_core::population::uniform_hash;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maxwellian_moments_and_reproducibility() {
        let d = Distribution::BiMaxwellian { u_th: [0.1, 0.2, 0.05], drift: [0.3, 0.0, -0.1] };
        let a = load(16, 16, 64, Positions::Random, Some(&d), 7, 0);
        let b = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| load(16, 16, 64, Positions::Random, Some(&d), 7, 0));
        assert_eq!(a, b, "loading does not depend on the thread count");
        let n = a.len() as f64;
        for (c, (m, s)) in [(&a.ux, (0.3, 0.1)), (&a.uy, (0.0, 0.2)), (&a.uz, (-0.1, 0.05))] {
            let mean = c.iter().sum::<f64>() / n;
            let var = c.iter().map(|u| (u - mean).powi(2)).sum::<f64>() / n;
            // 16384 samples: standard error of the mean s / 128, of the
            // variance s^2 sqrt(2) / 128; 5 sigma.
            assert!((mean - m).abs() < 5.0 * s / 128.0, "mean {mean} vs {m}");
            assert!((var - s * s).abs() < 5.0 * s * s * 1.5 / 128.0, "var {var} vs {}", s * s);
        }
        assert!(a.x.iter().all(|&x| (0.0..16.0).contains(&x)));
    }

    #[test]
    fn quiet_positions_are_a_lattice() {
        assert_eq!(quiet_lattice(16), (4, 4));
        assert_eq!(quiet_lattice(8), (2, 4));
        assert_eq!(quiet_lattice(7), (1, 7));
        let p = load(8, 8, 4, Positions::Quiet, None, 1, 0);
        assert_eq!((p.x[0], p.y[0]), (0.25, 0.25));
        assert_eq!((p.x[3], p.y[3]), (0.75, 0.75));
    }

    /// A waterbag of radius `R`: the disk's marginal is a semicircle, so
    /// `u_x` has mean 0, variance `R^2 / 4` and kurtosis 2; every sample
    /// lies in the disk; `u_z` is Gaussian of rms `R / 2` unless `u_th_z`
    /// says otherwise. 16384 samples: standard errors `s / 128` of the mean,
    /// `s^2 / 128` of the variance (`Var u_x^2 = <u_x^4> - s^4 = s^4`) and
    /// `sqrt(2 / N) = 0.011` of the kurtosis (delta method with the
    /// semicircle's moments 1, 2, 5, 14 in units of `s`); 5 standard errors.
    #[test]
    fn waterbag_moments_and_support() {
        let radius = 0.1;
        let s = radius / 2.0;
        let d = Distribution::Waterbag { radius, centre: [0.02, -0.01], u_th_z: None };
        let p = load(16, 16, 64, Positions::Random, Some(&d), 3, 0);
        let n = p.len() as f64;
        assert_eq!(p.len(), 16384);
        for (u, c) in [(&p.ux, 0.02), (&p.uy, -0.01)] {
            let mean = u.iter().sum::<f64>() / n;
            let var = u.iter().map(|v| (v - c).powi(2)).sum::<f64>() / n;
            let kurt = u.iter().map(|v| (v - c).powi(4)).sum::<f64>() / n / (var * var);
            assert!((mean - c).abs() < 5.0 * s / 128.0, "mean {mean} vs {c}");
            assert!((var - s * s).abs() < 5.0 * s * s / 128.0, "variance {var} vs {}", s * s);
            assert!((kurt - 2.0).abs() < 5.0 * 0.011, "kurtosis {kurt} vs 2");
        }
        let outside = (0..p.len()).filter(|&k| (p.ux[k] - 0.02).hypot(p.uy[k] + 0.01) > radius).count();
        assert_eq!(outside, 0, "samples outside the disk");
        // Uniform in the disk: a quarter of the samples within R / 2 (binomial
        // standard error sqrt(0.1875 / N) = 0.0034).
        let inner = (0..p.len()).filter(|&k| (p.ux[k] - 0.02).hypot(p.uy[k] + 0.01) < 0.5 * radius).count();
        assert!((inner as f64 / n - 0.25).abs() < 5.0 * 0.0034, "{inner}");
        // u_z: Gaussian of rms R / 2 (kurtosis 3, standard error sqrt(24 / N) = 0.04).
        let vz = p.uz.iter().map(|v| v * v).sum::<f64>() / n;
        let kz = p.uz.iter().map(|v| v.powi(4)).sum::<f64>() / n / (vz * vz);
        assert!((vz - s * s).abs() < 5.0 * s * s * 2f64.sqrt() / 128.0, "u_z variance {vz}");
        assert!((kz - 3.0).abs() < 5.0 * 0.04, "u_z kurtosis {kz}");
        // The moments the deck derives v_th from agree with the samples.
        let (m, v) = d.moments();
        assert_eq!((m, v), ([0.02, -0.01, 0.0], [s * s; 3]));
        let cold = Distribution::Waterbag { radius, centre: [0.0; 2], u_th_z: Some(0.01) };
        assert_eq!(cold.moments().1[2], 1e-4);
        let q = load(8, 8, 64, Positions::Random, Some(&cold), 3, 0);
        let vz = q.uz.iter().map(|v| v * v).sum::<f64>() / q.len() as f64;
        assert!((vz / 1e-4 - 1.0).abs() < 5.0 * 2f64.sqrt() / 64.0, "u_th_z override: {vz}");
    }

    #[test]
    fn ring_radius() {
        let d = Distribution::Ring { radius: 2.0, width: 0.1, centre: [0.0, 0.0], u_th_z: 0.0 };
        let p = load(8, 8, 50, Positions::Random, Some(&d), 1, 0);
        let n = p.len() as f64;
        let r = (0..p.len()).map(|k| p.ux[k].hypot(p.uy[k])).sum::<f64>() / n;
        // 3200 samples of width 0.1: standard error 0.002.
        assert!((r - 2.0).abs() < 0.01);
    }
}
