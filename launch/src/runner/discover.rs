//! What the input file holds, asked of GstDiscoverer before any pipeline is built: an
//! unreadable input stops there with its cause.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use gst::prelude::*;
use gst_pbutils::prelude::*;

use crate::audio::AudioTrack;
use crate::conform::{Orientation, Picture, STILL_FPS, STILL_FRAMES, STILL_SECONDS};
use crate::{one_line, Failure};

/// A run that ends this much (or two frames, when longer) before the announced duration
/// counts as ended early; smaller gaps are rounding and track-length differences.
pub const EARLY_END_TOLERANCE: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct InputInfo {
    pub uri: String,
    /// The audio tracks, in the discoverer's order.
    pub audio_tracks: Vec<AudioTrack>,
    /// Frames the container announces (duration × frame rate), when both are known.
    pub frames: Option<u64>,
    /// Duration the container announces.
    pub duration: Option<gst::ClockTime>,
    /// Duration of one frame, from the frame rate.
    pub frame_duration: Option<gst::ClockTime>,
    /// One line for the user: size, frame rate, duration, audio.
    pub summary: String,
    /// The first frame's picture: size, orientation, pixel aspect, frame rate, still.
    pub picture: Picture,
}

/// The URI of `input`, a path or a URI.
fn input_uri(input: &str) -> Result<String, Failure> {
    if input.contains("://") {
        return Ok(input.to_owned());
    }
    let path = Path::new(input);
    if !path.exists() {
        return Err(Failure::runtime(format!("input file not found: {input}")));
    }
    if !path.is_file() {
        return Err(Failure::runtime(format!("input is not a file: {input}")));
    }
    let abs = path.canonicalize().map_err(|e| Failure::runtime(format!("cannot open input {input}: {e}")))?;
    Ok(gst::glib::filename_to_uri(&abs, None)
        .map_err(|e| Failure::runtime(format!("cannot make a URI of {input}: {e}")))?
        .to_string())
}

pub fn discover(input: &str) -> Result<InputInfo, Failure> {
    let uri = input_uri(input)?;
    let discoverer = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(20))
        .map_err(|e| Failure::runtime(format!("cannot inspect the input: {e}")))?;
    let info = discoverer
        .discover_uri(&uri)
        .map_err(|e| Failure::runtime(format!("cannot read input {input}: {}", one_line(e.message(), 200))))?;
    let videos = info.video_streams();
    let Some(video) = videos.first() else {
        return Err(Failure::runtime(format!("input {input} has no video stream")));
    };
    let fps = video.framerate();
    let duration = info.duration();
    let frames = duration
        .filter(|_| fps.numer() > 0)
        .map(|d| (d.nseconds() as f64 * fps.numer() as f64 / fps.denom() as f64 / 1e9).round() as u64);
    let audio_streams = info.audio_streams();
    // A track no decoder takes would never reach its branch, and the muxer would wait for
    // it forever: it is left out (and said so).
    let audio_tracks: Vec<AudioTrack> = audio_streams
        .iter()
        .filter(|a| a.caps().is_none_or(|c| crate::audio::decodable(&c)))
        .map(|a| AudioTrack { channels: a.channels(), channel_mask: a.channel_mask() })
        .collect();
    let undecodable = audio_streams.len() - audio_tracks.len();
    let has_audio = !audio_tracks.is_empty();
    let orientation = video
        .tags()
        .and_then(|t| t.get::<gst::tags::ImageOrientation>().map(|o| o.get().to_owned()))
        .and_then(|o| Orientation::from_tag(o.as_str()))
        .unwrap_or(Orientation::Upright);
    let par = video.par();
    let rate = (fps.numer() > 0 && fps.denom() > 0).then(|| fps.numer() as f64 / fps.denom() as f64);
    let still = video.is_image() || (rate.is_none() && frames.is_none_or(|f| f <= 1));
    let picture = Picture {
        width: video.width(),
        height: video.height(),
        orientation,
        par: if par.numer() > 0 && par.denom() > 0 { (par.numer(), par.denom()) } else { (1, 1) },
        fps: if still { Some(STILL_FPS as f64) } else { rate },
        still,
    };
    picture.check().map_err(|e| Failure::runtime(e.to_string()))?;
    let turned = match orientation {
        Orientation::Upright => String::new(),
        o => {
            let (w, h) = picture.upright_size();
            format!(", stored turned by its orientation tag: turned upright ({o}) to {w}x{h}, as players show it")
        }
    };
    let summary = if still {
        format!(
            "{}x{} still image{turned}; written as a {STILL_SECONDS} s clip ({STILL_FRAMES} frames at {STILL_FPS} frames/s)",
            video.width(),
            video.height()
        )
    } else {
        format!(
            "{}x{} at {:.3} frames/s, {}{}{turned}",
            video.width(),
            video.height(),
            rate.unwrap_or(0.0),
            duration.map_or("unknown length".to_owned(), |d| format!("{:.2} s", d.seconds_f64())),
            if has_audio { ", with audio" } else { ", no audio" },
        ) + &if undecodable > 0 {
            format!(" ({undecodable} audio track(s) no decoder takes: left out)")
        } else {
            String::new()
        }
    };
    let frame_duration = (fps.numer() > 0 && fps.denom() > 0).then(|| {
        gst::ClockTime::SECOND.mul_div_floor(fps.denom() as u64, fps.numer() as u64).unwrap_or(gst::ClockTime::ZERO)
    });
    Ok(InputInfo {
        uri,
        audio_tracks,
        frames: if still { Some(STILL_FRAMES as u64) } else { frames },
        duration,
        frame_duration,
        summary,
        picture,
    })
}

/// A run that ended before the input's announced length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyEnd {
    pub frames_done: u64,
    pub frames_announced: Option<u64>,
    pub reached: gst::ClockTime,
    pub announced: gst::ClockTime,
}

impl fmt::Display for EarlyEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frames = match self.frames_announced {
            Some(n) => format!("{} of {n} frames", self.frames_done),
            None => format!("{} frames", self.frames_done),
        };
        write!(
            f,
            "the input ended early: {frames} ({:.2} s of {:.2} s)",
            self.reached.seconds_f64(),
            self.announced.seconds_f64()
        )
    }
}

impl InputInfo {
    /// Whether a run whose frames reached `reached` (end time of the last one) after
    /// `frames_done` frames stopped short of the announced duration.
    pub fn early_end(&self, reached: gst::ClockTime, frames_done: u64) -> Option<EarlyEnd> {
        let announced = self.duration?;
        let two_frames = self.frame_duration.unwrap_or(gst::ClockTime::ZERO) * 2;
        let tolerance = two_frames.max(gst::ClockTime::from_nseconds(EARLY_END_TOLERANCE.as_nanos() as u64));
        (reached + tolerance < announced).then_some(EarlyEnd {
            frames_done,
            frames_announced: self.frames,
            reached,
            announced,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(duration_ms: u64, fps: u64) -> InputInfo {
        InputInfo {
            uri: String::new(),
            audio_tracks: Vec::new(),
            frames: Some(duration_ms * fps / 1000),
            duration: Some(gst::ClockTime::from_mseconds(duration_ms)),
            frame_duration: Some(gst::ClockTime::SECOND / fps),
            summary: String::new(),
            picture: Picture {
                width: 64,
                height: 48,
                orientation: Orientation::Upright,
                par: (1, 1),
                fps: None,
                still: false,
            },
        }
    }

    #[test]
    fn a_run_short_of_the_announced_duration_ended_early() {
        let ms = gst::ClockTime::from_mseconds;
        let clip = info(20_000, 30);
        let early = clip.early_end(ms(9_933), 298).unwrap();
        assert_eq!(early.to_string(), "the input ended early: 298 of 600 frames (9.93 s of 20.00 s)");
        // Complete, or within the tolerance (0.25 s here).
        assert_eq!(clip.early_end(ms(20_000), 600), None);
        assert_eq!(clip.early_end(ms(19_800), 594), None);
        assert!(clip.early_end(ms(19_700), 591).is_some());
        // At 2 frames/s two frames (1 s) is the larger tolerance.
        let slow = info(10_000, 2);
        assert_eq!(slow.early_end(ms(9_000), 18), None);
        assert!(slow.early_end(ms(8_500), 17).is_some());
        // Unknown duration: nothing to compare with.
        let unknown = InputInfo { duration: None, ..info(1_000, 30) };
        assert_eq!(unknown.early_end(ms(0), 0), None);
    }
}
