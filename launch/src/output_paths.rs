//! The output paths, checked before anything is opened: an output that is (through a
//! symbolic or hard link, or `..`) a file the run reads — the input, a model, the boxes —
//! or the other output is refused, since writing it would destroy what is being read.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// Where a path leads once every symbolic link is followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Absolute, without symbolic links, `.` or `..`; for a file that does not exist yet,
    /// the resolved existing directory above it joined with the rest.
    pub path: PathBuf,
    /// Device and inode of the file when it exists (so hard links compare equal).
    pub id: Option<(u64, u64)>,
    /// Whether it exists and is a directory.
    pub is_dir: bool,
}

impl Resolved {
    /// Whether two resolved paths name the same file.
    pub fn same_file(&self, other: &Resolved) -> bool {
        match (self.id, other.id) {
            (Some(a), Some(b)) => a == b,
            _ => self.path == other.path,
        }
    }
}

/// Most symbolic links followed while resolving one path (as Linux's limit).
const MAX_LINKS: usize = 40;

/// Resolves `path` like `realpath`, but also for a file (and directories) that do not
/// exist yet.
pub fn resolve(path: &Path) -> io::Result<Resolved> {
    let mut pending: Vec<PathBuf> = Vec::new();
    let absolute = if path.is_absolute() { path.to_owned() } else { std::env::current_dir()?.join(path) };
    // Components still to walk, last first, so a link's target can be pushed in front.
    let push_components = |pending: &mut Vec<PathBuf>, p: &Path| {
        for c in p.components().rev() {
            pending.push(c.as_os_str().into());
        }
    };
    push_components(&mut pending, &absolute);
    let mut resolved = PathBuf::from("/");
    let mut links = 0;
    let mut exists = true;
    while let Some(part) = pending.pop() {
        match Path::new(&part).components().next() {
            Some(Component::RootDir) => resolved = PathBuf::from("/"),
            Some(Component::CurDir) | None => {}
            Some(Component::ParentDir) => {
                // `resolved` never holds a link, so its parent is the real parent.
                resolved.pop();
            }
            Some(Component::Normal(name)) => {
                let next = resolved.join(name);
                if !exists {
                    resolved = next;
                    continue;
                }
                match std::fs::symlink_metadata(&next) {
                    Ok(m) if m.file_type().is_symlink() => {
                        links += 1;
                        if links > MAX_LINKS {
                            return Err(io::Error::other(format!(
                                "too many levels of symbolic links at {}",
                                next.display()
                            )));
                        }
                        let target = std::fs::read_link(&next)?;
                        push_components(&mut pending, &target);
                    }
                    Ok(_) => resolved = next,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        exists = false;
                        resolved = next;
                    }
                    Err(e) => return Err(e),
                }
            }
            Some(Component::Prefix(_)) => unreachable!("no path prefixes on Unix"),
        }
    }
    let meta = std::fs::metadata(&resolved).ok();
    Ok(Resolved {
        id: meta.as_ref().map(|m| (m.dev(), m.ino())),
        is_dir: meta.as_ref().is_some_and(|m| m.is_dir()),
        path: resolved,
    })
}

/// Why the outputs were refused.
#[derive(Debug, thiserror::Error)]
pub enum OutputPathError {
    #[error("{option} {path} is {what} ({read}): refusing to overwrite a file the run reads")]
    IsRead { option: &'static str, path: PathBuf, what: &'static str, read: PathBuf },
    #[error("{first} and {second} name the same file ({path}): give each its own")]
    SameOutputs { first: &'static str, second: &'static str, path: PathBuf },
    #[error("{option} {path} is a directory: give a file name")]
    IsDirectory { option: &'static str, path: PathBuf },
    #[error("cannot resolve {option} {path}: {source}")]
    Unresolvable { option: &'static str, path: PathBuf, source: io::Error },
}

/// A file the run reads, described for the error message ("the input", "the model").
pub struct ReadFile<'a> {
    pub what: &'static str,
    pub path: &'a Path,
}

/// An output and the option that named it ("-o", "--poses").
pub struct OutputFile<'a> {
    pub option: &'static str,
    pub path: &'a Path,
}

/// Checks that no output is a directory, a file the run reads, or the other output.
/// Returns the outputs resolved, in order. Files read that cannot be resolved (missing
/// ones) are left to the caller's existence checks.
pub fn check_outputs(reads: &[ReadFile], outputs: &[OutputFile]) -> Result<Vec<Resolved>, OutputPathError> {
    let reads: Vec<(&ReadFile, Resolved)> = reads.iter().filter_map(|r| Some((r, resolve(r.path).ok()?))).collect();
    let mut resolved: Vec<(&OutputFile, Resolved)> = Vec::new();
    for out in outputs {
        let r = resolve(out.path).map_err(|source| OutputPathError::Unresolvable {
            option: out.option,
            path: out.path.to_owned(),
            source,
        })?;
        if r.is_dir {
            return Err(OutputPathError::IsDirectory { option: out.option, path: out.path.to_owned() });
        }
        if let Some((read, _)) = reads.iter().find(|(_, rr)| rr.same_file(&r)) {
            return Err(OutputPathError::IsRead {
                option: out.option,
                path: out.path.to_owned(),
                what: read.what,
                read: read.path.to_owned(),
            });
        }
        if let Some((first, _)) = resolved.iter().find(|(_, other)| other.same_file(&r)) {
            return Err(OutputPathError::SameOutputs {
                first: first.option,
                second: out.option,
                path: out.path.to_owned(),
            });
        }
        resolved.push((out, r));
    }
    Ok(resolved.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hmr2-launch-paths-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.canonicalize().unwrap()
    }

    fn read<'a>(path: &'a Path) -> [ReadFile<'a>; 1] {
        [ReadFile { what: "the input", path }]
    }

    fn out<'a>(option: &'static str, path: &'a Path) -> OutputFile<'a> {
        OutputFile { option, path }
    }

    #[test]
    fn resolves_links_dots_and_files_to_be() {
        let dir = scratch("resolve");
        std::fs::create_dir(dir.join("real")).unwrap();
        std::fs::write(dir.join("real/clip.mp4"), b"x").unwrap();
        symlink(dir.join("real"), dir.join("link")).unwrap();
        symlink("real/clip.mp4", dir.join("rel-link.mp4")).unwrap();
        symlink("real/new.mp4", dir.join("dangling.mp4")).unwrap();
        let clip = resolve(&dir.join("real/clip.mp4")).unwrap();
        assert_eq!(clip.path, dir.join("real/clip.mp4"));
        assert!(clip.id.is_some());
        for p in ["link/clip.mp4", "link/../real/./clip.mp4", "rel-link.mp4"] {
            let r = resolve(&dir.join(p)).unwrap();
            assert_eq!(r.path, clip.path, "{p}");
            assert!(r.same_file(&clip), "{p}");
        }
        // A dangling link leads to the file it would create.
        let r = resolve(&dir.join("dangling.mp4")).unwrap();
        assert_eq!((r.path, r.id), (dir.join("real/new.mp4"), None));
        // Directories to be created, and `..` in them.
        let r = resolve(&dir.join("a/b/../c.mp4")).unwrap();
        assert_eq!(r.path, dir.join("a/c.mp4"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_outputs_that_are_read_files_or_each_other() {
        let dir = scratch("check");
        let clip = dir.join("clip.mp4");
        std::fs::write(&clip, b"video").unwrap();
        symlink(&clip, dir.join("link.mp4")).unwrap();
        std::fs::hard_link(&clip, dir.join("hard.mp4")).unwrap();
        let reads = read(&clip);
        for name in ["clip.mp4", "link.mp4", "hard.mp4", "sub/../clip.mp4"] {
            std::fs::create_dir_all(dir.join("sub")).unwrap();
            let o = dir.join(name);
            let err = check_outputs(&reads, &[out("-o", &o)]).unwrap_err();
            assert!(matches!(err, OutputPathError::IsRead { .. }), "{name}: {err}");
            assert!(err.to_string().contains("is the input"), "{err}");
        }
        let err = check_outputs(&reads, &[out("-o", &dir), out("--poses", &dir)]).unwrap_err();
        assert!(matches!(err, OutputPathError::IsDirectory { .. }), "{err}");
        let (a, b) = (dir.join("o.mp4"), dir.join("./o.mp4"));
        let err = check_outputs(&reads, &[out("-o", &a), out("--poses", &b)]).unwrap_err();
        assert_eq!(err.to_string(), format!("-o and --poses name the same file ({}): give each its own", b.display()));
        let p = dir.join("p.jsonl");
        let ok = check_outputs(&reads, &[out("-o", &a), out("--poses", &p)]).unwrap();
        assert_eq!(ok[1].path, p);
        // A file read that does not exist is left to the existence checks.
        let missing = dir.join("missing.onnx");
        assert!(check_outputs(&read(&missing), &[out("-o", &a)]).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
