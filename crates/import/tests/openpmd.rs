//! openPMD series written by the openPMD-api (tests/python/make_openpmd.py)
//! imported and checked against numpy's binning of the same particles.

mod common;

use collop_import::openpmd::{OpenPmdSource, Units};
use collop_import::{ImportError, ImportOptions, ParticleSource, Silent, import_particles};

const OMEGA_P: f64 = 5.0e12;

fn open(path: std::path::PathBuf) -> impl Fn(&str) -> Result<Box<dyn ParticleSource>, ImportError> {
    move |species: &str| {
        Ok(Box::new(OpenPmdSource::open(&path, species, Units::Si { omega_p: OMEGA_P })?)
            as Box<dyn ParticleSource>)
    }
}

/// File-based (WarpX, FBPIC) and group-based macro-weighted (PIConGPU)
/// series of the same particles both give numpy's histograms, the
/// particles' velocities as tracks, v_th/c and the time between dumps.
#[test]
fn openpmd_series_import_equals_numpy_binning() {
    let Some(py) = common::python("numpy, h5py, openpmd_api") else { return };
    for (encoding, extra) in [("file", None), ("group", Some("--macro-weighted"))] {
        let dir = tempfile::tempdir().expect("tempdir");
        let made = dir.path().join("gen");
        let mut args = vec![made.to_str().expect("utf-8"), "--encoding", encoding];
        args.extend(extra);
        common::generate(&py, "make_openpmd.py", &args);
        let out = dir.path().join("out");
        let mut opts = ImportOptions::new(common::spec("electrons", 50));
        opts.chunk_len = 7000; // several chunks per dump
        let report = import_particles(&open(made.join("series")), &out, &opts, &mut Silent).expect("import");
        assert_eq!(report.dumps, 5);
        // The generator's dumps are 0.5 / omega_p apart (time * timeUnitSI * omega_p).
        assert!((report.dt - 0.5).abs() < 1e-12, "dt = {}", report.dt);
        // A known thermal spread in SI comes out as 1 v_th: u_th = 0.05 c was
        // sampled; the measured spread of 20000 weighted particles is within
        // 3 standard errors (about 3 / sqrt(2 N_eff) = 2.2 %) of it.
        let vth = report.species[0].1;
        assert!((vth / 0.05 - 1.0).abs() < 0.025, "v_th/c = {vth}");
        common::check_against_expected(&made, &out, &["blob", "ring", "background"], 5);
        let meta = collop_io::read_meta(out.join("blob").join("f")).expect("args.yaml");
        let pic = meta.pic_parameters(&out.join("blob/f/args.yaml")).expect("pic parameters");
        assert_eq!(pic.vth_c, Some(vth));
        assert_eq!(pic.method.as_deref(), Some("region"));
        // From the files: the species' particleShape and the mesh's gridSpacing
        // (0.3 c/omega_p) over lambda_D = v_th / omega_p.
        assert_eq!(pic.shape_order, Some(2));
        let dx = pic.dx_over_debye.expect("dx_over_debye");
        assert!((dx - 0.3 / vth).abs() < 1e-9 * dx, "{dx}");
        assert_eq!(report.missing_parameters, vec!["ppc"]);
    }
}

/// Particles without ids cannot be followed: refused before any output,
/// naming the file and the fix; the whole species still imports.
#[test]
fn openpmd_without_ids_refused_for_regions() {
    let Some(py) = common::python("numpy, h5py, openpmd_api") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let made = dir.path().join("gen");
    common::generate(&py, "make_openpmd.py", &[made.to_str().expect("utf-8"), "--no-ids"]);
    let out = dir.path().join("out");
    let opts = ImportOptions::new(common::spec("electrons", 0));
    let e = import_particles(&open(made.join("series")), &out, &opts, &mut Silent).expect_err("no ids");
    let msg = e.to_string();
    assert!(msg.contains("no ids") && msg.contains("series") && msg.contains("method = \"all\""), "{msg}");
    assert!(!out.exists(), "nothing is written before the checks");
    let mut spec = common::spec("electrons", 0);
    spec.sub_populations.retain(|s| s.name == "background");
    let opts = ImportOptions::new(spec);
    import_particles(&open(made.join("series")), &out, &opts, &mut Silent).expect("all without ids");
    let e = OpenPmdSource::open(&made.join("series"), "ions", Units::Si { omega_p: OMEGA_P })
        .err()
        .expect("missing species");
    assert!(e.to_string().contains("no species `ions`") && e.to_string().contains("electrons"), "{e}");
}

/// `Plane::Xz` (a 2D run in the (x, z) plane): the tracks' second
/// component is the particles' u_z and the out-of-plane one u_y.
#[test]
fn openpmd_xz_plane_takes_u_z() {
    let Some(py) = common::python("numpy, h5py, openpmd_api") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let made = dir.path().join("gen");
    common::generate(&py, "make_openpmd.py", &[made.to_str().expect("utf-8")]);
    let series = made.join("series");
    let open = move |s: &str| {
        Ok(Box::new(
            OpenPmdSource::open(&series, s, Units::Si { omega_p: OMEGA_P })?
                .with_plane(collop_import::Plane::Xz),
        ) as Box<dyn ParticleSource>)
    };
    let mut spec = common::spec("electrons", 20);
    spec.sub_populations.retain(|s| s.name == "background");
    let out = dir.path().join("out");
    import_particles(&open, &out, &ImportOptions::new(spec), &mut Silent).expect("import");
    let t = collop_io::TrackFile::open(out.join("background").join(collop_io::TRACKS_FILE))
        .expect("tracks")
        .read_data()
        .expect("data");
    let truth = collop_io::read_npz(made.join("truth.npz")).expect("truth");
    let get = |k: &str| truth.iter().find(|(n, _)| n == k).map(|(_, a)| a.clone()).expect(k);
    let ids = get("ids");
    for (col, id) in t.ids.iter().enumerate() {
        let row = ids.iter().position(|&x| x == *id as f64).expect("id");
        for k in 0..t.dumps() {
            // v_th is measured on u_x in both planes, so the values agree to round-off.
            assert!((t.vy[[k, col]] - get("vz")[[k, row]]).abs() < 1e-12);
            assert!((t.vz[[k, col]] - get("vy")[[k, row]]).abs() < 1e-12);
        }
    }
}
