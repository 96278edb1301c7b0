//! Benchmark of meshoverlay's per-frame work at 1080p: render + composite time with 1 and
//! 5 people, split into skinning, upload, draw, readback and composite, plus the CPU
//! skinning cost on an SMPL-sized body model (dense pose blend shapes). The same stages
//! are then read from the element's own `stats` (`meshoverlay-stats`: `frames`, `persons`,
//! `<stage>-ns`) after a run through the element.
//!
//! ```sh
//! cargo run --release -p gst-plugin-meshoverlay --example bench_meshoverlay [-- --frames N] [--backend vulkan|gl] [--dump DIR] [--model FILE]
//! ```
//!
//! `--model FILE` renders that body model (e.g. `.deps/models/anny-smpl.safetensors`)
//! instead of the bundled mannequin, in the element too.
//!
//! `--dump DIR` writes the last frame of each scenario as a PPM image for a look.

use std::time::{Duration, Instant};

use gstmeshoverlay::body_model::{BodyModel, NUM_JOINTS, NUM_POSE_FEATURES, SMPL_PARENTS};
use gstmeshoverlay::composite::{ChannelOrder, FrameMut};
use gstmeshoverlay::renderer::{BackendChoice, Renderer, StageTimings};
use gstmeshoverlay::skinning::{vertex_normals, BodyPose, Skinner};
use gstmeshoverlay::style::{RenderMode, Style};
use hmr2_meta::camera::FrameCamera;
use hmr2_meta::math::Mat3;
use hmr2_meta::pose::{FramePoses, PersonPose};

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;

fn rotation(axis: [f32; 3], angle: f32) -> Mat3 {
    hmr2_meta::math::axis_angle(axis.map(f64::from), f64::from(angle)).map(|row| row.map(|v| v as f32))
}

/// An upright, moving person whose crop (centre, side) frames them as HMR2 would.
fn person(index: usize, frame: usize, center: [f32; 2], side: f32) -> PersonPose {
    let camera = FrameCamera::for_frame(WIDTH, HEIGHT, None);
    let phase = frame as f32 * 0.1 + index as f32;
    let body_pose = std::array::from_fn(|j| {
        let axis = [(j as f32 * 1.3).sin(), (j as f32 * 0.7).cos(), 0.5];
        rotation(axis, 0.35 * (phase + j as f32).sin())
    });
    PersonPose {
        bbox: [center[0] - side / 2.0, center[1] - side / 2.0, center[0] + side / 2.0, center[1] + side / 2.0],
        track_id: Some(index as u64),
        global_orient: rotation([1.0, 0.1 * phase.sin(), 0.0], std::f32::consts::PI),
        body_pose,
        betas: std::array::from_fn(|b| 0.5 * (phase + b as f32).cos()),
        cam_t: camera.translation_from_crop([0.9, 0.0, 0.0], center, side),
        focal_length: camera.focal_length,
        principal_point: camera.principal_point,
        ..Default::default()
    }
}

fn scene(persons: usize, frame: usize) -> FramePoses {
    let layout: &[([f32; 2], f32)] = if persons == 1 {
        &[([960.0, 540.0], 900.0)]
    } else {
        &[
            ([330.0, 560.0], 700.0),
            ([700.0, 540.0], 850.0),
            ([960.0, 600.0], 600.0),
            ([1250.0, 540.0], 900.0),
            ([1600.0, 580.0], 650.0),
        ]
    };
    FramePoses {
        frame_width: WIDTH,
        frame_height: HEIGHT,
        persons: layout
            .iter()
            .take(persons)
            .enumerate()
            .map(|(i, &(center, side))| person(i, frame, center, side))
            .collect(),
    }
}

fn background() -> Vec<u8> {
    (0..HEIGHT).flat_map(|y| (0..WIDTH).flat_map(move |x| [(x / 8) as u8, (y / 5) as u8, 90, 255])).collect()
}

/// CPU time of the whole process (all threads, lavapipe's included) in ms, from
/// /proc/self/stat (USER_HZ = 100); `None` off Linux. Less sensitive than wall time to
/// other work on the machine.
fn process_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 * 10.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn write_ppm(path: &std::path::Path, rgba: &[u8]) {
    let mut bytes = format!("P6\n{WIDTH} {HEIGHT}\n255\n").into_bytes();
    bytes.extend(rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]));
    std::fs::write(path, bytes).expect("writing the dump");
}

fn bench_render(
    renderer: &mut Renderer,
    label: &str,
    persons: usize,
    mode: RenderMode,
    frames: usize,
    dump: Option<&std::path::Path>,
) {
    let clean = background();
    let mut pixels = clean.clone();
    let style = Style { mode, ..Default::default() };
    let mut samples: Vec<StageTimings> = Vec::new();
    let mut wall = Vec::new();
    let mut window = Default::default();
    let mut cpu_start = None;
    for frame in 0..frames + 5 {
        if frame == 5 {
            cpu_start = process_cpu_ms();
        }
        pixels.copy_from_slice(&clean);
        let poses = scene(persons, frame);
        let mut target = FrameMut::packed(&mut pixels, WIDTH, HEIGHT, ChannelOrder::Rgba);
        let start = Instant::now();
        let report = renderer.render(&poses, &style, &mut target).expect("rendering");
        let elapsed = start.elapsed();
        window = report.window;
        if frame >= 5 {
            samples.push(report.timings);
            wall.push(ms(elapsed));
        }
    }
    let cpu_per_frame =
        cpu_start.zip(process_cpu_ms()).map_or("n/a".to_string(), |(a, b)| format!("{:.1}", (b - a) / frames as f64));
    let stage = |f: fn(&StageTimings) -> Duration| median(samples.iter().map(|t| ms(f(t))).collect());
    let wall_median = median(wall.clone());
    let wall_mean = wall.iter().sum::<f64>() / wall.len() as f64;
    println!(
        "{label:<20} skinning {:5.2}  upload {:4.2}  draw {:6.2}  readback {:4.2}  composite {:4.2} | total {:6.2} ms (mean {:6.2}) = {:5.1} frames/s | CPU {cpu_per_frame} ms/frame | window {}x{}",
        stage(|t| t.skinning),
        stage(|t| t.upload),
        stage(|t| t.draw),
        stage(|t| t.readback),
        stage(|t| t.composite),
        wall_median,
        wall_mean,
        1e3 / wall_mean,
        window.width,
        window.height,
    );
    if let Some(dir) = dump {
        let name = label.replace([' ', ','], "_");
        write_ppm(&dir.join(format!("{name}.ppm")), &pixels);
    }
}

/// A model with SMPL's sizes (V = 6890, F = 13776, S = 10) and dense blend shapes, so
/// the skinning cost can be measured for a converted SMPL file without shipping one.
fn smpl_sized_model() -> BodyModel {
    let v = 6890;
    let mut seed = 12345u64;
    let mut random = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    };
    let v_template: Vec<f32> = (0..v * 3).map(|_| random()).collect();
    let faces = (0..13776u32).map(|f| [f % v as u32, (f * 7 + 1) % v as u32, (f * 13 + 2) % v as u32]).collect();
    let shapedirs = (0..v * 3 * 10).map(|_| 0.01 * random()).collect();
    let posedirs = (0..NUM_POSE_FEATURES * v * 3).map(|_| 0.001 * random()).collect();
    let mut j_regressor = vec![0.0; NUM_JOINTS * v];
    let mut weights = vec![0.0; v * NUM_JOINTS];
    for vertex in 0..v {
        j_regressor[(vertex % NUM_JOINTS) * v + vertex] = 1.0 / (v / NUM_JOINTS + 1) as f32;
        // SMPL vertices have up to four influencing joints.
        for k in 0..4 {
            weights[vertex * NUM_JOINTS + (vertex + 5 * k) % NUM_JOINTS] = 0.25;
        }
    }
    BodyModel {
        num_vertices: v,
        num_shape_coeffs: 10,
        v_template,
        faces,
        shapedirs,
        posedirs,
        j_regressor,
        weights,
        parents: SMPL_PARENTS.map(|p| (p >= 0).then_some(p as usize)),
    }
}

fn bench_skinning(label: &str, model: &BodyModel, frames: usize) {
    let skinner = Skinner::new(model);
    let mut posed = Vec::new();
    let mut normals = Vec::new();
    for persons in [1, 5] {
        let mut times = Vec::new();
        for frame in 0..frames + 3 {
            let poses: Vec<BodyPose> = scene(persons, frame).persons.iter().map(BodyPose::from).collect();
            let start = Instant::now();
            skinner.pose_all(&poses, &mut posed);
            for body in &posed {
                vertex_normals(&body.vertices, skinner.faces(), &mut normals);
            }
            if frame >= 3 {
                times.push(ms(start.elapsed()));
            }
        }
        println!("{label:<44} {persons} person(s): {:6.2} ms per frame (skinning + normals, median)", median(times));
    }
}

/// The blend-shape pass (`v_template + shapedirs·betas + posedirs·(R − I)`, the bulk of
/// skinning) as a compute shader, one invocation per vertex coordinate: measured to decide
/// between GPU and CPU skinning; the element does not use it.
const BLEND_SHADER: &str = r#"
struct Params { columns: u32, rows: u32, persons: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> blend_rows: array<f32>;
@group(0) @binding(1) var<storage, read> rest: array<f32>;
@group(0) @binding(2) var<storage, read> coefficients: array<f32>;
@group(0) @binding(3) var<storage, read_write> blended: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(64)
fn blend(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if i >= params.columns { return; }
    for (var p = 0u; p < params.persons; p++) {
        var value = rest[i];
        for (var k = 0u; k < params.rows; k++) {
            value += coefficients[p * params.rows + k] * blend_rows[k * params.columns + i];
        }
        blended[p * params.columns + i] = value;
    }
}
"#;

fn bench_gpu_blend(label: &str, model: &BodyModel, frames: usize) {
    use wgpu::util::DeviceExt;
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
    descriptor.backends = wgpu::Backends::VULKAN | wgpu::Backends::GL;
    descriptor.flags = wgpu::InstanceFlags::empty();
    let instance = wgpu::Instance::new(descriptor);
    let Ok(adapter) = pollster::block_on(instance.request_adapter(&Default::default())) else {
        println!("{label}: no adapter for the compute comparison");
        return;
    };
    let (device, queue) = pollster::block_on(
        adapter.request_device(&wgpu::DeviceDescriptor { required_limits: adapter.limits(), ..Default::default() }),
    )
    .expect("device");
    let columns = model.num_vertices * 3;
    let betas = model.num_shape_coeffs.min(10);
    let rows = betas + NUM_POSE_FEATURES;
    let mut blend_rows = Vec::with_capacity(rows * columns);
    for s in 0..betas {
        blend_rows.extend((0..columns).map(|i| model.shapedirs[i * model.num_shape_coeffs + s]));
    }
    blend_rows.extend_from_slice(&model.posedirs);
    let storage = |label, contents: &[f32], usage| {
        device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(contents),
            usage,
        })
    };
    let read = wgpu::BufferUsages::STORAGE;
    let rows_buffer = storage("rows", &blend_rows, read);
    let template_buffer = storage("template", &model.v_template, read);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("blend"),
        source: wgpu::ShaderSource::Wgsl(BLEND_SHADER.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("blend"),
        layout: None,
        module: &module,
        entry_point: Some("blend"),
        compilation_options: Default::default(),
        cache: None,
    });
    for persons in [1usize, 5] {
        let coefficients_buffer =
            storage("coefficients", &vec![0.0; persons * rows], read | wgpu::BufferUsages::COPY_DST);
        let out_bytes = (persons * columns * 4) as u64;
        let blended = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("blended"),
            size: out_bytes,
            usage: read | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: out_bytes,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        let params = [columns as u32, rows as u32, persons as u32, 0];
        let params_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::cast_slice(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: rows_buffer.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: template_buffer.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: coefficients_buffer.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 3, resource: blended.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 4, resource: params_buffer.as_entire_binding() },
            ],
        });
        let (mut compute, mut with_readback) = (Vec::new(), Vec::new());
        for frame in 0..frames + 3 {
            let coefficients: Vec<f32> = (0..persons * rows).map(|k| 0.01 * ((k + frame) as f32).sin()).collect();
            let start = Instant::now();
            queue.write_buffer(&coefficients_buffer, 0, bytemuck::cast_slice(&coefficients));
            let mut encoder = device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups((columns as u32).div_ceil(64), 1, 1);
            }
            let index = queue.submit([encoder.finish()]);
            device.poll(wgpu::PollType::Wait { submission_index: Some(index), timeout: None }).unwrap();
            let computed = start.elapsed();
            let mut encoder = device.create_command_encoder(&Default::default());
            encoder.copy_buffer_to_buffer(&blended, 0, &readback, 0, out_bytes);
            let index = queue.submit([encoder.finish()]);
            readback.map_async(wgpu::MapMode::Read, .., |r| r.expect("map"));
            device.poll(wgpu::PollType::Wait { submission_index: Some(index), timeout: None }).unwrap();
            readback.unmap();
            if frame >= 3 {
                compute.push(ms(computed));
                with_readback.push(ms(start.elapsed()));
            }
        }
        println!(
            "{label:<44} {persons} person(s): {:6.2} ms blend shapes on the GPU ({:.2} ms with readback)",
            median(compute),
            median(with_readback)
        );
    }
}

/// The frames of `scene(persons, ..)` pushed through the element; prints its `stats` as
/// mean milliseconds per frame (totals over `frames`, the element's own layout).
fn bench_element(backend: &str, model: &std::path::Path, persons: usize, frames: usize) {
    use gst::prelude::*;
    gst::init().unwrap();
    gstmeshoverlay::plugin_register_static().unwrap();
    let element = gst::ElementFactory::make("meshoverlay")
        .property_from_str("backend", backend)
        .property("body-model", model.display().to_string())
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(&format!("video/x-raw,format=RGBA,width={WIDTH},height={HEIGHT},framerate=30/1"));
    h.play();
    let clean = background();
    for frame in 0..frames {
        let mut buffer = gst::Buffer::from_mut_slice(clean.clone());
        scene(persons, frame).attach(buffer.get_mut().unwrap()).unwrap();
        h.push_and_pull(buffer).expect("a frame out");
    }
    let stats = element.property::<gst::Structure>("stats");
    let counter = |field: &str| stats.get::<u64>(field).expect("a stats counter");
    let per_frame = counter("frames").max(1) as f64;
    let stages: Vec<String> = ["skinning", "upload", "draw", "readback", "composite"]
        .iter()
        .map(|stage| {
            let ms = counter(&format!("{stage}-ns")) as f64 / 1e6 / per_frame;
            format!("{stage} {ms:.2}")
        })
        .collect();
    println!(
        "element, {persons} person(s): frames {}, persons {}; mean ms per frame: {}",
        counter("frames"),
        counter("persons"),
        stages.join("  ")
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let frames: usize = value("--frames").map_or(60, |f| f.parse().expect("--frames N"));
    let backend_name = value("--backend").unwrap_or_else(|| "auto".into());
    let backend = match backend_name.as_str() {
        "auto" => BackendChoice::Auto,
        "vulkan" => BackendChoice::Vulkan,
        "gl" => BackendChoice::Gl,
        other => panic!("unknown backend {other}"),
    };
    let dump = value("--dump").map(std::path::PathBuf::from);
    if let Some(dir) = &dump {
        std::fs::create_dir_all(dir).expect("creating the dump directory");
    }

    let model_path = value("--model").map(std::path::PathBuf::from);
    let model = match &model_path {
        Some(path) => BodyModel::from_file(path).expect("the --model body model"),
        None => BodyModel::bundled().expect("bundled model"),
    };
    let model_name = model_path.as_ref().map_or("bundled mannequin".to_string(), |p| p.display().to_string());
    let started = Instant::now();
    let mut renderer = Renderer::new(&model, backend).expect("GPU");
    println!(
        "meshoverlay benchmark: {WIDTH}x{HEIGHT} RGBA, {frames} frames per scenario (medians, ms), {} CPU threads",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "adapter: {} (set up in {:.0} ms); body model: {model_name}, {} vertices, {} faces",
        renderer.adapter_description(),
        ms(started.elapsed()),
        model.num_vertices,
        model.num_faces()
    );
    let dump = dump.as_deref();
    bench_render(&mut renderer, "solid, 1 person", 1, RenderMode::Solid, frames, dump);
    bench_render(&mut renderer, "solid, 5 people", 5, RenderMode::Solid, frames, dump);
    bench_render(&mut renderer, "wireframe, 1 person", 1, RenderMode::Wireframe, frames, dump);
    bench_render(&mut renderer, "skeleton, 1 person", 1, RenderMode::Skeleton, frames, dump);
    bench_render(&mut renderer, "skeleton, 5 people", 5, RenderMode::Skeleton, frames, dump);

    // The mannequin's file is the bundled one; the element's default would be Anny's.
    let element_model = model_path
        .clone()
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/mannequin.safetensors"));
    println!("Through the element (its stats structure):");
    for persons in [1, 5] {
        bench_element(&backend_name, &element_model, persons, frames);
    }

    println!("CPU skinning alone:");
    let skinning_label = format!("{model_name} (V {})", model.num_vertices);
    bench_skinning(&skinning_label, &model, frames);
    let smpl_sized = smpl_sized_model();
    bench_skinning("SMPL-sized (V 6890, dense posedirs)", &smpl_sized, frames);
    println!("GPU compute alternative (blend-shape pass only, {}):", renderer.adapter_description());
    drop(renderer);
    bench_gpu_blend("bundled mannequin (dense on the GPU)", &model, frames.min(20));
    bench_gpu_blend("SMPL-sized (V 6890, dense posedirs)", &smpl_sized, frames.min(20));
}
