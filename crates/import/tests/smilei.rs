//! Smilei output written with h5py in Smilei's layouts
//! (tests/python/make_smilei.py) imported and checked against numpy.

mod common;

use collop_import::grid::{GridOptions, SmileiBinning, import_grid};
use collop_import::openpmd::open_smilei_tracks;
use collop_import::{ImportOptions, ParticleSource, Silent, import_particles};

/// The disordered track file: particles matched by id across dumps (never
/// by position), momenta in m_e c (its unitSI not applied), times in
/// 1/omega_r: numpy's histograms and the particles' velocities as tracks.
#[test]
fn smilei_tracks_equal_numpy_binning() {
    let Some(py) = common::python("numpy, h5py") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let made = dir.path().join("gen");
    common::generate(&py, "make_smilei.py", &[made.to_str().expect("utf-8")]);
    let out = dir.path().join("out");
    let results = made.clone();
    let open = move |s: &str| Ok(Box::new(open_smilei_tracks(&results, s, 1.0)?) as Box<dyn ParticleSource>);
    let opts = ImportOptions::new(common::spec("electrons", 30));
    let report = import_particles(&open, &out, &opts, &mut Silent).expect("import");
    // Dumps every 10 steps of 0.05 / omega_r.
    assert!((report.dt - 0.5).abs() < 1e-12, "{}", report.dt);
    common::check_against_expected(&made, &out, &["blob", "ring", "background"], 5);
    let e = open_smilei_tracks(&made, "ions", 1.0).err().expect("no ions").to_string();
    assert!(e.contains("TrackParticlesDisordered_ions.h5") && e.contains("DiagTrackParticles"), "{e}");
}

/// ParticleBinning over px, py: Smilei's histogram copied exactly, times
/// from the time step of the track file beside it (0.05 / omega_r, every 10
/// steps), v_th measured from the first frame within 3 % of the sampled 0.05 c.
#[test]
fn smilei_particle_binning_import() {
    let Some(py) = common::python("numpy, h5py") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let made = dir.path().join("gen");
    common::generate(&py, "make_smilei.py", &[made.to_str().expect("utf-8")]);
    let src = SmileiBinning::open(&made.join("ParticleBinning0.h5"), None, 1.0).expect("binning");
    let opts = GridOptions { source_label: "test".into(), ..GridOptions::new("electrons") };
    let out = dir.path().join("out");
    let (vth, dt) = import_grid(&src, &out, &opts, &mut Silent).expect("import");
    assert!((dt - 0.5).abs() < 1e-12, "{dt}");
    assert!((vth / 0.05 - 1.0).abs() < 0.03, "{vth}");
    common::check_grid(&made, &out, "electrons", vth, 5);
}
