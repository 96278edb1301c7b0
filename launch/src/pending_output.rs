//! An output file written beside its target and renamed into place only when complete.
//!
//! The data goes to `.NAME.hmr2-launch.part` in the target's directory ([`temp_path_for`]).
//! The run holds an exclusive lock (`flock`) on that file while it writes, so a second run
//! aimed at the same target fails at once instead of interleaving with the first. On
//! [`PendingOutput::commit`] the file is synced and renamed over the target (an atomic
//! replacement: readers see the old file or the new one, never a mixture); dropped without a
//! commit, it is removed. A file the run did not create is therefore never truncated or
//! deleted. A temporary file left by a killed run is taken over by the next one.
//!
//! Targets that exist but are not regular files (`/dev/null`, a FIFO) are written directly.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Suffix of the temporary files.
pub const TEMP_SUFFIX: &str = ".hmr2-launch.part";

/// The temporary file an output to `target` is written to: `.NAME.hmr2-launch.part` beside
/// it.
pub fn temp_path_for(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}{TEMP_SUFFIX}"))
}

/// Temporary files of this process not yet committed or removed, for [`remove_all`].
static LIVE_TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live_temps() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE_TEMPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes every temporary file of this process (before an immediate exit, when no `Drop`
/// runs). Safe: they are ours and locked by us.
pub fn remove_all() {
    for p in live_temps().drain(..) {
        let _ = std::fs::remove_file(p);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PendingOutputError {
    #[error("{target} is being written by another hmr2-launch run (its temporary file {temp} is locked)")]
    Busy { target: PathBuf, temp: PathBuf },
    #[error("cannot create {temp}: {source}")]
    Create { temp: PathBuf, source: io::Error },
    #[error("cannot finish {target}: {source}")]
    Commit { target: PathBuf, source: io::Error },
}

/// One output being written.
#[derive(Debug)]
pub struct PendingOutput {
    target: PathBuf,
    /// The temporary file and the locked handle on it; None when writing directly.
    temp: Option<(PathBuf, File)>,
}

/// Takes the exclusive lock without waiting; false when another process holds it.
fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock on a file descriptor we own; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}

impl PendingOutput {
    /// Opens the temporary file for `target` (already resolved: no symbolic link) and locks
    /// it; fails with [`PendingOutputError::Busy`] when another run holds it.
    pub fn create(target: &Path) -> Result<Self, PendingOutputError> {
        let existing = std::fs::metadata(target).ok();
        if existing.as_ref().is_some_and(|m| !m.is_file()) {
            return Ok(Self { target: target.to_owned(), temp: None });
        }
        let temp = temp_path_for(target);
        let create_error = |source| PendingOutputError::Create { temp: temp.clone(), source };
        // The file at the temp path may be replaced between our open and our lock (its
        // owner renamed or removed it): only a locked file still at that path is ours.
        let file = loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&temp)
                .map_err(create_error)?;
            if !try_lock(&file).map_err(create_error)? {
                return Err(PendingOutputError::Busy { target: target.to_owned(), temp });
            }
            let ours = file.metadata().map_err(create_error)?;
            match std::fs::metadata(&temp) {
                Ok(m) if (m.dev(), m.ino()) == (ours.dev(), ours.ino()) => break file,
                _ => continue,
            }
        };
        // Left over by a killed run, or fresh: empty either way.
        file.set_len(0).map_err(create_error)?;
        if let Some(m) = &existing {
            // The replacement keeps the permissions of the file it replaces.
            let _ = file.set_permissions(m.permissions());
        }
        live_temps().push(temp.clone());
        Ok(Self { target: target.to_owned(), temp: Some((temp, file)) })
    }

    /// Where the data is written: the temporary file (or the target itself for a device).
    pub fn write_path(&self) -> &Path {
        self.temp.as_ref().map_or(&self.target, |(p, _)| p)
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// A handle to write the data through.
    pub fn writer(&self) -> io::Result<File> {
        match &self.temp {
            Some((_, file)) => file.try_clone(),
            None => OpenOptions::new().write(true).open(&self.target),
        }
    }

    /// Syncs the data and renames the temporary file over the target.
    pub fn commit(mut self) -> Result<(), PendingOutputError> {
        let Some((temp, file)) = self.temp.take() else {
            return Ok(());
        };
        let commit_error = |source| PendingOutputError::Commit { target: self.target.clone(), source };
        // Held across the rename, so an abort (remove_all) sees the file before or after.
        let mut temps = live_temps();
        let result = file.sync_all().and_then(|()| std::fs::rename(&temp, &self.target));
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        temps.retain(|p| p != &temp);
        drop(temps);
        result.map_err(commit_error)?;
        // Make the rename itself durable.
        if let Some(dir) = self.target.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        drop(file);
        Ok(())
    }
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        if let Some((temp, _file)) = self.temp.take() {
            // Removed while still locked, so no other run can have taken it over.
            let mut temps = live_temps();
            let _ = std::fs::remove_file(&temp);
            temps.retain(|p| p != &temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hmr2-launch-pending-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn names_the_temporary_file_beside_the_target() {
        assert_eq!(temp_path_for(Path::new("/a/b/out.mp4")), Path::new("/a/b/.out.mp4.hmr2-launch.part"));
    }

    #[test]
    fn commit_replaces_the_target_and_drop_leaves_it_alone() {
        let dir = scratch("commit");
        let target = dir.join("out.txt");
        std::fs::write(&target, b"old").unwrap();
        // Dropped without a commit: the target is untouched and the temp file is gone.
        let out = PendingOutput::create(&target).unwrap();
        out.writer().unwrap().write_all(b"half").unwrap();
        assert_eq!(out.write_path(), temp_path_for(&target));
        drop(out);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert!(!temp_path_for(&target).exists());
        // Committed: replaced whole.
        let out = PendingOutput::create(&target).unwrap();
        out.writer().unwrap().write_all(b"new").unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert!(!temp_path_for(&target).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_second_writer_is_refused_and_a_stale_temp_is_taken_over() {
        let dir = scratch("busy");
        let target = dir.join("out.txt");
        let first = PendingOutput::create(&target).unwrap();
        let err = PendingOutput::create(&target).unwrap_err();
        assert!(matches!(err, PendingOutputError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("another hmr2-launch run"), "{err}");
        // The refused attempt did not disturb the first one's file.
        assert!(first.write_path().exists());
        drop(first);
        // A temporary file nobody holds (left by a killed run) is reused, emptied.
        std::fs::write(temp_path_for(&target), b"stale").unwrap();
        let out = PendingOutput::create(&target).unwrap();
        assert_eq!(std::fs::read(out.write_path()).unwrap(), b"");
        out.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn devices_are_written_directly() {
        let out = PendingOutput::create(Path::new("/dev/null")).unwrap();
        assert_eq!(out.write_path(), Path::new("/dev/null"));
        out.writer().unwrap().write_all(b"x").unwrap();
        out.commit().unwrap();
        assert!(Path::new("/dev/null").exists());
    }
}
