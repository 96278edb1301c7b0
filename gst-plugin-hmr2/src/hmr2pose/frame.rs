//! From GStreamer video frames to the sampler's view of them, and the person boxes
//! region-of-interest metas carry.

use gst_video::prelude::*;

use super::BoxSource;
use crate::boxes::{self, PersonBox};
use crate::crop::sampler::{FrameView, PixelLayout, Plane, YuvMatrix};
use crate::detector::{DetectorError, PersonDetector};

/// Raw video formats read directly, without conversion.
pub const FORMATS: [gst_video::VideoFormat; 14] = {
    use gst_video::VideoFormat::*;
    [Rgba, Bgra, Rgbx, Bgrx, Argb, Abgr, Xrgb, Xbgr, Rgb, Bgr, I420, Yv12, Nv12, Nv21]
};

/// Display width of a stored pixel: the caps' pixel-aspect-ratio (1 when unset or
/// invalid).
pub fn pixel_aspect(info: &gst_video::VideoInfo) -> f32 {
    let par = info.par();
    if par.numer() > 0 && par.denom() > 0 {
        par.numer() as f32 / par.denom() as f32
    } else {
        1.0
    }
}

/// The frame's HMR2 camera in display geometry: a stored pixel is [`pixel_aspect`] wide,
/// so the picture is `width × pixel_aspect` display pixels wide; focal length (default:
/// HMR2's, from the longer display side) and principal point are display pixels.
pub fn display_camera(info: &gst_video::VideoInfo, focal_length: Option<f32>) -> hmr2_meta::camera::FrameCamera {
    use hmr2_meta::camera::{CROP_FOCAL_LENGTH, CROP_SIZE};
    let (width, height) = (info.width() as f32 * pixel_aspect(info), info.height() as f32);
    hmr2_meta::camera::FrameCamera {
        focal_length: focal_length.unwrap_or(CROP_FOCAL_LENGTH / CROP_SIZE * width.max(height)),
        principal_point: [width / 2.0, height / 2.0],
    }
}

/// Moves a pose fitted in stored pixels (the landmark family) to the display geometry of
/// `display`: the body keeps its projected centre and height on screen (depth scaled by
/// the focal lengths' ratio; horizontal offsets from the principal point, p times wider
/// on screen, by the pixel aspect).
pub fn stored_fit_to_display(
    person: &mut hmr2_meta::pose::PersonPose,
    display: &hmr2_meta::camera::FrameCamera,
    pixel_aspect: f32,
) {
    let [tx, ty, tz] = person.cam_t;
    let depth_scale = display.focal_length / person.focal_length.max(f32::MIN_POSITIVE);
    person.cam_t = [tx * pixel_aspect, ty, tz * depth_scale];
    person.focal_length = display.focal_length;
    person.principal_point = display.principal_point;
}

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

/// Why a mapped frame cannot be read as its caps say.
#[derive(Debug, thiserror::Error)]
pub enum FrameViewError {
    #[error(transparent)]
    Plane(#[from] gst::glib::BoolError),
    /// The planes do not hold the frame's size in its layout.
    #[error(transparent)]
    Layout(#[from] crate::crop::sampler::FrameError),
}

/// The sampler's view of a mapped frame.
pub fn view<'a>(
    frame: &'a gst_video::VideoFrameRef<&gst::BufferRef>,
    layout: PixelLayout,
    planes: &[u32],
) -> Result<FrameView<'a>, FrameViewError> {
    let strides = frame.plane_stride();
    let planes = planes
        .iter()
        .map(|&p| Ok(Plane { data: frame.plane_data(p)?, stride: strides[p as usize] as usize }))
        .collect::<Result<Vec<_>, FrameViewError>>()?;
    FrameView::new(frame.width() as usize, frame.height() as usize, layout, planes).map_err(FrameViewError::Layout)
}

/// Person boxes of the region-of-interest metas on a buffer.
pub fn roi_boxes(buffer: &gst::BufferRef) -> Vec<PersonBox> {
    buffer
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .filter(|roi| boxes::is_person_roi(roi.roi_type()))
        .map(|roi| {
            let (x, y, w, h) = roi.rect();
            let score = roi
                .params()
                .find_map(|s| {
                    ["confidence", "score"]
                        .into_iter()
                        .find_map(|f| s.get::<f64>(f).ok().or_else(|| s.get::<f32>(f).ok().map(f64::from)))
                })
                .unwrap_or(1.0);
            PersonBox {
                bbox: [x as f32, y as f32, x.saturating_add(w) as f32, y.saturating_add(h) as f32],
                score: score as f32,
            }
        })
        .collect()
}

/// Why a frame has no person boxes.
#[derive(Debug, thiserror::Error)]
pub enum BoxError {
    #[error("Person detection failed: {0}")]
    Detection(#[source] DetectorError),
    #[error("box-source=detector, but no person detector was loaded (set detector-model before starting)")]
    NoDetector,
}

/// The person boxes of a frame, from where `source` says: region-of-interest metas, the
/// detector (`thresholds`: score and NMS IoU), or the whole frame.
pub fn person_boxes(
    source: BoxSource,
    buffer: &gst::BufferRef,
    view: &FrameView,
    detector: Option<&mut PersonDetector>,
    thresholds: (f32, f32),
) -> Result<Vec<PersonBox>, BoxError> {
    let whole = || vec![PersonBox::whole_frame(view.width() as u32, view.height() as u32)];
    let detect =
        |detector: &mut PersonDetector| detector.detect(view, thresholds.0, thresholds.1).map_err(BoxError::Detection);
    match (source, detector) {
        (BoxSource::RoiMeta, _) => Ok(roi_boxes(buffer)),
        (BoxSource::FullFrame, _) => Ok(whole()),
        (BoxSource::Detector, Some(detector)) => detect(detector),
        (BoxSource::Detector, None) => Err(BoxError::NoDetector),
        (BoxSource::Auto, detector) => {
            let rois = roi_boxes(buffer);
            match detector {
                _ if !rois.is_empty() => Ok(rois),
                Some(detector) => detect(detector),
                None => Ok(whole()),
            }
        }
    }
}

/// Raises the buffer counts of an allocation query's pools by `held`: upstream's buffers
/// stay in the element while their batch fills and runs, and upstream must not starve
/// waiting for them.
pub fn hold_more_buffers(query: &mut gst::QueryRef, held: u32) {
    if let gst::QueryViewMut::Allocation(q) = query.view_mut() {
        let pools: Vec<_> = q.allocation_pools().collect();
        for (i, (pool, size, min, max)) in pools.into_iter().enumerate() {
            let max = if max == 0 { 0 } else { max.saturating_add(held) };
            q.set_nth_allocation_pool(i as u32, pool.as_ref(), size, min.saturating_add(held), max);
        }
    }
}

#[cfg(test)]
mod tests {
    use hmr2_meta::camera::FrameCamera;
    use hmr2_meta::math::IDENTITY;
    use hmr2_meta::pose::PersonPose;

    use super::*;

    #[test]
    fn a_stored_fit_keeps_its_centre_and_height_on_screen() {
        // 720x576 at 16:15 shows as 768x576.
        let p = 16.0 / 15.0;
        let stored = FrameCamera::for_frame(720, 576, None);
        let display =
            FrameCamera { focal_length: stored.focal_length * 768.0 / 720.0, principal_point: [384.0, 288.0] };
        let mut person = PersonPose {
            bbox: [100.0, 50.0, 300.0, 500.0],
            score: 1.0,
            track_id: None,
            global_orient: IDENTITY,
            body_pose: [IDENTITY; 23],
            betas: [0.0; 10],
            pred_cam: [1.0, 0.0, 0.0],
            cam_t: [-0.4, 0.1, 30.0],
            focal_length: stored.focal_length,
            principal_point: stored.principal_point,
            predicted: false,
        };
        let project = |person: &PersonPose, point: [f32; 3]| {
            let camera = FrameCamera { focal_length: person.focal_length, principal_point: person.principal_point };
            let t = person.cam_t;
            camera.project([point[0] + t[0], point[1] + t[1], point[2] + t[2]]).unwrap()
        };
        let (centre, head) = (project(&person, [0.0; 3]), project(&person, [0.0, -0.9, 0.0]));
        stored_fit_to_display(&mut person, &display, p);
        let (centre_d, head_d) = (project(&person, [0.0; 3]), project(&person, [0.0, -0.9, 0.0]));
        assert!((centre_d[0] - centre[0] * p).abs() < 1e-3, "{centre_d:?} vs {centre:?}");
        assert!((centre_d[1] - centre[1]).abs() < 1e-3 && (head_d[1] - head[1]).abs() < 1e-3);
        assert_eq!(person.principal_point, [384.0, 288.0]);
    }
}
