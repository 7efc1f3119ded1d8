//! The `collop` binary end to end: demo, info, rollout, and its errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use collop_core::VelocityGrid;
use ndarray::Array3;

fn collop(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_collop")).args(args).output().expect("run collop");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A small dataset: a Gaussian blob drifting right by one cell per dump.
fn write_dataset(dir: &Path) -> Array3<f64> {
    let grid = VelocityGrid::square(12, 3.0).unwrap();
    let frames = Array3::from_shape_fn((5, 12, 12), |(k, i, j)| {
        let (x, y) = (grid.vx(i) - 0.5 * k as f64, grid.vy(j));
        1000.0 * (-(x * x + y * y)).exp()
    });
    let meta = collop_io::DatasetMeta::new(grid, 0.5, 3, 1.5);
    collop_io::write_dataset(dir, &meta, frames.view()).unwrap();
    frames
}

/// The main job on built-in defaults: the PIC run of the built-in deck,
/// every model, and a report that shows exactly the numbers the library
/// computed (`comparison.json`). About a minute in release on two cores:
/// `cargo test --release -p collop-cli --test cli -- --ignored demo_pipeline`.
#[test]
#[ignore = "runs the whole pipeline (PIC and four trainings), about a minute in release"]
fn demo_pipeline_writes_a_report_of_the_library_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let (ok, stdout, err) = collop(&["demo", "-o", out.to_str().unwrap()]);
    assert!(ok, "{err}\n{stdout}");
    let cmp = collop_experiment::compare::Comparison::load(&out.join("compare")).unwrap();
    assert!(cmp.failures.is_empty(), "{:?}", cmp.failures);
    let html = std::fs::read_to_string(out.join("compare").join("report.html")).unwrap();
    let check = collop_experiment::report::check_report_html(&html).unwrap_or_else(|e| panic!("{e}"));
    let models: Vec<&str> = cmp.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(check.rollout_models, models);
    for m in ["tensor", "par-perp", "parperp-mlp", "kernel-k2", "tracks-lag1", "theory-dynamic", "frozen"] {
        assert!(models.contains(&m), "{m} missing: {models:?}");
    }
    // Every number of the rollout table is the library's, and printed on the terminal.
    let doc = scraper::Html::parse_document(&html);
    let rows = scraper::Selector::parse("table.rollout tbody tr").unwrap();
    let td = scraper::Selector::parse("td").unwrap();
    let mut seen = 0;
    for tr in doc.select(&rows) {
        let cells: Vec<_> = tr.select(&td).collect();
        let model = cells[0].text().collect::<String>().trim().to_string();
        for (k, c) in cells[2..].iter().enumerate() {
            let v: f64 = c.value().attr("data-value").unwrap().parse().unwrap();
            let row = cmp.row(&model, &cmp.populations[k].name).unwrap();
            assert_eq!(v, row.result.as_ref().unwrap().mae, "{model}");
            assert!(stdout.contains(&format!("{v:.4e}")), "{model}: {v:.4e} not printed");
            seen += 1;
        }
    }
    assert_eq!(seen, cmp.rows.len());
    // The held-out sub-populations: learned par/perp beats the frozen
    // baseline and every track lag (the point of the method).
    for p in cmp.populations.iter().filter(|p| p.role == collop_experiment::compare::Role::HeldOut) {
        let mae = |m: &str| cmp.row(m, &p.name).unwrap().result.as_ref().unwrap().mae;
        assert!(mae("par-perp") < mae("frozen") / 3.0, "{}", p.name);
        for lag in [1, 2, 5, 10] {
            assert!(mae("par-perp") < mae(&format!("tracks-lag{lag}")), "{} lag {lag}", p.name);
        }
    }
}

#[test]
fn demo_runs_on_built_in_defaults() {
    let (ok, out, err) = collop(&["demo", "--synthetic"]);
    assert!(ok, "{err}");
    for line in ["frozen distribution", "reference scheme, guard cells", "conservative scheme"] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    // The conservative row keeps the density exactly.
    let row = out.lines().find(|l| l.contains("conservative scheme")).unwrap();
    assert!(row.trim_end().ends_with("1.0000000"), "{row}");
    // The learned radial profiles are close to the truth in the bulk
    // (|v| = 1: the data hold thousands of particles per bin there; 10 %
    // covers the multinomial noise of 300,000 particles per frame).
    let row = out.lines().find(|l| l.trim_start().starts_with("1.0 ")).expect("profile table");
    let nums: Vec<f64> =
        row.split(|c: char| c == '/' || c.is_whitespace()).filter_map(|t| t.parse().ok()).collect();
    assert_eq!(nums.len(), 7, "{row}");
    for k in 0..3 {
        let (learned, truth) = (nums[1 + 2 * k], nums[2 + 2 * k]);
        assert!((learned - truth).abs() < 0.1 * truth.abs(), "{row}");
    }
}

#[test]
fn info_reports_frames_times_and_moments() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path());
    let (ok, out, err) = collop(&["info", dir.path().to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["frames"], 5);
    assert_eq!(v["first_dump"], 3);
    assert_eq!(v["dumps"][4], 7);
    assert!((v["times"][2].as_f64().unwrap() - 2.5).abs() < 1e-12);
    // The blob moves by 0.5 v_th per dump; the density is normalised to 1.
    let m = &v["moments"];
    assert!((m[0]["density"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    let shift = m[2]["mean_vx"].as_f64().unwrap() - m[0]["mean_vx"].as_f64().unwrap();
    assert!((shift - 1.0).abs() < 0.02, "mean moved by {shift}");
}

#[test]
fn frozen_rollout_json_matches_direct_computation() {
    let dir = tempfile::tempdir().unwrap();
    let raw = write_dataset(dir.path());
    let (ok, out, err) =
        collop(&["rollout", "--data", dir.path().to_str().unwrap(), "--model", "frozen", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let norm: f64 = raw.index_axis(ndarray::Axis(0), 0).sum();
    let mut maes = Vec::new();
    for k in 1..5 {
        let d: f64 = raw
            .index_axis(ndarray::Axis(0), k)
            .iter()
            .zip(raw.index_axis(ndarray::Axis(0), 0).iter())
            .map(|(a, b)| (a - b).abs() / norm)
            .sum();
        maes.push(d / 144.0);
    }
    let expected = maes.iter().sum::<f64>() / 4.0;
    assert!(
        (v["mae"].as_f64().unwrap() - expected).abs() < 1e-14 * expected.max(1.0),
        "{} vs {expected}",
        v["mae"]
    );
    assert_eq!(v["per_step"]["mae"].as_array().unwrap().len(), 4);
    for key in ["mse", "l1", "l2", "l1_norm", "l2_norm"] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key}");
    }
}

#[test]
fn bad_arguments_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path());
    let d = dir.path().to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["rollout", "--data", d, "--model", "theory"], "--amplitude"),
        (&["rollout", "--data", d, "--model", "frozen", "--substeps", "x"], "--substeps"),
        (&["rollout", "--data", d, "--model", "frozen", "--substeps", "0"], "at least 1"),
        (&["rollout", "--data", "/no/such/folder", "--model", "frozen"], "not an existing folder"),
        (
            &[
                "rollout",
                "--data",
                d,
                "--model",
                "theory",
                "--amplitude",
                "1",
                "--scheme",
                "conservative",
                "--substeps",
                "1",
            ],
            "unstable time step",
        ),
    ];
    for (args, needle) in cases {
        let (ok, _, err) = collop(args);
        assert!(!ok, "{args:?} must fail");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

fn reference_data() -> Option<PathBuf> {
    collop_io::locate_reference_data(env!("CARGO_MANIFEST_DIR"))
}

/// The command the issue names reproduces the reference's theory error.
#[test]
fn rollout_theory_on_reference_data() {
    let Some(root) = reference_data() else { return };
    let data = root.join("ring_normal_2_0.2");
    let (ok, out, err) = collop(&[
        "rollout",
        "--data",
        data.to_str().unwrap(),
        "--model",
        "theory",
        "--amplitude",
        "0.035",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mae = v["mae"].as_f64().unwrap();
    assert!((mae - 8.957e-5).abs() < 5e-3 * 8.957e-5, "MAE {mae}");
    assert_eq!(v["steps"], 95);
}

/// `collop train` on a tiny dataset writes a complete run directory that
/// `collop test` reads; a second train into it is refused, `--resume` of a
/// finished run changes nothing.
#[test]
fn train_writes_a_run_that_test_reads() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_dataset(&data);
    let cfg = dir.path().join("run.toml");
    std::fs::write(
        &cfg,
        r#"
seed = 3
[data]
folders = ["data"]
validation_fraction = 0.0
[training]
loss = "mse"
accumulation = "all-steps"
optimiser = { kind = "adam" }
checkpoint_every = 5
stages = [{ unroll = 1, epochs = 12, lr = 1e-2 }, { unroll = 2, epochs = 6, lr = 1e-3 }]
"#,
    )
    .unwrap();
    let run = dir.path().join("run");
    let (ok, out, err) = collop(&["train", cfg.to_str().unwrap(), "-o", run.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("18 epochs"), "{out}");
    for f in [
        "config.toml",
        "run.json",
        "history.csv",
        "checkpoint.npz",
        "model.npz",
        "plots/loss.png",
        "plots/fields.png",
    ] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    let history = std::fs::read_to_string(run.join("history.csv")).unwrap();
    assert_eq!(history.lines().count(), 19, "header + one line per epoch");
    let model = collop_io::read_npz(run.join("model.npz")).unwrap();
    let names: Vec<&str> = model.iter().map(|(n, _)| n.as_str()).collect();
    for n in ["phi", "theta", "best_phi", "A_x", "D_xy"] {
        assert!(names.contains(&n), "model.npz lacks {n}: {names:?}");
    }
    let (ok, _, err) = collop(&["train", cfg.to_str().unwrap(), "-o", run.to_str().unwrap()]);
    assert!(!ok && err.contains("--resume"), "{err}");
    let (ok, out, err) = collop(&["train", cfg.to_str().unwrap(), "-o", run.to_str().unwrap(), "--resume"]);
    assert!(ok, "{err}");
    assert!(out.contains("18 epochs"), "{out}");
    let (ok, out, err) = collop(&["test", run.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let learned = rows[0]["mae"].as_f64().unwrap();
    let frozen = rows[1]["mae"].as_f64().unwrap();
    assert_eq!(rows[1]["model"], "frozen");
    assert!(learned < frozen, "a trained model beats the frozen distribution: {learned} vs {frozen}");
    // `collop rollout --model RUN` rolls the same model out with its own numerics.
    let (ok, out, err) = collop(&[
        "rollout",
        "--data",
        data.to_str().unwrap(),
        "--model",
        run.to_str().unwrap(),
        "--clamp-d",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!((v["mae"].as_f64().unwrap() - learned).abs() <= 1e-12 * learned, "{} vs {learned}", v["mae"]);
    // Pictures: error curves, snapshots, and radial profiles with the theory overlaid.
    let plots = dir.path().join("plots");
    let (ok, _, err) =
        collop(&["test", run.to_str().unwrap(), "--amplitude", "0.03", "--plots", plots.to_str().unwrap()]);
    assert!(ok, "{err}");
    let radial = std::fs::read(plots.join("radial.png")).expect("radial.png written");
    assert_eq!(&radial[1..4], b"PNG");
}

/// `collop pic` on a tiny deck writes datasets that `collop info` reads.
/// A small electrostatic thermal plasma (16 x 16 cells of lambda_D, 16
/// particles per cell, quadratic shapes, immobile ions) with `seed` and the
/// deck's other tables (`[time]`, `[output]`, `[phase_space]`,
/// `[[sub_populations]]`) from `rest`.
fn es_deck(seed: u64, rest: &str) -> String {
    format!(
        r#"seed = {seed}
[grid]
nx = 16
ny = 16
dx = 0.1
dy = 0.1
[solver]
kind = "es"
shape_order = 2
[[species]]
name = "electrons"
charge = -1.0
mass = 1.0
density = 1.0
ppc = 16
distribution = {{ kind = "maxwellian", u_th = 0.1 }}
[[species]]
name = "ions"
charge = 1.0
mass = 1836.0
density = 1.0
mobile = false
{rest}"#
    )
}

#[test]
fn pic_writes_datasets_the_rest_of_collop_reads() {
    let dir = tempfile::tempdir().unwrap();
    let deck = dir.path().join("deck.toml");
    std::fs::write(
        &deck,
        es_deck(
            7,
            r#"
[time]
dt = 0.05
n_steps = 60
dump_every = 20
[output]
energy_every = 20
checkpoint_every_dumps = 1
[phase_space]
bins = 21
v_max = 5.0
i_start = 0
[[sub_populations]]
name = "blob"
species = "electrons"
method = "selection"
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
"#,
        ),
    )
    .unwrap();
    let run = dir.path().join("run");
    let (ok, out, err) = collop(&["pic", deck.to_str().unwrap(), "-o", run.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("finished"), "{out}");
    let (ok, out, err) = collop(&["info", run.join("blob").to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["frames"], 4, "dumps 0, 1, 2, 3");
    assert_eq!(v["grid"]["nx"], 21);
    // A selected blob of electrons around v_x = -2 v_th.
    let mx = v["moments"][0]["mean_vx"].as_f64().unwrap();
    assert!((mx + 2.0).abs() < 0.3, "blob centre {mx}");
}

/// `collop theory` writes a fields model from PIC parameters given as flags
/// (the dataset has none), `collop rollout --model DIR` and `collop test`
/// roll it out; the static one is exactly `--model theory --amplitude C`.
#[test]
fn theory_writes_a_fields_model_that_rollout_reads() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_dataset(&data);
    let d = data.to_str().unwrap();
    let flags = ["--ppc", "4", "--dx-over-debye", "1", "--shape-order", "1", "--vth-c", "0.01"];
    let (ok, _, err) = collop(&["theory", d, "-o", dir.path().join("x").to_str().unwrap()]);
    assert!(!ok && err.contains("--dx-over-debye"), "{err}");
    let mut amplitude = 0.0;
    for kind in ["static", "dynamic"] {
        let run = dir.path().join(kind);
        let mut args = vec!["theory", d, "-o", run.to_str().unwrap(), "--kind", kind];
        args.extend(flags);
        let (ok, out, err) = collop(&args);
        assert!(ok, "{err}");
        // The amplitude of the reference parameters and the |v| = 0..3 table.
        assert!(out.contains("C = 0.02234"), "{out}");
        assert!(out.lines().any(|l| l.trim_start().starts_with("3.0 ")), "{out}");
        let arrays = collop_io::read_npz(run.join("fields.npz")).unwrap();
        for name in collop_core::FIELD_NAMES {
            let a = &arrays.iter().find(|(n, _)| n == name).unwrap().1;
            assert_eq!(a.shape(), &[1, 12, 12], "{name}");
        }
        let grid = &arrays.iter().find(|(n, _)| n == "grid").unwrap().1;
        assert_eq!(grid.iter().copied().collect::<Vec<_>>(), vec![12.0, 12.0, -3.0, 3.0, -3.0, 3.0]);
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
        assert_eq!(meta["kind"], "fields");
        assert_eq!(meta["source"], format!("theory-{kind}"));
        assert_eq!(meta["parameters"]["particles_per_debye_area"], 4.0);
        amplitude = meta["amplitude"].as_f64().unwrap();
        let (ok, out, err) = collop(&["rollout", "--data", d, "--model", run.to_str().unwrap(), "--json"]);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v["mae"].as_f64().unwrap() > 0.0 && v["steps"] == 4, "{v}");
        assert!(v["model"].as_str().unwrap().contains(&format!("theory-{kind}")), "{v}");
        if kind == "static" {
            let c = format!("{amplitude:e}");
            let (ok, out2, err) =
                collop(&["rollout", "--data", d, "--model", "theory", "--amplitude", &c, "--json"]);
            assert!(ok, "{err}");
            let w: serde_json::Value = serde_json::from_str(&out2).unwrap();
            let (a, b) = (v["mae"].as_f64().unwrap(), w["mae"].as_f64().unwrap());
            assert!((a - b).abs() <= 1e-14 * b, "{a} vs {b}");
        }
        let (ok, out, err) = collop(&["test", run.to_str().unwrap(), "--data", d, "--json"]);
        assert!(ok, "{err}");
        let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(rows[1]["model"], "frozen");
    }
    assert!((amplitude - 0.022342).abs() < 1e-5);
    // A grid that differs from the dataset's is refused with the fix named.
    let other = dir.path().join("other");
    let grid = VelocityGrid::square(10, 3.0).unwrap();
    let frames = Array3::from_elem((2, 10, 10), 1.0);
    collop_io::write_dataset(&other, &collop_io::DatasetMeta::new(grid, 0.5, 0, 0.0), frames.view()).unwrap();
    let run = dir.path().join("other-run");
    let mut args = vec!["theory", d, "-o", run.to_str().unwrap(), "--kind", "static", "--grid-from"];
    args.push(other.to_str().unwrap());
    args.extend(flags);
    let (ok, _, err) = collop(&args);
    assert!(ok, "{err}");
    let (ok, _, err) = collop(&["rollout", "--data", d, "--model", run.to_str().unwrap()]);
    assert!(!ok && err.contains("--grid-from"), "{err}");
}

/// A blob dataset like [`write_dataset`] drifting by `shift` v_th per dump,
/// `frames` frames, with PIC parameters in its args.yaml.
fn write_pic_dataset(dir: &Path, frames: usize, shift: f64, pic: &[(&str, f64)]) {
    let grid = VelocityGrid::square(12, 3.0).unwrap();
    let f = Array3::from_shape_fn((frames, 12, 12), |(k, i, j)| {
        let (x, y) = (grid.vx(i) - shift * k as f64, grid.vy(j));
        1000.0 * (-(x * x + y * y)).exp()
    });
    let mut meta = collop_io::DatasetMeta::new(grid, 0.5, 3, 1.5);
    for &(key, value) in pic {
        meta = meta.with_extra(key, value);
    }
    collop_io::write_dataset(dir, &meta, f.view()).unwrap();
}

const MLP_CONFIG: &str = r#"
seed = 5
[data]
folders = FOLDERS
validation_fraction = 0.0
[model]
kind = "parperp-mlp"
symmetry = "none"
n_radial = 8
time_nodes = 0
lambda1 = 0.0
lambda2 = 0.0
kernel_size = 2
difference = "forward"
kernel_transpose = false
hidden = [6, 6]
conditioners = CONDITIONERS
[training]
loss = "mse"
accumulation = "all-steps"
optimiser = { kind = "adam" }
checkpoint_every = 0
stages = [{ unroll = 1, epochs = 4, lr = 1e-3 }, { unroll = 2, epochs = 2, lr = 1e-3 }]
"#;

/// A par/perp MLP with a time input trains into a run that `collop test`
/// and `collop rollout --model RUN` evaluate, also on a longer dataset
/// (time slots beyond the training window).
#[test]
fn parperp_mlp_with_time_trains_and_rolls_out() {
    let dir = tempfile::tempdir().unwrap();
    write_pic_dataset(&dir.path().join("data"), 5, 0.5, &[]);
    write_pic_dataset(&dir.path().join("longer"), 8, 0.5, &[]);
    let cfg = dir.path().join("run.toml");
    let text = MLP_CONFIG.replace("FOLDERS", r#"["data"]"#).replace("CONDITIONERS", r#"["time"]"#);
    std::fs::write(&cfg, text).unwrap();
    let run = dir.path().join("run");
    let (ok, out, err) = collop(&["train", cfg.to_str().unwrap(), "-o", run.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        out.contains("6 epochs") && out.contains("par/perp MLP") && out.contains("time over 4 steps"),
        "{out}"
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("conditioning.json")).unwrap()).unwrap();
    assert_eq!(record["time_window_steps"], 4);
    let (ok, out, err) = collop(&["test", run.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let learned = rows[0]["mae"].as_f64().unwrap();
    assert!(learned.is_finite() && rows[0]["per_step_mae"].as_array().unwrap().len() == 4, "{out}");
    let data = dir.path().join("data");
    let (ok, out, err) = collop(&[
        "rollout",
        "--data",
        data.to_str().unwrap(),
        "--model",
        run.to_str().unwrap(),
        "--clamp-d",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!((v["mae"].as_f64().unwrap() - learned).abs() <= 1e-12 * learned, "{} vs {learned}", v["mae"]);
    assert!(v["operator"].as_str().unwrap().contains("4 time slot"), "{out}");
    // Beyond the training window the time input extrapolates: refused, or
    // with --extrapolate one slot per dump step of the longer dataset, reported.
    let longer = dir.path().join("longer");
    let (ok, _, err) =
        collop(&["rollout", "--data", longer.to_str().unwrap(), "--model", run.to_str().unwrap(), "--json"]);
    assert!(!ok && err.contains("window of 4") && err.contains("--extrapolate"), "{err}");
    let (ok, out, err) = collop(&[
        "rollout",
        "--data",
        longer.to_str().unwrap(),
        "--model",
        run.to_str().unwrap(),
        "--json",
        "--extrapolate",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["steps"], 7);
    assert!(v["operator"].as_str().unwrap().contains("7 time slot"), "{out}");
    assert!(v["warnings"][0].as_str().unwrap().contains("window of 4"), "{out}");
    let (ok, out, err) =
        collop(&["test", run.to_str().unwrap(), "--data", longer.to_str().unwrap(), "--extrapolate"]);
    assert!(ok && out.contains("note: time: 7 dump steps"), "{out}{err}");
}

/// PIC-parameter conditioners: values from args.yaml or the config's
/// `[data] conditions`, a missing one named with its folder and the fix,
/// and other datasets evaluated with the training normalisation.
#[test]
fn pic_parameter_conditioners_come_from_args_yaml_or_the_config() {
    let dir = tempfile::tempdir().unwrap();
    write_pic_dataset(&dir.path().join("a"), 4, 0.5, &[("ppc", 4.0), ("vth_c", 0.01)]);
    write_pic_dataset(&dir.path().join("b"), 4, 0.3, &[("ppc", 16.0)]);
    write_pic_dataset(&dir.path().join("c"), 4, 0.4, &[("ppc", 64.0), ("vth_c", 0.02)]);
    let cfg = dir.path().join("run.toml");
    let conditioners = r#"["ppc", "vth_c"]"#;
    std::fs::write(
        &cfg,
        MLP_CONFIG.replace("FOLDERS", r#"["a", "b"]"#).replace("CONDITIONERS", conditioners),
    )
    .unwrap();
    let run = dir.path().join("run");
    let (ok, _, err) = collop(&["train", cfg.to_str().unwrap(), "-o", run.to_str().unwrap()]);
    assert!(!ok, "b has no vth_c");
    for needle in ["/b", "`vth_c`", "[data] conditions"] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    let text = MLP_CONFIG
        .replace("FOLDERS", "[\"a\", \"b\"]\nconditions = [{}, { vth_c = 0.03 }]")
        .replace("CONDITIONERS", conditioners);
    std::fs::write(&cfg, text).unwrap();
    let (ok, out, err) = collop(&["train", cfg.to_str().unwrap(), "-o", run.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("2 features x 2 conditions"), "{out}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("conditioning.json")).unwrap()).unwrap();
    assert_eq!(record["features"][0], serde_json::json!({ "name": "ppc", "min": 4.0, "max": 16.0 }));
    assert_eq!(record["features"][1], serde_json::json!({ "name": "vth_c", "min": 0.01, "max": 0.03 }));
    // The fields of any condition, exported; two conditions differ; outside
    // the training range only when asked for.
    let f8 = dir.path().join("fields-8");
    let (ok, out, err) = collop(&[
        "fields",
        run.to_str().unwrap(),
        "-o",
        f8.to_str().unwrap(),
        "--ppc",
        "8",
        "--vth-c",
        "0.02",
    ]);
    assert!(ok && out.contains("ppc = 8, vth_c = 0.02"), "{out}{err}");
    let meta = read_json(&f8.join("run.json"));
    assert_eq!(meta["source"], "learned");
    assert_eq!(meta["condition"], serde_json::json!([["ppc", 8.0], ["vth_c", 0.02]]));
    let f16 = dir.path().join("fields-16");
    let (ok, _, err) = collop(&[
        "fields",
        run.to_str().unwrap(),
        "-o",
        f16.to_str().unwrap(),
        "--ppc",
        "16",
        "--vth-c",
        "0.02",
    ]);
    assert!(ok, "{err}");
    let d8 = collop_io::read_npz(f8.join("fields.npz")).unwrap();
    let d16 = collop_io::read_npz(f16.join("fields.npz")).unwrap();
    assert_ne!(
        d8.iter().find(|(n, _)| n == "D_xx").unwrap().1,
        d16.iter().find(|(n, _)| n == "D_xx").unwrap().1
    );
    let (ok, _, err) = collop(&[
        "fields",
        run.to_str().unwrap(),
        "-o",
        f16.to_str().unwrap(),
        "--ppc",
        "64",
        "--vth-c",
        "0.02",
    ]);
    assert!(!ok && err.contains("--extrapolate"), "{err}");
    let (ok, _, err) = collop(&["fields", run.to_str().unwrap(), "-o", f16.to_str().unwrap(), "--ppc", "8"]);
    assert!(!ok && err.contains("--vth-c"), "{err}");
    // A dataset outside the training range, with its own args.yaml values:
    // refused, unless extrapolation is asked for, and then reported.
    let c = dir.path().join("c");
    let (ok, _, err) = collop(&["test", run.to_str().unwrap(), "--data", c.to_str().unwrap(), "--json"]);
    assert!(!ok && err.contains("outside the training range") && err.contains("--extrapolate"), "{err}");
    let (ok, out, err) =
        collop(&["test", run.to_str().unwrap(), "--data", c.to_str().unwrap(), "--json", "--extrapolate"]);
    assert!(ok, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(rows[0]["mae"].as_f64().unwrap().is_finite());
    assert!(rows[0]["warnings"][0].as_str().unwrap().contains("ppc = 64"), "{out}");
    let (ok, _, err) = collop(&[
        "rollout",
        "--data",
        c.to_str().unwrap(),
        "--model",
        run.to_str().unwrap(),
        "--json",
        "--extrapolate",
    ]);
    assert!(ok, "{err}");
    // A training folder gets its config values also when named on the command line.
    let b = dir.path().join("b");
    let (ok, _, err) = collop(&["rollout", "--data", b.to_str().unwrap(), "--model", run.to_str().unwrap()]);
    assert!(ok, "{err}");
    // Outside the config, a missing key can only come from args.yaml.
    let d = dir.path().join("d");
    write_pic_dataset(&d, 4, 0.3, &[("ppc", 16.0)]);
    let (ok, _, err) = collop(&["rollout", "--data", d.to_str().unwrap(), "--model", run.to_str().unwrap()]);
    assert!(!ok && err.contains("/d") && err.contains("`vth_c`") && err.contains("args.yaml"), "{err}");
}

/// Standard normal numbers from a fixed seed (splitmix64 and Box-Muller),
/// so that the tests need no random-number crate.
struct Normals(u64);

impl Normals {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64 + 0.5 / (1u64 << 53) as f64
    }
    fn next(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// A `tracks.npz` as `collop pic` writes it: Ornstein-Uhlenbeck tracks
/// (rate `nu`, unit thermal speed) at dumps `h` apart from t = 0, with a
/// NaN at (dump, particle) if asked; in units of `v_th / scale` (with
/// `v_th_c = 0.01 / scale`).
fn write_tracks(
    path: &Path,
    n: usize,
    dumps: usize,
    h: f64,
    nu: f64,
    nan: Option<(usize, usize)>,
    scale: f64,
) {
    let mut g = Normals(11);
    let (a, b) = ((-nu * h).exp(), (1.0 - (-2.0 * nu * h).exp()).sqrt());
    let mut vx = ndarray::Array2::<f64>::zeros((dumps, n));
    let mut vy = vx.clone();
    for p in 0..n {
        let (mut x, mut y) = (g.next(), g.next());
        for k in 0..dumps {
            vx[[k, p]] = x;
            vy[[k, p]] = y;
            x = a * x + b * g.next();
            y = a * y + b * g.next();
        }
    }
    if let Some((k, p)) = nan {
        vx[[k, p]] = f64::NAN;
    }
    vx.mapv_inplace(|v| v * scale);
    vy.mapv_inplace(|v| v * scale);
    let vz = vx.mapv(|_| 0.0);
    let t = ndarray::Array1::from_iter((0..dumps).map(|k| k as f64 * h));
    let ids = ndarray::Array1::from_iter((0..n).map(|p| p as f64));
    let vth = ndarray::arr1(&[0.01 / scale]);
    collop_io::write_npz(
        path,
        &[
            ("ids", ids.view().into_dyn()),
            ("t", t.view().into_dyn()),
            ("v_th_c", vth.view().into_dyn()),
            ("vx", vx.view().into_dyn()),
            ("vy", vy.view().into_dyn()),
            ("vz", vz.view().into_dyn()),
        ],
    )
    .unwrap();
}

fn npz_shape(path: &Path, name: &str) -> Vec<usize> {
    let arrays = collop_io::read_npz(path).unwrap();
    arrays
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} in {}", path.display()))
        .1
        .shape()
        .to_vec()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `collop tracks` on synthetic OU tracks and a dataset grid: the fields
/// model, its standard errors and counts, the bytes report, the rollout;
/// time windows as time slots; bad files and lags refused with the fix.
#[test]
fn tracks_write_a_fields_model_that_rollout_reads() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_pic_dataset(&data, 5, 0.5, &[("vth_c", 0.01)]);
    let file = dir.path().join("tracks.npz");
    // Dataset frames are dumps 3..7 at t = 1.5 .. 3.5; the tracks cover dumps 0..11.
    write_tracks(&file, 4000, 12, 0.5, 0.05, None, 1.0);
    let (f, d) = (file.to_str().unwrap(), data.to_str().unwrap());
    let run = dir.path().join("tracks-run");
    let (ok, out, err) = collop(&[
        "tracks",
        f,
        "-o",
        run.to_str().unwrap(),
        "--grid-from",
        d,
        "--lag",
        "2",
        "--min-count",
        "20",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("memory") && out.contains("histograms"), "{out}");
    for name in collop_core::FIELD_NAMES {
        assert_eq!(npz_shape(&run.join("fields.npz"), name), [1, 12, 12], "{name}");
        assert_eq!(npz_shape(&run.join("stderr.npz"), name), [1, 12, 12], "{name}");
    }
    assert_eq!(npz_shape(&run.join("count.npz"), "count"), [1, 12, 12]);
    assert_eq!(npz_shape(&run.join("count.npz"), "empty"), [1, 12, 12]);
    assert!(std::fs::read_to_string(run.join("radial.csv")).unwrap().starts_with("window,speed,count"));
    let meta = read_json(&run.join("run.json"));
    assert_eq!(meta["kind"], "fields");
    assert_eq!(meta["source"], "tracks");
    assert_eq!(meta["lag"], 2);
    assert!((meta["tau"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    let bytes = &meta["bytes"];
    assert_eq!(bytes["tracks"].as_u64().unwrap(), std::fs::metadata(&file).unwrap().len());
    let hist: u64 = (3..8).map(|k| std::fs::metadata(data.join(format!("{k:06}.npy"))).unwrap().len()).sum();
    assert_eq!(bytes["histograms"].as_u64().unwrap(), hist);
    // 5 non-overlapping intervals (starts 0, 2, .., 8) of 4000 particles, most of them on the grid.
    let on_grid = meta["counts"]["intervals_on_grid"].as_u64().unwrap();
    assert!(on_grid > 19_000 && on_grid <= 20_000, "{on_grid}");
    // Drag and diffusion of the OU process in the populated middle bins.
    let arrays = collop_io::read_npz(run.join("fields.npz")).unwrap();
    let get = |n: &str| arrays.iter().find(|(m, _)| m == n).unwrap().1.clone();
    let (a_x, d_xx) = (get("A_x"), get("D_xx"));
    assert!(a_x[[0, 3, 6]] > 0.0 && a_x[[0, 8, 6]] < 0.0, "drag towards v = 0");
    assert!((d_xx[[0, 6, 6]] - 0.1).abs() < 0.03, "D_xx = 2 nu = 0.1: {}", d_xx[[0, 6, 6]]);
    let (ok, out, err) = collop(&["rollout", "--data", d, "--model", run.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["mae"].as_f64().unwrap().is_finite() && v["steps"] == 4, "{v}");
    assert!(v["model"].as_str().unwrap().contains("tracks"), "{v}");

    // The same tracks in units of a thermal speed twice the dataset's are
    // converted back: the same fields to the last bit.
    let halved = dir.path().join("halved.npz");
    write_tracks(&halved, 4000, 12, 0.5, 0.05, None, 0.5);
    let converted = dir.path().join("converted");
    let h = halved.to_str().unwrap();
    let (ok, out, err) = collop(&[
        "tracks",
        h,
        "-o",
        converted.to_str().unwrap(),
        "--grid-from",
        d,
        "--lag",
        "2",
        "--min-count",
        "20",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("scaled by 2.0"), "{out}");
    assert_eq!(collop_io::read_npz(converted.join("fields.npz")).unwrap(), arrays);

    // Windows of 4 dumps: interval starts 0..9 make windows 0, 1, 2; the
    // dataset's steps start at dumps 3, 4, 5, 6 and use windows 0, 1, 1, 1.
    let windowed = dir.path().join("windowed");
    let (ok, out, err) = collop(&[
        "tracks",
        f,
        f,
        "-o",
        windowed.to_str().unwrap(),
        "--grid-from",
        d,
        "--lag",
        "2",
        "--overlapping",
        "--window",
        "4",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("window   2"), "{out}");
    assert_eq!(npz_shape(&windowed.join("fields.npz"), "A_x"), [4, 12, 12]);
    assert_eq!(npz_shape(&windowed.join("stderr.npz"), "D_xy"), [3, 12, 12]);
    assert_eq!(npz_shape(&windowed.join("count.npz"), "count"), [3, 12, 12]);
    let meta = read_json(&windowed.join("run.json"));
    assert_eq!(meta["slot_window"], serde_json::json!([0, 1, 1, 1]));
    assert_eq!(meta["windows"][2]["start_dumps"], serde_json::json!([8, 11]));
    assert_eq!(meta["files"].as_array().unwrap().len(), 2);
    let (ok, out, err) = collop(&["rollout", "--data", d, "--model", windowed.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["operator"].as_str().unwrap().contains("4 time slot"), "{v}");

    // Errors name the file and the fix.
    let bad = dir.path().join("nan.npz");
    write_tracks(&bad, 50, 6, 0.5, 0.05, Some((4, 7)), 1.0);
    let x = dir.path().join("x");
    let (ok, _, err) =
        collop(&["tracks", bad.to_str().unwrap(), "-o", x.to_str().unwrap(), "--grid-from", d]);
    assert!(!ok && err.contains("nan.npz") && err.contains("NaN") && err.contains("particle 7"), "{err}");
    let (ok, _, err) = collop(&["tracks", f, "-o", x.to_str().unwrap(), "--grid-from", d, "--lag", "12"]);
    assert!(!ok && err.contains("--lag") && err.contains("12 dumps"), "{err}");
    let (ok, _, err) = collop(&["tracks", d, "-o", x.to_str().unwrap(), "--grid-from", d]);
    assert!(!ok && err.contains("tracks"), "{err}");
}

/// `collop compare` on a tiny PIC run of two sub-populations with tracks:
/// arguments checked before any work, the table rendered, a second run into
/// the same folder refused with the fix, `--resume` reusing the models.
#[test]
fn compare_runs_every_model_on_every_subpopulation() {
    let dir = tempfile::tempdir().unwrap();
    let deck = dir.path().join("deck.toml");
    std::fs::write(
        &deck,
        es_deck(
            3,
            r#"
[time]
dt = 0.05
n_steps = 60
dump_every = 10
[output]
energy_every = 10
checkpoint_every_dumps = 0
[phase_space]
bins = 15
v_max = 4.0
i_start = 1
[[sub_populations]]
name = "blob"
species = "electrons"
method = "selection"
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
tracks = 300
[[sub_populations]]
name = "ring"
species = "electrons"
method = "selection"
target = { kind = "ring", radius = 2.0, width = 0.3, u_th_z = 1.0 }
tracks = 300
"#,
        ),
    )
    .unwrap();
    let run = dir.path().join("run");
    let (ok, _, err) = collop(&["pic", deck.to_str().unwrap(), "-o", run.to_str().unwrap()]);
    assert!(ok, "{err}");
    let out = dir.path().join("cmp");
    let args = [
        "compare",
        run.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--train",
        "blob",
        "--lags",
        "1,2",
        "--epochs-scale",
        "0.003",
        "--substeps",
        "2",
    ];
    // An unknown built-in model is refused before any work.
    let mut bad = args.to_vec();
    bad.extend(["--models", "tensor,transformer"]);
    let (ok, _, err) = collop(&bad);
    assert!(!ok && err.contains("transformer") && err.contains("par-perp"), "{err}");
    let (ok, stdout, err) = collop(&args);
    assert!(ok, "{err}\n{stdout}");
    // The table rendered on the terminal (the library's tests check the
    // numbers, the files and the report).
    for m in ["tensor", "par-perp", "tracks-lag1", "tracks-lag2", "theory-static", "theory-dynamic", "frozen"]
    {
        for (pop, role) in [("blob", "train"), ("ring", "held-out")] {
            assert!(
                stdout.lines().any(|l| l.starts_with(m) && l.contains(pop) && l.contains(role)),
                "no row {m} x {pop} in\n{stdout}"
            );
        }
    }
    assert!(stdout.contains("report.html"), "{stdout}");
    // A second comparison into the same folder is refused; --resume reuses the models.
    let (ok, _, err) = collop(&args);
    assert!(!ok && err.contains("--resume"), "{err}");
    let mut again = args.to_vec();
    again.push("--resume");
    let (ok, _, err) = collop(&again);
    assert!(ok && err.contains("reusing"), "{err}");
}
