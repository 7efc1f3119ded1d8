//! Phase-space histograms from PIC beside those a model predicts.

use std::path::Path;

use collop_core::VelocityGrid;
use ndarray::{Array2, ArrayView2};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::PlotError;
use crate::canvas::{self, Area, TITLE_BAND};
use crate::colour::ColourScale;
use crate::heatmap::{BAR_SLOT, PanelBox, draw_colour_bar, draw_heatmap};
use crate::style::{CAPTION_SIZE, bold};

const MARGIN: u32 = 20;
const SLOT: (u32, u32) = (440, 494);
const HEADER: u32 = 34;
const ROW_H: u32 = HEADER + SLOT.1;
const WIDTH: u32 = 2 * MARGIN + 3 * SLOT.0 + 2 * BAR_SLOT;
/// The most rows in one picture (8500 pixels tall).
const MAX_ROWS: usize = 16;

/// Pixel size of a snapshot picture of `rows` rows.
pub(crate) fn size(rows: usize) -> (u32, u32) {
    (WIDTH, TITLE_BAND + rows as u32 * ROW_H)
}

/// The PIC and predicted histograms of one diagnostic dump, for
/// [`phase_space_rows`].
#[derive(Debug, Clone, Copy)]
pub struct SnapshotRow<'a> {
    /// Time of the dump, `1/omega_p`.
    pub time: f64,
    /// The histogram from the particle-in-cell run, shape of the grid.
    pub pic: ArrayView2<'a, f64>,
    /// The histogram the model predicts for the same dump, same shape.
    pub predicted: ArrayView2<'a, f64>,
}

/// Draw one PIC histogram `f(v_x, v_y)` beside the model's prediction and
/// their difference, and write the picture to `path` as a PNG of 1640 x 580
/// pixels.
///
/// PIC and predicted share one sequential colour scale (so equal colours
/// are equal values); the difference `predicted - PIC` has a diverging scale
/// symmetric about zero. The header gives the relative L1 error
/// `sum |predicted - PIC| / sum |PIC|`.
///
/// Errors: arrays whose shape is not the grid's, non-finite values;
/// failures to draw or write.
pub fn phase_space_snapshots(
    path: impl AsRef<Path>,
    grid: &VelocityGrid,
    pic: ArrayView2<'_, f64>,
    predicted: ArrayView2<'_, f64>,
    title: &str,
) -> Result<(), PlotError> {
    canvas::write_atomically(path.as_ref(), &phase_space_snapshots_png(grid, pic, predicted, title)?)
}

/// [`phase_space_snapshots`] in memory: the bytes of the PNG file, for
/// pictures embedded in a report.
///
/// Errors: those of [`phase_space_snapshots`] but writing.
pub fn phase_space_snapshots_png(
    grid: &VelocityGrid,
    pic: ArrayView2<'_, f64>,
    predicted: ArrayView2<'_, f64>,
    title: &str,
) -> Result<Vec<u8>, PlotError> {
    draw_rows(grid, &[(None, pic, predicted)], title)
}

/// [`phase_space_snapshots`] for several dumps, one row per dump with its
/// time in the row header; a PNG 1640 pixels wide and `52 + 528 n` tall
/// for `n` rows. Each row has its own colour scales.
///
/// Errors: no rows or more than 16, a non-finite time, and those of
/// [`phase_space_snapshots`].
pub fn phase_space_rows(
    path: impl AsRef<Path>,
    grid: &VelocityGrid,
    rows: &[SnapshotRow<'_>],
    title: &str,
) -> Result<(), PlotError> {
    canvas::write_atomically(path.as_ref(), &phase_space_rows_png(grid, rows, title)?)
}

/// [`phase_space_rows`] in memory: the bytes of the PNG file, for pictures
/// embedded in a report.
///
/// Errors: those of [`phase_space_rows`] but writing.
pub fn phase_space_rows_png(
    grid: &VelocityGrid,
    rows: &[SnapshotRow<'_>],
    title: &str,
) -> Result<Vec<u8>, PlotError> {
    if rows.is_empty() || rows.len() > MAX_ROWS {
        return Err(PlotError::InvalidInput(format!(
            "{} snapshot rows: draw between 1 and {MAX_ROWS} dumps in one picture",
            rows.len()
        )));
    }
    if let Some(r) = rows.iter().find(|r| !r.time.is_finite()) {
        return Err(PlotError::NonFinite(format!("snapshot time {}", r.time)));
    }
    let rows: Vec<_> = rows.iter().map(|r| (Some(r.time), r.pic, r.predicted)).collect();
    draw_rows(grid, &rows, title)
}

type Row<'a> = (Option<f64>, ArrayView2<'a, f64>, ArrayView2<'a, f64>);

fn draw_rows(grid: &VelocityGrid, rows: &[Row<'_>], title: &str) -> Result<Vec<u8>, PlotError> {
    for (k, (_, pic, predicted)) in rows.iter().enumerate() {
        for (name, a) in [("PIC", pic), ("predicted", predicted)] {
            check(grid, a, &format!("{name} histogram of row {k}"))?;
        }
    }
    canvas::render(size(rows.len()), |root| {
        root.fill(&WHITE)?;
        let body = canvas::below_title(root, title)?;
        for (k, (time, pic, predicted)) in rows.iter().enumerate() {
            let row = canvas::sub(&body, (0, k as i32 * ROW_H as i32), (WIDTH, ROW_H));
            draw_row(&row, grid, *time, *pic, *predicted)?;
        }
        Ok(())
    })
}

fn check(grid: &VelocityGrid, a: &ArrayView2<'_, f64>, what: &str) -> Result<(), PlotError> {
    if a.dim() != grid.shape() {
        return Err(PlotError::ShapeMismatch(format!(
            "{what} has shape {:?}, the grid is {} x {}",
            a.dim(),
            grid.nx,
            grid.ny
        )));
    }
    if let Some(((i, j), v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(PlotError::NonFinite(format!("{what} is {v} at cell ({i}, {j})")));
    }
    Ok(())
}

fn draw_row(
    row: &Area<'_>,
    grid: &VelocityGrid,
    time: Option<f64>,
    pic: ArrayView2<'_, f64>,
    predicted: ArrayView2<'_, f64>,
) -> Result<(), PlotError> {
    let diff: Array2<f64> = &predicted - &pic;
    let norm: f64 = pic.iter().map(|v| v.abs()).sum();
    let error = if norm > 0.0 {
        format!("relative L1 error {:.2} %", 100.0 * diff.iter().map(|v| v.abs()).sum::<f64>() / norm)
    } else {
        "PIC histogram is zero".into()
    };
    let header = match time {
        // Six significant digits: 0.1 + 0.2 reads 0.3.
        Some(t) => format!("t = {} ω_p⁻¹      {error}", (t * 1e6).round() / 1e6),
        None => error,
    };
    let (w, _) = row.dim_in_pixel();
    if time.is_some() {
        // A rule above each row header keeps the rows apart.
        row.draw(&PathElement::new(vec![(MARGIN as i32, 0), ((w - MARGIN) as i32, 0)], BLACK.mix(0.2)))?;
    }
    row.draw_text(
        &header,
        &bold(CAPTION_SIZE).pos(Pos::new(HPos::Center, VPos::Center)),
        ((w / 2) as i32, (HEADER / 2) as i32 + 4),
    )?;
    let f = ColourScale::sequential(pic.iter().chain(predicted.iter()));
    let d = ColourScale::symmetric(diff.iter());
    let at = PanelBox::fit(SLOT, grid);
    let mut x = MARGIN as i32;
    let mut next = |width: u32| {
        let a = canvas::sub(row, (x, HEADER as i32), (width, SLOT.1));
        x += width as i32;
        a
    };
    draw_heatmap(&next(SLOT.0), at, grid, pic, &f, "PIC")?;
    draw_heatmap(&next(SLOT.0), at, grid, predicted, &f, "predicted")?;
    draw_colour_bar(&next(BAR_SLOT), (10, at.y), at.h, &f, "f")?;
    draw_heatmap(&next(SLOT.0), at, grid, diff.view(), &d, "predicted − PIC")?;
    draw_colour_bar(&next(BAR_SLOT), (10, at.y), at.h, &d, "Δf")?;
    Ok(())
}
