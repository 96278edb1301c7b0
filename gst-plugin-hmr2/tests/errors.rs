//! Every failure of hmr2pose is an element error naming its cause: never a panic, never a
//! hang. Degraded set-ups (test network, unavailable GPU provider) are warnings.

mod common;

use std::path::PathBuf;
use std::process::Command;

use gst::prelude::*;

// These tests exercise the element with the bundled test network: no default models from
// the set-up.
use common::init_with_test_network as init;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    path.to_str().unwrap().to_string()
}

/// Runs `videotestsrc ! hmr2pose <properties> ! fakesink` and returns the error message and
/// its debug text, or panics when the pipeline ends without one.
fn element_error(properties: &str) -> (String, String) {
    init();
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=5 ! video/x-raw,width=320,height=240 ! hmr2pose name=pose {properties} ! fakesink"
    ))
    .unwrap();
    let _ = pipeline.set_state(gst::State::Playing);
    let bus = pipeline.bus().unwrap();
    let message = bus
        .timed_pop_filtered(gst::ClockTime::from_seconds(30), &[gst::MessageType::Error, gst::MessageType::Eos])
        .expect("an error or EOS within 30 s");
    pipeline.set_state(gst::State::Null).unwrap();
    match message.view() {
        gst::MessageView::Error(e) => {
            assert_eq!(e.src().map(|s| s.name().to_string()).as_deref(), Some("pose"), "{e:?}");
            (e.error().to_string(), e.debug().map(|d| d.to_string()).unwrap_or_default())
        }
        _ => panic!("the pipeline ended without an error"),
    }
}

#[test]
fn missing_model_file() {
    let (error, debug) = element_error("model=/nonexistent/hmr2.onnx");
    let text = format!("{error} {debug}");
    assert!(text.contains("/nonexistent/hmr2.onnx") && text.contains("does not exist"), "{text}");
}

#[test]
fn corrupt_model_bytes() {
    let path = std::env::temp_dir().join(format!("hmr2-corrupt-{}.onnx", std::process::id()));
    std::fs::write(&path, b"this is not an ONNX protobuf \x00\x01\x02\xff").unwrap();
    let (error, debug) = element_error(&format!("model={}", path.display()));
    std::fs::remove_file(&path).unwrap();
    let text = format!("{error} {debug}");
    assert!(text.contains("cannot load model") && text.contains(path.to_str().unwrap()), "{text}");
}

#[test]
fn wrong_signature_lists_expected_and_found() {
    let (error, debug) = element_error(&format!("model={}", fixture("wrong-input.onnx")));
    let text = format!("{error} {debug}");
    for needle in [
        "does not have the HMR2 signature",
        "Expected input image float32 [B, 3, 256, 192 or 256]",
        "Found inputs input float32 [?, 3, 224, 224]; outputs features float32 [?, 3]",
        "output 'betas' is missing",
    ] {
        assert!(text.contains(needle), "'{needle}' not in {text}");
    }
    let (error, debug) = element_error(&format!("model={}", fixture("missing-outputs.onnx")));
    let text = format!("{error} {debug}");
    assert!(text.contains("output 'global_orient' is missing") && !text.contains("the input is named"), "{text}");
}

#[test]
fn inference_failure_is_a_stream_error() {
    let (error, debug) = element_error(&format!("model={}", fixture("fails-at-runtime.onnx")));
    let text = format!("{error} {debug}");
    assert!(text.contains("HMR2 inference failed") && text.contains("Reshape"), "{text}");
    // The first line a user sees names it too.
    assert!(error.contains("HMR2 inference failed") && error.contains("Reshape"), "{error}");
}

#[test]
fn wrong_detector_and_missing_detector() {
    let (error, debug) = element_error(&format!("detector-model={}", fixture("wrong-input.onnx")));
    let text = format!("{error} {debug}");
    assert!(text.contains("YOLOv8 layout") && text.contains("found inputs input float32 [?, 3, 224, 224]"), "{text}");
    let (error, debug) = element_error("box-source=detector");
    let text = format!("{error} {debug}");
    assert!(text.contains("detector-model"), "{text}");
}

/// Runs the pipeline to EOS and returns the warnings hmr2pose posted.
fn warnings_until_eos(properties: &str) -> Vec<String> {
    init();
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=3 ! video/x-raw,width=320,height=240 ! hmr2pose name=pose {properties} ! fakesink"
    ))
    .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let mut warnings = Vec::new();
    loop {
        let message = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(30),
                &[gst::MessageType::Error, gst::MessageType::Eos, gst::MessageType::Warning],
            )
            .expect("EOS within 30 s");
        match message.view() {
            gst::MessageView::Warning(w) => {
                warnings.push(format!("{} {}", w.error(), w.debug().map(|d| d.to_string()).unwrap_or_default()))
            }
            gst::MessageView::Error(e) => panic!("unexpected error {e:?}"),
            _ => break,
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    warnings
}

#[test]
fn bundled_test_network_is_announced_once() {
    let warnings = warnings_until_eos("");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("test network, which estimates nothing"), "{warnings:?}");
}

#[test]
fn unavailable_gpu_provider_falls_back_to_cpu_with_a_warning() {
    // The project's ONNX Runtime is the CPU build: neither GPU provider can register.
    for provider in ["cuda", "tensorrt"] {
        let model = std::env::current_dir().unwrap().join("../models/hmr2-test.onnx");
        let warnings = warnings_until_eos(&format!("execution-provider={provider} model={}", model.display()));
        assert_eq!(warnings.len(), 1, "{provider}: {warnings:?}");
        assert!(warnings[0].contains("requested execution provider is unavailable"), "{warnings:?}");
        assert!(warnings[0].contains(&format!("{provider} is unavailable")), "{warnings:?}");
        assert!(warnings[0].contains("not enabled in this build"), "{warnings:?}");
        assert!(warnings[0].contains("running on the CPU"), "{warnings:?}");
    }
}

const CHILD_ENV: &str = "HMR2_TEST_MISSING_ORT_CHILD";

/// Runs in a child process only (ONNX Runtime loads once per process): with
/// ORT_DYLIB_PATH naming a missing file, starting the element is an error naming it.
#[test]
fn child_missing_onnxruntime() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let (error, debug) = element_error("");
    let text = format!("{error} {debug}");
    assert!(text.contains("ONNX Runtime library could not be loaded"), "{text}");
    assert!(text.contains("/nonexistent/libonnxruntime.so.1.31.1"), "{text}");
    assert!(text.contains("ORT_DYLIB_PATH"), "{text}");
    println!("CHILD-CHECKED");
}

#[test]
fn missing_onnxruntime_library_is_an_element_error() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["child_missing_onnxruntime", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.31.1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("CHILD-CHECKED"), "the child did not run its checks:\n{stdout}\n{stderr}");
}

/// The first line a user sees (the error's message text, not its debug detail) names the
/// cause, for the start-up failures users meet most.
#[test]
fn the_message_text_names_the_cause() {
    // A truncated model: the test network cut in half.
    let network = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/hmr2-test.onnx");
    let bytes = std::fs::read(&network).unwrap();
    let truncated = std::env::temp_dir().join(format!("hmr2-truncated-{}.onnx", std::process::id()));
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let (message, _) = element_error(&format!("model={}", truncated.display()));
    std::fs::remove_file(&truncated).unwrap();
    assert!(message.contains("cannot load model") && message.contains("hmr2-truncated"), "{message}");

    // A model with the wrong signature.
    let (message, _) = element_error(&format!("model={}", fixture("wrong-input.onnx")));
    assert!(
        message.contains("does not have the HMR2 signature") && message.contains("output 'betas' is missing"),
        "{message}"
    );
}

/// A missing ONNX Runtime library, in a process of its own (the library is loaded once per
/// process): gst-launch-1.0's ERROR line carries the cause.
#[test]
fn a_missing_onnx_runtime_is_named_in_the_message() {
    let plugins = std::env::current_exe().unwrap().parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    assert!(
        plugins.join("libgsthmr2.so").exists(),
        "{} has no libgsthmr2.so: build the workspace first",
        plugins.display()
    );
    let output = std::process::Command::new("gst-launch-1.0")
        .args(["videotestsrc", "num-buffers=1", "!", "hmr2pose", "!", "fakesink"])
        .env("GST_PLUGIN_PATH", &plugins)
        .env("GST_REGISTRY", plugins.join("gst-registry-missing-ort.bin"))
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .expect("gst-launch-1.0 runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let error_line = stdout.lines().chain(stderr.lines()).find(|l| l.starts_with("ERROR:")).unwrap_or_default();
    assert!(!output.status.success());
    assert!(
        error_line.contains("ONNX Runtime library could not be loaded")
            && error_line.contains("/nonexistent/libonnxruntime.so"),
        "first error line: {error_line}\n{stdout}\n{stderr}"
    );
}
