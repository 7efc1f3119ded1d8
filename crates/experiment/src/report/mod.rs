//! The comparison report: one self-contained HTML file that a plasma
//! physicist reads in a browser, without the terminal.
//!
//! The comparison code fills in a [`Report`] (plain data: numbers, texts,
//! curves and histograms; nothing here reads a file) and
//! [`Report::to_html`] renders it: inline CSS, every figure drawn by
//! `collop-plot` in memory and embedded as a base64 PNG data URI, no
//! script and no network access. The sections, in order:
//!
//! 1. title, summary, the PIC setup and derived quantities ([`SetupRow`]);
//! 2. the rollout-error table ([`RolloutTable`]), the best value of every
//!    sub-population marked;
//! 3. radial profiles `A_par`, `D_par`, `D_perp` of every model against
//!    theory ([`ProfileFigure`]);
//! 4. phase-space snapshots, PIC beside predicted ([`SnapshotFigure`]);
//! 5. error against time ([`ErrorFigure`]);
//! 6. agreement with theory per `|v|` shell ([`AgreementTable`]) and the
//!    amplitudes ([`AmplitudeTable`]);
//! 7. further sections ([`Section`]);
//! 8. failures and provenance ([`Provenance`]).
//!
//! Sections 2 to 6 always have their heading, with a line saying that the
//! comparison has no such data when it is empty, so reports of different
//! runs read alike. Colours of models follow their order in each figure:
//! give the curves and error series in the same model order.
//!
//! With the feature `check`, `check_report_html` parses a rendered report
//! and checks its structure (the tests of this crate and of the binary use
//! it).

#[cfg(feature = "check")]
mod check;
mod html;

use std::path::Path;

use collop_core::VelocityGrid;
use collop_plot::{PlotError, RadialCurve, SnapshotRow};
use ndarray::Array2;
use thiserror::Error;

#[cfg(feature = "check")]
pub use check::{ReportCheck, check_report_html};

use html::{Cell, Html, escape};

/// Errors of rendering or writing a report.
#[derive(Debug, Error)]
pub enum ReportError {
    /// Report data that cannot be rendered as given (a table row whose
    /// length is not the header's, an image that is not a PNG, ...).
    #[error("report data: {0}")]
    Invalid(String),
    /// A figure could not be drawn.
    #[error("figure '{figure}': {cause}")]
    Figure {
        /// Which figure.
        figure: String,
        /// What `collop-plot` said.
        cause: PlotError,
    },
    /// Writing the report failed.
    #[error(transparent)]
    Io(#[from] collop_io::IoError),
}

/// The whole report; see the [module documentation](self) for its sections.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Title of the page and of its first heading.
    pub title: String,
    /// A paragraph or a few (separated by blank lines) that say what was
    /// compared and what came out.
    pub summary: String,
    /// The PIC setup and derived quantities, e.g. `N_D = n lambda_D^2`,
    /// `dx / lambda_D`, the shape order, `v_th / c`, the solver, `dt`, the
    /// dumps, a collision time estimate.
    pub setup: Vec<SetupRow>,
    /// The rollout error of every model on every sub-population.
    pub rollout: Option<RolloutTable>,
    /// Radial profiles of every model against theory.
    pub profiles: Option<ProfileFigure>,
    /// Phase-space snapshots (usually one, of a held-out sub-population).
    pub snapshots: Vec<SnapshotFigure>,
    /// Error against time, one figure per chosen sub-population.
    pub errors: Vec<ErrorFigure>,
    /// Agreement with theory, one table per theory.
    pub agreement: Vec<AgreementTable>,
    /// Amplitudes relative to a theory.
    pub amplitude: Option<AmplitudeTable>,
    /// Further sections, after the standard ones.
    pub extra: Vec<Section>,
    /// Steps of the comparison that failed, one message each.
    pub failures: Vec<String>,
    /// How to reproduce the report.
    pub provenance: Provenance,
}

/// One row of the setup table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetupRow {
    /// The quantity, e.g. `N_D = n λ_D²`.
    pub name: String,
    /// Its value with units, formatted by the caller.
    pub value: String,
    /// Where it comes from or what it means (may be empty).
    pub note: String,
}

impl SetupRow {
    /// A row of the setup table.
    pub fn new(name: impl Into<String>, value: impl Into<String>, note: impl Into<String>) -> Self {
        Self { name: name.into(), value: value.into(), note: note.into() }
    }
}

/// The kind of a model in the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Trained on PIC histograms.
    Learned,
    /// Estimated from particle tracks.
    Tracks,
    /// Collision theory from the PIC parameters.
    Theory,
    /// No evolution at all (the baseline every model must beat).
    Frozen,
}

impl Family {
    /// The family's name as the report and the CSV files write it.
    pub fn name(self) -> &'static str {
        match self {
            Family::Learned => "learned",
            Family::Tracks => "tracks",
            Family::Theory => "theory",
            Family::Frozen => "frozen",
        }
    }
}

/// Whether a sub-population was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Learned models were trained on it.
    Train,
    /// Held out from training.
    HeldOut,
}

impl Role {
    /// The role's name as the report writes it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Train => "train",
            Role::HeldOut => "held-out",
        }
    }
}

/// A sub-population: a column of the rollout table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Population {
    /// Its name (the folder of the PIC run).
    pub name: String,
    /// Trained on or held out.
    pub role: Role,
}

impl Population {
    /// A sub-population of `role`.
    pub fn new(name: impl Into<String>, role: Role) -> Self {
        Self { name: name.into(), role }
    }
}

/// The result of one model on one sub-population.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The error (a non-finite value is shown as a failure).
    Value(f64),
    /// Why there is no value, e.g. `diverged at step 12`.
    Failed(String),
}

/// One model's row of the rollout table.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutRow {
    /// The model's name.
    pub model: String,
    /// Its family.
    pub family: Family,
    /// One outcome per sub-population, in the order of
    /// [`RolloutTable::populations`].
    pub cells: Vec<Outcome>,
}

/// Rollout errors: rows are models, columns sub-populations. The lowest
/// value of every column is marked.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutTable {
    /// What is measured, e.g. `MAE of the normalised histograms`.
    pub metric: String,
    /// Over which dumps, e.g. `averaged over steps 1-40`.
    pub window: String,
    /// The columns.
    pub populations: Vec<Population>,
    /// The rows.
    pub rows: Vec<RolloutRow>,
}

/// Radial profiles `A_par`, `D_par`, `D_perp` against `|v|` of every model
/// (lines, markers with error bands for tracks, theory dashed).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProfileFigure {
    /// Title drawn in the picture (a default when empty).
    pub title: String,
    /// What the curves and bands are.
    pub caption: String,
    /// The curves, drawn by [`collop_plot::radial_profiles`].
    pub curves: Vec<RadialCurve>,
}

/// One dump of a [`SnapshotFigure`].
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotFrame {
    /// Time of the dump, `1/omega_p`.
    pub time: f64,
    /// The PIC histogram, shape of the grid.
    pub pic: Array2<f64>,
    /// The model's histogram at the same dump.
    pub predicted: Array2<f64>,
}

/// Phase-space histograms of one sub-population at a few times: PIC,
/// predicted and their difference, one row per time.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotFigure {
    /// The sub-population shown.
    pub population: String,
    /// The model whose prediction is shown.
    pub model: String,
    /// The velocity grid of the histograms.
    pub grid: VelocityGrid,
    /// The dumps, 1 to 16.
    pub frames: Vec<SnapshotFrame>,
    /// What to look for.
    pub caption: String,
}

/// One model's error against time.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorSeries {
    /// The model's name (legend).
    pub model: String,
    /// `(t, error)` points, `t` in `1/omega_p`.
    pub points: Vec<(f64, f64)>,
}

/// Error against time of every model on one sub-population.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorFigure {
    /// The sub-population.
    pub population: Population,
    /// The error's name on the `y` axis, e.g. `MAE`.
    pub metric: String,
    /// A log `y` axis (every error must then be positive: leave out the
    /// initial dump, where the error vanishes).
    pub log_y: bool,
    /// One series per model.
    pub series: Vec<ErrorSeries>,
    /// What to look for (may be empty).
    pub caption: String,
}

/// A radial Fokker-Planck coefficient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Coefficient {
    /// Drift along `v`.
    #[serde(rename = "A_par")]
    APar,
    /// Diffusion along `v`.
    #[serde(rename = "D_par")]
    DPar,
    /// Diffusion across `v`.
    #[serde(rename = "D_perp")]
    DPerp,
}

impl Coefficient {
    /// The plain-text name, as in the CSV files.
    pub fn name(self) -> &'static str {
        match self {
            Coefficient::APar => "A_par",
            Coefficient::DPar => "D_par",
            Coefficient::DPerp => "D_perp",
        }
    }

    fn html(self) -> &'static str {
        match self {
            Coefficient::APar => "A<sub>∥</sub>",
            Coefficient::DPar => "D<sub>∥</sub>",
            Coefficient::DPerp => "D<sub>⊥</sub>",
        }
    }
}

/// One model's relative deviation from theory in one coefficient.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementRow {
    /// The model.
    pub model: String,
    /// The coefficient.
    pub coefficient: Coefficient,
    /// `(model - theory) / |theory|` per shell of
    /// [`AgreementTable::shells`]; `None` where the shell has no populated
    /// cell.
    pub deviation: Vec<Option<f64>>,
}

/// Agreement of every model with one theory per `|v|` shell.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementTable {
    /// The theory compared against, e.g. `theory-dynamic`.
    pub theory: String,
    /// Shell edges `(from, to)` in `|v| / v_th`.
    pub shells: Vec<(f64, f64)>,
    /// How the deviations are formed (which cells, which floor for `A_par`).
    pub note: String,
    /// The rows, usually three per model.
    pub rows: Vec<AgreementRow>,
}

/// One model's amplitude relative to the reference theory.
#[derive(Debug, Clone, PartialEq)]
pub struct AmplitudeRow {
    /// The model.
    pub model: String,
    /// Least-squares ratio model / theory of `A_par`, `D_par`, `D_perp`.
    pub ratio: [f64; 3],
    /// The effective amplitude `C_eff`, `v_th^3 omega_p`.
    pub c_eff: f64,
    /// `N_D C_eff`, comparable between runs of different `N_D`.
    pub nd_c_eff: f64,
}

/// Amplitudes of the models relative to one theory.
#[derive(Debug, Clone, PartialEq)]
pub struct AmplitudeTable {
    /// The theory the ratios are taken against.
    pub reference: String,
    /// How the ratios and `C_eff` are formed.
    pub note: String,
    /// The rows (the reference itself may be one, with ratios 1).
    pub rows: Vec<AmplitudeRow>,
}

/// A further section of the report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Section {
    /// Its heading.
    pub heading: String,
    /// Its content, in order.
    pub blocks: Vec<Block>,
}

/// A piece of a [`Section`].
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Paragraphs (separated by blank lines).
    Text(String),
    /// Preformatted text, e.g. a command.
    Code(String),
    /// A table.
    Table(Table),
    /// A picture.
    Image(Image),
}

/// A plain table of texts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Shown above the table (may be empty).
    pub caption: String,
    /// Column headings.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

/// A PNG picture, e.g. from one of `collop-plot`'s `_png` functions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Image {
    /// Shown below the picture, and its alternative text.
    pub caption: String,
    /// The bytes of the PNG file.
    pub png: Vec<u8>,
}

/// How the report came about.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Provenance {
    /// The collop version that made it.
    pub version: String,
    /// The random seed, if any.
    pub seed: Option<u64>,
    /// When it was made, as the caller formats it.
    pub date: String,
    /// Commands that reproduce it, in order.
    pub commands: Vec<String>,
    /// Its inputs (run directories, configs), as given on the command line.
    pub inputs: Vec<String>,
}

/// Where the report's parts go: anchor, heading.
const SETUP: (&str, &str) = ("setup", "Setup");
const ROLLOUT: (&str, &str) = ("rollout", "Rollout error");
const PROFILES: (&str, &str) = ("profiles", "Radial profiles");
const SNAPSHOTS: (&str, &str) = ("snapshots", "Phase-space snapshots");
const ERRORS: (&str, &str) = ("errors", "Error against time");
const AGREEMENT: (&str, &str) = ("agreement", "Agreement with theory");
const FAILURES: (&str, &str) = ("failures", "Failures");
const PROVENANCE: (&str, &str) = ("provenance", "Provenance");

/// The marker beside the best value of a rollout column.
pub const BEST_MARKER: &str = "★";

impl Report {
    /// An empty report titled `title`.
    pub fn new(title: impl Into<String>) -> Self {
        Self { title: title.into(), ..Self::default() }
    }

    /// Render the report as one self-contained HTML page.
    ///
    /// Errors: an empty title; a rollout table without columns or rows, or
    /// with a row whose length is not the number of sub-populations; an
    /// agreement row whose length is not the number of shells; a table
    /// row whose length is not its header's; an image that is not a PNG;
    /// a figure that `collop-plot` refuses (curves of unequal lengths,
    /// histograms whose shape is not the grid's, non-finite values, a
    /// non-positive error on a log axis, ...).
    pub fn to_html(&self) -> Result<String, ReportError> {
        if self.title.trim().is_empty() {
            return Err(ReportError::Invalid("the report has no title".into()));
        }
        let mut h = Html::new(&self.title);
        h.raw(&format!("<header>\n<h1>{}</h1>\n", escape(&self.title)));
        h.paragraphs(&self.summary, "summary");
        self.contents(&mut h);
        h.raw("</header>\n");

        h.open_section(SETUP);
        self.setup_table(&mut h);
        h.close_section();

        h.open_section(ROLLOUT);
        match &self.rollout {
            Some(t) => rollout_table(&mut h, t)?,
            None => h.absent("rollout errors"),
        }
        h.close_section();

        h.open_section(PROFILES);
        match &self.profiles {
            Some(p) => profiles(&mut h, p)?,
            None => h.absent("radial profiles"),
        }
        h.close_section();

        h.open_section(SNAPSHOTS);
        if self.snapshots.is_empty() {
            h.absent("phase-space snapshots");
        }
        for s in &self.snapshots {
            snapshots(&mut h, s)?;
        }
        h.close_section();

        h.open_section(ERRORS);
        if self.errors.is_empty() {
            h.absent("errors against time");
        }
        for e in &self.errors {
            error_figure(&mut h, e)?;
        }
        h.close_section();

        h.open_section(AGREEMENT);
        if self.agreement.is_empty() && self.amplitude.is_none() {
            h.absent("comparisons with theory");
        }
        for a in &self.agreement {
            agreement_table(&mut h, a)?;
        }
        if let Some(a) = &self.amplitude {
            amplitude_table(&mut h, a);
        }
        h.close_section();

        for (k, s) in self.extra.iter().enumerate() {
            let id = format!("extra-{}", k + 1);
            h.open_section((id.as_str(), s.heading.as_str()));
            for b in &s.blocks {
                block(&mut h, b)?;
            }
            h.close_section();
        }

        if !self.failures.is_empty() {
            h.open_section(FAILURES);
            h.raw("<ul class=\"failures\">\n");
            for f in &self.failures {
                h.raw(&format!("<li>{}</li>\n", escape(f)));
            }
            h.raw("</ul>\n");
            h.close_section();
        }

        h.open_section(PROVENANCE);
        self.provenance(&mut h);
        h.close_section();
        Ok(h.finish())
    }

    /// Render the report and write it to `path` atomically (the folder must
    /// exist).
    ///
    /// Errors: those of [`Report::to_html`], and failures to write.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), ReportError> {
        let html = self.to_html()?;
        collop_io::write_text(path, &html)?;
        Ok(())
    }

    /// The list of sections, linked.
    fn contents(&self, h: &mut Html) {
        let mut items: Vec<(String, &str)> = [SETUP, ROLLOUT, PROFILES, SNAPSHOTS, ERRORS, AGREEMENT]
            .iter()
            .map(|(id, name)| (id.to_string(), *name))
            .collect();
        for (k, s) in self.extra.iter().enumerate() {
            items.push((format!("extra-{}", k + 1), &s.heading));
        }
        if !self.failures.is_empty() {
            items.push((FAILURES.0.into(), FAILURES.1));
        }
        items.push((PROVENANCE.0.into(), PROVENANCE.1));
        h.raw("<nav><ol>");
        for (id, name) in items {
            h.raw(&format!("<li><a href=\"#{}\">{}</a></li>", escape(&id), escape(name)));
        }
        h.raw("</ol></nav>\n");
    }

    fn setup_table(&self, h: &mut Html) {
        if self.setup.is_empty() {
            h.absent("setup quantities");
            return;
        }
        h.open_table("setup", None, &[Cell::head("quantity"), Cell::head("value"), Cell::head("note")]);
        for r in &self.setup {
            h.row(&[Cell::text(&r.name), Cell::num(&r.value), Cell::text(&r.note).class("note")]);
        }
        h.close_table();
    }

    fn provenance(&self, h: &mut Html) {
        let p = &self.provenance;
        let seed = p.seed.map(|s| s.to_string()).unwrap_or_else(|| "none".into());
        h.open_table("provenance", None, &[Cell::head("item"), Cell::head("value")]);
        for (k, v) in [("collop version", p.version.as_str()), ("seed", &seed), ("date", &p.date)] {
            h.row(&[Cell::text(k), Cell::text(v)]);
        }
        h.close_table();
        if !p.inputs.is_empty() {
            h.raw("<h3>Inputs</h3>\n<ul class=\"inputs\">\n");
            for i in &p.inputs {
                h.raw(&format!("<li><code>{}</code></li>\n", escape(i)));
            }
            h.raw("</ul>\n");
        }
        if !p.commands.is_empty() {
            h.raw("<h3>To reproduce</h3>\n");
            // One block, so that it copies as one script.
            h.code(&p.commands.join("\n"));
        }
    }
}

/// A `{:.3e}`-style number with a sign only when negative, e.g. `1.234e-4`.
fn sci(x: f64) -> String {
    format!("{x:.3e}")
}

fn rollout_table(h: &mut Html, t: &RolloutTable) -> Result<(), ReportError> {
    if t.populations.is_empty() || t.rows.is_empty() {
        return Err(ReportError::Invalid(format!(
            "the rollout table has {} sub-populations and {} models; leave it out (None) rather than empty",
            t.populations.len(),
            t.rows.len()
        )));
    }
    if let Some(r) = t.rows.iter().find(|r| r.cells.len() != t.populations.len()) {
        return Err(ReportError::Invalid(format!(
            "rollout row of model '{}' has {} cells for {} sub-populations",
            r.model,
            r.cells.len(),
            t.populations.len()
        )));
    }
    let value = |o: &Outcome| match o {
        Outcome::Value(v) if v.is_finite() => Some(*v),
        _ => None,
    };
    // Lowest finite value per column; ties are all marked.
    let best: Vec<Option<f64>> = (0..t.populations.len())
        .map(|c| t.rows.iter().filter_map(|r| value(&r.cells[c])).reduce(f64::min))
        .collect();
    h.raw(&format!(
        "<p>Rows are models, columns sub-populations (trained on, or held out from training); \
         <strong>bold</strong> with {BEST_MARKER}: the lowest value of the column. A rollout that failed \
         shows why.</p>\n"
    ));
    let mut header = vec![Cell::head("model"), Cell::head("family")];
    header.extend(t.populations.iter().map(|p| {
        Cell::head_html(format!("{}<span class=\"role\">{}</span>", escape(&p.name), p.role.name()))
            .class(p.role.name())
    }));
    h.open_table("rollout", Some(&format!("{} ({})", t.metric, t.window)), &header);
    for r in &t.rows {
        let mut cells = vec![Cell::text(&r.model).class("model"), Cell::text(r.family.name())];
        for (c, o) in r.cells.iter().enumerate() {
            cells.push(match o {
                // Every number has a slot for the marker after it, so that the
                // numbers of a column line up whether marked or not.
                Outcome::Value(v) if v.is_finite() && best[c] == Some(*v) => Cell::html(format!(
                    "<strong>{}</strong><span class=\"mark\">{BEST_MARKER}</span>",
                    sci(*v)
                ))
                .class("num best")
                .data_value(*v)
                .title("lowest in this column"),
                Outcome::Value(v) if v.is_finite() => {
                    Cell::html(format!("{}<span class=\"mark\"></span>", sci(*v))).class("num").data_value(*v)
                }
                Outcome::Value(v) => Cell::text(&format!("non-finite error ({v})")).class("failed"),
                Outcome::Failed(msg) => Cell::text(msg).class("failed"),
            });
        }
        h.row(&cells);
    }
    h.close_table();
    Ok(())
}

fn figure_error(figure: &str) -> impl FnOnce(PlotError) -> ReportError + '_ {
    move |source| ReportError::Figure { figure: figure.to_string(), cause: source }
}

fn profiles(h: &mut Html, p: &ProfileFigure) -> Result<(), ReportError> {
    let title = if p.title.is_empty() { "A_∥, D_∥, D_⊥ of every model against |v|" } else { &p.title };
    let png = collop_plot::radial_profiles_png(&p.curves, title).map_err(figure_error("radial profiles"))?;
    h.figure(&png, &p.caption, "wide");
    Ok(())
}

fn snapshots(h: &mut Html, s: &SnapshotFigure) -> Result<(), ReportError> {
    let name = format!("snapshots of {} ({})", s.population, s.model);
    let rows: Vec<SnapshotRow<'_>> = s
        .frames
        .iter()
        .map(|f| SnapshotRow { time: f.time, pic: f.pic.view(), predicted: f.predicted.view() })
        .collect();
    let title = format!("{}: PIC and {}", s.population, s.model);
    let png = collop_plot::phase_space_rows_png(&s.grid, &rows, &title).map_err(figure_error(&name))?;
    h.raw(&format!("<h3>{} — {}</h3>\n", escape(&s.population), escape(&s.model)));
    h.figure(&png, &s.caption, "wide");
    Ok(())
}

fn error_figure(h: &mut Html, e: &ErrorFigure) -> Result<(), ReportError> {
    let name = format!("error against time on {}", e.population.name);
    let series: Vec<(&str, Vec<(f64, f64)>)> =
        e.series.iter().map(|s| (s.model.as_str(), s.points.clone())).collect();
    let title = format!("{} against time, {} ({})", e.metric, e.population.name, e.population.role.name());
    let png =
        collop_plot::error_vs_time_png(&series, &e.metric, e.log_y, &title).map_err(figure_error(&name))?;
    h.raw(&format!(
        "<h3>{} <span class=\"role-inline\">({})</span></h3>\n",
        escape(&e.population.name),
        e.population.role.name()
    ));
    h.figure(&png, &e.caption, "medium");
    Ok(())
}

fn agreement_table(h: &mut Html, a: &AgreementTable) -> Result<(), ReportError> {
    if a.shells.is_empty() {
        return Err(ReportError::Invalid(format!("agreement with {}: no |v| shells", a.theory)));
    }
    if let Some(r) = a.rows.iter().find(|r| r.deviation.len() != a.shells.len()) {
        return Err(ReportError::Invalid(format!(
            "agreement with {}: row of model '{}', {} has {} values for {} shells",
            a.theory,
            r.model,
            r.coefficient.name(),
            r.deviation.len(),
            a.shells.len()
        )));
    }
    h.raw(&format!("<h3>Against {}</h3>\n", escape(&a.theory)));
    h.paragraphs(&a.note, "");
    if a.rows.is_empty() {
        h.absent("models with drift and diffusion fields");
        return Ok(());
    }
    let mut header = vec![Cell::head("model"), Cell::head("coefficient")];
    header.extend(a.shells.iter().map(|(lo, hi)| Cell::head(&format!("{lo}–{hi}"))));
    h.raw("<p>Shells of |v| in v<sub>th</sub>; green: within 10 % of the theory, amber: within 30 %.</p>\n");
    let caption = format!("(model − theory) / |theory| against {}", a.theory);
    h.open_table("agreement", Some(&caption), &header);
    for (k, r) in a.rows.iter().enumerate() {
        let mut cells = vec![Cell::text(&r.model).class("model"), Cell::html(r.coefficient.html().into())];
        for d in &r.deviation {
            cells.push(match d {
                Some(d) if d.is_finite() => {
                    let grade = match d.abs() {
                        x if x < 0.1 => "good",
                        x if x < 0.3 => "fair",
                        _ => "poor",
                    };
                    // A true minus sign: as wide as the plus, so the column lines up.
                    let text = format!("{:+.1} %", 100.0 * d).replace('-', "−");
                    Cell::num(&text).class(grade).data_value(*d)
                }
                Some(d) => Cell::text(&format!("{d}")).class("failed"),
                None => Cell::text("–").class("na").title("no populated cell in this shell"),
            });
        }
        // A rule above the first row of each model groups its coefficients.
        let first = k == 0 || a.rows[k - 1].model != r.model;
        h.row_class(&cells, if first { "group" } else { "" });
    }
    h.close_table();
    Ok(())
}

fn amplitude_table(h: &mut Html, a: &AmplitudeTable) {
    h.raw(&format!("<h3>Amplitude against {}</h3>\n", escape(&a.reference)));
    h.paragraphs(&a.note, "");
    if a.rows.is_empty() {
        h.absent("amplitudes");
        return;
    }
    let header = [
        Cell::head("model"),
        Cell::head_html(format!("{} ratio", Coefficient::APar.html())),
        Cell::head_html(format!("{} ratio", Coefficient::DPar.html())),
        Cell::head_html(format!("{} ratio", Coefficient::DPerp.html())),
        Cell::head_html("C<sub>eff</sub> (v<sub>th</sub>³ ω<sub>p</sub>)".into()),
        Cell::head_html("N<sub>D</sub> C<sub>eff</sub>".into()),
    ];
    h.open_table("amplitude", Some(&format!("model / {} amplitude", a.reference)), &header);
    for r in &a.rows {
        let mut cells = vec![Cell::text(&r.model).class("model")];
        cells.extend(r.ratio.iter().map(|x| Cell::num(&format!("{x:.3}"))));
        cells.push(Cell::num(&sci(r.c_eff)));
        cells.push(Cell::num(&format!("{:.4}", r.nd_c_eff)));
        h.row(&cells);
    }
    h.close_table();
}

fn block(h: &mut Html, b: &Block) -> Result<(), ReportError> {
    match b {
        Block::Text(t) => h.paragraphs(t, ""),
        Block::Code(c) => h.code(c),
        Block::Table(t) => {
            if t.header.is_empty() {
                return Err(ReportError::Invalid(format!("table '{}' has no header", t.caption)));
            }
            if let Some((k, r)) = t.rows.iter().enumerate().find(|(_, r)| r.len() != t.header.len()) {
                return Err(ReportError::Invalid(format!(
                    "table '{}': row {} has {} cells for {} columns",
                    t.caption,
                    k + 1,
                    r.len(),
                    t.header.len()
                )));
            }
            let header: Vec<Cell> = t.header.iter().map(|c| Cell::head(c)).collect();
            let caption = (!t.caption.is_empty()).then_some(t.caption.as_str());
            h.open_table("extra", caption, &header);
            for r in &t.rows {
                let cells: Vec<Cell> = r.iter().map(|c| Cell::auto(c)).collect();
                h.row(&cells);
            }
            h.close_table();
        }
        Block::Image(i) => {
            html::png_size(&i.png)
                .ok_or_else(|| ReportError::Invalid(format!("image '{}' is not a PNG file", i.caption)))?;
            h.figure(&i.png, &i.caption, "medium");
        }
    }
    Ok(())
}
