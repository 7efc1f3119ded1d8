//! OSIRIS RAW dumps and TRACKS files written with h5py in OSIRIS' layouts
//! (tests/python/make_osiris.py) imported and checked against numpy's
//! binning of the same particles.

mod common;

use std::path::PathBuf;

use collop_import::grid::{GridOptions, OsirisPhaseSpace, import_grid};
use collop_import::osiris::{OsirisRaw, OsirisTracks};
use collop_import::{ImportOptions, ParticleSource, Silent, import_particles};

/// RAW dumps of both layouts (cell size in /SIMULATION or at the root) and
/// the TRACKS file of the same particles give numpy's histograms and the
/// particles' velocities as tracks; the cell size and v_th give dx/lambda_D.
#[test]
fn osiris_raw_and_tracks_equal_numpy_binning() {
    let Some(py) = common::python("numpy, h5py") else { return };
    for layout in ["new", "old"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let made = dir.path().join("gen");
        common::generate(&py, "make_osiris.py", &[made.to_str().expect("utf-8"), "--layout", layout]);
        let out = dir.path().join("raw");
        let ms: PathBuf = made.clone();
        let open = move |s: &str| Ok(Box::new(OsirisRaw::open(&ms, s)?) as Box<dyn ParticleSource>);
        let mut opts = ImportOptions::new(common::spec("electrons", 40));
        opts.chunk_len = 6000;
        let report = import_particles(&open, &out, &opts, &mut Silent).expect("RAW import");
        assert!((report.dt - 0.5).abs() < 1e-12);
        common::check_against_expected(&made, &out, &["blob", "ring", "background"], 5);
        let vth = report.species[0].1;
        let pic = collop_io::read_pic_parameters(out.join("blob/f/args.yaml")).expect("args.yaml");
        // dx = 3.2 / 64 c/omega_p and lambda_D = v_th / omega_p.
        let dx = pic.dx_over_debye.expect("dx_over_debye from the files");
        assert!((dx - 0.05 / vth).abs() < 1e-12 * dx, "{dx}");
        assert!(!report.missing_parameters.contains(&"dx_over_debye"));

        let tracks = made.join("MS/TRACKS/electrons-tracks.h5");
        let out = dir.path().join("tracks");
        let open = move |_: &str| Ok(Box::new(OsirisTracks::open(&tracks)?) as Box<dyn ParticleSource>);
        import_particles(&open, &out, &opts, &mut Silent).expect("TRACKS import");
        common::check_against_expected(&made, &out, &["blob", "ring", "background"], 5);
    }
}

/// A missing species names the species present and the fix.
#[test]
fn osiris_missing_species_is_named() {
    let Some(py) = common::python("numpy, h5py") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let made = dir.path().join("gen");
    common::generate(&py, "make_osiris.py", &[made.to_str().expect("utf-8")]);
    let e = OsirisRaw::open(&made, "ions").err().expect("no ions").to_string();
    assert!(e.contains("RAW/ions") && e.contains("species present: electrons"), "{e}");
}

/// The p1p2 phase spaces: OSIRIS' histogram copied exactly (transposed to
/// axis 0 = p1), on its own range in units of v_th measured from the first
/// frame: 0.05 c sampled, within 3 % (2.2 % sampling at 3 standard errors,
/// the binning corrected by Sheppard's term).
#[test]
fn osiris_phase_space_import() {
    let Some(py) = common::python("numpy, h5py") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let made = dir.path().join("gen");
    common::generate(&py, "make_osiris.py", &[made.to_str().expect("utf-8")]);
    let src = OsirisPhaseSpace::open(&made, "electrons").expect("phase spaces");
    let opts = GridOptions { source_label: "test".into(), ..GridOptions::new("electrons") };
    let out = dir.path().join("out");
    let (vth, dt) = import_grid(&src, &out, &opts, &mut Silent).expect("import");
    assert!((dt - 0.5).abs() < 1e-12);
    assert!((vth / 0.05 - 1.0).abs() < 0.03, "{vth}");
    common::check_grid(&made, &out, "electrons", vth, 5);
}
