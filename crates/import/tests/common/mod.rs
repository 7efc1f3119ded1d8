//! Test support: the Python interpreter that writes the test files.
//!
//! The files are written by the tools the PIC codes' users have (the
//! openPMD-api, h5py) through the scripts in `tests/python/`, run with the
//! interpreter named by `COLLOP_TEST_PYTHON` (the virtual environment
//! `.ci/run` makes: numpy, h5py, openpmd-api). Without it the tests print
//! why and pass without checking, unless `CI_REQUIRE_PYTHON=1`, which makes
//! them fail.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use collop_core::population::{Method, PhaseSpaceDeck, Region, SubPopulationDeck};
use collop_import::ImportSpec;

/// The interpreter with `modules`, or `None` (after saying why) when the
/// tests may skip.
pub fn python(modules: &str) -> Option<PathBuf> {
    let require = std::env::var("CI_REQUIRE_PYTHON").is_ok_and(|v| v == "1");
    let skip = |why: String| {
        assert!(!require, "CI_REQUIRE_PYTHON=1 but {why}");
        eprintln!("SKIPPED (no test files): {why}; set COLLOP_TEST_PYTHON to a python with {modules}");
        None
    };
    let Some(py) = std::env::var_os("COLLOP_TEST_PYTHON") else {
        return skip("COLLOP_TEST_PYTHON is unset".into());
    };
    let py = PathBuf::from(py);
    let ok = Command::new(&py).args(["-c", &format!("import {modules}")]).status().is_ok_and(|s| s.success());
    if !ok {
        return skip(format!("{} cannot import {modules}", py.display()));
    }
    Some(py)
}

/// Runs the generator `script` (in tests/python) with `args`.
pub fn generate(py: &Path, script: &str, args: &[&str]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(script);
    let out = Command::new(py).arg(&path).args(args).output().expect("the interpreter runs");
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The specification the generators' expected histograms are made for:
/// a blob, the rest (regions exclusive in order) and the whole species, on
/// 21 x 21 cells over [-4, 4]^2 v_th (tests/python/particles.py).
pub fn spec(species: &str, tracks: usize) -> ImportSpec {
    let sub = |name: &str, method: Method, region: Option<Region>| SubPopulationDeck {
        name: name.into(),
        species: species.into(),
        method,
        target: None,
        region,
        fraction: 0.0,
        tracks,
        track_positions: false,
    };
    ImportSpec {
        seed: 3,
        phase_space: PhaseSpaceDeck { bins: 21, v_max: 4.0, i_start: 0 },
        sub_populations: vec![
            sub("blob", Method::Region, Some(Region::Blob { centre: [-1.0, 0.0], radius: 0.8 })),
            sub("ring", Method::Region, Some(Region::Blob { centre: [0.0, 0.0], radius: 10.0 })),
            sub("background", Method::All, None),
        ],
    }
}

/// Asserts that the imported datasets equal the generator's expected
/// histograms (numpy.histogram2d of the same velocities) and that the
/// tracks equal the particles' velocities.
pub fn check_against_expected(made: &Path, out: &Path, names: &[&str], dumps: usize) {
    for name in names {
        for k in 0..dumps {
            let file = collop_io::frame_file_name(k);
            let got = collop_io::read_npy_f64(out.join(name).join("f").join(&file)).expect("imported frame");
            let want = collop_io::read_npy_f64(made.join("expected").join(name).join(&file))
                .expect("expected frame");
            assert_eq!(got.shape(), want.shape(), "{name} {file}");
            // The same velocities on the same edges: equal up to the
            // rounding of the weights w / <w> (summed in another order by
            // numpy), 1e-12 relative; a particle in another cell would
            // differ by ~1.
            let total: f64 = want.iter().sum();
            assert!(total > 0.0, "{name} {file}: the expected histogram is empty");
            for (g, w) in got.iter().zip(want.iter()) {
                assert!((g - w).abs() <= 1e-12 * total.max(1.0), "{name} {file}: {g} != {w}");
            }
        }
    }
    let truth = collop_io::read_npz(made.join("truth.npz")).expect("truth.npz");
    let get = |k: &str| truth.iter().find(|(n, _)| n == k).map(|(_, a)| a.clone()).expect(k);
    let ids = get("ids");
    let vth = get("vth_c")[[0]];
    for name in names {
        let path = out.join(name).join(collop_io::TRACKS_FILE);
        let t = collop_io::TrackFile::open(&path).expect("track file").read_data().expect("tracks");
        assert!(!t.ids.is_empty(), "{name}: no tracks");
        assert_eq!(t.dumps(), dumps);
        assert!((t.v_th_c.expect("v_th_c") / vth - 1.0).abs() < 1e-12);
        for (col, id) in t.ids.iter().enumerate() {
            let row = ids.iter().position(|&x| x == *id as f64).expect("a tracked id exists");
            for k in 0..dumps {
                for (a, arr) in [("vx", &t.vx), ("vy", &t.vy), ("vz", &t.vz)] {
                    let want = get(a)[[k, row]];
                    let got = arr[[k, col]];
                    assert!(
                        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                        "{name} {a} id {id} dump {k}: {got} != {want}"
                    );
                }
            }
        }
    }
}

/// Asserts that the grid dataset `<out>/<name>/f` holds the generator's
/// `expected_grid` frames (the code's own histogram, absolute values) on
/// the range [-0.2, 0.2] x [-0.15, 0.15] c in units of the measured v_th.
pub fn check_grid(made: &Path, out: &Path, name: &str, vth: f64, dumps: usize) {
    let meta = collop_io::read_meta(out.join(name).join("f")).expect("args.yaml");
    assert!(
        (meta.grid.x_range[1] * vth - 0.2).abs() < 1e-12 && (meta.grid.y_range[0] * vth + 0.15).abs() < 1e-12
    );
    assert_eq!(meta.grid.shape(), (40, 30));
    for k in 0..dumps {
        let file = collop_io::frame_file_name(k);
        let got = collop_io::read_npy_f64(out.join(name).join("f").join(&file)).expect("frame");
        let want = collop_io::read_npy_f64(made.join("expected_grid").join(&file)).expect("expected");
        assert_eq!(got, want, "{file}: the code's histogram is copied exactly");
    }
}
