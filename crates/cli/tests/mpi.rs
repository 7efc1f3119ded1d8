//! Data-parallel training under `mpirun` (feature `mpi`): the same
//! training on 1, 2 and 3 ranks ends with the same parameters within
//! round-off, and a run started on 2 ranks resumes on 3. Needs `mpirun`
//! on the PATH; run by `scripts/mpi-test.sh` (which `.ci/run` calls):
//!
//! ```sh
//! cargo test -j 1 -p collop-cli --features mpi --test mpi -- --ignored --nocapture
//! ```
#![cfg(feature = "mpi")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `mpirun -np N collop ARGS` (one rayon thread per rank: the ranks share
/// the machine's cores).
fn mpirun(n: usize, args: &[&str]) -> std::process::Output {
    let out = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-np", &n.to_string()])
        .args(["-x", "RAYON_NUM_THREADS=1", env!("CARGO_BIN_EXE_collop")])
        .args(args)
        .output()
        .expect("mpirun on the PATH (apt-get install openmpi-bin)");
    assert!(
        out.status.success(),
        "mpirun -np {n} collop {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The trained parameters `phi` of a run (model.npz).
fn phi(run: &Path) -> Vec<f64> {
    let arrays = collop_io::read_npz(run.join("model.npz")).unwrap();
    let (_, a) = arrays.iter().find(|(n, _)| n == "phi").expect("phi in model.npz");
    a.iter().copied().collect()
}

/// The published data and a synthetic third folder on the same grid:
/// the static-shielding theory's rollout from the blob's first frame,
/// drawn as histograms of 100,000 particles.
fn datasets(dir: &Path) -> Option<Vec<PathBuf>> {
    let root = collop_io::locate_reference_data(env!("CARGO_MANIFEST_DIR"))?;
    let blob = root.join("normal_-2_0");
    let theory = dir.join("theory");
    let synthetic = dir.join("synthetic");
    let ok = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_collop")).args(args).output().unwrap();
        assert!(o.status.success(), "collop {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    let (b, t, s) = (blob.to_str().unwrap(), theory.to_str().unwrap(), synthetic.to_str().unwrap());
    ok(&[
        "theory",
        b,
        "-o",
        t,
        "--ppc",
        "4",
        "--dx-over-debye",
        "1",
        "--shape-order",
        "1",
        "--vth-c",
        "0.01",
    ]);
    ok(&["synthesise", t, "--like", b, "-o", s, "--particles", "100000"]);
    Some(vec![blob, root.join("ring_normal_2_0.2"), synthetic])
}

fn config(dir: &Path, data: &[PathBuf], loss: &str, epochs: usize) -> PathBuf {
    let folders: Vec<String> = data.iter().map(|d| format!("{:?}", d.display().to_string())).collect();
    let text = format!(
        "seed = 0\n[data]\nfolders = [{}]\nvalidation_fraction = 0.05\n[model]\nkind = \"fp-tensor\"\n\
         [numerics]\nscheme = \"reference\"\nedges = \"one-sided\"\nstability = \"ignore\"\n\
         [training]\nloss = \"{loss}\"\ncheckpoint_every = 10\n\
         stages = [{{ unroll = 1, epochs = {epochs}, lr = 1e-3 }}, {{ unroll = 3, epochs = 10, lr = 1e-3 }}]\n",
        folders.join(", ")
    );
    let path = dir.join(format!("train-{loss}-{epochs}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Largest `|a - b|` over the parameters, relative to the largest `|a|`.
fn relative_difference(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// The training and validation losses of every epoch (history.csv).
fn losses(run: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(run.join("history.csv")).unwrap();
    text.lines()
        .skip(1)
        .flat_map(|l| l.split(',').skip(4).take(2).map(|v| v.parse::<f64>().unwrap()))
        .collect()
}

/// Largest relative difference of two loss histories.
fn loss_difference(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs() / x.abs()))
}

/// The mean absolute error of the full test rollouts of a run, per dataset.
fn test_errors(run: &Path) -> Vec<f64> {
    let o = Command::new(env!("CARGO_BIN_EXE_collop"))
        .args(["test", run.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["model"] != "frozen")
        .map(|r| r["mae"].as_f64().unwrap())
        .collect()
}

// The bound. The ranks add the same per-window terms in another grouping
// (and the simulator's SIMD tiles put a window at another place of its
// batch), so each loss and gradient differs from one process's by
// round-off, ~1e-16 relative. The losses stay within round-off of each
// other (measured below 3e-13 relative over 40 epochs with the mean
// squared error). The parameters do too where the data constrain them,
// but Adam divides every gradient component by its running RMS: a
// component the data leave (nearly) free has a gradient of round-off
// size, whose sign the summation order decides, and takes steps of up to
// `lr` either way (measured: 2e-9 and 1e-7 of the largest parameter on 2
// and 3 ranks; on the two published folders alone the whole reference
// schedule ends within 6e-15). With the mean absolute error a residual
// within round-off of zero also flips its subgradient (measured 2e-8 on
// the losses with 3 ranks, bound 1e-7). What a user sees, the trained
// model's rollout errors, agrees within 1e-9 relative (measured: equal).
#[test]
#[ignore = "runs mpirun with 1, 2 and 3 ranks (scripts/mpi-test.sh)"]
fn training_on_1_2_and_3_ranks_agrees_within_round_off_and_resumes_across_rank_counts() {
    let dir = tempfile::tempdir().unwrap();
    let Some(data) = datasets(dir.path()) else { return };
    let cfg = config(dir.path(), &data, "mse", 30);
    let c = cfg.to_str().unwrap();
    let mut runs = Vec::new();
    for n in [1, 2, 3] {
        let run = dir.path().join(format!("run-{n}"));
        let out = mpirun(n, &["train", c, "-o", run.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&out.stdout);
        // Rank 0 alone prints the summary.
        assert_eq!(text.matches("training  40 epochs").count(), 1, "{text}");
        runs.push(run);
    }
    let (l1, e1) = (losses(&runs[0]), test_errors(&runs[0]));
    for (n, run) in [(2, &runs[1]), (3, &runs[2])] {
        let (dl, dp) = (loss_difference(&l1, &losses(run)), relative_difference(&phi(&runs[0]), &phi(run)));
        let de = loss_difference(&e1, &test_errors(run));
        println!("1 rank against {n}: losses {dl:.2e}, test errors {de:.2e}, parameters {dp:.2e} (relative)");
        assert!(dl < 1e-11, "{n} ranks: losses differ by {dl:e}");
        assert!(de < 1e-9, "{n} ranks: test errors differ by {de:e}");
        assert!(dp < 1e-5, "{n} ranks: parameters differ by {dp:e}");
    }
    // Negative control: one epoch more differs far beyond these bounds.
    let longer = config(dir.path(), &data, "mse", 31);
    let run = dir.path().join("run-longer");
    mpirun(2, &["train", longer.to_str().unwrap(), "-o", run.to_str().unwrap()]);
    assert!(loss_difference(&e1, &test_errors(&run)) > 1e-6);
    assert!(relative_difference(&phi(&runs[0]), &phi(&run)) > 1e-4);

    // The reference loss (mean absolute error): the same within its bound.
    let mae = config(dir.path(), &data, "mae", 30);
    let (a, b) = (dir.path().join("mae-1"), dir.path().join("mae-3"));
    mpirun(1, &["train", mae.to_str().unwrap(), "-o", a.to_str().unwrap()]);
    mpirun(3, &["train", mae.to_str().unwrap(), "-o", b.to_str().unwrap()]);
    let dl = loss_difference(&losses(&a), &losses(&b));
    println!("mae, 1 rank against 3: losses {dl:.2e}");
    assert!(dl < 1e-7, "mae losses differ by {dl:e}");

    // Started on 2 ranks and stopped (SIGTERM to mpirun) once its first
    // checkpoint is on disk, resumed on 3: every rank reads the checkpoint
    // (parameters and Adam moments), and the run ends as the uninterrupted
    // one on 1 rank does. A longer schedule (310 epochs, a few seconds), so
    // that the stop comes long before the end.
    let long = config(dir.path(), &data, "mse", 300);
    let lc = long.to_str().unwrap();
    let whole = dir.path().join("run-300");
    mpirun(1, &["train", lc, "-o", whole.to_str().unwrap()]);
    let resumed = dir.path().join("run-resumed");
    let r = resumed.to_str().unwrap();
    let mut child = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-np", "2", "-x", "RAYON_NUM_THREADS=1"])
        .args([env!("CARGO_BIN_EXE_collop"), "train", lc, "-o", r])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = resumed.join("checkpoint.npz");
    let started = std::time::Instant::now();
    while !checkpoint.exists() && started.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    assert!(!resumed.join("model.npz").exists(), "the run was stopped before its end");
    let done = losses(&resumed).len() / 2;
    println!("stopped after {done} of 310 epochs (history), resuming on 3 ranks");
    mpirun(3, &["train", lc, "-o", r, "--resume"]);
    let (dl, de) = (
        loss_difference(&losses(&whole), &losses(&resumed)),
        loss_difference(&test_errors(&whole), &test_errors(&resumed)),
    );
    println!("2 ranks resumed on 3 against 1 rank: losses {dl:.2e}, test errors {de:.2e}");
    assert!(dl < 1e-11 && de < 1e-9, "resumed run: losses differ by {dl:e}, test errors by {de:e}");
}
