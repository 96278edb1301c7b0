//! Metadata the element cannot draw is reported on the bus as element warnings, once per
//! kind of problem and stream: undrawable values (NaN/Inf, focal length ≤ 0, the body at
//! or behind the camera), unreadable metadata, metadata for a picture of another shape.

mod common;

use common::*;
use gst::prelude::*;
use hmr2_meta::camera::FrameCamera;
use hmr2_meta::pose::{FramePoses, PersonPose, POSE_META_NAME};

const W: u32 = 160;
const H: u32 = 120;
const CAPS: &str = "video/x-raw,format=RGBA,width=160,height=120,framerate=30/1";

/// A harness whose element posts to a bus the test reads.
fn harness_with_bus() -> (gst_check::Harness, gst::Bus) {
    let h = harness(CAPS, &[("opacity", 1.0f64.to_value())]);
    let bus = gst::Bus::new();
    h.element().unwrap().set_bus(Some(&bus));
    (h, bus)
}

/// The texts of the warnings posted since the last call.
fn warnings(bus: &gst::Bus) -> Vec<String> {
    std::iter::from_fn(|| bus.pop_filtered(&[gst::MessageType::Warning]))
        .map(|message| match message.view() {
            gst::MessageView::Warning(w) => w.error().to_string(),
            _ => unreachable!("filtered"),
        })
        .collect()
}

fn upright_person(track_id: Option<u64>) -> PersonPose {
    let camera = FrameCamera::for_frame(W, H, None);
    let mut rotations = [IDENTITY; 24];
    rotations[0] = UPRIGHT;
    person(&camera, &rotations, [0.0; 10], [0.0, 0.1, 40.0], track_id)
}

/// Pushes a frame with a good person (index 0) and `bad` (index 1, track 7); returns
/// whether the frame changed.
fn push(h: &mut gst_check::Harness, bad: &PersonPose) -> bool {
    let poses = FramePoses { frame_width: W, frame_height: H, persons: vec![upright_person(Some(3)), bad.clone()] };
    let background = solid_frame(W, H, [0, 0, 0, 255]);
    let out = h.push_and_pull(buffer_with_poses(&background, Some(&poses))).unwrap();
    buffer_bytes(&out) != background
}

#[test]
fn each_undrawable_value_is_warned_about_once() {
    let (mut h, bus) = harness_with_bus();
    type Change = fn(&mut PersonPose);
    // Each change, and the words its warning must contain (None: a kind already reported).
    let cases: [(&str, Change, Option<&str>); 11] = [
        ("NaN in body-pose", |p| p.body_pose[4][1][2] = f32::NAN, Some("field 'body-pose' holds a non-finite value")),
        ("NaN elsewhere in body-pose", |p| p.body_pose[20][0][0] = f32::NAN, None),
        (
            "Inf in global-orient",
            |p| p.global_orient[0][0] = f32::INFINITY,
            Some("field 'global-orient' holds a non-finite value"),
        ),
        ("NaN in betas", |p| p.betas[9] = f32::NAN, Some("field 'betas' holds a non-finite value")),
        ("-Inf in cam-t", |p| p.cam_t[0] = f32::NEG_INFINITY, Some("field 'cam-t' holds a non-finite value")),
        (
            "NaN in principal-point",
            |p| p.principal_point[1] = f32::NAN,
            Some("field 'principal-point' holds a non-finite value"),
        ),
        ("NaN focal length", |p| p.focal_length = f32::NAN, Some("field 'focal-length' holds a non-finite value")),
        ("zero focal length", |p| p.focal_length = 0.0, Some("focal length 0 is not positive")),
        ("negative focal length", |p| p.focal_length = -250.0, None),
        (
            "body at the camera",
            |p| p.cam_t[2] = 0.0,
            Some("camera translation z = 0 m puts the body at or behind the camera"),
        ),
        ("body behind the camera", |p| p.cam_t[2] = -20.0, None),
    ];
    for (name, change, expected) in cases {
        let mut bad = upright_person(Some(7));
        change(&mut bad);
        for _ in 0..3 {
            assert!(push(&mut h, &bad), "{name}: the good person was not drawn");
        }
        let posted = warnings(&bus);
        match expected {
            Some(words) => {
                assert_eq!(posted.len(), 1, "{name}: {posted:?}");
                assert!(posted[0].contains(words), "{name}: {}", posted[0]);
                assert!(
                    posted[0].starts_with("person 1 (track 7) in the pose metadata is not drawn"),
                    "{name}: {}",
                    posted[0]
                );
            }
            None => assert!(posted.is_empty(), "{name}: {posted:?}"),
        }
    }
    // Drawable people raise nothing.
    assert!(push(&mut h, &upright_person(None)));
    assert!(warnings(&bus).is_empty());

    // A new stream is told again.
    assert!(h.push_event(gst::event::StreamStart::new("second")));
    let mut bad = upright_person(None);
    bad.focal_length = -1.0;
    assert!(push(&mut h, &bad));
    assert!(push(&mut h, &bad));
    let posted = warnings(&bus);
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(
        posted[0]
            .starts_with("person 1 (untracked) in the pose metadata is not drawn: focal length -1 is not positive"),
        "{}",
        posted[0]
    );
}

/// A buffer whose pose metadata has been altered by `change` after it was written.
fn buffer_with_altered_meta(change: impl Fn(&mut gst::StructureRef)) -> gst::Buffer {
    let poses = FramePoses { frame_width: W, frame_height: H, persons: vec![upright_person(Some(1))] };
    let mut buffer = buffer_with_poses(&solid_frame(W, H, [0, 0, 0, 255]), Some(&poses));
    {
        let mut meta = gst::meta::CustomMeta::from_mut_buffer(buffer.get_mut().unwrap(), POSE_META_NAME).unwrap();
        change(meta.mut_structure());
    }
    buffer
}

#[test]
fn unreadable_and_mismatched_metadata_are_warned_about_once_per_kind() {
    let (mut h, bus) = harness_with_bus();
    type Change = fn(&mut gst::StructureRef);
    let cases: [(&str, Change, Option<&str>); 5] = [
        (
            "missing field",
            |s| {
                s.remove_field("betas");
            },
            Some("unreadable pose metadata"),
        ),
        (
            "another missing field",
            |s| {
                s.remove_field("cam-t");
            },
            None,
        ),
        (
            "truncated array",
            |s| s.set("betas", glib::Bytes::from_owned(vec![0u8; 12])),
            Some("holds 12 bytes, expected 40"),
        ),
        (
            "another picture shape",
            |s| s.set("frame-width", 400i32),
            Some("pose metadata describes a 400x120 picture, frames are 160x120"),
        ),
        ("the same shape again", |s| s.set("frame-width", 300i32), None),
    ];
    let clean = solid_frame(W, H, [0, 0, 0, 255]);
    for (name, change, expected) in cases {
        for _ in 0..3 {
            let out = h.push_and_pull(buffer_with_altered_meta(change)).unwrap();
            assert_eq!(buffer_bytes(&out), clean, "{name}: the frame was drawn on");
        }
        let posted = warnings(&bus);
        match expected {
            Some(words) => {
                assert_eq!(posted.len(), 1, "{name}: {posted:?}");
                assert!(posted[0].contains(words), "{name}: {}", posted[0]);
            }
            None => assert!(posted.is_empty(), "{name}: {posted:?}"),
        }
    }
}
