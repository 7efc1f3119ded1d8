//! Writing datasets and reading them back: values, grid, times, metadata,
//! normalisation, stored element types.

use std::fs;

use collop_core::VelocityGrid;
use collop_io::{
    DatasetMeta, MetaValue, frame_file_name, read_dataset, read_dataset_raw, read_meta, write_dataset,
};
use ndarray::{Array2, Array3, ShapeBuilder};

/// Deterministic positive "counts" on an awkward (odd x even) grid.
fn counts(n_frames: usize, nx: usize, ny: usize) -> Array3<f64> {
    Array3::from_shape_fn((n_frames, nx, ny), |(k, i, j)| {
        ((7 * i + 3 * j + 11 * k) % 13) as f64 + f64::from(u8::from(i == j))
    })
}

fn meta(grid: VelocityGrid) -> DatasetMeta {
    DatasetMeta::new(grid, 0.25, 2, 0.5)
        .with_v_range_c([-0.03, 0.03, -0.02, 0.02])
        .with_extra("ppc", 64)
        .with_extra("vth_c", 0.01)
        .with_extra("shape_order", 1)
        .with_extra("dx_lambda_d", 1.0)
        .with_extra("fdist_name", "blob")
}

#[test]
fn f64_dataset_round_trips_with_reference_normalisation() {
    let dir = tempfile::tempdir().unwrap();
    let grid = VelocityGrid::new(5, 4, [-3.0, 3.0], [-2.0, 2.0]).unwrap();
    let m = meta(grid);
    let raw = counts(4, 5, 4);
    write_dataset(dir.path(), &m, raw.view()).unwrap();

    let data = read_dataset(dir.path()).unwrap();
    assert_eq!(data.path, dir.path());
    assert!(data.series.grid.same_as(&grid));
    assert_eq!(data.series.len(), 4);
    assert_eq!(data.series.first_dump, 2);
    assert_eq!(data.series.dt, 0.25);
    assert_eq!(data.series.times(), vec![0.5, 0.75, 1.0, 1.25]);
    let first_sum: f64 = raw.index_axis(ndarray::Axis(0), 0).sum();
    assert_eq!(data.norm, first_sum);
    assert!((data.series.frame(0).sum() - 1.0).abs() < 1e-14);
    for ((k, i, j), &v) in raw.indexed_iter() {
        assert!((data.series.frames[[k, i, j]] - v / first_sum).abs() < 1e-15);
    }

    // Metadata, PIC parameters included, come back as numbers.
    assert_eq!(data.meta.v_range_c, Some([-0.03, 0.03, -0.02, 0.02]));
    assert_eq!(data.meta.extra["ppc"], MetaValue::Int(64));
    assert_eq!(data.meta.extra["vth_c"], MetaValue::Float(0.01));
    assert_eq!(data.meta.extra["dx_lambda_d"].as_f64(), Some(1.0));
    assert_eq!(data.meta.extra["fdist_name"].as_str(), Some("blob"));
    let mut expected = m.clone();
    expected.extra.insert("v_range_units".into(), "[v_th]".into());
    expected.extra.insert("v_range_c_units".into(), "[c]".into());
    assert_eq!(data.meta, expected);

    let raw_back = read_dataset_raw(dir.path()).unwrap();
    assert_eq!(raw_back.norm, 1.0);
    assert_eq!(raw_back.series.frames, raw);
    assert_eq!(raw_back.frame_path(3), dir.path().join("000003.npy"));
}

#[test]
fn frames_stored_as_f32_integers_or_fortran_order_read_as_f64() {
    let dir = tempfile::tempdir().unwrap();
    let grid = VelocityGrid::new(3, 4, [-1.0, 1.0], [-1.0, 1.0]).unwrap();
    let raw = counts(6, 3, 4);
    write_dataset(dir.path(), &meta(grid), raw.view()).unwrap();
    let frame = |k: usize| raw.index_axis(ndarray::Axis(0), k).to_owned();
    let path = |k: usize| dir.path().join(frame_file_name(2 + k));

    // Replace frames by other element types, written with ndarray-npy directly.
    ndarray_npy::write_npy(path(1), &frame(1).mapv(|v| v as f32)).unwrap();
    ndarray_npy::write_npy(path(2), &frame(2).mapv(|v| v as i64)).unwrap();
    ndarray_npy::write_npy(path(3), &frame(3).mapv(|v| v as u16)).unwrap();
    ndarray_npy::write_npy(path(4), &frame(4).mapv(|v| v as i8)).unwrap();
    let mut fortran = Array2::<f64>::zeros((3, 4).f());
    fortran.assign(&frame(5));
    ndarray_npy::write_npy(path(5), &fortran).unwrap();
    assert!(String::from_utf8_lossy(&fs::read(path(5)).unwrap()[..80]).contains("'fortran_order': True"));
    assert!(String::from_utf8_lossy(&fs::read(path(2)).unwrap()[..80]).contains("<i8"));

    let back = read_dataset_raw(dir.path()).unwrap();
    assert_eq!(back.series.frames, raw, "every dtype and layout reads back to the same values");
    let norm = read_dataset(dir.path()).unwrap();
    assert_eq!(norm.norm, frame(0).sum());
}

#[test]
fn parent_folder_args_file_and_frames_below_i_start() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    let grid = VelocityGrid::square(3, 2.0).unwrap();
    let raw = counts(3, 3, 3);
    write_dataset(&f, &meta(grid), raw.view()).unwrap();
    // Dumps 0 and 1 precede i_start = 2: ignored, even when unreadable.
    fs::write(f.join("000000.npy"), b"not an array").unwrap();
    ndarray_npy::write_npy(f.join("000001.npy"), &ndarray::Array1::<f64>::zeros(7)).unwrap();
    // Files that are not frames are ignored too.
    fs::write(f.join("notes.npy"), b"x").unwrap();
    fs::write(f.join("5.npy"), b"x").unwrap();

    let via_parent = read_dataset(dir.path()).unwrap();
    let via_folder = read_dataset(&f).unwrap();
    let via_args = read_dataset(f.join("args.yaml")).unwrap();
    assert_eq!(via_parent.path, f);
    assert_eq!(via_parent, via_folder);
    assert_eq!(via_parent, via_args);
    assert_eq!(via_parent.series.len(), 3);
    assert_eq!(read_meta(dir.path()).unwrap(), via_parent.meta);
}

#[test]
fn i_end_limits_the_frames_used() {
    let dir = tempfile::tempdir().unwrap();
    let grid = VelocityGrid::square(2, 1.0).unwrap();
    let mut m = meta(grid);
    m.i_end = Some(4);
    let raw = counts(2, 2, 2);
    write_dataset(dir.path(), &m, raw.view()).unwrap();
    let text = fs::read_to_string(dir.path().join("args.yaml")).unwrap();
    assert!(text.contains("i_end: 4\n"), "{text}");
    // A later dump on disk is outside [i_start, i_end) and not read.
    ndarray_npy::write_npy(dir.path().join("000004.npy"), &Array2::<f64>::ones((2, 2))).unwrap();
    let data = read_dataset_raw(dir.path()).unwrap();
    assert_eq!(data.meta.i_end, Some(4));
    assert_eq!(data.series.len(), 2);
    assert_eq!(data.series.frames, raw);
}

#[test]
fn args_yaml_is_plain_yaml_with_reference_keys() {
    let dir = tempfile::tempdir().unwrap();
    let grid = VelocityGrid::square(3, 5.0).unwrap();
    write_dataset(dir.path(), &meta(grid), counts(1, 3, 3).view()).unwrap();
    let text = fs::read_to_string(dir.path().join("args.yaml")).unwrap();
    for line in [
        "dt: 0.25",
        "i_start: 2",
        "i_end: -1",
        "n_bins: 3",
        "t_start: 0.5",
        "ppc: 64",
        "vth_c: 0.01",
        "shape_order: 1",
        "dx_lambda_d: 1.0",
        "v_range_units: \"[v_th]\"",
        "v_range_c_units: \"[c]\"",
    ] {
        assert!(text.lines().any(|l| l == line), "missing line {line:?} in\n{text}");
    }
    assert!(text.contains("v_range:\n  - -5.0\n  - 5.0\n  - -5.0\n  - 5.0\n"), "{text}");
    assert!(text.contains("v_range_c:\n  - -0.03\n"), "{text}");
    assert!(!text.contains('{') && !text.contains("---"), "block style only:\n{text}");
}
