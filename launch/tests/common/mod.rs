//! Helpers shared by the launch tool's tests: the tool and its arguments ([`Launch`]), a
//! scratch directory per test ([`Scratch`]), running a GStreamer pipeline to its end
//! ([`run_to_eos`]), decoding an output, the pose file schema, and an RTSP server on
//! loopback.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst_pbutils::prelude::*;
use gst_rtsp_server::prelude::*;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The bundled sample clip: 640x360, 30 fps, 90 frames.
pub fn sample_clip() -> PathBuf {
    let p = repo_root().join("models/sample/sample.mp4");
    assert!(p.is_file(), "{} is missing: run scripts/setup.sh (it generates the default assets)", p.display());
    p
}

pub const SAMPLE_FRAMES: u64 = 90;
pub const SAMPLE_FPS: u64 = 30;

pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        gst::init().unwrap();
    });
}

/// The tool under test: the `hmr2-launch` binary cargo built for these tests, or the one
/// `HMR2_LAUNCH_BIN` names (to run a test against another build, e.g. an older commit's).
pub fn tool_path() -> PathBuf {
    std::env::var_os("HMR2_LAUNCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_hmr2-launch")))
}

/// The one way the tests build a command line for the tool.
pub struct Launch {
    cmd: Command,
}

impl Launch {
    /// `hmr2-launch SUBCOMMAND`.
    pub fn new(subcommand: &str) -> Self {
        let mut cmd = Command::new(tool_path());
        cmd.arg(subcommand);
        // Quiet Vulkan loader noise; keep GStreamer from loading other copies of our plugins.
        cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir());
        cmd.env_remove("GST_PLUGIN_PATH");
        Self { cmd }
    }

    /// `hmr2-launch file INPUT`.
    pub fn file(input: impl AsRef<OsStr>) -> Self {
        Self::new("file").arg(input)
    }

    /// `hmr2-launch test-source --size WxH` (a live videotestsrc).
    pub fn test_source(size: &str) -> Self {
        Self::new("test-source").arg("--size").arg(size)
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(a);
        self
    }

    /// An option and its value.
    pub fn opt(self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.arg(name).arg(value)
    }

    /// `-o PATH`.
    pub fn output(self, path: impl AsRef<OsStr>) -> Self {
        self.opt("-o", path)
    }

    /// `--poses PATH`.
    pub fn poses(self, path: impl AsRef<OsStr>) -> Self {
        self.opt("--poses", path)
    }

    /// `--max-frames N`.
    pub fn max_frames(self, n: u64) -> Self {
        self.opt("--max-frames", n.to_string())
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// hmr2pose falls back to its bundled HMR2 test network (no default models folder):
    /// for transport tests that need a pose model faster than real time on this machine.
    pub fn with_test_network(self) -> Self {
        self.env(hmr2_meta::models::MODELS_DIR_ENV, hmr2_meta::models::NO_MODELS_DIR)
    }

    /// Runs the tool to its end and returns its output; panics (with its stderr) when it
    /// does not finish within `timeout`.
    pub fn run(self, timeout: Duration) -> Output {
        run_with_timeout(self.cmd, timeout)
    }

    /// Starts the tool, its stderr collected in the background.
    pub fn spawn(mut self) -> Running {
        let mut child = self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("cannot start the tool");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let text = stderr.clone();
        let collector = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut t = text.lock().unwrap();
                t.push_str(&line);
                t.push('\n');
            }
        });
        Running { child, stderr, collector: Some(collector) }
    }
}

/// Runs any command with a time limit, collecting stdout and stderr.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("cannot start the command");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let err = String::from_utf8_lossy(&err_thread.join().unwrap()).into_owned();
            panic!("{cmd:?} did not finish within {timeout:?}; stderr:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output { status, stdout: out_thread.join().unwrap(), stderr: err_thread.join().unwrap() }
}

/// A running tool; killed when dropped before it exited.
pub struct Running {
    child: Child,
    stderr: Arc<Mutex<String>>,
    collector: Option<JoinHandle<()>>,
}

impl Running {
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends a signal (`INT`, `TERM`, `HUP`, ...).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill").args(["-s", name, &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "cannot send SIG{name}");
    }

    /// Waits until `cond` holds (it is given the stderr so far); panics with the tool's
    /// stderr after `timeout` or when the tool exits first.
    pub fn wait_until(&mut self, what: &str, timeout: Duration, cond: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        while !cond(&self.stderr()) {
            if let Some(s) = self.child.try_wait().unwrap() {
                panic!("the tool exited ({s}) before {what}; stderr:\n{}", self.stderr());
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; stderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the tool to exit; returns its status and its whole stderr.
    pub fn wait(mut self, timeout: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the tool did not exit; stderr:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some(c) = self.collector.take() {
            c.join().unwrap();
        }
        (status, self.stderr())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A scratch directory for one test under cargo's target tmp dir. It is removed when the
/// test passes; when the test fails (panics) it is kept and its path printed.
pub struct Scratch(PathBuf);

pub fn scratch(name: &str) -> Scratch {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("launch-tests").join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

impl Scratch {
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed: its files are kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The one wait for a GStreamer pipeline: plays it until end of stream or an error (or
/// `timeout`), then stops it.
pub fn run_to_eos(pipeline: &gst::Pipeline, timeout: Duration) -> Result<(), String> {
    pipeline.set_state(gst::State::Playing).map_err(|e| format!("cannot start the pipeline: {e}"))?;
    let msg = pipeline.bus().unwrap().timed_pop_filtered(
        gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    let _ = pipeline.set_state(gst::State::Null);
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(()),
        Some(gst::MessageView::Error(e)) => Err(format!(
            "{}: {} ({})",
            msg.as_ref().unwrap().src().map(|s| s.name().to_string()).unwrap_or_default(),
            e.error(),
            e.debug().unwrap_or_default()
        )),
        _ => Err(format!("no end of stream within {timeout:?}")),
    }
}

/// Runs a `gst-launch-1.0`-style description that writes a file, to its end.
pub fn write_with_gstreamer(description: &str) {
    init();
    let pipeline = gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("cannot build '{description}': {e}"))
        .downcast::<gst::Pipeline>()
        .unwrap();
    run_to_eos(&pipeline, Duration::from_secs(60)).unwrap_or_else(|e| panic!("'{description}' failed: {e}"));
}

/// A pipeline whose last element is `appsink name=sink`, and that sink.
pub fn appsink_pipeline(description: &str) -> (gst::Pipeline, gst_app::AppSink) {
    init();
    let pipeline = gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("cannot build '{description}': {e}"))
        .downcast::<gst::Pipeline>()
        .unwrap();
    let sink = pipeline.by_name("sink").unwrap().downcast::<gst_app::AppSink>().unwrap();
    (pipeline, sink)
}

/// What decoding a file yields.
#[derive(Debug, Default)]
pub struct Decoded {
    pub frames: u64,
    pub width: u32,
    pub height: u32,
    pub first_pts: Option<gst::ClockTime>,
    pub last_pts: Option<gst::ClockTime>,
    pub duration: Option<gst::ClockTime>,
    pub has_audio: bool,
    pub video_caps: String,
}

/// Decodes every video frame of `path` and asks the discoverer for its duration; panics
/// when the file does not decode to its end.
pub fn decode(path: &Path) -> Decoded {
    init();
    let uri = glib::filename_to_uri(path.canonicalize().unwrap(), None).unwrap();
    let disc = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(20)).unwrap();
    let info = disc.discover_uri(&uri).unwrap_or_else(|e| panic!("cannot discover {}: {e}", path.display()));
    let video_caps = info.video_streams().first().and_then(|v| v.caps()).map(|c| c.to_string()).unwrap_or_default();
    let pipeline = gst::parse::launch(&format!(
        "uridecodebin uri=\"{uri}\" ! videoconvert ! video/x-raw,format=I420 ! fakesink name=sink sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let decoded = Arc::new(Mutex::new(Decoded {
        duration: info.duration(),
        has_audio: !info.audio_streams().is_empty(),
        video_caps,
        ..Decoded::default()
    }));
    let d = decoded.clone();
    pipeline.by_name("sink").unwrap().static_pad("sink").unwrap().add_probe(
        gst::PadProbeType::BUFFER,
        move |pad, info| {
            if let Some(gst::PadProbeData::Buffer(b)) = &info.data {
                let mut d = d.lock().unwrap();
                if d.frames == 0 {
                    let vi = gst_video::VideoInfo::from_caps(&pad.current_caps().unwrap()).unwrap();
                    d.width = vi.width();
                    d.height = vi.height();
                    d.first_pts = b.pts();
                }
                d.last_pts = b.pts();
                d.frames += 1;
            }
            gst::PadProbeReturn::Ok
        },
    );
    if let Err(e) = run_to_eos(&pipeline, Duration::from_secs(120)) {
        panic!("decoding {} failed: {e}", path.display());
    }
    let result = std::mem::take(&mut *decoded.lock().unwrap());
    result
}

/// Reads a JSONL pose file.
pub fn read_poses(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {}: not JSON ({e}): {l}", i + 1)))
        .collect()
}

/// Lines in a text file (0 when it does not exist).
pub fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0)
}

/// Lines of an output the tool is writing: while it runs they are in the temporary file
/// beside `target` (renamed to `target` at the end).
pub fn lines_written(target: &Path) -> usize {
    line_count(&hmr2_launch::pending_output::temp_path_for(target)).max(line_count(target))
}

fn f64s(v: &serde_json::Value, what: &str) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what} is not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("{what}: not a number: {x}")))
        .collect()
}

fn check_rotation(v: &serde_json::Value, what: &str) {
    let rows = v.as_array().unwrap_or_else(|| panic!("{what} is not an array"));
    assert_eq!(rows.len(), 3, "{what}: 3 rows");
    let m: Vec<Vec<f64>> = rows.iter().map(|r| f64s(r, what)).collect();
    assert!(m.iter().all(|r| r.len() == 3), "{what}: 3 columns");
    for i in 0..3 {
        for j in 0..3 {
            let dot: f64 = (0..3).map(|k| m[i][k] * m[j][k]).sum();
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-3, "{what}: not a rotation (R R^T[{i}][{j}] = {dot})");
        }
    }
}

/// Checks one line against the schema in launch/README.md; returns the number of persons.
pub fn check_pose_line(line: &serde_json::Value, expected_index: u64) -> usize {
    assert_eq!(line["frame_index"].as_u64(), Some(expected_index), "frame_index in {line}");
    assert!(line["timestamp_ns"].is_u64(), "timestamp_ns in line {expected_index}");
    assert!(line["width"].as_u64().unwrap() > 0 && line["height"].as_u64().unwrap() > 0);
    assert_eq!(line["has_poses"], serde_json::Value::Bool(true), "line {expected_index} has no poses");
    let persons = line["persons"].as_array().expect("persons array");
    for (i, p) in persons.iter().enumerate() {
        let what = format!("frame {expected_index} person {i}");
        assert_eq!(f64s(&p["bbox"], &what).len(), 4, "{what}: bbox");
        assert!(p["score"].is_number(), "{what}: score");
        assert!(p["track_id"].is_null() || p["track_id"].is_u64(), "{what}: track_id");
        let smpl = &p["smpl"];
        check_rotation(&smpl["global_orient"], &format!("{what} global_orient"));
        let body = smpl["body_pose"].as_array().expect("body_pose");
        assert_eq!(body.len(), 23, "{what}: 23 body joints");
        for (j, r) in body.iter().enumerate() {
            check_rotation(r, &format!("{what} body_pose[{j}]"));
        }
        assert_eq!(f64s(&smpl["betas"], &what).len(), 10, "{what}: betas");
        let cam = &p["camera"];
        assert_eq!(f64s(&cam["cam_t"], &what).len(), 3, "{what}: cam_t");
        assert_eq!(f64s(&cam["pred_cam"], &what).len(), 3, "{what}: pred_cam");
        assert_eq!(f64s(&cam["principal_point"], &what).len(), 2, "{what}: principal_point");
        assert!(cam["focal_length"].as_f64().unwrap() > 0.0, "{what}: focal_length");
    }
    persons.len()
}

/// Checks a whole pose file: indices in order, timestamps increasing. Returns the lines.
pub fn check_pose_file(path: &Path) -> Vec<serde_json::Value> {
    let lines = read_poses(path);
    let mut last: Option<u64> = None;
    for (i, l) in lines.iter().enumerate() {
        check_pose_line(l, i as u64);
        let ts = l["timestamp_ns"].as_u64().unwrap();
        if let Some(prev) = last {
            assert!(ts > prev, "timestamps not increasing at line {i}: {prev} then {ts}");
        }
        last = Some(ts);
    }
    lines
}

pub fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Checks that the tool succeeded (showing its stderr otherwise); returns its stdout and
/// stderr.
pub fn assert_succeeded(o: &Output) -> (String, String) {
    let (out, err) = text(o);
    assert!(o.status.success(), "tool failed:\n{err}");
    (out, err)
}

/// Asserts a failed run: non-zero exit, a one-line cause containing `needle`, no panic.
pub fn assert_fails_with(o: &Output, needle: &str) {
    let (out, err) = text(o);
    assert!(!o.status.success(), "expected failure, got success; stdout: {out}; stderr: {err}");
    assert!(err.contains(needle), "stderr lacks '{needle}':\n{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE") && !err.contains("stack backtrace"),
        "stderr shows a panic or backtrace:\n{err}"
    );
    let error_lines: Vec<&str> = err.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(error_lines.len(), 1, "expected exactly one error line:\n{err}");
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An RTSP server on loopback, run in this process with gst-rtsp-server.
pub struct TestRtspServer {
    server: gst_rtsp_server::RTSPServer,
    context: glib::MainContext,
    main_loop: glib::MainLoop,
    thread: Option<JoinHandle<()>>,
    source: Option<glib::SourceId>,
    pub port: u16,
}

/// Serves the sample clip as it is (H.264 from the MP4, paced by the server).
pub fn clip_factory_launch(clip: &Path) -> String {
    format!(
        "( filesrc location=\"{}\" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )",
        clip.display()
    )
}

/// An endless live stream (moving ball), for the reconnection test.
pub const LIVE_FACTORY_LAUNCH: &str = "( videotestsrc is-live=true pattern=ball ! \
     video/x-raw,width=320,height=240,framerate=30/1 ! \
     x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! \
     rtph264pay name=pay0 pt=96 config-interval=1 )";

impl TestRtspServer {
    /// Starts serving `launch` at rtsp://127.0.0.1:PORT/test; port 0 picks a free one.
    pub fn start(port: u16, launch: &str) -> Self {
        init();
        let context = glib::MainContext::new();
        let server = gst_rtsp_server::RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service(&port.to_string());
        let factory = gst_rtsp_server::RTSPMediaFactory::new();
        factory.set_launch(launch);
        factory.set_shared(false);
        server.mount_points().unwrap().add_factory("/test", factory);
        let mut source = None;
        // The port of a server just stopped may take a moment to be free again.
        for _ in 0..50 {
            match server.attach(Some(&context)) {
                Ok(id) => {
                    source = Some(id);
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        let source = source.unwrap_or_else(|| panic!("cannot serve RTSP on port {port}"));
        let port = server.bound_port() as u16;
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let l = main_loop.clone();
        let thread = std::thread::spawn(move || l.run());
        Self { server, context, main_loop, thread: Some(thread), source: Some(source), port }
    }

    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/test", self.port)
    }

    /// Stops abruptly: closes every client connection and the listening socket.
    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        // The listening socket: its source lives in our own context, not the default one.
        if let Some(source) = self.source.take().and_then(|id| self.context.find_source_by_id(&id)) {
            source.destroy();
        }
        self.server.client_filter(Some(&mut |_, _| gst_rtsp_server::RTSPFilterResult::Remove));
        self.main_loop.quit();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestRtspServer {
    fn drop(&mut self) {
        self.stop();
    }
}
