//! The report printed at the end of a run, on stderr; the output paths on stdout.

use std::time::Duration;

use crate::conform::{Orientation, Picture, STILL_FPS, STILL_FRAMES, STILL_SECONDS};
use crate::poses::PoseCounts;
use crate::say;

use super::stats::ElementStats;

/// Everything the summary reports.
pub struct Summary<'a> {
    pub elapsed: Duration,
    /// Frames out of the processing chain.
    pub done: u64,
    /// Frames that reached the processing queue, and that were let into hmr2pose.
    pub arrived: u64,
    pub admitted: u64,
    pub live: bool,
    pub max_frames: Option<u64>,
    pub interrupted: bool,
    pub poses: &'a PoseCounts,
    pub reconnections: u32,
    /// Frames whose timestamp was repaired (repeated, backward or missing in the input).
    pub repaired_timestamps: u64,
    pub stats: &'a [ElementStats],
}

impl Summary<'_> {
    pub fn print(&self) {
        let done = self.done;
        let secs = self.elapsed.as_secs_f64();
        say!(
            "hmr2-launch: {}{done} frames in {secs:.1} s ({:.1} frames/s)",
            if self.interrupted { "interrupted after " } else { "" },
            if secs > 0.0 { done as f64 / secs } else { 0.0 }
        );
        let dropped = self.arrived.saturating_sub(self.admitted.min(self.arrived));
        if self.live && !self.interrupted && dropped > 0 && self.max_frames.is_none_or(|m| self.admitted < m) {
            say!("hmr2-launch: dropped {dropped} frames: processing was slower than the live source");
        }
        for estimator in self.stats.iter().filter_map(|s| s.estimator.as_deref()) {
            say!("hmr2-launch: estimator: {estimator}");
            if estimator.contains("test network") {
                say!("hmr2-launch: note: the meshes are NOT estimates: give --model, or run scripts/setup.sh for the open models");
            }
        }
        let c = self.poses;
        let tracks = if c.track_ids.is_empty() { String::new() } else { format!(", {} track ids", c.track_ids.len()) };
        say!(
            "hmr2-launch: people found: {} in {} of {} frames (at most {} in one frame{tracks})",
            c.persons,
            c.frames_with_persons,
            c.frames,
            c.max_persons
        );
        if c.frames > 0 && c.frames_with_meta < c.frames {
            say!(
                "hmr2-launch: {} of {} frames carried no pose metadata{}",
                c.frames - c.frames_with_meta,
                c.frames,
                c.first_meta_error.as_deref().map(|e| format!(" (first problem: {e})")).unwrap_or_default()
            );
        }
        if self.repaired_timestamps > 0 {
            say!(
                "hmr2-launch: repaired the timestamps of {} of {done} frames (repeated, backward or missing in the input): \
                 each such frame follows the previous one by a frame duration",
                self.repaired_timestamps
            );
        }
        if self.reconnections > 0 {
            let times =
                if self.reconnections == 1 { "once".to_owned() } else { format!("{} times", self.reconnections) };
            say!("hmr2-launch: rtsp: reconnected {times}");
        }
        for s in self.stats {
            say!("hmr2-launch: {} stats: {s}", s.element);
        }
        if self.stats.is_empty() {
            say!("hmr2-launch: (no per-stage timings: the elements expose no 'stats' property)");
        }
    }
}

/// What was done to the input's picture, for the summary: turned upright, a still made a
/// clip, odd sides padded.
pub fn conformed(picture: &Picture) {
    let (w, h) = picture.upright_size();
    if picture.orientation != Orientation::Upright {
        say!(
            "hmr2-launch: every frame turned upright ({}) by the input's orientation tag: estimated and written {w}x{h}, as players show it",
            picture.orientation
        );
    }
    if picture.still {
        say!(
            "hmr2-launch: the still image was written as a {STILL_SECONDS} s clip: {STILL_FRAMES} frames at {STILL_FPS} frames/s"
        );
    }
    if w % 2 == 1 || h % 2 == 1 {
        say!(
            "hmr2-launch: {w}x{h} frames padded to {}x{} for H.264 (black column right / row bottom); the poses use the {w}x{h} frame",
            w + w % 2,
            h + h % 2
        );
    }
}
