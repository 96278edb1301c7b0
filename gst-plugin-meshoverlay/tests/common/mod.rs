//! Helpers shared by the integration tests: an independent reference of the body model's
//! forward pass, a CPU triangle rasteriser, a hand-written safetensors writer, synthetic
//! body models and a seeded random generator. None of it calls the element's own math.

#![allow(dead_code)]
// The reference spells the formulas out with explicit indices on purpose.
#![allow(clippy::needless_range_loop)]

use hmr2_meta::camera::FrameCamera;
use hmr2_meta::math::Mat3;
pub use hmr2_meta::math::IDENTITY;
use hmr2_meta::pose::{FramePoses, PersonPose};

pub const SMPL_TREE: [i32; 24] = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21];

pub fn init() {
    use std::sync::Once;
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
        // These tests draw the bundled mannequin, not the set-up's default body.
        hmr2_meta::models::use_no_default_models();
        gst::init().unwrap();
        gstmeshoverlay::plugin_register_static().expect("registering meshoverlay");
    });
}

/// Small deterministic generator (64-bit LCG, top bits), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// A uniformly random rotation (from a random unit quaternion).
    pub fn rotation(&mut self) -> Mat3 {
        let (u1, u2, u3) = (self.unit(), self.unit(), self.unit());
        let tau = std::f64::consts::TAU;
        let q = [
            (1.0 - u1).sqrt() * (tau * u2).sin(),
            (1.0 - u1).sqrt() * (tau * u2).cos(),
            u1.sqrt() * (tau * u3).sin(),
            u1.sqrt() * (tau * u3).cos(),
        ];
        quaternion_to_matrix(q)
    }
}

fn quaternion_to_matrix([x, y, z, w]: [f64; 4]) -> Mat3 {
    let m = [
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - z * w), 2.0 * (x * z + y * w)],
        [2.0 * (x * y + z * w), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - x * w)],
        [2.0 * (x * z - y * w), 2.0 * (y * z + x * w), 1.0 - 2.0 * (x * x + y * y)],
    ];
    m.map(|row| row.map(|v| v as f32))
}

/// 180 degrees about x: an upright person facing the camera in HMR2's camera frame.
pub const UPRIGHT: Mat3 = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];

// ---------------------------------------------------------------------------------------
// Body model files, written by hand (not with the crate's writer)
// ---------------------------------------------------------------------------------------

/// One tensor for [`safetensors_bytes`]: name, dtype string, shape, little-endian data.
pub struct RawTensor {
    pub name: String,
    pub dtype: &'static str,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl RawTensor {
    pub fn f32(name: &str, shape: &[usize], values: &[f32]) -> Self {
        Self {
            name: name.into(),
            dtype: "F32",
            shape: shape.to_vec(),
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
    pub fn u32(name: &str, shape: &[usize], values: &[u32]) -> Self {
        Self {
            name: name.into(),
            dtype: "U32",
            shape: shape.to_vec(),
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
    pub fn i32(name: &str, shape: &[usize], values: &[i32]) -> Self {
        Self {
            name: name.into(),
            dtype: "I32",
            shape: shape.to_vec(),
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
}

/// A safetensors file: u64 header length, JSON header, concatenated data.
pub fn safetensors_bytes(tensors: &[RawTensor], metadata: &[(&str, &str)]) -> Vec<u8> {
    let mut entries = Vec::new();
    if !metadata.is_empty() {
        let pairs: Vec<String> = metadata.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
        entries.push(format!("\"__metadata__\":{{{}}}", pairs.join(",")));
    }
    let mut offset = 0;
    for t in tensors {
        let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
        entries.push(format!(
            "\"{}\":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
            t.name,
            t.dtype,
            shape.join(","),
            offset,
            offset + t.data.len()
        ));
        offset += t.data.len();
    }
    let mut header = format!("{{{}}}", entries.join(",")).into_bytes();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header);
    for t in tensors {
        bytes.extend(&t.data);
    }
    bytes
}

pub const FORMAT_METADATA: &[(&str, &str)] = &[("format", "hmr2-body-model"), ("version", "1")];

/// A body model's arrays in the file's layout, for building synthetic models.
#[derive(Clone)]
pub struct ModelArrays {
    pub v: usize,
    pub s: usize,
    pub v_template: Vec<f32>,
    pub faces: Vec<u32>,
    pub shapedirs: Vec<f32>,
    pub posedirs: Vec<f32>,
    pub j_regressor: Vec<f32>,
    pub weights: Vec<f32>,
    pub parents: Vec<i32>,
}

impl ModelArrays {
    pub fn tensors(&self) -> Vec<RawTensor> {
        let (v, s) = (self.v, self.s);
        vec![
            RawTensor::f32("v_template", &[v, 3], &self.v_template),
            RawTensor::u32("faces", &[self.faces.len() / 3, 3], &self.faces),
            RawTensor::f32("shapedirs", &[v, 3, s], &self.shapedirs),
            RawTensor::f32("posedirs", &[207, v * 3], &self.posedirs),
            RawTensor::f32("J_regressor", &[24, v], &self.j_regressor),
            RawTensor::f32("weights", &[v, 24], &self.weights),
            RawTensor::i32("parents", &[24], &self.parents),
        ]
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        safetensors_bytes(&self.tensors(), FORMAT_METADATA)
    }

    /// Writes the model to a unique temporary file.
    pub fn write_temp(&self, name: &str) -> std::path::PathBuf {
        write_temp(name, &self.to_bytes())
    }
}

pub fn write_temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("meshoverlay-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A small random model: every array dense and random (weights positive, rows summing to
/// one), so no entry of the forward pass is trivially zero.
pub fn random_model(rng: &mut Rng, v: usize, s: usize) -> ModelArrays {
    let mut r = |lo: f64, hi: f64, n: usize| -> Vec<f32> { (0..n).map(|_| rng.range(lo, hi) as f32).collect() };
    let v_template = r(-0.8, 0.8, v * 3);
    let shapedirs = r(-0.05, 0.05, v * 3 * s);
    let posedirs = r(-0.02, 0.02, 207 * v * 3);
    let mut j_regressor = r(0.0, 1.0, 24 * v);
    for row in j_regressor.chunks_mut(v) {
        let sum: f32 = row.iter().sum();
        row.iter_mut().for_each(|x| *x /= sum);
    }
    let mut weights = r(0.0, 1.0, v * 24);
    for row in weights.chunks_mut(24) {
        let sum: f32 = row.iter().sum();
        row.iter_mut().for_each(|x| *x /= sum);
    }
    let faces = (0..v as u32 - 2).flat_map(|i| [i, i + 1, i + 2]).collect();
    ModelArrays { v, s, v_template, faces, shapedirs, posedirs, j_regressor, weights, parents: SMPL_TREE.to_vec() }
}

/// The bundled mannequin's arrays, read with the safetensors crate directly.
pub fn mannequin_arrays() -> ModelArrays {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/mannequin.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let f32s = |name: &str| -> Vec<f32> {
        st.tensor(name).unwrap().data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
    };
    let faces =
        st.tensor("faces").unwrap().data().chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    let parents = st
        .tensor("parents")
        .unwrap()
        .data()
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let shape = st.tensor("shapedirs").unwrap().shape().to_vec();
    ModelArrays {
        v: shape[0],
        s: shape[2],
        v_template: f32s("v_template"),
        faces,
        shapedirs: f32s("shapedirs"),
        posedirs: f32s("posedirs"),
        j_regressor: f32s("J_regressor"),
        weights: f32s("weights"),
        parents,
    }
}

// ---------------------------------------------------------------------------------------
// Reference forward pass: f64, explicit 4x4 matrices, dense loops
// ---------------------------------------------------------------------------------------

type Mat4 = [[f64; 4]; 4];

fn mat4_mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut out = [[0.0; 4]; 4];
    for i in 0..4 {
        for j in 0..4 {
            for k in 0..4 {
                out[i][j] += a[i][k] * b[k][j];
            }
        }
    }
    out
}

fn rigid(r: &Mat3, t: [f64; 3]) -> Mat4 {
    let mut m = [[0.0; 4]; 4];
    for i in 0..3 {
        for j in 0..3 {
            m[i][j] = r[i][j] as f64;
        }
        m[i][3] = t[i];
    }
    m[3][3] = 1.0;
    m
}

/// Posed vertices and joints (translation added) from the model's arrays.
pub fn reference_forward(
    m: &ModelArrays,
    betas: &[f32],
    rotations: &[Mat3; 24],
    translation: [f32; 3],
) -> (Vec<[f64; 3]>, Vec<[f64; 3]>) {
    let v = m.v;
    let used_betas = m.s.min(betas.len()).min(10);
    let mut shaped = vec![[0.0f64; 3]; v];
    for (i, p) in shaped.iter_mut().enumerate() {
        for a in 0..3 {
            let mut x = m.v_template[i * 3 + a] as f64;
            for s in 0..used_betas {
                x += m.shapedirs[(i * 3 + a) * m.s + s] as f64 * betas[s] as f64;
            }
            p[a] = x;
        }
    }
    let mut rest_joints = vec![[0.0f64; 3]; 24];
    for (j, joint) in rest_joints.iter_mut().enumerate() {
        for (i, p) in shaped.iter().enumerate() {
            let w = m.j_regressor[j * v + i] as f64;
            for a in 0..3 {
                joint[a] += w * p[a];
            }
        }
    }
    let mut feature = Vec::with_capacity(207);
    for rotation in &rotations[1..] {
        for r in 0..3 {
            for c in 0..3 {
                feature.push(rotation[r][c] as f64 - if r == c { 1.0 } else { 0.0 });
            }
        }
    }
    let mut blended = shaped.clone();
    for (i, p) in blended.iter_mut().enumerate() {
        for a in 0..3 {
            let column = i * 3 + a;
            let mut offset = 0.0;
            for (k, f) in feature.iter().enumerate() {
                offset += m.posedirs[k * v * 3 + column] as f64 * f;
            }
            p[a] += offset;
        }
    }
    let mut world: Vec<Mat4> = Vec::with_capacity(24);
    for j in 0..24 {
        let parent = m.parents[j];
        let g = if parent < 0 {
            rigid(&rotations[0], rest_joints[0])
        } else {
            let p = parent as usize;
            let local = [0, 1, 2].map(|a| rest_joints[j][a] - rest_joints[p][a]);
            mat4_mul(&world[p], &rigid(&rotations[j], local))
        };
        world.push(g);
    }
    let skinning: Vec<Mat4> = (0..24)
        .map(|j| {
            let unrest = rigid(&IDENTITY, rest_joints[j].map(|x| -x));
            mat4_mul(&world[j], &unrest)
        })
        .collect();
    let t = translation.map(|x| x as f64);
    let vertices = blended
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut out = [0.0; 3];
            for j in 0..24 {
                let w = m.weights[i * 24 + j] as f64;
                for r in 0..3 {
                    out[r] += w
                        * (skinning[j][r][0] * p[0]
                            + skinning[j][r][1] * p[1]
                            + skinning[j][r][2] * p[2]
                            + skinning[j][r][3]);
                }
            }
            [0, 1, 2].map(|a| out[a] + t[a])
        })
        .collect();
    let joints = world.iter().map(|g| [0, 1, 2].map(|a| g[a][3] + t[a])).collect();
    (vertices, joints)
}

pub fn person_rotations(person: &PersonPose) -> [Mat3; 24] {
    std::array::from_fn(|j| if j == 0 { person.global_orient } else { person.body_pose[j - 1] })
}

// ---------------------------------------------------------------------------------------
// CPU rasterisation and image helpers
// ---------------------------------------------------------------------------------------

/// Pixels whose centre lies inside any of the triangles (either winding), as a mask.
pub fn rasterize(camera: &FrameCamera, vertices: &[[f64; 3]], faces: &[u32], width: u32, height: u32) -> Vec<bool> {
    let mut mask = vec![false; (width * height) as usize];
    let projected: Vec<Option<[f64; 2]>> = vertices
        .iter()
        .map(|p| camera.project([p[0] as f32, p[1] as f32, p[2] as f32]).map(|q| [q[0] as f64, q[1] as f64]))
        .collect();
    for tri in faces.chunks_exact(3) {
        let (Some(a), Some(b), Some(c)) =
            (projected[tri[0] as usize], projected[tri[1] as usize], projected[tri[2] as usize])
        else {
            continue;
        };
        let edge = |p: [f64; 2], q: [f64; 2], x: f64, y: f64| (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
        let x0 = a[0].min(b[0]).min(c[0]).floor().max(0.0) as u32;
        let x1 = (a[0].max(b[0]).max(c[0]).ceil() as i64).clamp(0, width as i64) as u32;
        let y0 = a[1].min(b[1]).min(c[1]).floor().max(0.0) as u32;
        let y1 = (a[1].max(b[1]).max(c[1]).ceil() as i64).clamp(0, height as i64) as u32;
        for y in y0..y1 {
            for x in x0..x1 {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let e = [edge(a, b, px, py), edge(b, c, px, py), edge(c, a, px, py)];
                if e.iter().all(|&v| v >= 0.0) || e.iter().all(|&v| v <= 0.0) {
                    mask[(y * width + x) as usize] = true;
                }
            }
        }
    }
    mask
}

pub fn iou(a: &[bool], b: &[bool]) -> f64 {
    let both = a.iter().zip(b).filter(|(x, y)| **x && **y).count();
    let either = a.iter().zip(b).filter(|(x, y)| **x || **y).count();
    both as f64 / either.max(1) as f64
}

/// Bounding rows (top, bottom) of a mask.
pub fn mask_rows(mask: &[bool], width: u32) -> Option<(u32, u32)> {
    let rows: Vec<u32> = mask
        .chunks(width as usize)
        .enumerate()
        .filter(|(_, row)| row.iter().any(|&m| m))
        .map(|(y, _)| y as u32)
        .collect();
    Some((*rows.first()?, *rows.last()?))
}

/// Which pixels of a packed 4-byte frame differ from the original.
pub fn changed_mask(original: &[u8], rendered: &[u8]) -> Vec<bool> {
    original.chunks_exact(4).zip(rendered.chunks_exact(4)).map(|(a, b)| a != b).collect()
}

/// A packed 4-byte frame of one colour.
pub fn solid_frame(width: u32, height: u32, pixel: [u8; 4]) -> Vec<u8> {
    pixel.repeat((width * height) as usize)
}

/// A buffer holding `pixels`, with `poses` attached when given.
pub fn buffer_with_poses(pixels: &[u8], poses: Option<&FramePoses>) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_mut_slice(pixels.to_vec());
    if let Some(poses) = poses {
        poses.attach(buffer.get_mut().unwrap()).unwrap();
    }
    buffer
}

pub fn buffer_bytes(buffer: &gst::Buffer) -> Vec<u8> {
    buffer.map_readable().unwrap().as_slice().to_vec()
}

/// A person at translation `cam_t` seen by `camera`, with the given rotations and betas.
pub fn person(
    camera: &FrameCamera,
    rotations: &[Mat3; 24],
    betas: [f32; 10],
    cam_t: [f32; 3],
    track_id: Option<u64>,
) -> PersonPose {
    PersonPose {
        track_id,
        global_orient: rotations[0],
        body_pose: std::array::from_fn(|j| rotations[j + 1]),
        betas,
        cam_t,
        focal_length: camera.focal_length,
        principal_point: camera.principal_point,
        ..Default::default()
    }
}

/// A meshoverlay in a harness with the given caps and properties (set before the element
/// starts, as some take effect only then).
pub fn harness(caps: &str, properties: &[(&str, glib::Value)]) -> gst_check::Harness {
    use gst::prelude::*;
    init();
    let element = gst::ElementFactory::make("meshoverlay").build().unwrap();
    for (name, value) in properties {
        element.set_property_from_value(name, value);
    }
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(caps);
    h.play();
    h
}

pub use gst::glib;
