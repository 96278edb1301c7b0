//! The pose meta survives the elements that usually sit between `hmr2pose` and
//! `meshoverlay`: colour conversion and scaling. A change of the meta's tags that made
//! `videoconvert` or `videoscale` drop it would fail here.

use gst::prelude::*;
use hmr2_meta::pose::FramePoses;

fn run(description: &str) -> Vec<Option<FramePoses>> {
    hmr2_e2e_tests::use_bundled_test_network();
    gst::init().unwrap();
    gsthmr2::plugin_register_static().unwrap();
    let (pipeline, sink) = hmr2_e2e_tests::appsink_pipeline(description);
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        frames.push(FramePoses::from_buffer(sample.buffer().unwrap()).unwrap());
    }
    pipeline.set_state(gst::State::Null).unwrap();
    frames
}

#[test]
fn meta_survives_videoconvert_and_videoscale() {
    let frames = run("videotestsrc num-buffers=4 ! video/x-raw,format=I420,width=320,height=240 ! hmr2pose ! \
         videoconvert ! video/x-raw,format=RGBA ! videoscale ! video/x-raw,width=640,height=480 ! \
         appsink name=sink sync=false");
    assert_eq!(frames.len(), 4);
    for poses in frames {
        let poses = poses.expect("a frame lost its pose meta in videoconvert/videoscale");
        // The meta still describes the frame it was computed on.
        assert_eq!((poses.frame_width, poses.frame_height), (320, 240));
        assert_eq!(poses.persons.len(), 1);
    }
}
