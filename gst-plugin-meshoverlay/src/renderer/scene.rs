//! The CPU side of a frame: which people can be drawn, their posed geometry (skinned
//! bodies or skeletons) in the camera frame, and the window and depth range they cover.

use hmr2_meta::camera::FrameCamera;
use hmr2_meta::math::determinant;
use hmr2_meta::pose::FramePoses;

use crate::body_model::BodyModel;
use crate::geometry::{unique_edges, SkeletonMesher};
use crate::projection::{DepthRange, PixelRect, SceneBounds};
use crate::skinning::{vertex_normals, BodyPose, PosedBody, Skinner};
use crate::style::{person_color, RenderMode, Style};

/// How one drawable person is drawn.
pub(super) struct PersonDraw {
    /// The person's camera, rescaled to the frame being drawn on.
    pub camera: FrameCamera,
    pub color: [u8; 3],
    /// Every joint rotation is proper (determinant > 0): the mesh keeps its outward
    /// winding and its back faces can be culled.
    pub proper_rotations: bool,
}

/// What one frame draws: its people in metadata order, `vertices_per_body` vertices each
/// in [`SceneBuilder::positions`] and [`SceneBuilder::normals`].
pub(super) struct Scene {
    pub people: Vec<PersonDraw>,
    pub vertices_per_body: usize,
    /// Frame pixels the people cover (empty when nobody is visible).
    pub window: PixelRect,
    pub depth: DepthRange,
}

/// Poses the people of each frame, keeping its buffers from frame to frame.
pub(super) struct SceneBuilder {
    skinner: Skinner,
    skeleton: SkeletonMesher,
    // Scratch kept between frames to avoid reallocating.
    poses: Vec<BodyPose>,
    posed: Vec<PosedBody>,
    positions: Vec<[f32; 3]>,
    normals: Vec<[f32; 3]>,
    person_normals: Vec<[f32; 3]>,
}

impl SceneBuilder {
    pub fn new(model: &BodyModel) -> Self {
        let skinner = Skinner::new(model);
        let skeleton = SkeletonMesher::new(skinner.parents());
        Self {
            skinner,
            skeleton,
            poses: Vec::new(),
            posed: Vec::new(),
            positions: Vec::new(),
            normals: Vec::new(),
            person_normals: Vec::new(),
        }
    }

    /// The body mesh's triangles, as a flat index list.
    pub fn face_indices(&self) -> Vec<u32> {
        self.skinner.faces().iter().flatten().copied().collect()
    }

    /// Each edge of the body mesh once, as a flat line list.
    pub fn edge_indices(&self) -> Vec<u32> {
        unique_edges(self.skinner.faces())
    }

    /// The skeleton mesh's triangles (the same for every body).
    pub fn skeleton_indices(&self) -> &[u32] {
        self.skeleton.indices()
    }

    /// Camera-frame vertex positions of the last scene built.
    pub fn positions(&self) -> &[[f32; 3]] {
        &self.positions
    }

    /// Vertex normals of the last scene built.
    pub fn normals(&self) -> &[[f32; 3]] {
        &self.normals
    }

    /// Poses every drawable person of `poses` for a `frame_width` x `frame_height` frame
    /// and finds what they cover. People whose values cannot be drawn are left out.
    ///
    /// With non-square pixels (`pixel_aspect` ≠ 1) the cameras are in display geometry:
    /// positions are squeezed horizontally by the pixel aspect, and so is the principal
    /// point, so that projecting them gives stored pixels (u = (f X / Z + cx) / p).
    /// Normals keep the display geometry's shading.
    pub fn build(&mut self, poses: &FramePoses, style: &Style, frame_size: [u32; 2], pixel_aspect: f32) -> Scene {
        let [frame_width, frame_height] = frame_size;
        let mut people = self.select_people(poses, style, frame_width, frame_height);
        let vertices_per_body = self.pose_geometry(style.mode);
        if pixel_aspect != 1.0 {
            for position in &mut self.positions {
                position[0] /= pixel_aspect;
            }
            for person in &mut people {
                person.camera.principal_point[0] /= pixel_aspect;
            }
        }
        let mut bounds = SceneBounds::default();
        for (index, person) in people.iter().enumerate() {
            let range = index * vertices_per_body..(index + 1) * vertices_per_body;
            bounds.add_points(&person.camera, &self.positions[range]);
        }
        Scene {
            people,
            vertices_per_body,
            window: bounds.window(frame_width, frame_height),
            depth: bounds.depth_range(),
        }
    }

    /// The drawable people, with their poses in `self.poses`.
    fn select_people(
        &mut self,
        poses: &FramePoses,
        style: &Style,
        frame_width: u32,
        frame_height: u32,
    ) -> Vec<PersonDraw> {
        let mut people = Vec::with_capacity(poses.persons.len());
        self.poses.clear();
        for (index, person) in poses.persons.iter().enumerate() {
            if person.check_drawable().is_ok() {
                let pose = BodyPose::from(person);
                people.push(PersonDraw {
                    camera: person
                        .camera()
                        .rescaled([poses.frame_width, poses.frame_height], [frame_width, frame_height]),
                    color: person_color(style.color, index, person.track_id),
                    proper_rotations: pose.rotations.iter().all(|r| determinant(r) > 0.0),
                });
                self.poses.push(pose);
            }
        }
        people
    }

    /// Fills `positions` and `normals` for every pose in `self.poses`: the skinned body
    /// or its skeleton. Returns the number of vertices per person.
    fn pose_geometry(&mut self, mode: RenderMode) -> usize {
        self.positions.clear();
        self.normals.clear();
        match mode {
            RenderMode::Solid | RenderMode::Wireframe => {
                self.skinner.pose_all(&self.poses, &mut self.posed);
                for body in &self.posed {
                    vertex_normals(&body.vertices, self.skinner.faces(), &mut self.person_normals);
                    self.positions.extend_from_slice(&body.vertices);
                    self.normals.extend_from_slice(&self.person_normals);
                }
                self.skinner.num_vertices()
            }
            RenderMode::Skeleton => {
                for pose in &self.poses {
                    let joints = self.skinner.pose_joints(pose);
                    self.skeleton.append(&joints, &mut self.positions, &mut self.normals);
                }
                self.skeleton.vertices_per_body()
            }
        }
    }
}
