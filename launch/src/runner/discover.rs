//! What the input file holds, asked of GstDiscoverer before any pipeline is built: an
//! unreadable input stops there with its cause.

use std::path::Path;

use crate::{one_line, Failure};

pub struct InputInfo {
    pub uri: String,
    pub has_audio: bool,
    /// Frames the container announces (duration × frame rate), when both are known.
    pub frames: Option<u64>,
    /// Duration the container announces.
    pub duration: Option<gst::ClockTime>,
    /// One line for the user: size, frame rate, duration, audio.
    pub summary: String,
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
    let abs = path
        .canonicalize()
        .map_err(|e| Failure::runtime(format!("cannot open input {input}: {e}")))?;
    Ok(gst::glib::filename_to_uri(&abs, None)
        .map_err(|e| Failure::runtime(format!("cannot make a URI of {input}: {e}")))?
        .to_string())
}

pub fn discover(input: &str) -> Result<InputInfo, Failure> {
    let uri = input_uri(input)?;
    let discoverer = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(20))
        .map_err(|e| Failure::runtime(format!("cannot inspect the input: {e}")))?;
    let info = discoverer.discover_uri(&uri).map_err(|e| {
        Failure::runtime(format!(
            "cannot read input {input}: {}",
            one_line(e.message(), 200)
        ))
    })?;
    let videos = info.video_streams();
    let Some(video) = videos.first() else {
        return Err(Failure::runtime(format!(
            "input {input} has no video stream"
        )));
    };
    let fps = video.framerate();
    let duration = info.duration();
    let frames = duration.filter(|_| fps.numer() > 0).map(|d| {
        (d.nseconds() as f64 * fps.numer() as f64 / fps.denom() as f64 / 1e9).round() as u64
    });
    let has_audio = !info.audio_streams().is_empty();
    let summary = format!(
        "{}x{} at {:.3} frames/s, {}{}",
        video.width(),
        video.height(),
        if fps.denom() > 0 {
            fps.numer() as f64 / fps.denom() as f64
        } else {
            0.0
        },
        duration.map_or("unknown length".to_owned(), |d| format!(
            "{:.2} s",
            d.seconds_f64()
        )),
        if has_audio {
            ", with audio"
        } else {
            ", no audio"
        },
    );
    Ok(InputInfo {
        uri,
        has_audio,
        frames,
        duration,
        summary,
    })
}
