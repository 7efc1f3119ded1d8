//! The track estimator on particles moved by an exact Ornstein-Uhlenbeck
//! process (A = -nu v, D = 2 nu v_th^2, Kramers-Moyal convention).

use collop_core::VelocityGrid;
use collop_learn::tracks::{RadialBins, TrackAccumulator, TrackEstimator, TrackStream, Tracks};
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

/// The estimate computed the plain way: every interval's samples collected
/// per cell, in the order dump by dump then particle by particle, with the
/// same arithmetic as the accumulator (sum, sum of squares).
fn plain_estimate(
    tracks: &Tracks,
    grid: &VelocityGrid,
    lag: usize,
    overlapping: bool,
    min_count: usize,
) -> (Vec<[f64; 5]>, Vec<[f64; 5]>, Vec<usize>) {
    let (dumps, n) = tracks.vx.dim();
    let mut samples: Vec<Vec<[f64; 5]>> = vec![Vec::new(); grid.len()];
    let step = if overlapping { 1 } else { lag };
    for k in (0..dumps - lag).step_by(step) {
        let tau = tracks.t[k + lag] - tracks.t[k];
        for p in 0..n {
            let (x0, y0) = (tracks.vx[[k, p]], tracks.vy[[k, p]]);
            let i = ((x0 - grid.x_range[0]) / grid.dvx()).floor();
            let j = ((y0 - grid.y_range[0]) / grid.dvy()).floor();
            if i < 0.0 || j < 0.0 || i as usize >= grid.nx || j as usize >= grid.ny {
                continue;
            }
            let (dx, dy) = (tracks.vx[[k + lag, p]] - x0, tracks.vy[[k + lag, p]] - y0);
            samples[grid.index(i as usize, j as usize)].push([
                dx / tau,
                dy / tau,
                dx * dx / tau,
                dy * dy / tau,
                dx * dy / tau,
            ]);
        }
    }
    let (mut mean, mut se) = (vec![[0.0; 5]; grid.len()], vec![[0.0; 5]; grid.len()]);
    for (c, s) in samples.iter().enumerate() {
        let m = s.len();
        if m < min_count.max(2) {
            continue;
        }
        for q in 0..5 {
            let (mut sum, mut sq) = (0.0, 0.0);
            for x in s {
                sum += x[q];
                sq += x[q] * x[q];
            }
            let mf = m as f64;
            mean[c][q] = sum / mf;
            se[c][q] = ((sq / mf - mean[c][q] * mean[c][q]).max(0.0) * mf / (mf - 1.0) / mf).sqrt();
        }
    }
    (mean, se, samples.iter().map(Vec::len).collect())
}

fn flat(e: &collop_learn::tracks::TrackEstimate) -> (Vec<[f64; 5]>, Vec<[f64; 5]>, Vec<usize>) {
    let f = e.fields.as_array();
    let s = e.stderr.as_array();
    let g = e.fields.grid;
    let at = |a: [&ndarray::Array2<f64>; 5], c: usize| std::array::from_fn(|q| a[q][[c / g.ny, c % g.ny]]);
    (
        (0..g.len()).map(|c| at(f, c)).collect(),
        (0..g.len()).map(|c| at(s, c)).collect(),
        e.count.iter().copied().collect(),
    )
}

/// Streaming (dump by dump through `TrackStream`, or interval by interval
/// through `TrackAccumulator::push_interval`) and the batch estimate give
/// bit-identical fields, standard errors and counts, for overlapping and
/// non-overlapping intervals, equal to the plain per-cell computation.
#[test]
fn streaming_equals_batch_exactly() {
    let tracks = ou_tracks(3000, 17, 0.1, 0.2, 4);
    let grid = VelocityGrid::new(9, 7, [-3.0, 3.0], [-2.5, 3.5]).unwrap();
    for overlapping in [false, true] {
        let settings = TrackEstimator { lag: 3, overlapping, covariance: false, min_count: 5 };
        let batch = settings.estimate(&tracks, &grid).unwrap();
        let mut stream = TrackStream::new(settings, grid, None).unwrap();
        for k in 0..tracks.t.len() {
            stream.push_dump(tracks.t[k], &tracks.vx.row(k).to_vec(), &tracks.vy.row(k).to_vec()).unwrap();
        }
        let streamed = stream.finish().unwrap().pop().unwrap();
        assert_eq!(streamed, batch, "overlapping {overlapping}");
        assert_eq!(
            flat(&batch),
            plain_estimate(&tracks, &grid, 3, overlapping, 5),
            "overlapping {overlapping}"
        );

        let mut acc = TrackAccumulator::new(grid);
        let step = if overlapping { 1 } else { 3 };
        for k in (0..tracks.t.len() - 3).step_by(step) {
            let tau = tracks.t[k + 3] - tracks.t[k];
            for p in 0..tracks.vx.ncols() {
                let v0 = [tracks.vx[[k, p]], tracks.vy[[k, p]]];
                let v1 = [tracks.vx[[k + 3, p]], tracks.vy[[k + 3, p]]];
                acc.push_interval(v0, v1, tau).unwrap();
            }
        }
        let by_interval = acc.finish(false, 5);
        assert_eq!(flat(&by_interval), flat(&batch), "overlapping {overlapping}");
        assert!((by_interval.tau - batch.tau).abs() < 1e-12);
        assert!(batch.outside > 0, "the shifted grid leaves some starts outside");
    }
}

/// Tracks of an OU process whose rate is `nus[w]` for the transitions out of
/// the dumps of window `w` (`window` dumps each); the equilibrium is the
/// same unit Maxwellian throughout.
fn ou_tracks_changing(n: usize, dumps: usize, h: f64, nus: &[f64], window: usize, seed: u64) -> Tracks {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut vx = Array2::zeros((dumps, n));
    let mut vy = Array2::zeros((dumps, n));
    for p in 0..n {
        let (mut x, mut y): (f64, f64) = (StandardNormal.sample(&mut rng), StandardNormal.sample(&mut rng));
        for k in 0..dumps {
            vx[[k, p]] = x;
            vy[[k, p]] = y;
            let nu = nus[(k / window).min(nus.len() - 1)];
            let (a, b) = ((-nu * h).exp(), (1.0 - (-2.0 * nu * h).exp()).sqrt());
            let (gx, gy): (f64, f64) = (StandardNormal.sample(&mut rng), StandardNormal.sample(&mut rng));
            x = a * x + b * gx;
            y = a * y + b * gy;
        }
    }
    Tracks { t: (0..dumps).map(|k| k as f64 * h).collect(), vx, vy }
}

/// Rate fitted to one estimate with its standard error: from the drift,
/// weighted least squares of `A_x = -nu v_x`, `A_y = -nu v_y`; from the
/// diffusion, the weighted mean of `D_xx / 2`, `D_yy / 2` (`v_th = 1`).
fn fitted_rates(e: &collop_learn::tracks::TrackEstimate, min: usize) -> [(f64, f64); 2] {
    let g = e.fields.grid;
    let (mut an, mut ad, mut dn, mut dd) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..g.nx {
        for j in 0..g.ny {
            if e.count[[i, j]] < min {
                continue;
            }
            for (a, se, v) in [
                (e.fields.a_x[[i, j]], e.stderr.a_x[[i, j]], g.vx(i)),
                (e.fields.a_y[[i, j]], e.stderr.a_y[[i, j]], g.vy(j)),
            ] {
                let w = 1.0 / (se * se);
                an += -w * a * v;
                ad += w * v * v;
            }
            for (d, se) in [
                (e.fields.d_xx[[i, j]], e.stderr.d_xx[[i, j]]),
                (e.fields.d_yy[[i, j]], e.stderr.d_yy[[i, j]]),
            ] {
                let w = 4.0 / (se * se);
                dn += w * d / 2.0;
                dd += w;
            }
        }
    }
    [(an / ad, 1.0 / ad.sqrt()), (dn / dd, 1.0 / dd.sqrt())]
}

/// Time windows resolve a rate that changes during the run: each window's
/// drift and diffusion give back that window's rate within 4 standard
/// errors (the lag bias, nu tau <= 1.5 %, is below one), and the windows
/// are told apart by many standard errors.
#[test]
fn time_windows_recover_each_windows_rate() {
    let (h, window) = (0.05, 10);
    let nus = [0.1, 0.3];
    let tracks = ou_tracks_changing(20_000, 21, h, &nus, window, 5);
    let grid = VelocityGrid::square(11, 3.3).unwrap();
    let settings = TrackEstimator { lag: 1, overlapping: false, covariance: false, min_count: 100 };
    let est = settings.estimate_windows(&tracks, &grid, Some(window)).unwrap();
    assert_eq!(est.len(), 2);
    assert_eq!(est[0].start_times, [0.0, 9.0 * h]);
    assert!((est[1].start_times[0] - 10.0 * h).abs() < 1e-12);
    for (w, e) in est.iter().enumerate() {
        for (what, (nu, se)) in ["drift", "diffusion"].into_iter().zip(fitted_rates(e, 100)) {
            assert!((nu - nus[w]).abs() < 4.0 * se, "window {w}, {what}: nu {nu} +- {se}, truth {}", nus[w]);
            assert!(
                se < 0.1 * (nus[1] - nus[0]),
                "window {w}, {what}: standard error {se} too large to tell"
            );
        }
    }
    // One estimate over both windows sits between the two rates.
    let whole = settings.estimate(&tracks, &grid).unwrap();
    let (nu, _) = fitted_rates(&whole, 100)[1];
    assert!(nu > nus[0] + 0.05 && nu < nus[1] - 0.05, "{nu}");
}

/// Radial profiles from the tracks of an OU process: A_par = -nu |v|,
/// D_par = D_perp = 2 nu, within their standard errors.
#[test]
fn radial_track_profiles_match_the_ou_process() {
    let (nu, h) = (0.1, 0.05);
    let tracks = ou_tracks(30_000, 11, h, nu, 6);
    let grid = VelocityGrid::square(15, 3.0).unwrap();
    let settings = TrackEstimator { lag: 1, overlapping: false, covariance: false, min_count: 300 };
    let mut stream = TrackStream::new(settings, grid, None)
        .unwrap()
        .with_radial_bins(RadialBins { n_bins: 6, v_max: 3.0 })
        .unwrap();
    for k in 0..tracks.t.len() {
        stream.push_dump(tracks.t[k], &tracks.vx.row(k).to_vec(), &tracks.vy.row(k).to_vec()).unwrap();
    }
    let est = stream.finish().unwrap().pop().unwrap();
    let r = est.radial.unwrap();
    let mut checked = 0;
    for b in 0..6 {
        if r.count[b] < 300 {
            continue;
        }
        // The bin mean of -nu |v| is -nu times the mean speed.
        let truth = [-nu * r.speed[b], 2.0 * nu, 2.0 * nu];
        for (k, truth) in truth.into_iter().enumerate() {
            let z = (r.value[k][b] - truth) / r.stderr[k][b];
            assert!(
                z.abs() < 4.5,
                "bin {b}, profile {k}: {} vs {truth} +- {}",
                r.value[k][b],
                r.stderr[k][b]
            );
        }
        checked += 1;
    }
    assert!(checked >= 4, "{checked} bins populated");
}

#[test]
fn streams_refuse_bad_input_with_the_dump_and_particle() {
    let grid = VelocityGrid::square(5, 3.0).unwrap();
    let settings = TrackEstimator { lag: 2, overlapping: false, covariance: false, min_count: 1 };
    let mut s = TrackStream::new(settings, grid, None).unwrap();
    s.push_dump(0.0, &[0.0, 1.0], &[0.0, 1.0]).unwrap();
    let e = s.push_dump(0.1, &[0.0, f64::NAN], &[0.0, 1.0]).unwrap_err().to_string();
    assert!(e.contains("particle 1") && e.contains("dump 1") && e.contains("NaN"), "{e}");
    let e = s.push_dump(0.0, &[0.0, 1.0], &[0.0, 1.0]).unwrap_err().to_string();
    assert!(e.contains("increase"), "{e}");
    let e = s.push_dump(0.2, &[0.0], &[0.0]).unwrap_err().to_string();
    assert!(e.contains("same particles"), "{e}");
    // Too few dumps for the lag.
    let e = s.finish().unwrap_err().to_string();
    assert!(e.contains("lag of 2 dumps"), "{e}");
    // A window shorter than the lag of non-overlapping intervals.
    let tracks = ou_tracks(10, 9, 0.1, 0.1, 3);
    let e = TrackEstimator { lag: 3, ..settings }.estimate_windows(&tracks, &grid, Some(1)).unwrap_err();
    assert!(e.to_string().contains("time window 1"), "{e}");
}
