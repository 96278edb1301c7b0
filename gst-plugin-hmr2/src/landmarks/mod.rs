//! The landmark family: BlazePose GHUM 3D (MediaPipe's pose landmark model) run on a
//! turned square crop per person, its landmarks fitted to the SMPL skeleton ([`crate::fit`])
//! and written as the same pose metadata an HMR2 network gives.
//!
//! - [`roi`]: where each person's crop lies: from a detector box for a new person, from
//!   the previous frame's landmarks for a tracked one (the model outputs the next crop);
//! - [`network`]: the model in ONNX Runtime and its outputs;
//! - [`estimator`]: one frame's work: crops, one batched inference, the fit, the tracks.
//!
//! What this family estimates: pose (23 joint rotations and the root) and the person's
//! placement in the full-frame camera. Not body shape: betas stay zero.

pub mod estimator;
pub mod network;
pub mod roi;

/// Side in pixels of the model's square input.
pub const CROP_SIDE: usize = crate::model_contract::LANDMARK_INPUT_SIDE;
/// Points the model outputs per person: 33 body points and 2 that place the next crop,
/// then 4 unused.
pub const MODEL_POINTS: usize = 39;
/// The point at the hips' middle, the next crop's centre.
pub const ROI_CENTRE_POINT: usize = 33;
/// The point above the head that gives the next crop's size and rotation.
pub const ROI_TOP_POINT: usize = 34;
