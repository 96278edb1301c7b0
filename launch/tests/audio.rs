//! `hmr2-launch file` keeps the audio: multichannel PCM in MOV is downmixed, IMA-ADPCM in
//! AVI keeps its timeline, --max-frames cuts the audio with the video, and every audio
//! track is kept. Inputs are made by Debian's `ffmpeg` (GStreamer cannot write an
//! unpositioned PCM layout or ffmpeg's AVI ADPCM headers), outputs measured by decoding
//! them with GStreamer.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use gst::glib;
use gst::prelude::*;

const FPS: f64 = 30.0;
const FRAME_S: f64 = 1.0 / FPS;

/// Runs ffmpeg with `args` to write `out`.
fn ffmpeg(out: &Path, args: &[&str]) -> PathBuf {
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("ffmpeg is needed to make these inputs: apt-get install ffmpeg");
    assert!(status.success(), "ffmpeg failed for {}", out.display());
    out.to_owned()
}

/// One decoded audio track.
#[derive(Debug, Default, Clone, Copy)]
struct Track {
    /// Samples decoded / rate, in seconds.
    samples_s: f64,
    /// End of its timeline: the last buffer's timestamp plus duration, in seconds.
    end_s: f64,
    channels: u32,
}

/// What decoding a file's streams yields: video frames and the audio tracks.
#[derive(Debug, Default)]
struct Streams {
    video_frames: u64,
    audio: Vec<Track>,
}

fn decode_streams(path: &Path) -> Streams {
    init();
    let uri = glib::filename_to_uri(path.canonicalize().unwrap(), None).unwrap();
    let pipeline = gst::Pipeline::new();
    let dec = gst::ElementFactory::make("uridecodebin").property("uri", uri.as_str()).build().unwrap();
    pipeline.add(&dec).unwrap();
    let result = Arc::new(Mutex::new(Streams::default()));
    let r = result.clone();
    let weak = pipeline.downgrade();
    dec.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else { return };
        let caps = pad.current_caps().unwrap();
        let is_video = caps.structure(0).unwrap().name().starts_with("video/");
        let sink = gst::ElementFactory::make("fakesink").property("sync", false).build().unwrap();
        pipeline.add(&sink).unwrap();
        sink.sync_state_with_parent().unwrap();
        let track = {
            let mut s = r.lock().unwrap();
            if is_video {
                None
            } else {
                let info = gst_audio::AudioInfo::from_caps(&caps).unwrap();
                s.audio.push(Track { channels: info.channels(), ..Track::default() });
                Some((s.audio.len() - 1, info))
            }
        };
        let r = r.clone();
        sink.static_pad("sink").unwrap().add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(gst::PadProbeData::Buffer(b)) = &info.data {
                let mut s = r.lock().unwrap();
                match &track {
                    None => s.video_frames += 1,
                    Some((i, ai)) => {
                        let track = &mut s.audio[*i];
                        track.samples_s += (b.size() / ai.bpf() as usize) as f64 / ai.rate() as f64;
                        if let Some(pts) = b.pts() {
                            let end = pts + b.duration().unwrap_or(gst::ClockTime::ZERO);
                            track.end_s = track.end_s.max(end.seconds_f64());
                        }
                    }
                }
            }
            gst::PadProbeReturn::Ok
        });
        pad.link(&sink.static_pad("sink").unwrap()).unwrap();
    });
    run_to_eos(&pipeline, Duration::from_secs(60)).unwrap_or_else(|e| panic!("decoding {}: {e}", path.display()));
    let s = std::mem::take(&mut *result.lock().unwrap());
    s
}

/// Runs the tool on `input` (bundled test network) and decodes what it wrote.
fn run_tool(input: &Path, out: &Path, extra: &[&str]) -> (Streams, String) {
    let mut launch = Launch::file(input).output(out).with_test_network();
    for a in extra {
        launch = launch.arg(a);
    }
    let o = launch.run(Duration::from_secs(180));
    let (_, stderr) = assert_succeeded(&o);
    (decode_streams(out), stderr)
}

/// Every audio track lasts as long as the video, within one frame, both in samples and
/// in its timeline.
fn assert_audio_matches_video(s: &Streams, tracks: usize, what: &str) {
    assert_eq!(s.audio.len(), tracks, "{what}: audio tracks in {s:?}");
    let video_s = s.video_frames as f64 / FPS;
    for (i, t) in s.audio.iter().enumerate() {
        eprintln!(
            "{what}: track {i}: {:.4} s of samples ending at {:.4} s, video {video_s:.4} s",
            t.samples_s, t.end_s
        );
        for (audio_s, how) in [(t.samples_s, "samples"), (t.end_s, "timeline")] {
            assert!(
                (audio_s - video_s).abs() <= FRAME_S,
                "{what}: track {i} lasts {audio_s:.4} s ({how}), the video {video_s:.4} s"
            );
        }
    }
}

#[test]
fn multichannel_pcm_in_mov_is_downmixed_to_stereo() {
    let dir = scratch("audio-multichannel");
    for (name, layout) in
        [("quad", "4c|c0=c0|c1=c0|c2=c0|c3=c0"), ("surround", "5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0")]
    {
        let input = ffmpeg(
            &dir.join(&format!("{name}.mov")),
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x120:rate=30:duration=2",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=2:sample_rate=48000",
                "-filter_complex",
                &format!("[1:a]pan={layout}[a]"),
                "-map",
                "0:v",
                "-map",
                "[a]",
                "-c:v",
                "mjpeg",
                "-c:a",
                "pcm_s16le",
            ],
        );
        let (s, _) = run_tool(&input, &dir.join(&format!("{name}.mp4")), &["-q"]);
        assert_eq!(s.video_frames, 60, "{name}");
        assert_audio_matches_video(&s, 1, name);
        assert_eq!(s.audio[0].channels, 2, "{name}: downmixed to stereo");
    }
}

#[test]
fn ima_adpcm_in_avi_keeps_its_timeline() {
    let dir = scratch("audio-adpcm");
    let input = ffmpeg(
        &dir.join("adpcm.avi"),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=30:duration=3.05",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=3.05:sample_rate=22050",
            "-c:v",
            "mjpeg",
            "-c:a",
            "adpcm_ima_wav",
        ],
    );
    let (s, stderr) = run_tool(&input, &dir.join("adpcm.mp4"), &[]);
    assert_audio_matches_video(&s, 1, "adpcm");
    assert!(stderr.contains("restamped from their sample counts"), "the repair is reported:\n{stderr}");
}

#[test]
fn every_audio_track_is_kept_and_max_frames_cuts_them_with_the_video() {
    let dir = scratch("audio-tracks");
    let input = ffmpeg(
        &dir.join("two.mp4"),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=30:duration=3",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=3",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=880:duration=3:sample_rate=48000",
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-map",
            "2:a",
            "-c:v",
            "mjpeg",
            "-c:a",
            "aac",
        ],
    );
    let (whole, _) = run_tool(&input, &dir.join("whole.mp4"), &["-q"]);
    assert_eq!(whole.video_frames, 90);
    assert_audio_matches_video(&whole, 2, "both tracks");
    let (cut, _) = run_tool(&input, &dir.join("cut.mkv"), &["-q", "--max-frames", "30"]);
    assert_eq!(cut.video_frames, 30);
    assert_audio_matches_video(&cut, 2, "--max-frames 30");
}

#[test]
fn an_audio_track_that_cannot_be_decoded_never_costs_the_video() {
    let dir = scratch("audio-undecodable");
    let input = ffmpeg(
        &dir.join("two.mp4"),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=30:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=880:duration=2",
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-map",
            "2:a",
            "-c:v",
            "mjpeg",
            "-c:a",
            "aac",
        ],
    );
    // Blank the first AAC track's decoder configuration (its esds DecoderSpecificInfo, after
    // a DecoderConfigDescriptor of object type 0x40): no decoder takes it any more.
    let mut bytes = std::fs::read(&input).unwrap();
    let config = bytes.windows(6).position(|w| w[0] == 4 && w[1..4] == [0x80; 3] && w[5] == 0x40).unwrap();
    let info = config + bytes[config..].windows(4).position(|w| w[0] == 5 && w[1..4] == [0x80; 3]).unwrap();
    let len = bytes[info + 4] as usize;
    bytes[info + 5..info + 5 + len].fill(0);
    let broken = dir.join("broken-audio.mp4");
    std::fs::write(&broken, bytes).unwrap();

    let out = dir.join("video-kept.mp4");
    let o = Launch::file(&broken).output(&out).with_test_network().run(Duration::from_secs(60));
    let (_, stderr) = assert_succeeded(&o);
    assert!(stderr.contains("writing the video without it"), "the audio problem is reported:\n{stderr}");
    let s = decode_streams(&out);
    assert_eq!(s.video_frames, 60, "every frame kept: {s:?}");
    assert!(s.audio.is_empty(), "no audio: {s:?}");
}
