//! The shader and the render pipelines built from it: solid (culled and two-sided), the
//! wireframe's depth pre-pass and lines, and the vertex layout they share.

use std::borrow::Cow;

/// Format of the offscreen colour target (premultiplied RGBA, read back as is).
pub(super) const COLOR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
pub(super) const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

/// Per-person data the vertex shader reads as an instance: the clip matrix columns and
/// the colour (alpha = opacity).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct Instance {
    pub clip_from_camera: [[f32; 4]; 4],
    pub color: [u8; 4],
}

/// Culled and two-sided variants of a pipeline: bodies posed with proper rotations keep
/// their outward (counter-clockwise) winding and skip their back faces, which halves the
/// rasteriser's work; anything else (a mirroring matrix, the skeleton's tubes) is drawn
/// two-sided.
pub(super) struct PipelinePair {
    pub culled: wgpu::RenderPipeline,
    pub two_sided: wgpu::RenderPipeline,
}

impl PipelinePair {
    pub fn pick(&self, cull: bool) -> &wgpu::RenderPipeline {
        if cull {
            &self.culled
        } else {
            &self.two_sided
        }
    }
}

/// Every pipeline the drawing modes use.
pub(super) struct Pipelines {
    pub solid: PipelinePair,
    pub depth_prepass: PipelinePair,
    pub lines: wgpu::RenderPipeline,
}

/// Compiles the shader and builds every pipeline.
pub(super) fn create_pipelines(device: &wgpu::Device) -> Pipelines {
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
                targets: &[Some(wgpu::ColorTargetState { format: COLOR_FORMAT, blend: None, write_mask })],
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
        solid: pair("meshoverlay solid", ColorWrites::ALL, DepthBiasState::default()),
        // Pushed slightly back so the edges lying on the front surface pass the depth test
        // while the ones behind it do not.
        depth_prepass: pair(
            "meshoverlay wireframe depth",
            ColorWrites::empty(),
            DepthBiasState { constant: 8, slope_scale: 1.5, clamp: 0.0 },
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
