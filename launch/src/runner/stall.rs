//! A file input that stops sending frames without ending: GStreamer 1.22's GIF demuxer
//! never sends end of stream (plain gst-launch-1.0 hangs too), and a damaged file can
//! leave a demuxer waiting. No input may hang the tool: when the processing queue is empty
//! (nothing holds the source back) and neither a frame nor audio arrived for
//! [`FILE_SILENCE`], the input is taken to have ended, and end of stream is sent into the
//! processing (and the audio branch) so the outputs are finished with what arrived.

use std::time::{Duration, Instant};

/// Silence after which a file input counts as ended.
pub const FILE_SILENCE: Duration = Duration::from_secs(5);

/// Watches how long the input has been silent.
#[derive(Debug)]
pub struct SilenceWatch {
    limit: Duration,
    last_change: Instant,
    seen: (u64, u64),
}

impl SilenceWatch {
    pub fn new(limit: Duration, now: Instant) -> Self {
        Self { limit, last_change: now, seen: (0, 0) }
    }

    /// Whether the input is silent past the limit, given the frames that arrived so far,
    /// the end of the audio so far (ns), and whether the processing queue is empty. A full
    /// queue means the source is waiting on the processing, not silent.
    pub fn silent(&mut self, now: Instant, frames_arrived: u64, audio_end_ns: u64, queue_empty: bool) -> bool {
        let seen = (frames_arrived, audio_end_ns);
        if seen != self.seen || !queue_empty {
            self.seen = seen;
            self.last_change = now;
            return false;
        }
        frames_arrived > 0 && now.duration_since(self.last_change) >= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_counts_from_the_last_frame_or_audio() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut w = SilenceWatch::new(s(5), t0);
        assert!(!w.silent(t0, 3, 0, true));
        assert!(!w.silent(t0 + s(4), 3, 0, true));
        assert!(w.silent(t0 + s(5), 3, 0, true));
        // Audio still flowing: not silent.
        assert!(!w.silent(t0 + s(6), 3, 100, true));
        assert!(!w.silent(t0 + s(10), 3, 100, true));
        assert!(w.silent(t0 + s(11), 3, 100, true));
    }

    #[test]
    fn a_full_queue_or_no_frame_yet_is_not_silence() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut w = SilenceWatch::new(s(5), t0);
        assert!(!w.silent(t0 + s(1), 8, 0, false));
        assert!(!w.silent(t0 + s(9), 8, 0, false), "waiting on the processing");
        assert!(!w.silent(t0 + s(10), 8, 0, true));
        assert!(w.silent(t0 + s(15), 8, 0, true));
        let mut w = SilenceWatch::new(s(5), t0);
        assert!(!w.silent(t0 + s(30), 0, 0, true), "the first frame is the discoverer's business");
    }
}
