//! SMPL-style linear blend skinning on the CPU (see `models/BODY_MODEL_FORMAT.md`,
//! "Forward pass").
//!
//! [`Skinner::new`] rearranges the model once so that a frame costs little:
//! - shape and pose blend shapes become one matrix of `S + 207` rows of `V*3` values, so
//!   `v_template + shapedirs·betas + posedirs·(R − I)` is one pass of scaled row additions,
//!   each row trimmed to the span of its non-zero entries (a model's correctives usually
//!   touch a few regions only), run over all persons of a frame at once and in cache-sized
//!   column blocks so every row is read from memory once per frame; a model without
//!   pose blend shapes has only the `S` shape rows, and no pose feature is computed;
//! - the rest joints `J_regressor·(v_template + shapedirs·betas)` become
//!   `J_template + J_shapedirs·betas` with both terms precomputed ([24, 3] and [S, 24, 3]),
//!   so joints cost nothing per vertex;
//! - the skinning weights keep only their non-zero entries.

use std::ops::Range;

use hmr2_meta::math::{Mat3, IDENTITY};

use crate::body_model::{BodyModel, NUM_JOINTS, NUM_POSE_FEATURES};

/// Shape coefficients the metadata carries per person.
pub const MAX_BETAS: usize = hmr2_meta::pose::NUM_BETAS;

/// Column block of the blend-shape pass: with five persons the blocks of their outputs and
/// one row stay in a 32 KiB L1 cache.
const BLEND_BLOCK: usize = 1024;

/// What positions one body: its shape, its 24 joint rotations and where it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct BodyPose {
    /// Shape coefficients; those beyond the model's count are ignored.
    pub betas: [f32; MAX_BETAS],
    /// `rotations[0]` is the root orientation, `rotations[j]` joint j relative to its parent.
    pub rotations: [Mat3; NUM_JOINTS],
    /// Added to every posed vertex and joint (HMR2's `cam_t`: camera frame, metres).
    pub translation: [f32; 3],
}

impl BodyPose {
    /// The rest pose (T-pose, mean shape) at the origin.
    pub fn rest() -> Self {
        Self { betas: [0.0; MAX_BETAS], rotations: [IDENTITY; NUM_JOINTS], translation: [0.0; 3] }
    }
}

impl From<&hmr2_meta::pose::PersonPose> for BodyPose {
    fn from(person: &hmr2_meta::pose::PersonPose) -> Self {
        let mut rotations = [person.global_orient; NUM_JOINTS];
        rotations[1..].copy_from_slice(&person.body_pose);
        Self { betas: person.betas, rotations, translation: person.cam_t }
    }
}

/// One posed body: vertices and joints in the caller's frame (the pose's translation added).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PosedBody {
    pub vertices: Vec<[f32; 3]>,
    pub joints: [[f32; 3]; NUM_JOINTS],
}

/// Rigid transform [R | t] kept in f64: chaining 24 of them in f32 would cost precision
/// for nothing (it is 24 matrices per person).
#[derive(Clone, Copy, Debug)]
struct Rigid {
    r: [[f64; 3]; 3],
    t: [f64; 3],
}

impl Rigid {
    fn then(&self, local: &Rigid) -> Rigid {
        let r = std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| self.r[i][k] * local.r[k][j]).sum()));
        let t = std::array::from_fn(|i| self.t[i] + (0..3).map(|k| self.r[i][k] * local.t[k]).sum::<f64>());
        Rigid { r, t }
    }
}

/// Pose-independent data of one body model, arranged for fast posing.
#[derive(Clone, Debug)]
pub struct Skinner {
    num_vertices: usize,
    num_betas: usize,
    v_template: Vec<f32>,
    /// `num_betas` rows of `V*3` shape directions, then (when the model has pose
    /// correctives) 207 rows of pose directions.
    blend_rows: Vec<f32>,
    /// Whether `blend_rows` holds the pose directions.
    has_pose_correctives: bool,
    /// Per row, the columns outside which it is zero.
    row_spans: Vec<Range<usize>>,
    joint_template: [[f64; 3]; NUM_JOINTS],
    /// [num_betas][joint][axis]: J_regressor · shapedirs.
    joint_shapedirs: Vec<[[f64; 3]; NUM_JOINTS]>,
    /// Non-zero skinning weights: vertex v's are `weight_entries[weight_starts[v]..weight_starts[v + 1]]`.
    weight_starts: Vec<u32>,
    weight_entries: Vec<(u8, f32)>,
    parents: [Option<usize>; NUM_JOINTS],
    faces: Vec<[u32; 3]>,
}

fn nonzero_span(row: &[f32]) -> Range<usize> {
    match row.iter().position(|&x| x != 0.0) {
        None => 0..0,
        Some(first) => first..row.iter().rposition(|&x| x != 0.0).unwrap() + 1,
    }
}

impl Skinner {
    pub fn new(model: &BodyModel) -> Self {
        let v = model.num_vertices;
        let n = v * 3;
        let s_file = model.num_shape_coeffs;
        let num_betas = s_file.min(MAX_BETAS);

        let has_pose_correctives = model.has_pose_correctives();
        let pose_rows = if has_pose_correctives { NUM_POSE_FEATURES } else { 0 };
        let mut blend_rows = Vec::with_capacity((num_betas + pose_rows) * n);
        for s in 0..num_betas {
            blend_rows.extend((0..n).map(|i| model.shapedirs[i * s_file + s]));
        }
        blend_rows.extend_from_slice(&model.posedirs);
        let row_spans = blend_rows.chunks_exact(n).map(nonzero_span).collect();

        let regress = |values: &dyn Fn(usize, usize) -> f32| {
            let mut joints = [[0.0f64; 3]; NUM_JOINTS];
            for (j, joint) in joints.iter_mut().enumerate() {
                let row = &model.j_regressor[j * v..(j + 1) * v];
                for (vertex, &w) in row.iter().enumerate().filter(|(_, &w)| w != 0.0) {
                    for (axis, value) in joint.iter_mut().enumerate() {
                        *value += w as f64 * values(vertex, axis) as f64;
                    }
                }
            }
            joints
        };
        let joint_template = regress(&|vertex, axis| model.v_template[vertex * 3 + axis]);
        let joint_shapedirs = (0..num_betas)
            .map(|s| regress(&|vertex, axis| model.shapedirs[(vertex * 3 + axis) * s_file + s]))
            .collect();

        let mut weight_starts = Vec::with_capacity(v + 1);
        let mut weight_entries = Vec::new();
        for row in model.weights.chunks_exact(NUM_JOINTS) {
            weight_starts.push(weight_entries.len() as u32);
            weight_entries.extend(row.iter().enumerate().filter(|(_, &w)| w != 0.0).map(|(j, &w)| (j as u8, w)));
        }
        weight_starts.push(weight_entries.len() as u32);

        Self {
            num_vertices: v,
            num_betas,
            v_template: model.v_template.clone(),
            blend_rows,
            has_pose_correctives,
            row_spans,
            joint_template,
            joint_shapedirs,
            weight_starts,
            weight_entries,
            parents: model.parents,
            faces: model.faces.clone(),
        }
    }

    pub fn num_vertices(&self) -> usize {
        self.num_vertices
    }

    pub fn faces(&self) -> &[[u32; 3]] {
        &self.faces
    }

    pub fn parents(&self) -> &[Option<usize>; NUM_JOINTS] {
        &self.parents
    }

    fn rest_joints(&self, betas: &[f32]) -> [[f64; 3]; NUM_JOINTS] {
        let mut joints = self.joint_template;
        for (dirs, &beta) in self.joint_shapedirs.iter().zip(betas) {
            for (joint, dir) in joints.iter_mut().zip(dirs) {
                for axis in 0..3 {
                    joint[axis] += beta as f64 * dir[axis];
                }
            }
        }
        joints
    }

    /// World transforms G_j along the tree (G_j's translation is posed joint j).
    fn world_transforms(&self, pose: &BodyPose) -> ([Rigid; NUM_JOINTS], [[f64; 3]; NUM_JOINTS]) {
        let rest = self.rest_joints(&pose.betas);
        let mut world = [Rigid { r: [[0.0; 3]; 3], t: [0.0; 3] }; NUM_JOINTS];
        for j in 0..NUM_JOINTS {
            let r = pose.rotations[j].map(|row| row.map(f64::from));
            world[j] = match self.parents[j] {
                None => Rigid { r, t: rest[j] },
                Some(p) => {
                    let offset = [0, 1, 2].map(|a| rest[j][a] - rest[p][a]);
                    world[p].then(&Rigid { r, t: offset })
                }
            };
        }
        (world, rest)
    }

    /// Posed joints only (no mesh work), translation included.
    pub fn pose_joints(&self, pose: &BodyPose) -> [[f32; 3]; NUM_JOINTS] {
        let (world, _) = self.world_transforms(pose);
        world.map(|g| [0, 1, 2].map(|a| (g.t[a] + pose.translation[a] as f64) as f32))
    }

    /// Poses every body of `poses` into `out` (resized to match; its allocations are
    /// reused from frame to frame).
    pub fn pose_all(&self, poses: &[BodyPose], out: &mut Vec<PosedBody>) {
        out.resize_with(poses.len(), PosedBody::default);
        for body in out.iter_mut() {
            body.vertices.clear();
            body.vertices.extend(self.v_template.chunks_exact(3).map(|c| [c[0], c[1], c[2]]));
        }
        self.add_blend_shapes(poses, out);
        for (pose, body) in poses.iter().zip(out.iter_mut()) {
            self.skin(pose, body);
        }
    }

    /// Adds shape and pose blend shapes to the template copies in `out`.
    fn add_blend_shapes(&self, poses: &[BodyPose], out: &mut [PosedBody]) {
        let n = self.num_vertices * 3;
        let coefficients: Vec<Vec<f32>> = poses
            .iter()
            .map(|pose| {
                let mut c = pose.betas[..self.num_betas].to_vec();
                if !self.has_pose_correctives {
                    return c;
                }
                for rotation in &pose.rotations[1..] {
                    for (r, row) in rotation.iter().enumerate() {
                        for (col, &value) in row.iter().enumerate() {
                            c.push(value - if r == col { 1.0 } else { 0.0 });
                        }
                    }
                }
                c
            })
            .collect();
        let mut outputs: Vec<&mut [f32]> =
            out.iter_mut().map(|body| bytemuck::cast_slice_mut::<[f32; 3], f32>(&mut body.vertices)).collect();
        for block_start in (0..n).step_by(BLEND_BLOCK) {
            let block_end = (block_start + BLEND_BLOCK).min(n);
            for (k, span) in self.row_spans.iter().enumerate() {
                let lo = span.start.max(block_start);
                let hi = span.end.min(block_end);
                if lo >= hi {
                    continue;
                }
                let row = &self.blend_rows[k * n + lo..k * n + hi];
                for (output, c) in outputs.iter_mut().zip(&coefficients) {
                    if c[k] != 0.0 {
                        axpy(&mut output[lo..hi], c[k], row);
                    }
                }
            }
        }
    }

    /// Linear blend skinning of the blended vertices in `body`, in place.
    fn skin(&self, pose: &BodyPose, body: &mut PosedBody) {
        let (world, rest) = self.world_transforms(pose);
        // A_j = G_j with the rest joint removed, as 3x4 row-major in f32, translation
        // (cam_t) folded in so the vertex loop adds nothing.
        let skinning: [[f32; 12]; NUM_JOINTS] = std::array::from_fn(|j| {
            let g = &world[j];
            let mut m = [0.0f32; 12];
            for i in 0..3 {
                let rj: f64 = (0..3).map(|k| g.r[i][k] * rest[j][k]).sum();
                m[i * 4..i * 4 + 3].copy_from_slice(&g.r[i].map(|x| x as f32));
                m[i * 4 + 3] = (g.t[i] - rj + pose.translation[i] as f64) as f32;
            }
            m
        });
        for (vertex, position) in body.vertices.iter_mut().enumerate() {
            let entries =
                &self.weight_entries[self.weight_starts[vertex] as usize..self.weight_starts[vertex + 1] as usize];
            let mut blended = [0.0f32; 12];
            for &(joint, weight) in entries {
                for (b, a) in blended.iter_mut().zip(&skinning[joint as usize]) {
                    *b += weight * a;
                }
            }
            let [x, y, z] = *position;
            *position = [0, 1, 2].map(|i| {
                let row = &blended[i * 4..i * 4 + 4];
                row[0] * x + row[1] * y + row[2] * z + row[3]
            });
        }
        for (joint, g) in body.joints.iter_mut().zip(&world) {
            *joint = [0, 1, 2].map(|a| (g.t[a] + pose.translation[a] as f64) as f32);
        }
    }
}

/// `y += a * x`, with FMA vector instructions where the CPU has them (the workspace builds
/// for baseline x86-64, which has neither AVX nor FMA).
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the features the function is compiled for were just detected.
            unsafe { axpy_avx2_fma(y, a, x) };
            return;
        }
    }
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn axpy_avx2_fma(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y = a.mul_add(*x, *y);
    }
}

/// Smooth per-vertex normals: the area-weighted sum of the adjacent faces' normals
/// (counter-clockwise winding seen from outside gives outward normals).
pub fn vertex_normals(vertices: &[[f32; 3]], faces: &[[u32; 3]], normals: &mut Vec<[f32; 3]>) {
    normals.clear();
    normals.resize(vertices.len(), [0.0; 3]);
    for face in faces {
        let [a, b, c] = face.map(|i| vertices[i as usize]);
        let e1 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let e2 = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
        let n = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
        for &i in face {
            let acc = &mut normals[i as usize];
            for axis in 0..3 {
                acc[axis] += n[axis];
            }
        }
    }
    for n in normals.iter_mut() {
        let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        *n = if length > 0.0 { n.map(|x| x / length) } else { [0.0, 0.0, -1.0] };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mannequin() -> BodyModel {
        BodyModel::bundled().unwrap()
    }

    #[test]
    fn rest_pose_gives_the_template_and_regressed_joints() {
        let model = mannequin();
        let skinner = Skinner::new(&model);
        let mut out = Vec::new();
        skinner.pose_all(&[BodyPose::rest()], &mut out);
        for (posed, rest) in out[0].vertices.iter().zip(model.v_template.chunks_exact(3)) {
            for a in 0..3 {
                assert!((posed[a] - rest[a]).abs() < 1e-6);
            }
        }
        // The mannequin's pelvis joint is exactly at the origin and its head at y = 0.60.
        assert!(out[0].joints[0].iter().all(|c| c.abs() < 1e-5), "{:?}", out[0].joints[0]);
        assert!((out[0].joints[15][1] - 0.60).abs() < 1e-4);
        assert_eq!(skinner.pose_joints(&BodyPose::rest()), out[0].joints);
    }

    #[test]
    fn translation_moves_everything() {
        let skinner = Skinner::new(&mannequin());
        let mut pose = BodyPose::rest();
        pose.translation = [1.0, -2.0, 30.0];
        let mut moved = Vec::new();
        let mut still = Vec::new();
        skinner.pose_all(&[pose], &mut moved);
        skinner.pose_all(&[BodyPose::rest()], &mut still);
        let (a, b) = (moved[0].vertices[100], still[0].vertices[100]);
        assert!((a[2] - b[2] - 30.0).abs() < 1e-4 && (a[1] - b[1] + 2.0).abs() < 1e-5);
    }

    #[test]
    fn batched_posing_equals_one_at_a_time() {
        let skinner = Skinner::new(&mannequin());
        let mut bent = BodyPose::rest();
        bent.rotations[4] = [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]];
        bent.betas[1] = 1.5;
        let poses = [BodyPose::rest(), bent.clone()];
        let mut both = Vec::new();
        let mut single = Vec::new();
        skinner.pose_all(&poses, &mut both);
        skinner.pose_all(&[bent], &mut single);
        assert_eq!(both[1], single[0]);
        assert_ne!(both[0], both[1]);
    }

    /// Poses with bent joints and non-zero shapes, so pose correctives would show.
    fn bent_poses() -> Vec<BodyPose> {
        let mut poses = Vec::new();
        for k in 0..3 {
            let mut pose = BodyPose::rest();
            for (j, rotation) in pose.rotations.iter_mut().enumerate() {
                let a = 0.3 + 0.1 * (j + k) as f32;
                let (s, c) = a.sin_cos();
                *rotation = match (j + k) % 3 {
                    0 => [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]],
                    1 => [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]],
                    _ => [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]],
                };
            }
            pose.betas = std::array::from_fn(|b| 0.5 - 0.1 * (b + k) as f32);
            pose.translation = [0.1 * k as f32, -0.2, 3.0];
            poses.push(pose);
        }
        poses
    }

    #[test]
    fn absent_pose_correctives_pose_like_zero_ones() {
        let mut zero = mannequin();
        zero.posedirs.iter_mut().for_each(|x| *x = 0.0);
        let mut absent = mannequin();
        absent.posedirs.clear();
        let poses = bent_poses();
        let (mut with_zeros, mut without) = (Vec::new(), Vec::new());
        Skinner::new(&zero).pose_all(&poses, &mut with_zeros);
        let skinner = Skinner::new(&absent);
        skinner.pose_all(&poses, &mut without);
        assert_eq!(with_zeros, without);
        assert_eq!(skinner.blend_rows.len(), MAX_BETAS * absent.num_vertices * 3);

        // ...and the mannequin's own correctives do change the result (the check can fail).
        let mut corrected = Vec::new();
        Skinner::new(&mannequin()).pose_all(&poses, &mut corrected);
        assert_ne!(corrected, without);
    }

    #[test]
    fn normals_of_a_counter_clockwise_triangle_face_the_viewer() {
        let vertices = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
        let mut normals = Vec::new();
        vertex_normals(&vertices, &[[0, 1, 2]], &mut normals);
        assert_eq!(normals, vec![[0.0, 0.0, 1.0]; 3]);
    }

    #[test]
    fn nonzero_span_trims_both_ends() {
        assert_eq!(nonzero_span(&[0.0, 0.0, 1.0, 0.0, 2.0, 0.0]), 2..5);
        assert_eq!(nonzero_span(&[0.0, 0.0]), 0..0);
    }
}
