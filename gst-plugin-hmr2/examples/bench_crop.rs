//! Time of one HMR2 crop (crop and normalise, 3 × 256 × 192 values) with each crop filter,
//! for squares from 200 to 2560 pixels in a 1080p frame, in RGBA, I420 and NV12.
//!
//! ```sh
//! cargo run --release -p gst-plugin-hmr2 --example bench_crop -- [--runs N]
//! ```
//!
//! Each figure is the minimum and the median of N single crops (1000 by default), timed
//! one by one; the machine's other load moves the medians more than the minimums.

use std::time::Instant;

use gsthmr2::crop::sampler::{FrameView, PixelLayout, Plane, Scratch, YuvMatrix};
use gsthmr2::crop::{CropFilter, PersonCrop};

const WIDTH: usize = 1920;
const HEIGHT: usize = 1080;

/// Pseudo-random bytes: no filter gets an easy frame.
fn noise(len: usize) -> Vec<u8> {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

fn main() {
    let mut runs = 1000usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let data = noise(WIDTH * HEIGHT * 4);
    let (cw, ch) = (WIDTH / 2, HEIGHT / 2);
    let luma = WIDTH * HEIGHT;
    let m = YuvMatrix::BT709;
    let frames = [
        ("RGBA", PixelLayout::PackedRgb { bytes: 4, r: 0, g: 1, b: 2 }, vec![Plane { data: &data, stride: WIDTH * 4 }]),
        (
            "I420",
            PixelLayout::I420(m),
            vec![
                Plane { data: &data[..luma], stride: WIDTH },
                Plane { data: &data[luma..luma + cw * ch], stride: cw },
                Plane { data: &data[luma + cw * ch..luma + 2 * cw * ch], stride: cw },
            ],
        ),
        (
            "NV12",
            PixelLayout::Nv12 { matrix: m, swapped: false },
            vec![
                Plane { data: &data[..luma], stride: WIDTH },
                Plane { data: &data[luma..luma + 2 * cw * ch], stride: WIDTH },
            ],
        ),
    ];
    let boxes = [
        ("200 px", [900.0, 400.0, 1000.0, 600.0]),
        ("400 px", [860.0, 340.0, 1060.0, 740.0]),
        ("560 px (largest unblurred)", [800.0, 260.0, 1100.0, 820.0]),
        ("800 px", [550.0, 150.0, 850.0, 950.0]),
        ("1200 px", [560.0, 0.0, 1360.0, 1200.0]),
        ("2560 px (whole frame)", [0.0, 0.0, 1920.0, 1080.0]),
    ];
    println!("one crop + normalise, {WIDTH}x{HEIGHT}, {runs} runs each: minimum / median in ms");
    let mut input = vec![0.0f32; 3 * 256 * 192];
    let mut scratch = Scratch::default();
    for (format, layout, planes) in frames {
        let view = FrameView::new(WIDTH, HEIGHT, layout, planes).unwrap();
        for (label, bbox) in boxes {
            let crop = PersonCrop::from_box(bbox);
            let mut line = format!("{format} {label:<27}");
            for (name, filter) in [("reference", CropFilter::Reference), ("area", CropFilter::Area)] {
                crop.write_input_filtered(&view, 192, filter, &mut scratch, &mut input);
                let mut times: Vec<f64> = (0..runs)
                    .map(|_| {
                        let start = Instant::now();
                        crop.write_input_filtered(&view, 192, filter, &mut scratch, &mut input);
                        start.elapsed().as_secs_f64() * 1e3
                    })
                    .collect();
                times.sort_by(f64::total_cmp);
                line += &format!(" | {name} {:.3} / {:.3}", times[0], times[times.len() / 2]);
            }
            println!("{line}");
        }
    }
}
