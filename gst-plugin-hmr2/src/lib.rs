#![allow(clippy::non_send_fields_in_send_ty, unused_doc_comments)]

//! GStreamer plugin `hmr2`: the `hmr2pose` element, which estimates the SMPL pose of every
//! person in a video and attaches it as pose metadata (the contract lives in the
//! `hmr2-meta` crate) for `meshoverlay` and for applications.
//!
//! Two model families run in it ([`model_contract`]): HMR2 networks ([`inference`]), and
//! BlazePose landmark models ([`landmarks`]) fitted to the SMPL skeleton ([`fit`]).
//! Around them: person boxes ([`boxes`], [`detector`]), crops ([`crop`]), cross-frame
//! batching ([`batching`]), the worker thread ([`worker`]) and ONNX Runtime discovery
//! ([`onnxruntime`]).

use gst::glib;

pub mod batching;
pub mod boxes;
pub mod crop;
pub mod detector;
pub mod fit;
pub mod hmr2pose;
pub mod inference;
pub mod landmarks;
pub mod model_contract;
pub mod onnxruntime;
pub mod worker;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    hmr2_meta::pose::register();
    hmr2pose::register(plugin)
}

gst::plugin_define!(
    hmr2,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
