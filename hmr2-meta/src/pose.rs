//! The pose metadata contract: how `hmr2pose` hands per-person SMPL parameters and the
//! full-frame camera to `meshoverlay` and to any application.
//!
//! # Layout
//!
//! Every buffer that `hmr2pose` processed carries one `GstCustomMeta` named
//! [`POSE_META_NAME`] (`"Hmr2PoseMeta"`, tag `video` only). With that tag, buffer copies,
//! colour conversions (`videoconvert`) and scalers (`videoscale`) all keep it. A scaler does
//! not update the pixel coordinates inside, so the structure records the size of the frame
//! they refer to (`frame-width`, `frame-height`) and readers rescale when the frame they
//! draw on differs (as `meshoverlay` does). A `size` tag would make GStreamer 1.22's
//! `videoconvert` drop the meta on every format change, which breaks the common
//! `hmr2pose ! videoconvert ! meshoverlay` chain. Its `GstStructure` is named [`POSE_STRUCTURE_NAME`]
//! (`"hmr2-pose"`) and holds:
//!
//! | field             | type     | content                                                        |
//! |-------------------|----------|----------------------------------------------------------------|
//! | `version`         | `guint`  | layout version, [`POSE_META_VERSION`] (1)                      |
//! | `frame-width`     | `gint`   | width in pixels of the frame the poses refer to                |
//! | `frame-height`    | `gint`   | height in pixels                                               |
//! | `num-persons`     | `guint`  | N, the number of persons (0 when the frame was processed and nobody was found) |
//! | `boxes`           | `GBytes` | f32 × N × 4: person box x0, y0, x1, y1 in full-frame pixels      |
//! | `scores`          | `GBytes` | f32 × N: detection score (1.0 for boxes given from upstream without a score) |
//! | `track-ids`       | `GBytes` | i64 × N: track id, −1 when the person is not tracked            |
//! | `global-orient`   | `GBytes` | f32 × N × 3 × 3: root rotation matrix (row-major), OpenCV camera frame |
//! | `body-pose`       | `GBytes` | f32 × N × 23 × 3 × 3: rotations of SMPL joints 1..23 relative to their parents (row-major) |
//! | `betas`           | `GBytes` | f32 × N × 10: SMPL shape coefficients                           |
//! | `pred-cam`        | `GBytes` | f32 × N × 3: the network's weak-perspective crop camera (s, tx, ty) |
//! | `cam-t`           | `GBytes` | f32 × N × 3: full-frame camera translation (tx, ty, tz) in metres, added to the posed body |
//! | `focal-length`    | `GBytes` | f32 × N: focal length in pixels of the full-frame camera        |
//! | `principal-point` | `GBytes` | f32 × N × 2: principal point (cx, cy) in pixels                 |
//! | `predicted`       | `GBytes` | u8 × N: 1 when the person was not detected in this frame but predicted by a tracker (`hmr2track gap-fill=predict`), else 0. Optional: a structure without it (written before the field existed) reads as nobody predicted |
//!
//! All arrays are packed little-endian, C order, one row per person in the same order in
//! every field. The camera is a pinhole in OpenCV's frame (x right, y down, z forward): a
//! posed body vertex `v` (model space, metres) lands at `X = v + cam_t` and projects to
//! `u = f X.x / X.z + cx`, `v = f X.y / X.z + cy` (see [`crate::camera`]).
//!
//! # Reading it without this crate
//!
//! From C: `gst_buffer_get_custom_meta (buf, "Hmr2PoseMeta")`, then
//! `gst_custom_meta_get_structure ()`, then for each array field
//! `g_value_get_boxed (gst_structure_get_value (s, "body-pose"))` gives a `GBytes`.
//! From Python (PyGObject):
//!
//! ```python
//! meta = buf.get_custom_meta("Hmr2PoseMeta")
//! s = meta.get_structure()
//! n = s.get_value("num-persons")
//! body_pose = numpy.frombuffer(s.get_value("body-pose").get_data(), "<f4").reshape(n, 23, 3, 3)
//! ```
//!
//! The meta is registered by whichever plugin loads first; registering again from the
//! other plugin of the project is a no-op (see [`register`]).

use gst::glib;

use crate::camera::FrameCamera;
use crate::math::{from_row_major, is_finite, Mat3, IDENTITY};

/// Name of the `GstCustomMeta` that carries the poses.
pub const POSE_META_NAME: &str = "Hmr2PoseMeta";
/// Name of the `GstStructure` inside the meta.
pub const POSE_STRUCTURE_NAME: &str = "hmr2-pose";
/// Layout version written in the `version` field.
pub const POSE_META_VERSION: u32 = 1;
/// Body joints with a relative rotation (SMPL joints 1..23).
pub const NUM_BODY_JOINTS: usize = 23;
/// Shape coefficients per person.
pub const NUM_BETAS: usize = 10;
/// SMPL's joints: the root (`global_orient`) and the `body_pose` joints.
pub const NUM_JOINTS: usize = NUM_BODY_JOINTS + 1;
/// SMPL's joint names, in joint order: `global_orient` turns joint 0, `body_pose[i]` joint
/// i + 1 (the body-model format's names, `models/BODY_MODEL_FORMAT.md`).
pub const JOINT_NAMES: [&str; NUM_JOINTS] = [
    "pelvis",
    "l_hip",
    "r_hip",
    "spine1",
    "l_knee",
    "r_knee",
    "spine2",
    "l_ankle",
    "r_ankle",
    "spine3",
    "l_foot",
    "r_foot",
    "neck",
    "l_collar",
    "r_collar",
    "head",
    "l_shoulder",
    "r_shoulder",
    "l_elbow",
    "r_elbow",
    "l_wrist",
    "r_wrist",
    "l_hand",
    "r_hand",
];

const META_TAGS: &[&str] = &["video"];

/// One person's pose and camera, as carried in the metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonPose {
    /// Person box x0, y0, x1, y1 in full-frame pixels.
    pub bbox: [f32; 4],
    /// Detection score in [0, 1].
    pub score: f32,
    /// Track id, when a tracker assigned one.
    pub track_id: Option<u64>,
    /// Root rotation in the OpenCV camera frame.
    pub global_orient: Mat3,
    /// Rotations of SMPL joints 1..23 relative to their parents.
    pub body_pose: [Mat3; NUM_BODY_JOINTS],
    /// SMPL shape coefficients.
    pub betas: [f32; NUM_BETAS],
    /// The network's weak-perspective crop camera (s, tx, ty).
    pub pred_cam: [f32; 3],
    /// Full-frame camera translation in metres.
    pub cam_t: [f32; 3],
    /// Full-frame focal length in pixels.
    pub focal_length: f32,
    /// Full-frame principal point (cx, cy) in pixels.
    pub principal_point: [f32; 2],
    /// Not detected in this frame: a tracker's prediction filling a short gap.
    pub predicted: bool,
}

impl Default for PersonPose {
    fn default() -> Self {
        Self {
            bbox: [0.0; 4],
            score: 1.0,
            track_id: None,
            global_orient: IDENTITY,
            body_pose: [IDENTITY; NUM_BODY_JOINTS],
            betas: [0.0; NUM_BETAS],
            pred_cam: [1.0, 0.0, 0.0],
            cam_t: [0.0, 0.0, 10.0],
            focal_length: 5000.0,
            principal_point: [0.0; 2],
            predicted: false,
        }
    }
}

/// Why a person's values cannot be drawn or projected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Undrawable {
    #[error("field '{0}' holds a non-finite value")]
    NonFinite(&'static str),
    #[error("focal length {0} is not positive")]
    NonPositiveFocalLength(f32),
    /// `cam_t`'s z (metres): the body's root is at or behind the camera.
    #[error("camera translation z = {0} m puts the body at or behind the camera")]
    BehindCamera(f32),
}

impl PersonPose {
    /// The person's full-frame pinhole camera.
    pub fn camera(&self) -> FrameCamera {
        FrameCamera { focal_length: self.focal_length, principal_point: self.principal_point }
    }

    /// Checks that the values can be posed and projected: every rotation, shape coefficient
    /// and camera value finite, a positive focal length, and the body in front of the
    /// camera (`cam_t` z > 0, as every HMR2 prediction has).
    pub fn check_drawable(&self) -> Result<(), Undrawable> {
        let finite = |values: &[f32]| values.iter().all(|v| v.is_finite());
        if !is_finite(&self.global_orient) {
            return Err(Undrawable::NonFinite("global-orient"));
        }
        if !self.body_pose.iter().all(is_finite) {
            return Err(Undrawable::NonFinite("body-pose"));
        }
        if !finite(&self.betas) {
            return Err(Undrawable::NonFinite("betas"));
        }
        if !finite(&self.cam_t) {
            return Err(Undrawable::NonFinite("cam-t"));
        }
        if !finite(&self.principal_point) {
            return Err(Undrawable::NonFinite("principal-point"));
        }
        if !self.focal_length.is_finite() {
            return Err(Undrawable::NonFinite("focal-length"));
        }
        if self.focal_length <= 0.0 {
            return Err(Undrawable::NonPositiveFocalLength(self.focal_length));
        }
        if self.cam_t[2] <= 0.0 {
            return Err(Undrawable::BehindCamera(self.cam_t[2]));
        }
        Ok(())
    }
}

/// All persons of one frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FramePoses {
    pub frame_width: u32,
    pub frame_height: u32,
    pub persons: Vec<PersonPose>,
}

/// Why a structure could not be read as poses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoseMetaError {
    #[error("structure is named '{0}', expected '{POSE_STRUCTURE_NAME}'")]
    WrongName(String),
    #[error("pose metadata version {0} is not supported (this build reads version {POSE_META_VERSION})")]
    UnsupportedVersion(u32),
    #[error("pose metadata has no valid field '{0}'")]
    MissingField(&'static str),
    #[error("pose metadata field '{field}' holds {found} bytes, expected {expected}")]
    WrongLength { field: &'static str, expected: usize, found: usize },
}

/// Registers the custom meta once per process. Both plugins call it from `plugin_init`;
/// each plugin library carries its own copy of this crate, so the check must be made
/// against GStreamer's registry rather than a Rust static. Plugin initialisation is
/// serialised by GStreamer, so check-then-register does not race there.
pub fn register() {
    if !gst::meta::CustomMeta::is_registered(POSE_META_NAME) {
        gst::meta::CustomMeta::register(POSE_META_NAME, META_TAGS);
    }
}

/// Every person's `field` values, one person after the other, as little-endian f32: the
/// whole array allocated once and written a value at a time.
fn f32_bytes(persons: &[PersonPose], field: impl Fn(&PersonPose) -> &[f32]) -> glib::Bytes {
    let per_person = persons.first().map_or(0, |p| field(p).len());
    let mut bytes = Vec::with_capacity(persons.len() * per_person * 4);
    for person in persons {
        for value in field(person) {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
    }
    glib::Bytes::from_owned(bytes)
}

fn read_f32s(s: &gst::StructureRef, field: &'static str, expected_values: usize) -> Result<Vec<f32>, PoseMetaError> {
    let bytes = s.get::<glib::Bytes>(field).map_err(|_| PoseMetaError::MissingField(field))?;
    let expected = expected_values * 4;
    if bytes.len() != expected {
        return Err(PoseMetaError::WrongLength { field, expected, found: bytes.len() });
    }
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

impl FramePoses {
    /// Builds the metadata structure in the documented layout.
    pub fn to_structure(&self) -> gst::Structure {
        let p = &self.persons;
        let mut track_ids = Vec::with_capacity(p.len() * 8);
        for q in p {
            track_ids.extend_from_slice(&q.track_id.map_or(-1i64, |id| id as i64).to_le_bytes());
        }
        gst::Structure::builder(POSE_STRUCTURE_NAME)
            .field("version", POSE_META_VERSION)
            .field("frame-width", self.frame_width as i32)
            .field("frame-height", self.frame_height as i32)
            .field("num-persons", p.len() as u32)
            .field("boxes", f32_bytes(p, |q| &q.bbox))
            .field("scores", f32_bytes(p, |q| std::slice::from_ref(&q.score)))
            .field("track-ids", glib::Bytes::from_owned(track_ids))
            .field("global-orient", f32_bytes(p, |q| q.global_orient.as_flattened()))
            .field("body-pose", f32_bytes(p, |q| q.body_pose.as_flattened().as_flattened()))
            .field("betas", f32_bytes(p, |q| &q.betas))
            .field("pred-cam", f32_bytes(p, |q| &q.pred_cam))
            .field("cam-t", f32_bytes(p, |q| &q.cam_t))
            .field("focal-length", f32_bytes(p, |q| std::slice::from_ref(&q.focal_length)))
            .field("principal-point", f32_bytes(p, |q| &q.principal_point))
            .field("predicted", glib::Bytes::from_owned(p.iter().map(|q| u8::from(q.predicted)).collect::<Vec<u8>>()))
            .build()
    }

    /// Reads the documented layout back, checking every array's length.
    pub fn from_structure(s: &gst::StructureRef) -> Result<Self, PoseMetaError> {
        if s.name() != POSE_STRUCTURE_NAME {
            return Err(PoseMetaError::WrongName(s.name().to_string()));
        }
        let version = s.get::<u32>("version").map_err(|_| PoseMetaError::MissingField("version"))?;
        if version != POSE_META_VERSION {
            return Err(PoseMetaError::UnsupportedVersion(version));
        }
        let frame_width = s.get::<i32>("frame-width").map_err(|_| PoseMetaError::MissingField("frame-width"))?;
        let frame_height = s.get::<i32>("frame-height").map_err(|_| PoseMetaError::MissingField("frame-height"))?;
        let n = s.get::<u32>("num-persons").map_err(|_| PoseMetaError::MissingField("num-persons"))? as usize;

        let boxes = read_f32s(s, "boxes", n * 4)?;
        let scores = read_f32s(s, "scores", n)?;
        let track_ids = s.get::<glib::Bytes>("track-ids").map_err(|_| PoseMetaError::MissingField("track-ids"))?;
        if track_ids.len() != n * 8 {
            return Err(PoseMetaError::WrongLength { field: "track-ids", expected: n * 8, found: track_ids.len() });
        }
        let global_orient = read_f32s(s, "global-orient", n * 9)?;
        let body_pose = read_f32s(s, "body-pose", n * NUM_BODY_JOINTS * 9)?;
        let betas = read_f32s(s, "betas", n * NUM_BETAS)?;
        let pred_cam = read_f32s(s, "pred-cam", n * 3)?;
        let cam_t = read_f32s(s, "cam-t", n * 3)?;
        let focal_length = read_f32s(s, "focal-length", n)?;
        let principal_point = read_f32s(s, "principal-point", n * 2)?;
        // Optional (added after version 1 was published): absent means nobody predicted.
        let predicted = match s.get_optional::<glib::Bytes>("predicted") {
            Ok(None) => vec![0; n],
            Ok(Some(bytes)) if bytes.len() == n => bytes.to_vec(),
            Ok(Some(bytes)) => {
                return Err(PoseMetaError::WrongLength { field: "predicted", expected: n, found: bytes.len() })
            }
            Err(_) => return Err(PoseMetaError::MissingField("predicted")),
        };

        let persons = (0..n)
            .map(|i| {
                let id_bytes: [u8; 8] = track_ids[i * 8..i * 8 + 8].try_into().unwrap();
                let id = i64::from_le_bytes(id_bytes);
                let pose = &body_pose[i * NUM_BODY_JOINTS * 9..(i + 1) * NUM_BODY_JOINTS * 9];
                PersonPose {
                    bbox: boxes[i * 4..i * 4 + 4].try_into().unwrap(),
                    score: scores[i],
                    track_id: (id >= 0).then_some(id as u64),
                    global_orient: from_row_major(&global_orient[i * 9..i * 9 + 9]),
                    body_pose: std::array::from_fn(|j| from_row_major(&pose[j * 9..j * 9 + 9])),
                    betas: betas[i * NUM_BETAS..(i + 1) * NUM_BETAS].try_into().unwrap(),
                    pred_cam: pred_cam[i * 3..i * 3 + 3].try_into().unwrap(),
                    cam_t: cam_t[i * 3..i * 3 + 3].try_into().unwrap(),
                    focal_length: focal_length[i],
                    principal_point: principal_point[i * 2..i * 2 + 2].try_into().unwrap(),
                    predicted: predicted[i] != 0,
                }
            })
            .collect();
        Ok(Self { frame_width: frame_width.max(0) as u32, frame_height: frame_height.max(0) as u32, persons })
    }

    /// Attaches the poses to a buffer, replacing poses attached earlier.
    pub fn attach(&self, buffer: &mut gst::BufferRef) -> Result<(), glib::BoolError> {
        register();
        if let Ok(meta) = gst::meta::CustomMeta::from_mut_buffer(buffer, POSE_META_NAME) {
            meta.remove().map_err(|_| glib::bool_error!("cannot remove the previous pose meta"))?;
        }
        let mut meta = gst::meta::CustomMeta::add(buffer, POSE_META_NAME)?;
        let s = meta.mut_structure();
        for (name, value) in self.to_structure().iter() {
            s.set_value(name, value.clone());
        }
        s.set_name(POSE_STRUCTURE_NAME);
        Ok(())
    }

    /// The poses on a buffer: `Ok(None)` when the buffer carries none.
    pub fn from_buffer(buffer: &gst::BufferRef) -> Result<Option<Self>, PoseMetaError> {
        if !gst::meta::CustomMeta::is_registered(POSE_META_NAME) {
            return Ok(None);
        }
        match gst::meta::CustomMeta::from_buffer(buffer, POSE_META_NAME) {
            Ok(meta) => Self::from_structure(meta.structure()).map(Some),
            Err(_) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_person(seed: f32) -> PersonPose {
        let mut p = PersonPose {
            bbox: [10.0 + seed, 20.0, 110.0, 220.5],
            score: 0.75,
            track_id: Some(42),
            pred_cam: [0.9, 0.01 * seed, -0.2],
            cam_t: [0.1, -0.2, 25.0 + seed],
            focal_length: 7500.0,
            principal_point: [960.0, 540.0],
            ..Default::default()
        };
        for (j, r) in p.body_pose.iter_mut().enumerate() {
            r[0][1] = j as f32 * 0.01 + seed;
        }
        p.global_orient[1][1] = -1.0;
        p.betas[3] = 0.5 * seed;
        p
    }

    #[test]
    fn structure_round_trip() {
        gst::init().unwrap();
        let mut second = sample_person(2.0);
        second.track_id = None;
        let poses = FramePoses { frame_width: 1920, frame_height: 1080, persons: vec![sample_person(1.0), second] };
        let s = poses.to_structure();
        assert_eq!(s.get::<u32>("num-persons").unwrap(), 2);
        assert_eq!(s.get::<glib::Bytes>("body-pose").unwrap().len(), 2 * 23 * 9 * 4);
        assert_eq!(FramePoses::from_structure(&s).unwrap(), poses);
    }

    /// The arrays as the documented layout places them, read without `from_structure`.
    #[test]
    fn structure_arrays_follow_the_documented_layout() {
        gst::init().unwrap();
        let mut second = sample_person(2.0);
        second.track_id = None;
        let poses = FramePoses { frame_width: 1920, frame_height: 1080, persons: vec![sample_person(1.0), second] };
        let s = poses.to_structure();
        let floats = |field: &str| -> Vec<f32> {
            let bytes = s.get::<glib::Bytes>(field).unwrap();
            bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
        };
        assert_eq!(floats("boxes"), [11.0, 20.0, 110.0, 220.5, 12.0, 20.0, 110.0, 220.5]);
        assert_eq!(floats("scores"), [0.75, 0.75]);
        // Person p, joint j, row r, column c at ((p × 23 + j) × 3 + r) × 3 + c.
        let body_pose = floats("body-pose");
        assert_eq!(body_pose[((23 + 5) * 3) * 3 + 1], 5.0 * 0.01 + 2.0);
        assert_eq!(body_pose[(7 * 3) * 3 + 1], 7.0 * 0.01 + 1.0);
        assert_eq!(floats("global-orient")[9 + 4], -1.0);
        assert_eq!(floats("betas")[10 + 3], 1.0);
        assert_eq!(floats("cam-t"), [0.1, -0.2, 26.0, 0.1, -0.2, 27.0]);
        assert_eq!(floats("focal-length"), [7500.0, 7500.0]);
        assert_eq!(floats("principal-point"), [960.0, 540.0, 960.0, 540.0]);
        let ids = s.get::<glib::Bytes>("track-ids").unwrap();
        let ids: Vec<i64> = ids.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(ids, [42, -1]);
    }

    #[test]
    fn predicted_round_trips_and_is_optional() {
        gst::init().unwrap();
        let mut predicted = sample_person(2.0);
        predicted.predicted = true;
        let poses = FramePoses { frame_width: 640, frame_height: 480, persons: vec![sample_person(1.0), predicted] };
        let mut s = poses.to_structure();
        assert_eq!(s.get::<glib::Bytes>("predicted").unwrap().as_ref(), &[0, 1]);
        assert_eq!(FramePoses::from_structure(&s).unwrap(), poses);

        // A structure written before the field existed reads as nobody predicted.
        s.remove_field("predicted");
        let old = FramePoses::from_structure(&s).unwrap();
        assert!(old.persons.iter().all(|p| !p.predicted));
        assert_eq!(old.persons[0], poses.persons[0]);

        s.set("predicted", glib::Bytes::from_owned(vec![1u8; 3]));
        assert_eq!(
            FramePoses::from_structure(&s),
            Err(PoseMetaError::WrongLength { field: "predicted", expected: 2, found: 3 })
        );
        s.set("predicted", 1u32);
        assert_eq!(FramePoses::from_structure(&s), Err(PoseMetaError::MissingField("predicted")));
    }

    #[test]
    fn empty_frame_round_trip() {
        gst::init().unwrap();
        let poses = FramePoses { frame_width: 64, frame_height: 48, persons: vec![] };
        assert_eq!(FramePoses::from_structure(&poses.to_structure()).unwrap(), poses);
    }

    #[test]
    fn truncated_array_is_an_error() {
        gst::init().unwrap();
        let poses = FramePoses { frame_width: 4, frame_height: 4, persons: vec![sample_person(0.0)] };
        let mut s = poses.to_structure();
        s.set("betas", glib::Bytes::from_owned(vec![0u8; 12]));
        assert_eq!(
            FramePoses::from_structure(&s),
            Err(PoseMetaError::WrongLength { field: "betas", expected: 40, found: 12 })
        );
        s.remove_field("cam-t");
        assert!(matches!(
            FramePoses::from_structure(&s),
            Err(PoseMetaError::WrongLength { .. } | PoseMetaError::MissingField(_))
        ));
    }

    #[test]
    fn undrawable_values_are_named() {
        let good = sample_person(1.0);
        assert_eq!(good.check_drawable(), Ok(()));
        assert_eq!(good.camera().focal_length, 7500.0);
        let mut p = good.clone();
        p.body_pose[5][1][2] = f32::NAN;
        assert_eq!(p.check_drawable(), Err(Undrawable::NonFinite("body-pose")));
        let mut p = good.clone();
        p.cam_t[2] = f32::INFINITY;
        assert_eq!(p.check_drawable(), Err(Undrawable::NonFinite("cam-t")));
        let mut p = good.clone();
        p.focal_length = 0.0;
        assert_eq!(p.check_drawable(), Err(Undrawable::NonPositiveFocalLength(0.0)));
        for z in [0.0, -20.0] {
            let mut p = good.clone();
            p.cam_t[2] = z;
            assert_eq!(p.check_drawable(), Err(Undrawable::BehindCamera(z)));
        }
        let mut p = good;
        p.cam_t[2] = 1e-3;
        assert_eq!(p.check_drawable(), Ok(()));
    }

    #[test]
    fn meta_survives_buffer_copy_and_replaces() {
        gst::init().unwrap();
        register();
        register(); // a second registration in the same process is harmless
        let mut buffer = gst::Buffer::with_size(16).unwrap();
        let first = FramePoses { frame_width: 8, frame_height: 2, persons: vec![sample_person(1.0)] };
        first.attach(buffer.get_mut().unwrap()).unwrap();
        let second = FramePoses { frame_width: 8, frame_height: 2, persons: vec![] };
        second.attach(buffer.get_mut().unwrap()).unwrap();
        assert_eq!(buffer.iter_meta::<gst::Meta>().count(), 1);

        let copy = buffer.copy_deep().unwrap();
        assert_eq!(FramePoses::from_buffer(&copy).unwrap(), Some(second));
        let plain = gst::Buffer::with_size(4).unwrap();
        assert_eq!(FramePoses::from_buffer(&plain).unwrap(), None);
    }
}
