//! Shared by the tests and the `bench_landmarks` example: GStreamer set-up, real footage and
//! the set-up's open models (both in `.deps/`, put there by `scripts/setup.sh`).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Once;

use gst::prelude::*;
use gst_video::prelude::*;
use gsthmr2::crop::sampler::{FrameView, PixelLayout, Plane};
use gsthmr2::detector::PersonDetector;
use gsthmr2::hmr2pose::models::{DEFAULT_DETECTOR_MODEL, DEFAULT_POSE_MODEL};
use gsthmr2::landmarks::estimator::{EstimatorOptions, LandmarkEstimator};
use gsthmr2::landmarks::network::LandmarkNetwork;
use gsthmr2::model_contract::{self, Family};
use gsthmr2::onnxruntime::{self, ExecutionProvider, ModelSource, SessionOptions};

/// Initialises GStreamer and registers the plugin's elements, once per process.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gsthmr2::plugin_register_static().unwrap();
    });
}

/// [`init`], with hmr2pose on its bundled test network rather than the set-up's default
/// models: for the tests of the element's mechanics.
pub fn init_with_test_network() {
    hmr2_meta::models::use_no_default_models();
    init();
}

/// A file under the workspace's `.deps/`; panics, saying what to run, when it is missing.
pub fn deps(path: &str) -> PathBuf {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.deps").join(path);
    assert!(file.is_file(), "{} is missing: run scripts/setup.sh", file.display());
    file
}

/// A sample of Debian opencv-doc.
pub fn footage(name: &str) -> PathBuf {
    deps(&format!("footage/opencv-doc/data/{name}"))
}

/// scikit-image's astronaut photo (a person cut at the chest), from the set-up's Python
/// environment; panics, saying what to run, when it is missing.
pub fn astronaut_photo() -> PathBuf {
    let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/lib");
    let found = std::fs::read_dir(&lib).into_iter().flatten().flatten().find_map(|python| {
        let photo = python.path().join("site-packages/skimage/data/astronaut.png");
        photo.is_file().then_some(photo)
    });
    found.unwrap_or_else(|| panic!("no skimage/data/astronaut.png under {}: run scripts/setup.sh", lib.display()))
}

/// Up to `count` frames of `source` (a pipeline description ending before the format
/// caps), decoded to tightly packed RGBA, with their width and height.
pub fn rgba_frames(source: &str, count: usize) -> (Vec<Vec<u8>>, usize, usize) {
    let description = format!("{source} ! videoconvert ! video/x-raw,format=RGBA ! appsink name=sink sync=false");
    let (mut out, mut size) = (Vec::new(), (0, 0));
    for sample in pulled_samples(&description, count, 30) {
        let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(sample.buffer().unwrap(), &info).unwrap();
        let (w, h, stride) = (info.width() as usize, info.height() as usize, frame.plane_stride()[0] as usize);
        let data = frame.plane_data(0).unwrap();
        out.push((0..h).flat_map(|y| data[y * stride..y * stride + w * 4].to_vec()).collect());
        size = (w, h);
    }
    (out, size.0, size.1)
}

/// Up to `count` samples from the appsink named `sink` of the pipeline `description`,
/// waiting at most `timeout_s` for each; fewer when the stream ends or stalls.
pub fn pulled_samples(description: &str, count: usize, timeout_s: u64) -> Vec<gst::Sample> {
    let pipeline = gst::parse::launch(description).unwrap().downcast::<gst::Pipeline>().unwrap();
    let sink = pipeline.by_name("sink").unwrap().downcast::<gst_app::AppSink>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut samples = Vec::new();
    while samples.len() < count {
        let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(timeout_s)) else { break };
        samples.push(sample);
    }
    pipeline.set_state(gst::State::Null).unwrap();
    samples
}

/// The sampler's view of a frame of [`rgba_frames`].
pub fn rgba_view(data: &[u8], width: usize, height: usize) -> FrameView<'_> {
    let layout = PixelLayout::PackedRgb { bytes: 4, r: 0, g: 1, b: 2 };
    FrameView::new(width, height, layout, vec![Plane { data, stride: width * 4 }]).unwrap()
}

/// Sessions on the CPU with `threads` intra-op threads.
pub fn cpu_options(threads: usize) -> SessionOptions {
    SessionOptions { provider: ExecutionProvider::Cpu, device_id: 0, threads }
}

/// The set-up's landmark model, as an estimator with the element's default options.
pub fn landmark_estimator(options: &SessionOptions) -> LandmarkEstimator {
    onnxruntime::ensure_loaded().unwrap();
    let opened =
        onnxruntime::open_session(ModelSource::File(&deps(&format!("models/{DEFAULT_POSE_MODEL}"))), options).unwrap();
    let (inputs, outputs) = onnxruntime::signature(&opened.session);
    let Ok(Family::PoseLandmarks { fixed_batch }) = model_contract::identify(&inputs, &outputs) else {
        panic!("the converted landmark model does not have the landmark signature");
    };
    LandmarkEstimator::new(LandmarkNetwork::from_session(opened.session, fixed_batch), EstimatorOptions::default())
}

/// The set-up's person detector.
pub fn person_detector(options: &SessionOptions) -> PersonDetector {
    onnxruntime::ensure_loaded().unwrap();
    PersonDetector::open(ModelSource::File(&deps(&format!("models/{DEFAULT_DETECTOR_MODEL}"))), options).unwrap().0
}
