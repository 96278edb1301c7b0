#![allow(clippy::non_send_fields_in_send_ty, unused_doc_comments)]

//! GStreamer plugin `meshoverlay`: renders the body mesh of every person described by
//! the hmr2 pose metadata over the video, with one wgpu render context per element.
//!
//! The element is GStreamer glue around pure modules that can be used (and tested) on
//! their own: [`body_model`] (loading and validation), [`skinning`] (the body's forward
//! pass), [`projection`] (HMR2 camera to GPU), [`renderer`] (the GPU work, also used by
//! the benchmark), [`composite`] (blending into the frame), [`style`] and [`geometry`];
//! `warn_once` keeps the element's warnings to one per kind of problem and stream.

use gst::glib;

pub mod body_model;
pub mod composite;
pub mod geometry;
mod meshoverlay;
pub mod projection;
pub mod renderer;
pub mod skinning;
pub mod style;
mod warn_once;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    hmr2_meta::pose::register();
    meshoverlay::register(plugin)
}

gst::plugin_define!(
    meshoverlay,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
