//! Pad probes on the audio branches (see [`crate::audio`]):
//!
//! - timestamps: decoded audio is continuous, so a buffer that starts before the previous
//!   one ended was stamped wrongly (avidemux stamps IMA-ADPCM blocks at half their length,
//!   which halves the track's timeline); it is restamped where the previous one ended;
//! - the cut: when the video stops early (--max-frames, an interrupt) the audio stops at
//!   the end of the last frame, the buffer across that point trimmed to the sample;
//! - how far the audio got, for the early-end check;
//! - tracks that cannot be decoded (no decoder takes them, a broken codec configuration):
//!   their branch never links and the muxer would wait for it forever (and a muxer pad
//!   without data makes an unreadable MP4). Once the decoder has exposed every stream,
//!   such a branch posts [`AUDIO_UNDECODABLE_MESSAGE`]: the run stops and is redone
//!   without audio.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use crate::audio;

use super::counters::Counters;

/// Name of the application message posted when an audio branch stayed unlinked.
pub const AUDIO_UNDECODABLE_MESSAGE: &str = "hmr2-launch-audio-undecodable";

/// Overlaps below this are rounding, not a wrong timestamp.
const OVERLAP_TOLERANCE_NS: u64 = 1_000_000;

/// Audio buffers restamped, all tracks together.
#[derive(Default)]
pub struct AudioRepairs {
    pub restamped: AtomicU64,
}

/// Bytes per frame (all channels of one sample) and sample rate of the pad's caps.
fn audio_format(pad: &gst::Pad) -> Option<(usize, u32)> {
    let caps = pad.current_caps()?;
    let info = gst_audio::AudioInfo::from_caps(&caps).ok()?;
    Some((info.bpf() as usize, info.rate()))
}

/// A buffer's duration: the one it carries (decoders set it, minus any clipped priming
/// samples), else from its size.
fn duration_ns(buffer: &gst::BufferRef, format: Option<(usize, u32)>) -> Option<u64> {
    match (buffer.duration(), format) {
        (Some(d), _) => Some(d.nseconds()),
        (None, Some((bpf, rate))) if bpf > 0 && rate > 0 => {
            Some((buffer.size() / bpf) as u64 * 1_000_000_000 / rate as u64)
        }
        _ => None,
    }
}

/// Installs the probes on every audio branch of `pipeline`.
pub fn install(pipeline: &gst::Pipeline, counters: &Arc<Counters>) -> Arc<AudioRepairs> {
    let repairs = Arc::new(AudioRepairs::default());
    let mut heads = Vec::new();
    for index in 0.. {
        let Some(queue) = pipeline.by_name(&audio::queue_name(index)) else {
            break;
        };
        let head = queue.static_pad("sink").expect("queue sink");
        install_restamp(&head, &repairs);
        install_cut(&queue.static_pad("src").expect("queue src"), counters);
        heads.push(head);
    }
    if let (Some(decoder), false) = (pipeline.by_name(crate::plan::DECODER), heads.is_empty()) {
        let bus = pipeline.bus().expect("pipeline has a bus");
        decoder.connect("no-more-pads", false, move |_| {
            let unlinked = heads.iter().filter(|h| !h.is_linked()).count();
            if unlinked > 0 {
                let s = gst::Structure::builder(AUDIO_UNDECODABLE_MESSAGE).field("tracks", unlinked as u32).build();
                let _ = bus.post(gst::message::Application::new(s));
            }
            None
        });
    }
    repairs
}

fn install_restamp(pad: &gst::Pad, repairs: &Arc<AudioRepairs>) {
    let next_pts: Mutex<Option<u64>> = Mutex::new(None);
    let repairs = repairs.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let format = audio_format(pad);
        let Some(gst::PadProbeData::Buffer(buffer)) = &mut info.data else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(pts) = buffer.pts().map(|p| p.nseconds()) else {
            return gst::PadProbeReturn::Ok;
        };
        let duration = duration_ns(buffer, format).unwrap_or(0);
        let mut next = next_pts.lock().unwrap_or_else(|e| e.into_inner());
        let pts = match *next {
            Some(expected) if pts + OVERLAP_TOLERANCE_NS < expected => {
                let b = buffer.make_mut();
                b.set_pts(gst::ClockTime::from_nseconds(expected));
                b.set_duration(gst::ClockTime::from_nseconds(duration));
                repairs.restamped.fetch_add(1, Ordering::Relaxed);
                expected
            }
            _ => pts,
        };
        *next = Some(pts + duration);
        gst::PadProbeReturn::Ok
    });
}

fn install_cut(pad: &gst::Pad, counters: &Arc<Counters>) {
    let c = counters.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let format = audio_format(pad);
        let Some(gst::PadProbeData::Buffer(buffer)) = &mut info.data else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(pts) = buffer.pts().map(|p| p.nseconds()) else {
            return gst::PadProbeReturn::Ok;
        };
        let mut end = pts + duration_ns(buffer, format).unwrap_or(0);
        let cutoff = c.cutoff_ns.load(Ordering::Relaxed);
        if cutoff > 0 && end > cutoff {
            if pts >= cutoff {
                return gst::PadProbeReturn::Drop;
            }
            if let Some((bpf, rate)) = format {
                let keep = ((cutoff - pts) as u128 * rate as u128 / 1_000_000_000) as usize;
                // Planar layouts keep their planes apart: truncate through the audio meta.
                let whole = std::mem::replace(buffer, gst::Buffer::new());
                let mut cut = gst_audio::audio_buffer_truncate(whole, bpf as u32, 0, Some(keep));
                cut.make_mut().set_duration(gst::ClockTime::from_nseconds(cutoff - pts));
                *buffer = cut;
                end = cutoff;
            }
        }
        c.audio_end_ns.fetch_max(end, Ordering::Relaxed);
        gst::PadProbeReturn::Ok
    });
}

/// Whether an error message comes from an audio branch: one of its elements, or an audio
/// decoder inside the input's decodebin.
pub fn from_audio_branch(msg: &gst::Message) -> bool {
    let Some(element) = msg.src().and_then(|s| s.downcast_ref::<gst::Element>()) else {
        return false;
    };
    audio::is_audio_branch_element(&element.name())
        || element.factory().is_some_and(|f| {
            let klass = f.metadata(gst::ELEMENT_METADATA_KLASS).unwrap_or_default();
            klass.contains("Audio") && !klass.contains("Video")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_come_from_the_size_when_the_format_is_known() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::with_size(4410 * 4).unwrap();
        buffer.get_mut().unwrap().set_duration(gst::ClockTime::from_mseconds(1));
        // The buffer's own duration first; without one, 4410 stereo 16-bit frames at
        // 44.1 kHz make 100 ms.
        assert_eq!(duration_ns(&buffer, Some((4, 44_100))), Some(1_000_000));
        buffer.get_mut().unwrap().set_duration(gst::ClockTime::NONE);
        assert_eq!(duration_ns(&buffer, Some((4, 44_100))), Some(100_000_000));
        assert_eq!(duration_ns(&buffer, None), None);
    }
}
