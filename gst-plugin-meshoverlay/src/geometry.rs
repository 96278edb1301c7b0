//! Geometry derived from the body model for the wireframe and skeleton modes.

use crate::body_model::NUM_JOINTS;

/// Radius of a joint sphere in skeleton mode, metres.
pub const JOINT_RADIUS: f32 = 0.035;
/// Radius of a bone in skeleton mode, metres (below the joints' so they cover its ends).
pub const BONE_RADIUS: f32 = 0.02;
const SPHERE_SEGMENTS: usize = 10;
const SPHERE_RINGS: usize = 6;
const BONE_SEGMENTS: usize = 8;

/// Every edge of the triangles once, as a line list.
pub fn unique_edges(faces: &[[u32; 3]]) -> Vec<u32> {
    let mut edges: Vec<[u32; 2]> =
        faces.iter().flat_map(|&[a, b, c]| [[a, b], [b, c], [c, a]]).map(|[a, b]| [a.min(b), a.max(b)]).collect();
    edges.sort_unstable();
    edges.dedup();
    edges.into_iter().flatten().collect()
}

fn normalize(v: [f32; 3]) -> [f32; 3] {
    let length = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if length > 0.0 {
        v.map(|x| x / length)
    } else {
        [0.0, 0.0, -1.0]
    }
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// Builds skeleton meshes (a sphere per joint, a tube per bone) with one fixed topology,
/// so the index buffer is made once and only positions change per frame.
#[derive(Clone, Debug)]
pub struct SkeletonMesher {
    bones: Vec<(usize, usize)>,
    /// Unit-sphere directions, shared by every joint.
    sphere: Vec<[f32; 3]>,
    indices: Vec<u32>,
}

impl SkeletonMesher {
    pub fn new(parents: &[Option<usize>; NUM_JOINTS]) -> Self {
        let bones: Vec<(usize, usize)> = (0..NUM_JOINTS).filter_map(|j| parents[j].map(|p| (p, j))).collect();

        // UV sphere: a pole, SPHERE_RINGS - 1 rings, the other pole.
        let mut sphere = vec![[0.0, -1.0, 0.0]];
        for ring in 1..SPHERE_RINGS {
            let polar = std::f32::consts::PI * ring as f32 / SPHERE_RINGS as f32;
            for segment in 0..SPHERE_SEGMENTS {
                let azimuth = std::f32::consts::TAU * segment as f32 / SPHERE_SEGMENTS as f32;
                sphere.push([polar.sin() * azimuth.cos(), -polar.cos(), polar.sin() * azimuth.sin()]);
            }
        }
        sphere.push([0.0, 1.0, 0.0]);
        let last = (sphere.len() - 1) as u32;
        let ring_start = |ring: usize| (1 + (ring - 1) * SPHERE_SEGMENTS) as u32;
        let mut sphere_indices = Vec::new();
        for s in 0..SPHERE_SEGMENTS as u32 {
            let next = (s + 1) % SPHERE_SEGMENTS as u32;
            sphere_indices.extend([0, ring_start(1) + s, ring_start(1) + next]);
            let top = ring_start(SPHERE_RINGS - 1);
            sphere_indices.extend([last, top + next, top + s]);
            for ring in 1..SPHERE_RINGS - 1 {
                let (a, b) = (ring_start(ring), ring_start(ring + 1));
                sphere_indices.extend([a + s, b + s, b + next, a + s, b + next, a + next]);
            }
        }

        let mut indices = Vec::new();
        for joint in 0..NUM_JOINTS as u32 {
            let base = joint * sphere.len() as u32;
            indices.extend(sphere_indices.iter().map(|i| i + base));
        }
        let bones_base = (NUM_JOINTS * sphere.len()) as u32;
        for bone in 0..bones.len() as u32 {
            let base = bones_base + bone * 2 * BONE_SEGMENTS as u32;
            for s in 0..BONE_SEGMENTS as u32 {
                let next = (s + 1) % BONE_SEGMENTS as u32;
                let (a0, a1) = (base + s, base + next);
                let (b0, b1) = (a0 + BONE_SEGMENTS as u32, a1 + BONE_SEGMENTS as u32);
                indices.extend([a0, b0, b1, a0, b1, a1]);
            }
        }
        Self { bones, sphere, indices }
    }

    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    pub fn vertices_per_body(&self) -> usize {
        NUM_JOINTS * self.sphere.len() + self.bones.len() * 2 * BONE_SEGMENTS
    }

    /// Appends one body's skeleton (positions and normals) for the given posed joints.
    pub fn append(&self, joints: &[[f32; 3]; NUM_JOINTS], positions: &mut Vec<[f32; 3]>, normals: &mut Vec<[f32; 3]>) {
        for joint in joints {
            for dir in &self.sphere {
                positions.push([0, 1, 2].map(|a| joint[a] + JOINT_RADIUS * dir[a]));
                normals.push(*dir);
            }
        }
        for &(parent, child) in &self.bones {
            let (a, b) = (joints[parent], joints[child]);
            let axis = normalize([b[0] - a[0], b[1] - a[1], b[2] - a[2]]);
            let helper = if axis[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
            let u = normalize(cross(axis, helper));
            let v = cross(axis, u);
            for end in [a, b] {
                for s in 0..BONE_SEGMENTS {
                    let angle = std::f32::consts::TAU * s as f32 / BONE_SEGMENTS as f32;
                    let radial = [0, 1, 2].map(|i| angle.cos() * u[i] + angle.sin() * v[i]);
                    positions.push([0, 1, 2].map(|i| end[i] + BONE_RADIUS * radial[i]));
                    normals.push(radial);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body_model::SMPL_PARENTS;

    #[test]
    fn edges_are_shared_once() {
        // Two triangles sharing the edge 1-2: five edges.
        let edges = unique_edges(&[[0, 1, 2], [2, 1, 3]]);
        assert_eq!(edges, vec![0, 1, 0, 2, 1, 2, 1, 3, 2, 3]);
    }

    #[test]
    fn skeleton_indices_match_vertex_count() {
        let parents = SMPL_PARENTS.map(|p| (p >= 0).then_some(p as usize));
        let mesher = SkeletonMesher::new(&parents);
        let joints: [[f32; 3]; NUM_JOINTS] = std::array::from_fn(|j| [0.0, j as f32 * 0.1, 5.0]);
        let (mut positions, mut normals) = (Vec::new(), Vec::new());
        mesher.append(&joints, &mut positions, &mut normals);
        assert_eq!(positions.len(), mesher.vertices_per_body());
        assert_eq!(normals.len(), positions.len());
        assert!(mesher.indices().iter().all(|&i| (i as usize) < positions.len()));
        assert_eq!(*mesher.indices().iter().max().unwrap() as usize, positions.len() - 1);
        // Sphere vertices lie at the joint radius.
        let d: f32 = (0..3).map(|a| (positions[3][a] - joints[0][a]).powi(2)).sum::<f32>().sqrt();
        assert!((d - JOINT_RADIUS).abs() < 1e-6);
    }
}
