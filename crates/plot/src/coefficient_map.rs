//! The five coefficient fields as maps over velocity space.

use std::path::Path;

use collop_core::FpFields;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::PlotError;
use crate::canvas::{self, Area, TITLE_BAND};
use crate::colour::ColourScale;
use crate::heatmap::{BAR_SLOT, PanelBox, draw_colour_bar, draw_heatmap};
use crate::style::{DESC_SIZE, text};

const MARGIN: u32 = 20;
const SLOT: (u32, u32) = (440, 494);
/// Pixel size of [`coefficient_maps`] pictures.
pub(crate) const SIZE: (u32, u32) = (2 * MARGIN + 3 * SLOT.0 + BAR_SLOT, TITLE_BAND + 2 * SLOT.1);

/// Draw the Fokker-Planck coefficients `fields` as five maps over
/// `(v_x, v_y)` and write them to `path` as a PNG of 1500 x 1040 pixels.
///
/// The top row shows the drift `A_x`, `A_y` with one colour bar (units
/// `v_th omega_p`), the bottom row the diffusion `D_xx`, `D_yy`, `D_xy` with
/// another (units `v_th^2 omega_p`). Both colour maps are diverging and
/// symmetric about zero (blue negative, red positive), so drag towards
/// `v = 0` and a negative diffusion read at a glance. `v_x` runs across,
/// `v_y` up, both in `v_th` and to the same scale. Beside the drift maps:
/// the grid and the extremes (largest `|A_x|`, `|A_y|`, `|D_xy|`, smallest
/// `D_xx`, `D_yy`).
///
/// Errors: fields whose shapes disagree with their grid or that hold a
/// non-finite value; failures to draw or write.
pub fn coefficient_maps(path: impl AsRef<Path>, fields: &FpFields, title: &str) -> Result<(), PlotError> {
    canvas::write_atomically(path.as_ref(), &coefficient_maps_png(fields, title)?)
}

/// [`coefficient_maps`] in memory: the bytes of the PNG file, for pictures
/// embedded in a report.
///
/// Errors: those of [`coefficient_maps`] but writing.
pub fn coefficient_maps_png(fields: &FpFields, title: &str) -> Result<Vec<u8>, PlotError> {
    fields.validate()?;
    let grid = &fields.grid;
    let a = ColourScale::symmetric(fields.a_x.iter().chain(&fields.a_y));
    let d = ColourScale::symmetric(fields.d_xx.iter().chain(&fields.d_yy).chain(&fields.d_xy));
    canvas::render(SIZE, |root| {
        root.fill(&WHITE)?;
        let body = canvas::below_title(root, title)?;
        let at = PanelBox::fit(SLOT, grid);
        let slot = |row: u32, column: u32| -> Area<'_> {
            canvas::sub(&body, ((MARGIN + column * SLOT.0) as i32, (row * SLOT.1) as i32), SLOT)
        };
        let bar_slot = |row: u32, column: u32| -> Area<'_> {
            canvas::sub(&body, ((MARGIN + column * SLOT.0) as i32, (row * SLOT.1) as i32), (BAR_SLOT, SLOT.1))
        };
        draw_heatmap(&slot(0, 0), at, grid, fields.a_x.view(), &a, "A_x")?;
        draw_heatmap(&slot(0, 1), at, grid, fields.a_y.view(), &a, "A_y")?;
        draw_colour_bar(&bar_slot(0, 2), (10, at.y), at.h, &a, "A (v_th ω_p)")?;
        draw_heatmap(&slot(1, 0), at, grid, fields.d_xx.view(), &d, "D_xx")?;
        draw_heatmap(&slot(1, 1), at, grid, fields.d_yy.view(), &d, "D_yy")?;
        draw_heatmap(&slot(1, 2), at, grid, fields.d_xy.view(), &d, "D_xy")?;
        draw_colour_bar(&bar_slot(1, 3), (10, at.y), at.h, &d, "D (v_th² ω_p)")?;
        draw_summary(&slot(0, 2), (BAR_SLOT as i32 + 30, at.y + 20), fields)
    })
}

/// A few numbers beside the drift maps: the grid and the extremes.
fn draw_summary(slot: &Area<'_>, (x, y): (i32, i32), fields: &FpFields) -> Result<(), PlotError> {
    let g = &fields.grid;
    let max_abs = |a: &ndarray::Array2<f64>| a.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let min = |a: &ndarray::Array2<f64>| a.iter().fold(f64::INFINITY, |m, &v| m.min(v));
    let lines = [
        format!("grid {} × {}", g.nx, g.ny),
        format!("v_x in [{}, {}] v_th", g.x_range[0], g.x_range[1]),
        format!("v_y in [{}, {}] v_th", g.y_range[0], g.y_range[1]),
        String::new(),
        format!("max |A_x| = {:.3e}", max_abs(&fields.a_x)),
        format!("max |A_y| = {:.3e}", max_abs(&fields.a_y)),
        format!("max |D_xy| = {:.3e}", max_abs(&fields.d_xy)),
        format!("min D_xx = {:.3e}", min(&fields.d_xx)),
        format!("min D_yy = {:.3e}", min(&fields.d_yy)),
    ];
    let style = text(DESC_SIZE - 2).pos(Pos::new(HPos::Left, VPos::Top));
    for (k, line) in lines.iter().enumerate() {
        slot.draw_text(line, &style, (x, y + 26 * k as i32))?;
    }
    Ok(())
}
