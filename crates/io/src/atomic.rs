//! Atomic file replacement: write a temporary file beside the target, flush it
//! to disk, then rename it over the target.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::IoError;

/// Marker inside the names of our temporary files, `.NAME.collop-tmp-PID-N`.
const TEMP_MARKER: &str = ".collop-tmp-";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Whether `name` is one of the temporary files [`write_atomically`] creates
/// (left behind only if the process was killed between create and rename).
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(TEMP_MARKER)
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates `path` (or replaces it) with the bytes that `fill` writes, so that
/// readers see either the old file or the complete new one, never a partial
/// file: the data go to a temporary file in the same folder, are flushed to
/// disk, and the temporary file is then renamed to `path`.
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
    let temp: PathBuf = folder.join(format!(".{name}{TEMP_MARKER}{}-{n}", std::process::id()));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| IoError::io(&temp, "creating a temporary file", e))?;
    let result = (|| {
        let mut writer = BufWriter::new(&file);
        fill(&mut writer)?;
        writer.flush().map_err(|e| IoError::io(&temp, "writing", e))?;
        drop(writer);
        file.sync_all().map_err(|e| IoError::io(&temp, "flushing to disk", e))?;
        fs::rename(&temp, path).map_err(|e| IoError::io(path, "renaming the temporary file onto", e))
    })();
    drop(file);
    if result.is_err() {
        // Best effort: the temporary file is garbage now; the target is untouched.
        let _ = fs::remove_file(&temp);
    } else {
        sync_folder(folder);
    }
    result
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
