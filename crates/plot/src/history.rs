//! Quantities against training epoch or simulation time: loss curves and
//! rollout errors.

use std::path::Path;

use plotters::prelude::*;

use crate::PlotError;
use crate::canvas::{self, TITLE_BAND};
use crate::chart::{Curve, Frame, draw_chart};
use crate::legend::{LegendEntry, LegendLayout};
use crate::style::{CurveStyle, series_colour};

const PANEL: (u32, u32) = (1100, 640);

/// Series with more points than this are drawn as bare lines.
const MARKER_LIMIT: usize = 40;

/// Draw training losses against epoch on a log axis, e.g. `("train", ..)`
/// and `("validation", ..)` with points `(epoch, loss)`, and a dashed
/// vertical line at each epoch in `stage_starts` where a new stage of the
/// training schedule begins (labelled stage 2, 3, ...); write the picture
/// to `path` as a PNG 1100 pixels wide and 692 tall plus 48 for a legend row
/// and 28 for each further row.
///
/// Errors: no series, a series without points, a non-finite value, a loss
/// that is not positive (log axis); failures to draw or write.
pub fn loss_curves<S: AsRef<str>>(
    path: impl AsRef<Path>,
    series: &[(S, Vec<(f64, f64)>)],
    stage_starts: &[f64],
    title: &str,
) -> Result<(), PlotError> {
    canvas::write_atomically(path.as_ref(), &loss_curves_png(series, stage_starts, title)?)
}

/// [`loss_curves`] in memory: the bytes of the PNG file, for pictures
/// embedded in a report.
///
/// Errors: those of [`loss_curves`] but writing.
pub fn loss_curves_png<S: AsRef<str>>(
    series: &[(S, Vec<(f64, f64)>)],
    stage_starts: &[f64],
    title: &str,
) -> Result<Vec<u8>, PlotError> {
    if let Some(x) = stage_starts.iter().find(|x| !x.is_finite()) {
        return Err(PlotError::NonFinite(format!("stage boundary at epoch {x}")));
    }
    let lines: Vec<(f64, String)> =
        stage_starts.iter().enumerate().map(|(k, &x)| (x, format!("stage {}", k + 2))).collect();
    draw_history(series, "epoch", "loss", true, &lines, title)
}

/// Draw a rollout error (e.g. the mean absolute error against PIC) against
/// time for several models, `(label, [(t, error)])` each, `y` on a log
/// axis if `log_y`; write the picture to `path` as a PNG of the size of
/// [`loss_curves`]' pictures. `y_label` names the error.
///
/// Errors: no series, a series without points, a non-finite value, a value
/// that is not positive when `log_y`; failures to draw or write.
pub fn error_vs_time<S: AsRef<str>>(
    path: impl AsRef<Path>,
    series: &[(S, Vec<(f64, f64)>)],
    y_label: &str,
    log_y: bool,
    title: &str,
) -> Result<(), PlotError> {
    canvas::write_atomically(path.as_ref(), &error_vs_time_png(series, y_label, log_y, title)?)
}

/// [`error_vs_time`] in memory: the bytes of the PNG file, for pictures
/// embedded in a report.
///
/// Errors: those of [`error_vs_time`] but writing.
pub fn error_vs_time_png<S: AsRef<str>>(
    series: &[(S, Vec<(f64, f64)>)],
    y_label: &str,
    log_y: bool,
    title: &str,
) -> Result<Vec<u8>, PlotError> {
    draw_history(series, "t (ω_p⁻¹)", y_label, log_y, &[], title)
}

/// Curves `y(x)` of several series, `(label, [(x, y)])` each, on axes
/// named `x_label` and `y_label` (`y` on a log axis if `log_y`): the
/// picture of [`error_vs_time`] for any abscissa, e.g. speed distributions
/// against `|v|`. Returns the bytes of the PNG file.
///
/// Errors: those of [`error_vs_time`] but writing.
pub fn line_chart_png<S: AsRef<str>>(
    series: &[(S, Vec<(f64, f64)>)],
    x_label: &str,
    y_label: &str,
    log_y: bool,
    title: &str,
) -> Result<Vec<u8>, PlotError> {
    draw_history(series, x_label, y_label, log_y, &[], title)
}

/// [`line_chart_png`] written to `path`.
///
/// Errors: those of [`error_vs_time`].
pub fn line_chart<S: AsRef<str>>(
    path: impl AsRef<Path>,
    series: &[(S, Vec<(f64, f64)>)],
    x_label: &str,
    y_label: &str,
    log_y: bool,
    title: &str,
) -> Result<(), PlotError> {
    canvas::write_atomically(path.as_ref(), &line_chart_png(series, x_label, y_label, log_y, title)?)
}

/// A curve of [`banded_chart`]: points `(x, y)` and, if given, a shaded
/// band `(low, high)` at each point (e.g. the spread over seeds).
#[derive(Debug, Clone, PartialEq)]
pub struct BandedSeries {
    /// Legend label.
    pub label: String,
    /// The curve.
    pub points: Vec<(f64, f64)>,
    /// `(low, high)` at each point, or no band.
    pub band: Option<Vec<(f64, f64)>>,
}

/// [`line_chart`] with a shaded band around the curves that have one,
/// in the curve's colour: e.g. the mean over seeds with their minimum and
/// maximum. Returns the bytes of the PNG file.
///
/// Errors: those of [`line_chart`], a band whose length is not its
/// curve's or with a non-finite (or, on a log axis, non-positive) value.
pub fn banded_chart_png(
    series: &[BandedSeries],
    x_label: &str,
    y_label: &str,
    log_y: bool,
    title: &str,
) -> Result<Vec<u8>, PlotError> {
    let plain: Vec<(&str, Vec<(f64, f64)>)> =
        series.iter().map(|s| (s.label.as_str(), s.points.clone())).collect();
    let bands: Vec<Option<Vec<(f64, f64)>>> = series.iter().map(|s| s.band.clone()).collect();
    draw_banded(&plain, &bands, x_label, y_label, log_y, &[], title)
}

/// [`banded_chart_png`] written to `path`.
///
/// Errors: those of [`banded_chart_png`] and writing.
pub fn banded_chart(
    path: impl AsRef<Path>,
    series: &[BandedSeries],
    x_label: &str,
    y_label: &str,
    log_y: bool,
    title: &str,
) -> Result<(), PlotError> {
    canvas::write_atomically(path.as_ref(), &banded_chart_png(series, x_label, y_label, log_y, title)?)
}

/// Pixel size of a history picture with this legend.
fn size(legend: &LegendLayout) -> (u32, u32) {
    (PANEL.0, TITLE_BAND + PANEL.1 + legend.height())
}

fn check<S: AsRef<str>>(series: &[(S, Vec<(f64, f64)>)], log_y: bool) -> Result<(), PlotError> {
    if series.is_empty() {
        return Err(PlotError::InvalidInput("no series to draw".into()));
    }
    for (label, points) in series {
        let label = label.as_ref();
        if points.is_empty() {
            return Err(PlotError::InvalidInput(format!("series '{label}' has no points")));
        }
        if let Some((x, y)) = points.iter().find(|(x, y)| !(x.is_finite() && y.is_finite())) {
            return Err(PlotError::NonFinite(format!("series '{label}' has the point ({x}, {y})")));
        }
        if log_y && let Some((x, y)) = points.iter().find(|(_, y)| *y <= 0.0) {
            return Err(PlotError::InvalidInput(format!(
                "series '{label}' has y = {y} at x = {x}; a log axis needs y > 0"
            )));
        }
    }
    Ok(())
}

fn draw_history<S: AsRef<str>>(
    series: &[(S, Vec<(f64, f64)>)],
    x_desc: &str,
    y_desc: &str,
    log_y: bool,
    vertical_lines: &[(f64, String)],
    title: &str,
) -> Result<Vec<u8>, PlotError> {
    draw_banded(series, &[], x_desc, y_desc, log_y, vertical_lines, title)
}

/// [`draw_history`] with a band `(low, high)` per point for the series
/// whose entry of `bands` is `Some` (`bands` may be shorter than `series`).
fn draw_banded<S: AsRef<str>>(
    series: &[(S, Vec<(f64, f64)>)],
    bands: &[Option<Vec<(f64, f64)>>],
    x_desc: &str,
    y_desc: &str,
    log_y: bool,
    vertical_lines: &[(f64, String)],
    title: &str,
) -> Result<Vec<u8>, PlotError> {
    check(series, log_y)?;
    let band_columns: Vec<Option<(Vec<f64>, Vec<f64>)>> = (0..series.len())
        .map(|k| {
            bands
                .get(k)
                .and_then(Option::as_ref)
                .map(|b| (b.iter().map(|p| p.0).collect(), b.iter().map(|p| p.1).collect()))
        })
        .collect();
    for (k, b) in band_columns.iter().enumerate() {
        if let Some((lo, hi)) = b {
            let label = series[k].0.as_ref();
            if lo.len() != series[k].1.len() {
                return Err(PlotError::InvalidInput(format!(
                    "series '{label}' has {} points and {} band values",
                    series[k].1.len(),
                    lo.len()
                )));
            }
            if let Some(v) = lo.iter().chain(hi).find(|v| !v.is_finite() || (log_y && **v <= 0.0)) {
                return Err(PlotError::NonFinite(format!("series '{label}' has the band value {v}")));
            }
        }
    }
    let style = |n: usize| if n > MARKER_LIMIT { CurveStyle::Line } else { CurveStyle::LineMarkers };
    let columns: Vec<(Vec<f64>, Vec<f64>)> = series
        .iter()
        .map(|(_, p)| (p.iter().map(|q| q.0).collect(), p.iter().map(|q| q.1).collect()))
        .collect();
    let entries: Vec<LegendEntry<'_>> = series
        .iter()
        .enumerate()
        .filter(|(_, (label, _))| !label.as_ref().is_empty())
        .map(|(k, (label, p))| LegendEntry {
            label: label.as_ref(),
            colour: series_colour(k),
            style: style(p.len()),
            band: band_columns[k].is_some(),
        })
        .collect();
    let legend = LegendLayout::new(&entries, PANEL.0)?;
    canvas::render(size(&legend), |root| {
        root.fill(&WHITE)?;
        let body = canvas::below_title(root, title)?;
        let curves: Vec<Curve<'_>> = columns
            .iter()
            .enumerate()
            .map(|(k, (x, y))| Curve {
                x,
                y,
                band: band_columns[k].as_ref().map(|(lo, hi)| (lo.as_slice(), hi.as_slice())),
                colour: series_colour(k),
                style: style(x.len()),
            })
            .collect();
        let frame = Frame { caption: None, x_desc, y_desc, log_y, zero_line: false, vertical_lines };
        draw_chart(&canvas::sub(&body, (0, 0), PANEL), &frame, &curves)?;
        if !entries.is_empty() {
            let strip = canvas::sub(&body, (0, PANEL.1 as i32), (PANEL.0, legend.height()));
            legend.draw(&strip, &entries)?;
        }
        Ok(())
    })
}
