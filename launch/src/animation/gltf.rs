//! The glTF 2.0 document of an export, built with `gltf-json`, written as `.glb` (binary)
//! or `.gltf` (JSON with the buffer embedded as a base64 data URI).
//!
//! Per track: 24 joint nodes named after SMPL's joints under a node `track ID armature` (a
//! root of the scene, identity transform), a skinned mesh node `track ID` (also a root, as glTF asks of skinned meshes) with the track's rest
//! body, its skin (inverse bind matrices from the rest joints), and its channels: a rotation
//! per joint and the pelvis's translation, sampled at the frames where the track is present,
//! plus, when it is absent somewhere, a STEP scale channel on the pelvis that shrinks the
//! body to nothing from the first frame it is missing until the frame it is back. All
//! tracks' channels form one animation, `video`, on the video's timeline: importers and
//! viewers play one animation at a time (Blender 3.4 makes only the first active), and
//! every person should move. One camera node at the origin reproduces the video's view.

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine as _;
use gltf_json as json;
use json::validation::{Checked::Valid, USize64};

use super::influences::Influences;
use super::rotation::quaternion_from_matrix;
use super::rotation::same_hemisphere;
use super::skeleton::{JOINT_NAMES, NUM_JOINTS};
use super::{Scene, TrackAnimation};

/// Near clipping plane of the exported camera, metres.
pub const CAMERA_ZNEAR: f32 = 0.05;

/// The document and its binary buffer.
pub struct Document {
    pub root: json::Root,
    pub buffer: Vec<u8>,
}

/// Appends data to the one buffer, 4-byte aligned, each block its own view.
struct Builder {
    root: json::Root,
    buffer: Vec<u8>,
}

enum Bounds {
    None,
    MinMax(Vec<f32>, Vec<f32>),
}

impl Builder {
    fn view(&mut self, bytes: &[u8], target: Option<json::buffer::Target>) -> json::Index<json::buffer::View> {
        while !self.buffer.len().is_multiple_of(4) {
            self.buffer.push(0);
        }
        let offset = self.buffer.len();
        self.buffer.extend_from_slice(bytes);
        self.root.push(json::buffer::View {
            buffer: json::Index::new(0),
            byte_length: USize64::from(bytes.len()),
            byte_offset: Some(USize64::from(offset)),
            byte_stride: None,
            name: None,
            target: target.map(Valid),
            extensions: None,
            extras: Default::default(),
        })
    }

    fn accessor(
        &mut self,
        bytes: &[u8],
        count: usize,
        component: json::accessor::ComponentType,
        type_: json::accessor::Type,
        bounds: Bounds,
        target: Option<json::buffer::Target>,
    ) -> json::Index<json::Accessor> {
        let view = self.view(bytes, target);
        let (min, max) = match bounds {
            Bounds::None => (None, None),
            Bounds::MinMax(min, max) => (Some(json::Value::from(min)), Some(json::Value::from(max))),
        };
        self.root.push(json::Accessor {
            buffer_view: Some(view),
            byte_offset: None,
            count: USize64::from(count),
            component_type: Valid(json::accessor::GenericComponentType(component)),
            extensions: None,
            extras: Default::default(),
            type_: Valid(type_),
            min,
            max,
            name: None,
            normalized: false,
            sparse: None,
        })
    }

    fn floats(
        &mut self,
        values: &[f32],
        components: usize,
        with_bounds: bool,
        target: Option<json::buffer::Target>,
    ) -> json::Index<json::Accessor> {
        use json::accessor::Type;
        let type_ = match components {
            1 => Type::Scalar,
            3 => Type::Vec3,
            4 => Type::Vec4,
            16 => Type::Mat4,
            _ => unreachable!("the export writes scalars, vectors and 4x4 matrices"),
        };
        let bounds = if with_bounds {
            let mut min = vec![f32::INFINITY; components];
            let mut max = vec![f32::NEG_INFINITY; components];
            for chunk in values.chunks_exact(components) {
                for (i, &v) in chunk.iter().enumerate() {
                    min[i] = min[i].min(v);
                    max[i] = max[i].max(v);
                }
            }
            Bounds::MinMax(min, max)
        } else {
            Bounds::None
        };
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.accessor(&bytes, values.len() / components, json::accessor::ComponentType::F32, type_, bounds, target)
    }
}

/// sRGB 0..255 to the linear factors glTF's baseColorFactor holds.
fn srgb_to_linear(c: u8) -> f32 {
    let c = f32::from(c) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Area-weighted vertex normals, unit length (a vertex of degenerate faces only gets +y).
fn vertex_normals(vertices: &[[f32; 3]], faces: &[[u32; 3]]) -> Vec<f32> {
    let mut sums = vec![[0.0f64; 3]; vertices.len()];
    for face in faces {
        let [a, b, c] = face.map(|i| vertices[i as usize].map(f64::from));
        let e1 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let e2 = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
        let n = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
        for &i in face {
            for (s, v) in sums[i as usize].iter_mut().zip(n) {
                *s += v;
            }
        }
    }
    sums.iter()
        .flat_map(|n| {
            let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            if len > 1e-20 {
                n.map(|c| (c / len) as f32)
            } else {
                [0.0, 1.0, 0.0]
            }
        })
        .collect()
}

/// Builds the document of `scene`.
pub fn build(scene: &Scene) -> Document {
    use json::accessor::{ComponentType, Type};
    use json::buffer::Target;
    let mut b = Builder {
        root: json::Root {
            asset: json::Asset {
                generator: Some(format!("hmr2-launch {}", env!("CARGO_PKG_VERSION"))),
                version: "2.0".into(),
                ..Default::default()
            },
            ..Default::default()
        },
        buffer: Vec::new(),
    };
    let mut scene_nodes = Vec::new();

    // The camera: at the origin, looking down −z, the video's vertical field of view.
    let view = &scene.view;
    let camera = b.root.push(json::Camera {
        name: Some("video camera".into()),
        orthographic: None,
        perspective: Some(json::camera::Perspective {
            aspect_ratio: Some(view.width as f32 / view.height as f32),
            yfov: view.yfov() as f32,
            zfar: None,
            znear: CAMERA_ZNEAR,
            extensions: None,
            extras: Default::default(),
        }),
        type_: Valid(json::camera::Type::Perspective),
        extensions: None,
        extras: Default::default(),
    });
    scene_nodes.push(b.root.push(json::Node {
        camera: Some(camera),
        name: Some("video camera".into()),
        ..Default::default()
    }));

    // What every track shares: triangles and skinning weights.
    let indices: Vec<u8> = scene.faces.iter().flatten().flat_map(|i| i.to_le_bytes()).collect();
    let indices = b.accessor(
        &indices,
        scene.faces.len() * 3,
        ComponentType::U32,
        Type::Scalar,
        Bounds::None,
        Some(Target::ElementArrayBuffer),
    );
    let Influences { joints, weights, .. } = &scene.influences;
    let mut skin_attributes = Vec::new();
    for (set, (joints, weights)) in joints.iter().zip(weights).enumerate() {
        let joint_bytes: Vec<u8> = joints.iter().flatten().copied().collect();
        let j = b.accessor(
            &joint_bytes,
            joints.len(),
            ComponentType::U8,
            Type::Vec4,
            Bounds::None,
            Some(Target::ArrayBuffer),
        );
        let flat: Vec<f32> = weights.iter().flatten().copied().collect();
        let w = b.floats(&flat, 4, false, Some(Target::ArrayBuffer));
        skin_attributes.push((set as u32, j, w));
    }

    let mut animation = Channels::default();
    for track in &scene.tracks {
        scene_nodes.extend(add_track(&mut b, track, &scene.faces, indices, &skin_attributes, &mut animation));
    }
    b.root.push(json::Animation {
        extensions: None,
        extras: Default::default(),
        channels: animation.channels,
        name: Some(ANIMATION_NAME.into()),
        samplers: animation.samplers,
    });

    b.root.push(json::Scene {
        extensions: None,
        extras: Default::default(),
        name: Some("video".into()),
        nodes: scene_nodes,
    });
    b.root.scene = Some(json::Index::new(0));
    while !b.buffer.len().is_multiple_of(4) {
        b.buffer.push(0);
    }
    b.root.push(json::Buffer {
        byte_length: USize64::from(b.buffer.len()),
        name: None,
        uri: None,
        extensions: None,
        extras: Default::default(),
    });
    Document { root: b.root, buffer: b.buffer }
}

/// Name of the document's one animation.
pub const ANIMATION_NAME: &str = "video";

/// The channels and samplers of the animation being built.
#[derive(Default)]
struct Channels {
    channels: Vec<json::animation::Channel>,
    samplers: Vec<json::animation::Sampler>,
}

impl Channels {
    fn add(
        &mut self,
        node: json::Index<json::Node>,
        path: json::animation::Property,
        input: json::Index<json::Accessor>,
        output: json::Index<json::Accessor>,
        interpolation: json::animation::Interpolation,
    ) {
        self.samplers.push(json::animation::Sampler {
            extensions: None,
            extras: Default::default(),
            input,
            interpolation: Valid(interpolation),
            output,
        });
        self.channels.push(json::animation::Channel {
            sampler: json::Index::new(self.samplers.len() as u32 - 1),
            target: json::animation::Target { extensions: None, extras: Default::default(), node, path: Valid(path) },
            extensions: None,
            extras: Default::default(),
        });
    }
}

type SkinAttributes = [(u32, json::Index<json::Accessor>, json::Index<json::Accessor>)];

/// Adds one track's joints, mesh, skin and animation; returns its scene roots.
fn add_track(
    b: &mut Builder,
    track: &TrackAnimation,
    faces: &[[u32; 3]],
    indices: json::Index<json::Accessor>,
    skin_attributes: &SkinAttributes,
    animation: &mut Channels,
) -> [json::Index<json::Node>; 2] {
    use json::accessor::{ComponentType, Type};
    use json::buffer::Target;
    let label = format!("track {}", track.id);
    let rest = &track.rest;

    // Joint nodes, their rest state the track's first pose (what a static viewer shows).
    let first = &track.keys[0].1;
    let first_joint = b.root.nodes.len() as u32;
    for (j, name) in JOINT_NAMES.iter().enumerate() {
        let children: Vec<json::Index<json::Node>> = (0..NUM_JOINTS)
            .filter(|&c| rest.parents[c] == Some(j))
            .map(|c| json::Index::new(first_joint + c as u32))
            .collect();
        let q = quaternion_from_matrix(&first.rotations[j]).map(|c| c as f32);
        let translation = if j == 0 { first.root_translation } else { rest.offset(j) };
        b.root.push(json::Node {
            children: (!children.is_empty()).then_some(children),
            name: Some((*name).into()),
            rotation: Some(json::scene::UnitQuaternion(q)),
            translation: Some(translation.map(|c| c as f32)),
            ..Default::default()
        });
    }
    let joint_node = |j: usize| json::Index::<json::Node>::new(first_joint + j as u32);

    // Inverse bind matrices: the rest pose is SMPL's own frame, joint j at its rest position.
    let ibm: Vec<f32> = (0..NUM_JOINTS)
        .flat_map(|j| {
            let t = rest.joints[j].map(|c| -c as f32);
            [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, t[0], t[1], t[2], 1.0]
        })
        .collect();
    let ibm = b.floats(&ibm, 16, false, None);
    let skin = b.root.push(json::Skin {
        extensions: None,
        extras: Default::default(),
        inverse_bind_matrices: Some(ibm),
        joints: (0..NUM_JOINTS).map(joint_node).collect(),
        name: Some(format!("{label} skeleton")),
        skeleton: Some(joint_node(0)),
    });

    let positions: Vec<f32> = rest.vertices.iter().flatten().copied().collect();
    let normals = vertex_normals(&rest.vertices, faces);
    let positions = b.floats(&positions, 3, true, Some(Target::ArrayBuffer));
    let normals = b.floats(&normals, 3, false, Some(Target::ArrayBuffer));
    let mut attributes = BTreeMap::new();
    attributes.insert(Valid(json::mesh::Semantic::Positions), positions);
    attributes.insert(Valid(json::mesh::Semantic::Normals), normals);
    for &(set, joints, weights) in skin_attributes {
        attributes.insert(Valid(json::mesh::Semantic::Joints(set)), joints);
        attributes.insert(Valid(json::mesh::Semantic::Weights(set)), weights);
    }
    let color = track.color.map(srgb_to_linear);
    let material = b.root.push(json::Material {
        name: Some(label.clone()),
        pbr_metallic_roughness: json::material::PbrMetallicRoughness {
            base_color_factor: json::material::PbrBaseColorFactor([color[0], color[1], color[2], 1.0]),
            metallic_factor: json::material::StrengthFactor(0.0),
            roughness_factor: json::material::StrengthFactor(0.8),
            ..Default::default()
        },
        ..Default::default()
    });
    let mesh = b.root.push(json::Mesh {
        extensions: None,
        extras: Default::default(),
        name: Some(label.clone()),
        primitives: vec![json::mesh::Primitive {
            attributes,
            extensions: None,
            extras: Default::default(),
            indices: Some(indices),
            material: Some(material),
            mode: Valid(json::mesh::Mode::Triangles),
            targets: None,
        }],
        weights: None,
    });
    let mesh_node =
        b.root.push(json::Node { mesh: Some(mesh), skin: Some(skin), name: Some(label.clone()), ..Default::default() });
    // The skeleton's own root (identity): importers that build one armature per common
    // ancestor of a skin's joints (Blender) keep the tracks apart.
    let rig_node = b.root.push(json::Node {
        children: Some(vec![joint_node(0)]),
        name: Some(format!("{label} armature")),
        ..Default::default()
    });

    // The animation.
    let times: Vec<f32> = track.keys.iter().map(|(t, _)| *t as f32).collect();
    let (t_min, t_max) = (times[0], times[times.len() - 1]);
    let input = b.accessor(
        &times.iter().flat_map(|t| t.to_le_bytes()).collect::<Vec<u8>>(),
        times.len(),
        ComponentType::F32,
        Type::Scalar,
        Bounds::MinMax(vec![t_min], vec![t_max]),
        None,
    );
    use json::animation::{Interpolation, Property};
    for j in 0..NUM_JOINTS {
        let mut previous = [0.0, 0.0, 0.0, 1.0];
        let mut values = Vec::with_capacity(track.keys.len() * 4);
        for (_, pose) in &track.keys {
            let q = same_hemisphere(quaternion_from_matrix(&pose.rotations[j]), &previous);
            previous = q;
            values.extend(q.map(|c| c as f32));
        }
        let output = b.floats(&values, 4, false, None);
        animation.add(joint_node(j), Property::Rotation, input, output, Interpolation::Linear);
    }
    let translations: Vec<f32> = track.keys.iter().flat_map(|(_, p)| p.root_translation.map(|c| c as f32)).collect();
    let output = b.floats(&translations, 3, false, None);
    animation.add(joint_node(0), Property::Translation, input, output, Interpolation::Linear);
    if !track.visibility.is_empty() {
        let times: Vec<f32> = track.visibility.iter().map(|(t, _)| *t as f32).collect();
        let (v_min, v_max) = (times[0], times[times.len() - 1]);
        let input = b.accessor(
            &times.iter().flat_map(|t| t.to_le_bytes()).collect::<Vec<u8>>(),
            times.len(),
            ComponentType::F32,
            Type::Scalar,
            Bounds::MinMax(vec![v_min], vec![v_max]),
            None,
        );
        let scales: Vec<f32> =
            track.visibility.iter().flat_map(|(_, shown)| if *shown { [1.0; 3] } else { [0.0; 3] }).collect();
        let output = b.floats(&scales, 3, false, None);
        animation.add(joint_node(0), Property::Scale, input, output, Interpolation::Step);
    }
    [mesh_node, rig_node]
}

/// Writes the document as a binary glTF (`.glb`).
pub fn write_glb(doc: &Document, out: &mut impl Write) -> std::io::Result<()> {
    let mut json_bytes = json::serialize::to_vec(&doc.root).map_err(std::io::Error::other)?;
    while !json_bytes.len().is_multiple_of(4) {
        json_bytes.push(b' ');
    }
    let total = 12 + 8 + json_bytes.len() + 8 + doc.buffer.len();
    let total =
        u32::try_from(total).map_err(|_| std::io::Error::other("the export exceeds the 4 GiB a .glb can hold"))?;
    out.write_all(b"glTF")?;
    out.write_all(&2u32.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(&(json_bytes.len() as u32).to_le_bytes())?;
    out.write_all(b"JSON")?;
    out.write_all(&json_bytes)?;
    out.write_all(&(doc.buffer.len() as u32).to_le_bytes())?;
    out.write_all(b"BIN\0")?;
    out.write_all(&doc.buffer)
}

/// Writes the document as JSON glTF (`.gltf`), the buffer embedded as a data URI so the
/// export stays one file.
pub fn write_gltf(doc: &Document, out: &mut impl Write) -> std::io::Result<()> {
    let mut root = doc.root.clone();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&doc.buffer);
    root.buffers[0].uri = Some(format!("data:application/octet-stream;base64,{encoded}"));
    json::serialize::to_writer_pretty(&mut *out, &root).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srgb_conversion_ends() {
        assert_eq!(srgb_to_linear(0), 0.0);
        assert!((srgb_to_linear(255) - 1.0).abs() < 1e-6);
        assert!((srgb_to_linear(128) - 0.2158).abs() < 1e-3);
    }

    #[test]
    fn normals_are_unit_and_outward_for_a_counter_clockwise_triangle() {
        let n = vertex_normals(&[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [5.0, 5.0, 5.0]], &[[0, 1, 2]]);
        assert_eq!(&n[..3], &[0.0, 0.0, 1.0]);
        assert_eq!(&n[9..], &[0.0, 1.0, 0.0]);
    }
}
