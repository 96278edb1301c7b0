//! The HMR2 network in ONNX Runtime: opened against [`model_contract`], run on batches of
//! crops.

use ort::session::Session;
use ort::value::TensorRef;

use crate::boxes::PersonBox;
use crate::crop::PersonCrop;
use crate::model_contract::{self, InputSize};
use crate::onnxruntime;
use hmr2_meta::camera::FrameCamera;
use hmr2_meta::math::Mat3;
use hmr2_meta::pose::{PersonPose, NUM_BETAS, NUM_BODY_JOINTS};

/// The network's estimate for one crop.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonEstimate {
    pub global_orient: Mat3,
    pub body_pose: [Mat3; NUM_BODY_JOINTS],
    pub betas: [f32; NUM_BETAS],
    /// Weak-perspective crop camera (s, tx, ty).
    pub pred_cam: [f32; 3],
}

impl PersonEstimate {
    /// The metadata of this estimate for `person`, its crop camera re-expressed for the
    /// full frame (`camera` in display geometry, stored pixels `pixel_aspect` wide).
    pub fn to_pose(&self, person: &PersonBox, camera: &FrameCamera, pixel_aspect: f32) -> PersonPose {
        let crop = PersonCrop::from_box_in_display(person.bbox, pixel_aspect);
        PersonPose {
            bbox: person.bbox,
            score: person.score,
            track_id: None,
            global_orient: self.global_orient,
            body_pose: self.body_pose,
            betas: self.betas,
            pred_cam: self.pred_cam,
            cam_t: camera.translation_from_crop(self.pred_cam, crop.center, crop.side),
            focal_length: camera.focal_length,
            principal_point: camera.principal_point,
        }
    }
}

/// An open HMR2 network.
pub struct Hmr2Network {
    session: Session,
    input: InputSize,
    padded: Vec<f32>,
}

impl Hmr2Network {
    /// The network of an open session, whose signature `identify` found to be HMR2's.
    pub fn from_session(session: Session, input: InputSize) -> Self {
        Self { session, input, padded: Vec::new() }
    }

    pub fn input_size(&self) -> InputSize {
        self.input
    }

    /// Runs `count` crops laid out one after the other in `crops`.
    pub fn run(&mut self, crops: &[f32], count: usize) -> Result<Vec<PersonEstimate>, String> {
        let per_crop = self.input.values_per_crop();
        if crops.len() != count * per_crop {
            return Err(format!("{} input values for {count} crops", crops.len()));
        }
        let group = self.input.fixed_batch.unwrap_or(count.max(1));
        let mut estimates = Vec::with_capacity(count);
        for chunk in crops.chunks(group * per_crop) {
            let n = chunk.len() / per_crop;
            let data = if n == group {
                chunk
            } else {
                // A model with a fixed batch gets zero crops after the real ones.
                self.padded.clear();
                self.padded.extend_from_slice(chunk);
                self.padded.resize(group * per_crop, 0.0);
                &self.padded[..]
            };
            let shape = [group, 3, self.input.height, self.input.width];
            let session = &mut self.session;
            let result = onnxruntime::catch_panic("running the network", || run_group(session, shape, data))?;
            let mut group_estimates = result?;
            group_estimates.truncate(n);
            estimates.extend(group_estimates);
        }
        Ok(estimates)
    }
}

fn run_group(session: &mut Session, shape: [usize; 4], data: &[f32]) -> Result<Vec<PersonEstimate>, String> {
    let tensor = TensorRef::from_array_view((shape, data)).map_err(|e| e.to_string())?;
    let outputs = session
        .run(ort::inputs![model_contract::INPUT_NAME => tensor])
        .map_err(|e| format!("inference failed: {e}"))?;
    let mut arrays = Vec::with_capacity(model_contract::OUTPUTS.len());
    for (name, _) in model_contract::OUTPUTS {
        let value = outputs.get(name).ok_or_else(|| format!("the network gave no '{name}'"))?;
        let (_, values) = value.try_extract_tensor::<f32>().map_err(|e| format!("output '{name}': {e}"))?;
        arrays.push(values);
    }
    split_outputs(shape[0], arrays[0], arrays[1], arrays[2], arrays[3])
}

/// Splits the network's batched outputs into per-crop estimates, checking their sizes.
pub fn split_outputs(
    count: usize,
    global_orient: &[f32],
    body_pose: &[f32],
    betas: &[f32],
    pred_cam: &[f32],
) -> Result<Vec<PersonEstimate>, String> {
    let sizes = [
        ("global_orient", global_orient.len(), 9),
        ("body_pose", body_pose.len(), NUM_BODY_JOINTS * 9),
        ("betas", betas.len(), NUM_BETAS),
        ("pred_cam", pred_cam.len(), 3),
    ];
    for (name, len, per) in sizes {
        if len != count * per {
            return Err(format!("output '{name}' has {len} values for {count} crops, expected {}", count * per));
        }
    }
    let mat3 = |v: &[f32]| -> Mat3 { [[v[0], v[1], v[2]], [v[3], v[4], v[5]], [v[6], v[7], v[8]]] };
    Ok((0..count)
        .map(|i| {
            let pose = &body_pose[i * NUM_BODY_JOINTS * 9..(i + 1) * NUM_BODY_JOINTS * 9];
            PersonEstimate {
                global_orient: mat3(&global_orient[i * 9..i * 9 + 9]),
                body_pose: std::array::from_fn(|j| mat3(&pose[j * 9..j * 9 + 9])),
                betas: betas[i * NUM_BETAS..(i + 1) * NUM_BETAS].try_into().unwrap(),
                pred_cam: pred_cam[i * 3..i * 3 + 3].try_into().unwrap(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pose_camera_comes_from_the_person_crop() {
        let estimate = PersonEstimate {
            global_orient: [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]],
            body_pose: [[[0.0; 3]; 3]; NUM_BODY_JOINTS],
            betas: [0.5; NUM_BETAS],
            pred_cam: [0.8, 0.1, -0.05],
        };
        // Box 1110..1210 x 240..640: crop centre (1160, 440), side 400 (the hand-computed
        // example of camera.rs: t = (1.35, -0.675, 234.375)).
        let person = PersonBox { bbox: [1110.0, 240.0, 1210.0, 640.0], score: 0.7 };
        let camera = FrameCamera::for_frame(1920, 1080, None);
        let pose = estimate.to_pose(&person, &camera, 1.0);
        assert_eq!((pose.bbox, pose.score, pose.track_id), (person.bbox, 0.7, None));
        let expected = [1.35, -0.675, 234.375];
        for (t, e) in pose.cam_t.iter().zip(expected) {
            assert!((t - e).abs() < 1e-4, "{:?}", pose.cam_t);
        }
        assert_eq!(pose.focal_length, 37500.0);
        assert_eq!(pose.principal_point, [960.0, 540.0]);
        assert_eq!(pose.betas, estimate.betas);
    }

    #[test]
    fn outputs_split_per_crop_in_row_major_order() {
        let go: Vec<f32> = (0..18).map(|v| v as f32).collect();
        let bp: Vec<f32> = (0..2 * 23 * 9).map(|v| v as f32).collect();
        let betas: Vec<f32> = (0..20).map(|v| v as f32).collect();
        let cam = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let est = split_outputs(2, &go, &bp, &betas, &cam).unwrap();
        assert_eq!(est[1].global_orient, [[9.0, 10.0, 11.0], [12.0, 13.0, 14.0], [15.0, 16.0, 17.0]]);
        assert_eq!(est[1].body_pose[0][0][0], 207.0);
        assert_eq!(est[0].body_pose[22][2][2], 206.0);
        assert_eq!(est[1].betas[9], 19.0);
        assert_eq!(est[1].pred_cam, [4.0, 5.0, 6.0]);
        assert!(split_outputs(3, &go, &bp, &betas, &cam).unwrap_err().contains("global_orient"));
    }
}
