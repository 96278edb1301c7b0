//! The GPU side: one wgpu device per renderer, drawing every person of a frame into an
//! offscreen target the size of the window they cover, read back and blended on the CPU.
//!
//! Per frame ([`Renderer::render`]), one step each:
//!
//! 1. `scene`: choose the drawable people, skin them on the CPU (see [`crate::skinning`])
//!    and find the window and depth range they cover;
//! 2. `frame`: upload vertices and per-person instance data (clip matrix, colour), draw
//!    with depth testing, copy the window to a mapped buffer, blend it into the frame.
//!
//! [`StageTimings`] reports each stage. The rest is set up once per renderer: `context`
//! (device, queue and how their failures are caught), `pipelines` (shader and pipeline
//! state), `buffers` (index, vertex and instance buffers, render target and readback).
//!
//! Failures are [`RenderError`]s, never panics: every frame runs inside wgpu error scopes,
//! device loss is reported by a callback, and waits on the GPU have a timeout.

use std::time::{Duration, Instant};

use hmr2_meta::pose::FramePoses;

use crate::body_model::BodyModel;
use crate::composite::CompositeTarget;
use crate::projection::PixelRect;
use crate::style::Style;

mod buffers;
mod context;
mod frame;
mod pipelines;
mod scene;

use context::GpuContext;
use frame::FrameResources;
use scene::SceneBuilder;

/// Longest wait for the GPU to finish one frame's work before giving up.
pub const GPU_TIMEOUT: Duration = Duration::from_secs(10);

/// Which graphics API to render with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// Vulkan, then OpenGL (EGL) when no Vulkan adapter is found.
    #[default]
    Auto,
    Vulkan,
    Gl,
}

/// Why rendering failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("no GPU adapter found (backends tried: {tried})")]
    NoAdapter { tried: String },
    #[error("cannot open a GPU device on {adapter}: {reason}")]
    DeviceRequest { adapter: String, reason: String },
    #[error("GPU device lost: {0}")]
    DeviceLost(String),
    #[error("GPU out of memory while {0}")]
    OutOfMemory(String),
    #[error("GPU did not finish {0} within {secs} s", secs = GPU_TIMEOUT.as_secs())]
    Timeout(&'static str),
    #[error("GPU error while {context}: {message}")]
    Gpu { context: String, message: String },
    #[error("the people cover {width}x{height} pixels, more than the GPU's largest texture ({max})")]
    TooLarge { width: u32, height: u32, max: u32 },
}

/// Time spent in each stage of one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageTimings {
    /// Posing the bodies on the CPU (blend shapes, skinning, normals) and fitting the camera.
    pub skinning: Duration,
    /// Writing vertices and instance data to the GPU (and resizing targets when needed).
    pub upload: Duration,
    /// Recording, submitting and waiting for the draw.
    pub draw: Duration,
    /// Copying the window into a buffer and mapping it.
    pub readback: Duration,
    /// Blending the mapped pixels into the frame.
    pub composite: Duration,
}

impl StageTimings {
    pub fn total(&self) -> Duration {
        self.skinning + self.upload + self.draw + self.readback + self.composite
    }

    /// Every stage with its name, in order: the element's `stats` reports each as
    /// `<name>-ns`.
    pub fn stages(&self) -> [(&'static str, Duration); 5] {
        [
            ("skinning", self.skinning),
            ("upload", self.upload),
            ("draw", self.draw),
            ("readback", self.readback),
            ("composite", self.composite),
        ]
    }
}

impl std::ops::AddAssign for StageTimings {
    fn add_assign(&mut self, other: Self) {
        self.skinning += other.skinning;
        self.upload += other.upload;
        self.draw += other.draw;
        self.readback += other.readback;
        self.composite += other.composite;
    }
}

/// What one call to [`Renderer::render`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FrameReport {
    pub timings: StageTimings,
    /// Frame pixels rendered and composited (empty when nobody was visible).
    pub window: PixelRect,
    /// People drawn (people with invalid values are skipped).
    pub persons: usize,
}

/// One GPU render context and everything that stays between frames.
pub struct Renderer {
    // Field order is drop order: GPU objects before the device that made them.
    gpu: FrameResources,
    context: GpuContext,
    scenes: SceneBuilder,
    /// Display width of the frames' stored pixels (caps pixel-aspect-ratio).
    pixel_aspect: f32,
}

impl Renderer {
    /// Frames to come have stored pixels `pixel_aspect` wide: the poses' cameras are in
    /// display geometry ([`hmr2_meta::camera`]), drawn squeezed into stored pixels.
    pub fn set_pixel_aspect(&mut self, pixel_aspect: f32) {
        self.pixel_aspect = if pixel_aspect.is_finite() && pixel_aspect > 0.0 { pixel_aspect } else { 1.0 };
    }

    /// Opens a GPU device (trying the backends of `backend` in order) and prepares
    /// everything that does not change from frame to frame.
    pub fn new(model: &BodyModel, backend: BackendChoice) -> Result<Self, RenderError> {
        let context = GpuContext::open(backend)?;
        let scenes = SceneBuilder::new(model);
        let gpu = FrameResources::new(&context, &scenes)?;
        Ok(Self { gpu, context, scenes, pixel_aspect: 1.0 })
    }

    /// The adapter in use, e.g. "llvmpipe (LLVM 15.0.6, 256 bits) (vulkan)".
    pub fn adapter_description(&self) -> String {
        let info = &self.context.adapter_info;
        format!("{} ({})", info.name, info.backend)
    }

    pub fn backend(&self) -> wgpu::Backend {
        self.context.adapter_info.backend
    }

    /// Destroys the device, as a driver reset would: for testing the device-lost path.
    #[doc(hidden)]
    pub fn simulate_device_loss(&self) {
        self.context.device.destroy();
    }

    /// Draws every person of `poses` over `frame`. Frames whose people are all invisible
    /// (or invalid) are left untouched.
    pub fn render(
        &mut self,
        poses: &FramePoses,
        style: &Style,
        frame: &mut impl CompositeTarget,
    ) -> Result<FrameReport, RenderError> {
        self.render_frame(poses, style, frame).map_err(|err| {
            // A lost device shows first as failed operations; wgpu reports the loss itself
            // from its next maintenance pass, so run one and report the cause.
            match self.context.poll_lost_reason() {
                Some(reason) if !matches!(err, RenderError::DeviceLost(_)) => RenderError::DeviceLost(reason),
                _ => err,
            }
        })
    }

    fn render_frame(
        &mut self,
        poses: &FramePoses,
        style: &Style,
        frame: &mut impl CompositeTarget,
    ) -> Result<FrameReport, RenderError> {
        self.context.check_device()?;
        if style.opacity <= 0.0 {
            return Ok(FrameReport::default());
        }
        let mut report = FrameReport::default();
        let stage = Instant::now();
        let (width, height) = frame.size();
        let scene = self.scenes.build(poses, style, [width, height], self.pixel_aspect);
        report.timings.skinning = stage.elapsed();
        report.window = scene.window;
        report.persons = scene.people.len();
        if scene.window.is_empty() {
            return Ok(report);
        }
        self.check_fits(scene.window)?;

        let timings = &mut report.timings;
        let stage = Instant::now();
        self.gpu.upload(&self.context, &scene, &self.scenes, style.opacity)?;
        timings.upload = stage.elapsed();

        let stage = Instant::now();
        self.gpu.draw(&self.context, &scene, style.mode)?;
        timings.draw = stage.elapsed();

        let stage = Instant::now();
        self.gpu.read_back(&self.context, scene.window)?;
        timings.readback = stage.elapsed();

        let stage = Instant::now();
        self.gpu.composite(frame, scene.window)?;
        timings.composite = stage.elapsed();
        Ok(report)
    }

    /// The window must fit in one texture.
    fn check_fits(&self, window: PixelRect) -> Result<(), RenderError> {
        let max = self.context.max_texture_size;
        if window.width > max || window.height > max {
            return Err(RenderError::TooLarge { width: window.width, height: window.height, max });
        }
        Ok(())
    }
}
