//! GPU memory that lives from frame to frame: the body model's index buffers, the vertex
//! and instance buffers that grow with the number of people, and the offscreen render
//! target with its readback buffer.

use super::pipelines::{COLOR_FORMAT, DEPTH_FORMAT};

/// Render targets are allocated in steps of this many pixels so that a window that
/// changes a little from frame to frame reuses them.
const TARGET_GRANULARITY: u32 = 64;

/// A vertex or instance buffer that is replaced by a larger one when it runs out.
pub(super) struct GrowingBuffer {
    label: &'static str,
    usage: wgpu::BufferUsages,
    buffer: Option<wgpu::Buffer>,
}

impl GrowingBuffer {
    pub fn new(label: &'static str, usage: wgpu::BufferUsages) -> Self {
        Self { label, usage: usage | wgpu::BufferUsages::COPY_DST, buffer: None }
    }

    pub fn write(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, data: &[u8]) {
        let needed = (data.len() as u64).max(4).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
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

    pub fn slice(&self) -> wgpu::BufferSlice<'_> {
        self.buffer.as_ref().expect("written before drawing").slice(..)
    }
}

/// An index buffer written once, and how many indices it holds.
pub(super) struct IndexBuffer {
    pub buffer: wgpu::Buffer,
    pub count: u32,
}

impl IndexBuffer {
    pub fn new(device: &wgpu::Device, label: &str, indices: &[u32]) -> Self {
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
        Self { buffer, count: indices.len() as u32 }
    }
}

/// The offscreen colour and depth textures the people are drawn into, and the buffer
/// the colour is copied into to be read on the CPU.
pub(super) struct Target {
    pub width: u32,
    pub height: u32,
    pub color: wgpu::Texture,
    pub color_view: wgpu::TextureView,
    pub depth_view: wgpu::TextureView,
    pub readback: wgpu::Buffer,
    /// Bytes from one row of the readback to the next (256-byte aligned, as wgpu requires).
    pub readback_stride: u32,
}

impl Target {
    /// Makes sure `slot` holds a target for a `width` x `height` window, reallocating
    /// when it is too small or far too large.
    pub fn ensure<'a>(
        slot: &'a mut Option<Target>,
        device: &wgpu::Device,
        max_texture_size: u32,
        width: u32,
        height: u32,
    ) -> &'a Target {
        let reusable = slot.as_ref().is_some_and(|t| {
            let fits = t.width >= width && t.height >= height;
            let wasteful = (t.width as u64 * t.height as u64) > 4 * (width as u64 * height as u64)
                && t.width > TARGET_GRANULARITY
                && t.height > TARGET_GRANULARITY;
            fits && !wasteful
        });
        if !reusable {
            let round = |v: u32| v.next_multiple_of(TARGET_GRANULARITY).min(max_texture_size);
            *slot = Some(Self::new(device, round(width), round(height)));
        }
        slot.as_ref().expect("allocated above")
    }

    fn new(device: &wgpu::Device, width: u32, height: u32) -> Self {
        let size = wgpu::Extent3d { width, height, depth_or_array_layers: 1 };
        let texture = |label, format, usage| {
            device.create_texture(&wgpu::TextureDescriptor {
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
        let depth = texture("meshoverlay depth", DEPTH_FORMAT, wgpu::TextureUsages::RENDER_ATTACHMENT);
        let readback_stride = (width * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("meshoverlay readback"),
            size: readback_stride as u64 * height as u64,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        Self {
            width,
            height,
            color_view: color.create_view(&Default::default()),
            depth_view: depth.create_view(&Default::default()),
            color,
            readback,
            readback_stride,
        }
    }
}
