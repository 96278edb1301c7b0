use super::passes::sample_body;
use super::taps::AxisTaps;
use super::*;

const RGBA: PixelLayout = PixelLayout::PackedRgb { bytes: 4, r: 0, g: 1, b: 2 };

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol
}

/// The sampled RGB (black outside) and the coverage of every output pixel; the
/// coverage is read back from a second sampling that paints the outside with 1024.
fn sample(frame: &FrameView, warp: &Warp) -> Vec<([f32; 3], f32)> {
    let n = warp.width * warp.height;
    let planes = |transform: &OutputTransform| {
        let mut out = vec![0.0f32; 3 * n];
        sample_rgb_planes(frame, warp, &mut Scratch::default(), transform, &mut out);
        out
    };
    let rgb = planes(&OutputTransform::IDENTITY);
    let painted = planes(&OutputTransform { border: 1024.0, ..OutputTransform::IDENTITY });
    (0..n).map(|i| ([rgb[i], rgb[n + i], rgb[2 * n + i]], 1.0 - (painted[i] - rgb[i]) / 1024.0)).collect()
}

fn unit_warp(x0: f32, y0: f32, step: f32, w: usize, h: usize) -> Warp {
    Warp { x: AxisMap { origin: x0, step }, y: AxisMap { origin: y0, step }, width: w, height: h }
}

#[test]
fn bilinear_taps_match_hand_computation() {
    let taps = AxisTaps::new(AxisMap { origin: 0.25, step: 1.0 }, 3, 3);
    // x = 0.25 -> pixels 0, 1 weights 0.75, 0.25; x = 2.25 -> pixel 2 weight 0.75 only
    assert_eq!(taps.start, vec![0, 1, 2]);
    assert_eq!(taps.len, vec![2, 2, 1]);
    assert_eq!(taps.weights, vec![0.75, 0.25, 0.75, 0.25, 0.75]);
    assert_eq!(taps.coverage, vec![1.0, 1.0, 0.75]);
}

#[test]
fn area_taps_cover_the_footprint() {
    // Scale 2.5 centred on 1.0: footprint [-0.25, 2.25] overlaps pixel 0 by 0.75, pixel 1
    // by 1 and pixel 2 by 0.75.
    let taps = AxisTaps::new(AxisMap { origin: 1.0, step: 2.5 }, 1, 10);
    assert_eq!((taps.start[0], taps.len[0]), (0, 3));
    let expected = [0.3, 0.4, 0.3];
    for (w, e) in taps.weights.iter().zip(expected) {
        assert!(close(*w, e, 1e-6), "{:?}", taps.weights);
    }
    assert!(close(taps.coverage[0], 1.0, 1e-6));
    // Centred on 0.5: [-0.75, 1.75]; the 0.25 over pixel -1 lies outside and is dropped,
    // pixels 0 and 1 get 1 each, pixel 2 gets 0.25.
    let taps = AxisTaps::new(AxisMap { origin: 0.5, step: 2.5 }, 1, 10);
    assert_eq!((taps.start[0], taps.len[0]), (0, 3));
    for (w, e) in taps.weights.iter().zip([0.4, 0.4, 0.1]) {
        assert!(close(*w, e, 1e-6), "{:?}", taps.weights);
    }
    assert!(close(taps.coverage[0], 0.9, 1e-6));
}

#[test]
fn rgba_bilinear_sample_between_pixels() {
    // 2x1 frame: red then blue; halfway between is an even mix.
    let data = [255, 0, 0, 255, 0, 0, 255, 255];
    let frame = FrameView::new(2, 1, RGBA, vec![Plane { data: &data, stride: 8 }]).unwrap();
    let out = sample(&frame, &unit_warp(0.5, 0.0, 1.0, 1, 1));
    assert_eq!(out[0], ([127.5, 0.0, 127.5], 1.0));
}

#[test]
fn outside_is_black_with_partial_coverage() {
    // A white 2x2 frame sampled at x = -0.5: half the bilinear weight lies outside.
    let data = [255u8; 16];
    let frame = FrameView::new(2, 2, RGBA, vec![Plane { data: &data, stride: 8 }]).unwrap();
    let out = sample(&frame, &unit_warp(-0.5, 0.0, 1.0, 1, 1));
    assert_eq!(out[0], ([127.5, 127.5, 127.5], 0.5));
    let out = sample(&frame, &unit_warp(-5.0, -5.0, 1.0, 1, 1));
    assert_eq!(out[0], ([0.0; 3], 0.0));
}

#[test]
fn channel_orders_are_honoured() {
    // One BGRx pixel (b=10, g=20, r=30) and one RGB pixel (30, 20, 10) read the same.
    let bgrx = [10u8, 20, 30, 0];
    let rgb = [30u8, 20, 10];
    let a = FrameView::new(
        1,
        1,
        PixelLayout::PackedRgb { bytes: 4, r: 2, g: 1, b: 0 },
        vec![Plane { data: &bgrx, stride: 4 }],
    )
    .unwrap();
    let b = FrameView::new(
        1,
        1,
        PixelLayout::PackedRgb { bytes: 3, r: 0, g: 1, b: 2 },
        vec![Plane { data: &rgb, stride: 3 }],
    )
    .unwrap();
    let warp = unit_warp(0.0, 0.0, 1.0, 1, 1);
    assert_eq!(sample(&a, &warp)[0].0, [30.0, 20.0, 10.0]);
    assert_eq!(sample(&b, &warp)[0].0, [30.0, 20.0, 10.0]);
}

#[test]
fn area_downscale_averages_instead_of_aliasing() {
    // A 1-pixel black/white checkerboard shrunk 4x must come out mid-grey everywhere;
    // point sampling would give pure black or white.
    let (w, h) = (64usize, 64usize);
    let mut data = vec![0u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            let v = if (x + y) % 2 == 0 { 255 } else { 0 };
            data[(y * w + x) * 4..][..4].copy_from_slice(&[v, v, v, 255]);
        }
    }
    let frame = FrameView::new(w, h, RGBA, vec![Plane { data: &data, stride: w * 4 }]).unwrap();
    // Output pixel o covers source [4o - 0.5, 4o + 3.5]: centre 4o + 1.5.
    let out = sample(&frame, &unit_warp(1.5, 1.5, 4.0, 16, 16));
    for (rgb, cov) in out {
        assert!(close(rgb[0], 127.5, 1e-3), "{rgb:?}");
        assert_eq!(cov, 1.0);
    }
}

#[test]
fn i420_and_nv12_read_the_same_colour() {
    // A flat colour Y=81, U=90, V=240 (BT.601 studio range: pure red 255, 0, 0).
    let (w, h) = (4usize, 4usize);
    let y = vec![81u8; w * h];
    let u = vec![90u8; 4];
    let v = vec![240u8; 4];
    let uv: Vec<u8> = (0..4).flat_map(|_| [90u8, 240]).collect();
    let i420 = FrameView::new(
        w,
        h,
        PixelLayout::I420(YuvMatrix::BT601),
        vec![Plane { data: &y, stride: w }, Plane { data: &u, stride: 2 }, Plane { data: &v, stride: 2 }],
    )
    .unwrap();
    let nv12 = FrameView::new(
        w,
        h,
        PixelLayout::Nv12 { matrix: YuvMatrix::BT601, swapped: false },
        vec![Plane { data: &y, stride: w }, Plane { data: &uv, stride: 4 }],
    )
    .unwrap();
    let warp = unit_warp(1.5, 1.5, 1.0, 1, 1);
    let a = sample(&i420, &warp)[0].0;
    let b = sample(&nv12, &warp)[0].0;
    assert_eq!(a, b);
    assert!(close(a[0], 255.0, 1.0) && close(a[1], 0.0, 1.0) && close(a[2], 0.0, 1.0), "{a:?}");
}

#[test]
fn yuv_edge_pixels_fade_to_black_without_a_colour_cast() {
    // Flat red (BT.601 studio Y=81, U=90, V=240) sampled across the left and top
    // edges: the chroma footprint reaches further out than the luma's, yet each output
    // must be red scaled by the part of it inside the frame, with no other hue.
    let (w, h) = (8usize, 8usize);
    let y = vec![81u8; w * h];
    let (u, v) = (vec![90u8; 16], vec![240u8; 16]);
    let frame = FrameView::new(
        w,
        h,
        PixelLayout::I420(YuvMatrix::BT601),
        vec![Plane { data: &y, stride: w }, Plane { data: &u, stride: 4 }, Plane { data: &v, stride: 4 }],
    )
    .unwrap();
    for (x0, step) in [(-0.75f32, 0.5f32), (-1.2, 1.0), (-2.0, 3.0)] {
        let out = sample(&frame, &unit_warp(x0, x0, step, 4, 4));
        for (rgb, coverage) in out {
            let red = 255.0 * coverage;
            assert!(
                close(rgb[0], red, 0.6) && rgb[1] < 0.6 && rgb[2] < 0.6,
                "step {step}: {rgb:?} at coverage {coverage}"
            );
        }
    }
}

#[test]
fn yuv_black_border_is_rgb_black() {
    let y = vec![235u8; 4];
    let uv = vec![128u8; 2];
    let frame = FrameView::new(
        2,
        2,
        PixelLayout::Nv12 { matrix: YuvMatrix::BT709, swapped: false },
        vec![Plane { data: &y, stride: 2 }, Plane { data: &uv, stride: 2 }],
    )
    .unwrap();
    let out = sample(&frame, &unit_warp(-10.0, -10.0, 1.0, 1, 1));
    assert_eq!(out[0], ([0.0; 3], 0.0));
    let out = sample(&frame, &unit_warp(0.5, 0.5, 1.0, 1, 1));
    assert!(out[0].0.iter().all(|&c| close(c, 255.0, 1e-3)), "{out:?}");
}

#[test]
fn vector_and_plain_code_agree() {
    // The AVX2 build of the sampler must give the same numbers as the plain one, for
    // packed and planar layouts, upscaling and both filters of downscaling.
    let (w, h) = (97usize, 61usize);
    let data: Vec<u8> = (0..w * h * 4).map(|i| (i * 31 % 256) as u8).collect();
    let rgb = FrameView::new(
        w,
        h,
        PixelLayout::PackedRgb { bytes: 3, r: 0, g: 1, b: 2 },
        vec![Plane { data: &data, stride: w * 3 }],
    )
    .unwrap();
    let nv12 = FrameView::new(
        w,
        h,
        PixelLayout::Nv12 { matrix: YuvMatrix::BT709, swapped: true },
        vec![Plane { data: &data, stride: w + 1 }, Plane { data: &data[w * h * 2..], stride: w + 1 }],
    )
    .unwrap();
    let transform = OutputTransform { scale: [0.5, 2.0, -1.0], offset: [1.0, -3.0, 0.25], border: 40.0 };
    let gaussian = |sigma| Filter::GaussianBilinear { sigma, grid: SampleGrid::Exact };
    for frame in [&rgb, &nv12] {
        for (step, filter) in [
            (0.7f32, Filter::BilinearOrArea),
            (3.3, Filter::BilinearOrArea),
            (10.0, Filter::BilinearOrArea),
            (0.7, gaussian(0.0)),
            (3.3, gaussian(1.2)),
            (10.0, gaussian(4.0)),
        ] {
            let warp =
                Warp { x: AxisMap { origin: -3.0, step }, y: AxisMap { origin: 2.0, step }, width: 40, height: 30 };
            let mut a = vec![0.0f32; 3 * 40 * 30];
            sample_rgb_planes_filtered(frame, &warp, &filter, &mut Scratch::default(), &transform, &mut a);
            let mut b = vec![vec![0.0f32; 40 * 30]; 3];
            let [br, bg, bb] = &mut b[..] else { unreachable!() };
            sample_body(frame, &warp, &filter, &mut Scratch::default(), &transform, [br, bg, bb]);
            assert_eq!(a, b.concat(), "{:?}, step {step}, {filter:?}", frame.layout);
            assert!(a[..40 * 30].iter().any(|&v| v > 1.0));
        }
    }
}

/// Weights of source pixels `0..len` for output position `x` and step, from the filter
/// definitions in the module docs, written out directly.
fn reference_weights(x: f32, step: f32, len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let i = i as f32;
            if step <= ANTI_ALIAS_ABOVE {
                (1.0 - (x - i).abs()).max(0.0)
            } else {
                let overlap = (x + step / 2.0).min(i + 0.5) - (x - step / 2.0).max(i - 0.5);
                overlap.max(0.0) / step
            }
        })
        .collect()
}

/// One plane resampled by the definition: a weighted sum over every source pixel, and
/// the sum of the weights (the part of each output pixel inside the plane).
fn reference_plane(data: &[u8], w: usize, h: usize, channels: usize, warp: &Warp, sub: usize) -> (Vec<f32>, Vec<f32>) {
    let (x, y) = (warp.x.subsampled(sub), warp.y.subsampled(sub));
    let mut out = vec![0.0; warp.width * warp.height * channels];
    let mut coverage = vec![0.0; warp.width * warp.height];
    for oy in 0..warp.height {
        let wy = reference_weights(y.origin + oy as f32 * y.step, y.step, h);
        for ox in 0..warp.width {
            let wx = reference_weights(x.origin + ox as f32 * x.step, x.step, w);
            coverage[oy * warp.width + ox] = wy.iter().sum::<f32>() * wx.iter().sum::<f32>();
            for (j, &wj) in wy.iter().enumerate().filter(|(_, w)| **w > 0.0) {
                for (i, &wi) in wx.iter().enumerate().filter(|(_, w)| **w > 0.0) {
                    for c in 0..channels {
                        out[(oy * warp.width + ox) * channels + c] += wj * wi * data[(j * w + i) * channels + c] as f32;
                    }
                }
            }
        }
    }
    (out, coverage)
}

#[test]
fn sampler_equals_the_filter_definition() {
    // Pseudo-random pixels, regions partly outside the frame, and every kind of step:
    // bilinear, area averaging with few and with more than 12 taps, and more than 257
    // equal-weight rows (summed in several integer runs); every packed channel order
    // (and one no GStreamer format has), I420, NV12 and NV21.
    let (w, h) = (90usize, 700usize);
    let data: Vec<u8> = (0..w * h * 4).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let packed: Vec<FrameView> = [
        (4, [0, 1, 2]),
        (4, [2, 1, 0]),
        (4, [1, 2, 3]),
        (4, [3, 2, 1]),
        (4, [0, 2, 1]),
        (3, [0, 1, 2]),
        (3, [2, 1, 0]),
    ]
    .into_iter()
    .map(|(bytes, [r, g, b])| {
        let layout = PixelLayout::PackedRgb { bytes, r, g, b };
        FrameView::new(w, h, layout, vec![Plane { data: &data, stride: w * bytes }]).unwrap()
    })
    .collect();
    let (y, u, v) = (&data[..w * h], &data[w * h..w * h + w * h / 4], &data[2 * w * h..2 * w * h + w * h / 4]);
    let uv: Vec<u8> = u.iter().zip(v).flat_map(|(&u, &v)| [u, v]).collect();
    let vu: Vec<u8> = u.iter().zip(v).flat_map(|(&u, &v)| [v, u]).collect();
    let m = YuvMatrix::BT601;
    let yuv = [
        FrameView::new(
            w,
            h,
            PixelLayout::I420(m),
            vec![Plane { data: y, stride: w }, Plane { data: u, stride: w / 2 }, Plane { data: v, stride: w / 2 }],
        )
        .unwrap(),
        FrameView::new(
            w,
            h,
            PixelLayout::Nv12 { matrix: m, swapped: false },
            vec![Plane { data: y, stride: w }, Plane { data: &uv, stride: w }],
        )
        .unwrap(),
        FrameView::new(
            w,
            h,
            PixelLayout::Nv12 { matrix: m, swapped: true },
            vec![Plane { data: y, stride: w }, Plane { data: &vu, stride: w }],
        )
        .unwrap(),
    ];
    for (step, size) in [(0.6f32, 20usize), (1.0, 12), (2.5, 12), (7.3, 8), (13.7, 6), (300.0, 3)] {
        let warp = Warp {
            x: AxisMap { origin: -4.0, step: step.min(30.0) },
            y: AxisMap { origin: 3.5, step },
            width: size,
            height: size,
        };
        for frame in &packed {
            let PixelLayout::PackedRgb { bytes, r, g, b } = frame.layout else { unreachable!() };
            let got = sample(frame, &warp);
            let (want, _) = reference_plane(&data, w, h, bytes, &warp, 1);
            for (i, (rgb, _)) in got.iter().enumerate() {
                for (c, offset) in [r, g, b].into_iter().enumerate() {
                    let expected = want[i * bytes + offset].clamp(0.0, 255.0);
                    let layout = frame.layout;
                    assert!(
                        close(rgb[c], expected, 0.02),
                        "{layout:?} step {step}, pixel {i}: {rgb:?}, {c} should be {expected}"
                    );
                }
            }
        }
        let (ry, luma_coverage) = reference_plane(y, w, h, 1, &warp, 1);
        let (ru, chroma_coverage) = reference_plane(u, w / 2, h / 2, 1, &warp, 2);
        let (rv, _) = reference_plane(v, w / 2, h / 2, 1, &warp, 2);
        for frame in &yuv {
            for (i, (rgb, coverage)) in sample(frame, &warp).iter().enumerate() {
                assert!(close(*coverage, luma_coverage[i], 1e-4), "coverage {coverage} vs {}", luma_coverage[i]);
                // Chroma taken at the luma's coverage; each plane's black fills the rest.
                let (l, c) = (luma_coverage[i], chroma_coverage[i]);
                let chroma = |sum: f32| {
                    if c > 0.0 {
                        sum * l / c + (1.0 - l) * 128.0
                    } else {
                        128.0
                    }
                };
                let expected = m.to_rgb(ry[i] + (1.0 - l) * 16.0, chroma(ru[i]), chroma(rv[i]));
                for c in 0..3 {
                    let layout = frame.layout;
                    assert!(
                        close(rgb[c], expected[c], 0.05),
                        "{layout:?} step {step}, pixel {i}: {rgb:?} vs {expected:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn transform_scales_offsets_and_paints_the_border() {
    // A grey 2x2 frame (100) sampled half outside: (50 + 0.5 * 20) * 2 + 1 = 121.
    let data = [100u8, 100, 100, 0].repeat(4);
    let frame = FrameView::new(2, 2, RGBA, vec![Plane { data: &data, stride: 8 }]).unwrap();
    let transform = OutputTransform { scale: [2.0, 1.0, 0.5], offset: [1.0, 0.0, -10.0], border: 20.0 };
    let mut out = [0.0f32; 3];
    sample_rgb_planes(&frame, &unit_warp(-0.5, 0.0, 1.0, 1, 1), &mut Scratch::default(), &transform, &mut out);
    assert_eq!(out, [121.0, 60.0, 20.0]);
}

#[test]
fn packed_layouts_without_room_for_their_channels_are_rejected() {
    let data = [0u8; 16];
    for layout in
        [PixelLayout::PackedRgb { bytes: 2, r: 0, g: 1, b: 1 }, PixelLayout::PackedRgb { bytes: 4, r: 0, g: 1, b: 4 }]
    {
        assert!(FrameView::new(2, 2, layout, vec![Plane { data: &data, stride: 8 }]).is_err(), "{layout:?}");
    }
}

#[test]
fn a_huge_footprint_costs_no_more_than_the_frame() {
    // A pixel footprint 10^12 pixels wide over a 4x4 frame (say, from a bogus box) must
    // not walk the 10^12 pixels (which would never end): it averages the frame's
    // pixels with black all around.
    let data = [200u8; 64];
    let frame = FrameView::new(4, 4, RGBA, vec![Plane { data: &data, stride: 16 }]).unwrap();
    let out = sample(&frame, &unit_warp(2.0, 2.0, 1.0e12, 1, 1));
    assert!(out[0].0[0] > 0.0 && out[0].0[0] < 1e-3, "{out:?}");
    assert!(out[0].1 < 1e-6, "{out:?}");
    // Nothing to sample: nothing written, no panic.
    let empty = Warp { width: 0, ..unit_warp(0.0, 0.0, 1.0, 1, 1) };
    sample_rgb_planes(&frame, &empty, &mut Scratch::default(), &OutputTransform::IDENTITY, &mut []);
}

#[test]
fn short_planes_are_rejected() {
    let data = [0u8; 7];
    assert!(FrameView::new(2, 1, RGBA, vec![Plane { data: &data, stride: 8 }]).is_err());
    assert!(FrameView::new(2, 1, RGBA, vec![Plane { data: &[0; 8], stride: 4 }]).is_err());
}

#[test]
fn gaussian_kernel_is_scipys() {
    // Sigma 1: radius ⌊4 + 0.5⌋ = 4, weights exp(−x²/2) / 2.506617 (their sum).
    let k = taps::gaussian_kernel(1.0);
    assert_eq!(k.len(), 9);
    for (x, expected) in [(0, 0.398_943), (1, 0.241_971), (2, 0.053_991), (4, 0.000_134)] {
        assert!((k[4 + x] - expected).abs() < 1e-6 && k[4 - x] == k[4 + x], "{k:?}");
    }
    // Sigma 0.3: radius ⌊1.7⌋ = 1; no blur at all for sigma 0.
    assert_eq!(taps::gaussian_kernel(0.3).len(), 3);
    assert_eq!(taps::gaussian_kernel(0.0), vec![1.0]);
}

#[test]
fn blurred_bilinear_taps_match_hand_computation() {
    // Kernel (0.25, 0.5, 0.25) over a 3-pixel line. Position −0.5: half the bilinear
    // weight on pixel −1 (outside, black), half on pixel 0, whose blur is
    // 0.25 · p0 (the edge repeated) + 0.5 · p0 + 0.25 · p1.
    let kernel = [0.25, 0.5, 0.25];
    let taps = AxisTaps::gaussian_bilinear(&[-0.5, 1.0, 2.25], &kernel, 3);
    assert_eq!(taps.start, vec![0, 0, 1]);
    assert_eq!(taps.len, vec![2, 3, 2]);
    // Position 1: pixel 1 blurred. Position 2.25: 0.75 of pixel 2 blurred (0.25 p1 +
    // 0.75 p2), 0.25 on pixel 3 (outside).
    let expected = [0.375, 0.125, 0.25, 0.5, 0.25, 0.1875, 0.5625];
    assert_eq!(taps.weights, expected);
    assert_eq!(taps.coverage, vec![0.5, 1.0, 0.75]);
}

#[test]
fn opencv_positions_follow_its_fixed_point_rounding() {
    // x: step · u and the origin rounded to 1/1024 separately, then half up to 1/32.
    // 1/64 is a tie, rounded up to 1/32; 0.5/1024 rounds to even (0) first.
    let map = OpenCvMap { origin: [1.0 / 64.0, 0.5 / 1024.0], step: [1.0, 1.0], first_column: 0 };
    assert_eq!(map.positions(0, 2), vec![1.0 / 32.0, 1.0 + 1.0 / 32.0]);
    assert_eq!(map.positions(1, 2), vec![0.0, 1.0]);
    // The column term is rounded on its own: 1.5/1024 per column, columns from 1 on.
    let map = OpenCvMap { origin: [0.4 / 1024.0, 0.0], step: [1.5 / 1024.0, 1.0], first_column: 1 };
    // Column 1: rint(1.5) + rint(0.4) = 2 units, column 11: rint(16.5) = 16 (even) + 0.
    assert_eq!(map.positions(0, 11)[0], 0.0);
    assert_eq!(map.positions(0, 11)[10], 1.0 / 32.0);
}

#[test]
fn gaussian_filter_equals_its_definition() {
    // Blur, then bilinear, by the definition over the whole (edge-repeated) line, against
    // the folded taps, with the warp partly outside the frame.
    let (w, h) = (23usize, 17usize);
    let data: Vec<u8> = (0..w * h * 3).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
    let layout = PixelLayout::PackedRgb { bytes: 3, r: 0, g: 1, b: 2 };
    let frame = FrameView::new(w, h, layout, vec![Plane { data: &data, stride: w * 3 }]).unwrap();
    let sigma = 1.3f32;
    let kernel = taps::gaussian_kernel(sigma as f64);
    let r = kernel.len() as i64 / 2;
    let at = |x: i64, y: i64, c: usize| {
        data[(y.clamp(0, h as i64 - 1) as usize * w + x.clamp(0, w as i64 - 1) as usize) * 3 + c] as f64
    };
    let blurred = |x: i64, y: i64, c: usize| {
        let mut v = 0.0;
        for (i, ky) in kernel.iter().enumerate() {
            for (j, kx) in kernel.iter().enumerate() {
                v += ky * kx * at(x + j as i64 - r, y + i as i64 - r, c);
            }
        }
        v
    };
    let warp =
        Warp { x: AxisMap { origin: -1.3, step: 2.7 }, y: AxisMap { origin: 0.6, step: 1.9 }, width: 10, height: 9 };
    let filter = Filter::GaussianBilinear { sigma, grid: SampleGrid::Exact };
    let mut out = vec![0.0f32; 3 * 90];
    sample_rgb_planes_filtered(&frame, &warp, &filter, &mut Scratch::default(), &OutputTransform::IDENTITY, &mut out);
    for oy in 0..9 {
        for ox in 0..10 {
            let (x, y) = (-1.3 + 2.7 * ox as f64, 0.6 + 1.9 * oy as f64);
            let (x0, y0) = (x.floor(), y.floor());
            for c in 0..3 {
                let mut v = 0.0;
                for (dy, wy) in [(0, 1.0 - (y - y0)), (1, y - y0)] {
                    for (dx, wx) in [(0, 1.0 - (x - x0)), (1, x - x0)] {
                        let (px, py) = (x0 as i64 + dx, y0 as i64 + dy);
                        if (0..w as i64).contains(&px) && (0..h as i64).contains(&py) {
                            v += wx * wy * blurred(px, py, c);
                        }
                    }
                }
                let got = out[c * 90 + oy * 10 + ox] as f64;
                assert!((got - v.clamp(0.0, 255.0)).abs() < 1e-3, "({ox}, {oy}) channel {c}: {got} vs {v}");
            }
        }
    }
}

#[test]
fn yuv_regions_convert_as_the_whole_frame_does() {
    // A region converted on its own, from odd or even columns and rows, up to the right
    // and bottom edges of an odd-sized frame, equals that part of the whole frame
    // converted; and each pixel is the 8-bit RGB of its Y and bilinearly upsampled chroma.
    let (w, h) = (13usize, 9usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let y: Vec<u8> = (0..w * h).map(|i| (16 + i * 37 % 220) as u8).collect();
    let uv: Vec<u8> = (0..cw * ch * 2).map(|i| (i * 53 % 256) as u8).collect();
    let matrix = YuvMatrix::BT601;
    let frame = FrameView::new(
        w,
        h,
        PixelLayout::Nv12 { matrix, swapped: false },
        vec![Plane { data: &y, stride: w }, Plane { data: &uv, stride: 2 * cw }],
    )
    .unwrap();
    let mut whole = yuv::RgbRegion::default();
    assert!(yuv::yuv420_region_to_rgbx(&frame, 0..w, 0..h, &mut whole));
    let chroma = |c: usize, x: usize, yy: usize| {
        let up = |i: usize, n: usize| {
            let p = (i as f64 - 0.5) / 2.0;
            let k = p.floor();
            ((k.max(0.0) as usize).min(n - 1), ((k + 1.0) as usize).min(n - 1), p - k)
        };
        let ((x0, x1, fx), (y0, y1, fy)) = (up(x, cw), up(yy, ch));
        let at = |x: usize, y: usize| uv[y * 2 * cw + 2 * x + c] as f64;
        (at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx) * (1.0 - fy) + (at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx) * fy
    };
    for yy in 0..h {
        for x in 0..w {
            let want = matrix.to_rgb(y[yy * w + x] as f32, chroma(0, x, yy) as f32, chroma(1, x, yy) as f32);
            let got = &whole.pixels[(yy * w + x) * 4..][..4];
            for c in 0..3 {
                assert!((got[c] as f32 - want[c]).abs() <= 0.5 + 1e-3, "({x}, {yy}): {got:?} vs {want:?}");
            }
            assert_eq!(got[3], 255);
        }
    }
    for (columns, rows) in [(1..13, 0..9), (3..8, 2..7), (4..13, 5..9), (0..1, 8..9)] {
        let mut part = yuv::RgbRegion::default();
        assert!(yuv::yuv420_region_to_rgbx(&frame, columns.clone(), rows.clone(), &mut part));
        for (r, yy) in rows.clone().enumerate() {
            let want = &whole.pixels[(yy * w + columns.start) * 4..(yy * w + columns.end) * 4];
            let got = &part.pixels[r * columns.len() * 4..(r + 1) * columns.len() * 4];
            assert_eq!(got, want, "{columns:?} x {rows:?}, row {yy}");
        }
    }
}
