//! Everyday inputs come out right: odd frame sizes, phone rotation (MP4 display matrix,
//! JPEG EXIF), broken timestamps, animated GIFs, stills, pose times equal to the output's,
//! and the estimator named in the summary. Inputs are made by the tests with GStreamer, or
//! with Debian's `ffmpeg` where GStreamer cannot write them (a display matrix).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use gst::prelude::*;
use gst_pbutils::prelude::*;

const T: Duration = Duration::from_secs(120);

/// Runs Debian's ffmpeg (quietly); panics with what to install when it is missing.
fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("this test makes its input with ffmpeg ({e}): apt-get install ffmpeg"));
    assert!(status.success(), "ffmpeg {args:?} failed");
}

/// An RGB picture.
struct Rgb {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl Rgb {
    fn at(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    fn is_red(&self, x: usize, y: usize) -> bool {
        let [r, g, b] = self.at(x, y);
        r > 180 && g < 70 && b < 70
    }
}

/// The first video frame of `path`, as GStreamer decodes it, in RGB.
fn first_frame(path: &Path) -> Rgb {
    let uri = gst::glib::filename_to_uri(path.canonicalize().unwrap(), None).unwrap();
    let (pipeline, sink) = appsink_pipeline(&format!(
        "uridecodebin uri=\"{uri}\" ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false"
    ));
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.try_pull_sample(gst::ClockTime::from_seconds(30)).expect("no frame decoded");
    let _ = pipeline.set_state(gst::State::Null);
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(sample.buffer().unwrap(), &info).unwrap();
    let (width, height) = (info.width() as usize, info.height() as usize);
    let stride = info.stride()[0] as usize;
    let plane = frame.plane_data(0).unwrap();
    let mut data = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        data.extend_from_slice(&plane[y * stride..y * stride + width * 3]);
    }
    Rgb { width, height, data }
}

/// The `image-orientation` tag of a file's video stream, if any.
fn orientation_tag(path: &Path) -> Option<String> {
    init();
    let uri = gst::glib::filename_to_uri(path.canonicalize().unwrap(), None).unwrap();
    let info = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(20)).unwrap().discover_uri(&uri).unwrap();
    let video = info.video_streams().into_iter().next()?;
    let tags = video.tags()?;
    tags.get::<gst::tags::ImageOrientation>().map(|o| o.get().to_string())
}

/// A blue picture with a red block in its stored top-left corner (a quarter of each side).
fn marked_png(dir: &Scratch, width: u32, height: u32) -> PathBuf {
    let png = dir.join("marked.png");
    let filter =
        format!("color=c=blue:size={width}x{height},drawbox=x=0:y=0:w={}:h={}:color=red:t=fill", width / 4, height / 4);
    ffmpeg(&["-f", "lavfi", "-i", &filter, "-frames:v", "1", png.to_str().unwrap()]);
    png
}

/// The tool on the test network, with the mesh drawn invisibly (the corners must show the
/// picture itself).
fn launch_plain(input: &Path) -> Launch {
    Launch::file(input).with_test_network().opt("--opacity", "0")
}

// ----- 2: odd sizes, tiny frames -----

#[test]
fn odd_sizes_are_padded_by_one_pixel_and_poses_keep_the_input_size() {
    let dir = scratch("inputs-odd");
    let clip = dir.join("odd.mkv");
    write_with_gstreamer(&format!(
        "videotestsrc num-buffers=12 pattern=white ! video/x-raw,width=641,height=427,framerate=30/1 ! \
         jpegenc ! matroskamux ! filesink location=\"{}\"",
        clip.display()
    ));
    let out = dir.join("odd-out.mp4");
    let poses = dir.join("odd.jsonl");
    let o = launch_plain(&clip).output(&out).poses(&poses).arg("-q").run(T);
    let (_, stderr) = assert_succeeded(&o);
    assert!(stderr.contains("641x427 frames padded to 642x428 for H.264"), "the summary says so:\n{stderr}");
    let decoded = decode(&out);
    assert_eq!(decoded.frames, 12, "every frame written");
    assert_eq!((decoded.width, decoded.height), (642, 428), "one column and one row added");
    let lines = read_poses(&poses);
    assert_eq!(lines.len(), 12);
    for l in &lines {
        assert_eq!((l["width"].as_u64(), l["height"].as_u64()), (Some(641), Some(427)), "{l}");
        // The test network's one person is the whole input frame, in its own coordinates.
        let bbox: Vec<f64> = l["persons"][0]["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(bbox, [0.0, 0.0, 641.0, 427.0]);
    }
    // The added column and row are black; the picture's last column and row are white.
    let frame = first_frame(&out);
    for (x, y) in [(641, 10), (10, 427), (641, 427)] {
        assert!(frame.at(x, y).iter().all(|&c| c < 40), "padding at ({x}, {y}): {:?}", frame.at(x, y));
    }
    for (x, y) in [(640, 10), (10, 426), (640, 426)] {
        assert!(frame.at(x, y).iter().all(|&c| c > 215), "picture at ({x}, {y}): {:?}", frame.at(x, y));
    }
}

#[test]
fn frames_under_16_pixels_are_refused_with_the_minimum() {
    let dir = scratch("inputs-tiny");
    let clip = dir.join("tiny.mkv");
    write_with_gstreamer(&format!(
        "videotestsrc num-buffers=5 ! video/x-raw,format=I420,width=14,height=16,framerate=30/1 ! \
         matroskamux ! filesink location=\"{}\"",
        clip.display()
    ));
    let start = Instant::now();
    let o = Launch::file(&clip).with_test_network().output(dir.join("o.mp4")).run(T);
    assert_fails_with(&o, "the input's frames are 14x16 pixels: hmr2-launch needs at least 16x16");
    assert_eq!(o.status.code(), Some(1));
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
}

// ----- 1: phone rotation -----

#[test]
fn a_display_matrix_turns_the_frames_upright() {
    let dir = scratch("inputs-rotation");
    let png = marked_png(&dir, 320, 240);
    let stored = dir.join("stored.mp4");
    ffmpeg(&[
        "-loop",
        "1",
        "-framerate",
        "30",
        "-i",
        png.to_str().unwrap(),
        "-t",
        "1",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        stored.to_str().unwrap(),
    ]);
    // A portrait phone clip: the pixels are stored landscape, the display matrix turns
    // them 90° counter-clockwise (ffmpeg's rotate=90) when played.
    let phone = dir.join("phone.mp4");
    ffmpeg(&["-i", stored.to_str().unwrap(), "-c", "copy", "-metadata:s:v:0", "rotate=90", phone.to_str().unwrap()]);
    assert_eq!(orientation_tag(&phone).as_deref(), Some("rotate-270"), "the test input carries its rotation");
    // Where ffmpeg's player path (autorotate) shows the marked corner: bottom left.
    let reference = dir.join("reference.png");
    ffmpeg(&["-i", phone.to_str().unwrap(), "-frames:v", "1", reference.to_str().unwrap()]);
    let reference = first_frame(&reference);
    assert_eq!((reference.width, reference.height), (240, 320));
    assert!(reference.is_red(5, 315) && !reference.is_red(5, 5), "ffmpeg shows the mark bottom left");

    let out = dir.join("upright.mp4");
    let poses = dir.join("upright.jsonl");
    let o = launch_plain(&phone).output(&out).poses(&poses).run(T);
    let (_, stderr) = assert_succeeded(&o);
    assert!(
        stderr.contains("every frame turned upright (90° counter-clockwise) by the input's orientation tag: estimated and written 240x320"),
        "the summary says so:\n{stderr}"
    );
    let frame = first_frame(&out);
    assert_eq!((frame.width, frame.height), (240, 320), "portrait output");
    for (x, y) in [(5, 315), (50, 270)] {
        assert!(frame.is_red(x, y), "the mark is bottom left like the player shows it: {:?}", frame.at(x, y));
    }
    for (x, y) in [(5, 5), (235, 5), (235, 315)] {
        assert!(!frame.is_red(x, y), "no mark at ({x}, {y})");
    }
    // Upright pixels and no rotation of its own: players show what the estimator saw.
    assert!(matches!(orientation_tag(&out).as_deref(), None | Some("rotate-0")), "{:?}", orientation_tag(&out));
    let line = &read_poses(&poses)[0];
    assert_eq!((line["width"].as_u64(), line["height"].as_u64()), (Some(240), Some(320)));
}

#[test]
fn a_photo_with_exif_orientation_is_turned_upright() {
    let dir = scratch("inputs-exif");
    let png = marked_png(&dir, 64, 48);
    let photo = dir.join("photo.jpg");
    // EXIF orientation 6 ("rotate-90": turn 90° clockwise to show).
    write_with_gstreamer(&format!(
        "filesrc location=\"{}\" ! pngdec ! videoconvert ! jpegenc ! taginject tags=\"image-orientation=rotate-90\" ! \
         jifmux ! filesink location=\"{}\"",
        png.display(),
        photo.display()
    ));
    let out = dir.join("photo.mp4");
    let o = launch_plain(&photo).output(&out).run(T);
    let (_, stderr) = assert_succeeded(&o);
    assert!(stderr.contains("every frame turned upright (90° clockwise)"), "{stderr}");
    let frame = first_frame(&out);
    assert_eq!((frame.width, frame.height), (48, 64));
    // Turned clockwise, the stored top-left corner is at the top right.
    assert!(frame.is_red(44, 3), "mark top right: {:?}", frame.at(44, 3));
    assert!(!frame.is_red(3, 3) && !frame.is_red(3, 60) && !frame.is_red(44, 60));
}

// ----- 8: stills -----

#[test]
fn a_still_image_becomes_a_one_second_clip() {
    let dir = scratch("inputs-still");
    let png = marked_png(&dir, 160, 120);
    let out = dir.join("still.mp4");
    let poses = dir.join("still.jsonl");
    let o = launch_plain(&png).output(&out).poses(&poses).run(T);
    let (_, stderr) = assert_succeeded(&o);
    assert!(stderr.contains("still image; written as a 1 s clip (25 frames at 25 frames/s)"), "{stderr}");
    assert!(stderr.contains("the still image was written as a 1 s clip: 25 frames at 25 frames/s"), "{stderr}");
    let decoded = decode(&out);
    assert_eq!(decoded.frames, 25);
    assert!(decoded.video_caps.contains("framerate=(fraction)25/1"), "{}", decoded.video_caps);
    let duration = decoded.duration.expect("a duration");
    assert_eq!(duration, gst::ClockTime::SECOND, "duration");
    assert_eq!(decoded.last_pts, Some(gst::ClockTime::from_mseconds(960)));
    assert_eq!(read_poses(&poses).len(), 25);
}

// ----- 3: repeated or missing timestamps -----

/// The timestamps of every decoded video frame of `path`, in output order.
fn frame_times(path: &Path) -> Vec<Option<gst::ClockTime>> {
    let uri = gst::glib::filename_to_uri(path.canonicalize().unwrap(), None).unwrap();
    let (pipeline, sink) =
        appsink_pipeline(&format!("uridecodebin uri=\"{uri}\" ! videoconvert ! appsink name=sink sync=false"));
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut times = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        times.push(sample.buffer().unwrap().pts());
    }
    assert!(sink.is_eos(), "{} did not decode to its end", path.display());
    let _ = pipeline.set_state(gst::State::Null);
    times
}

/// An MJPEG MKV whose frames carry the given timestamps (ms), as a damaged file or an
/// AVI with packed B-frames decodes.
fn clip_with_timestamps(path: &Path, stamps_ms: &[u64]) {
    let (w, h) = (64usize, 48usize);
    let pipeline = gst::parse::launch(&format!(
        "appsrc name=src format=time caps=video/x-raw,format=I420,width={w},height={h},framerate=25/1 ! \
         jpegenc ! matroskamux ! filesink location=\"{}\"",
        path.display()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let src = pipeline.by_name("src").unwrap().downcast::<gst_app::AppSrc>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    for (i, &ms) in stamps_ms.iter().enumerate() {
        let mut buffer = gst::Buffer::from_mut_slice(vec![(i * 10 % 200) as u8 + 30; w * h * 3 / 2]);
        let b = buffer.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_mseconds(ms));
        b.set_duration(gst::ClockTime::from_mseconds(40));
        src.push_buffer(buffer).unwrap();
    }
    src.end_of_stream().unwrap();
    let bus = pipeline.bus().unwrap();
    let msg =
        bus.timed_pop_filtered(gst::ClockTime::from_seconds(30), &[gst::MessageType::Eos, gst::MessageType::Error]);
    let _ = pipeline.set_state(gst::State::Null);
    assert!(matches!(msg.map(|m| m.type_()), Some(gst::MessageType::Eos)), "cannot write {}", path.display());
}

fn assert_increasing(times: &[Option<gst::ClockTime>]) {
    for (i, w) in times.windows(2).enumerate() {
        assert!(
            w[0].is_some() && w[1].is_some() && w[1] > w[0],
            "timestamps not increasing at frame {}: {:?} then {:?}",
            i + 1,
            w[0],
            w[1]
        );
    }
}

#[test]
fn repeated_timestamps_are_repaired_and_every_frame_kept() {
    init();
    let dir = scratch("inputs-timestamps");
    let clip = dir.join("repeats.mkv");
    // 24 frames at 25 frames/s; every fourth repeats the previous timestamp, as B-frame
    // AVIs and millisecond-rounded VFR files decode.
    let stamps: Vec<u64> = (0..24u64).map(|i| if i % 4 == 3 { (i - 1) * 40 } else { i * 40 }).collect();
    clip_with_timestamps(&clip, &stamps);
    let input = frame_times(&clip);
    assert_eq!(input.len(), 24, "the test input holds every frame");
    assert!(input.windows(2).any(|w| w[0] == w[1]), "the test input repeats timestamps: {input:?}");

    for ext in ["mp4", "mkv"] {
        let out = dir.join(&format!("repaired.{ext}"));
        let poses = dir.join(&format!("repaired-{ext}.jsonl"));
        let o = Launch::file(&clip).with_test_network().output(&out).poses(&poses).run(T);
        let (_, stderr) = assert_succeeded(&o);
        assert!(stderr.contains("repaired the timestamps of 6 of 24 frames"), "{stderr}");
        let times = frame_times(&out);
        assert_eq!(times.len(), 24, "{ext}: every frame decodes");
        assert_increasing(&times);
        assert_eq!(read_poses(&poses).len(), 24);
    }
}

// ----- 4: animated GIFs, inputs that stop without ending -----

#[test]
fn an_animated_gif_finishes_within_seconds() {
    let dir = scratch("inputs-gif");
    let gif = dir.join("anim.gif");
    ffmpeg(&["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10", "-t", "1.5", gif.to_str().unwrap()]);
    let out = dir.join("anim.mp4");
    let start = Instant::now();
    let o = Launch::file(&gif).with_test_network().output(&out).run(Duration::from_secs(60));
    let took = start.elapsed();
    let (_, stderr) = assert_succeeded(&o);
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let times = frame_times(&out);
    assert_eq!(times.len(), 15, "every frame of the GIF:\n{stderr}");
    assert_increasing(&times);
    // 10 frames/s, as the GIF's frame delays say.
    assert_eq!(times[14], Some(gst::ClockTime::from_mseconds(1400)));
    eprintln!("GIF run took {took:?}");
}

// ----- 9: pose times are the output's times -----

#[test]
fn pose_times_equal_the_output_video_times() {
    let dir = scratch("inputs-pose-times");
    // B-frames in MP4 (the decoder delay sits in the edit list) and MPEG-TS (streams start
    // at an offset): the decoded timestamps do not start at 0, the output's do.
    for (name, mux) in [("bframes.mp4", "mp4mux"), ("bframes.ts", "mpegtsmux")] {
        let clip = dir.join(name);
        write_with_gstreamer(&format!(
            "videotestsrc num-buffers=30 ! video/x-raw,width=160,height=120,framerate=30/1 ! \
             x264enc bframes=2 ! {mux} ! filesink location=\"{}\"",
            clip.display()
        ));
        let out = dir.join(&format!("{name}.mp4"));
        let poses = dir.join(&format!("{name}.jsonl"));
        let o = Launch::file(&clip).with_test_network().output(&out).poses(&poses).arg("-q").run(T);
        assert_succeeded(&o);
        let video: Vec<u64> = frame_times(&out).iter().map(|t| t.expect("timestamp").nseconds()).collect();
        let lines: Vec<u64> = read_poses(&poses).iter().map(|l| l["timestamp_ns"].as_u64().unwrap()).collect();
        assert_eq!(video.len(), 30, "{name}");
        assert_eq!(lines.len(), video.len(), "{name}: one pose line per frame");
        // Equal up to the container's time resolution (MP4 stores a timescale).
        for (i, (p, v)) in lines.iter().zip(&video).enumerate() {
            assert!(p.abs_diff(*v) <= 100_000, "{name} frame {i}: pose at {p} ns, video at {v} ns");
        }
    }
}

// ----- 11: the estimator is named -----

#[test]
fn the_summary_names_the_estimator_and_warns_about_the_test_network() {
    let dir = scratch("inputs-estimator");
    let poses = dir.join("p.jsonl");
    let o = Launch::file(sample_clip()).with_test_network().poses(&poses).max_frames(3).run(T);
    let (_, stderr) = assert_succeeded(&o);
    assert!(
        stderr.contains("estimator: the bundled HMR2 test network (made-up weights): estimates nothing"),
        "{stderr}"
    );
    assert!(stderr.contains("the meshes are NOT estimates"), "{stderr}");
    // A real model is named with what it estimates, and no such note.
    let landmarks = repo_root().join(".deps/models/pose_landmark_full.onnx");
    if landmarks.is_file() {
        let o = Launch::file(sample_clip()).poses(&poses).max_frames(3).opt("--model", &landmarks).run(T);
        let (_, stderr) = assert_succeeded(&o);
        assert!(
            stderr.contains(
                "estimator: BlazePose landmark model fitted to the SMPL skeleton: pose and placement, not body shape"
            ),
            "{stderr}"
        );
        assert!(!stderr.contains("NOT estimates"), "{stderr}");
    } else {
        eprintln!("{} is missing (scripts/setup.sh makes it): only the test network was checked", landmarks.display());
    }
}

// ----- 10: resolution changes, bit rate, field order -----

/// The size of every decoded video frame of `path`.
fn frame_sizes(path: &Path) -> Vec<(u32, u32)> {
    let uri = gst::glib::filename_to_uri(path.canonicalize().unwrap(), None).unwrap();
    let (pipeline, sink) =
        appsink_pipeline(&format!("uridecodebin uri=\"{uri}\" ! videoconvert ! appsink name=sink sync=false"));
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut sizes = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
        sizes.push((info.width(), info.height()));
    }
    let _ = pipeline.set_state(gst::State::Null);
    sizes
}

#[test]
fn a_mid_stream_resolution_change_is_scaled_to_the_first_size() {
    let dir = scratch("inputs-resize");
    // Two H.264 streams, 320x180 then 640x360, one after the other in an MPEG-TS (as a
    // broadcast or a screen recording switches resolution).
    let mut stream = Vec::new();
    for (i, (w, h)) in [(320, 180), (640, 360)].iter().enumerate() {
        let part = dir.join(&format!("part{i}.h264"));
        write_with_gstreamer(&format!(
            "videotestsrc num-buffers=15 pattern=smpte ! video/x-raw,width={w},height={h},framerate=30/1 ! \
             x264enc bframes=0 key-int-max=15 ! video/x-h264,stream-format=byte-stream ! filesink location=\"{}\"",
            part.display()
        ));
        stream.extend(std::fs::read(&part).unwrap());
    }
    let raw = dir.join("both.h264");
    std::fs::write(&raw, stream).unwrap();
    let clip = dir.join("resize.ts");
    ffmpeg(&["-r", "30", "-i", raw.to_str().unwrap(), "-c", "copy", clip.to_str().unwrap()]);
    let input = frame_sizes(&clip);
    assert_eq!(input.len(), 30);
    assert!(input.contains(&(320, 180)) && input.contains(&(640, 360)), "the test input changes size");

    let out = dir.join("resize.mp4");
    let poses = dir.join("resize.jsonl");
    let o = Launch::file(&clip).with_test_network().output(&out).poses(&poses).run(T);
    let (_, stderr) = assert_succeeded(&o);
    let sizes = frame_sizes(&out);
    assert_eq!(sizes.len(), 30, "every frame:\n{stderr}");
    assert!(sizes.iter().all(|&s| s == (320, 180)), "one size throughout: {sizes:?}");
    let lines = read_poses(&poses);
    assert!(lines.iter().all(|l| l["width"] == 320 && l["height"] == 180), "poses in the first size");
}

#[test]
fn the_bit_rate_follows_the_frame_size_and_rate() {
    let dir = scratch("inputs-bitrate");
    let bitrate = |w: u32, h: u32, fps: u32| {
        let clip = dir.join(&format!("{w}x{h}.mkv"));
        write_with_gstreamer(&format!(
            "videotestsrc num-buffers=2 ! video/x-raw,width={w},height={h},framerate={fps}/1 ! jpegenc ! \
             matroskamux ! filesink location=\"{}\"",
            clip.display()
        ));
        let o = Launch::file(&clip).output(dir.join("o.mp4")).arg("--print-pipeline").run(T);
        let (line, _) = assert_succeeded(&o);
        let at = line.find(" bitrate=").expect("x264enc bitrate") + 9;
        line[at..].split(' ').next().unwrap().parse::<u32>().unwrap()
    };
    let (uhd, hd, small) = (bitrate(3840, 2160, 30), bitrate(1920, 1080, 30), bitrate(320, 240, 15));
    eprintln!("kbit/s: 4K30 {uhd}, 1080p30 {hd}, 320x240 at 15 {small}");
    assert!(uhd > 20_000, "4K is not starved: {uhd}");
    assert!((5_000..8_000).contains(&hd), "1080p30: {hd}");
    assert!(small <= 300, "a small clip is not inflated: {small}");
    // --bitrate still wins.
    let clip = dir.join("320x240.mkv");
    let o = Launch::file(&clip).output(dir.join("o.mp4")).opt("--bitrate", "900").arg("--print-pipeline").run(T);
    assert!(assert_succeeded(&o).0.contains(" bitrate=900 "));
}

#[test]
fn an_interlaced_input_keeps_its_field_order() {
    let dir = scratch("inputs-interlaced");
    let clip = dir.join("tff.mkv");
    write_with_gstreamer(&format!(
        "videotestsrc num-buffers=10 ! video/x-raw,width=320,height=240,framerate=30/1,\
         interlace-mode=interleaved,field-order=top-field-first ! x264enc interlaced=true ! h264parse ! \
         matroskamux ! filesink location=\"{}\"",
        clip.display()
    ));
    let field_order = |path: &Path| {
        let uri = gst::glib::filename_to_uri(path.canonicalize().unwrap(), None).unwrap();
        let (pipeline, sink) = appsink_pipeline(&format!("uridecodebin uri=\"{uri}\" ! appsink name=sink sync=false"));
        pipeline.set_state(gst::State::Playing).unwrap();
        let sample = sink.try_pull_sample(gst::ClockTime::from_seconds(30)).expect("a frame");
        let _ = pipeline.set_state(gst::State::Null);
        let caps = sample.caps().unwrap().structure(0).unwrap().to_owned();
        let tff = gst_video::VideoBufferFlags::TFF.bits();
        // SAFETY: reading the flags of a buffer the sample holds.
        let flags = unsafe { (*sample.buffer().unwrap().as_ptr()).mini_object.flags };
        (caps.get::<String>("interlace-mode").unwrap_or_default(), flags & tff != 0)
    };
    assert_eq!(field_order(&clip), ("interleaved".to_owned(), true), "the test input is top field first");
    let out = dir.join("tff.mp4");
    let o = Launch::file(&clip).with_test_network().output(&out).arg("-q").run(T);
    assert_succeeded(&o);
    assert_eq!(field_order(&out), ("interleaved".to_owned(), true), "the output is top field first");
}
