//! The element's settings: defaults, property specifications, reading and writing them.

use std::time::Duration;

use gst::glib;
use gst::prelude::*;

use super::BoxSource;
use super::Provider;
use crate::crop::CropFilter;
use crate::landmarks::estimator::EstimatorOptions;
use crate::onnxruntime::SessionOptions;

pub const DEFAULT_BATCH_SIZE: u32 = 1;
pub const DEFAULT_BATCH_TIMEOUT_MS: u32 = 0;
pub const DEFAULT_MAX_PERSONS: u32 = 16;
pub const DEFAULT_DETECTOR_THRESHOLD: f32 = 0.5;
pub const DEFAULT_DETECTOR_IOU: f32 = 0.6;
pub const DEFAULT_PRESENCE_THRESHOLD: f32 = 0.5;
pub const DEFAULT_DETECTION_INTERVAL: u32 = 5;

#[derive(Debug, Clone)]
pub struct Settings {
    pub model: String,
    pub provider: Provider,
    pub device_id: i32,
    pub threads: u32,
    pub box_source: BoxSource,
    pub detector_model: String,
    pub detector_threshold: f32,
    pub detector_iou_threshold: f32,
    pub max_persons: u32,
    pub focal_length: f32,
    pub batch_size: u32,
    pub batch_timeout_ms: u32,
    pub presence_threshold: f32,
    pub detection_interval: u32,
    pub crop_filter: CropFilterSetting,
}

/// How HMR2 crops are filtered: the `crop-filter` property's values.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstHmr2CropFilter")]
pub enum CropFilterSetting {
    #[default]
    #[enum_value(
        name = "As HMR2's reference: Gaussian blur of sigma (side/512 - 1)/2 above 1.1 x 512 px, then bilinear",
        nick = "reference"
    )]
    Reference = 0,
    #[enum_value(name = "Bilinear up to a 1.1x shrink, area averaging above (faster for large crops)", nick = "area")]
    Area = 1,
}

impl From<CropFilterSetting> for CropFilter {
    fn from(setting: CropFilterSetting) -> Self {
        match setting {
            CropFilterSetting::Reference => Self::Reference,
            CropFilterSetting::Area => Self::Area,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            model: String::new(),
            provider: Provider::Cpu,
            device_id: 0,
            threads: 0,
            box_source: BoxSource::Auto,
            detector_model: String::new(),
            detector_threshold: DEFAULT_DETECTOR_THRESHOLD,
            detector_iou_threshold: DEFAULT_DETECTOR_IOU,
            max_persons: DEFAULT_MAX_PERSONS,
            focal_length: 0.0,
            batch_size: DEFAULT_BATCH_SIZE,
            batch_timeout_ms: DEFAULT_BATCH_TIMEOUT_MS,
            presence_threshold: DEFAULT_PRESENCE_THRESHOLD,
            detection_interval: DEFAULT_DETECTION_INTERVAL,
            crop_filter: CropFilterSetting::Reference,
        }
    }
}

impl Settings {
    pub fn batch_timeout(&self) -> Option<Duration> {
        (self.batch_timeout_ms > 0).then(|| Duration::from_millis(self.batch_timeout_ms.into()))
    }

    pub fn session_options(&self) -> SessionOptions {
        SessionOptions { provider: self.provider.into(), device_id: self.device_id, threads: self.threads as usize }
    }

    pub fn landmark_options(&self) -> EstimatorOptions {
        EstimatorOptions {
            min_presence: self.presence_threshold,
            max_persons: self.max_persons as usize,
            ..EstimatorOptions::default()
        }
    }
}

/// Every property of the element.
pub fn param_specs() -> Vec<glib::ParamSpec> {
    vec![
        glib::ParamSpecString::builder("model")
            .nick("Model")
            .blurb(
                "Path of the pose model (ONNX), an HMR2 network (input 'image' [B,3,256,192] or \
                 [B,3,256,256], outputs global_orient, body_pose, betas, pred_cam) or a BlazePose \
                 landmark model (input 'image' [B,3,256,256], outputs landmarks, pose_presence, \
                 world_landmarks), told apart by signature. Empty: pose_landmark_full.onnx in \
                 $HMR2_MODELS_DIR or the set-up's .deps/models, else the bundled HMR2 test \
                 network, which estimates nothing",
            )
            .mutable_ready()
            .build(),
        glib::ParamSpecEnum::builder_with_default("execution-provider", Provider::Cpu)
            .nick("Execution provider")
            .blurb(
                "Where ONNX Runtime runs the networks; a provider that cannot be loaded \
                 falls back to the CPU with a warning on the bus",
            )
            .mutable_ready()
            .build(),
        glib::ParamSpecInt::builder("device-id")
            .nick("Device id")
            .blurb("GPU index for the cuda and tensorrt execution providers")
            .minimum(0)
            .maximum(i32::MAX)
            .default_value(0)
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("threads")
            .nick("Threads")
            .blurb("ONNX Runtime intra-op threads per network (0 = ONNX Runtime's default)")
            .maximum(1024)
            .default_value(0)
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("batch-size")
            .nick("Batch size")
            .blurb(
                "Person crops per inference, gathered across frames; a partial batch \
                 runs at EOS, on new caps, after batch-size - 1 further frames, and on \
                 batch-timeout. Adds up to batch-size - 1 frame durations of latency \
                 (at most batch-timeout when set), plus the inference time",
            )
            .minimum(1)
            .maximum(256)
            .default_value(DEFAULT_BATCH_SIZE)
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("batch-timeout")
            .nick("Batch timeout")
            .blurb(
                "Milliseconds after which a partial batch runs, counted from its oldest \
                 crop (for live sources; 0 = no timeout)",
            )
            .maximum(60_000)
            .default_value(DEFAULT_BATCH_TIMEOUT_MS)
            .mutable_playing()
            .build(),
        glib::ParamSpecEnum::builder_with_default("box-source", BoxSource::Auto)
            .nick("Box source")
            .blurb(
                "Where person boxes come from: auto (region-of-interest metas of type \
                 'person' or unnamed, else the detector if detector-model is set, else \
                 the whole frame) or one of them only. A region's score is the \
                 'confidence' or 'score' field of one of its parameter structures, else 1",
            )
            .mutable_playing()
            .build(),
        glib::ParamSpecString::builder("detector-model")
            .nick("Detector model")
            .blurb(
                "Path of a person detector (ONNX) in the Ultralytics YOLOv8/YOLO11 layout: \
                 input [1,3,H,W] RGB 0..1 letterboxed, output [1,4+classes,N] with cx,cy,w,h \
                 in input pixels; class 0 is person. Empty: nanodet-person.onnx beside the \
                 default pose model if the set-up made it; 'none': no detector",
            )
            .mutable_ready()
            .build(),
        glib::ParamSpecFloat::builder("detector-threshold")
            .nick("Detector threshold")
            .blurb("Lowest person score the detector's boxes must reach")
            .minimum(0.0)
            .maximum(1.0)
            .default_value(DEFAULT_DETECTOR_THRESHOLD)
            .mutable_playing()
            .build(),
        glib::ParamSpecFloat::builder("detector-iou-threshold")
            .nick("Detector IoU threshold")
            .blurb(
                "Non-maximum suppression: a detected box overlapping a better one by more \
                 than this intersection over union is dropped",
            )
            .minimum(0.0)
            .maximum(1.0)
            .default_value(DEFAULT_DETECTOR_IOU)
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("max-persons")
            .nick("Maximum persons")
            .blurb("Most persons per frame; the highest scores (then the largest boxes) are kept")
            .minimum(1)
            .maximum(1024)
            .default_value(DEFAULT_MAX_PERSONS)
            .mutable_playing()
            .build(),
        glib::ParamSpecFloat::builder("presence-threshold")
            .nick("Presence threshold")
            .blurb(
                "Landmark models: lowest person presence a crop must reach to yield a person \
                 (below it the person is dropped, never given a made-up pose)",
            )
            .minimum(0.0)
            .maximum(1.0)
            .default_value(DEFAULT_PRESENCE_THRESHOLD)
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("detection-interval")
            .nick("Detection interval")
            .blurb(
                "Landmark models: while persons are tracked, run the person detector on every \
                 Nth frame only (always when nobody is tracked); new persons appear within N \
                 frames. 1 = every frame",
            )
            .minimum(1)
            .maximum(10_000)
            .default_value(DEFAULT_DETECTION_INTERVAL)
            .mutable_playing()
            .build(),
        glib::ParamSpecEnum::builder_with_default("crop-filter", CropFilterSetting::Reference)
            .nick("Crop filter")
            .blurb(
                "HMR2 models: how person crops are filtered. reference: as HMR2's demo \
                 preprocessing (squares over 563 px blurred with a Gaussian of sigma \
                 (side/512 - 1)/2, then bilinear sampling), what the network was shown; \
                 area: bilinear up to a 1.1x shrink, the average over each crop pixel's \
                 footprint above it, faster for large crops but smoother than the \
                 reference's crop for squares of about 282 to 563 px",
            )
            .mutable_playing()
            .build(),
        glib::ParamSpecFloat::builder("focal-length")
            .nick("Focal length")
            .blurb(
                "Focal length in pixels of the full-frame camera in the metadata \
                 (0 = HMR2's default, 5000 / 256 * max(width, height))",
            )
            .minimum(0.0)
            .maximum(1.0e7)
            .default_value(0.0)
            .mutable_playing()
            .build(),
        glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
            .nick("Statistics")
            .blurb(
                "Counters since the element started: frames, persons, batches, and \
                 nanoseconds spent in detect-ns, crop-ns (crop and normalise), \
                 crop-cpu-ns (the CPU time of that, without time other threads took \
                 from it; 0 where the system cannot tell), inference-ns and post-ns; \
                 estimator: what the running model is and what it estimates",
            )
            .read_only()
            .build(),
    ]
}

impl Settings {
    /// Sets the property `name` (one of [`param_specs`], not `stats`).
    pub fn set(&mut self, name: &str, value: &glib::Value) {
        match name {
            "model" => self.model = value.get::<Option<String>>().unwrap().unwrap_or_default(),
            "execution-provider" => self.provider = value.get().unwrap(),
            "device-id" => self.device_id = value.get().unwrap(),
            "threads" => self.threads = value.get().unwrap(),
            "batch-size" => self.batch_size = value.get().unwrap(),
            "batch-timeout" => self.batch_timeout_ms = value.get().unwrap(),
            "box-source" => self.box_source = value.get().unwrap(),
            "detector-model" => self.detector_model = value.get::<Option<String>>().unwrap().unwrap_or_default(),
            "detector-threshold" => self.detector_threshold = value.get().unwrap(),
            "detector-iou-threshold" => self.detector_iou_threshold = value.get().unwrap(),
            "max-persons" => self.max_persons = value.get().unwrap(),
            "presence-threshold" => self.presence_threshold = value.get().unwrap(),
            "detection-interval" => self.detection_interval = value.get().unwrap(),
            "focal-length" => self.focal_length = value.get().unwrap(),
            "crop-filter" => self.crop_filter = value.get().unwrap(),
            other => unreachable!("no writable property {other}"),
        }
    }

    /// The value of the property `name` (one of [`param_specs`], not `stats`).
    pub fn get(&self, name: &str) -> glib::Value {
        match name {
            "model" => self.model.to_value(),
            "execution-provider" => self.provider.to_value(),
            "device-id" => self.device_id.to_value(),
            "threads" => self.threads.to_value(),
            "batch-size" => self.batch_size.to_value(),
            "batch-timeout" => self.batch_timeout_ms.to_value(),
            "box-source" => self.box_source.to_value(),
            "detector-model" => self.detector_model.to_value(),
            "detector-threshold" => self.detector_threshold.to_value(),
            "detector-iou-threshold" => self.detector_iou_threshold.to_value(),
            "max-persons" => self.max_persons.to_value(),
            "presence-threshold" => self.presence_threshold.to_value(),
            "detection-interval" => self.detection_interval.to_value(),
            "focal-length" => self.focal_length.to_value(),
            "crop-filter" => self.crop_filter.to_value(),
            other => unreachable!("no property {other}"),
        }
    }
}
