//! What a comparison writes: the CSV tables, the radial-profile figure and
//! the report, all rendered from the [`Comparison`] data (plus the
//! fields and frames the figures need).

use std::fmt::Write as _;
use std::path::Path;

use collop_core::VelocityGrid;
use collop_fp::Numerics;
use collop_learn::tracks::TrackEstimate;
use collop_plot::{CurveStyle, Profile, RadialCurve, radial_binned, radial_binned_where};
use collop_theory::{PlasmaParams, Shielding, ShieldingTable};

use super::history::{RunHistory, half_time};
use super::time_resolved::Series;
use super::{
    AMPLITUDE_RANGE, CompareSettings, Comparison, Entry, Family, Pop, Role, Row, SetupItem, TimeResolved,
};
use crate::conditioning::Extrapolation;
use crate::dataset::Dataset;
use crate::error::Result;
use crate::evaluate::Score;
use crate::fields_model::FieldsModel;
use crate::report::{
    AgreementRow, AgreementTable, AmplitudeRow, AmplitudeTable, Block, ErrorFigure, ErrorSeries, Image,
    Outcome, Population, ProfileFigure, Provenance, Report, RolloutRow, RolloutTable, Section, SetupRow,
    SnapshotFigure, SnapshotFrame, Table,
};

/// `table.csv`: one line per model and sub-population.
pub(super) fn write_table(path: &Path, rows: &[Row]) -> Result<()> {
    let mut s = String::from("model,family,subpopulation,role,mae,mse,l1,l2,l1_norm,l2_norm,error\n");
    for r in rows {
        write!(s, "{},{},{},{}", r.model, r.family.name(), r.pop, r.role.name())?;
        match &r.result {
            Ok(e) => writeln!(
                s,
                ",{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},",
                e.mae, e.mse, e.l1, e.l2, e.l1_norm, e.l2_norm
            )?,
            Err(msg) => writeln!(s, ",,,,,,,\"{}\"", msg.replace('"', "'"))?,
        }
    }
    collop_io::write_text(path, &s)?;
    Ok(())
}

/// `agreement.csv` and `amplitude.csv`.
pub(super) fn write_analysis(out: &Path, c: &Comparison) -> Result<()> {
    let mut s = String::from("model,theory,coefficient,shell_min,shell_max,relative_deviation\n");
    for a in &c.agreement {
        for ((lo, hi), d) in c.shells.iter().zip(&a.deviation) {
            if let Some(d) = d {
                writeln!(s, "{},{},{},{lo},{hi},{d:.6e}", a.model, a.theory, a.coefficient.name())?;
            }
        }
    }
    collop_io::write_text(out.join("agreement.csv"), &s)?;
    if let Some(amp) = &c.amplitude {
        let mut s = String::from("model,ratio_a_par,ratio_d_par,ratio_d_perp,c_eff,nd_c_eff\n");
        writeln!(s, "theory-dynamic,1,1,1,{:.6e},{:.6e}", amp.theory_c, amp.n_d * amp.theory_c)?;
        for m in &amp.models {
            writeln!(
                s,
                "{},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e}",
                m.model, m.ratio[0], m.ratio[1], m.ratio[2], m.c_eff, m.nd_c_eff
            )?;
        }
        collop_io::write_text(out.join("amplitude.csv"), &s)?;
    }
    Ok(())
}

/// The PIC setup and derived quantities of the first training sub-population
/// and the dynamic theory.
pub(super) fn setup(ds: &Dataset, dynamic: Option<&FieldsModel>) -> Vec<SetupItem> {
    let item =
        |name: &str, value: String, note: &str| SetupItem { name: name.into(), value, note: note.into() };
    let mut out = Vec::new();
    let p = ds.meta.pic_parameters(&ds.folder.join(collop_io::ARGS_FILE)).unwrap_or_default();
    if let Some(s) = p.solver {
        out.push(item("solver", s.as_str().to_string(), "em: electromagnetic, es: electrostatic"));
    }
    let theory = dynamic.and_then(|m| m.meta.source.theory());
    if let Some(t) = theory {
        let q = &t.parameters;
        out.push(item(
            "N_D = n λ_D²",
            format!("{:.4}", q.particles_per_debye_area),
            "macro-particles per Debye area",
        ));
        out.push(item("Δx / λ_D", format!("{}", q.dx_over_debye), "cell size in Debye lengths"));
        out.push(item("shape order", format!("{}", q.shape_order), "B-spline order of the particles"));
        out.push(item("v_th / c", format!("{}", q.vth_c), "thermal speed"));
        out.push(item(
            "C (static shielding)",
            format!("{:.4e} v_th³ ω_p", t.amplitude),
            "collision amplitude from the PIC parameters",
        ));
        if let Ok(params) = PlasmaParams::new(
            q.particles_per_debye_area,
            q.dx_over_debye,
            q.dy_over_debye,
            q.shape_order,
            q.vth_c,
        ) && let Ok(table) = ShieldingTable::new(&params, Shielding::Dynamic, 3.0)
            && let Ok(r) = table.profiles(0.0)
            && r.d_perp > 0.0
        {
            out.push(item(
                "collision time τ_c",
                format!("{:.1} / ω_p", 1.0 / r.d_perp),
                "v_th² / D(v = 0) of the dynamic theory: the time over which collisions spread a particle's velocity by v_th",
            ));
        }
    } else {
        if let Some(ppc) = p.ppc {
            out.push(item("particles per cell", ppc.to_string(), ""));
        }
        if let Some(v) = p.vth_c {
            out.push(item("v_th / c", v.to_string(), "thermal speed"));
        }
    }
    if let Some(dt) = p.pic_dt {
        out.push(item("PIC time step", format!("{dt} / ω_p"), ""));
    }
    out.push(item("dump interval", format!("{} / ω_p", ds.series.dt), "time between histograms"));
    out.push(item("dumps", format!("{}", ds.series.len()), "frames of each sub-population used"));
    out.push(item("velocity grid", ds.series.grid.to_string(), "histogram cells, velocities in v_th"));
    out
}

/// Radial profiles of every model with fields: learned models binned over
/// populated cells (band: spread), tracks from their intervals (band:
/// standard error), theory dashed.
fn radial_curves(entries: &[Entry], grid: &VelocityGrid, min_count: usize) -> Vec<RadialCurve> {
    let n_bins = crate::tracks::radial_bins(grid).n_bins;
    let mut curves = Vec::new();
    for e in entries {
        let curve = match (e.family, &e.fields, &e.tracks) {
            (Family::Tracks, _, Some(t)) => track_curve(&e.name, t, min_count),
            (Family::Theory, Some((f, _)), _) => radial_binned(f, n_bins).ok().map(|c| {
                let mut c = c.with_label(e.name.clone()).with_style(CurveStyle::Dashed);
                for p in [&mut c.a_par, &mut c.d_par, &mut c.d_perp] {
                    p.band = None;
                }
                c
            }),
            (_, Some((f, mask)), _) => radial_binned_where(f, Some(mask), n_bins).ok().map(|c| {
                c.with_label(format!("{} (± spread over cells)", e.name)).with_style(CurveStyle::Line)
            }),
            _ => None,
        };
        curves.extend(curve);
    }
    curves
}

fn track_curve(name: &str, e: &TrackEstimate, min: usize) -> Option<RadialCurve> {
    let r = e.radial.as_ref()?;
    let used: Vec<usize> = (0..r.speed.len()).filter(|&b| r.count[b] >= min.max(2)).collect();
    if used.is_empty() {
        return None;
    }
    let profile = |k: usize| {
        let v: Vec<f64> = used.iter().map(|&b| r.value[k][b]).collect();
        let lo = used.iter().map(|&b| r.value[k][b] - r.stderr[k][b]).collect();
        let hi = used.iter().map(|&b| r.value[k][b] + r.stderr[k][b]).collect();
        Profile::with_band(v, lo, hi)
    };
    Some(RadialCurve {
        label: format!("{name} (± s.e.)"),
        style: CurveStyle::Markers,
        speed: used.iter().map(|&b| r.speed[b]).collect(),
        a_par: profile(0),
        d_par: profile(1),
        d_perp: profile(2),
    })
}

/// Today's date (UTC) as `YYYY-MM-DD`, from the system clock.
/// The section "In time": coefficient profiles at the sampled frames and
/// the speed distributions of the held-out sub-populations (files
/// `profiles_frame<k>.png`, `speed_distribution_<subpop>.png` in `out`).
fn in_time_section(t: &TimeResolved, held: &[&Pop], out: &Path, failures: &mut Vec<String>) -> Section {
    let mut blocks = vec![Block::Text(
        "The operators and the distributions at a few frames through the run: what a single error per rollout \
         averages over. Time-dependent models show the slot of each frame; time-independent ones the same \
         profiles at every frame. Tables: profiles_in_time.csv, speed_distributions.csv."
            .into(),
    )];
    for (k, (&frame, &time)) in t.frames.iter().zip(&t.times).enumerate() {
        let curves = t.curves_at(k);
        if curves.is_empty() {
            continue;
        }
        let title = format!("A_par, D_par, D_perp at t = {time:.1} (frame {frame})");
        match collop_plot::radial_profiles_png(&curves, &title) {
            Ok(png) => {
                let name = format!("profiles_frame{frame}.png");
                if let Err(e) = collop_io::write_bytes(out.join(&name), &png) {
                    failures.push(format!("{name}: {e}"));
                }
                blocks.push(Block::Image(Image {
                    caption: format!(
                        "Shell averages over the cells the training data populate at t = {time:.1}; track models \
                         without their empty bins; theory dashed, tracks as markers."
                    ),
                    png,
                }));
            }
            Err(e) => failures.push(format!("profiles at frame {frame}: {e}")),
        }
    }
    let series = t.anisotropy_series();
    if !series.is_empty() {
        match collop_plot::line_chart_png(
            &series,
            "t (ω_p⁻¹)",
            "(D_xx − D_yy) / (D_xx + D_yy)",
            false,
            "diffusion anisotropy of every model",
        ) {
            Ok(png) => {
                if let Err(e) = collop_io::write_bytes(out.join("anisotropy_in_time.png"), &png) {
                    failures.push(format!("anisotropy_in_time.png: {e}"));
                }
                blocks.push(Block::Image(Image {
                    caption: "(<D_xx> − <D_yy>) / (<D_xx> + <D_yy>) over the populated cells at every operator slot: \
                              zero for an isotropic operator."
                        .into(),
                    png,
                }));
            }
            Err(e) => failures.push(format!("anisotropy_in_time.png: {e}")),
        }
    }
    if let Some(h) = &t.history {
        blocks.extend(history_blocks(h, &series, out, failures));
    }
    for p in held {
        let Some(series) = t.distribution_series(&p.name) else { continue };
        let title = format!("speed distribution of {}", p.name);
        match collop_plot::line_chart_png(&series, "|v| (v_th)", "f(|v|)", false, &title) {
            Ok(png) => {
                let name = format!("speed_distribution_{}.png", p.name);
                if let Err(e) = collop_io::write_bytes(out.join(&name), &png) {
                    failures.push(format!("{name}: {e}"));
                }
                blocks.push(Block::Image(Image {
                    caption: format!(
                        "f(|v|) = |v| ∫dθ f of {} at the sampled times (PIC), and every model's rollout at the last.",
                        p.name
                    ),
                    png,
                }));
            }
            Err(e) => failures.push(format!("speed distribution of {}: {e}", p.name)),
        }
    }
    Section { heading: "In time".into(), blocks }
}

/// The run's fields and background beside the operators' anisotropy:
/// the figures `anisotropy_and_fields.png` and `background_relaxation.png`
/// and the times at which each anisotropy halves.
fn history_blocks(h: &RunHistory, models: &[Series], out: &Path, failures: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut figure = |name: &str, series: &[Series], y: &str, log_y: bool, title: &str, caption: String| {
        if series.is_empty() {
            return;
        }
        match collop_plot::line_chart_png(series, "t (ω_p⁻¹)", y, log_y, title) {
            Ok(png) => {
                if let Err(e) = collop_io::write_bytes(out.join(name), &png) {
                    failures.push(format!("{name}: {e}"));
                }
                blocks.push(Block::Image(Image { caption, png }));
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    };
    let curves = h.anisotropy_and_fields(models);
    if curves.len() > models.len() {
        figure(
            "anisotropy_and_fields.png",
            &curves,
            "anisotropy, W_B / max W_B",
            false,
            "operator anisotropy, background anisotropy and magnetic energy",
            "Every model's diffusion anisotropy, the background's temperature anisotropy (T_x − T_y)/(T_x + T_y) \
             and the magnetic field energy over its peak, against time (tables anisotropy_in_time.csv, \
             background_in_time.csv, fields_in_time.csv)."
                .into(),
        );
    }
    figure(
        "background_relaxation.png",
        &h.relaxation(),
        "l1 distance",
        true,
        "the background against the Maxwellian of its moments",
        format!(
            "l1 distance of the {} histogram from the isotropic Maxwellian of its mean and temperature, and the \
             distance a sample of as many particles from that Maxwellian would have (its noise floor).",
            h.species.as_deref().unwrap_or("background")
        ),
    );
    let mut text = String::new();
    if let Some((t, b)) = h.magnetic_peak().filter(|_| h.is_magnetic()) {
        text.push_str(&format!("The magnetic energy peaks at t = {t:.1} (W_B = {b:.3e}). "));
    }
    let mut halves: Vec<String> = Vec::new();
    if !h.background.is_empty() {
        let a = h.temperature_anisotropy();
        if a.first().is_some_and(|p| p.1.abs() > 0.05) {
            halves.push(match half_time(&a) {
                Some(t) => format!("the background's temperature anisotropy at t = {t:.1}"),
                None => "the background's temperature anisotropy not within the run".into(),
            });
        }
    }
    for (m, a) in models.iter().filter(|(_, a)| a.len() > 2) {
        if a.first().is_some_and(|p| p.1.abs() > 0.05) {
            halves.push(match half_time(a) {
                Some(t) => format!("{m} at t = {t:.1}"),
                None => format!("{m} not within the run"),
            });
        }
    }
    if !halves.is_empty() {
        text.push_str(&format!("Anisotropies fall to half their initial value: {}.", halves.join("; ")));
    }
    if !text.is_empty() {
        blocks.insert(0, Block::Text(text));
    }
    blocks
}

/// The number of time nodes of a built-in linear model (`None` for other
/// models): 1 for a constant one, one per dump step for `-tdump`.
fn time_nodes(model: &str, steps: usize) -> Option<(&'static str, usize)> {
    use super::BuiltinModel;
    use crate::spec::TimeDependence;
    let nodes = |t: TimeDependence| match t {
        TimeDependence::Constant => 1,
        TimeDependence::PerDump => steps,
        TimeDependence::Nodes(n) => n,
    };
    match model.parse::<BuiltinModel>().ok()? {
        BuiltinModel::Tensor(t) => Some(("tensor", nodes(t))),
        BuiltinModel::ParPerp(t) => Some(("par-perp", nodes(t))),
        _ => None,
    }
}

/// Held-out rollout error against the number of time nodes `N_t` of the
/// linear models (constant, `-tN`, `-tdump`), per family and held-out
/// sub-population: `error_vs_time_nodes.csv` and `.png`. `None` unless a
/// family has at least two node counts.
fn time_nodes_section(c: &Comparison, out: &Path, failures: &mut Vec<String>) -> Option<Section> {
    let steps = c.populations.iter().map(|p| p.steps).max().unwrap_or(1);
    let mut series: Vec<Series> = Vec::new();
    let mut csv = String::from("family,model,time_nodes,subpopulation,mae\n");
    for family in ["tensor", "par-perp"] {
        for p in c.populations.iter().filter(|p| p.role == Role::HeldOut) {
            let mut points: Vec<(f64, f64)> = Vec::new();
            for row in c.rows.iter().filter(|r| r.pop == p.name) {
                let Some((f, n)) = time_nodes(&row.model, steps) else { continue };
                let Ok(e) = &row.result else { continue };
                if f != family || !e.mae.is_finite() {
                    continue;
                }
                let _ = writeln!(csv, "{family},{},{n},{},{:e}", row.model, p.name, e.mae);
                points.push(((n as f64).log10(), e.mae));
            }
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            if points.len() >= 2 {
                series.push((format!("{family} on {}", p.name), points));
            }
        }
    }
    if series.is_empty() {
        return None;
    }
    if let Err(e) = collop_io::write_text(out.join("error_vs_time_nodes.csv"), &csv) {
        failures.push(format!("error_vs_time_nodes.csv: {e}"));
    }
    let mut blocks = vec![Block::Text(format!(
        "Held-out rollout error (MAE over every dump step) of the linear models against their number of time \
         nodes N_t: 1 for the constant operator, {steps} for one per dump step. Table: error_vs_time_nodes.csv."
    ))];
    match collop_plot::line_chart_png(&series, "log₁₀ N_t", "held-out MAE", true, "error against time nodes")
    {
        Ok(png) => {
            if let Err(e) = collop_io::write_bytes(out.join("error_vs_time_nodes.png"), &png) {
                failures.push(format!("error_vs_time_nodes.png: {e}"));
            }
            blocks.push(Block::Image(Image {
                caption: "Held-out MAE against log₁₀ N_t, per model family and held-out sub-population."
                    .into(),
                png,
            }));
        }
        Err(e) => failures.push(format!("error_vs_time_nodes.png: {e}")),
    }
    Some(Section { heading: "Time nodes".into(), blocks })
}

fn today() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    // Days since 1970-01-01 to a proleptic Gregorian date, counting in
    // 400-year eras of 146097 days that start on 1 March.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The report of a comparison. Also writes `radial_profiles.png` into
/// `out`; figures that cannot be drawn are listed in `failures`.
pub(super) fn report(
    c: &Comparison,
    entries: &[Entry],
    pops: &[Pop],
    a: &CompareSettings,
    numerics: &Numerics,
    out: &Path,
    failures: &mut Vec<String>,
) -> Result<Report> {
    let mut r = Report::new(format!("collop compare: {}", a.run.display()));
    let held: Vec<&Pop> = pops.iter().filter(|p| p.role == Role::HeldOut).collect();
    let trained: Vec<&str> = pops.iter().filter(|p| p.role == Role::Train).map(|p| p.name.as_str()).collect();
    r.summary = format!(
        "Learned, particle-track, theory and frozen models of the PIC run {}, each rolled out from the first frame of \
         every sub-population and scored against the PIC histograms. Learned models were trained on {}; held out: \
         {}. Rollouts: {numerics}.",
        c.run,
        trained.join(", "),
        if held.is_empty() {
            "none".to_string()
        } else {
            held.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
        }
    );
    r.setup = c.setup.iter().map(|s| SetupRow::new(&s.name, &s.value, &s.note)).collect();
    let steps = c.populations.iter().map(|p| p.steps).max().unwrap_or(0);
    r.rollout = Some(RolloutTable {
        metric: "MAE of the normalised histograms".into(),
        window: format!("mean over every dump step (1-{steps})"),
        populations: c.populations.iter().map(|p| Population::new(&p.name, p.role)).collect(),
        rows: c
            .models
            .iter()
            .map(|m| RolloutRow {
                model: m.name.clone(),
                family: m.family,
                cells: c
                    .populations
                    .iter()
                    .map(|p| match c.row(&m.name, &p.name).map(|r| &r.result) {
                        Some(Ok(e)) => Outcome::Value(e.mae),
                        Some(Err(msg)) => Outcome::Failed(msg.clone()),
                        None => Outcome::Failed("not rolled out".into()),
                    })
                    .collect(),
            })
            .collect(),
    });
    let grid = pops[0].ds.series.grid;
    let curves = radial_curves(entries, &grid, a.min_count);
    match collop_plot::radial_profiles(out.join("radial_profiles.png"), &curves, "A_par, D_par, D_perp of every model") {
        Ok(()) => {
            r.profiles = Some(ProfileFigure {
                title: "A_par, D_par, D_perp of every model".into(),
                caption: "Learned Fokker-Planck models binned in |v| over the cells the training data populate (band: \
                          spread over cells); track estimates from the intervals binned by starting speed (band: one \
                          standard error); theory dashed. Time-dependent models: first time slot."
                    .into(),
                curves,
            })
        }
        Err(e) => failures.push(format!("radial_profiles.png: {e}")),
    }
    // Snapshots of the first held-out sub-population, by the best learned model there.
    let shown = held.first().copied().unwrap_or(&pops[pops.len() - 1]);
    if let Some(best) =
        c.best(&shown.name, &[Family::Learned]).or_else(|| c.best(&shown.name, &[Family::Theory]))
        && let Some(e) = entries.iter().find(|e| e.name == best.model)
    {
        match e.source.evaluate_on(&shown.ds, numerics, Extrapolation::Refuse, None, true) {
            Ok((_, ev)) if matches!(ev.score, Score::Scored { .. }) => {
                let pred = ev.frames.expect("kept");
                let n = shown.ds.steps();
                let picks: Vec<usize> = [n / 3, 2 * n / 3, n].into_iter().filter(|&k| k > 0).collect();
                r.snapshots.push(SnapshotFigure {
                    population: shown.name.clone(),
                    model: best.model.clone(),
                    grid,
                    frames: picks
                        .iter()
                        .map(|&k| SnapshotFrame {
                            time: shown.ds.series.time(k),
                            pic: shown.ds.series.frame(k).to_owned(),
                            predicted: pred.slice(ndarray::s![k, 0, .., ..]).to_owned(),
                        })
                        .collect(),
                    caption: format!(
                        "{} ({}): PIC histogram, the rollout of {} (the best learned model there) from the first frame, \
                         and their difference.",
                        shown.name,
                        shown.role.name(),
                        best.model
                    ),
                });
            }
            Ok(_) => {
                failures.push(format!("snapshots: the rollout of {} on {} diverged", best.model, shown.name))
            }
            Err(e) => failures.push(format!("snapshots of {} on {}: {e}", best.model, shown.name)),
        }
    }
    // Error against time on every held-out sub-population (all when none is).
    let curves_of: Vec<&Pop> = if held.is_empty() { pops.iter().collect() } else { held.clone() };
    for p in curves_of {
        let rec = c.populations.iter().find(|x| x.name == p.name).expect("every population recorded");
        let series: Vec<ErrorSeries> = c
            .rows
            .iter()
            .filter(|row| row.pop == p.name && !row.per_step_mae.is_empty())
            .map(|row| ErrorSeries {
                model: row.model.clone(),
                points: row
                    .per_step_mae
                    .iter()
                    .enumerate()
                    .map(|(k, &e)| (rec.times[k + 1], e))
                    .filter(|&(_, e)| e > 0.0)
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        if !series.is_empty() {
            r.errors.push(ErrorFigure {
                population: Population::new(&p.name, p.role),
                metric: "MAE".into(),
                log_y: true,
                series,
                caption: format!(
                    "Mean absolute error of each model's rollout against the PIC histograms of {}.",
                    p.name
                ),
            });
        }
    }
    for theory in ["theory-static", "theory-dynamic"] {
        let rows: Vec<AgreementRow> = c
            .agreement
            .iter()
            .filter(|g| g.theory == theory)
            .map(|g| AgreementRow {
                model: g.model.clone(),
                coefficient: g.coefficient,
                deviation: g.deviation.clone(),
            })
            .collect();
        if !rows.is_empty() {
            r.agreement.push(AgreementTable {
                theory: theory.into(),
                shells: c.shells.clone(),
                note: "Relative deviation (model − theory) / |theory| of the shell averages over populated cells; \
                       A_par relative to max(|A_par|, 0.1 of its largest shell value)."
                    .into(),
                rows,
            });
        }
    }
    if let Some(amp) = &c.amplitude {
        r.amplitude = Some(AmplitudeTable {
            reference: format!("theory-dynamic (C = {:.4e} v_th³ ω_p, N_D = {:.4})", amp.theory_c, amp.n_d),
            note: format!(
                "Least-squares ratio model / theory of the shell averages over {} ≤ |v| ≤ {}, and C_eff = C (ratio_D_par \
                 + ratio_D_perp) / 2; collision theory has C ∝ 1 / N_D, so N_D C_eff compares runs of different N_D.",
                AMPLITUDE_RANGE.0, AMPLITUDE_RANGE.1
            ),
            rows: amp
                .models
                .iter()
                .map(|m| AmplitudeRow {
                    model: m.model.clone(),
                    ratio: m.ratio,
                    c_eff: m.c_eff,
                    nd_c_eff: m.nd_c_eff,
                })
                .collect(),
        });
    }
    if let Some(t) = &c.time_resolved {
        r.extra.push(in_time_section(t, &held, out, failures));
    }
    if let Some(section) = time_nodes_section(c, out, failures) {
        r.extra.push(section);
    }
    if !c.stability_warnings.is_empty() {
        r.extra.push(Section {
            heading: "Stability of the rollouts".into(),
            blocks: std::iter::once(Block::Text(
                "The evaluation flagged the explicit step of these rollouts (the first warning of each model); their \
                 errors are those of the clamped rollout. More --substeps change a fitted operator, so compare \
                 models fitted and evaluated with the same sub-steps."
                    .into(),
            ))
            .chain(c.stability_warnings.iter().map(|w| Block::Text(w.clone())))
            .collect(),
        });
    }
    if !c.memory.is_empty() {
        r.extra.push(Section {
            heading: "Memory: tracks against histograms".into(),
            blocks: vec![Block::Table(Table {
                caption: "Bytes of the particle tracks and of the histograms of the same sub-population."
                    .into(),
                header: ["sub-population", "tracks.npz bytes", "histogram bytes", "ratio"]
                    .map(String::from)
                    .to_vec(),
                rows: c
                    .memory
                    .iter()
                    .map(|m| {
                        vec![
                            m.pop.clone(),
                            m.tracks.to_string(),
                            m.histograms.to_string(),
                            format!("{:.2}", m.tracks as f64 / m.histograms.max(1) as f64),
                        ]
                    })
                    .collect(),
            })],
        });
    }
    r.failures = failures.clone();
    r.provenance = Provenance {
        version: c.version.clone(),
        seed: Some(0),
        date: today(),
        commands: vec![c.command.clone()],
        inputs: vec![c.run.clone()],
    };
    Ok(r)
}

#[cfg(test)]
mod tests {
    /// Time nodes of the linear models by name; networks and others have none.
    #[test]
    fn time_nodes_of_the_built_in_models() {
        use super::time_nodes;
        assert_eq!(time_nodes("tensor", 123), Some(("tensor", 1)));
        assert_eq!(time_nodes("tensor-t25", 123), Some(("tensor", 25)));
        assert_eq!(time_nodes("tensor-tdump", 123), Some(("tensor", 123)));
        assert_eq!(time_nodes("par-perp-t2", 50), Some(("par-perp", 2)));
        assert_eq!(time_nodes("parperp-mlp-t", 50), None);
        assert_eq!(time_nodes("tracks-lag1", 50), None);
    }

    #[test]
    fn dates() {
        let d = super::today();
        assert_eq!(d.len(), 10, "{d}");
        assert!(d.as_str() >= "2024-01-01", "{d}");
    }
}
