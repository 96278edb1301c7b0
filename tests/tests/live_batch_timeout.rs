//! The elements under a live source with a batch timeout pass frames on without waiting for
//! full batches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

fn register_plugins() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        gst::init().unwrap();
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
