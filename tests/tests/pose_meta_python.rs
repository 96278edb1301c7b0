//! The pose metadata contract seen from outside the project: a Python (PyGObject) program
//! that links nothing of ours reads every field of the meta from a real pipeline, and its
//! values must equal what the Rust reader gets from the same pipeline.

use std::path::PathBuf;
use std::process::Command;

use gst::prelude::*;
use hmr2_meta::pose::FramePoses;

const FRAMES: usize = 6;
const BATCH: usize = 3;

/// The directory the test binary was built into (`target/<profile>`), where
/// `cargo build --workspace` leaves the plugin libraries.
fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|deps| deps.parent()).unwrap().to_path_buf()
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_frames() -> Vec<(u64, FramePoses)> {
    hmr2_e2e_tests::use_bundled_test_network();
    gst::init().unwrap();
    gsthmr2::plugin_register_static().unwrap();
    let (pipeline, sink) = hmr2_e2e_tests::appsink_pipeline(&format!(
        "videotestsrc num-buffers={FRAMES} pattern=ball ! \
         video/x-raw,format=RGBA,width=320,height=240,framerate=30/1 ! \
         hmr2pose batch-size={BATCH} ! appsink name=sink sync=false"
    ));
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        let buffer = sample.buffer().unwrap();
        let poses = FramePoses::from_buffer(buffer).unwrap().expect("frame without pose meta");
        frames.push((buffer.pts().unwrap().nseconds(), poses));
    }
    pipeline.set_state(gst::State::Null).unwrap();
    frames
}

fn as_f64s(value: &serde_json::Value) -> Vec<f64> {
    match value {
        serde_json::Value::Array(items) => items.iter().flat_map(as_f64s).collect(),
        serde_json::Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("unexpected JSON value {other}"),
    }
}

fn assert_close(field: &str, python: &serde_json::Value, rust: &[f32]) {
    let python = as_f64s(python);
    assert_eq!(python.len(), rust.len(), "{field}: length differs");
    for (i, (p, r)) in python.iter().zip(rust).enumerate() {
        assert!((p - *r as f64).abs() <= 1e-6 * (1.0 + p.abs()), "{field}[{i}]: python {p} rust {r}");
    }
}

#[test]
fn python_reads_the_same_poses_as_rust() {
    hmr2_e2e_tests::use_bundled_test_network();
    let plugin_dir = build_dir();
    assert!(
        plugin_dir.join("libgsthmr2.so").exists(),
        "{} has no libgsthmr2.so: run `cargo build --workspace` first (scripts/test.sh does)",
        plugin_dir.display()
    );
    let python = repo_root().join(".venv/bin/python");
    let output = Command::new(&python)
        .arg(repo_root().join("tests/python/pose_meta_reader.py"))
        .args(["--frames", &FRAMES.to_string(), "--batch-size", &BATCH.to_string()])
        .env("GST_PLUGIN_PATH", &plugin_dir)
        .env("GST_REGISTRY", plugin_dir.join("gst-registry-python-test.bin"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e} (run scripts/setup.sh)", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "python reader failed: {}\n{stdout}", String::from_utf8_lossy(&output.stderr));
    let python_frames: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();

    let rust = rust_frames();
    assert_eq!(python_frames.len(), FRAMES);
    assert_eq!(rust.len(), FRAMES);
    let mut persons_seen = 0;
    for (py, (pts, poses)) in python_frames.iter().zip(&rust) {
        assert_eq!(py["pts"].as_u64().unwrap(), *pts);
        assert_eq!(py["frame_width"].as_u64().unwrap(), poses.frame_width as u64);
        assert_eq!(py["frame_height"].as_u64().unwrap(), poses.frame_height as u64);
        assert_eq!(py["num_persons"].as_u64().unwrap() as usize, poses.persons.len());
        let p = &poses.persons;
        persons_seen += p.len();
        let flat =
            |f: &dyn Fn(&hmr2_meta::pose::PersonPose) -> Vec<f32>| -> Vec<f32> { p.iter().flat_map(f).collect() };
        assert_close("boxes", &py["boxes"], &flat(&|q| q.bbox.to_vec()));
        assert_close("scores", &py["scores"], &flat(&|q| vec![q.score]));
        let ids: Vec<f32> = p.iter().map(|q| q.track_id.map_or(-1.0, |i| i as f32)).collect();
        assert_close("track-ids", &py["track-ids"], &ids);
        assert_close(
            "global-orient",
            &py["global-orient"],
            &flat(&|q| q.global_orient.iter().flatten().copied().collect()),
        );
        assert_close(
            "body-pose",
            &py["body-pose"],
            &flat(&|q| q.body_pose.iter().flatten().flatten().copied().collect()),
        );
        assert_close("betas", &py["betas"], &flat(&|q| q.betas.to_vec()));
        assert_close("pred-cam", &py["pred-cam"], &flat(&|q| q.pred_cam.to_vec()));
        assert_close("cam-t", &py["cam-t"], &flat(&|q| q.cam_t.to_vec()));
        assert_close("focal-length", &py["focal-length"], &flat(&|q| vec![q.focal_length]));
        assert_close("principal-point", &py["principal-point"], &flat(&|q| q.principal_point.to_vec()));
    }
    // With no detector and no ROI meta, every frame is one full-frame person.
    assert_eq!(persons_seen, FRAMES);
}

#[test]
fn python_writes_poses_that_meshoverlay_draws() {
    let plugin_dir = build_dir();
    assert!(
        plugin_dir.join("libgstmeshoverlay.so").exists(),
        "{} has no libgstmeshoverlay.so: run `cargo build --workspace` first (scripts/test.sh does)",
        plugin_dir.display()
    );
    let python = repo_root().join(".venv/bin/python");
    let output = Command::new(&python)
        .arg(repo_root().join("tests/python/write_poses_app.py"))
        .env("GST_PLUGIN_PATH", &plugin_dir)
        .env("GST_REGISTRY", plugin_dir.join("gst-registry-python-test.bin"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e} (run scripts/setup.sh)", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "python writer failed: {}\n{stdout}", String::from_utf8_lossy(&output.stderr));
    let frames: Vec<serde_json::Value> = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(frames.len(), 6);
    for (i, frame) in frames.iter().enumerate() {
        let persons = frame["persons"].as_u64().unwrap();
        let changed = frame["changed_pixels"].as_u64().unwrap();
        assert_eq!(persons, u64::from(i % 2 == 0), "frame {i}");
        assert_eq!(changed > 0, persons > 0, "frame {i}: {frame}");
    }
}
