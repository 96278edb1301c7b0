//! Runs `decodebin ! identity eos-after=N ! hmr2pose ! appsink` over a clip many times and
//! counts the frames (and their timestamps) where they enter identity, enter hmr2pose,
//! leave hmr2pose and reach the application, with the EOS events at each point: for
//! finding where a frame goes missing under load.
//!
//! `cargo run -p gst-plugin-hmr2 --example frame_accounting -- RUNS [FRAMES] [CLIP] [HMR2POSE PROPERTIES...]`
//! (the clip defaults to opencv-doc's vtest.avi, FRAMES to 12). `ACCOUNTING_TEST_NETWORK=1`
//! runs HMR2's crop batching on the bundled test network instead of the landmark family;
//! `ACCOUNTING_ELEMENT=identity` puts another element in hmr2pose's place.
//!
//! What it showed: `identity eos-after=N` lets N − 1 frames through, returns EOS for the
//! Nth and drops it, then passes a frame the decoder pushes before the EOS event, when one
//! comes; hmr2pose passed every frame it got, in order, with its timestamp.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gst::prelude::*;

/// Buffer timestamps and EOS events seen at one pad.
#[derive(Default)]
struct Tally {
    pts: Vec<Option<gst::ClockTime>>,
    eos: usize,
}

fn watch(pad: &gst::Pad) -> Arc<Mutex<Tally>> {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let seen = tally.clone();
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        let mut seen = seen.lock().unwrap();
        match &info.data {
            Some(gst::PadProbeData::Buffer(buffer)) => seen.pts.push(buffer.pts()),
            Some(gst::PadProbeData::Event(event)) if event.type_() == gst::EventType::Eos => seen.eos += 1,
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
    tally
}

fn seconds(pts: &[Option<gst::ClockTime>]) -> String {
    let shown: Vec<String> =
        pts.iter().map(|t| t.map_or("none".into(), |t| format!("{:.1}", t.nseconds() as f64 / 1e9))).collect();
    shown.join(" ")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20);
    let frames: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(12);
    let clip = args.get(2).filter(|a| !a.is_empty()).map(PathBuf::from).unwrap_or_else(|| common::footage("vtest.avi"));
    let properties = args.get(3..).unwrap_or_default().join(" ");
    // Another element in hmr2pose's place, to tell its losses from upstream's.
    let element = std::env::var("ACCOUNTING_ELEMENT").unwrap_or_else(|_| "hmr2pose".into());
    if std::env::var_os("ACCOUNTING_TEST_NETWORK").is_some() {
        // HMR2's crop batching (the bundled test network) rather than the landmark family.
        common::init_with_test_network();
    } else {
        common::init();
    }
    std::env::remove_var(gsthmr2::hmr2pose::models::MODELS_DIR_ENV);

    let (mut bad, mut other_count) = (0, 0);
    for run in 0..runs {
        let description = format!(
            "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! \
             identity name=id eos-after={frames} ! {element} name=pose {properties} ! appsink name=sink sync=false",
            clip.display()
        );
        let pipeline = gst::parse::launch(&description).unwrap().downcast::<gst::Pipeline>().unwrap();
        let sink = pipeline.by_name("sink").unwrap().downcast::<gst_app::AppSink>().unwrap();
        let identity_in = watch(&pipeline.by_name("id").unwrap().static_pad("sink").unwrap());
        let pose = pipeline.by_name("pose").unwrap();
        let entered = watch(&pose.static_pad("sink").unwrap());
        let left = watch(&pose.static_pad("src").unwrap());
        let start = Instant::now();
        pipeline.set_state(gst::State::Playing).unwrap();
        let mut pulled = Vec::new();
        let mut longest_wait = 0.0f64;
        loop {
            let wait = Instant::now();
            let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(60)) else { break };
            longest_wait = longest_wait.max(wait.elapsed().as_secs_f64());
            pulled.push(sample.buffer().unwrap().pts());
        }
        let sink_eos = sink.is_eos();
        let messages: Vec<String> = pipeline
            .bus()
            .unwrap()
            .iter()
            .filter_map(|m| match m.view() {
                gst::MessageView::Error(e) => Some(format!("error: {}", e.error())),
                gst::MessageView::Warning(w) if !w.error().to_string().contains("bundled") => {
                    Some(format!("warning: {}", w.error()))
                }
                _ => None,
            })
            .collect();
        pipeline.set_state(gst::State::Null).unwrap();
        let (identity_in, entered, left) = (identity_in.lock().unwrap(), entered.lock().unwrap(), left.lock().unwrap());
        let consistent = entered.pts == left.pts && left.pts == pulled && entered.eos == 1 && left.eos == 1 && sink_eos;
        if !consistent {
            bad += 1;
        }
        if entered.pts.len() != frames {
            other_count += 1;
        }
        println!(
            "run {run}: identity in {} / {element} in {} (eos {}) / {element} out {} (eos {}) / app {} (eos {sink_eos}); \
             same timestamps in order: {}; {:.1} s, longest wait {longest_wait:.1} s {messages:?}",
            identity_in.pts.len(),
            entered.pts.len(),
            entered.eos,
            left.pts.len(),
            left.eos,
            pulled.len(),
            entered.pts == left.pts && left.pts == pulled,
            start.elapsed().as_secs_f64(),
        );
        println!("  entered (s): {}", seconds(&entered.pts));
        if !consistent || entered.pts.len() != frames {
            println!(
                "  identity: {:?}\n  in:  {:?}\n  out: {:?}\n  app: {:?}",
                identity_in.pts, entered.pts, left.pts, pulled
            );
        }
    }
    println!(
        "{bad} of {runs} runs lost, reordered or did not end a frame between {element}'s sink and the application; \
         {other_count} saw other than {frames} frames enter {element}"
    );
}
