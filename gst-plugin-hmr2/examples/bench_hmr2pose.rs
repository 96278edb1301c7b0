//! Throughput of `hmr2pose` on 1080p frames, with the per-stage times it reports in its
//! `stats` property.
//!
//! ```sh
//! cargo run --release -p gst-plugin-hmr2 --example bench_hmr2pose -- [--frames N] [--batch B]...
//!     [--format RGBA|I420|NV12|...] [--model PATH] [--threads T] [--repeat R]
//! ```
//!
//! Without `--batch` it runs batch sizes 1 and 8. Each batch size is run with the whole
//! frame as the person (the fallback; a 2560-pixel crop, the worst case for cropping) and
//! with four person boxes of typical size given as region-of-interest metas. Frames come
//! from `appsrc` (one prepared frame, shared) and go to `fakesink`, so the figures are the
//! element's own. The element's times are wall-clock times, so a busy machine inflates
//! them: each case runs `--repeat` times (3 by default) and the fastest run is reported,
//! with the range of frames/s over all runs. The crop figures at the end are also given
//! as the minimum, 10th percentile and median of 1000 single crops, timed outside the
//! element.

use std::time::Instant;

use gst::prelude::*;
use gsthmr2::crop::sampler::Scratch;
use gsthmr2::crop::PersonCrop;
use gsthmr2::hmr2pose::frame;

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;

struct Args {
    frames: u64,
    batches: Vec<u32>,
    format: String,
    model: Option<String>,
    threads: u32,
    repeat: u32,
}

fn parse_args() -> Args {
    let mut args = Args { frames: 120, batches: vec![], format: "RGBA".into(), model: None, threads: 0, repeat: 3 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--frames" => args.frames = value().parse().expect("--frames N"),
            "--batch" => args.batches.push(value().parse().expect("--batch B")),
            "--format" => args.format = value(),
            "--model" => args.model = Some(value()),
            "--threads" => args.threads = value().parse().expect("--threads T"),
            "--repeat" => args.repeat = value().parse::<u32>().expect("--repeat R").max(1),
            "--help" | "-h" => {
                println!(
                    "bench_hmr2pose [--frames N] [--batch B]... [--format F] [--model PATH] [--threads T] [--repeat R]"
                );
                std::process::exit(0);
            }
            other => panic!("unknown argument {other}"),
        }
    }
    if args.batches.is_empty() {
        args.batches = vec![1, 8];
    }
    args
}

/// One 1080p frame in `format`, converted from an RGBA test picture by videoconvert.
fn prepare_frame(format: &str) -> (gst::Caps, gst::Buffer) {
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,format=RGBA,width={WIDTH},height={HEIGHT},framerate=30/1 \
         ! videoconvert ! video/x-raw,format={format} ! appsink name=sink"
    ))
    .expect("test picture pipeline");
    let sink = pipeline.downcast_ref::<gst::Bin>().unwrap().by_name("sink").unwrap();
    let sink = sink.downcast::<gst_app::AppSink>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("a test picture");
    pipeline.set_state(gst::State::Null).unwrap();
    (sample.caps().unwrap().to_owned(), sample.buffer_owned().unwrap())
}

struct Run {
    wall_s: f64,
    stats: gst::Structure,
}

fn run(args: &Args, batch: u32, caps: &gst::Caps, frame: &gst::Buffer, persons: &[(u32, u32, u32, u32)]) -> Run {
    let box_source = if persons.is_empty() { "full-frame" } else { "roi-meta" };
    let model = args.model.as_ref().map(|m| format!("model={m}")).unwrap_or_default();
    let pipeline = gst::parse::launch(&format!(
        "appsrc name=src format=time ! hmr2pose name=pose batch-size={batch} box-source={box_source} threads={} {model} \
         ! fakesink sync=false",
        args.threads
    ))
    .expect("benchmark pipeline")
    .downcast::<gst::Pipeline>()
    .unwrap();
    let src = pipeline.by_name("src").unwrap().downcast::<gst_app::AppSrc>().unwrap();
    src.set_caps(Some(caps));
    src.set_max_bytes(0);
    let pose = pipeline.by_name("pose").unwrap();
    pipeline.set_state(gst::State::Playing).expect("the pipeline starts");

    let mut template = frame.copy();
    for rect in persons {
        gst_video::VideoRegionOfInterestMeta::add(template.get_mut().unwrap(), "person", *rect);
    }
    let start = Instant::now();
    for i in 0..args.frames {
        let mut buffer = template.copy();
        let b = buffer.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_nseconds(i * 33_333_333));
        b.set_duration(gst::ClockTime::from_nseconds(33_333_333));
        src.push_buffer(buffer).expect("push");
    }
    src.end_of_stream().unwrap();
    let bus = pipeline.bus().unwrap();
    let message =
        bus.timed_pop_filtered(gst::ClockTime::NONE, &[gst::MessageType::Eos, gst::MessageType::Error]).unwrap();
    let wall_s = start.elapsed().as_secs_f64();
    if let gst::MessageView::Error(e) = message.view() {
        panic!("pipeline error: {} ({:?})", e.error(), e.debug());
    }
    let stats = pose.property::<gst::Structure>("stats");
    pipeline.set_state(gst::State::Null).unwrap();
    Run { wall_s, stats }
}

/// Runs one case `args.repeat` times and prints the fastest run, with the range of
/// frames/s over all runs.
fn run_and_report(
    label: &str,
    args: &Args,
    batch: u32,
    caps: &gst::Caps,
    frame: &gst::Buffer,
    persons: &[(u32, u32, u32, u32)],
) {
    let runs: Vec<Run> = (0..args.repeat).map(|_| run(args, batch, caps, frame, persons)).collect();
    let fps = |run: &Run| run.stats.get::<u64>("frames").unwrap() as f64 / run.wall_s;
    let best = runs.iter().max_by(|a, b| fps(a).total_cmp(&fps(b))).unwrap();
    let slowest = runs.iter().map(fps).fold(f64::INFINITY, f64::min);
    report(label, batch, best, slowest);
}

fn report(label: &str, batch: u32, run: &Run, slowest_fps: f64) {
    let get = |f: &str| run.stats.get::<u64>(f).unwrap() as f64;
    let (frames, persons, batches) = (get("frames"), get("persons"), get("batches"));
    let ms = |ns: f64| ns / 1e6;
    let inference_s = get("inference-ns") / 1e9;
    println!(
        "{label:<22} batch {batch:>2}: {:>7.1} frames/s (slowest run {slowest_fps:>6.1}) | crop+normalise {:>6.3} ms/person \
         ({:>6.3} ms CPU) | inference {:>7.3} ms/batch ({:>6.3} ms/person) | post {:>6.3} ms/frame \
         | overhead beyond inference {:>5.1}% of wall time",
        frames / run.wall_s,
        ms(get("crop-ns") / persons.max(1.0)),
        ms(get("crop-cpu-ns") / persons.max(1.0)),
        ms(get("inference-ns") / batches.max(1.0)),
        ms(get("inference-ns") / persons.max(1.0)),
        ms(get("post-ns") / frames.max(1.0)),
        100.0 * (run.wall_s - inference_s).max(0.0) / run.wall_s,
    );
}

/// Minimum, 10th percentile and median time of single crops (3 × 256 × 192 normalised
/// values).
fn crop_times(format: &str) {
    let (caps, buffer) = prepare_frame(format);
    let info = gst_video::VideoInfo::from_caps(&caps).unwrap();
    let mapped = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info).unwrap();
    // The element's own reading of the format (planes, colour matrix).
    let (layout, planes) = frame::layout(&info).expect("a format hmr2pose reads");
    let view = frame::view(&mapped, layout, planes).unwrap();
    let mut input = vec![0.0f32; 3 * 256 * 192];
    let mut scratch = Scratch::default();
    for (label, bbox) in [
        ("whole frame (2560 px crop)", [0.0, 0.0, 1920.0, 1080.0]),
        ("300x800 person (800 px)", [550.0, 150.0, 850.0, 950.0]),
        ("100x200 person (200 px)", [900.0, 400.0, 1000.0, 600.0]),
    ] {
        let crop = PersonCrop::from_box(bbox);
        crop.write_input(&view, 192, &mut scratch, &mut input);
        let mut runs: Vec<f64> = (0..1000)
            .map(|_| {
                let start = Instant::now();
                crop.write_input(&view, 192, &mut scratch, &mut input);
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        runs.sort_by(f64::total_cmp);
        println!(
            "crop+normalise {format:<4} {label:<27}: {:.3} ms min, {:.3} ms p10, {:.3} ms median",
            runs[0],
            runs[runs.len() / 10],
            runs[runs.len() / 2]
        );
    }
}

fn main() {
    let args = parse_args();
    gst::init().unwrap();
    gsthmr2::plugin_register_static().unwrap();
    let (caps, frame) = prepare_frame(&args.format);
    println!(
        "hmr2pose: {} frames of {WIDTH}x{HEIGHT} {}, {} network, {} CPU threads available",
        args.frames,
        args.format,
        args.model.as_deref().unwrap_or("bundled test"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    // Four standing persons of a typical size in a 1080p frame (crops of about 800 pixels).
    let persons = [(100, 200, 300, 800), (550, 150, 320, 850), (1000, 250, 280, 750), (1450, 200, 300, 820)];
    for &batch in &args.batches {
        run_and_report("whole frame (1/frame)", &args, batch, &caps, &frame, &[]);
        run_and_report("4 persons/frame (ROI)", &args, batch, &caps, &frame, &persons);
    }
    for format in ["RGBA", "I420", "NV12"] {
        crop_times(format);
    }
}
