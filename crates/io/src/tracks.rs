//! Particle-track files, `<run>/<sub-population>/tracks.npz`: the one owner
//! of the format. collop-pic writes them through [`write_tracks`]; readers
//! open them with [`TrackFile::open`], which validates the members and their
//! shapes, and stream them dump by dump with [`TrackFile::for_each_dump`].
//!
//! ## Layout
//!
//! A compressed `.npz` archive (numpy's `np.savez_compressed`), every member
//! float64 in C order, in this archive order:
//!
//! | member | shape | holds |
//! | --- | --- | --- |
//! | `ids` | `(particles,)` | particle ids, non-negative integers (exact up to 2^53) |
//! | `t` | `(dumps,)` | dump times, `1/omega_p`, finite |
//! | `v_th_c` | `(1,)` | optional: the owning species' thermal spread `v_th / c`, > 0 |
//! | `vx`, `vy`, `vz` | `(dumps, particles)` | momenta `u = gamma v` in units of the owning species' `v_th`; NaN where a particle was not recorded |
//! | `x`, `y` | `(dumps, particles)` | optional: positions, `c/omega_p` |
//! | `format_version` | `(1,)` | [`TRACK_FORMAT_VERSION`]; files written before this member existed have the same layout and read as version 1 |
//!
//! Members of other names are ignored. Integer element types are accepted
//! on reading and widened to `f64`.
//!
//! ## Memory
//!
//! [`TrackFile::open`] reads the headers and the small members (`ids`, `t`,
//! `v_th_c`, `format_version`); the `(dumps, particles)` arrays are only
//! decompressed while streaming, one dump (one row) at a time
//! ([`crate::for_each_npz_row`]), whatever the length of the run.
//! [`TrackFile::read_data`] reads everything, for small files and tests.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, ArrayD, ArrayViewD, Ix2};

use crate::npz_stream::{NpzMember, for_each_npz_row, npz_members, read_npz_array};
use crate::{IoError, write_npz};

/// File name of a sub-population's track file in a PIC run directory.
pub const TRACKS_FILE: &str = "tracks.npz";

/// The track-file layout this version of collop writes (and the newest it
/// reads). Files without a `format_version` member are version 1.
pub const TRACK_FORMAT_VERSION: u32 = 1;

/// Largest id stored exactly as float64 (2^53).
const MAX_EXACT_ID: u64 = 1 << 53;

/// What a track file is expected to hold, for error messages.
const EXPECTED: &str = "a track file holds ids (particles), t (dumps), vx, vy, vz (dumps x particles), \
                        optionally x, y and v_th_c; write it with collop_io::write_tracks (collop pic does)";

/// The members of a track file, in archive order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackMember {
    /// `ids`: particle ids, `(particles,)`.
    Ids,
    /// `t`: dump times, `(dumps,)`.
    T,
    /// `v_th_c`: thermal spread of the owning species over `c`, `(1,)`; optional.
    VThC,
    /// `vx`: momentum `u_x` in `v_th`, `(dumps, particles)`.
    Vx,
    /// `vy`: momentum `u_y` in `v_th`, `(dumps, particles)`.
    Vy,
    /// `vz`: momentum `u_z` in `v_th`, `(dumps, particles)`.
    Vz,
    /// `x`: position, `c/omega_p`, `(dumps, particles)`; optional.
    X,
    /// `y`: position, `c/omega_p`, `(dumps, particles)`; optional.
    Y,
    /// `format_version`, `(1,)`; absent in version-1 files written before it existed.
    FormatVersion,
}

impl TrackMember {
    /// Every member, in archive order.
    pub const ALL: [TrackMember; 9] = [
        TrackMember::Ids,
        TrackMember::T,
        TrackMember::VThC,
        TrackMember::Vx,
        TrackMember::Vy,
        TrackMember::Vz,
        TrackMember::X,
        TrackMember::Y,
        TrackMember::FormatVersion,
    ];

    /// The member's name in the archive.
    pub fn name(self) -> &'static str {
        match self {
            TrackMember::Ids => "ids",
            TrackMember::T => "t",
            TrackMember::VThC => "v_th_c",
            TrackMember::Vx => "vx",
            TrackMember::Vy => "vy",
            TrackMember::Vz => "vz",
            TrackMember::X => "x",
            TrackMember::Y => "y",
            TrackMember::FormatVersion => "format_version",
        }
    }

    /// The member of a name, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether every track file must hold it.
    pub fn is_required(self) -> bool {
        matches!(
            self,
            TrackMember::Ids | TrackMember::T | TrackMember::Vx | TrackMember::Vy | TrackMember::Vz
        )
    }

    /// Whether it is a `(dumps, particles)` array (streamed row by row).
    pub fn is_per_dump(self) -> bool {
        matches!(self, TrackMember::Vx | TrackMember::Vy | TrackMember::Vz | TrackMember::X | TrackMember::Y)
    }
}

/// The whole content of a track file, in memory: what [`write_tracks`]
/// writes and [`TrackFile::read_data`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackData {
    /// Particle ids, one per column of the `(dumps, particles)` arrays.
    pub ids: Vec<u64>,
    /// Dump times, `1/omega_p`, one per row.
    pub times: Vec<f64>,
    /// Momenta `u_x` in `v_th` of the owning species, `(dumps, particles)`.
    pub vx: Array2<f64>,
    /// Momenta `u_y` in `v_th`, `(dumps, particles)`.
    pub vy: Array2<f64>,
    /// Momenta `u_z` in `v_th`, `(dumps, particles)`.
    pub vz: Array2<f64>,
    /// Positions along x, `c/omega_p`, `(dumps, particles)`, when recorded.
    pub x: Option<Array2<f64>>,
    /// Positions along y, `c/omega_p`, `(dumps, particles)`, when recorded.
    pub y: Option<Array2<f64>>,
    /// The owning species' thermal spread over `c`, when known.
    pub v_th_c: Option<f64>,
}

impl TrackData {
    /// Number of dumps (rows).
    pub fn dumps(&self) -> usize {
        self.times.len()
    }

    /// Number of tracked particles (columns).
    pub fn particles(&self) -> usize {
        self.ids.len()
    }
}

fn bad_member(path: &Path, member: TrackMember, problem: impl Into<String>) -> IoError {
    IoError::BadMember { path: path.to_path_buf(), member: member.name().into(), problem: problem.into() }
}

/// Checks the shapes of the members present (`shape_of` gives `None` for an
/// absent member); returns `(dumps, particles)`.
fn check_shapes(
    path: &Path,
    shape_of: impl Fn(TrackMember) -> Option<Vec<usize>>,
) -> Result<(usize, usize), IoError> {
    for m in TrackMember::ALL {
        if m.is_required() && shape_of(m).is_none() {
            return Err(IoError::MissingMember {
                path: path.to_path_buf(),
                member: m.name().into(),
                expected: EXPECTED.into(),
            });
        }
    }
    let shape_error = |m: TrackMember, shape: Vec<usize>, expected: String| IoError::MemberShape {
        path: path.to_path_buf(),
        member: m.name().into(),
        shape,
        expected,
    };
    let one_dim = |m: TrackMember, what: &str| -> Result<usize, IoError> {
        let shape = shape_of(m).unwrap_or_default();
        match shape.as_slice() {
            [n] => Ok(*n),
            _ => Err(shape_error(m, shape, format!("a 1D array ({what})"))),
        }
    };
    let dumps = one_dim(TrackMember::T, "one time per dump")?;
    let particles = one_dim(TrackMember::Ids, "one id per particle")?;
    for m in TrackMember::ALL {
        let Some(shape) = shape_of(m) else { continue };
        if m.is_per_dump() && shape != [dumps, particles] {
            return Err(shape_error(
                m,
                shape,
                format!("(dumps, particles) = ({dumps}, {particles}) from the lengths of `t` and `ids`"),
            ));
        }
        if matches!(m, TrackMember::VThC | TrackMember::FormatVersion)
            && shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) != Some(1)
        {
            return Err(shape_error(m, shape, "a single value, shape (1,)".into()));
        }
    }
    Ok((dumps, particles))
}

fn check_times(path: &Path, times: &[f64]) -> Result<(), IoError> {
    match times.iter().position(|t| !t.is_finite()) {
        Some(k) => Err(bad_member(
            path,
            TrackMember::T,
            format!("is {} at dump {k}; the dump times must be finite: regenerate the file", times[k]),
        )),
        None => Ok(()),
    }
}

fn check_v_th_c(path: &Path, v_th_c: f64) -> Result<(), IoError> {
    if v_th_c.is_finite() && v_th_c > 0.0 {
        Ok(())
    } else {
        Err(bad_member(
            path,
            TrackMember::VThC,
            format!("is {v_th_c}; it must be the owning species' thermal speed over c, finite and > 0"),
        ))
    }
}

/// Writes a track file (atomically), members in the order of the module
/// documentation plus `format_version` = [`TRACK_FORMAT_VERSION`].
///
/// Refuses, before writing anything, data that [`TrackFile::open`] would
/// refuse: shapes that do not fit (`IoError::MemberShape`), non-finite
/// times, a non-positive `v_th_c` and ids above 2^53, which float64 cannot
/// hold exactly (`IoError::BadMember`).
pub fn write_tracks(path: impl AsRef<Path>, data: &TrackData) -> Result<(), IoError> {
    let path = path.as_ref();
    check_shapes(path, |m| match m {
        TrackMember::Ids => Some(vec![data.ids.len()]),
        TrackMember::T => Some(vec![data.times.len()]),
        TrackMember::VThC => data.v_th_c.map(|_| vec![1]),
        TrackMember::Vx => Some(data.vx.shape().to_vec()),
        TrackMember::Vy => Some(data.vy.shape().to_vec()),
        TrackMember::Vz => Some(data.vz.shape().to_vec()),
        TrackMember::X => data.x.as_ref().map(|a| a.shape().to_vec()),
        TrackMember::Y => data.y.as_ref().map(|a| a.shape().to_vec()),
        TrackMember::FormatVersion => Some(vec![1]),
    })?;
    check_times(path, &data.times)?;
    if let Some(v) = data.v_th_c {
        check_v_th_c(path, v)?;
    }
    if let Some(k) = data.ids.iter().position(|&id| id > MAX_EXACT_ID) {
        return Err(bad_member(
            path,
            TrackMember::Ids,
            format!(
                "holds {} at particle {k}; ids above 2^53 are not exact in float64: renumber",
                data.ids[k]
            ),
        ));
    }
    let ids: ArrayD<f64> = Array1::from_iter(data.ids.iter().map(|&id| id as f64)).into_dyn();
    let times = ArrayViewD::from_shape(vec![data.times.len()], &data.times[..])
        .map_err(|e| bad_member(path, TrackMember::T, format!("cannot be viewed as an array ({e})")))?;
    let v_th_c = data.v_th_c.map(|v| Array1::from_vec(vec![v]).into_dyn());
    let version = Array1::from_vec(vec![f64::from(TRACK_FORMAT_VERSION)]).into_dyn();
    let mut members: Vec<(&str, ArrayViewD<'_, f64>)> =
        vec![(TrackMember::Ids.name(), ids.view()), (TrackMember::T.name(), times)];
    if let Some(v) = &v_th_c {
        members.push((TrackMember::VThC.name(), v.view()));
    }
    for (m, a) in [
        (TrackMember::Vx, Some(&data.vx)),
        (TrackMember::Vy, Some(&data.vy)),
        (TrackMember::Vz, Some(&data.vz)),
        (TrackMember::X, data.x.as_ref()),
        (TrackMember::Y, data.y.as_ref()),
    ] {
        if let Some(a) = a {
            members.push((m.name(), a.view().into_dyn()));
        }
    }
    members.push((TrackMember::FormatVersion.name(), version.view()));
    write_npz(path, &members)
}

/// The rows of one dump handed to [`TrackFile::for_each_dump`]; the caller
/// may change them in place (e.g. to convert units).
#[derive(Debug)]
pub struct DumpRows<'a> {
    /// Dump index `k` (row of the arrays), from 0.
    pub dump: usize,
    /// Its time, `t[k]`.
    pub time: f64,
    /// `vx[k, :]`, one value per particle.
    pub vx: &'a mut [f64],
    /// `vy[k, :]`, one value per particle.
    pub vy: &'a mut [f64],
}

/// An opened, validated track file: its shape, times, ids and `v_th_c`;
/// the `(dumps, particles)` arrays stay on disk until streamed.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackFile {
    path: PathBuf,
    format_version: u32,
    ids: Vec<u64>,
    times: Vec<f64>,
    v_th_c: Option<f64>,
    members: Vec<TrackMember>,
}

/// One value of a single-value member.
fn single_value(path: &Path, member: TrackMember) -> Result<f64, IoError> {
    let a = read_npz_array(path, member.name())?;
    a.iter().next().copied().ok_or_else(|| bad_member(path, member, "is empty; it must hold one value"))
}

impl TrackFile {
    /// Opens and validates the track file at `path`, reading its headers
    /// and small members only.
    ///
    /// Errors: `IoError::MissingMember` (no `ids`, `t`, `vx`, `vy` or
    /// `vz`), `IoError::MemberShape` (shapes that do not fit together),
    /// `IoError::BadMember` (non-finite times, non-positive `v_th_c`, ids
    /// that are not non-negative integers, a non-numeric element type, a
    /// `format_version` newer than [`TRACK_FORMAT_VERSION`]), and the
    /// errors of reading the archive.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, IoError> {
        let path = path.as_ref();
        let listed = npz_members(path)?;
        let find = |m: TrackMember| -> Option<&NpzMember> { listed.iter().find(|x| x.name == m.name()) };
        let format_version = match find(TrackMember::FormatVersion) {
            None => 1,
            Some(_) => {
                let v = single_value(path, TrackMember::FormatVersion)?;
                if !(v.is_finite() && v.fract() == 0.0 && v >= 1.0) {
                    return Err(bad_member(
                        path,
                        TrackMember::FormatVersion,
                        format!("is {v}; it must be a positive integer: regenerate the file"),
                    ));
                }
                if v > f64::from(TRACK_FORMAT_VERSION) {
                    return Err(bad_member(
                        path,
                        TrackMember::FormatVersion,
                        format!(
                            "is {v}: the file was written by a newer collop (this one reads up to version \
                             {TRACK_FORMAT_VERSION}); upgrade collop to read it"
                        ),
                    ));
                }
                v as u32
            }
        };
        check_shapes(path, |m| find(m).map(|x| x.shape.clone()))?;
        let mut members = Vec::new();
        for m in TrackMember::ALL {
            let Some(x) = find(m) else { continue };
            let numeric = x.descr.len() >= 2 && matches!(x.descr.as_bytes()[1], b'f' | b'i' | b'u');
            if !numeric {
                return Err(bad_member(
                    path,
                    m,
                    format!("has element type {}; store real numbers (float64)", x.descr),
                ));
            }
            members.push(m);
        }
        let times: Vec<f64> = read_npz_array(path, TrackMember::T.name())?.iter().copied().collect();
        check_times(path, &times)?;
        let v_th_c = match find(TrackMember::VThC) {
            None => None,
            Some(_) => {
                let v = single_value(path, TrackMember::VThC)?;
                check_v_th_c(path, v)?;
                Some(v)
            }
        };
        let raw_ids = read_npz_array(path, TrackMember::Ids.name())?;
        let mut ids = Vec::with_capacity(raw_ids.len());
        for (k, &id) in raw_ids.iter().enumerate() {
            if !(id.is_finite() && id.fract() == 0.0 && id >= 0.0 && id <= MAX_EXACT_ID as f64) {
                return Err(bad_member(
                    path,
                    TrackMember::Ids,
                    format!("holds {id} at particle {k}; ids must be non-negative integers up to 2^53"),
                ));
            }
            ids.push(id as u64);
        }
        Ok(Self { path: path.to_path_buf(), format_version, ids, times, v_th_c, members })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Layout version: the `format_version` member, 1 when absent.
    pub fn format_version(&self) -> u32 {
        self.format_version
    }

    /// Number of dumps (rows of the `(dumps, particles)` arrays).
    pub fn dumps(&self) -> usize {
        self.times.len()
    }

    /// Number of tracked particles.
    pub fn particles(&self) -> usize {
        self.ids.len()
    }

    /// Dump times, `1/omega_p` (all finite).
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// Particle ids, one per column.
    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    /// The owning species' thermal spread over `c`, if the file records it
    /// (always `> 0`).
    pub fn v_th_c(&self) -> Option<f64> {
        self.v_th_c
    }

    /// Whether the file holds `member`.
    pub fn has(&self, member: TrackMember) -> bool {
        self.members.contains(&member)
    }

    /// Whether positions `x`, `y` were recorded.
    pub fn has_positions(&self) -> bool {
        self.has(TrackMember::X) && self.has(TrackMember::Y)
    }

    /// Calls `each` with the `vx` and `vy` rows of every dump in order,
    /// decompressing one dump at a time (memory: one row per array). Stops
    /// at the first error of `each` and returns it.
    pub fn for_each_dump<E: From<IoError>>(
        &self,
        mut each: impl FnMut(DumpRows<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.for_each_dump_of(&[TrackMember::Vx, TrackMember::Vy], |dump, time, rows| {
            let (vx, vy) = rows.split_at_mut(1);
            each(DumpRows { dump, time, vx: &mut vx[0], vy: &mut vy[0] })
        })
    }

    /// Calls `each(k, t[k], rows)` for every dump `k` in order, where
    /// `rows[m]` is row `k` of `members[m]` (any of the `(dumps,
    /// particles)` members: `vx`, `vy`, `vz`, `x`, `y`), streamed as in
    /// [`for_each_dump`](Self::for_each_dump).
    ///
    /// Errors: `IoError::MissingMember` for a member the file lacks,
    /// `IoError::BadMember` for one that is not per dump or for a file that
    /// changed on disk since it was opened.
    pub fn for_each_dump_of<E: From<IoError>>(
        &self,
        members: &[TrackMember],
        mut each: impl FnMut(usize, f64, &mut [Vec<f64>]) -> Result<(), E>,
    ) -> Result<(), E> {
        let path = self.path.as_path();
        for &m in members {
            if !m.is_per_dump() {
                return Err(bad_member(
                    path,
                    m,
                    "is not a (dumps, particles) array; stream vx, vy, vz, x or y (times are TrackFile::times)",
                )
                .into());
            }
            if !self.has(m) {
                return Err(IoError::MissingMember {
                    path: path.to_path_buf(),
                    member: m.name().into(),
                    expected: "the file does not record it; ask collop pic for it in the deck (x, y: \
                               track_positions = true)"
                        .into(),
                }
                .into());
            }
        }
        let names: Vec<&str> = members.iter().map(|m| m.name()).collect();
        let particles = self.particles();
        for_each_npz_row(path, &names, |k, rows| {
            let changed = |what: String| -> E {
                IoError::BadMember {
                    path: path.to_path_buf(),
                    member: names.first().copied().unwrap_or_default().into(),
                    problem: format!("{what}: the file changed since it was opened; open it again"),
                }
                .into()
            };
            let Some(&time) = self.times.get(k) else {
                return Err(changed(format!("has a row {k} beyond the {} dumps of `t`", self.dumps())));
            };
            if let Some(r) = rows.iter().find(|r| r.len() != particles) {
                return Err(changed(format!("row {k} holds {} values, not {particles}", r.len())));
            }
            each(k, time, rows)
        })
    }

    /// Reads the whole file into memory (small files, tests, conversions).
    pub fn read_data(&self) -> Result<TrackData, IoError> {
        let path = self.path.as_path();
        let read2 = |m: TrackMember| -> Result<Array2<f64>, IoError> {
            read_npz_array(path, m.name())?.into_dimensionality::<Ix2>().map_err(|e| {
                bad_member(
                    path,
                    m,
                    format!("is not two-dimensional ({e}); the file changed since it was opened"),
                )
            })
        };
        let optional = |m: TrackMember| self.has(m).then(|| read2(m)).transpose();
        Ok(TrackData {
            ids: self.ids.clone(),
            times: self.times.clone(),
            vx: read2(TrackMember::Vx)?,
            vy: read2(TrackMember::Vy)?,
            vz: read2(TrackMember::Vz)?,
            x: optional(TrackMember::X)?,
            y: optional(TrackMember::Y)?,
            v_th_c: self.v_th_c,
        })
    }
}
