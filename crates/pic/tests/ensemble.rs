//! Ensembles of realisations: seeds from a job array, the merge of
//! histograms and tracks, its refusals, and the counting noise of the
//! merged histograms.

mod common;

use std::path::{Path, PathBuf};

use collop_io::{TRACKS_FILE, TrackFile};
use collop_pic::deck::Deck;
use collop_pic::ensemble::{ENSEMBLE_FILE, SeedChoice, SeedSource, choose_seed, merge};
use collop_pic::{RunOptions, Silent, run};
use ndarray::{Array2, Ix2};

/// A uniform thermal plasma (4096 electrons, ES, a few steps) with a
/// tracked blob (selected by initial velocity) and the whole electron species.
const TABLES: &str = r#"
seed = 5
[grid]
nx = 16
ny = 16
dx = 0.1
dy = 0.1
[time]
dt = 0.05
n_steps = 4
dump_every = 2
[solver]
kind = "es"
shape_order = 1
[output]
energy_every = 2
checkpoint_every_dumps = 0
[phase_space]
bins = 21
v_max = 4.0
[[sub_populations]]
name = "blob"
species = "electrons"
method = "selection"
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
tracks = 12
[[sub_populations]]
name = "background"
species = "electrons"
method = "all"
"#;

fn deck() -> Deck {
    let text =
        format!("{TABLES}{}", common::electrons_over_ions(16, r#"{ kind = "maxwellian", u_th = 0.1 }"#));
    Deck::from_toml(&text).unwrap()
}

/// Runs `deck` with seed `seed` into `root/seed-S`.
fn realisation(deck: &Deck, root: &Path, seed: u64) -> PathBuf {
    let (deck, source) = choose_seed(deck, SeedChoice::Given(seed), |_| None).unwrap();
    let out = root.join(format!("seed-{seed}"));
    let opts = RunOptions { threads: 1, progress_every: 0, seed_source: source, ..RunOptions::default() };
    let summary = run(&deck, &out, &opts, &mut Silent).unwrap();
    assert!(summary.finished && summary.seed == seed);
    out
}

fn frame(run: &Path, pop: &str, dump: usize) -> Array2<f64> {
    let path = run.join(pop).join("f").join(collop_io::frame_file_name(dump));
    collop_io::read_npy_f64(path).unwrap().into_dimensionality::<Ix2>().unwrap()
}

#[test]
fn seed_from_the_job_array_is_the_deck_seed_plus_the_index() {
    let d = deck();
    let env = |k: &str| (k == "SLURM_ARRAY_TASK_ID").then(|| "7".to_string());
    let (seeded, source) = choose_seed(&d, SeedChoice::ArrayTask, env).unwrap();
    assert_eq!(seeded.seed, 5 + 7);
    assert_eq!(
        source,
        SeedSource::ArrayTask { variable: "SLURM_ARRAY_TASK_ID".into(), task: 7, deck_seed: 5 }
    );
    let e = choose_seed(&d, SeedChoice::ArrayTask, |_| None).unwrap_err().to_string();
    assert!(e.contains("SLURM_ARRAY_TASK_ID") && e.contains("--seed S"), "{e}");
    let e = choose_seed(&d, SeedChoice::ArrayTask, |_| Some("x1".into())).unwrap_err().to_string();
    assert!(e.contains("\"x1\""), "{e}");
    assert_eq!(choose_seed(&d, SeedChoice::Deck, |_| None).unwrap().0.seed, 5);
}

#[test]
fn merged_histograms_are_the_sums_and_tracks_are_side_by_side() {
    let root = tempfile::tempdir().unwrap();
    let d = deck();
    let runs = vec![realisation(&d, root.path(), 1), realisation(&d, root.path(), 2)];
    let out = root.path().join("merged");
    let record = merge(&runs, &out, false).unwrap();
    assert_eq!(record.realisations.iter().map(|r| r.seed).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(record.realisations[0].seed_source, SeedSource::Given);
    assert!(
        out.join(ENSEMBLE_FILE).is_file()
            && out.join("deck.toml").is_file()
            && out.join("energy.csv").is_file()
    );
    for pop in ["blob", "background"] {
        for dump in 0..=2 {
            // Sums of integer counts below 2^53: exact in float64.
            assert_eq!(frame(&out, pop, dump), frame(&runs[0], pop, dump) + frame(&runs[1], pop, dump));
        }
    }
    // The whole species, 16 x 16 cells x 16 per cell per realisation, less
    // the few beyond the window v_max = 4 v_th (a fraction exp(-8) = 3.4e-4
    // of a 2D Maxwellian: 2.7 of 8192 expected, more than 12 has
    // probability below 1e-4).
    let inside = frame(&out, "background", 0).sum();
    assert!((8180.0..=8192.0).contains(&inside), "{inside} of 8192 particles in the window");
    let meta = collop_io::read_pic_parameters(out.join("background")).unwrap();
    assert_eq!((meta.particles, meta.seed), (Some(2 * 4096), None));
    let data = collop_io::read_dataset(out.join("blob")).unwrap();
    assert_eq!(data.series.len(), 3);

    let a = TrackFile::open(runs[0].join("blob").join(TRACKS_FILE)).unwrap().read_data().unwrap();
    let b = TrackFile::open(runs[1].join("blob").join(TRACKS_FILE)).unwrap().read_data().unwrap();
    let m = TrackFile::open(out.join("blob").join(TRACKS_FILE)).unwrap().read_data().unwrap();
    assert_eq!(m.particles(), a.particles() + b.particles());
    let s = record.id_stride;
    assert!(a.ids.iter().chain(&b.ids).all(|&id| id < s));
    let expected: Vec<u64> = a.ids.iter().copied().chain(b.ids.iter().map(|id| s + id)).collect();
    assert_eq!(m.ids, expected);
    let mut sorted = m.ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), m.ids.len(), "merged ids are distinct");
    let n = a.particles();
    assert_eq!(m.vx.slice(ndarray::s![.., ..n]), a.vx);
    assert_eq!(m.vy.slice(ndarray::s![.., n..]), b.vy);

    // A second merge into the same directory is refused, `--overwrite` replaces it.
    let e = merge(&runs, &out, false).unwrap_err().to_string();
    assert!(e.contains("already holds") && e.contains("--overwrite"), "{e}");
    merge(&runs, &out, true).unwrap();
}

#[test]
fn merge_refuses_equal_seeds_other_decks_and_other_dumps() {
    let root = tempfile::tempdir().unwrap();
    let d = deck();
    let one = realisation(&d, root.path(), 1);
    // Same seed in another directory: one realisation twice.
    let twin = root.path().join("twin");
    std::fs::create_dir_all(&twin).unwrap();
    let opts = RunOptions { threads: 1, progress_every: 0, ..RunOptions::default() };
    let (d1, _) = choose_seed(&d, SeedChoice::Given(1), |_| None).unwrap();
    run(&d1, &twin, &opts, &mut Silent).unwrap();
    let out = root.path().join("merged");
    let e = merge(&[one.clone(), twin], &out, false).unwrap_err().to_string();
    assert!(e.contains("same seed 1") && e.contains("--seed"), "{e}");

    // Another deck (another grid): refused, naming the key.
    let mut other = d.clone();
    other.grid.nx = 8;
    let other = realisation(&other, &root.path().join("other"), 2);
    let e = merge(&[one.clone(), other], &out, false).unwrap_err().to_string();
    assert!(e.contains("`grid.nx`") && e.contains("seed alone"), "{e}");

    // A realisation with a dump missing.
    let short = realisation(&d, root.path(), 3);
    std::fs::remove_file(short.join("blob").join("f").join(collop_io::frame_file_name(2))).unwrap();
    let e = merge(&[one.clone(), short], &out, false).unwrap_err().to_string();
    assert!(e.contains("different dumps") && e.contains("`blob`"), "{e}");

    // One realisation only, and the output being an input.
    assert!(merge(std::slice::from_ref(&one), &out, false).unwrap_err().to_string().contains("at least two"));
    let two = realisation(&d, root.path(), 4);
    assert!(
        merge(&[one.clone(), two], &one, false)
            .unwrap_err()
            .to_string()
            .contains("is one of the realisations")
    );
    // Nothing was written by the refused merges.
    assert!(!out.exists());
}

/// `E|X - lambda|` of a Poisson count of mean `lambda`:
/// `2 exp(-lambda) lambda^(m+1) / m!` with `m = floor(lambda)`.
fn poisson_mean_absolute_deviation(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 0.0;
    }
    let m = lambda.floor() as u64;
    let ln_fact: f64 = (1..=m).map(|k| (k as f64).ln()).sum();
    2.0 * (-lambda + (m + 1) as f64 * lambda.ln() - ln_fact).exp()
}

/// Probability of each cell of a dataset's grid under the unit Maxwellian
/// (exact cell averages times the cell area).
fn maxwellian_cells(dataset: &Path) -> Array2<f64> {
    let grid = collop_io::read_meta(dataset.join("f")).unwrap().grid;
    let m = collop_theory::BiMaxwellian::isotropic(1.0, [0.0, 0.0], 1.0).unwrap();
    m.on_grid(&grid, collop_theory::Sampling::CellAverage) * (grid.dvx() * grid.dvy())
}

#[test]
fn counting_noise_of_the_merged_histogram_falls_like_one_over_root_n() {
    // A uniform plasma loaded from a Maxwellian: at dump 0 the background
    // histogram of N electrons is a multinomial draw from the Maxwellian's
    // cell probabilities, so its L1 distance from them,
    // sum |n_i / N - p_i|, has the expectation sum E|n_i - N p_i| / N
    // (Poisson counts: the mean absolute deviation above), about
    // 1 / sqrt(N). Merging R realisations gives N R particles.
    let root = tempfile::tempdir().unwrap();
    let d = deck();
    let runs: Vec<PathBuf> = (10..14).map(|s| realisation(&d, root.path(), s)).collect();
    let out = root.path().join("merged");
    merge(&runs, &out, false).unwrap();
    let p = maxwellian_cells(&out.join("background"));
    let l1 = |h: &Array2<f64>| {
        let n = h.sum();
        (h / n - &p).mapv(f64::abs).sum()
    };
    let expected = |n: f64| p.iter().map(|&pi| poisson_mean_absolute_deviation(n * pi)).sum::<f64>() / n;
    let singles: Vec<f64> = runs.iter().map(|r| l1(&frame(r, "background", 0))).collect();
    let single = singles.iter().sum::<f64>() / singles.len() as f64;
    let merged = l1(&frame(&out, "background", 0));
    let (e1, e4) = (expected(4096.0), expected(4.0 * 4096.0));
    // The L1 distance is a sum of |deviations| over ~150 populated cells,
    // whose relative spread is about sqrt(pi/2 - 1) / sqrt(150) = 6 %; the
    // mean of four realisations has half of that. 20 % on the merged value
    // and 12 % on the mean of the singles are more than three standard
    // deviations. (Poisson instead of multinomial counts overstates the
    // deviation by about sqrt(1 - p_i) - 1, < 0.5 % for these cells.)
    assert!((single / e1 - 1.0).abs() < 0.12, "single realisations: l1 {single:.4} against {e1:.4}");
    assert!((merged / e4 - 1.0).abs() < 0.2, "merged: l1 {merged:.4} against {e4:.4}");
    // The noise floor falls like 1/sqrt(N): four times the particles, half the l1.
    let ratio = single / merged;
    println!(
        "l1: single {single:.4} (expected {e1:.4}), merged {merged:.4} (expected {e4:.4}), ratio {ratio:.3}"
    );
    assert!((ratio / 2.0 - 1.0).abs() < 0.25, "noise ratio {ratio:.3}, expected 2 (sqrt of 4 realisations)");
    // Negative control: the same particles counted four times (what merging
    // a realisation with itself would give, hence refused) keep its noise.
    let repeated = frame(&runs[0], "background", 0) * 4.0;
    assert!((l1(&repeated) - singles[0]).abs() < 1e-12);
}
