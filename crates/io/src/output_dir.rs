//! Output directories: one writer at a time, and one rule for a directory
//! that already holds results.
//!
//! Every command that writes a directory (a PIC run, a trained run, a
//! comparison, a sweep, a fields model) first takes it with
//! [`OutputDir::claim`] (or, where the command checks the directory's
//! contents itself, [`OutputDir::lock`]):
//!
//! - **One owner.** The directory (created if needed) gets the lock file
//!   [`LOCK_FILE`], locked exclusively through the operating system for as
//!   long as the [`OutputDir`] lives. A second writer is refused at once,
//!   with the holder's process id and host read from the file. The lock is
//!   released by the operating system when its holder ends, however it
//!   ends (`kill -9` included), so it never stays stuck. It is advisory:
//!   readers take no lock.
//! - **One rule.** A directory that holds results of the kind being
//!   written ([`OutputKind::holds`]) is refused unless the command was told
//!   to continue them ([`Existing::Resume`], `--resume`) or to replace them
//!   ([`Existing::Overwrite`], `--overwrite`); replaced results are removed
//!   only by [`OutputDir::clear_replaced`], which the command calls once its
//!   own checks have passed, and only the entries the kind writes
//!   ([`OutputKind::owns`]): a file of the user's beside them stays.
//!
//! A directory that this claim created and that nothing was written into
//! is removed again when the [`OutputDir`] is dropped, so a refused command
//! leaves no empty directory behind.
//!
//! Temporary files of atomic writes that a killed process left behind
//! (`.NAME.collop-tmp-PID-N`) are removed as soon as the lock is taken:
//! while the lock is held nobody else writes there, so they are stale. The
//! search goes [`STALE_DEPTH`] levels into sub-directories and skips
//! those with a lock file of their own (another owner cleans them).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::IoError;
use crate::atomic::is_temp_name;

/// The lock file inside every output directory; it records the holder's
/// process id and host.
pub const LOCK_FILE: &str = ".collop.lock";

/// What a command does with a directory that already holds its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Refuse it (the default): never damage results by accident.
    #[default]
    Refuse,
    /// Continue it; the command checks that the results are its own.
    Resume,
    /// Replace it: the entries of the kind are removed by
    /// [`OutputDir::clear_replaced`] once the command's checks have passed.
    Overwrite,
}

/// A kind of results a directory holds, as the overwrite rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct OutputKind {
    /// What the directory holds, in the user's words ("a PIC run").
    pub name: &'static str,
    /// Whether the directory holds results of this kind (refused unless
    /// resumed or overwritten).
    pub holds: fn(&Path) -> bool,
    /// Whether an entry of the directory is one this kind writes, which
    /// `--overwrite` may remove; `None` when the command has no
    /// `--overwrite`.
    pub owns: Option<fn(&Path) -> bool>,
    /// How the command accepts an existing directory, for the refusal
    /// ("continue it with `--resume`").
    pub accepts: &'static str,
}

/// An output directory this process holds the lock of (see the module
/// docs). The lock is released when it is dropped.
#[derive(Debug)]
pub struct OutputDir {
    path: PathBuf,
    lock: File,
    /// Whether [`OutputDir::lock`] created the directory.
    created: bool,
    /// The entries `clear_replaced` removes: set by a claim that overwrites
    /// results, emptied once they are removed.
    replace: Option<fn(&Path) -> bool>,
}

impl OutputDir {
    /// Takes the lock of `path` (the directory is created if needed),
    /// without looking at what it holds: for a command that checks its
    /// contents itself under the lock. Refused at once, naming the
    /// holder, when another process holds it.
    pub fn lock(path: impl AsRef<Path>) -> Result<Self, IoError> {
        let path = path.as_ref().to_path_buf();
        let created = !path.is_dir();
        fs::create_dir_all(&path).map_err(|e| IoError::io(&path, "creating the output directory", e))?;
        let lock_path = path.join(LOCK_FILE);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| IoError::io(&lock_path, "opening the lock file", e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                // The holder's record is best effort: unreadable (a
                // platform whose locks are mandatory) or not yet written,
                // the refusal says so.
                let _ = lock.read_to_string(&mut text);
                return Err(IoError::Locked { path, holder: Holder::parse(&text) });
            }
            Err(fs::TryLockError::Error(e)) => return Err(IoError::io(&lock_path, "locking", e)),
        }
        remove_stale_temporaries(&path, STALE_DEPTH)?;
        let record = Holder { pid: Some(std::process::id()), host: host_name() }.to_text();
        lock.set_len(0)
            .and_then(|()| lock.seek(SeekFrom::Start(0)))
            .and_then(|_| lock.write_all(record.as_bytes()))
            .and_then(|()| lock.flush())
            .map_err(|e| IoError::io(&lock_path, "writing the lock file", e))?;
        Ok(Self { path, lock, created, replace: None })
    }

    /// Takes the lock of `path` (see [`OutputDir::lock`]), then applies
    /// the rule: a directory that holds results of `kind` is refused
    /// unless `existing` resumes or overwrites them. Nothing in the
    /// directory is changed here but the lock file.
    pub fn claim(path: impl AsRef<Path>, kind: &OutputKind, existing: Existing) -> Result<Self, IoError> {
        let mut dir = Self::lock(path)?;
        if !(kind.holds)(&dir.path) {
            return Ok(dir);
        }
        match (existing, kind.owns) {
            (Existing::Resume, _) => {}
            (Existing::Overwrite, Some(owns)) => dir.replace = Some(owns),
            (Existing::Refuse, _) | (Existing::Overwrite, None) => {
                let entries = dir.entries()?;
                let shown = &entries[..entries.len().min(4)];
                return Err(IoError::Clobber {
                    path: dir.path.clone(),
                    reason: format!(
                        "already holds {} ({}{}); {}, or write into another directory",
                        kind.name,
                        shown.join(", "),
                        if entries.len() > shown.len() { ", ..." } else { "" },
                        kind.accepts
                    ),
                });
            }
        }
        Ok(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// After a claim that overwrites results, removes every entry the
    /// kind writes (and temporary files of interrupted writes), once; the
    /// lock and anything else stay. Does nothing otherwise. Call it when
    /// the command's checks have passed, right before it writes.
    pub fn clear_replaced(&mut self) -> Result<(), IoError> {
        let Some(owns) = self.replace.take() else { return Ok(()) };
        for name in self.entries()? {
            let entry = self.path.join(&name);
            if !(owns(&entry) || is_temp_name(&name)) {
                continue;
            }
            let removed = if entry.is_dir() { fs::remove_dir_all(&entry) } else { fs::remove_file(&entry) };
            removed.map_err(|e| IoError::io(&entry, "removing the replaced results", e))?;
        }
        Ok(())
    }

    /// Names of the directory's entries other than the lock file, sorted.
    fn entries(&self) -> Result<Vec<String>, IoError> {
        let read = fs::read_dir(&self.path).map_err(|e| IoError::io(&self.path, "listing", e))?;
        let mut names = Vec::new();
        for entry in read {
            let entry = entry.map_err(|e| IoError::io(&self.path, "listing", e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != LOCK_FILE {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        // A directory this claim made and nothing was written into: a
        // refusal leaves no trace. Best effort; the lock is released with
        // the file either way.
        if self.created && self.entries().is_ok_and(|e| e.is_empty()) {
            let _ = fs::remove_file(self.path.join(LOCK_FILE));
            let _ = fs::remove_dir(&self.path);
        }
        let _ = self.lock.unlock();
    }
}

/// How many levels of sub-directories [`OutputDir::lock`] searches for
/// stale temporary files (a comparison's deepest outputs are two levels
/// down; a deeper search would walk a user's tree given as `-o`).
pub const STALE_DEPTH: usize = 3;

/// Removes the temporary files of interrupted atomic writes in `dir` and,
/// `depth` levels down, in its sub-directories without a lock file.
fn remove_stale_temporaries(dir: &Path, depth: usize) -> Result<(), IoError> {
    let read = fs::read_dir(dir).map_err(|e| IoError::io(dir, "listing", e))?;
    for entry in read {
        let entry = entry.map_err(|e| IoError::io(dir, "listing", e))?;
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_file() && entry.file_name().to_str().is_some_and(is_temp_name) {
            fs::remove_file(&path)
                .map_err(|e| IoError::io(&path, "removing a temporary file an interrupted write left", e))?;
        } else if kind.is_dir() && depth > 0 && !path.join(LOCK_FILE).exists() {
            remove_stale_temporaries(&path, depth - 1)?;
        }
    }
    Ok(())
}

/// Who holds a lock, as recorded in its lock file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holder {
    /// Process id.
    pub pid: Option<u32>,
    /// Host name.
    pub host: Option<String>,
}

impl Holder {
    fn to_text(&self) -> String {
        let mut text = String::new();
        if let Some(pid) = self.pid {
            text.push_str(&format!("pid {pid}\n"));
        }
        if let Some(host) = &self.host {
            text.push_str(&format!("host {host}\n"));
        }
        text
    }

    fn parse(text: &str) -> Self {
        let value = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
                .filter(|v| !v.is_empty())
        };
        Self { pid: value("pid ").and_then(|v| v.parse().ok()), host: value("host ") }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.pid, &self.host) {
            (Some(pid), Some(host)) => write!(f, "process {pid} on {host}"),
            (Some(pid), None) => write!(f, "process {pid}"),
            _ => write!(f, "a process whose id could not be read"),
        }
    }
}

/// The name of this machine, for the lock record; `None` where it cannot
/// be read.
fn host_name() -> Option<String> {
    #[cfg(target_os = "linux")]
    if let Ok(name) = fs::read_to_string("/proc/sys/kernel/hostname") {
        let name = name.trim();
        if !name.is_empty() {
            return Some(name.to_string());
        }
    }
    ["HOSTNAME", "COMPUTERNAME"].iter().find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_records_read_back() {
        let h = Holder { pid: Some(42), host: Some("node-7".into()) };
        assert_eq!(Holder::parse(&h.to_text()), h);
        assert_eq!(h.to_string(), "process 42 on node-7");
        assert_eq!(Holder::parse(""), Holder::default());
        assert_eq!(Holder::parse("pid x\n").pid, None);
    }
}
