//! Radial profiles `A_par`, `D_par`, `D_perp` against the speed `|v|`.

use std::path::Path;

use collop_core::FpFields;
use collop_core::shells::{Cells, ShellSpec, average_shells};
use ndarray::Array2;
use plotters::prelude::*;

use crate::PlotError;
use crate::canvas::{self, TITLE_BAND};
use crate::chart::{Curve, Frame, draw_chart};
use crate::legend::{LegendEntry, LegendLayout};
use crate::style::{CurveStyle, series_colour};

/// Values of one radial coefficient at the speeds of a [`RadialCurve`],
/// with an optional band (e.g. one standard deviation either side).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// The value at each speed.
    pub value: Vec<f64>,
    /// `(lower, upper)` edges of a band at each speed.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
}

impl Profile {
    /// A profile without a band.
    pub fn new(value: Vec<f64>) -> Self {
        Self { value, band: None }
    }

    /// A profile with the band `[lower, upper]`.
    pub fn with_band(value: Vec<f64>, lower: Vec<f64>, upper: Vec<f64>) -> Self {
        Self { value, band: Some((lower, upper)) }
    }
}

/// One model's radial coefficients against `|v|`, for [`radial_profiles`]:
/// drift along `v` and diffusion along and across `v` (see
/// [`collop_core::RadialCoefficients`]), units `v_th omega_p` and
/// `v_th^2 omega_p`, speeds in `v_th`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RadialCurve {
    /// Legend text (no legend entry when empty).
    pub label: String,
    /// Line for learned models, dashed for theory, markers for track estimates.
    pub style: CurveStyle,
    /// Speeds `|v|`, `v_th`.
    pub speed: Vec<f64>,
    /// `A_par = A . v / |v|`.
    pub a_par: Profile,
    /// `D_par = v . D . v / |v|^2`.
    pub d_par: Profile,
    /// `D_perp`, diffusion across `v`.
    pub d_perp: Profile,
}

impl RadialCurve {
    /// A curve of `style` without bands.
    pub fn new(
        label: impl Into<String>,
        style: CurveStyle,
        speed: Vec<f64>,
        a_par: Vec<f64>,
        d_par: Vec<f64>,
        d_perp: Vec<f64>,
    ) -> Self {
        Self {
            label: label.into(),
            style,
            speed,
            a_par: Profile::new(a_par),
            d_par: Profile::new(d_par),
            d_perp: Profile::new(d_perp),
        }
    }

    /// The same curve with another label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// The same curve with another style.
    pub fn with_style(mut self, style: CurveStyle) -> Self {
        self.style = style;
        self
    }

    fn profiles(&self) -> [(&'static str, &Profile); 3] {
        [("A_par", &self.a_par), ("D_par", &self.d_par), ("D_perp", &self.d_perp)]
    }

    /// Equal lengths and finite values.
    fn check(&self, k: usize) -> Result<(), PlotError> {
        let who =
            if self.label.is_empty() { format!("radial curve {k}") } else { format!("'{}'", self.label) };
        let n = self.speed.len();
        if n == 0 {
            return Err(PlotError::InvalidInput(format!("{who} has no points")));
        }
        let mut columns = vec![("speed", &self.speed)];
        for (name, p) in self.profiles() {
            columns.push((name, &p.value));
            if let Some((lo, hi)) = &p.band {
                columns.push((name, lo));
                columns.push((name, hi));
            }
        }
        for (name, c) in columns {
            if c.len() != n {
                return Err(PlotError::ShapeMismatch(format!(
                    "{who}: {name} has {} values for {n} speeds",
                    c.len()
                )));
            }
            if let Some((i, v)) = c.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(PlotError::NonFinite(format!("{who}: {name} is {v} at point {i}")));
            }
        }
        Ok(())
    }
}

const PANEL: (u32, u32) = (540, 500);
const MARGIN: u32 = 15;
const WIDTH: u32 = 2 * MARGIN + 3 * PANEL.0;

/// Pixel size of a radial-profile picture whose legend has these entries.
fn size(legend: &LegendLayout) -> (u32, u32) {
    (WIDTH, TITLE_BAND + PANEL.1 + legend.height())
}

fn legend_entries(curves: &[RadialCurve]) -> Vec<LegendEntry<'_>> {
    curves
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.label.is_empty())
        .map(|(k, c)| LegendEntry {
            label: &c.label,
            colour: series_colour(k),
            style: c.style,
            band: c.profiles().iter().any(|(_, p)| p.band.is_some()),
        })
        .collect()
}

/// Draw radial profiles in three panels, `A_par`, `D_par` and `D_perp`
/// against `|v|`, every curve in all three, with a legend of the labelled
/// curves below; write the picture to `path` as a PNG 1650 pixels wide and
/// 552 tall, plus 48 for a legend row and 28 for each further row.
///
/// Overlay learned models (lines), estimates from particle tracks (markers
/// with their error bands) and theory (dashed). Bands are shaded in the
/// curve's colour; `y = 0` is drawn, so drag (`A_par < 0`) and a negative
/// diffusion stand out. Non-radial models can be drawn with
/// [`radial_binned`].
///
/// Errors: no curves, a curve without points, lengths that disagree,
/// non-finite values (drop empty bins before drawing); failures to draw or
/// write.
pub fn radial_profiles(path: impl AsRef<Path>, curves: &[RadialCurve], title: &str) -> Result<(), PlotError> {
    canvas::write_atomically(path.as_ref(), &radial_profiles_png(curves, title)?)
}

/// [`radial_profiles`] in memory: the bytes of the PNG file, for pictures
/// embedded in a report.
///
/// Errors: those of [`radial_profiles`] but writing.
pub fn radial_profiles_png(curves: &[RadialCurve], title: &str) -> Result<Vec<u8>, PlotError> {
    if curves.is_empty() {
        return Err(PlotError::InvalidInput("no radial curves to draw".into()));
    }
    for (k, c) in curves.iter().enumerate() {
        c.check(k)?;
    }
    let entries = legend_entries(curves);
    let legend = LegendLayout::new(&entries, WIDTH)?;
    canvas::render(size(&legend), |root| {
        root.fill(&WHITE)?;
        let body = canvas::below_title(root, title)?;
        let panels = [
            ("drift along v", "A_∥ (v_th ω_p)"),
            ("diffusion along v", "D_∥ (v_th² ω_p)"),
            ("diffusion across v", "D_⊥ (v_th² ω_p)"),
        ];
        for (p, (caption, y_desc)) in panels.into_iter().enumerate() {
            let area = canvas::sub(&body, ((MARGIN + p as u32 * PANEL.0) as i32, 0), PANEL);
            let lines: Vec<Curve<'_>> = curves
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    let profile = c.profiles()[p].1;
                    Curve {
                        x: &c.speed,
                        y: &profile.value,
                        band: profile.band.as_ref().map(|(lo, hi)| (&lo[..], &hi[..])),
                        colour: series_colour(k),
                        style: c.style,
                    }
                })
                .collect();
            let frame = Frame {
                caption: Some(caption),
                x_desc: "|v| (v_th)",
                y_desc,
                log_y: false,
                zero_line: true,
                vertical_lines: &[],
            };
            draw_chart(&area, &frame, &lines)?;
        }
        if entries.is_empty() {
            return Ok(());
        }
        let strip = canvas::sub(&body, (0, PANEL.1 as i32), (WIDTH, legend.height()));
        legend.draw(&strip, &entries)
    })
}

/// Radial profiles of any coefficient fields, binned in speed: every cell's
/// coefficients are projected onto its direction
/// ([`collop_core::FpFields::radial_at`]), and the projections are averaged
/// over `n_bins` equal bins of `|v|` from 0 to the largest cell speed
/// ([`collop_core::shells::average_shells`] with
/// [`collop_core::shells::ShellSpec::bins`]). Each point sits at the mean
/// speed of its bin's cells; its band is the mean plus or minus the standard
/// deviation over those cells, which measures how far the fields are from
/// isotropic (and, for isotropic fields, the profile's change across the
/// bin). Bins holding no cell centre are left out.
///
/// The curve has no label and [`CurveStyle::LineMarkers`]; set them with
/// [`RadialCurve::with_label`] and [`RadialCurve::with_style`].
///
/// Errors: `n_bins = 0`; fields whose shapes disagree with their grid or
/// that hold a non-finite value.
pub fn radial_binned(fields: &FpFields, n_bins: usize) -> Result<RadialCurve, PlotError> {
    radial_binned_where(fields, None, n_bins)
}

/// [`radial_binned`] over the cells where `keep` is true only (e.g. the
/// cells the data populate: free tensor fields are arbitrary elsewhere);
/// `None` keeps every cell. Speed bins are still laid out from 0 to the
/// largest speed of all cells.
///
/// Errors: as [`radial_binned`], and a mask whose shape is not the grid's,
/// or that keeps no cell.
pub fn radial_binned_where(
    fields: &FpFields,
    keep: Option<&Array2<bool>>,
    n_bins: usize,
) -> Result<RadialCurve, PlotError> {
    if n_bins == 0 {
        return Err(PlotError::InvalidInput("radial binning needs at least one bin".into()));
    }
    let spec = ShellSpec::bins(n_bins, fields.grid.max_cell_speed())?;
    let shells = average_shells(fields, keep.map_or(Cells::All, Cells::Mask), spec)?;
    if shells.is_empty() {
        return Err(PlotError::InvalidInput("radial binning: the mask keeps no cell".into()));
    }
    let profile = |k: usize| {
        let value: Vec<f64> = shells.iter().map(|s| s.mean[k]).collect();
        let lower = shells.iter().map(|s| s.mean[k] - s.spread[k]).collect();
        let upper = shells.iter().map(|s| s.mean[k] + s.spread[k]).collect();
        Profile::with_band(value, lower, upper)
    };
    Ok(RadialCurve {
        label: String::new(),
        style: CurveStyle::LineMarkers,
        speed: shells.iter().map(|s| s.speed).collect(),
        a_par: profile(0),
        d_par: profile(1),
        d_perp: profile(2),
    })
}
