//! Non-square pixels: a 720x540 clip at pixel aspect 4:3 shows as 960x540. Its person must
//! be cropped, placed and drawn as in a square-pixel 960x540 clip of the same picture: the
//! poses' cameras are in display geometry (the same numbers for both clips), and the
//! drawn silhouette has the same width on screen.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use gst::glib;
use gst::prelude::*;
use gst_video::prelude::*;

/// A grey clip of `width`x`height` stored pixels at pixel aspect `par`.
fn grey_clip(path: &Path, width: u32, height: u32, par: &str) {
    write_with_gstreamer(&format!(
        "videotestsrc num-buffers=6 pattern=solid-color foreground-color=0xff808080 ! \
         video/x-raw,format=I420,width={width},height={height},pixel-aspect-ratio={par},framerate=30/1 ! \
         x264enc ! h264parse ! matroskamux ! filesink location=\"{}\"",
        path.display()
    ));
}

/// Rows of the first frame of `video` where the drawn silhouette is measured: below the
/// arms, across the torso, hips and legs.
const ROWS: [u32; 3] = [150, 300, 450];

/// Where the silhouette drawn over the grey picture starts and ends on each of [`ROWS`]
/// of the first frame of `video`, in display pixels (stored x times the pixel aspect),
/// and that pixel aspect.
fn silhouette(video: &Path) -> (Vec<[f64; 2]>, f64) {
    let uri = glib::filename_to_uri(video.canonicalize().unwrap(), None).unwrap();
    let (pipeline, sink) = appsink_pipeline(&format!(
        "uridecodebin uri=\"{uri}\" ! videoconvert ! video/x-raw,format=RGBA ! appsink name=sink sync=false"
    ));
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("a decoded frame");
    pipeline.set_state(gst::State::Null).unwrap();
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(sample.buffer().unwrap(), &info).unwrap();
    let (stride, data) = (frame.plane_stride()[0] as usize, frame.plane_data(0).unwrap());
    let par = info.par().numer() as f64 / info.par().denom() as f64;
    let extents = ROWS
        .iter()
        .map(|&y| {
            let drawn: Vec<u32> = (0..info.width())
                .filter(|&x| {
                    let i = y as usize * stride + x as usize * 4;
                    data[i..i + 3].iter().any(|&c| (c as i32 - 128).abs() > 24)
                })
                .collect();
            assert!(!drawn.is_empty(), "nothing drawn on row {y} of {}", video.display());
            [drawn[0] as f64 * par, (drawn[drawn.len() - 1] + 1) as f64 * par]
        })
        .collect();
    (extents, par)
}

#[test]
fn non_square_pixels_are_estimated_and_drawn_in_display_geometry() {
    let dir = scratch("pixel-aspect");
    let mut runs = Vec::new();
    for (name, width, par) in [("square", 960, "1/1"), ("hdv-like", 720, "4/3")] {
        let input = dir.join(&format!("{name}.mkv"));
        grey_clip(&input, width, 540, par);
        let (output, poses) = (dir.join(&format!("{name}-mesh.mkv")), dir.join(&format!("{name}.jsonl")));
        let o = Launch::file(&input)
            .output(&output)
            .poses(&poses)
            .arg("-q")
            .arg("--no-track")
            .with_test_network()
            .run(Duration::from_secs(120));
        assert_succeeded(&o);
        let line = check_pose_file(&poses)[0].clone();
        let want_par: Vec<u64> = par.split('/').map(|n| n.parse().unwrap()).collect();
        assert_eq!(line["pixel_aspect_ratio"], serde_json::json!(want_par), "{name}: {line}");
        let person = line["persons"][0].clone();
        let (on_screen, output_par) = silhouette(&output);
        eprintln!(
            "{name}: camera {}, pixel aspect {output_par}, silhouette on rows {ROWS:?} spans {on_screen:.1?} display pixels",
            person["camera"]
        );
        runs.push((person["camera"].clone(), on_screen, output_par));
    }
    let (square, stretched) = (&runs[0], &runs[1]);
    assert!((stretched.2 - 4.0 / 3.0).abs() < 1e-6, "the output keeps the pixel aspect: {}", stretched.2);
    // The same camera, in display pixels, for the same picture.
    let numbers = |v: &serde_json::Value| -> Vec<f64> {
        let mut out = Vec::new();
        for key in ["cam_t", "principal_point", "focal_length"] {
            match &v[key] {
                serde_json::Value::Array(a) => out.extend(a.iter().map(|x| x.as_f64().unwrap())),
                x => out.push(x.as_f64().unwrap()),
            }
        }
        out
    };
    let (a, b) = (numbers(&square.0), numbers(&stretched.0));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-3 * x.abs().max(1.0), "camera {:?} vs square pixels {:?}", b, a);
    }
    // The same silhouette on screen, within two display pixels.
    for (row, (x, y)) in ROWS.iter().zip(square.1.iter().zip(&stretched.1)) {
        for edge in 0..2 {
            assert!(
                (x[edge] - y[edge]).abs() <= 2.0,
                "row {row}: the silhouette spans {y:.1?}, with square pixels {x:.1?}"
            );
        }
    }
}
