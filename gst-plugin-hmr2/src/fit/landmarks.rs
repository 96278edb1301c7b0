//! The 33 BlazePose GHUM 3D landmarks: their order, the axes of the model's world landmarks,
//! and where each point sits on the canonical SMPL rest skeleton (the landmark rig).
//!
//! "Left" is always the person's left. In the rest skeleton that is +x.

use super::rotation::{add, apply, sub, Mat3d, Vec3};
use super::skeleton::{self, NUM_JOINTS};

/// Pose landmarks of BlazePose (points 33 and 34 of the model only steer its tracking).
pub const NUM_LANDMARKS: usize = 33;

pub const NOSE: usize = 0;
pub const LEFT_EYE_INNER: usize = 1;
pub const LEFT_EYE: usize = 2;
pub const LEFT_EYE_OUTER: usize = 3;
pub const RIGHT_EYE_INNER: usize = 4;
pub const RIGHT_EYE: usize = 5;
pub const RIGHT_EYE_OUTER: usize = 6;
pub const LEFT_EAR: usize = 7;
pub const RIGHT_EAR: usize = 8;
pub const MOUTH_LEFT: usize = 9;
pub const MOUTH_RIGHT: usize = 10;
pub const LEFT_SHOULDER: usize = 11;
pub const RIGHT_SHOULDER: usize = 12;
pub const LEFT_ELBOW: usize = 13;
pub const RIGHT_ELBOW: usize = 14;
pub const LEFT_WRIST: usize = 15;
pub const RIGHT_WRIST: usize = 16;
pub const LEFT_PINKY: usize = 17;
pub const RIGHT_PINKY: usize = 18;
pub const LEFT_INDEX: usize = 19;
pub const RIGHT_INDEX: usize = 20;
pub const LEFT_THUMB: usize = 21;
pub const RIGHT_THUMB: usize = 22;
pub const LEFT_HIP: usize = 23;
pub const RIGHT_HIP: usize = 24;
pub const LEFT_KNEE: usize = 25;
pub const RIGHT_KNEE: usize = 26;
pub const LEFT_ANKLE: usize = 27;
pub const RIGHT_ANKLE: usize = 28;
pub const LEFT_HEEL: usize = 29;
pub const RIGHT_HEEL: usize = 30;
pub const LEFT_FOOT_INDEX: usize = 31;
pub const RIGHT_FOOT_INDEX: usize = 32;

pub const LANDMARK_NAMES: [&str; NUM_LANDMARKS] = [
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
];

/// Face points (nose, eyes, ears, mouth).
pub const FACE: [usize; 11] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/// How BlazePose's world-landmark axes map onto the camera axes (OpenCV: x right, y down,
/// z away from the camera) in the upright crop: `p_camera = WORLD_LANDMARK_AXES · p_world`.
///
/// The identity: measured on real photos (a least-squares fit of world offsets against the
/// same points' crop-pixel offsets, `models/OPEN_MODELS.md`), the model's world axes are x
/// towards the crop's right, y down and z away from the camera, like its image landmarks.
/// Any signed permutation would be allowed here (a change of coordinates, not a motion).
pub const WORLD_LANDMARK_AXES: [[f32; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// A world landmark in camera axes. `crop_rotation` (radians) is the in-plane rotation of
/// the landmark model's crop: the angle from the frame's x axis to the crop's x axis,
/// measured towards the frame's y axis (clockwise on screen, since y points down); 0 for an
/// upright crop. The crop's axes are first mapped by [`WORLD_LANDMARK_AXES`], then turned
/// by that angle about the camera's z axis.
pub fn world_to_camera(point: [f32; 3], crop_rotation: f32) -> Vec3 {
    let axes: Mat3d = WORLD_LANDMARK_AXES.map(|row| row.map(f64::from));
    let [x, y, z] = apply(&axes, point.map(f64::from));
    let angle = if crop_rotation.is_finite() { f64::from(crop_rotation) } else { 0.0 };
    let (s, c) = angle.sin_cos();
    [c * x - s * y, s * x + c * y, z]
}

/// Where a landmark sits: rigidly attached to `joint`, at `rest` (canonical rest-pose
/// position in the model frame, metres) when the body is at rest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RigPoint {
    pub joint: usize,
    pub rest: [f32; 3],
}

const fn at(joint: usize, rest: [f32; 3]) -> RigPoint {
    RigPoint { joint, rest }
}

/// The landmark rig: each BlazePose point on the canonical rest skeleton.
///
/// - Shoulders, elbows, wrists, knees and ankles sit exactly on the SMPL joints of the
///   same name. BlazePose's hip points are not SMPL's hip joint centres: they sit on the
///   pelvis [`HIP_POINT_OFFSET`] further out along the hip line (the body fit pulls them in
///   to start the thighs at the joints; the camera fit projects them where they are).
/// - Pinky, index and thumb are knuckles attached to the wrist (palm down in the T-pose,
///   thumb forward).
/// - Heel and foot index (tip of the foot) are attached to the ankle.
/// - Face points are attached to the head joint, placed on the mannequin's head (the ear
///   midpoint is 7 cm above the head joint, the nose 10.5 cm in front of it).
///
/// The fit measures the rest directions it needs from these positions, and the tests make
/// synthetic landmarks from them, so this table is the one definition of what each point
/// means on the skeleton.
pub const LANDMARK_RIG: [RigPoint; NUM_LANDMARKS] = {
    use skeleton::*;
    [
        at(HEAD, [0.0, 0.665, 0.105]),   // nose
        at(HEAD, [0.015, 0.69, 0.09]),   // left eye inner
        at(HEAD, [0.032, 0.69, 0.088]),  // left eye
        at(HEAD, [0.048, 0.69, 0.082]),  // left eye outer
        at(HEAD, [-0.015, 0.69, 0.09]),  // right eye inner
        at(HEAD, [-0.032, 0.69, 0.088]), // right eye
        at(HEAD, [-0.048, 0.69, 0.082]), // right eye outer
        at(HEAD, [0.085, 0.67, 0.0]),    // left ear
        at(HEAD, [-0.085, 0.67, 0.0]),   // right ear
        at(HEAD, [0.025, 0.63, 0.09]),   // mouth left
        at(HEAD, [-0.025, 0.63, 0.09]),  // mouth right
        at(L_SHOULDER, REST_JOINTS[L_SHOULDER]),
        at(R_SHOULDER, REST_JOINTS[R_SHOULDER]),
        at(L_ELBOW, REST_JOINTS[L_ELBOW]),
        at(R_ELBOW, REST_JOINTS[R_ELBOW]),
        at(L_WRIST, REST_JOINTS[L_WRIST]),
        at(R_WRIST, REST_JOINTS[R_WRIST]),
        at(L_WRIST, [0.76, 0.46, -0.05]),  // left pinky
        at(R_WRIST, [-0.76, 0.46, -0.05]), // right pinky
        at(L_WRIST, [0.77, 0.46, 0.02]),   // left index
        at(R_WRIST, [-0.77, 0.46, 0.02]),  // right index
        at(L_WRIST, [0.72, 0.445, 0.03]),  // left thumb
        at(R_WRIST, [-0.72, 0.445, 0.03]), // right thumb
        // BlazePose's hip points sit outside SMPL's hip joints (see HIP_POINT_OFFSET), on
        // the pelvis.
        at(PELVIS, [REST_JOINTS[L_HIP][0] + HIP_POINT_OFFSET, REST_JOINTS[L_HIP][1], REST_JOINTS[L_HIP][2]]),
        at(PELVIS, [REST_JOINTS[R_HIP][0] - HIP_POINT_OFFSET, REST_JOINTS[R_HIP][1], REST_JOINTS[R_HIP][2]]),
        at(L_KNEE, REST_JOINTS[L_KNEE]),
        at(R_KNEE, REST_JOINTS[R_KNEE]),
        at(L_ANKLE, REST_JOINTS[L_ANKLE]),
        at(R_ANKLE, REST_JOINTS[R_ANKLE]),
        at(L_ANKLE, [0.10, -0.915, -0.085]),  // left heel
        at(R_ANKLE, [-0.10, -0.915, -0.085]), // right heel
        at(L_ANKLE, [0.11, -0.92, 0.17]),     // left foot index
        at(R_ANKLE, [-0.11, -0.92, 0.17]),    // right foot index
    ]
};

/// Rest-pose position of a landmark (model frame).
/// How far BlazePose's hip points lie outside SMPL's hip joints, along the hip line
/// (metres): BlazePose's world hip points were 0.21 m apart (median over 40 persons of
/// opencv-doc's photos and vtest.avi) where SMPL's hip joints are 0.17 m apart.
pub const HIP_POINT_OFFSET: f32 = 0.02;

/// Where `landmark` lies on a posed skeleton (its rig point moved with its joint).
pub fn posed_point(landmark: usize, global: &[Mat3d; NUM_JOINTS], positions: &[Vec3; NUM_JOINTS]) -> Vec3 {
    let rig = LANDMARK_RIG[landmark];
    let offset = sub(rig.rest.map(f64::from), skeleton::rest_joint(rig.joint));
    add(positions[rig.joint], apply(&global[rig.joint], offset))
}

pub fn rest_point(landmark: usize) -> Vec3 {
    LANDMARK_RIG[landmark].rest.map(f64::from)
}

/// Pairs of a landmark and the SMPL joint it stands for, used by the camera fit.
pub const JOINT_LANDMARKS: [(usize, usize); 12] = {
    use skeleton::*;
    [
        (LEFT_SHOULDER, L_SHOULDER),
        (RIGHT_SHOULDER, R_SHOULDER),
        (LEFT_ELBOW, L_ELBOW),
        (RIGHT_ELBOW, R_ELBOW),
        (LEFT_WRIST, L_WRIST),
        (RIGHT_WRIST, R_WRIST),
        (LEFT_HIP, L_HIP),
        (RIGHT_HIP, R_HIP),
        (LEFT_KNEE, L_KNEE),
        (RIGHT_KNEE, R_KNEE),
        (LEFT_ANKLE, L_ANKLE),
        (RIGHT_ANKLE, R_ANKLE),
    ]
};

const _: () = {
    let mut i = 0;
    while i < NUM_LANDMARKS {
        assert!(LANDMARK_RIG[i].joint < NUM_JOINTS);
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_points_are_on_the_left_and_pairs_mirror() {
        for (i, name) in LANDMARK_NAMES.iter().enumerate() {
            let p = LANDMARK_RIG[i].rest;
            if name.contains("left") {
                assert!(p[0] > 0.0, "{name}");
                let right = name.replace("left", "right");
                let j = LANDMARK_NAMES.iter().position(|n| *n == right).unwrap();
                let q = LANDMARK_RIG[j].rest;
                assert_eq!(p, [-q[0], q[1], q[2]], "{name}");
                assert_eq!(
                    skeleton::JOINT_NAMES[LANDMARK_RIG[i].joint].replace("l_", "r_"),
                    skeleton::JOINT_NAMES[LANDMARK_RIG[j].joint],
                );
            }
        }
        // The face looks forward (+z) and the thumb and index lie in front of the pinky.
        assert!(LANDMARK_RIG[NOSE].rest[2] > LANDMARK_RIG[LEFT_EAR].rest[2]);
        assert!(LANDMARK_RIG[LEFT_INDEX].rest[2] > LANDMARK_RIG[LEFT_PINKY].rest[2]);
        assert!(LANDMARK_RIG[LEFT_FOOT_INDEX].rest[2] > LANDMARK_RIG[LEFT_HEEL].rest[2]);
    }

    #[test]
    fn crop_rotation_turns_x_towards_y() {
        let p = world_to_camera([1.0, 0.0, 0.5], std::f32::consts::FRAC_PI_2);
        assert!(p[0].abs() < 1e-6 && (p[1] - 1.0).abs() < 1e-6 && (p[2] - 0.5).abs() < 1e-12, "{p:?}");
        assert_eq!(world_to_camera([1.0, 2.0, 3.0], 0.0), [1.0, 2.0, 3.0]);
    }
}
