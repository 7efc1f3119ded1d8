//! Looks shared by every picture: curve styles, the series palette, text.

use plotters::style::{FontDesc, FontFamily, FontStyle, IntoFont, RGBColor, TextStyle};

/// The family every text style names; the canvas sets all text in its
/// embedded DejaVu Sans (bold or regular) whatever the name.
const FAMILY: &str = "sans-serif";

/// How a curve is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CurveStyle {
    /// A solid line (learned models).
    #[default]
    Line,
    /// A dashed line (theory).
    Dashed,
    /// Markers only (estimates from particle tracks).
    Markers,
    /// A solid line with a marker at every point.
    LineMarkers,
}

impl CurveStyle {
    pub(crate) fn has_line(self) -> bool {
        matches!(self, Self::Line | Self::LineMarkers)
    }

    pub(crate) fn has_markers(self) -> bool {
        matches!(self, Self::Markers | Self::LineMarkers)
    }
}

/// Colours of successive series: the Okabe-Ito colour-blind-safe set,
/// yellow last (it is faint on white).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(0, 0, 0),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
];

/// The colour of series number `k` (cycling).
pub(crate) fn series_colour(k: usize) -> RGBColor {
    PALETTE[k % PALETTE.len()]
}

/// Font sizes in pixels.
pub(crate) const TITLE_SIZE: u32 = 26;
pub(crate) const CAPTION_SIZE: u32 = 21;
pub(crate) const DESC_SIZE: u32 = 18;
pub(crate) const TICK_SIZE: u32 = 15;
pub(crate) const LEGEND_SIZE: u32 = 16;

/// Regular text of `size` pixels.
pub(crate) fn text(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().into()
}

/// Bold text of `size` pixels.
pub(crate) fn bold(size: u32) -> TextStyle<'static> {
    FontDesc::new(FontFamily::Name(FAMILY), f64::from(size), FontStyle::Bold).into()
}
