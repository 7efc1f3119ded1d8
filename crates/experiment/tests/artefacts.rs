//! Round trips of every saved artefact of the experiment layer: each is
//! written, read back and rolled out, and gives the same frames, bit for
//! bit, as the object in memory before it was saved (trained runs of
//! several families, a run directory of format 1, a theory model, a track
//! model); its record reads back equal; a comparison of a newer format is
//! refused; and every artefact with a corrupted file gives an error that
//! names the file.

use std::path::{Path, PathBuf};

use collop_core::{FIELD_NAMES, FpFields, VelocityGrid};
use collop_experiment::compare::{Comparison, Family, ModelRecord, PopulationRecord, Role, Row};
use collop_experiment::conditioning::Extrapolation;
use collop_experiment::fields_model::{FIELDS_FILE, RUN_FILE};
use collop_experiment::theory::{TheoryKind, theory_model};
use collop_experiment::tracks::{TrackSettings, estimate};
use collop_experiment::trained::{MODEL, RUN_JSON};
use collop_experiment::{
    AnyModel, Conditioner, Dataset, EvalOptions, FieldsModel, FieldsSource, ModelSpec, OperatorParams,
    OperatorShape, TimeDependence, TrainConfig, TrainOptions, TrainedRun, evaluate, train,
};
use collop_fp::{FrameErrors, Numerics, Scheme};
use collop_io::{DatasetMeta, TrackData};
use collop_learn::{Conditioners, Stage};
use ndarray::{Array2, Array3, Array4, ArrayD, Axis, s};

/// Frames of the test dataset (one more than its dump steps).
const FRAMES: usize = 6;
/// Time between dumps, `1/omega_p`.
const DT: f64 = 1.0;

fn grid() -> VelocityGrid {
    VelocityGrid::square(12, 3.0).unwrap()
}

/// A Gaussian blob on the 12 x 12 grid over [-3, 3]^2 that drifts towards
/// the origin and spreads, frame by frame (what a drag and a diffusion do),
/// written as a dataset folder with `vth_c` (the tracks' units).
fn write_gaussian_dataset(folder: &Path) {
    let g = grid();
    let mut frames = Array3::zeros((FRAMES, g.nx, g.ny));
    for k in 0..FRAMES {
        let t = k as f64;
        let (cx, cy) = (-1.0 + 0.08 * t, 0.3 - 0.02 * t);
        let var = 0.5 + 0.05 * t;
        for i in 0..g.nx {
            for j in 0..g.ny {
                let (vx, vy) = (g.vx(i), g.vy(j));
                let r2 = (vx - cx).powi(2) + (vy - cy).powi(2);
                frames[[k, i, j]] = (-r2 / (2.0 * var)).exp();
            }
        }
    }
    let meta = DatasetMeta::new(g, DT, 0, 0.0).with_extra("vth_c", 0.01);
    collop_io::write_dataset(folder, &meta, frames.view()).unwrap();
}

/// A short schedule: enough epochs to move every parameter away from its
/// initial value, short enough for a test.
fn short_schedule() -> Vec<Stage> {
    vec![
        Stage { unroll: 1, epochs: 4, lr: 1e-2, optimiser: None },
        Stage { unroll: 2, epochs: 2, lr: 1e-2, optimiser: None },
    ]
}

/// The frames of `model` rolled out on `ds` under `numerics`.
fn rollout(model: &AnyModel, ds: &Dataset, numerics: &Numerics) -> Array4<f64> {
    let (params, notes) = model.params_for(ds, Extrapolation::Refuse).unwrap();
    assert!(notes.is_empty(), "nothing extrapolated on the training data: {notes:?}");
    rollout_params(&params, ds, numerics)
}

fn rollout_params(params: &OperatorParams, ds: &Dataset, numerics: &Numerics) -> Array4<f64> {
    let e =
        evaluate(params, ds, numerics, EvalOptions { keep_frames: true, ..EvalOptions::default() }).unwrap();
    assert!(e.score.mean().is_some(), "the rollout diverged: {:?}", e.score);
    let frames = e.frames.expect("frames kept");
    assert_eq!(frames.dim().0, FRAMES, "the first frame and one per dump step");
    frames
}

/// The same frames bit for bit, and frames that evolved (a model that does
/// nothing would pass the equality for any artefact, however broken).
fn assert_same_frames(saved: &Array4<f64>, memory: &Array4<f64>, what: &str) {
    assert_eq!(saved.dim(), memory.dim(), "{what}: frame shapes");
    for ((idx, a), b) in saved.indexed_iter().zip(memory.iter()) {
        assert_eq!(a.to_bits(), b.to_bits(), "{what}: frame value {idx:?}: loaded {a:e}, in memory {b:e}");
    }
    assert!(memory.iter().all(|v| v.is_finite()), "{what}: finite frames");
    let first = memory.slice(s![0, 0, .., ..]);
    let last = memory.slice(s![FRAMES - 1, 0, .., ..]);
    let change: f64 = first.iter().zip(last.iter()).map(|(a, b)| (a - b).abs()).sum();
    assert!(change > 0.0, "{what}: the rollout does not evolve");
}

fn arrays(path: &Path) -> Vec<(String, ArrayD<f64>)> {
    collop_io::read_npz(path).unwrap()
}

fn array<'a>(arrays: &'a [(String, ArrayD<f64>)], name: &str) -> Option<&'a ArrayD<f64>> {
    arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a)
}

fn values(arrays: &[(String, ArrayD<f64>)], name: &str) -> Vec<f64> {
    array(arrays, name).unwrap_or_else(|| panic!("no array `{name}`")).iter().copied().collect()
}

/// The Fokker-Planck fields of `A_x ... D_xy` arrays `(n_slots, nx, ny)`, one per slot.
fn fields_of(arrays: &[(String, ArrayD<f64>)], g: VelocityGrid) -> Vec<FpFields> {
    let comps: Vec<&ArrayD<f64>> =
        FIELD_NAMES.iter().map(|n| array(arrays, n).unwrap_or_else(|| panic!("no array `{n}`"))).collect();
    let n_slots = comps[0].shape()[0];
    (0..n_slots)
        .map(|slot| {
            let mut f = FpFields::zeros(g);
            for (dst, src) in f.as_array_mut().into_iter().zip(&comps) {
                assert_eq!(src.shape(), &[n_slots, g.nx, g.ny]);
                dst.assign(&src.index_axis(Axis(0), slot).into_dimensionality::<ndarray::Ix2>().unwrap());
            }
            f
        })
        .collect()
}

/// The error of `result` names `file` (and says `what`, when given).
fn assert_error_names<T: std::fmt::Debug>(
    result: collop_experiment::Result<T>,
    file: &str,
    what: &[&str],
    case: &str,
) {
    let e = result.expect_err(case).to_string();
    assert!(e.contains(file), "{case}: the error does not name {file}: {e}");
    for w in what {
        assert!(e.contains(w), "{case}: the error does not say `{w}`: {e}");
    }
}

/// The families trained into run directories: a free tensor, time-resolved
/// radial profiles, a kernel and a radial network with a time input.
fn specs() -> Vec<(&'static str, ModelSpec, usize)> {
    let steps = FRAMES - 1;
    vec![
        ("fp-tensor", ModelSpec::fp_tensor(), 1),
        (
            "fp-par-perp-per-dump",
            ModelSpec::FpParPerp {
                n_radial: 6,
                time: TimeDependence::PerDump,
                lambda1: 1e-4,
                lambda2: 0.0,
                smoothness: 0.0,
                smoothness_order: 3,
            },
            steps,
        ),
        ("kernel-k2", ModelSpec::kernel(2), 1),
        (
            "parperp-mlp-time",
            ModelSpec::ParperpMlp { hidden: vec![8], conditioners: vec![Conditioner::Time] },
            steps,
        ),
    ]
}

#[test]
fn trained_runs_load_and_roll_out_as_trained() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("blob");
    write_gaussian_dataset(&folder);
    let ds = Dataset::load(&folder).unwrap();
    let g = ds.series.grid;
    for (name, spec, n_slots) in specs() {
        let mut cfg = TrainConfig::new(spec.clone(), vec![folder.clone()]);
        cfg.training.stages = short_schedule();
        let dir = tmp.path().join(name);
        let outcome = train(&cfg, &dir, TrainOptions::default(), &mut []).unwrap();
        assert_eq!(outcome.epochs, 6, "{name}: every epoch of the schedule");

        let loaded = TrainedRun::load(&dir).unwrap();
        assert_eq!(loaded.config, cfg, "{name}: config.toml");
        assert_eq!(loaded.info, outcome.run.info, "{name}: run.json");
        assert_eq!(loaded.theta, outcome.run.theta, "{name}: theta");
        assert_eq!(loaded.phi, outcome.run.phi, "{name}: phi");
        assert_eq!(loaded.conditioning, outcome.run.conditioning, "{name}: conditioning.json");
        let info = loaded.info.clone().unwrap();
        assert_eq!(info.format_version, collop_experiment::trained::FORMAT_VERSION);
        let phi = loaded.phi.clone().unwrap();
        assert_eq!(info.model_parameters, phi.len(), "{name}");
        assert_eq!(info.operator_parameters, loaded.theta.len(), "{name}");

        // The parameters on the dataset: the saved theta of the training slots.
        let shape = spec.operator_shape();
        let memory = AnyModel::Trained(Box::new(outcome.run.clone()));
        let saved = AnyModel::Trained(Box::new(loaded.clone()));
        let (p_saved, _) = saved.params_for(&ds, Extrapolation::Refuse).unwrap();
        let (p_memory, _) = memory.params_for(&ds, Extrapolation::Refuse).unwrap();
        assert_eq!(p_saved, p_memory, "{name}: parameters");
        assert_eq!(p_saved.n_slots, n_slots, "{name}: time slots");
        assert_eq!(p_saved.shape, shape, "{name}");
        assert_eq!(p_saved.theta.len(), n_slots * shape.per_slot(&g), "{name}");

        // The saved theta is the model's map of the saved best phi: rebuilt
        // here from config.toml (the network of a conditioned model is
        // rebuilt by params_for, which maps phi again).
        if loaded.is_conditioned() {
            assert_eq!(p_saved.theta, loaded.theta, "{name}: params_for maps phi to the saved theta");
        } else {
            let model = cfg
                .model
                .build(
                    g,
                    FRAMES - 1,
                    cfg.numerics.scheme,
                    cfg.numerics.clamp_d,
                    cfg.seed,
                    Conditioners::none(),
                )
                .unwrap();
            let mut theta = vec![0.0; model.operator().nparams()];
            model.theta(&phi, &mut theta).unwrap();
            assert_eq!(theta, loaded.theta, "{name}: theta is the map of best_phi");
        }
        assert!(loaded.theta.iter().any(|&t| t != 0.0), "{name}: training moved theta");

        // model.npz: for Fokker-Planck models the fields are theta in
        // physical units. theta -> fields divides by the grid-unit scale and
        // fields -> theta multiplies by it again: each rounds once, so the
        // two agree to within a couple of ulps (4 allowed), not bit for bit.
        let npz = arrays(&dir.join(MODEL));
        assert_eq!(values(&npz, "theta"), loaded.theta, "{name}");
        assert_eq!(values(&npz, "grid"), vec![12.0, 12.0, -3.0, 3.0, -3.0, 3.0], "{name}");
        if shape == OperatorShape::FokkerPlanck {
            let fields = fields_of(&npz, g);
            assert_eq!(fields.len(), n_slots, "{name}: one field set per slot");
            let back = OperatorParams::from_fields(&fields).unwrap();
            for (k, (a, b)) in back.theta.iter().zip(&loaded.theta).enumerate() {
                assert!(
                    (a - b).abs() <= 4.0 * f64::EPSILON * b.abs(),
                    "{name}: theta[{k}] {b:e}, from fields {a:e}"
                );
            }
        } else {
            for n in FIELD_NAMES {
                assert!(array(&npz, n).is_none(), "{name}: a kernel model has no `{n}`");
            }
        }

        // Rolled out under the run's evaluation numerics: the same frames.
        let a = rollout(&saved, &ds, &cfg.evaluation);
        let b = rollout(&memory, &ds, &cfg.evaluation);
        assert_same_frames(&a, &b, name);
        // Opened as `collop test` opens it.
        let opened = AnyModel::open(dir.to_str().unwrap()).unwrap();
        assert!(matches!(opened, AnyModel::Trained(_)), "{name}");
        assert_same_frames(&rollout(&opened, &ds, &cfg.evaluation), &b, name);
    }
}

/// Corrupted files of a trained run: each error names the file at fault.
#[test]
fn corrupted_trained_runs_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("blob");
    write_gaussian_dataset(&folder);
    let (_, spec, _) = specs().pop().unwrap(); // the network with conditioning.json
    let mut cfg = TrainConfig::new(spec, vec![folder]);
    cfg.training.stages = vec![Stage { unroll: 1, epochs: 1, lr: 1e-3, optimiser: None }];
    let dir = tmp.path().join("run");
    train(&cfg, &dir, TrainOptions::default(), &mut []).unwrap();
    TrainedRun::load(&dir).unwrap();

    let backup = tmp.path().join("backup");
    std::fs::create_dir(&backup).unwrap();
    let files = ["model.npz", "run.json", "config.toml", "conditioning.json"];
    for f in files {
        std::fs::copy(dir.join(f), backup.join(f)).unwrap();
    }
    let restore = || {
        for f in files {
            std::fs::copy(backup.join(f), dir.join(f)).unwrap();
        }
        TrainedRun::load(&dir).unwrap();
    };

    std::fs::write(dir.join(MODEL), b"not a numpy archive").unwrap();
    assert_error_names(TrainedRun::load(&dir), "model.npz", &[], "model.npz overwritten");
    restore();

    let phi = ArrayD::from_shape_vec(vec![2], vec![1.0, 2.0]).unwrap();
    collop_io::write_npz(dir.join(MODEL), &[("phi", phi.view())]).unwrap();
    assert_error_names(TrainedRun::load(&dir), "model.npz", &["theta"], "model.npz without theta");
    restore();

    std::fs::write(dir.join(RUN_JSON), "{ not json").unwrap();
    assert_error_names(TrainedRun::load(&dir), "run.json", &[], "run.json not JSON");
    restore();

    std::fs::write(dir.join("config.toml"), "[model\nkind = ").unwrap();
    assert_error_names(TrainedRun::load(&dir), "config.toml", &[], "config.toml not TOML");
    restore();

    std::fs::write(dir.join("conditioning.json"), "[1, 2").unwrap();
    assert_error_names(TrainedRun::load(&dir), "conditioning.json", &[], "conditioning.json not JSON");
    restore();

    std::fs::remove_file(dir.join("conditioning.json")).unwrap();
    assert_error_names(TrainedRun::load(&dir), "conditioning.json", &[], "conditioning.json missing");
    restore();

    // A newer format is refused with the advice to update.
    let text = std::fs::read_to_string(dir.join(RUN_JSON)).unwrap();
    let newer = text.replace("\"format_version\": 2", "\"format_version\": 3");
    assert_ne!(newer, text);
    std::fs::write(dir.join(RUN_JSON), newer).unwrap();
    // (This message names the run directory, not run.json.)
    let dir_name = dir.display().to_string();
    assert_error_names(
        TrainedRun::load(&dir),
        &dir_name,
        &["format version 3", "update collop"],
        "run.json format 3",
    );
    restore();

    std::fs::remove_file(dir.join(MODEL)).unwrap();
    assert_error_names(TrainedRun::load(&dir), "model.npz", &["unfinished"], "model.npz missing");
}

/// A config as format 1 wrote it into run directories (the test string of
/// `legacy.rs`, with the folder of the test dataset and 6 radial nodes).
fn config_v1(folder: &Path) -> String {
    format!(
        r#"seed = 3

[data]
folders = [{folder:?}]
validation_fraction = 0.05

[model]
kind = "fp-par-perp"
symmetry = "none"
n_radial = 6
time_nodes = -1
lambda1 = 0.0001
lambda2 = 0.0
kernel_size = 2
difference = "forward"
kernel_transpose = false
smoothness_order = 3
hidden = [64, 64]

[numerics]
scheme = "reference"
edges = "one-sided"
substeps = 2
clamp_f = true
clamp_d = false

[evaluation]
scheme = "conservative"
edges = "guard"
substeps = 0
clamp_f = true
clamp_d = true
"#,
        folder = folder.display().to_string()
    )
}

/// A run directory of format 1 (format-1 config, model.npz with phi, theta
/// and best_phi only, run.json without format_version) loads and rolls out
/// as its parameters do.
#[test]
fn format_1_run_directories_load_and_roll_out() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("blob");
    write_gaussian_dataset(&folder);
    let ds = Dataset::load(&folder).unwrap();
    let g = ds.series.grid;
    let dir = tmp.path().join("run-v1");
    std::fs::create_dir(&dir).unwrap();
    let text = config_v1(&folder);
    std::fs::write(dir.join("config.toml"), &text).unwrap();

    // Radial profiles per dump step (grid units): a drag towards the
    // origin growing with |v| and a diffusion growing in time, well inside
    // the explicit step's limit.
    let cfg = TrainConfig::from_toml(&text, "format 1").unwrap();
    let model = cfg
        .model
        .build(g, FRAMES - 1, cfg.numerics.scheme, cfg.numerics.clamp_d, cfg.seed, Conditioners::none())
        .unwrap();
    let nr = 6;
    let mut phi = Vec::new();
    for slot in 0..FRAMES - 1 {
        let d = 0.01 + 0.002 * slot as f64;
        phi.extend((0..nr).map(|r| -0.01 * r as f64));
        phi.extend(std::iter::repeat_n(d, nr));
        phi.extend(std::iter::repeat_n(0.8 * d, nr));
    }
    assert_eq!(phi.len(), model.nparams());
    let mut theta = vec![0.0; model.operator().nparams()];
    model.theta(&phi, &mut theta).unwrap();
    let arr = |v: &[f64]| ArrayD::from_shape_vec(vec![v.len()], v.to_vec()).unwrap();
    let (phi_a, theta_a) = (arr(&phi), arr(&theta));
    collop_io::write_npz(
        dir.join(MODEL),
        &[("phi", phi_a.view()), ("theta", theta_a.view()), ("best_phi", phi_a.view())],
    )
    .unwrap();
    let run_json = format!(
        r#"{{"version": "0.1.0", "seed": 3, "model": "FP par/perp, 6 radial nodes", "model_parameters": {},
            "operator_parameters": {}, "datasets": [{:?}], "training_windows_held_out": 0}}"#,
        phi.len(),
        theta.len(),
        folder.display().to_string()
    );
    std::fs::write(dir.join(RUN_JSON), run_json).unwrap();

    let run = TrainedRun::load(&dir).unwrap();
    assert_eq!(run.info.as_ref().unwrap().format_version, 1, "no format_version: format 1");
    assert_eq!(run.info.as_ref().unwrap().model_parameters, phi.len());
    assert_eq!(
        run.config.model,
        ModelSpec::FpParPerp {
            n_radial: 6,
            time: TimeDependence::PerDump,
            lambda1: 1e-4,
            lambda2: 0.0,
            smoothness: 0.0,
            smoothness_order: 3
        }
    );
    assert_eq!(run.config.evaluation.scheme, Scheme::Conservative, "format 1's [evaluation]");
    assert_eq!(run.theta, theta);
    assert_eq!(run.phi.as_deref(), Some(&phi[..]), "best_phi");
    assert!(!run.is_conditioned());

    let memory = OperatorParams::new(g, OperatorShape::FokkerPlanck, theta.clone()).unwrap();
    assert_eq!(memory.n_slots, FRAMES - 1, "one operator per dump step (time_nodes = -1)");
    let loaded = AnyModel::Trained(Box::new(run.clone()));
    for numerics in [Numerics::evaluation(), run.config.evaluation] {
        let a = rollout(&loaded, &ds, &numerics);
        let b = rollout_params(&memory, &ds, &numerics);
        assert_same_frames(&a, &b, "format-1 run");
    }
}

/// The published data's PIC parameters (ppc 4, dx = dy = lambda_D, linear
/// shapes, v_th = 0.01 c): N_D = 4.
fn published_parameters() -> collop_theory::PlasmaParams {
    collop_theory::PlasmaParams::from_ppc(4.0, 1.0, 1.0, 1, 0.01).unwrap()
}

#[test]
fn theory_models_save_load_and_roll_out_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("blob");
    write_gaussian_dataset(&folder);
    let ds = Dataset::load(&folder).unwrap();
    let params = published_parameters();
    assert_eq!(params.particles_per_debye_area, 4.0);
    for kind in [TheoryKind::Dynamic, TheoryKind::Static] {
        let (model, _) = theory_model(&params, &ds.series.grid, kind, "published parameters").unwrap();
        let dir = tmp.path().join(kind.name());
        model.save(&dir).unwrap();
        let back = FieldsModel::load(&dir).unwrap();
        assert_eq!(back.meta.source, model.meta.source, "{}: the record", kind.name());
        assert_eq!(back, model, "{}: fields and record", kind.name());
        let record = back.meta.source.theory().unwrap();
        assert_eq!(record.amplitude, model.meta.source.theory().unwrap().amplitude);
        assert!(record.amplitude > 0.0);
        assert_eq!(record.parameters.particles_per_debye_area, 4.0);
        assert_eq!(
            (record.parameters.dx_over_debye, record.parameters.dy_over_debye, record.parameters.shape_order),
            (1.0, 1.0, 1)
        );
        assert_eq!(record.parameters.vth_c, 0.01);
        assert_eq!(back.meta.source.name(), kind.name());
        let numerics = Numerics::evaluation();
        let a = rollout(&AnyModel::Fields(back), &ds, &numerics);
        let b = rollout(&AnyModel::Fields(model), &ds, &numerics);
        assert_same_frames(&a, &b, kind.name());
    }
}

/// splitmix64: a small seeded generator, so the tracks are the same on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Two independent standard normals (Box-Muller).
    fn normals(&mut self) -> (f64, f64) {
        let (u1, u2) = (self.uniform(), self.uniform());
        let r = (-2.0 * u1.ln()).sqrt();
        let a = 2.0 * std::f64::consts::PI * u2;
        (r * a.cos(), r * a.sin())
    }
}

/// Tracks of `n` particles doing Ornstein-Uhlenbeck steps with drift
/// towards `(0.5, 0)` at the dataset's dump times, starting spread over the grid.
fn ou_tracks(n: usize) -> TrackData {
    let mut rng = SplitMix(20260115);
    let (gamma, sigma) = (0.1, 0.3);
    let mut vx = Array2::zeros((FRAMES, n));
    let mut vy = Array2::zeros((FRAMES, n));
    for p in 0..n {
        let (a, b) = rng.normals();
        vx[[0, p]] = 1.2 * a;
        vy[[0, p]] = 1.2 * b;
    }
    for k in 1..FRAMES {
        for p in 0..n {
            let (a, b) = rng.normals();
            vx[[k, p]] = vx[[k - 1, p]] - gamma * (vx[[k - 1, p]] - 0.5) * DT + sigma * DT.sqrt() * a;
            vy[[k, p]] = vy[[k - 1, p]] - gamma * vy[[k - 1, p]] * DT + sigma * DT.sqrt() * b;
        }
    }
    TrackData {
        ids: (0..n as u64).collect(),
        times: (0..FRAMES).map(|k| k as f64 * DT).collect(),
        vz: Array2::zeros((FRAMES, n)),
        vx,
        vy,
        x: None,
        y: None,
        v_th_c: Some(0.01),
    }
}

#[test]
fn track_models_save_load_and_roll_out_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("blob");
    write_gaussian_dataset(&folder);
    let ds = Dataset::load(&folder).unwrap();
    let tracks = tmp.path().join("tracks.npz");
    collop_io::write_tracks(&tracks, &ou_tracks(600)).unwrap();
    let settings =
        TrackSettings { min_count: 5, ..TrackSettings::new(vec![tracks.clone()], folder.clone(), 1) };
    // A minimum below 2 intervals per bin is refused (it was raised to 2
    // silently), before anything is read or written.
    for bad in [0, 1] {
        let e = estimate(&TrackSettings { min_count: bad, ..settings.clone() })
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains(&format!("min_count = {bad}")) && e.contains("give 2 or more"), "{e}");
        let out = tmp.path().join("refused");
        let e = collop_experiment::tracks::estimate_into(
            &TrackSettings { min_count: bad, ..settings.clone() },
            &out,
            collop_io::Existing::Refuse,
        )
        .err()
        .expect("refused");
        assert!(e.to_string().contains("min_count"), "{e}");
        assert!(!out.exists(), "a refused estimate created its directory");
    }
    let tm = estimate(&settings).unwrap();
    let FieldsSource::Tracks(record) = &tm.model.meta.source else { panic!("a track record") };
    // 600 particles, 5 non-overlapping intervals each at lag 1, nearly all on the grid.
    assert_eq!(record.counts.intervals_on_grid + record.counts.intervals_outside_grid, 600 * 5);
    assert!(record.counts.intervals_on_grid > 2500, "{:?}", record.counts);
    assert_eq!(record.files[0].velocity_factor, 1.0, "tracks and dataset share v_th / c");

    let dir = tmp.path().join("tracks-lag1");
    tm.save(&dir).unwrap();
    let back = FieldsModel::load(&dir).unwrap();
    assert_eq!(back, tm.model, "fields and record");
    let FieldsSource::Tracks(back_record) = &back.meta.source else { panic!("a track record") };
    assert_eq!(back_record, record, "the TrackRecord of run.json");
    let numerics = Numerics::evaluation();
    let a = rollout(&AnyModel::Fields(back), &ds, &numerics);
    let b = rollout(&AnyModel::Fields(tm.model.clone()), &ds, &numerics);
    assert_same_frames(&a, &b, "track model");

    // stderr.npz: the standard errors under the fields' names, one window.
    let g = ds.series.grid;
    let stderr = arrays(&dir.join("stderr.npz"));
    for name in FIELD_NAMES {
        let a = array(&stderr, name).unwrap_or_else(|| panic!("stderr.npz has no `{name}`"));
        assert_eq!(a.shape(), &[1, g.nx, g.ny], "{name}");
        let expected =
            tm.estimates[0].stderr.as_array()[FIELD_NAMES.iter().position(|n| *n == name).unwrap()];
        assert!(
            a.index_axis(Axis(0), 0).iter().zip(expected.iter()).all(|(x, y)| x.to_bits() == y.to_bits()),
            "stderr.npz `{name}` is the estimate's"
        );
    }
    assert!(array(&stderr, "grid").is_some());
    // count.npz: the intervals per bin add up to those on the grid; `empty`
    // marks the bins below min_count.
    let count = arrays(&dir.join("count.npz"));
    let c = array(&count, "count").unwrap();
    let empty = array(&count, "empty").unwrap();
    assert_eq!(c.shape(), &[1, g.nx, g.ny]);
    assert_eq!(c.sum() as usize, record.counts.intervals_on_grid);
    assert_eq!(empty.sum() as usize, record.counts.empty_bins[0]);
    for (n, e) in c.iter().zip(empty.iter()) {
        assert_eq!(*e == 1.0, *n < 5.0, "empty where fewer than min_count intervals");
    }
    assert!(dir.join("radial.csv").is_file());
}

/// Corrupted files of a fields model (theory or tracks): each error names the file.
#[test]
fn corrupted_fields_models_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let g = grid();
    let (model, _) =
        theory_model(&published_parameters(), &g, TheoryKind::Static, "published parameters").unwrap();
    let dir = tmp.path().join("theory");
    model.save(&dir).unwrap();
    let good_fields = std::fs::read(dir.join(FIELDS_FILE)).unwrap();
    let good_run = std::fs::read(dir.join(RUN_FILE)).unwrap();
    let restore = || {
        std::fs::write(dir.join(FIELDS_FILE), &good_fields).unwrap();
        std::fs::write(dir.join(RUN_FILE), &good_run).unwrap();
        assert_eq!(FieldsModel::load(&dir).unwrap(), model);
    };

    std::fs::write(dir.join(FIELDS_FILE), b"garbage").unwrap();
    assert_error_names(FieldsModel::load(&dir), "fields.npz", &["unreadable"], "fields.npz overwritten");
    restore();

    // fields.npz without D_xy.
    let kept: Vec<(String, ArrayD<f64>)> =
        arrays(&dir.join(FIELDS_FILE)).into_iter().filter(|(n, _)| n != "D_xy").collect();
    let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
        kept.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    collop_io::write_npz(dir.join(FIELDS_FILE), &views).unwrap();
    assert_error_names(
        FieldsModel::load(&dir),
        "fields.npz",
        &["D_xy", "missing"],
        "fields.npz without D_xy",
    );
    restore();

    // fields.npz whose arrays do not fit the grid.
    let mut wrong = arrays(&dir.join(FIELDS_FILE));
    for (n, a) in wrong.iter_mut() {
        if n == "A_x" {
            *a = ArrayD::zeros(vec![1, 3, 3]);
        }
    }
    let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
        wrong.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    collop_io::write_npz(dir.join(FIELDS_FILE), &views).unwrap();
    assert_error_names(FieldsModel::load(&dir), "fields.npz", &["A_x"], "fields.npz with a 3 x 3 A_x");
    restore();

    std::fs::write(dir.join(RUN_FILE), "not json").unwrap();
    assert_error_names(FieldsModel::load(&dir), "run.json", &[], "run.json not JSON");
    restore();

    std::fs::remove_file(dir.join(RUN_FILE)).unwrap();
    assert_error_names(FieldsModel::load(&dir), "run.json", &[], "run.json missing");
    restore();

    let newer = String::from_utf8(good_run.clone()).unwrap().replace(
        &format!("\"format_version\": {}", collop_experiment::fields_model::FORMAT_VERSION),
        "\"format_version\": 9",
    );
    assert!(newer.contains("\"format_version\": 9"));
    std::fs::write(dir.join(RUN_FILE), newer).unwrap();
    assert_error_names(FieldsModel::load(&dir), "run.json", &["update collop"], "run.json format 9");
    restore();

    // The same through AnyModel::open, as the CLI opens models.
    std::fs::write(dir.join(FIELDS_FILE), b"garbage").unwrap();
    assert_error_names(
        AnyModel::open(dir.to_str().unwrap()),
        "fields.npz",
        &[],
        "open: fields.npz overwritten",
    );
}

/// A small comparison record made by hand (the one of a real comparison is
/// read back in tests/compare.rs).
fn comparison() -> Comparison {
    let truth = Array2::from_shape_fn((3, 3), |(i, j)| (i + j) as f64);
    let pred = truth.mapv(|v| v + 0.5);
    Comparison {
        format_version: collop_experiment::compare::FORMAT_VERSION,
        version: "test".into(),
        run: "run".into(),
        command: "collop compare run -o out".into(),
        evaluation: Numerics::evaluation(),
        setup: Vec::new(),
        populations: vec![PopulationRecord {
            name: "blob".into(),
            role: Role::Train,
            steps: 1,
            times: vec![0.0, 1.0],
        }],
        models: vec![ModelRecord { name: "frozen".into(), family: Family::Frozen }],
        rows: vec![Row {
            model: "frozen".into(),
            family: Family::Frozen,
            pop: "blob".into(),
            role: Role::Train,
            result: Ok(FrameErrors::between(pred.view(), truth.view())),
            per_step_mae: vec![0.5],
        }],
        shells: vec![(0.0, 1.0)],
        agreement: Vec::new(),
        amplitude: None,
        memory: Vec::new(),
        time_resolved: None,
        failures: Vec::new(),
        stability_warnings: vec!["rollout of tensor on blob: the step is above the estimate".into()],
    }
}

#[test]
fn comparisons_of_a_newer_format_or_corrupted_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let c = comparison();
    c.save(dir).unwrap();
    assert_eq!(Comparison::load(dir).unwrap(), c);

    let newer = Comparison { format_version: collop_experiment::compare::FORMAT_VERSION + 1, ..c.clone() };
    newer.save(dir).unwrap();
    let e = Comparison::load(dir).unwrap_err().to_string();
    assert!(e.contains("comparison.json"), "{e}");
    assert!(e.contains("newer") && e.contains("update collop"), "{e}");

    std::fs::write(dir.join("comparison.json"), "{\"format_version\": 1,").unwrap();
    assert_error_names(Comparison::load(dir), "comparison.json", &["not a comparison record"], "not JSON");
    std::fs::remove_file(dir.join("comparison.json")).unwrap();
    assert_error_names(Comparison::load(dir), "comparison.json", &[], "missing");
}

/// The test dataset reads back with its dump steps, grid and normalisation.
#[test]
fn dataset_helper_writes_a_loadable_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let folder: PathBuf = tmp.path().join("blob");
    write_gaussian_dataset(&folder);
    let ds = Dataset::load(&folder).unwrap();
    assert_eq!(ds.steps(), FRAMES - 1);
    assert!(ds.series.grid.same_as(&grid()));
    // Normalised so that the first frame sums to one.
    let total: f64 = ds.series.frame(0).sum();
    assert!((total - 1.0).abs() < 1e-12, "{total}");
}
