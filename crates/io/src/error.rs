use std::path::{Path, PathBuf};

use thiserror::Error;

/// Everything that can go wrong reading or writing collop files.
///
/// Every variant carries the path of the file or folder at fault, and its
/// message says what is wrong and what to do about it, so that a user who only
/// sees the message can fix the input.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IoError {
    /// The dataset folder does not exist.
    #[error(
        "{}: not an existing folder; give the folder that holds args.yaml and the NNNNNN.npy frames (or its parent holding f/)",
        .path.display()
    )]
    MissingFolder {
        /// The path that was given.
        path: PathBuf,
    },

    /// Neither the folder nor its `f/` subfolder holds `args.yaml`.
    #[error(
        "{}: no args.yaml here nor in f/; give the folder that holds args.yaml and the NNNNNN.npy frames",
        .path.display()
    )]
    MissingArgs {
        /// The folder that was searched.
        path: PathBuf,
    },

    /// `args.yaml` is not valid YAML, or not a mapping of keys to values.
    #[error("{}: malformed YAML: {reason}; fix it so that it is a plain mapping of keys to values", .path.display())]
    Yaml {
        /// The YAML file.
        path: PathBuf,
        /// What the parser said, with line and column where known.
        reason: String,
    },

    /// A required key is absent from `args.yaml`.
    #[error("{}: key `{key}` is missing; add `{key}: {hint}`", .path.display())]
    MissingKey {
        /// The YAML file.
        path: PathBuf,
        /// The missing key.
        key: String,
        /// What the key holds, as a reminder of what to write.
        hint: String,
    },

    /// A key of `args.yaml` has the wrong type or an invalid value.
    #[error("{}: key `{key}` {problem}", .path.display())]
    BadKey {
        /// The YAML file.
        path: PathBuf,
        /// The key at fault.
        key: String,
        /// What is wrong and what is expected.
        problem: String,
    },

    /// No frame file in the range of dumps the dataset uses.
    #[error(
        "{}: no frames NNNNNN.npy from dump {i_start} on ({found}); put the frames here or fix `i_start`/`i_end` in args.yaml",
        .path.display()
    )]
    NoFrames {
        /// The dataset folder.
        path: PathBuf,
        /// The first dump the dataset uses.
        i_start: usize,
        /// What was found instead.
        found: String,
    },

    /// A dump inside the used range has no frame file.
    #[error(
        "{}: frame {dump:06}.npy (dump {dump}) is missing; frames must be consecutive from `i_start`: restore it, or set `i_end` (exclusive) or `i_start` in args.yaml to leave the gap out",
        .path.display()
    )]
    MissingFrame {
        /// The dataset folder.
        path: PathBuf,
        /// The missing dump number.
        dump: usize,
    },

    /// Two frames of one dataset have different shapes.
    #[error(
        "{}: shape {shape:?} differs from {first_shape:?} of {}; every frame of a dataset must have the same shape",
        .path.display(),
        .first.display()
    )]
    ShapeMismatch {
        /// The frame at fault.
        path: PathBuf,
        /// Its shape.
        shape: Vec<usize>,
        /// The first frame of the dataset.
        first: PathBuf,
        /// The first frame's shape.
        first_shape: Vec<usize>,
    },

    /// A frame's shape does not match `n_bins` of `args.yaml`.
    #[error(
        "{}: shape {shape:?} does not match n_bins = [{}, {}] of args.yaml; fix `n_bins` or the frames",
        .path.display(),
        .n_bins.0,
        .n_bins.1
    )]
    GridMismatch {
        /// The frame at fault.
        path: PathBuf,
        /// Its shape.
        shape: Vec<usize>,
        /// `(nx, ny)` from `args.yaml`.
        n_bins: (usize, usize),
    },

    /// An array is not two-dimensional.
    #[error(
        "{}: a frame must be a 2D array (axis 0 = v_x), this one has shape {shape:?}; save each dump as one 2D histogram",
        .path.display()
    )]
    WrongNdim {
        /// The file at fault.
        path: PathBuf,
        /// Its shape.
        shape: Vec<usize>,
    },

    /// A frame holds NaN or an infinity.
    #[error(
        "{}: cell ({}, {}) is {value}; frames must be finite: regenerate this frame",
        .path.display(),
        .cell.0,
        .cell.1
    )]
    NonFinite {
        /// The frame at fault.
        path: PathBuf,
        /// The first offending cell `(i, j)`, `i` along `v_x`.
        cell: (usize, usize),
        /// Its value.
        value: f64,
    },

    /// A frame holds a negative value.
    #[error(
        "{}: cell ({}, {}) is {value} < 0; frames are counts or densities and must be >= 0: regenerate this frame",
        .path.display(),
        .cell.0,
        .cell.1
    )]
    Negative {
        /// The frame at fault.
        path: PathBuf,
        /// The first offending cell `(i, j)`, `i` along `v_x`.
        cell: (usize, usize),
        /// Its value.
        value: f64,
    },

    /// The array's element type is not a real number or integer.
    #[error(
        "{}: unsupported element type {descr}; store frames as float64, float32 or integers",
        .path.display()
    )]
    UnsupportedDtype {
        /// The file at fault.
        path: PathBuf,
        /// The numpy type descriptor found in the header.
        descr: String,
    },

    /// A `.npy` file cannot be decoded.
    #[error("{}: not a readable .npy file ({reason}); the file is corrupt or truncated: regenerate it", .path.display())]
    Npy {
        /// The file at fault.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },

    /// A `.npz` archive cannot be read or written.
    #[error("{}: {reason}", .path.display())]
    Npz {
        /// The archive.
        path: PathBuf,
        /// What went wrong and what to do.
        reason: String,
    },

    /// A required array is absent from a structured `.npz` file (a track
    /// file).
    #[error("{}: no array `{member}`; {expected}", .path.display())]
    MissingMember {
        /// The archive.
        path: PathBuf,
        /// The missing array.
        member: String,
        /// What the file should hold and how to get it.
        expected: String,
    },

    /// An array of a structured `.npz` file has a shape that does not fit
    /// the others.
    #[error(
        "{}: array `{member}` has shape {shape:?}, expected {expected}; the arrays of the file do not fit together: regenerate it",
        .path.display()
    )]
    MemberShape {
        /// The archive.
        path: PathBuf,
        /// The array at fault.
        member: String,
        /// Its shape.
        shape: Vec<usize>,
        /// The shape it should have, in words and numbers.
        expected: String,
    },

    /// An array of a structured `.npz` file holds an invalid value.
    #[error("{}: array `{member}` {problem}", .path.display())]
    BadMember {
        /// The archive.
        path: PathBuf,
        /// The array at fault.
        member: String,
        /// What is wrong and what to do.
        problem: String,
    },

    /// The first used frame sums to zero, so the frames cannot be normalised.
    #[error(
        "{}: the first used frame sums to {sum}, so frames cannot be normalised to it; check `i_start` (the first frame must hold particles) or read without normalisation",
        .path.display()
    )]
    ZeroFirstFrame {
        /// The first used frame.
        path: PathBuf,
        /// Its sum.
        sum: f64,
    },

    /// Writing would replace or mix with a different dataset.
    #[error("{}: {reason}", .path.display())]
    Clobber {
        /// The folder or file that would be damaged.
        path: PathBuf,
        /// What is there and how to proceed.
        reason: String,
    },

    /// Another process is writing into the output directory.
    #[error(
        "{}: another collop command ({holder}) is writing into this directory; wait for it to finish, or write into another directory",
        .path.display()
    )]
    Locked {
        /// The output directory.
        path: PathBuf,
        /// Who holds its lock, as its lock file records.
        holder: crate::output_dir::Holder,
    },

    /// A dump number cannot be written now.
    #[error("{}: cannot write dump {dump}: {problem}", .path.display())]
    BadDump {
        /// The dataset folder.
        path: PathBuf,
        /// The dump that was offered.
        dump: usize,
        /// Why not, and what to do.
        problem: String,
    },

    /// A core object could not be built from the data read.
    #[error("{}: {cause}", .path.display())]
    Core {
        /// The dataset folder.
        path: PathBuf,
        /// The underlying error.
        cause: collop_core::CoreError,
    },

    /// An operating-system error (permissions, disk full, ...).
    #[error("{}: {action} failed: {cause}", .path.display())]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// What was being done ("reading", "creating", ...).
        action: &'static str,
        /// The system error.
        cause: std::io::Error,
    },
}

impl IoError {
    /// The file or folder the error is about.
    pub fn path(&self) -> &Path {
        match self {
            IoError::MissingFolder { path }
            | IoError::MissingArgs { path }
            | IoError::Yaml { path, .. }
            | IoError::MissingKey { path, .. }
            | IoError::BadKey { path, .. }
            | IoError::NoFrames { path, .. }
            | IoError::MissingFrame { path, .. }
            | IoError::ShapeMismatch { path, .. }
            | IoError::GridMismatch { path, .. }
            | IoError::WrongNdim { path, .. }
            | IoError::NonFinite { path, .. }
            | IoError::Negative { path, .. }
            | IoError::UnsupportedDtype { path, .. }
            | IoError::Npy { path, .. }
            | IoError::Npz { path, .. }
            | IoError::MissingMember { path, .. }
            | IoError::MemberShape { path, .. }
            | IoError::BadMember { path, .. }
            | IoError::ZeroFirstFrame { path, .. }
            | IoError::Clobber { path, .. }
            | IoError::Locked { path, .. }
            | IoError::BadDump { path, .. }
            | IoError::Core { path, .. }
            | IoError::Io { path, .. } => path,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        IoError::Io { path: path.into(), action, cause: source }
    }

    pub(crate) fn bad_key(path: &Path, key: &str, problem: impl Into<String>) -> Self {
        IoError::BadKey { path: path.to_path_buf(), key: key.to_string(), problem: problem.into() }
    }
}
