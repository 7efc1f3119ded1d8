//! The `collop` binary: argument parsing and refusals, exit codes, and
//! that each command calls the library and renders what it returns (text,
//! JSON keys), one run per command on a tiny fixture. The behaviour behind
//! the commands (training, theory and track models, conditioners,
//! evaluation, PIC datasets) is tested on the library, in
//! `crates/experiment/tests`.

// The fixtures of the library's tests (datasets, track files, PIC decks),
// shared rather than copied.
#[path = "../../experiment/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;

/// What a run of the binary did: exit code, stdout, stderr.
struct Run {
    code: i32,
    out: String,
    err: String,
}

fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_collop")).args(args).output().expect("run collop");
    Run {
        code: out.status.code().expect("an exit code, not a signal"),
        out: String::from_utf8_lossy(&out.stdout).into(),
        err: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn collop(args: &[&str]) -> (bool, String, String) {
    let r = run(args);
    (r.code == 0, r.out, r.err)
}

/// Exit code of a refusal by the command (an error of the library or of
/// the command's checks; clap's usage errors exit with 2).
const FAILURE: i32 = 1;
const USAGE: i32 = 2;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: not JSON:\n{text}"))
}

/// That `v` is an object with exactly the keys `keys`.
fn assert_keys(v: &serde_json::Value, keys: &[&str]) {
    let mut got: Vec<&str> = v.as_object().expect("an object").keys().map(String::as_str).collect();
    got.sort_unstable();
    let mut want = keys.to_vec();
    want.sort_unstable();
    assert_eq!(got, want);
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

/// `collop info`: the dataset's description as JSON (keys, and the values
/// the dataset was written with) and as a table.
#[test]
fn info_renders_a_dataset() {
    let dir = tempfile::tempdir().unwrap();
    common::write_dataset(dir.path(), 5, 0.5, &[]);
    let d = dir.path().to_str().unwrap();
    let r = run(&["info", d, "--json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let v = json(&r.out);
    assert_keys(
        &v,
        &[
            "path",
            "frames",
            "first_dump",
            "dt",
            "t_start",
            "grid",
            "particles_first_frame",
            "dumps",
            "times",
            "moments",
        ],
    );
    assert_eq!(
        (v["frames"].as_u64(), v["first_dump"].as_u64(), v["dumps"][4].as_u64()),
        (Some(5), Some(3), Some(7))
    );
    assert_eq!(v["grid"]["nx"], 12);
    assert!((v["times"][2].as_f64().unwrap() - 2.5).abs() < 1e-12);
    assert_eq!(v["moments"].as_array().unwrap().len(), 5);
    assert_keys(&v["moments"][0], &["density", "mean_vx", "mean_vy", "temp_x", "temp_y"]);
    let r = run(&["info", d]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("frames    5 (dumps 3..=7)"), "{}", r.out);
    assert_eq!(r.out.lines().filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit())).count(), 5);
}

/// `collop rollout --model frozen`: the JSON report (keys, per-step arrays,
/// the library's numbers to the last bit), `--steps`, and the text form.
#[test]
fn rollout_renders_the_library_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    common::write_dataset(dir.path(), 5, 0.5, &[]);
    let d = dir.path().to_str().unwrap();
    let r = run(&["rollout", "--data", d, "--model", "frozen", "--json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let v = json(&r.out);
    let keys = ["dataset", "model", "operator", "steps", "window", "substeps", "per_step", "warnings"];
    let metrics = ["mae", "mse", "l1", "l2", "l1_norm", "l2_norm"];
    assert_keys(&v, &[&keys[..], &metrics[..]].concat());
    assert_keys(&v["per_step"], &metrics);
    assert_eq!((v["steps"].as_u64(), v["window"].as_str()), (Some(4), Some("steps 1-4 (all)")));
    assert_eq!(v["per_step"]["mae"].as_array().unwrap().len(), 4);
    // The numbers are the library's evaluation of the same model and numerics.
    let ds = collop_experiment::Dataset::load(dir.path()).unwrap();
    let params = collop_experiment::OperatorParams::frozen(ds.series.grid);
    let e = collop_experiment::evaluate(&params, &ds, &collop_fp::Numerics::evaluation(), Default::default())
        .unwrap();
    let mean = e.score.mean().unwrap();
    for (k, want) in metrics.iter().zip([mean.mae, mean.mse, mean.l1, mean.l2, mean.l1_norm, mean.l2_norm]) {
        assert_eq!(v[k].as_f64().unwrap(), want, "{k}");
    }
    let r = run(&["rollout", "--data", d, "--model", "frozen", "--json", "--steps", "2"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let v = json(&r.out);
    assert_eq!((v["steps"].as_u64(), v["window"].as_str()), (Some(2), Some("steps 1-2 of 4")));
    let r = run(&["rollout", "--data", d, "--model", "frozen", "--substeps", "3"]);
    assert_eq!(r.code, 0, "{}", r.err);
    for line in ["model     frozen", "sub-steps per dump: 3", "errors averaged over steps 1-4 (all)", "mae "]
    {
        assert!(r.out.contains(line), "{line:?} in\n{}", r.out);
    }
}

/// Usage errors (clap, exit 2) and refusals of the commands (exit 1) name
/// the argument at fault and the fix.
#[test]
fn bad_arguments_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    common::write_dataset(dir.path(), 5, 0.5, &[]);
    let d = dir.path().to_str().unwrap();
    let x = dir.path().join("x");
    let x = x.to_str().unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["transmogrify"], USAGE, "unrecognized subcommand"),
        (&["rollout", "--data", d], USAGE, "--model"),
        (&["rollout", "--data", d, "--model", "frozen", "--scheme", "upwind"], USAGE, "conservative"),
        (&["rollout", "--data", d, "--model", "frozen", "--steps", "two"], USAGE, "--steps"),
        (&["theory", d, "-o", x, "--kind", "quantum"], USAGE, "dynamic"),
        (&["tracks", "-o", x, "--grid-from", d], USAGE, "<TRACKS>"),
        (&["rollout", "--data", d, "--model", "theory"], FAILURE, "--amplitude"),
        (&["rollout", "--data", d, "--model", "frozen", "--amplitude", "1"], FAILURE, "--model theory only"),
        (&["rollout", "--data", d, "--model", "frozen", "--substeps", "x"], FAILURE, "--substeps"),
        (&["rollout", "--data", d, "--model", "frozen", "--substeps", "0"], FAILURE, "at least 1"),
        (&["rollout", "--data", d, "--model", "frozen", "--steps", "0"], FAILURE, "--steps 0"),
        (&["rollout", "--data", d, "--model", "frozen", "--steps", "9"], FAILURE, "use at most 4"),
        (&["rollout", "--data", d, "--model", x], FAILURE, "not `frozen`"),
        (&["rollout", "--data", "/no/such/folder", "--model", "frozen"], FAILURE, "not an existing folder"),
        (&["train", "/no/such/run.toml", "-o", x], FAILURE, "run.toml"),
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
            FAILURE,
            "unstable time step",
        ),
    ];
    for &(args, code, needle) in cases {
        let r = run(args);
        assert_eq!(r.code, code, "{args:?}: {}", r.err);
        assert!(r.err.contains(needle), "{args:?}: {needle:?} not in {}", r.err);
    }
    // The operating system's reason is said once, with the path (it was
    // printed twice: in the message and again as its cause).
    let r = run(&["pic", "/no/such/deck.toml", "-o", x]);
    assert_eq!(r.code, FAILURE);
    assert_eq!(r.err.matches("No such file or directory").count(), 1, "{}", r.err);
    assert!(r.err.contains("/no/such/deck.toml"), "{}", r.err);
    // A picture folder that cannot be one is refused before any work, by name.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    for (plots, needle) in
        [(file.clone(), "is a file, not a folder"), (file.join("sub"), "cannot create the folder")]
    {
        let r = run(&["test", d, "--plots", plots.to_str().unwrap()]);
        assert_eq!(r.code, FAILURE, "{}", r.err);
        assert!(r.err.contains(needle) && r.err.contains(plots.to_str().unwrap()), "{}", r.err);
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

/// `collop train` renders the training and the test rollouts; a second
/// train into the run is refused with the `--resume` hint, and `--resume`
/// accepted; `collop test` renders the run with the frozen baseline (JSON
/// keys, table, pictures with a theory curve), and `collop rollout --model
/// RUN` with the run's evaluation numerics (`--clamp-d`) gives the same MAE.
#[test]
fn train_and_test_render_a_run() {
    let dir = tempfile::tempdir().unwrap();
    common::write_dataset(&dir.path().join("data"), 5, 0.5, &[]);
    let cfg = dir.path().join("run.toml");
    std::fs::write(
        &cfg,
        r#"
seed = 3
[data]
folders = ["data"]
validation_fraction = 0.0
[training]
stages = [{ unroll = 1, epochs = 2, lr = 1e-2 }, { unroll = 2, epochs = 1, lr = 1e-3 }]
"#,
    )
    .unwrap();
    let (c, run_dir) = (cfg.to_str().unwrap(), dir.path().join("run"));
    let rd = run_dir.to_str().unwrap();
    let r = run(&["train", c, "-o", rd]);
    assert_eq!(r.code, 0, "{}", r.err);
    for line in ["model     FP", "training  3 epochs", "best      ", "test rollouts", "steps 1-4 (all)"] {
        assert!(r.out.contains(line), "{line:?} in\n{}", r.out);
    }
    let r = run(&["train", c, "-o", rd]);
    assert!(r.code == FAILURE && r.err.contains("--resume"), "{}", r.err);
    let r = run(&["train", c, "-o", rd, "--resume"]);
    assert!(r.code == 0 && r.out.contains("training  3 epochs"), "{}{}", r.out, r.err);

    let r = run(&["test", rd, "--json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let rows = json(&r.out);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "the run and the frozen baseline on the training dataset");
    let metrics = ["mae", "mse", "l1", "l2", "l1_norm", "l2_norm"];
    let keys = ["model", "dataset", "window", "status", "per_step_mae", "warnings"];
    assert_keys(&rows[0], &[&keys[..], &metrics[..]].concat());
    assert_eq!((rows[0]["model"].as_str(), rows[1]["model"].as_str()), (Some(rd), Some("frozen")));
    assert_eq!(rows[0]["status"], "scored");
    assert_eq!(rows[0]["per_step_mae"].as_array().unwrap().len(), 4);
    let learned = rows[0]["mae"].as_f64().unwrap();
    let data = dir.path().join("data");
    let r = run(&["rollout", "--data", data.to_str().unwrap(), "--model", rd, "--clamp-d", "--json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let v = json(&r.out);
    assert_eq!(v["mae"].as_f64().unwrap(), learned);
    assert!(v["model"].as_str().unwrap().starts_with("trained run"), "{v}");
    // The table, with the theory row, and the pictures.
    let plots = dir.path().join("plots");
    let r = run(&["test", rd, "--amplitude", "0.03", "--plots", plots.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.err);
    let lines: Vec<&str> = r.out.lines().collect();
    assert!(lines[0].starts_with("model") && lines[0].contains("MAE"), "{}", r.out);
    for m in ["frozen", "theory C = 0.03"] {
        assert!(lines.iter().any(|l| l.starts_with(m)), "no {m} row in\n{}", r.out);
    }
    let radial = std::fs::read(plots.join("radial.png")).expect("radial.png written");
    assert_eq!(&radial[1..4], b"PNG");
    assert!(std::fs::read_dir(&plots).unwrap().count() > 1, "error curves and snapshots of the run");
}

/// `collop pic` renders the run's summary; a second run into the same
/// directory is refused, `--overwrite` replaces it.
#[test]
fn pic_runs_a_deck() {
    let dir = tempfile::tempdir().unwrap();
    let deck = dir.path().join("deck.toml");
    std::fs::write(&deck, common::es_deck(7, &common::one_population(20, "blob"))).unwrap();
    let (dk, out) = (deck.to_str().unwrap(), dir.path().join("run"));
    let o = out.to_str().unwrap();
    let r = run(&["pic", dk, "-o", o, "--threads", "1"]);
    assert_eq!(r.code, 0, "{}", r.err);
    for line in ["steps     20 (finished), 3 dumps", "1 threads", "energy    max error"] {
        assert!(r.out.contains(line), "{line:?} in\n{}", r.out);
    }
    let r = run(&["pic", dk, "-o", o]);
    assert!(r.code == FAILURE && r.err.contains("already holds a PIC run"), "{}", r.err);
    let r = run(&["pic", dk, "-o", o, "--overwrite"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let r = run(&["pic", dir.path().join("none.toml").to_str().unwrap(), "-o", o]);
    assert!(r.code == FAILURE && r.err.contains("none.toml"), "{}", r.err);
}

/// Realisations of one deck (`--seed`, `--seed-from-array`) merged by
/// `collop merge`, and the merged dataset trained on; the job-array seed
/// without its variable, and realisations of one seed, refused.
#[test]
fn pic_realisations_merge_into_a_dataset_that_trains() {
    let dir = tempfile::tempdir().unwrap();
    let deck = dir.path().join("deck.toml");
    std::fs::write(&deck, common::es_deck(7, &common::one_population(20, "blob"))).unwrap();
    let dk = deck.to_str().unwrap();
    let (a, b, merged) = (dir.path().join("r1"), dir.path().join("r2"), dir.path().join("merged"));
    let r = run(&["pic", dk, "-o", a.to_str().unwrap(), "--threads", "1", "--seed", "1"]);
    assert!(r.code == 0 && r.out.contains("(seed 1)"), "{}{}", r.out, r.err);
    let r = run(&["pic", dk, "-o", b.to_str().unwrap(), "--threads", "1", "--seed-from-array"]);
    assert!(r.code == FAILURE && r.err.contains("SLURM_ARRAY_TASK_ID"), "{}", r.err);
    let out = Command::new(env!("CARGO_BIN_EXE_collop"))
        .args(["pic", dk, "-o", b.to_str().unwrap(), "--threads", "1", "--seed-from-array"])
        .env("SLURM_ARRAY_TASK_ID", "3")
        .output()
        .unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("(seed 10)"));
    let run_json = json(&std::fs::read_to_string(b.join("run.json")).unwrap());
    assert_eq!(run_json["seed_source"]["from"], "array-task");
    assert_eq!(run_json["seed_source"]["task"], 3);

    let m = merged.to_str().unwrap();
    let r = run(&["merge", a.to_str().unwrap(), a.to_str().unwrap(), "-o", m]);
    assert!(r.code == FAILURE && r.err.contains("same seed 1"), "{}", r.err);
    let r = run(&["merge", a.to_str().unwrap(), b.to_str().unwrap(), "-o", m]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("2 realisations, seeds 1, 10") && r.out.contains("3 dumps"), "{}", r.out);

    let cfg = dir.path().join("train.toml");
    std::fs::write(
        &cfg,
        "seed = 1\n[data]\nfolders = [\"merged/blob\"]\nvalidation_fraction = 0.0\n\
         [training]\nstages = [{ unroll = 1, epochs = 2, lr = 1e-2 }]\n",
    )
    .unwrap();
    let r = run(&["train", cfg.to_str().unwrap(), "-o", dir.path().join("run").to_str().unwrap()]);
    assert!(r.code == 0 && r.out.contains("training  2 epochs"), "{}{}", r.out, r.err);
}

/// `collop theory` with the PIC parameters as flags (the dataset has none):
/// a missing one refused with its flag, the amplitude and profile table
/// rendered, the model read by `collop rollout --model DIR` and by `collop
/// test`, which needs `--data` for it.
#[test]
fn theory_writes_a_fields_model_the_other_commands_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_dataset(&data, 5, 0.5, &[]);
    let d = data.to_str().unwrap();
    let out = dir.path().join("static");
    let o = out.to_str().unwrap();
    let r = run(&["theory", d, "-o", o]);
    assert!(r.code == FAILURE && r.err.contains("--dx-over-debye"), "{}", r.err);
    let flags = ["--ppc", "4", "--dx-over-debye", "1", "--shape-order", "1", "--vth-c", "0.01"];
    let r = run(&[&["theory", d, "-o", o, "--kind", "static"][..], &flags[..]].concat());
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("C = 0.02234") && r.out.contains("wrote") && r.out.contains("theory-static"),
        "{}",
        r.out
    );
    assert!(r.out.lines().any(|l| l.trim_start().starts_with("3.0 ")), "{}", r.out);
    let r = run(&["rollout", "--data", d, "--model", o, "--json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let v = json(&r.out);
    assert!(v["model"].as_str().unwrap().contains("theory-static") && v["steps"] == 4, "{v}");
    let r = run(&["test", o]);
    assert!(r.code == FAILURE && r.err.contains("--data"), "{}", r.err);
    let r = run(&["test", o, "--data", d, "--json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let rows = json(&r.out);
    assert_eq!((rows[0]["model"].as_str(), rows[1]["model"].as_str()), (Some(o), Some("frozen")));
}

/// `collop tracks` with every estimator flag on two files: the report
/// rendered (windows, memory, slots), the model read by `collop rollout
/// --model DIR`; a lag as long as the run refused with the fix.
#[test]
fn tracks_write_a_fields_model_that_rollout_reads() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_dataset(&data, 5, 0.5, &[("vth_c", 0.01)]);
    let file = dir.path().join("tracks.npz");
    common::write_tracks(&file, 200, 12, 0.5, 0.1, None, 1.0);
    let (f, d) = (file.to_str().unwrap(), data.to_str().unwrap());
    let out = dir.path().join("tracks-run");
    let o = out.to_str().unwrap();
    let args = [
        "tracks",
        f,
        f,
        "-o",
        o,
        "--grid-from",
        d,
        "--lag",
        "2",
        "--overlapping",
        "--covariance",
        "--min-count",
        "2",
        "--window",
        "4",
    ];
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.err);
    for line in
        ["tracks     2 file(s)", "lag 2 dumps", "window   2", "memory", "slots      4 time slot(s)", "wrote"]
    {
        assert!(r.out.contains(line), "{line:?} in\n{}", r.out);
    }
    for file in ["fields.npz", "run.json", "stderr.npz", "count.npz", "radial.csv"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let r = run(&["rollout", "--data", d, "--model", o, "--json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let v = json(&r.out);
    assert!(v["model"].as_str().unwrap().contains("tracks") && v["steps"] == 4, "{v}");
    assert!(v["operator"].as_str().unwrap().contains("4 time slot"), "{v}");
    // Refused after the claim of a new directory: none is left behind.
    let fresh = dir.path().join("lag12");
    let r = run(&["tracks", f, "-o", fresh.to_str().unwrap(), "--grid-from", d, "--lag", "12"]);
    assert!(r.code == FAILURE && r.err.contains("--lag") && r.err.contains("12 dumps"), "{}", r.err);
    assert!(!fresh.exists());
}

/// A network conditioned on PIC parameters, trained from a config whose
/// `[data] conditions` supply a value: `collop train` renders the
/// conditioners; `collop fields` takes the condition as flags (each one
/// required) and `--extrapolate`; `collop test` and `collop rollout` refuse
/// a dataset outside the training range unless `--extrapolate`, and then
/// report it.
#[test]
fn conditioned_networks_take_conditions_and_extrapolate_flags() {
    let dir = tempfile::tempdir().unwrap();
    common::write_dataset(&dir.path().join("a"), 4, 0.5, &[("ppc", 4.0), ("vth_c", 0.01)]);
    common::write_dataset(&dir.path().join("b"), 4, 0.5, &[("ppc", 16.0)]);
    common::write_dataset(&dir.path().join("c"), 4, 0.5, &[("ppc", 64.0), ("vth_c", 0.02)]);
    let cfg = dir.path().join("run.toml");
    std::fs::write(
        &cfg,
        r#"
seed = 5
[data]
folders = ["a", "b"]
conditions = [{}, { vth_c = 0.03 }]
validation_fraction = 0.0
[model]
kind = "fp-mlp"
hidden = [4]
conditioners = ["ppc", "vth_c"]
[training]
checkpoint_every = 0
stages = [{ unroll = 1, epochs = 2, lr = 1e-3 }]
"#,
    )
    .unwrap();
    let rd = dir.path().join("run");
    let rd = rd.to_str().unwrap();
    let r = run(&["train", cfg.to_str().unwrap(), "-o", rd]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("2 features x 2 conditions"), "{}", r.out);

    let out = dir.path().join("fields-8");
    let o = out.to_str().unwrap();
    let r = run(&["fields", rd, "-o", o, "--ppc", "8", "--vth-c", "0.02"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("condition ppc = 8, vth_c = 0.02") && r.out.contains("1 time slot(s)"),
        "{}",
        r.out
    );
    for file in ["fields.npz", "run.json", "fields.png"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    // Into the same directory: refused unless --overwrite, then each flag checked.
    let r = run(&["fields", rd, "-o", o, "--ppc", "8", "--vth-c", "0.02"]);
    assert!(r.code == FAILURE && r.err.contains("--overwrite"), "{}", r.err);
    let r = run(&["fields", rd, "-o", o, "--overwrite", "--ppc", "8"]);
    assert!(r.code == FAILURE && r.err.contains("--vth-c"), "{}", r.err);
    let r = run(&["fields", rd, "-o", o, "--overwrite", "--ppc", "64", "--vth-c", "0.02"]);
    assert!(r.code == FAILURE && r.err.contains("--extrapolate"), "{}", r.err);
    let r = run(&["fields", rd, "-o", o, "--overwrite", "--ppc", "64", "--vth-c", "0.02", "--extrapolate"]);
    assert!(r.code == 0 && r.out.contains("note      extrapolated: ppc = 64"), "{}{}", r.out, r.err);

    let c = dir.path().join("c");
    let c = c.to_str().unwrap();
    let r = run(&["test", rd, "--data", c, "--json"]);
    assert!(r.code == FAILURE && r.err.contains("--extrapolate"), "{}", r.err);
    let r = run(&["test", rd, "--data", c, "--json", "--extrapolate"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let rows = json(&r.out);
    assert!(rows[0]["warnings"][0].as_str().unwrap().contains("ppc = 64"), "{rows}");
    let r = run(&["rollout", "--data", c, "--model", rd, "--json"]);
    assert!(r.code == FAILURE && r.err.contains("--extrapolate"), "{}", r.err);
    let r = run(&["rollout", "--data", c, "--model", rd, "--json", "--extrapolate"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(json(&r.out)["warnings"][0].as_str().unwrap().contains("ppc = 64"), "{}", r.out);
    assert!(r.err.contains("warning: ppc = 64"), "{}", r.err);
}

/// `collop compare` on a tiny PIC run of two sub-populations with tracks:
/// arguments checked before any work, the table rendered, a second run into
/// the same folder refused with the fix, `--resume` reusing the models.
#[test]
fn compare_runs_every_model_on_every_subpopulation() {
    let dir = tempfile::tempdir().unwrap();
    let deck = dir.path().join("deck.toml");
    std::fs::write(&deck, common::es_deck(3, common::TWO_POPULATIONS)).unwrap();
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

/// `collop sweep` on a tiny run: two time regularisations of a
/// time-dependent tensor scored on the held-out sub-population, the
/// summary on the terminal; paired lists of another length refused.
#[test]
fn sweep_trains_the_variants_and_prints_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let deck = dir.path().join("deck.toml");
    std::fs::write(&deck, common::es_deck(3, common::TWO_POPULATIONS)).unwrap();
    let run = dir.path().join("run");
    let (ok, _, err) = collop(&["pic", deck.to_str().unwrap(), "-o", run.to_str().unwrap()]);
    assert!(ok, "{err}");
    let out = dir.path().join("sweep");
    let args = [
        "sweep",
        run.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--test",
        "ring",
        "--models",
        "tensor-t2",
        "--epochs-scale",
        "0.003",
    ];
    let mut bad = args.to_vec();
    bad.extend(["--lambda1", "1e-4,1e-5", "--lambda2", "0,0,0"]);
    let (ok, _, err) = collop(&bad);
    assert!(!ok && err.contains("--lambda1 has 2 values and --lambda2 3"), "{err}");
    assert!(!out.exists());
    let mut good = args.to_vec();
    good.extend(["--lambda1", "1e-4,1e-8"]);
    let (ok, stdout, err) = collop(&good);
    assert!(ok, "{err}\n{stdout}");
    // One line per regularisation, each with its one scored seed.
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("tensor-t2")).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].contains("1e-4") && lines[1].contains("1e-8"), "{stdout}");
    assert!(lines.iter().all(|l| l.contains("ring") && l.contains("1/1")), "{stdout}");
    assert!(out.join("summary.csv").is_file());
}

/// `collop config` renders the library's example of a family and a
/// config resolved with its defaults; neither or both is a refusal.
#[test]
fn config_shows_examples_and_resolved_configs() {
    let r = run(&["config", "--example", "fp-par-perp"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.out, collop_experiment::config::example("fp-par-perp").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[data]\nfolders = [\"d\"]\n[numerics]\nsubsteps = 3\n").unwrap();
    let r = run(&["config", cfg.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.err);
    for line in ["substeps = 3", "edges = \"one-sided\"", "kind = \"fp-tensor\"", "epochs = 1000"] {
        assert!(r.out.contains(line), "{line:?} in\n{}", r.out);
    }
    let r = run(&["config"]);
    assert!(r.code == FAILURE && r.err.contains("--example KIND"), "{}", r.err);
    let r = run(&["config", "--example", "mlp"]);
    assert!(r.code == FAILURE && r.err.contains("fp-mlp"), "{}", r.err);
}

/// `collop import` refuses ADIOS2 output with the conversion command,
/// refuses a spec given twice, and an openPMD series without --omega-p,
/// naming the fix each time (no Python needed).
#[test]
fn import_refusals_name_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bp = dir.path().join("openpmd_%T.bp");
    std::fs::create_dir_all(&bp).expect("mkdir");
    let out = dir.path().join("out");
    let r = run(&["import", bp.to_str().expect("utf-8"), "-o", out.to_str().expect("utf-8")]);
    assert_eq!(r.code, FAILURE, "{}", r.err);
    assert!(r.err.contains("ADIOS2") && r.err.contains("openpmd-pipe --infile"), "{}", r.err);
    assert!(!out.exists(), "nothing written");
    let spec = dir.path().join("spec.toml");
    std::fs::write(&spec, "[[sub_populations]]\nname = \"a\"\nspecies = \"e\"\nmethod = \"all\"\n")
        .expect("write");
    let fake = dir.path().join("data_0.h5");
    std::fs::write(&fake, b"\x89HDF\r\n\x1a\nnot really").expect("write");
    let r = run(&[
        "import",
        fake.to_str().expect("utf-8"),
        "--format",
        "openpmd",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(r.code, FAILURE);
    assert!(r.err.contains("--omega-p"), "{}", r.err);
    let r = run(&[
        "import",
        fake.to_str().expect("utf-8"),
        "--format",
        "openpmd",
        "--omega-p",
        "1e13",
        "--spec",
        spec.to_str().expect("utf-8"),
        "--all",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(r.code, FAILURE);
    assert!(r.err.contains("not both"), "{}", r.err);
}
