//! Finding the ONNX Runtime shared library, and opening sessions on it.
//!
//! The library is looked up, once per process, in this order:
//! 1. the file named by the environment variable [`DYLIB_ENV`] (`ORT_DYLIB_PATH`), and only
//!    that file when the variable is set;
//! 2. the copy the project's set-up script puts at `<workspace>/.deps/onnxruntime/`, whose
//!    path is baked in at build time;
//! 3. `libonnxruntime.so.1`, then `libonnxruntime.so`, from the system's library path.
//!
//! Nothing here panics when the library is missing or ONNX Runtime fails: errors come back
//! as messages naming the cause, and panics from `ort` are caught at this boundary.
//! ONNX Runtime's own log goes to the GStreamer debug category `hmr2-onnxruntime`
//! (warnings and errors only).

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, OnceLock};

use ort::environment::Environment;
use ort::ep;
use ort::logging::{LogLevel, LoggerFunction};
use ort::session::Session;
use ort::value::{TensorElementType, ValueType};

use crate::model_contract::{DataType, TensorDesc};

/// Environment variable that names the library file to use instead of searching.
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";
/// Where the project's set-up script puts the library (baked in by build.rs).
pub const BUILD_TIME_PATH: &str = env!("HMR2_ORT_BUILD_PATH");
/// Names looked up on the system's library path, in order.
pub const SYSTEM_NAMES: [&str; 2] = ["libonnxruntime.so.1", "libonnxruntime.so"];

struct Runtime {
    path: PathBuf,
    environment: Environment,
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("hmr2-onnxruntime", gst::DebugColorFlags::empty(), Some("ONNX Runtime's log"))
});

fn gst_logger() -> LoggerFunction {
    Arc::new(|level, category, _id, location, message| match level {
        LogLevel::Error | LogLevel::Fatal => {
            gst::error!(CAT, "[{category}] {message} ({location})")
        }
        LogLevel::Warning => gst::warning!(CAT, "[{category}] {message} ({location})"),
        LogLevel::Info => gst::info!(CAT, "[{category}] {message} ({location})"),
        LogLevel::Verbose => gst::trace!(CAT, "[{category}] {message} ({location})"),
    })
}

/// Runs `f`, turning a panic into an error message.
pub fn catch_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let detail = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        format!("ONNX Runtime failed while {what}: {detail}")
    })
}

/// The library files to try, in order, given the value of [`DYLIB_ENV`].
pub fn candidates(env_value: Option<&str>) -> Vec<PathBuf> {
    match env_value {
        Some(path) if !path.is_empty() => vec![PathBuf::from(path)],
        _ => {
            let mut paths = Vec::new();
            if Path::new(BUILD_TIME_PATH).exists() {
                paths.push(PathBuf::from(BUILD_TIME_PATH));
            }
            paths.extend(SYSTEM_NAMES.iter().map(PathBuf::from));
            paths
        }
    }
}

fn load() -> Result<Runtime, String> {
    let env_value = std::env::var(DYLIB_ENV).ok();
    let mut failures = Vec::new();
    for path in candidates(env_value.as_deref()) {
        let attempt = catch_panic("loading its library", || {
            ort::init_from(&path).map_err(|e| e.to_string()).and_then(|builder| {
                builder.with_name("hmr2").with_logger(gst_logger()).build().map_err(|e| e.to_string())
            })
        });
        match attempt.and_then(|r| r) {
            Ok(environment) => {
                environment.set_log_level(LogLevel::Warning);
                return Ok(Runtime { path, environment });
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    let origin = match env_value.as_deref() {
        Some(v) if !v.is_empty() => format!("as {DYLIB_ENV} says"),
        _ => format!(
            "at the set-up script's place and on the system library path; run scripts/setup.sh \
             or set {DYLIB_ENV} to the library file"
        ),
    };
    Err(format!("the ONNX Runtime library could not be loaded ({origin}). Tried: {}", failures.join("; ")))
}

fn runtime() -> Result<&'static Runtime, String> {
    RUNTIME.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// Loads ONNX Runtime once per process and returns the library file it came from.
pub fn ensure_loaded() -> Result<PathBuf, String> {
    runtime().map(|r| r.path.clone())
}

/// Where ONNX Runtime runs a network.
#[derive(Debug, Eq, PartialEq, Hash, Clone, Copy, Default)]
pub enum ExecutionProvider {
    #[default]
    Cpu,
    Cuda,
    /// TensorRT, with CUDA for the parts it does not support.
    TensorRt,
}

/// How to open a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionOptions {
    pub provider: ExecutionProvider,
    pub device_id: i32,
    /// Intra-op threads; 0 leaves ONNX Runtime's default.
    pub threads: usize,
}

/// Where the model comes from.
#[derive(Clone, Copy, Debug)]
pub enum ModelSource<'a> {
    File(&'a Path),
    Memory(&'a [u8]),
}

impl std::fmt::Display for ModelSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "'{}'", path.display()),
            Self::Memory(bytes) => write!(f, "the bundled model ({} bytes)", bytes.len()),
        }
    }
}

/// An open session, and what did not go as asked (an execution provider that could not be
/// used), for the caller to report as a warning.
pub struct OpenedSession {
    pub session: Session,
    pub warning: Option<String>,
}

impl ExecutionProvider {
    fn nick(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
            Self::TensorRt => "tensorrt",
        }
    }
}

fn execution_providers(options: &SessionOptions) -> Vec<ep::ExecutionProviderDispatch> {
    let cuda = || ep::CUDA::default().with_device_id(options.device_id).build().error_on_failure();
    match options.provider {
        ExecutionProvider::Cpu => vec![],
        ExecutionProvider::Cuda => vec![cuda()],
        ExecutionProvider::TensorRt => {
            vec![ep::TensorRT::default().with_device_id(options.device_id).build().error_on_failure(), cuda()]
        }
    }
}

/// Builds a session with the given providers, in order; returns it and the name of the
/// first provider that could be registered, if any.
fn commit(
    environment: &Environment,
    source: ModelSource,
    options: &SessionOptions,
    providers: Vec<ep::ExecutionProviderDispatch>,
    problems: &mut Vec<String>,
) -> Result<(Session, Option<&'static str>), String> {
    let mut builder = Session::builder(environment).map_err(|e| e.to_string())?;
    // Idle ONNX Runtime threads would otherwise spin and take the CPU time that the
    // streaming thread needs to prepare the next batch meanwhile.
    builder = builder.with_intra_op_spinning(false).unwrap_or_else(|e| e.recover());
    builder = builder.with_inter_op_spinning(false).unwrap_or_else(|e| e.recover());
    if options.threads > 0 {
        builder = builder.with_intra_threads(options.threads).map_err(|e| e.to_string())?;
    }
    let mut registered = None;
    for provider in providers {
        let name = provider.name();
        builder = match builder.with_execution_providers([provider]) {
            Ok(b) => {
                registered.get_or_insert(name);
                b
            }
            Err(e) => {
                problems.push(e.to_string());
                e.recover()
            }
        };
    }
    let session = match source {
        ModelSource::File(path) => builder.commit_from_file(path),
        ModelSource::Memory(bytes) => builder.commit_from_memory(bytes),
    }
    .map_err(|e| e.to_string())?;
    Ok((session, registered))
}

/// Opens a session. A GPU execution provider that cannot be used falls back to the next
/// one asked for (TensorRT to CUDA) and at last to the CPU, with a warning; a model that
/// cannot be read or loaded is an error.
pub fn open_session(source: ModelSource, options: &SessionOptions) -> Result<OpenedSession, String> {
    let runtime = runtime()?;
    if let ModelSource::File(path) = source {
        if !path.is_file() {
            return Err(format!("model file '{}' does not exist", path.display()));
        }
    }
    let asked = options.provider.nick();
    catch_panic("opening a model", || {
        let mut problems = Vec::new();
        let providers = execution_providers(options);
        let asked_gpu = !providers.is_empty();
        let first_choice = providers.first().map(|p| p.name());
        match commit(&runtime.environment, source, options, providers, &mut problems) {
            Ok((session, registered)) => {
                let warning = match registered {
                    _ if !asked_gpu => None,
                    None => Some(format!("{asked} is unavailable ({}); running on the CPU", problems.join("; "))),
                    Some(used) if Some(used) != first_choice => {
                        Some(format!("{asked} is unavailable ({}); running on {used}", problems.join("; ")))
                    }
                    Some(_) => None,
                };
                Ok(OpenedSession { session, warning })
            }
            Err(e) if asked_gpu => {
                // A provider registered but the session could not be built on it.
                let (session, _) = commit(&runtime.environment, source, options, vec![], &mut problems)
                    .map_err(|e| format!("cannot load model {source}: {e}"))?;
                let warning = format!("the model cannot run on {asked} ({e}); running on the CPU");
                Ok(OpenedSession { session, warning: Some(warning) })
            }
            Err(e) => Err(format!("cannot load model {source}: {e}")),
        }
    })?
}

fn data_type(ty: TensorElementType) -> DataType {
    match ty {
        TensorElementType::Float32 => DataType::Float32,
        TensorElementType::Float16 => DataType::Float16,
        TensorElementType::Float64 => DataType::Float64,
        TensorElementType::Int64 => DataType::Int64,
        TensorElementType::Int32 => DataType::Int32,
        TensorElementType::Uint8 => DataType::Uint8,
        other => DataType::Other(format!("{other:?}").to_lowercase()),
    }
}

fn describe(name: &str, value_type: &ValueType) -> TensorDesc {
    match value_type {
        ValueType::Tensor { ty, shape, .. } => TensorDesc {
            name: name.to_string(),
            dtype: data_type(*ty),
            dims: shape.iter().map(|&d| (d >= 0).then_some(d)).collect(),
        },
        other => TensorDesc { name: name.to_string(), dtype: DataType::Other(format!("{other:?}")), dims: vec![] },
    }
}

/// Plain descriptions of a session's inputs and outputs, for contract checks.
pub fn signature(session: &Session) -> (Vec<TensorDesc>, Vec<TensorDesc>) {
    let inputs = session.inputs().iter().map(|o| describe(o.name(), o.dtype())).collect();
    let outputs = session.outputs().iter().map(|o| describe(o.name(), o.dtype())).collect();
    (inputs, outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_overrides_the_search() {
        assert_eq!(candidates(Some("/opt/ort/libonnxruntime.so")), vec![PathBuf::from("/opt/ort/libonnxruntime.so")]);
        let searched = candidates(None);
        assert_eq!(searched.last(), Some(&PathBuf::from("libonnxruntime.so")));
        assert_eq!(candidates(Some("")), searched);
    }

    #[test]
    fn panics_become_errors() {
        let err = catch_panic("testing", || panic!("boom")).unwrap_err();
        assert!(err.contains("boom") && err.contains("testing"), "{err}");
        assert_eq!(catch_panic("testing", || 3), Ok(3));
    }
}
