//! From the HMR2 pinhole camera ([`hmr2_meta::camera::FrameCamera`], OpenCV frame: x right,
//! y down, z forward) to what the GPU needs: the pixel rectangle to render, the depth
//! range, and the clip-space matrix.
//!
//! Only the part of the frame the people cover is rendered and composited (the *window*),
//! so the matrix maps that rectangle of frame pixels, not the whole frame, onto the render
//! target. Pixel (i, j) covers [i, i+1) × [j, j+1) in the camera's continuous coordinates,
//! the convention in which HMR2's principal point (W/2, H/2) is the frame's centre.

use hmr2_meta::camera::FrameCamera;

/// Closest depth ever used as the near plane, metres: geometry nearer than that (or
/// behind the camera) is clipped rather than letting the depth range collapse.
pub const MIN_NEAR: f32 = 0.01;
/// Pixels added around the projected geometry so that rasterisation rounding and the
/// wireframe's line width never fall outside the window.
pub const WINDOW_MARGIN: f32 = 2.0;

/// A rectangle of frame pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PixelRect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl PixelRect {
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }
}

/// Near and far clipping planes, metres along the camera's z axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DepthRange {
    pub near: f32,
    pub far: f32,
}

/// Extent of a scene in the camera frame: accumulated from every vertex that will be drawn.
#[derive(Clone, Copy, Debug)]
pub struct SceneBounds {
    min_px: [f32; 2],
    max_px: [f32; 2],
    min_z: f32,
    max_z: f32,
    /// Some geometry is too close to (or behind) the camera to be projected.
    reaches_camera: bool,
    empty: bool,
}

impl Default for SceneBounds {
    fn default() -> Self {
        Self {
            min_px: [f32::INFINITY; 2],
            max_px: [f32::NEG_INFINITY; 2],
            min_z: f32::INFINITY,
            max_z: f32::NEG_INFINITY,
            reaches_camera: false,
            empty: true,
        }
    }
}

impl SceneBounds {
    pub fn add_points(&mut self, camera: &FrameCamera, points: &[[f32; 3]]) {
        for &point in points {
            self.empty = false;
            let z = point[2];
            self.max_z = self.max_z.max(z);
            if z < MIN_NEAR {
                self.reaches_camera = true;
                continue;
            }
            self.min_z = self.min_z.min(z);
            if let Some([u, v]) = camera.project(point) {
                self.min_px = [self.min_px[0].min(u), self.min_px[1].min(v)];
                self.max_px = [self.max_px[0].max(u), self.max_px[1].max(v)];
            }
        }
    }

    /// The frame pixels the scene may cover (clamped to the frame; empty when the scene is
    /// entirely outside it or behind the camera).
    pub fn window(&self, frame_width: u32, frame_height: u32) -> PixelRect {
        let nothing = PixelRect { x: 0, y: 0, width: 0, height: 0 };
        if self.empty || self.max_z < MIN_NEAR {
            return nothing;
        }
        if self.reaches_camera {
            // Triangles crossing the near plane can cover any part of the frame.
            return PixelRect { x: 0, y: 0, width: frame_width, height: frame_height };
        }
        let clamp_x = |u: f32| u.clamp(0.0, frame_width as f32);
        let clamp_y = |v: f32| v.clamp(0.0, frame_height as f32);
        let x0 = clamp_x((self.min_px[0] - WINDOW_MARGIN).floor());
        let y0 = clamp_y((self.min_px[1] - WINDOW_MARGIN).floor());
        let x1 = clamp_x((self.max_px[0] + WINDOW_MARGIN).ceil());
        let y1 = clamp_y((self.max_px[1] + WINDOW_MARGIN).ceil());
        if x1 <= x0 || y1 <= y0 {
            return nothing;
        }
        PixelRect { x: x0 as u32, y: y0 as u32, width: (x1 - x0) as u32, height: (y1 - y0) as u32 }
    }

    /// Near and far planes enclosing the whole scene with a margin, so nothing is clipped
    /// in depth while the depth buffer's precision is spent on the people only.
    pub fn depth_range(&self) -> DepthRange {
        if self.empty || self.max_z < MIN_NEAR {
            return DepthRange { near: MIN_NEAR, far: 1.0 };
        }
        let min_z = if self.reaches_camera { MIN_NEAR } else { self.min_z };
        let margin = 0.05 * (self.max_z - min_z) + 0.01;
        DepthRange { near: (min_z - margin).max(MIN_NEAR), far: self.max_z + margin }
    }
}

/// Column-major 4×4 matrix taking a camera-frame point (OpenCV axes) to wgpu clip space
/// for a render target covering `window` of the frame: after the division by w, x and y
/// are the camera's pixel coordinates mapped onto [-1, 1] across the window (y up, as
/// wgpu's normalised device coordinates want), and depth is 0 at `near`, 1 at `far`.
pub fn clip_from_camera(camera: &FrameCamera, window: PixelRect, depth: DepthRange) -> [[f32; 4]; 4] {
    let f = camera.focal_length;
    let [cx, cy] = camera.principal_point;
    let (w, h) = (window.width as f32, window.height as f32);
    // u = f X/Z + cx and ndc_x = 2 (u − x0) / w − 1; multiplied by Z (= clip w):
    let x_from_x = 2.0 * f / w;
    let x_from_z = 2.0 * (cx - window.x as f32) / w - 1.0;
    // ndc_y = 1 − 2 (v − y0) / h flips the camera's downward y.
    let y_from_y = -2.0 * f / h;
    let y_from_z = 1.0 - 2.0 * (cy - window.y as f32) / h;
    let DepthRange { near, far } = depth;
    let z_from_z = far / (far - near);
    let z_offset = -far * near / (far - near);
    [
        [x_from_x, 0.0, 0.0, 0.0],
        [0.0, y_from_y, 0.0, 0.0],
        [x_from_z, y_from_z, z_from_z, 1.0],
        [0.0, 0.0, z_offset, 0.0],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies the matrix and the viewport transform the GPU applies.
    fn to_window_pixel(m: &[[f32; 4]; 4], window: PixelRect, p: [f32; 3]) -> ([f32; 2], f32) {
        let clip: [f32; 4] = std::array::from_fn(|row| (0..3).map(|c| m[c][row] * p[c]).sum::<f32>() + m[3][row]);
        let ndc = [clip[0] / clip[3], clip[1] / clip[3], clip[2] / clip[3]];
        let px = [
            (ndc[0] + 1.0) / 2.0 * window.width as f32 + window.x as f32,
            (1.0 - ndc[1]) / 2.0 * window.height as f32 + window.y as f32,
        ];
        (px, ndc[2])
    }

    #[test]
    fn matrix_agrees_with_the_camera_projection() {
        let camera = FrameCamera { focal_length: 37500.0, principal_point: [960.0, 540.0] };
        let window = PixelRect { x: 700, y: 100, width: 420, height: 860 };
        let depth = DepthRange { near: 100.0, far: 110.0 };
        let m = clip_from_camera(&camera, window, depth);
        for p in [[0.3f32, -0.8, 104.0], [-0.2, 0.9, 100.0], [0.0, 0.0, 110.0]] {
            let expected = camera.project(p).unwrap();
            let (px, _) = to_window_pixel(&m, window, p);
            assert!((px[0] - expected[0]).abs() < 1e-2 && (px[1] - expected[1]).abs() < 1e-2, "{px:?} vs {expected:?}");
        }
        assert!(to_window_pixel(&m, window, [0.0, 0.0, 100.0]).1.abs() < 1e-4);
        assert!((to_window_pixel(&m, window, [0.0, 0.0, 110.0]).1 - 1.0).abs() < 1e-4);
    }

    #[test]
    fn window_covers_projected_points_with_margin() {
        let camera = FrameCamera { focal_length: 100.0, principal_point: [160.0, 120.0] };
        let mut bounds = SceneBounds::default();
        bounds.add_points(&camera, &[[0.5, -0.5, 10.0], [-0.2, 0.3, 12.0]]);
        // u in [160 - 100*0.2/12, 165] = [158.3, 165], v in [115, 120 + 100*0.3/12] = [115, 122.5].
        assert_eq!(bounds.window(320, 240), PixelRect { x: 156, y: 113, width: 11, height: 12 });
        let depth = bounds.depth_range();
        assert!(depth.near < 10.0 && depth.near > 9.0 && depth.far > 12.0 && depth.far < 13.0, "{depth:?}");
    }

    #[test]
    fn window_is_clamped_and_can_be_empty() {
        let camera = FrameCamera { focal_length: 100.0, principal_point: [160.0, 120.0] };
        let mut off_frame = SceneBounds::default();
        off_frame.add_points(&camera, &[[100.0, 0.0, 10.0], [110.0, 1.0, 10.0]]);
        assert!(off_frame.window(320, 240).is_empty());
        let mut behind = SceneBounds::default();
        behind.add_points(&camera, &[[0.0, 0.0, -5.0]]);
        assert!(behind.window(320, 240).is_empty());
        let mut crossing = SceneBounds::default();
        crossing.add_points(&camera, &[[0.0, 0.0, -1.0], [0.0, 0.0, 3.0]]);
        assert_eq!(crossing.window(320, 240), PixelRect { x: 0, y: 0, width: 320, height: 240 });
        assert_eq!(crossing.depth_range().near, MIN_NEAR);
    }
}
