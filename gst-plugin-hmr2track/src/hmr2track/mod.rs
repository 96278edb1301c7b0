//! The `hmr2track` element: stable track ids and temporal smoothing of the hmr2 pose
//! metadata, between `hmr2pose` and `meshoverlay`.
//!
//! ```sh
//! gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! hmr2pose ! \
//!     hmr2track ! videoconvert ! meshoverlay ! videoconvert ! autovideosink
//! ```
//!
//! Frames pass through untouched (only the `Hmr2PoseMeta` is rewritten), every frame
//! leaves, in order, with its timestamps; serialized events keep their place among them.
//! What is done to each frame's persons is described in [`crate::stream`].
//!
//! # Identity
//!
//! Persons are associated frame to frame by the overlap of their box with the box each
//! track's constant-velocity Kalman filter predicts, and where that is ambiguous by how
//! similar their poses are, with an optimal assignment ([`crate::track`],
//! [`crate::association`]). A new track gets an id after `min-hits` detections in a row;
//! a confirmed track missed for up to `max-misses` frames keeps its id; ids count from 1
//! and are never given twice in a stream (a new `stream-start` counts from 1 again).
//!
//! # Smoothing
//!
//! With `smoothing=true` (the default), each track's 24 rotations are filtered on SO(3)
//! and its camera translation in image position and log depth, by a One-Euro filter whose
//! cutoff rises with the speed (`min-cutoff`, `beta`, `translation-min-cutoff`,
//! `translation-beta`); its shape is the running mean of its estimates. That adds no
//! latency. With `lag` = K > 0, each frame is held K frames and estimated from the K
//! frames before and after it by a speed-adaptive local linear fit ([`crate::smoothing`]);
//! the latency query reports K frame durations more, EOS and new caps release the held
//! frames, a flush drops them.
//!
//! # Gaps
//!
//! With `gap-fill=predict`, a confirmed track missed for up to `gap-fill-frames` frames in
//! a row is added to the frame as a predicted person: the metadata's **`predicted`** field
//! set, and score 0 (detections have a score above 0), the box of its motion model, its id and shape, its last rotations held and its
//! camera translation carried on (with a lag, interpolated when it is found again within
//! the window). With `gap-fill=none` the frame has no person for it.
//!
//! # Events
//!
//! - flushing seek (flush-stop): held frames are dropped, tracks end; ids go on counting;
//! - new caps: held frames leave first; a new frame size ends the tracks;
//! - EOS and serialized drain queries: held frames leave first;
//! - stream-start: held frames leave, tracks end and ids count from 1 again.
//!
//! Metadata that cannot be read is warned about once per kind and stream; those frames
//! pass through untouched and leave the tracks as they were. Persons with unusable values
//! (non-finite, no rotation, a degenerate box, a body behind the camera) pass through
//! untouched without a track id.
//!
//! # Statistics
//!
//! The read-only `stats` property is a `GstStructure` named `hmr2track-stats` with
//! `guint64` fields `frames`, `frames-without-poses`, `persons`, `tracked` (persons that
//! left with an id), `untrackable`, `predicted`, `ids` (ids given in this stream),
//! `live-tracks`, `held-frames` and `processing-ns` (total time spent tracking and
//! smoothing, metadata reading and writing included).

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct Hmr2Track(ObjectSubclass<imp::Hmr2Track>) @extends gst::Element, gst::Object;
}

/// What a frame gets for a confirmed track that was missed in it.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstHmr2TrackGapFill")]
pub enum GapFill {
    #[default]
    #[enum_value(name = "None: the person is absent from the frame", nick = "none")]
    None = 0,
    #[enum_value(
        name = "Predict: a person marked predicted (score 0), for up to gap-fill-frames frames",
        nick = "predict"
    )]
    Predict = 1,
}

/// The processing settings of an element with every property at its default.
pub fn default_processor_params() -> crate::stream::ProcessorParams {
    imp::default_processor_params()
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    #[cfg(feature = "doc")]
    GapFill::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(Some(plugin), "hmr2track", gst::Rank::NONE, Hmr2Track::static_type())
}
