//! What the element opens when it starts: ONNX Runtime, the pose model (named, default or
//! the bundled test network) and, when boxes may come from one, the person detector.

use std::path::PathBuf;

use super::engine::{Estimator, EstimatorError};
use super::models;
use super::settings::Settings;
use super::BoxSource;
use crate::detector::{DetectorError, PersonDetector};
use crate::onnxruntime::{self, LibraryError, ModelSource};

/// Why the element cannot start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// ONNX Runtime's library could not be loaded.
    #[error(transparent)]
    Runtime(#[from] LibraryError),
    #[error(
        "No model given, none found in {}, and this build has no bundled test network; set the model property",
        .models_dir.display()
    )]
    NoModel { models_dir: PathBuf },
    /// The pose model named does not exist, cannot be loaded or has neither family's
    /// signature.
    #[error(transparent)]
    PoseModel(EstimatorError),
    #[error("Person detector: {0}")]
    Detector(#[source] DetectorError),
    #[error("box-source=detector needs the detector-model property")]
    DetectorRequired,
}

impl OpenError {
    /// Whether a model is missing (rather than unusable).
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::NoModel { .. } => true,
            Self::PoseModel(e) => e.is_missing_model(),
            _ => false,
        }
    }
}

/// Something the user should hear about, though the element starts.
#[derive(Debug, PartialEq)]
pub enum Notice {
    /// No model was named and the set-up's default was not found.
    BundledTestNetwork { models_dir: PathBuf },
    /// An execution provider could not be used for one of the models.
    ProviderUnavailable { model: &'static str, detail: String },
}

pub struct Opened {
    /// Where ONNX Runtime was loaded from.
    pub library: PathBuf,
    pub estimator: Estimator,
    pub detector: Option<PersonDetector>,
    pub notices: Vec<Notice>,
}

/// Opens everything `settings` ask for; `bundled` is the test network built into the
/// plugin (empty when there is none).
pub fn open(settings: &Settings, bundled: &'static [u8]) -> Result<Opened, OpenError> {
    let options = settings.session_options();
    let library = onnxruntime::ensure_loaded()?;
    let mut notices = Vec::new();

    let model_path = models::pose_model(&settings.model);
    let source = match &model_path {
        Some(path) => ModelSource::File(path),
        None if bundled.is_empty() => {
            return Err(OpenError::NoModel { models_dir: models::models_dir() });
        }
        None => {
            notices.push(Notice::BundledTestNetwork { models_dir: models::models_dir() });
            ModelSource::Memory(bundled)
        }
    };
    let (estimator, warning) =
        Estimator::open(source, &options, settings.landmark_options()).map_err(OpenError::PoseModel)?;
    if let Some(detail) = warning {
        notices.push(Notice::ProviderUnavailable { model: "pose model", detail });
    }

    let wants_detector = matches!(settings.box_source, BoxSource::Auto | BoxSource::Detector);
    let detector = match models::detector_model(&settings.detector_model) {
        Some(path) if wants_detector => {
            let (detector, warning) =
                PersonDetector::open(ModelSource::File(&path), &options).map_err(OpenError::Detector)?;
            if let Some(detail) = warning {
                notices.push(Notice::ProviderUnavailable { model: "person detector", detail });
            }
            Some(detector)
        }
        _ if settings.box_source == BoxSource::Detector => {
            return Err(OpenError::DetectorRequired);
        }
        _ => None,
    };
    Ok(Opened { library, estimator, detector, notices })
}
