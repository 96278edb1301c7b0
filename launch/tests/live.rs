//! The launch tool's live path (test-source): it writes files, finishes them on Ctrl-C, and
//! serves RTSP.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gst::prelude::*;

#[test]
fn test_source_writes_a_file_with_batch_timeout() {
    let dir = scratch("launch-live-file");
    let out = dir.join("live.mp4");
    let poses = dir.join("live.jsonl");
    let o = Launch::test_source("320x240")
        .max_frames(20)
        .opt("--batch-size", "8")
        .opt("--batch-timeout", "50")
        .output(&out)
        .poses(&poses)
        .run(Duration::from_secs(120));
    assert_succeeded(&o);
    assert_eq!(check_pose_file(&poses).len(), 20);
    assert_eq!(decode(&out).frames, 20);
}

#[test]
fn ctrl_c_finalises_the_mp4() {
    let dir = scratch("launch-sigint");
    let out = dir.join("interrupted.mp4");
    let poses = dir.join("interrupted.jsonl");
    let mut tool = Launch::test_source("320x240").output(&out).poses(&poses).spawn();
    tool.wait_until("10 frames", Duration::from_secs(90), |_| lines_written(&poses) >= 10);
    tool.signal("INT");
    let (status, stderr) = tool.wait(Duration::from_secs(60));
    // An interrupted run is told apart from a complete one by its exit status.
    assert_eq!(
        status.code(),
        Some(hmr2_launch::EXIT_INTERRUPTED as i32),
        "exit {status:?} after one Ctrl-C:\n{stderr}"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    let lines = check_pose_file(&poses).len() as u64;
    let decoded = decode(&out);
    assert!(decoded.frames >= 10, "only {} frames in the finalised file", decoded.frames);
    assert_eq!(decoded.frames, lines, "every processed frame is in the file");
}

#[test]
fn serves_the_processed_stream_over_rtsp() {
    init();
    let port = free_port();
    let dir = scratch("launch-serve");
    let poses = dir.join("served.jsonl");
    let mut tool = Launch::test_source("320x240").opt("--serve-rtsp", port.to_string()).poses(&poses).spawn();
    let deadline = Instant::now() + Duration::from_secs(90);
    tool.wait_until("the server to start", Duration::from_secs(90), |stderr| stderr.contains("serving rtsp://"));
    let (client, sink) = appsink_pipeline(&format!(
        "rtspsrc location=rtsp://127.0.0.1:{port}/hmr2 protocols=tcp latency=100 ! rtph264depay ! \
         h264parse ! avdec_h264 ! videoconvert ! appsink name=sink sync=false"
    ));
    client.set_state(gst::State::Playing).unwrap();
    let mut frames = 0;
    let mut size = (0, 0);
    while frames < 5 {
        assert!(Instant::now() < deadline, "client got {frames} frames; tool stderr:\n{}", tool.stderr());
        if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(500)) {
            let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
            size = (info.width(), info.height());
            frames += 1;
        }
    }
    client.set_state(gst::State::Null).unwrap();
    assert_eq!(size, (320, 240));
    tool.signal("INT");
    let (status, stderr) = tool.wait(Duration::from_secs(60));
    assert_eq!(status.code(), Some(hmr2_launch::EXIT_INTERRUPTED as i32), "{stderr}");
}
