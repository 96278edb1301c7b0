//! Synthetic people for the tests: random SMPL poses within joint limits on the canonical
//! skeleton, and the BlazePose landmarks they would produce (each point rigidly attached to
//! its joint as [`super::landmarks::LANDMARK_RIG`] says).

use super::landmarks::{NUM_LANDMARKS, WORLD_LANDMARK_AXES};
use super::rotation::{
    add, apply, axis_angle, cross, exp, midpoint, mul, normalized, scale, sub, transpose, twist_angle, Mat3d, Vec3,
    IDENTITY,
};
use super::skeleton::{self as sk, global_orientations, joint_positions, rest_bone, NUM_JOINTS};
use super::{camera, Mat3, Pinhole, SmplPose};

/// Small deterministic generator (SplitMix64), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    pub fn gaussian(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub fn unit_vector(&mut self) -> Vec3 {
        loop {
            if let Some(v) = normalized([self.gaussian(), self.gaussian(), self.gaussian()]) {
                return v;
            }
        }
    }

    /// Uniformly distributed rotation.
    pub fn rotation(&mut self) -> Mat3d {
        let q = [self.gaussian(), self.gaussian(), self.gaussian(), self.gaussian()];
        super::rotation::from_quaternion(q)
    }

    /// Rotation by up to `max_angle` about a random axis.
    pub fn rotation_within(&mut self, max_angle: f64) -> Mat3d {
        let axis = self.unit_vector();
        axis_angle(axis, self.range(0.0, max_angle))
    }

    /// A swing: rotation by up to `max_angle` about a random axis perpendicular to `bone`.
    pub fn swing(&mut self, bone: Vec3, max_angle: f64) -> Mat3d {
        let axis = normalized(cross(bone, self.unit_vector())).unwrap_or([0.0, 0.0, 1.0]);
        axis_angle(axis, self.range(0.0, max_angle))
    }
}

fn unit_bone(joint: usize) -> Vec3 {
    normalized(rest_bone(joint)).unwrap()
}

/// Hinge axis of a middle joint: perpendicular to both rest bones (the same rule as the fit).
fn hinge(middle: usize, end: usize) -> Vec3 {
    normalized(cross(unit_bone(middle), unit_bone(end))).unwrap()
}

/// How bent elbows and knees are: (min, max) flexion in radians.
#[derive(Clone, Copy)]
pub struct Bends {
    pub elbow: (f64, f64),
    pub knee: (f64, f64),
}

/// Clearly bent limbs: the bend plane alone sets the upper segment's twist.
pub const BENT: Bends = Bends { elbow: (0.6, 2.3), knee: (0.6, 2.2) };
/// Nearly straight limbs (up to 17°, a few degrees of hyperextension allowed).
pub const STRAIGHT: Bends = Bends { elbow: (-0.05, 0.3), knee: (-0.05, 0.3) };

/// A random pose (local rotations, index 0 = global orient) within joint limits, built the
/// way the fit models a body: the three spine joints share one rotation about an axis in
/// their y-z plane, collars, fingers and toes at rest, the neck swings and carries half the
/// head's twist, elbows and knees bend about their hinge (elbows also twist the forearm),
/// wrists and ankles only swing.
pub fn random_pose(rng: &mut Rng, root: Option<Mat3d>, bends: Bends) -> [Mat3d; NUM_JOINTS] {
    let mut local = [IDENTITY; NUM_JOINTS];
    local[sk::PELVIS] = root.unwrap_or_else(|| rng.rotation());
    let spine = exp([0.0, rng.range(-0.25, 0.25), rng.range(-0.2, 0.2)]);
    for j in [sk::SPINE1, sk::SPINE2, sk::SPINE3] {
        local[j] = spine;
    }
    let neck_bone = unit_bone(sk::HEAD);
    let head = rng.rotation_within(0.8);
    let half_twist = axis_angle(neck_bone, 0.5 * twist_angle(&head, neck_bone));
    local[sk::NECK] = mul(&rng.swing(neck_bone, 0.4), &half_twist);
    local[sk::HEAD] = mul(&transpose(&half_twist), &head);
    for (shoulder, elbow, wrist) in
        [(sk::L_SHOULDER, sk::L_ELBOW, sk::L_WRIST), (sk::R_SHOULDER, sk::R_ELBOW, sk::R_WRIST)]
    {
        local[shoulder] = rng.rotation_within(1.5);
        let flex = axis_angle(hinge(elbow, wrist), rng.range(bends.elbow.0, bends.elbow.1));
        let forearm_twist = axis_angle(unit_bone(wrist), rng.range(-1.2, 1.2));
        local[elbow] = mul(&flex, &forearm_twist);
        local[wrist] = rng.swing(unit_bone(wrist), 0.7);
    }
    for (hip, knee, ankle) in [(sk::L_HIP, sk::L_KNEE, sk::L_ANKLE), (sk::R_HIP, sk::R_KNEE, sk::R_ANKLE)] {
        local[hip] = rng.rotation_within(1.2);
        local[knee] = axis_angle(hinge(knee, ankle), rng.range(bends.knee.0, bends.knee.1));
        local[ankle] = rng.swing(unit_bone(ankle), 0.5);
    }
    local
}

pub fn to_pose(local: &[Mat3d; NUM_JOINTS]) -> SmplPose {
    let f = |m: &Mat3d| -> Mat3 { m.map(|row| row.map(|v| v as f32)) };
    SmplPose { global_orient: f(&local[0]), body_pose: std::array::from_fn(|i| f(&local[i + 1])) }
}

/// Posed joints (pelvis at the origin) of the canonical skeleton.
pub fn joints(local: &[Mat3d; NUM_JOINTS]) -> [Vec3; NUM_JOINTS] {
    joint_positions(&global_orientations(local))
}

/// The 33 landmarks of a posed canonical skeleton, camera axes, pelvis at the origin.
pub fn posed_landmarks(local: &[Mat3d; NUM_JOINTS]) -> [Vec3; NUM_LANDMARKS] {
    let global = global_orientations(local);
    let positions = joint_positions(&global);
    std::array::from_fn(|i| super::landmarks::posed_point(i, &global, &positions))
}

/// World landmarks as BlazePose would give them for a person `size` times the canonical
/// skeleton: origin between the hips, in the model's axes.
pub fn world_landmarks(local: &[Mat3d; NUM_JOINTS], size: f64) -> [[f32; 3]; NUM_LANDMARKS] {
    let points = posed_landmarks(local);
    let origin = midpoint(points[super::landmarks::LEFT_HIP], points[super::landmarks::RIGHT_HIP]);
    let to_model_axes = transpose(&WORLD_LANDMARK_AXES.map(|row| row.map(f64::from)));
    points.map(|p| apply(&to_model_axes, scale(sub(p, origin), size)).map(|v| v as f32))
}

/// Image landmarks of the canonical skeleton placed at `translation` in front of `camera`.
pub fn image_landmarks(local: &[Mat3d; NUM_JOINTS], translation: Vec3, cam: &Pinhole) -> [[f32; 2]; NUM_LANDMARKS] {
    posed_landmarks(local).map(|p| camera::project(add(p, translation).map(|v| v as f32), cam))
}
