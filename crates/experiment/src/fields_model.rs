//! Fixed-fields models: Fokker-Planck coefficient fields that are not
//! learned (theory, particle-track estimates), saved and rolled out like
//! any model.
//!
//! Layout of a fields-model directory (format 3):
//! - `fields.npz`: `A_x, A_y, D_xx, D_yy, D_xy`, each `(n_slots, nx, ny)` in
//!   physical units (`v_th omega_p`, `v_th^2 omega_p`; slot `s` is used at
//!   dump step `s`, the last one after), and
//!   `grid = [nx, ny, vx_min, vx_max, vy_min, vy_max]` (velocities in `v_th`);
//!   the same names as a trained run's `model.npz`;
//! - `run.json`: [`FieldsMeta`]: `kind = "fields"`, `format_version`, the
//!   collop version, and the source with its own record (theory parameters
//!   and amplitude, or the track files, lag and counts).
//!
//! Format 3 adds the source `theory-measured` (one slot per dump step from
//! a measured background); formats 2 (the same layout without it) and 1
//! (no `format_version`, arrays `a_x ... d_xy`) are still read, and records
//! of a newer format are refused.
//! Both files are written atomically (write then rename).

use std::path::{Path, PathBuf};

use collop_core::{FIELD_NAMES, FpFields, VelocityGrid};
use ndarray::{Array3, ArrayD, Axis, Ix3, IxDyn};
use serde::{Deserialize, Serialize};

use crate::error::{ExperimentError, Result};
use crate::params::OperatorParams;

/// The coefficient arrays.
pub const FIELDS_FILE: &str = "fields.npz";
/// The metadata.
pub const RUN_FILE: &str = "run.json";

/// Every file a fields-model directory may hold: the model, the standard
/// errors, counts and radial profiles of a track model, and the pictures
/// of `collop fields`.
const FIELDS_DIR_FILES: [&str; 7] =
    [FIELDS_FILE, RUN_FILE, "stderr.npz", "count.npz", "radial.csv", "fields.png", "radial.png"];

fn owned_by_fields_model(entry: &Path) -> bool {
    entry.file_name().and_then(|n| n.to_str()).is_some_and(|n| FIELDS_DIR_FILES.contains(&n))
}

fn holds_fields_model(dir: &Path) -> bool {
    FIELDS_DIR_FILES.iter().any(|f| dir.join(f).exists())
}

/// A fields-model directory (`collop theory`, `collop tracks`, `collop
/// fields`) for the overwrite rule of [`collop_io::OutputDir`]: it holds
/// a model when it holds any of the model's files, and `--overwrite`
/// removes only those.
pub const FIELDS_MODEL: collop_io::OutputKind = collop_io::OutputKind {
    name: "a fields model",
    holds: holds_fields_model,
    owns: Some(owned_by_fields_model),
    accepts: "replace it with `--overwrite`",
};
/// The format this version writes.
pub const FORMAT_VERSION: u32 = 3;
/// Array names of format 1.
const NAMES_V1: [&str; 5] = ["a_x", "a_y", "d_xx", "d_yy", "d_xy"];

/// The metadata of a fields model (`run.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldsMeta {
    /// Always `"fields"` (a trained run's `run.json` has none).
    pub kind: String,
    /// Format of the directory; absent (1) in directories of earlier versions.
    #[serde(default = "version_one")]
    pub format_version: u32,
    /// The collop version that wrote it.
    pub version: String,
    /// Units of the fields.
    #[serde(default = "units")]
    pub units: String,
    /// Where the fields come from.
    #[serde(flatten)]
    pub source: FieldsSource,
}

fn version_one() -> u32 {
    1
}

fn units() -> String {
    "A in v_th omega_p, D in v_th^2 omega_p, v in v_th".into()
}

/// The origin of a fields model, with its own record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum FieldsSource {
    /// Static (Debye) shielding theory.
    TheoryStatic(TheoryRecord),
    /// Dynamic (Lenard-Balescu) shielding theory.
    TheoryDynamic(TheoryRecord),
    /// Lenard-Balescu theory in the measured background of each dump (one
    /// slot per dump step; format 3).
    TheoryMeasured(Box<MeasuredRecord>),
    /// Drift and diffusion estimated from particle tracks.
    Tracks(Box<crate::tracks::TrackRecord>),
    /// The fields of a trained run under one condition (`collop fields`).
    Learned {
        /// The run directory.
        run: String,
        /// The conditioner values (config names and values; empty without conditioners).
        condition: Vec<(String, f64)>,
        /// Dump steps the time slots cover.
        steps: usize,
        /// Inputs outside the training range, if extrapolation was allowed.
        extrapolated: Vec<String>,
    },
    /// Fields given by the caller (library or Python), with a description.
    Given {
        /// What they are.
        description: String,
    },
}

impl FieldsSource {
    /// The source's name (`theory-static`, `theory-dynamic`, `theory-measured`, `tracks`, `learned`, `given`).
    pub fn name(&self) -> &'static str {
        match self {
            FieldsSource::TheoryStatic(_) => "theory-static",
            FieldsSource::TheoryDynamic(_) => "theory-dynamic",
            FieldsSource::TheoryMeasured(_) => "theory-measured",
            FieldsSource::Tracks(_) => "tracks",
            FieldsSource::Learned { .. } => "learned",
            FieldsSource::Given { .. } => "given",
        }
    }

    /// The theory record (with the static amplitude), for the static and
    /// dynamic theory sources.
    pub fn theory(&self) -> Option<&TheoryRecord> {
        match self {
            FieldsSource::TheoryStatic(t) | FieldsSource::TheoryDynamic(t) => Some(t),
            _ => None,
        }
    }
}

/// What a theory model was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TheoryRecord {
    /// The PIC parameters.
    pub parameters: TheoryParameters,
    /// Static-shielding amplitude `C` (`v_th^3 omega_p`).
    pub amplitude: f64,
    /// `C` with the grid's difference operators in the shielding.
    pub amplitude_grid_operators: f64,
    /// Fraction of the `k` integral outside the first Brillouin zone.
    pub outside_brillouin_zone: f64,
}

/// What a measured-background theory model was computed from: enough to
/// compute it again (the background dataset, the PIC parameters, the charge
/// ratio), and what each dump's background was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasuredRecord {
    /// The PIC parameters (`N_D`, cell size, shape order relative to the
    /// run's nominal `v_th`, the unit of the grid).
    pub parameters: TheoryParameters,
    /// Test-to-background macro-particle charge ratio `q_t / q_b`.
    pub charge_ratio: f64,
    /// The background dataset (its folder as given).
    pub background: String,
    /// Dump number of the background's first frame.
    pub first_dump: usize,
    /// Time between dumps, `1/omega_p`.
    pub dt: f64,
    /// One entry per time slot (dump step `s` uses the background at the start of the step).
    pub slots: Vec<MeasuredSlot>,
}

/// The background of one time slot of a measured-background theory model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasuredSlot {
    /// The background frame used (0 = first frame).
    pub frame: usize,
    /// Its time, `1/omega_p`.
    pub time: f64,
    /// Rms speed per component of the histogram, `sqrt((T_x + T_y) / 2)` (`v_th`).
    pub thermal_speed: f64,
    /// Rms speed per component of the fitted isotropic `f0` (`v_th`).
    pub fitted_thermal_speed: f64,
    /// The fit's penalty relative to the data's weight (cross-validated).
    pub relative_penalty: f64,
    /// The fit's effective number of parameters.
    pub effective_parameters: f64,
    /// Speed beyond which the fitted background is empty (`v_th`).
    pub support: f64,
}

/// PIC parameters of a theory model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TheoryParameters {
    /// Macro-particles per Debye area `n lambda_D^2`.
    pub particles_per_debye_area: f64,
    /// Cell size along x over the Debye length.
    pub dx_over_debye: f64,
    /// Cell size along y over the Debye length.
    pub dy_over_debye: f64,
    /// B-spline order of the particle shape.
    pub shape_order: usize,
    /// Thermal speed over c.
    pub vth_c: f64,
    /// Where they were read (deck, dataset, given).
    pub from: String,
}

/// A fixed-fields model: fields per time slot and their record.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldsModel {
    /// One set of fields per time slot, all on one grid.
    pub fields: Vec<FpFields>,
    /// The record.
    pub meta: FieldsMeta,
}

impl FieldsModel {
    /// A model of `fields` (at least one slot, one grid, finite, `D_xx, D_yy`
    /// not both negative...) from `source`, stamped with this version.
    pub fn new(fields: Vec<FpFields>, source: FieldsSource) -> Result<Self> {
        let first = fields
            .first()
            .ok_or_else(|| ExperimentError::Data("a fields model needs at least one time slot".into()))?;
        for (s, f) in fields.iter().enumerate() {
            if !f.grid.same_as(&first.grid) {
                return Err(ExperimentError::Data(format!(
                    "slot {s} is on grid {}, slot 0 on {}: every slot must share one grid",
                    f.grid, first.grid
                )));
            }
            f.validate().map_err(|e| ExperimentError::Data(format!("slot {s}: {e}")))?;
        }
        let meta = FieldsMeta {
            kind: "fields".into(),
            format_version: FORMAT_VERSION,
            version: env!("CARGO_PKG_VERSION").into(),
            units: units(),
            source,
        };
        Ok(Self { fields, meta })
    }

    /// The grid.
    pub fn grid(&self) -> VelocityGrid {
        self.fields[0].grid
    }

    /// The operator parameters (grid units, slots concatenated).
    pub fn params(&self) -> Result<OperatorParams> {
        OperatorParams::from_fields(&self.fields)
    }

    /// Whether `dir` holds a fields model (a `fields.npz`).
    ///
    /// For the overwrite rule, [`FIELDS_MODEL`] counts any of its files.
    pub fn is_fields_dir(dir: &Path) -> bool {
        dir.join(FIELDS_FILE).is_file()
    }

    /// Write into the model directory `out` after claiming it
    /// ([`collop_io::OutputDir::claim`] with [`FIELDS_MODEL`]: another
    /// writer, or a model already there without
    /// [`collop_io::Existing::Overwrite`], is refused).
    pub fn write_dir(&self, out: &Path, existing: collop_io::Existing) -> Result<()> {
        let mut dir = collop_io::OutputDir::claim(out, &FIELDS_MODEL, existing)?;
        self.save_into(&mut dir)
    }

    /// Write into the output directory `out`, claimed with
    /// [`FIELDS_MODEL`]: a model it held under `--overwrite` is removed
    /// first (see [`collop_io::OutputDir::clear_replaced`]).
    pub(crate) fn save_into(&self, out: &mut collop_io::OutputDir) -> Result<()> {
        out.clear_replaced()?;
        self.save(out.path())
    }

    /// Write `fields.npz` and `run.json` into `dir` (created if needed), a
    /// directory the caller owns (a command claims it with
    /// [`FIELDS_MODEL`], a comparison writes its own sub-directories).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| ExperimentError::file(dir, e))?;
        let g = self.grid();
        let mut arrays: Vec<(&str, ArrayD<f64>)> = Vec::new();
        for (k, name) in FIELD_NAMES.iter().enumerate() {
            let mut a = Array3::zeros((self.fields.len(), g.nx, g.ny));
            for (s, f) in self.fields.iter().enumerate() {
                a.index_axis_mut(Axis(0), s).assign(f.as_array()[k]);
            }
            arrays.push((name, a.into_dyn()));
        }
        arrays.push(("grid", grid_array(&g)));
        let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
            arrays.iter().map(|(n, a)| (*n, a.view())).collect();
        collop_io::write_npz(dir.join(FIELDS_FILE), &views)?;
        let text = serde_json::to_string_pretty(&self.meta)
            .map_err(|e| ExperimentError::artefact(dir.join(RUN_FILE), e.to_string()))?;
        collop_io::write_text(dir.join(RUN_FILE), &text)?;
        Ok(())
    }

    /// Read a fields model (format 2, or format 1).
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(FIELDS_FILE);
        if !path.is_file() {
            return Err(ExperimentError::artefact(
                dir,
                format!(
                    "no {FIELDS_FILE}; not a fields model (write one with `collop theory` or `collop tracks`)"
                ),
            ));
        }
        let bad = |m: String| ExperimentError::artefact(&path, m);
        let arrays = collop_io::read_npz(&path)
            .map_err(|e| bad(format!("unreadable (corrupt or not a numpy archive): {e}")))?;
        let get = |name: &str| arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a);
        let g = get("grid").ok_or_else(|| bad("array `grid` is missing".into()))?;
        let grid = read_grid(&g.iter().copied().collect::<Vec<_>>()).map_err(bad)?;
        let names: [&str; 5] = if get(FIELD_NAMES[0]).is_some() { FIELD_NAMES } else { NAMES_V1 };
        let mut comps = Vec::new();
        for name in names {
            let a = get(name)
                .ok_or_else(|| bad(format!("array `{name}` is missing")))?
                .clone()
                .into_dimensionality::<Ix3>()
                .map_err(|_| bad(format!("`{name}` must have 3 axes (slot, v_x, v_y)")))?;
            let (n, nx, ny) = a.dim();
            if (nx, ny) != grid.shape() || n == 0 {
                return Err(bad(format!(
                    "`{name}` has shape {:?}, the grid is {} x {}",
                    a.dim(),
                    grid.nx,
                    grid.ny
                )));
            }
            comps.push(a);
        }
        let n_slots = comps[0].dim().0;
        if comps.iter().any(|a| a.dim().0 != n_slots) {
            return Err(bad("the five arrays have different numbers of time slots".into()));
        }
        let mut fields = Vec::with_capacity(n_slots);
        for s in 0..n_slots {
            let mut f = FpFields::zeros(grid);
            for (dst, src) in f.as_array_mut().into_iter().zip(&comps) {
                dst.assign(&src.index_axis(Axis(0), s));
            }
            f.validate().map_err(|e| bad(format!("slot {s}: {e}")))?;
            fields.push(f);
        }
        let run = dir.join(RUN_FILE);
        let text = std::fs::read_to_string(&run).map_err(|e| ExperimentError::file(&run, e))?;
        crate::error::check_format_version(&run, &text, FORMAT_VERSION)?;
        let meta: FieldsMeta = serde_json::from_str(&text)
            .map_err(|e| ExperimentError::artefact(&run, format!("not a fields-model record: {e}")))?;
        if meta.kind != "fields" {
            return Err(ExperimentError::artefact(&run, "`kind` is not \"fields\""));
        }
        if meta.format_version > FORMAT_VERSION {
            return Err(ExperimentError::artefact(
                &run,
                format!(
                    "format version {} is newer than this collop reads ({FORMAT_VERSION}); update collop",
                    meta.format_version
                ),
            ));
        }
        Ok(Self { fields, meta })
    }
}

/// `[nx, ny, vx_min, vx_max, vy_min, vy_max]` of a grid, as stored in archives.
pub fn grid_array(g: &VelocityGrid) -> ArrayD<f64> {
    let v = vec![g.nx as f64, g.ny as f64, g.x_range[0], g.x_range[1], g.y_range[0], g.y_range[1]];
    ArrayD::from_shape_vec(IxDyn(&[6]), v).expect("6 values")
}

/// The grid of a stored `grid` array.
pub fn read_grid(v: &[f64]) -> std::result::Result<VelocityGrid, String> {
    if v.len() != 6 || v[0] < 1.0 || v[1] < 1.0 || v[0].fract() != 0.0 || v[1].fract() != 0.0 {
        return Err(format!("`grid` must be [nx, ny, vx_min, vx_max, vy_min, vy_max], found {v:?}"));
    }
    VelocityGrid::new(v[0] as usize, v[1] as usize, [v[2], v[3]], [v[4], v[5]])
        .map_err(|e| format!("invalid `grid`: {e}"))
}

/// A directory path made absolute when it exists (for records).
pub fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> (FpFields, FpFields) {
        let g = VelocityGrid::new(5, 4, [-2.0, 2.0], [-1.0, 3.0]).unwrap();
        (
            FpFields::from_fn(g, |x, y| [x, y, 1.0 + x * x, 2.0, 0.1 * x * y]),
            FpFields::from_fn(g, |x, y| [-x, y, 1.0, 2.0 + y * y, 0.0]),
        )
    }

    #[test]
    fn round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (f0, f1) = fields();
        let m = FieldsModel::new(vec![f0, f1], FieldsSource::Given { description: "test".into() }).unwrap();
        m.save(dir.path()).unwrap();
        let back = FieldsModel::load(dir.path()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.meta.format_version, FORMAT_VERSION);
        std::fs::write(dir.path().join(FIELDS_FILE), b"not an archive").unwrap();
        let e = FieldsModel::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("unreadable"), "{e}");
        let e = FieldsModel::load(&dir.path().join("none")).unwrap_err().to_string();
        assert!(e.contains("not a fields model"), "{e}");
    }

    /// A record of a newer format is refused as such, even when its fields
    /// changed (a source this version does not know).
    #[test]
    fn newer_formats_are_refused_before_their_fields_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let (f0, _) = fields();
        FieldsModel::new(vec![f0], FieldsSource::Given { description: "t".into() })
            .unwrap()
            .save(dir.path())
            .unwrap();
        let newer =
            r#"{"kind": "fields", "format_version": 9, "version": "9.0", "source": "theory-quantum"}"#;
        std::fs::write(dir.path().join(RUN_FILE), newer).unwrap();
        let e = FieldsModel::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("format version 9") && e.contains("update collop") && e.contains(RUN_FILE), "{e}");
    }

    /// A directory as format 1 wrote it (lower-case names, no format version) still loads.
    #[test]
    fn format_1_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (f0, _) = fields();
        let g = f0.grid;
        let mut arrays: Vec<(&str, ArrayD<f64>)> = Vec::new();
        for (k, name) in NAMES_V1.iter().enumerate() {
            arrays.push((name, f0.as_array()[k].clone().insert_axis(Axis(0)).into_dyn()));
        }
        arrays.push(("grid", grid_array(&g)));
        let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
            arrays.iter().map(|(n, a)| (*n, a.view())).collect();
        collop_io::write_npz(dir.path().join(FIELDS_FILE), &views).unwrap();
        let meta = r#"{"source": "theory-static", "parameters": {"particles_per_debye_area": 4.0, "dx_over_debye": 1.0,
            "dy_over_debye": 1.0, "shape_order": 1, "vth_c": 0.01, "from": "flags"}, "amplitude": 0.0223,
            "amplitude_grid_operators": 0.024, "outside_brillouin_zone": 0.0013,
            "units": "A in v_th omega_p, D in v_th^2 omega_p, v in v_th", "version": "0.1.0", "kind": "fields"}"#;
        std::fs::write(dir.path().join(RUN_FILE), meta).unwrap();
        let m = FieldsModel::load(dir.path()).unwrap();
        assert_eq!(m.meta.format_version, 1);
        assert_eq!(m.fields, vec![f0]);
        assert_eq!(m.meta.source.theory().unwrap().amplitude, 0.0223);
        assert_eq!(m.meta.source.name(), "theory-static");
    }
}
