//! Where the project's default model files live: the folder the set-up fills
//! (`scripts/setup.sh` converts the open models into the repository's `.deps/models/`), or
//! the one [`MODELS_DIR_ENV`] names. Both elements look there for their defaults.

use std::path::PathBuf;

/// Environment variable naming the folder of the default models.
pub const MODELS_DIR_ENV: &str = "HMR2_MODELS_DIR";

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
