//! The element in a harness: ids across a crossing, misses, flushes, EOS, latency, caps
//! and stream changes, bad metadata, and that every frame leaves in order, untouched.

use gst::prelude::*;
use gst_check::Harness;
use gsthmr2track::synthetic::{self, EstimatorNoise, Rng};
use hmr2_meta::pose::{FramePoses, PersonPose, POSE_META_NAME};

const FPS: u64 = 30;
const CAPS: &str = "video/x-raw,format=RGBA,width=640,height=480,framerate=30/1";

fn init() {
    use std::sync::Once;
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gsthmr2track::plugin_register_static().expect("registering hmr2track");
    });
}

fn harness(caps: &str, properties: &[(&str, glib::Value)]) -> Harness {
    init();
    let mut h = Harness::new("hmr2track");
    {
        let element = h.element().unwrap();
        for (name, value) in properties {
            element.set_property_from_value(name, value);
        }
    }
    h.set_src_caps_str(caps);
    h
}

use gst::glib;

fn person(x: f32) -> PersonPose {
    let mut p = PersonPose {
        bbox: [x, 100.0, x + 60.0, 280.0],
        score: 0.9,
        cam_t: [0.0, 0.0, 20.0],
        focal_length: 1000.0,
        principal_point: [320.0, 240.0],
        ..Default::default()
    };
    p.global_orient = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];
    p
}

fn frame_duration() -> gst::ClockTime {
    gst::ClockTime::SECOND / FPS
}

/// A frame `index` with recognisable pixels and the given persons.
fn buffer(index: u64, persons: Option<Vec<PersonPose>>) -> gst::Buffer {
    let mut b = gst::Buffer::from_mut_slice(vec![index as u8; 16]);
    {
        let b = b.get_mut().unwrap();
        b.set_pts(frame_duration() * index);
        b.set_duration(frame_duration());
        if let Some(persons) = persons {
            FramePoses { frame_width: 640, frame_height: 480, persons }.attach(b).unwrap();
        }
    }
    b
}

fn poses(b: &gst::Buffer) -> FramePoses {
    FramePoses::from_buffer(b).unwrap().expect("pose meta")
}

fn ids(b: &gst::Buffer) -> Vec<Option<u64>> {
    poses(b).persons.iter().map(|p| p.track_id).collect()
}

fn pull_all(h: &mut Harness) -> Vec<gst::Buffer> {
    std::iter::from_fn(|| h.try_pull()).collect()
}

#[test]
fn ids_hold_across_a_crossing() {
    // Two people cross, the far one hidden behind the near one for a while, with estimation
    // jitter; the estimator lists them in random order.
    let scene = &synthetic::identity_scenes()[0];
    let noise = EstimatorNoise { rotation_sigma: 0.05, box_sigma: 0.02, depth_sigma: 0.04, ..EstimatorNoise::NONE };
    let caps =
        format!("video/x-raw,format=RGBA,width={},height={},framerate=30/1", scene.camera.width, scene.camera.height);
    let mut h = harness(&caps, &[]);
    let mut rng = Rng::new(3);
    let mut sources = Vec::new();
    let mut hidden_frames = 0;
    for f in 0..scene.frames {
        let detected = scene.detect(f, &noise, &mut rng);
        hidden_frames += usize::from(detected.len() < 2);
        sources.push(detected.iter().map(|d| d.walker.unwrap()).collect::<Vec<_>>());
        let mut b = buffer(f as u64, None);
        scene.frame_poses(&detected).attach(b.get_mut().unwrap()).unwrap();
        h.push(b).unwrap();
    }
    assert!(hidden_frames >= 4, "the scene should hide someone for a while ({hidden_frames} frames)");
    let out = pull_all(&mut h);
    assert_eq!(out.len(), scene.frames);
    let mut id_of = [None, None];
    for (b, walkers) in out.iter().zip(&sources) {
        for (id, &w) in ids(b).iter().zip(walkers) {
            if let Some(id) = id {
                assert_eq!(*id_of[w].get_or_insert(*id), *id, "walker {w} changed id");
            }
        }
    }
    assert!(id_of[0].is_some() && id_of[1].is_some() && id_of[0] != id_of[1], "{id_of:?}");
}

#[test]
fn miss_of_max_misses_keeps_the_id_and_one_more_ends_it() {
    for (gap, expected) in [(4u64, Some(1)), (5, Some(2))] {
        let mut h = harness(CAPS, &[("max-misses", 4u32.to_value()), ("min-hits", 1u32.to_value())]);
        let mut index = 0;
        for _ in 0..5 {
            h.push(buffer(index, Some(vec![person(100.0)]))).unwrap();
            index += 1;
        }
        for _ in 0..gap {
            h.push(buffer(index, Some(vec![]))).unwrap();
            index += 1;
        }
        h.push(buffer(index, Some(vec![person(100.0)]))).unwrap();
        let out = pull_all(&mut h);
        assert_eq!(out.len() as u64, index + 1);
        assert_eq!(ids(&out[0]), vec![Some(1)]);
        assert_eq!(ids(out.last().unwrap()), vec![expected], "after a miss of {gap} frames");
    }
}

#[test]
fn frames_leave_in_order_untouched_with_their_timestamps() {
    for lag in [0u32, 3] {
        let mut h = harness(CAPS, &[("lag", lag.to_value())]);
        for i in 0..12 {
            let persons = (i % 4 != 3).then(|| vec![person(100.0 + i as f32)]);
            h.push(buffer(i, persons)).unwrap();
            if i == 5 {
                assert_eq!(h.buffers_received(), 6 - lag, "lag {lag}");
            }
        }
        h.push_event(gst::event::Eos::new());
        let out = pull_all(&mut h);
        assert_eq!(out.len(), 12, "lag {lag}");
        for (i, b) in out.iter().enumerate() {
            assert_eq!(b.pts(), Some(frame_duration() * i as u64));
            assert_eq!(b.duration(), Some(frame_duration()));
            assert_eq!(b.map_readable().unwrap().as_slice(), &[i as u8; 16]);
            let has_meta = gst::meta::CustomMeta::from_buffer(b, POSE_META_NAME).is_ok();
            assert_eq!(has_meta, i % 4 != 3, "frame {i}: frames without poses stay without");
        }
    }
}

#[test]
fn eos_releases_held_frames_before_it() {
    let mut h = harness(CAPS, &[("lag", 4u32.to_value())]);
    for i in 0..6 {
        h.push(buffer(i, Some(vec![person(100.0)]))).unwrap();
    }
    assert_eq!(h.buffers_received(), 2);
    assert!(h.push_event(gst::event::Eos::new()));
    assert_eq!(h.buffers_received(), 6);
    let events: Vec<gst::EventType> = std::iter::from_fn(|| h.try_pull_event()).map(|e| e.type_()).collect();
    assert_eq!(events.last(), Some(&gst::EventType::Eos), "{events:?}");
    // The lag gave the new track its id on its first frames too.
    let out = pull_all(&mut h);
    assert!(out.iter().all(|b| ids(b) == vec![Some(1)]));
}

#[test]
fn flush_drops_held_frames_and_tracks_but_not_ids() {
    let mut h = harness(CAPS, &[("lag", 3u32.to_value())]);
    for i in 0..8 {
        h.push(buffer(i, Some(vec![person(100.0)]))).unwrap();
    }
    assert_eq!(h.buffers_received(), 5);
    assert!(h.push_event(gst::event::FlushStart::new()));
    assert!(h.push_event(gst::event::FlushStop::new(true)));
    h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<gst::ClockTime>::new()));
    assert_eq!(h.buffers_received(), 5, "held frames are dropped");
    for i in 0..8 {
        h.push(buffer(i, Some(vec![person(100.0)]))).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    let out = pull_all(&mut h);
    assert_eq!(out.len(), 13);
    assert_eq!(ids(&out[0]), vec![Some(1)]);
    assert_eq!(ids(&out[12]), vec![Some(2)], "after a flush the person is a new track, with a new id");
}

#[test]
fn latency_grows_by_the_lag() {
    for lag in [0u32, 4] {
        let mut h = harness(CAPS, &[("lag", lag.to_value())]);
        h.set_upstream_latency(gst::ClockTime::from_mseconds(10));
        h.push(buffer(0, Some(vec![person(100.0)]))).unwrap();
        let latency = h.query_latency().expect("a latency answer");
        let expected = gst::ClockTime::from_mseconds(10) + frame_duration() * u64::from(lag);
        let diff = latency.nseconds().abs_diff(expected.nseconds());
        assert!(diff < 1000, "lag {lag}: {latency} vs {expected}");
    }
}

#[test]
fn new_stream_counts_ids_from_one_and_new_frame_size_ends_tracks() {
    let mut h = harness(CAPS, &[("min-hits", 1u32.to_value()), ("lag", 2u32.to_value())]);
    for i in 0..4 {
        h.push(buffer(i, Some(vec![person(100.0)]))).unwrap();
    }
    // New caps with another frame size: the held frames leave first, then tracks end.
    h.set_src_caps_str("video/x-raw,format=RGBA,width=320,height=240,framerate=30/1");
    assert_eq!(h.buffers_received(), 4);
    for i in 4..8 {
        h.push(buffer(i, Some(vec![person(100.0)]))).unwrap();
    }
    h.push_event(gst::event::StreamStart::new("second"));
    h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<gst::ClockTime>::new()));
    for i in 8..12 {
        h.push(buffer(i, Some(vec![person(100.0)]))).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    let out = pull_all(&mut h);
    let first_ids: Vec<Option<u64>> = out.iter().map(|b| ids(b)[0]).collect();
    assert_eq!(first_ids, [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1].map(Some).to_vec());
}

#[test]
fn bad_metadata_never_stops_the_stream() {
    let mut h = harness(
        CAPS,
        &[
            ("min-hits", 1u32.to_value()),
            ("lag", 2u32.to_value()),
            ("gap-fill", gsthmr2track::hmr2track::GapFill::Predict.to_value()),
        ],
    );
    let mut frames = vec![buffer(0, Some(vec![person(100.0)]))];
    // Wrong array length.
    let mut b = buffer(1, Some(vec![person(100.0)]));
    {
        let mut meta = gst::meta::CustomMeta::from_mut_buffer(b.get_mut().unwrap(), POSE_META_NAME).unwrap();
        meta.mut_structure().set("betas", glib::Bytes::from_owned(vec![0u8; 12]));
    }
    frames.push(b);
    // Non-finite values, a collapsed rotation, a degenerate box, a body behind the camera,
    // beside a good person.
    let mut nan = person(300.0);
    nan.body_pose[3][1][1] = f32::NAN;
    let mut flat = person(400.0);
    flat.global_orient = [[0.0; 3]; 3];
    let mut no_box = person(500.0);
    no_box.bbox = [10.0, 10.0, 10.0, 10.0];
    let mut behind = person(200.0);
    behind.cam_t[2] = -3.0;
    let mut inf = person(100.0);
    inf.bbox[0] = f32::INFINITY;
    for i in 2..5 {
        let persons = vec![nan.clone(), flat.clone(), person(100.0), no_box.clone(), behind.clone(), inf.clone()];
        frames.push(buffer(i, Some(persons)));
    }
    frames.push(buffer(5, Some(vec![])));
    frames.push(buffer(6, Some(vec![])));
    for b in frames {
        h.push(b).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    let out = pull_all(&mut h);
    assert_eq!(out.len(), 7);
    // The unreadable frame passes untouched.
    assert!(FramePoses::from_buffer(&out[1]).is_err());
    let third = poses(&out[2]);
    assert_eq!(ids(&out[2]), vec![None, None, Some(1), None, None, None]);
    assert!(third.persons[0].body_pose[3][1][1].is_nan(), "unusable persons pass as they came");
    assert_eq!(third.persons[1].global_orient, [[0.0; 3]; 3]);
    // The gap is filled with a predicted person, marked predicted (and score 0).
    let last = poses(&out[6]);
    assert_eq!(last.persons.len(), 1);
    assert_eq!((last.persons[0].track_id, last.persons[0].score, last.persons[0].predicted), (Some(1), 0.0, true));
    assert!(!third.persons.iter().any(|p| p.predicted), "detections are not marked predicted");
}

#[test]
fn smoothing_reduces_jitter_and_keeps_rotations_valid() {
    // A person standing still, estimated with noise: the output moves far less.
    let mut h = harness(CAPS, &[]);
    let truth = person(200.0);
    let noise = EstimatorNoise { rotation_sigma: 0.08, depth_sigma: 0.05, box_sigma: 0.02, ..EstimatorNoise::NONE };
    let mut rng = Rng::new(11);
    let mut inputs = Vec::new();
    for i in 0..60 {
        let p = synthetic::perturb(&truth, &noise, &mut rng);
        inputs.push(p.clone());
        h.push(buffer(i, Some(vec![p]))).unwrap();
    }
    let out: Vec<PersonPose> = pull_all(&mut h).iter().map(|b| poses(b).persons[0].clone()).collect();
    let step = |a: &PersonPose, b: &PersonPose| {
        let r: f32 = (0..3)
            .flat_map(|i| (0..3).map(move |j| (i, j)))
            .map(|(i, j)| (a.global_orient[i][j] - b.global_orient[i][j]).abs())
            .sum();
        (r, (a.cam_t[2] - b.cam_t[2]).abs())
    };
    let total = |s: &[PersonPose]| {
        s[20..].windows(2).map(|w| step(&w[0], &w[1])).fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    let (raw, smoothed) = (total(&inputs), total(&out));
    assert!(smoothed.0 < 0.4 * raw.0, "rotation steps {} vs {}", smoothed.0, raw.0);
    assert!(smoothed.1 < 0.4 * raw.1, "depth steps {} vs {}", smoothed.1, raw.1);
    for p in &out {
        for m in std::iter::once(&p.global_orient).chain(&p.body_pose) {
            let det = hmr2_meta::math::determinant(m);
            assert!((det - 1.0).abs() < 1e-5, "det {det}");
        }
    }
}
