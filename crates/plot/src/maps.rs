//! Any maps over velocity space, each with its own grid and colour bar:
//! the moments of an operator, the taps of a kernel at a cell.

use std::path::Path;

use collop_core::VelocityGrid;
use ndarray::Array2;
use plotters::prelude::*;

use crate::PlotError;
use crate::canvas::{self, TITLE_BAND};
use crate::colour::ColourScale;
use crate::heatmap::{BAR_SLOT, PanelBox, draw_colour_bar, draw_heatmap};

const MARGIN: u32 = 20;
const SLOT: (u32, u32) = (400, 450);
/// The most panels in one picture.
const MAX_PANELS: usize = 36;

/// One map of [`maps`].
#[derive(Debug, Clone, PartialEq)]
pub struct MapPanel {
    /// The cells the values sit on (axis 0 = `v_x`).
    pub grid: VelocityGrid,
    /// Values, shape of `grid`.
    pub values: Array2<f64>,
    /// Caption above the map.
    pub caption: String,
    /// Label of its colour bar (the quantity and its units).
    pub units: String,
    /// A diverging scale symmetric about zero (signed values) rather than
    /// a sequential one (sizes).
    pub signed: bool,
}

/// Draw `panels` in rows of `columns`, each a heatmap over its own grid
/// with its own colour bar, and write them to `path` as a PNG
/// (`540 columns + 40` pixels wide, `450` per row under the title).
///
/// Errors: no panels or more than 36, no columns, values whose shape is not
/// their grid's or that are not finite; failures to draw or write.
pub fn maps(
    path: impl AsRef<Path>,
    panels: &[MapPanel],
    columns: usize,
    title: &str,
) -> Result<(), PlotError> {
    canvas::write_atomically(path.as_ref(), &maps_png(panels, columns, title)?)
}

/// [`maps`] in memory: the bytes of the PNG file.
///
/// Errors: those of [`maps`] but writing.
pub fn maps_png(panels: &[MapPanel], columns: usize, title: &str) -> Result<Vec<u8>, PlotError> {
    if panels.is_empty() || panels.len() > MAX_PANELS {
        return Err(PlotError::InvalidInput(format!(
            "{} maps: draw between 1 and {MAX_PANELS} in one picture",
            panels.len()
        )));
    }
    if columns == 0 {
        return Err(PlotError::InvalidInput("maps in 0 columns".into()));
    }
    for p in panels {
        if p.values.dim() != p.grid.shape() {
            return Err(PlotError::InvalidInput(format!(
                "map '{}' has shape {:?}, its grid {:?}",
                p.caption,
                p.values.dim(),
                p.grid.shape()
            )));
        }
        if let Some(v) = p.values.iter().find(|v| !v.is_finite()) {
            return Err(PlotError::NonFinite(format!("map '{}' holds {v}", p.caption)));
        }
    }
    let columns = columns.min(panels.len());
    let rows = panels.len().div_ceil(columns);
    let cell_w = SLOT.0 + BAR_SLOT;
    let size = (2 * MARGIN + columns as u32 * cell_w, TITLE_BAND + rows as u32 * SLOT.1);
    canvas::render(size, |root| {
        root.fill(&WHITE)?;
        let body = canvas::below_title(root, title)?;
        for (k, p) in panels.iter().enumerate() {
            let (row, column) = ((k / columns) as u32, (k % columns) as u32);
            let origin = ((MARGIN + column * cell_w) as i32, (row * SLOT.1) as i32);
            let slot = canvas::sub(&body, origin, SLOT);
            let bar = canvas::sub(&body, (origin.0 + SLOT.0 as i32, origin.1), (BAR_SLOT, SLOT.1));
            let at = PanelBox::fit(SLOT, &p.grid);
            let scale = if p.signed {
                ColourScale::symmetric(p.values.iter())
            } else {
                ColourScale::sequential(p.values.iter())
            };
            draw_heatmap(&slot, at, &p.grid, p.values.view(), &scale, &p.caption)?;
            draw_colour_bar(&bar, (0, at.y), at.h, &scale, &p.units)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(n: usize, signed: bool) -> MapPanel {
        let grid = VelocityGrid::square(n, 2.0).unwrap();
        MapPanel {
            grid,
            values: Array2::from_shape_fn((n, n), |(i, j)| i as f64 - j as f64),
            caption: format!("{n} cells"),
            units: "x (units)".into(),
            signed,
        }
    }

    #[test]
    fn draws_panels_of_different_grids_and_refuses_bad_input() {
        let png = maps_png(&[panel(3, true), panel(11, false), panel(2, true)], 2, "maps").unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let mut bad = panel(3, true);
        bad.values[[0, 0]] = f64::NAN;
        assert!(matches!(maps_png(&[bad], 1, "t"), Err(PlotError::NonFinite(_))));
        let mut wrong = panel(3, true);
        wrong.values = Array2::zeros((2, 3));
        assert!(maps_png(&[wrong], 1, "t").unwrap_err().to_string().contains("shape"));
        assert!(maps_png(&[], 1, "t").is_err());
        assert!(maps_png(&[panel(3, true)], 0, "t").is_err());
    }
}
