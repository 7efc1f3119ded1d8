//! Output directories: one writer at a time (a second one refused with the
//! holder's process id, a killed holder blocking nobody), and the one rule
//! for a directory that holds results (refused, resumed, or overwritten
//! only in what the kind writes, only when asked).

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use collop_io::{Existing, IoError, LOCK_FILE, OutputDir, OutputKind};

/// A kind that writes `result.txt` and `parts/`.
fn owns(entry: &Path) -> bool {
    matches!(entry.file_name().and_then(|n| n.to_str()), Some("result.txt" | "parts"))
}

fn holds(dir: &Path) -> bool {
    dir.join("result.txt").exists()
}

const KIND: OutputKind =
    OutputKind { name: "a test result", holds, owns: Some(owns), accepts: "replace it with `--overwrite`" };

#[test]
fn a_second_writer_is_refused_at_once_naming_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let first = OutputDir::lock(&dir).unwrap();
    assert!(dir.join(LOCK_FILE).is_file());
    let e = OutputDir::claim(&dir, &KIND, Existing::Overwrite).unwrap_err();
    assert!(matches!(e, IoError::Locked { .. }), "{e}");
    let m = e.to_string();
    for part in [
        dir.display().to_string(),
        format!("process {}", std::process::id()),
        "wait for it to finish, or write into another directory".into(),
    ] {
        assert!(m.contains(&part), "{part:?} not in {m}");
    }
    drop(first);
    let again = OutputDir::lock(&dir).unwrap();
    assert_eq!(again.path(), dir);
}

/// The child of [`a_killed_holder_does_not_block_the_next_writer`]: hold
/// the lock of the directory in `COLLOP_TEST_HOLD`, say so, and wait to be
/// killed. A no-op in an ordinary test run.
#[test]
fn holder_child() {
    let Ok(dir) = std::env::var("COLLOP_TEST_HOLD") else { return };
    let _held = OutputDir::lock(&dir).unwrap();
    println!("holding");
    std::thread::sleep(std::time::Duration::from_secs(120));
}

#[test]
fn a_killed_holder_does_not_block_the_next_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["holder_child", "--exact", "--nocapture", "--test-threads", "1"])
        .env("COLLOP_TEST_HOLD", &dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("holding")), "the child never held the lock");
    let e = OutputDir::lock(&dir).unwrap_err().to_string();
    assert!(e.contains(&format!("process {}", child.id())), "{e}");
    // SIGKILL: the child cannot release anything itself.
    child.kill().unwrap();
    child.wait().unwrap();
    let next = OutputDir::claim(&dir, &KIND, Existing::Refuse).unwrap();
    assert_eq!(next.path(), dir);
}

#[test]
fn existing_results_are_refused_unless_resumed_or_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    fs::create_dir_all(dir.join("parts")).unwrap();
    fs::write(dir.join("result.txt"), "old").unwrap();
    fs::write(dir.join("parts").join("a.txt"), "old part").unwrap();
    fs::write(dir.join("notes.txt"), "the user's").unwrap();

    let e = OutputDir::claim(&dir, &KIND, Existing::Refuse).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, IoError::Clobber { .. }), "{m}");
    for part in ["already holds a test result", "result.txt", "--overwrite", "another directory"] {
        assert!(m.contains(part), "{part:?} not in {m}");
    }
    assert!(!m.contains(LOCK_FILE), "{m}");
    assert_eq!(fs::read_to_string(dir.join("result.txt")).unwrap(), "old");

    // Resumed: nothing removed.
    let mut resumed = OutputDir::claim(&dir, &KIND, Existing::Resume).unwrap();
    resumed.clear_replaced().unwrap();
    drop(resumed);
    assert!(dir.join("parts").join("a.txt").is_file());

    // Overwritten: nothing removed by the claim, then only what the kind writes.
    let mut over = OutputDir::claim(&dir, &KIND, Existing::Overwrite).unwrap();
    assert!(dir.join("result.txt").is_file(), "removed before the command's checks");
    over.clear_replaced().unwrap();
    assert!(!dir.join("result.txt").exists() && !dir.join("parts").exists());
    assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "the user's");
    assert!(dir.join(LOCK_FILE).is_file());
    // Once only: what the command writes next stays.
    fs::write(dir.join("result.txt"), "new").unwrap();
    over.clear_replaced().unwrap();
    assert_eq!(fs::read_to_string(dir.join("result.txt")).unwrap(), "new");
}

#[test]
fn a_kind_without_overwrite_refuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("result.txt"), "old").unwrap();
    let kind = OutputKind { owns: None, accepts: "continue it with `--resume`", ..KIND };
    let e = OutputDir::claim(tmp.path(), &kind, Existing::Overwrite).unwrap_err().to_string();
    assert!(e.contains("already holds a test result") && e.contains("--resume"), "{e}");
    assert_eq!(fs::read_to_string(tmp.path().join("result.txt")).unwrap(), "old");
}

#[test]
fn a_claim_that_wrote_nothing_leaves_no_new_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new");
    drop(OutputDir::claim(&dir, &KIND, Existing::Refuse).unwrap());
    assert!(!dir.exists(), "an empty directory left behind");
    // A directory that was there before stays, and so does one written into.
    let existing = tmp.path().join("existing");
    fs::create_dir(&existing).unwrap();
    drop(OutputDir::lock(&existing).unwrap());
    assert!(existing.is_dir());
    let written = tmp.path().join("written");
    let out = OutputDir::lock(&written).unwrap();
    fs::write(written.join("result.txt"), "x").unwrap();
    drop(out);
    assert!(written.join("result.txt").is_file());
}

#[test]
fn taking_the_lock_removes_temporaries_a_killed_writer_left() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let nested = dir.join("models").join("tracks");
    let owned = dir.join("sub-run");
    fs::create_dir_all(&nested).unwrap();
    fs::create_dir_all(&owned).unwrap();
    // Names as the atomic writer makes them (`.NAME.collop-tmp-PID-N`).
    let stale = [dir.join(".model.npz.collop-tmp-4242-0"), nested.join(".fields.npz.collop-tmp-4242-7")];
    for p in &stale {
        fs::write(p, b"half a file").unwrap();
    }
    // A sub-directory with its own lock file has another owner: left alone.
    fs::write(owned.join(LOCK_FILE), b"").unwrap();
    let theirs = owned.join(".run.json.collop-tmp-99-1");
    fs::write(&theirs, b"being written").unwrap();
    // Files of the user's that only look similar stay.
    let keep = [dir.join("model.npz"), dir.join(".hidden"), nested.join("collop-tmp-notes.txt")];
    for p in &keep {
        fs::write(p, b"keep").unwrap();
    }
    let held = OutputDir::lock(&dir).unwrap();
    for p in &stale {
        assert!(!p.exists(), "{} should have been removed", p.display());
    }
    assert!(theirs.exists(), "a temporary file under another lock was removed");
    for p in &keep {
        assert!(p.exists(), "{} was removed", p.display());
    }
    drop(held);
}
