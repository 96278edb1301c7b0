//! Writes hmr2pose's HMR2 crops of one raw frame, so that other tools can compare them
//! with another implementation (`models/tests/test_crop_reference.py` compares them with
//! 4D-Humans' preprocessing run through scikit-image and OpenCV).
//!
//! ```sh
//! cargo run -p gst-plugin-hmr2 --example crop_dump -- WIDTH HEIGHT FORMAT FRAME.raw OUT.f32 \
//!     [--filter reference|area] [--input-width 192|256] X0,Y0,X1,Y1...
//! ```
//!
//! `FORMAT` is a packed RGB order (RGB, BGR, RGBA, BGRA, ...) or I420 / NV12 / NV21 with
//! BT.601 studio-range colours; rows are tightly packed. For each box, `OUT.f32` receives
//! the network input the element makes: 3 × 256 × input-width little-endian f32 values,
//! ImageNet-normalised RGB planes.

use std::process::ExitCode;

use gsthmr2::crop::sampler::{FrameView, PixelLayout, Plane, Scratch, YuvMatrix};
use gsthmr2::crop::{CropFilter, PersonCrop, CROP_SIDE};

fn layout(format: &str) -> Option<PixelLayout> {
    let packed = |bytes, r, g, b| Some(PixelLayout::PackedRgb { bytes, r, g, b });
    let m = YuvMatrix::BT601;
    match format {
        "RGB" => packed(3, 0, 1, 2),
        "BGR" => packed(3, 2, 1, 0),
        "RGBA" | "RGBx" => packed(4, 0, 1, 2),
        "BGRA" | "BGRx" => packed(4, 2, 1, 0),
        "I420" => Some(PixelLayout::I420(m)),
        "NV12" => Some(PixelLayout::Nv12 { matrix: m, swapped: false }),
        "NV21" => Some(PixelLayout::Nv12 { matrix: m, swapped: true }),
        _ => None,
    }
}

/// The planes of a tightly packed frame, as (offset, length, stride).
fn planes(layout: PixelLayout, width: usize, height: usize) -> Vec<(usize, usize, usize)> {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    match layout {
        PixelLayout::PackedRgb { bytes, .. } => vec![(0, width * height * bytes, width * bytes)],
        PixelLayout::I420(_) => {
            let y = width * height;
            vec![(0, y, width), (y, cw * ch, cw), (y + cw * ch, cw * ch, cw)]
        }
        PixelLayout::Nv12 { .. } => vec![(0, width * height, width), (width * height, 2 * cw * ch, 2 * cw)],
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let [width, height, format, input, output, rest @ ..] = args else {
        return Err(
            "usage: crop_dump WIDTH HEIGHT FORMAT FRAME.raw OUT.f32 [--filter F] [--input-width W] BOXES...".into()
        );
    };
    let parse = |s: &str| s.parse::<usize>().map_err(|e| format!("{s}: {e}"));
    let (width, height) = (parse(width)?, parse(height)?);
    let layout = layout(format).ok_or_else(|| format!("unknown format {format}"))?;
    let data = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let mut filter = CropFilter::Reference;
    let mut input_width = 192;
    let mut boxes = Vec::new();
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--filter" => {
                filter = match it.next().map(String::as_str) {
                    Some("reference") => CropFilter::Reference,
                    Some("area") => CropFilter::Area,
                    other => return Err(format!("--filter reference|area, not {other:?}")),
                }
            }
            "--input-width" => input_width = parse(it.next().ok_or("--input-width needs a value")?)?,
            bbox => {
                let v: Vec<f32> = bbox
                    .split(',')
                    .map(|s| s.parse::<f32>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("{bbox}: {e}"))?;
                let [x0, y0, x1, y1] = v[..] else { return Err(format!("{bbox}: a box is X0,Y0,X1,Y1")) };
                boxes.push([x0, y0, x1, y1]);
            }
        }
    }
    let planes = planes(layout, width, height)
        .into_iter()
        .map(|(offset, len, stride)| {
            let data =
                data.get(offset..offset + len).ok_or(format!("{input} is too short for {width}x{height} {format}"))?;
            Ok(Plane { data, stride })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let frame = FrameView::new(width, height, layout, planes).map_err(|e| e.to_string())?;
    let mut scratch = Scratch::default();
    let mut tensor = vec![0.0f32; 3 * CROP_SIDE * input_width];
    let mut bytes = Vec::new();
    for bbox in boxes {
        PersonCrop::from_box(bbox).write_input_filtered(&frame, input_width, filter, &mut scratch, &mut tensor);
        bytes.extend(tensor.iter().flat_map(|v| v.to_le_bytes()));
    }
    std::fs::write(output, bytes).map_err(|e| format!("{output}: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crop_dump: {e}");
            ExitCode::FAILURE
        }
    }
}
