//! Repairing frame timestamps that repeat, go back or are missing, before the frames reach
//! the processing: Xvid/DivX AVIs with packed B-frames, animated GIFs (every frame at 0),
//! VFR WebM with millisecond rounding and slightly damaged MKVs all decode to such
//! streams, and the encoder and muxer then drop frames or stop ("Buffer has no PTS").
//!
//! Every frame is kept: one that does not come after the previous one is stamped one frame
//! duration after it (its own duration, else the stream's frame rate, else 1/30 s). Frames
//! in order keep their timestamps, so a clean input is untouched.

use std::sync::Mutex;

use gst::prelude::*;

/// One frame at 30 frames/s, when neither the buffer nor the caps say how long a frame is.
pub const FALLBACK_FRAME_NS: u64 = 33_333_333;

/// The repair's state: the last timestamp given out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Repair {
    last: Option<u64>,
}

impl Repair {
    /// The timestamp for a frame stamped `pts` (None: unstamped), `step` ns after the
    /// previous frame's when it does not come after it. Returns the timestamp and whether
    /// it was changed.
    pub fn next(&mut self, pts: Option<u64>, step: u64) -> (u64, bool) {
        let (ts, changed) = match (pts, self.last) {
            (Some(p), Some(last)) if p > last => (p, false),
            (Some(p), None) => (p, false),
            (_, Some(last)) => (last + step.max(1), true),
            (None, None) => (0, true),
        };
        self.last = Some(ts);
        (ts, changed)
    }
}

/// Repairs the timestamps of the buffers through `pad` (a sink pad); `on_repair` is called
/// for each frame whose timestamp was changed.
pub fn install(pad: &gst::Pad, on_repair: impl Fn() + Send + Sync + 'static) {
    struct State {
        repair: Repair,
        /// One frame at the caps' frame rate.
        caps_frame_ns: Option<u64>,
    }
    let state = Mutex::new(State { repair: Repair::default(), caps_frame_ns: None });
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        match &mut info.data {
            Some(gst::PadProbeData::Event(ev)) => match ev.view() {
                gst::EventView::Caps(c) => {
                    state.caps_frame_ns = gst_video::VideoInfo::from_caps(c.caps())
                        .ok()
                        .map(|i| i.fps())
                        .filter(|f| f.numer() > 0 && f.denom() > 0)
                        .map(|f| 1_000_000_000u64 * f.denom() as u64 / f.numer() as u64);
                }
                // A new segment (a seek, a new stream) starts a new timeline.
                gst::EventView::Segment(_) => state.repair = Repair::default(),
                _ => {}
            },
            Some(gst::PadProbeData::Buffer(buffer)) => {
                let own = buffer.duration().map(|d| d.nseconds()).filter(|&d| d > 0);
                let step = own.or(state.caps_frame_ns).unwrap_or(FALLBACK_FRAME_NS);
                let (ts, changed) = state.repair.next(buffer.pts().map(|p| p.nseconds()), step);
                if changed {
                    on_repair();
                    let b = buffer.make_mut();
                    b.set_pts(gst::ClockTime::from_nseconds(ts));
                    b.set_dts(gst::ClockTime::NONE);
                    if own.is_none() {
                        b.set_duration(gst::ClockTime::from_nseconds(step));
                    }
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stamps: &[Option<u64>], step: u64) -> (Vec<u64>, usize) {
        let mut r = Repair::default();
        let out: Vec<(u64, bool)> = stamps.iter().map(|&p| r.next(p, step)).collect();
        (out.iter().map(|o| o.0).collect(), out.iter().filter(|o| o.1).count())
    }

    #[test]
    fn clean_timestamps_are_kept() {
        assert_eq!(run(&[Some(0), Some(40), Some(80), Some(200)], 40), (vec![0, 40, 80, 200], 0));
        // A stream that starts late keeps its start.
        assert_eq!(run(&[Some(500), Some(540)], 40), (vec![500, 540], 0));
    }

    #[test]
    fn repeated_backward_and_missing_timestamps_follow_the_previous_frame() {
        // An animated GIF: every frame at 0.
        assert_eq!(run(&[Some(0); 4], 100), (vec![0, 100, 200, 300], 3));
        // Repeats, a missing one, a step back, then clean frames again.
        assert_eq!(
            run(&[Some(0), Some(40), Some(40), None, Some(60), Some(200), Some(240)], 40),
            (vec![0, 40, 80, 120, 160, 200, 240], 3)
        );
        // Unstamped from the start.
        assert_eq!(run(&[None, None], 33), (vec![0, 33], 2));
    }
}
