//! `args.yaml`: the metadata of a dataset folder, in the reference layout.

use std::collections::BTreeMap;
use std::path::Path;

use collop_core::{PhaseSpaceSeries, VelocityGrid};
use serde::{Deserialize, Serialize};
use yaml_rust2::parser::{MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Event, Yaml, YamlEmitter, YamlLoader};

use crate::IoError;

/// Keys of `args.yaml` that [`DatasetMeta`] interprets; every other key is
/// kept verbatim in [`DatasetMeta::extra`].
pub const KNOWN_KEYS: [&str; 7] = ["dt", "i_start", "i_end", "n_bins", "v_range", "v_range_c", "t_start"];

/// One value of `args.yaml` that collop does not interpret (a PIC parameter,
/// a label, ...), kept so that it round-trips on write.
///
/// Covers what YAML mappings written by Python hold: numbers, strings,
/// booleans, null, lists and nested mappings (whose keys are read as strings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetaValue {
    /// YAML `null` / `~`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A real number (written so that both YAML 1.1 and 1.2 readers see a float).
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence, e.g. a list of floats.
    List(Vec<MetaValue>),
    /// A nested mapping.
    Map(BTreeMap<String, MetaValue>),
}

impl MetaValue {
    /// A list of floats.
    pub fn floats(values: impl IntoIterator<Item = f64>) -> Self {
        MetaValue::List(values.into_iter().map(MetaValue::Float).collect())
    }

    /// The value as a real number (integers included).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::Int(i) => Some(i as f64),
            MetaValue::Float(x) => Some(x),
            _ => None,
        }
    }

    /// The value as an integer (floats with an integral value included).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            MetaValue::Int(i) => Some(i),
            MetaValue::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(x as i64),
            _ => None,
        }
    }

    /// The value as a string slice.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetaValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The value as a list of real numbers, if it is a list of numbers.
    pub fn as_f64_list(&self) -> Option<Vec<f64>> {
        match self {
            MetaValue::List(items) => items.iter().map(MetaValue::as_f64).collect(),
            _ => None,
        }
    }

    /// A short description of the value for error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            MetaValue::Null => "null".into(),
            MetaValue::Bool(b) => format!("the boolean {b}"),
            MetaValue::Int(i) => format!("the integer {i}"),
            MetaValue::Float(x) => format!("the number {x}"),
            MetaValue::Str(s) => format!("the string {s:?}"),
            MetaValue::List(items) => format!("a list of {} item(s)", items.len()),
            MetaValue::Map(m) => format!("a mapping of {} key(s)", m.len()),
        }
    }

    /// Whether two values are equal, numbers compared by value to a relative
    /// 1e-12 (so `1` equals `1.0`, and floats survive a text round trip).
    pub fn same_as(&self, other: &MetaValue) -> bool {
        match (self, other) {
            (MetaValue::List(a), MetaValue::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
            }
            (MetaValue::Map(a), MetaValue::Map(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|((ka, va), (kb, vb))| ka == kb && va.same_as(vb))
            }
            _ => match (self.as_f64(), other.as_f64()) {
                (Some(x), Some(y)) => {
                    x == y || (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
                }
                _ => self == other,
            },
        }
    }

    fn from_yaml(y: &Yaml) -> MetaValue {
        match y {
            Yaml::Real(s) => y.as_f64().map_or_else(|| MetaValue::Str(s.clone()), MetaValue::Float),
            Yaml::Integer(i) => MetaValue::Int(*i),
            Yaml::String(s) => MetaValue::Str(s.clone()),
            Yaml::Boolean(b) => MetaValue::Bool(*b),
            Yaml::Array(items) => MetaValue::List(items.iter().map(MetaValue::from_yaml).collect()),
            Yaml::Hash(h) => {
                MetaValue::Map(h.iter().map(|(k, v)| (yaml_key(k), MetaValue::from_yaml(v))).collect())
            }
            Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => MetaValue::Null,
        }
    }

    fn to_yaml(&self) -> Yaml {
        match self {
            MetaValue::Null => Yaml::Null,
            MetaValue::Bool(b) => Yaml::Boolean(*b),
            MetaValue::Int(i) => Yaml::Integer(*i),
            MetaValue::Float(x) => Yaml::Real(yaml_float(*x)),
            MetaValue::Str(s) => Yaml::String(s.clone()),
            MetaValue::List(items) => Yaml::Array(items.iter().map(MetaValue::to_yaml).collect()),
            MetaValue::Map(m) => {
                let mut h = Hash::new();
                for (k, v) in m {
                    h.insert(Yaml::String(k.clone()), v.to_yaml());
                }
                Yaml::Hash(h)
            }
        }
    }
}

impl std::fmt::Display for MetaValue {
    /// YAML flow style: `0.5`, `64`, `"[c]"`, `[-5.0, 5.0]`, `{a: 1}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaValue::Null => f.write_str("null"),
            MetaValue::Bool(b) => write!(f, "{b}"),
            MetaValue::Int(i) => write!(f, "{i}"),
            MetaValue::Float(x) => f.write_str(&yaml_float(*x)),
            MetaValue::Str(s) => write!(f, "{s:?}"),
            MetaValue::List(items) => {
                f.write_str("[")?;
                for (k, item) in items.iter().enumerate() {
                    if k > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            MetaValue::Map(m) => {
                f.write_str("{")?;
                for (k, (key, item)) in m.iter().enumerate() {
                    if k > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key}: {item}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl From<f64> for MetaValue {
    fn from(x: f64) -> Self {
        MetaValue::Float(x)
    }
}

impl From<i64> for MetaValue {
    fn from(i: i64) -> Self {
        MetaValue::Int(i)
    }
}

impl From<i32> for MetaValue {
    fn from(i: i32) -> Self {
        MetaValue::Int(i64::from(i))
    }
}

impl From<u32> for MetaValue {
    fn from(i: u32) -> Self {
        MetaValue::Int(i64::from(i))
    }
}

impl From<bool> for MetaValue {
    fn from(b: bool) -> Self {
        MetaValue::Bool(b)
    }
}

impl From<&str> for MetaValue {
    fn from(s: &str) -> Self {
        MetaValue::Str(s.to_string())
    }
}

impl From<String> for MetaValue {
    fn from(s: String) -> Self {
        MetaValue::Str(s)
    }
}

impl From<Vec<f64>> for MetaValue {
    fn from(v: Vec<f64>) -> Self {
        MetaValue::floats(v)
    }
}

/// A mapping key as a string (Python writes string keys; others are rare and
/// are kept by their text).
fn yaml_key(k: &Yaml) -> String {
    match k {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Null => "null".into(),
        other => format!("{other:?}"),
    }
}

/// Formats a float so that it reads back as the same `f64` and is a float to
/// YAML 1.1 readers too (PyYAML wants a `.` in the mantissa and a signed
/// exponent: `1.0e-07`, not `1e-7`).
pub(crate) fn yaml_float(x: f64) -> String {
    if x.is_nan() {
        return ".nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { ".inf".into() } else { "-.inf".into() };
    }
    // `{:?}` is the shortest text that parses back to the same f64.
    let s = format!("{x:?}");
    let (mantissa, exponent) = match s.split_once('e') {
        Some((m, e)) => (m.to_string(), Some(e.to_string())),
        None => (s, None),
    };
    let mantissa = if mantissa.contains('.') { mantissa } else { format!("{mantissa}.0") };
    match exponent {
        None => mantissa,
        Some(e) if e.starts_with('-') || e.starts_with('+') => format!("{mantissa}e{e}"),
        Some(e) => format!("{mantissa}e+{e}"),
    }
}

/// The metadata of a dataset folder: the interpreted keys of `args.yaml` plus
/// every other key, kept for the round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetMeta {
    /// Time between consecutive dumps, `1/omega_p` (`dt`).
    pub dt: f64,
    /// First dump used (`i_start`); frames with smaller numbers are ignored.
    pub i_start: usize,
    /// Exclusive upper dump number (`i_end`); `None` (written `-1`) means up
    /// to the last frame.
    pub i_end: Option<usize>,
    /// Time of dump `i_start`, `1/omega_p` (`t_start`; `i_start * dt` if
    /// absent from the file).
    pub t_start: f64,
    /// The velocity grid (`n_bins`, `v_range` in units of `v_th`).
    pub grid: VelocityGrid,
    /// `[x_min, x_max, y_min, y_max]` in units of `c` (`v_range_c`). Optional
    /// for collop, but the reference code needs it: write it whenever
    /// `v_th / c` is known.
    pub v_range_c: Option<[f64; 4]>,
    /// Every other key (labels, PIC parameters such as `ppc`, `vth_c`, ...).
    pub extra: BTreeMap<String, MetaValue>,
}

impl DatasetMeta {
    /// Metadata for frames on `grid`, `dt` apart, whose first used dump
    /// `i_start` is at time `t_start`; no `i_end`, no `v_range_c`, no extras.
    pub fn new(grid: VelocityGrid, dt: f64, i_start: usize, t_start: f64) -> Self {
        Self { dt, i_start, i_end: None, t_start, grid, v_range_c: None, extra: BTreeMap::new() }
    }

    /// Metadata matching a series (grid, `dt`, first dump, start time).
    pub fn for_series(series: &PhaseSpaceSeries) -> Self {
        Self::new(series.grid, series.dt, series.first_dump, series.t_start)
    }

    /// With the velocity window in units of `c`, `[x_min, x_max, y_min, y_max]`.
    pub fn with_v_range_c(mut self, v_range_c: [f64; 4]) -> Self {
        self.v_range_c = Some(v_range_c);
        self
    }

    /// With one more key, e.g. `.with_extra("ppc", 64)`.
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<MetaValue>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// Time of dump `dump`: `t_start + (dump - i_start) dt`.
    pub fn time(&self, dump: usize) -> f64 {
        self.t_start + (dump as f64 - self.i_start as f64) * self.dt
    }

    /// Parses the text of an `args.yaml`; `path` only names the file in errors.
    pub fn from_yaml_str(text: &str, path: &Path) -> Result<Self, IoError> {
        Self::from_mapping(parse_mapping(text, path)?, path)
    }

    /// The `args.yaml` text: a plain YAML mapping with sorted keys, the
    /// reference's key names, lists as YAML sequences. `i_end` is always
    /// written (`-1` for none), and `v_range_units: '[v_th]'` (and
    /// `v_range_c_units: '[c]'` with `v_range_c`) unless `extra` sets them, as
    /// the reference code reads them.
    pub fn to_yaml_string(&self) -> Result<String, String> {
        self.validate().map_err(|(key, problem)| format!("key `{key}` {problem}"))?;
        let mapping = self.to_mapping();
        let mut h = Hash::new();
        for (k, v) in &mapping {
            h.insert(Yaml::String(k.clone()), v.to_yaml());
        }
        let mut out = String::new();
        YamlEmitter::new(&mut out).dump(&Yaml::Hash(h)).map_err(|e| format!("emitting YAML failed: {e}"))?;
        let body = out.strip_prefix("---\n").unwrap_or(&out);
        Ok(format!("{body}\n"))
    }

    /// Checks the values a writer relies on; on failure, the offending key and
    /// what is wrong with it.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, problem: String| Err((key.to_string(), problem));
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return bad("dt", format!("is {}; it must be a finite time between dumps > 0", self.dt));
        }
        if !self.t_start.is_finite() {
            return bad("t_start", format!("is {}; it must be finite", self.t_start));
        }
        let g = self.grid;
        if let Err(e) = VelocityGrid::new(g.nx, g.ny, g.x_range, g.y_range) {
            return bad("v_range", format!("describes an invalid grid: {e}"));
        }
        if let Some(c) = self.v_range_c
            && (c.iter().any(|v| !v.is_finite()) || c[1] <= c[0] || c[3] <= c[2])
        {
            return bad("v_range_c", format!("is {c:?}; it must be finite with max > min on both axes"));
        }
        if i64::try_from(self.i_start).is_err() {
            return bad("i_start", format!("is {}; it is too large", self.i_start));
        }
        if let Some(e) = self.i_end
            && (e <= self.i_start || i64::try_from(e).is_err())
        {
            return bad("i_end", format!("is {e}; it must be > i_start = {}", self.i_start));
        }
        if let Some(key) = self.extra.keys().find(|k| KNOWN_KEYS.contains(&k.as_str())) {
            return bad(key, "is set in `extra`; set the field of DatasetMeta instead".into());
        }
        Ok(())
    }

    /// All keys as they are written to `args.yaml` (for metadata that passed
    /// [`validate`](Self::validate)).
    pub(crate) fn to_mapping(&self) -> BTreeMap<String, MetaValue> {
        let as_int = |u: usize| MetaValue::Int(i64::try_from(u).unwrap_or(i64::MAX));
        let mut m = self.extra.clone();
        m.insert("dt".into(), MetaValue::Float(self.dt));
        m.insert("i_start".into(), as_int(self.i_start));
        m.insert("i_end".into(), self.i_end.map_or(MetaValue::Int(-1), as_int));
        let g = self.grid;
        let n_bins =
            if g.nx == g.ny { as_int(g.nx) } else { MetaValue::List(vec![as_int(g.nx), as_int(g.ny)]) };
        m.insert("n_bins".into(), n_bins);
        m.insert(
            "v_range".into(),
            MetaValue::floats([g.x_range[0], g.x_range[1], g.y_range[0], g.y_range[1]]),
        );
        if let Some(c) = self.v_range_c {
            m.insert("v_range_c".into(), MetaValue::floats(c));
            m.entry("v_range_c_units".into()).or_insert_with(|| "[c]".into());
        }
        m.insert("t_start".into(), MetaValue::Float(self.t_start));
        m.entry("v_range_units".into()).or_insert_with(|| "[v_th]".into());
        m
    }

    /// Interprets a parsed `args.yaml` mapping.
    pub(crate) fn from_mapping(mut m: BTreeMap<String, MetaValue>, path: &Path) -> Result<Self, IoError> {
        let dt = number(path, "dt", m.remove("dt"), "time between dumps in 1/omega_p")?;
        if dt <= 0.0 {
            return Err(IoError::bad_key(path, "dt", format!("is {dt}; the time between dumps must be > 0")));
        }
        let i_start = count(path, "i_start", m.remove("i_start"), "first dump number to use")?;
        let i_end = match m.remove("i_end") {
            None | Some(MetaValue::Null) => None,
            Some(v) => match v.as_i64() {
                Some(-1) => None,
                Some(e) if e > i_start as i64 => Some(e as usize),
                Some(e) => {
                    return Err(IoError::bad_key(
                        path,
                        "i_end",
                        format!("is {e}; it must be -1 (all frames) or a dump number > i_start = {i_start}"),
                    ));
                }
                None => {
                    return Err(IoError::bad_key(
                        path,
                        "i_end",
                        format!("must be an integer (-1 for all frames), found {}", v.describe()),
                    ));
                }
            },
        };
        let (nx, ny) = n_bins(path, m.remove("n_bins"))?;
        let v_range = four(path, "v_range", m.remove("v_range"), "[x_min, x_max, y_min, y_max] in v_th")?;
        let grid = VelocityGrid::new(nx, ny, [v_range[0], v_range[1]], [v_range[2], v_range[3]])
            .map_err(|e| IoError::bad_key(path, "v_range", format!("gives an invalid grid ({e})")))?;
        let v_range_c = match m.remove("v_range_c") {
            None | Some(MetaValue::Null) => None,
            Some(v) => {
                let c = four(path, "v_range_c", Some(v), "[x_min, x_max, y_min, y_max] in c")?;
                if c[1] <= c[0] || c[3] <= c[2] {
                    return Err(IoError::bad_key(
                        path,
                        "v_range_c",
                        format!(
                            "is {c:?}; it must be [x_min, x_max, y_min, y_max] in c with max > min on both axes"
                        ),
                    ));
                }
                Some(c)
            }
        };
        let t_start = match m.remove("t_start") {
            None | Some(MetaValue::Null) => i_start as f64 * dt,
            v => number(path, "t_start", v, "time of dump i_start in 1/omega_p")?,
        };
        Ok(Self { dt, i_start, i_end, t_start, grid, v_range_c, extra: m })
    }
}

/// Counts the values a YAML text holds once its aliases are expanded,
/// without expanding them: the loader copies an anchored value at every
/// alias (`*name`), so aliases of aliases grow exponentially (a few hundred
/// bytes can hold billions of values).
#[derive(Default)]
struct ExpandedSize {
    /// Values so far, aliases counted as the values they stand for.
    values: u64,
    /// Values written out so far (aliases not counted).
    written: u64,
    /// Values of each anchored node, by anchor id.
    anchors: std::collections::HashMap<usize, u64>,
    /// Open collections: their anchor id and the count at their start.
    open: Vec<(usize, u64)>,
}

impl MarkedEventReceiver for ExpandedSize {
    fn on_event(&mut self, event: Event, _mark: Marker) {
        match event {
            Event::Scalar(_, _, anchor, _) => {
                self.values = self.values.saturating_add(1);
                self.written += 1;
                if anchor > 0 {
                    self.anchors.insert(anchor, 1);
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.open.push((anchor, self.values));
                self.values = self.values.saturating_add(1);
                self.written += 1;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, start)) = self.open.pop()
                    && anchor > 0
                {
                    self.anchors.insert(anchor, self.values - start);
                }
            }
            Event::Alias(id) => {
                self.values = self.values.saturating_add(self.anchors.get(&id).copied().unwrap_or(1));
            }
            _ => {}
        }
    }
}

/// Parses YAML text that must hold one mapping.
pub(crate) fn parse_mapping(text: &str, path: &Path) -> Result<BTreeMap<String, MetaValue>, IoError> {
    let yaml_error = |reason: String| IoError::Yaml { path: path.to_path_buf(), reason };
    // Aliases may repeat a value (PyYAML writes one for a list used twice),
    // but not multiply the values written out: refused before loading. A
    // syntax error stops the count where it stops the loader, which
    // reports it.
    let mut size = ExpandedSize::default();
    let _ = Parser::new_from_str(text).load(&mut size, true);
    if size.values > 2 * size.written + 1000 {
        return Err(yaml_error(format!(
            "its aliases (`*name`) expand to {} values from {} written out; write the values out instead of \
             repeating aliases of aliases",
            size.values, size.written
        )));
    }
    let docs = YamlLoader::load_from_str(text).map_err(|e| yaml_error(e.to_string()))?;
    let doc = match docs.as_slice() {
        [] => return Err(yaml_error("the file is empty".into())),
        [doc] => doc,
        more => {
            return Err(yaml_error(format!("the file holds {} YAML documents, expected one", more.len())));
        }
    };
    match MetaValue::from_yaml(doc) {
        MetaValue::Map(m) => Ok(m),
        other => Err(yaml_error(format!("expected a mapping of keys to values, found {}", other.describe()))),
    }
}

fn require(path: &Path, key: &str, value: Option<MetaValue>, hint: &str) -> Result<MetaValue, IoError> {
    value.ok_or_else(|| IoError::MissingKey { path: path.to_path_buf(), key: key.into(), hint: hint.into() })
}

fn number(path: &Path, key: &str, value: Option<MetaValue>, hint: &str) -> Result<f64, IoError> {
    let v = require(path, key, value, hint)?;
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        Some(x) => Err(IoError::bad_key(path, key, format!("is {x}; it must be finite ({hint})"))),
        None => {
            Err(IoError::bad_key(path, key, format!("must be a number ({hint}), found {}", v.describe())))
        }
    }
}

fn count(path: &Path, key: &str, value: Option<MetaValue>, hint: &str) -> Result<usize, IoError> {
    let v = require(path, key, value, hint)?;
    match v.as_i64() {
        Some(i) if i >= 0 => Ok(i as usize),
        _ => Err(IoError::bad_key(
            path,
            key,
            format!("must be a non-negative integer ({hint}), found {}", v.describe()),
        )),
    }
}

fn n_bins(path: &Path, value: Option<MetaValue>) -> Result<(usize, usize), IoError> {
    const HINT: &str = "bins per axis, an integer or a list [nx, ny]";
    let v = require(path, "n_bins", value, HINT)?;
    let positive = |x: &MetaValue| x.as_i64().filter(|&n| n >= 1).map(|n| n as usize);
    let shape = match &v {
        MetaValue::List(items) if items.len() == 2 => positive(&items[0]).zip(positive(&items[1])),
        MetaValue::List(_) => None,
        single => positive(single).map(|n| (n, n)),
    };
    shape.ok_or_else(|| {
        IoError::bad_key(
            path,
            "n_bins",
            format!("must be a positive integer or a list [nx, ny] of them, found {}", v.describe()),
        )
    })
}

fn four(path: &Path, key: &str, value: Option<MetaValue>, hint: &str) -> Result<[f64; 4], IoError> {
    let v = require(path, key, value, hint)?;
    match v.as_f64_list().as_deref() {
        Some(&[a, b, c, d]) if [a, b, c, d].iter().all(|x| x.is_finite()) => Ok([a, b, c, d]),
        _ => Err(IoError::bad_key(
            path,
            key,
            format!("must be a list of four finite numbers {hint}, found {}", v.describe()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: &str = "dt: 0.9978696
fdist_name: normal_-2_0
fps: 15
i_end: -1
i_start: 5
n_bins: 51
t_start: 4.989348
v_max: 5.0
v_range:
- -5.0
- 5.0
- -5.0
- 5.0
v_range_c:
- -0.05
- 0.05
- -0.05
- 0.05
v_range_c_units: '[c]'
v_range_units: '[v_th]'
";

    fn p() -> &'static Path {
        Path::new("data/args.yaml")
    }

    #[test]
    fn reads_the_reference_keys_and_keeps_the_others() {
        let m = DatasetMeta::from_yaml_str(REFERENCE, p()).unwrap();
        assert_eq!(m.dt, 0.9978696);
        assert_eq!(m.i_start, 5);
        assert_eq!(m.i_end, None);
        assert_eq!(m.t_start, 4.989348);
        assert_eq!(m.grid, VelocityGrid::square(51, 5.0).unwrap());
        assert_eq!(m.v_range_c, Some([-0.05, 0.05, -0.05, 0.05]));
        assert_eq!(m.extra["fps"], MetaValue::Int(15));
        assert_eq!(m.extra["fdist_name"].as_str(), Some("normal_-2_0"));
        assert_eq!(m.extra["v_range_units"].as_str(), Some("[v_th]"));
        assert!(!m.extra.contains_key("dt"));
    }

    #[test]
    fn yaml_round_trip_is_exact() {
        let m = DatasetMeta::from_yaml_str(REFERENCE, p()).unwrap();
        let text = m.to_yaml_string().unwrap();
        let back = DatasetMeta::from_yaml_str(&text, p()).unwrap();
        assert_eq!(back, m);
        // The reference's own text comes back key for key.
        let a = parse_mapping(REFERENCE, p()).unwrap();
        let b = parse_mapping(&text, p()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn written_yaml_is_plain_and_pyyaml_friendly() {
        let grid = VelocityGrid::new(4, 6, [-1.0, 1.0], [-3.0, 3.0]).unwrap();
        let m = DatasetMeta::new(grid, 1e-7, 0, 0.0)
            .with_extra("ppc", 64)
            .with_extra("vth_c", 0.01)
            .with_extra("shape_order", 1)
            .with_extra("dx_lambda_d", 1.0)
            .with_extra("big", 2.5e20)
            .with_extra("label", "1.5")
            .with_extra("flag", true);
        let text = m.to_yaml_string().unwrap();
        assert!(!text.starts_with("---"), "{text}");
        assert!(text.contains("dt: 1.0e-7\n"), "{text}");
        assert!(text.contains("big: 2.5e+20\n"), "{text}");
        assert!(text.contains("dx_lambda_d: 1.0\n"), "{text}");
        assert!(text.contains("ppc: 64\n"), "{text}");
        assert!(text.contains("i_end: -1\n"), "{text}");
        assert!(text.contains("label: \"1.5\"\n"), "{text}");
        assert!(text.contains("v_range_units: \"[v_th]\"\n"), "{text}");
        assert!(text.contains("n_bins:\n  - 4\n  - 6\n"), "{text}");
        assert!(text.contains("v_range:\n  - -1.0\n  - 1.0\n  - -3.0\n  - 3.0\n"), "{text}");
        let keys: Vec<&str> =
            text.lines().filter(|l| !l.starts_with(' ')).map(|l| l.split(':').next().unwrap()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "keys are sorted like PyYAML's safe_dump");
        let back = DatasetMeta::from_yaml_str(&text, p()).unwrap();
        assert_eq!(back.extra["label"], MetaValue::Str("1.5".into()));
        assert_eq!(back.extra["ppc"], MetaValue::Int(64));
        assert_eq!(back.extra["big"], MetaValue::Float(2.5e20));
        assert_eq!(back.dt, 1e-7);
    }

    #[test]
    fn floats_read_back_bit_for_bit() {
        for x in [0.1, 1.0 / 3.0, -5.0, 1e-300, 6.02214076e23, 4.989348, f64::MIN_POSITIVE, 123456789.0] {
            let s = yaml_float(x);
            assert!(s.contains('.'), "{s}");
            let y = Yaml::from_str(&s);
            assert_eq!(y.as_f64(), Some(x), "{s}");
        }
        assert_eq!(yaml_float(f64::INFINITY), ".inf");
        assert_eq!(yaml_float(f64::NEG_INFINITY), "-.inf");
        assert_eq!(yaml_float(f64::NAN), ".nan");
    }

    #[test]
    fn n_bins_as_a_list_and_missing_t_start() {
        let text = "dt: 2\ni_start: 3\nn_bins: [4, 5]\nv_range: [-1, 1, -2, 2]\n";
        let m = DatasetMeta::from_yaml_str(text, p()).unwrap();
        assert_eq!(m.grid.shape(), (4, 5));
        assert_eq!(m.grid.y_range, [-2.0, 2.0]);
        assert_eq!(m.dt, 2.0);
        assert_eq!(m.t_start, 6.0, "t_start defaults to i_start * dt");
        assert_eq!(m.time(5), 10.0);
        assert!(m.extra.is_empty());
    }

    #[test]
    fn extras_of_every_kind_round_trip() {
        let text = "dt: 1.0\ni_start: 0\nn_bins: 3\nv_range: [-1.0, 1.0, -1.0, 1.0]\n\
                    nothing: ~\nnested: {a: 1, b: [x, 2.5]}\nwords: [a, b]\n'7': seven\n";
        let m = DatasetMeta::from_yaml_str(text, p()).unwrap();
        assert_eq!(m.extra["nothing"], MetaValue::Null);
        assert_eq!(m.extra["words"], MetaValue::List(vec!["a".into(), "b".into()]));
        assert_eq!(m.extra["7"], MetaValue::Str("seven".into()));
        let MetaValue::Map(nested) = &m.extra["nested"] else { panic!("nested is a map") };
        assert_eq!(nested["b"], MetaValue::List(vec!["x".into(), 2.5.into()]));
        let back = DatasetMeta::from_yaml_str(&m.to_yaml_string().unwrap(), p()).unwrap();
        assert_eq!(back.extra, {
            let mut e = m.extra.clone();
            e.insert("v_range_units".into(), "[v_th]".into());
            e
        });
    }

    fn err_of(text: &str) -> IoError {
        DatasetMeta::from_yaml_str(text, p()).unwrap_err()
    }

    #[test]
    fn missing_and_mistyped_keys_are_named() {
        let base = "i_start: 0\nn_bins: 3\nv_range: [-1, 1, -1, 1]\n";
        let e = err_of(base);
        assert!(matches!(&e, IoError::MissingKey { key, .. } if key == "dt"), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("data/args.yaml") && msg.contains("`dt`") && msg.contains("add"), "{msg}");

        let e = err_of(&format!("dt: fast\n{base}"));
        assert!(matches!(&e, IoError::BadKey { key, .. } if key == "dt"), "{e:?}");
        assert!(e.to_string().contains("\"fast\""), "{e}");

        for (text, key) in [
            ("dt: 1\ni_start: -2\nn_bins: 3\nv_range: [-1, 1, -1, 1]\n", "i_start"),
            ("dt: 1\ni_start: 0.5\nn_bins: 3\nv_range: [-1, 1, -1, 1]\n", "i_start"),
            ("dt: 1\ni_start: 0\nn_bins: [3]\nv_range: [-1, 1, -1, 1]\n", "n_bins"),
            ("dt: 1\ni_start: 0\nn_bins: 0\nv_range: [-1, 1, -1, 1]\n", "n_bins"),
            ("dt: 1\ni_start: 0\nn_bins: 3\nv_range: [-1, 1, -1]\n", "v_range"),
            ("dt: 1\ni_start: 0\nn_bins: 3\nv_range: [1, -1, -1, 1]\n", "v_range"),
            ("dt: 1\ni_start: 0\nn_bins: 3\nv_range: [-1, 1, -1, .nan]\n", "v_range"),
            ("dt: 1\ni_start: 0\nn_bins: 3\nv_range: [-1, 1, -1, 1]\nv_range_c: x\n", "v_range_c"),
            ("dt: 1\ni_start: 4\ni_end: 4\nn_bins: 3\nv_range: [-1, 1, -1, 1]\n", "i_end"),
            ("dt: 1\ni_start: 0\ni_end: all\nn_bins: 3\nv_range: [-1, 1, -1, 1]\n", "i_end"),
            ("dt: 1\ni_start: 0\nn_bins: 3\nv_range: [-1, 1, -1, 1]\nt_start: .inf\n", "t_start"),
        ] {
            let e = err_of(text);
            assert!(matches!(&e, IoError::BadKey { key: k, .. } if k == key), "{text}: {e:?}");
            assert!(e.to_string().contains(&format!("`{key}`")), "{e}");
        }
        for (dt, shown) in [("0", "is 0"), ("-0.5", "is -0.5")] {
            let e = err_of(&format!("dt: {dt}\n{base}"));
            assert!(matches!(&e, IoError::BadKey { key, .. } if key == "dt"), "{e:?}");
            assert!(e.to_string().contains(shown) && e.to_string().contains("> 0"), "{e}");
        }
        let e = err_of(&format!("dt: 1\n{}", base.replace("n_bins: 3\n", "")));
        assert!(matches!(&e, IoError::MissingKey { key, .. } if key == "n_bins"), "{e:?}");
    }

    #[test]
    fn malformed_yaml_is_reported_with_its_position() {
        let e = err_of("dt: [1, 2\ni_start: 0\n");
        assert!(matches!(e, IoError::Yaml { .. }), "{e:?}");
        assert!(e.to_string().contains("data/args.yaml") && e.to_string().contains("line"), "{e}");
        let e = err_of("- just\n- a list\n");
        assert!(e.to_string().contains("expected a mapping"), "{e}");
        let e = err_of("");
        assert!(e.to_string().contains("empty"), "{e}");
    }

    #[test]
    fn validate_names_the_bad_field() {
        let grid = VelocityGrid::square(3, 1.0).unwrap();
        let bad_dt = DatasetMeta::new(grid, 0.0, 0, 0.0);
        assert_eq!(bad_dt.validate().unwrap_err().0, "dt");
        let reserved = DatasetMeta::new(grid, 1.0, 0, 0.0).with_extra("dt", 2.0);
        assert_eq!(reserved.validate().unwrap_err().0, "dt");
        assert!(reserved.to_yaml_string().unwrap_err().contains("`dt`"));
        let mut bad_end = DatasetMeta::new(grid, 1.0, 3, 0.0);
        bad_end.i_end = Some(2);
        assert_eq!(bad_end.validate().unwrap_err().0, "i_end");
        let bad_c = DatasetMeta::new(grid, 1.0, 0, 0.0).with_v_range_c([0.1, -0.1, -0.1, 0.1]);
        assert_eq!(bad_c.validate().unwrap_err().0, "v_range_c");
    }

    #[test]
    fn display_is_yaml_flow_style() {
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), MetaValue::Int(1));
        m.insert("b".to_string(), MetaValue::Null);
        let v = MetaValue::List(vec![0.5.into(), "[c]".into(), true.into(), MetaValue::Map(m)]);
        assert_eq!(v.to_string(), "[0.5, \"[c]\", true, {a: 1, b: null}]");
        assert_eq!(MetaValue::Float(1e-7).to_string(), "1.0e-7");
    }

    #[test]
    fn same_as_compares_numbers_by_value() {
        assert!(MetaValue::Int(1).same_as(&MetaValue::Float(1.0)));
        assert!(MetaValue::floats([0.1, 0.2]).same_as(&MetaValue::floats([0.1, 0.2 + 1e-17])));
        assert!(!MetaValue::Float(0.1).same_as(&MetaValue::Float(0.1000001)));
        assert!(!MetaValue::Str("1".into()).same_as(&MetaValue::Int(1)));
    }
}
