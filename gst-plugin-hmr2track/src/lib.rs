#![allow(clippy::non_send_fields_in_send_ty, unused_doc_comments)]

//! GStreamer plugin `hmr2track`: gives the persons of the hmr2 pose metadata stable track
//! ids across frames and smooths their poses in time, between `hmr2pose` and `meshoverlay`.
//!
//! The element is glue around pure modules usable (and tested) on their own:
//! [`assignment`] (optimal assignment), [`association`] (pairing costs and gating),
//! [`track`] (track identity and the box motion model), [`smoothing`] (One-Euro filters on
//! SO(3) and vectors, the fixed-lag smoother), [`stream`] (one stream's processing, with
//! the lag queue), and, for tests and the benchmark, [`synthetic`] (generated scenes) and
//! [`evaluation`] (identity and jitter measures).

use gst::glib;

pub mod assignment;
pub mod association;
pub mod evaluation;
pub mod hmr2track;
pub mod smoothing;
pub mod stream;
pub mod synthetic;
pub mod track;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    hmr2_meta::pose::register();
    hmr2track::register(plugin)
}

gst::plugin_define!(
    hmr2track,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
