//! The run's output files (-o, --poses), each written to a temporary file and renamed into
//! place when the run finished it (see `pending_output`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::pending_output::PendingOutput;
use crate::{say, Failure};

/// One output: the path as the user gave it, and the file being written.
pub struct Output {
    pub shown: PathBuf,
    pub pending: PendingOutput,
}

#[derive(Default)]
pub struct Outputs {
    pub video: Option<Output>,
    pub poses: Option<Output>,
}

fn open(shown: Option<&Path>, target: Option<&Path>) -> Result<Option<Output>, Failure> {
    let (Some(shown), Some(target)) = (shown, target) else {
        return Ok(None);
    };
    let pending = PendingOutput::create(target).map_err(|e| Failure::runtime(e.to_string()))?;
    Ok(Some(Output { shown: shown.to_owned(), pending }))
}

impl Outputs {
    /// Opens (and locks) the temporary files; `shown` are the paths as given, `target`
    /// where they lead.
    pub fn open(video: (Option<&Path>, Option<&Path>), poses: (Option<&Path>, Option<&Path>)) -> Result<Self, Failure> {
        Ok(Self { video: open(video.0, video.1)?, poses: open(poses.0, poses.1)? })
    }
}

impl Output {
    /// Renames the finished file into place and says so: `wrote 90 frames to out.mp4`.
    fn commit(self, count: u64, unit: &str) -> Result<PathBuf, Failure> {
        self.pending.commit().map_err(|e| Failure::runtime(e.to_string()))?;
        say!("hmr2-launch: wrote {count} {unit} to {}", self.shown.display());
        Ok(self.shown)
    }
}

impl Outputs {
    /// Puts both outputs in place, then prints where they are on stdout
    /// (`video: PATH`, `poses: PATH`).
    pub fn commit(self, frames: u64, pose_lines: u64) -> Result<(), Failure> {
        let video = self.video.map(|v| v.commit(frames, "frames")).transpose()?;
        let poses = self.poses.map(|p| p.commit(pose_lines, "pose lines")).transpose()?;
        let mut stdout = std::io::stdout().lock();
        for (label, path) in [("video", video), ("poses", poses)] {
            if let Some(p) = path {
                let _ = writeln!(stdout, "{label}: {}", p.display());
            }
        }
        Ok(())
    }
}
