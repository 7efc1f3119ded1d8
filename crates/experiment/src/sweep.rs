//! Sweeps (`collop sweep`): learned models trained many times on one PIC
//! run, varying the model, its time regularisation and the sub-populations
//! trained on, each scored by its rollouts on held-out sub-populations.
//!
//! The studies of arXiv 2601.13377 ask how the held-out rollout error
//! depends on the number of time nodes `N_t` (a list of models such as
//! `tensor,tensor-t2,tensor-t25,tensor-tdump`), on the weight of the time
//! regularisation (a list of `(lambda1, lambda2)`), and on how many
//! sub-populations the operator saw (random subsets of each size, several
//! seeds, the spread shown as a band). A sweep is the product of the three
//! lists; time-independent models are trained once per subset, without
//! regularisation.
//!
//! Training follows the reference schedule of `collop compare` (scaled by
//! `epochs_scale`, unrolls capped at the datasets' length), the evaluation
//! the reference settings with `substeps`; each variant is a run directory
//! of `collop train` under `OUT/runs/<variant>`.
//!
//! Output `OUT` (rewritten after every variant; `resume` reuses finished
//! variants):
//!
//! ```text
//! sweep.json      the settings, then the whole result ([`Sweep`], `save`/`load`)
//! sweep.csv       variant, model, lambda1, lambda2, n_train, seed, trained on, held-out sub-population, MAE, L1
//! summary.csv     per (model, lambda1, lambda2, n_train, sub-population): mean, min, max, std of the MAE over seeds
//! error_vs_training_subpopulations_<subpop>.png, error_vs_regularisation_<subpop>.png
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use collop_fp::{FrameErrors, Numerics};
use collop_learn::Observer;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::compare::{BuiltinModel, TimeRegularisation, subpopulations};
use crate::conditioning::Extrapolation;
use crate::config::{DataConfig, TrainConfig, TrainingConfig};
use crate::dataset::Dataset;
use crate::error::{ExperimentError, Result, bail};
use crate::evaluate::{AnyModel, Score};
use crate::trained::{MODEL, TrainOptions, TrainedRun};

/// The record of a sweep in its folder.
pub const SWEEP_FILE: &str = "sweep.json";
/// The format this version writes.
pub const FORMAT_VERSION: u32 = 1;

/// What to sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSettings {
    /// Run directory of `collop pic`.
    pub run: PathBuf,
    /// Held-out sub-populations, scored (at least one).
    pub test: Vec<String>,
    /// Sub-populations training subsets are drawn from (default: all but the held-out ones
    /// and the whole-background dataset, as in `collop compare`).
    pub pool: Vec<String>,
    /// Learned models.
    pub models: Vec<BuiltinModel>,
    /// Time regularisations of the time-dependent linear models.
    pub regularisations: Vec<TimeRegularisation>,
    /// Sizes of the training subsets (default: the whole pool).
    pub train_counts: Vec<usize>,
    /// Random subsets per size (one when the size is the whole pool).
    pub seeds: usize,
    /// Trainings of every variant with training seeds `0 .. repeats`
    /// (the config's `seed`: the validation windows and the networks'
    /// initial weights), for the spread of the optimisation on the same
    /// data.
    #[serde(default = "one")]
    pub repeats: usize,
    /// Multiply the epochs of every training stage.
    pub epochs_scale: f64,
    /// Sub-steps per dump, in training and evaluation alike.
    pub substeps: usize,
    /// Reuse the finished variants of an earlier sweep in the output folder.
    pub resume: bool,
}

impl SweepSettings {
    /// A sweep of `models` on `run`, scored on `test`: one regularisation
    /// (none), the whole pool, one seed, the reference schedule.
    pub fn new(run: impl Into<PathBuf>, test: Vec<String>, models: Vec<BuiltinModel>) -> Self {
        Self {
            run: run.into(),
            test,
            pool: Vec::new(),
            models,
            regularisations: vec![TimeRegularisation::default()],
            train_counts: Vec::new(),
            seeds: 1,
            repeats: 1,
            epochs_scale: 1.0,
            substeps: 1,
            resume: false,
        }
    }
}

/// One trained variant on one held-out sub-population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// The variant's name (its run folder under `runs/`).
    pub variant: String,
    /// The model's name ([`BuiltinModel::name`]).
    pub model: String,
    /// Its time regularisation (zero for time-independent models).
    pub regularisation: TimeRegularisation,
    /// Size of the training subset.
    pub n_train: usize,
    /// Seed of the subset.
    pub seed: usize,
    /// Training seed (the config's `seed`).
    #[serde(default)]
    pub train_seed: usize,
    /// Trained parameters of the model (network weights, or every free
    /// operator value of a linear model).
    #[serde(default)]
    pub n_params: usize,
    /// The sub-populations trained on.
    pub train: Vec<String>,
    /// The held-out sub-population scored.
    pub pop: String,
    /// Mean errors over the rollout, or why there are none.
    pub result: std::result::Result<FrameErrors, String>,
}

/// The result of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// Format of the record.
    pub format_version: u32,
    /// The collop version that made it.
    pub version: String,
    /// What was swept.
    pub settings: SweepSettings,
    /// One row per variant and held-out sub-population.
    pub rows: Vec<SweepRow>,
    /// Variants that failed, one message each.
    pub failures: Vec<String>,
}

/// One variant of the product.
struct Variant {
    name: String,
    model: BuiltinModel,
    reg: TimeRegularisation,
    seed: usize,
    train_seed: usize,
    train: Vec<String>,
}

fn one() -> usize {
    1
}

/// The variants of `s` over `pool`, in order: model, regularisation, size, seed.
fn variants(s: &SweepSettings, pool: &[String]) -> Vec<Variant> {
    let counts = if s.train_counts.is_empty() { vec![pool.len()] } else { s.train_counts.clone() };
    let mut out = Vec::new();
    for &model in &s.models {
        let regs = if model.is_time_dependent() {
            s.regularisations.clone()
        } else {
            vec![TimeRegularisation::default()]
        };
        for reg in regs {
            for &n in &counts {
                for (seed, train) in subsets(pool, n, s.seeds).into_iter().enumerate() {
                    let mut name = model.name();
                    if model.is_time_dependent() && (reg.lambda1 != 0.0 || reg.lambda2 != 0.0) {
                        name += &format!("-l1_{:e}-l2_{:e}", reg.lambda1, reg.lambda2);
                    }
                    name += &format!("-n{n}-s{seed}");
                    for train_seed in 0..s.repeats.max(1) {
                        let name = if s.repeats > 1 { format!("{name}-r{train_seed}") } else { name.clone() };
                        out.push(Variant { name, model, reg, seed, train_seed, train: train.clone() });
                    }
                }
            }
        }
    }
    out
}

/// `seeds` distinct subsets of `n` members of `pool` (each sorted), or all
/// of them when there are no more than `seeds`: the whole pool once, every
/// single member once from a pool of `seeds`. Trainings are deterministic
/// given their data, so a subset drawn twice would be the same run counted
/// twice, narrowing the band it is meant to measure. Seed `k` draws from
/// its own stream (the size enters it, so that subsets of different sizes
/// are not nested) until it finds a subset no earlier seed has; the list is
/// reproducible.
fn subsets(pool: &[String], n: usize, seeds: usize) -> Vec<Vec<String>> {
    // C(pool, n) = C(pool, pool - n) without overflow: the partial products
    // C(pool, k) grow with k up to half the pool, so the loop may stop as
    // soon as they pass `seeds` by far.
    let mut count: u128 = 1;
    for k in 0..n.min(pool.len() - n) as u128 {
        count = count * (pool.len() as u128 - k) / (k + 1);
        if count > seeds as u128 * 1_000 {
            break;
        }
    }
    let mut out: Vec<Vec<String>> = Vec::new();
    if count <= seeds as u128 {
        // Every combination, in lexicographic order of pool positions.
        let mut idx: Vec<usize> = (0..n).collect();
        loop {
            let mut set: Vec<String> = idx.iter().map(|&i| pool[i].clone()).collect();
            set.sort();
            out.push(set);
            let Some(i) = (0..n).rev().find(|&i| idx[i] != i + pool.len() - n) else {
                return out;
            };
            idx[i] += 1;
            for j in i + 1..n {
                idx[j] = idx[j - 1] + 1;
            }
        }
    }
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64((seed as u64) << 32 | n as u64);
        // More combinations than 1000 x seeds or at least seeds + 1: a new
        // one is found in a few draws.
        loop {
            let mut train = pool.to_vec();
            train.shuffle(&mut rng);
            train.truncate(n);
            train.sort();
            if !out.contains(&train) {
                out.push(train);
                break;
            }
        }
    }
    out
}

/// Run the sweep `s` into `out` (see the module docs); `log` receives
/// progress lines, `observers` see every training epoch. A variant that
/// fails is listed in [`Sweep::failures`] and the others go on.
pub fn sweep(
    s: &SweepSettings,
    out: &Path,
    log: &mut dyn FnMut(&str),
    observers: &mut [&mut dyn Observer],
) -> Result<Sweep> {
    if !(s.epochs_scale.is_finite() && s.epochs_scale > 0.0) {
        bail!("epochs scale {}: must be a positive number", s.epochs_scale);
    }
    if s.models.is_empty() || s.models.contains(&BuiltinModel::None) {
        bail!("a sweep needs at least one learned model (`none` is not one)");
    }
    if s.test.is_empty() {
        bail!("a sweep scores held-out sub-populations: name at least one with --test");
    }
    if s.seeds == 0 {
        bail!("seeds = 0: a sweep needs at least one subset per size");
    }
    if s.repeats == 0 {
        bail!("repeats = 0: a sweep trains every variant at least once");
    }
    for r in &s.regularisations {
        for (key, w) in [("lambda1", r.lambda1), ("lambda2", r.lambda2)] {
            if !(w.is_finite() && w >= 0.0) {
                bail!("{key} = {w}: a time-regularisation weight must be a finite number >= 0");
            }
        }
    }
    // One writer at a time: the folder is locked before it is looked at.
    let _owner = collop_io::OutputDir::lock(out)?;
    if !s.resume && out.join(SWEEP_FILE).exists() {
        return Err(ExperimentError::artefact(
            out,
            "already holds a sweep; resume it to reuse its finished variants, or write into another folder",
        ));
    }
    let all = subpopulations(&s.run)?;
    for n in s.test.iter().chain(&s.pool) {
        if !all.contains(n) {
            bail!("sub-population `{n}` is not in the run; it has {}", all.join(", "));
        }
    }
    let pool: Vec<String> = if s.pool.is_empty() {
        // As in `collop compare`: the whole-background dataset (the sum of
        // the others) is never trained on unless named.
        let mut pool = Vec::new();
        for n in all.iter().filter(|n| !s.test.contains(n)) {
            let ds = Dataset::load(&crate::fields_model::absolute(&s.run.join(n).join("f")))?;
            if !crate::compare::is_background(&ds) {
                pool.push(n.clone());
            }
        }
        pool
    } else {
        s.pool.clone()
    };
    if let Some(n) = pool.iter().find(|n| s.test.contains(n)) {
        bail!("sub-population `{n}` is both held out and in the training pool");
    }
    if pool.is_empty() {
        bail!("no sub-population left to train on: every one is held out");
    }
    if let Some(&n) = s.train_counts.iter().find(|&&n| n == 0 || n > pool.len()) {
        bail!(
            "a training subset of {n}: sizes run from 1 to the pool's {} ({})",
            pool.len(),
            pool.join(", ")
        );
    }
    let folder = |name: &str| crate::fields_model::absolute(&s.run.join(name).join("f"));
    let held: Vec<Dataset> = s.test.iter().map(|n| Dataset::load(&folder(n))).collect::<Result<_>>()?;
    let numerics = Numerics::evaluation().with_substeps(s.substeps)?;
    let variants = variants(s, &pool);
    // Every config is built (and refused) before anything is written.
    let reference = TrainingConfig::default();
    let mut configs = Vec::new();
    for v in &variants {
        let folders: Vec<PathBuf> = v.train.iter().map(|n| folder(n)).collect();
        let max_unroll = Dataset::load_all(&folders)?.iter().map(|d| d.steps()).max().unwrap_or(1).max(1);
        let (_, spec) = v.model.spec(v.reg).expect("not `none`");
        let cfg = TrainConfig {
            seed: v.train_seed as u64,
            data: DataConfig::folders(folders),
            model: spec,
            numerics: Numerics::training().with_substeps(s.substeps)?,
            evaluation: numerics,
            training: TrainingConfig {
                stages: reference.scaled(s.epochs_scale, max_unroll),
                ..reference.clone()
            },
        };
        cfg.validate()?;
        configs.push(cfg);
    }
    std::fs::create_dir_all(out.join("runs")).map_err(|e| ExperimentError::file(out, e))?;
    let mut record = Sweep {
        format_version: FORMAT_VERSION,
        version: env!("CARGO_PKG_VERSION").into(),
        settings: s.clone(),
        rows: Vec::new(),
        failures: Vec::new(),
    };
    record.save(out)?;
    for (k, (v, cfg)) in variants.iter().zip(configs).enumerate() {
        let dir = out.join("runs").join(&v.name);
        log(&format!("sweep: {} of {}: {} on {}", k + 1, variants.len(), v.name, v.train.join(", ")));
        let trained = if s.resume && dir.join(MODEL).is_file() {
            let run = TrainedRun::load(&dir)?;
            // A finished variant is reused only if it is this variant: a
            // sweep resumed with other settings (or by another version
            // that draws other subsets) must not score another training.
            if let Some(diff) = crate::trained::config_difference(&run.config, &cfg) {
                return Err(ExperimentError::artefact(
                    &dir,
                    format!(
                        "was trained with another config than this sweep's variant ({diff}); resume with the settings in sweep.json, or sweep into another folder"
                    ),
                ));
            }
            Ok(run)
        } else {
            let resume = s.resume && dir.join(crate::trained::CHECKPOINT).is_file();
            crate::trained::train(&cfg, &dir, TrainOptions { resume, plots: false }, observers).map(|o| o.run)
        };
        let run = match trained {
            Ok(r) => r,
            Err(e) => {
                record.failures.push(format!("{}: {e}", v.name));
                continue;
            }
        };
        let n_params = run.phi.as_ref().map_or(run.theta.len(), Vec::len);
        let run = AnyModel::Trained(Box::new(run));
        for (name, ds) in s.test.iter().zip(&held) {
            let result = match run.evaluate_on(ds, &numerics, Extrapolation::Refuse, None, false) {
                Ok((_, e)) => match e.score {
                    Score::Scored { errors, .. } => Ok(errors.mean),
                    Score::Diverged { step, of } => Err(format!("diverged at dump step {step} of {of}")),
                },
                Err(e) => Err(e.to_string()),
            };
            record.rows.push(SweepRow {
                variant: v.name.clone(),
                model: v.model.name(),
                regularisation: v.reg,
                n_train: v.train.len(),
                seed: v.seed,
                train_seed: v.train_seed,
                n_params,
                train: v.train.clone(),
                pop: name.clone(),
                result,
            });
        }
        record.save(out)?;
        record.write_tables(out)?;
    }
    record.write_tables(out)?;
    record.figures(out);
    record.save(out)?;
    Ok(record)
}

/// Mean, min, max and standard deviation of `x` (not empty).
fn stats(x: &[f64]) -> [f64; 4] {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let min = x.iter().copied().fold(f64::INFINITY, f64::min);
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    [mean, min, max, var.sqrt()]
}

/// A group of rows that differ only by seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// The model.
    pub model: String,
    /// Its regularisation.
    pub regularisation: TimeRegularisation,
    /// Training subset size.
    pub n_train: usize,
    /// Trained parameters of the model (the largest of the group's runs).
    pub n_params: usize,
    /// Held-out sub-population.
    pub pop: String,
    /// Seeds that scored, and seeds that did not (diverged or failed).
    pub scored: usize,
    /// Seeds without a score.
    pub unscored: usize,
    /// Mean, min, max, standard deviation of the MAE over the scored seeds.
    pub mae: Option<[f64; 4]>,
}

impl Sweep {
    /// Write `sweep.json` atomically into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| {
            ExperimentError::Config(format!("the sweep record cannot be written as JSON: {e}"))
        })?;
        collop_io::write_text(dir.join(SWEEP_FILE), &text)?;
        Ok(())
    }

    /// Read the `sweep.json` of `dir`; a newer format is refused as such.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(SWEEP_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| ExperimentError::file(&path, e))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ExperimentError::artefact(&path, format!("not a sweep record: {e}")))?;
        let version = value.get("format_version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version > u64::from(FORMAT_VERSION) {
            return Err(ExperimentError::artefact(
                &path,
                format!(
                    "written in sweep format {version}, newer than this collop's {FORMAT_VERSION}; read it with a newer collop"
                ),
            ));
        }
        serde_json::from_value(value)
            .map_err(|e| ExperimentError::artefact(&path, format!("not a sweep record: {e}")))
    }

    /// The rows grouped over seeds, in the order of first appearance.
    pub fn summary(&self) -> Vec<SummaryRow> {
        let mut out: Vec<(SummaryRow, Vec<f64>)> = Vec::new();
        for r in &self.rows {
            let key = |s: &SummaryRow| {
                s.model == r.model
                    && s.regularisation == r.regularisation
                    && s.n_train == r.n_train
                    && s.pop == r.pop
            };
            let k = match out.iter().position(|(s, _)| key(s)) {
                Some(k) => k,
                None => {
                    out.push((
                        SummaryRow {
                            model: r.model.clone(),
                            regularisation: r.regularisation,
                            n_train: r.n_train,
                            n_params: 0,
                            pop: r.pop.clone(),
                            scored: 0,
                            unscored: 0,
                            mae: None,
                        },
                        Vec::new(),
                    ));
                    out.len() - 1
                }
            };
            out[k].0.n_params = out[k].0.n_params.max(r.n_params);
            match &r.result {
                Ok(e) => {
                    out[k].0.scored += 1;
                    out[k].1.push(e.mae);
                }
                Err(_) => out[k].0.unscored += 1,
            }
        }
        out.into_iter()
            .map(|(mut s, x)| {
                s.mae = (!x.is_empty()).then(|| stats(&x));
                s
            })
            .collect()
    }

    /// Write `sweep.csv` and `summary.csv` into `dir`.
    pub fn write_tables(&self, dir: &Path) -> Result<()> {
        let mut s = String::from(
            "variant,model,lambda1,lambda2,n_train,seed,train_seed,n_params,train,subpopulation,mae,l1,error\n",
        );
        for r in &self.rows {
            let reg = r.regularisation;
            write!(
                s,
                "{},{},{},{},{},{},{},{},{},{}",
                r.variant,
                r.model,
                reg.lambda1,
                reg.lambda2,
                r.n_train,
                r.seed,
                r.train_seed,
                r.n_params,
                r.train.join(" "),
                r.pop
            )?;
            match &r.result {
                Ok(e) => writeln!(s, ",{:e},{:e},", e.mae, e.l1)?,
                Err(m) => writeln!(s, ",,,\"{}\"", m.replace('"', "'"))?,
            }
        }
        collop_io::write_text(dir.join("sweep.csv"), &s)?;
        let mut s = String::from(
            "model,n_params,lambda1,lambda2,n_train,subpopulation,seeds_scored,seeds_unscored,mae_mean,mae_min,mae_max,mae_std\n",
        );
        for r in self.summary() {
            let reg = r.regularisation;
            write!(
                s,
                "{},{},{},{},{},{},{},{}",
                r.model, r.n_params, reg.lambda1, reg.lambda2, r.n_train, r.pop, r.scored, r.unscored
            )?;
            match r.mae {
                Some([m, lo, hi, sd]) => writeln!(s, ",{m:e},{lo:e},{hi:e},{sd:e}")?,
                None => writeln!(s, ",,,,")?,
            }
        }
        collop_io::write_text(dir.join("summary.csv"), &s)?;
        Ok(())
    }

    /// The figures of the sweep: error against the number of training
    /// sub-populations (mean over seeds, min and max as a band drawn as two
    /// thin curves) and against the regularisation weight, per held-out
    /// sub-population, when the sweep varied them. Figures that cannot be
    /// drawn are added to the failures.
    fn figures(&mut self, dir: &Path) {
        let summary = self.summary();
        let mut failures = Vec::new();
        for pop in &self.settings.test {
            let rows: Vec<&SummaryRow> =
                summary.iter().filter(|r| &r.pop == pop && r.mae.is_some()).collect();
            let mut by_n: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
            let mut by_reg: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
            // Variants without a time penalty: drawn as flat lines across
            // the weights (a weight of zero has no place on a log axis).
            let mut unpenalised: Vec<(String, f64)> = Vec::new();
            let push = |set: &mut Vec<(String, Vec<(f64, f64)>)>, label: String, p: (f64, f64)| match set
                .iter_mut()
                .find(|(l, _)| *l == label)
            {
                Some((_, v)) => v.push(p),
                None => set.push((label, vec![p])),
            };
            for r in &rows {
                let [mean, lo, hi, _] = r.mae.expect("filtered");
                let reg = r.regularisation;
                let label = format!("{} λ1={:e} λ2={:e}", r.model, reg.lambda1, reg.lambda2);
                push(&mut by_n, label.clone(), (r.n_train as f64, mean));
                if r.scored > 1 {
                    push(&mut by_n, format!("{label} min"), (r.n_train as f64, lo));
                    push(&mut by_n, format!("{label} max"), (r.n_train as f64, hi));
                }
                // One line per penalty: first differences alone, second
                // differences alone, or both (their sum on the axis).
                let (w, which) = match (reg.lambda1 > 0.0, reg.lambda2 > 0.0) {
                    (true, false) => (reg.lambda1, "λ1 (first differences)"),
                    (false, true) => (reg.lambda2, "λ2 (second differences)"),
                    (true, true) => (reg.lambda1 + reg.lambda2, "λ1 + λ2"),
                    (false, false) => (0.0, ""),
                };
                if w > 0.0 {
                    push(&mut by_reg, format!("{} n={} {which}", r.model, r.n_train), (w, mean));
                } else if r.n_train == rows.iter().map(|r| r.n_train).max().unwrap_or(0) {
                    unpenalised.push((format!("{} n={} no penalty", r.model, r.n_train), mean));
                }
            }
            let distinct_n = rows.iter().map(|r| r.n_train).collect::<std::collections::BTreeSet<_>>().len();
            if distinct_n > 1 {
                by_n.iter_mut().for_each(|(_, v)| v.sort_by(|a, b| a.0.total_cmp(&b.0)));
                let path = dir.join(format!("error_vs_training_subpopulations_{pop}.png"));
                let title = format!("held-out MAE on {pop} against the number of training sub-populations");
                if let Err(e) =
                    collop_plot::line_chart(&path, &by_n, "training sub-populations", "MAE", true, &title)
                {
                    failures.push(format!("{}: {e}", path.display()));
                }
            }
            let weights = by_reg.iter().flat_map(|(_, v)| v.iter().map(|p| p.0));
            let (lo, hi) = weights.fold((f64::INFINITY, 0.0f64), |(a, b), w| (a.min(w), b.max(w)));
            if lo < hi {
                for (label, mae) in unpenalised {
                    by_reg.push((label, vec![(lo, mae), (hi, mae)]));
                }
            }
            if by_reg.iter().any(|(_, v)| v.len() > 1) {
                by_reg.iter_mut().for_each(|(_, v)| {
                    v.sort_by(|a, b| a.0.total_cmp(&b.0));
                    v.iter_mut().for_each(|p| p.0 = p.0.log10());
                });
                let path = dir.join(format!("error_vs_regularisation_{pop}.png"));
                let title = format!("held-out MAE on {pop} against the time regularisation");
                if let Err(e) = collop_plot::line_chart(&path, &by_reg, "log10(weight)", "MAE", true, &title)
                {
                    failures.push(format!("{}: {e}", path.display()));
                }
            }
            if let Err(e) = kernel_figures(dir, pop, &rows) {
                failures.push(e);
            }
        }
        self.failures.extend(failures);
    }
}

/// The kernel study's pictures of one held-out sub-population (arXiv
/// 2601.13377, its Pareto curve), when the sweep trained kernel models of
/// more than one size: the error against the kernel size, one curve per
/// family (outer difference, tensor or network, time nodes) with the
/// spread over seeds as a shaded band and the other models as flat lines, and the error against the number of trained parameters
/// (log10), every model. Returns the message of a picture that could not
/// be drawn.
fn kernel_figures(dir: &Path, pop: &str, rows: &[&SummaryRow]) -> std::result::Result<(), String> {
    use collop_plot::BandedSeries;
    fn push(set: &mut Vec<BandedSeries>, label: String, p: (f64, f64), band: Option<(f64, f64)>) {
        let k = match set.iter().position(|s| s.label == label) {
            Some(k) => k,
            None => {
                set.push(BandedSeries { label, points: Vec::new(), band: Some(Vec::new()) });
                set.len() - 1
            }
        };
        set[k].points.push(p);
        // One point without a spread (a single seed) drops the band.
        match (band, &mut set[k].band) {
            (Some(b), Some(v)) => v.push(b),
            _ => set[k].band = None,
        }
    }
    let n_max = rows.iter().map(|r| r.n_train).max().unwrap_or(0);
    let rows: Vec<&&SummaryRow> = rows.iter().filter(|r| r.n_train == n_max).collect();
    let mut by_k: Vec<BandedSeries> = Vec::new();
    // The other models: (name, mean, spread over seeds).
    type Baseline = (String, f64, Option<(f64, f64)>);
    let mut baselines: Vec<Baseline> = Vec::new();
    let mut by_params: Vec<BandedSeries> = Vec::new();
    for r in &rows {
        let [mean, lo, hi, _] = r.mae.expect("only scored rows");
        let spread = (r.scored > 1).then_some((lo, hi));
        let model: Option<BuiltinModel> = r.model.parse().ok();
        let family = match model {
            Some(BuiltinModel::Kernel { k, difference, time }) => {
                let t = BuiltinModel::Kernel { k: 1, difference, time }.name();
                Some((k, format!("kernel tensor, {difference} ({})", t.replacen('1', "N", 1))))
            }
            Some(BuiltinModel::KernelMlp { k, difference, time }) => {
                let t = BuiltinModel::KernelMlp { k: 1, difference, time }.name();
                Some((k, format!("kernel network, {difference} ({})", t.replacen('1', "N", 1))))
            }
            _ => None,
        };
        let x = (r.n_params.max(1) as f64).log10();
        match family {
            Some((k, label)) => {
                push(&mut by_k, label.clone(), (k as f64, mean), spread);
                push(&mut by_params, label, (x, mean), spread);
            }
            None => {
                baselines.push((r.model.clone(), mean, spread));
                push(&mut by_params, r.model.clone(), (x, mean), spread);
            }
        }
    }
    let sizes: Vec<f64> = by_k.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
    let (k_lo, k_hi) =
        sizes.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &k| (a.min(k), b.max(k)));
    if sizes.is_empty() || k_lo >= k_hi {
        return Ok(());
    }
    for (label, mae, spread) in baselines {
        by_k.push(BandedSeries {
            label,
            points: vec![(k_lo, mae), (k_hi, mae)],
            band: spread.map(|b| vec![b, b]),
        });
    }
    for set in [&mut by_k, &mut by_params] {
        for s in set.iter_mut() {
            let mut order: Vec<usize> = (0..s.points.len()).collect();
            order.sort_by(|&a, &b| s.points[a].0.total_cmp(&s.points[b].0));
            s.points = order.iter().map(|&k| s.points[k]).collect();
            if let Some(b) = &s.band {
                s.band = Some(order.iter().map(|&k| b[k]).collect());
            }
        }
    }
    let path = dir.join(format!("error_vs_kernel_size_{pop}.png"));
    let title = format!("held-out MAE on {pop} by kernel size (bands: seeds' min-max)");
    collop_plot::banded_chart(&path, &by_k, "kernel size k", "MAE", true, &title)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let path = dir.join(format!("error_vs_parameters_{pop}.png"));
    let title = format!("held-out MAE on {pop} by trained parameters");
    collop_plot::banded_chart(&path, &by_params, "log10(trained parameters)", "MAE", true, &title)
        .map_err(|e| format!("{}: {e}", path.display()))
}

impl SweepSettings {
    /// The `collop sweep` command line of these settings into `out`.
    pub fn command(&self, out: &Path) -> String {
        let mut c = format!(
            "collop sweep {} -o {} --test {}",
            self.run.display(),
            out.display(),
            self.test.join(" ")
        );
        if !self.pool.is_empty() {
            c += &format!(" --pool {}", self.pool.join(" "));
        }
        let models: Vec<String> = self.models.iter().map(|m| m.name()).collect();
        c += &format!(" --models {}", models.join(","));
        let l1: Vec<String> = self.regularisations.iter().map(|r| r.lambda1.to_string()).collect();
        let l2: Vec<String> = self.regularisations.iter().map(|r| r.lambda2.to_string()).collect();
        c += &format!(" --lambda1 {} --lambda2 {}", l1.join(","), l2.join(","));
        if !self.train_counts.is_empty() {
            let n: Vec<String> = self.train_counts.iter().map(|n| n.to_string()).collect();
            c += &format!(" --train-counts {}", n.join(","));
        }
        c += &format!(
            " --seeds {} --epochs-scale {} --substeps {}",
            self.seeds, self.epochs_scale, self.substeps
        );
        if self.repeats > 1 {
            c += &format!(" --repeats {}", self.repeats);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::TimeDependence;

    fn pool(n: usize) -> Vec<String> {
        (0..n).map(|k| format!("p{k}")).collect()
    }

    /// The product: time-dependent models once per regularisation,
    /// time-independent ones once; sizes below the pool once per seed, the
    /// whole pool once; subsets of the right size drawn from the pool,
    /// different across seeds, reproducible.
    #[test]
    fn variants_are_the_product_of_the_lists() {
        let mut s = SweepSettings::new(
            "run",
            vec!["held".into()],
            vec![BuiltinModel::TENSOR, BuiltinModel::Tensor(TimeDependence::Nodes(5))],
        );
        s.regularisations = vec![
            TimeRegularisation { lambda1: 1e-4, lambda2: 0.0 },
            TimeRegularisation { lambda1: 1e-8, lambda2: 0.0 },
        ];
        s.train_counts = vec![2, 6];
        s.seeds = 3;
        let p = pool(6);
        let v = variants(&s, &p);
        // tensor: (3 seeds + 1) ; tensor-t5: 2 regs x (3 + 1)
        assert_eq!(v.len(), 4 + 8);
        let names: std::collections::BTreeSet<&str> = v.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names.len(), v.len(), "names are unique");
        for x in &v {
            assert!(x.train.iter().all(|n| p.contains(n)));
            if x.name.contains("-n2-") {
                assert_eq!(x.train.len(), 2);
            } else {
                assert_eq!(x.train, p);
            }
        }
        let subsets: std::collections::BTreeSet<Vec<String>> = v
            .iter()
            .filter(|x| x.model == BuiltinModel::TENSOR && x.train.len() == 2)
            .map(|x| x.train.clone())
            .collect();
        assert_eq!(subsets.len(), 3, "three seeds, three subsets: {subsets:?}");
        let again = variants(&s, &p);
        assert!(v.iter().zip(&again).all(|(a, b)| a.train == b.train && a.name == b.name));
        assert!(
            v.iter()
                .filter(|x| x.model == BuiltinModel::TENSOR)
                .all(|x| x.reg == TimeRegularisation::default())
        );
    }

    /// Repeats train every variant once per training seed, on the same
    /// subset, under names that tell them apart; kernel models of several
    /// sizes and differences are distinct variants.
    #[test]
    fn repeats_multiply_every_variant_with_its_training_seed() {
        use collop_fp::Difference;
        let kernels: Vec<BuiltinModel> =
            [(2, Difference::Forward), (3, Difference::Backward), (3, Difference::Centred)]
                .into_iter()
                .map(|(k, difference)| BuiltinModel::Kernel { k, difference, time: TimeDependence::Constant })
                .collect();
        let mut s = SweepSettings::new("run", vec!["held".into()], kernels);
        s.repeats = 3;
        let v = variants(&s, &pool(4));
        assert_eq!(v.len(), 3 * 3);
        let names: Vec<&str> = v.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(&names[..3], ["kernel-k2-n4-s0-r0", "kernel-k2-n4-s0-r1", "kernel-k2-n4-s0-r2"]);
        assert!(names.contains(&"kernel-c3-n4-s0-r2") && names.contains(&"kernel-b3-n4-s0-r0"));
        assert_eq!(v.iter().map(|v| v.train_seed).collect::<Vec<_>>(), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
        assert!(v.iter().all(|x| x.train == pool(4)));
        // One repeat keeps the names of earlier sweeps (resumable).
        s.repeats = 1;
        assert_eq!(variants(&s, &pool(4))[0].name, "kernel-k2-n4-s0");
    }

    /// Subsets of one size are distinct across seeds; when there are no
    /// more of them than seeds, each is taken once (the single members of
    /// a pool of 8 with 8 seeds, the whole pool once); large pools draw.
    #[test]
    fn subsets_are_distinct_and_exhaustive_when_few() {
        let p = pool(8);
        let ones = subsets(&p, 1, 8);
        assert_eq!(ones, p.iter().map(|x| vec![x.clone()]).collect::<Vec<_>>());
        assert_eq!(subsets(&p, 8, 8), vec![p.clone()]);
        let sevens = subsets(&p, 7, 20);
        assert_eq!(sevens.len(), 8, "C(8, 7) = 8 subsets, fewer than 20 seeds");
        for (n, seeds) in [(2, 8), (4, 8), (3, 56), (5, 3)] {
            let s = subsets(&p, n, seeds);
            assert_eq!(s.len(), seeds);
            let distinct: std::collections::BTreeSet<_> = s.iter().cloned().collect();
            assert_eq!(distinct.len(), s.len(), "n = {n}: a subset drawn twice");
            assert!(s.iter().all(|x| x.len() == n && x.windows(2).all(|w| w[0] < w[1])));
        }
        // C(8, 3) = 56 = seeds: every combination, enumerated.
        assert_eq!(subsets(&p, 3, 56).len(), 56);
        let big = pool(40);
        let s = subsets(&big, 20, 8);
        assert_eq!(s.len(), 8);
        assert_eq!(s, subsets(&big, 20, 8), "reproducible");
    }

    #[test]
    fn stats_of_a_sample() {
        let [m, lo, hi, sd] = stats(&[1.0, 2.0, 3.0]);
        assert_eq!((m, lo, hi), (2.0, 1.0, 3.0));
        assert!((sd - (2.0f64 / 3.0).sqrt()).abs() < 1e-15);
    }
}
