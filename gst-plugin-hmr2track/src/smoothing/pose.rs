//! A person's smoothed quantities, in the coordinates they are smoothed in.
//!
//! - The 24 rotations (root, then SMPL joints 1..23) as unit quaternions.
//! - The camera translation split into where it projects and how far it is: the lateral
//!   part `(tx / tz, ty / tz)` (normalised image coordinates of the body origin: pixels
//!   from the principal point divided by the focal length) and `ln tz`. HMR2's depth comes
//!   from the crop scale and is far noisier than the position in the image; smoothed this
//!   way, depth noise does not move the body in the picture, and a steady image position
//!   stays steady whatever the depth does.
//! - The apparent height `box height / focal length`, which turns the lateral speed into
//!   body heights per second for the filter's speed term.

use hmr2_meta::pose::{PersonPose, Undrawable, NUM_BODY_JOINTS};

use super::so3::Quat;

/// Rotations per person: the root and the 23 body joints.
pub const NUM_ROTATIONS: usize = NUM_BODY_JOINTS + 1;

/// Why a person cannot be tracked and smoothed: they pass through untouched.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Unsmoothable {
    #[error("{0}")]
    Undrawable(#[from] Undrawable),
    #[error("the person box {0:?} is not a finite box of positive size")]
    BadBox([f32; 4]),
    #[error("rotation {0} (0: root, 1..23: body joints) is no rotation")]
    NotARotation(usize),
}

/// A person's rotations and camera translation in smoothing coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct PoseSample {
    pub rotations: [Quat; NUM_ROTATIONS],
    /// `(tx / tz, ty / tz)`.
    pub lateral: [f64; 2],
    /// `ln tz`.
    pub log_depth: f64,
    /// `box height / focal length`: the person's height in normalised image units.
    pub apparent_height: f64,
}

/// Whether a box is finite with positive width and height.
pub fn is_valid_box(b: &[f32; 4]) -> bool {
    b.iter().all(|v| v.is_finite()) && b[2] > b[0] && b[3] > b[1]
}

impl PoseSample {
    /// The sample of a person, when every value can be used.
    pub fn from_person(p: &PersonPose) -> Result<Self, Unsmoothable> {
        p.check_drawable()?;
        if !is_valid_box(&p.bbox) {
            return Err(Unsmoothable::BadBox(p.bbox));
        }
        let [tx, ty, tz] = p.cam_t.map(f64::from);
        let mut rotations = [Quat::IDENTITY; NUM_ROTATIONS];
        for (j, (q, m)) in
            rotations.iter_mut().zip(std::iter::once(&p.global_orient).chain(p.body_pose.iter())).enumerate()
        {
            *q = Quat::from_matrix(m).ok_or(Unsmoothable::NotARotation(j))?;
        }
        let focal = f64::from(p.focal_length);
        let apparent_height = f64::from(p.bbox[3] - p.bbox[1]) / focal;
        Ok(Self { rotations, lateral: [tx / tz, ty / tz], log_depth: tz.ln(), apparent_height })
    }

    /// The camera translation `(tx, ty, tz)` of this sample.
    pub fn cam_t(&self) -> [f32; 3] {
        let tz = self.log_depth.exp();
        [(self.lateral[0] * tz) as f32, (self.lateral[1] * tz) as f32, tz as f32]
    }

    /// Writes the rotations and camera translation into a person.
    pub fn apply_to(&self, p: &mut PersonPose) {
        p.global_orient = self.rotations[0].to_matrix();
        for (m, q) in p.body_pose.iter_mut().zip(&self.rotations[1..]) {
            *m = q.to_matrix();
        }
        let cam_t = self.cam_t();
        if cam_t.iter().all(|v| v.is_finite()) && cam_t[2] > 0.0 {
            p.cam_t = cam_t;
        }
    }
}

/// Running mean of a track's shape coefficients: a plain mean over its first
/// [`SHAPE_MEMORY_FRAMES`] estimates, then an exponential mean over about that many, so
/// that one track's shape settles but can still follow if the estimates drift.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShapeMean {
    mean: [f64; hmr2_meta::pose::NUM_BETAS],
    count: u32,
}

/// Frames over which a track's shape is averaged.
pub const SHAPE_MEMORY_FRAMES: u32 = 100;

impl ShapeMean {
    /// Adds one estimate (ignored when any coefficient is not finite).
    pub fn add(&mut self, betas: &[f32; hmr2_meta::pose::NUM_BETAS]) {
        if betas.iter().any(|b| !b.is_finite()) {
            return;
        }
        self.count = (self.count + 1).min(SHAPE_MEMORY_FRAMES);
        let weight = 1.0 / f64::from(self.count);
        for (m, b) in self.mean.iter_mut().zip(betas) {
            *m += weight * (f64::from(*b) - *m);
        }
    }

    /// The mean, `None` before the first estimate.
    pub fn mean(&self) -> Option<[f32; hmr2_meta::pose::NUM_BETAS]> {
        (self.count > 0).then(|| self.mean.map(|m| m as f32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> PersonPose {
        let mut p = PersonPose {
            bbox: [100.0, 50.0, 200.0, 350.0],
            cam_t: [0.4, -0.2, 20.0],
            focal_length: 5000.0,
            principal_point: [320.0, 240.0],
            ..Default::default()
        };
        p.global_orient = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];
        p.body_pose[4] = [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]];
        p
    }

    #[test]
    fn sample_round_trip() {
        let p = person();
        let s = PoseSample::from_person(&p).unwrap();
        assert!((s.apparent_height - 300.0 / 5000.0).abs() < 1e-12);
        assert!((s.lateral[0] - 0.02).abs() < 1e-9 && (s.lateral[1] + 0.01).abs() < 1e-9);
        let mut q = PersonPose { cam_t: [0.0; 3], ..p.clone() };
        q.body_pose[4] = hmr2_meta::math::IDENTITY;
        s.apply_to(&mut q);
        for a in 0..3 {
            assert!((q.cam_t[a] - p.cam_t[a]).abs() < 1e-5);
        }
        for (m, n) in q.body_pose.iter().chain([&q.global_orient]).zip(p.body_pose.iter().chain([&p.global_orient])) {
            for r in 0..3 {
                for c in 0..3 {
                    assert!((m[r][c] - n[r][c]).abs() < 1e-6);
                }
            }
        }
    }

    #[test]
    fn unusable_persons_are_named() {
        let mut p = person();
        p.body_pose[3][0][0] = f32::NAN;
        assert!(matches!(PoseSample::from_person(&p), Err(Unsmoothable::Undrawable(_))));
        let mut p = person();
        p.bbox = [10.0, 10.0, 5.0, 30.0];
        assert_eq!(PoseSample::from_person(&p), Err(Unsmoothable::BadBox(p.bbox)));
        let mut p = person();
        p.cam_t[2] = -1.0;
        assert_eq!(PoseSample::from_person(&p), Err(Unsmoothable::Undrawable(Undrawable::BehindCamera(-1.0))));
        let mut p = person();
        p.body_pose[6] = [[0.0; 3]; 3];
        assert_eq!(PoseSample::from_person(&p), Err(Unsmoothable::NotARotation(7)));
    }

    #[test]
    fn shape_mean_averages_then_forgets_slowly() {
        let mut m = ShapeMean::default();
        assert_eq!(m.mean(), None);
        m.add(&[1.0; 10]);
        m.add(&[3.0; 10]);
        m.add(&[f32::NAN; 10]);
        assert_eq!(m.mean(), Some([2.0; 10]));
        for _ in 0..1000 {
            m.add(&[5.0; 10]);
        }
        assert!((m.mean().unwrap()[0] - 5.0).abs() < 1e-3);
    }
}
