//! `hmr2-launch rtsp` against a real RTSP server (gst-rtsp-server, started here on
//! loopback): N frames from the sample clip, and a reconnection after the server is killed
//! and restarted on the same port.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;

#[test]
fn processes_frames_from_an_rtsp_server() {
    let server = TestRtspServer::start(0, &clip_factory_launch(&sample_clip()));
    let dir = scratch("launch-rtsp");
    let out = dir.join("rtsp.mp4");
    let poses = dir.join("rtsp.jsonl");
    let n = 30;
    // The clip is served in real time and ends after 3 s: the pose model must keep up.
    let o = Launch::new("rtsp")
        .with_test_network()
        .arg(server.url())
        .max_frames(n as u64)
        .output(&out)
        .poses(&poses)
        .run(Duration::from_secs(120));
    let (stdout, _) = assert_succeeded(&o);
    assert!(stdout.contains("video: "), "{stdout}");
    let lines = check_pose_file(&poses);
    assert_eq!(lines.len(), n, "pose lines");
    assert_eq!((lines[0]["width"].as_u64(), lines[0]["height"].as_u64()), (Some(640), Some(360)));
    let decoded = decode(&out);
    assert_eq!(decoded.frames, n as u64, "frames in the MP4");
    assert_eq!((decoded.width, decoded.height), (640, 360));
    drop(server);
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
    let mut tool = Launch::new("rtsp")
        .with_test_network()
        .arg(&url)
        .max_frames(total as u64)
        .opt("--max-retries", "10")
        .opt("--retry-delay", "0.3")
        .output(&out)
        .poses(&poses)
        .spawn();
    let limit = Duration::from_secs(120);
    tool.wait_until("the first frames", limit, |_| lines_written(&poses) >= 10);
    server.kill();
    let before = lines_written(&poses);
    tool.wait_until("the tool to notice the drop", limit, |stderr| stderr.contains("reconnecting in"));
    std::thread::sleep(Duration::from_millis(800));
    let server = TestRtspServer::start(port, LIVE_FACTORY_LAUNCH);
    assert_eq!(server.port, port);
    let (status, stderr) = tool.wait(limit);
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
}

/// A TCP proxy in front of `target` that forwards both ways until `freeze` is set; then it
/// keeps every connection open but passes nothing from the server (a server that stops
/// sending without ending the stream).
fn freezing_proxy(target: u16, freeze: Arc<AtomicBool>) -> u16 {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
            let pipe = |mut from: TcpStream, mut to: TcpStream, gate: Option<Arc<AtomicBool>>| {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if gate.as_ref().is_some_and(|g| g.load(Ordering::Relaxed)) {
                            continue;
                        }
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            };
            pipe(client.try_clone().unwrap(), server.try_clone().unwrap(), None);
            pipe(server, client, Some(freeze.clone()));
        }
    });
    port
}

#[test]
fn a_server_that_stops_sending_ends_the_run_with_a_clear_message() {
    let server = TestRtspServer::start(0, LIVE_FACTORY_LAUNCH);
    let freeze = Arc::new(AtomicBool::new(false));
    let port = freezing_proxy(server.port, freeze.clone());
    let dir = scratch("launch-rtsp-stall");
    let out = dir.join("stall.mp4");
    let poses = dir.join("stall.jsonl");
    let mut tool = Launch::new("rtsp")
        .with_test_network()
        .arg(format!("rtsp://127.0.0.1:{port}/test"))
        .opt("--stall-timeout", "2")
        .opt("--max-retries", "1")
        .opt("--retry-delay", "0.2")
        .output(&out)
        .poses(&poses)
        .spawn();
    let limit = Duration::from_secs(60);
    tool.wait_until("the first frames", limit, |_| lines_written(&poses) >= 10);
    freeze.store(true, Ordering::Relaxed);
    let frozen_at = std::time::Instant::now();
    let (status, stderr) = tool.wait(limit);
    let took = frozen_at.elapsed();
    eprintln!("ended {took:?} after the server went silent; stderr:\n{stderr}");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no frame for 2.0 s"), "the stall is named:\n{stderr}");
    assert!(stderr.contains("giving up after 1 reconnection try"), "{stderr}");
    assert!(took < Duration::from_secs(40), "took {took:?}");
    // The frames received before are finished into a playable file.
    assert!(decode(&out).frames >= 10);
    drop(server);
}
