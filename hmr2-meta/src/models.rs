//! Where the project's default model files live: the folder the set-up fills
//! (`scripts/setup.sh` converts the open models into the repository's `.deps/models/`), or
//! the one [`MODELS_DIR_ENV`] names. Both elements look there for their defaults.

use std::path::PathBuf;

/// Environment variable naming the folder of the default models.
pub const MODELS_DIR_ENV: &str = "HMR2_MODELS_DIR";

/// A models folder that does not exist. Named by [`MODELS_DIR_ENV`], it makes the elements
/// use what they carry (hmr2pose's bundled test network, meshoverlay's mannequin) instead
/// of the set-up's default models, as tests of their mechanics want.
pub const NO_MODELS_DIR: &str = "/nonexistent/hmr2-models";

/// Points [`MODELS_DIR_ENV`] at [`NO_MODELS_DIR`] for this process and the processes it
/// starts.
pub fn use_no_default_models() {
    std::env::set_var(MODELS_DIR_ENV, NO_MODELS_DIR);
}

/// The folder of the default models.
pub fn models_dir() -> PathBuf {
    match std::env::var_os(MODELS_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.deps/models")),
    }
}

/// `file` in the models folder, if it is there.
pub fn default_model(file: &str) -> Option<PathBuf> {
    Some(models_dir().join(file)).filter(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_default_models_finds_none() {
        use_no_default_models();
        assert_eq!(models_dir(), PathBuf::from(NO_MODELS_DIR));
        assert!(!models_dir().exists());
        assert_eq!(default_model("pose_landmark_full.onnx"), None);
    }
}
