//! The published reference data (Carvalho et al. 2026), when it is present:
//! the repository is checked out beside a `shared` folder holding
//! `data/carvalho2026`, or `COLLOP_SHARED_DATA` names that `data` folder (or
//! the `carvalho2026` folder itself). Skipped with a message otherwise.

use std::path::PathBuf;

use collop_core::VelocityGrid;
use collop_io::{read_dataset, read_dataset_raw, write_dataset};

const POPULATIONS: [&str; 2] = ["normal_-2_0", "ring_normal_2_0.2"];

fn reference_data() -> Option<PathBuf> {
    collop_io::locate_reference_data(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn both_reference_populations_read_as_published() {
    let Some(root) = reference_data() else { return };
    for population in POPULATIONS {
        // The parent folder: the reader finds f/args.yaml.
        let data = read_dataset(root.join(population)).unwrap();
        assert!(data.path.ends_with(format!("{population}/f")), "{:?}", data.path);
        let s = &data.series;
        assert_eq!(s.len(), 96, "{population}: dumps 5..=100");
        assert_eq!(s.first_dump, 5);
        assert_eq!(data.meta.i_start, 5);
        assert_eq!(data.meta.i_end, None);
        assert_eq!(s.grid, VelocityGrid::square(51, 5.0).unwrap());
        assert_eq!(s.dt, 0.9978696);
        assert_eq!(s.t_start, 4.989348);
        assert!((s.time(95) - (4.989348 + 95.0 * 0.9978696)).abs() < 1e-12);
        assert_eq!(data.meta.v_range_c, Some([-0.05, 0.05, -0.05, 0.05]));
        assert_eq!(data.meta.extra["fdist_name"].as_str(), Some(population));
        assert!((s.frame(0).sum() - 1.0).abs() < 1e-12, "{population}: first frame sums to 1");

        // The divisor is the raw particle count of dump 5 (300,000 per the data's README).
        let raw = read_dataset_raw(root.join(population).join("f")).unwrap();
        let count: f64 = raw.series.frame(0).sum();
        assert_eq!(data.norm, count);
        assert!((2.9e5..=3.0e5).contains(&count), "{population}: {count} particles at dump 5");
        assert!(raw.series.frames.iter().all(|v| v.fract() == 0.0), "raw frames are counts");
        // Particles only leave the +-5 v_th window: later frames hold no more.
        let last: f64 = raw.series.frame(95).sum();
        assert!(last <= count && last > 0.99 * count, "{population}: {last} of {count}");
        for (k, (a, b)) in data.series.frames.iter().zip(raw.series.frames.iter()).enumerate().step_by(997) {
            assert!((a * count - b).abs() <= 1e-9 * b.max(1.0), "element {k}");
        }
    }
}

#[test]
fn reference_data_round_trips_through_our_writer() {
    let Some(root) = reference_data() else { return };
    let original = read_dataset_raw(root.join(POPULATIONS[1])).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), &original.meta, original.series.frames.view()).unwrap();
    let copy = read_dataset_raw(dir.path()).unwrap();
    assert_eq!(copy.meta, original.meta, "every args.yaml key survives, unknown ones included");
    assert_eq!(copy.series, original.series);
}
