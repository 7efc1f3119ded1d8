//! Bad input: each refusal names the file and the fix.

mod common;

use collop_import::input::{InputOptions, detect, open_input};
use collop_import::openpmd::{OpenPmdSource, Units};
use collop_import::{ImportError, ImportOptions, ParticleSource, Silent, import_particles};

fn import(series: &std::path::Path, out: &std::path::Path) -> Result<(), ImportError> {
    let s = series.to_path_buf();
    let open = move |sp: &str| {
        Ok(Box::new(OpenPmdSource::open(&s, sp, Units::Si { omega_p: 5.0e12 })?) as Box<dyn ParticleSource>)
    };
    import_particles(&open, out, &ImportOptions::new(common::spec("electrons", 0)), &mut Silent).map(|_| ())
}

/// ADIOS2 output by name or by its bytes, a truncated dump, a missing
/// iteration (unequal spacing), a missing record.
#[test]
fn bad_input_is_named_with_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    // ADIOS2: a .bp directory, and a file without the HDF5 signature. No Python needed.
    let bp = dir.path().join("diag1.bp");
    std::fs::create_dir_all(&bp).expect("mkdir");
    let e = detect(&bp).expect_err("bp").to_string();
    assert!(e.contains("ADIOS2") && e.contains("openpmd-pipe --infile") && e.contains("diag1.bp"), "{e}");
    let fake = dir.path().join("data_100.h5");
    std::fs::write(&fake, b"ADIOS-BP v5 ... not HDF5").expect("write");
    let e = open_input(&fake, "electrons", &InputOptions { omega_p: Some(1.0), ..Default::default() })
        .err()
        .expect("not hdf5")
        .to_string();
    assert!(e.contains("data_100.h5") && e.contains("not an HDF5 file") && e.contains("openpmd-pipe"), "{e}");

    let Some(py) = common::python("numpy, h5py, openpmd_api") else { return };
    let made = dir.path().join("gen");
    common::generate(&py, "make_openpmd.py", &[made.to_str().expect("utf-8")]);
    let series = made.join("series");
    // Truncated: the third dump cut in half.
    let victim = series.join("data_20.h5");
    let bytes = std::fs::read(&victim).expect("read");
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).expect("truncate");
    let e = import(&series, &dir.path().join("o1")).expect_err("truncated").to_string();
    assert!(e.contains("data_20.h5") && e.contains("truncated"), "{e}");
    // Missing dump: the times are no longer equally spaced.
    std::fs::remove_file(&victim).expect("rm");
    let e = import(&series, &dir.path().join("o2")).expect_err("gap").to_string();
    assert!(e.contains("inconsistent iterations") && e.contains("--dumps"), "{e}");
    assert!(!dir.path().join("o2").exists(), "refused before anything is written");
}
