//! The HMR2 network in ONNX Runtime: opened against [`model_contract`], run on batches of
//! crops.

use ort::session::Session;

use crate::boxes::PersonBox;
use crate::crop::PersonCrop;
use crate::model_contract::{self, InputSize};
use crate::onnxruntime::{self, CropInput, OnnxRuntimeError};
use hmr2_meta::camera::FrameCamera;
use hmr2_meta::math::{from_row_major, Mat3};
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
            predicted: false,
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
    pub fn run(&mut self, crops: &[f32], count: usize) -> Result<Vec<PersonEstimate>, OnnxRuntimeError> {
        let input = CropInput {
            model: "HMR2 network",
            name: model_contract::INPUT_NAME,
            crop_shape: [3, self.input.height, self.input.width],
            fixed_batch: self.input.fixed_batch,
        };
        let names = model_contract::OUTPUTS.map(|(name, _)| name);
        onnxruntime::run_crops(&mut self.session, &input, (crops, count), &mut self.padded, &names, |group, arrays| {
            split_outputs(group, arrays[0], arrays[1], arrays[2], arrays[3])
        })
    }
}

/// Splits the network's batched outputs into per-crop estimates, checking their sizes.
pub fn split_outputs(
    count: usize,
    global_orient: &[f32],
    body_pose: &[f32],
    betas: &[f32],
    pred_cam: &[f32],
) -> Result<Vec<PersonEstimate>, OnnxRuntimeError> {
    let sizes = [
        ("global_orient", global_orient.len(), 9),
        ("body_pose", body_pose.len(), NUM_BODY_JOINTS * 9),
        ("betas", betas.len(), NUM_BETAS),
        ("pred_cam", pred_cam.len(), 3),
    ];
    onnxruntime::check_output_lengths(count, &sizes)?;
    Ok((0..count)
        .map(|i| {
            let pose = &body_pose[i * NUM_BODY_JOINTS * 9..(i + 1) * NUM_BODY_JOINTS * 9];
            PersonEstimate {
                global_orient: from_row_major(&global_orient[i * 9..i * 9 + 9]),
                body_pose: std::array::from_fn(|j| from_row_major(&pose[j * 9..j * 9 + 9])),
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
        assert!(split_outputs(3, &go, &bp, &betas, &cam).unwrap_err().to_string().contains("global_orient"));
    }
}
