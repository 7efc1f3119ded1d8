//! Fields models from PIC parameters (theory) and from particle tracks,
//! saved, read back and rolled out like any model.

mod common;

use collop_core::{FIELD_NAMES, VelocityGrid};
use collop_experiment::conditioning::Extrapolation;
use collop_experiment::fields_model::FieldsModel;
use collop_experiment::theory::{PicInput, TheoryKind, theory_model};
use collop_experiment::tracks::{TrackSettings, estimate};
use collop_experiment::{AnyModel, Dataset, Evaluation, FieldsSource, evaluate};
use collop_fp::Numerics;
use ndarray::Array3;

use common::{npz, read_json, write_dataset, write_tracks};

/// `model` (a directory) rolled out on `ds` under the evaluation numerics.
fn roll_out(model: &AnyModel, ds: &Dataset) -> Evaluation {
    let (params, notes) = model.params_for(ds, Extrapolation::Refuse).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    evaluate(&params, ds, &Numerics::evaluation(), model.eval_options(None, false)).unwrap()
}

/// The parameters of the published reference data (4 particles per cell,
/// cells of one Debye length, linear shapes, v_th = 0.01 c) given on top
/// of a dataset without PIC parameters: the static amplitude C = 0.02234
/// v_th^3 omega_p, the static and dynamic fields on the dataset's grid,
/// written, read back and rolled out; a grid other than the dataset's refused.
#[test]
fn theory_fields_from_pic_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_dataset(&data, 5, 0.5, &[]);
    // The dataset has no PIC parameters: the first one missing is named
    // with its args.yaml key (what compare and fields read) and the flag
    // of `collop theory` (the one command that has it).
    let e = PicInput::new(&data).resolve().unwrap_err().to_string();
    assert!(e.contains("cell size") && e.contains("add `dx_over_debye` to the dataset's args.yaml"), "{e}");
    assert!(e.contains("pass --dx-over-debye to `collop theory`"), "{e}");
    let input = PicInput {
        ppc: Some(4.0),
        dx_over_debye: Some(1.0),
        shape_order: Some(1),
        vth_c: Some(0.01),
        ..PicInput::new(&data)
    };
    let (params, grid, from) = input.resolve().unwrap();
    assert!(grid.same_as(&common::grid()), "the dataset's grid");
    assert_eq!((params.particles_per_debye_area, params.dy_over_debye), (4.0, 1.0));
    let ds = Dataset::load(&data).unwrap();
    for kind in [TheoryKind::Static, TheoryKind::Dynamic] {
        let (model, text) = theory_model(&params, &grid, kind, &from).unwrap();
        // The amplitude of the reference parameters (Lenard-Balescu k
        // integral with the B-spline form factor; 5 digits as printed) and
        // the profile table at |v| = 0 .. 3.
        assert!(text.contains("C = 0.02234"), "{text}");
        assert!(text.lines().any(|l| l.trim_start().starts_with("3.0 ")), "{text}");
        let record = model.meta.source.theory().expect("a theory record").clone();
        assert!((record.amplitude - 0.022342).abs() < 1e-5, "C = {}", record.amplitude);
        assert_eq!(record.parameters.particles_per_debye_area, 4.0);
        assert_eq!(model.meta.source.name(), kind.name());
        assert_eq!(model.fields.len(), 1, "one time slot");
        if kind == TheoryKind::Static {
            // Exactly the static-shielding shapes times C (what `--model
            // theory --amplitude C` rolls out).
            let f = collop_theory::static_shielding_fields(&grid, record.amplitude).unwrap();
            assert_eq!(model.fields[0], f);
        }
        let out = dir.path().join(kind.name());
        model.save(&out).unwrap();
        for name in FIELD_NAMES {
            assert_eq!(npz(&out.join("fields.npz"), name).shape(), [1, 12, 12], "{name}");
        }
        let g: Vec<f64> = npz(&out.join("fields.npz"), "grid").iter().copied().collect();
        assert_eq!(g, [12.0, 12.0, -3.0, 3.0, -3.0, 3.0]);
        let meta = read_json(&out.join("run.json"));
        assert_eq!((meta["kind"].as_str(), meta["source"].as_str()), (Some("fields"), Some(kind.name())));
        assert_eq!(FieldsModel::load(&out).unwrap(), model);
        // Rolled out from the directory: a real evolution, scored over all 4 steps.
        let any = AnyModel::open(out.to_str().unwrap()).unwrap();
        assert!(any.describe().contains(kind.name()), "{}", any.describe());
        let e = roll_out(&any, &ds);
        let mean = e.score.mean().expect("scored");
        assert!(mean.mae > 0.0 && mean.mae.is_finite(), "{mean:?}");
        assert_eq!(e.substeps.len(), 4);
    }
    // On the grid of another dataset: written, but refused on this one with the fix.
    let other = dir.path().join("other");
    let g10 = VelocityGrid::square(10, 3.0).unwrap();
    let frames = Array3::from_elem((2, 10, 10), 1.0);
    collop_io::write_dataset(&other, &collop_io::DatasetMeta::new(g10, 0.5, 0, 0.0), frames.view()).unwrap();
    let (params, grid, from) = PicInput { grid_from: Some(other.clone()), ..input }.resolve().unwrap();
    assert!(grid.same_as(&g10));
    let (model, _) = theory_model(&params, &grid, TheoryKind::Static, &from).unwrap();
    let e = AnyModel::Fields(model).params_for(&ds, Extrapolation::Refuse).unwrap_err().to_string();
    assert!(e.contains("--grid-from"), "{e}");
}

/// Ornstein-Uhlenbeck tracks (rate 0.05, unit thermal speed) on the grid of
/// a dataset: the fields model with its standard errors, counts, radial
/// profiles and byte counts; drag towards v = 0 and D_xx = 2 nu; tracks in
/// other units converted exactly; time windows as time slots; bad files and
/// lags refused with the file and the fix named.
#[test]
fn track_fields_from_particle_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_dataset(&data, 5, 0.5, &[("vth_c", 0.01)]);
    let file = dir.path().join("tracks.npz");
    // Dataset frames are dumps 3..7 at t = 1.5 .. 3.5; the tracks cover dumps 0..11.
    write_tracks(&file, 4000, 12, 0.5, 0.05, None, 1.0);
    let settings = TrackSettings { min_count: 20, ..TrackSettings::new(vec![file.clone()], data.clone(), 2) };
    let tm = estimate(&settings).unwrap();
    assert!(tm.text.contains("memory") && tm.text.contains("histograms"), "{}", tm.text);
    assert_eq!((tm.model.fields.len(), tm.estimates.len()), (1, 1));
    let run = dir.path().join("tracks-run");
    tm.save(&run).unwrap();
    for name in FIELD_NAMES {
        assert_eq!(npz(&run.join("fields.npz"), name).shape(), [1, 12, 12], "{name}");
        assert_eq!(npz(&run.join("stderr.npz"), name).shape(), [1, 12, 12], "{name}");
    }
    assert_eq!(npz(&run.join("count.npz"), "count").shape(), [1, 12, 12]);
    assert_eq!(npz(&run.join("count.npz"), "empty").shape(), [1, 12, 12]);
    // Empty means fewer than --min-count intervals.
    let (count, empty) = (npz(&run.join("count.npz"), "count"), npz(&run.join("count.npz"), "empty"));
    for (c, e) in count.iter().zip(&empty) {
        assert_eq!(*e, if *c < 20.0 { 1.0 } else { 0.0 });
    }
    assert!(std::fs::read_to_string(run.join("radial.csv")).unwrap().starts_with("window,speed,count"));
    let FieldsSource::Tracks(record) = &tm.model.meta.source else { panic!("a track record") };
    assert_eq!(record.lag, 2);
    assert!((record.tau - 1.0).abs() < 1e-12, "two dumps of 0.5");
    assert_eq!(record.bytes.tracks, std::fs::metadata(&file).unwrap().len());
    let hist: u64 = (3..8).map(|k| std::fs::metadata(data.join(format!("{k:06}.npy"))).unwrap().len()).sum();
    assert_eq!(record.bytes.histograms, hist);
    // 5 non-overlapping intervals (starts 0, 2, .., 8) of 4000 particles,
    // all but those starting beyond |v| = 3 on the grid (a few per cent).
    let on_grid = record.counts.intervals_on_grid;
    assert_eq!(on_grid + record.counts.intervals_outside_grid, 20_000);
    assert!(on_grid > 19_000, "{on_grid}");
    let meta = read_json(&run.join("run.json"));
    assert_eq!(
        (meta["kind"].as_str(), meta["source"].as_str(), meta["lag"].as_u64()),
        (Some("fields"), Some("tracks"), Some(2))
    );
    // Drag towards v = 0 either side of the centre (cells 3 and 8 are at
    // v_x = -1.25 and +1.25), and the diffusion of the OU process, D_xx =
    // 2 nu = 0.1, in the populated centre: some 750 intervals start in that
    // cell, so a relative standard error of about 5 %, and the finite lag
    // lowers <dv dv> / tau by about nu tau = 5 %; 30 % covers both.
    let (a_x, d_xx) = (npz(&run.join("fields.npz"), "A_x"), npz(&run.join("fields.npz"), "D_xx"));
    assert!(a_x[[0, 3, 6]] > 0.0 && a_x[[0, 8, 6]] < 0.0, "drag towards v = 0");
    assert!((d_xx[[0, 6, 6]] - 0.1).abs() < 0.03, "D_xx = 2 nu = 0.1: {}", d_xx[[0, 6, 6]]);
    let ds = Dataset::load(&data).unwrap();
    let any = AnyModel::open(run.to_str().unwrap()).unwrap();
    assert!(any.describe().contains("tracks"), "{}", any.describe());
    let e = roll_out(&any, &ds);
    let Some(mean) = e.score.mean() else { panic!("diverged: {:?}", e.score) };
    assert!(mean.mae.is_finite() && e.substeps.len() == 4, "{mean:?}");

    // The same tracks in units of a thermal speed twice the dataset's are
    // converted back: the same fields to the last bit, and the conversion said.
    let halved = dir.path().join("halved.npz");
    write_tracks(&halved, 4000, 12, 0.5, 0.05, None, 0.5);
    let converted = estimate(&TrackSettings { tracks: vec![halved], ..settings.clone() }).unwrap();
    assert!(converted.text.contains("scaled by 2.0"), "{}", converted.text);
    let FieldsSource::Tracks(r) = &converted.model.meta.source else { panic!("a track record") };
    assert_eq!(r.files[0].velocity_factor, 2.0);
    assert_eq!(converted.model.fields, tm.model.fields);

    // Windows of 4 dumps over both files, overlapping intervals: starts
    // 0..9 make windows 0, 1, 2; the dataset's steps start at dumps 3, 4,
    // 5, 6 and use windows 0, 1, 1, 1.
    let windowed = TrackSettings {
        tracks: vec![file.clone(), file.clone()],
        overlapping: true,
        window: Some(4),
        ..TrackSettings::new(vec![], data.clone(), 2)
    };
    let tw = estimate(&windowed).unwrap();
    assert!(tw.text.contains("window   2"), "{}", tw.text);
    let FieldsSource::Tracks(r) = &tw.model.meta.source else { panic!("a track record") };
    assert_eq!(r.slot_window, [0, 1, 1, 1]);
    assert_eq!(r.windows.len(), 3);
    assert_eq!(r.windows[2].start_dumps, Some([8, 11]));
    assert_eq!(r.files.len(), 2);
    // Each slot holds its window's estimate.
    assert_eq!(tw.model.fields.len(), 4);
    for (s, &w) in r.slot_window.iter().enumerate() {
        assert_eq!(tw.model.fields[s], tw.estimates[w].fields, "slot {s}");
    }
    let out = dir.path().join("windowed");
    tw.save(&out).unwrap();
    assert_eq!(npz(&out.join("fields.npz"), "A_x").shape(), [4, 12, 12]);
    assert_eq!(npz(&out.join("stderr.npz"), "D_xy").shape(), [3, 12, 12]);
    assert_eq!(npz(&out.join("count.npz"), "count").shape(), [3, 12, 12]);
    let e = roll_out(&AnyModel::open(out.to_str().unwrap()).unwrap(), &ds);
    assert!(e.operator.contains("4 time slot"), "{}", e.operator);

    // Errors name the file and the fix.
    let bad = dir.path().join("nan.npz");
    write_tracks(&bad, 50, 6, 0.5, 0.05, Some((4, 7)), 1.0);
    let e = estimate(&TrackSettings::new(vec![bad], data.clone(), 1)).err().unwrap().to_string();
    assert!(e.contains("nan.npz") && e.contains("NaN") && e.contains("particle 7"), "{e}");
    let e = estimate(&TrackSettings::new(vec![file.clone()], data.clone(), 12)).err().unwrap().to_string();
    assert!(e.contains("tracks.npz") && e.contains("--lag") && e.contains("12 dumps"), "{e}");
    let e = estimate(&TrackSettings::new(vec![data.clone()], data.clone(), 1)).err().unwrap().to_string();
    assert!(e.contains("tracks"), "{e}");
}
