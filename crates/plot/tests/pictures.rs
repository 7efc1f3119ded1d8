//! Every picture: written as a PNG of the documented size that decodes and
//! is not blank; bad input refused with a clear error, nothing written.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use collop_core::{FpFields, VelocityGrid};
use collop_plot::{
    BandedSeries, CurveStyle, PlotError, Profile, RadialCurve, SnapshotRow, banded_chart, coefficient_maps,
    coefficient_maps_png, error_vs_time, error_vs_time_png, loss_curves, loss_curves_png, phase_space_rows,
    phase_space_rows_png, phase_space_snapshots, phase_space_snapshots_png, radial_binned, radial_profiles,
    radial_profiles_png,
};
use collop_theory::{RadialCoefficients, fields_from_radial_fn};
use ndarray::Array2;

/// Width, height and number of distinct colours of the PNG at `path`,
/// after checking its signature, that its IHDR agrees with the decoder and
/// that its title is drawn.
fn png_summary(path: &Path) -> (u32, u32, usize) {
    let bytes = fs::read(path).unwrap();
    assert!(bytes.len() > 1000, "{} is only {} bytes", path.display(), bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes)).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (width, height));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let pixels = &pixels[..info.buffer_size()];
    let colours: HashSet<&[u8]> = pixels.chunks_exact(3).collect();
    // Every picture has a title in its top 52 rows: dark glyph pixels there
    // show that text is really set.
    let title_band = &pixels[..52 * width as usize * 3];
    let dark = title_band.chunks_exact(3).filter(|p| p.iter().all(|&c| c < 80)).count();
    assert!(dark > 100, "{} has {dark} dark pixels in its title band", path.display());
    (width, height, colours.len())
}

/// The only file in `dir` (no temporary file left behind).
fn only_file(dir: &Path) -> String {
    let names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
    names.into_iter().next().unwrap()
}

fn is_empty(dir: &Path) -> bool {
    fs::read_dir(dir).unwrap().next().is_none()
}

fn grid() -> VelocityGrid {
    VelocityGrid::square(21, 5.0).unwrap()
}

fn ou_like_fields(g: VelocityGrid) -> FpFields {
    FpFields::from_fn(g, |x, y| {
        let w = (-(x * x + y * y) / 4.0).exp();
        [-0.1 * x * w, -0.1 * y * w, 0.2 * w + 0.01, 0.1 * w + 0.01, 0.05 * x * y * w]
    })
}

#[test]
fn coefficient_maps_draws_five_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maps.png");
    coefficient_maps(&path, &ou_like_fields(grid()), "test maps").unwrap();
    let (w, h, colours) = png_summary(&path);
    assert_eq!((w, h), (1500, 1040));
    assert!(colours > 50, "{colours} colours");
    assert_eq!(only_file(dir.path()), "maps.png");

    // Overwriting an existing picture, on a grid that is not square.
    let g = VelocityGrid::new(8, 30, [-1.0, 1.0], [-3.0, 6.0]).unwrap();
    coefficient_maps(&path, &FpFields::zeros(g), "zero fields").unwrap();
    assert_eq!(png_summary(&path).0, 1500);
    assert_eq!(only_file(dir.path()), "maps.png");
}

#[test]
fn coefficient_maps_refuses_bad_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maps.png");
    let mut f = ou_like_fields(grid());
    f.d_xy[[3, 4]] = f64::NAN;
    let e = coefficient_maps(&path, &f, "nan").unwrap_err();
    assert!(matches!(e, PlotError::NonFinite(_)), "{e}");
    assert!(e.to_string().contains("D_xy") && e.to_string().contains("(3, 4)"), "{e}");
    let mut f = ou_like_fields(grid());
    f.a_y = Array2::zeros((3, 3));
    let e = coefficient_maps(&path, &f, "shape").unwrap_err();
    assert!(matches!(e, PlotError::ShapeMismatch(_)), "{e}");
    assert!(is_empty(dir.path()));
}

#[test]
fn unwritable_path_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no such folder").join("maps.png");
    let e = coefficient_maps(&path, &ou_like_fields(grid()), "io").unwrap_err();
    assert!(matches!(e, PlotError::Io { .. }), "{e}");
    assert!(e.to_string().contains("no such folder"), "{e}");
}

fn curve(label: &str, style: CurveStyle, n: usize) -> RadialCurve {
    let v: Vec<f64> = (0..n).map(|k| 0.3 * k as f64).collect();
    RadialCurve::new(
        label,
        style,
        v.clone(),
        v.iter().map(|v| -0.1 * v * (-v * v / 4.0).exp()).collect(),
        v.iter().map(|v| 0.1 * (-v * v / 4.0).exp()).collect(),
        v.iter().map(|v| 0.1 / (1.0 + v)).collect(),
    )
}

#[test]
fn radial_profiles_overlays_styles_and_bands() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("radial.png");
    let mut tracks = curve("tracks", CurveStyle::Markers, 8);
    let d = &tracks.d_par.value;
    tracks.d_par = Profile::with_band(
        d.clone(),
        d.iter().map(|v| v - 0.01).collect(),
        d.iter().map(|v| v + 0.01).collect(),
    );
    let binned = radial_binned(&ou_like_fields(grid()), 12).unwrap().with_label("binned");
    let curves =
        [curve("theory", CurveStyle::Dashed, 30), tracks, binned, curve("learned", CurveStyle::Line, 30)];
    radial_profiles(&path, &curves, "radial").unwrap();
    let (w, h, colours) = png_summary(&path);
    assert_eq!((w, h), (1650, 552 + 48), "one legend row");
    assert!(colours > 20, "{colours} colours");
    assert_eq!(only_file(dir.path()), "radial.png");

    // Many long labels take more legend rows; a single point still draws.
    let many: Vec<RadialCurve> = (0..12)
        .map(|k| curve(&format!("a rather long model name number {k}"), CurveStyle::LineMarkers, 1 + k))
        .collect();
    radial_profiles(&path, &many, "many").unwrap();
    let (_, h_many, _) = png_summary(&path);
    assert!(h_many > 552 + 48 && (h_many - 552 - 48) % 28 == 0, "{h_many}");

    // No labels, no legend.
    let unlabelled = [curve("", CurveStyle::Line, 10), curve("", CurveStyle::Markers, 5)];
    radial_profiles(&path, &unlabelled, "no legend").unwrap();
    assert_eq!(png_summary(&path).1, 552);
}

#[test]
fn radial_profiles_refuses_bad_curves() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("radial.png");
    let e = radial_profiles(&path, &[], "none").unwrap_err();
    assert!(matches!(e, PlotError::InvalidInput(_)), "{e}");
    let e = radial_profiles(&path, &[curve("empty", CurveStyle::Line, 0)], "empty").unwrap_err();
    assert!(matches!(e, PlotError::InvalidInput(_)) && e.to_string().contains("'empty'"), "{e}");
    let mut short = curve("short", CurveStyle::Line, 5);
    short.d_perp.value.pop();
    let e = radial_profiles(&path, &[short], "short").unwrap_err();
    assert!(matches!(e, PlotError::ShapeMismatch(_)) && e.to_string().contains("D_perp"), "{e}");
    let mut banded = curve("band", CurveStyle::Line, 5);
    banded.a_par.band = Some((vec![0.0; 5], vec![0.0; 4]));
    let e = radial_profiles(&path, &[banded], "band").unwrap_err();
    assert!(matches!(e, PlotError::ShapeMismatch(_)), "{e}");
    let mut nan = curve("nan", CurveStyle::Line, 5);
    nan.a_par.value[2] = f64::NAN;
    let e = radial_profiles(&path, &[nan], "nan").unwrap_err();
    assert!(matches!(e, PlotError::NonFinite(_)) && e.to_string().contains("point 2"), "{e}");
    assert!(is_empty(dir.path()));
}

fn blob(g: &VelocityGrid, centre: f64, width: f64) -> Array2<f64> {
    Array2::from_shape_fn(g.shape(), |(i, j)| {
        let (x, y) = (g.vx(i) - centre, g.vy(j));
        (-(x * x + y * y) / (2.0 * width * width)).exp()
    })
}

#[test]
fn phase_space_pictures_have_one_row_per_dump() {
    let dir = tempfile::tempdir().unwrap();
    let g = grid();
    let (pic, predicted) = (blob(&g, -1.0, 0.6), blob(&g, -0.8, 0.7));
    let path = dir.path().join("snapshot.png");
    phase_space_snapshots(&path, &g, pic.view(), predicted.view(), "one dump").unwrap();
    let (w, h, colours) = png_summary(&path);
    assert_eq!((w, h), (1640, 580));
    assert!(colours > 50, "{colours} colours");

    let rows: Vec<SnapshotRow<'_>> = (0..3)
        .map(|k| SnapshotRow { time: 0.1 + 0.2 * k as f64, pic: pic.view(), predicted: predicted.view() })
        .collect();
    let path = dir.path().join("rows.png");
    phase_space_rows(&path, &g, &rows, "three dumps").unwrap();
    assert_eq!(png_summary(&path).1, 52 + 3 * 528);

    // Identical histograms: a zero difference still draws.
    phase_space_snapshots(&path, &g, pic.view(), pic.view(), "exact").unwrap();
    assert_eq!(png_summary(&path).1, 580);
}

#[test]
fn phase_space_pictures_refuse_bad_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.png");
    let g = grid();
    let pic = blob(&g, 0.0, 1.0);
    let small = Array2::zeros((4, 5));
    let e = phase_space_snapshots(&path, &g, pic.view(), small.view(), "shape").unwrap_err();
    assert!(matches!(e, PlotError::ShapeMismatch(_)) && e.to_string().contains("predicted"), "{e}");
    let mut nan = pic.clone();
    nan[[2, 2]] = f64::INFINITY;
    let e = phase_space_snapshots(&path, &g, nan.view(), pic.view(), "nan").unwrap_err();
    assert!(matches!(e, PlotError::NonFinite(_)) && e.to_string().contains("PIC"), "{e}");
    let e = phase_space_rows(&path, &g, &[], "none").unwrap_err();
    assert!(matches!(e, PlotError::InvalidInput(_)), "{e}");
    let row = SnapshotRow { time: 1.0, pic: pic.view(), predicted: pic.view() };
    let e = phase_space_rows(&path, &g, &vec![row; 17], "too many").unwrap_err();
    assert!(matches!(e, PlotError::InvalidInput(_)) && e.to_string().contains("16"), "{e}");
    let row = SnapshotRow { time: f64::NAN, pic: pic.view(), predicted: pic.view() };
    let e = phase_space_rows(&path, &g, &[row], "nan time").unwrap_err();
    assert!(matches!(e, PlotError::NonFinite(_)), "{e}");
    assert!(is_empty(dir.path()));
}

fn decay(n: usize, scale: f64) -> Vec<(f64, f64)> {
    (0..n).map(|k| (k as f64, scale * (-(k as f64) / 20.0).exp() + 1e-4)).collect()
}

#[test]
fn loss_curves_log_axis_and_stages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loss.png");
    let series = [("train", decay(120, 1.0)), ("validation", decay(12, 1.2))];
    loss_curves(&path, &series, &[40.0, 80.0], "loss").unwrap();
    let (w, h, colours) = png_summary(&path);
    assert_eq!((w, h), (1100, 692 + 48));
    assert!(colours > 10, "{colours} colours");
    // One epoch, one loss: a single marker, no stages.
    loss_curves(&path, &[("only", vec![(0.0, 0.5)])], &[], "one point").unwrap();
    assert_eq!(png_summary(&path).0, 1100);
    assert_eq!(only_file(dir.path()), "loss.png");
}

#[test]
fn loss_curves_refuse_bad_series() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loss.png");
    let none: [(&str, Vec<(f64, f64)>); 0] = [];
    let e = loss_curves(&path, &none, &[], "none").unwrap_err();
    assert!(matches!(e, PlotError::InvalidInput(_)), "{e}");
    let e = loss_curves(&path, &[("train", vec![])], &[], "empty").unwrap_err();
    assert!(matches!(e, PlotError::InvalidInput(_)) && e.to_string().contains("'train'"), "{e}");
    let e = loss_curves(&path, &[("train", vec![(0.0, 1.0), (1.0, 0.0)])], &[], "zero").unwrap_err();
    assert!(matches!(e, PlotError::InvalidInput(_)) && e.to_string().contains("log"), "{e}");
    let e = loss_curves(&path, &[("train", vec![(0.0, f64::NAN)])], &[], "nan").unwrap_err();
    assert!(matches!(e, PlotError::NonFinite(_)), "{e}");
    let e = loss_curves(&path, &[("train", decay(5, 1.0))], &[f64::INFINITY], "stage").unwrap_err();
    assert!(matches!(e, PlotError::NonFinite(_)), "{e}");
    assert!(is_empty(dir.path()));
}

#[test]
fn error_vs_time_linear_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("error.png");
    let series: Vec<(String, Vec<(f64, f64)>)> =
        (0..4).map(|k| (format!("model {k}"), decay(60, 1.0 + k as f64))).collect();
    error_vs_time(&path, &series, "MAE", true, "log").unwrap();
    let (w, h, colours) = png_summary(&path);
    assert_eq!((w, h), (1100, 692 + 48));
    assert!(colours > 10, "{colours} colours");
    // Signed values are fine on a linear axis, refused on a log one.
    let signed = [("drift", vec![(0.0, -1.0), (1.0, 0.5), (2.0, 2.0)])];
    error_vs_time(&path, &signed, "relative error", false, "linear").unwrap();
    assert_eq!(png_summary(&path).0, 1100);
    let e = error_vs_time(&path, &signed, "relative error", true, "log").unwrap_err();
    assert!(matches!(e, PlotError::InvalidInput(_)), "{e}");
    assert_eq!(only_file(dir.path()), "error.png");
}

/// Profiles recovered by binning fields built from them.
///
/// Every cell is projected exactly (`cartesian_to_radial` inverts the
/// rotation of `fields_from_radial_fn`, origin convention included), so only
/// binning errs. A bin's point is the mean of `g(v_k)` over its cells at
/// their mean speed `v_bar`; by Taylor's theorem the error is at most
/// `max|g''| Var(v_k) / 2`, and all `v_k` lie in a bin of width `h`, so
/// `Var(v_k) <= h^2 / 4`. Hence:
/// - linear profiles come back exactly (to round-off), with a band of half
///   width `|g'| sd(v_k) <= |g'| h / 2`;
/// - `g = 1 / (1 + v^2)`, `max|g''| = 2` (at `v = 0`), is within `h^2 / 4`.
#[test]
fn radial_binned_recovers_radial_profiles() {
    let g = VelocityGrid::square(41, 5.0).unwrap();
    let profile =
        |v: f64| RadialCoefficients { a_par: -0.3 * v, d_par: 1.0 / (1.0 + v * v), d_perp: 0.5 + 0.2 * v };
    let fields = fields_from_radial_fn(&g, profile);
    let n_bins = 20;
    let c = radial_binned(&fields, n_bins).unwrap();
    let v_max = 5.0 * (1.0 - 1.0 / 41.0) * 2f64.sqrt();
    let h = v_max / n_bins as f64;
    assert!(c.speed.len() > n_bins / 2 && c.speed.len() <= n_bins);
    for (k, &v) in c.speed.iter().enumerate() {
        let p = profile(v);
        assert!((c.a_par.value[k] - p.a_par).abs() < 1e-12, "bin {k}");
        assert!((c.d_perp.value[k] - p.d_perp).abs() < 1e-12, "bin {k}");
        assert!(
            (c.d_par.value[k] - p.d_par).abs() <= h * h / 4.0,
            "bin {k}: {} vs {}",
            c.d_par.value[k],
            p.d_par
        );
        let (lo, hi) = c.a_par.band.as_ref().unwrap();
        let half = (hi[k] - lo[k]) / 2.0;
        assert!(half <= 0.3 * h / 2.0 + 1e-12, "bin {k}: band half width {half}");
        assert!((lo[k] + hi[k]) / 2.0 - c.a_par.value[k] < 1e-15);
    }
    assert!(c.speed.windows(2).all(|w| w[0] < w[1]));
    assert!(c.speed[0] < h && *c.speed.last().unwrap() > v_max - h);
}

/// A constant drift `A = (a, 0)` and diffusion `diag(d_x, d_y)` are far
/// from radial. On a square grid symmetric about 0 and without a cell at the
/// origin, each bin is symmetric under `v_x -> -v_x` and `v_x <-> v_y`, so
/// over a bin `mean cos = 0` and `mean cos^2 = mean sin^2 = 1/2`: `A_par`
/// averages to 0 with a standard deviation of `a / sqrt 2`, and both
/// diffusions to `(d_x + d_y) / 2`.
#[test]
fn radial_binned_band_measures_anisotropy() {
    let g = VelocityGrid::square(40, 4.0).unwrap();
    let (a, dx, dy) = (0.8, 0.3, 0.1);
    let fields = FpFields::from_fn(g, |_, _| [a, 0.0, dx, dy, 0.0]);
    let c = radial_binned(&fields, 10).unwrap();
    assert_eq!(c.speed.len(), 10);
    let (lo, hi) = c.a_par.band.as_ref().unwrap();
    for k in 0..c.speed.len() {
        assert!(c.a_par.value[k].abs() < 1e-12, "bin {k}");
        assert!(((hi[k] - lo[k]) / 2.0 - a / 2f64.sqrt()).abs() < 1e-12, "bin {k}");
        assert!((c.d_par.value[k] - (dx + dy) / 2.0).abs() < 1e-12, "bin {k}");
        assert!((c.d_perp.value[k] - (dx + dy) / 2.0).abs() < 1e-12, "bin {k}");
    }
}

#[test]
fn radial_binned_refuses_bad_input() {
    let fields = ou_like_fields(grid());
    assert!(matches!(radial_binned(&fields, 0), Err(PlotError::InvalidInput(_))));
    let mut nan = fields.clone();
    nan.a_x[[0, 0]] = f64::NAN;
    assert!(matches!(radial_binned(&nan, 5), Err(PlotError::NonFinite(_))));
    // One cell: one bin, no spread.
    let one = FpFields::from_fn(VelocityGrid::square(1, 1.0).unwrap(), |_, _| [0.1, 0.2, 1.0, 2.0, 0.0]);
    let c = radial_binned(&one, 3).unwrap();
    assert_eq!(c.speed, vec![0.0]);
    assert_eq!(c.d_par.band, Some((c.d_par.value.clone(), c.d_par.value.clone())));
}

#[test]
fn in_memory_pictures_are_the_files_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let g = grid();
    let (pic, predicted) = (blob(&g, -1.0, 0.6), blob(&g, -0.8, 0.7));
    let rows = [SnapshotRow { time: 0.5, pic: pic.view(), predicted: predicted.view() }];
    let series = [("a", decay(30, 1.0)), ("b", decay(30, 0.5))];
    let curves = [curve("model", CurveStyle::Line, 9), curve("theory", CurveStyle::Dashed, 9)];
    let fields = ou_like_fields(g);
    let file = |name: &str| fs::read(dir.path().join(name)).unwrap();

    coefficient_maps(dir.path().join("maps.png"), &fields, "maps").unwrap();
    assert_eq!(coefficient_maps_png(&fields, "maps").unwrap(), file("maps.png"));
    radial_profiles(dir.path().join("radial.png"), &curves, "radial").unwrap();
    assert_eq!(radial_profiles_png(&curves, "radial").unwrap(), file("radial.png"));
    phase_space_snapshots(dir.path().join("one.png"), &g, pic.view(), predicted.view(), "one").unwrap();
    assert_eq!(phase_space_snapshots_png(&g, pic.view(), predicted.view(), "one").unwrap(), file("one.png"));
    phase_space_rows(dir.path().join("rows.png"), &g, &rows, "rows").unwrap();
    assert_eq!(phase_space_rows_png(&g, &rows, "rows").unwrap(), file("rows.png"));
    loss_curves(dir.path().join("loss.png"), &series, &[10.0], "loss").unwrap();
    assert_eq!(loss_curves_png(&series, &[10.0], "loss").unwrap(), file("loss.png"));
    error_vs_time(dir.path().join("error.png"), &series, "MAE", true, "error").unwrap();
    assert_eq!(error_vs_time_png(&series, "MAE", true, "error").unwrap(), file("error.png"));

    // The in-memory twins check their input alike.
    let e = radial_profiles_png(&[], "none").unwrap_err();
    assert!(matches!(e, PlotError::InvalidInput(_)), "{e}");
    let e = error_vs_time_png(&[("zero", vec![(0.0, 0.0)])], "MAE", true, "log").unwrap_err();
    assert!(e.to_string().contains("log axis"), "{e}");
}

/// Curves with shaded bands (a mean over seeds with its minimum and
/// maximum) beside one without: drawn, and bands that do not fit their
/// curve or hold a value a log axis cannot show are refused, nothing written.
#[test]
fn banded_charts_draw_bands_and_refuse_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pareto.png");
    let mean = decay(5, 1.0);
    let band: Vec<(f64, f64)> = mean.iter().map(|p| (0.8 * p.1, 1.3 * p.1)).collect();
    let series = vec![
        BandedSeries { label: "with band".into(), points: mean.clone(), band: Some(band.clone()) },
        BandedSeries { label: "without".into(), points: decay(5, 2.0), band: None },
    ];
    banded_chart(&path, &series, "k", "MAE", true, "bands").unwrap();
    let (w, _, colours) = png_summary(&path);
    assert_eq!(w, 1100);
    assert!(colours > 10, "{colours} colours");
    let short = vec![BandedSeries { band: Some(band[..3].to_vec()), ..series[0].clone() }];
    let e = banded_chart(dir.path().join("a.png"), &short, "k", "MAE", true, "t").unwrap_err();
    assert!(e.to_string().contains("band values"), "{e}");
    let mut zero = band.clone();
    zero[2].0 = 0.0;
    let bad = vec![BandedSeries { band: Some(zero), ..series[0].clone() }];
    assert!(banded_chart(dir.path().join("b.png"), &bad, "k", "MAE", true, "t").is_err());
    assert_eq!(only_file(dir.path()), "pareto.png");
}
