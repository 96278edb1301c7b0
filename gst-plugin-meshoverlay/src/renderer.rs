//! The GPU side: one wgpu device per renderer, drawing every person of a frame into an
//! offscreen target the size of the window they cover, read back and blended on the CPU.
//!
//! Per frame: skin on the CPU (see [`crate::skinning`]), upload vertices and per-person
//! instance data (clip matrix, colour), draw with depth testing, copy the window to a
//! mapped buffer, blend it into the frame. [`StageTimings`] reports each stage.
//!
//! Failures are [`RenderError`]s, never panics: every frame runs inside wgpu error scopes,
//! device loss is reported by a callback, and waits on the GPU have a timeout.

use std::borrow::Cow;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use hmr2_meta::math::determinant;
use hmr2_meta::pose::FramePoses;

use crate::body_model::BodyModel;
use crate::composite::{blend_premultiplied, FrameMut};
use crate::geometry::{unique_edges, SkeletonMesher};
use crate::projection::{clip_from_camera, PixelRect, SceneBounds};
use crate::skinning::{vertex_normals, BodyPose, PosedBody, Skinner};
use crate::style::{person_color, RenderMode, Style};

/// Longest wait for the GPU to finish one frame's work before giving up.
pub const GPU_TIMEOUT: Duration = Duration::from_secs(10);
/// Render targets are allocated in steps of this many pixels so that a window that
/// changes a little from frame to frame reuses them.
const TARGET_GRANULARITY: u32 = 64;
const COLOR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

/// Which graphics API to render with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// Vulkan, then OpenGL (EGL) when no Vulkan adapter is found.
    #[default]
    Auto,
    Vulkan,
    Gl,
}

impl BackendChoice {
    fn attempts(self) -> &'static [(wgpu::Backends, &'static str)] {
        const VULKAN: (wgpu::Backends, &str) = (wgpu::Backends::VULKAN, "Vulkan");
        const GL: (wgpu::Backends, &str) = (wgpu::Backends::GL, "GL");
        match self {
            Self::Auto => &[VULKAN, GL],
            Self::Vulkan => &[VULKAN],
            Self::Gl => &[GL],
        }
    }
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
    #[error(
        "the people cover {width}x{height} pixels, more than the GPU's largest texture ({max})"
    )]
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

/// Per-person data the vertex shader reads as an instance: the clip matrix columns and
/// the colour (alpha = opacity).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Instance {
    clip_from_camera: [[f32; 4]; 4],
    color: [u8; 4],
}

struct Target {
    width: u32,
    height: u32,
    color: wgpu::Texture,
    color_view: wgpu::TextureView,
    depth_view: wgpu::TextureView,
    readback: wgpu::Buffer,
    readback_stride: u32,
}

/// A vertex or instance buffer that is replaced by a larger one when it runs out.
struct GrowingBuffer {
    label: &'static str,
    usage: wgpu::BufferUsages,
    buffer: Option<wgpu::Buffer>,
}

impl GrowingBuffer {
    fn new(label: &'static str, usage: wgpu::BufferUsages) -> Self {
        Self {
            label,
            usage: usage | wgpu::BufferUsages::COPY_DST,
            buffer: None,
        }
    }

    fn write(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, data: &[u8]) {
        let needed = (data.len() as u64)
            .max(4)
            .next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        if self.buffer.as_ref().is_none_or(|b| b.size() < needed) {
            self.buffer = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size: needed.next_power_of_two(),
                usage: self.usage,
                mapped_at_creation: false,
            }));
        }
        if !data.is_empty() {
            queue.write_buffer(self.buffer.as_ref().unwrap(), 0, data);
        }
    }

    fn slice(&self) -> wgpu::BufferSlice<'_> {
        self.buffer
            .as_ref()
            .expect("written before drawing")
            .slice(..)
    }
}

/// Culled and two-sided variants of a pipeline: bodies posed with proper rotations keep
/// their outward (counter-clockwise) winding and skip their back faces, which halves the
/// rasteriser's work; anything else (a mirroring matrix, the skeleton's tubes) is drawn
/// two-sided.
struct PipelinePair {
    culled: wgpu::RenderPipeline,
    two_sided: wgpu::RenderPipeline,
}

impl PipelinePair {
    fn pick(&self, cull: bool) -> &wgpu::RenderPipeline {
        if cull {
            &self.culled
        } else {
            &self.two_sided
        }
    }
}

struct Pipelines {
    solid: PipelinePair,
    depth_prepass: PipelinePair,
    lines: wgpu::RenderPipeline,
}

/// The three error scopes every GPU operation of a frame runs in.
struct ErrorScopes(Vec<wgpu::ErrorScopeGuard>);

impl ErrorScopes {
    fn push(device: &wgpu::Device) -> Self {
        Self(vec![
            device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
            device.push_error_scope(wgpu::ErrorFilter::Validation),
            device.push_error_scope(wgpu::ErrorFilter::Internal),
        ])
    }

    /// Pops the scopes (innermost first) and turns the first captured error into a
    /// [`RenderError`].
    fn pop(mut self, context: &str) -> Result<(), RenderError> {
        let mut errors = Vec::new();
        while let Some(scope) = self.0.pop() {
            // wgpu-core resolves the future immediately; nothing waits on the GPU here.
            errors.extend(pollster::block_on(scope.pop()));
        }
        // Running out of memory is the cause to report when it led to other errors.
        if errors
            .iter()
            .any(|e| matches!(e, wgpu::Error::OutOfMemory { .. }))
        {
            return Err(RenderError::OutOfMemory(context.into()));
        }
        match errors.into_iter().next() {
            None => Ok(()),
            Some(error) => Err(RenderError::Gpu {
                context: context.into(),
                message: error.to_string(),
            }),
        }
    }
}

impl Drop for ErrorScopes {
    /// Scopes left unpopped (an early return) are dropped innermost first, as wgpu requires.
    fn drop(&mut self) {
        while let Some(scope) = self.0.pop() {
            drop(scope);
        }
    }
}

/// One GPU render context and everything that stays between frames.
pub struct Renderer {
    // Field order is drop order: GPU objects before the device, the device before the instance.
    target: Option<Target>,
    positions: GrowingBuffer,
    normals: GrowingBuffer,
    instances: GrowingBuffer,
    face_indices: wgpu::Buffer,
    edge_indices: wgpu::Buffer,
    skeleton_indices: wgpu::Buffer,
    pipelines: Pipelines,
    queue: wgpu::Queue,
    device: wgpu::Device,
    _instance: wgpu::Instance,
    adapter_info: wgpu::AdapterInfo,
    max_texture_size: u32,
    device_lost: Arc<Mutex<Option<String>>>,
    uncaptured: Arc<Mutex<Option<String>>>,

    skinner: Skinner,
    skeleton: SkeletonMesher,
    num_face_indices: u32,
    num_edge_indices: u32,
    // Scratch kept between frames to avoid reallocating.
    poses: Vec<BodyPose>,
    posed: Vec<PosedBody>,
    vertex_positions: Vec<[f32; 3]>,
    vertex_normals: Vec<[f32; 3]>,
    person_normals: Vec<[f32; 3]>,
}

fn request_device(
    choice: BackendChoice,
) -> Result<(wgpu::Instance, wgpu::Adapter, wgpu::Device, wgpu::Queue), RenderError> {
    let mut tried = Vec::new();
    for &(backends, name) in choice.attempts() {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = backends;
        // Validation layers and debug labels cost time and are not installed on users' machines.
        descriptor.flags = wgpu::InstanceFlags::empty().with_env();
        let instance = wgpu::Instance::new(descriptor);
        let adapter =
            match pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })) {
                Ok(adapter) => adapter,
                Err(err) => {
                    tried.push(format!(
                        "{name}: {}",
                        adapter_failure(backends, &err.to_string())
                    ));
                    continue;
                }
            };
        let info = adapter.get_info();
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("meshoverlay"),
            // The adapter's own limits: frames can be larger than the portable 2048/8192.
            required_limits: adapter.limits(),
            ..Default::default()
        };
        return match pollster::block_on(adapter.request_device(&descriptor)) {
            Ok((device, queue)) => Ok((instance, adapter, device, queue)),
            Err(err) => Err(RenderError::DeviceRequest {
                adapter: format!("{} ({:?})", info.name, info.backend),
                reason: err.to_string(),
            }),
        };
    }
    Err(RenderError::NoAdapter {
        tried: tried.join("; "),
    })
}

/// The part of wgpu's adapter error about `backends` (it lists every backend it knows,
/// mostly "not requested"), or the whole message when that part cannot be found.
fn adapter_failure(backends: wgpu::Backends, message: &str) -> String {
    let names: Vec<String> = backends
        .iter_names()
        .map(|(name, _)| name.to_lowercase())
        .collect();
    let relevant: Vec<&str> = message
        .split([',', ';'])
        .map(str::trim)
        .filter(|part| {
            names
                .iter()
                .any(|name| part.to_lowercase().contains(name.as_str()))
        })
        .filter(|part| !part.ends_with("not requested"))
        .collect();
    if relevant.is_empty() {
        message.to_string()
    } else {
        relevant.join(", ")
    }
}

fn create_pipelines(device: &wgpu::Device) -> Pipelines {
    let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("meshoverlay mesh shader"),
        source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(include_str!("shaders/mesh.wgsl"))),
    });
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("meshoverlay"),
        bind_group_layouts: &[],
        immediate_size: 0,
    });
    let position_attributes = wgpu::vertex_attr_array![0 => Float32x3];
    let normal_attributes = wgpu::vertex_attr_array![1 => Float32x3];
    let instance_attributes = wgpu::vertex_attr_array![
        2 => Float32x4, 3 => Float32x4, 4 => Float32x4, 5 => Float32x4, 6 => Unorm8x4
    ];
    let buffers = [
        Some(wgpu::VertexBufferLayout {
            array_stride: 12,
            step_mode: wgpu::VertexStepMode::Vertex,
            attributes: &position_attributes,
        }),
        Some(wgpu::VertexBufferLayout {
            array_stride: 12,
            step_mode: wgpu::VertexStepMode::Vertex,
            attributes: &normal_attributes,
        }),
        Some(wgpu::VertexBufferLayout {
            array_stride: std::mem::size_of::<Instance>() as u64,
            step_mode: wgpu::VertexStepMode::Instance,
            attributes: &instance_attributes,
        }),
    ];
    let make = |label: &str,
                topology: wgpu::PrimitiveTopology,
                cull_mode: Option<wgpu::Face>,
                fragment_entry: &str,
                write_mask: wgpu::ColorWrites,
                depth_compare: wgpu::CompareFunction,
                bias: wgpu::DepthBiasState| {
        device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(label),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: &shader,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &buffers,
            },
            primitive: wgpu::PrimitiveState {
                topology,
                // The camera frame is right-handed with y down; its y flip into clip space
                // leaves outward faces counter-clockwise on screen.
                front_face: wgpu::FrontFace::Ccw,
                cull_mode,
                ..Default::default()
            },
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(true),
                depth_compare: Some(depth_compare),
                stencil: Default::default(),
                bias,
            }),
            multisample: Default::default(),
            fragment: Some(wgpu::FragmentState {
                module: &shader,
                entry_point: Some(fragment_entry),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: COLOR_FORMAT,
                    blend: None,
                    write_mask,
                })],
            }),
            multiview_mask: None,
            cache: None,
        })
    };
    use wgpu::{ColorWrites, CompareFunction, DepthBiasState, Face, PrimitiveTopology};
    let pair = |label: &str, write_mask, bias| PipelinePair {
        culled: make(
            label,
            PrimitiveTopology::TriangleList,
            Some(Face::Back),
            "fs_main",
            write_mask,
            CompareFunction::Less,
            bias,
        ),
        two_sided: make(
            label,
            PrimitiveTopology::TriangleList,
            None,
            "fs_main",
            write_mask,
            CompareFunction::Less,
            bias,
        ),
    };
    Pipelines {
        solid: pair(
            "meshoverlay solid",
            ColorWrites::ALL,
            DepthBiasState::default(),
        ),
        // Pushed slightly back so the edges lying on the front surface pass the depth test
        // while the ones behind it do not.
        depth_prepass: pair(
            "meshoverlay wireframe depth",
            ColorWrites::empty(),
            DepthBiasState {
                constant: 8,
                slope_scale: 1.5,
                clamp: 0.0,
            },
        ),
        lines: make(
            "meshoverlay wireframe lines",
            PrimitiveTopology::LineList,
            None,
            "fs_main",
            ColorWrites::ALL,
            CompareFunction::LessEqual,
            DepthBiasState::default(),
        ),
    }
}

fn index_buffer(device: &wgpu::Device, label: &str, indices: &[u32]) -> wgpu::Buffer {
    let buffer = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (indices.len().max(1) * 4) as u64,
        usage: wgpu::BufferUsages::INDEX,
        mapped_at_creation: true,
    });
    buffer
        .slice(..(indices.len() * 4) as u64)
        .get_mapped_range_mut()
        .expect("mapped at creation")
        .copy_from_slice(bytemuck::cast_slice(indices));
    buffer.unmap();
    buffer
}

impl Renderer {
    /// Opens a GPU device (trying the backends of `backend` in order) and prepares
    /// everything that does not change from frame to frame.
    pub fn new(model: &BodyModel, backend: BackendChoice) -> Result<Self, RenderError> {
        let (instance, adapter, device, queue) = request_device(backend)?;
        let adapter_info = adapter.get_info();

        let device_lost = Arc::new(Mutex::new(None));
        let lost = device_lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            let reason = match reason {
                wgpu::DeviceLostReason::Destroyed => "the device was destroyed".to_string(),
                wgpu::DeviceLostReason::Unknown => "driver reported a loss".to_string(),
            };
            *lost.lock().unwrap() = Some(if message.is_empty() {
                reason
            } else {
                format!("{reason}: {message}")
            });
        });
        // wgpu's default handler panics; errors outside scopes are recorded instead.
        let uncaptured = Arc::new(Mutex::new(None));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            sink.lock().unwrap().get_or_insert(error.to_string());
        }));

        let scopes = ErrorScopes::push(&device);
        let skinner = Skinner::new(model);
        let skeleton = SkeletonMesher::new(skinner.parents());
        let faces: Vec<u32> = skinner.faces().iter().flatten().copied().collect();
        let edges = unique_edges(skinner.faces());
        let pipelines = create_pipelines(&device);
        let face_indices = index_buffer(&device, "meshoverlay faces", &faces);
        let edge_indices = index_buffer(&device, "meshoverlay edges", &edges);
        let skeleton_indices = index_buffer(&device, "meshoverlay skeleton", skeleton.indices());
        scopes.pop("setting up the renderer")?;

        let vertex = wgpu::BufferUsages::VERTEX;
        Ok(Self {
            target: None,
            positions: GrowingBuffer::new("meshoverlay positions", vertex),
            normals: GrowingBuffer::new("meshoverlay normals", vertex),
            instances: GrowingBuffer::new("meshoverlay instances", vertex),
            face_indices,
            edge_indices,
            skeleton_indices,
            pipelines,
            max_texture_size: device.limits().max_texture_dimension_2d,
            queue,
            device,
            _instance: instance,
            adapter_info,
            device_lost,
            uncaptured,
            num_face_indices: faces.len() as u32,
            num_edge_indices: edges.len() as u32,
            skinner,
            skeleton,
            poses: Vec::new(),
            posed: Vec::new(),
            vertex_positions: Vec::new(),
            vertex_normals: Vec::new(),
            person_normals: Vec::new(),
        })
    }

    /// The adapter in use, e.g. "llvmpipe (LLVM 15.0.6, 256 bits) (vulkan)".
    pub fn adapter_description(&self) -> String {
        format!("{} ({})", self.adapter_info.name, self.adapter_info.backend)
    }

    pub fn backend(&self) -> wgpu::Backend {
        self.adapter_info.backend
    }

    /// Destroys the device, as a driver reset would: for testing the device-lost path.
    #[doc(hidden)]
    pub fn simulate_device_loss(&self) {
        self.device.destroy();
    }

    fn check_device(&self) -> Result<(), RenderError> {
        if let Some(reason) = self.device_lost.lock().unwrap().clone() {
            return Err(RenderError::DeviceLost(reason));
        }
        if let Some(message) = self.uncaptured.lock().unwrap().take() {
            return Err(RenderError::Gpu {
                context: "rendering".into(),
                message,
            });
        }
        Ok(())
    }

    fn wait(
        &self,
        submission: wgpu::SubmissionIndex,
        what: &'static str,
    ) -> Result<(), RenderError> {
        let result = self.device.poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: Some(GPU_TIMEOUT),
        });
        self.check_device()?;
        match result {
            Ok(_) => Ok(()),
            Err(wgpu::PollError::Timeout) => Err(RenderError::Timeout(what)),
            Err(err) => Err(RenderError::Gpu {
                context: what.into(),
                message: err.to_string(),
            }),
        }
    }

    /// Draws every person of `poses` over `frame`. Frames whose people are all invisible
    /// (or invalid) are left untouched.
    pub fn render(
        &mut self,
        poses: &FramePoses,
        style: &Style,
        frame: &mut FrameMut<'_>,
    ) -> Result<FrameReport, RenderError> {
        self.render_frame(poses, style, frame).map_err(|err| {
            // A lost device shows first as failed operations; wgpu reports the loss itself
            // from its next maintenance pass, so run one and report the cause.
            let _ = self.device.poll(wgpu::PollType::Poll);
            match self.device_lost.lock().unwrap().clone() {
                Some(reason) if !matches!(err, RenderError::DeviceLost(_)) => {
                    RenderError::DeviceLost(reason)
                }
                _ => err,
            }
        })
    }

    fn render_frame(
        &mut self,
        poses: &FramePoses,
        style: &Style,
        frame: &mut FrameMut<'_>,
    ) -> Result<FrameReport, RenderError> {
        self.check_device()?;
        let mut timings = StageTimings::default();
        if style.opacity <= 0.0 {
            return Ok(FrameReport::default());
        }
        let start = Instant::now();

        // Skinning: camera-frame geometry of every drawable person, and what it covers.
        let (frame_width, frame_height) = (frame.width, frame.height);
        let mut cameras = Vec::with_capacity(poses.persons.len());
        let mut colors = Vec::with_capacity(poses.persons.len());
        let mut proper_rotations = Vec::with_capacity(poses.persons.len());
        self.poses.clear();
        for (index, person) in poses.persons.iter().enumerate() {
            if person.check_drawable().is_ok() {
                let pose = BodyPose::from(person);
                let camera = person.camera().rescaled(
                    [poses.frame_width, poses.frame_height],
                    [frame_width, frame_height],
                );
                proper_rotations.push(pose.rotations.iter().all(|r| determinant(r) > 0.0));
                self.poses.push(pose);
                cameras.push(camera);
                colors.push(person_color(style.color, index, person.track_id));
            }
        }
        let persons = self.poses.len();
        debug_assert_eq!(proper_rotations.len(), persons);
        let vertices_per_body = match style.mode {
            RenderMode::Solid | RenderMode::Wireframe => self.skinner.num_vertices(),
            RenderMode::Skeleton => self.skeleton.vertices_per_body(),
        };
        self.vertex_positions.clear();
        self.vertex_normals.clear();
        match style.mode {
            RenderMode::Solid | RenderMode::Wireframe => {
                self.skinner.pose_all(&self.poses, &mut self.posed);
                for body in &self.posed {
                    vertex_normals(
                        &body.vertices,
                        self.skinner.faces(),
                        &mut self.person_normals,
                    );
                    self.vertex_positions.extend_from_slice(&body.vertices);
                    self.vertex_normals.extend_from_slice(&self.person_normals);
                }
            }
            RenderMode::Skeleton => {
                for pose in &self.poses {
                    let joints = self.skinner.pose_joints(pose);
                    self.skeleton.append(
                        &joints,
                        &mut self.vertex_positions,
                        &mut self.vertex_normals,
                    );
                }
            }
        }
        let mut bounds = SceneBounds::default();
        for (person, camera) in cameras.iter().enumerate() {
            let range = person * vertices_per_body..(person + 1) * vertices_per_body;
            bounds.add_points(camera, &self.vertex_positions[range]);
        }
        let window = bounds.window(frame_width, frame_height);
        let depth = bounds.depth_range();
        timings.skinning = start.elapsed();
        if window.is_empty() {
            return Ok(FrameReport {
                timings,
                window,
                persons,
            });
        }
        if window.width > self.max_texture_size || window.height > self.max_texture_size {
            return Err(RenderError::TooLarge {
                width: window.width,
                height: window.height,
                max: self.max_texture_size,
            });
        }

        // Upload.
        let stage = Instant::now();
        let scopes = ErrorScopes::push(&self.device);
        let alpha = (style.opacity.clamp(0.0, 1.0) * 255.0).round() as u8;
        let instances: Vec<Instance> = cameras
            .iter()
            .zip(&colors)
            .map(|(camera, rgb)| Instance {
                clip_from_camera: clip_from_camera(camera, window, depth),
                color: [rgb[0], rgb[1], rgb[2], alpha],
            })
            .collect();
        self.ensure_target(window.width, window.height);
        self.positions.write(
            &self.device,
            &self.queue,
            bytemuck::cast_slice(&self.vertex_positions),
        );
        self.normals.write(
            &self.device,
            &self.queue,
            bytemuck::cast_slice(&self.vertex_normals),
        );
        self.instances
            .write(&self.device, &self.queue, bytemuck::cast_slice(&instances));
        scopes.pop("uploading vertices")?;
        timings.upload = stage.elapsed();

        // Draw.
        let stage = Instant::now();
        let scopes = ErrorScopes::push(&self.device);
        let target = self.target.as_ref().expect("allocated above");
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("meshoverlay people"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &target.color_view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                    view: &target.depth_view,
                    depth_ops: Some(wgpu::Operations {
                        load: wgpu::LoadOp::Clear(1.0),
                        store: wgpu::StoreOp::Discard,
                    }),
                    stencil_ops: None,
                }),
                ..Default::default()
            });
            let (w, h) = (window.width, window.height);
            pass.set_viewport(0.0, 0.0, w as f32, h as f32, 0.0, 1.0);
            pass.set_scissor_rect(0, 0, w, h);
            pass.set_vertex_buffer(0, self.positions.slice());
            pass.set_vertex_buffer(1, self.normals.slice());
            pass.set_vertex_buffer(2, self.instances.slice());
            // Each person is one instance: its vertices start at person * vertices_per_body.
            let draw = |pass: &mut wgpu::RenderPass<'_>, person: usize, index_count: u32| {
                let base = (person * vertices_per_body) as i32;
                pass.draw_indexed(0..index_count, base, person as u32..person as u32 + 1);
            };
            let pipelines = &self.pipelines;
            let u32_indices = wgpu::IndexFormat::Uint32;
            match style.mode {
                RenderMode::Solid => {
                    pass.set_index_buffer(self.face_indices.slice(..), u32_indices);
                    for (person, &proper) in proper_rotations.iter().enumerate() {
                        pass.set_pipeline(pipelines.solid.pick(proper));
                        draw(&mut pass, person, self.num_face_indices);
                    }
                }
                RenderMode::Wireframe => {
                    pass.set_index_buffer(self.face_indices.slice(..), u32_indices);
                    for (person, &proper) in proper_rotations.iter().enumerate() {
                        pass.set_pipeline(pipelines.depth_prepass.pick(proper));
                        draw(&mut pass, person, self.num_face_indices);
                    }
                    pass.set_pipeline(&pipelines.lines);
                    pass.set_index_buffer(self.edge_indices.slice(..), u32_indices);
                    for person in 0..persons {
                        draw(&mut pass, person, self.num_edge_indices);
                    }
                }
                RenderMode::Skeleton => {
                    // Spheres and tubes are drawn two-sided whatever the rotations.
                    pass.set_pipeline(&pipelines.solid.two_sided);
                    pass.set_index_buffer(self.skeleton_indices.slice(..), u32_indices);
                    for person in 0..persons {
                        draw(&mut pass, person, self.skeleton.indices().len() as u32);
                    }
                }
            }
        }
        let submission = self.queue.submit([encoder.finish()]);
        scopes.pop("drawing")?;
        self.wait(submission, "drawing")?;
        timings.draw = stage.elapsed();

        // Readback.
        let stage = Instant::now();
        let scopes = ErrorScopes::push(&self.device);
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &target.color,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &target.readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(target.readback_stride),
                    rows_per_image: None,
                },
            },
            wgpu::Extent3d {
                width: window.width,
                height: window.height,
                depth_or_array_layers: 1,
            },
        );
        let submission = self.queue.submit([encoder.finish()]);
        let used = target.readback_stride as u64 * window.height as u64;
        let (sender, receiver) = mpsc::channel();
        target
            .readback
            .slice(..used)
            .map_async(wgpu::MapMode::Read, move |result| {
                let _ = sender.send(result);
            });
        scopes.pop("reading the frame back")?;
        self.wait(submission, "reading the frame back")?;
        match receiver.try_recv() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                return Err(RenderError::Gpu {
                    context: "mapping the readback".into(),
                    message: err.to_string(),
                })
            }
            Err(_) => return Err(RenderError::Timeout("mapping the readback")),
        }
        timings.readback = stage.elapsed();

        // Composite.
        let stage = Instant::now();
        {
            let mapped = target
                .readback
                .slice(..used)
                .get_mapped_range()
                .map_err(|err| RenderError::Gpu {
                    context: "reading the mapped readback".into(),
                    message: err.to_string(),
                })?;
            blend_premultiplied(frame, window, &mapped, target.readback_stride as usize);
        }
        target.readback.unmap();
        timings.composite = stage.elapsed();
        Ok(FrameReport {
            timings,
            window,
            persons,
        })
    }

    /// Makes sure the render target and readback buffer hold a `width` x `height` window,
    /// reallocating when it is too small or far too large.
    fn ensure_target(&mut self, width: u32, height: u32) {
        if let Some(t) = &self.target {
            let fits = t.width >= width && t.height >= height;
            let wasteful = (t.width as u64 * t.height as u64) > 4 * (width as u64 * height as u64)
                && t.width > TARGET_GRANULARITY
                && t.height > TARGET_GRANULARITY;
            if fits && !wasteful {
                return;
            }
        }
        let round = |v: u32| {
            v.next_multiple_of(TARGET_GRANULARITY)
                .min(self.max_texture_size)
        };
        let (width, height) = (round(width), round(height));
        let size = wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        };
        let texture = |label, format, usage| {
            self.device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        let color = texture(
            "meshoverlay color",
            COLOR_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        );
        let depth = texture(
            "meshoverlay depth",
            DEPTH_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT,
        );
        let readback_stride = (width * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
        let readback = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("meshoverlay readback"),
            size: readback_stride as u64 * height as u64,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        self.target = Some(Target {
            width,
            height,
            color_view: color.create_view(&Default::default()),
            depth_view: depth.create_view(&Default::default()),
            color,
            readback,
            readback_stride,
        });
    }
}
