//! Checkpoints: a damaged, foreign or outdated checkpoint is refused with
//! the file, what is wrong and the fix (never a panic in the particle
//! kernels), and a checkpoint that cannot be written leaves no temporary
//! file behind.

mod common;

use std::path::Path;

use collop_pic::checkpoint::{CHECKPOINT_FILE, LEGACY_CHECKPOINT_FILE};
use collop_pic::deck::Deck;
use collop_pic::{PicError, RunOptions, RunSummary, Silent, run};

/// A tiny electrostatic plasma with a tracked test species, a selection
/// (tags) and a reweighting (initial momenta), so that every kind of
/// checkpoint array is written; a checkpoint every two dumps.
const TABLES: &str = r#"
seed = 3
[grid]
nx = 12
ny = 12
dx = 0.1
dy = 0.1
[time]
dt = 0.05
n_steps = 60
dump_every = 10
[solver]
kind = "es"
shape_order = 2
[output]
energy_every = 5
checkpoint_every_dumps = 2
[phase_space]
bins = 21
v_max = 4.0
[[sub_populations]]
name = "blob_test"
species = "electrons"
method = "test_species"
fraction = 0.05
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
tracks = 10
[[sub_populations]]
name = "blob_sel"
species = "electrons"
method = "selection"
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
[[sub_populations]]
name = "blob_rw"
species = "electrons"
method = "reweighting"
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
"#;

/// The deck: [`TABLES`] and its species.
fn deck_text() -> String {
    format!("{TABLES}{}", common::electrons_over_ions(4, r#"{ kind = "maxwellian", u_th = 0.1 }"#))
}

fn opts() -> RunOptions {
    RunOptions { threads: 2, progress_every: 0, ..RunOptions::default() }
}

fn resume(dir: &Path) -> Result<RunSummary, PicError> {
    run(&Deck::from_toml(&deck_text()).unwrap(), dir, &RunOptions { resume: true, ..opts() }, &mut Silent)
}

/// A run interrupted after 35 steps: its checkpoint is at dump 2 (step 20).
fn interrupted(dir: &Path) {
    let deck = Deck::from_toml(&deck_text()).unwrap();
    let s = run(&deck, dir, &RunOptions { stop_after: Some(35), ..opts() }, &mut Silent).unwrap();
    assert!(!s.finished);
    assert!(dir.join(CHECKPOINT_FILE).is_file());
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect()
}

/// 100 bytes overwritten anywhere (particle data, fields, the archive's
/// directory at the end) are found on resume and reported, not run.
#[test]
fn a_checkpoint_with_100_bytes_overwritten_is_refused_naming_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    interrupted(dir.path());
    let path = dir.path().join(CHECKPOINT_FILE);
    let good = std::fs::read(&path).unwrap();
    for at in [good.len() / 5, good.len() / 2, 4 * good.len() / 5, good.len() - 100] {
        let mut bad = good.clone();
        bad[at..at + 100].iter_mut().for_each(|b| *b = !*b);
        std::fs::write(&path, &bad).unwrap();
        let e = resume(dir.path()).unwrap_err();
        assert!(matches!(e, PicError::Checkpoint(_)), "bytes {at}..: {e:?}");
        let e = e.to_string();
        assert!(e.contains(CHECKPOINT_FILE), "bytes {at}..: {e}");
        assert!(e.contains("delete it to restart the run from its beginning"), "bytes {at}..: {e}");
    }
    // The intact checkpoint still resumes to the end.
    std::fs::write(&path, &good).unwrap();
    let s = resume(dir.path()).unwrap();
    assert!(s.finished && s.steps == 60 && s.dumps == 7);
}

/// The run directory's deck.toml is compared first; without it, the
/// checkpoint's own copy of the deck still refuses another deck.
#[test]
fn a_checkpoint_of_another_deck_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    interrupted(dir.path());
    std::fs::remove_file(dir.path().join("deck.toml")).unwrap();
    let other = Deck::from_toml(&deck_text().replace("seed = 3", "seed = 4")).unwrap();
    let e =
        run(&other, dir.path(), &RunOptions { resume: true, ..opts() }, &mut Silent).unwrap_err().to_string();
    assert!(e.contains(CHECKPOINT_FILE) && e.contains("another deck") && e.contains("deck.toml"), "{e}");
}

/// Checkpoints of earlier versions (`checkpoint.bin`) are not read: the
/// resume is refused with the fix rather than restarted silently.
#[test]
fn a_checkpoint_of_an_earlier_version_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(LEGACY_CHECKPOINT_FILE), b"COLLOPPIC\x00\x02\x00 old state").unwrap();
    assert!(collop_pic::checkpoint::exists(dir.path()));
    let e = resume(dir.path()).unwrap_err().to_string();
    assert!(e.contains(LEGACY_CHECKPOINT_FILE) && e.contains("earlier collop"), "{e}");
    assert!(e.contains("delete it to restart the run"), "{e}");
}

/// A checkpoint that cannot be written (here: its name is taken by a
/// folder, so the final rename fails after the data were written) stops the
/// run with an error and leaves no temporary file. (Resumed, since a
/// folder of that name makes the directory hold a run; no checkpoint file
/// is found there, so the run starts from its beginning.)
#[test]
fn a_failed_checkpoint_write_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join(CHECKPOINT_FILE);
    std::fs::create_dir(&blocker).unwrap();
    std::fs::write(blocker.join("keep"), "x").unwrap();
    let e = resume(dir.path()).unwrap_err().to_string();
    assert!(e.contains("writing the checkpoint failed") && e.contains(CHECKPOINT_FILE), "{e}");
    assert_eq!(temporaries(dir.path()), Vec::<String>::new());
}
