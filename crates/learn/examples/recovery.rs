//! Recovery study: learn a known operator back from noisy synthetic data.
//! `cargo run --release -p collop-learn --example recovery -- [tensor|parperp] [C] [epochs]`

use collop_core::VelocityGrid;
use collop_fp::{
    Accumulation, Edges, FokkerPlanck, Loss, LossKind, RolloutConfig, Scheme, StabilityPolicy, Substeps,
};
use collop_learn::synthetic::{SyntheticSpec, synthesise};
use collop_learn::{
    LinearKind, Model, OptimiserKind, Split, Stage, Symmetry, TimeNodes, TrainSettings, TrainState,
    linear_model, train,
};
use collop_theory::{
    BiMaxwellian, Sampling, cartesian_to_radial, cell_speed_and_direction, ring_on_grid,
    static_shielding_fields,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).map(String::as_str).unwrap_or("parperp");
    let c: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0.05);
    let epochs: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(300);
    let grid = VelocityGrid::square(51, 5.0).unwrap();
    let scheme = Scheme::Reference(Edges::Guard);
    let cfg =
        RolloutConfig { substeps: Substeps::Fixed(2), clamp_f: true, stability: StabilityPolicy::Ignore };
    let truth = static_shielding_fields(&grid, c).unwrap();
    let op = FokkerPlanck::new(grid, scheme).unwrap();
    let theta_true = truth.to_grid_units();
    let blob = BiMaxwellian::isotropic(1.0, [-2.0, 0.0], 0.25)
        .unwrap()
        .on_grid_normalised(&grid, Sampling::CellCentre)
        .unwrap();
    let ring = ring_on_grid(&grid, 2.0, 0.2).unwrap();
    let t0 = std::time::Instant::now();
    let data: Vec<_> = [(&blob, 1), (&ring, 2)]
        .iter()
        .map(|(f0, seed)| {
            let spec =
                SyntheticSpec { rollout: cfg, dt: 1.0, n_dumps: 40, particles: Some(300_000), seed: *seed };
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
        optimiser: OptimiserKind::Adam,
        loss: Loss { kind: LossKind::Mae, accumulation: Accumulation::AllSteps },
        rollout: cfg,
    };
    let mut state = TrainState::new(model.init(), &settings.optimiser, settings.stages.len());
    let t0 = std::time::Instant::now();
    train(&model, &data, &Split::none(), &settings, &mut state, &mut []).unwrap();
    eprintln!("trained in {:.2} s, loss {:e}", t0.elapsed().as_secs_f64(), state.best.as_ref().unwrap().0);
    let mut theta = vec![0.0; model.operator().nparams()];
    model.theta(&state.best.as_ref().unwrap().1, &mut theta);
    let learned = collop_core::FpFields::from_grid_units(grid, &theta).unwrap();
    // Counts per bin, averaged over frames.
    let mut worst = [0.0f64; 3];
    let mut cells = 0;
    let mut errs: Vec<[f64; 3]> = Vec::new();
    for i in 0..grid.nx {
        for j in 0..grid.ny {
            let counts: f64 = data
                .iter()
                .map(|s| {
                    s.frames.index_axis(ndarray::Axis(2), j).index_axis(ndarray::Axis(1), i).mean().unwrap()
                        * 300_000.0
                })
                .fold(0.0, f64::max);
            if counts < 100.0 {
                continue;
            }
            let (_, dir) = cell_speed_and_direction(&grid, i, j);
            let get = |f: &collop_core::FpFields| {
                [f.a_x[[i, j]], f.a_y[[i, j]], f.d_xx[[i, j]], f.d_yy[[i, j]], f.d_xy[[i, j]]]
            };
            let (l, t) = (cartesian_to_radial(dir, get(&learned)), cartesian_to_radial(dir, get(&truth)));
            let e = [
                (l.a_par - t.a_par).abs() / t.a_par.abs().max(1e-12),
                (l.d_par - t.d_par).abs() / t.d_par.abs(),
                (l.d_perp - t.d_perp).abs() / t.d_perp.abs(),
            ];
            for k in 0..3 {
                worst[k] = worst[k].max(e[k]);
            }
            if e[1] > 0.1 || e[2] > 0.1 {
                let (v, _) = cell_speed_and_direction(&grid, i, j);
                eprintln!(
                    "cell ({i},{j}) |v| {v:.2} counts {counts:.0} errors {e:.3?} D_par {:.3e}/{:.3e}",
                    cartesian_to_radial(dir, get(&learned)).d_par,
                    cartesian_to_radial(dir, get(&truth)).d_par
                );
            }
            errs.push(e);
            cells += 1;
        }
    }
    let median = |k: usize| {
        let mut v: Vec<f64> = errs.iter().map(|e| e[k]).collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!(
        "{cells} cells with >= 100 counts; relative errors A_par/D_par/D_perp: worst {worst:.3?}, median [{:.3}, {:.3}, {:.3}]",
        median(0),
        median(1),
        median(2)
    );
}
