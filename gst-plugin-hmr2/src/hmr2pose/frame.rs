//! From GStreamer video frames to the sampler's view of them.

use gst_video::prelude::*;

use crate::crop::sampler::{FrameView, PixelLayout, Plane, YuvMatrix};

/// Raw video formats read directly, without conversion.
pub const FORMATS: [gst_video::VideoFormat; 14] = {
    use gst_video::VideoFormat::*;
    [Rgba, Bgra, Rgbx, Bgrx, Argb, Abgr, Xrgb, Xbgr, Rgb, Bgr, I420, Yv12, Nv12, Nv21]
};

/// How to read a format, and which of its planes are, in order, the planes of that layout.
pub fn layout(info: &gst_video::VideoInfo) -> Option<(PixelLayout, &'static [u32])> {
    use gst_video::VideoFormat::*;
    let packed = |bytes, r, g, b| Some((PixelLayout::PackedRgb { bytes, r, g, b }, &[0u32][..]));
    let yuv = || {
        let colorimetry = info.colorimetry();
        let (kr, kb) = colorimetry.matrix().kr_kb().unwrap_or((0.299, 0.114));
        YuvMatrix {
            kr: kr as f32,
            kb: kb as f32,
            full_range: colorimetry.range() == gst_video::VideoColorRange::Range0_255,
        }
    };
    match info.format() {
        Rgba | Rgbx => packed(4, 0, 1, 2),
        Bgra | Bgrx => packed(4, 2, 1, 0),
        Argb | Xrgb => packed(4, 1, 2, 3),
        Abgr | Xbgr => packed(4, 3, 2, 1),
        Rgb => packed(3, 0, 1, 2),
        Bgr => packed(3, 2, 1, 0),
        I420 => Some((PixelLayout::I420(yuv()), &[0, 1, 2])),
        Yv12 => Some((PixelLayout::I420(yuv()), &[0, 2, 1])),
        Nv12 => Some((PixelLayout::Nv12 { matrix: yuv(), swapped: false }, &[0, 1])),
        Nv21 => Some((PixelLayout::Nv12 { matrix: yuv(), swapped: true }, &[0, 1])),
        _ => None,
    }
}

/// The sampler's view of a mapped frame.
pub fn view<'a>(
    frame: &'a gst_video::VideoFrameRef<&gst::BufferRef>,
    layout: PixelLayout,
    planes: &[u32],
) -> Result<FrameView<'a>, String> {
    let strides = frame.plane_stride();
    let planes = planes
        .iter()
        .map(|&p| {
            let data = frame.plane_data(p).map_err(|e| e.to_string())?;
            Ok(Plane { data, stride: strides[p as usize] as usize })
        })
        .collect::<Result<Vec<_>, String>>()?;
    FrameView::new(frame.width() as usize, frame.height() as usize, layout, planes)
}
