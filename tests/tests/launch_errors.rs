//! Every failure of the launch tool ends with a one-line cause and a non-zero exit code.

mod launch_common;

use std::time::Duration;

use launch_common::*;

const T: Duration = Duration::from_secs(60);

#[test]
fn missing_input_file() {
    let dir = scratch("err-missing");
    let o = run_tool(&["file", dir.join("nope.mp4").to_str().unwrap(), "-o", dir.join("o.mp4").to_str().unwrap()], T);
    assert_fails_with(&o, "input file not found");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn unreadable_stream() {
    let dir = scratch("err-text");
    let fake = dir.join("notes.mp4");
    std::fs::write(&fake, "this is a text file, not a video\n".repeat(200)).unwrap();
    let out = dir.join("o.mp4");
    let o = run_tool(&["file", fake.to_str().unwrap(), "-o", out.to_str().unwrap()], T);
    assert_fails_with(&o, "cannot read input");
    assert!(!out.exists(), "no output for an unreadable input");
}

#[test]
fn missing_model() {
    let clip = sample_clip();
    let dir = scratch("err-model");
    let o = run_tool(
        &[
            "file",
            clip.to_str().unwrap(),
            "-o",
            dir.join("o.mp4").to_str().unwrap(),
            "--model",
            dir.join("missing.onnx").to_str().unwrap(),
        ],
        T,
    );
    assert_fails_with(&o, "model file not found");
}

#[test]
fn invalid_model_file_is_reported_by_the_element() {
    // A file that exists but is no ONNX model: the element's error, mapped to one line.
    let clip = sample_clip();
    let dir = scratch("err-bad-model");
    let model = dir.join("garbage.onnx");
    std::fs::write(&model, b"not an onnx model").unwrap();
    let o = run_tool(
        &[
            "file",
            clip.to_str().unwrap(),
            "-o",
            dir.join("o.mp4").to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
        ],
        T,
    );
    assert_fails_with(&o, "pose");
}

#[test]
fn unreachable_rtsp_url_without_retries() {
    let port = free_port();
    let dir = scratch("err-rtsp");
    let url = format!("rtsp://127.0.0.1:{port}/nothing");
    let o = run_tool(&["rtsp", &url, "--max-retries", "0", "--poses", dir.join("p.jsonl").to_str().unwrap()], T);
    assert_fails_with(&o, &format!("cannot connect to {url}"));
    assert!(text(&o).1.contains("giving up after 0 reconnection tries"), "{}", text(&o).1);
}

#[test]
fn bad_usage_exits_2() {
    let o = run_tool(&["file"], T);
    assert_eq!(o.status.code(), Some(2));
    let dir = scratch("err-usage");
    let o = run_tool(&["file", sample_clip().to_str().unwrap(), "-o", dir.join("o.avi").to_str().unwrap()], T);
    assert_fails_with(&o, "use .mp4");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn failed_negotiation() {
    let dir = scratch("err-negotiation");
    let poses = dir.join("p.jsonl");
    // Caps that cannot even be linked: caught while the pipeline is built.
    let o = run_tool(&["test-source", "--size", "0x0", "--max-frames", "5", "--poses", poses.to_str().unwrap()], T);
    assert_fails_with(&o, "format negotiation failed");
    // A 1x1 frame links but no downstream element accepts it at run time (not-negotiated
    // from the streaming thread, reported through the bus).
    let out = dir.join("o.mp4");
    let o = run_tool(&["test-source", "--size", "1x1", "--max-frames", "5", "-o", out.to_str().unwrap()], T);
    assert_fails_with(&o, "format negotiation failed at");
    assert!(text(&o).1.contains("not-negotiated"), "{}", text(&o).1);
}
