//! Shared helpers for the end-to-end tests.

use gst::prelude::*;

/// Builds a pipeline from a `gst-launch-1.0` description whose last element is
/// `appsink name=sink`, and returns it with that sink.
pub fn appsink_pipeline(description: &str) -> (gst::Pipeline, gst_app::AppSink) {
    let pipeline = gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("cannot build '{description}': {e}"))
        .downcast::<gst::Pipeline>()
        .expect("the description is a pipeline");
    let sink = pipeline
        .by_name("sink")
        .expect("the pipeline has an element named sink")
        .downcast::<gst_app::AppSink>()
        .expect("the element named sink is an appsink");
    (pipeline, sink)
}

/// Makes `hmr2pose` fall back to its bundled test network instead of the default models
/// the set-up converts: for the tests of the element's mechanics, whose expectations (one
/// full-frame person, the boxes given) are those of an HMR2 network without a detector.
/// Child processes inherit it.
pub fn use_bundled_test_network() {
    hmr2_meta::models::use_no_default_models();
}
