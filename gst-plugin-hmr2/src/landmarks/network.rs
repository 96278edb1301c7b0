//! The landmark model in ONNX Runtime: opened against the landmark signature of
//! [`model_contract`], run on batches of crops, its outputs split per person.

use ort::session::Session;

use super::{CROP_SIDE, MODEL_POINTS};
use crate::model_contract;
use crate::onnxruntime::{self, CropInput, OnnxRuntimeError};

/// Values of one crop in the model's input.
pub const VALUES_PER_CROP: usize = 3 * CROP_SIDE * CROP_SIDE;

/// The model's output for one crop.
#[derive(Clone, Debug, PartialEq)]
pub struct LandmarkOutput {
    /// Points (x, y, z) in crop pixels (x, y in `0..CROP_SIDE`; z on the same scale,
    /// negative towards the camera).
    pub image: [[f32; 3]; MODEL_POINTS],
    /// Probability that each point is visible (the sigmoid of the model's logit).
    pub visibility: [f32; MODEL_POINTS],
    /// Points (x, y, z) in metres, origin between the hips, the crop's axes.
    pub world: [[f32; 3]; MODEL_POINTS],
    /// Probability that a person is in the crop.
    pub presence: f32,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Splits the batched outputs into per-crop results, checking their sizes.
pub fn split_outputs(
    count: usize,
    landmarks: &[f32],
    presence: &[f32],
    world: &[f32],
) -> Result<Vec<LandmarkOutput>, OnnxRuntimeError> {
    let sizes = [
        ("landmarks", landmarks.len(), MODEL_POINTS * 5),
        ("pose_presence", presence.len(), 1),
        ("world_landmarks", world.len(), MODEL_POINTS * 3),
    ];
    onnxruntime::check_output_lengths(count, &sizes)?;
    Ok((0..count)
        .map(|i| {
            let l = &landmarks[i * MODEL_POINTS * 5..(i + 1) * MODEL_POINTS * 5];
            let w = &world[i * MODEL_POINTS * 3..(i + 1) * MODEL_POINTS * 3];
            LandmarkOutput {
                image: std::array::from_fn(|p| [l[p * 5], l[p * 5 + 1], l[p * 5 + 2]]),
                visibility: std::array::from_fn(|p| sigmoid(l[p * 5 + 3])),
                world: std::array::from_fn(|p| [w[p * 3], w[p * 3 + 1], w[p * 3 + 2]]),
                presence: presence[i],
            }
        })
        .collect())
}

/// An open landmark model.
pub struct LandmarkNetwork {
    session: Session,
    fixed_batch: Option<usize>,
    padded: Vec<f32>,
}

impl LandmarkNetwork {
    /// The model of an open session, whose signature `identify` found to be a landmark
    /// model's.
    pub fn from_session(session: Session, fixed_batch: Option<usize>) -> Self {
        Self { session, fixed_batch, padded: Vec::new() }
    }

    /// Runs `count` crops laid out one after the other in `crops`.
    pub fn run(&mut self, crops: &[f32], count: usize) -> Result<Vec<LandmarkOutput>, OnnxRuntimeError> {
        let input = CropInput {
            model: "landmark model",
            name: model_contract::INPUT_NAME,
            crop_shape: [3, CROP_SIDE, CROP_SIDE],
            fixed_batch: self.fixed_batch,
        };
        let names = model_contract::LANDMARK_OUTPUTS.map(|(name, _)| name);
        onnxruntime::run_crops(&mut self.session, &input, (crops, count), &mut self.padded, &names, |group, arrays| {
            split_outputs(group, arrays[0], arrays[1], arrays[2])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_split_per_crop_with_probabilities() {
        let landmarks: Vec<f32> = (0..2 * 195).map(|v| v as f32).collect();
        let world: Vec<f32> = (0..2 * 117).map(|v| v as f32 * 0.01).collect();
        let out = split_outputs(2, &landmarks, &[0.9, 0.2], &world).unwrap();
        assert_eq!(out[1].image[0], [195.0, 196.0, 197.0]);
        assert_eq!(out[0].image[38], [190.0, 191.0, 192.0]);
        assert!((out[0].visibility[0] - sigmoid(3.0)).abs() < 1e-6);
        assert_eq!(out[1].presence, 0.2);
        assert!((out[1].world[1][2] - 1.22).abs() < 1e-5);
        assert!(split_outputs(3, &landmarks, &[0.9, 0.2], &world).unwrap_err().to_string().contains("landmarks"));
    }
}
