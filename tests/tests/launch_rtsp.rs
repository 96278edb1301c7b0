//! `hmr2-launch rtsp` against a real RTSP server (gst-rtsp-server, started here on
//! loopback): N frames from the sample clip, and a reconnection after the server is killed
//! and restarted on the same port.

mod launch_common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use launch_common::*;

#[test]
fn processes_frames_from_an_rtsp_server() {
    let server = TestRtspServer::start(0, &clip_factory_launch(&sample_clip()));
    let dir = scratch("launch-rtsp");
    let out = dir.join("rtsp.mp4");
    let poses = dir.join("rtsp.jsonl");
    let n = 30;
    let o = run_tool(
        &[
            "rtsp",
            &server.url(),
            "--max-frames",
            &n.to_string(),
            "-o",
            out.to_str().unwrap(),
            "--poses",
            poses.to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    let (stdout, _) = assert_succeeded(&o);
    assert!(stdout.contains("video: "), "{stdout}");
    let lines = check_pose_file(&poses);
    assert_eq!(lines.len(), n, "pose lines");
    assert_eq!((lines[0]["width"].as_u64(), lines[0]["height"].as_u64()), (Some(640), Some(360)));
    let decoded = decode(&out);
    assert_eq!(decoded.frames, n as u64, "frames in the MP4");
    assert_eq!((decoded.width, decoded.height), (640, 360));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

fn line_count(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0)
}

#[test]
fn reconnects_after_the_server_is_killed_and_restarted() {
    let server = TestRtspServer::start(0, LIVE_FACTORY_LAUNCH);
    let port = server.port;
    let url = server.url();
    let dir = scratch("launch-rtsp-reconnect");
    let out = dir.join("reconnect.mp4");
    let poses = dir.join("reconnect.jsonl");
    let total = 45;
    let mut cmd = tool();
    cmd.args([
        "rtsp",
        &url,
        "--max-frames",
        &total.to_string(),
        "--max-retries",
        "10",
        "--retry-delay",
        "0.3",
        "-o",
        out.to_str().unwrap(),
        "--poses",
        poses.to_str().unwrap(),
    ]);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr_text = Arc::new(Mutex::new(String::new()));
    let collector = {
        let stderr = child.stderr.take().unwrap();
        let text = stderr_text.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut t = text.lock().unwrap();
                t.push_str(&line);
                t.push('\n');
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let wait_for = |what: &str, cond: &dyn Fn() -> bool| {
        while !cond() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; stderr:\n{}",
                stderr_text.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for("the first frames", &|| line_count(&poses) >= 10);
    server.kill();
    let before = line_count(&poses);
    wait_for("the tool to notice the drop", &|| stderr_text.lock().unwrap().contains("reconnecting in"));
    std::thread::sleep(Duration::from_millis(800));
    let server = TestRtspServer::start(port, LIVE_FACTORY_LAUNCH);
    assert_eq!(server.port, port);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tool did not finish; stderr:\n{}", stderr_text.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    collector.join().unwrap();
    let stderr = stderr_text.lock().unwrap().clone();
    eprintln!("tool stderr:\n{stderr}");
    assert!(status.success(), "tool failed:\n{stderr}");
    assert!(stderr.contains(&format!("rtsp: stream {url} lost")), "{stderr}");
    assert!(stderr.contains("reconnected to"), "no reconnection reported:\n{stderr}");
    assert!(before < total, "the server was killed only after all frames ({before})");
    // Frames after the restart, timestamps still increasing, one valid MP4.
    let lines = check_pose_file(&poses);
    assert_eq!(lines.len(), total, "pose lines");
    let decoded = decode(&out);
    assert_eq!(decoded.frames, total as u64, "frames in the MP4 across the reconnection");
    assert_eq!((decoded.width, decoded.height), (320, 240));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
