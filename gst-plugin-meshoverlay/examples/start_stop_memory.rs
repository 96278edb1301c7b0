//! Memory kept per start/stop cycle: runs many cycles of one kind and prints the resident
//! set size (RSS) as it goes and its growth per cycle after a warm-up, so the element's
//! own growth can be told apart from the graphics driver's.
//!
//! ```sh
//! cargo run --release -p gst-plugin-meshoverlay --example start_stop_memory -- \
//!     [--cycles N] [--backend vulkan|gl] [--what element|element-empty|renderer|wgpu-device|wgpu-draw] \
//!     [--trim] [--smaps DIR]
//! ```
//!
//! `--trim` hands free heap memory back to the system (`malloc_trim`) before each RSS
//! reading, so that what glibc keeps in its arenas is not counted; `--smaps DIR` copies
//! `/proc/self/smaps` after the warm-up and at the end, to see which mappings grew.
//!
//! - `element`: the element in a harness, started, one frame with a person drawn, stopped;
//! - `element-empty`: the same with nobody in the frame (nothing reaches the GPU);
//! - `renderer`: [`Renderer::new`], one frame drawn, dropped (no GStreamer);
//! - `wgpu-device`: bare wgpu, no project code: instance, adapter and device made and dropped;
//! - `wgpu-draw`: bare wgpu drawing one triangle into a texture and reading it back.

use hmr2_meta::camera::FrameCamera;
use hmr2_meta::math::IDENTITY;
use hmr2_meta::pose::{FramePoses, PersonPose};

use gstmeshoverlay::body_model::BodyModel;
use gstmeshoverlay::composite::{ChannelOrder, FrameMut};
use gstmeshoverlay::renderer::{BackendChoice, Renderer};
use gstmeshoverlay::style::Style;

const WIDTH: u32 = 320;
const HEIGHT: u32 = 240;

/// Resident set size in bytes, from /proc/self/statm.
fn rss_bytes(trim: bool) -> u64 {
    if trim {
        release_free_heap();
    }
    let statm = std::fs::read_to_string("/proc/self/statm").expect("reading /proc/self/statm");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("statm's resident field");
    pages * 4096
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_heap() {
    extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: malloc_trim only returns free memory of the allocator to the system.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_heap() {}

fn upright_person() -> PersonPose {
    let camera = FrameCamera::for_frame(WIDTH, HEIGHT, None);
    PersonPose {
        // Upright, facing the camera: 180 degrees about x.
        global_orient: [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]],
        body_pose: [IDENTITY; 23],
        cam_t: [0.0, 0.1, 40.0],
        focal_length: camera.focal_length,
        principal_point: camera.principal_point,
        ..Default::default()
    }
}

fn poses(with_person: bool) -> FramePoses {
    FramePoses {
        frame_width: WIDTH,
        frame_height: HEIGHT,
        persons: if with_person { vec![upright_person()] } else { Vec::new() },
    }
}

fn element_cycle(backend: &str, with_person: bool) {
    let element = gst::ElementFactory::make("meshoverlay").property_from_str("backend", backend).build().unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(&format!("video/x-raw,format=RGBA,width={WIDTH},height={HEIGHT},framerate=30/1"));
    h.play();
    let mut buffer = gst::Buffer::from_mut_slice(vec![0u8; (WIDTH * HEIGHT * 4) as usize]);
    poses(with_person).attach(buffer.get_mut().unwrap()).unwrap();
    let out = h.push_and_pull(buffer).expect("a frame out");
    let drawn = out.map_readable().unwrap().iter().any(|&b| b != 0);
    assert_eq!(drawn, with_person, "the person was drawn only when present");
    // Dropping the harness stops the element: the renderer and its device go.
}

fn renderer_cycle(model: &BodyModel, backend: BackendChoice) {
    let mut renderer = Renderer::new(model, backend).expect("a GPU");
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 4) as usize];
    let mut frame = FrameMut::packed(&mut pixels, WIDTH, HEIGHT, ChannelOrder::Rgba);
    let report = renderer.render(&poses(true), &Style::default(), &mut frame).expect("rendering");
    assert_eq!(report.persons, 1);
}

fn wgpu_device(backends: wgpu::Backends) -> (wgpu::Instance, wgpu::Device, wgpu::Queue) {
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
    descriptor.backends = backends;
    descriptor.flags = wgpu::InstanceFlags::empty();
    let instance = wgpu::Instance::new(descriptor);
    let adapter = pollster::block_on(instance.request_adapter(&Default::default())).expect("adapter");
    let (device, queue) = pollster::block_on(adapter.request_device(&Default::default())).expect("device");
    (instance, device, queue)
}

const TRIANGLE: &str = r#"
@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let x = f32(i32(i) - 1) * 0.5;
    let y = f32(i32(i & 1u) * 2 - 1) * 0.5;
    return vec4<f32>(x, y, 0.5, 1.0);
}
@fragment
fn fs() -> @location(0) vec4<f32> { return vec4<f32>(1.0, 0.5, 0.25, 1.0); }
"#;

/// Bare wgpu, none of the project's code: one triangle drawn into a colour + depth target,
/// copied to a buffer, mapped and read, everything dropped.
fn wgpu_draw_cycle(backends: wgpu::Backends) {
    let (_instance, device, queue) = wgpu_device(backends);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: None,
        source: wgpu::ShaderSource::Wgsl(TRIANGLE.into()),
    });
    let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: None,
        layout: None,
        vertex: wgpu::VertexState {
            module: &module,
            entry_point: Some("vs"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: Default::default(),
        depth_stencil: Some(wgpu::DepthStencilState {
            format: wgpu::TextureFormat::Depth32Float,
            depth_write_enabled: Some(true),
            depth_compare: Some(wgpu::CompareFunction::Less),
            stencil: Default::default(),
            bias: Default::default(),
        }),
        multisample: Default::default(),
        fragment: Some(wgpu::FragmentState {
            module: &module,
            entry_point: Some("fs"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::TextureFormat::Rgba8Unorm.into())],
        }),
        multiview_mask: None,
        cache: None,
    });
    let size = wgpu::Extent3d { width: 64, height: 64, depth_or_array_layers: 1 };
    let texture = |format, usage| {
        device.create_texture(&wgpu::TextureDescriptor {
            label: None,
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
        wgpu::TextureFormat::Rgba8Unorm,
        wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
    );
    let depth = texture(wgpu::TextureFormat::Depth32Float, wgpu::TextureUsages::RENDER_ATTACHMENT);
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: 256 * 64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let (color_view, depth_view) = (color.create_view(&Default::default()), depth.create_view(&Default::default()));
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: None,
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &color_view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                view: &depth_view,
                depth_ops: Some(wgpu::Operations { load: wgpu::LoadOp::Clear(1.0), store: wgpu::StoreOp::Discard }),
                stencil_ops: None,
            }),
            ..Default::default()
        });
        pass.set_pipeline(&pipeline);
        pass.draw(0..3, 0..1);
    }
    encoder.copy_texture_to_buffer(
        color.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(256), rows_per_image: None },
        },
        size,
    );
    queue.submit([encoder.finish()]);
    readback.map_async(wgpu::MapMode::Read, .., |r| r.expect("mapping"));
    device.poll(wgpu::PollType::Wait { submission_index: None, timeout: None }).unwrap();
    let drawn = readback.slice(..).get_mapped_range().unwrap().iter().any(|&b| b != 0);
    assert!(drawn, "the triangle was not drawn");
    readback.unmap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let cycles: usize = value("--cycles").map_or(300, |c| c.parse().expect("--cycles N"));
    let backend = value("--backend").unwrap_or_else(|| "vulkan".into());
    let what = value("--what").unwrap_or_else(|| "element".into());
    let (choice, backends) = match backend.as_str() {
        "vulkan" => (BackendChoice::Vulkan, wgpu::Backends::VULKAN),
        "gl" => (BackendChoice::Gl, wgpu::Backends::GL),
        other => panic!("unknown backend {other}"),
    };
    // The Vulkan loader warns without it on a headless machine.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    gst::init().unwrap();
    gstmeshoverlay::plugin_register_static().unwrap();
    let model = BodyModel::bundled().unwrap();

    let trim = args.iter().any(|a| a == "--trim");
    let smaps = value("--smaps").map(std::path::PathBuf::from);
    let save_smaps = |name: &str| {
        if let Some(dir) = &smaps {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::copy("/proc/self/smaps", dir.join(name)).unwrap();
        }
    };
    let warm_up = (cycles / 6).max(1);
    let mut at_warm_up = 0;
    let started = std::time::Instant::now();
    let trimmed = if trim { ", heap trimmed before each reading" } else { "" };
    println!("{what} on {backend}: {cycles} start/stop cycles{trimmed}");
    for cycle in 1..=cycles {
        match what.as_str() {
            "element" => element_cycle(&backend, true),
            "element-empty" => element_cycle(&backend, false),
            "renderer" => renderer_cycle(&model, choice),
            "wgpu-device" => drop(wgpu_device(backends)),
            "wgpu-draw" => wgpu_draw_cycle(backends),
            other => panic!("unknown --what {other}"),
        }
        if cycle == warm_up {
            at_warm_up = rss_bytes(trim);
            save_smaps("warm-up.smaps");
        }
        if cycle % 50 == 0 || cycle == warm_up {
            println!("cycle {cycle:4}: RSS {:8} KiB", rss_bytes(trim) / 1024);
        }
    }
    let growth = rss_bytes(trim) as f64 - at_warm_up as f64;
    save_smaps("end.smaps");
    println!(
        "{what} on {backend}: {:.1} KiB kept per cycle between cycles {warm_up} and {cycles} ({:.0} ms per cycle)",
        growth / 1024.0 / (cycles - warm_up).max(1) as f64,
        started.elapsed().as_secs_f64() * 1e3 / cycles as f64
    );
}
