//! Property-based fuzzing of the readers of user files in collop-pic: PIC
//! decks (TOML, `Deck::from_toml` with its validation) and checkpoints
//! (`checkpoint.npz`, read and checked when `run` resumes).
//!
//! Inputs are valid files (the shipped decks, a checkpoint of an
//! interrupted run), then mutated: deck keys dropped or set to values of
//! the wrong type, zero, negative, NaN, infinite, huge or very long;
//! checkpoint members with changed `.npy` headers (shapes, element
//! types), changed values behind a fixed CRC-32, a wrong CRC-32, dropped,
//! repeated or renamed; bytes flipped, overwritten, cut. The deck fuzzing
//! stops at parsing and validation: no simulation is built from a mutated
//! deck. Each reader must return `Ok` or `Err` without panicking, return
//! something consistent when `Ok`, and allocate no more than the input
//! justifies.
//!
//! Cases: a fixed number in CI; `PROPTEST_CASES=100000 cargo test
//! --release -p collop-pic --test fuzz` for a long run.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use collop_fuzz::alloc::{CountingAlloc, peak_during};
use collop_fuzz::{bytes, toml_text, zip};
use collop_pic::checkpoint::CHECKPOINT_FILE;
use collop_pic::deck::Deck;
use collop_pic::{PicError, RunOptions, Silent, run};
use proptest::prelude::*;
use proptest::sample::Index;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Cases per deck property in CI.
const CI_CASES: u32 = 96;

/// Cases per checkpoint property in CI (each resumes a tiny run).
const CHECKPOINT_CASES: u32 = 32;

/// Fixed allowance of a parse: the TOML machinery, buffered readers, the
/// zip reader's directory, error messages.
const BASE: usize = 1 << 20;

/// The most memory parsing and validating a deck of `len` bytes may take:
/// 64 bytes per byte of text (a TOML document tree keeps every key and
/// value with its position and formatting, and serde builds the deck from
/// it). Validation only computes derived numbers: it must not allocate
/// for the particles or cells the deck declares.
fn deck_bound(len: usize) -> usize {
    BASE + 64 * len
}

fn check_peak(what: &str, peak: usize, limit: usize) -> Result<(), TestCaseError> {
    prop_assert!(
        peak <= limit,
        "{what}: allocated {peak} bytes at once, more than the {limit} the input justifies"
    );
    Ok(())
}

/// The shipped decks, as text.
fn shipped_decks() -> &'static Vec<String> {
    static D: OnceLock<Vec<String>> = OnceLock::new();
    D.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("decks");
        let mut texts = Vec::new();
        for sub in ["", "study", "time-varying"] {
            for entry in std::fs::read_dir(root.join(sub)).unwrap() {
                let p = entry.unwrap().path();
                if p.extension().is_some_and(|e| e == "toml") {
                    texts.push(std::fs::read_to_string(p).unwrap());
                }
            }
        }
        texts.sort();
        assert!(texts.len() >= 9, "the shipped decks");
        texts
    })
}

/// Checks what parsing a deck returned.
fn check_deck(out: Result<Deck, PicError>) -> Result<(), TestCaseError> {
    match out {
        Ok(deck) => {
            // A deck that parsed is valid, and is written back and read
            // back the same.
            prop_assert!(deck.validate().is_ok(), "{:?}", deck.validate().err());
            let again = Deck::from_toml(&deck.to_toml()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(again, deck);
        }
        Err(e) => {
            prop_assert!(matches!(e, PicError::Parse(_) | PicError::Deck(_)), "a deck error, not {e:?}")
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(collop_fuzz::config(CI_CASES))]

    /// Shipped decks with keys dropped, added or set to odd values (sizes
    /// and counts of at most 2^31: see `decks_declaring_huge_sizes`).
    #[test]
    fn decks_mutated(which in any::<Index>(), changes in toml_text::mutations_without_huge_integers(3)) {
        let text = toml_text::mutate(which.get::<String>(shipped_decks()), &changes);
        let (out, peak) = peak_during(|| Deck::from_toml(&text));
        check_peak("Deck::from_toml", peak, deck_bound(text.len()))?;
        check_deck(out)?;
    }

    /// Shipped decks with values that include sizes and counts above 2^31.
    #[test]
    fn decks_declaring_huge_sizes(which in any::<Index>(), changes in toml_text::mutations(3)) {
        let text = toml_text::mutate(which.get::<String>(shipped_decks()), &changes);
        let (out, peak) = peak_during(|| Deck::from_toml(&text));
        check_peak("Deck::from_toml", peak, deck_bound(text.len()))?;
        check_deck(out)?;
    }

    /// Shipped decks with their bytes mutated, and arbitrary text.
    #[test]
    fn decks_of_mutated_bytes(
        which in any::<Index>(),
        changes in bytes::mutations(4),
        junk in prop::option::of(prop::collection::vec(any::<u8>(), 0..400)),
    ) {
        let input = match &junk {
            Some(j) => j.clone(),
            None => bytes::apply_all(which.get::<String>(shipped_decks()).as_bytes(), &changes),
        };
        let text = String::from_utf8_lossy(&input);
        let (out, peak) = peak_during(|| Deck::from_toml(&text));
        check_peak("Deck::from_toml", peak, deck_bound(text.len()))?;
        check_deck(out)?;
    }
}

/// A tiny electrostatic run with a test species (tracks), a selection
/// (tags) and a reweighting (initial momenta), so that its checkpoint
/// holds every kind of member; a checkpoint every dump.
const TABLES: &str = r#"
seed = 11
[grid]
nx = 8
ny = 8
dx = 0.1
dy = 0.1
[time]
dt = 0.05
n_steps = 24
dump_every = 6
[solver]
kind = "es"
shape_order = 1
[output]
energy_every = 3
checkpoint_every_dumps = 1
[phase_space]
bins = 9
v_max = 4.0
[[sub_populations]]
name = "hot_test"
species = "electrons"
method = "test_species"
fraction = 0.1
target = { kind = "maxwellian", u_th = 0.5, drift = [-1.0, 0.0, 0.0] }
tracks = 4
[[sub_populations]]
name = "hot_sel"
species = "electrons"
method = "selection"
target = { kind = "maxwellian", u_th = 0.5, drift = [-1.0, 0.0, 0.0] }
[[sub_populations]]
name = "hot_rw"
species = "electrons"
method = "reweighting"
target = { kind = "maxwellian", u_th = 0.5, drift = [-1.0, 0.0, 0.0] }
"#;

/// The deck: [`TABLES`] and its species.
fn deck_text() -> String {
    format!("{TABLES}{}", common::electrons_over_ions(2, r#"{ kind = "maxwellian", u_th = 0.1 }"#))
}

fn opts(resume: bool) -> RunOptions {
    RunOptions { threads: 1, resume, progress_every: 0, ..RunOptions::default() }
}

/// The files of a run interrupted after 9 steps (its checkpoint is at the
/// first dump), by name, and the peak memory of resuming it unchanged.
struct Interrupted {
    files: Vec<(PathBuf, Vec<u8>)>,
    checkpoint: Vec<u8>,
    resume_peak: usize,
    dumps: usize,
}

fn files_under(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files_under(root, &p, out);
        } else {
            out.push((p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap()));
        }
    }
}

/// Lays the interrupted run out in `dir` (emptied first), with `checkpoint`
/// as its checkpoint.
fn lay_out(dir: &Path, files: &[(PathBuf, Vec<u8>)], checkpoint: &[u8]) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    for (name, content) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let content = if name == Path::new(CHECKPOINT_FILE) { checkpoint } else { content };
        std::fs::write(p, content).unwrap();
    }
}

fn interrupted() -> &'static Interrupted {
    static I: OnceLock<Interrupted> = OnceLock::new();
    I.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let deck = Deck::from_toml(&deck_text()).unwrap();
        let s =
            run(&deck, dir.path(), &RunOptions { stop_after: Some(9), ..opts(false) }, &mut Silent).unwrap();
        assert!(!s.finished);
        let mut files = Vec::new();
        files_under(dir.path(), dir.path(), &mut files);
        let checkpoint = std::fs::read(dir.path().join(CHECKPOINT_FILE)).unwrap();
        // The memory of an ordinary resume: the simulation, its
        // diagnostics and the run's output, besides the checkpoint.
        let again = tempfile::tempdir().unwrap();
        lay_out(again.path(), &files, &checkpoint);
        let (out, resume_peak) = peak_during(|| run(&deck, again.path(), &opts(true), &mut Silent));
        let summary = out.unwrap();
        assert!(summary.finished, "the valid checkpoint resumes to the end");
        Interrupted { files, checkpoint, resume_peak, dumps: summary.dumps }
    })
}

/// A scratch folder per test thread, reused across cases.
fn scratch() -> PathBuf {
    thread_local! {
        static DIR: tempfile::TempDir = tempfile::tempdir().unwrap();
    }
    DIR.with(|d| d.path().to_path_buf())
}

proptest! {
    #![proptest_config(collop_fuzz::config(CHECKPOINT_CASES))]

    /// Resuming from a mutated checkpoint: refused naming the file, or a
    /// run that goes to its end.
    #[test]
    fn checkpoints_mutated((members, changes) in zip::mutations(3, 2)) {
        let i = interrupted();
        let input = zip::mutate(&i.checkpoint, &members, &changes);
        let dir = scratch().join("run");
        lay_out(&dir, &i.files, &input);
        let deck = Deck::from_toml(&deck_text()).unwrap();
        let (out, peak) = peak_during(|| run(&deck, &dir, &opts(true), &mut Silent));
        // An ordinary resume, plus what the checkpoint's bytes justify
        // (read, decoded, a growing buffer's copy: 16 bytes per byte).
        check_peak("run (resume)", peak, i.resume_peak + BASE + 16 * input.len())?;
        match out {
            Ok(summary) => {
                prop_assert!(summary.finished, "a resumed run goes to its end");
                prop_assert_eq!(summary.dumps, i.dumps);
            }
            Err(e) => {
                prop_assert!(input != i.checkpoint, "the valid checkpoint resumes: {e}");
                prop_assert!(matches!(e, PicError::Checkpoint(_)), "a checkpoint error, not {e:?}");
                prop_assert!(e.to_string().contains(CHECKPOINT_FILE), "the error names the file: {e}");
            }
        }
    }

    /// Resuming from a checkpoint whose values were changed behind a
    /// correct CRC-32 (as a program writing a bad state would): particle
    /// positions outside the box, NaN or infinite momenta and fields,
    /// counters past the run, ids and tags of any value. The checks before
    /// the resume must refuse what the kernels cannot take: never a panic
    /// in the run.
    #[test]
    fn checkpoint_values_changed_behind_a_valid_crc(
        changes in prop::collection::vec((any::<Index>(), any::<Index>(), value_bytes()), 1..4),
    ) {
        let i = interrupted();
        let mut members = zip::members(&i.checkpoint).expect("the writer's archive");
        for (member, at, value) in &changes {
            let m = member.get_mut(&mut members);
            // The values follow the .npy header (version 1: its length at 8..10).
            let header = 10 + usize::from(u16::from_le_bytes([m.data[8], m.data[9]]));
            let n = m.data.len().saturating_sub(header);
            if n == 0 {
                continue;
            }
            // Aligned to 4 bytes: the start of a float32 / uint32 value,
            // and of a float64 / uint64 one at every other position.
            let k = header + at.index(n) / 4 * 4;
            let end = (k + value.len()).min(m.data.len());
            m.data[k..end].copy_from_slice(&value[..end - k]);
            m.crc = zip::crc32(&m.data);
        }
        let input = zip::write(&members);
        let dir = scratch().join("run");
        lay_out(&dir, &i.files, &input);
        let deck = Deck::from_toml(&deck_text()).unwrap();
        let (out, peak) = peak_during(|| run(&deck, &dir, &opts(true), &mut Silent));
        check_peak("run (resume)", peak, i.resume_peak + BASE + 16 * input.len())?;
        match out {
            Ok(summary) => {
                prop_assert!(summary.finished);
                prop_assert_eq!(summary.dumps, i.dumps);
            }
            // A state the checks accept may still be absurd (momenta of
            // 1e150 c): the simulation then refuses its own non-finite
            // energy, which is not the reader's concern.
            Err(PicError::Run(m)) if m.starts_with("energy is") => {}
            Err(e) => {
                prop_assert!(matches!(e, PicError::Checkpoint(_)), "a checkpoint error, not {e:?}");
                prop_assert!(e.to_string().contains(CHECKPOINT_FILE), "the error names the file: {e}");
            }
        }
    }
}

/// Values written over a checkpoint's values: as float64, float32, uint64
/// and uint32, little-endian.
fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
    let f64s = prop::sample::select(vec![
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -1.0,
        -1e-300,
        8.0,
        7.999_999_999_999_999,
        1e300,
        0.0,
        f64::MAX,
    ])
    .prop_map(|v| v.to_le_bytes().to_vec());
    let f32s = prop::sample::select(vec![f32::NAN, f32::INFINITY, -1.0f32, 1e30])
        .prop_map(|v| v.to_le_bytes().to_vec());
    let u64s = prop::sample::select(vec![0u64, 1, 2, 3, 23, 24, 25, 1 << 32, u64::MAX])
        .prop_map(|v| v.to_le_bytes().to_vec());
    let u32s = prop::sample::select(vec![0u32, 1, 0xff, u32::MAX]).prop_map(|v| v.to_le_bytes().to_vec());
    prop_oneof![4 => f64s, 1 => f32s, 2 => u64s, 1 => u32s]
}
// Regressions found by the properties above, kept as fixed cases.

/// A momentum or a field finite but so large that its energy overflows
/// was resumed from, and the run then failed with "energy is NaN" without
/// naming the checkpoint; now refused on reading, naming the file.
#[test]
fn values_whose_energy_overflows_are_refused_on_resuming() {
    let i = interrupted();
    for (member, what) in
        [("species_0_ux.npy", "Lorentz factor overflows"), ("field_ex.npy", "energy overflows")]
    {
        let mut members = zip::members(&i.checkpoint).unwrap();
        let m = members.iter_mut().find(|m| m.name == member.as_bytes()).unwrap();
        let header = 10 + usize::from(u16::from_le_bytes([m.data[8], m.data[9]]));
        // The high half of the first float64 made 0x7fc00000: about 2.2e307.
        m.data[header + 4..header + 8].copy_from_slice(&[0, 0, 192, 127]);
        m.crc = zip::crc32(&m.data);
        let dir = scratch().join("run");
        lay_out(&dir, &i.files, &zip::write(&members));
        let e = run(&Deck::from_toml(&deck_text()).unwrap(), &dir, &opts(true), &mut Silent).unwrap_err();
        assert!(matches!(e, PicError::Checkpoint(_)), "{e:?}");
        assert!(e.to_string().contains(CHECKPOINT_FILE) && e.to_string().contains(what), "{e}");
    }
}

/// A NaN track time or energy in a checkpoint was resumed from; the run
/// failed only at its end, writing tracks.npz (or wrote NaN energies);
/// now refused on reading, naming the file.
#[test]
fn non_finite_track_times_and_energies_are_refused_on_resuming() {
    let i = interrupted();
    for (member, what) in
        [("tracks_0_times.npy", "times must be finite"), ("energy.npy", "energies must be finite")]
    {
        let mut members = zip::members(&i.checkpoint).unwrap();
        let m = members.iter_mut().find(|m| m.name == member.as_bytes()).unwrap();
        let header = 10 + usize::from(u16::from_le_bytes([m.data[8], m.data[9]]));
        m.data[header..header + 8].copy_from_slice(&f64::NAN.to_le_bytes());
        m.crc = zip::crc32(&m.data);
        let dir = scratch().join("run");
        lay_out(&dir, &i.files, &zip::write(&members));
        let e = run(&Deck::from_toml(&deck_text()).unwrap(), &dir, &opts(true), &mut Silent).unwrap_err();
        assert!(matches!(e, PicError::Checkpoint(_)), "{e:?}");
        assert!(e.to_string().contains(CHECKPOINT_FILE) && e.to_string().contains(what), "{e}");
    }
}

/// Sizes and counts that no run can hold are refused as deck errors by
/// parsing and validation (found by `decks_declaring_huge_sizes`; they
/// overflowed before the deck's size limits).
#[test]
fn huge_deck_sizes_are_refused() {
    let small =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("decks/small.toml")).unwrap();
    assert!(Deck::from_toml(&small).is_ok());
    for (table, key, value) in [
        ("grid", "nx", i64::MAX),
        ("grid", "ny", i64::MAX),
        ("time", "n_steps", i64::MAX),
        ("phase_space", "bins", 1 << 32),
        ("species", "ppc", 1 << 40),
    ] {
        let mut deck: toml::Table = small.parse().unwrap();
        let t = match deck.get_mut(table).unwrap() {
            toml::Value::Array(a) => a[0].as_table_mut().unwrap(),
            v => v.as_table_mut().unwrap(),
        };
        t.insert(key.into(), toml::Value::Integer(value));
        let text = toml::to_string(&deck).unwrap();
        check(&format!("{table}.{key} = {value}"), &text);
    }
    // 2^64 - 1, out of TOML's range, is read into the deck's sizes too.
    let text = small.replacen("nx = ", "nx = 18446744073709551615 # ", 1);
    assert_ne!(text, small);
    check("grid.nx = 2^64 - 1", &text);
}

/// Parsing and validating `text` is a deck error, not a panic.
fn check(what: &str, text: &str) {
    let out = std::panic::catch_unwind(|| Deck::from_toml(text));
    assert!(matches!(out, Ok(Err(PicError::Deck(_)))), "{what}: {:?}", out.map_err(|_| "a panic"));
}
