//! SMPL pose parameters and a full-frame camera from BlazePose GHUM 3D landmarks.
//!
//! This lets `hmr2pose` emit the same metadata from an open landmark model as from HMR2.0:
//! `global_orient`, the 23 `body_pose` rotations relative to their parents, betas = 0 and a
//! camera translation. Pure Rust, std only.
//!
//! # Conventions
//!
//! - SMPL skeleton: 24 joints in SMPL order ([`skeleton::JOINT_NAMES`]), parents
//!   [`skeleton::PARENTS`]. Rest pose: the canonical T-pose ([`skeleton::REST_JOINTS`], the
//!   mannequin's designed joints): y up, facing +z, x = the body's left, pelvis at the
//!   origin, palms down. Only rest bone directions enter the rotations.
//! - Rotations are row-major [`Mat3`] acting on column vectors. `global_orient` R0 maps the
//!   model frame into the camera frame (OpenCV: x right, y down, z forward); an upright
//!   person facing the camera has R0 ≈ diag(1, −1, −1), 180° about x. Posing:
//!   G_0 = R0, G_j = G_parent · R_j, position_j = position_parent + G_parent · (rest_j −
//!   rest_parent); `body_pose[i]` is R_{i+1}.
//! - Input: BlazePose world landmarks (33 × xyz, metres, origin between the hips), mapped to
//!   camera axes by [`landmarks::world_to_camera`] (ONE place, [`landmarks::WORLD_LANDMARK_AXES`],
//!   assumed to be the identity until checked on real photos), and per-point visibility in
//!   [0, 1]. Where each point sits on the skeleton is [`landmarks::LANDMARK_RIG`].
//!
//! # How the rotations are found
//!
//! - Root and spine: the pelvis frame takes the hip line (right → left hip) and the torso
//!   axis (mid-hip → mid-shoulder); the chest takes the shoulder line. spine1, spine2 and
//!   spine3 get the SAME rotation, about an axis in their y-z plane: the torso's twist and
//!   side bend are spread evenly over the three. Forward/backward bending of the spine
//!   cannot be told from a pelvis tilt with four points, so it all goes to the pelvis (the
//!   spine stays straight in the sagittal plane). The five numbers are fitted by least
//!   squares so that the posed skeleton's hip line, shoulder line and torso axis match.
//! - Collars stay at rest (no landmark on the clavicle; the chest carries the shoulders).
//! - Neck and head: the head orientation is the rotation best mapping the rest face points
//!   onto the seen ones (nose, eyes, ears, mouth); the neck points at the head joint placed
//!   from the face and the shoulders; the head's twist about the neck is split half and half.
//! - Arms and legs: upper and lower bones swing onto the seen directions
//!   (shoulder → elbow → wrist, hip → knee → ankle), which puts elbows, wrists, knees and
//!   ankles exactly where the landmarks say (up to the person's size). Twists: the bend
//!   plane of elbow or knee gives the upper arm's or thigh's twist; hand (index, pinky,
//!   thumb) and foot (heel, foot index) orientations are fitted from their points; the
//!   wrist and ankle are taken to only swing, so forearm rotation and foot turn-out show in
//!   the forearm and shin. A straight limb takes its upper twist from its hand or foot.
//! - Fingers (l_hand, r_hand) and toes (l_foot, r_foot) stay at rest.
//! - A segment whose landmarks are below [`FitOptions::min_visibility`] keeps the previous
//!   pose's rotation when one is given, else rest ([`JointSource`] tells which). Without
//!   hips the torso axis is the previous one, else upright; without any torso point the
//!   root is the previous one, else upright facing the camera.
//! - Then, with the body placed by the camera fit, the arm and leg bones are swung (length,
//!   twist and subtree kept) so that elbows, wrists, knees and ankles project onto their 2D
//!   landmarks, within [`image_align::MAX_SWING`] of the 3D directions, and the camera is
//!   fitted again (`image_align`): the 2D landmarks are what the drawn mesh is seen against.
//! - Every output rotation is orthonormal with determinant +1, whatever the input (NaN,
//!   infinities, coincident points, zero-length bones fall back as above).
//!
//! # Input layout (BlazePose GHUM 3D landmark model, `pose_landmark_*.tflite` or its ONNX)
//!
//! - [`PoseLandmarks::world`]: output `Identity_4` [1, 117] = 39 × (x, y, z) metres; the
//!   first 33 points, in order ([`landmarks::LANDMARK_NAMES`]).
//! - [`PoseLandmarks::visibility`]: sigmoid of the 4th value of each point of `Identity`
//!   [1, 195] (39 × (x, y, z, visibility logit, presence logit)).
//! - [`PoseLandmarks::crop_rotation`]: the crop's in-plane rotation (0 for an upright crop).
//! - Image landmarks for [`fit_camera`]: x, y of `Identity` mapped from crop pixels to
//!   full-frame pixels by the caller (33 × (u, v)).
//!
//! # Camera
//!
//! [`fit_camera`] places the fitted skeleton (not the raw landmarks, so the mesh that will be
//! drawn is the one placed) in front of a known pinhole: the translation t minimising the
//! reprojection error of the joints that have a landmark ([`landmarks::JOINT_LANDMARKS`]:
//! shoulders, elbows, wrists, hips, knees, ankles), weighted by visibility.

// Index loops over small fixed-size matrices follow the formulas they implement.
#![allow(clippy::needless_range_loop)]

mod body;
pub mod camera;
mod image_align;
pub mod landmarks;
pub mod rotation;
pub mod skeleton;

#[cfg(test)]
mod synthetic;
#[cfg(test)]
mod tests;

pub use camera::{fit_camera, solve_translation, CameraFit, CameraFitError, Correspondence, Pinhole};
pub use landmarks::NUM_LANDMARKS;
pub use skeleton::{NUM_BODY_JOINTS, NUM_JOINTS};

use rotation::{to_f64, to_output, Mat3d};

pub use hmr2_meta::math::Mat3;
use hmr2_meta::math::IDENTITY;

/// One person's landmark model output, as the fit needs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoseLandmarks {
    /// World landmarks, 33 × (x, y, z) in metres, origin between the hips, in the landmark
    /// model's own axes (see [`landmarks::WORLD_LANDMARK_AXES`]).
    pub world: [[f32; 3]; NUM_LANDMARKS],
    /// Visibility probability in [0, 1] of each point (the sigmoid of the model's visibility
    /// logit).
    pub visibility: [f32; NUM_LANDMARKS],
    /// In-plane rotation of the crop the model saw (radians, 0 for upright); see
    /// [`landmarks::world_to_camera`].
    pub crop_rotation: f32,
}

/// Tuning of the fit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOptions {
    /// Points with a lower visibility are treated as not seen.
    pub min_visibility: f32,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self { min_visibility: 0.5 }
    }
}

/// SMPL pose parameters: the root rotation and the 23 rotations relative to the parents.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmplPose {
    pub global_orient: Mat3,
    pub body_pose: [Mat3; NUM_BODY_JOINTS],
}

impl SmplPose {
    /// Every rotation at the identity (the T-pose in the model frame).
    pub const REST: Self = Self { global_orient: IDENTITY, body_pose: [IDENTITY; NUM_BODY_JOINTS] };

    /// Rotation of `joint` relative to its parent (the root: `global_orient`).
    pub fn rotation(&self, joint: usize) -> &Mat3 {
        if joint == 0 {
            &self.global_orient
        } else {
            &self.body_pose[joint - 1]
        }
    }

    /// Posed joints of the canonical skeleton, pelvis at the origin, camera-frame axes.
    pub fn joints(&self) -> [[f32; 3]; NUM_JOINTS] {
        skeleton::posed_joints(&self.global_orient, &self.body_pose)
    }

    /// Rotations in f64; anything that is not a rotation becomes rest (the root: upright,
    /// facing the camera), so a bad previous pose cannot leak into the fit.
    fn local_f64(&self) -> [Mat3d; NUM_JOINTS] {
        std::array::from_fn(|j| {
            rotation::proper_rotation(&to_f64(self.rotation(j))).unwrap_or(if j == 0 {
                body::FACING_CAMERA
            } else {
                rotation::IDENTITY
            })
        })
    }
}

/// Where a joint's rotation came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JointSource {
    /// Fitted to the landmarks.
    Landmarks,
    /// Fitted in part, the rest assumed: the root without hips or without shoulders (its
    /// up axis is the previous one, else upright) and the spine then (at rest); the neck
    /// without shoulder measurements (half the head's rotation).
    Assumed,
    /// Its landmarks were not seen: the previous pose's rotation.
    Previous,
    /// Its landmarks were not seen and there was no previous pose: rest (the root: upright,
    /// facing the camera).
    Rest,
    /// Held at rest by design (collars, fingers, toes).
    Fixed,
}

/// The fitted pose with its posed skeleton.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BodyFit {
    pub pose: SmplPose,
    /// Posed canonical joints (pelvis at the origin, camera-frame axes, metres).
    pub joints: [[f32; 3]; NUM_JOINTS],
    pub sources: [JointSource; NUM_JOINTS],
}

impl BodyFit {
    /// Whether `joint`'s position follows from the landmarks: no rotation on the path from
    /// the root to its parent fell back to rest.
    pub fn joint_is_placed(&self, joint: usize) -> bool {
        let mut j = joint;
        while let Some(p) = skeleton::parent(j) {
            if self.sources[p] == JointSource::Rest {
                return false;
            }
            j = p;
        }
        true
    }
}

/// Fits SMPL rotations to one person's landmarks. `previous` (e.g. the same person's pose
/// in the previous frame) is what unseen segments keep; without it they go to rest.
pub fn fit_body(landmarks: &PoseLandmarks, previous: Option<&SmplPose>, options: &FitOptions) -> BodyFit {
    let observation = observe(landmarks, options);
    let previous = previous.map(SmplPose::local_f64);
    let (local, sources) = body::fit(&observation, previous.as_ref());
    body_from_local(&local, sources)
}

/// The body posed by `local` rotations; one that is not a proper rotation becomes rest.
fn body_from_local(local: &[Mat3d; NUM_JOINTS], mut sources: [JointSource; NUM_JOINTS]) -> BodyFit {
    let mut rotations = [IDENTITY; NUM_JOINTS];
    for j in 0..NUM_JOINTS {
        match rotation::proper_rotation(&local[j]) {
            Some(r) => rotations[j] = to_output(&r),
            None => {
                rotations[j] = if j == 0 { to_output(&body::FACING_CAMERA) } else { IDENTITY };
                sources[j] = JointSource::Rest;
            }
        }
    }
    let pose = SmplPose { global_orient: rotations[0], body_pose: std::array::from_fn(|i| rotations[i + 1]) };
    BodyFit { pose, joints: pose.joints(), sources }
}

/// Pose and camera of one person.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonFit {
    pub body: BodyFit,
    pub camera: CameraFit,
}

/// Rounds of limb alignment to the image after the first camera fit.
const ALIGN_ROUNDS: usize = 2;

/// [`fit_body`] then [`fit_camera`], with the image landmarks (33 × (u, v) in full-frame
/// pixels) of the same model output; then the limbs swung onto the image landmarks
/// (`image_align`) and the camera fitted again.
pub fn fit_person(
    landmarks: &PoseLandmarks,
    image_landmarks: &[[f32; 2]; NUM_LANDMARKS],
    camera: &Pinhole,
    previous: Option<&SmplPose>,
    options: &FitOptions,
) -> Result<PersonFit, CameraFitError> {
    let mut body = fit_body(landmarks, previous, options);
    let mut placed = fit_camera(&body, image_landmarks, &landmarks.visibility, camera, options)?;
    // Swinging the limbs moves the joints the translation was fitted to: a second round
    // settles both (a third changed the reprojection by under 0.1 px on real photos).
    for _ in 0..ALIGN_ROUNDS {
        let local: [Mat3d; NUM_JOINTS] = std::array::from_fn(|j| to_f64(body.pose.rotation(j)));
        let translation = placed.translation.map(f64::from);
        let aligned = image_align::align_limbs(
            &local,
            &body.sources,
            translation,
            image_landmarks,
            &landmarks.visibility,
            camera,
            options,
        );
        body = body_from_local(&aligned, body.sources);
        placed = fit_camera(&body, image_landmarks, &landmarks.visibility, camera, options)?;
    }
    Ok(PersonFit { body, camera: placed })
}

fn observe(landmarks: &PoseLandmarks, options: &FitOptions) -> body::Observation {
    let mut obs = body::Observation {
        points: [[0.0; 3]; NUM_LANDMARKS],
        seen: [false; NUM_LANDMARKS],
        weight: [0.0; NUM_LANDMARKS],
    };
    for i in 0..NUM_LANDMARKS {
        let p = landmarks::world_to_camera(landmarks.world[i], landmarks.crop_rotation);
        let v = landmarks.visibility[i];
        let seen = rotation::is_finite_vec(p) && v.is_finite() && v >= options.min_visibility && v > 0.0;
        obs.points[i] = if seen { p } else { [0.0; 3] };
        obs.seen[i] = seen;
        obs.weight[i] = if seen { f64::from(v.min(1.0)) } else { 0.0 };
    }
    // The limbs start at SMPL's hip joints, inside BlazePose's hip points: pull the points
    // in about their midpoint by the ratio of the two widths (scale-free, as the landmarks'
    // size is the person's).
    if obs.seen[landmarks::LEFT_HIP] && obs.seen[landmarks::RIGHT_HIP] {
        let joint_half_width = f64::from(skeleton::REST_JOINTS[skeleton::L_HIP][0]);
        let ratio = joint_half_width / (joint_half_width + f64::from(landmarks::HIP_POINT_OFFSET));
        let mid = rotation::midpoint(obs.points[landmarks::LEFT_HIP], obs.points[landmarks::RIGHT_HIP]);
        for i in [landmarks::LEFT_HIP, landmarks::RIGHT_HIP] {
            obs.points[i] = rotation::add(mid, rotation::scale(rotation::sub(obs.points[i], mid), ratio));
        }
    }
    obs
}
