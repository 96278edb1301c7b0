//! Every failure of the launch tool ends with a one-line cause and a non-zero exit code.

mod common;

use std::time::Duration;

use common::*;
use gst::prelude::*;

const T: Duration = Duration::from_secs(60);

#[test]
fn missing_input_file() {
    let dir = scratch("err-missing");
    let o = Launch::file(dir.join("nope.mp4")).output(dir.join("o.mp4")).run(T);
    assert_fails_with(&o, "input file not found");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn unreadable_stream() {
    let dir = scratch("err-text");
    let fake = dir.join("notes.mp4");
    std::fs::write(&fake, "this is a text file, not a video\n".repeat(200)).unwrap();
    let out = dir.join("o.mp4");
    let o = Launch::file(&fake).output(&out).run(T);
    assert_fails_with(&o, "cannot read input");
    assert!(!out.exists(), "no output for an unreadable input");
}

#[test]
fn missing_model() {
    let clip = sample_clip();
    let dir = scratch("err-model");
    let o = Launch::file(&clip).output(dir.join("o.mp4")).opt("--model", dir.join("missing.onnx")).run(T);
    assert_fails_with(&o, "model file not found");
}

#[test]
fn invalid_model_file_is_reported_by_the_element() {
    // A file that exists but is no ONNX model: the element's error, mapped to one line.
    let clip = sample_clip();
    let dir = scratch("err-bad-model");
    let model = dir.join("garbage.onnx");
    std::fs::write(&model, b"not an onnx model").unwrap();
    let o = Launch::file(&clip).output(dir.join("o.mp4")).opt("--model", &model).run(T);
    assert_fails_with(&o, "pose");
}

#[test]
fn unreachable_rtsp_url_without_retries() {
    let port = free_port();
    let dir = scratch("err-rtsp");
    let url = format!("rtsp://127.0.0.1:{port}/nothing");
    let o = Launch::new("rtsp").arg(&url).opt("--max-retries", "0").poses(dir.join("p.jsonl")).run(T);
    assert_fails_with(&o, &format!("cannot connect to {url}"));
    assert!(text(&o).1.contains("giving up after 0 reconnection tries"), "{}", text(&o).1);
}

#[test]
fn bad_usage_exits_2() {
    let o = Launch::new("file").run(T);
    assert_eq!(o.status.code(), Some(2));
    let dir = scratch("err-usage");
    let o = Launch::file(sample_clip()).output(dir.join("o.avi")).run(T);
    assert_fails_with(&o, "use .mp4");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn failed_negotiation() {
    let dir = scratch("err-negotiation");
    let poses = dir.join("p.jsonl");
    // Caps that cannot even be linked: caught while the pipeline is built.
    let o = Launch::test_source("0x0").max_frames(5).poses(&poses).run(T);
    assert_fails_with(&o, "format negotiation failed");
    // A 1x1 frame links but no downstream element accepts it at run time (not-negotiated
    // from the streaming thread, reported through the bus).
    let out = dir.join("o.mp4");
    let o = Launch::test_source("1x1").max_frames(5).output(&out).run(T);
    assert_fails_with(&o, "format negotiation failed at");
    assert!(text(&o).1.contains("not-negotiated"), "{}", text(&o).1);
}

/// A GStreamer without x264enc (a registry built from every system plugin but the x264
/// one): the tool names the element and the Debian package to install.
#[test]
fn a_missing_element_is_named_with_its_package() {
    init();
    let x264 = gst::ElementFactory::find("x264enc")
        .and_then(|f| f.plugin())
        .and_then(|p| p.filename())
        .expect("this test needs x264enc installed, to hide it");
    let system_dir = x264.parent().unwrap();
    let dir = scratch("err-missing-element");
    let plugins = dir.join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    for entry in std::fs::read_dir(system_dir).unwrap() {
        let path = entry.unwrap().path();
        if path != x264 && path.extension().is_some_and(|e| e == "so") {
            std::os::unix::fs::symlink(&path, plugins.join(path.file_name().unwrap())).unwrap();
        }
    }
    let out = dir.join("o.mp4");
    let o = Launch::file(sample_clip())
        .output(&out)
        .env("GST_PLUGIN_SYSTEM_PATH_1_0", &plugins)
        .env("GST_REGISTRY_1_0", dir.join("registry.bin"))
        .env("GST_REGISTRY", dir.join("registry.bin"))
        .run(Duration::from_secs(120));
    assert_fails_with(&o, "missing element x264enc: install gstreamer1.0-plugins-ugly");
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists(), "no output without an encoder");
}

#[test]
fn out_of_range_options_are_usage_errors() {
    let dir = scratch("err-ranges");
    for (option, value) in [("--opacity", "2"), ("--opacity", "-0.5"), ("--bitrate", "0"), ("--batch-size", "0")] {
        let o = Launch::file(sample_clip()).output(dir.join("o.mp4")).arg(format!("{option}={value}")).run(T);
        let err = text(&o).1;
        assert_eq!(o.status.code(), Some(2), "{option} {value}: {err}");
        assert!(err.contains(option) && !err.contains("GLib"), "{option} {value}: {err}");
        assert!(!dir.join("o.mp4").exists());
    }
}

#[test]
fn an_unavailable_gpu_is_reported_without_verbose() {
    if std::path::Path::new("/dev/nvidia0").exists() {
        eprintln!("a GPU is present: nothing to report");
        return;
    }
    let dir = scratch("err-cuda");
    let o = Launch::file(sample_clip())
        .with_test_network()
        .poses(dir.join("p.jsonl"))
        .max_frames(3)
        .opt("--execution-provider", "cuda")
        .run(T);
    let (_, err) = assert_succeeded(&o);
    assert!(err.contains("execution provider is unavailable") && err.contains("running on the CPU"), "{err}");
}

#[test]
fn a_file_given_as_camera_device_is_named() {
    let dir = scratch("err-device");
    let file = dir.join("clip.mp4");
    std::fs::copy(sample_clip(), &file).unwrap();
    let o = Launch::new("webcam").arg(&file).poses(dir.join("p.jsonl")).run(T);
    assert_fails_with(
        &o,
        "is not a video device: it is a regular file (to process a video file, use: hmr2-launch file PATH)",
    );
    assert!(!text(&o).1.contains("Success"), "{}", text(&o).1);
}

#[test]
fn rtsp_to_a_closed_port_fails_at_once() {
    let port = free_port();
    let dir = scratch("err-rtsp-closed");
    let url = format!("rtsp://127.0.0.1:{port}/nothing");
    let start = std::time::Instant::now();
    // Default retries: they are for streams that drop, not for one that never connected.
    let o = Launch::new("rtsp").arg(&url).poses(dir.join("p.jsonl")).run(T);
    let took = start.elapsed();
    assert_fails_with(&o, &format!("cannot connect to {url}"));
    assert!(text(&o).1.contains("it never connected"), "{}", text(&o).1);
    assert!(took < Duration::from_secs(8), "took {took:?}");
}
