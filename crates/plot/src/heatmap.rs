//! Heatmaps over `(v_x, v_y)` and their colour bars.

use collop_core::VelocityGrid;
use ndarray::ArrayView2;
use plotters::prelude::*;
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::PlotError;
use crate::axis::{TickFormat, ticks};
use crate::canvas::{self, Area};
use crate::colour::ColourScale;
use crate::font::text_width;
use crate::style::{CAPTION_SIZE, DESC_SIZE, TICK_SIZE, text};

/// Pixels left of the plot for tick labels and the `v_y` description.
const LEFT: u32 = 68;
/// Pixels below the plot for tick labels and the `v_x` description.
const BOTTOM: u32 = 52;
/// Pixels above the plot for the panel caption.
const CAPTION: u32 = 36;
/// Pixels right of the plot.
const RIGHT: u32 = 16;
/// Room above the top of a plot for half a tick label.
const TOP_PAD: u32 = 10;
/// Width of a colour bar.
const BAR_W: u32 = 24;
/// Room right of a colour bar for its ticks and their labels.
const BAR_LABELS: u32 = 100;
/// Length of the colour bar's tick marks, and the gap after them.
const BAR_TICK: i32 = 5;
/// Width of a slot holding one colour bar.
pub(crate) const BAR_SLOT: u32 = 140;
/// Number of colour slices drawn in a colour bar.
const BAR_SLICES: usize = 240;

/// Where the plot of a heatmap sits in its slot: the plot region's top-left
/// corner and size in pixels, with `v_x` and `v_y` drawn to the same scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PanelBox {
    pub(crate) x: i32,
    pub(crate) y: i32,
    pub(crate) w: u32,
    pub(crate) h: u32,
}

impl PanelBox {
    /// The largest plot of `grid`'s aspect ratio that fits a slot of
    /// `(width, height)` pixels with its caption and labels, centred across
    /// and at the top.
    pub(crate) fn fit(slot: (u32, u32), grid: &VelocityGrid) -> Self {
        let aspect = (grid.x_range[1] - grid.x_range[0]) / (grid.y_range[1] - grid.y_range[0]);
        let avail_w = f64::from(slot.0.saturating_sub(LEFT + RIGHT).max(10));
        let avail_h = f64::from(slot.1.saturating_sub(CAPTION + BOTTOM + TOP_PAD).max(10));
        let w = avail_w.min(avail_h * aspect);
        let h = w / aspect;
        let x = LEFT as i32 + ((avail_w - w) / 2.0) as i32;
        Self { x, y: (CAPTION + TOP_PAD / 2) as i32, w: w.round() as u32, h: h.round() as u32 }
    }
}

/// Draw `values` (shape of `grid`, axis 0 = `v_x`) as a heatmap in `slot`
/// at `at`, `v_x` across and `v_y` up, captioned `caption`.
pub(crate) fn draw_heatmap(
    slot: &Area<'_>,
    at: PanelBox,
    grid: &VelocityGrid,
    values: ArrayView2<'_, f64>,
    scale: &ColourScale,
    caption: &str,
) -> Result<(), PlotError> {
    let centre = Pos::new(HPos::Center, VPos::Center);
    slot.draw_text(
        caption,
        &text(CAPTION_SIZE).pos(centre),
        (at.x + at.w as i32 / 2, at.y - CAPTION as i32 / 2),
    )?;
    let area = canvas::sub(
        slot,
        (at.x - LEFT as i32, at.y - TOP_PAD as i32),
        (LEFT + at.w + RIGHT, TOP_PAD + at.h + BOTTOM),
    );
    let (xr, yr) = (grid.x_range, grid.y_range);
    let mut chart = ChartBuilder::on(&area)
        .margin_top(TOP_PAD)
        .margin_right(RIGHT)
        .x_label_area_size(BOTTOM)
        .y_label_area_size(LEFT)
        .build_cartesian_2d(xr[0]..xr[1], yr[0]..yr[1])?;
    let (dx, dy) = (grid.dvx(), grid.dvy());
    chart.draw_series(values.indexed_iter().map(|((i, j), &v)| {
        let (x0, y0) = (xr[0] + i as f64 * dx, yr[0] + j as f64 * dy);
        Rectangle::new([(x0, y0), (x0 + dx, y0 + dy)], scale.colour(v).filled())
    }))?;
    // About one tick per 55 pixels across and 40 up, so labels never touch.
    let (nx, ny) = (((at.w / 55) as usize).clamp(3, 7), ((at.h / 40) as usize).clamp(3, 7));
    let (fx, fy) = (TickFormat::new(xr[0], xr[1], nx), TickFormat::new(yr[0], yr[1], ny));
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(nx)
        .y_labels(ny)
        .x_label_formatter(&|v| fx.label(*v))
        .y_label_formatter(&|v| fy.label(*v))
        .x_desc("v_x (v_th)")
        .y_desc("v_y (v_th)")
        .label_style(text(TICK_SIZE))
        .axis_desc_style(text(DESC_SIZE))
        .draw()?;
    chart.plotting_area().draw(&Rectangle::new([(xr[0], yr[0]), (xr[1], yr[1])], BLACK.stroke_width(1)))?;
    Ok(())
}

/// Draw the colour bar of `scale` in `slot`, its bar `h` pixels tall from
/// `(x, y)`, ticks to its right and `label` beside them, reading upwards.
pub(crate) fn draw_colour_bar(
    slot: &Area<'_>,
    (x, y): (i32, i32),
    h: u32,
    scale: &ColourScale,
    label: &str,
) -> Result<(), PlotError> {
    const TICKS: usize = 7;
    let area = canvas::sub(slot, (x, y - TOP_PAD as i32), (BAR_W + BAR_LABELS, h + 2 * TOP_PAD));
    let (lo, hi) = (scale.lo, scale.hi);
    let mut chart = ChartBuilder::on(&area)
        .margin_top(TOP_PAD)
        .margin_bottom(TOP_PAD)
        .right_y_label_area_size(BAR_LABELS)
        .build_cartesian_2d(0.0..1.0, lo..hi)?;
    let dv = (hi - lo) / BAR_SLICES as f64;
    chart.draw_series((0..BAR_SLICES).map(|k| {
        let v0 = lo + k as f64 * dv;
        Rectangle::new([(0.0, v0), (1.0, v0 + dv)], scale.colour(v0 + 0.5 * dv).filled())
    }))?;
    let f = TickFormat::new(lo, hi, TICKS);
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(TICKS)
        .y_label_formatter(&|v| f.label(*v))
        .set_tick_mark_size(LabelAreaPosition::Right, BAR_TICK)
        .label_style(text(TICK_SIZE))
        .draw()?;
    chart.plotting_area().draw(&Rectangle::new([(0.0, lo), (1.0, hi)], BLACK.stroke_width(1)))?;

    // The description goes right after the widest tick label (plotters
    // would put it at the far edge of the label area).
    let mut widest = 0;
    for t in ticks(lo, hi, TICKS) {
        widest = widest.max(text_width(&f.label(t), TICK_SIZE)?);
    }
    let desc_x = x + BAR_W as i32 + 3 * BAR_TICK + widest as i32 + DESC_SIZE as i32 / 2 + 6;
    let style = text(DESC_SIZE).transform(FontTransform::Rotate270).pos(Pos::new(HPos::Center, VPos::Center));
    slot.draw_text(label, &style, (desc_x, y + h as i32 / 2))?;
    Ok(())
}
