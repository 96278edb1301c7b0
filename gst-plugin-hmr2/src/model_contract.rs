//! What a network must look like to run in `hmr2pose`, checked on plain descriptions of
//! its inputs and outputs so that tools can check a model without GStreamer. Two families
//! are recognised by their signature ([`identify`]): HMR2 networks (below) and BlazePose
//! GHUM 3D landmark models ([`LANDMARK_OUTPUTS`]).
//!
//! ## HMR2
//!
//! | tensor          | dtype   | shape                        |
//! |-----------------|---------|------------------------------|
//! | `image` (input) | float32 | `[B, 3, 256, 192]` or `[B, 3, 256, 256]` |
//! | `global_orient` | float32 | `[B, 1, 3, 3]`               |
//! | `body_pose`     | float32 | `[B, 23, 3, 3]`              |
//! | `betas`         | float32 | `[B, 10]`                    |
//! | `pred_cam`      | float32 | `[B, 3]`                     |
//!
//! `B` is best symbolic (any batch size); a fixed batch is accepted and the element then
//! runs the network in groups of exactly that many crops. A 256×192 input is the reference
//! network's view of the crop (columns 32..224); 256×256 means the slice is in the graph.
//! Outputs are found by name; further outputs are ignored. The input is normalised ImageNet
//! RGB, planar.

use std::fmt;

use hmr2_meta::pose::{NUM_BETAS, NUM_BODY_JOINTS};

/// Name of the network's only input.
pub const INPUT_NAME: &str = "image";
/// Input height in pixels.
pub const INPUT_HEIGHT: usize = 256;
/// Accepted input widths in pixels.
pub const INPUT_WIDTHS: [usize; 2] = [192, 256];

/// Element type of a tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataType {
    Float32,
    Float16,
    Float64,
    Int64,
    Int32,
    Uint8,
    /// Anything else (another element type, or not a tensor), by name.
    Other(String),
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Float32 => f.write_str("float32"),
            Self::Float16 => f.write_str("float16"),
            Self::Float64 => f.write_str("float64"),
            Self::Int64 => f.write_str("int64"),
            Self::Int32 => f.write_str("int32"),
            Self::Uint8 => f.write_str("uint8"),
            Self::Other(name) => f.write_str(name),
        }
    }
}

/// One input or output of a model: name, element type, and dimensions (`None` for a
/// symbolic one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorDesc {
    pub name: String,
    pub dtype: DataType,
    pub dims: Vec<Option<i64>>,
}

impl TensorDesc {
    pub fn new(name: &str, dtype: DataType, dims: &[Option<i64>]) -> Self {
        Self { name: name.to_string(), dtype, dims: dims.to_vec() }
    }
}

impl fmt::Display for TensorDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> =
            self.dims.iter().map(|d| d.map_or_else(|| "?".to_string(), |d| d.to_string())).collect();
        write!(f, "{} {} [{}]", self.name, self.dtype, dims.join(", "))
    }
}

/// The input the network takes, as read from the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputSize {
    pub height: usize,
    pub width: usize,
    /// The batch size when the model fixes it, `None` when it is symbolic.
    pub fixed_batch: Option<usize>,
}

impl InputSize {
    /// Values in one crop's input.
    pub fn values_per_crop(&self) -> usize {
        3 * self.height * self.width
    }
}

/// The expected outputs: name and dimensions after the batch dimension.
pub const OUTPUTS: [(&str, &[i64]); 4] = [
    ("global_orient", &[1, 3, 3]),
    ("body_pose", &[NUM_BODY_JOINTS as i64, 3, 3]),
    ("betas", &[NUM_BETAS as i64]),
    ("pred_cam", &[3]),
];

/// A model that does not match the contract: every problem found, and the whole
/// signature found, so the message says what was expected and what was there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the model does not have the HMR2 signature (nor the landmark model's): {}. Expected {}; or {}. Found inputs {}; outputs {}",
    .problems.join("; "),
    expected_signature(),
    expected_landmark_signature(),
    list_tensors(.found_inputs),
    list_tensors(.found_outputs)
)]
pub struct ContractError {
    pub problems: Vec<String>,
    pub found_inputs: Vec<TensorDesc>,
    pub found_outputs: Vec<TensorDesc>,
}

/// The contract in words, for error messages.
pub fn expected_signature() -> String {
    let outputs: Vec<String> = OUTPUTS
        .iter()
        .map(|(name, dims)| {
            let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            format!("{name} float32 [B, {}]", dims.join(", "))
        })
        .collect();
    format!("input {INPUT_NAME} float32 [B, 3, {INPUT_HEIGHT}, 192 or 256]; outputs {}", outputs.join(", "))
}

/// The landmark family's signature in words, for error messages.
fn expected_landmark_signature() -> String {
    let outputs: Vec<String> = LANDMARK_OUTPUTS.iter().map(|(n, v)| format!("{n} float32 [B, {v}]")).collect();
    let side = LANDMARK_INPUT_SIDE;
    format!("input {INPUT_NAME} float32 [B, 3, {side}, {side}] with outputs {}", outputs.join(", "))
}

/// Tensors in words, comma-separated, for error messages.
pub fn list_tensors(tensors: &[TensorDesc]) -> String {
    tensors.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}

/// Side in pixels of the landmark model's square input.
pub const LANDMARK_INPUT_SIDE: usize = 256;

/// A BlazePose GHUM 3D landmark model (as `models/fetch_open_models.py` converts it):
/// input `image` float32 `[B, 3, 256, 256]`, planar RGB in [0, 1], the person's turned
/// square crop; these outputs (name, values per crop), found by name.
pub const LANDMARK_OUTPUTS: [(&str, i64); 3] = [
    // 39 points × (x, y, z, visibility logit, presence logit), x and y in crop pixels.
    ("landmarks", 195),
    // Probability that a person is in the crop.
    ("pose_presence", 1),
    // 39 points × (x, y, z) in metres, origin between the hips.
    ("world_landmarks", 117),
];

/// The kinds of network `hmr2pose` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// HMR2: SMPL parameters straight from the crop.
    Hmr2(InputSize),
    /// BlazePose GHUM 3D: landmarks, fitted to the SMPL skeleton.
    PoseLandmarks { fixed_batch: Option<usize> },
}

/// Which family a model belongs to, from its signature; the error lists what each family
/// expects and what was found.
pub fn identify(inputs: &[TensorDesc], outputs: &[TensorDesc]) -> Result<Family, ContractError> {
    if outputs.iter().any(|o| o.name == LANDMARK_OUTPUTS[0].0) {
        return check_landmarks(inputs, outputs).map(|fixed_batch| Family::PoseLandmarks { fixed_batch });
    }
    check(inputs, outputs).map(Family::Hmr2)
}

/// Checks a landmark model; returns its batch size when fixed.
fn check_landmarks(inputs: &[TensorDesc], outputs: &[TensorDesc]) -> Result<Option<usize>, ContractError> {
    let mut problems = Vec::new();
    let side = LANDMARK_INPUT_SIDE as i64;
    let mut batch = None;
    match inputs {
        [input] if input.name == INPUT_NAME && input.dtype == DataType::Float32 => match input.dims.as_slice() {
            [b, Some(3), Some(h), Some(w)] if *h == side && *w == side => batch = Some(*b),
            _ => problems.push(format!(
                "input '{}' has shape {}, not [B, 3, {side}, {side}]",
                input.name,
                dims_string(&input.dims)
            )),
        },
        [input] => problems.push(format!("the input is {input}, not {INPUT_NAME} float32")),
        _ => problems.push(format!("the model has {} inputs, not 1", inputs.len())),
    }
    for (name, values) in LANDMARK_OUTPUTS {
        match outputs.iter().find(|o| o.name == name) {
            None => problems.push(format!("output '{name}' is missing")),
            Some(o) if o.dtype != DataType::Float32 || o.dims.len() != 2 || o.dims[1] != Some(values) => {
                problems.push(format!("output '{name}' is {o}, not float32 [B, {values}]"))
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(batch.flatten().filter(|b| *b > 0).map(|b| b as usize))
    } else {
        Err(ContractError { problems, found_inputs: inputs.to_vec(), found_outputs: outputs.to_vec() })
    }
}

/// Checks a model's inputs and outputs against the HMR2 contract and returns its input size.
pub fn check(inputs: &[TensorDesc], outputs: &[TensorDesc]) -> Result<InputSize, ContractError> {
    let mut problems = Vec::new();
    let mut batch: Option<Option<i64>> = None;
    let mut size = None;

    match inputs {
        [input] => {
            if input.name != INPUT_NAME {
                problems.push(format!("the input is named '{}', not '{INPUT_NAME}'", input.name));
            }
            if input.dtype != DataType::Float32 {
                problems.push(format!("input '{}' is {}, not float32", input.name, input.dtype));
            }
            match input.dims.as_slice() {
                [b, Some(3), Some(h), Some(w)]
                    if *h as usize == INPUT_HEIGHT && INPUT_WIDTHS.contains(&(*w as usize)) =>
                {
                    batch = Some(*b);
                    size = Some((*h as usize, *w as usize));
                }
                _ => problems.push(format!(
                    "input '{}' has shape {}, not [B, 3, {INPUT_HEIGHT}, 192 or 256]",
                    input.name,
                    dims_string(&input.dims)
                )),
            }
        }
        _ => problems.push(format!("the model has {} inputs, not 1", inputs.len())),
    }

    for (name, tail) in OUTPUTS {
        let Some(output) = outputs.iter().find(|o| o.name == name) else {
            problems.push(format!("output '{name}' is missing"));
            continue;
        };
        if output.dtype != DataType::Float32 {
            problems.push(format!("output '{name}' is {}, not float32", output.dtype));
        }
        let shape_ok = output.dims.len() == tail.len() + 1
            && output.dims[1..].iter().zip(tail).all(|(d, t)| *d == Some(*t))
            && batch.is_none_or(|b| batch_dims_agree(b, output.dims[0]));
        if !shape_ok {
            let tail: Vec<String> = tail.iter().map(|d| d.to_string()).collect();
            problems.push(format!(
                "output '{name}' has shape {}, not [B, {}]",
                dims_string(&output.dims),
                tail.join(", ")
            ));
        }
    }

    let fixed_batch = match batch.flatten() {
        Some(b) if b < 1 => {
            problems.push(format!("the batch dimension is {b}"));
            None
        }
        b => b.map(|b| b as usize),
    };

    match (problems.is_empty(), size) {
        (true, Some((height, width))) => Ok(InputSize { height, width, fixed_batch }),
        _ => Err(ContractError { problems, found_inputs: inputs.to_vec(), found_outputs: outputs.to_vec() }),
    }
}

/// A symbolic batch on either side agrees with anything; fixed ones must be equal.
fn batch_dims_agree(input: Option<i64>, output: Option<i64>) -> bool {
    match (input, output) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

fn dims_string(dims: &[Option<i64>]) -> String {
    let dims: Vec<String> = dims.iter().map(|d| d.map_or_else(|| "?".to_string(), |d| d.to_string())).collect();
    format!("[{}]", dims.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_tensor(name: &str, dims: &[Option<i64>]) -> TensorDesc {
        TensorDesc::new(name, DataType::Float32, dims)
    }

    fn good_outputs(batch: Option<i64>) -> Vec<TensorDesc> {
        vec![
            f32_tensor("global_orient", &[batch, Some(1), Some(3), Some(3)]),
            f32_tensor("body_pose", &[batch, Some(23), Some(3), Some(3)]),
            f32_tensor("betas", &[batch, Some(10)]),
            f32_tensor("pred_cam", &[batch, Some(3)]),
        ]
    }

    #[test]
    fn reference_signature_is_accepted() {
        let inputs = [f32_tensor("image", &[None, Some(3), Some(256), Some(192)])];
        assert_eq!(check(&inputs, &good_outputs(None)), Ok(InputSize { height: 256, width: 192, fixed_batch: None }));
    }

    #[test]
    fn square_input_and_fixed_batch_are_accepted() {
        let inputs = [f32_tensor("image", &[Some(1), Some(3), Some(256), Some(256)])];
        let mut outputs = good_outputs(Some(1));
        outputs.push(f32_tensor("pred_keypoints_2d", &[Some(1), Some(44), Some(2)]));
        assert_eq!(check(&inputs, &outputs), Ok(InputSize { height: 256, width: 256, fixed_batch: Some(1) }));
    }

    #[test]
    fn every_problem_is_listed_with_expected_and_found() {
        let inputs = [TensorDesc::new("input", DataType::Float16, &[None, Some(3), Some(224), Some(224)])];
        let mut outputs = good_outputs(None);
        outputs.remove(2); // betas
        outputs[2].dims = vec![None, Some(4)]; // pred_cam
        let err = check(&inputs, &outputs).unwrap_err();
        assert_eq!(err.problems.len(), 5, "{err}");
        let text = err.to_string();
        for needle in [
            "named 'input'",
            "float16",
            "[?, 3, 224, 224]",
            "'betas' is missing",
            "'pred_cam' has shape [?, 4]",
            "Expected input image float32 [B, 3, 256, 192 or 256]",
            "Found inputs input float16 [?, 3, 224, 224]",
        ] {
            assert!(text.contains(needle), "'{needle}' not in: {text}");
        }
    }

    #[test]
    fn the_family_comes_from_the_signature() {
        let hmr2_input = [f32_tensor("image", &[None, Some(3), Some(256), Some(192)])];
        assert!(matches!(identify(&hmr2_input, &good_outputs(None)), Ok(Family::Hmr2(_))));
        let input = [f32_tensor("image", &[None, Some(3), Some(256), Some(256)])];
        let landmarks = vec![
            f32_tensor("landmarks", &[None, Some(195)]),
            f32_tensor("pose_presence", &[None, Some(1)]),
            f32_tensor("world_landmarks", &[None, Some(117)]),
        ];
        assert_eq!(identify(&input, &landmarks), Ok(Family::PoseLandmarks { fixed_batch: None }));
        let mut wrong = landmarks.clone();
        wrong[2].dims = vec![None, Some(99)];
        let err = identify(&input, &wrong).unwrap_err().to_string();
        assert!(err.contains("'world_landmarks' is world_landmarks float32 [?, 99]"), "{err}");
        assert!(err.contains("does not have the HMR2 signature (nor the landmark model's)"), "{err}");
        let small = [f32_tensor("image", &[Some(1), Some(3), Some(224), Some(224)])];
        assert!(identify(&small, &landmarks).unwrap_err().to_string().contains("[1, 3, 224, 224]"));
    }

    #[test]
    fn wrong_input_count_and_batch_mismatch() {
        let a = f32_tensor("image", &[Some(2), Some(3), Some(256), Some(192)]);
        let err = check(&[a.clone(), a.clone()], &good_outputs(None)).unwrap_err();
        assert!(err.problems[0].contains("2 inputs"), "{err}");
        let err = check(&[a], &good_outputs(Some(4))).unwrap_err();
        assert_eq!(err.problems.len(), 4, "{err}");
    }
}
