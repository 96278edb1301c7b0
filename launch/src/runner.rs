//! Running a plan: bus handling, Ctrl-C, progress, pose export and the summary.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{Cli, Command, Common, FileArgs, RtspArgs, TestSourceArgs, WebcamArgs};
use crate::desc::{el, Chain, Style};
use crate::plan::{self, Plan, Sink};
use crate::poses::{self, PoseTap, SharedTap};
use crate::rtsp::RtspInput;
use crate::{clean_debug, one_line, serve, Failure, EXIT_ABORTED};

const MAX_FRAMES_MESSAGE: &str = "hmr2-launch-max-frames";
/// How long to wait for end of stream once it was requested.
const EOS_TIMEOUT: Duration = Duration::from_secs(60);
const PLAIN_PROGRESS_PERIOD: Duration = Duration::from_secs(2);

static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

fn install_interrupt_handler() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let _ = ctrlc::set_handler(|| {
        let n = INTERRUPTS.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= 2 {
            eprintln!("\nhmr2-launch: aborted (the output may be unfinished)");
            std::process::exit(EXIT_ABORTED);
        }
    });
}

pub fn run(cli: Cli) -> Result<(), Failure> {
    gst::init().map_err(|e| Failure::runtime(format!("cannot initialise GStreamer: {e}")))?;
    gsthmr2::plugin_register_static()
        .map_err(|e| Failure::runtime(format!("cannot register the hmr2 plugin: {e}")))?;
    gstmeshoverlay::plugin_register_static()
        .map_err(|e| Failure::runtime(format!("cannot register the meshoverlay plugin: {e}")))?;
    match cli.command {
        Command::File(a) => run_file(a),
        Command::Webcam(a) => run_webcam(a),
        Command::Rtsp(a) => run_rtsp(a),
        Command::TestSource(a) => run_test_source(a),
    }
}

/// Checks the files the options name before anything starts.
fn check_common(common: &Common) -> Result<(), Failure> {
    let files = [
        ("model", common.pose.model.as_deref()),
        ("detector model", common.pose.detector.as_deref()),
        ("body model", common.overlay.body_model.as_deref()),
        ("boxes", common.pose.boxes.as_deref()),
    ];
    for (what, path) in files {
        if let Some(p) = path {
            if !p.is_file() {
                return Err(Failure::runtime(format!(
                    "{what} file not found: {}",
                    p.display()
                )));
            }
        }
    }
    for out in [common.output.as_deref(), common.poses.as_deref()]
        .into_iter()
        .flatten()
    {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Failure::runtime(format!(
                    "cannot create the directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
    }
    Ok(())
}

fn print_plan(plan: &Plan) {
    println!("{}", plan.printed.command_line());
    for note in &plan.notes {
        println!("# {note}");
    }
}

struct InputInfo {
    uri: String,
    has_audio: bool,
    frames: Option<u64>,
    summary: String,
}

fn discover(input: &str) -> Result<InputInfo, Failure> {
    let uri = if input.contains("://") {
        input.to_owned()
    } else {
        let path = Path::new(input);
        if !path.exists() {
            return Err(Failure::runtime(format!("input file not found: {input}")));
        }
        if !path.is_file() {
            return Err(Failure::runtime(format!("input is not a file: {input}")));
        }
        let abs = path
            .canonicalize()
            .map_err(|e| Failure::runtime(format!("cannot open input {input}: {e}")))?;
        gst::glib::filename_to_uri(&abs, None)
            .map_err(|e| Failure::runtime(format!("cannot make a URI of {input}: {e}")))?
            .to_string()
    };
    let discoverer = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(20))
        .map_err(|e| Failure::runtime(format!("cannot inspect the input: {e}")))?;
    let info = discoverer.discover_uri(&uri).map_err(|e| {
        Failure::runtime(format!(
            "cannot read input {input}: {}",
            one_line(e.message(), 200)
        ))
    })?;
    let videos = info.video_streams();
    let Some(video) = videos.first() else {
        return Err(Failure::runtime(format!(
            "input {input} has no video stream"
        )));
    };
    let fps = video.framerate();
    let duration = info.duration();
    let frames = duration.filter(|_| fps.numer() > 0).map(|d| {
        (d.nseconds() as f64 * fps.numer() as f64 / fps.denom() as f64 / 1e9).round() as u64
    });
    let summary = format!(
        "{}x{} at {:.3} frames/s, {}{}",
        video.width(),
        video.height(),
        if fps.denom() > 0 {
            fps.numer() as f64 / fps.denom() as f64
        } else {
            0.0
        },
        duration.map_or("unknown length".to_owned(), |d| format!(
            "{:.2} s",
            d.seconds_f64()
        )),
        if info.audio_streams().is_empty() {
            ", no audio"
        } else {
            ", with audio"
        },
    );
    Ok(InputInfo {
        uri,
        has_audio: !info.audio_streams().is_empty(),
        frames,
        summary,
    })
}

fn run_file(args: FileArgs) -> Result<(), Failure> {
    let common = &args.common;
    let sink = plan::choose_sink(common, None)?;
    check_common(common)?;
    let info = discover(&args.input)?;
    let plan = plan::file_plan(&info.uri, info.has_audio, common, sink)?;
    if common.print_pipeline {
        print_plan(&plan);
        return Ok(());
    }
    if !common.quiet {
        eprintln!("hmr2-launch: {}: {}", args.input, info.summary);
    }
    let expected = match (info.frames, common.max_frames) {
        (Some(f), Some(m)) => Some(f.min(m)),
        (f, m) => f.or(m),
    };
    Session::new(&plan, common, None)?.run(expected)
}

fn run_webcam(args: WebcamArgs) -> Result<(), Failure> {
    let common = &args.common;
    let device = if args.device.chars().all(|c| c.is_ascii_digit()) {
        format!("/dev/video{}", args.device)
    } else {
        args.device.clone()
    };
    let sink = plan::choose_sink(common, Some(&args.serve))?;
    check_common(common)?;
    let mut source = Chain::new().then(el("v4l2src").prop("device", &device));
    if let Some(caps) = &args.caps {
        source = source.caps(caps);
    }
    let plan = plan::live_plan(source.then(el("decodebin")), common, sink)?;
    if common.print_pipeline {
        print_plan(&plan);
        return Ok(());
    }
    if !Path::new(&device).exists() {
        return Err(Failure::runtime(format!(
            "camera device not found: {device}"
        )));
    }
    Session::new(&plan, common, None)?.run(common.max_frames)
}

fn run_test_source(args: TestSourceArgs) -> Result<(), Failure> {
    let common = &args.common;
    let (w, h) = args
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .ok_or_else(|| {
            Failure::usage(format!("--size must be WIDTHxHEIGHT, not '{}'", args.size))
        })?;
    let sink = plan::choose_sink(common, Some(&args.serve))?;
    check_common(common)?;
    let source = Chain::new()
        .then(
            el("videotestsrc")
                .prop("is-live", true)
                .prop("pattern", &args.pattern),
        )
        .caps(&format!(
            "video/x-raw,width={w},height={h},framerate={}/1",
            args.fps.max(1)
        ));
    let plan = plan::live_plan(source, common, sink)?;
    if common.print_pipeline {
        print_plan(&plan);
        return Ok(());
    }
    Session::new(&plan, common, None)?.run(common.max_frames)
}

fn run_rtsp(args: RtspArgs) -> Result<(), Failure> {
    let common = &args.common;
    if !["rtsp://", "rtsps://", "rtspt://", "rtsph://"]
        .iter()
        .any(|p| args.url.starts_with(p))
    {
        return Err(Failure::usage(format!("not an RTSP URL: {}", args.url)));
    }
    let sink = plan::choose_sink(common, None)?;
    check_common(common)?;
    let plan = plan::rtsp_plan(&args, sink)?;
    if common.print_pipeline {
        print_plan(&plan);
        return Ok(());
    }
    Session::new(&plan, common, Some(&args))?.run(common.max_frames)
}

/// Frame counters filled by pad probes.
#[derive(Default)]
struct Counters {
    /// Frames that reached the processing queue.
    arrived: AtomicU64,
    /// Frames that left it into hmr2pose (after --max-frames).
    admitted: AtomicU64,
    /// Frames out of the processing chain.
    done: AtomicU64,
    /// Set on Ctrl-C: frames still queued in front of hmr2pose are dropped so the output
    /// is finished promptly.
    closing: AtomicBool,
}

struct Session<'a> {
    plan: &'a Plan,
    common: &'a Common,
    pipeline: gst::Pipeline,
    tap: SharedTap,
    counters: Arc<Counters>,
    rtsp: Option<RtspInput>,
    appsrc: Option<gst_app::AppSrc>,
    serve_sink: Option<gst_app::AppSink>,
}

fn element_label(msg: &gst::Message) -> String {
    let Some(src) = msg.src() else {
        return "pipeline".to_owned();
    };
    let name = src.name().to_string();
    match src.downcast_ref::<gst::Element>().and_then(|e| e.factory()) {
        Some(f) if !name.starts_with(f.name().as_str()) => format!("{name} ({})", f.name()),
        _ => name,
    }
}

/// One line describing an error message from the bus.
fn describe_error(msg: &gst::Message, err: &gst::message::Error) -> String {
    let who = element_label(msg);
    let e = err.error();
    let debug = err.debug().map(|d| clean_debug(&d)).unwrap_or_default();
    let with_debug = |s: String| {
        if debug.is_empty() {
            s
        } else {
            format!("{s} ({debug})")
        }
    };
    if debug.contains("not-negotiated") || e.matches(gst::CoreError::Negotiation) {
        with_debug(format!(
            "format negotiation failed at {who}: {}",
            e.message()
        ))
    } else if e.matches(gst::StreamError::TypeNotFound) || e.matches(gst::StreamError::WrongType) {
        with_debug(format!("cannot read the input ({who}): {}", e.message()))
    } else {
        with_debug(format!("{who}: {}", e.message()))
    }
}

fn first_bus_error(bus: &gst::Bus, wait: Duration) -> Option<String> {
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_nseconds(wait.as_nanos() as u64),
        &[gst::MessageType::Error],
    )?;
    match msg.view() {
        gst::MessageView::Error(e) => Some(describe_error(&msg, e)),
        _ => None,
    }
}

impl<'a> Session<'a> {
    fn new(
        plan: &'a Plan,
        common: &'a Common,
        rtsp_args: Option<&RtspArgs>,
    ) -> Result<Self, Failure> {
        let text = plan.main.render(Style::Parse);
        if common.verbose {
            eprintln!("hmr2-launch: pipeline: {}", plan.printed.command_line());
        }
        let pipeline = gst::parse::launch_full(&text, None, gst::ParseFlags::FATAL_ERRORS)
            .map_err(|e| {
                let what = if e.matches(gst::ParseError::Link) {
                    "format negotiation failed while building the pipeline"
                } else {
                    "cannot build the pipeline"
                };
                Failure::runtime(format!("{what}: {}", one_line(e.message(), 300)))
            })?
            .downcast::<gst::Pipeline>()
            .map_err(|_| Failure::runtime("the description is not a pipeline"))?;
        let element = |name: &str| {
            pipeline
                .by_name(name)
                .ok_or_else(|| Failure::runtime(format!("pipeline has no element named '{name}'")))
        };
        let tap = PoseTap::new(common.poses.as_deref()).map_err(|e| {
            Failure::runtime(format!(
                "cannot create {}: {e}",
                common.poses.as_deref().unwrap_or(Path::new("")).display()
            ))
        })?;
        let tap: SharedTap = Arc::new(Mutex::new(tap));
        let pose = element(plan::POSE)?;
        if let Some(path) = &common.pose.boxes {
            let table = crate::boxes::BoxTable::load(path).map_err(Failure::runtime)?;
            crate::boxes::install(&pose.static_pad("sink").expect("hmr2pose has a sink pad"), table);
        }
        poses::install(
            &pose.static_pad("src").expect("hmr2pose has a src pad"),
            tap.clone(),
        );

        let counters = Arc::new(Counters::default());
        let queue = element(plan::IN)?;
        let c = counters.clone();
        queue.static_pad("sink").expect("queue sink").add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |_, info| {
                c.arrived.fetch_add(buffers_in(info), Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            },
        );
        let c = counters.clone();
        let max = common.max_frames;
        let bus = pipeline.bus().expect("pipeline has a bus");
        queue.static_pad("src").expect("queue src").add_probe(
            gst::PadProbeType::BUFFER,
            move |_, _| {
                if c.closing.load(Ordering::Relaxed) {
                    return gst::PadProbeReturn::Drop;
                }
                let n = c.admitted.fetch_add(1, Ordering::Relaxed) + 1;
                match max {
                    Some(m) if n > m => gst::PadProbeReturn::Drop,
                    Some(m) if n == m => {
                        let _ = bus.post(
                            gst::message::Application::builder(gst::Structure::new_empty(
                                MAX_FRAMES_MESSAGE,
                            ))
                            .build(),
                        );
                        gst::PadProbeReturn::Ok
                    }
                    _ => gst::PadProbeReturn::Ok,
                }
            },
        );
        let c = counters.clone();
        element(plan::POST)?
            .static_pad("src")
            .expect("videoconvert src")
            .add_probe(
                gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
                move |_, info| {
                    c.done.fetch_add(buffers_in(info), Ordering::Relaxed);
                    gst::PadProbeReturn::Ok
                },
            );

        let appsrc = pipeline
            .by_name(plan::APPSRC)
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok());
        let rtsp = match (rtsp_args, &plan.source, &appsrc) {
            (Some(args), Some(source), Some(appsrc)) => Some(RtspInput::new(
                &args.url,
                source.clone(),
                appsrc.clone(),
                pipeline.bus().expect("bus"),
                args.max_retries,
                args.retry_delay,
                args.stall_timeout,
            )),
            _ => None,
        };
        let serve_sink = pipeline
            .by_name(plan::SERVE_SINK)
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok());
        Ok(Self {
            plan,
            common,
            pipeline,
            tap,
            counters,
            rtsp,
            appsrc,
            serve_sink,
        })
    }

    fn request_eos(&mut self) {
        if let Some(r) = &mut self.rtsp {
            r.stop();
        }
        match &self.appsrc {
            Some(src) => {
                let _ = src.end_of_stream();
            }
            None => {
                self.pipeline.send_event(gst::event::Eos::new());
            }
        }
    }

    fn run(mut self, expected: Option<u64>) -> Result<(), Failure> {
        install_interrupt_handler();
        let bus = self.pipeline.bus().expect("pipeline has a bus");
        let _server = match (&self.plan.sink, &self.serve_sink) {
            (Sink::Serve { port, mount }, Some(appsink)) => {
                let s = serve::start(*port, mount, appsink.clone())?;
                eprintln!("hmr2-launch: serving {}", s.url);
                Some(s)
            }
            _ => None,
        };
        if self.pipeline.set_state(gst::State::Playing).is_err() {
            let cause = first_bus_error(&bus, Duration::from_secs(2))
                .unwrap_or_else(|| "the pipeline refused to start".to_owned());
            let _ = self.pipeline.set_state(gst::State::Null);
            self.cleanup_output(0);
            return Err(Failure::runtime(cause));
        }
        if let Some(r) = &mut self.rtsp {
            r.start()?;
        }
        let started = Instant::now();
        let mut progress = Progress::new(self.common.quiet, expected, self.plan.live);
        let mut eos_requested_at: Option<Instant> = None;
        let mut failure: Option<Failure> = None;
        let mut interrupted = false;
        loop {
            if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
                match msg.view() {
                    gst::MessageView::Eos(_) => break,
                    gst::MessageView::Error(e) => {
                        failure = Some(Failure::runtime(describe_error(&msg, e)));
                        break;
                    }
                    gst::MessageView::Warning(w) if self.common.verbose => {
                        progress.println(&format!(
                            "hmr2-launch: warning from {}: {}",
                            element_label(&msg),
                            w.error()
                        ));
                    }
                    gst::MessageView::Application(a)
                        if a.structure()
                            .is_some_and(|s| s.name() == MAX_FRAMES_MESSAGE)
                            && eos_requested_at.is_none() =>
                    {
                        self.request_eos();
                        eos_requested_at = Some(Instant::now());
                    }
                    gst::MessageView::Latency(_) => {
                        let _ = self.pipeline.recalculate_latency();
                    }
                    _ => {}
                }
            }
            if !interrupted && INTERRUPTS.load(Ordering::SeqCst) > 0 {
                interrupted = true;
                self.counters.closing.store(true, Ordering::Relaxed);
                progress.println(
                    "hmr2-launch: interrupted: finishing the output (Ctrl-C again to abort)",
                );
                if eos_requested_at.is_none() {
                    self.request_eos();
                    eos_requested_at = Some(Instant::now());
                }
            }
            if eos_requested_at.is_none() {
                if let Some(r) = &mut self.rtsp {
                    progress
                        .suspend(|| r.poll(self.common.verbose))
                        .unwrap_or_else(|f| {
                            failure = Some(f);
                        });
                    if failure.is_some() {
                        self.request_eos();
                        eos_requested_at = Some(Instant::now());
                    }
                }
            }
            progress.update(&self.counters);
            if eos_requested_at.is_some_and(|t| t.elapsed() > EOS_TIMEOUT) {
                failure.get_or_insert(Failure::runtime(format!(
                    "the pipeline did not finish within {} s after end of stream was requested",
                    EOS_TIMEOUT.as_secs()
                )));
                break;
            }
        }
        progress.finish();
        let elapsed = started.elapsed();
        let stats: Vec<(String, gst::Structure)> = [plan::POSE, plan::OVERLAY]
            .iter()
            .filter_map(|name| {
                let e = self.pipeline.by_name(name)?;
                let factory = e
                    .factory()
                    .map(|f| f.name().to_string())
                    .unwrap_or_default();
                element_stats(&e).map(|s| (factory, s))
            })
            .collect();
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(r) = &mut self.rtsp {
            r.stop();
        }
        let tap_result = self.tap.lock().unwrap_or_else(|e| e.into_inner()).finish();
        let done = self.counters.done.load(Ordering::Relaxed);
        if done > 0 || failure.is_none() {
            self.print_summary(elapsed, &stats, interrupted);
        }
        if let Some(f) = failure {
            self.cleanup_output(done);
            return Err(f);
        }
        if let Err(e) = tap_result {
            return Err(Failure::runtime(format!("cannot write the poses: {e}")));
        }
        self.print_outputs();
        Ok(())
    }

    /// Removes an output file that never received a frame.
    fn cleanup_output(&self, done: u64) {
        if done == 0 {
            if let Sink::File(p) = &self.plan.sink {
                let _ = std::fs::remove_file(p);
            }
        }
    }

    fn print_summary(
        &self,
        elapsed: Duration,
        stats: &[(String, gst::Structure)],
        interrupted: bool,
    ) {
        let done = self.counters.done.load(Ordering::Relaxed);
        let arrived = self.counters.arrived.load(Ordering::Relaxed);
        let admitted = self.counters.admitted.load(Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        let tap = self.tap.lock().unwrap_or_else(|e| e.into_inner());
        let c = &tap.counts;
        eprintln!(
            "hmr2-launch: {}{done} frames in {secs:.1} s ({:.1} frames/s)",
            if interrupted {
                "interrupted after "
            } else {
                ""
            },
            if secs > 0.0 { done as f64 / secs } else { 0.0 }
        );
        let dropped = arrived.saturating_sub(admitted.min(arrived));
        if self.plan.live
            && !interrupted
            && dropped > 0
            && self.common.max_frames.is_none_or(|m| admitted < m)
        {
            eprintln!(
                "hmr2-launch: dropped {dropped} frames: processing was slower than the live source"
            );
        }
        let tracks = if c.track_ids.is_empty() {
            String::new()
        } else {
            format!(", {} track ids", c.track_ids.len())
        };
        eprintln!(
            "hmr2-launch: people found: {} in {} of {} frames (at most {} in one frame{tracks})",
            c.persons, c.frames_with_persons, c.frames, c.max_persons
        );
        if c.frames > 0 && c.frames_with_meta < c.frames {
            eprintln!(
                "hmr2-launch: {} of {} frames carried no pose metadata{}",
                c.frames - c.frames_with_meta,
                c.frames,
                c.first_meta_error
                    .as_deref()
                    .map(|e| format!(" (first problem: {e})"))
                    .unwrap_or_default()
            );
        }
        if let Some(r) = &self.rtsp {
            if r.reconnections > 0 {
                let times = if r.reconnections == 1 {
                    "once".to_owned()
                } else {
                    format!("{} times", r.reconnections)
                };
                eprintln!("hmr2-launch: rtsp: reconnected {times}");
            }
        }
        for (factory, s) in stats {
            eprintln!("hmr2-launch: {factory} stats: {}", format_stats(s));
        }
        if stats.is_empty() {
            eprintln!(
                "hmr2-launch: (no per-stage timings: the elements expose no 'stats' property)"
            );
        }
    }

    fn print_outputs(&self) {
        if let Sink::File(p) = &self.plan.sink {
            println!("video: {}", p.display());
        }
        if let Some(p) = &self.common.poses {
            println!("poses: {}", p.display());
        }
    }
}

fn buffers_in(info: &gst::PadProbeInfo) -> u64 {
    match &info.data {
        Some(gst::PadProbeData::Buffer(_)) => 1,
        Some(gst::PadProbeData::BufferList(l)) => l.len() as u64,
        _ => 0,
    }
}

/// The element's `stats` structure, if it has such a property.
fn element_stats(e: &gst::Element) -> Option<gst::Structure> {
    let pspec = e.find_property("stats")?;
    if pspec.value_type() != gst::Structure::static_type() {
        return None;
    }
    e.property::<Option<gst::Structure>>("stats")
}

fn value_text(value: &gst::glib::SendValue) -> Option<String> {
    if let Ok(v) = value.get::<f64>() {
        Some(format!("{v:.3}"))
    } else if let Ok(v) = value.get::<f32>() {
        Some(format!("{v:.3}"))
    } else if let Ok(v) = value.get::<u64>() {
        Some(v.to_string())
    } else if let Ok(v) = value.get::<i64>() {
        Some(v.to_string())
    } else if let Ok(v) = value.get::<u32>() {
        Some(v.to_string())
    } else if let Ok(v) = value.get::<i32>() {
        Some(v.to_string())
    } else if let Ok(v) = value.get::<bool>() {
        Some(v.to_string())
    } else if let Ok(v) = value.get::<String>() {
        Some(v)
    } else {
        value.serialize().ok().map(|v| v.to_string())
    }
}

/// A stats structure on one line. Fields named `X-ns` (totals in nanoseconds) are shown as
/// milliseconds per frame when the structure counts `frames`; `mean-X-ms` as `X` per frame;
/// `last-…` fields are left out; anything else as `name=value`.
pub fn format_stats(s: &gst::StructureRef) -> String {
    let frames = s
        .get::<u64>("frames")
        .ok()
        .or_else(|| s.get::<u64>("frames-rendered").ok())
        .filter(|f| *f > 0);
    let mut counts = Vec::new();
    let mut stages = Vec::new();
    for (name, value) in s.iter() {
        let name = name.as_str();
        if name.starts_with("last-") {
            continue;
        }
        if let Some(stage) = name.strip_suffix("-ns") {
            if let (Ok(ns), Some(f)) = (value.get::<u64>(), frames) {
                stages.push(format!("{stage} {:.2} ms", ns as f64 / 1e6 / f as f64));
                continue;
            }
        }
        if let Some(stage) = name
            .strip_prefix("mean-")
            .and_then(|n| n.strip_suffix("-ms"))
        {
            if let Ok(ms) = value.get::<f64>() {
                stages.push(format!("{stage} {ms:.2} ms"));
                continue;
            }
        }
        if let Some(text) = value_text(value) {
            counts.push(format!("{name}={text}"));
        }
    }
    let mut out = counts.join(", ");
    if !stages.is_empty() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str("per frame: ");
        out.push_str(&stages.join(", "));
    }
    if out.is_empty() {
        "(empty)".to_owned()
    } else {
        out
    }
}

/// Progress on stderr: a bar on a terminal, periodic lines otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    total: Option<u64>,
    start: Instant,
    last_line: Instant,
    live: bool,
}

impl Progress {
    fn new(quiet: bool, total: Option<u64>, live: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let (bar, template) = match total {
                Some(t) => (
                    ProgressBar::new(t),
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} frames, {per_sec}, ETA {eta}",
                ),
                None => (ProgressBar::new_spinner(), "{spinner} [{elapsed_precise}] {pos} frames, {per_sec}"),
            };
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        });
        let now = Instant::now();
        Self {
            bar,
            plain: !quiet && !tty,
            total,
            start: now,
            last_line: now,
            live,
        }
    }

    fn update(&mut self, counters: &Counters) {
        let done = counters.done.load(Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            if self.total.is_some_and(|t| done > t) {
                bar.set_length(done);
            }
            bar.set_position(done);
            bar.tick();
        } else if self.plain && self.last_line.elapsed() >= PLAIN_PROGRESS_PERIOD {
            self.last_line = Instant::now();
            let secs = self.start.elapsed().as_secs_f64();
            let fps = if secs > 0.0 { done as f64 / secs } else { 0.0 };
            let line = match self.total {
                Some(t) if t > 0 => {
                    let eta = if fps > 0.0 && t > done {
                        format!(", ETA {:.0} s", (t - done) as f64 / fps)
                    } else {
                        String::new()
                    };
                    format!(
                        "hmr2-launch: {done}/{t} frames ({:.0}%), {fps:.1} frames/s{eta}",
                        100.0 * done as f64 / t as f64
                    )
                }
                _ => format!(
                    "hmr2-launch: {done} frames, {fps:.1} frames/s{}",
                    if self.live { " (live)" } else { "" }
                ),
            };
            eprintln!("{line}");
        }
    }

    fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }
}
