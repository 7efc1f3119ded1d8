//! A trained run saved elsewhere by `TrainedRun::save` loads and rolls out
//! exactly as the original.

use collop_core::VelocityGrid;
use collop_experiment::conditioning::Extrapolation;
use collop_experiment::{AnyModel, Dataset, ModelSpec, TrainConfig, TrainOptions, TrainedRun, evaluate};
use collop_learn::Stage;
use ndarray::Array3;

#[test]
fn a_saved_copy_rolls_out_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A Gaussian blob drifting by half a cell and spreading a little per dump.
    let grid = VelocityGrid::square(12, 3.0).unwrap();
    let frames = Array3::from_shape_fn((6, 12, 12), |(k, i, j)| {
        let w = 0.6 + 0.02 * k as f64;
        let (x, y) = (grid.vx(i) + 1.0 - 0.25 * k as f64, grid.vy(j));
        (-(x * x + y * y) / (2.0 * w * w)).exp()
    });
    collop_io::write_dataset(&data, &collop_io::DatasetMeta::new(grid, 1.0, 0, 0.0), frames.view()).unwrap();
    for spec in [ModelSpec::par_perp(), ModelSpec::kernel(2)] {
        let mut cfg = TrainConfig::new(spec.clone(), vec![data.clone()]);
        cfg.training.stages = vec![Stage { unroll: 2, epochs: 5, lr: 1e-2, optimiser: None }];
        let run_dir = dir.path().join(format!("run-{}", spec.family()));
        let out = collop_experiment::train(&cfg, &run_dir, TrainOptions::default(), &mut []).unwrap();
        let copy_dir = dir.path().join(format!("copy-{}", spec.family()));
        out.run.save(&copy_dir).unwrap();
        let copy = TrainedRun::load(&copy_dir).unwrap();
        assert_eq!(copy.theta, out.run.theta);
        // Training moved the parameters from their zero start, so the
        // comparison below is between non-trivial operators.
        assert!(copy.theta.iter().any(|&v| v != 0.0), "{}", spec.family());
        assert_eq!(copy.config, out.run.config);
        let ds = Dataset::load(&data).unwrap();
        let roll = |m: AnyModel| {
            let (p, _) = m.params_for(&ds, Extrapolation::Refuse).unwrap();
            evaluate(&p, &ds, &cfg.evaluation, m.eval_options(None, true)).unwrap().frames.unwrap()
        };
        let a = roll(AnyModel::Trained(Box::new(out.run)));
        let b = roll(AnyModel::Trained(Box::new(copy)));
        // Bit for bit: the same parameters through the same arithmetic.
        assert_eq!(a, b, "{}", spec.family());
    }
}
