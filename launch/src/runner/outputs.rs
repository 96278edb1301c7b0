//! The run's output files (-o, --poses, --animation), each written to a temporary file and
//! renamed into place when the run finished it (see `pending_output`). The animation is
//! made at the end from the run's poses: the --poses file, or a private temporary one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use gstmeshoverlay::body_model::BodyModel;

use crate::cli::AnimationOptions;
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
    pub animation: Option<AnimationOutput>,
}

/// --animation: where it goes, the body it carries, and (without --poses) the temporary
/// pose file the run writes for it, removed at the end.
pub struct AnimationOutput {
    pub shown: PathBuf,
    pub target: PathBuf,
    pub body: BodyModel,
    pub scratch_poses: Option<PendingOutput>,
}

impl AnimationOutput {
    /// Loads the body and, without --poses, opens the temporary pose file beside the target.
    pub fn open(shown: &Path, target: &Path, body_model: Option<&Path>, with_poses: bool) -> Result<Self, Failure> {
        let options = AnimationOptions { body_model: body_model.map(Path::to_owned), ..Default::default() };
        let body = super::export::load_body(&options)?;
        let scratch_poses = if with_poses {
            None
        } else {
            let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let scratch = target.with_file_name(format!(".{name}.poses.jsonl"));
            Some(PendingOutput::create(&scratch).map_err(|e| Failure::runtime(e.to_string()))?)
        };
        Ok(Self { shown: shown.to_owned(), target: target.to_owned(), body, scratch_poses })
    }

    /// Writes the animation from `poses` (the committed --poses file, or the temporary one);
    /// prints `animation: PATH` per file on stdout.
    pub fn finish(self, poses: Option<&Path>) -> Result<(), Failure> {
        let source = match (poses, &self.scratch_poses) {
            (Some(p), _) => p.to_owned(),
            (None, Some(scratch)) => scratch.write_path().to_owned(),
            (None, None) => return Err(Failure::runtime("--animation: the run kept no poses")),
        };
        let options = AnimationOptions::default();
        let written = super::export::export(&source, &self.target, &options, &self.body)
            .map_err(|f| Failure { message: format!("--animation {}: {}", self.shown.display(), f.message), ..f })?;
        let mut stdout = std::io::stdout().lock();
        for path in written {
            // Shown as given: the target's directory, the name the export chose.
            let shown = self.shown.with_file_name(path.file_name().unwrap_or_default());
            let _ = writeln!(stdout, "animation: {}", shown.display());
        }
        Ok(())
    }
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
        Ok(Self { video: open(video.0, video.1)?, poses: open(poses.0, poses.1)?, animation: None })
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
