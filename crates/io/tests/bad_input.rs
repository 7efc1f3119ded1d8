//! Every kind of bad dataset gives its own error variant, and a message that
//! names the file (and the key or cell) at fault.

use std::fs;
use std::path::{Path, PathBuf};

use collop_io::{IoError, read_dataset, read_dataset_raw};
use ndarray::{Array2, Array3};

const ARGS: &str =
    "dt: 0.5\ni_start: 2\ni_end: -1\nn_bins: [3, 4]\nv_range: [-1.0, 1.0, -2.0, 2.0]\nt_start: 1.0\n";

fn ones() -> Array2<f64> {
    Array2::ones((3, 4))
}

/// A dataset folder with `args` as args.yaml and the given frames.
fn make(args: &str, frames: &[(usize, Array2<f64>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("args.yaml"), args).unwrap();
    for (dump, frame) in frames {
        ndarray_npy::write_npy(frame_path(dir.path(), *dump), frame).unwrap();
    }
    dir
}

fn frame_path(dir: &Path, dump: usize) -> PathBuf {
    dir.join(format!("{dump:06}.npy"))
}

fn good_frames() -> Vec<(usize, Array2<f64>)> {
    (2..6).map(|d| (d, ones())).collect()
}

/// The error, after checking its message names `must_name` (all of them).
fn error_naming(dir: &Path, must_name: &[&str]) -> IoError {
    let err = read_dataset(dir).expect_err("bad input must be rejected");
    let msg = err.to_string();
    for name in must_name {
        assert!(msg.contains(name), "message {msg:?} does not name {name:?}");
    }
    err
}

#[test]
fn the_good_base_case_reads() {
    let dir = make(ARGS, &good_frames());
    assert_eq!(read_dataset(dir.path()).unwrap().series.len(), 4);
}

#[test]
fn missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("no_such_run");
    let err = error_naming(&gone, &["no_such_run", "not an existing folder"]);
    assert!(matches!(err, IoError::MissingFolder { ref path } if *path == gone), "{err:?}");
    assert_eq!(err.path(), gone);
}

#[test]
fn missing_args_yaml() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("f")).unwrap();
    ndarray_npy::write_npy(frame_path(dir.path(), 2), &ones()).unwrap();
    let err = error_naming(dir.path(), &[&dir.path().display().to_string(), "no args.yaml", "f/"]);
    assert!(matches!(err, IoError::MissingArgs { .. }), "{err:?}");
}

#[test]
fn missing_key() {
    let dir = make(&ARGS.replace("dt: 0.5\n", ""), &good_frames());
    let err = error_naming(dir.path(), &["args.yaml", "`dt`", "missing"]);
    assert!(matches!(err, IoError::MissingKey { ref key, .. } if key == "dt"), "{err:?}");
    let dir = make(&ARGS.replace("v_range: [-1.0, 1.0, -2.0, 2.0]\n", ""), &good_frames());
    let err = error_naming(dir.path(), &["`v_range`"]);
    assert!(matches!(err, IoError::MissingKey { ref key, .. } if key == "v_range"), "{err:?}");
}

#[test]
fn mistyped_key() {
    let dir = make(&ARGS.replace("n_bins: [3, 4]", "n_bins: fifty"), &good_frames());
    let err = error_naming(dir.path(), &["args.yaml", "`n_bins`", "\"fifty\""]);
    assert!(matches!(err, IoError::BadKey { ref key, .. } if key == "n_bins"), "{err:?}");
    let dir = make(&ARGS.replace("i_start: 2", "i_start: [2]"), &good_frames());
    let err = error_naming(dir.path(), &["`i_start`", "non-negative integer"]);
    assert!(matches!(err, IoError::BadKey { ref key, .. } if key == "i_start"), "{err:?}");
}

#[test]
fn malformed_yaml() {
    let dir = make("dt: 0.5\nv_range: [1, 2\n  : :\n", &good_frames());
    let err = error_naming(dir.path(), &["args.yaml", "malformed YAML", "line"]);
    assert!(matches!(err, IoError::Yaml { .. }), "{err:?}");
}

#[test]
fn non_positive_dt() {
    for dt in ["0", "-0.5", "0.0"] {
        let dir = make(&ARGS.replace("dt: 0.5", &format!("dt: {dt}")), &good_frames());
        let err = error_naming(dir.path(), &["args.yaml", "`dt`", "> 0"]);
        assert!(matches!(err, IoError::BadKey { ref key, .. } if key == "dt"), "{err:?}");
    }
}

#[test]
fn no_frames() {
    let dir = make(ARGS, &[]);
    let err = error_naming(dir.path(), &["no frames", "dump 2", "found no NNNNNN.npy file"]);
    assert!(matches!(err, IoError::NoFrames { i_start: 2, .. }), "{err:?}");
    // Only frames below i_start.
    let dir = make(ARGS, &[(0, ones()), (1, ones())]);
    let err = error_naming(dir.path(), &["found dumps 0..=1 only", "i_start"]);
    assert!(matches!(err, IoError::NoFrames { .. }), "{err:?}");
}

#[test]
fn gap_in_frame_numbering() {
    let frames: Vec<_> = [2, 3, 5, 6].into_iter().map(|d| (d, ones())).collect();
    let dir = make(ARGS, &frames);
    let err = error_naming(dir.path(), &["000004.npy", "dump 4", "missing"]);
    assert!(matches!(err, IoError::MissingFrame { dump: 4, .. }), "{err:?}");
    // The first used dump itself is missing.
    let dir = make(ARGS, &[(3, ones()), (4, ones())]);
    let err = error_naming(dir.path(), &["000002.npy"]);
    assert!(matches!(err, IoError::MissingFrame { dump: 2, .. }), "{err:?}");
    // i_end asks for more frames than there are.
    let dir = make(&ARGS.replace("i_end: -1", "i_end: 8"), &good_frames());
    let err = error_naming(dir.path(), &["000006.npy"]);
    assert!(matches!(err, IoError::MissingFrame { dump: 6, .. }), "{err:?}");
}

#[test]
fn frames_of_different_shapes() {
    let mut frames = good_frames();
    frames[2].1 = Array2::ones((4, 3));
    let dir = make(ARGS, &frames);
    let err = error_naming(dir.path(), &["000004.npy", "000002.npy", "[4, 3]", "[3, 4]"]);
    assert!(matches!(err, IoError::ShapeMismatch { .. }), "{err:?}");
    assert_eq!(err.path(), frame_path(dir.path(), 4));
}

#[test]
fn shape_not_matching_n_bins() {
    let dir = make(&ARGS.replace("n_bins: [3, 4]", "n_bins: 3"), &good_frames());
    let err = error_naming(dir.path(), &["000002.npy", "[3, 4]", "n_bins = [3, 3]"]);
    assert!(matches!(err, IoError::GridMismatch { n_bins: (3, 3), .. }), "{err:?}");
}

#[test]
fn non_finite_values() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut frames = good_frames();
        frames[1].1[[1, 2]] = bad;
        let dir = make(ARGS, &frames);
        let err = error_naming(dir.path(), &["000003.npy", "cell (1, 2)", &bad.to_string()]);
        assert!(matches!(err, IoError::NonFinite { cell: (1, 2), .. }), "{err:?}");
    }
}

#[test]
fn negative_values() {
    let mut frames = good_frames();
    frames[3].1[[2, 0]] = -1.5;
    let dir = make(ARGS, &frames);
    let err = error_naming(dir.path(), &["000005.npy", "cell (2, 0)", "-1.5"]);
    assert!(matches!(err, IoError::Negative { cell: (2, 0), value: -1.5, .. }), "{err:?}");
}

#[test]
fn corrupt_or_truncated_npy() {
    let dir = make(ARGS, &good_frames());
    let victim = frame_path(dir.path(), 3);
    let bytes = fs::read(&victim).unwrap();
    fs::write(&victim, &bytes[..bytes.len() - 5]).unwrap();
    let err = error_naming(dir.path(), &["000003.npy", "corrupt", "EOF"]);
    assert!(matches!(err, IoError::Npy { .. }), "{err:?}");

    fs::write(&victim, b"\x93NUMPY garbage").unwrap();
    let err = error_naming(dir.path(), &["000003.npy", "not a readable .npy"]);
    assert!(matches!(err, IoError::Npy { .. }), "{err:?}");
}

#[test]
fn unsupported_element_type() {
    let dir = make(ARGS, &good_frames());
    ndarray_npy::write_npy(frame_path(dir.path(), 4), &Array2::from_elem((3, 4), true)).unwrap();
    let err = error_naming(dir.path(), &["000004.npy", "unsupported element type"]);
    assert!(matches!(err, IoError::UnsupportedDtype { .. }), "{err:?}");
}

#[test]
fn non_2d_arrays() {
    let dir = make(ARGS, &good_frames());
    ndarray_npy::write_npy(frame_path(dir.path(), 2), &Array3::<f64>::ones((1, 3, 4))).unwrap();
    let err = error_naming(dir.path(), &["000002.npy", "2D", "[1, 3, 4]"]);
    assert!(matches!(err, IoError::WrongNdim { .. }), "{err:?}");
    ndarray_npy::write_npy(frame_path(dir.path(), 2), &ndarray::Array1::<f64>::ones(12)).unwrap();
    let err = error_naming(dir.path(), &["000002.npy", "[12]"]);
    assert!(matches!(err, IoError::WrongNdim { .. }), "{err:?}");
}

#[test]
fn first_frame_summing_to_zero() {
    let mut frames = good_frames();
    frames[0].1.fill(0.0);
    let dir = make(ARGS, &frames);
    let err = error_naming(dir.path(), &["000002.npy", "sums to 0", "without normalisation"]);
    assert!(matches!(err, IoError::ZeroFirstFrame { .. }), "{err:?}");
    // Reading without normalisation is still possible.
    assert_eq!(read_dataset_raw(dir.path()).unwrap().series.frame(0).sum(), 0.0);
}
