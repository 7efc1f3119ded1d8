//! The pictures of runs and evaluations (PNG, collop-plot).

use std::path::Path;

use crate::error::Result;
use collop_core::{FpFields, PhaseSpaceSeries};
use collop_learn::EpochRecord;
use collop_plot::{CurveStyle, SnapshotRow};
use ndarray::Array4;

/// Creates the folder pictures are written into (and its parents), or
/// says in the user's terms why it cannot: a file of that name, a parent
/// that is a file, no permission. Call it before any work.
pub fn folder(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(crate::error::ExperimentError::artefact(
            dir,
            "is a file, not a folder for the pictures; give a folder (it is created if needed)",
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        crate::error::ExperimentError::artefact(
            dir,
            format!("cannot create the folder for the pictures ({e}); give a folder you can write into"),
        )
    })
}

/// Loss curves of a run: training and validation loss per epoch, stage starts marked.
pub fn loss(dir: &Path, records: &[EpochRecord]) -> Result<()> {
    let train: Vec<(f64, f64)> = records.iter().map(|r| (r.global_epoch as f64, r.train_loss)).collect();
    let val: Vec<(f64, f64)> =
        records.iter().filter_map(|r| r.val_loss.map(|v| (r.global_epoch as f64, v))).collect();
    let starts: Vec<f64> = records
        .windows(2)
        .filter(|w| w[1].stage != w[0].stage)
        .map(|w| w[1].global_epoch as f64 - 0.5)
        .collect();
    let mut series = vec![("training", train)];
    if !val.is_empty() {
        series.push(("validation", val));
    }
    collop_plot::loss_curves(dir.join("loss.png"), &series, &starts, "Rollout loss per epoch")?;
    Ok(())
}

/// Coefficient maps and binned radial profiles of learned fields.
pub fn fields(dir: &Path, fields: &FpFields, what: &str) -> Result<()> {
    collop_plot::coefficient_maps(dir.join("fields.png"), fields, &format!("Learned coefficients, {what}"))?;
    let curve = collop_plot::radial_binned(fields, 25)?
        .with_label("learned (bin mean, std band)")
        .with_style(CurveStyle::LineMarkers);
    collop_plot::radial_profiles(dir.join("radial.png"), &[curve], &format!("Radial profiles, {what}"))?;
    Ok(())
}

/// Error against time for several models on one dataset, and PIC vs
/// predicted snapshots of the first model at three dumps.
pub fn rollout(
    dir: &Path,
    tag: &str,
    series: &PhaseSpaceSeries,
    errors: &[(String, Vec<f64>)],
    predicted: &Array4<f64>,
) -> Result<()> {
    let lines: Vec<(String, Vec<(f64, f64)>)> = errors
        .iter()
        .map(|(name, e)| {
            (name.clone(), e.iter().enumerate().map(|(k, v)| (series.time(k + 1), *v)).collect())
        })
        .collect();
    collop_plot::error_vs_time(
        dir.join(format!("error-{tag}.png")),
        &lines,
        "MAE",
        true,
        &format!("Rollout error, {tag}"),
    )?;
    let last = series.len() - 1;
    let picks = [last / 10, last / 2, last].map(|k| k.max(1));
    let rows: Vec<SnapshotRow<'_>> = picks
        .iter()
        .map(|&k| SnapshotRow {
            time: series.time(k),
            pic: series.frame(k),
            predicted: predicted.slice(ndarray::s![k, 0, .., ..]),
        })
        .collect();
    collop_plot::phase_space_rows(
        dir.join(format!("snapshots-{tag}.png")),
        &series.grid,
        &rows,
        &format!("PIC vs {}", errors[0].0),
    )?;
    Ok(())
}
