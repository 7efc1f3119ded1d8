//! Curves against one axis: lines, dashes, markers and error bands, with a
//! linear or logarithmic `y`.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::PlotError;
use crate::axis::{TickFormat, decades, padded, power_of_ten};
use crate::canvas::Area;
use crate::style::{CAPTION_SIZE, CurveStyle, DESC_SIZE, TICK_SIZE, text};

/// One curve to draw: points `(x[k], y[k])`, an optional band between
/// `lower[k]` and `upper[k]`, all the same length and finite (checked by the
/// caller).
pub(crate) struct Curve<'a> {
    pub(crate) x: &'a [f64],
    pub(crate) y: &'a [f64],
    pub(crate) band: Option<(&'a [f64], &'a [f64])>,
    pub(crate) colour: RGBColor,
    pub(crate) style: CurveStyle,
}

/// Axes, captions and decorations of one chart.
pub(crate) struct Frame<'a> {
    pub(crate) caption: Option<&'a str>,
    pub(crate) x_desc: &'a str,
    pub(crate) y_desc: &'a str,
    /// `y` on a log axis: every `y` (and band) value must be positive.
    pub(crate) log_y: bool,
    /// Include `y = 0` in the range and draw it as a thin line.
    pub(crate) zero_line: bool,
    /// Vertical dashed lines at `x`, labelled at their top.
    pub(crate) vertical_lines: &'a [(f64, String)],
}

const LEFT: u32 = 86;
const BOTTOM: u32 = 60;
const MARGIN: u32 = 14;
const X_TICKS: usize = 8;
const Y_TICKS: usize = 8;

/// Draw `curves` on one chart filling `area`.
pub(crate) fn draw_chart(area: &Area<'_>, frame: &Frame<'_>, curves: &[Curve<'_>]) -> Result<(), PlotError> {
    let ty = |v: f64| if frame.log_y { v.log10() } else { v };
    let (mut x0, mut x1, mut y0, mut y1) =
        (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for c in curves {
        for &x in c.x {
            (x0, x1) = (x0.min(x), x1.max(x));
        }
        let band = c.band.into_iter().flat_map(|(lo, hi)| lo.iter().chain(hi));
        for &y in c.y.iter().chain(band) {
            (y0, y1) = (y0.min(y), y1.max(y));
        }
    }
    for (x, _) in frame.vertical_lines {
        (x0, x1) = (x0.min(*x), x1.max(*x));
    }
    let (x0, x1) = padded(x0, x1, 0.02);
    let (y0, y1) = if frame.log_y {
        let (a, b) = decades(y0, y1);
        (f64::from(a), f64::from(b))
    } else {
        let (lo, hi) = if frame.zero_line { (y0.min(0.0), y1.max(0.0)) } else { (y0, y1) };
        padded(lo, hi, 0.05)
    };

    let mut builder = ChartBuilder::on(area);
    builder.margin(MARGIN).x_label_area_size(BOTTOM).y_label_area_size(LEFT);
    if let Some(caption) = frame.caption {
        builder.caption(caption, text(CAPTION_SIZE));
    }
    let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1)?;

    let fx = TickFormat::new(x0, x1, X_TICKS);
    let fy = TickFormat::new(y0, y1, Y_TICKS);
    let decade_count = (y1 - y0).round() as usize;
    let y_label = |v: &f64| {
        if !frame.log_y {
            fy.label(*v)
        } else if (v - v.round()).abs() < 1e-9 {
            power_of_ten(v.round() as i32)
        } else {
            String::new()
        }
    };
    let x_label = |v: &f64| fx.label(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(X_TICKS)
        .y_labels(if frame.log_y { (decade_count + 1).min(13) } else { Y_TICKS })
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .x_desc(frame.x_desc)
        .y_desc(frame.y_desc)
        .label_style(text(TICK_SIZE))
        .axis_desc_style(text(DESC_SIZE))
        .bold_line_style(BLACK.mix(0.15))
        .light_line_style(BLACK.mix(0.05));
    if frame.log_y {
        mesh.light_line_style(TRANSPARENT);
    }
    mesh.draw()?;

    if frame.log_y && decade_count <= 8 {
        // Minor lines at 2..9 times each power of ten.
        let minor = (y0 as i32..y1 as i32)
            .flat_map(|k| (2..10).map(move |m| f64::from(k) + f64::from(m).log10()))
            .map(|y| PathElement::new(vec![(x0, y), (x1, y)], BLACK.mix(0.06)));
        chart.draw_series(minor)?;
    }
    if frame.zero_line && !frame.log_y && y0 < 0.0 && y1 > 0.0 {
        chart.draw_series([PathElement::new(vec![(x0, 0.0), (x1, 0.0)], BLACK.mix(0.5))])?;
    }
    let grey = RGBColor(110, 110, 110);
    for (x, label) in frame.vertical_lines {
        chart.draw_series(DashedLineSeries::new([(*x, y0), (*x, y1)], 8, 5, grey.stroke_width(1)))?;
        let style = text(TICK_SIZE).color(&grey).pos(Pos::new(HPos::Left, VPos::Top));
        chart.draw_series([EmptyElement::at((*x, y1)) + Text::new(label.clone(), (4, 4), style)])?;
    }

    for c in curves {
        if let Some((lo, hi)) = c.band {
            let outline: Vec<(f64, f64)> =
                c.x.iter()
                    .zip(hi)
                    .map(|(&x, &y)| (x, ty(y)))
                    .chain(c.x.iter().zip(lo).rev().map(|(&x, &y)| (x, ty(y))))
                    .collect();
            chart.draw_series([Polygon::new(outline, c.colour.mix(0.2).filled())])?;
        }
    }
    for c in curves {
        let points = c.x.iter().zip(c.y).map(|(&x, &y)| (x, ty(y)));
        // A single point has no line to show: mark it.
        let style = if c.x.len() == 1 { CurveStyle::Markers } else { c.style };
        match style {
            CurveStyle::Dashed => {
                chart.draw_series(DashedLineSeries::new(points.clone(), 10, 6, c.colour.stroke_width(2)))?;
            }
            style => {
                if style.has_line() {
                    chart.draw_series(LineSeries::new(points.clone(), c.colour.stroke_width(2)))?;
                }
                if style.has_markers() {
                    chart.draw_series(points.map(|p| Circle::new(p, 4, c.colour.filled())))?;
                }
            }
        }
    }
    // Top and right edges: the axes already draw the left and bottom ones.
    chart.plotting_area().draw(&PathElement::new(vec![(x0, y1), (x1, y1), (x1, y0)], BLACK))?;
    Ok(())
}
