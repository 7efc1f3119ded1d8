//! Reading dataset folders in the reference layout.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use collop_core::PhaseSpaceSeries;
use ndarray::{Array3, ArrayView2, Ix2};

use crate::npy::decode_npy_f64;
use crate::{DatasetMeta, IoError};

/// Name of the metadata file of a dataset folder.
pub const ARGS_FILE: &str = "args.yaml";

/// Sub-folder that holds the frames in the reference's run layout
/// (`<population>/f/`).
pub const FRAMES_SUBFOLDER: &str = "f";

/// File name of the frame of dump `dump`: six digits or more, `000042.npy`.
pub fn frame_file_name(dump: usize) -> String {
    format!("{dump:06}.npy")
}

/// The dump number of a frame file name, if `name` is one (`NNNNNN.npy`,
/// exactly as [`frame_file_name`] writes it).
pub fn parse_frame_file_name(name: &str) -> Option<usize> {
    let digits = name.strip_suffix(".npy")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let dump: usize = digits.parse().ok()?;
    (frame_file_name(dump) == name).then_some(dump)
}

/// A dataset read from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The folder holding `args.yaml` and the frames.
    pub path: PathBuf,
    /// Its metadata.
    pub meta: DatasetMeta,
    /// The frames from dump `i_start` on, in time order.
    pub series: PhaseSpaceSeries,
    /// What the stored frames were divided by: the sum of the first used frame
    /// (its particle count, for histograms of counts), or 1 if read without
    /// normalisation. `stored = norm * series.frames`.
    pub norm: f64,
}

impl Dataset {
    /// Path of the frame file of dump `dump` in this dataset's folder.
    pub fn frame_path(&self, dump: usize) -> PathBuf {
        self.path.join(frame_file_name(dump))
    }
}

/// Finds the folder holding `args.yaml`: `path` itself, its `f/` subfolder,
/// or, if `path` is the `args.yaml` file, its folder.
pub fn locate_dataset(path: impl AsRef<Path>) -> Result<PathBuf, IoError> {
    let path = path.as_ref();
    if path.is_file() && path.file_name().is_some_and(|n| n == ARGS_FILE) {
        return Ok(match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        });
    }
    if !path.is_dir() {
        return Err(IoError::MissingFolder { path: path.to_path_buf() });
    }
    if path.join(ARGS_FILE).is_file() {
        return Ok(path.to_path_buf());
    }
    let sub = path.join(FRAMES_SUBFOLDER);
    if sub.join(ARGS_FILE).is_file() {
        return Ok(sub);
    }
    Err(IoError::MissingArgs { path: path.to_path_buf() })
}

/// Reads the `args.yaml` of a dataset (located as by [`locate_dataset`]).
pub fn read_meta(path: impl AsRef<Path>) -> Result<DatasetMeta, IoError> {
    let folder = locate_dataset(path)?;
    read_meta_in(&folder)
}

pub(crate) fn read_meta_in(folder: &Path) -> Result<DatasetMeta, IoError> {
    let args = folder.join(ARGS_FILE);
    let text = fs::read_to_string(&args).map_err(|e| IoError::io(&args, "reading", e))?;
    DatasetMeta::from_yaml_str(&text, &args)
}

/// Every frame file of `folder` by dump number (other files are ignored).
pub(crate) fn list_frames(folder: &Path) -> Result<BTreeMap<usize, PathBuf>, IoError> {
    let entries = fs::read_dir(folder).map_err(|e| IoError::io(folder, "listing", e))?;
    let mut frames = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| IoError::io(folder, "listing", e))?;
        if let Some(dump) = entry.file_name().to_str().and_then(parse_frame_file_name) {
            frames.insert(dump, entry.path());
        }
    }
    Ok(frames)
}

/// The frame files a dataset uses: every dump from `i_start` up to `i_end`
/// (exclusive) or the last frame, with no gap.
fn used_frames(folder: &Path, meta: &DatasetMeta) -> Result<Vec<PathBuf>, IoError> {
    let all = list_frames(folder)?;
    let upper = meta.i_end.unwrap_or(usize::MAX);
    let used: Vec<(usize, PathBuf)> = all.range(meta.i_start..upper).map(|(&d, p)| (d, p.clone())).collect();
    let Some(&(last, _)) = used.last() else {
        let found = match (all.keys().next(), all.keys().next_back()) {
            (Some(a), Some(b)) => format!("found dumps {a}..={b} only"),
            _ => "found no NNNNNN.npy file".to_string(),
        };
        return Err(IoError::NoFrames { path: folder.to_path_buf(), i_start: meta.i_start, found });
    };
    for (k, (dump, _)) in used.iter().enumerate() {
        let expected = meta.i_start + k;
        if *dump != expected {
            return Err(IoError::MissingFrame { path: folder.to_path_buf(), dump: expected });
        }
    }
    if let Some(end) = meta.i_end
        && last + 1 < end
    {
        return Err(IoError::MissingFrame { path: folder.to_path_buf(), dump: last + 1 });
    }
    Ok(used.into_iter().map(|(_, p)| p).collect())
}

/// Checks that a frame is finite and non-negative; errors name `path` and the
/// first offending cell.
pub(crate) fn check_frame_values(path: &Path, frame: ArrayView2<'_, f64>) -> Result<(), IoError> {
    for ((i, j), &value) in frame.indexed_iter() {
        if !value.is_finite() {
            return Err(IoError::NonFinite { path: path.to_path_buf(), cell: (i, j), value });
        }
        if value < 0.0 {
            return Err(IoError::Negative { path: path.to_path_buf(), cell: (i, j), value });
        }
    }
    Ok(())
}

fn read_frames(meta: &DatasetMeta, files: &[PathBuf]) -> Result<Array3<f64>, IoError> {
    let (nx, ny) = meta.grid.shape();
    // Grown frame by frame, not reserved from `n_bins`: the memory taken is
    // what the frame files hold, whatever size args.yaml declares.
    let mut values: Vec<f64> = Vec::new();
    let mut first: Option<(&PathBuf, Vec<usize>)> = None;
    for file in files {
        let bytes = fs::read(file).map_err(|e| IoError::io(file, "reading", e))?;
        let array = decode_npy_f64(file, &bytes)?;
        let shape = array.shape().to_vec();
        if shape.len() != 2 {
            return Err(IoError::WrongNdim { path: file.clone(), shape });
        }
        match &first {
            None => {
                if shape != [nx, ny] {
                    return Err(IoError::GridMismatch { path: file.clone(), shape, n_bins: (nx, ny) });
                }
                first = Some((file, shape));
            }
            Some((first_file, first_shape)) => {
                if shape != *first_shape {
                    return Err(IoError::ShapeMismatch {
                        path: file.clone(),
                        shape,
                        first: (*first_file).clone(),
                        first_shape: first_shape.clone(),
                    });
                }
            }
        }
        let frame = array.into_dimensionality::<Ix2>().map_err(|e| IoError::Npy {
            path: file.clone(),
            reason: format!("unexpected array layout: {e}"),
        })?;
        check_frame_values(file, frame.view())?;
        values.extend(frame.iter());
    }
    Array3::from_shape_vec((files.len(), nx, ny), values).map_err(|e| IoError::Npy {
        path: files.first().cloned().unwrap_or_default(),
        reason: format!("unexpected frame layout: {e}"),
    })
}

fn read_with(path: &Path, normalise: bool) -> Result<Dataset, IoError> {
    let folder = locate_dataset(path)?;
    let meta = read_meta_in(&folder)?;
    let files = used_frames(&folder, &meta)?;
    let frames = read_frames(&meta, &files)?;
    let mut series = PhaseSpaceSeries::new(meta.grid, frames, meta.dt, meta.i_start, meta.t_start)
        .map_err(|cause| IoError::Core { path: folder.clone(), cause })?;
    let norm = if normalise {
        let sum: f64 = series.frame(0).sum();
        if !(sum > 0.0 && sum.is_finite()) {
            return Err(IoError::ZeroFirstFrame { path: files[0].clone(), sum });
        }
        let norm =
            series.normalise_to_first().map_err(|cause| IoError::Core { path: folder.clone(), cause })?;
        // Finite values divided by a tiny first-frame sum can overflow.
        if let Some(((k, i, j), v)) = series.frames.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(IoError::Core {
                path: files[k].clone(),
                cause: collop_core::CoreError::InvalidArgument(format!(
                    "cell ({i}, {j}) divided by the first used frame's sum {norm:e} is {v}: the first frame holds \
                     far less than this one; check `i_start` and the frames, or read without normalisation"
                )),
            });
        }
        norm
    } else {
        1.0
    };
    Ok(Dataset { path: folder, meta, series, norm })
}

/// Reads a dataset folder and normalises the frames so that the first used
/// frame (dump `i_start`) sums to one, the reference convention; the divisor
/// is kept in [`Dataset::norm`].
///
/// `path` is the folder holding `args.yaml` and the `NNNNNN.npy` frames, or a
/// parent holding them in `f/`. All frames from `i_start` are used, up to
/// `i_end` (exclusive) when it is given, else up to the last frame; frames
/// below `i_start` are ignored. Frames may be stored as float64, float32 or
/// integers, in either byte order and C or Fortran order.
pub fn read_dataset(path: impl AsRef<Path>) -> Result<Dataset, IoError> {
    read_with(path.as_ref(), true)
}

/// Like [`read_dataset`] but keeps the stored values (e.g. raw particle
/// counts); [`Dataset::norm`] is then 1.
pub fn read_dataset_raw(path: impl AsRef<Path>) -> Result<Dataset, IoError> {
    read_with(path.as_ref(), false)
}

/// The published example data (Carvalho et al. 2026, folder `carvalho2026`
/// holding `normal_-2_0` and `ring_normal_2_0.2`) for tests and benchmarks:
/// `$COLLOP_SHARED_DATA/carvalho2026` or `$COLLOP_SHARED_DATA` itself when
/// that variable is set, otherwise `shared/data/carvalho2026` beside the
/// repository, found from the calling crate's `CARGO_MANIFEST_DIR`
/// (`crates/<name>`). Prints a `skipping:` line and returns `None` when
/// absent, so that tests needing the data pass cleanly without it.
pub fn locate_reference_data(manifest_dir: &str) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("COLLOP_SHARED_DATA") {
        Some(root) => {
            let root = PathBuf::from(root);
            vec![root.join("carvalho2026"), root]
        }
        None => vec![Path::new(manifest_dir).join("../../../shared/data/carvalho2026")],
    };
    let found = candidates.iter().find(|c| c.join("normal_-2_0").is_dir()).cloned();
    if found.is_none() {
        eprintln!("skipping: reference data not found (looked in {candidates:?}; set COLLOP_SHARED_DATA)");
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_names_follow_the_six_digit_convention() {
        assert_eq!(frame_file_name(5), "000005.npy");
        assert_eq!(frame_file_name(1234567), "1234567.npy");
        assert_eq!(parse_frame_file_name("000005.npy"), Some(5));
        assert_eq!(parse_frame_file_name("1234567.npy"), Some(1234567));
        assert_eq!(parse_frame_file_name("00005.npy"), None);
        assert_eq!(parse_frame_file_name("0000005.npy"), None);
        assert_eq!(parse_frame_file_name("00000a.npy"), None);
        assert_eq!(parse_frame_file_name("000005.npz"), None);
        assert_eq!(parse_frame_file_name("args.yaml"), None);
    }
}
