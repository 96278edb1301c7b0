//! SMPL's 24-joint skeleton: joint order, kinematic tree, the canonical rest pose the fit
//! measures bone directions against, and forward kinematics.
//!
//! The canonical rest joints are the project mannequin's designed joints
//! (`models/gen_mannequin.py`, `_LEFT_JOINTS`, the right side mirrored in x): SMPL's T-pose
//! conventions (y up, facing +z, x = the body's left, pelvis at the origin, arms along ±x,
//! palms down). Only the directions of its bones matter to the rotations, so the same
//! rotations drive SMPL and the mannequin alike.

use super::rotation::{add, apply, mul, sub, to_f64, vec_to_f64, Mat3d, Vec3};
use super::Mat3;

/// Joints of the SMPL skeleton.
pub const NUM_JOINTS: usize = 24;
/// Joints with a rotation relative to their parent (`body_pose`): joints 1..23.
pub const NUM_BODY_JOINTS: usize = NUM_JOINTS - 1;

pub const PELVIS: usize = 0;
pub const L_HIP: usize = 1;
pub const R_HIP: usize = 2;
pub const SPINE1: usize = 3;
pub const L_KNEE: usize = 4;
pub const R_KNEE: usize = 5;
pub const SPINE2: usize = 6;
pub const L_ANKLE: usize = 7;
pub const R_ANKLE: usize = 8;
pub const SPINE3: usize = 9;
pub const L_FOOT: usize = 10;
pub const R_FOOT: usize = 11;
pub const NECK: usize = 12;
pub const L_COLLAR: usize = 13;
pub const R_COLLAR: usize = 14;
pub const HEAD: usize = 15;
pub const L_SHOULDER: usize = 16;
pub const R_SHOULDER: usize = 17;
pub const L_ELBOW: usize = 18;
pub const R_ELBOW: usize = 19;
pub const L_WRIST: usize = 20;
pub const R_WRIST: usize = 21;
pub const L_HAND: usize = 22;
pub const R_HAND: usize = 23;

/// SMPL's kinematic tree (−1: root); every parent comes before its children.
pub const PARENTS: [i32; NUM_JOINTS] =
    [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21];

/// SMPL's joint names, in joint order.
pub use hmr2_meta::pose::JOINT_NAMES;

/// Canonical rest joint positions in metres (model frame: x = body's left, y up, z forward),
/// the mannequin's designed joints.
pub const REST_JOINTS: [[f32; 3]; NUM_JOINTS] = [
    [0.0, 0.0, 0.0],        // pelvis
    [0.085, -0.08, 0.0],    // l_hip
    [-0.085, -0.08, 0.0],   // r_hip
    [0.0, 0.11, -0.01],     // spine1
    [0.095, -0.48, 0.005],  // l_knee
    [-0.095, -0.48, 0.005], // r_knee
    [0.0, 0.24, -0.005],    // spine2
    [0.10, -0.86, -0.025],  // l_ankle
    [-0.10, -0.86, -0.025], // r_ankle
    [0.0, 0.30, 0.0],       // spine3
    [0.11, -0.905, 0.10],   // l_foot
    [-0.11, -0.905, 0.10],  // r_foot
    [0.0, 0.52, -0.015],    // neck
    [0.07, 0.44, -0.01],    // l_collar
    [-0.07, 0.44, -0.01],   // r_collar
    [0.0, 0.60, 0.0],       // head
    [0.17, 0.46, -0.015],   // l_shoulder
    [-0.17, 0.46, -0.015],  // r_shoulder
    [0.43, 0.46, -0.025],   // l_elbow
    [-0.43, 0.46, -0.025],  // r_elbow
    [0.68, 0.46, -0.02],    // l_wrist
    [-0.68, 0.46, -0.02],   // r_wrist
    [0.77, 0.46, -0.02],    // l_hand
    [-0.77, 0.46, -0.02],   // r_hand
];

/// Parent of `joint`, `None` for the pelvis.
pub fn parent(joint: usize) -> Option<usize> {
    usize::try_from(PARENTS[joint]).ok()
}

pub fn rest_joint(joint: usize) -> Vec3 {
    vec_to_f64(REST_JOINTS[joint])
}

/// Rest offset of `joint` from its parent (zero for the pelvis).
pub fn rest_bone(joint: usize) -> Vec3 {
    match parent(joint) {
        Some(p) => sub(rest_joint(joint), rest_joint(p)),
        None => [0.0; 3],
    }
}

/// Global (camera-frame) orientation G_j of every joint from the local rotations
/// (index 0: global_orient; j ≥ 1: relative to the parent): G_0 = R_0, G_j = G_parent · R_j.
pub fn global_orientations(local: &[Mat3d; NUM_JOINTS]) -> [Mat3d; NUM_JOINTS] {
    let mut global = *local;
    for j in 1..NUM_JOINTS {
        let p = parent(j).expect("only the pelvis has no parent");
        global[j] = mul(&global[p], &local[j]);
    }
    global
}

/// Posed joint positions relative to the pelvis from global orientations:
/// position_j = position_parent + G_parent · (rest_j − rest_parent).
pub fn joint_positions(global: &[Mat3d; NUM_JOINTS]) -> [Vec3; NUM_JOINTS] {
    let mut positions = [[0.0; 3]; NUM_JOINTS];
    for j in 1..NUM_JOINTS {
        let p = parent(j).expect("only the pelvis has no parent");
        positions[j] = add(positions[p], apply(&global[p], rest_bone(j)));
    }
    positions
}

/// Posed joints (pelvis at the origin, camera-frame orientation) of the canonical skeleton
/// for `global_orient` and the 23 `body_pose` rotations.
pub fn posed_joints(global_orient: &Mat3, body_pose: &[Mat3; NUM_BODY_JOINTS]) -> [[f32; 3]; NUM_JOINTS] {
    let mut local = [[[0.0; 3]; 3]; NUM_JOINTS];
    local[0] = to_f64(global_orient);
    for (slot, r) in local[1..].iter_mut().zip(body_pose) {
        *slot = to_f64(r);
    }
    joint_positions(&global_orientations(&local)).map(|p| p.map(|v| v as f32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::rotation::{axis_angle, norm, IDENTITY};

    #[test]
    fn parents_come_first_and_sides_mirror() {
        for j in 1..NUM_JOINTS {
            assert!((PARENTS[j] as usize) < j);
        }
        for (j, name) in JOINT_NAMES.iter().enumerate() {
            if let Some(side) = name.strip_prefix("l_") {
                let r = JOINT_NAMES.iter().position(|n| *n == format!("r_{side}")).unwrap();
                let (a, b) = (REST_JOINTS[j], REST_JOINTS[r]);
                assert_eq!([a[0], a[1], a[2]], [-b[0], b[1], b[2]], "{name}");
                assert!(a[0] > 0.0, "{name}: the body's left is +x");
            }
        }
    }

    #[test]
    fn rest_pose_reproduces_the_rest_joints() {
        let posed = posed_joints(&hmr2_meta::math::IDENTITY, &[hmr2_meta::math::IDENTITY; NUM_BODY_JOINTS]);
        for (p, r) in posed.iter().zip(REST_JOINTS) {
            assert!(norm(sub(vec_to_f64(*p), vec_to_f64(r))) < 1e-6);
        }
    }

    #[test]
    fn a_shoulder_rotation_moves_its_chain_only() {
        // Left arm turned down by 90° about the body's forward axis (z): the elbow goes from
        // +x of the shoulder to −y of it.
        let mut local = [IDENTITY; NUM_JOINTS];
        local[L_SHOULDER] = axis_angle([0.0, 0.0, 1.0], -std::f64::consts::FRAC_PI_2);
        let positions = joint_positions(&global_orientations(&local));
        let shoulder = rest_joint(L_SHOULDER);
        let bone = rest_bone(L_ELBOW);
        let expected = add(shoulder, [bone[1], -bone[0], bone[2]]);
        assert!(norm(sub(positions[L_ELBOW], expected)) < 1e-12);
        assert!(norm(sub(positions[R_ELBOW], rest_joint(R_ELBOW))) < 1e-12);
    }
}
