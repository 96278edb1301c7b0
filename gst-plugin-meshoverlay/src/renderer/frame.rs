//! The GPU side of a frame, one step per function: upload the scene's vertices and
//! per-person instances, draw them into the offscreen target, read the window back, and
//! blend it into the frame. Each step runs inside its own error scopes.

use std::sync::mpsc;

use crate::composite::CompositeTarget;
use crate::projection::{clip_from_camera, PixelRect};
use crate::style::RenderMode;

use super::buffers::{GrowingBuffer, IndexBuffer, Target};
use super::context::{ErrorScopes, GpuContext};
use super::pipelines::{create_pipelines, Instance, Pipelines};
use super::scene::{Scene, SceneBuilder};
use super::RenderError;

/// Everything on the GPU that the frames draw with.
pub(super) struct FrameResources {
    target: Option<Target>,
    positions: GrowingBuffer,
    normals: GrowingBuffer,
    instances: GrowingBuffer,
    face_indices: IndexBuffer,
    edge_indices: IndexBuffer,
    skeleton_indices: IndexBuffer,
    pipelines: Pipelines,
}

impl FrameResources {
    /// Builds the pipelines and writes the index buffers of `scenes`' body model.
    pub fn new(context: &GpuContext, scenes: &SceneBuilder) -> Result<Self, RenderError> {
        let device = &context.device;
        let scopes = ErrorScopes::push(device);
        let pipelines = create_pipelines(device);
        let face_indices = IndexBuffer::new(device, "meshoverlay faces", &scenes.face_indices());
        let edge_indices = IndexBuffer::new(device, "meshoverlay edges", &scenes.edge_indices());
        let skeleton_indices = IndexBuffer::new(device, "meshoverlay skeleton", scenes.skeleton_indices());
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
        })
    }

    /// Writes the scene's vertices and one instance per person (clip matrix for the
    /// scene's window, colour with `opacity` as alpha), and sizes the target to the window.
    pub fn upload(
        &mut self,
        context: &GpuContext,
        scene: &Scene,
        scenes: &SceneBuilder,
        opacity: f32,
    ) -> Result<(), RenderError> {
        let (device, queue) = (&context.device, &context.queue);
        let scopes = ErrorScopes::push(device);
        let alpha = (opacity.clamp(0.0, 1.0) * 255.0).round() as u8;
        let instances: Vec<Instance> = scene
            .people
            .iter()
            .map(|person| Instance {
                clip_from_camera: clip_from_camera(&person.camera, scene.window, scene.depth),
                color: [person.color[0], person.color[1], person.color[2], alpha],
            })
            .collect();
        let window = scene.window;
        Target::ensure(&mut self.target, device, context.max_texture_size, window.width, window.height);
        self.positions.write(device, queue, bytemuck::cast_slice(scenes.positions()));
        self.normals.write(device, queue, bytemuck::cast_slice(scenes.normals()));
        self.instances.write(device, queue, bytemuck::cast_slice(&instances));
        scopes.pop("uploading vertices")
    }

    /// Draws every person of the scene into the target and waits for the GPU.
    pub fn draw(&self, context: &GpuContext, scene: &Scene, mode: RenderMode) -> Result<(), RenderError> {
        let scopes = ErrorScopes::push(&context.device);
        let target = self.target();
        let mut encoder = context.device.create_command_encoder(&Default::default());
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
                    depth_ops: Some(wgpu::Operations { load: wgpu::LoadOp::Clear(1.0), store: wgpu::StoreOp::Discard }),
                    stencil_ops: None,
                }),
                ..Default::default()
            });
            let (w, h) = (scene.window.width, scene.window.height);
            pass.set_viewport(0.0, 0.0, w as f32, h as f32, 0.0, 1.0);
            pass.set_scissor_rect(0, 0, w, h);
            pass.set_vertex_buffer(0, self.positions.slice());
            pass.set_vertex_buffer(1, self.normals.slice());
            pass.set_vertex_buffer(2, self.instances.slice());
            self.record_people(&mut pass, scene, mode);
        }
        let submission = context.queue.submit([encoder.finish()]);
        scopes.pop("drawing")?;
        context.wait(submission, "drawing")
    }

    /// The draw calls of each mode: one instance per person, whose vertices start at
    /// person × vertices per body.
    fn record_people(&self, pass: &mut wgpu::RenderPass<'_>, scene: &Scene, mode: RenderMode) {
        let vertices_per_body = scene.vertices_per_body;
        let draw = |pass: &mut wgpu::RenderPass<'_>, person: usize, indices: &IndexBuffer| {
            let base = (person * vertices_per_body) as i32;
            pass.draw_indexed(0..indices.count, base, person as u32..person as u32 + 1);
        };
        let pipelines = &self.pipelines;
        let u32_indices = wgpu::IndexFormat::Uint32;
        match mode {
            RenderMode::Solid => {
                pass.set_index_buffer(self.face_indices.buffer.slice(..), u32_indices);
                for (index, person) in scene.people.iter().enumerate() {
                    pass.set_pipeline(pipelines.solid.pick(person.proper_rotations));
                    draw(pass, index, &self.face_indices);
                }
            }
            RenderMode::Wireframe => {
                pass.set_index_buffer(self.face_indices.buffer.slice(..), u32_indices);
                for (index, person) in scene.people.iter().enumerate() {
                    pass.set_pipeline(pipelines.depth_prepass.pick(person.proper_rotations));
                    draw(pass, index, &self.face_indices);
                }
                pass.set_pipeline(&pipelines.lines);
                pass.set_index_buffer(self.edge_indices.buffer.slice(..), u32_indices);
                for index in 0..scene.people.len() {
                    draw(pass, index, &self.edge_indices);
                }
            }
            RenderMode::Skeleton => {
                // Spheres and tubes are drawn two-sided whatever the rotations.
                pass.set_pipeline(&pipelines.solid.two_sided);
                pass.set_index_buffer(self.skeleton_indices.buffer.slice(..), u32_indices);
                for index in 0..scene.people.len() {
                    draw(pass, index, &self.skeleton_indices);
                }
            }
        }
    }

    /// Copies the `window` part of the target into the readback buffer and maps it.
    pub fn read_back(&self, context: &GpuContext, window: PixelRect) -> Result<(), RenderError> {
        let scopes = ErrorScopes::push(&context.device);
        let target = self.target();
        let mut encoder = context.device.create_command_encoder(&Default::default());
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
            wgpu::Extent3d { width: window.width, height: window.height, depth_or_array_layers: 1 },
        );
        let submission = context.queue.submit([encoder.finish()]);
        let (sender, receiver) = mpsc::channel();
        target.readback.slice(..readback_bytes(target, window)).map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        scopes.pop("reading the frame back")?;
        context.wait(submission, "reading the frame back")?;
        match receiver.try_recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(RenderError::Gpu { context: "mapping the readback".into(), message: err.to_string() }),
            Err(_) => Err(RenderError::Timeout("mapping the readback")),
        }
    }

    /// Blends the mapped readback of `window` over the frame and unmaps it.
    pub fn composite(&self, frame: &mut impl CompositeTarget, window: PixelRect) -> Result<(), RenderError> {
        let target = self.target();
        {
            let mapped = target.readback.slice(..readback_bytes(target, window)).get_mapped_range().map_err(|err| {
                RenderError::Gpu { context: "reading the mapped readback".into(), message: err.to_string() }
            })?;
            frame.blend(window, &mapped, target.readback_stride as usize);
        }
        target.readback.unmap();
        Ok(())
    }

    fn target(&self) -> &Target {
        self.target.as_ref().expect("allocated by upload")
    }
}

/// Bytes of the readback buffer that hold `window`.
fn readback_bytes(target: &Target, window: PixelRect) -> u64 {
    target.readback_stride as u64 * window.height as u64
}
