//! Whole runs: outputs in the reference layout, resume without lost or
//! duplicated dumps, and the sub-populations' physics.

mod common;

use collop_core::Moments;
use collop_io::{PicSolver, TRACK_FORMAT_VERSION, TRACKS_FILE, TrackFile, TrackMember};
use collop_pic::deck::Deck;
use collop_pic::deck::Derived;
use collop_pic::{Observer, Progress, RunOptions, Silent, run};

/// Counts what the run reports.
#[derive(Default)]
struct Count {
    started: usize,
    progress: Vec<u64>,
    dumps: Vec<usize>,
    checkpoints: Vec<u64>,
}

impl Observer for Count {
    fn started(&mut self, derived: &Derived, start_step: u64) {
        assert_eq!(start_step, 0);
        assert!((derived.dx_over_debye - 1.0).abs() < 1e-12);
        self.started += 1;
    }
    fn progress(&mut self, p: &Progress) {
        assert!(p.particle_steps_per_second > 0.0 && p.energy_error < 0.01);
        self.progress.push(p.step);
    }
    fn dumped(&mut self, dump: usize, _time: f64) {
        self.dumps.push(dump);
    }
    fn checkpointed(&mut self, step: u64) {
        self.checkpoints.push(step);
    }
}

/// A small thermal plasma (ppc 4, dx = lambda_D, the reference data's
/// resolution) with the same blob made in the three ways.
const TABLES: &str = r#"
seed = 11
[grid]
nx = 32
ny = 32
dx = 0.1
dy = 0.1
[time]
dt = 0.05
n_steps = 400
dump_every = 40
[solver]
kind = "em"
shape_order = 2
[output]
energy_every = 10
checkpoint_every_dumps = 2
fields_every_dumps = 5
[phase_space]
bins = 51
v_max = 5.0
[[sub_populations]]
name = "blob_test"
species = "electrons"
method = "test_species"
fraction = 0.05
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
tracks = 50
track_positions = true
[[sub_populations]]
name = "blob_sel"
species = "electrons"
method = "selection"
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
tracks = 20
[[sub_populations]]
name = "blob_rw"
species = "electrons"
method = "reweighting"
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
"#;

/// The deck: [`TABLES`] and its species.
fn deck_text() -> String {
    format!("{TABLES}{}", common::electrons_over_ions(16, r#"{ kind = "maxwellian", u_th = 0.1 }"#))
}

fn opts() -> RunOptions {
    RunOptions { threads: 2, progress_every: 0, ..RunOptions::default() }
}

fn moments(path: &std::path::Path, k: usize) -> Moments {
    let d = collop_io::read_dataset_raw(path).unwrap();
    Moments::of(&d.series.grid, d.series.frame(k))
}

#[test]
fn run_writes_reference_datasets_and_tracks() {
    let deck = Deck::from_toml(&deck_text()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut count = Count::default();
    let summary = run(&deck, dir.path(), &RunOptions { progress_every: 100, ..opts() }, &mut count).unwrap();
    assert!(summary.finished);
    assert_eq!(summary.dumps, 11);
    assert_eq!(count.started, 1);
    assert_eq!(count.progress, vec![100, 200, 300, 400]);
    assert_eq!(count.dumps, (0..=10).collect::<Vec<_>>());
    // Every second dump (40 steps apart), not at the last step.
    assert_eq!(count.checkpoints, vec![80, 160, 240, 320]);
    for name in ["blob_test", "blob_sel", "blob_rw"] {
        let d = collop_io::read_dataset_raw(dir.path().join(name)).unwrap();
        assert_eq!(d.series.len(), 11, "{name}");
        assert_eq!(d.series.grid.shape(), (51, 51));
        let vc = d.meta.v_range_c.unwrap();
        assert!((vc[1] - 0.5).abs() < 1e-12, "5 v_th with v_th = 0.1 c");
        assert!((d.series.dt - 2.0).abs() < 1e-12);
        assert!(d.meta.extra.contains_key("ppc") && d.meta.extra.contains_key("dx_over_debye"));
        // The blob starts at (-2, 0) v_th with width 0.5. Four standard
        // errors of the mean, 0.5 / sqrt(N_eff) (N_eff from about 220 for
        // the selection, which lives in the tail of 16k thermal particles, to
        // 860 for the test species), and of the variance, 0.25 sqrt(2 / N_eff),
        // plus the binning's dv^2 / 12 = 0.003.
        let n_eff = summary.sample_sizes.iter().find(|x| x.name == name).unwrap().effective;
        let (se_m, se_t) = (0.5 / n_eff.sqrt(), 0.25 * (2.0 / n_eff).sqrt());
        let m = Moments::of(&d.series.grid, d.series.frame(0));
        assert!(
            (m.mean_vx + 2.0).abs() < 4.0 * se_m && m.mean_vy.abs() < 4.0 * se_m,
            "{name}: {m:?} {n_eff}"
        );
        assert!((m.temp_x - 0.25).abs() < 4.0 * se_t + 0.003, "{name}: {m:?} {n_eff}");
    }
    // args.yaml: the PIC parameters read back typed, under the keys written
    // before PicParameters existed (no more, no fewer).
    let p = collop_io::read_pic_parameters(dir.path().join("blob_sel")).unwrap();
    assert_eq!(p.ppc, Some(16));
    assert_eq!(p.shape_order, Some(2));
    assert_eq!(p.solver, Some(PicSolver::Electromagnetic));
    assert_eq!((p.pic_dt, p.seed), (Some(0.05), Some(11)));
    assert_eq!((p.species.as_deref(), p.method.as_deref()), (Some("electrons"), Some("selection")));
    assert!((p.vth_c.unwrap() - 0.1).abs() < 1e-3, "{p:?}");
    assert!((p.dx_over_debye.unwrap() - 1.0).abs() < 1e-12, "{p:?}");
    assert!((p.particles_per_debye_area.unwrap() - 16.0).abs() < 1e-9, "{p:?}");
    assert_eq!(p.dy_over_debye, None);
    assert!((p.dy_over_debye_or_derived().unwrap() - 1.0).abs() < 1e-12, "square cells: {p:?}");
    let n_sel = summary.sample_sizes.iter().find(|x| x.name == "blob_sel").unwrap();
    assert_eq!(p.particles, Some(n_sel.particles as u64));
    assert_eq!(p.effective_sample_size, Some(n_sel.effective));
    let meta = collop_io::read_meta(dir.path().join("blob_sel")).unwrap();
    let keys: Vec<&str> = meta.extra.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "dx_over_debye",
            "effective_sample_size",
            "fdist_name",
            "fdist_subname",
            "method",
            "particles",
            "particles_per_debye_area",
            "pic_dt",
            "ppc",
            "seed",
            "shape_order",
            "solver",
            "species",
            "v_max",
            "v_max_c",
            "v_range_c_units",
            "v_range_units",
            "vth_c",
        ]
    );
    // tracks.npz through its reader: shapes, times, units, streamed rows.
    let tracks = TrackFile::open(dir.path().join("blob_test").join(TRACKS_FILE)).unwrap();
    assert_eq!(tracks.format_version(), TRACK_FORMAT_VERSION);
    assert_eq!((tracks.dumps(), tracks.particles()), (11, 50));
    assert!(tracks.has_positions() && tracks.has(TrackMember::Vz));
    assert!(tracks.ids().windows(2).all(|w| w[0] < w[1]), "ids ascending");
    assert_eq!(tracks.v_th_c(), p.vth_c, "the owning species' v_th, as in args.yaml");
    for (k, t) in tracks.times().iter().enumerate() {
        assert!((t - 2.0 * k as f64).abs() < 1e-9, "dump {k} at {t}");
    }
    let mut rows = 0;
    tracks
        .for_each_dump::<collop_io::IoError>(|r| {
            assert_eq!((r.vx.len(), r.vy.len()), (50, 50));
            assert!(r.vx.iter().chain(r.vy.iter()).all(|v| v.is_finite()), "dump {}", r.dump);
            rows += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(rows, 11);
    let sel = TrackFile::open(dir.path().join("blob_sel").join(TRACKS_FILE)).unwrap();
    assert_eq!(sel.particles(), 20);
    assert!(!sel.has_positions());
    assert!(!dir.path().join("blob_rw").join(TRACKS_FILE).exists(), "no tracks asked");
    let energy = std::fs::read_to_string(dir.path().join("energy.csv")).unwrap();
    assert!(energy.starts_with("step,time,electric,magnetic,kinetic_electrons,kinetic_blob_test,total"));
    assert_eq!(energy.lines().count(), 1 + 40);
    // Total energy of this noisy (ppc 16, dx = lambda_D) plasma drifts by
    // well under a percent in 20 / omega_p.
    assert!(summary.max_energy_error < 5e-3, "{}", summary.max_energy_error);
    assert!(dir.path().join(collop_pic::checkpoint::CHECKPOINT_FILE).exists());
    let fields = collop_io::read_npz(dir.path().join("fields").join("000010.npz")).unwrap();
    assert_eq!(fields.len(), 7);
    assert!(fields.iter().all(|(_, a)| a.shape() == [32, 32]));
    assert!(summary.heating_rate.abs() < 1e-3, "{}", summary.heating_rate);
}

/// Interrupt after 130 steps (a checkpoint was written at dump 2, step 80),
/// resume, and compare with an uninterrupted run: identical files.
#[test]
fn resume_neither_loses_nor_duplicates_dumps() {
    let deck = Deck::from_toml(&deck_text()).unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run(&deck, a.path(), &opts(), &mut Silent).unwrap();
    let first = run(&deck, b.path(), &RunOptions { stop_after: Some(130), ..opts() }, &mut Silent).unwrap();
    assert!(!first.finished);
    let second = run(&deck, b.path(), &RunOptions { resume: true, ..opts() }, &mut Silent).unwrap();
    assert!(second.finished);
    assert_eq!(second.steps, 400);
    for name in ["blob_test", "blob_sel", "blob_rw"] {
        for dump in 0..=10 {
            let f = format!("{name}/f/{dump:06}.npy");
            let (x, y) =
                (std::fs::read(a.path().join(&f)).unwrap(), std::fs::read(b.path().join(&f)).unwrap());
            assert!(x == y, "{f} differs after resume");
        }
        assert!(!b.path().join(format!("{name}/f/000011.npy")).exists());
    }
    for f in ["energy.csv", "background.csv", "blob_test/tracks.npz", "blob_sel/tracks.npz"] {
        let (x, y) = (std::fs::read(a.path().join(f)).unwrap(), std::fs::read(b.path().join(f)).unwrap());
        assert!(x == y, "{f} differs after resume");
    }
}

/// Selected and reweighted sub-populations of the same target agree within
/// their statistical errors: the means differ by less than four standard
/// errors `sqrt(T / N_sel + T / N_eff)`, at the first and the last dump.
#[test]
fn selection_and_reweighting_agree() {
    let deck = Deck::from_toml(&deck_text()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = run(&deck, dir.path(), &opts(), &mut Silent).unwrap();
    let size = |n: &str| s.sample_sizes.iter().find(|x| x.name == n).unwrap().effective;
    let (n_sel, n_rw) = (size("blob_sel"), size("blob_rw"));
    assert!(n_sel > 100.0 && n_rw > 100.0, "{n_sel} {n_rw}");
    for k in [0, 10] {
        let (a, b) = (moments(&dir.path().join("blob_sel"), k), moments(&dir.path().join("blob_rw"), k));
        let se = (a.temp_x / n_sel + b.temp_x / n_rw).sqrt();
        assert!(
            (a.mean_vx - b.mean_vx).abs() < 4.0 * se,
            "dump {k}: {} vs {} (se {se})",
            a.mean_vx,
            b.mean_vx
        );
        let se_y = (a.temp_y / n_sel + b.temp_y / n_rw).sqrt();
        assert!((a.mean_vy - b.mean_vy).abs() < 4.0 * se_y, "dump {k}: {} vs {}", a.mean_vy, b.mean_vy);
    }
}
