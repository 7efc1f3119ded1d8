//! # collop-plot: the pictures a plasma physicist reads at a glance
//!
//! Pure drawing from plain data. Every function writes one PNG, atomically
//! (drawn in memory, written to a temporary file in the same folder, then
//! renamed), checks its input first and returns a [`PlotError`] rather than
//! panicking on bad data. Each has a twin ending in `_png` that draws the
//! same picture and returns the bytes of the PNG file instead (e.g. for a
//! report that embeds its figures). Units follow `collop-core`: velocities in the
//! background thermal velocity `v_th`, time in `1/omega_p`, Fokker-Planck
//! coefficients in the Kramers-Moyal convention
//!
//! ```text
//! df/dt = - d_i (A_i f) + 1/2 d_i d_j (D_ij f),   A in v_th omega_p,  D in v_th^2 omega_p.
//! ```
//!
//! - [`coefficient_maps`]: `A_x, A_y, D_xx, D_yy, D_xy` over `(v_x, v_y)`,
//!   diverging colour maps symmetric about zero.
//! - [`radial_profiles`]: `A_par`, `D_par`, `D_perp` against `|v|` for
//!   several models ([`RadialCurve`]: lines, dashed theory, markers with
//!   error bands); [`radial_binned`] turns any fields into such a curve.
//! - [`phase_space_snapshots`], [`phase_space_rows`]: PIC histograms beside
//!   the predicted ones and their difference.
//! - [`loss_curves`], [`error_vs_time`]: training losses and rollout errors.
//! - [`maps`]: any maps over velocity space ([`MapPanel`]), each with its
//!   own grid and colour bar (an operator's jump moments, a kernel's taps).
//!
//! Shapes are drawn by plotters' bitmap backend; text is set by this crate
//! with `ab_glyph` in DejaVu Sans embedded in the binary (from the `dejavu`
//! crate), and the PNG is encoded with `png`: pure Rust, no system font or
//! image library needed. The font's licence (Bitstream Vera, DejaVu changes
//! in the public domain) is in this crate's `LICENSE-DejaVu`; binaries that
//! embed the font carry that notice.
//!
//! ```no_run
//! use collop_core::VelocityGrid;
//! use collop_plot::{CurveStyle, coefficient_maps, radial_binned, radial_profiles};
//! use collop_theory::OrnsteinUhlenbeck;
//!
//! let grid = VelocityGrid::square(51, 5.0)?;
//! let fields = OrnsteinUhlenbeck::new(0.1, 1.0)?.fields(&grid);
//! coefficient_maps("ou_maps.png", &fields, "Lenard-Bernstein, nu = 0.1")?;
//! let binned = radial_binned(&fields, 25)?.with_label("binned").with_style(CurveStyle::Markers);
//! radial_profiles("ou_radial.png", &[binned], "Lenard-Bernstein")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod axis;
mod canvas;
mod chart;
mod coefficient_map;
mod colour;
mod error;
mod font;
mod heatmap;
mod history;
mod legend;
mod maps;
mod radial;
mod snapshot;
mod style;

pub use coefficient_map::{coefficient_maps, coefficient_maps_png};
pub use error::PlotError;
pub use history::{
    BandedSeries, banded_chart, banded_chart_png, error_vs_time, error_vs_time_png, line_chart,
    line_chart_png, loss_curves, loss_curves_png,
};
pub use maps::{MapPanel, maps, maps_png};
pub use radial::{
    Profile, RadialCurve, radial_binned, radial_binned_where, radial_profiles, radial_profiles_png,
};
pub use snapshot::{
    SnapshotRow, phase_space_rows, phase_space_rows_png, phase_space_snapshots, phase_space_snapshots_png,
};
pub use style::CurveStyle;
