//! The default crop against the reference's preprocessing, written out plainly here: the
//! frame as 8-bit RGB (YUV converted pixel by pixel first, as a converter in front would:
//! chroma upsampled bilinearly, the colour matrix, each channel clamped to [0, 255] and
//! rounded), a whole-frame Gaussian blur (scikit-image's `gaussian` with its defaults:
//! kernel radius `⌊4 sigma + 0.5⌋`, edge pixels repeated) when the square is larger than
//! 1.1 × 512 pixels, then OpenCV's `warpAffine` (bilinear on its 1/32-pixel grid, black
//! outside). The element's crop, de-normalised, must match within one 8-bit grey level.

use super::sampler::{FrameView, PixelLayout, Plane, Scratch, YuvMatrix};
use super::{input_columns, CropFilter, PersonCrop, CROP_SIDE, IMAGENET_MEAN, IMAGENET_STD};

/// An RGB image of f64 values, row-major.
struct Rgb {
    width: usize,
    height: usize,
    pixels: Vec<[f64; 3]>,
}

impl Rgb {
    fn at(&self, x: usize, y: usize) -> [f64; 3] {
        self.pixels[y * self.width + x]
    }
}

/// A test frame with what makes filters differ: hard edges, fine stripes, a checkerboard,
/// smooth gradients and noise.
fn test_image(width: usize, height: usize) -> Vec<[u8; 3]> {
    let mut seed = 0x2545_f491_u64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 41) as i32 - 20
    };
    (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .map(|(x, y)| {
            let base = if (x / 3 + y / 5) % 2 == 0 { 40 } else { 200 };
            let stripes = if x % 2 == 0 { 250 } else { 10 };
            let gradient = (255 * x / width) as i32;
            let rgb = match (x * 4 / width, y * 3 / height) {
                (0, _) => [base, 255 - base, gradient],
                (1, 0) => [stripes, stripes, 128],
                (1, _) => [gradient, (255 * y / height) as i32, 255 - gradient],
                (2, _) => [if (x + y) % 2 == 0 { 255 } else { 0 }, 90, 180],
                _ => [120 + noise(), 60 + noise(), 200 + noise()],
            };
            rgb.map(|v| (v + noise() / 4).clamp(0, 255) as u8)
        })
        .collect()
}

/// BT.601 studio-range Y, and U and V averaged over 2×2 pixels, rounded to bytes.
fn to_yuv420(rgb: &[[u8; 3]], width: usize, height: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (kr, kb) = (0.299, 0.114);
    let kg = 1.0 - kr - kb;
    let yuv = |p: [u8; 3]| {
        let [r, g, b] = p.map(|v| v as f64 / 255.0);
        let l = kr * r + kg * g + kb * b;
        [16.0 + 219.0 * l, 128.0 + 224.0 * (b - l) / (2.0 * (1.0 - kb)), 128.0 + 224.0 * (r - l) / (2.0 * (1.0 - kr))]
    };
    let luma = rgb.iter().map(|&p| yuv(p)[0].round() as u8).collect();
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    let mut u = vec![0u8; cw * ch];
    let mut v = vec![0u8; cw * ch];
    for cy in 0..ch {
        for cx in 0..cw {
            let mut sum = [0.0; 3];
            let mut n = 0.0;
            for (x, y) in [(2 * cx, 2 * cy), (2 * cx + 1, 2 * cy), (2 * cx, 2 * cy + 1), (2 * cx + 1, 2 * cy + 1)] {
                if x < width && y < height {
                    let p = yuv(rgb[y * width + x]);
                    (0..3).for_each(|c| sum[c] += p[c]);
                    n += 1.0;
                }
            }
            u[cy * cw + cx] = (sum[1] / n).round() as u8;
            v[cy * cw + cx] = (sum[2] / n).round() as u8;
        }
    }
    (luma, u, v)
}

/// The RGB image a YUV 4:2:0 frame shows, as the element reads it: chroma interpolated
/// bilinearly from centre-sited samples (sample `k` at pixel `2k + 0.5`, edge samples
/// repeated), the colour matrix; if `eight_bit`, as an 8-bit frame holds it (each channel
/// clamped to [0, 255] and rounded half up), else as it is.
fn yuv420_to_rgb(y: &[u8], u: &[u8], v: &[u8], width: usize, height: usize, matrix: YuvMatrix, eight_bit: bool) -> Rgb {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    let upsample = |i: usize, n: usize| {
        let c = (i as f64 - 0.5) / 2.0;
        let k = c.floor();
        let f = c - k;
        let clamp = |k: f64| (k.max(0.0) as usize).min(n - 1);
        (clamp(k), clamp(k + 1.0), f)
    };
    let chroma = |plane: &[u8], x: usize, yy: usize| {
        let (x0, x1, fx) = upsample(x, cw);
        let (y0, y1, fy) = upsample(yy, ch);
        let at = |x: usize, y: usize| plane[y * cw + x] as f64;
        (at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx) * (1.0 - fy) + (at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx) * fy
    };
    let pixels = (0..height)
        .flat_map(|yy| (0..width).map(move |x| (x, yy)))
        .map(|(x, yy)| {
            let rgb = studio_rgb(matrix, y[yy * width + x] as f64, chroma(u, x, yy), chroma(v, x, yy));
            if eight_bit {
                rgb.map(|c| (c.clamp(0.0, 255.0) + 0.5).floor())
            } else {
                rgb
            }
        })
        .collect();
    Rgb { width, height, pixels }
}

/// RGB of studio-range Y, U, V under `matrix` (the textbook formulas, unclamped).
fn studio_rgb(matrix: YuvMatrix, y: f64, u: f64, v: f64) -> [f64; 3] {
    let (kr, kb) = (matrix.kr as f64, matrix.kb as f64);
    let kg = 1.0 - kr - kb;
    let l = (y - 16.0) / 219.0;
    let (pb, pr) = ((u - 128.0) / 224.0, (v - 128.0) / 224.0);
    let r = l + 2.0 * (1.0 - kr) * pr;
    let b = l + 2.0 * (1.0 - kb) * pb;
    let g = (l - kr * r - kb * b) / kg;
    [r, g, b].map(|c| 255.0 * c)
}

/// scikit-image's `gaussian(image, sigma, channel_axis=2, preserve_range=True)`: separable,
/// truncated at 4 sigma, edge pixels repeated, in double precision.
fn gaussian_blur(image: &Rgb, sigma: f64) -> Rgb {
    let radius = (4.0 * sigma + 0.5) as i64;
    let kernel: Vec<f64> = (-radius..=radius).map(|x| (-((x * x) as f64) / (2.0 * sigma * sigma)).exp()).collect();
    let total: f64 = kernel.iter().sum();
    let (w, h) = (image.width as i64, image.height as i64);
    let pass = |source: &Rgb, dx: i64, dy: i64| {
        let mut pixels = vec![[0.0; 3]; source.pixels.len()];
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0.0; 3];
                for (t, k) in kernel.iter().enumerate() {
                    let d = t as i64 - radius;
                    let p = source.at((x + d * dx).clamp(0, w - 1) as usize, (y + d * dy).clamp(0, h - 1) as usize);
                    (0..3).for_each(|c| acc[c] += k / total * p[c]);
                }
                pixels[(y * w + x) as usize] = acc;
            }
        }
        Rgb { width: source.width, height: source.height, pixels }
    };
    pass(&pass(image, 0, 1), 1, 0)
}

/// The inverse of the affine map OpenCV's `getAffineTransform` finds from three float32
/// point pairs (source centre, centre + half the side down, centre + half the side right to
/// the crop's centre, bottom middle and right middle), solved here directly.
fn opencv_inverse_map(crop: &PersonCrop) -> ([f64; 2], [f64; 2]) {
    let [cx, cy] = crop.center;
    let half = crop.side * 0.5;
    let (right, down) = ((cx + half) as f64, (cy + half) as f64);
    let mid = CROP_SIDE as f64 / 2.0;
    // Forward: u = a (x - cx) + mid with a = mid / (right - cx); inverted: x = cx + (u - mid) / a.
    let step = [(right - cx as f64) / mid, (down - cy as f64) / mid];
    ([cx as f64 - mid * step[0], cy as f64 - mid * step[1]], step)
}

/// OpenCV `warpAffine` (`INTER_LINEAR`, constant black border) of `image` for `crop`, crop
/// columns `columns`, with its fixed-point positions: source position × 1024 rounded (the
/// column term and the rest separately along x), then rounded half up to 1/32 pixel.
fn opencv_warp(image: &Rgb, crop: &PersonCrop, columns: std::ops::Range<usize>) -> Vec<[f64; 3]> {
    let (origin, step) = opencv_inverse_map(crop);
    let fixed = |v: f64| (v * 1024.0).round_ties_even();
    let grid = |units: f64| ((units + 16.0) / 32.0).floor() / 32.0;
    let sample = |x: f64, y: f64| {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let mut acc = [0.0; 3];
        for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
            for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
                let (px, py) = (x0 as i64 + dx, y0 as i64 + dy);
                if px >= 0 && py >= 0 && (px as usize) < image.width && (py as usize) < image.height {
                    let p = image.at(px as usize, py as usize);
                    (0..3).for_each(|c| acc[c] += wx * wy * p[c]);
                }
            }
        }
        acc
    };
    let mut out = Vec::new();
    for v in 0..CROP_SIDE {
        let y = grid(fixed(step[1] * v as f64 + origin[1]));
        for u in columns.clone() {
            out.push(sample(grid(fixed(step[0] * u as f64) + fixed(origin[0])), y));
        }
    }
    out
}

/// The reference crop of `image` (RGB in [0, 255], as HWC pixels of the crop columns).
fn reference_crop(image: &Rgb, crop: &PersonCrop, columns: std::ops::Range<usize>) -> Vec<[f64; 3]> {
    let factor = crop.side as f64 / 512.0;
    if factor > 1.1 {
        opencv_warp(&gaussian_blur(image, (factor - 1.0) / 2.0), crop, columns)
    } else {
        opencv_warp(image, crop, columns)
    }
}

/// The element's crop, de-normalised back to RGB in [0, 255] (HWC).
fn element_crop(frame: &FrameView, crop: &PersonCrop, input_width: usize, filter: CropFilter) -> Vec<[f64; 3]> {
    let mut input = vec![0.0f32; 3 * CROP_SIDE * input_width];
    crop.write_input_filtered(frame, input_width, filter, &mut Scratch::default(), &mut input);
    let n = CROP_SIDE * input_width;
    (0..n)
        .map(|i| {
            std::array::from_fn(|c| {
                (input[c * n + i] as f64 * IMAGENET_STD[c] as f64 + IMAGENET_MEAN[c] as f64) * 255.0
            })
        })
        .collect()
}

fn max_difference(a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
    a.iter().zip(b).flat_map(|(p, q)| (0..3).map(move |c| (p[c] - q[c]).abs())).fold(0.0, f64::max)
}

/// Person boxes whose squares have the given sides, some wider than 3:4 and some taller,
/// some reaching out of a `width`×`height` frame.
fn boxes(width: usize, height: usize) -> Vec<PersonCrop> {
    [100.0f32, 211.3, 300.0, 450.7, 563.0, 565.5, 700.2, 1000.0, 1499.9, 2000.0]
        .iter()
        .enumerate()
        .map(|(k, &side)| {
            let (cx, cy) = (width as f32 * (0.3 + 0.04 * k as f32) + 0.37, height as f32 * 0.45 - 0.61 * k as f32);
            let (w, h) = if k % 2 == 0 { (side * 0.6, side) } else { (side * 0.75, side * 0.9) };
            PersonCrop::from_box([cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0])
        })
        .collect()
}

/// A YUV 4:2:0 frame far out of the RGB gamut: luma alternating between black and white
/// in 3-pixel cells, U and V between their extremes in cells of 2 and 3 chroma samples.
/// Converted pixel by pixel, most of its colours are clamped; filtered first, they would
/// mix before the clamp.
fn saturated_checkerboard(width: usize, height: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let cells = |w: usize, h: usize, cell: usize, (lo, hi): (u8, u8)| -> Vec<u8> {
        (0..h)
            .flat_map(|y| (0..w).map(move |x| if (x / cell + y / cell).is_multiple_of(2) { lo } else { hi }))
            .collect()
    };
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    (cells(width, height, 3, (16, 235)), cells(cw, ch, 2, (16, 240)), cells(cw, ch, 3, (240, 16)))
}

/// One frame in one layout, the RGB image it shows and, for YUV, the image it would show
/// if the colours were clamped only after filtering.
struct TestFrame {
    name: String,
    layout: PixelLayout,
    planes: Vec<(Vec<u8>, usize)>,
    image: usize,
    clamped_last: Option<usize>,
}

/// Frames of every layout family hmr2pose reads, and the RGB images they show: the test
/// image itself in packed RGB; its YUV 4:2:0 version and the saturated checkerboard, each
/// as I420, NV12 and NV21, shown as an 8-bit RGB frame converted from them.
fn frames(width: usize, height: usize) -> (Vec<TestFrame>, Vec<Rgb>) {
    let rgb = test_image(width, height);
    let exact = Rgb { width, height, pixels: rgb.iter().map(|p| p.map(f64::from)).collect() };
    let rgba: Vec<u8> = rgb.iter().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let bgr: Vec<u8> = rgb.iter().flat_map(|p| [p[2], p[1], p[0]]).collect();
    let mut frames = vec![
        TestFrame {
            name: "RGBA".into(),
            layout: PixelLayout::PackedRgb { bytes: 4, r: 0, g: 1, b: 2 },
            planes: vec![(rgba, width * 4)],
            image: 0,
            clamped_last: None,
        },
        TestFrame {
            name: "BGR".into(),
            layout: PixelLayout::PackedRgb { bytes: 3, r: 2, g: 1, b: 0 },
            planes: vec![(bgr, width * 3)],
            image: 0,
            clamped_last: None,
        },
    ];
    let mut images = vec![exact];
    let matrix = YuvMatrix::BT601;
    let cw = width.div_ceil(2);
    for (source, (y, u, v)) in
        [("test image", to_yuv420(&rgb, width, height)), ("checkerboard", saturated_checkerboard(width, height))]
    {
        let image = images.len();
        images.push(yuv420_to_rgb(&y, &u, &v, width, height, matrix, true));
        images.push(yuv420_to_rgb(&y, &u, &v, width, height, matrix, false));
        let uv: Vec<u8> = u.iter().zip(&v).flat_map(|(&a, &b)| [a, b]).collect();
        let vu: Vec<u8> = u.iter().zip(&v).flat_map(|(&a, &b)| [b, a]).collect();
        let yuv = [
            ("I420", PixelLayout::I420(matrix), vec![(y.clone(), width), (u, cw), (v, cw)]),
            ("NV12", PixelLayout::Nv12 { matrix, swapped: false }, vec![(y.clone(), width), (uv, 2 * cw)]),
            ("NV21", PixelLayout::Nv12 { matrix, swapped: true }, vec![(y, width), (vu, 2 * cw)]),
        ];
        for (name, layout, planes) in yuv {
            let name = format!("{name} {source}");
            frames.push(TestFrame { name, layout, planes, image, clamped_last: Some(image + 1) });
        }
    }
    (frames, images)
}

#[test]
fn default_crop_matches_the_reference_within_one_grey_level() {
    // An odd width and height exercise the chroma planes' last, unpaired samples.
    let (width, height) = (521usize, 347usize);
    let crops = boxes(width, height);
    let (frames, images) = frames(width, height);
    let columns = |crop: &PersonCrop| if crop.side < 1000.0 { vec![192] } else { vec![192, 256] };
    // The reference crops of each image, clamped to [0, 255] (only the images of YUV
    // colours clamped last need it), computed once.
    let reference: Vec<Vec<Vec<Vec<[f64; 3]>>>> = images
        .iter()
        .map(|image| {
            crops
                .iter()
                .map(|crop| {
                    columns(crop)
                        .into_iter()
                        .map(|w| {
                            let crop = reference_crop(image, crop, input_columns(w));
                            crop.into_iter().map(|p| p.map(|c| c.clamp(0.0, 255.0))).collect()
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let mut report = Vec::new();
    let mut checkerboard_clamped_last: f64 = 0.0;
    for frame in &frames {
        let planes = frame.planes.iter().map(|(data, stride)| Plane { data, stride: *stride }).collect();
        let view = FrameView::new(width, height, frame.layout, planes).unwrap();
        for (k, crop) in crops.iter().enumerate() {
            for (j, input_width) in columns(crop).into_iter().enumerate() {
                let got = element_crop(&view, crop, input_width, CropFilter::Reference);
                let diff = max_difference(&reference[frame.image][k][j], &got);
                // YUV: how far clamping only after the filter would have moved the crop.
                let clamped_last = frame.clamped_last.map_or(String::new(), |image| {
                    let apart = max_difference(&reference[image][k][j], &reference[frame.image][k][j]);
                    if frame.name.ends_with("checkerboard") {
                        checkerboard_clamped_last = checkerboard_clamped_last.max(apart);
                    }
                    format!(" (clamping after the filter instead: {apart:.3})")
                });
                report.push(format!(
                    "{} square {:.1} px, {input_width} columns: {diff:.4}{clamped_last}",
                    frame.name, crop.side
                ));
                assert!(
                    diff <= 1.0,
                    "{}, square of {} px, {input_width} columns: {diff} grey levels",
                    frame.name,
                    crop.side
                );
            }
        }
    }
    println!("max |element - reference| in grey levels\n{}", report.join("\n"));
    // The checkerboard tells clamping first from clamping last apart by far more than the
    // tolerance, so the comparison above can fail on it.
    assert!(checkerboard_clamped_last > 5.0, "{checkerboard_clamped_last}");
}

#[test]
fn the_area_filter_is_told_apart() {
    // The comparison above must be able to fail: the area filter, smoother from a 1.1×
    // shrink on, differs from the reference by far more than a grey level on this frame.
    let (width, height) = (320usize, 240usize);
    let rgb = test_image(width, height);
    let image = Rgb { width, height, pixels: rgb.iter().map(|p| p.map(f64::from)).collect() };
    let rgba: Vec<u8> = rgb.iter().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let layout = PixelLayout::PackedRgb { bytes: 4, r: 0, g: 1, b: 2 };
    let frame = FrameView::new(width, height, layout, vec![Plane { data: &rgba, stride: width * 4 }]).unwrap();
    let crop = PersonCrop::from_box([40.0, 10.0, 280.0, 410.0]);
    assert_eq!(crop.reference_blur_sigma(), 0.0, "a 400-pixel square is not blurred");
    let want = reference_crop(&image, &crop, input_columns(192));
    let area = max_difference(&want, &element_crop(&frame, &crop, 192, CropFilter::Area));
    let reference = max_difference(&want, &element_crop(&frame, &crop, 192, CropFilter::Reference));
    assert!(area > 20.0 && reference <= 1.0, "area {area}, reference {reference}");
}

#[test]
fn blur_starts_above_563_pixels_with_the_reference_sigma() {
    let sigma = |side: f32| PersonCrop { center: [0.0, 0.0], side, pixel_aspect: 1.0 }.reference_blur_sigma();
    assert_eq!(sigma(563.0), 0.0);
    assert!((sigma(563.3) - (563.3 / 512.0 - 1.0) / 2.0).abs() < 1e-6);
    assert!((sigma(2048.0) - 1.5).abs() < 1e-6);
}
