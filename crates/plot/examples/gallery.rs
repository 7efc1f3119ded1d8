//! One picture of each kind from synthetic data, for a look at what
//! collop-plot draws:
//!
//! ```text
//! cargo run -p collop-plot --example gallery -- OUTPUT_FOLDER
//! ```

use std::path::PathBuf;

use collop_core::VelocityGrid;
use collop_plot::{
    CurveStyle, Profile, RadialCurve, SnapshotRow, coefficient_maps, error_vs_time, loss_curves,
    phase_space_rows, phase_space_snapshots, radial_binned, radial_profiles,
};
use collop_theory::{
    BiMaxwellian, OrnsteinUhlenbeck, Sampling, static_shielding_fields, static_shielding_profiles,
};
use ndarray::Array2;

/// Deterministic noise in `[-1, 1]` (a SplitMix64 finaliser of the inputs).
fn noise(a: usize, b: usize, seed: u64) -> f64 {
    let mut z = (a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (b as u64).wrapping_add(seed << 32);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: gallery OUTPUT_FOLDER")?);
    std::fs::create_dir_all(&out)?;
    let grid = VelocityGrid::square(51, 5.0)?;
    let amplitude = 0.02;

    // A "learned" operator: theory plus cell-to-cell noise.
    let theory = static_shielding_fields(&grid, amplitude)?;
    let mut learned = theory.clone();
    for (k, field) in learned.as_array_mut().into_iter().enumerate() {
        for ((i, j), v) in field.indexed_iter_mut() {
            *v += 0.002 * noise(i, j, k as u64);
        }
    }
    coefficient_maps(
        out.join("coefficient_maps.png"),
        &learned,
        "Learned free-tensor operator, species e, run 7",
    )?;

    // Radial profiles: theory (dashed), the learned fields binned, tracks.
    let speeds: Vec<f64> = (0..=140).map(|k| k as f64 * 0.05).collect();
    let prof: Vec<_> = speeds.iter().map(|&v| static_shielding_profiles(amplitude, v)).collect();
    let theory_curve = RadialCurve::new(
        "theory (static shielding)",
        CurveStyle::Dashed,
        speeds.clone(),
        prof.iter().map(|c| c.a_par).collect(),
        prof.iter().map(|c| c.d_par).collect(),
        prof.iter().map(|c| c.d_perp).collect(),
    );
    let binned = radial_binned(&learned, 24)?.with_label("learned free tensor (binned, ±1 sd)");
    let track_v: Vec<f64> = (0..12).map(|k| 0.25 + 0.5 * k as f64).collect();
    let track = |f: fn(&collop_theory::RadialCoefficients) -> f64, seed: u64| {
        let value: Vec<f64> = track_v
            .iter()
            .enumerate()
            .map(|(k, &v)| f(&static_shielding_profiles(amplitude, v)) * (1.0 + 0.1 * noise(k, 0, seed)))
            .collect();
        let err: Vec<f64> = track_v.iter().map(|v| 0.0015 * (1.0 + 0.3 * v)).collect();
        let lower = value.iter().zip(&err).map(|(a, e)| a - e).collect();
        let upper = value.iter().zip(&err).map(|(a, e)| a + e).collect();
        Profile::with_band(value, lower, upper)
    };
    let tracks = RadialCurve {
        label: "particle tracks, τ = 5 ω_p⁻¹".into(),
        style: CurveStyle::Markers,
        speed: track_v.clone(),
        a_par: track(|c| c.a_par, 1),
        d_par: track(|c| c.d_par, 2),
        d_perp: track(|c| c.d_perp, 3),
    };
    let radial_model = RadialCurve::new(
        "learned radial",
        CurveStyle::Line,
        speeds.clone(),
        prof.iter().map(|c| 1.08 * c.a_par).collect(),
        prof.iter().map(|c| 0.95 * c.d_par).collect(),
        prof.iter().map(|c| 1.05 * c.d_perp).collect(),
    );
    radial_profiles(
        out.join("radial_profiles.png"),
        &[theory_curve, binned, tracks, radial_model],
        "Radial coefficients, species e",
    )?;

    // Phase space: an Ornstein-Uhlenbeck relaxation of a displaced blob.
    let blob = BiMaxwellian::isotropic(1.0, [-2.0, 1.0], 0.3)?;
    let pic_op = OrnsteinUhlenbeck::new(0.05, 1.0)?;
    let model_op = OrnsteinUhlenbeck::new(0.045, 1.0)?;
    let times = [0.0, 10.0, 40.0];
    let frames: Vec<(Array2<f64>, Array2<f64>)> = times
        .iter()
        .map(|&t| -> Result<_, Box<dyn std::error::Error>> {
            let mut pic = pic_op.solution_on_grid(&blob, t, &grid, Sampling::CellAverage)?;
            pic.indexed_iter_mut().for_each(|((i, j), v)| *v *= 1.0 + 0.15 * noise(i, j, t as u64));
            let predicted = model_op.solution_on_grid(&blob, t, &grid, Sampling::CellAverage)?;
            Ok((pic, predicted))
        })
        .collect::<Result<_, _>>()?;
    let rows: Vec<SnapshotRow<'_>> = times
        .iter()
        .zip(&frames)
        .map(|(&time, (pic, predicted))| SnapshotRow { time, pic: pic.view(), predicted: predicted.view() })
        .collect();
    phase_space_rows(
        out.join("phase_space_rows.png"),
        &grid,
        &rows,
        "Blob relaxation: PIC and learned operator",
    )?;
    phase_space_snapshots(
        out.join("phase_space.png"),
        &grid,
        frames[1].0.view(),
        frames[1].1.view(),
        "Blob at t = 10 ω_p⁻¹",
    )?;

    // Loss curves with two stage boundaries, and rollout errors.
    let train: Vec<(f64, f64)> = (0..300)
        .map(|e| (e as f64, 2e-2 * (-(e as f64) / 60.0).exp() + 3e-5 * (1.0 + 0.2 * noise(e, 0, 9))))
        .collect();
    let validation: Vec<(f64, f64)> =
        (0..300).step_by(10).map(|e| (e as f64, 2.4e-2 * (-(e as f64) / 70.0).exp() + 6e-5)).collect();
    loss_curves(
        out.join("loss_curves.png"),
        &[("train", train), ("validation", validation)],
        &[100.0, 200.0],
        "Training, free tensor operator",
    )?;
    let t: Vec<f64> = (0..=50).map(|k| k as f64 * 2.0).collect();
    let err = |rate: f64, floor: f64| -> Vec<(f64, f64)> {
        t.iter().map(|&t| (t, floor + 1e-6 * (rate * t).exp_m1() + 1e-7)).collect()
    };
    error_vs_time(
        out.join("error_vs_time.png"),
        &[
            ("free tensor", err(0.05, 2e-6)),
            ("radial", err(0.03, 4e-6)),
            ("kernel k = 3", err(0.07, 1e-6)),
            ("tracks", err(0.04, 8e-6)),
            ("theory", err(0.035, 5e-6)),
        ],
        "MAE of f",
        true,
        "Rollout error against PIC",
    )?;
    println!("pictures written to {}", out.display());
    Ok(())
}
