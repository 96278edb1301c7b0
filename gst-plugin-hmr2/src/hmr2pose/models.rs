//! Which model files the element uses when its properties name none: the open models the
//! set-up converts, in the folder [`hmr2_meta::models`] says.

use std::path::PathBuf;

pub use hmr2_meta::models::{models_dir, MODELS_DIR_ENV};
/// The default pose model: BlazePose GHUM 3D (full), converted from MediaPipe's weights.
pub const DEFAULT_POSE_MODEL: &str = "pose_landmark_full.onnx";
/// The default person detector: NanoDet in the YOLOv8 output layout.
pub const DEFAULT_DETECTOR_MODEL: &str = "nanodet-person.onnx";
/// `detector-model` value that turns the default detector off.
pub const NO_DETECTOR: &str = "none";

/// The pose model to open: the one the `model` property names, else the default one if
/// the set-up made it (`None`: neither).
pub fn pose_model(setting: &str) -> Option<PathBuf> {
    named_or_default(setting, DEFAULT_POSE_MODEL)
}

/// The person detector to open: the one `detector-model` names, none for
/// [`NO_DETECTOR`], else the default one if the set-up made it.
pub fn detector_model(setting: &str) -> Option<PathBuf> {
    if setting == NO_DETECTOR {
        return None;
    }
    named_or_default(setting, DEFAULT_DETECTOR_MODEL)
}

fn named_or_default(setting: &str, default_file: &str) -> Option<PathBuf> {
    if !setting.is_empty() {
        return Some(PathBuf::from(setting));
    }
    hmr2_meta::models::default_model(default_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_models_win_and_none_turns_the_detector_off() {
        assert_eq!(pose_model("/x/model.onnx"), Some(PathBuf::from("/x/model.onnx")));
        assert_eq!(detector_model("/x/det.onnx"), Some(PathBuf::from("/x/det.onnx")));
        assert_eq!(detector_model(NO_DETECTOR), None);
    }

    #[test]
    fn defaults_only_when_the_file_exists() {
        let dir = std::env::temp_dir().join(format!("hmr2-models-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = named_or_default("", "no-such-model.onnx");
        assert_eq!(missing, None);
        std::fs::write(dir.join("m.onnx"), b"x").unwrap();
        std::env::set_var(MODELS_DIR_ENV, &dir);
        assert_eq!(named_or_default("", "m.onnx"), Some(dir.join("m.onnx")));
        std::env::remove_var(MODELS_DIR_ENV);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
