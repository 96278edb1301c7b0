//! The exported skeleton: SMPL's 24 joints with their names, rest positions of a body model
//! with a track's shape baked in, and the per-frame local transforms in the world frame.
//!
//! Convention (the same for glTF and BVH): the world is the video camera's frame turned a
//! half turn about x ([`super::rotation::CAMERA_TO_WORLD`]): y up, metres, the camera at the
//! origin looking down −z. The root joint (pelvis) carries the body's placement: its
//! translation is the posed pelvis in the world, `C·(J_0 + cam_t)`, and its rotation
//! `C·R_0`; every other joint keeps SMPL's rotation relative to its parent and its rest
//! offset from it. In the rest pose (all rotations identity) the body stands upright in
//! SMPL's own frame, which is already y up.

use gstmeshoverlay::body_model::BodyModel;

use super::pose_file::{TrackFrame, NUM_BETAS};
use super::rotation::{apply, camera_point_to_world, camera_rotation_to_world, mul, Mat3d};

pub const NUM_JOINTS: usize = gstmeshoverlay::body_model::NUM_JOINTS;

/// SMPL's joint names, in joint order (`models/BODY_MODEL_FORMAT.md`).
pub use hmr2_meta::pose::JOINT_NAMES;

/// A body model with one shape baked in, at rest.
#[derive(Clone, Debug)]
pub struct RestBody {
    /// Rest vertices `v_template + shapedirs·betas`, metres.
    pub vertices: Vec<[f32; 3]>,
    /// Rest joints `J_regressor · vertices`.
    pub joints: [[f64; 3]; NUM_JOINTS],
    pub parents: [Option<usize>; NUM_JOINTS],
}

impl RestBody {
    /// The rest body of `model` with shape `betas` (coefficients beyond the model's are
    /// ignored, as meshoverlay does).
    pub fn new(model: &BodyModel, betas: &[f64; NUM_BETAS]) -> Self {
        let s = model.num_shape_coeffs;
        let used = s.min(NUM_BETAS);
        let vertices_f64: Vec<[f64; 3]> = (0..model.num_vertices)
            .map(|v| {
                std::array::from_fn(|a| {
                    let base = (v * 3 + a) * s;
                    f64::from(model.v_template[v * 3 + a])
                        + (0..used).map(|k| f64::from(model.shapedirs[base + k]) * betas[k]).sum::<f64>()
                })
            })
            .collect();
        let joints = std::array::from_fn(|j| {
            let row = &model.j_regressor[j * model.num_vertices..(j + 1) * model.num_vertices];
            let mut joint = [0.0; 3];
            for (w, v) in row.iter().zip(&vertices_f64).filter(|(w, _)| **w != 0.0) {
                for a in 0..3 {
                    joint[a] += f64::from(*w) * v[a];
                }
            }
            joint
        });
        let vertices = vertices_f64.iter().map(|v| v.map(|c| c as f32)).collect();
        Self { vertices, joints, parents: model.parents }
    }

    /// Joint j's rest offset from its parent (the root's is its rest position).
    pub fn offset(&self, joint: usize) -> [f64; 3] {
        match self.parents[joint] {
            None => self.joints[joint],
            Some(p) => std::array::from_fn(|a| self.joints[joint][a] - self.joints[p][a]),
        }
    }
}

/// The local transforms of every joint in one frame, in the world frame's convention.
#[derive(Clone, Debug, PartialEq)]
pub struct JointPose {
    /// The pelvis's world position.
    pub root_translation: [f64; 3],
    /// `rotations[0]`: the pelvis's world rotation; others relative to their parents.
    pub rotations: [Mat3d; NUM_JOINTS],
}

impl JointPose {
    pub fn new(rest: &RestBody, frame: &TrackFrame) -> Self {
        let pelvis_camera: [f64; 3] = std::array::from_fn(|a| rest.joints[0][a] + frame.cam_t[a]);
        let mut rotations = frame.rotations;
        rotations[0] = camera_rotation_to_world(&frame.rotations[0]);
        Self { root_translation: camera_point_to_world(pelvis_camera), rotations }
    }

    /// Forward kinematics of these local transforms: every joint's world position.
    pub fn world_joints(&self, rest: &RestBody) -> [[f64; 3]; NUM_JOINTS] {
        self.world_transforms(rest).1
    }

    /// Every joint's world rotation and position.
    pub fn world_transforms(&self, rest: &RestBody) -> ([Mat3d; NUM_JOINTS], [[f64; 3]; NUM_JOINTS]) {
        let mut world_rotation = [[[0.0; 3]; 3]; NUM_JOINTS];
        let mut world_position = [[0.0; 3]; NUM_JOINTS];
        for j in 0..NUM_JOINTS {
            match rest.parents[j] {
                None => {
                    world_rotation[j] = self.rotations[j];
                    world_position[j] = self.root_translation;
                }
                Some(p) => {
                    world_rotation[j] = mul(&world_rotation[p], &self.rotations[j]);
                    let step = apply(&world_rotation[p], rest.offset(j));
                    world_position[j] = std::array::from_fn(|a| world_position[p][a] + step[a]);
                }
            }
        }
        (world_rotation, world_position)
    }

    /// Where linear blend skinning with `weights` ((joint, weight) pairs) puts rest vertex
    /// `vertex`, as a glTF viewer skins it.
    pub fn skin_vertex(
        &self,
        rest: &RestBody,
        world: &([Mat3d; NUM_JOINTS], [[f64; 3]; NUM_JOINTS]),
        vertex: [f32; 3],
        weights: impl Iterator<Item = (usize, f32)>,
    ) -> [f64; 3] {
        let mut out = [0.0; 3];
        for (j, w) in weights {
            let local: [f64; 3] = std::array::from_fn(|a| f64::from(vertex[a]) - rest.joints[j][a]);
            let moved = apply(&world.0[j], local);
            for a in 0..3 {
                out[a] += f64::from(w) * (moved[a] + world.1[j][a]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::animation::rotation::{matrix_from_euler_zyx_degrees, CAMERA_TO_WORLD};
    use gstmeshoverlay::skinning::{BodyPose, Skinner};

    /// The exported transforms put every joint where meshoverlay's own forward pass puts it,
    /// seen from the world frame: the convention the Blender test checks end to end.
    #[test]
    fn world_joints_match_meshoverlays_forward_pass_in_the_world_frame() {
        let model = BodyModel::bundled().unwrap();
        let skinner = Skinner::new(&model);
        let mut betas = [0.0; NUM_BETAS];
        betas[0] = 1.5;
        betas[3] = -0.7;
        let rest = RestBody::new(&model, &betas);
        let rotations: [Mat3d; NUM_JOINTS] = std::array::from_fn(|j| {
            let k = j as f64;
            matrix_from_euler_zyx_degrees([17.0 * k - 60.0, 11.0 * k % 70.0 - 35.0, 160.0 - 13.0 * k])
        });
        let frame = TrackFrame {
            frame: 0,
            rotations,
            cam_t: [0.3, -0.2, 7.5],
            betas,
            focal_length: 1000.0,
            principal_point: [0.0, 0.0],
        };
        let pose = BodyPose {
            betas: betas.map(|b| b as f32),
            rotations: rotations.map(|m| m.map(|r| r.map(|x| x as f32))),
            translation: frame.cam_t.map(|x| x as f32),
        };
        let reference = skinner.pose_joints(&pose);
        let exported = JointPose::new(&rest, &frame).world_joints(&rest);
        for j in 0..NUM_JOINTS {
            let expected = apply(&CAMERA_TO_WORLD, reference[j].map(f64::from));
            let error = (0..3).map(|a| (exported[j][a] - expected[a]).abs()).fold(0.0, f64::max);
            assert!(error < 2e-5, "joint {} off by {error} m", JOINT_NAMES[j]);
        }
    }

    /// glTF's skinning of the exported rest mesh (joint matrices times inverse bind
    /// matrices) lands every vertex where meshoverlay's skinning puts it, in the world frame:
    /// the silhouette test's claim, without a GPU. (Pose correctives are not exported, so
    /// the model is compared without them.)
    #[test]
    fn exported_skinning_matches_meshoverlays_vertices() {
        let mut model = BodyModel::bundled().unwrap();
        model.posedirs.clear();
        let skinner = Skinner::new(&model);
        let betas = [0.8, -0.4, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let rest = RestBody::new(&model, &betas);
        let rotations: [Mat3d; NUM_JOINTS] =
            std::array::from_fn(|j| matrix_from_euler_zyx_degrees([9.0 * j as f64, -40.0 + 5.0 * j as f64, 175.0]));
        let frame = TrackFrame {
            frame: 0,
            rotations,
            cam_t: [-0.4, 0.1, 6.0],
            betas,
            focal_length: 1000.0,
            principal_point: [0.0, 0.0],
        };
        let pose = BodyPose {
            betas: betas.map(|b| b as f32),
            rotations: rotations.map(|m| m.map(|r| r.map(|x| x as f32))),
            translation: frame.cam_t.map(|x| x as f32),
        };
        let mut posed = Vec::new();
        skinner.pose_all(std::slice::from_ref(&pose), &mut posed);
        let exported = JointPose::new(&rest, &frame);
        let world = exported.world_transforms(&rest);
        let mut worst = 0.0f64;
        for (v, vertex) in rest.vertices.iter().enumerate() {
            let weights = model.weights[v * NUM_JOINTS..(v + 1) * NUM_JOINTS].iter().copied().enumerate();
            let got = exported.skin_vertex(&rest, &world, *vertex, weights);
            let expected = apply(&CAMERA_TO_WORLD, posed[0].vertices[v].map(f64::from));
            worst = worst.max((0..3).map(|a| (got[a] - expected[a]).abs()).fold(0.0, f64::max));
        }
        assert!(worst < 2e-5, "vertices off by up to {worst} m");
    }

    #[test]
    fn rest_offsets_chain_to_the_rest_joints() {
        let model = BodyModel::bundled().unwrap();
        let rest = RestBody::new(&model, &[0.0; NUM_BETAS]);
        assert_eq!(rest.offset(0), rest.joints[0]);
        let head: [f64; 3] = std::array::from_fn(|a| [0, 3, 6, 9, 12, 15].iter().map(|&j| rest.offset(j)[a]).sum());
        assert!((0..3).all(|a| (head[a] - rest.joints[15][a]).abs() < 1e-12));
        // SMPL's rest frame is y up: the head is above the pelvis.
        assert!(rest.joints[15][1] > rest.joints[0][1] + 0.3);
    }
}
