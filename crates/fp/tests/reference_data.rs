//! Our rollouts on the authors' published PIC data (Carvalho et al. 2026)
//! reproduce the reference implementation's rollout errors: reference scheme,
//! guard cells, one explicit step per dump, clamp `f >= 0`, frames
//! normalised so that dump 5 sums to 1, MAE averaged over the 95 steps of
//! the autoregressive rollout from dump 5.
//!
//! The expected values were measured with the reference code on this data;
//! we require agreement to 0.5 % (the discretisation is the same, so the
//! remaining difference is round-off and the reference's float formatting).
//! Skipped with a message when the data are absent.

use std::path::PathBuf;

use collop_fp::metrics::rollout_errors;
use collop_fp::{Edges, FokkerPlanck, Operator, RolloutConfig, Scheme, Simulator};
use collop_io::read_dataset;
use collop_theory::static_shielding_fields;

fn reference_data() -> Option<PathBuf> {
    collop_io::locate_reference_data(env!("CARGO_MANIFEST_DIR"))
}

/// Time-averaged MAE of a rollout of `op` from the first frame.
fn rollout_mae(folder: &str, amplitude: Option<f64>) -> Option<f64> {
    let root = reference_data()?;
    let data = read_dataset(root.join(folder)).unwrap();
    let s = &data.series;
    let op = FokkerPlanck::new(s.grid, Scheme::Reference(Edges::Guard)).unwrap();
    let theta = match amplitude {
        Some(c) => static_shielding_fields(&s.grid, c).unwrap().to_grid_units(),
        None => vec![0.0; op.nparams()], // the frozen distribution
    };
    let sim = Simulator::new(&op, RolloutConfig::reference());
    let (errors, _) = rollout_errors(&sim, &theta, s).unwrap();
    assert_eq!(errors.per_step.len(), 95, "dumps 6..=100 are scored");
    Some(errors.mean.mae)
}

fn assert_close(measured: f64, expected: f64, what: &str) {
    let rel = (measured - expected).abs() / expected;
    eprintln!("{what}: MAE {measured:.5e} (reference {expected:.4e}, {:.3} %)", 100.0 * rel);
    assert!(rel < 5e-3, "{what}: MAE {measured:.5e}, reference {expected:.4e}");
}

#[test]
fn frozen_distribution_matches_reference_error() {
    if let Some(mae) = rollout_mae("normal_-2_0", None) {
        assert_close(mae, 4.088e-4, "frozen, normal_-2_0");
    }
}

#[test]
fn static_shielding_theory_matches_reference_error() {
    if let Some(mae) = rollout_mae("normal_-2_0", Some(0.034)) {
        assert_close(mae, 4.337e-5, "theory C = 0.034, normal_-2_0");
    }
    if let Some(mae) = rollout_mae("ring_normal_2_0.2", Some(0.035)) {
        assert_close(mae, 8.957e-5, "theory C = 0.035, ring_normal_2_0.2");
    }
}
