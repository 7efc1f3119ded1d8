//! Atomic file replacement: write a temporary file beside the target, flush it
//! to disk, then rename it over the target.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::IoError;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Whether `name` is one of the temporary files [`write_atomically`] (or
/// any collop writer) creates, left behind only if the process was killed
/// between create and rename.
pub(crate) use collop_core::temp_name::is_temp_name;

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A temporary file being written: removed when dropped unless it was
/// renamed onto its target, so that no error path (a failed write on a
/// full disk, a failed flush or rename) and no panic in the writer leaves
/// it behind to fill the disk.
struct TempFile {
    path: PathBuf,
    file: Option<File>,
    renamed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Closed first: some systems refuse to remove an open file.
        drop(self.file.take());
        if !self.renamed {
            // Best effort: the error that matters is the one being reported.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Creates `path` (or replaces it) with the bytes that `fill` writes, so that
/// readers see either the old file or the complete new one, never a partial
/// file: the data go to a temporary file in the same folder, are flushed to
/// disk, and the temporary file is then renamed to `path`. On any error,
/// and if `fill` panics, the temporary file is removed and the target is
/// untouched.
pub(crate) fn write_atomically<F>(path: &Path, fill: F) -> Result<(), IoError>
where
    F: FnOnce(&mut BufWriter<&File>) -> Result<(), IoError>,
{
    let folder = parent_of(path);
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        IoError::io(
            path,
            "choosing a file name",
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path does not end in a UTF-8 file name",
            ),
        )
    })?;
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp: PathBuf = folder.join(collop_core::temp_name::temp_name(name, std::process::id(), n));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| IoError::io(&temp, "creating a temporary file", e))?;
    let mut temp = TempFile { path: temp, file: Some(file), renamed: false };
    let file = temp.file.as_ref().expect("just opened");
    {
        let mut writer = BufWriter::new(file);
        fill(&mut writer)?;
        writer.flush().map_err(|e| IoError::io(&temp.path, "writing", e))?;
    }
    file.sync_all().map_err(|e| IoError::io(&temp.path, "flushing to disk", e))?;
    drop(temp.file.take());
    fs::rename(&temp.path, path).map_err(|e| IoError::io(path, "renaming the temporary file onto", e))?;
    temp.renamed = true;
    sync_folder(folder);
    Ok(())
}

/// Makes a rename durable by flushing the folder entry (a no-op where folders
/// cannot be opened as files).
pub(crate) fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = File::open(folder) {
        // Durability hint only: a failure here leaves a complete file in place.
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = folder;
}

/// Writes `contents` to `path` atomically (temporary file in the same folder,
/// then rename), for JSON, CSV, TOML and other text outputs. The folder must
/// exist.
pub fn write_text(path: impl AsRef<Path>, contents: &str) -> Result<(), IoError> {
    let path = path.as_ref();
    write_atomically(path, |w| w.write_all(contents.as_bytes()).map_err(|e| IoError::io(path, "writing", e)))
}

/// Writes `contents` to `path` atomically, like [`write_text`], for
/// binary outputs such as pictures.
pub fn write_bytes(path: impl AsRef<Path>, contents: &[u8]) -> Result<(), IoError> {
    let path = path.as_ref();
    write_atomically(path, |w| w.write_all(contents).map_err(|e| IoError::io(path, "writing", e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_text_replaces_whole_file_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_text(&path, "{\"a\": 1}").unwrap();
        write_text(&path, "{}").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.json")]);
    }

    #[test]
    fn failed_fill_keeps_old_file_and_removes_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keep.txt");
        write_text(&path, "old").unwrap();
        let err = write_atomically(&path, |w| {
            w.write_all(b"half").unwrap();
            Err(IoError::io(&path, "writing", std::io::Error::other("simulated crash")))
        })
        .unwrap_err();
        assert!(err.to_string().contains("simulated crash"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// A writer that fails like a full disk once `room` bytes are written.
    struct FullDisk<W> {
        inner: W,
        room: usize,
    }

    impl<W: Write> Write for FullDisk<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device"));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.inner.write(&buf[..n])
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }

    fn names_in(dir: &Path) -> Vec<String> {
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn a_disk_full_midway_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.npz");
        // Past the writer's buffer, so that part of the data reached the temporary file.
        let err = write_atomically(&path, |w| {
            let mut full = FullDisk { inner: w, room: 200_000 };
            full.write_all(&[7u8; 1 << 20]).map_err(|e| IoError::io(&path, "writing", e))
        })
        .unwrap_err();
        assert!(err.to_string().contains("no space left"), "{err}");
        assert!(names_in(dir.path()).is_empty(), "{:?}", names_in(dir.path()));
    }

    #[test]
    fn a_panicking_writer_leaves_no_temporary_file_and_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.npz");
        write_text(&path, "old").unwrap();
        let outcome = std::panic::catch_unwind(|| {
            write_atomically(&path, |w| {
                w.write_all(&[1u8; 100_000]).unwrap();
                panic!("an encoder bug (this panic is the test)")
            })
        });
        assert!(outcome.is_err());
        assert_eq!(names_in(dir.path()), vec!["model.npz".to_string()]);
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn a_failed_rename_leaves_no_temporary_file() {
        // The target is a folder that is not empty: the rename fails.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), "x").unwrap();
        let err = write_text(&path, "{}").unwrap_err();
        assert!(err.to_string().contains("renaming"), "{err}");
        assert_eq!(names_in(dir.path()), vec!["out.json".to_string()]);
    }

    #[test]
    fn missing_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope").join("x.txt");
        let err = write_text(&path, "x").unwrap_err();
        assert!(matches!(err, IoError::Io { .. }));
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn temp_names_are_recognised() {
        assert!(is_temp_name(".000005.npy.collop-tmp-12-0"));
        assert!(!is_temp_name("000005.npy"));
        assert!(!is_temp_name(".hidden"));
    }
}
