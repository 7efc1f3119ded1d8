//! A legend strip: one entry per labelled curve, in rows of equal columns.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::PlotError;
use crate::canvas::Area;
use crate::font::text_width;
use crate::style::{CurveStyle, LEGEND_SIZE, text};

/// One legend entry.
pub(crate) struct LegendEntry<'a> {
    pub(crate) label: &'a str,
    pub(crate) colour: RGBColor,
    pub(crate) style: CurveStyle,
    pub(crate) band: bool,
}

const SAMPLE_W: i32 = 44;
const GAP: i32 = 8;
const COLUMN_GAP: u32 = 30;
const ROW_H: u32 = 28;
const PAD: u32 = 10;

/// Where the entries go in a strip of a given width.
pub(crate) struct LegendLayout {
    columns: usize,
    column_w: u32,
    rows: usize,
}

impl LegendLayout {
    /// Columns as wide as the widest label, as many as fit in `width`.
    pub(crate) fn new(entries: &[LegendEntry<'_>], width: u32) -> Result<Self, PlotError> {
        let mut widest = 0;
        for e in entries {
            widest = widest.max(text_width(e.label, LEGEND_SIZE)?);
        }
        let column_w = SAMPLE_W as u32 + GAP as u32 + widest + COLUMN_GAP;
        let columns = ((width.saturating_sub(2 * PAD) / column_w) as usize).clamp(1, entries.len().max(1));
        Ok(Self { columns, column_w, rows: entries.len().div_ceil(columns) })
    }

    /// Height of the strip in pixels (zero without entries).
    pub(crate) fn height(&self) -> u32 {
        if self.rows == 0 { 0 } else { self.rows as u32 * ROW_H + 2 * PAD }
    }

    /// Draw the entries centred in `area` (a strip `height()` tall).
    pub(crate) fn draw(&self, area: &Area<'_>, entries: &[LegendEntry<'_>]) -> Result<(), PlotError> {
        if entries.is_empty() {
            return Ok(());
        }
        let (w, _) = area.dim_in_pixel();
        let used = self.columns.min(entries.len()) as u32 * self.column_w - COLUMN_GAP;
        let x0 = (w.saturating_sub(used) / 2) as i32;
        let style = text(LEGEND_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
        for (k, e) in entries.iter().enumerate() {
            let x = x0 + (k % self.columns) as i32 * self.column_w as i32;
            let y = (PAD + (k / self.columns) as u32 * ROW_H + ROW_H / 2) as i32;
            if e.band {
                area.draw(&Rectangle::new([(x, y - 8), (x + SAMPLE_W, y + 8)], e.colour.mix(0.2).filled()))?;
            }
            match e.style {
                CurveStyle::Dashed => {
                    for s in [0, 16, 32] {
                        area.draw(&PathElement::new(
                            vec![(x + s, y), (x + s + 11, y)],
                            e.colour.stroke_width(2),
                        ))?;
                    }
                }
                style => {
                    if style.has_line() {
                        area.draw(&PathElement::new(
                            vec![(x, y), (x + SAMPLE_W, y)],
                            e.colour.stroke_width(2),
                        ))?;
                    }
                    if style.has_markers() {
                        area.draw(&Circle::new((x + SAMPLE_W / 2, y), 4, e.colour.filled()))?;
                    }
                }
            }
            area.draw_text(e.label, &style, (x + SAMPLE_W + GAP, y))?;
        }
        Ok(())
    }
}
