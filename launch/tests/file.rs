//! `hmr2-launch file` on the bundled sample clip: the MP4 decodes with the input's frame
//! count and duration, and the pose file has one valid line per frame.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn file_run_keeps_frames_duration_and_writes_poses() {
    let clip = sample_clip();
    let input = decode(&clip);
    assert_eq!(input.frames, SAMPLE_FRAMES, "the sample clip itself");
    let dir = scratch("launch-file");
    let out = dir.join("nested/sample-mesh.mp4");
    let poses = dir.join("sample-poses.jsonl");
    let start = Instant::now();
    let o = Launch::file(&clip).output(&out).poses(&poses).run(Duration::from_secs(240));
    let took = start.elapsed();
    let (stdout, stderr) = assert_succeeded(&o);
    eprintln!("file run took {took:?}; stderr:\n{stderr}");

    // The output paths are printed at the end.
    assert!(stdout.contains(&format!("video: {}", out.display())), "stdout: {stdout}");
    assert!(stdout.contains(&format!("poses: {}", poses.display())), "stdout: {stdout}");
    // The summary reports frames, people and per-stage times.
    assert!(stderr.contains(&format!("{SAMPLE_FRAMES} frames in")), "{stderr}");
    assert!(stderr.contains("people found:"), "{stderr}");
    assert!(stderr.contains("hmr2pose stats:"), "{stderr}");

    let output = decode(&out);
    assert_eq!(output.frames, input.frames, "frame count");
    assert_eq!((output.width, output.height), (input.width, input.height), "frame size");
    assert!(output.video_caps.starts_with("video/x-h264"), "codec: {}", output.video_caps);
    let frame = gst::ClockTime::SECOND / SAMPLE_FPS;
    let (din, dout) = (input.duration.unwrap(), output.duration.unwrap());
    assert!(din.nseconds().abs_diff(dout.nseconds()) <= frame.nseconds(), "duration {dout} vs input {din}");
    assert_eq!(output.first_pts, input.first_pts, "first timestamp");
    assert!(
        output.last_pts.unwrap().nseconds().abs_diff(input.last_pts.unwrap().nseconds()) <= frame.nseconds(),
        "last timestamp {:?} vs {:?}",
        output.last_pts,
        input.last_pts
    );

    let lines = check_pose_file(&poses);
    assert_eq!(lines.len() as u64, SAMPLE_FRAMES, "one pose line per frame");
    let persons: usize = lines.iter().map(|l| l["persons"].as_array().unwrap().len()).sum();
    assert!(persons > 0, "no person in any frame");
    // Timestamps of the pose lines are the frames' timestamps.
    let first = lines[0]["timestamp_ns"].as_u64().unwrap();
    assert_eq!(Some(first), input.first_pts.map(|t| t.nseconds()));
}

#[test]
fn other_containers_and_audio_are_kept() {
    let dir = scratch("launch-audio");
    let clip = dir.join("with-audio.webm");
    // A 2 s WebM clip (VP8 + Vorbis, 15 frames/s).
    write_with_gstreamer(&format!(
        "videotestsrc num-buffers=30 pattern=smpte ! video/x-raw,width=320,height=240,framerate=15/1 ! \
         vp8enc deadline=1 ! webmmux name=m ! filesink location=\"{}\" \
         audiotestsrc num-buffers=86 samplesperbuffer=1024 ! audio/x-raw,rate=44100,channels=2 ! \
         audioconvert ! vorbisenc ! m.",
        clip.display()
    ));
    let input = decode(&clip);
    assert!(input.has_audio && input.frames == 30, "test clip: {input:?}");
    let out = dir.join("with-audio.mp4");
    let o = Launch::file(&clip).output(&out).arg("-q").run(Duration::from_secs(120));
    assert_succeeded(&o);
    let output = decode(&out);
    assert!(output.has_audio, "the audio was dropped");
    assert_eq!(output.frames, 30);
    let frame = gst::ClockTime::SECOND / 15;
    assert!(
        input.duration.unwrap().nseconds().abs_diff(output.duration.unwrap().nseconds()) <= frame.nseconds(),
        "duration {:?} vs {:?}",
        output.duration,
        input.duration
    );
}

#[test]
fn max_frames_stops_early_with_a_valid_file() {
    let clip = sample_clip();
    let dir = scratch("launch-file-max");
    let out = dir.join("short.mkv");
    let poses = dir.join("p.jsonl");
    let o = Launch::file(&clip)
        .output(&out)
        .poses(&poses)
        .max_frames(12)
        .opt("--mode", "wireframe")
        .opt("--batch-size", "4")
        .run(Duration::from_secs(120));
    assert_succeeded(&o);
    assert_eq!(decode(&out).frames, 12);
    assert_eq!(check_pose_file(&poses).len(), 12);
}

#[test]
fn boxes_file_becomes_the_person_boxes() {
    // The sample's own boxes, given with --boxes, must come back as each frame's person box
    // (rounded outwards to whole pixels as region-of-interest metas are).
    let clip = sample_clip();
    let boxes_file = repo_root().join("models/sample/sample_boxes.jsonl");
    let dir = scratch("launch-file-boxes");
    let out = dir.join("boxed.mp4");
    let poses = dir.join("p.jsonl");
    // An HMR2-type network reports the boxes it was given; a landmark model refines them.
    // An empty default-model folder makes hmr2pose fall back to its bundled HMR2 test
    // network, whatever the set-up installed.
    let no_models = dir.join("no-models");
    std::fs::create_dir(&no_models).unwrap();
    let o = Launch::file(&clip)
        .opt("--boxes", &boxes_file)
        .output(&out)
        .poses(&poses)
        .max_frames(10)
        .env("HMR2_MODELS_DIR", &no_models)
        .run(Duration::from_secs(120));
    assert_succeeded(&o);
    let expected: Vec<serde_json::Value> =
        std::fs::read_to_string(&boxes_file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let lines = check_pose_file(&poses);
    assert_eq!(lines.len(), 10);
    let numbers =
        |v: &serde_json::Value| -> Vec<f64> { v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect() };
    for (line, truth) in lines.iter().zip(&expected) {
        let persons = line["persons"].as_array().unwrap();
        assert_eq!(persons.len(), 1, "{line}");
        let got = numbers(&persons[0]["bbox"]);
        let want = numbers(&truth["boxes"][0]);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1.0, "box {got:?} vs file {want:?}");
        }
    }
    // A missing boxes file is a one-line error.
    let o = Launch::file(&clip).opt("--boxes", "/nonexistent/boxes.jsonl").output(&out).run(Duration::from_secs(60));
    assert_fails_with(&o, "boxes file not found");
}

#[test]
fn print_pipeline_prints_the_gst_launch_line_and_runs_nothing() {
    let clip = sample_clip();
    let dir = scratch("launch-print");
    let out = dir.join("x.mp4");
    let o = Launch::file(&clip)
        .output(&out)
        .arg("--print-pipeline")
        .opt("--batch-size", "8")
        .opt("--mode", "skeleton")
        .opt("--color", "#ff8800")
        .run(Duration::from_secs(60));
    let (stdout, _) = assert_succeeded(&o);
    let line = stdout.lines().next().unwrap();
    assert!(line.starts_with("gst-launch-1.0 -e uridecodebin"), "{line}");
    for part in [
        "hmr2pose name=pose batch-size=8",
        "'video/x-raw,format={I420,NV12,YV12,NV21,RGBA,BGRA,RGBx,BGRx}' ! hmr2pose",
        "meshoverlay name=overlay mode=skeleton color=0xffff8800",
        "video/x-raw,format=I420 ! x264enc",
        "mp4mux name=mux ! filesink",
    ] {
        assert!(line.contains(part), "'{part}' missing from {line}");
    }
    assert!(!out.exists(), "--print-pipeline must not run the pipeline");
}

/// Real footage with the default models: the tracker is in the pipeline by default, so the
/// exported poses carry track ids that persist from frame to frame; `--no-track` leaves it
/// out and the ids empty.
#[test]
fn the_tracker_gives_pedestrians_lasting_ids_by_default() {
    let clip = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.deps/footage/opencv-doc/data/vtest.avi");
    assert!(clip.is_file(), "{} is missing: run scripts/setup.sh", clip.display());
    let dir = scratch("launch-file-track");
    let ids_of = |line: &serde_json::Value| -> Vec<i64> {
        line["persons"].as_array().unwrap().iter().filter_map(|p| p["track_id"].as_i64()).collect()
    };
    let poses = dir.join("tracked.jsonl");
    let o = Launch::file(&clip).poses(&poses).max_frames(20).run(Duration::from_secs(300));
    assert_succeeded(&o);
    let lines = check_pose_file(&poses);
    assert_eq!(lines.len(), 20);
    let (first, last) = (ids_of(&lines[5]), ids_of(&lines[19]));
    assert!(first.len() >= 2, "frame 5 ids {first:?}");
    let kept = first.iter().filter(|id| last.contains(id)).count();
    assert!(kept >= 2, "ids of frame 5 {first:?} should mostly persist to frame 19 {last:?}");

    let untracked = dir.join("untracked.jsonl");
    let o = Launch::file(&clip).poses(&untracked).max_frames(5).arg("--no-track").run(Duration::from_secs(300));
    assert_succeeded(&o);
    assert!(check_pose_file(&untracked).iter().all(|l| ids_of(l).is_empty()));
}
