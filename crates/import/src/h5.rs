//! A thin layer over the pure-Rust HDF5 reader (`hdf5-reader`): files
//! opened with ADIOS2 and truncation detected first, numbers of any stored
//! width widened to `f64` / `u64`, attributes of any string or numeric
//! shape, and every failure an [`ImportError`] naming the file.

use std::path::{Path, PathBuf};

use hdf5_reader::group::Group;
use hdf5_reader::{Attribute, Dataset, Datatype, Hdf5File, SliceInfo, SliceInfoElem};

use crate::ImportError;

/// The HDF5 format signature (at offset 0 for every file the PIC codes write).
const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// An open HDF5 file and its path (for messages).
pub struct H5 {
    path: PathBuf,
    file: Hdf5File,
}

/// Refuse ADIOS2 output by its name: a `.bp` / `.bp4` / `.bp5` file or directory.
pub fn refuse_adios2(path: &Path) -> Result<(), ImportError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if matches!(ext, "bp" | "bp4" | "bp5") {
        let stem = path.with_extension("");
        let stem = stem.display().to_string();
        return Err(ImportError::Adios2 {
            path: path.to_path_buf(),
            infile: path.display().to_string(),
            outfile: format!("{stem}.h5"),
        });
    }
    Ok(())
}

impl H5 {
    /// Opens `path`, refusing ADIOS2 output (by name, or by a missing HDF5
    /// signature on a file whose first bytes are not HDF5) and unreadable
    /// or truncated files with the fix.
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        refuse_adios2(path)?;
        if path.is_dir() {
            return Err(ImportError::input(
                path,
                "is a directory, not an HDF5 file; give the file (or, for openPMD, the directory holding the \
                 data_%T.h5 files with --format openpmd)",
            ));
        }
        let (found, head) = signature_at_known_offsets(path)
            .map_err(|e| ImportError::input(path, format!("cannot be read ({e}); check the path")))?;
        if !found {
            let text = String::from_utf8_lossy(&head).to_string();
            let hint = if text.contains("ADIOS") || head.is_empty() {
                String::new()
            } else {
                " (it may be ADIOS2 output)".into()
            };
            return Err(ImportError::input(
                path,
                format!(
                    "is not an HDF5 file: it does not start with the HDF5 signature{hint}; if it is ADIOS2 \
                     output convert it with `openpmd-pipe --infile {} --outfile out_%T.h5`, otherwise give the \
                     HDF5 file the PIC code wrote",
                    path.display()
                ),
            ));
        }
        let file = Hdf5File::open(path).map_err(|e| truncated(path, &e.to_string()))?;
        Ok(Self { path: path.to_path_buf(), file })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The group at `path` (`/` for the root).
    pub fn group(&self, path: &str) -> Result<Group, ImportError> {
        if path == "/" || path.is_empty() {
            return self.file.root_group().map_err(|e| truncated(&self.path, &e.to_string()));
        }
        self.file.group(path).map_err(|_| self.missing(path, "group"))
    }

    /// The dataset at `path`.
    pub fn dataset(&self, path: &str) -> Result<Dataset, ImportError> {
        self.file.dataset(path).map_err(|_| self.missing(path, "dataset"))
    }

    /// Whether a dataset exists at `path`.
    pub fn has_dataset(&self, path: &str) -> bool {
        self.file.dataset(path).is_ok()
    }

    /// Whether a group exists at `path`.
    pub fn has_group(&self, path: &str) -> bool {
        self.file.group(path).is_ok()
    }

    /// The names of the groups and datasets in the group at `path`.
    pub fn members(&self, path: &str) -> Result<(Vec<String>, Vec<String>), ImportError> {
        self.group(path)?.member_names().map_err(|e| truncated(&self.path, &e.to_string()))
    }

    /// The attributes of the group at `path`.
    pub fn group_attributes(&self, path: &str) -> Result<Vec<Attribute>, ImportError> {
        self.group(path)?.attributes().map_err(|e| truncated(&self.path, &e.to_string()))
    }

    fn missing(&self, path: &str, what: &str) -> ImportError {
        let parent = match path.trim_end_matches('/').rsplit_once('/') {
            Some((p, _)) if !p.is_empty() => p.to_string(),
            _ => "/".to_string(),
        };
        let listing = self
            .members(&parent)
            .map(|(g, d)| {
                let mut all: Vec<String> = g.into_iter().map(|n| format!("{n}/")).chain(d).collect();
                all.truncate(12);
                all.join(", ")
            })
            .unwrap_or_else(|_| "nothing readable".into());
        ImportError::input(
            &self.path,
            format!(
                "has no {what} `{path}` ({parent} holds: {listing}); check the species, iteration or record name"
            ),
        )
    }

    /// Converts a reader error on this file.
    pub fn error(&self, e: impl std::fmt::Display) -> ImportError {
        truncated(&self.path, &e.to_string())
    }
}

/// An HDF5 read failure: most often a truncated file.
fn truncated(path: &Path, detail: &str) -> ImportError {
    ImportError::input(
        path,
        format!(
            "cannot be read as HDF5 ({detail}); the file is damaged or truncated (an interrupted run or copy): \
             copy it again or leave this dump out with --dumps"
        ),
    )
}

/// Whether the HDF5 signature is where the format puts it (offset 0, or
/// after a user block: 512, 1024, 2048, ... bytes), and the file's first
/// bytes (for the message when it is not).
fn signature_at_known_offsets(path: &Path) -> std::io::Result<(bool, Vec<u8>)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut first = vec![0u8; 8.min(len as usize)];
    f.read_exact(&mut first)?;
    let mut offset = 0u64;
    while offset + 8 <= len {
        let mut head = [0u8; 8];
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(&mut head)?;
        if &head == SIGNATURE {
            return Ok((true, first));
        }
        offset = if offset == 0 { 512 } else { offset * 2 };
    }
    Ok((false, first))
}

/// The attribute `name` among `attrs`.
pub fn find<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attrs.iter().find(|a| a.name == name)
}

/// A numeric attribute as `f64` values (a scalar gives one value).
pub fn attr_f64s(attrs: &[Attribute], name: &str) -> Option<Vec<f64>> {
    let a = find(attrs, name)?;
    match &a.datatype {
        Datatype::FloatingPoint { size: 8, .. } => a.read_1d::<f64>().ok(),
        Datatype::FloatingPoint { size: 4, .. } => {
            a.read_1d::<f32>().ok().map(|v| v.into_iter().map(f64::from).collect())
        }
        Datatype::FixedPoint { size, signed, .. } => {
            let v: Option<Vec<f64>> = match (size, signed) {
                (1, true) => a.read_1d::<i8>().ok().map(|v| v.into_iter().map(f64::from).collect()),
                (1, false) => a.read_1d::<u8>().ok().map(|v| v.into_iter().map(f64::from).collect()),
                (2, true) => a.read_1d::<i16>().ok().map(|v| v.into_iter().map(f64::from).collect()),
                (2, false) => a.read_1d::<u16>().ok().map(|v| v.into_iter().map(f64::from).collect()),
                (4, true) => a.read_1d::<i32>().ok().map(|v| v.into_iter().map(f64::from).collect()),
                (4, false) => a.read_1d::<u32>().ok().map(|v| v.into_iter().map(f64::from).collect()),
                (8, true) => a.read_1d::<i64>().ok().map(|v| v.into_iter().map(|x| x as f64).collect()),
                (8, false) => a.read_1d::<u64>().ok().map(|v| v.into_iter().map(|x| x as f64).collect()),
                _ => None,
            };
            v
        }
        _ => None,
    }
}

/// A numeric attribute's first value.
pub fn attr_f64(attrs: &[Attribute], name: &str) -> Option<f64> {
    attr_f64s(attrs, name).and_then(|v| v.first().copied())
}

/// A string attribute (fixed or variable length, scalar or array) as its
/// strings, trimmed of padding.
pub fn attr_strings(attrs: &[Attribute], name: &str) -> Option<Vec<String>> {
    let a = find(attrs, name)?;
    let v = a.read_strings().ok().or_else(|| a.read_string().ok().map(|s| vec![s]))?;
    Some(
        v.into_iter().map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string()).collect(),
    )
}

/// A string attribute's first string.
pub fn attr_string(attrs: &[Attribute], name: &str) -> Option<String> {
    attr_strings(attrs, name).and_then(|v| v.into_iter().next())
}

/// Elements `[start, start + count)` of a 1-D numeric dataset as `f64`.
pub fn read_f64(h5: &H5, ds: &Dataset, start: u64, count: u64) -> Result<Vec<f64>, ImportError> {
    let sel = SliceInfo { selections: vec![SliceInfoElem::Slice { start, end: start + count, step: 1 }] };
    widen_f64(h5, ds, &sel)
}

/// A whole numeric dataset of any rank as `f64`, with its shape.
pub fn read_all_f64(h5: &H5, ds: &Dataset) -> Result<(Vec<usize>, Vec<f64>), ImportError> {
    let shape: Vec<usize> = ds.shape().iter().map(|&n| n as usize).collect();
    let sel = SliceInfo::all(shape.len());
    let v = widen_f64(h5, ds, &sel)?;
    Ok((shape, v))
}

/// Elements `[start, start + count)` of a 1-D integer dataset as `u64`
/// (particle ids; negative values refused).
pub fn read_u64(h5: &H5, ds: &Dataset, start: u64, count: u64) -> Result<Vec<u64>, ImportError> {
    let sel = SliceInfo { selections: vec![SliceInfoElem::Slice { start, end: start + count, step: 1 }] };
    let signed_ok = |v: Vec<i64>| -> Result<Vec<u64>, ImportError> {
        v.into_iter()
            .map(|x| {
                u64::try_from(x)
                    .map_err(|_| h5.error(format!("dataset `{}` holds the negative id {x}", ds.name())))
            })
            .collect()
    };
    match ds.dtype() {
        Datatype::FixedPoint { size: 8, signed: false, .. } => {
            Ok(flat(ds.read_slice::<u64>(&sel).map_err(|e| h5.error(e))?))
        }
        Datatype::FixedPoint { size: 8, signed: true, .. } => {
            signed_ok(flat(ds.read_slice::<i64>(&sel).map_err(|e| h5.error(e))?))
        }
        Datatype::FixedPoint { size: 4, signed: false, .. } => {
            Ok(flat(ds.read_slice::<u32>(&sel).map_err(|e| h5.error(e))?)
                .into_iter()
                .map(u64::from)
                .collect())
        }
        Datatype::FixedPoint { size: 4, signed: true, .. } => signed_ok(
            ds.read_slice::<i32>(&sel).map_err(|e| h5.error(e))?.into_iter().map(i64::from).collect(),
        ),
        Datatype::FloatingPoint { .. } => {
            // Some writers store ids as floats; exact below 2^53.
            let v = read_f64(h5, ds, start, count)?;
            v.into_iter()
                .map(|x| {
                    if x >= 0.0 && x.fract() == 0.0 && x < 9.007_199_254_740_992e15 {
                        Ok(x as u64)
                    } else {
                        Err(h5.error(format!(
                            "dataset `{}` holds the id {x}, not a non-negative integer",
                            ds.name()
                        )))
                    }
                })
                .collect()
        }
        other => {
            Err(h5.error(format!("dataset `{}` has the type {other:?}; ids must be integers", ds.name())))
        }
    }
}

/// The elements of an array in logical (C) order, without iterating over a
/// dynamic-rank array element by element (slow: most of an import's time).
fn flat<T: Clone>(a: ndarray::ArrayD<T>) -> Vec<T> {
    if a.is_standard_layout() {
        let (v, offset) = a.into_raw_vec_and_offset();
        if offset.unwrap_or(0) == 0 {
            return v;
        }
        // An offset view of a larger buffer: never made by a fresh read, kept for safety.
        return v[offset.unwrap_or(0)..].to_vec();
    }
    a.as_standard_layout().iter().cloned().collect()
}

fn widen_f64(h5: &H5, ds: &Dataset, sel: &SliceInfo) -> Result<Vec<f64>, ImportError> {
    macro_rules! read_as {
        ($t:ty) => {
            flat(ds.read_slice::<$t>(sel).map_err(|e| h5.error(e))?).into_iter().map(|x| x as f64).collect()
        };
    }
    Ok(match ds.dtype() {
        Datatype::FloatingPoint { size: 8, .. } => flat(ds.read_slice::<f64>(sel).map_err(|e| h5.error(e))?),
        Datatype::FloatingPoint { size: 4, .. } => read_as!(f32),
        Datatype::FixedPoint { size: 1, signed: true, .. } => read_as!(i8),
        Datatype::FixedPoint { size: 1, signed: false, .. } => read_as!(u8),
        Datatype::FixedPoint { size: 2, signed: true, .. } => read_as!(i16),
        Datatype::FixedPoint { size: 2, signed: false, .. } => read_as!(u16),
        Datatype::FixedPoint { size: 4, signed: true, .. } => read_as!(i32),
        Datatype::FixedPoint { size: 4, signed: false, .. } => read_as!(u32),
        Datatype::FixedPoint { size: 8, signed: true, .. } => read_as!(i64),
        Datatype::FixedPoint { size: 8, signed: false, .. } => read_as!(u64),
        other => {
            return Err(
                h5.error(format!("dataset `{}` has the type {other:?}; a number was expected", ds.name()))
            );
        }
    })
}

/// Rows `[start, start + count)` of a 2-D numeric dataset as `f64`, row-major.
pub fn read_rows_f64(h5: &H5, ds: &Dataset, start: u64, count: u64) -> Result<Vec<f64>, ImportError> {
    let sel = SliceInfo {
        selections: vec![
            SliceInfoElem::Slice { start, end: start + count, step: 1 },
            SliceInfoElem::Slice { start: 0, end: u64::MAX, step: 1 },
        ],
    };
    widen_f64(h5, ds, &sel)
}
