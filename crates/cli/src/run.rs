//! Run directories of `collop train`: resolved config, run metadata, loss
//! history, learned parameters and checkpoints, each written atomically.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use collop_learn::{EpochRecord, LearnError, Observer, OptimiserState, TrainState};
use ndarray::{ArrayD, IxDyn};

/// File names inside a run directory.
pub const CONFIG: &str = "config.toml";
/// Run metadata.
pub const RUN_JSON: &str = "run.json";
/// Loss history.
pub const HISTORY: &str = "history.csv";
/// Resumable training state.
pub const CHECKPOINT: &str = "checkpoint.npz";
/// Learned parameters (numpy-readable).
pub const MODEL: &str = "model.npz";

const HISTORY_HEADER: &str = "stage,epoch,global_epoch,unroll,train_loss,val_loss,lr,evaluations,elapsed_s";

fn arr(v: &[f64]) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.to_vec()).expect("1D")
}

/// Write the training state as a numpy archive.
pub fn save_checkpoint(dir: &Path, state: &TrainState) -> Result<()> {
    let mut named: Vec<(String, ArrayD<f64>)> = vec![
        ("phi".into(), arr(&state.phi)),
        ("progress".into(), arr(&[state.stage as f64, state.epoch as f64, state.global_epoch as f64])),
    ];
    match &state.optimiser {
        OptimiserState::Adam { m, v, t } => {
            named.push(("adam_m".into(), arr(m)));
            named.push(("adam_v".into(), arr(v)));
            named.push(("adam_t".into(), arr(&[*t as f64])));
        }
        OptimiserState::Lbfgs { s, y } => {
            for (k, (sk, yk)) in s.iter().zip(y).enumerate() {
                named.push((format!("lbfgs_s_{k:03}"), arr(sk)));
                named.push((format!("lbfgs_y_{k:03}"), arr(yk)));
            }
        }
    }
    if let Some((score, phi)) = &state.best {
        named.push(("best_score".into(), arr(&[*score])));
        named.push(("best_phi".into(), arr(phi)));
    }
    for (k, sb) in state.stage_best.iter().enumerate() {
        if let Some((score, phi)) = sb {
            named.push((format!("stage_{k:02}_best_score"), arr(&[*score])));
            named.push((format!("stage_{k:02}_best_phi"), arr(phi)));
        }
    }
    let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
        named.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    collop_io::write_npz(dir.join(CHECKPOINT), &views)?;
    Ok(())
}

/// Read a checkpoint written by [`save_checkpoint`] into `state` (whose
/// optimiser kind and stage count must match the run's config).
pub fn load_checkpoint(dir: &Path, state: &mut TrainState) -> Result<()> {
    let path = dir.join(CHECKPOINT);
    let arrays = collop_io::read_npz(&path).with_context(|| format!("reading {}", path.display()))?;
    let get = |name: &str| {
        arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a.iter().copied().collect::<Vec<f64>>())
    };
    let phi = get("phi").with_context(|| format!("{}: no `phi`", path.display()))?;
    if phi.len() != state.phi.len() {
        bail!(
            "{}: {} parameters, the model in config.toml has {}: the config changed since the checkpoint",
            path.display(),
            phi.len(),
            state.phi.len()
        );
    }
    let progress = get("progress").with_context(|| format!("{}: no `progress`", path.display()))?;
    state.phi = phi;
    state.stage = progress[0] as usize;
    state.epoch = progress[1] as usize;
    state.global_epoch = progress[2] as usize;
    match &mut state.optimiser {
        OptimiserState::Adam { m, v, t } => {
            *m = get("adam_m").context("checkpoint without Adam state")?;
            *v = get("adam_v").context("checkpoint without Adam state")?;
            *t = get("adam_t").context("checkpoint without Adam state")?[0] as u64;
        }
        OptimiserState::Lbfgs { s, y } => {
            s.clear();
            y.clear();
            for k in 0.. {
                match (get(&format!("lbfgs_s_{k:03}")), get(&format!("lbfgs_y_{k:03}"))) {
                    (Some(sk), Some(yk)) => {
                        s.push(sk);
                        y.push(yk);
                    }
                    _ => break,
                }
            }
        }
    }
    if let (Some(score), Some(phi)) = (get("best_score"), get("best_phi")) {
        state.best = Some((score[0], phi));
    }
    for k in 0..state.stage_best.len() {
        if let (Some(score), Some(phi)) =
            (get(&format!("stage_{k:02}_best_score")), get(&format!("stage_{k:02}_best_phi")))
        {
            state.stage_best[k] = Some((score[0], phi));
        }
    }
    Ok(())
}

/// Logs every epoch to history.csv and writes checkpoints.
pub struct RunLogger {
    dir: PathBuf,
    lines: Vec<String>,
    every: usize,
}

impl RunLogger {
    /// A logger for `dir`; on resume, the history up to `global_epoch` is kept.
    pub fn new(dir: &Path, every: usize, resume_at: Option<usize>) -> Result<Self> {
        let mut lines = Vec::new();
        if let Some(done) = resume_at {
            let text = std::fs::read_to_string(dir.join(HISTORY)).unwrap_or_default();
            for line in text.lines().skip(1) {
                let ge: usize = line.split(',').nth(2).and_then(|v| v.parse().ok()).unwrap_or(usize::MAX);
                if ge <= done {
                    lines.push(line.to_string());
                }
            }
        }
        Ok(Self { dir: dir.to_path_buf(), lines, every })
    }

    fn flush(&self, state: &TrainState) -> Result<(), LearnError> {
        let mut text = String::from(HISTORY_HEADER);
        text.push('\n');
        for l in &self.lines {
            text.push_str(l);
            text.push('\n');
        }
        let io = |e: anyhow::Error| LearnError::Config(format!("writing the run directory: {e:#}"));
        collop_io::write_text(self.dir.join(HISTORY), &text).map_err(|e| io(e.into()))?;
        save_checkpoint(&self.dir, state).map_err(io)
    }
}

impl Observer for RunLogger {
    fn on_epoch(&mut self, r: &EpochRecord, _phi: &[f64], state: &TrainState) -> Result<(), LearnError> {
        let val = r.val_loss.map(|v| format!("{v:e}")).unwrap_or_default();
        self.lines.push(format!(
            "{},{},{},{},{:e},{val},{:e},{},{:.3}",
            r.stage, r.epoch, r.global_epoch, r.unroll, r.train_loss, r.lr, r.evaluations, r.elapsed
        ));
        if self.every > 0 && r.global_epoch % self.every == 0 {
            self.flush(state)?;
        }
        Ok(())
    }

    fn on_stage_end(&mut self, _stage: usize, state: &TrainState) -> Result<(), LearnError> {
        // The state already counts the stage as done once `train` advances it;
        // write it with the stage marked complete so a resume starts the next.
        let mut done = state.clone();
        done.stage += 1;
        done.epoch = 0;
        self.flush(&done)
    }
}
