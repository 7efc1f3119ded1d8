//! The streaming writer: no clobbering, resuming without duplicates, frame
//! order, complete files only.

use std::fs;
use std::path::Path;

use collop_core::VelocityGrid;
use collop_io::{
    DatasetMeta, DatasetWriter, FrameOutcome, IoError, WriteMode, read_dataset_raw, write_dataset,
};
use ndarray::{Array2, Array3};

fn grid() -> VelocityGrid {
    VelocityGrid::new(3, 2, [-1.0, 1.0], [-1.0, 1.0]).unwrap()
}

fn meta() -> DatasetMeta {
    DatasetMeta::new(grid(), 0.5, 1, 0.5).with_extra("ppc", 16)
}

fn frame(value: f64) -> Array2<f64> {
    Array2::from_elem((3, 2), value)
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

#[test]
fn streaming_writer_produces_a_readable_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = DatasetWriter::create(dir.path(), &meta(), WriteMode::New).unwrap();
    assert!(dir.path().join("args.yaml").is_file(), "args.yaml is written at creation");
    assert_eq!(w.next_dump(), 1);
    assert!(w.is_empty());
    // A dump before i_start is allowed (readers ignore it).
    assert_eq!(w.write_frame(0, frame(9.0).view()).unwrap(), FrameOutcome::Written);
    for dump in 1..4 {
        assert_eq!(w.write_frame(dump, frame(dump as f64).view()).unwrap(), FrameOutcome::Written);
    }
    assert_eq!(w.len(), 3);
    assert_eq!(w.finish().unwrap(), 3);
    assert_eq!(
        file_names(dir.path()),
        ["000000.npy", "000001.npy", "000002.npy", "000003.npy", "args.yaml"],
        "no temporary file is left behind"
    );
    let data = read_dataset_raw(dir.path()).unwrap();
    assert_eq!(data.series.len(), 3);
    assert_eq!(data.series.frame(2), frame(3.0));
    assert_eq!(data.series.times(), vec![0.5, 1.0, 1.5]);
}

#[test]
fn a_new_writer_refuses_a_folder_holding_a_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let frames = Array3::from_elem((2, 3, 2), 1.0);
    write_dataset(dir.path(), &meta(), frames.view()).unwrap();
    let args_before = fs::read(dir.path().join("args.yaml")).unwrap();

    let mut other = meta();
    other.dt = 0.25;
    for m in [other, meta()] {
        let err = DatasetWriter::create(dir.path(), &m, WriteMode::New).unwrap_err();
        assert!(matches!(err, IoError::Clobber { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        // The fix in the user's terms (the flags), no Rust names.
        assert!(msg.contains("already holds a dataset") && msg.contains("--resume"), "{msg}");
        assert!(!msg.contains("WriteMode"), "{msg}");
    }
    let err = write_dataset(dir.path(), &meta(), frames.view()).unwrap_err();
    assert!(matches!(err, IoError::Clobber { .. }), "{err:?}");
    assert_eq!(fs::read(dir.path().join("args.yaml")).unwrap(), args_before, "untouched");
    assert_eq!(read_dataset_raw(dir.path()).unwrap().series.len(), 2);
}

#[test]
fn resume_refuses_different_metadata() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), &meta(), Array3::from_elem((2, 3, 2), 1.0).view()).unwrap();
    let mut other = meta();
    other.dt = 0.25;
    let err = DatasetWriter::create(dir.path(), &other, WriteMode::Resume).unwrap_err();
    assert!(matches!(err, IoError::Clobber { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("args.yaml") && msg.contains("`dt` is 0.5 there but 0.25 here"), "{msg}");

    let err =
        DatasetWriter::create(dir.path(), &meta().with_extra("ppc", 32), WriteMode::Resume).unwrap_err();
    assert!(err.to_string().contains("`ppc`"), "{err}");
    assert_eq!(read_dataset_raw(dir.path()).unwrap().meta.dt, 0.5);
}

#[test]
fn resume_appends_without_duplicating() {
    let dir = tempfile::tempdir().unwrap();
    // A run killed after two frames (the writer is dropped without finish).
    {
        let mut w = DatasetWriter::create(dir.path(), &meta(), WriteMode::New).unwrap();
        w.write_frame(1, frame(1.0).view()).unwrap();
        w.write_frame(2, frame(2.0).view()).unwrap();
    }
    // ... which also left a temporary file behind when it died.
    fs::write(dir.path().join(".000003.npy.collop-tmp-999-0"), b"half a frame").unwrap();

    let mut w = DatasetWriter::create(dir.path(), &meta(), WriteMode::Resume).unwrap();
    assert_eq!(w.next_dump(), 3);
    assert_eq!(w.len(), 2);
    // The restarted simulation re-emits dumps from its checkpoint on.
    for dump in 1..6 {
        let outcome = w.write_frame(dump, frame(10.0 * dump as f64).view()).unwrap();
        let expected = if dump < 3 { FrameOutcome::AlreadyPresent } else { FrameOutcome::Written };
        assert_eq!(outcome, expected, "dump {dump}");
    }
    assert_eq!(w.finish().unwrap(), 5);
    assert_eq!(
        file_names(dir.path()),
        ["000001.npy", "000002.npy", "000003.npy", "000004.npy", "000005.npy", "args.yaml"]
    );
    let data = read_dataset_raw(dir.path()).unwrap();
    assert_eq!(data.series.len(), 5);
    let firsts: Vec<f64> = (0..5).map(|k| data.series.frames[[k, 0, 0]]).collect();
    assert_eq!(firsts, vec![1.0, 2.0, 30.0, 40.0, 50.0], "old frames kept, new appended once");
}

#[test]
fn resume_of_an_empty_or_foreign_folder() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("new");
    let mut w = DatasetWriter::create(&sub, &meta(), WriteMode::Resume).unwrap();
    w.write_frame(1, frame(1.0).view()).unwrap();
    assert_eq!(w.finish().unwrap(), 1);

    // Frames without args.yaml: nothing says they belong to this dataset.
    let foreign = dir.path().join("foreign");
    fs::create_dir(&foreign).unwrap();
    ndarray_npy::write_npy(foreign.join("000001.npy"), &frame(1.0)).unwrap();
    for mode in [WriteMode::Resume, WriteMode::New] {
        let err = DatasetWriter::create(&foreign, &meta(), mode).unwrap_err();
        assert!(matches!(err, IoError::Clobber { .. }), "{err:?}");
        assert!(err.to_string().contains("foreign"), "{err}");
    }
    assert!(foreign.join("000001.npy").is_file());
}

#[test]
fn resume_refuses_existing_frames_with_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), &meta(), Array3::from_elem((3, 3, 2), 1.0).view()).unwrap();
    fs::remove_file(dir.path().join("000002.npy")).unwrap();
    let err = DatasetWriter::create(dir.path(), &meta(), WriteMode::Resume).unwrap_err();
    assert!(matches!(err, IoError::Clobber { .. }), "{err:?}");
    assert!(err.to_string().contains("skip dump 2"), "{err}");
}

#[test]
fn overwrite_replaces_the_whole_dataset() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), &meta(), Array3::from_elem((5, 3, 2), 1.0).view()).unwrap();
    fs::write(dir.path().join("notes.txt"), "keep me").unwrap();
    let mut other = meta();
    other.dt = 0.25;
    let mut w = DatasetWriter::create(dir.path(), &other, WriteMode::Overwrite).unwrap();
    w.write_frame(1, frame(7.0).view()).unwrap();
    w.write_frame(2, frame(8.0).view()).unwrap();
    w.finish().unwrap();
    let data = read_dataset_raw(dir.path()).unwrap();
    assert_eq!(data.series.len(), 2, "stale frames 3..5 of the old dataset are gone");
    assert_eq!(data.meta.dt, 0.25);
    assert_eq!(fs::read_to_string(dir.path().join("notes.txt")).unwrap(), "keep me");
}

#[test]
fn frames_must_come_in_order_once_and_before_i_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = meta();
    m.i_end = Some(3);
    let mut w = DatasetWriter::create(dir.path(), &m, WriteMode::New).unwrap();
    let err = w.write_frame(2, frame(1.0).view()).unwrap_err();
    assert!(matches!(err, IoError::BadDump { dump: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("dump 1 comes next"), "{err}");
    w.write_frame(1, frame(1.0).view()).unwrap();
    let err = w.write_frame(1, frame(1.0).view()).unwrap_err();
    assert!(err.to_string().contains("already written"), "{err}");
    w.write_frame(2, frame(1.0).view()).unwrap();
    let err = w.write_frame(3, frame(1.0).view()).unwrap_err();
    assert!(err.to_string().contains("i_end = 3"), "{err}");
    assert_eq!(w.finish().unwrap(), 2);
}

#[test]
fn bad_frames_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = DatasetWriter::create(dir.path(), &meta(), WriteMode::New).unwrap();
    let err = w.write_frame(1, Array2::<f64>::ones((2, 3)).view()).unwrap_err();
    assert!(matches!(err, IoError::GridMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("000001.npy") && err.to_string().contains("[2, 3]"), "{err}");
    let mut nan = frame(1.0);
    nan[[2, 1]] = f64::NAN;
    let err = w.write_frame(1, nan.view()).unwrap_err();
    assert!(matches!(err, IoError::NonFinite { cell: (2, 1), .. }), "{err:?}");
    let mut neg = frame(1.0);
    neg[[0, 1]] = -3.0;
    let err = w.write_frame(1, neg.view()).unwrap_err();
    assert!(matches!(err, IoError::Negative { cell: (0, 1), .. }), "{err:?}");
    assert_eq!(file_names(dir.path()), ["args.yaml"]);
    assert_eq!(w.next_dump(), 1);
    // A strided view is written in logical order.
    let wide = Array2::from_shape_fn((3, 4), |(i, j)| (10 * i + j) as f64);
    let strided = wide.slice(ndarray::s![.., ..;2]);
    w.write_frame(1, strided).unwrap();
    assert_eq!(read_dataset_raw(dir.path()).unwrap().series.frame(0), strided);
}

#[test]
fn finish_reports_incomplete_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let w = DatasetWriter::create(dir.path(), &meta(), WriteMode::New).unwrap();
    let err = w.finish().unwrap_err();
    assert!(matches!(err, IoError::NoFrames { .. }), "{err:?}");

    let mut m = meta();
    m.i_end = Some(4);
    let mut w = DatasetWriter::create(dir.path().join("b"), &m, WriteMode::New).unwrap();
    w.write_frame(1, frame(1.0).view()).unwrap();
    let err = w.finish().unwrap_err();
    assert!(matches!(err, IoError::MissingFrame { dump: 2, .. }), "{err:?}");
}

#[test]
fn invalid_metadata_is_refused_before_the_folder_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("run");
    let mut m = meta();
    m.dt = -1.0;
    let err = DatasetWriter::create(&target, &m, WriteMode::New).unwrap_err();
    assert!(matches!(err, IoError::BadKey { ref key, .. } if key == "dt"), "{err:?}");
    assert!(err.to_string().contains("args.yaml") && err.to_string().contains("`dt`"), "{err}");
    assert!(!target.exists());
    let err = DatasetWriter::create(&target, &meta().with_extra("i_start", 3), WriteMode::New).unwrap_err();
    assert!(matches!(err, IoError::BadKey { ref key, .. } if key == "i_start"), "{err:?}");
}

/// `check` refuses what `create` refuses and writes nothing, not even the
/// folder: a writer of several datasets checks them all first.
#[test]
fn check_refuses_like_create_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent").join("f");
    for mode in [WriteMode::New, WriteMode::Overwrite, WriteMode::Resume] {
        DatasetWriter::check(&absent, &meta(), mode).unwrap();
    }
    assert!(!dir.path().join("absent").exists(), "check created the folder");

    let frames = Array3::from_elem((2, 3, 2), 1.0);
    write_dataset(dir.path(), &meta(), frames.view()).unwrap();
    let before = file_names(dir.path());
    let mut other = meta();
    other.dt = 0.25;
    let e = DatasetWriter::check(dir.path(), &meta(), WriteMode::New).unwrap_err().to_string();
    assert!(e.contains("already holds a dataset"), "{e}");
    let e = DatasetWriter::check(dir.path(), &other, WriteMode::Resume).unwrap_err().to_string();
    assert!(e.contains("holds a different dataset"), "{e}");
    DatasetWriter::check(dir.path(), &meta(), WriteMode::Overwrite).unwrap();
    assert_eq!(file_names(dir.path()), before, "check removed or wrote a file");
}
