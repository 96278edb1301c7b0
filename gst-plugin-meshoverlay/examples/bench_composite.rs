//! Benchmark of the CPU compositing alone: one 600x900 window of a rendered person
//! (two thirds opaque, a sixth half transparent at the edges, the rest empty) blended
//! over a 1920x1080 frame, packed RGBA against 4:2:0 YUV (I420, NV12).
//!
//! `cargo run --release -p gst-plugin-meshoverlay --example bench_composite`

use std::time::Instant;

use gstmeshoverlay::composite::{
    blend_premultiplied, blend_premultiplied_yuv, ChannelOrder, ChromaMut, FrameMut, PlaneMut, YuvEncoding, YuvFrameMut,
};
use gstmeshoverlay::projection::PixelRect;

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
const ROUNDS: usize = 60;

fn overlay(window: PixelRect) -> Vec<u8> {
    let (w, h) = (window.width as usize, window.height as usize);
    let mut out = vec![0u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            // An ellipse: opaque inside, half transparent in a rim, empty outside.
            let (dx, dy) = ((x as f32 / w as f32 - 0.5) * 2.0, (y as f32 / h as f32 - 0.5) * 2.0);
            let r = dx * dx + dy * dy;
            let alpha = if r < 0.75 {
                255
            } else if r < 1.0 {
                128
            } else {
                0
            };
            let premultiplied = |c: u32| (c * alpha / 255) as u8;
            out[(y * w + x) * 4..(y * w + x) * 4 + 4].copy_from_slice(&[
                premultiplied(200),
                premultiplied(120),
                premultiplied(110),
                alpha as u8,
            ]);
        }
    }
    out
}

fn time(label: &str, mut blend: impl FnMut()) {
    blend();
    let start = Instant::now();
    for _ in 0..ROUNDS {
        blend();
    }
    println!("{label:<6} {:6.2} ms per frame", start.elapsed().as_secs_f64() * 1e3 / ROUNDS as f64);
}

fn main() {
    let window = PixelRect { x: 660, y: 90, width: 600, height: 900 };
    let over = overlay(window);
    let stride = window.width as usize * 4;
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let mut rgba = vec![90u8; w * h * 4];
    time("RGBA", || {
        let mut frame = FrameMut::packed(&mut rgba, WIDTH, HEIGHT, ChannelOrder::Rgba);
        blend_premultiplied(&mut frame, window, &over, stride);
    });
    let encoding = YuvEncoding { kr: 0.2126, kb: 0.0722, full_range: false };
    let (mut y, mut u, mut v) = (vec![90u8; w * h], vec![128u8; w * h / 4], vec![128u8; w * h / 4]);
    time("I420", || {
        let mut frame = YuvFrameMut {
            width: WIDTH,
            height: HEIGHT,
            y: PlaneMut { data: &mut y, stride: w },
            chroma: ChromaMut::Planar {
                u: PlaneMut { data: &mut u, stride: w / 2 },
                v: PlaneMut { data: &mut v, stride: w / 2 },
            },
            encoding,
        };
        blend_premultiplied_yuv(&mut frame, window, &over, stride);
    });
    let mut uv = vec![128u8; w * h / 2];
    time("NV12", || {
        let mut frame = YuvFrameMut {
            width: WIDTH,
            height: HEIGHT,
            y: PlaneMut { data: &mut y, stride: w },
            chroma: ChromaMut::Interleaved { uv: PlaneMut { data: &mut uv, stride: w }, swapped: false },
            encoding,
        };
        blend_premultiplied_yuv(&mut frame, window, &over, stride);
    });
}
