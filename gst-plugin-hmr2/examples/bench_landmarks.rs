//! Benchmark of the landmark family on real footage (prints figures; not a test).
//!
//! 1. Per stage, on the pedestrians of Debian opencv-doc's `vtest.avi` (768x576) and on one
//!    person at 720p (`messi5.jpg` scaled into a 1280x720 frame): detection per frame, and
//!    per person the crop, the landmark model and the fit.
//! 2. End to end through the element (`decodebin ! hmr2pose ! fakesink`, default models):
//!    frames per second.
//!
//! Run: `cargo run --release -p gst-plugin-hmr2 --example bench_landmarks [-- --frames N]`
//! after `scripts/setup.sh` (models and footage in `.deps/`).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{cpu_options, footage, rgba_frames, rgba_view};
use gst::prelude::*;
use gsthmr2::onnxruntime;
use hmr2_meta::camera::FrameCamera;

fn ms(d: Duration, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        d.as_secs_f64() * 1e3 / n as f64
    }
}

fn stages(name: &str, clip: &(Vec<Vec<u8>>, usize, usize), threads: usize) {
    let options = cpu_options(threads);
    let mut detector = common::person_detector(&options);
    let mut estimator = common::landmark_estimator(&options);
    let (data, w, h) = clip;
    let camera = FrameCamera::for_frame(*w as u32, *h as u32, None);
    let (mut detect, mut persons) = (Duration::ZERO, 0u64);
    let start = Instant::now();
    for frame in data {
        let view = rgba_view(frame, *w, *h);
        let t = Instant::now();
        let boxes = detector.detect(&view, 0.5, 0.6).unwrap();
        detect += t.elapsed();
        persons += estimator.estimate(&view, &boxes, &camera).unwrap().len() as u64;
    }
    let total = start.elapsed();
    let n = data.len() as u64;
    let t = estimator.stage_times();
    println!(
        "{name} ({w}x{h}, {n} frames, {threads} thread(s)): {:.2} persons/frame; detect {:.1} ms/frame; \
         per crop: crop {:.2} ms, landmarks {:.2} ms ({} crops); fit {:.3} ms/person; \
         sequential {:.1} frames/s",
        persons as f64 / n as f64,
        ms(detect, n),
        ms(t.crop, t.crops),
        ms(t.network, t.crops),
        t.crops,
        ms(t.fit, t.fits),
        n as f64 / total.as_secs_f64(),
    );
}

fn element(name: &str, source: &str, frames: usize) {
    let description = format!(
        "{source} ! videoconvert ! video/x-raw,format=I420 ! identity eos-after={frames} ! \
         hmr2pose name=pose threads=1 ! fakesink sync=false"
    );
    let pipeline = gst::parse::launch(&description).unwrap().downcast::<gst::Pipeline>().unwrap();
    let start = Instant::now();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    for message in bus.iter_timed(gst::ClockTime::NONE) {
        match message.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => panic!("{}", e.error()),
            _ => {}
        }
    }
    let elapsed = start.elapsed();
    let stats = pipeline.by_name("pose").unwrap().property::<gst::Structure>("stats");
    pipeline.set_state(gst::State::Null).unwrap();
    let done = stats.get::<u64>("frames").unwrap();
    println!(
        "element, {name}: {done} frames in {:.2} s = {:.1} frames/s end to end ({} persons; {stats})",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64(),
        stats.get::<u64>("persons").unwrap()
    );
}

fn main() {
    let frames_wanted =
        std::env::args().skip_while(|a| a != "--frames").nth(1).and_then(|v| v.parse().ok()).unwrap_or(60usize);
    gst::init().unwrap();
    gsthmr2::plugin_register_static().unwrap();
    onnxruntime::ensure_loaded().unwrap();
    let vtest = format!("filesrc location={} ! decodebin", footage("vtest.avi").display());
    let one_person = format!(
        "filesrc location={} ! decodebin ! imagefreeze num-buffers={frames_wanted} ! videoscale add-borders=true ! \
         video/x-raw,width=1280,height=720,pixel-aspect-ratio=1/1",
        footage("messi5.jpg").display()
    );
    let vtest_frames = rgba_frames(&vtest, frames_wanted);
    let one_frames = rgba_frames(&one_person, frames_wanted);
    for threads in [1, 2] {
        stages("pedestrians (vtest.avi)", &vtest_frames, threads);
        stages("one person at 720p", &one_frames, threads);
    }
    element("pedestrians (vtest.avi)", &vtest, frames_wanted);
    element("one person at 720p", &one_person, frames_wanted);
}
