//! The track estimator on particles moved by an exact Ornstein-Uhlenbeck
//! process (A = -nu v, D = 2 nu v_th^2, Kramers-Moyal convention).

use collop_core::VelocityGrid;
use collop_learn::tracks::{TrackEstimator, Tracks};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Tracks sampled from the exact OU transition (no time-stepping error):
/// v(t + h) = v e^{-nu h} + v_th sqrt(1 - e^{-2 nu h}) xi.
fn ou_tracks(n: usize, dumps: usize, h: f64, nu: f64, seed: u64) -> Tracks {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut vx = Array2::zeros((dumps, n));
    let mut vy = Array2::zeros((dumps, n));
    let (a, b) = ((-nu * h).exp(), (1.0 - (-2.0 * nu * h).exp()).sqrt());
    for p in 0..n {
        let (mut x, mut y): (f64, f64) = (StandardNormal.sample(&mut rng), StandardNormal.sample(&mut rng));
        for k in 0..dumps {
            vx[[k, p]] = x;
            vy[[k, p]] = y;
            let (gx, gy): (f64, f64) = (StandardNormal.sample(&mut rng), StandardNormal.sample(&mut rng));
            x = a * x + b * gx;
            y = a * y + b * gy;
        }
    }
    Tracks { t: (0..dumps).map(|k| k as f64 * h).collect(), vx, vy }
}

/// With a short lag (nu tau = 0.005, bias 0.25 % for A and 0.5 % for D,
/// far below the standard errors) the estimates scatter around the truth
/// like their standard errors say: about 95 % of the estimates within 2
/// standard errors, none beyond 5.
#[test]
fn recovers_ou_drift_and_diffusion_within_standard_errors() {
    let (nu, h) = (0.1, 0.05);
    let tracks = ou_tracks(60_000, 21, h, nu, 1);
    let grid = VelocityGrid::square(15, 3.0).unwrap();
    let est = TrackEstimator { lag: 1, overlapping: false, covariance: false, min_count: 200 }
        .estimate(&tracks, &grid)
        .unwrap();
    assert!((est.tau - h).abs() < 1e-12);
    let (mut within2, mut total) = (0usize, 0usize);
    for i in 0..grid.nx {
        for j in 0..grid.ny {
            if est.count[[i, j]] < 200 {
                continue;
            }
            let (x, y) = (grid.vx(i), grid.vy(j));
            // Truth at the bin centre; the bin average of A = -nu v differs by
            // less than nu dv / 2 = 0.02, small against the A errors (~0.08).
            let truth = [-nu * x, -nu * y, 2.0 * nu, 2.0 * nu, 0.0];
            let f = est.fields.as_array();
            let e = est.stderr.as_array();
            for q in 0..5 {
                let z = (f[q][[i, j]] - truth[q]) / e[q][[i, j]];
                assert!(
                    z.abs() < 5.0,
                    "field {q} at ({i}, {j}): {} vs {} (stderr {})",
                    f[q][[i, j]],
                    truth[q],
                    e[q][[i, j]]
                );
                within2 += usize::from(z.abs() < 2.0);
                total += 1;
            }
        }
    }
    let frac = within2 as f64 / total as f64;
    assert!(total > 500 && frac > 0.90, "{within2} of {total} within 2 standard errors");
}

/// A lag comparable to the collision time biases the drift exactly as the
/// module docs derive: A_est = A (1 - e^{-nu tau}) / (nu tau).
#[test]
fn long_lag_bias_matches_the_ou_formula() {
    let (nu, h) = (0.5, 0.2);
    let lag = 10; // nu tau = 1
    let tracks = ou_tracks(40_000, 31, h, nu, 2);
    let grid = VelocityGrid::square(9, 3.0).unwrap();
    let est = TrackEstimator { lag, overlapping: true, covariance: false, min_count: 500 }
        .estimate(&tracks, &grid)
        .unwrap();
    let tau = lag as f64 * h;
    let factor = (1.0 - (-nu * tau).exp()) / (nu * tau);
    // Fit A_x = -s nu v_x over the populated bins (weights = counts).
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..grid.nx {
        for j in 0..grid.ny {
            let c = est.count[[i, j]] as f64;
            if c < 500.0 {
                continue;
            }
            let v = grid.vx(i);
            num += c * est.fields.a_x[[i, j]] * (-nu * v);
            den += c * (nu * v).powi(2);
        }
    }
    let slope = num / den;
    // The bin average of v over a cell of width 0.67 and the sampling noise
    // limit the agreement to a few per cent; the bias itself is 37 %.
    assert!((slope - factor).abs() < 0.05, "fitted drift factor {slope}, OU formula {factor}");
    assert!(slope < 0.75, "the long lag really underestimates the drag: {slope}");
}

#[test]
fn bad_lags_and_shapes_are_refused() {
    let tracks = ou_tracks(10, 5, 0.1, 0.1, 3);
    let grid = VelocityGrid::square(5, 3.0).unwrap();
    for lag in [0, 5] {
        let e = TrackEstimator { lag, overlapping: false, covariance: false, min_count: 1 }
            .estimate(&tracks, &grid);
        assert!(e.unwrap_err().to_string().contains("lag"));
    }
    let mut bad = tracks.clone();
    bad.t.pop();
    assert!(
        TrackEstimator { lag: 1, overlapping: false, covariance: false, min_count: 1 }
            .estimate(&bad, &grid)
            .is_err()
    );
}
