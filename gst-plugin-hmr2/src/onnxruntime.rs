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
//! as [`OnnxRuntimeError`]s whose text names the cause, and panics from `ort` are caught at
//! this boundary.
//! ONNX Runtime's own log goes to the GStreamer debug category `hmr2-onnxruntime`
//! (warnings and errors only).

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, OnceLock};

use ort::environment::Environment;
use ort::ep;
use ort::logging::{LogLevel, LoggerFunction};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

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

static RUNTIME: OnceLock<Result<Runtime, LibraryError>> = OnceLock::new();

/// The library could not be loaded from any of the places searched. Kept for the whole
/// process (the search runs once), so it holds the causes as text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the ONNX Runtime library could not be loaded ({searched}). Tried: {}", .tried.join("; "))]
pub struct LibraryError {
    /// Where the library was looked for.
    pub searched: String,
    /// Each file tried, with why it could not be loaded.
    pub tried: Vec<String>,
}

/// ONNX Runtime panicked (inside `ort`), caught at this module's boundary.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("ONNX Runtime failed while {what}: {detail}")]
pub struct Panicked {
    pub what: String,
    pub detail: String,
}

/// Why ONNX Runtime could not load, open or run a model.
#[derive(Debug, thiserror::Error)]
pub enum OnnxRuntimeError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("model file '{}' does not exist", .0.display())]
    ModelFileMissing(PathBuf),
    /// The model is there but ONNX Runtime cannot load it (not ONNX, truncated, an
    /// unsupported operator).
    #[error("cannot load model {model}: {cause}")]
    ModelUnloadable {
        model: String,
        #[source]
        cause: ort::Error,
    },
    #[error("cannot make the input tensor of the {model}: {cause}")]
    InputTensor {
        model: &'static str,
        #[source]
        cause: ort::Error,
    },
    /// The run itself failed (a shape the graph rejects, a failing operator).
    #[error("the {model} failed: {cause}")]
    Run {
        model: &'static str,
        #[source]
        cause: ort::Error,
    },
    #[error("{values} input values for {crops} crops")]
    InputLength { values: usize, crops: usize },
    #[error("the {model} gave no '{output}'")]
    MissingOutput { model: &'static str, output: String },
    #[error("output '{output}' of the {model}: {cause}")]
    Output {
        model: &'static str,
        output: String,
        #[source]
        cause: ort::Error,
    },
    #[error("output '{output}' has {len} values for {crops} crops, expected {expected}")]
    OutputLength { output: &'static str, len: usize, crops: usize, expected: usize },
    #[error(transparent)]
    Panicked(#[from] Panicked),
}

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

/// Runs `f`, turning a panic into an error.
pub fn catch_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, Panicked> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let detail = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        Panicked { what: what.to_string(), detail: detail.to_string() }
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

fn load() -> Result<Runtime, LibraryError> {
    let env_value = std::env::var(DYLIB_ENV).ok();
    let mut failures = Vec::new();
    for path in candidates(env_value.as_deref()) {
        let attempt = catch_panic("loading its library", || {
            ort::init_from(&path).map_err(|e| e.to_string()).and_then(|builder| {
                builder.with_name("hmr2").with_logger(gst_logger()).build().map_err(|e| e.to_string())
            })
        });
        match attempt.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(environment) => {
                environment.set_log_level(LogLevel::Warning);
                return Ok(Runtime { path, environment });
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    let searched = match env_value.as_deref() {
        Some(v) if !v.is_empty() => format!("as {DYLIB_ENV} says"),
        _ => format!(
            "at the set-up script's place and on the system library path; run scripts/setup.sh \
             or set {DYLIB_ENV} to the library file"
        ),
    };
    Err(LibraryError { searched, tried: failures })
}

fn runtime() -> Result<&'static Runtime, LibraryError> {
    RUNTIME.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// Loads ONNX Runtime once per process and returns the library file it came from.
pub fn ensure_loaded() -> Result<PathBuf, LibraryError> {
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
) -> Result<(Session, Option<&'static str>), ort::Error> {
    let mut builder = Session::builder(environment)?;
    // Idle ONNX Runtime threads would otherwise spin and take the CPU time that the
    // streaming thread needs to prepare the next batch meanwhile.
    builder = builder.with_intra_op_spinning(false).unwrap_or_else(|e| e.recover());
    builder = builder.with_inter_op_spinning(false).unwrap_or_else(|e| e.recover());
    if options.threads > 0 {
        builder = builder.with_intra_threads(options.threads)?;
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
    }?;
    Ok((session, registered))
}

/// Opens a session. A GPU execution provider that cannot be used falls back to the next
/// one asked for (TensorRT to CUDA) and at last to the CPU, with a warning; a model that
/// cannot be read or loaded is an error.
pub fn open_session(source: ModelSource, options: &SessionOptions) -> Result<OpenedSession, OnnxRuntimeError> {
    let runtime = runtime()?;
    if let ModelSource::File(path) = source {
        if !path.is_file() {
            return Err(OnnxRuntimeError::ModelFileMissing(path.to_path_buf()));
        }
    }
    let unloadable = |cause| OnnxRuntimeError::ModelUnloadable { model: source.to_string(), cause };
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
                let (session, _) =
                    commit(&runtime.environment, source, options, vec![], &mut problems).map_err(unloadable)?;
                let warning = format!("the model cannot run on {asked} ({e}); running on the CPU");
                Ok(OpenedSession { session, warning: Some(warning) })
            }
            Err(e) => Err(unloadable(e)),
        }
    })?
}

/// How a model takes batches of crops through its one float32 input.
#[derive(Clone, Copy, Debug)]
pub struct CropInput {
    /// What the model is, for messages ("HMR2 network").
    pub model: &'static str,
    /// The input's name.
    pub name: &'static str,
    /// Channels, height and width of one crop.
    pub crop_shape: [usize; 3],
    /// The batch size the model fixes, `None` when it is symbolic.
    pub fixed_batch: Option<usize>,
}

impl CropInput {
    pub fn values_per_crop(&self) -> usize {
        self.crop_shape.iter().product()
    }
}

/// Runs `count` crops laid out one after the other in `crops` in groups: of exactly the
/// model's fixed batch, the last group padded with zero crops (`padded` is their storage),
/// or all in one group. `split` turns one group's float32 outputs, those named in
/// `outputs` in that order, into one result per crop of the group; the padding crops'
/// results are dropped.
pub fn run_crops<T>(
    session: &mut Session,
    input: &CropInput,
    (crops, count): (&[f32], usize),
    padded: &mut Vec<f32>,
    outputs: &[&str],
    mut split: impl FnMut(usize, &[&[f32]]) -> Result<Vec<T>, OnnxRuntimeError>,
) -> Result<Vec<T>, OnnxRuntimeError> {
    let per_crop = input.values_per_crop();
    if crops.len() != count * per_crop {
        return Err(OnnxRuntimeError::InputLength { values: crops.len(), crops: count });
    }
    let group = input.fixed_batch.unwrap_or(count.max(1));
    let [channels, height, width] = input.crop_shape;
    let model = input.model;
    let mut results = Vec::with_capacity(count);
    for chunk in crops.chunks(group * per_crop) {
        let n = chunk.len() / per_crop;
        let data = if n == group {
            chunk
        } else {
            padded.clear();
            padded.extend_from_slice(chunk);
            padded.resize(group * per_crop, 0.0);
            &padded[..]
        };
        let run = || -> Result<Vec<T>, OnnxRuntimeError> {
            let tensor = TensorRef::from_array_view(([group, channels, height, width], data))
                .map_err(|cause| OnnxRuntimeError::InputTensor { model, cause })?;
            let values = session
                .run(ort::inputs![input.name => tensor])
                .map_err(|cause| OnnxRuntimeError::Run { model, cause })?;
            let mut arrays = Vec::with_capacity(outputs.len());
            for &name in outputs {
                let value = values
                    .get(name)
                    .ok_or_else(|| OnnxRuntimeError::MissingOutput { model, output: name.to_string() })?;
                let (_, array) = value.try_extract_tensor::<f32>().map_err(|cause| OnnxRuntimeError::Output {
                    model,
                    output: name.to_string(),
                    cause,
                })?;
                arrays.push(array);
            }
            split(group, &arrays)
        };
        let mut group_results = catch_panic(&format!("running the {model}"), run)??;
        group_results.truncate(n);
        results.extend(group_results);
    }
    Ok(results)
}

/// Checks that each output, given as (name, values, values per crop), holds `crops` crops'
/// values.
pub fn check_output_lengths(crops: usize, outputs: &[(&'static str, usize, usize)]) -> Result<(), OnnxRuntimeError> {
    for &(output, len, per_crop) in outputs {
        if len != crops * per_crop {
            return Err(OnnxRuntimeError::OutputLength { output, len, crops, expected: crops * per_crop });
        }
    }
    Ok(())
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
        let err = catch_panic("testing", || panic!("boom")).unwrap_err().to_string();
        assert!(err.contains("boom") && err.contains("testing"), "{err}");
        assert_eq!(catch_panic("testing", || 3), Ok(3));
    }
}
