//! Writing dataset folders in the reference layout, all at once or one frame
//! at a time.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use ndarray::{ArrayView2, ArrayView3, Axis};

use crate::atomic::{is_temp_name, sync_folder, write_atomically};
use crate::dataset::{ARGS_FILE, check_frame_values, frame_file_name, list_frames};
use crate::meta::parse_mapping;
use crate::npy::write_npy;
use crate::{DatasetMeta, IoError, MetaValue};

/// What a [`DatasetWriter`] does with a folder that already holds a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Refuse if the folder holds `args.yaml` or any frame file (the
    /// default): never damage data by accident.
    #[default]
    New,
    /// Delete the folder's `args.yaml` and frame files first, then write.
    Overwrite,
    /// Continue a dataset with the same metadata: existing frames are kept,
    /// frames already on disk are skipped, new ones appended. Refuses if the
    /// folder's `args.yaml` differs from the metadata being written.
    Resume,
}

/// What [`DatasetWriter::write_frame`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOutcome {
    /// The frame was written.
    Written,
    /// A resumed dataset already had this dump on disk; it was left as it is.
    AlreadyPresent,
}

/// Writes a dataset folder frame by frame, for a simulation that produces
/// histograms as it runs.
///
/// [`create`](Self::create) makes the folder and its `args.yaml`;
/// [`write_frame`](Self::write_frame) adds `NNNNNN.npy` files, each written
/// atomically, so a writer killed at any moment leaves only complete files
/// (which [`WriteMode::Resume`] continues); [`finish`](Self::finish) checks the
/// dataset is complete.
///
/// Dumps from `i_start` on must come in order without gaps; dumps below
/// `i_start` (ignored by readers) may be written in any order.
#[derive(Debug)]
pub struct DatasetWriter {
    folder: PathBuf,
    meta: DatasetMeta,
    mode: WriteMode,
    next_dump: usize,
}

/// The first key at which two `args.yaml` mappings differ, described.
fn first_difference(
    theirs: &BTreeMap<String, MetaValue>,
    ours: &BTreeMap<String, MetaValue>,
) -> Option<String> {
    let keys: std::collections::BTreeSet<&String> = theirs.keys().chain(ours.keys()).collect();
    keys.into_iter().find_map(|k| match (theirs.get(k), ours.get(k)) {
        (Some(a), Some(b)) if a.same_as(b) => None,
        (Some(a), Some(b)) => Some(format!("key `{k}` is {a} there but {b} here")),
        (Some(_), None) => Some(format!("key `{k}` is there but not in the metadata being written")),
        (None, _) => Some(format!("key `{k}` is missing there")),
    })
}

/// What [`DatasetWriter::create`] will do to a folder, decided before it
/// changes anything.
struct Plan {
    /// Frame files (and `args.yaml`) to delete first.
    remove: Vec<PathBuf>,
    /// The `args.yaml` text to write, if any.
    args: Option<String>,
    /// The first dump not yet on disk.
    next_dump: usize,
}

impl Plan {
    fn of(folder: &Path, meta: &DatasetMeta, mode: WriteMode) -> Result<Self, IoError> {
        let args_path = folder.join(ARGS_FILE);
        meta.validate().map_err(|(key, problem)| IoError::bad_key(&args_path, &key, problem))?;
        let ours = meta.to_mapping();
        let yaml = meta
            .to_yaml_string()
            .map_err(|reason| IoError::io(&args_path, "writing", std::io::Error::other(reason)))?;
        let has_args = args_path.exists();
        let frames = if folder.is_dir() { list_frames(folder)? } else { BTreeMap::new() };
        let clobber = |reason: String| IoError::Clobber { path: folder.to_path_buf(), reason };

        let mut next_dump = meta.i_start;
        let mut remove = Vec::new();
        match mode {
            WriteMode::New => {
                if has_args || !frames.is_empty() {
                    return Err(clobber(format!(
                        "already holds a dataset ({}{} frame file(s)); write elsewhere, continue it (`collop pic \
                         --resume`) or replace it (`--overwrite`)",
                        if has_args { "args.yaml and " } else { "" },
                        frames.len()
                    )));
                }
            }
            WriteMode::Overwrite => {
                remove.extend(frames.values().cloned());
                if has_args {
                    remove.push(args_path.clone());
                }
            }
            WriteMode::Resume => {
                if has_args {
                    let text =
                        fs::read_to_string(&args_path).map_err(|e| IoError::io(&args_path, "reading", e))?;
                    let theirs = parse_mapping(&text, &args_path)?;
                    if let Some(diff) = first_difference(&theirs, &ours) {
                        return Err(IoError::Clobber {
                            path: args_path,
                            reason: format!(
                                "holds a different dataset ({diff}); resume only with the same \
                                 metadata, or write elsewhere, or replace it (`--overwrite`)"
                            ),
                        });
                    }
                } else if !frames.is_empty() {
                    return Err(clobber(format!(
                        "holds {} frame file(s) but no args.yaml, so nothing says they belong to \
                         this dataset; write elsewhere or replace them (`--overwrite`)",
                        frames.len()
                    )));
                }
                for (&dump, _) in frames.range(meta.i_start..) {
                    if dump != next_dump {
                        return Err(clobber(format!(
                            "the existing frames skip dump {next_dump} (next is {dump}), so they \
                             cannot be continued; remove the frames after the gap, or replace them \
                             (`--overwrite`)"
                        )));
                    }
                    next_dump += 1;
                }
            }
        }
        let args = (!(mode == WriteMode::Resume && has_args)).then_some(yaml);
        Ok(Self { remove, args, next_dump })
    }
}

impl DatasetWriter {
    /// Prepares `path` (created if needed) to receive the dataset described by
    /// `meta`: the folder that will hold `args.yaml` and the frames directly.
    /// To follow the reference's run layout, pass `<run>/<population>/f`.
    /// Everything [`check`](Self::check) refuses is refused before the
    /// folder is touched.
    pub fn create(path: impl AsRef<Path>, meta: &DatasetMeta, mode: WriteMode) -> Result<Self, IoError> {
        let folder = path.as_ref().to_path_buf();
        let plan = Plan::of(&folder, meta, mode)?;
        let args_path = folder.join(ARGS_FILE);
        fs::create_dir_all(&folder).map_err(|e| IoError::io(&folder, "creating the folder", e))?;
        if mode != WriteMode::New {
            remove_stale_temporaries(&folder)?;
        }
        for file in &plan.remove {
            fs::remove_file(file).map_err(|e| IoError::io(file, "removing", e))?;
        }
        if let Some(yaml) = plan.args {
            write_atomically(&args_path, |w| {
                use std::io::Write;
                w.write_all(yaml.as_bytes()).map_err(|e| IoError::io(&args_path, "writing", e))
            })?;
        }
        Ok(Self { folder, meta: meta.clone(), mode, next_dump: plan.next_dump })
    }

    /// Whether [`create`](Self::create) would accept `path` for `meta` in
    /// `mode`, without writing anything: a writer of several datasets
    /// checks them all before it creates the first.
    pub fn check(path: impl AsRef<Path>, meta: &DatasetMeta, mode: WriteMode) -> Result<(), IoError> {
        Plan::of(path.as_ref(), meta, mode).map(|_| ())
    }

    /// The folder being written.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The metadata written to `args.yaml`.
    pub fn meta(&self) -> &DatasetMeta {
        &self.meta
    }

    /// The dump number expected next (at least `i_start`); after a resume,
    /// the first dump not yet on disk.
    pub fn next_dump(&self) -> usize {
        self.next_dump
    }

    /// Number of frames from `i_start` on that are on disk.
    pub fn len(&self) -> usize {
        self.next_dump - self.meta.i_start
    }

    /// Whether no frame from `i_start` on is on disk yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the frame of dump `dump` (shape `n_bins`, axis 0 = `v_x`,
    /// finite and non-negative) as `NNNNNN.npy`, float64, C order,
    /// atomically. In [`WriteMode::Resume`], a dump already on disk is left as
    /// it is and [`FrameOutcome::AlreadyPresent`] returned.
    pub fn write_frame(&mut self, dump: usize, frame: ArrayView2<'_, f64>) -> Result<FrameOutcome, IoError> {
        let file = self.folder.join(frame_file_name(dump));
        let bad = |problem: String| IoError::BadDump { path: self.folder.clone(), dump, problem };
        if let Some(end) = self.meta.i_end
            && dump >= end
        {
            return Err(bad(format!(
                "it is at or past i_end = {end} (exclusive), so readers would ignore it; \
                     raise i_end or stop writing"
            )));
        }
        let already = if dump >= self.meta.i_start { dump < self.next_dump } else { file.exists() };
        if already {
            return if self.mode == WriteMode::Resume {
                Ok(FrameOutcome::AlreadyPresent)
            } else {
                Err(bad("it was already written; each dump is written once".into()))
            };
        }
        if dump > self.next_dump {
            return Err(bad(format!(
                "frames from i_start = {} on must come in order without gaps: dump {} comes next",
                self.meta.i_start, self.next_dump
            )));
        }
        let (nx, ny) = self.meta.grid.shape();
        if frame.dim() != (nx, ny) {
            return Err(IoError::GridMismatch {
                path: file,
                shape: frame.shape().to_vec(),
                n_bins: (nx, ny),
            });
        }
        check_frame_values(&file, frame)?;
        write_npy(&file, &frame.as_standard_layout())?;
        if dump == self.next_dump {
            self.next_dump += 1;
        }
        Ok(FrameOutcome::Written)
    }

    /// Checks that the dataset is complete (at least one frame from `i_start`
    /// on, and every dump below `i_end` when it is set) and returns the number
    /// of frames from `i_start` on.
    pub fn finish(self) -> Result<usize, IoError> {
        if self.is_empty() {
            return Err(IoError::NoFrames {
                path: self.folder,
                i_start: self.meta.i_start,
                found: "the writer was given none".into(),
            });
        }
        if let Some(end) = self.meta.i_end
            && self.next_dump < end
        {
            return Err(IoError::MissingFrame { path: self.folder, dump: self.next_dump });
        }
        sync_folder(&self.folder);
        Ok(self.len())
    }
}

/// Removes temporary files a killed writer left behind (never complete data).
fn remove_stale_temporaries(folder: &Path) -> Result<(), IoError> {
    let entries = fs::read_dir(folder).map_err(|e| IoError::io(folder, "listing", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| IoError::io(folder, "listing", e))?;
        if entry.file_name().to_str().is_some_and(is_temp_name) {
            let p = entry.path();
            fs::remove_file(&p).map_err(|e| IoError::io(&p, "removing", e))?;
        }
    }
    Ok(())
}

/// Writes a whole dataset: `args.yaml` from `meta` and frame `k` of `frames`
/// (shape `(n_frames, nx, ny)`) as dump `i_start + k`. Refuses to write into a
/// folder that already holds a dataset (use [`DatasetWriter`] with
/// [`WriteMode::Overwrite`] to replace one).
pub fn write_dataset(
    path: impl AsRef<Path>,
    meta: &DatasetMeta,
    frames: ArrayView3<'_, f64>,
) -> Result<(), IoError> {
    let mut writer = DatasetWriter::create(path, meta, WriteMode::New)?;
    for (k, frame) in frames.axis_iter(Axis(0)).enumerate() {
        writer.write_frame(meta.i_start + k, frame)?;
    }
    writer.finish()?;
    Ok(())
}
