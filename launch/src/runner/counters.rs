//! Frame counters kept by pad probes: frames reaching the processing queue, frames let into
//! hmr2pose (where --max-frames stops the flow), frames out of the processing chain, and
//! how far into the input's timeline the video (and audio) got.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use gst::prelude::*;

/// Name of the application message posted when --max-frames frames were let in.
pub const MAX_FRAMES_MESSAGE: &str = "hmr2-launch-max-frames";

#[derive(Default)]
pub struct Counters {
    /// Frames that reached the processing queue.
    pub arrived: AtomicU64,
    /// Frames that left it into hmr2pose (after --max-frames).
    pub admitted: AtomicU64,
    /// Frames out of the processing chain.
    pub done: AtomicU64,
    /// Set on Ctrl-C: frames still queued in front of hmr2pose are dropped so the output
    /// is finished promptly.
    pub closing: AtomicBool,
    /// Latest end time (timestamp + duration, ns) of a frame out of the processing chain.
    pub video_end_ns: AtomicU64,
    /// Latest end time of an audio buffer, when the audio is kept.
    pub audio_end_ns: AtomicU64,
    /// Frames whose timestamp repeated, went back or was missing, and was repaired.
    pub repaired_timestamps: AtomicU64,
    /// End of stream reached the processing queue: the input ended.
    pub input_ended: AtomicBool,
    /// End time of the latest frame let into hmr2pose.
    pub admitted_end_ns: AtomicU64,
    /// Where the video stops early (--max-frames, an interrupt): the end time of the last
    /// frame let in; 0 while unknown. The audio is cut there too.
    pub cutoff_ns: AtomicU64,
}

impl Counters {
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    pub fn admitted(&self) -> u64 {
        self.admitted.load(Ordering::Relaxed)
    }

    /// How far into the input the run got: the later of the video and audio ends.
    pub fn reached(&self) -> gst::ClockTime {
        let ns = self.video_end_ns.load(Ordering::Relaxed).max(self.audio_end_ns.load(Ordering::Relaxed));
        gst::ClockTime::from_nseconds(ns)
    }
}

/// The latest end time (ns) among the buffers of a probe.
fn end_ns(info: &gst::PadProbeInfo) -> Option<u64> {
    let end = |b: &gst::BufferRef| b.pts().map(|p| (p + b.duration().unwrap_or(gst::ClockTime::ZERO)).nseconds());
    match &info.data {
        Some(gst::PadProbeData::Buffer(b)) => end(b),
        Some(gst::PadProbeData::BufferList(l)) => l.iter().filter_map(end).max(),
        _ => None,
    }
}

fn buffers_in(info: &gst::PadProbeInfo) -> u64 {
    match &info.data {
        Some(gst::PadProbeData::Buffer(_)) => 1,
        Some(gst::PadProbeData::BufferList(l)) => l.len() as u64,
        _ => 0,
    }
}

/// Counts the frames that reach `queue` and that leave it, drops frames past `max_frames`
/// (posting [`MAX_FRAMES_MESSAGE`] on `bus` when the last one is let in) and, once
/// `closing` is set, every frame still queued.
pub fn install_queue_probes(queue: &gst::Element, counters: &Arc<Counters>, max_frames: Option<u64>, bus: gst::Bus) {
    let c = counters.clone();
    queue.static_pad("sink").expect("queue sink").add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_, info| {
            if let Some(gst::PadProbeData::Event(e)) = &info.data {
                if e.type_() == gst::EventType::Eos {
                    c.input_ended.store(true, Ordering::Relaxed);
                }
            }
            c.arrived.fetch_add(buffers_in(info), Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        },
    );
    let c = counters.clone();
    queue.static_pad("src").expect("queue src").add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if c.closing.load(Ordering::Relaxed) {
            let end = c.admitted_end_ns.load(Ordering::Relaxed).max(1);
            let _ = c.cutoff_ns.compare_exchange(0, end, Ordering::Relaxed, Ordering::Relaxed);
            return gst::PadProbeReturn::Drop;
        }
        let n = c.admitted.fetch_add(1, Ordering::Relaxed) + 1;
        if max_frames.is_none_or(|m| n <= m) {
            if let Some(end) = end_ns(info) {
                c.admitted_end_ns.fetch_max(end, Ordering::Relaxed);
            }
        }
        match max_frames {
            Some(m) if n > m => gst::PadProbeReturn::Drop,
            Some(m) if n == m => {
                let end = c.admitted_end_ns.load(Ordering::Relaxed).max(1);
                let _ = c.cutoff_ns.compare_exchange(0, end, Ordering::Relaxed, Ordering::Relaxed);
                let _ =
                    bus.post(gst::message::Application::builder(gst::Structure::new_empty(MAX_FRAMES_MESSAGE)).build());
                gst::PadProbeReturn::Ok
            }
            _ => gst::PadProbeReturn::Ok,
        }
    });
}

/// Counts the frames that leave the processing chain through `pad`.
pub fn install_done_probe(pad: &gst::Pad, counters: &Arc<Counters>) {
    let c = counters.clone();
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |_, info| {
        c.done.fetch_add(buffers_in(info), Ordering::Relaxed);
        if let Some(end) = end_ns(info) {
            c.video_end_ns.fetch_max(end, Ordering::Relaxed);
        }
        gst::PadProbeReturn::Ok
    });
}
