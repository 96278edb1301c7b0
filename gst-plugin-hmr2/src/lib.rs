#![allow(clippy::non_send_fields_in_send_ty, unused_doc_comments)]

//! GStreamer plugin `hmr2`: the `hmr2pose` element, which runs the HMR2.0 human mesh
//! recovery network on every person in a video and attaches the result as pose metadata
//! ([`pose_meta`]) for `meshoverlay` and for applications.

use gst::glib;

pub mod camera;
pub mod pose_meta;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    pose_meta::register();
    let _ = plugin;
    Ok(())
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
