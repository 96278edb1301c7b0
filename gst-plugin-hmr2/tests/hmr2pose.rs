//! hmr2pose with the bundled test network: pass-through, ordering, batching, person boxes,
//! metadata, flushing, timeouts and latency.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst_check::Harness;
use gsthmr2::crop::PersonCrop;
use hmr2_meta::camera::FrameCamera;
use hmr2_meta::pose::FramePoses;

// These tests exercise the element with the bundled test network: no default models from
// the set-up.
use common::init_with_test_network as init;

const W: u32 = 320;
const H: u32 = 240;
const FRAME_NS: u64 = 33_333_333;

fn workspace_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn element(properties: &[(&str, glib::Value)]) -> gst::Element {
    init();
    let element = gst::ElementFactory::make("hmr2pose").build().unwrap();
    for (name, value) in properties {
        // Enums are given by nick.
        match value.get::<&str>() {
            Ok(nick) if element.find_property(name).unwrap().value_type() != glib::Type::STRING => {
                element.set_property_from_str(name, nick)
            }
            _ => element.set_property_from_value(name, value),
        }
    }
    element
}

fn harness(properties: &[(&str, glib::Value)], caps: &str) -> Harness {
    let mut h = Harness::with_element(&element(properties), Some("sink"), Some("src"));
    h.set_src_caps_str(caps);
    h
}

fn rgba_caps() -> String {
    format!("video/x-raw,format=RGBA,width={W},height={H},framerate=30/1")
}

/// An RGBA frame whose content changes with `seed`, so the network's answer does too.
fn frame_pixels(seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; (W * H * 4) as usize];
    for y in 0..H {
        for x in 0..W {
            let i = ((y * W + x) * 4) as usize;
            let v = (x as u64 * (seed + 1) + y as u64 * 3 + seed * 37) % 256;
            data[i..i + 4].copy_from_slice(&[v as u8, (255 - v) as u8, ((x + y) % 256) as u8, 255]);
        }
    }
    data
}

/// A region of interest: type, rectangle (x, y, w, h) and optional score.
type Roi = (&'static str, (u32, u32, u32, u32), Option<f64>);

/// Frame `index` with timestamps, offsets and the given ROIs.
fn frame(index: u64, rois: &[Roi]) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_mut_slice(frame_pixels(index));
    {
        let b = buffer.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_nseconds(index * FRAME_NS));
        b.set_dts(gst::ClockTime::from_nseconds(index * FRAME_NS + 7));
        b.set_duration(gst::ClockTime::from_nseconds(FRAME_NS));
        b.set_offset(index);
        b.set_offset_end(index + 1);
        for (roi_type, rect, score) in rois {
            let mut meta = gst_video::VideoRegionOfInterestMeta::add(b, roi_type, *rect);
            if let Some(score) = score {
                meta.add_param(gst::Structure::builder("detection").field("confidence", *score).build());
            }
        }
    }
    buffer
}

/// Pushes EOS and returns every buffer that came out before it.
fn finish(h: &mut Harness) -> Vec<gst::Buffer> {
    assert!(h.push_event(gst::event::Eos::new()));
    loop {
        let event = h.pull_event().expect("EOS within 60 s");
        if event.type_() == gst::EventType::Eos {
            break;
        }
    }
    std::iter::from_fn(|| h.try_pull()).collect()
}

fn poses(buffer: &gst::BufferRef) -> FramePoses {
    FramePoses::from_buffer(buffer).unwrap().expect("every frame carries a pose meta")
}

/// Varying person counts per frame: 0, 1, 2 or 3 ROIs.
fn rois_for(index: u64) -> Vec<Roi> {
    let all = [
        ("person", (10 + index as u32, 20, 60, 150), Some(0.9)),
        ("person", (150, 30, 80, 200), None),
        ("", (200, 100 + (index as u32 % 7), 100, 120), Some(0.6)),
    ];
    all[..(index % 4) as usize].to_vec()
}

fn run_stream(batch_size: u32, frames: u64) -> Vec<gst::Buffer> {
    let properties = [("batch-size", batch_size.to_value()), ("box-source", "roi-meta".to_value())];
    let mut h = harness(&properties, &rgba_caps());
    for i in 0..frames {
        h.push(frame(i, &rois_for(i))).unwrap();
    }
    finish(&mut h)
}

#[test]
fn frames_leave_unchanged_in_order_for_batch_sizes_1_3_8() {
    // 19 frames: EOS arrives in the middle of a batch for batch sizes 3 and 8.
    const FRAMES: u64 = 19;
    for batch_size in [1, 3, 8] {
        let out = run_stream(batch_size, FRAMES);
        assert_eq!(out.len() as u64, FRAMES, "batch size {batch_size}");
        for (i, buffer) in out.iter().enumerate() {
            let i = i as u64;
            assert_eq!(buffer.pts(), Some(gst::ClockTime::from_nseconds(i * FRAME_NS)));
            assert_eq!(buffer.dts(), Some(gst::ClockTime::from_nseconds(i * FRAME_NS + 7)));
            assert_eq!(buffer.duration(), Some(gst::ClockTime::from_nseconds(FRAME_NS)));
            assert_eq!((buffer.offset(), buffer.offset_end()), (i, i + 1));
            assert_eq!(buffer.map_readable().unwrap().as_slice(), frame_pixels(i).as_slice(), "pixels of frame {i}");
            let p = poses(buffer);
            assert_eq!(p.persons.len(), rois_for(i).len(), "frame {i}, batch size {batch_size}");
            assert_eq!((p.frame_width, p.frame_height), (W, H));
        }
    }
}

#[test]
fn events_keep_their_place_and_new_caps_drain_the_batch() {
    let el = element(&[("batch-size", 8u32.to_value())]);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    el.static_pad("src").unwrap().add_probe(gst::PadProbeType::DATA_DOWNSTREAM, move |_, info| {
        let entry = match &info.data {
            Some(gst::PadProbeData::Buffer(b)) => {
                let p = poses(b);
                format!("frame {} {}x{}", b.offset(), p.frame_width, p.frame_height)
            }
            Some(gst::PadProbeData::Event(e)) => format!("{:?}", e.type_()),
            _ => "other".into(),
        };
        record.lock().unwrap().push(entry);
        gst::PadProbeReturn::Ok
    });
    let mut h = Harness::with_element(&el, Some("sink"), Some("src"));
    h.set_src_caps_str(&rgba_caps());
    for i in 0..3 {
        h.push(frame(i, &[])).unwrap();
    }
    // Serialized events wait behind the frames of the pending batch.
    let custom = gst::Structure::new_empty("hmr2-test-marker");
    assert!(h.push_event(gst::event::CustomDownstream::new(custom)));
    // New caps (the harness sends a segment after them): the partial batch runs before
    // they are taken.
    h.set_src_caps_str(&format!("video/x-raw,format=RGBA,width={},height={},framerate=30/1", W / 2, H / 2));
    for i in 3..5 {
        let mut buffer = gst::Buffer::from_mut_slice(vec![128u8; (W / 2 * H / 2 * 4) as usize]);
        buffer.get_mut().unwrap().set_offset(i);
        h.push(buffer).unwrap();
    }
    finish(&mut h);
    let seen = seen.lock().unwrap().clone();
    let from_first_frame: Vec<&str> = seen.iter().skip_while(|e| !e.starts_with("frame")).map(String::as_str).collect();
    assert_eq!(
        from_first_frame,
        [
            "frame 0 320x240",
            "frame 1 320x240",
            "frame 2 320x240",
            "CustomDownstream",
            "Caps",
            "Segment",
            "frame 3 160x120",
            "frame 4 160x120",
            "Eos",
        ],
        "{seen:?}"
    );
    assert_eq!(&seen[..3], ["StreamStart", "Caps", "Segment"]);
}

#[test]
fn batched_results_equal_unbatched_results() {
    const FRAMES: u64 = 14;
    let reference: Vec<FramePoses> = run_stream(1, FRAMES).iter().map(|b| poses(b)).collect();
    assert!(reference.iter().map(|p| p.persons.len()).sum::<usize>() > 10);
    for batch_size in [3, 8] {
        let batched: Vec<FramePoses> = run_stream(batch_size, FRAMES).iter().map(|b| poses(b)).collect();
        assert_eq!(batched.len(), reference.len());
        for (frame, (a, b)) in reference.iter().zip(&batched).enumerate() {
            assert_eq!(a.persons.len(), b.persons.len());
            for (pa, pb) in a.persons.iter().zip(&b.persons) {
                let values = |p: &hmr2_meta::pose::PersonPose| -> Vec<f32> {
                    let mut v: Vec<f32> = p.global_orient.iter().flatten().copied().collect();
                    v.extend(p.body_pose.iter().flatten().flatten());
                    v.extend(p.betas);
                    v.extend(p.pred_cam);
                    v.extend(p.cam_t);
                    v.extend(p.bbox);
                    v
                };
                for (x, y) in values(pa).iter().zip(values(pb)) {
                    assert!((x - y).abs() <= 1e-5 * (1.0 + x.abs()), "frame {frame}, batch {batch_size}: {x} vs {y}");
                }
            }
        }
    }
    // The network's answer depends on the crop: different frames give different poses.
    assert_ne!(reference[1].persons[0].body_pose, reference[5].persons[0].body_pose);
}

#[test]
fn roi_meta_boxes_scores_and_types() {
    let mut h = harness(&[], &rgba_caps());
    let rois = [
        ("person", (10, 20, 60, 150), Some(0.8)),
        ("face", (100, 20, 30, 30), Some(0.99)),
        ("", (200, 40, 50, 100), None),
        ("Person", (120, 50, 40, 120), Some(0.4)),
    ];
    h.push(frame(0, &rois)).unwrap();
    let out = finish(&mut h);
    let p = poses(&out[0]);
    let boxes: Vec<([f32; 4], f32)> = p.persons.iter().map(|q| (q.bbox, q.score)).collect();
    assert_eq!(
        boxes,
        vec![([10.0, 20.0, 70.0, 170.0], 0.8), ([200.0, 40.0, 250.0, 140.0], 1.0), ([120.0, 50.0, 160.0, 170.0], 0.4)]
    );
    assert!(p.persons.iter().all(|q| q.track_id.is_none()));
}

#[test]
fn whole_frame_without_boxes_and_empty_frames_with_roi_meta_only() {
    let mut h = harness(&[], &rgba_caps());
    h.push(frame(0, &[])).unwrap();
    let p = poses(&finish(&mut h)[0]);
    assert_eq!(p.persons.len(), 1);
    assert_eq!(p.persons[0].bbox, [0.0, 0.0, W as f32, H as f32]);

    // box-source=roi-meta: a frame without ROIs is processed and has nobody.
    let mut h = harness(&[("box-source", "roi-meta".to_value())], &rgba_caps());
    h.push(frame(0, &[])).unwrap();
    h.push(frame(1, &[("face", (0, 0, 10, 10), None)])).unwrap();
    let out = finish(&mut h);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|b| poses(b).persons.is_empty()));

    // box-source=full-frame ignores ROIs.
    let mut h = harness(&[("box-source", "full-frame".to_value())], &rgba_caps());
    h.push(frame(0, &[("person", (1, 2, 30, 40), None)])).unwrap();
    assert_eq!(poses(&finish(&mut h)[0]).persons[0].bbox, [0.0, 0.0, W as f32, H as f32]);
}

#[test]
fn person_cap_keeps_the_best_scores() {
    let mut h = harness(&[("max-persons", 2u32.to_value())], &rgba_caps());
    let rois = [
        ("person", (0, 0, 40, 80), Some(0.3)),
        ("person", (50, 0, 40, 80), Some(0.9)),
        ("person", (100, 0, 40, 80), Some(0.5)),
        ("person", (150, 0, 40, 80), Some(0.7)),
        ("person", (200, 0, 40, 80), Some(0.1)),
    ];
    h.push(frame(0, &rois)).unwrap();
    let p = poses(&finish(&mut h)[0]);
    let scores: Vec<f32> = p.persons.iter().map(|q| q.score).collect();
    assert_eq!(scores, vec![0.9, 0.7]);
}

#[test]
fn camera_translation_is_the_frame_camera_of_the_crop() {
    for focal in [0.0f32, 1234.5] {
        let mut h = harness(&[("focal-length", focal.to_value())], &rgba_caps());
        h.push(frame(3, &[("person", (40, 30, 70, 180), None), ("person", (250, 10, 60, 60), None)])).unwrap();
        let p = poses(&finish(&mut h)[0]);
        let camera = FrameCamera::for_frame(W, H, (focal > 0.0).then_some(focal));
        assert_eq!(p.persons.len(), 2);
        for person in &p.persons {
            let crop = PersonCrop::from_box(person.bbox);
            let expected = camera.translation_from_crop(person.pred_cam, crop.center, crop.side);
            assert_eq!(person.cam_t, expected);
            assert_eq!(person.focal_length, camera.focal_length);
            assert_eq!(person.principal_point, [W as f32 / 2.0, H as f32 / 2.0]);
        }
        if focal == 0.0 {
            assert_eq!(p.persons[0].focal_length, 5000.0 / 256.0 * W as f32);
        }
    }
}

/// A black frame with a red and a blue 16x16 square, in I420 via videoconvert or RGBA.
fn squares_frame() -> Vec<u8> {
    let mut data = vec![0u8; (W * H * 4) as usize];
    let mut square = |x0: u32, y0: u32, rgb: [u8; 3]| {
        for y in y0..y0 + 16 {
            for x in x0..x0 + 16 {
                let i = ((y * W + x) * 4) as usize;
                data[i..i + 4].copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
            }
        }
    };
    // Letterboxed to 640x640 (gain 2, 80 rows above), the red square covers detector cell
    // column 5, row 6 exactly; the blue one cell column 12, row 2.
    square(80, 56, [255, 0, 0]);
    square(192, 0, [0, 0, 255]);
    data
}

#[test]
fn detector_finds_the_person_and_maps_it_back_to_the_frame() {
    let detector = workspace_file("models/person-detector-test.onnx");
    let mut h = harness(
        &[("box-source", "detector".to_value()), ("detector-model", detector.to_str().unwrap().to_value())],
        &rgba_caps(),
    );
    h.push(gst::Buffer::from_mut_slice(squares_frame())).unwrap();
    let p = poses(&finish(&mut h)[0]);
    // The red cell's candidate: centre (176, 208), 64x128 in the input; in the frame
    // centre (88, 64), 32x64.
    assert_eq!(p.persons.len(), 1, "{p:?}");
    let b = p.persons[0].bbox;
    let expected = [72.0, 32.0, 104.0, 96.0];
    assert!(b.iter().zip(expected).all(|(x, e)| (x - e).abs() < 1e-3), "{b:?}");
    assert!(p.persons[0].score > 0.9);

    // With box-source=auto, ROI metas win over the detector.
    let mut h = harness(&[("detector-model", detector.to_str().unwrap().to_value())], &rgba_caps());
    let mut buffer = gst::Buffer::from_mut_slice(squares_frame());
    gst_video::VideoRegionOfInterestMeta::add(buffer.get_mut().unwrap(), "person", (1, 2, 30, 60));
    h.push(buffer).unwrap();
    h.push(gst::Buffer::from_mut_slice(squares_frame())).unwrap();
    let out = finish(&mut h);
    assert_eq!(poses(&out[0]).persons[0].bbox, [1.0, 2.0, 31.0, 62.0]);
    assert_eq!(poses(&out[1]).persons.len(), 1, "no ROI: the detector's person");
}

/// Poses of the same picture given in `format` (converted by videoconvert).
fn poses_in_format(format: &str) -> FramePoses {
    init();
    let pipeline = gst::parse::launch(&format!(
        "appsrc name=src caps=video/x-raw,format=RGBA,width={W},height={H},framerate=30/1 format=time \
         ! videoconvert ! video/x-raw,format={format} ! hmr2pose box-source=roi-meta ! appsink name=sink sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let src = pipeline.by_name("src").unwrap().downcast::<gst_app::AppSrc>().unwrap();
    let sink = pipeline.by_name("sink").unwrap().downcast::<gst_app::AppSink>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut buffer = frame(5, &[]);
    gst_video::VideoRegionOfInterestMeta::add(buffer.get_mut().unwrap(), "person", (60, 20, 90, 200));
    src.push_buffer(buffer).unwrap();
    src.end_of_stream().unwrap();
    let sample = sink.pull_sample().expect("one frame");
    pipeline.set_state(gst::State::Null).unwrap();
    poses(sample.buffer().unwrap())
}

#[test]
fn every_format_gives_the_same_answer() {
    let reference = poses_in_format("RGBA");
    assert_eq!(reference.persons.len(), 1, "the ROI survives videoconvert");
    for format in ["BGRA", "RGBx", "BGRx", "xRGB", "ABGR", "RGB", "BGR", "I420", "YV12", "NV12", "NV21"] {
        let p = poses_in_format(format);
        let (a, b) = (&reference.persons[0], &p.persons[0]);
        let tolerance = if ["I420", "YV12", "NV12", "NV21"].contains(&format) { 0.05 } else { 1e-5 };
        for (x, y) in a.body_pose.iter().flatten().flatten().zip(b.body_pose.iter().flatten().flatten()) {
            assert!((x - y).abs() <= tolerance, "{format}: {x} vs {y}");
        }
        for (x, y) in a.pred_cam.iter().zip(&b.pred_cam) {
            assert!((x - y).abs() <= tolerance, "{format}: {x} vs {y}");
        }
    }
}

#[test]
fn flushing_mid_batch_drops_old_frames_and_keeps_new_ones() {
    let mut h = harness(&[("batch-size", 8u32.to_value())], &rgba_caps());
    for i in 0..5 {
        h.push(frame(i, &[])).unwrap();
    }
    assert!(h.push_event(gst::event::FlushStart::new()));
    assert!(h.push_event(gst::event::FlushStop::new(true)));
    let mut segment = gst::FormattedSegment::<gst::ClockTime>::new();
    segment.set_start(gst::ClockTime::from_seconds(10));
    assert!(h.push_event(gst::event::Segment::new(&segment)));
    let after: Vec<u64> = (300..311).collect();
    for &i in &after {
        h.push(frame(i, &[])).unwrap();
    }
    let out = finish(&mut h);
    let pts: Vec<u64> = out.iter().map(|b| b.pts().unwrap().nseconds() / FRAME_NS).collect();
    // Nothing from before the flush (frames 0..5 were waiting for a batch of 8), all after.
    assert_eq!(pts, after);
    assert!(out.iter().all(|b| poses(b).persons.len() == 1));
}

#[test]
fn seeking_a_pipeline_mid_stream_neither_hangs_nor_loses_frames() {
    init();
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc name=src pattern=ball ! video/x-raw,format=I420,width={W},height={H},framerate=30/1 \
         ! hmr2pose batch-size=4 ! appsink name=sink sync=false max-buffers=4"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline.by_name("sink").unwrap().downcast::<gst_app::AppSink>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut before = Vec::new();
    for _ in 0..6 {
        before.push(sink.pull_sample().unwrap().buffer().unwrap().pts().unwrap());
    }
    pipeline
        .seek(
            1.0,
            gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
            gst::SeekType::Set,
            gst::ClockTime::from_seconds(1),
            gst::SeekType::Set,
            gst::ClockTime::from_seconds(2),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut after = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(20)) {
        after.push(sample.buffer().unwrap().pts().unwrap());
        assert!(Instant::now() < deadline, "no end in sight");
    }
    assert!(sink.is_eos(), "the stream ends after the seek");
    pipeline.set_state(gst::State::Null).unwrap();
    // The seek returns once the flush went through: nothing from before it comes out
    // afterwards, and every frame of 1..2 s arrives once and in order.
    let expected: Vec<gst::ClockTime> =
        (30..60).map(|i| gst::ClockTime::from_nseconds(i * 1_000_000_000 / 30)).collect();
    assert_eq!(after, expected);
    assert!(before.windows(2).all(|w| w[1] > w[0]));
}

#[test]
fn downstream_eos_ends_the_pipeline_instead_of_hanging() {
    // identity returns EOS after 5 buffers: upstream then sends EOS, which must still
    // reach the sink although frames were queued behind the refused one.
    init();
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc pattern=ball ! video/x-raw,format=RGBA,width={W},height={H},framerate=30/1 \
         ! hmr2pose batch-size=4 ! identity eos-after=5 ! fakesink sync=false"
    ))
    .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(30), &[gst::MessageType::Eos, gst::MessageType::Error])
        .expect("the pipeline hung after downstream returned EOS");
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(message.type_(), gst::MessageType::Eos, "{message:?}");
}

#[test]
fn batch_timeout_sends_a_partial_batch_without_eos() {
    let mut h = harness(&[("batch-size", 8u32.to_value())], &rgba_caps());
    h.push(frame(0, &[])).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(h.try_pull().is_none(), "without a timeout the frame waits for its batch");

    let mut h = harness(&[("batch-size", 8u32.to_value()), ("batch-timeout", 50u32.to_value())], &rgba_caps());
    h.set_live(true);
    let start = Instant::now();
    h.push(frame(0, &[])).unwrap();
    let buffer = loop {
        if let Some(b) = h.try_pull() {
            break b;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the timeout never fired");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert_eq!(poses(&buffer).persons.len(), 1);
}

#[test]
fn latency_query_adds_the_batching_wait() {
    let mut h = harness(&[("batch-size", 4u32.to_value())], &rgba_caps());
    h.set_upstream_latency(gst::ClockTime::from_mseconds(20));
    // 3 frames of 1/30 s, no inference measured yet.
    assert_eq!(h.query_latency(), Some(gst::ClockTime::from_nseconds(20_000_000 + 3 * 33_333_333)));

    let mut h = harness(&[("batch-size", 4u32.to_value()), ("batch-timeout", 40u32.to_value())], &rgba_caps());
    h.set_upstream_latency(gst::ClockTime::from_mseconds(20));
    assert_eq!(h.query_latency(), Some(gst::ClockTime::from_mseconds(60)));
}

#[test]
fn stats_count_frames_persons_and_stages() {
    let el = element(&[("batch-size", 2u32.to_value()), ("box-source", "roi-meta".to_value())]);
    let mut h = Harness::with_element(&el, Some("sink"), Some("src"));
    h.set_src_caps_str(&rgba_caps());
    for i in 0..6 {
        h.push(frame(i, &rois_for(i))).unwrap();
    }
    finish(&mut h);
    let stats = el.property::<gst::Structure>("stats");
    assert_eq!(stats.get::<u64>("frames").unwrap(), 6);
    // Frames 0..6 carry 0, 1, 2, 3, 0 and 1 persons.
    assert_eq!(stats.get::<u64>("persons").unwrap(), 7);
    assert_eq!(stats.get::<u64>("batches").unwrap(), 4);
    for field in ["crop-ns", "inference-ns", "post-ns"] {
        assert!(stats.get::<u64>(field).unwrap() > 0, "{field}: {stats}");
    }
}
