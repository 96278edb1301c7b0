//! What the element opens when it starts: ONNX Runtime, the pose model (named, default or
//! the bundled test network) and, when boxes may come from one, the person detector.

use std::path::PathBuf;

use super::engine::Estimator;
use super::models;
use super::settings::Settings;
use super::BoxSource;
use crate::detector::PersonDetector;
use crate::onnxruntime::{self, ModelSource};

/// Why the element cannot start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// ONNX Runtime's library could not be loaded.
    #[error("{0}")]
    Runtime(String),
    /// A model file that does not exist, or no model at all.
    #[error("{0}")]
    NotFound(String),
    /// A model that cannot be used (unreadable, wrong signature) or contradicting settings.
    #[error("{0}")]
    Unusable(String),
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
    let library = onnxruntime::ensure_loaded().map_err(OpenError::Runtime)?;
    let mut notices = Vec::new();

    let model_path = models::pose_model(&settings.model);
    let source = match &model_path {
        Some(path) => ModelSource::File(path),
        None if bundled.is_empty() => {
            return Err(OpenError::NotFound(format!(
                "No model given, none found in {}, and this build has no bundled test network; set the model property",
                models::models_dir().display()
            )));
        }
        None => {
            notices.push(Notice::BundledTestNetwork { models_dir: models::models_dir() });
            ModelSource::Memory(bundled)
        }
    };
    let (estimator, warning) = Estimator::open(source, &options, settings.landmark_options()).map_err(|e| {
        if matches!(source, ModelSource::File(p) if !p.is_file()) {
            OpenError::NotFound(e)
        } else {
            OpenError::Unusable(e)
        }
    })?;
    if let Some(detail) = warning {
        notices.push(Notice::ProviderUnavailable { model: "pose model", detail });
    }

    let wants_detector = matches!(settings.box_source, BoxSource::Auto | BoxSource::Detector);
    let detector = match models::detector_model(&settings.detector_model) {
        Some(path) if wants_detector => {
            let (detector, warning) = PersonDetector::open(ModelSource::File(&path), &options)
                .map_err(|e| OpenError::Unusable(format!("Person detector: {e}")))?;
            if let Some(detail) = warning {
                notices.push(Notice::ProviderUnavailable { model: "person detector", detail });
            }
            Some(detector)
        }
        _ if settings.box_source == BoxSource::Detector => {
            return Err(OpenError::Unusable("box-source=detector needs the detector-model property".into()));
        }
        _ => None,
    };
    Ok(Opened { library, estimator, detector, notices })
}
