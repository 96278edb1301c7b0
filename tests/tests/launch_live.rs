//! Live sources: the elements under a live source with a batch timeout pass frames on
//! without waiting for full batches; the launch tool's live path (test-source) writes files,
//! finishes them on Ctrl-C, and serves RTSP.

mod launch_common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use launch_common::*;

fn register_plugins() {
    init();
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        gsthmr2::plugin_register_static().unwrap();
        gstmeshoverlay::plugin_register_static().unwrap();
    });
}

#[test]
fn batch_timeout_keeps_a_live_source_flowing() {
    register_plugins();
    // 2 frames/s: a full batch of 8 would take 3.5 s to gather; the 50 ms timeout must
    // send each frame on long before that, and before any EOS.
    let pipeline = gst::parse::launch(
        "videotestsrc is-live=true pattern=ball ! \
         video/x-raw,format=RGBA,width=320,height=240,framerate=2/1 ! \
         hmr2pose name=pose batch-size=8 batch-timeout=50 ! meshoverlay ! appsink name=sink sync=false",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let entered: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let e = entered.clone();
    pipeline.by_name("pose").unwrap().static_pad("sink").unwrap().add_probe(
        gst::PadProbeType::BUFFER,
        move |_, info| {
            if let Some(gst::PadProbeData::Buffer(b)) = &info.data {
                if let Some(pts) = b.pts() {
                    e.lock().unwrap().insert(pts.nseconds(), Instant::now());
                }
            }
            gst::PadProbeReturn::Ok
        },
    );
    let sink = pipeline.by_name("sink").unwrap().downcast::<gst_app::AppSink>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while latencies.len() < 5 {
        assert!(Instant::now() < deadline, "stalled: only {} frames out of a live source", latencies.len());
        let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(500)) else {
            continue;
        };
        let b = sample.buffer().unwrap();
        assert!(hmr2_meta::pose::FramePoses::from_buffer(b).unwrap().is_some(), "frame without pose meta");
        let entered_at = entered.lock().unwrap()[&b.pts().unwrap().nseconds()];
        latencies.push(entered_at.elapsed());
    }
    pipeline.set_state(gst::State::Null).unwrap();
    eprintln!("per-frame latency through hmr2pose ! meshoverlay: {latencies:?}");
    // The first frame may include start-up work (model load is done before PLAYING, but
    // the first run of a network is slower); the following ones must not wait for a batch.
    let worst = latencies[1..].iter().max().unwrap();
    assert!(
        *worst < Duration::from_millis(2000),
        "frames waited {worst:?}: the batch timeout did not flush partial batches"
    );
}

#[test]
fn test_source_writes_a_file_with_batch_timeout() {
    let dir = scratch("launch-live-file");
    let out = dir.join("live.mp4");
    let poses = dir.join("live.jsonl");
    let o = run_tool(
        &[
            "test-source",
            "--size",
            "320x240",
            "--max-frames",
            "20",
            "--batch-size",
            "8",
            "--batch-timeout",
            "50",
            "-o",
            out.to_str().unwrap(),
            "--poses",
            poses.to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    assert_succeeded(&o);
    assert_eq!(check_pose_file(&poses).len(), 20);
    assert_eq!(decode(&out).frames, 20);
    let _ = std::fs::remove_dir_all(&dir);
}

fn interrupt(child: &std::process::Child) {
    let ok = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "cannot send SIGINT");
}

/// Spawns the tool with stderr collected in the background.
fn spawn_tool(args: &[&str]) -> (std::process::Child, Arc<Mutex<String>>, std::thread::JoinHandle<()>) {
    let mut child = tool().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let text = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let t = text.clone();
    let handle = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut s = t.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    (child, text, handle)
}

fn wait_exit(child: &mut std::process::Child, timeout: Duration, log: &Mutex<String>) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tool did not exit; stderr:\n{}", log.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_finalises_the_mp4() {
    let dir = scratch("launch-sigint");
    let out = dir.join("interrupted.mp4");
    let poses = dir.join("interrupted.jsonl");
    let (mut child, log, handle) = spawn_tool(&[
        "test-source",
        "--size",
        "320x240",
        "-o",
        out.to_str().unwrap(),
        "--poses",
        poses.to_str().unwrap(),
    ]);
    let deadline = Instant::now() + Duration::from_secs(90);
    while std::fs::read_to_string(&poses).map(|t| t.lines().count()).unwrap_or(0) < 10 {
        assert!(Instant::now() < deadline, "no frames; stderr:\n{}", log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    interrupt(&child);
    let status = wait_exit(&mut child, Duration::from_secs(60), &log);
    handle.join().unwrap();
    let stderr = log.lock().unwrap().clone();
    assert!(status.success(), "exit {status:?} after one Ctrl-C:\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let lines = check_pose_file(&poses).len() as u64;
    let decoded = decode(&out);
    assert!(decoded.frames >= 10, "only {} frames in the finalised file", decoded.frames);
    assert_eq!(decoded.frames, lines, "every processed frame is in the file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serves_the_processed_stream_over_rtsp() {
    init();
    let port = free_port();
    let dir = scratch("launch-serve");
    let poses = dir.join("served.jsonl");
    let port_s = port.to_string();
    let (mut child, log, handle) =
        spawn_tool(&["test-source", "--size", "320x240", "--serve-rtsp", &port_s, "--poses", poses.to_str().unwrap()]);
    let deadline = Instant::now() + Duration::from_secs(90);
    while !log.lock().unwrap().contains("serving rtsp://") {
        assert!(Instant::now() < deadline, "server did not start:\n{}", log.lock().unwrap());
        if let Some(s) = child.try_wait().unwrap() {
            panic!("tool exited {s:?}:\n{}", log.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (client, sink) = hmr2_e2e_tests::appsink_pipeline(&format!(
        "rtspsrc location=rtsp://127.0.0.1:{port}/hmr2 protocols=tcp latency=100 ! rtph264depay ! \
         h264parse ! avdec_h264 ! videoconvert ! appsink name=sink sync=false"
    ));
    client.set_state(gst::State::Playing).unwrap();
    let mut frames = 0;
    let mut size = (0, 0);
    while frames < 5 {
        assert!(Instant::now() < deadline, "client got {frames} frames; tool stderr:\n{}", log.lock().unwrap());
        if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(500)) {
            let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
            size = (info.width(), info.height());
            frames += 1;
        }
    }
    client.set_state(gst::State::Null).unwrap();
    assert_eq!(size, (320, 240));
    interrupt(&child);
    let status = wait_exit(&mut child, Duration::from_secs(60), &log);
    handle.join().unwrap();
    assert!(status.success(), "{}", log.lock().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}
