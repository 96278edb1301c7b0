//! What the worker thread runs for each model family: HMR2 batches of crops cut on the
//! streaming thread, or whole frames for the landmark family, whose crops depend on the
//! previous frame's results and so are cut on the worker thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hmr2_meta::camera::FrameCamera;
use hmr2_meta::pose::PersonPose;

use super::frame;
use crate::batching::{Batch, FrameId, Slot};
use crate::boxes::PersonBox;
use crate::crop::sampler::PixelLayout;
use crate::inference::{Hmr2Network, PersonEstimate};
use crate::landmarks::estimator::{EstimatorOptions, LandmarkEstimator};
use crate::landmarks::network::LandmarkNetwork;
use crate::model_contract::{self, ContractError, Family};
use crate::onnxruntime::{self, ModelSource, OnnxRuntimeError, SessionOptions};
use crate::worker::Engine;

/// A frame for the landmark family.
pub struct FrameJob {
    pub frame: FrameId,
    /// Released once read, so the source side can add metadata without a copy.
    pub buffer: Option<gst::Buffer>,
    pub info: gst_video::VideoInfo,
    pub layout: PixelLayout,
    pub planes: &'static [u32],
    pub detections: Vec<PersonBox>,
    pub camera: FrameCamera,
    /// The first frame after a flush or a new stream: forget the tracked persons.
    pub reset: bool,
    /// Set to the number of persons followed into the next frame.
    pub tracked: Arc<AtomicUsize>,
}

pub enum Job {
    Crops(Batch),
    Frame(FrameJob),
}

/// A result: one HMR2 crop's estimate (relative to its person box), or all persons of a
/// landmark frame.
pub enum Estimate {
    Crop(Box<PersonEstimate>),
    Persons(Vec<PersonPose>),
}

/// Why the pose model cannot be opened, or a job gave no estimates.
#[derive(Debug, thiserror::Error)]
pub enum EstimatorError {
    #[error(transparent)]
    Runtime(#[from] OnnxRuntimeError),
    /// The model is neither an HMR2 network nor a landmark model.
    #[error(transparent)]
    Contract(#[from] ContractError),
    #[error(transparent)]
    Frame(#[from] frame::FrameViewError),
    #[error("cannot map the frame for reading")]
    Unmappable,
    #[error("a frame job without its frame")]
    FrameTaken,
    #[error("a job for another model family")]
    WrongFamily,
}

impl EstimatorError {
    /// Whether the model file named does not exist.
    pub fn is_missing_model(&self) -> bool {
        matches!(self, Self::Runtime(OnnxRuntimeError::ModelFileMissing(_)))
    }
}

pub enum Estimator {
    Hmr2(Hmr2Network),
    Landmarks(Box<LandmarkEstimator>),
}

impl Estimator {
    /// Opens a model of either family, told apart by its signature; also returns a
    /// warning to report (an execution provider that could not be used).
    pub fn open(
        source: ModelSource,
        options: &SessionOptions,
        landmark_options: EstimatorOptions,
    ) -> Result<(Self, Option<String>), EstimatorError> {
        let opened = onnxruntime::open_session(source, options)?;
        let (inputs, outputs) = onnxruntime::signature(&opened.session);
        let family = model_contract::identify(&inputs, &outputs)?;
        let estimator = match family {
            Family::Hmr2(input) => Self::Hmr2(Hmr2Network::from_session(opened.session, input)),
            Family::PoseLandmarks { fixed_batch } => {
                let network = LandmarkNetwork::from_session(opened.session, fixed_batch);
                Self::Landmarks(Box::new(LandmarkEstimator::new(network, landmark_options)))
            }
        };
        Ok((estimator, opened.warning))
    }

    /// What the family estimates, for the log and the user.
    pub fn describe(&self) -> String {
        match self {
            Self::Hmr2(network) => {
                let input = network.input_size();
                format!("HMR2 network (input {}x{}): pose, shape and camera", input.width, input.height)
            }
            Self::Landmarks(_) => {
                "BlazePose landmark model fitted to the SMPL skeleton: pose and placement, not body shape".into()
            }
        }
    }
}

impl Engine for Estimator {
    type Job = Job;
    type Output = Estimate;
    type Error = EstimatorError;

    fn run(&mut self, job: &mut Job) -> Result<Vec<(Slot, Estimate)>, EstimatorError> {
        match (self, job) {
            (Self::Hmr2(network), Job::Crops(batch)) => {
                let estimates = network.run(batch.crops(), batch.len())?;
                Ok(batch
                    .slots()
                    .iter()
                    .copied()
                    .zip(estimates.into_iter().map(|e| Estimate::Crop(Box::new(e))))
                    .collect())
            }
            (Self::Landmarks(estimator), Job::Frame(job)) => {
                if job.reset {
                    estimator.reset();
                }
                let buffer = job.buffer.take().ok_or(EstimatorError::FrameTaken)?;
                let mapped = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &job.info)
                    .map_err(|_| EstimatorError::Unmappable)?;
                let view = frame::view(&mapped, job.layout, job.planes)?;
                let persons = estimator.estimate(&view, &job.detections, &job.camera)?;
                job.tracked.store(estimator.tracked(), Ordering::Relaxed);
                Ok(vec![(Slot { frame: job.frame, person: 0 }, Estimate::Persons(persons))])
            }
            _ => Err(EstimatorError::WrongFamily),
        }
    }
}
