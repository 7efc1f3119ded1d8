//! PIC parameters in args.yaml: typed round trip, the file collop pic
//! writes today, datasets without them, and every wrongly typed key named.

use std::path::Path;

use collop_core::VelocityGrid;
use collop_io::{
    DatasetMeta, IoError, PIC_PARAMETER_KEYS, PicParameters, PicSolver, read_dataset_raw,
    read_pic_parameters, write_dataset,
};

/// `blob_test/f/args.yaml` exactly as collop pic wrote it before
/// `PicParameters` existed (the run of `crates/pic/tests/run.rs`, 80 steps).
const PIC_ARGS: &str = r#"dt: 2.0
dx_over_debye: 1.0
effective_sample_size: 862.0
fdist_name: blob_test
fdist_subname: f
i_end: -1
i_start: 0
method: test_species
n_bins: 51
particles: 862
particles_per_debye_area: 16.0
pic_dt: 0.05
ppc: 16
seed: 11
shape_order: 2
solver: em
species: electrons
t_start: 0.0
v_max: 5.0
v_max_c: 0.5
v_range:
  - -5.0
  - 5.0
  - -5.0
  - 5.0
v_range_c:
  - -0.5
  - 0.5
  - -0.5
  - 0.5
v_range_c_units: "[c]"
v_range_units: "[v_th]"
vth_c: 0.1
"#;

fn args() -> &'static Path {
    Path::new("run/blob_test/f/args.yaml")
}

fn all_set() -> PicParameters {
    PicParameters {
        ppc: Some(64),
        particles_per_debye_area: Some(40.5),
        dx_over_debye: Some(0.5),
        dy_over_debye: Some(0.25),
        shape_order: Some(3),
        vth_c: Some(0.01),
        solver: Some(PicSolver::Electrostatic),
        pic_dt: Some(0.025),
        seed: Some(u64::MAX - 6),
        species: Some("electrons".into()),
        method: Some("reweighting".into()),
        particles: Some(1_000_000),
        effective_sample_size: Some(12345.678),
        charge_ratio: Some(0.5),
    }
}

#[test]
fn parameters_round_trip_through_args_yaml() {
    let grid = VelocityGrid::square(5, 3.0).unwrap();
    let p = all_set();
    let meta = DatasetMeta::new(grid, 0.5, 0, 0.0).with_extra("fdist_name", "x").with_pic_parameters(&p);
    let extras = p.to_extras();
    let mut keys: Vec<&str> = extras.keys().map(String::as_str).collect();
    let mut expected = PIC_PARAMETER_KEYS.to_vec();
    keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys, expected, "every field has its key");
    let text = meta.to_yaml_string().unwrap();
    assert!(text.contains("solver: es\n") && text.contains("ppc: 64\n"), "{text}");
    assert!(text.contains("seed: -7\n"), "seeds >= 2^63 are stored two's-complement: {text}");
    let back = DatasetMeta::from_yaml_str(&text, args()).unwrap();
    assert_eq!(back.pic_parameters(args()).unwrap(), p);
    assert_eq!(back.extra["fdist_name"].as_str(), Some("x"), "other keys untouched");

    // Unset parameters write no key and read back as None.
    let some = PicParameters { vth_c: Some(0.02), ..PicParameters::default() };
    let meta = DatasetMeta::new(grid, 0.5, 0, 0.0).with_pic_parameters(&some);
    assert_eq!(meta.extra.len(), 1);
    let back = DatasetMeta::from_yaml_str(&meta.to_yaml_string().unwrap(), args()).unwrap();
    assert_eq!(back.pic_parameters(args()).unwrap(), some);
}

#[test]
fn reads_the_args_yaml_collop_pic_writes() {
    let meta = DatasetMeta::from_yaml_str(PIC_ARGS, args()).unwrap();
    let p = meta.pic_parameters(args()).unwrap();
    let expected = PicParameters {
        ppc: Some(16),
        particles_per_debye_area: Some(16.0),
        dx_over_debye: Some(1.0),
        dy_over_debye: None,
        shape_order: Some(2),
        vth_c: Some(0.1),
        solver: Some(PicSolver::Electromagnetic),
        pic_dt: Some(0.05),
        seed: Some(11),
        species: Some("electrons".into()),
        method: Some("test_species".into()),
        particles: Some(862),
        effective_sample_size: Some(862.0),
        charge_ratio: None,
    };
    assert_eq!(p, expected);
    // N_D = ppc / (dx dy) in Debye units: dy = 16 / (16 * 1) = 1.
    assert_eq!(p.dy_over_debye_or_derived(), Some(1.0));
    // Writing the same parameters back gives the same file, byte for byte.
    let mut bare = meta.clone();
    bare.extra.retain(|k, _| !PIC_PARAMETER_KEYS.contains(&k.as_str()));
    assert_eq!(bare.with_pic_parameters(&p).to_yaml_string().unwrap(), PIC_ARGS);
}

#[test]
fn datasets_without_pic_keys_have_none() {
    let text = "dt: 1.0\ni_start: 0\nn_bins: 3\nv_range: [-1, 1, -1, 1]\nfps: 15\nppc: ~\n";
    let meta = DatasetMeta::from_yaml_str(text, args()).unwrap();
    let p = meta.pic_parameters(args()).unwrap();
    assert_eq!(p, PicParameters::default());
    assert_eq!(p.dy_over_debye_or_derived(), None);
}

#[test]
fn dy_is_recorded_or_derived_from_the_particle_count() {
    let base = PicParameters { ppc: Some(4), particles_per_debye_area: Some(2.0), ..Default::default() };
    let dx = PicParameters { dx_over_debye: Some(0.5), ..base.clone() };
    assert_eq!(dx.dy_over_debye_or_derived(), Some(4.0), "4 / (2 * 0.5)");
    let given = PicParameters { dy_over_debye: Some(0.75), ..dx.clone() };
    assert_eq!(given.dy_over_debye_or_derived(), Some(0.75));
    let no_count = PicParameters { ppc: None, ..dx };
    assert_eq!(no_count.dy_over_debye_or_derived(), Some(0.5), "square cells");
    assert_eq!(base.dy_over_debye_or_derived(), None);
}

#[test]
fn wrongly_typed_keys_are_named() {
    let base = "dt: 1.0\ni_start: 0\nn_bins: 3\nv_range: [-1, 1, -1, 1]\n";
    for (key, value) in [
        ("ppc", "many"),
        ("ppc", "0"),
        ("ppc", "2.5"),
        ("particles_per_debye_area", "-3.0"),
        ("dx_over_debye", "0"),
        ("dy_over_debye", "[1, 2]"),
        ("shape_order", "-1"),
        ("shape_order", "linear"),
        ("vth_c", "fast"),
        ("vth_c", ".nan"),
        ("solver", "fdtd"),
        ("solver", "1"),
        ("pic_dt", "true"),
        ("seed", "1.5"),
        ("species", "7"),
        ("method", "[a]"),
        ("particles", "-3"),
        ("effective_sample_size", ".inf"),
    ] {
        let text = format!("{base}{key}: {value}\n");
        let meta = DatasetMeta::from_yaml_str(&text, args()).unwrap();
        let e = meta.pic_parameters(args()).unwrap_err();
        assert!(matches!(&e, IoError::BadKey { key: k, .. } if k == key), "{key}: {value}: {e:?}");
        let msg = e.to_string();
        assert!(msg.contains("run/blob_test/f/args.yaml") && msg.contains(&format!("`{key}`")), "{msg}");
        assert!(msg.contains("must be") && msg.contains("found"), "{msg}");
    }
}

#[test]
fn datasets_on_disk_name_their_args_file() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("pop").join("f");
    std::fs::create_dir_all(&folder).unwrap();
    let grid = VelocityGrid::square(3, 1.0).unwrap();
    let frames = ndarray::Array3::<f64>::ones((2, 3, 3));
    let meta = DatasetMeta::new(grid, 1.0, 0, 0.0).with_pic_parameters(&all_set());
    write_dataset(&folder, &meta, frames.view()).unwrap();
    assert_eq!(read_pic_parameters(dir.path().join("pop")).unwrap(), all_set());
    assert_eq!(read_dataset_raw(&folder).unwrap().pic_parameters().unwrap(), all_set());

    let bad = meta.with_extra("vth_c", "fast");
    std::fs::write(folder.join("args.yaml"), bad.to_yaml_string().unwrap()).unwrap();
    let e = read_pic_parameters(&folder).unwrap_err();
    assert_eq!(e.path(), folder.join("args.yaml"));
    let e = read_dataset_raw(&folder).unwrap().pic_parameters().unwrap_err();
    assert_eq!(e.path(), folder.join("args.yaml"));
}
