//! The `meshoverlay` element: draws every person of the hmr2 pose metadata over the video.
//!
//! ```sh
//! gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! hmr2pose ! \
//!     videoconvert ! meshoverlay mode=solid opacity=0.8 ! videoconvert ! autovideosink
//! ```

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct MeshOverlay(ObjectSubclass<imp::MeshOverlay>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

/// What the element draws for each person.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstMeshOverlayMode")]
pub enum Mode {
    #[default]
    #[enum_value(name = "Solid: the lit body surface", nick = "solid")]
    Solid = 0,
    #[enum_value(name = "Wireframe: the mesh edges, hidden lines removed", nick = "wireframe")]
    Wireframe = 1,
    #[enum_value(name = "Skeleton: the 24 joints and the bones between them", nick = "skeleton")]
    Skeleton = 2,
}

/// Which graphics API the element renders with.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstMeshOverlayBackend")]
pub enum Backend {
    #[default]
    #[enum_value(name = "Auto: Vulkan, then OpenGL (EGL) when no Vulkan device is found", nick = "auto")]
    Auto = 0,
    #[enum_value(name = "Vulkan only", nick = "vulkan")]
    Vulkan = 1,
    #[enum_value(name = "OpenGL (EGL) only", nick = "gl")]
    Gl = 2,
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    #[cfg(feature = "doc")]
    {
        Mode::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
        Backend::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    }
    gst::Element::register(Some(plugin), "meshoverlay", gst::Rank::NONE, MeshOverlay::static_type())
}
