//! The HMR2 camera convention, in one place: the crop camera the network predicts, its
//! conversion to the full frame, and the pinhole projection every consumer uses.
//!
//! The network predicts a weak-perspective camera (s, tx, ty) for its square crop: a point
//! X of the posed body (camera frame, OpenCV axes: x right, y down, z forward) lands at
//! normalised crop coordinates s (X + t), where [-1, 1] spans the crop. That is a pinhole
//! camera of focal length [`CROP_FOCAL_LENGTH`] for a [`CROP_SIZE`]-pixel crop placed at
//! depth tz = 2 f / (b s). Re-expressed for the full frame with focal f and principal point
//! at the frame centre, the translation becomes
//! `(tx + 2 (cx − W/2) / (b s), ty + 2 (cy − H/2) / (b s), 2 f / (b s))`,
//! where (cx, cy) is the crop centre and b its side, both in frame pixels.
//!
//! Frame pixels are *display* pixels. A stream with non-square pixels (caps
//! pixel-aspect-ratio p ≠ 1) shows its `W`-pixel-wide frames `W p` pixels wide: its
//! camera (focal length, principal point `(W p / 2, H / 2)`, the default focal from the
//! longer display side) describes that display picture, and a projected `u` falls on
//! stored column `u / p`. `hmr2pose` crops and estimates in display geometry;
//! `meshoverlay` draws accordingly. Boxes and the metadata's frame size stay in stored
//! pixels.

/// Focal length, in pixels, that HMR2 assumes for its crop.
pub const CROP_FOCAL_LENGTH: f32 = 5000.0;
/// Side in pixels of the square crop that focal length refers to.
pub const CROP_SIZE: f32 = 256.0;
/// Smallest scale accepted from the network; a smaller one would put the person at an
/// absurd depth (or behind the camera when negative).
pub const MIN_CAMERA_SCALE: f32 = 1e-3;

/// HMR2's default full-frame focal length: the crop focal scaled to the longer side.
pub fn default_focal_length(frame_width: u32, frame_height: u32) -> f32 {
    CROP_FOCAL_LENGTH / CROP_SIZE * frame_width.max(frame_height) as f32
}

/// Full-frame pinhole camera with square pixels and no skew.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameCamera {
    pub focal_length: f32,
    pub principal_point: [f32; 2],
}

impl FrameCamera {
    /// HMR2's camera for a frame: principal point at the centre, focal as given (or the
    /// default when `None`).
    pub fn for_frame(frame_width: u32, frame_height: u32, focal_length: Option<f32>) -> Self {
        Self {
            focal_length: focal_length.unwrap_or_else(|| default_focal_length(frame_width, frame_height)),
            principal_point: [frame_width as f32 / 2.0, frame_height as f32 / 2.0],
        }
    }

    /// Converts the network's crop camera (s, tx, ty) for a square crop of side
    /// `crop_side` centred at `crop_center` (frame pixels) to a full-frame translation.
    pub fn translation_from_crop(&self, pred_cam: [f32; 3], crop_center: [f32; 2], crop_side: f32) -> [f32; 3] {
        let [s, tx, ty] = pred_cam;
        let bs = crop_side * s.max(MIN_CAMERA_SCALE);
        [
            tx + 2.0 * (crop_center[0] - self.principal_point[0]) / bs,
            ty + 2.0 * (crop_center[1] - self.principal_point[1]) / bs,
            2.0 * self.focal_length / bs,
        ]
    }

    /// The camera for a frame of another size than the one the values describe
    /// (`described`, e.g. before a scaler that kept the metadata): pixel coordinates scale
    /// with the frame, the focal length with its width. Only meaningful when the aspect
    /// ratio is unchanged. A zero size means "unknown" and leaves the camera as it is.
    pub fn rescaled(self, described: [u32; 2], frame: [u32; 2]) -> Self {
        if described.contains(&0) || described == frame {
            return self;
        }
        let sx = frame[0] as f32 / described[0] as f32;
        let sy = frame[1] as f32 / described[1] as f32;
        Self {
            focal_length: self.focal_length * sx,
            principal_point: [self.principal_point[0] * sx, self.principal_point[1] * sy],
        }
    }

    /// Projects a camera-frame point to pixels (`None` at or behind the camera plane).
    pub fn project(&self, point: [f32; 3]) -> Option<[f32; 2]> {
        let [x, y, z] = point;
        (z > 0.0).then(|| {
            [self.focal_length * x / z + self.principal_point[0], self.focal_length * y / z + self.principal_point[1]]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32, tol: f32) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn default_focal_uses_longer_side() {
        assert_eq!(default_focal_length(1920, 1080), 37500.0);
        assert_eq!(default_focal_length(480, 640), 12500.0);
    }

    #[test]
    fn translation_matches_hand_computed_values() {
        // 1920x1080, f = 37500, crop side 400 centred at (1160, 440), pred_cam (0.8, 0.1, -0.05):
        // bs = 320, tz = 75000 / 320 = 234.375, tx = 0.1 + 400 / 320 = 1.35,
        // ty = -0.05 + 2 * (-100) / 320 = -0.675.
        let cam = FrameCamera::for_frame(1920, 1080, None);
        let t = cam.translation_from_crop([0.8, 0.1, -0.05], [1160.0, 440.0], 400.0);
        assert!(close(t[0], 1.35, 1e-6), "{t:?}");
        assert!(close(t[1], -0.675, 1e-6), "{t:?}");
        assert!(close(t[2], 234.375, 1e-6), "{t:?}");
    }

    #[test]
    fn crop_camera_and_frame_camera_agree_on_pixels() {
        // A body point projected with the full-frame camera must land where the weak
        // perspective crop camera puts it inside the crop (exact for points at depth 0).
        let cam = FrameCamera::for_frame(1280, 720, None);
        let (center, side, pred) = ([700.0, 300.0], 320.0, [0.9f32, 0.05, 0.1]);
        let t = cam.translation_from_crop(pred, center, side);
        let body_point = [0.2f32, -0.4, 0.0];
        let px = cam.project([body_point[0] + t[0], body_point[1] + t[1], body_point[2] + t[2]]).unwrap();
        let expected = [
            center[0] + pred[0] * (body_point[0] + pred[1]) * side / 2.0,
            center[1] + pred[0] * (body_point[1] + pred[2]) * side / 2.0,
        ];
        assert!(close(px[0], expected[0], 1e-5), "{px:?} vs {expected:?}");
        assert!(close(px[1], expected[1], 1e-5), "{px:?} vs {expected:?}");
    }

    #[test]
    fn camera_follows_a_resized_frame() {
        let camera = FrameCamera::for_frame(1920, 1080, None);
        let half = camera.rescaled([1920, 1080], [960, 540]);
        assert_eq!(half, FrameCamera::for_frame(960, 540, None));
        let p = [0.4f32, -0.3, 50.0];
        let (a, b) = (camera.project(p).unwrap(), half.project(p).unwrap());
        assert!((a[0] / 2.0 - b[0]).abs() < 1e-3 && (a[1] / 2.0 - b[1]).abs() < 1e-3);
        assert_eq!(camera.rescaled([0, 0], [960, 540]), camera);
    }

    #[test]
    fn known_point_projects_to_expected_pixel() {
        let cam = FrameCamera { focal_length: 1000.0, principal_point: [320.0, 240.0] };
        assert_eq!(cam.project([0.5, -0.25, 10.0]), Some([370.0, 215.0]));
        assert_eq!(cam.project([0.5, -0.25, 0.0]), None);
    }
}
