//! What a job is: its state, the options a client may set, its progress, and the JSON the
//! API answers with. Pure: no I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use thiserror::Error;

use crate::progress_report::StageStats;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] = [Self::Queued, Self::Running, Self::Succeeded, Self::Failed, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown job state '{0}'")]
pub struct UnknownState(pub String);

impl FromStr for JobState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| UnknownState(s.to_owned()))
    }
}

/// Which files a job writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outputs {
    Video,
    Poses,
    Both,
}

impl Outputs {
    pub fn video(self) -> bool {
        matches!(self, Self::Video | Self::Both)
    }
    pub fn poses(self) -> bool {
        matches!(self, Self::Poses | Self::Both)
    }
}

/// The options a client may give with its upload (multipart text fields of these names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOptions {
    /// A file name in the operator's `--models-dir` (hmr2pose `model`).
    pub model: Option<String>,
    /// A file name in `--models-dir` (meshoverlay `body-model`).
    pub body_model: Option<String>,
    pub batch_size: Option<u32>,
    /// hmr2track between the elements (default on).
    pub track: bool,
    pub outputs: Outputs,
    /// Stop after this many frames.
    pub max_frames: Option<u64>,
    /// When drawing the meshes fails, deliver the original frames with the poses instead of
    /// failing the job (default on).
    pub fallback: bool,
    /// A server-side file or an http(s) URI to read instead of an upload, when the operator
    /// allows it (`--allow-source`).
    #[serde(default)]
    pub source: Option<String>,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            model: None,
            body_model: None,
            batch_size: None,
            track: true,
            outputs: Outputs::Both,
            max_frames: None,
            fallback: true,
            source: None,
        }
    }
}

/// A client's option that cannot be used; the API answers 400 with this text.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum OptionError {
    #[error(
        "unknown option '{0}' (known: model, body_model, batch_size, track, outputs, max_frames, fallback, source)"
    )]
    Unknown(String),
    #[error("option '{name}': {why}")]
    Invalid { name: String, why: String },
}

fn invalid(name: &str, why: impl Into<String>) -> OptionError {
    OptionError::Invalid { name: name.to_owned(), why: why.into() }
}

fn positive<T: FromStr + PartialOrd + Default>(name: &str, value: &str) -> Result<T, OptionError> {
    match value.trim().parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        _ => Err(invalid(name, format!("expected a positive whole number, not '{value}'"))),
    }
}

fn boolean(name: &str, value: &str) -> Result<bool, OptionError> {
    match value.trim() {
        "true" | "1" | "on" | "yes" => Ok(true),
        "false" | "0" | "off" | "no" => Ok(false),
        _ => Err(invalid(name, format!("expected true or false, not '{value}'"))),
    }
}

/// A plain file name: no folders, nothing hidden (it is looked up in `--models-dir`).
fn file_name(name: &str, value: &str) -> Result<String, OptionError> {
    let ok = !value.is_empty()
        && !value.starts_with('.')
        && !value.contains(['/', '\\', '\0'])
        && Path::new(value).file_name().is_some_and(|f| f == value);
    if ok {
        Ok(value.to_owned())
    } else {
        Err(invalid(name, format!("expected a file name in the server's models folder, not '{value}'")))
    }
}

impl JobOptions {
    /// Sets one option from its text form, as given in a multipart field.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), OptionError> {
        match name {
            "model" => self.model = Some(file_name(name, value)?),
            "body_model" => self.body_model = Some(file_name(name, value)?),
            "batch_size" => self.batch_size = Some(positive(name, value)?),
            "max_frames" => self.max_frames = Some(positive(name, value)?),
            "track" => self.track = boolean(name, value)?,
            "fallback" => self.fallback = boolean(name, value)?,
            "source" => self.source = Some(value.trim().to_owned()),
            "outputs" => {
                self.outputs = match value.trim() {
                    "video" => Outputs::Video,
                    "poses" => Outputs::Poses,
                    "both" => Outputs::Both,
                    _ => return Err(invalid(name, format!("expected video, poses or both, not '{value}'"))),
                }
            }
            _ => return Err(OptionError::Unknown(name.to_owned())),
        }
        Ok(())
    }

    /// The `source`, checked against the prefixes the operator allows: a file path (no `..`)
    /// or an http(s) URI starting with one of them.
    pub fn check_source(&self, allowed: &[String]) -> Result<(), OptionError> {
        let Some(source) = &self.source else { return Ok(()) };
        if allowed.is_empty() {
            return Err(invalid("source", "this server takes uploads only (no --allow-source)"));
        }
        let is_uri = source.starts_with("http://") || source.starts_with("https://");
        if !is_uri && !source.starts_with('/') {
            return Err(invalid("source", format!("expected an absolute path or an http(s) URI, not '{source}'")));
        }
        if source.split(['/', '\\']).any(|part| part == "..") {
            return Err(invalid("source", "'..' is not allowed"));
        }
        if !allowed.iter().any(|prefix| source.starts_with(prefix.as_str())) {
            return Err(invalid("source", format!("'{source}' is not under a location this server allows")));
        }
        Ok(())
    }

    /// The model files, checked against the operator's folder (None: selection disabled).
    pub fn check_models(&self, models_dir: Option<&Path>) -> Result<(), OptionError> {
        for (name, value) in [("model", &self.model), ("body_model", &self.body_model)] {
            let Some(value) = value else { continue };
            let Some(dir) = models_dir else {
                return Err(invalid(name, "this server does not let jobs choose models (no --models-dir)"));
            };
            if !dir.join(value).is_file() {
                return Err(invalid(name, format!("no file '{value}' in the server's models folder")));
            }
        }
        Ok(())
    }
}

/// Where a job's files live, under the service's data folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFiles {
    pub dir: PathBuf,
}

impl JobFiles {
    pub fn new(data_dir: &Path, id: &str) -> Self {
        Self { dir: data_dir.join("jobs").join(id) }
    }
    pub fn input(&self) -> PathBuf {
        self.dir.join("input")
    }
    pub fn video(&self) -> PathBuf {
        self.dir.join("video.mp4")
    }
    pub fn poses(&self) -> PathBuf {
        self.dir.join("poses.jsonl")
    }
}

/// The `hmr2-launch file` arguments that run a job (after the program name);
/// `without_overlay`: the fallback run, whose video holds the original frames.
pub fn run_arguments(
    options: &JobOptions,
    files: &JobFiles,
    models_dir: Option<&Path>,
    without_overlay: bool,
) -> Vec<String> {
    let input = options.source.clone().unwrap_or_else(|| files.input().to_string_lossy().into_owned());
    let mut args = vec!["file".to_owned(), input];
    args.extend(["-q".to_owned(), "--progress-json".to_owned()]);
    if without_overlay {
        args.push("--no-overlay".to_owned());
    }
    if options.outputs.video() {
        args.extend(["-o".to_owned(), files.video().to_string_lossy().into_owned()]);
    }
    if options.outputs.poses() {
        args.extend(["--poses".to_owned(), files.poses().to_string_lossy().into_owned()]);
    }
    let in_models = |name: &String| models_dir.map_or_else(|| PathBuf::from(name), |d| d.join(name));
    if let Some(m) = &options.model {
        args.extend(["--model".to_owned(), in_models(m).to_string_lossy().into_owned()]);
    }
    if let Some(m) = &options.body_model {
        args.extend(["--body-model".to_owned(), in_models(m).to_string_lossy().into_owned()]);
    }
    if let Some(n) = options.batch_size {
        args.extend(["--batch-size".to_owned(), n.to_string()]);
    }
    if let Some(n) = options.max_frames {
        args.extend(["--max-frames".to_owned(), n.to_string()]);
    }
    if !options.track {
        args.push("--no-track".to_owned());
    }
    args
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub state: JobState,
    pub options: JobOptions,
    /// The uploaded file's name, as the client sent it.
    pub input_name: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub frames_done: u64,
    pub frames_total: Option<u64>,
    /// Frames per second of the current (or last) run.
    pub fps: Option<f64>,
    pub stats: Vec<StageStats>,
    pub error: Option<String>,
    /// Runs started (a restart after a crash runs a job again).
    pub attempts: u32,
    pub cancel_requested: bool,
    /// The outputs hold only part of the input (a cancelled run).
    pub partial: bool,
    /// Set when drawing failed and the video holds the original frames (the `fallback`
    /// option): why.
    pub degraded: Option<String>,
}

impl Job {
    pub fn new(id: String, options: JobOptions, input_name: String, created_ms: i64) -> Self {
        Self {
            id,
            state: JobState::Queued,
            options,
            input_name,
            created_ms,
            started_ms: None,
            finished_ms: None,
            frames_done: 0,
            frames_total: None,
            fps: None,
            stats: Vec::new(),
            error: None,
            attempts: 0,
            cancel_requested: false,
            partial: false,
            degraded: None,
        }
    }

    /// Seconds left at the current rate, while running.
    pub fn eta_s(&self) -> Option<f64> {
        let (total, fps) = (self.frames_total?, self.fps?);
        (self.state == JobState::Running && fps > 0.0).then(|| total.saturating_sub(self.frames_done) as f64 / fps)
    }

    /// Outputs that can be downloaded: a finished or cancelled run's.
    pub fn outputs_ready(&self) -> bool {
        matches!(self.state, JobState::Succeeded | JobState::Cancelled) && self.frames_done > 0
    }

    /// The API's JSON for this job; `base` is the path prefix of job URLs (`/v1/jobs`).
    pub fn to_json(&self, base: &str) -> Value {
        let url = format!("{base}/{}", self.id);
        let stages: Vec<Value> = self
            .stats
            .iter()
            .map(|s| {
                let per_frame: BTreeMap<&str, f64> = s
                    .stages_ns
                    .iter()
                    .filter(|_| s.frames.unwrap_or(0) > 0)
                    .map(|(k, ns)| (k.as_str(), *ns as f64 / 1e6 / s.frames.unwrap_or(1) as f64))
                    .collect();
                json!({
                    "element": s.element,
                    "frames": s.frames,
                    "persons": s.persons,
                    "total_ms": s.stages_ns.iter().map(|(k, ns)| (k.clone(), *ns as f64 / 1e6)).collect::<BTreeMap<_, _>>(),
                    "ms_per_frame": per_frame,
                })
            })
            .collect();
        let mut links = serde_json::Map::new();
        links.insert("self".into(), json!(url));
        if self.outputs_ready() {
            if self.options.outputs.video() {
                links.insert("video".into(), json!(format!("{url}/video")));
            }
            if self.options.outputs.poses() {
                links.insert("poses".into(), json!(format!("{url}/poses")));
            }
        }
        json!({
            "id": self.id,
            "url": url,
            "state": self.state,
            "input_name": self.input_name,
            "options": self.options,
            "created_ms": self.created_ms,
            "started_ms": self.started_ms,
            "finished_ms": self.finished_ms,
            "progress": {
                "frames_done": self.frames_done,
                "frames_total": self.frames_total,
                "fps": self.fps,
                "eta_s": self.eta_s(),
            },
            "stages": stages,
            "error": self.error,
            "attempts": self.attempts,
            "cancel_requested": self.cancel_requested,
            "partial": self.partial,
            "degraded": self.degraded,
            "links": links,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_refuse_with_the_cause() {
        let mut o = JobOptions::default();
        o.set("outputs", "poses").unwrap();
        o.set("track", "false").unwrap();
        o.set("batch_size", "4").unwrap();
        o.set("max_frames", "10").unwrap();
        assert!(o.fallback);
        o.set("fallback", "off").unwrap();
        assert!(!o.fallback);
        assert_eq!(o.outputs, Outputs::Poses);
        assert!(!o.track);
        assert_eq!((o.batch_size, o.max_frames), (Some(4), Some(10)));
        assert_eq!(o.set("colour", "red"), Err(OptionError::Unknown("colour".into())));
        assert!(o.set("batch_size", "0").unwrap_err().to_string().contains("positive"));
        assert!(o.set("batch_size", "x").is_err());
        assert!(o.set("outputs", "all").unwrap_err().to_string().contains("video, poses or both"));
        assert!(o.set("track", "maybe").is_err());
        for bad in ["../secret.onnx", "/etc/passwd", ".hidden", "", "a/b.onnx"] {
            assert!(o.set("model", bad).is_err(), "{bad}");
        }
        o.set("model", "hmr2.onnx").unwrap();
        assert!(o.check_models(None).unwrap_err().to_string().contains("--models-dir"));
        let dir = std::env::temp_dir();
        assert!(o.check_models(Some(&dir.join("no-such-dir-hmr2"))).unwrap_err().to_string().contains("no file"));
    }

    #[test]
    fn sources_must_be_allowed() {
        let mut o = JobOptions::default();
        assert_eq!(o.check_source(&[]), Ok(()), "no source, nothing to check");
        o.set("source", "/srv/videos/a.mp4").unwrap();
        assert!(o.check_source(&[]).unwrap_err().to_string().contains("--allow-source"));
        let allowed = ["/srv/videos/".to_owned(), "https://media.example/".to_owned()];
        assert_eq!(o.check_source(&allowed), Ok(()));
        for bad in [
            "/srv/videos/../../etc/passwd",
            "/etc/passwd",
            "videos/a.mp4",
            "https://elsewhere/a.mp4",
            "file:///srv/videos/a.mp4",
        ] {
            o.set("source", bad).unwrap();
            assert!(o.check_source(&allowed).is_err(), "{bad}");
        }
        o.set("source", "https://media.example/clip.mp4").unwrap();
        assert_eq!(o.check_source(&allowed), Ok(()));
        let a = run_arguments(&o, &JobFiles::new(Path::new("/d"), "j"), None, false);
        assert_eq!(a[1], "https://media.example/clip.mp4");
    }

    #[test]
    fn states_round_trip() {
        for s in JobState::ALL {
            assert_eq!(s.as_str().parse::<JobState>(), Ok(s));
        }
        assert!("done".parse::<JobState>().is_err());
        assert!(JobState::Cancelled.is_final() && !JobState::Running.is_final());
    }

    #[test]
    fn arguments_follow_the_options() {
        let files = JobFiles::new(Path::new("/data"), "abc");
        let mut o = JobOptions::default();
        let a = run_arguments(&o, &files, None, false);
        assert_eq!(
            a,
            [
                "file",
                "/data/jobs/abc/input",
                "-q",
                "--progress-json",
                "-o",
                "/data/jobs/abc/video.mp4",
                "--poses",
                "/data/jobs/abc/poses.jsonl"
            ]
        );
        o.outputs = Outputs::Poses;
        o.track = false;
        o.model = Some("m.onnx".into());
        o.batch_size = Some(2);
        let a = run_arguments(&o, &files, Some(Path::new("/models")), true);
        assert!(a.contains(&"--no-overlay".to_owned()));
        assert!(!a.contains(&"-o".to_owned()));
        assert!(a.windows(2).any(|w| w == ["--model", "/models/m.onnx"]));
        assert!(a.windows(2).any(|w| w == ["--batch-size", "2"]));
        assert!(a.contains(&"--no-track".to_owned()));
    }

    #[test]
    fn json_has_progress_eta_and_links_when_ready() {
        let mut j = Job::new("j1".into(), JobOptions::default(), "clip.mp4".into(), 1);
        j.state = JobState::Running;
        j.frames_done = 30;
        j.frames_total = Some(90);
        j.fps = Some(10.0);
        let v = j.to_json("/v1/jobs");
        assert_eq!(v["url"], "/v1/jobs/j1");
        assert_eq!(v["state"], "running");
        assert_eq!(v["progress"]["eta_s"], 6.0);
        assert!(v["links"].get("video").is_none());
        j.state = JobState::Succeeded;
        j.frames_done = 90;
        j.stats = vec![StageStats {
            element: "hmr2pose".into(),
            frames: Some(90),
            persons: Some(90),
            stages_ns: [("inference".to_owned(), 90_000_000)].into_iter().collect(),
        }];
        let v = j.to_json("/v1/jobs");
        assert_eq!(v["progress"]["eta_s"], Value::Null);
        assert_eq!(v["links"]["video"], "/v1/jobs/j1/video");
        assert_eq!(v["links"]["poses"], "/v1/jobs/j1/poses");
        assert_eq!(v["stages"][0]["ms_per_frame"]["inference"], 1.0);
    }
}
