//! The `hmr2pose` element.
//!
//! Frames pass through untouched and in order; each one leaves with a pose meta
//! ([`hmr2_meta::pose`]) holding every person found in it. The model runs on its own
//! thread ([`crate::worker`]): a BlazePose landmark model, whose landmarks are fitted to the
//! SMPL skeleton ([`crate::landmarks`], the default, see [`models`]), or an HMR2 network,
//! for which person crops from several frames are batched.
//!
//! # Person boxes
//!
//! With `box-source=auto`, a frame's persons come from, in this order of preference:
//! 1. `GstVideoRegionOfInterestMeta`s on the buffer whose type is `person` (any case) or
//!    empty; a score is read from any parameter structure with a `confidence` or `score`
//!    field, else 1;
//! 2. the person detector given by `detector-model`, or the default one ([`models`]);
//! 3. the whole frame as one person.
//!
//! The other `box-source` values force one of them (with `roi-meta` a frame without
//! person ROIs has nobody in it). At most `max-persons` are kept: the highest scores.
//!
//! # Preprocessing
//!
//! For HMR2 networks, exactly HMR2's crop ([`crate::crop`]): the box grown to 3:4, made square, warped to
//! 256×256 (bilinear, black outside the frame; area averaging when the crop shrinks the
//! frame by more than 1.1), ImageNet-normalised, of which a 256×192 network sees columns
//! 32..224. Crops are read straight from the frame's own format ([`crate::crop::sampler`]);
//! only the crop is converted.
//!
//! # Batching
//!
//! `batch-size` crops, from as many frames as it takes, go to the network at once, on an
//! inference thread, while the streaming thread prepares the next batch. A partial batch
//! runs at EOS, on new caps, on serialized drain queries, once `batch-size − 1` frames
//! have arrived after the frame of its oldest crop, and `batch-timeout` ms after its oldest
//! crop. Frames and serialized events leave in arrival order ([`crate::batching`]); a
//! flush drops everything pending.
//!
//! # Latency
//!
//! The element adds `min((batch-size − 1) × frame duration, batch-timeout)` (either term
//! alone when the other is unknown or 0) plus the mean inference time per batch measured
//! so far (0 before the first batch), and posts a latency message when that mean moves by
//! more than a quarter (and more than 1 ms).
//!
//! # Errors
//!
//! A missing or unreadable model, a model of neither family ([`crate::model_contract`]),
//! a missing ONNX Runtime library ([`crate::onnxruntime`]) and a failed inference are element
//! errors naming the cause. An execution provider that cannot be used and the bundled test
//! network are warnings.
//!
//! # Statistics
//!
//! The read-only `stats` property is a `GstStructure` named `hmr2pose-stats` with `guint64`
//! fields `frames`, `persons`, `batches`, and the total nanoseconds spent in each stage:
//! `detect-ns` (person detector), `crop-ns` (crop and normalise), `inference-ns` (network,
//! on the inference thread) and `post-ns` (camera conversion and metadata). These are
//! wall-clock times; `crop-cpu-ns` is the streaming thread's CPU time while cropping,
//! which leaves out the time other threads held its core (0 where the system cannot
//! measure a thread's CPU time).

use gst::glib;
use gst::prelude::*;

mod engine;
pub mod frame;
mod imp;
pub mod models;
mod open;
mod settings;
mod stats;
mod stream;

glib::wrapper! {
    pub struct Hmr2Pose(ObjectSubclass<imp::Hmr2Pose>) @extends gst::Element, gst::Object;
}

/// Where person boxes come from.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstHmr2BoxSource")]
pub enum BoxSource {
    #[default]
    #[enum_value(
        name = "Auto: region-of-interest metas, else the person detector if set, else the whole frame",
        nick = "auto"
    )]
    Auto = 0,
    #[enum_value(name = "Region-of-interest metas on the buffer only", nick = "roi-meta")]
    RoiMeta = 1,
    #[enum_value(name = "The person detector (detector-model) only", nick = "detector")]
    Detector = 2,
    #[enum_value(name = "The whole frame as one person", nick = "full-frame")]
    FullFrame = 3,
}

/// Where ONNX Runtime runs the networks: the `execution-provider` property's values.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstHmr2ExecutionProvider")]
pub enum Provider {
    #[default]
    #[enum_value(name = "CPU", nick = "cpu")]
    Cpu = 0,
    #[enum_value(name = "CUDA (NVIDIA GPU)", nick = "cuda")]
    Cuda = 1,
    #[enum_value(name = "TensorRT (NVIDIA GPU), with CUDA for unsupported parts", nick = "tensorrt")]
    TensorRt = 2,
}

impl From<Provider> for crate::onnxruntime::ExecutionProvider {
    fn from(provider: Provider) -> Self {
        match provider {
            Provider::Cpu => Self::Cpu,
            Provider::Cuda => Self::Cuda,
            Provider::TensorRt => Self::TensorRt,
        }
    }
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    #[cfg(feature = "doc")]
    {
        BoxSource::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
        Provider::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    }
    gst::Element::register(Some(plugin), "hmr2pose", gst::Rank::NONE, Hmr2Pose::static_type())
}
