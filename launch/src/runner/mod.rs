//! Running a command: one function per subcommand turns its arguments into a [`Plan`] and
//! hands it to a [`Session`].
//!
//! - `discover`: what the input file holds (GstDiscoverer), before anything is built;
//! - `session`: the pipeline built from the plan, its pad probes, and the bus loop;
//! - `counters`: frame counters kept by pad probes (progress, --max-frames, summary);
//! - `bus`: one-line descriptions of bus messages;
//! - `signals`: Ctrl-C (and SIGTERM, SIGHUP) handling;
//! - `progress`: the progress bar or periodic lines;
//! - `summary` and `stats`: the report at the end, with the elements' `stats` structures.

mod bus;
mod counters;
mod discover;
mod progress;
mod session;
mod signals;
mod stats;
mod summary;

use std::path::Path;

use crate::cli::{Cli, Command, Common, FileArgs, RtspArgs, TestSourceArgs, WebcamArgs};
use crate::desc::{el, Chain};
use crate::plan::{self, Plan};
use crate::Failure;

use session::Session;

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

fn run_file(args: FileArgs) -> Result<(), Failure> {
    let common = &args.common;
    let sink = plan::choose_sink(common, None)?;
    check_common(common)?;
    let info = discover::discover(&args.input)?;
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
