//! Making an input picture one the estimator and the H.264 encoder take, whatever the file
//! holds: upright (the stream's orientation tag applied to the pixels), one size from the
//! first frame to the last, at least [`MIN_SIDE`] pixels, and even sides for the encoder.
//!
//! - **Orientation**: a phone's display matrix (MP4/MOV) or a JPEG's EXIF orientation
//!   reaches the pipeline as the `image-orientation` tag; `videoflip video-direction=auto`
//!   turns the frames upright before `hmr2pose`, so people are estimated and drawn standing
//!   and the output (which carries no orientation of its own) plays upright.
//! - **One size**: the frames are scaled to the first frame's size (borders keep the
//!   picture's shape) in front of the processing, so a mid-stream resolution change never
//!   reaches the encoder, whose track is declared with the first size.
//! - **Even sides**: x264 cannot encode 4:2:0 frames with an odd width or height; one black
//!   column (right) or row (bottom) is added after the overlay, so the poses keep the
//!   coordinates of the (upright) input frame and the output shows every input pixel.

use std::fmt;

use gst::prelude::*;

use crate::desc::{el, Chain};

/// The smallest width and height the tool processes.
pub const MIN_SIDE: u32 = 16;

/// A still image becomes a clip of this length at [`STILL_FPS`] (players show a one-frame
/// video of duration 0 as nothing), each frame the same picture.
pub const STILL_SECONDS: u32 = 1;
pub const STILL_FPS: u32 = 25;
pub const STILL_FRAMES: u32 = STILL_SECONDS * STILL_FPS;

/// The eight orientations of GStreamer's `image-orientation` tag: how the stored picture
/// must be turned (clockwise) to be shown upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    Upright,
    Rotate90,
    Rotate180,
    Rotate270,
    Flip,
    FlipRotate90,
    FlipRotate180,
    FlipRotate270,
}

impl Orientation {
    /// From the tag's value (`rotate-90`, `flip-rotate-0`, ...); None for anything else.
    pub fn from_tag(value: &str) -> Option<Self> {
        Some(match value {
            "rotate-0" => Self::Upright,
            "rotate-90" => Self::Rotate90,
            "rotate-180" => Self::Rotate180,
            "rotate-270" => Self::Rotate270,
            "flip-rotate-0" => Self::Flip,
            "flip-rotate-90" => Self::FlipRotate90,
            "flip-rotate-180" => Self::FlipRotate180,
            "flip-rotate-270" => Self::FlipRotate270,
            _ => return None,
        })
    }

    /// Whether turning the picture upright swaps its width and height.
    pub fn swaps_sides(self) -> bool {
        matches!(self, Self::Rotate90 | Self::Rotate270 | Self::FlipRotate90 | Self::FlipRotate270)
    }

    /// The (width, height) of a `width` x `height` stored picture once upright.
    pub fn upright_size(self, width: u32, height: u32) -> (u32, u32) {
        if self.swaps_sides() {
            (height, width)
        } else {
            (width, height)
        }
    }
}

/// The turn that shows the picture upright, as the summary words it.
impl fmt::Display for Orientation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Upright => "not at all",
            Self::Rotate90 => "90° clockwise",
            Self::Rotate180 => "180°",
            Self::Rotate270 => "90° counter-clockwise",
            Self::Flip => "mirrored",
            Self::FlipRotate90 => "mirrored and 90° clockwise",
            Self::FlipRotate180 => "mirrored and 180°",
            Self::FlipRotate270 => "mirrored and 90° counter-clockwise",
        })
    }
}

/// Why a picture cannot be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PictureError {
    #[error("the input's frames are {width}x{height} pixels: hmr2-launch needs at least {min}x{min}", min = MIN_SIDE)]
    TooSmall { width: u32, height: u32 },
}

/// What the plan needs to know about the input's picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Picture {
    /// Stored size of the first frame.
    pub width: u32,
    pub height: u32,
    pub orientation: Orientation,
    /// Pixel aspect ratio (numerator, denominator) of the first frame.
    pub par: (i32, i32),
    /// Frames per second, when the input has a rate ([`STILL_FPS`] for a still).
    pub fps: Option<f64>,
    /// A still image (a photo): written as a [`STILL_SECONDS`] s clip of it.
    pub still: bool,
}

impl Picture {
    /// The size the frames are processed at: the first frame's, upright.
    pub fn upright_size(&self) -> (u32, u32) {
        self.orientation.upright_size(self.width, self.height)
    }

    /// Refuses pictures smaller than [`MIN_SIDE`] on either side.
    pub fn check(&self) -> Result<(), PictureError> {
        if self.width < MIN_SIDE || self.height < MIN_SIDE {
            return Err(PictureError::TooSmall { width: self.width, height: self.height });
        }
        Ok(())
    }

    /// The elements between the decoder and the processing queue: turn upright (only when
    /// the input says it is stored turned), then hold the first frame's size.
    pub fn input_chain(&self) -> Chain {
        let mut chain = Chain::new();
        if self.still {
            chain = chain
                .then(el("imagefreeze").prop("num-buffers", STILL_FRAMES))
                .caps(&format!("video/x-raw,framerate={STILL_FPS}/1"));
        }
        if self.orientation != Orientation::Upright {
            chain = chain.then(el("videoflip").prop("video-direction", "auto"));
        }
        let (w, h) = self.upright_size();
        let (n, d) = self.par;
        chain.then(el("videoscale")).caps(&format!("video/x-raw,width={w},height={h},pixel-aspect-ratio={n}/{d}"))
    }

    /// The padding that gives the encoder even sides (empty when they already are).
    pub fn encoder_padding(&self) -> Chain {
        let (w, h) = self.upright_size();
        even_padding(w, h)
    }
}

/// Whether `path` is a JPEG file (by its first bytes).
pub fn is_jpeg_file(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 3];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == [0xff, 0xd8, 0xff]
}

/// Lets decodebin put `jpegparse` in front of the JPEG decoder: GStreamer 1.22 ranks it
/// "none", and only the parser turns EXIF orientation into the `image-orientation` tag.
pub fn read_exif_orientation() {
    if let Some(parser) = gst::ElementFactory::find("jpegparse") {
        parser.upcast_ref::<gst::PluginFeature>().set_rank(gst::Rank::PRIMARY + 1);
    }
}

/// One black column and/or row (right, bottom) when a side is odd; nothing otherwise.
pub fn even_padding(width: u32, height: u32) -> Chain {
    let (right, bottom) = (width % 2, height % 2);
    if right == 0 && bottom == 0 {
        return Chain::new();
    }
    // videobox adds a border for negative values.
    Chain::new().then(el("videobox").prop("right", -(right as i32)).prop("bottom", -(bottom as i32)))
}

/// The H.264 bit rate (kbit/s) for a picture of `width` x `height` at `fps` frames per
/// second when none is given: 0.1 bit per pixel and frame (about 6 Mbit/s for 1080p30,
/// 25 Mbit/s for 4K30, 0.7 Mbit/s for 640x360 at 30), within 200 kbit/s .. 60 Mbit/s.
pub fn auto_bitrate(width: u32, height: u32, fps: f64) -> u32 {
    let fps = if fps.is_finite() && fps > 0.0 { fps.min(120.0) } else { 30.0 };
    let kbps = width as f64 * height as f64 * fps * 0.1 / 1000.0;
    kbps.round().clamp(200.0, 60_000.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desc::Style;

    fn picture(width: u32, height: u32, orientation: Orientation) -> Picture {
        Picture { width, height, orientation, par: (1, 1), fps: Some(30.0), still: false }
    }

    #[test]
    fn orientation_tags() {
        assert_eq!(Orientation::from_tag("rotate-90"), Some(Orientation::Rotate90));
        assert_eq!(Orientation::from_tag("flip-rotate-270"), Some(Orientation::FlipRotate270));
        assert_eq!(Orientation::from_tag("sideways"), None);
        assert_eq!(Orientation::Rotate270.upright_size(320, 240), (240, 320));
        assert_eq!(Orientation::Rotate180.upright_size(320, 240), (320, 240));
        assert_eq!(Orientation::Flip.upright_size(320, 240), (320, 240));
    }

    #[test]
    fn turned_pictures_are_flipped_and_held_at_their_upright_size() {
        let c = picture(320, 240, Orientation::Rotate90).input_chain();
        assert_eq!(
            c.render(Style::Parse),
            "videoflip video-direction=auto ! videoscale ! video/x-raw,width=240,height=320,pixel-aspect-ratio=1/1"
        );
        let c = picture(320, 240, Orientation::Upright).input_chain();
        assert_eq!(c.render(Style::Parse), "videoscale ! video/x-raw,width=320,height=240,pixel-aspect-ratio=1/1");
    }

    #[test]
    fn a_still_becomes_a_clip() {
        let still = Picture { still: true, ..picture(64, 48, Orientation::Upright) };
        assert_eq!(
            still.input_chain().render(Style::Parse),
            "imagefreeze num-buffers=25 ! video/x-raw,framerate=25/1 ! videoscale ! \
             video/x-raw,width=64,height=48,pixel-aspect-ratio=1/1"
        );
    }

    #[test]
    fn odd_sides_get_one_pixel_of_border() {
        assert_eq!(even_padding(640, 360), Chain::new());
        assert_eq!(even_padding(641, 427).render(Style::Parse), "videobox right=-1 bottom=-1");
        assert_eq!(even_padding(640, 427).render(Style::Parse), "videobox right=0 bottom=-1");
        // The upright size counts: 427x640 stored turned is 640x427 upright.
        assert_eq!(
            picture(427, 640, Orientation::Rotate90).encoder_padding().render(Style::Parse),
            "videobox right=0 bottom=-1"
        );
    }

    #[test]
    fn tiny_pictures_are_refused_with_the_minimum() {
        assert!(picture(16, 16, Orientation::Upright).check().is_ok());
        let e = picture(14, 16, Orientation::Upright).check().unwrap_err();
        assert_eq!(e.to_string(), "the input's frames are 14x16 pixels: hmr2-launch needs at least 16x16");
    }

    #[test]
    fn bitrate_follows_size_and_rate() {
        assert_eq!(auto_bitrate(1920, 1080, 30.0), 6221);
        assert_eq!(auto_bitrate(3840, 2160, 30.0), 24883);
        assert_eq!(auto_bitrate(640, 360, 30.0), 691);
        assert_eq!(auto_bitrate(64, 48, 10.0), 200);
        assert_eq!(auto_bitrate(640, 360, 0.0), 691);
    }
}
