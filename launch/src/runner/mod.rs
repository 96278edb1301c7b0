//! Running a command: one function per subcommand checks its arguments, turns them into a
//! [`Plan`] and hands it to a [`Session`].
//!
//! - `checks`: outputs that would overwrite what the run reads, missing files, --boxes;
//! - `discover`: what the input file holds (GstDiscoverer), before anything is built;
//! - `outputs`: the output files, written beside their targets and renamed when finished;
//! - `session`: the pipeline built from the plan, its pad probes and the bus loop;
//! - `ending`: whether the outputs are put in place, and the run's exit status;
//! - `counters`: frame counters kept by pad probes (progress, --max-frames, summary);
//! - `bus`: one-line descriptions of bus messages;
//! - `signals`: SIGINT, SIGTERM and SIGHUP;
//! - `stall`: a file input that stops sending frames without ending;
//! - `progress`: the progress bar or periodic lines;
//! - `summary` and `stats`: the report at the end, with the elements' `stats` structures.

mod audio_probes;
mod bus;
mod checks;
mod counters;
mod discover;
mod ending;
mod export;
mod outputs;
mod progress;
mod session;
mod signals;
mod stall;
mod stats;
mod summary;

use std::path::Path;

use clap::Parser as _;

use crate::cli::{Cli, Command, Common, FileArgs, RtspArgs, TestSourceArgs, WebcamArgs};
use crate::conform::{self, Orientation, Picture};
use crate::desc::{el, Chain};
use crate::plan::{self, Plan};
use crate::{say, Failure, Outcome};

use checks::Checked;
use outputs::Outputs;
use session::{Ending, Session};

pub fn run(cli: Cli) -> Result<Outcome, Failure> {
    // A file conversion: no pipeline, no GStreamer.
    let cli = match cli.command {
        Command::Export(a) => return export::run_export(&a),
        command => Cli { command },
    };
    // First, so a signal during set-up ends the run the same way as later ones.
    signals::install_interrupt_handler();
    init_gstreamer()?;
    match cli.command {
        Command::File(a) => run_file(a),
        Command::Webcam(a) => run_webcam(a),
        Command::Rtsp(a) => run_rtsp(a),
        Command::TestSource(a) => run_test_source(a),
        Command::Standby => run_standby(),
        Command::Export(_) => unreachable!("handled above"),
        Command::Serve(_) => Err(Failure::usage("serve is not a pipeline command")),
    }
}

/// `standby`: set up, then wait for the `file` command line to run (one JSON line on stdin).
fn run_standby() -> Result<Outcome, Failure> {
    // Loaded now rather than when the job's pipeline starts; an error is the job's to report.
    let _ = gsthmr2::onnxruntime::ensure_loaded();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::runtime(format!("standby: cannot read the command line: {e}")))?;
    if line.trim().is_empty() {
        // Dismissed before it got a job.
        return Ok(Outcome::Complete);
    }
    let args: Vec<String> = serde_json::from_str(&line)
        .map_err(|e| Failure::usage(format!("standby: expected a JSON array of arguments: {e}")))?;
    let cli = Cli::try_parse_from(std::iter::once("hmr2-launch".to_owned()).chain(args))
        .map_err(|e| Failure::usage(crate::one_line(&e.to_string(), 600)))?;
    match cli.command {
        Command::File(a) => run_file(a),
        _ => Err(Failure::usage("standby runs 'file' command lines only")),
    }
}

/// GStreamer and the project's plugins, set up once per process.
pub fn init_gstreamer() -> Result<(), Failure> {
    static READY: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let ready = READY.get_or_init(|| {
        gst::init().map_err(|e| format!("cannot initialise GStreamer: {e}"))?;
        gsthmr2::plugin_register_static().map_err(|e| format!("cannot register the hmr2 plugin: {e}"))?;
        gsthmr2track::plugin_register_static().map_err(|e| format!("cannot register the hmr2track plugin: {e}"))?;
        gstmeshoverlay::plugin_register_static().map_err(|e| format!("cannot register the meshoverlay plugin: {e}"))?;
        Ok(())
    });
    ready.clone().map_err(Failure::runtime)
}

/// What `hmr2-launch file ARGS --print-pipeline` checks, done in this process: the options,
/// the files named, the input (GstDiscoverer) and the pipeline's plan. Nothing is built,
/// nothing written. `args` come after the program name and start with `file`.
pub fn check_file_job(args: &[String]) -> Result<(), Failure> {
    init_gstreamer()?;
    let cli = Cli::try_parse_from(std::iter::once("hmr2-launch").chain(args.iter().map(String::as_str)))
        .map_err(|e| Failure::usage(crate::one_line(&e.to_string(), 300)))?;
    let Command::File(args) = cli.command else {
        return Err(Failure::usage("not a 'file' command line"));
    };
    prepare_file(&args).map(|_| ())
}

/// Opens the outputs the checks resolved and runs the plan.
fn run_plan(
    plan: &Plan,
    common: &Common,
    checked: Checked,
    rtsp: Option<&RtspArgs>,
    ending: Ending,
) -> Result<Outcome, Failure> {
    let mut outputs = Outputs::open(
        (common.output.as_deref().filter(|_| plan.sink.is_file()), checked.video_target.as_deref()),
        (common.poses.as_deref(), checked.poses_target.as_deref()),
    )?;
    if let (Some(shown), Some(target)) = (&common.animation, &checked.animation_target) {
        outputs.animation = Some(outputs::AnimationOutput::open(
            shown,
            target,
            common.overlay.body_model.as_deref(),
            common.poses.is_some(),
        )?);
    }
    Session::new(plan, common, rtsp, checked.boxes, outputs)?.run(ending)
}

fn print_plan(plan: &Plan) -> Outcome {
    println!("{}", plan.printed.command_line());
    for note in &plan.notes {
        println!("# {note}");
    }
    Outcome::Complete
}

/// A `file` run checked and planned: nothing built, nothing written yet.
struct FileRun {
    sink: plan::Sink,
    input: Option<std::path::PathBuf>,
    checked: Checked,
    info: discover::InputInfo,
    plan: Plan,
}

/// The options, the files named, the input (GstDiscoverer) and the pipeline's plan.
fn prepare_file(args: &FileArgs) -> Result<FileRun, Failure> {
    let common = &args.common;
    let sink = plan::choose_sink(common, None)?;
    let input = checks::local_input(&args.input);
    let checked = checks::check(common, &sink, input.as_deref())?;
    if input.as_deref().is_some_and(conform::is_jpeg_file) {
        // Decoding alone ignores a photo's EXIF orientation; the parser reads it.
        conform::read_exif_orientation();
    }
    let info = discover::discover(&args.input)?;
    let plan = plan::file_plan(&info.uri, &info.audio_tracks, Some(&info.picture), common, sink.clone())?;
    Ok(FileRun { sink, input, checked, info, plan })
}

fn run_file(args: FileArgs) -> Result<Outcome, Failure> {
    let common = &args.common;
    let FileRun { sink, input, checked, info, plan } = prepare_file(&args)?;
    if common.print_pipeline {
        return Ok(print_plan(&plan));
    }
    if !common.quiet {
        say!("hmr2-launch: {}: {}", args.input, info.summary);
    }
    let progress_total = match (info.frames, common.max_frames) {
        (Some(f), Some(m)) => Some(f.min(m)),
        (f, m) => f.or(m),
    };
    let (uri, picture) = (info.uri.clone(), Some(info.picture));
    let ending = Ending { progress_total, input: Some(info), allow_partial: args.allow_partial };
    match run_plan(&plan, common, checked, None, ending.clone()) {
        // An audio problem never costs the video: the run is redone without the audio.
        Err(f) if f.in_audio => {
            say!("hmr2-launch: warning: the audio cannot be kept ({}): writing the video without it", f.message);
            let plan = plan::file_plan(&uri, &[], picture.as_ref(), common, sink)?;
            let checked = checks::check(common, &plan.sink, input.as_deref())?;
            run_plan(&plan, common, checked, None, ending)
        }
        result => result,
    }
}

fn run_webcam(args: WebcamArgs) -> Result<Outcome, Failure> {
    let common = &args.common;
    let device = if args.device.chars().all(|c| c.is_ascii_digit()) {
        format!("/dev/video{}", args.device)
    } else {
        args.device.clone()
    };
    let sink = plan::choose_sink(common, Some(&args.serve))?;
    let checked = checks::check(common, &sink, Some(Path::new(&device)))?;
    let mut source = Chain::new().then(el("v4l2src").prop("device", &device));
    if let Some(caps) = &args.caps {
        source = source.caps(caps);
    }
    let plan = plan::live_plan(source.then(el("decodebin")), None, common, sink)?;
    if common.print_pipeline {
        return Ok(print_plan(&plan));
    }
    checks::video_device(Path::new(&device))?;
    run_plan(&plan, common, checked, None, Ending::live(common))
}

fn run_test_source(args: TestSourceArgs) -> Result<Outcome, Failure> {
    let common = &args.common;
    let (w, h) = args
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .ok_or_else(|| Failure::usage(format!("--size must be WIDTHxHEIGHT, not '{}'", args.size)))?;
    let sink = plan::choose_sink(common, Some(&args.serve))?;
    let checked = checks::check(common, &sink, None)?;
    let picture = Picture {
        width: w,
        height: h,
        orientation: Orientation::Upright,
        par: (1, 1),
        fps: Some(args.fps.max(1) as f64),
        still: false,
    };
    // Tinier test frames stay as they are: they exercise the negotiation errors.
    let picture = picture.check().is_ok().then_some(picture);
    let source = Chain::new()
        .then(el("videotestsrc").prop("is-live", true).prop("pattern", &args.pattern))
        .caps(&format!("video/x-raw,width={w},height={h},framerate={}/1", args.fps.max(1)));
    let plan = plan::live_plan(source, picture.as_ref(), common, sink)?;
    if common.print_pipeline {
        return Ok(print_plan(&plan));
    }
    run_plan(&plan, common, checked, None, Ending::live(common))
}

fn run_rtsp(args: RtspArgs) -> Result<Outcome, Failure> {
    let common = &args.common;
    if !["rtsp://", "rtsps://", "rtspt://", "rtsph://"].iter().any(|p| args.url.starts_with(p)) {
        return Err(Failure::usage(format!("not an RTSP URL: {}", args.url)));
    }
    let sink = plan::choose_sink(common, None)?;
    let checked = checks::check(common, &sink, None)?;
    let plan = plan::rtsp_plan(&args, sink)?;
    if common.print_pipeline {
        return Ok(print_plan(&plan));
    }
    run_plan(&plan, common, checked, Some(&args), Ending::live(common))
}
