//! Output directories of the `collop` commands: one writer at a time (a
//! second one refused at once with the holder's process id, a holder
//! killed with SIGKILL blocking nobody), nothing written into a directory
//! before the command's checks have passed, and one rule for a directory
//! that holds results: refused unless `--resume` or `--overwrite`.

// The fixtures of the library's tests (datasets, track files, PIC decks),
// shared rather than copied.
#[path = "../../experiment/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use collop_io::LOCK_FILE;

/// Exit code of a refusal by the command.
const FAILURE: i32 = 1;

fn collop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_collop")).args(args).output().expect("run collop")
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file under `dir` but the lock, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().unwrap() != LOCK_FILE {
                files.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    files
}

/// A deck of `n_steps` steps with one sub-population `pop`.
fn deck(dir: &Path, name: &str, seed: u64, n_steps: usize, pop: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, common::es_deck(seed, &common::one_population(n_steps, pop))).unwrap();
    path
}

/// A training config on `data` with `seed` and `epochs` epochs.
fn config(dir: &Path, seed: u64, epochs: usize) -> PathBuf {
    let path = dir.join(format!("seed{seed}.toml"));
    let text = format!(
        r#"
seed = {seed}
[data]
folders = ["data"]
validation_fraction = 0.0
[training]
stages = [{{ unroll = 2, epochs = {epochs}, lr = 1e-2 }}]
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

const THEORY_FLAGS: [&str; 10] =
    ["--kind", "static", "--ppc", "4", "--dx-over-debye", "1", "--shape-order", "1", "--vth-c", "0.01"];

/// While a process holds a directory, every command that writes one is
/// refused at once with the directory, the holder's process id and the
/// fix, and writes nothing into it.
#[test]
fn every_command_refuses_a_directory_another_one_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    common::write_dataset(&data, 5, 0.5, &[("vth_c", 0.01)]);
    let tracks = tmp.path().join("tracks.npz");
    common::write_tracks(&tracks, 50, 6, 0.5, 0.1, None, 1.0);
    let cfg = config(tmp.path(), 3, 2);
    let dk = deck(tmp.path(), "deck.toml", 7, 20, "blob");
    let out = tmp.path().join("out");
    let held = collop_io::OutputDir::lock(&out).unwrap();
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let (c, k, t) = (cfg.to_str().unwrap(), dk.to_str().unwrap(), tracks.to_str().unwrap());
    let commands: Vec<Vec<&str>> = vec![
        vec!["train", c, "-o", o],
        vec!["pic", dk.to_str().unwrap(), "-o", o, "--overwrite"],
        [&["theory", d, "-o", o, "--overwrite"][..], &THEORY_FLAGS[..]].concat(),
        vec!["tracks", t, "-o", o, "--grid-from", d],
        vec!["compare", k, "-o", o, "--resume"],
        vec!["sweep", k, "-o", o, "--test", "ring", "--models", "tensor"],
    ];
    for args in &commands {
        let r = collop(args);
        let e = err(&r);
        assert_eq!(r.status.code(), Some(FAILURE), "{args:?}: {e}");
        for part in [
            o.to_string(),
            format!("process {}", std::process::id()),
            "wait for it to finish, or write into another directory".into(),
        ] {
            assert!(e.contains(&part), "{args:?}: {part:?} not in {e}");
        }
        assert!(snapshot(&out).is_empty(), "{args:?} wrote into the directory");
    }
    drop(held);
    // Released, the directory is free.
    let r = collop(&["train", c, "-o", o]);
    assert!(r.status.success(), "{}", err(&r));
}

/// Two trainings with different configs into one directory at the same
/// moment: exactly one proceeds, the other is refused, and the directory
/// holds the config, the record and the model of the one that ran.
#[test]
fn two_trainings_into_one_directory_one_proceeds() {
    let tmp = tempfile::tempdir().unwrap();
    common::write_dataset(&tmp.path().join("data"), 5, 0.5, &[]);
    let run = tmp.path().join("run");
    let seeds = [3u64, 4];
    let children: Vec<_> = seeds
        .iter()
        .map(|&s| {
            Command::new(env!("CARGO_BIN_EXE_collop"))
                .args(["train", config(tmp.path(), s, 40).to_str().unwrap(), "-o", run.to_str().unwrap()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let ok: Vec<usize> = (0..2).filter(|&k| outputs[k].status.success()).collect();
    assert_eq!(ok.len(), 1, "exactly one proceeds: {} | {}", err(&outputs[0]), err(&outputs[1]));
    let (winner, loser) = (ok[0], 1 - ok[0]);
    let e = err(&outputs[loser]);
    assert_eq!(outputs[loser].status.code(), Some(FAILURE), "{e}");
    // Refused at the lock, or (had the winner already finished) by its run.
    assert!(
        e.contains("wait for it to finish, or write into another directory")
            || e.contains("already holds a trained run"),
        "{e}"
    );
    let recorded = collop_experiment::TrainedRun::load(&run).unwrap();
    assert_eq!(recorded.config.seed, seeds[winner], "the config of the one that ran");
    let info = common::read_json(&run.join("run.json"));
    assert_eq!(info["seed"].as_u64(), Some(seeds[winner]), "the record of the one that ran");
    let r = collop(&["test", run.to_str().unwrap(), "--json"]);
    assert!(r.status.success(), "{}", err(&r));
}

/// A PIC run killed with SIGKILL while it writes leaves a lock nobody
/// holds: the next run is not blocked (it is refused only for the run's
/// files, which `--overwrite` replaces).
#[test]
fn a_killed_pic_run_does_not_block_the_next_one() {
    let tmp = tempfile::tempdir().unwrap();
    let long = deck(tmp.path(), "long.toml", 7, 1_000_000, "blob");
    let tiny = deck(tmp.path(), "tiny.toml", 8, 20, "blob");
    let run = tmp.path().join("run");
    let o = run.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_collop"))
        .args(["pic", long.to_str().unwrap(), "-o", o, "--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let record = format!("pid {}", child.id());
    let start = Instant::now();
    while !std::fs::read_to_string(run.join(LOCK_FILE)).is_ok_and(|t| t.contains(&record)) {
        assert!(start.elapsed() < Duration::from_secs(60), "the run never held its directory");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let r = collop(&["pic", tiny.to_str().unwrap(), "-o", o, "--overwrite", "--threads", "1"]);
    assert!(r.status.success(), "{}", err(&r));
    let written = std::fs::read_to_string(run.join("deck.toml")).unwrap();
    assert!(written.contains("n_steps = 20") && written.contains("seed = 8"), "{written}");
    assert!(run.join("run.json").is_file());
}

/// A `collop pic` refused because the directory holds a run (of another
/// deck, with other sub-populations) leaves that run byte-identical,
/// resumed or not; `--overwrite` replaces the run's files and only them.
#[test]
fn a_refused_pic_leaves_the_run_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let first = deck(tmp.path(), "first.toml", 7, 20, "blob");
    let other = deck(tmp.path(), "other.toml", 8, 20, "ring");
    let run = tmp.path().join("run");
    let o = run.to_str().unwrap();
    let r = collop(&["pic", first.to_str().unwrap(), "-o", o, "--threads", "1"]);
    assert!(r.status.success(), "{}", err(&r));
    std::fs::write(run.join("notes.txt"), "the user's").unwrap();
    let before = snapshot(&run);
    assert!(before.contains_key(Path::new("deck.toml")) && before.contains_key(Path::new("derived.json")));

    let r = collop(&["pic", other.to_str().unwrap(), "-o", o]);
    let e = err(&r);
    assert_eq!(r.status.code(), Some(FAILURE), "{e}");
    assert!(e.contains("already holds a PIC run") && e.contains("--overwrite") && e.contains(o), "{e}");
    assert!(snapshot(&run) == before, "a refused run changed the directory");

    let r = collop(&["pic", other.to_str().unwrap(), "-o", o, "--resume"]);
    let e = err(&r);
    assert_eq!(r.status.code(), Some(FAILURE), "{e}");
    assert!(e.contains("another deck"), "{e}");
    assert!(snapshot(&run) == before, "a refused resume changed the directory");

    let r = collop(&["pic", other.to_str().unwrap(), "-o", o, "--overwrite", "--threads", "1"]);
    assert!(r.status.success(), "{}", err(&r));
    assert!(!run.join("blob").exists(), "the old run's sub-population is gone");
    assert!(run.join("ring").join("f").join("args.yaml").is_file());
    assert_eq!(std::fs::read_to_string(run.join("notes.txt")).unwrap(), "the user's");
}

/// `collop theory` and `collop tracks` refuse a directory that holds a
/// fields model unless `--overwrite`, which replaces the model's files
/// (a track model's errors included) and keeps the rest.
#[test]
fn theory_and_tracks_refuse_an_existing_model_unless_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    common::write_dataset(&data, 5, 0.5, &[("vth_c", 0.01)]);
    let tracks = tmp.path().join("tracks.npz");
    common::write_tracks(&tracks, 200, 12, 0.5, 0.1, None, 1.0);
    let model = tmp.path().join("model");
    let (d, t, m) = (data.to_str().unwrap(), tracks.to_str().unwrap(), model.to_str().unwrap());
    let track_args = ["tracks", t, "-o", m, "--grid-from", d, "--min-count", "2"];
    let theory_args = [&["theory", d, "-o", m][..], &THEORY_FLAGS[..]].concat();

    let r = collop(&track_args);
    assert!(r.status.success(), "{}", err(&r));
    let before = snapshot(&model);
    for args in [&track_args[..], &theory_args[..]] {
        let r = collop(args);
        let e = err(&r);
        assert_eq!(r.status.code(), Some(FAILURE), "{args:?}: {e}");
        assert!(e.contains("already holds a fields model") && e.contains("--overwrite"), "{e}");
        assert!(snapshot(&model) == before, "{args:?} changed the model");
    }

    std::fs::write(model.join("notes.txt"), "the user's").unwrap();
    let r = collop(&[&theory_args[..], &["--overwrite"][..]].concat());
    assert!(r.status.success(), "{}", err(&r));
    for gone in ["stderr.npz", "count.npz", "radial.csv"] {
        assert!(!model.join(gone).exists(), "{gone} of the track model left beside the theory model");
    }
    let info = common::read_json(&model.join("run.json"));
    assert_eq!(info["source"], "theory-static", "{info}");
    assert_eq!(std::fs::read_to_string(model.join("notes.txt")).unwrap(), "the user's");
    let r = collop(&[&track_args[..], &["--overwrite"][..]].concat());
    assert!(r.status.success(), "{}", err(&r));
    assert!(model.join("stderr.npz").is_file());
}

/// A run trained with relative paths (the config, its data, the output,
/// all given from the working directory) is read from anywhere: its
/// config.toml records the data folders as absolute paths. Before, `collop
/// test RUN` from another directory failed to find the data.
#[test]
fn a_run_trained_with_relative_paths_is_tested_from_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    common::write_dataset(&work.join("data"), 4, 0.5, &[]);
    let cfg = "seed = 1\n[data]\nfolders = [\"data\"]\nvalidation_fraction = 0.0\n\
               [training]\nstages = [{ unroll = 1, epochs = 1, lr = 1e-2 }]\n";
    std::fs::write(work.join("run.toml"), cfg).unwrap();
    let bin = env!("CARGO_BIN_EXE_collop");
    let train =
        Command::new(bin).args(["train", "run.toml", "-o", "run"]).current_dir(&work).output().unwrap();
    assert!(train.status.success(), "{}", err(&train));
    let recorded = std::fs::read_to_string(work.join("run").join("config.toml")).unwrap();
    let folders: toml::Table = toml::from_str(&recorded).unwrap();
    let first = folders["data"]["folders"][0].as_str().unwrap();
    assert!(Path::new(first).is_absolute() && Path::new(first).ends_with("data"), "{recorded}");
    // From the parent directory, and from an unrelated one.
    for cwd in [tmp.path().to_path_buf(), std::env::temp_dir()] {
        let run = work.join("run");
        let run = if cwd == tmp.path() { PathBuf::from("work/run") } else { run };
        let test =
            Command::new(bin).args(["test", run.to_str().unwrap()]).current_dir(&cwd).output().unwrap();
        assert!(test.status.success(), "from {}: {}", cwd.display(), err(&test));
    }
}

/// The results of a directory, for byte identity: every file but the
/// locks, with what records one invocation rather than the run masked
/// (a PIC run.json's `wall_seconds` and `particle_steps`, the elapsed
/// seconds of history.csv).
fn results(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = snapshot(dir);
    for (path, bytes) in files.iter_mut() {
        let name = path.file_name().unwrap().to_str().unwrap();
        if name == "run.json" {
            let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            if let Some(map) = v.as_object_mut() {
                map.remove("wall_seconds");
                map.remove("particle_steps");
            }
            *bytes = v.to_string().into_bytes();
        } else if name == "history.csv" {
            let text = String::from_utf8(bytes.clone()).unwrap();
            let kept: Vec<&str> =
                text.lines().map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head)).collect();
            *bytes = kept.join("\n").into_bytes();
        }
    }
    files
}

/// Moments spread over the first half of a run of `total` (a resumed run
/// has less left to do), at fractions drawn from a fixed xorshift
/// sequence (`seed`): reproducible, and not tuned to land on or off the
/// checkpoints.
fn moments(total: Duration, n: usize, seed: u64) -> Vec<Duration> {
    let mut x = seed.max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            total.mul_f64((x % 500) as f64 / 1000.0)
        })
        .collect()
}

/// `args` started and killed with SIGKILL at each of `kills` after its
/// start (every start after the first with `--resume`), then run to its
/// end with `--resume`. Returns how many starts were killed while running.
fn killed_and_resumed(args: &[&str], kills: &[Duration]) -> usize {
    let mut killed = 0;
    for (k, &at) in kills.iter().enumerate() {
        let mut a = args.to_vec();
        if k > 0 {
            a.push("--resume");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_collop"))
            .args(&a)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while start.elapsed() < at && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        match child.try_wait().unwrap() {
            // Finished before its moment: it must have succeeded.
            Some(status) => {
                let out = child.wait_with_output().unwrap();
                assert!(status.success(), "{a:?}: {}", err(&out));
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                killed += 1;
            }
        }
    }
    let mut a = args.to_vec();
    a.push("--resume");
    let r = collop(&a);
    assert!(r.status.success(), "{a:?}: {}", err(&r));
    killed
}

/// Every file name under `dir` that is a temporary file of an atomic write.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    snapshot(dir).into_keys().filter(|p| p.to_string_lossy().contains(".collop-tmp-")).collect()
}

/// `collop pic`, `train` and `compare` killed with SIGKILL at moments
/// spread over the run, each time resumed: the results are byte-identical
/// to an uninterrupted run's (per-invocation timings aside) and no
/// temporary file is left. The uninterrupted run is written into the same
/// path first (and moved aside), so that paths recorded in the outputs
/// agree. A kill before the first checkpoint used to leave a training
/// that `--resume` refused ("no checkpoint.npz") and plain `train` refused
/// too; a resumed training's loss picture and evaluation counts covered
/// only its last part.
#[test]
fn killed_at_any_moment_and_resumed_gives_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let seed: u64 = std::env::var("COLLOP_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(2026);
    common::write_dataset(&tmp.path().join("data"), 8, 0.5, &[]);
    let long_config = tmp.path().join("train.toml");
    std::fs::write(
        &long_config,
        "seed = 5\n[data]\nfolders = [\"data\"]\nvalidation_fraction = 0.2\n[training]\ncheckpoint_every = 7\n\
         stages = [{ unroll = 1, epochs = 150, lr = 1e-2 }, { unroll = 3, epochs = 60, lr = 1e-3 }]\n",
    )
    .unwrap();
    let mut pic_deck = common::es_deck(11, common::TWO_POPULATIONS);
    pic_deck = pic_deck
        .replace("n_steps = 60", "n_steps = 400")
        .replace("checkpoint_every_dumps = 0", "checkpoint_every_dumps = 3");
    let deck_path = tmp.path().join("deck.toml");
    std::fs::write(&deck_path, &pic_deck).unwrap();
    let pic_run = tmp.path().join("pic");
    let r = collop(&["pic", deck_path.to_str().unwrap(), "-o", pic_run.to_str().unwrap(), "--threads", "1"]);
    assert!(r.status.success(), "{}", err(&r));

    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let (d, c, p) = (deck_path.to_str().unwrap(), long_config.to_str().unwrap(), pic_run.to_str().unwrap());
    let commands: Vec<Vec<&str>> = vec![
        vec!["pic", d, "-o", o, "--threads", "1"],
        vec!["train", c, "-o", o],
        vec![
            "compare",
            p,
            "-o",
            o,
            "--train",
            "blob",
            "--test",
            "ring",
            "--lags",
            "1,2",
            "--epochs-scale",
            "0.02",
        ],
    ];
    for (k, args) in commands.iter().enumerate() {
        let start = Instant::now();
        let r = collop(args);
        assert!(r.status.success(), "{args:?}: {}", err(&r));
        let total = start.elapsed();
        let reference = tmp.path().join(format!("reference-{k}"));
        std::fs::rename(&out, &reference).unwrap();
        let killed = killed_and_resumed(args, &moments(total, 5, seed + k as u64));
        eprintln!("{}: {killed} of 5 starts killed while running (run of {total:.2?})", args[0]);
        assert!(temporaries(&out).is_empty(), "{}: {:?}", args[0], temporaries(&out));
        let (want, got) = (results(&reference), results(&out));
        assert_eq!(
            want.keys().collect::<Vec<_>>(),
            got.keys().collect::<Vec<_>>(),
            "{}: the same files",
            args[0]
        );
        for (path, bytes) in &want {
            assert!(got[path] == *bytes, "{}: {} differs after kills and resumes", args[0], path.display());
        }
        std::fs::remove_dir_all(&reference).unwrap();
        std::fs::remove_dir_all(&out).unwrap();
    }
}
