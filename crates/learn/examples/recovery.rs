//! Recovery study: learn a known operator back from noisy synthetic data.
//!
//! ```text
//! cargo run --release -p collop-learn --example recovery -- \
//!     [tensor|parperp] [C] [iterations] [adam|lbfgs] [mae|mse] [dumps]
//! ```
//!
//! Environment: `ICS="b-2,0,0.25;r2,0.2"` sets the initial conditions (`b`
//! vx, vy, variance: a blob; `r` radius, width: a ring), `NOISE=0` makes the
//! data exact. Prints the shell-averaged comparison of
//! `collop_learn::recovery` (cells kept populated with >= 100 particles).

use collop_core::VelocityGrid;
use collop_fp::{
    Accumulation, Edges, FokkerPlanck, Loss, LossKind, RolloutConfig, Scheme, StabilityPolicy, Substeps,
};
use collop_learn::synthetic::{SyntheticSpec, synthesise};
use collop_learn::{
    LinearKind, Model, OptimiserKind, Split, Stage, Symmetry, TimeNodes, TrainSettings, TrainState,
    linear_model, train,
};
use collop_theory::{BiMaxwellian, Sampling, ring_on_grid, static_shielding_fields};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).map(String::as_str).unwrap_or("parperp");
    let c: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0.05);
    let epochs: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(300);
    let opt = args.get(4).map(String::as_str).unwrap_or("adam");
    let lossk = args.get(5).map(String::as_str).unwrap_or("mae");
    let n_dumps: usize = args.get(6).and_then(|s| s.parse().ok()).unwrap_or(40);
    let grid = VelocityGrid::square(51, 5.0).unwrap();
    let scheme = Scheme::Reference(Edges::Guard);
    let cfg =
        RolloutConfig { substeps: Substeps::Fixed(2), clamp_f: true, stability: StabilityPolicy::Ignore };
    let truth = static_shielding_fields(&grid, c).unwrap();
    let op = FokkerPlanck::new(grid, scheme).unwrap();
    let theta_true = truth.to_grid_units();
    let ics = std::env::var("ICS").unwrap_or_else(|_| "b-2,0,0.25;r2,0.2".into());
    let inits: Vec<ndarray::Array2<f64>> = ics
        .split(';')
        .map(|t| {
            let v: Vec<f64> = t[1..].split(',').map(|x| x.parse().unwrap()).collect();
            if t.starts_with('b') {
                BiMaxwellian::isotropic(1.0, [v[0], v[1]], v[2])
                    .unwrap()
                    .on_grid_normalised(&grid, Sampling::CellCentre)
                    .unwrap()
            } else {
                ring_on_grid(&grid, v[0], v[1]).unwrap()
            }
        })
        .collect();
    let t0 = std::time::Instant::now();
    let data: Vec<_> = inits
        .iter()
        .enumerate()
        .map(|(k, f0)| {
            let spec = SyntheticSpec {
                rollout: cfg,
                dt: 1.0,
                n_dumps,
                particles: if std::env::var("NOISE").as_deref() == Ok("0") { None } else { Some(300_000) },
                seed: k as u64 + 1,
            };
            synthesise(&op, &theta_true, f0, &spec).unwrap()
        })
        .collect();
    eprintln!("data in {:.2} s", t0.elapsed().as_secs_f64());
    let lk = match kind {
        "tensor" => LinearKind::FpTensor(Symmetry::None),
        _ => LinearKind::ParPerp(32),
    };
    let model = linear_model(grid, lk, scheme, false, TimeNodes::constant()).unwrap();
    let settings = TrainSettings {
        stages: vec![
            Stage { unroll: 1, epochs, lr: 1e-2, optimiser: None },
            Stage { unroll: 2, epochs: epochs / 2, lr: 3e-3, optimiser: None },
            Stage { unroll: 5, epochs: epochs / 2, lr: 1e-3, optimiser: None },
        ],
        optimiser: if opt == "lbfgs" { OptimiserKind::Lbfgs { history: 20 } } else { OptimiserKind::Adam },
        loss: Loss {
            kind: if lossk == "mse" { LossKind::Mse } else { LossKind::Mae },
            accumulation: Accumulation::AllSteps,
        },
        rollout: cfg,
    };
    let mut state = TrainState::new(model.init(), &settings.optimiser, settings.stages.len());
    let t0 = std::time::Instant::now();
    train(&model, &data, &Split::none(), &settings, &mut state, &mut []).unwrap();
    eprintln!("trained in {:.2} s, loss {:e}", t0.elapsed().as_secs_f64(), state.best.as_ref().unwrap().0);
    let mut theta = vec![0.0; model.operator().nparams()];
    model.theta(&state.best.as_ref().unwrap().1, &mut theta).unwrap();
    let learned = collop_core::FpFields::from_grid_units(grid, &theta).unwrap();
    let counts = collop_learn::recovery::min_counts_over_frames(&data, 300_000.0);
    let cmp = collop_learn::recovery::RadialComparison::new(&learned, &truth, &counts, 100.0, 0.25).unwrap();
    print!("{}", cmp.table(0.1));
    println!("worst {:.3?}", cmp.worst(0.1));
}
