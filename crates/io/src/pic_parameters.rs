//! The PIC parameters a dataset's `args.yaml` records: the one place their
//! keys are spelled. collop-pic writes them with
//! [`DatasetMeta::with_pic_parameters`]; readers get them typed from
//! [`DatasetMeta::pic_parameters`], [`Dataset::pic_parameters`] or
//! [`read_pic_parameters`].
//!
//! The keys sit beside the reference implementation's keys (`dt`, `n_bins`,
//! `v_range`, ...), which they never touch, and are kept in
//! [`DatasetMeta::extra`], so a dataset round-trips unchanged whether or not
//! it is read through this type. Every parameter is optional: the reference
//! data and other PIC codes record none or some of them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dataset::{ARGS_FILE, Dataset, locate_dataset, read_meta_in};
use crate::{DatasetMeta, IoError, MetaValue};

/// The `args.yaml` keys of [`PicParameters`], in field order.
pub const PIC_PARAMETER_KEYS: [&str; 14] = [
    "ppc",
    "particles_per_debye_area",
    "dx_over_debye",
    "dy_over_debye",
    "shape_order",
    "vth_c",
    "solver",
    "pic_dt",
    "seed",
    "species",
    "method",
    "particles",
    "effective_sample_size",
    "charge_ratio",
];

/// Field solver of the PIC run (`solver: em` or `solver: es`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PicSolver {
    /// Electromagnetic (Yee), written `em`.
    #[serde(rename = "em")]
    Electromagnetic,
    /// Electrostatic (Poisson), written `es`.
    #[serde(rename = "es")]
    Electrostatic,
}

impl PicSolver {
    /// The value written in `args.yaml`.
    pub fn as_str(self) -> &'static str {
        match self {
            PicSolver::Electromagnetic => "em",
            PicSolver::Electrostatic => "es",
        }
    }

    /// The solver of an `args.yaml` value, if it names one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "em" => Some(PicSolver::Electromagnetic),
            "es" => Some(PicSolver::Electrostatic),
            _ => None,
        }
    }
}

/// The PIC parameters of one dataset (one sub-population of a PIC run), as
/// `args.yaml` records them; `None` where the dataset lacks the key.
///
/// Plasma and numerics: `ppc`, `particles_per_debye_area`,
/// `dx_over_debye`, `dy_over_debye`, `shape_order`, `vth_c`, `solver`,
/// `pic_dt`, `seed`, `species`. The sub-population's sample: `method`,
/// `particles`, `effective_sample_size`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PicParameters {
    /// Macro-particles per cell of the owning species (`ppc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppc: Option<u64>,
    /// Macro-particles per Debye area `N_D = n lambda_D^2` of the reference
    /// species (the first mobile one) (`particles_per_debye_area`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub particles_per_debye_area: Option<f64>,
    /// Cell size along x over the Debye length (`dx_over_debye`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dx_over_debye: Option<f64>,
    /// Cell size along y over the Debye length (`dy_over_debye`). collop
    /// pic records only `dx_over_debye`; see
    /// [`dy_over_debye_or_derived`](Self::dy_over_debye_or_derived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dy_over_debye: Option<f64>,
    /// B-spline order of the particle shape (`shape_order`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape_order: Option<usize>,
    /// Thermal spread of the owning species over `c` (`vth_c`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vth_c: Option<f64>,
    /// Field solver (`solver`: `em` or `es`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solver: Option<PicSolver>,
    /// PIC time step, `1/omega_p` (`pic_dt`; the time between dumps is `dt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pic_dt: Option<f64>,
    /// Random seed of the run (`seed`). YAML integers are signed 64-bit:
    /// seeds of 2^63 and above are stored as their two's-complement
    /// negative value and read back to the same seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Name of the owning species (`species`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub species: Option<String>,
    /// How the sub-population was made (`method`: `test_species`,
    /// `selection`, `reweighting`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Particles contributing to the histograms at `t = 0` (`particles`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub particles: Option<u64>,
    /// Effective sample size `(sum w)^2 / sum w^2` at `t = 0`
    /// (`effective_sample_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_sample_size: Option<f64>,
    /// The sub-population's macro-particle charge over the background's,
    /// `q_t / q_b` (`charge_ratio`): 1 for pieces of the background itself;
    /// recorded when known (e.g. given to `collop import` for a separate
    /// test species).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_ratio: Option<f64>,
}

/// Reads one key: `None` when absent or null, else the converted value or
/// an error naming the key.
fn key<T>(
    extra: &BTreeMap<String, MetaValue>,
    path: &Path,
    name: &str,
    expected: &str,
    convert: impl Fn(&MetaValue) -> Option<T>,
) -> Result<Option<T>, IoError> {
    match extra.get(name) {
        None | Some(MetaValue::Null) => Ok(None),
        Some(v) => convert(v).map(Some).ok_or_else(|| {
            IoError::bad_key(
                path,
                name,
                format!("must be {expected}, found {}; fix or remove it", v.describe()),
            )
        }),
    }
}

fn positive(v: &MetaValue) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite() && *x > 0.0)
}

fn non_negative(v: &MetaValue) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite() && *x >= 0.0)
}

fn count(v: &MetaValue) -> Option<u64> {
    v.as_i64().and_then(|i| u64::try_from(i).ok())
}

fn text(v: &MetaValue) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn int(u: u64) -> MetaValue {
    MetaValue::Int(i64::try_from(u).unwrap_or(i64::MAX))
}

impl PicParameters {
    /// The parameters among the keys of an `args.yaml` mapping (other keys
    /// are ignored); `path` names the file in errors.
    ///
    /// Errors: `IoError::BadKey` naming the key whose value has the wrong
    /// type or is out of range (`ppc` a positive integer; `shape_order`,
    /// `particles` non-negative integers; `seed` an integer;
    /// `particles_per_debye_area`, `dx_over_debye`, `dy_over_debye`,
    /// `vth_c`, `pic_dt`, `charge_ratio` finite numbers > 0; `effective_sample_size` a
    /// finite number >= 0; `solver` `em` or `es`; `species`, `method`
    /// strings).
    pub fn from_extras(extra: &BTreeMap<String, MetaValue>, path: &Path) -> Result<Self, IoError> {
        const POSITIVE: &str = "a finite number > 0";
        Ok(Self {
            ppc: key(extra, path, "ppc", "a positive integer (macro-particles per cell)", |v| {
                count(v).filter(|&n| n >= 1)
            })?,
            particles_per_debye_area: key(extra, path, "particles_per_debye_area", POSITIVE, positive)?,
            dx_over_debye: key(extra, path, "dx_over_debye", POSITIVE, positive)?,
            dy_over_debye: key(extra, path, "dy_over_debye", POSITIVE, positive)?,
            shape_order: key(extra, path, "shape_order", "a non-negative integer (B-spline order)", |v| {
                count(v).and_then(|n| usize::try_from(n).ok())
            })?,
            vth_c: key(extra, path, "vth_c", POSITIVE, positive)?,
            solver: key(extra, path, "solver", "\"em\" or \"es\"", |v| {
                v.as_str().and_then(PicSolver::parse)
            })?,
            pic_dt: key(extra, path, "pic_dt", POSITIVE, positive)?,
            // The writer stores seeds >= 2^63 as their two's complement.
            seed: key(extra, path, "seed", "an integer", |v| v.as_i64().map(|i| i as u64))?,
            species: key(extra, path, "species", "a string (species name)", text)?,
            method: key(extra, path, "method", "a string (how the sub-population was made)", text)?,
            particles: key(extra, path, "particles", "a non-negative integer", count)?,
            effective_sample_size: key(
                extra,
                path,
                "effective_sample_size",
                "a finite number >= 0",
                non_negative,
            )?,
            charge_ratio: key(extra, path, "charge_ratio", POSITIVE, positive)?,
        })
    }

    /// The keys and values written to `args.yaml`, for the parameters that
    /// are set (integers as YAML integers, reals as floats, the rest as
    /// strings).
    pub fn to_extras(&self) -> BTreeMap<String, MetaValue> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: Option<MetaValue>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        put("ppc", self.ppc.map(int));
        put("particles_per_debye_area", self.particles_per_debye_area.map(MetaValue::Float));
        put("dx_over_debye", self.dx_over_debye.map(MetaValue::Float));
        put("dy_over_debye", self.dy_over_debye.map(MetaValue::Float));
        put("shape_order", self.shape_order.map(|n| int(n as u64)));
        put("vth_c", self.vth_c.map(MetaValue::Float));
        put("solver", self.solver.map(|s| s.as_str().into()));
        put("pic_dt", self.pic_dt.map(MetaValue::Float));
        put("seed", self.seed.map(|s| MetaValue::Int(s as i64)));
        put("species", self.species.clone().map(MetaValue::Str));
        put("method", self.method.clone().map(MetaValue::Str));
        put("particles", self.particles.map(int));
        put("effective_sample_size", self.effective_sample_size.map(MetaValue::Float));
        put("charge_ratio", self.charge_ratio.map(MetaValue::Float));
        m
    }

    /// `dy / lambda_D`: the recorded `dy_over_debye`, else derived from
    /// `N_D = ppc lambda_D^2 / (dx dy)`, i.e. `dy / lambda_D = ppc / (N_D
    /// dx / lambda_D)` when `ppc`, `particles_per_debye_area` and
    /// `dx_over_debye` are known, else `dx_over_debye` (square cells).
    ///
    /// collop pic records `dx_over_debye` only. The derivation is exact
    /// when the owning species (whose `ppc` is recorded) is the reference
    /// species (the first mobile one, whose `N_D` and `lambda_D` are
    /// recorded), as in a plasma of one mobile species.
    pub fn dy_over_debye_or_derived(&self) -> Option<f64> {
        if self.dy_over_debye.is_some() {
            return self.dy_over_debye;
        }
        match (self.ppc, self.particles_per_debye_area, self.dx_over_debye) {
            (Some(p), Some(n), Some(dx)) if n > 0.0 && dx > 0.0 => Some(p as f64 / (n * dx)),
            _ => self.dx_over_debye,
        }
    }
}

impl DatasetMeta {
    /// The PIC parameters of this `args.yaml` (`args_path` names the file in
    /// errors); see [`PicParameters::from_extras`].
    pub fn pic_parameters(&self, args_path: &Path) -> Result<PicParameters, IoError> {
        PicParameters::from_extras(&self.extra, args_path)
    }

    /// With the PIC parameters that are set written into [`extra`](Self::extra)
    /// (replacing the same keys; other keys untouched).
    pub fn with_pic_parameters(mut self, parameters: &PicParameters) -> Self {
        self.extra.extend(parameters.to_extras());
        self
    }
}

impl Dataset {
    /// The PIC parameters of this dataset's `args.yaml`.
    pub fn pic_parameters(&self) -> Result<PicParameters, IoError> {
        self.meta.pic_parameters(&self.path.join(ARGS_FILE))
    }
}

/// The PIC parameters of the dataset at `path` (located as by
/// [`crate::locate_dataset`]).
pub fn read_pic_parameters(path: impl AsRef<Path>) -> Result<PicParameters, IoError> {
    let folder = locate_dataset(path)?;
    read_meta_in(&folder)?.pic_parameters(&folder.join(ARGS_FILE))
}
