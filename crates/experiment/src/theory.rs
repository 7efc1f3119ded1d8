//! Theory models: collision coefficients of a PIC plasma from its
//! parameters (static or dynamic shielding) as fixed-fields models, and the
//! time-dependent Lenard-Balescu model in the measured background of every
//! dump ([`measured_theory_model`]).
//!
//! The parameters come from a deck or a dataset's args.yaml
//! ([`PicInput::resolve`]), each overridable; [`theory_model`] builds the
//! fields on a grid with the record of what they were computed from.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use collop_core::{FpFields, Moments, PhaseSpaceSeries, VelocityGrid};
use collop_theory::{
    MeasuredBackground, MeasuredTable, PlasmaParams, RadialProfile, Shielding, ShieldingTable,
    StaticShielding, static_shielding_profiles,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{Context, ExperimentError, Result};
use crate::fields_model::{
    FIELDS_MODEL, FieldsModel, FieldsSource, MeasuredRecord, MeasuredSlot, TheoryParameters, TheoryRecord,
};

/// Which shielding the coefficients use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TheoryKind {
    /// Static (Debye) shielding: the Bessel-function shapes times the amplitude C.
    Static,
    /// Dynamic (Lenard-Balescu) shielding with the Maxwellian dielectric function.
    Dynamic,
}

impl TheoryKind {
    /// The model name (`theory-static`, `theory-dynamic`).
    pub fn name(self) -> &'static str {
        match self {
            TheoryKind::Static => "theory-static",
            TheoryKind::Dynamic => "theory-dynamic",
        }
    }
}

/// Where the PIC parameters of a theory model come from: a deck or a
/// dataset, with values given instead of (or in addition to) theirs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PicInput {
    /// A PIC deck (TOML) or a dataset folder (its args.yaml gives the PIC parameters).
    pub input: PathBuf,
    /// Take the velocity grid from this dataset (default: the input dataset,
    /// or the deck's phase-space window).
    pub grid_from: Option<PathBuf>,
    /// Macro-particles per cell of the mobile species.
    pub ppc: Option<f64>,
    /// Macro-particles per Debye area `n lambda_D^2` (overrides `ppc`).
    pub particles_per_debye_area: Option<f64>,
    /// Cell size along x in Debye lengths.
    pub dx_over_debye: Option<f64>,
    /// Cell size along y in Debye lengths (default: as along x).
    pub dy_over_debye: Option<f64>,
    /// B-spline order of the particle shape, 1 (linear) to 4.
    pub shape_order: Option<usize>,
    /// Thermal speed over c.
    pub vth_c: Option<f64>,
}

/// PIC parameters as found, each optional until resolved.
#[derive(Debug, Default)]
struct Found {
    ppc: Option<f64>,
    nd: Option<f64>,
    dx: Option<f64>,
    dy: Option<f64>,
    order: Option<usize>,
    vth_c: Option<f64>,
    grid: Option<VelocityGrid>,
    from: String,
}

fn is_deck(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e == "toml")
}

fn from_deck(path: &Path) -> Result<Found> {
    let deck = collop_pic::Deck::from_file(path)?;
    let d = deck.validate()?;
    let reference =
        deck.species.iter().find(|s| s.mobile).with_context(|| "the deck has no mobile species".into())?;
    let ps = &deck.phase_space;
    Ok(Found {
        ppc: Some(reference.ppc as f64),
        nd: Some(d.particles_per_debye_area),
        dx: Some(d.dx_over_debye),
        dy: Some(d.dy_over_debye),
        order: Some(deck.solver.shape_order),
        vth_c: Some(d.u_th),
        grid: Some(VelocityGrid::square(ps.bins, ps.v_max)?),
        from: format!("deck {}", path.display()),
    })
}

fn from_dataset(path: &Path) -> Result<Found> {
    let meta = collop_io::read_meta(path)?;
    let p = meta.pic_parameters(&path.join(collop_io::ARGS_FILE))?;
    let dx = p.dx_over_debye;
    Ok(Found {
        ppc: p.ppc.map(|v| v as f64),
        nd: p.particles_per_debye_area,
        dx,
        // Our PIC records dx only; dy follows from N_D = ppc / (dx dy).
        dy: p.dy_over_debye_or_derived().or(dx),
        order: p.shape_order,
        vth_c: p.vth_c,
        grid: Some(meta.grid),
        from: format!("dataset {}", path.display()),
    })
}

impl PicInput {
    /// Parameters read from `input` alone.
    pub fn new(input: impl Into<PathBuf>) -> Self {
        Self { input: input.into(), ..Self::default() }
    }

    /// Resolve the parameters: the input's, then the given values on top;
    /// the grid, and a description of where they came from.
    pub fn resolve(&self) -> Result<(PlasmaParams, VelocityGrid, String)> {
        resolve(self)
    }
}

fn resolve(a: &PicInput) -> Result<(PlasmaParams, VelocityGrid, String)> {
    let mut f = if is_deck(&a.input) { from_deck(&a.input)? } else { from_dataset(&a.input)? };
    if a.ppc.is_some() {
        f.ppc = a.ppc;
        f.nd = None; // derived again from ppc unless given
    }
    if let Some(x) = a.dx_over_debye {
        f.dx = Some(x);
        f.dy = Some(x);
        if a.ppc.is_none() && a.particles_per_debye_area.is_none() {
            f.nd = None;
        }
    }
    f.dy = a.dy_over_debye.or(f.dy);
    f.nd = a.particles_per_debye_area.or(f.nd);
    f.order = a.shape_order.or(f.order);
    f.vth_c = a.vth_c.or(f.vth_c);
    if let Some(g) = &a.grid_from {
        f.grid = Some(collop_io::read_meta(g)?.grid);
    }
    // Said for every caller: `collop theory` takes the value as a flag,
    // every other command (compare, fields) reads it from args.yaml.
    let missing = |what: &str, key: &str, flag: &str| {
        ExperimentError::Data(format!(
            "{}: no {what} in the input; add `{key}` to the dataset's args.yaml, or pass {flag} to `collop \
             theory` (the published reference data: ppc 4, dx_over_debye 1, shape_order 1, vth_c 0.01)",
            f.from
        ))
    };
    let dx = f.dx.ok_or_else(|| missing("cell size", "dx_over_debye", "--dx-over-debye"))?;
    let dy = f.dy.unwrap_or(dx);
    let order = f.order.ok_or_else(|| missing("shape order", "shape_order", "--shape-order"))?;
    let vth_c = f.vth_c.ok_or_else(|| missing("thermal speed", "vth_c", "--vth-c"))?;
    let params = match (f.nd, f.ppc) {
        (Some(nd), _) => PlasmaParams::new(nd, dx, dy, order, vth_c)?,
        (None, Some(ppc)) => PlasmaParams::from_ppc(ppc, dx, dy, order, vth_c)?,
        (None, None) => return Err(missing("particle count", "ppc", "--ppc or --particles-per-debye-area")),
    };
    let grid = f.grid.with_context(|| "no velocity grid: pass --grid-from DATASET".into())?;
    Ok((params, grid, f.from))
}

/// The static-shielding fields of amplitude `c` (`v_th^3 omega_p`, e.g. a
/// fitted one) on `grid`, as a fields model: the theory's shapes without
/// PIC parameters.
pub fn static_model(grid: &VelocityGrid, c: f64) -> Result<FieldsModel> {
    if !c.is_finite() {
        return Err(ExperimentError::Data(format!("amplitude C = {c}: must be a finite number")));
    }
    let fields = collop_theory::static_shielding_fields(grid, c)?;
    FieldsModel::new(vec![fields], FieldsSource::Given { description: format!("static shielding, C = {c}") })
}

/// The theory model of `kind` for the PIC parameters and grid of `input`,
/// written into the model directory `out`, and its report (see
/// [`theory_model`]). The input is resolved first, then the directory is
/// claimed ([`collop_io::OutputDir::claim`] with [`FIELDS_MODEL`]: another
/// writer, or a model already there without
/// [`collop_io::Existing::Overwrite`], is refused before any work).
pub fn write_theory_model(
    input: &PicInput,
    kind: TheoryKind,
    out: &Path,
    existing: collop_io::Existing,
) -> Result<(FieldsModel, String)> {
    let (params, grid, from) = input.resolve()?;
    let mut dir = collop_io::OutputDir::claim(out, &FIELDS_MODEL, existing)?;
    let (model, text) = theory_model(&params, &grid, kind, &from)?;
    model.save_into(&mut dir)?;
    Ok((model, text))
}

/// A theory model of `kind` on `grid` for `params` (read from `from`),
/// and a report of the amplitude and the profiles at `|v| = 0 .. 3`.
pub fn theory_model(
    params: &PlasmaParams,
    grid: &VelocityGrid,
    kind: TheoryKind,
    from: &str,
) -> Result<(FieldsModel, String)> {
    let stat = StaticShielding::new(params)?;
    let v_max = grid.corner_speed().max(3.0);
    let dynamic = ShieldingTable::new(params, Shielding::Dynamic, v_max)?;
    let fields = match kind {
        TheoryKind::Static => collop_theory::static_shielding_fields(grid, stat.amplitude)?,
        TheoryKind::Dynamic => dynamic.radial_fields(grid)?,
    };
    let record = TheoryRecord {
        parameters: theory_parameters(params, from),
        amplitude: stat.amplitude,
        amplitude_grid_operators: stat.amplitude_grid_operators,
        outside_brillouin_zone: stat.outside_brillouin_zone,
    };
    let source = match kind {
        TheoryKind::Static => FieldsSource::TheoryStatic(record),
        TheoryKind::Dynamic => FieldsSource::TheoryDynamic(record),
    };
    let model = FieldsModel::new(vec![fields], source)?;
    let mut text = String::new();
    writeln!(
        text,
        "parameters  N_D = n lambda_D^2 = {:.4}, dx/lambda_D = {}, dy/lambda_D = {}, shape order {}, v_th/c = {} ({from})",
        params.particles_per_debye_area,
        params.dx_over_debye,
        params.dy_over_debye,
        params.shape_order,
        params.vth_c
    )?;
    writeln!(
        text,
        "amplitude   C = {:.5} v_th^3 omega_p (point particles {:.5}; with the grid's difference operators {:.5})",
        stat.amplitude, stat.point_particle_amplitude, stat.amplitude_grid_operators
    )?;
    writeln!(
        text,
        "{:>5} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "|v|", "A_par st", "A_par dyn", "D_par st", "D_par dyn", "D_perp st", "D_perp dyn"
    )?;
    for v in [0.0, 1.0, 2.0, 3.0] {
        let s = static_shielding_profiles(stat.amplitude, v);
        let s_a = s.a_par + 0.0; // no "-0" at v = 0
        let d = dynamic.profiles(v)?;
        writeln!(
            text,
            "{v:>5.1} {:>12.4e} {:>12.4e} {:>12.4e} {:>12.4e} {:>12.4e} {:>12.4e}",
            s_a, d.a_par, s.d_par, d.d_par, s.d_perp, d.d_perp
        )?;
    }
    Ok((model, text))
}

fn theory_parameters(params: &PlasmaParams, from: &str) -> TheoryParameters {
    TheoryParameters {
        particles_per_debye_area: params.particles_per_debye_area,
        dx_over_debye: params.dx_over_debye,
        dy_over_debye: params.dy_over_debye,
        shape_order: params.shape_order,
        vth_c: params.vth_c,
        from: from.to_string(),
    }
}

/// Largest drift `|<v>|` (in the frame's own rms speed) and temperature
/// anisotropy `|T_x / T_y - 1|` of a background frame the isotropic theory accepts.
pub const MEASURED_ANISOTROPY_LIMIT: f64 = 0.2;

/// The Lenard-Balescu model of test particles in the measured background
/// `background` (the frames of the whole background species in `v_th` on
/// their grid; any normalisation) on the test particles' `grid`: one time
/// slot per dump step, slot `s` computed from frame `s`, the background at
/// the start of the step (one slot for a series of one frame). Each frame
/// is shell-averaged (`collop_core::shells`, [`RadialProfile::from_histogram`]),
/// fitted ([`MeasuredBackground::fit`]) and tabulated to the grid's corner
/// speed ([`MeasuredTable`], radial fields); the frames are independent
/// and run in parallel. `params` are the PIC parameters relative to the
/// run's nominal `v_th` (the grid's unit); the measured temperature enters
/// through the response `W` of each frame. `charge_ratio` is `q_t / q_b`.
///
/// Errors: a frame that is empty, drifts or is anisotropic beyond
/// [`MEASURED_ANISOTROPY_LIMIT`] (the theory is isotropic), hollow, or
/// whose profile the theory refuses; parameters out of range.
/// Why the frames of `background` (those that start a dump step) are no
/// isotropic background the measured-background theory can take, or
/// `None`: a frame that is empty, or drifts or is anisotropic beyond
/// [`MEASURED_ANISOTROPY_LIMIT`] (e.g. the Weibel-unstable background,
/// for which no collision theory exists).
pub fn anisotropic_background(background: &PhaseSpaceSeries, name: &str) -> Option<String> {
    let n_slots = background.len().saturating_sub(1).max(1);
    for (k, m) in background.moments().iter().take(n_slots).enumerate() {
        if m.density.is_nan() || m.density <= 0.0 {
            return Some(format!(
                "background {name}: frame {k} is empty; a background needs particles at every dump"
            ));
        }
        let vth = (0.5 * (m.temp_x + m.temp_y)).sqrt();
        let drift = m.mean_vx.hypot(m.mean_vy) / vth;
        let anisotropy = (m.temp_x / m.temp_y - 1.0).abs();
        if drift > MEASURED_ANISOTROPY_LIMIT || anisotropy > MEASURED_ANISOTROPY_LIMIT {
            return Some(format!(
                "background {name}: frame {k} drifts by {drift:.3} v_rms (<v> = ({:.3}, {:.3})) with T_x / T_y = \
                 {:.3}: too anisotropic for the isotropic measured-background theory (limit \
                 {MEASURED_ANISOTROPY_LIMIT}); use the whole species' histograms, not a drifting or heated sub-population",
                m.mean_vx,
                m.mean_vy,
                m.temp_x / m.temp_y
            ));
        }
    }
    None
}

pub fn measured_theory(
    background: &PhaseSpaceSeries,
    name: &str,
    params: &PlasmaParams,
    grid: &VelocityGrid,
    charge_ratio: f64,
    from: &str,
) -> Result<(FieldsModel, String)> {
    let n_slots = background.len().saturating_sub(1).max(1);
    let moments = background.moments();
    if let Some(why) = anisotropic_background(background, name) {
        return Err(ExperimentError::Data(why));
    }
    let v_max = grid.corner_speed();
    let slots: Vec<(FpFields, MeasuredSlot)> = (0..n_slots)
        .into_par_iter()
        .map(|k| -> Result<(FpFields, MeasuredSlot)> {
            let at = |e: collop_theory::TheoryError| {
                ExperimentError::Data(format!(
                    "background {name}, frame {k} (t = {}): {e}",
                    background.time(k)
                ))
            };
            let profile = RadialProfile::from_histogram(&background.grid, background.frame(k)).map_err(at)?;
            let fit = MeasuredBackground::fit(&profile).map_err(at)?;
            let table = MeasuredTable::new(params, &fit, charge_ratio, v_max).map_err(at)?;
            let fields = table.radial_fields(grid).map_err(at)?;
            let m: &Moments = &moments[k];
            let r = fit.report();
            let slot = MeasuredSlot {
                frame: k,
                time: background.time(k),
                thermal_speed: (0.5 * (m.temp_x + m.temp_y)).sqrt(),
                fitted_thermal_speed: fit.thermal_speed(),
                relative_penalty: r.relative_penalty,
                effective_parameters: r.effective_parameters,
                support: r.support,
            };
            Ok((fields, slot))
        })
        .collect::<Result<_>>()?;
    let (fields, slots): (Vec<FpFields>, Vec<MeasuredSlot>) = slots.into_iter().unzip();
    let mut text = String::new();
    writeln!(
        text,
        "parameters  N_D = n lambda_D^2 = {:.4}, dx/lambda_D = {}, dy/lambda_D = {}, shape order {}, q_t/q_b = {charge_ratio} ({from})",
        params.particles_per_debye_area, params.dx_over_debye, params.dy_over_debye, params.shape_order
    )?;
    writeln!(text, "background  {name}: {} slot(s), one per dump step", slots.len())?;
    writeln!(
        text,
        "{:>6} {:>10} {:>10} {:>10} {:>8} {:>8}",
        "frame", "t", "v_rms", "fit v_rms", "params", "support"
    )?;
    for s in &slots {
        writeln!(
            text,
            "{:>6} {:>10.3} {:>10.5} {:>10.5} {:>8.2} {:>8.3}",
            s.frame, s.time, s.thermal_speed, s.fitted_thermal_speed, s.effective_parameters, s.support
        )?;
    }
    let record = MeasuredRecord {
        parameters: theory_parameters(params, from),
        charge_ratio,
        background: name.to_string(),
        first_dump: background.first_dump,
        dt: background.dt,
        slots,
    };
    let model = FieldsModel::new(fields, FieldsSource::TheoryMeasured(Box::new(record)))?;
    Ok((model, text))
}

/// [`measured_theory`] for a background dataset, with the PIC parameters
/// and the test particles' grid resolved by `pic` (e.g.
/// `PicInput::new(&background.folder)` with `grid_from` the test
/// particles' dataset) and the charge ratio `q_t / q_b` (default 1: test and
/// background macro-particles of equal charge; the datasets do not record it).
pub fn measured_theory_model(
    background: &Dataset,
    pic: &PicInput,
    charge_ratio: Option<f64>,
) -> Result<(FieldsModel, String)> {
    let (params, grid, from) = pic.resolve()?;
    let name = background.folder.display().to_string();
    measured_theory(&background.series, &name, &params, &grid, charge_ratio.unwrap_or(1.0), &from)
}
