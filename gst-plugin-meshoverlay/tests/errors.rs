//! Every failure is an element error (or a `RenderError`) that names its cause: missing and
//! malformed body models, a lost device.

mod common;

use std::time::Duration;

use common::*;
use gst::prelude::*;
use gstmeshoverlay::body_model::BodyModel;
use gstmeshoverlay::composite::{ChannelOrder, FrameMut};
use gstmeshoverlay::renderer::{BackendChoice, RenderError, Renderer};
use gstmeshoverlay::style::Style;
use hmr2_meta::camera::FrameCamera;
use hmr2_meta::pose::FramePoses;

/// Runs a short pipeline through meshoverlay with the given body model file and returns
/// the error message it posted, or `None` when it played to the end.
fn pipeline_error(body_model: &std::path::Path) -> Option<String> {
    init();
    let pipeline = gst::parse::launch(
        "videotestsrc num-buffers=2 ! video/x-raw,format=RGBA,width=64,height=48 ! \
         meshoverlay name=overlay ! fakesink",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let overlay = pipeline.by_name("overlay").unwrap();
    overlay.set_property("body-model", body_model.to_str().unwrap());
    let _ = pipeline.set_state(gst::State::Playing);
    let bus = pipeline.bus().unwrap();
    let message = bus
        .timed_pop_filtered(gst::ClockTime::from_seconds(60), &[gst::MessageType::Error, gst::MessageType::Eos])
        .expect("neither an error nor the end within 60 s");
    pipeline.set_state(gst::State::Null).unwrap();
    match message.view() {
        gst::MessageView::Error(err) => {
            assert_eq!(err.src().map(|s| s.name().to_string()).as_deref(), Some("overlay"));
            Some(err.error().to_string())
        }
        _ => None,
    }
}

fn assert_error_names(model: &[u8], file: &str, needle: &str) {
    let path = write_temp(file, model);
    let message = pipeline_error(&path).unwrap_or_else(|| panic!("{file} was accepted"));
    let origin = format!("body model {}", path.display());
    assert!(message.contains(&origin), "'{message}' does not name the file");
    assert!(message.contains(needle), "'{message}' does not contain '{needle}'");
}

fn base_model() -> ModelArrays {
    random_model(&mut Rng::new(5), 10, 4)
}

#[test]
fn a_valid_synthetic_model_plays() {
    let path = base_model().write_temp("valid.safetensors");
    assert_eq!(pipeline_error(&path), None);
}

#[test]
fn missing_body_model_file() {
    let message =
        pipeline_error(std::path::Path::new("/nonexistent/dir/body.safetensors")).expect("a missing file was accepted");
    assert!(message.contains("body model /nonexistent/dir/body.safetensors: cannot read the file"), "{message}");
}

#[test]
fn not_a_safetensors_file() {
    assert_error_names(
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}     ",
        "garbage.safetensors",
        "not a valid safetensors file",
    );
}

#[test]
fn wrong_shape() {
    let m = base_model();
    let mut tensors = m.tensors();
    tensors[3] = RawTensor::f32("posedirs", &[207, 20], &vec![0.0; 207 * 20]);
    assert_error_names(
        &safetensors_bytes(&tensors, FORMAT_METADATA),
        "posedirs-shape.safetensors",
        "posedirs has shape [207, 20], expected [207, 30]",
    );
    let mut tensors = m.tensors();
    tensors[4] = RawTensor::f32("J_regressor", &[23, 10], &vec![0.0; 230]);
    assert_error_names(
        &safetensors_bytes(&tensors, FORMAT_METADATA),
        "regressor-shape.safetensors",
        "J_regressor has shape [23, 10], expected [24, 10]",
    );
    let mut tensors = m.tensors();
    tensors[2] = RawTensor::f32("shapedirs", &[9, 3, 4], &vec![0.0; 108]);
    assert_error_names(
        &safetensors_bytes(&tensors, FORMAT_METADATA),
        "shapedirs-shape.safetensors",
        "shapedirs has shape [9, 3, 4], expected [10, 3, S]",
    );
}

#[test]
fn bad_face_index() {
    let mut m = base_model();
    m.faces[4] = 10;
    assert_error_names(&m.to_bytes(), "face.safetensors", "faces[1][1] = 10 is not a vertex index (V = 10)");
}

#[test]
fn missing_tensor() {
    let tensors: Vec<RawTensor> = base_model().tensors().into_iter().filter(|t| t.name != "weights").collect();
    assert_error_names(
        &safetensors_bytes(&tensors, FORMAT_METADATA),
        "no-weights.safetensors",
        "tensor 'weights' is missing",
    );
}

#[test]
fn wrong_dtype() {
    let m = base_model();
    let mut tensors = m.tensors();
    let faces: Vec<f32> = m.faces.iter().map(|&i| i as f32).collect();
    tensors[1] = RawTensor::f32("faces", &[m.faces.len() / 3, 3], &faces);
    assert_error_names(
        &safetensors_bytes(&tensors, FORMAT_METADATA),
        "faces-dtype.safetensors",
        "faces has dtype F32, expected U32",
    );
}

#[test]
fn wrong_or_missing_format_metadata() {
    let tensors = base_model().tensors();
    assert_error_names(&safetensors_bytes(&tensors, &[]), "no-meta.safetensors", "__metadata__ has no 'format'");
    assert_error_names(
        &safetensors_bytes(&tensors, &[("format", "hmr2-body-model"), ("version", "2")]),
        "version.safetensors",
        "format version '2' is not supported",
    );
}

#[test]
fn inconsistent_values() {
    let mut m = base_model();
    m.weights[3 * 24] += 0.25;
    assert_error_names(&m.to_bytes(), "weights.safetensors", "weights of vertex 3 sum to");

    let mut m = base_model();
    m.v_template[7] = f32::INFINITY;
    assert_error_names(&m.to_bytes(), "inf.safetensors", "v_template has a non-finite value at flat index 7");

    let mut m = base_model();
    m.parents[6] = 8;
    assert_error_names(&m.to_bytes(), "parents.safetensors", "parents[6] = 8 does not make a tree");

    let mut m = base_model();
    m.parents[15] = 9;
    assert_error_names(&m.to_bytes(), "tree.safetensors", "differ from SMPL's kinematic tree");
}

#[test]
fn lost_device_is_an_error_not_a_panic() {
    let model = BodyModel::bundled().unwrap();
    let mut renderer = Renderer::new(&model, BackendChoice::Auto).unwrap();
    let camera = FrameCamera::for_frame(64, 48, None);
    let poses = FramePoses {
        frame_width: 64,
        frame_height: 48,
        persons: vec![person(&camera, &[UPRIGHT; 24], [0.0; 10], [0.0, 0.1, 20.0], None)],
    };
    let mut pixels = solid_frame(64, 48, [0, 0, 0, 255]);
    let mut target = FrameMut::packed(&mut pixels, 64, 48, ChannelOrder::Rgba);
    renderer.render(&poses, &Style::default(), &mut target).expect("a healthy device renders");

    renderer.simulate_device_loss();
    // The lost-device callback may run on wgpu's own schedule: give it a moment.
    std::thread::sleep(Duration::from_millis(100));
    let err = renderer.render(&poses, &Style::default(), &mut target).unwrap_err();
    assert!(matches!(err, RenderError::DeviceLost(_)), "{err:?}");
    assert!(err.to_string().starts_with("GPU device lost"), "{err}");
}

#[test]
fn people_wider_than_the_largest_texture_are_an_error_not_a_crash() {
    // A frame wider than any GPU's largest 2D texture (wgpu adapters report at most 32768),
    // with a person close enough to span all of it: the render window cannot be allocated,
    // and the renderer must say so instead of letting wgpu fail or panic.
    const WIDTH: u32 = 40_000;
    const HEIGHT: u32 = 8;
    let model = BodyModel::bundled().unwrap();
    let mut renderer = Renderer::new(&model, BackendChoice::Auto).unwrap();
    let camera = FrameCamera::for_frame(WIDTH, HEIGHT, None);
    let poses = FramePoses {
        frame_width: WIDTH,
        frame_height: HEIGHT,
        persons: vec![person(&camera, &[UPRIGHT; 24], [0.0; 10], [0.0, 0.0, 20.0], None)],
    };
    let mut pixels = solid_frame(WIDTH, HEIGHT, [0, 0, 0, 255]);
    let original = pixels.clone();
    let mut target = FrameMut::packed(&mut pixels, WIDTH, HEIGHT, ChannelOrder::Rgba);
    let err = renderer.render(&poses, &Style::default(), &mut target).unwrap_err();
    assert!(matches!(err, RenderError::TooLarge { width: WIDTH, .. }), "{err:?}");
    assert!(err.to_string().contains("largest texture"), "{err}");
    assert!(pixels == original, "a failed render must leave the frame untouched");
}
