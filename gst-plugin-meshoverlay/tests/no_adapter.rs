//! With no Vulkan driver and no EGL vendor library, the element reports that no adapter
//! was found and names the backends it tried. (Its own test binary: the environment it
//! changes is process-wide.)

mod common;

use common::*;
use gst::prelude::*;
use gstmeshoverlay::body_model::BodyModel;
use gstmeshoverlay::renderer::{BackendChoice, RenderError, Renderer};

fn hide_drivers() {
    // Read by the Vulkan loader and by libglvnd's EGL when the first instance is made.
    for variable in ["VK_ICD_FILENAMES", "VK_DRIVER_FILES", "__EGL_VENDOR_LIBRARY_FILENAMES"] {
        std::env::set_var(variable, "/nonexistent/meshoverlay-test.json");
    }
}

fn start_error(backend: &str) -> String {
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=BGRx,width=32,height=32 ! \
         meshoverlay backend={backend} ! fakesink"
    ))
    .unwrap();
    let _ = pipeline.set_state(gst::State::Playing);
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(60), &[gst::MessageType::Error, gst::MessageType::Eos])
        .expect("no message within 60 s");
    pipeline.set_state(gst::State::Null).unwrap();
    match message.view() {
        gst::MessageView::Error(err) => err.error().to_string(),
        _ => panic!("{backend}: the element started without a GPU driver"),
    }
}

#[test]
fn no_adapter_names_the_backends_tried() {
    hide_drivers();
    init();
    let model = BodyModel::bundled().unwrap();
    match Renderer::new(&model, BackendChoice::Vulkan) {
        Err(RenderError::NoAdapter { tried }) => assert!(tried.starts_with("Vulkan"), "{tried}"),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a Vulkan adapter was found"),
    }

    let message = start_error("vulkan");
    assert!(message.starts_with("no GPU adapter found (backends tried: Vulkan"), "{message}");
    assert!(!message.contains("GL:"), "{message}");

    let message = start_error("auto");
    assert!(message.starts_with("no GPU adapter found (backends tried: Vulkan"), "{message}");
    assert!(message.contains("; GL:"), "{message}");
}
