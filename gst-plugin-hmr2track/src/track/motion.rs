//! The motion model that predicts where a track's box will be: a constant-velocity Kalman
//! filter per box coordinate (centre x, centre y, width, height), one frame per step.
//!
//! Noise scales with the box height, as in SORT-family trackers (ByteTrack's weights:
//! 1/20 of the height for positions, 1/160 for velocities), so a near, large person and a
//! far, small one are tracked alike.

/// Standard deviation of position noise (process and measurement), per unit box height.
const POSITION_NOISE: f64 = 1.0 / 20.0;
/// Standard deviation of velocity process noise per frame, per unit box height.
const VELOCITY_NOISE: f64 = 1.0 / 160.0;
/// Smallest box side a prediction may shrink to, in pixels.
const MIN_SIDE: f64 = 1.0;

/// One coordinate's state: value, velocity per frame, and their covariance.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Axis {
    x: [f64; 2],
    p: [[f64; 2]; 2],
}

impl Axis {
    fn new(value: f64, position_std: f64, velocity_std: f64) -> Self {
        Self { x: [value, 0.0], p: [[position_std * position_std, 0.0], [0.0, velocity_std * velocity_std]] }
    }

    fn predict(&mut self, q_position: f64, q_velocity: f64) {
        let [[a, b], [c, d]] = self.p;
        self.x[0] += self.x[1];
        // P ← F P Fᵀ + Q with F = [[1, 1], [0, 1]].
        self.p = [[a + b + c + d + q_position, b + d], [c + d, d + q_velocity]];
    }

    fn update(&mut self, z: f64, r: f64) {
        let [[a, b], [c, d]] = self.p;
        let s = a + r;
        if !(s.is_finite() && s > 0.0 && z.is_finite()) {
            return;
        }
        let (k0, k1) = (a / s, c / s);
        let y = z - self.x[0];
        self.x = [self.x[0] + k0 * y, self.x[1] + k1 * y];
        self.p = [[(1.0 - k0) * a, (1.0 - k0) * b], [c - k1 * a, d - k1 * b]];
    }
}

/// Kalman filter of a box moving at constant velocity.
#[derive(Clone, Debug, PartialEq)]
pub struct BoxFilter {
    axes: [Axis; 4],
}

fn center_size(b: &[f32; 4]) -> [f64; 4] {
    let [x0, y0, x1, y1] = b.map(f64::from);
    [(x0 + x1) / 2.0, (y0 + y1) / 2.0, x1 - x0, y1 - y0]
}

impl BoxFilter {
    /// A filter at rest on box (x0, y0, x1, y1).
    pub fn new(bbox: &[f32; 4]) -> Self {
        let z = center_size(bbox);
        let h = z[3].max(MIN_SIDE);
        Self { axes: std::array::from_fn(|i| Axis::new(z[i], 2.0 * POSITION_NOISE * h, 10.0 * VELOCITY_NOISE * h)) }
    }

    fn height(&self) -> f64 {
        self.axes[3].x[0].max(MIN_SIDE)
    }

    /// Advances one frame.
    pub fn predict(&mut self) {
        let h = self.height();
        let (qp, qv) = ((POSITION_NOISE * h).powi(2), (VELOCITY_NOISE * h).powi(2));
        for axis in &mut self.axes {
            axis.predict(qp, qv);
        }
    }

    /// Corrects with a detected box.
    pub fn update(&mut self, bbox: &[f32; 4]) {
        let z = center_size(bbox);
        let r = (POSITION_NOISE * self.height()).powi(2);
        for (axis, z) in self.axes.iter_mut().zip(z) {
            axis.update(z, r);
        }
    }

    /// The current box estimate (x0, y0, x1, y1).
    pub fn bbox(&self) -> [f32; 4] {
        let [cx, cy, w, h] = self.axes.map(|a| a.x[0]);
        let (w, h) = (w.max(MIN_SIDE), h.max(MIN_SIDE));
        [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0].map(|v| v as f32)
    }

    /// The current velocity of the box centre, pixels per frame.
    pub fn velocity(&self) -> [f64; 2] {
        [self.axes[0].x[1], self.axes[1].x[1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(b: [f32; 4], dx: f32) -> [f32; 4] {
        [b[0] + dx, b[1], b[2] + dx, b[3]]
    }

    #[test]
    fn learns_a_constant_velocity_and_predicts_through_a_miss() {
        let start = [100.0, 50.0, 150.0, 250.0];
        let mut f = BoxFilter::new(&start);
        for i in 1..=30 {
            f.predict();
            f.update(&moved(start, 4.0 * i as f32));
        }
        assert!((f.velocity()[0] - 4.0).abs() < 0.05, "{:?}", f.velocity());
        for _ in 0..5 {
            f.predict();
        }
        let b = f.bbox();
        assert!((b[0] - (100.0 + 4.0 * 35.0)).abs() < 1.0, "{b:?}");
        assert!((b[3] - b[1] - 200.0).abs() < 0.5);
    }

    #[test]
    fn bad_measurements_are_ignored_and_boxes_stay_boxes() {
        let mut f = BoxFilter::new(&[0.0, 0.0, 10.0, 10.0]);
        f.update(&[f32::NAN, 0.0, 10.0, 10.0]);
        assert!(f.bbox().iter().all(|v| v.is_finite()));
        let mut shrinking = BoxFilter::new(&[0.0, 0.0, 10.0, 10.0]);
        for i in 1..20 {
            shrinking.predict();
            shrinking.update(&[0.0, 0.0, 10.0 - 0.5 * i as f32, 10.0 - 0.5 * i as f32]);
        }
        for _ in 0..100 {
            shrinking.predict();
        }
        let b = shrinking.bbox();
        assert!(b[2] - b[0] >= 0.99 && b[3] - b[1] >= 0.99, "{b:?}");
    }
}
