//! # collop-io: datasets and files on disk
//!
//! Reads and writes phase-space datasets in the layout of the reference
//! implementation (Carvalho et al., `ml-pic-collision-operators`), plus the
//! single arrays, parameter bundles and text files the rest of collop saves.
//!
//! ## The dataset layout
//!
//! A dataset is a folder (by convention `<population>/f/`) holding
//!
//! - `NNNNNN.npy`: one frame per diagnostic dump, the six-digit dump number
//!   as file name (`000005.npy`), a 2D array `f[i, j]` with axis 0 = `v_x`
//!   (raw particle counts or densities; float64, float32 or integers);
//! - `args.yaml`: a YAML mapping with `dt` (time between dumps, `1/omega_p`),
//!   `i_start` (first dump used), `i_end` (exclusive last dump, `-1` = up to
//!   the last frame), `n_bins` (an integer or `[nx, ny]`), `v_range`
//!   (`[x_min, x_max, y_min, y_max]` in `v_th`), optionally `v_range_c` (the
//!   same in units of `c`) and `t_start` (time of dump `i_start`; `i_start *
//!   dt` when absent). Any other key is kept in [`DatasetMeta::extra`] and
//!   written back unchanged.
//!
//! Frames below `i_start` may be present and are ignored; from `i_start` on
//! the dumps must be consecutive. Frame `k` of the series is dump
//! `i_start + k` at time `t_start + k dt`, on the cell-centred grid
//! `v_i = v_min + (i + 1/2) dv` ([`collop_core::VelocityGrid`]).
//!
//! ## Reading
//!
//! ```no_run
//! # fn main() -> Result<(), collop_io::IoError> {
//! // The folder holding args.yaml, or its parent holding f/.
//! let data = collop_io::read_dataset("runs/normal_-2_0")?;
//! let series = &data.series; // frames normalised: frame 0 sums to 1
//! println!("{} frames on {}", series.len(), series.grid);
//! println!("particles in the first frame: {}", data.norm);
//! # Ok(()) }
//! ```
//!
//! ## Normalisation
//!
//! [`read_dataset`] divides every frame by the sum of the first used frame
//! (dump `i_start`), the reference's convention: frame 0 then sums to one and,
//! for histograms of counts, [`Dataset::norm`] is the particle count.
//! Particles leaving the velocity window make later frames sum to less than
//! one. [`read_dataset_raw`] keeps the stored values (`norm = 1`).
//!
//! ## Writing
//!
//! [`write_dataset`] writes a whole series; [`DatasetWriter`] writes one frame
//! at a time for a simulation that produces them as it runs. Every file is
//! written atomically (temporary file in the same folder, then rename), so an
//! interrupted writer leaves only complete files. A writer never replaces a
//! dataset by accident: [`WriteMode::New`] refuses a folder that already holds
//! one, [`WriteMode::Resume`] continues one with the same metadata, skipping
//! frames already on disk, and only [`WriteMode::Overwrite`] deletes. The
//! `args.yaml` written is a plain mapping with sorted keys that PyYAML reads
//! as the reference code expects.
//!
//! [`write_npy`] / [`read_npy_f64`] handle single arrays, [`write_npz`] /
//! [`read_npz`] named bundles (learned parameters, readable with `np.load`),
//! and [`write_text`] any text output (JSON, CSV, TOML), all atomically.
//! [`npz_members`], [`read_npz_array`] and [`for_each_npz_row`] read an
//! archive's headers, one of its arrays, or its arrays row by row without
//! holding them whole (particle tracks of shape `(dumps, particles)` dump by
//! dump). [`write_npz_stored`] / [`NpzArchive`] keep each array's own
//! element type (uint64 ids, float32 values, ...) uncompressed, for state
//! that must come back bit for bit (checkpoints).
//!
//! Every `.npz` member read is checked against the CRC-32 its archive
//! stores, so a flipped bit on disk is an error naming the file and the
//! array, never silently different numbers.
//!
//! ## Output directories
//!
//! [`OutputDir`] is the one owner of the directories commands write (a PIC
//! run, a trained run, a comparison, a sweep, a fields model): one writer
//! at a time through the lock file [`LOCK_FILE`] (an operating-system lock,
//! released however its holder ends), and one rule for a directory that
//! already holds results ([`Existing`], [`OutputKind`]): refused unless
//! resumed or overwritten, overwritten results removed only once the
//! command's checks have passed.
//!
//! ## Formats owned here
//!
//! - Particle tracks, `<run>/<sub-population>/tracks.npz`: [`tracks`]
//!   ([`write_tracks`], [`TrackFile::open`], streamed dump by dump with
//!   [`TrackFile::for_each_dump`]).
//! - PIC parameters in `args.yaml` (`ppc`, `vth_c`, `dx_over_debye`, ...):
//!   [`PicParameters`], read with [`DatasetMeta::pic_parameters`] and
//!   written with [`DatasetMeta::with_pic_parameters`].
//!
//! ## Errors
//!
//! Nothing here panics on user input, and nothing reserves memory for a
//! size a file declares before checking it against the bytes the file
//! holds: an `.npy` header's length (at most numpy's 10000 bytes) and
//! shape, an archive member's size, the `n_bins` of `args.yaml` (frames
//! are gathered as they are read), YAML aliases (their expansion is
//! counted first). The fuzz tests (`tests/fuzz.rs`) check this with a
//! counting allocator. Every failure is an [`IoError`] whose
//! variant says what is wrong, which carries the path of the file or folder at
//! fault ([`IoError::path`]), and whose message names the file, the key or
//! the cell and says what to do, e.g.
//!
//! ```text
//! data/f: frame 000042.npy (dump 42) is missing; frames must be consecutive from `i_start`: ...
//! data/f/000007.npy: cell (3, 10) is NaN; frames must be finite: regenerate this frame
//! data/f/args.yaml: key `dt` is -1; the time between dumps must be > 0
//! ```

mod atomic;
mod dataset;
mod error;
mod meta;
mod npy;
mod npz_archive;
mod npz_stream;
mod output_dir;
mod pic_parameters;
pub mod tracks;
mod writer;

pub use atomic::{write_bytes, write_text};
pub use dataset::{
    ARGS_FILE, Dataset, FRAMES_SUBFOLDER, frame_file_name, locate_dataset, locate_reference_data,
    parse_frame_file_name, read_dataset, read_dataset_raw, read_meta,
};
pub use error::IoError;
pub use meta::{DatasetMeta, KNOWN_KEYS, MetaValue};
pub use npy::{read_npy_f64, read_npz, write_npy, write_npz};
pub use npz_archive::{NpzArchive, NpzElement, TypedArray, write_npz_stored};
pub use npz_stream::{NpzMember, for_each_npz_row, npz_members, read_npz_array};
pub use output_dir::{Existing, Holder, LOCK_FILE, OutputDir, OutputKind, STALE_DEPTH};
pub use pic_parameters::{PIC_PARAMETER_KEYS, PicParameters, PicSolver, read_pic_parameters};
pub use tracks::{TRACK_FORMAT_VERSION, TRACKS_FILE, TrackData, TrackFile, TrackMember, write_tracks};
pub use writer::{DatasetWriter, FrameOutcome, WriteMode, write_dataset};
