//! Sampling an axis-aligned, scaled region of a video frame straight from its own pixel
//! format into RGB, with anti-aliasing when shrinking.
//!
//! Only the source pixels under the region are read, plane by plane, in the frame's own
//! layout: packed 3- and 4-byte RGB orders, I420 and NV12. Each plane is resampled
//! separably (rows first, then columns) at the output resolution, and only then are the
//! plane values turned into RGB. Resampling is linear and the YUV to RGB conversion is
//! affine, so the order only matters through the final clamp to [0, 255].
//!
//! Filters, per axis: up to [`ANTI_ALIAS_ABOVE`] source pixels per output pixel,
//! bilinear interpolation (OpenCV's `warpAffine` with pixel centres at integer
//! coordinates); above it, area averaging over the output pixel's footprint, which reads
//! every source pixel under the region about once, whatever the scale. Outside the frame
//! the region is black, and an [`OutputTransform`] can paint another border value there
//! (weighted by the part of each output pixel outside the frame) while it scales and
//! offsets the values into the planar RGB a network takes, in the same pass.
//!
//! Chroma of 4:2:0 formats is taken as centre-sited (chroma sample `j` lies at luma
//! position `2j + 0.5`).

use std::ops::Range;

/// Source pixels per output pixel above which sampling averages over the footprint;
/// at or below it, plain bilinear interpolation is used. The HMR2 reference instead
/// blurs with a Gaussian of sigma `(side / 512 − 1) / 2`, and only when `side / 512 > 1.1`
/// (above 2.2 source pixels per crop pixel), then samples bilinearly; averaging over the
/// footprint from any clear shrink on is the project's documented deviation.
pub const ANTI_ALIAS_ABOVE: f32 = 1.1;

/// YUV to RGB conversion of one colour matrix and range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct YuvMatrix {
    /// Luma weight of red.
    pub kr: f32,
    /// Luma weight of blue.
    pub kb: f32,
    /// Full range (0..255) instead of studio range (16..235, chroma 16..240).
    pub full_range: bool,
}

impl YuvMatrix {
    pub const BT601: Self = Self { kr: 0.299, kb: 0.114, full_range: false };
    pub const BT709: Self = Self { kr: 0.2126, kb: 0.0722, full_range: false };

    /// Y value of black.
    fn black_luma(&self) -> f32 {
        if self.full_range {
            0.0
        } else {
            16.0
        }
    }

    /// RGB in [0, 255] of 8-bit Y, U, V values (fractional values allowed).
    #[cfg(test)]
    pub fn to_rgb(&self, y: f32, u: f32, v: f32) -> [f32; 3] {
        YuvCoefficients::from(*self).rgb(y, u, v)
    }
}

/// How a frame's pixels are laid out, as far as sampling is concerned.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PixelLayout {
    /// One plane of `bytes` bytes per pixel with red, green and blue at the given offsets.
    PackedRgb { bytes: usize, r: usize, g: usize, b: usize },
    /// Planes Y, U and V; chroma halved in both directions.
    I420(YuvMatrix),
    /// Plane Y and an interleaved chroma plane (U first, or V first when `swapped`, as in
    /// NV21); chroma halved in both directions.
    Nv12 { matrix: YuvMatrix, swapped: bool },
}

impl PixelLayout {
    /// Per plane: values per pixel, horizontal and vertical subsampling (1 or 2), and the
    /// value of black for each of its channels.
    fn planes(&self) -> Vec<PlaneFormat> {
        match *self {
            Self::PackedRgb { bytes, .. } => {
                vec![PlaneFormat { channels: bytes, subsampling: 1, black: [0.0; 4] }]
            }
            Self::I420(m) => vec![PlaneFormat::luma(m), PlaneFormat::CHROMA, PlaneFormat::CHROMA],
            Self::Nv12 { matrix: m, .. } => vec![PlaneFormat::luma(m), PlaneFormat::CHROMA_PAIR],
        }
    }

    /// The planes as they are resampled: each one's format and the source planes it reads.
    /// I420's U and V are read together as one plane of two values per pixel, like NV12's
    /// chroma, so that one column pass filters both.
    fn sampled_planes(&self) -> Vec<(PlaneFormat, Range<usize>)> {
        match *self {
            Self::I420(m) => vec![(PlaneFormat::luma(m), 0..1), (PlaneFormat::CHROMA_PAIR, 1..3)],
            _ => self.planes().into_iter().enumerate().map(|(i, format)| (format, i..i + 1)).collect(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct PlaneFormat {
    channels: usize,
    subsampling: usize,
    black: [f32; 4],
}

impl PlaneFormat {
    /// A chroma plane of one value per pixel (I420's U or V).
    const CHROMA: Self = Self { channels: 1, subsampling: 2, black: [128.0, 0.0, 0.0, 0.0] };
    /// A chroma plane of U and V (or V and U) per pixel.
    const CHROMA_PAIR: Self = Self { channels: 2, subsampling: 2, black: [128.0, 128.0, 0.0, 0.0] };

    fn luma(m: YuvMatrix) -> Self {
        Self { channels: 1, subsampling: 1, black: [m.black_luma(), 0.0, 0.0, 0.0] }
    }
}

/// One plane of a frame: its bytes and the distance in bytes between rows.
#[derive(Clone, Copy, Debug)]
pub struct Plane<'a> {
    pub data: &'a [u8],
    pub stride: usize,
}

/// A read-only view of one video frame.
#[derive(Debug)]
pub struct FrameView<'a> {
    width: usize,
    height: usize,
    layout: PixelLayout,
    planes: Vec<Plane<'a>>,
}

impl<'a> FrameView<'a> {
    /// Checks that the planes hold a `width`×`height` frame of the given layout.
    pub fn new(width: usize, height: usize, layout: PixelLayout, planes: Vec<Plane<'a>>) -> Result<Self, String> {
        let formats = layout.planes();
        if planes.len() != formats.len() {
            return Err(format!("{layout:?} needs {} planes, got {}", formats.len(), planes.len()));
        }
        if width == 0 || height == 0 {
            return Err(format!("empty frame {width}x{height}"));
        }
        if let PixelLayout::PackedRgb { bytes, r, g, b } = layout {
            if !(3..=4).contains(&bytes) || [r, g, b].iter().any(|&c| c >= bytes) {
                return Err(format!("{layout:?}: packed RGB needs 3 or 4 bytes per pixel and channels inside them"));
            }
        }
        for (i, (plane, format)) in planes.iter().zip(&formats).enumerate() {
            let (w, h) = (width.div_ceil(format.subsampling), height.div_ceil(format.subsampling));
            let row = w * format.channels;
            let needed = plane.stride * (h - 1) + row;
            if plane.stride < row || plane.data.len() < needed {
                return Err(format!(
                    "plane {i} of a {width}x{height} {layout:?} frame needs {needed} bytes with \
                     rows of at least {row}, got {} bytes with stride {}",
                    plane.data.len(),
                    plane.stride
                ));
            }
        }
        Ok(Self { width, height, layout, planes })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }
}

/// Output index `o` of one axis samples source position `origin + o · step` (pixel-centre
/// coordinates: pixel `i` spans `[i − 0.5, i + 0.5]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AxisMap {
    pub origin: f32,
    pub step: f32,
}

impl AxisMap {
    /// The same positions in the coordinates of a plane subsampled by `factor`.
    fn subsampled(self, factor: usize) -> Self {
        if factor == 1 {
            return self;
        }
        let f = factor as f32;
        let offset = (f - 1.0) / 2.0;
        Self { origin: (self.origin - offset) / f, step: self.step / f }
    }
}

/// An output grid of `width`×`height` pixels placed over the frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Warp {
    pub x: AxisMap,
    pub y: AxisMap,
    pub width: usize,
    pub height: usize,
}

/// Filter taps of one axis: for output `o`, source pixels `start[o]..start[o] + len[o]`
/// weighted by `weights[offset[o]..]`; `coverage[o]` is the sum of those weights (1 when
/// the whole footprint lies inside the source). `uniform[o]` is the run of taps (first,
/// count) that area averaging gives the same weight, so they can be summed first and
/// weighted once.
#[derive(Debug, Default, Clone, PartialEq)]
struct AxisTaps {
    start: Vec<usize>,
    len: Vec<usize>,
    offset: Vec<usize>,
    weights: Vec<f32>,
    coverage: Vec<f32>,
    uniform: Vec<(usize, usize)>,
}

impl AxisTaps {
    #[inline(always)]
    fn new(map: AxisMap, out_len: usize, src_len: usize) -> Self {
        let mut taps = Self::default();
        let src_len = src_len as i64;
        for o in 0..out_len {
            let x = map.origin + o as f32 * map.step;
            let offset = taps.weights.len();
            let mut first = None;
            let mut uniform = (0, 0);
            let mut push = |taps: &mut Self, i: i64, w: f32, full: bool| {
                if i >= 0 && i < src_len && w > 0.0 {
                    first.get_or_insert(i as usize);
                    let t = taps.weights.len() - offset;
                    if full {
                        if uniform.1 == 0 {
                            uniform.0 = t;
                        }
                        uniform.1 += 1;
                    }
                    taps.weights.push(w);
                }
            };
            if map.step <= ANTI_ALIAS_ABOVE {
                let i0 = x.floor();
                let f = x - i0;
                push(&mut taps, i0 as i64, 1.0 - f, false);
                push(&mut taps, i0 as i64 + 1, f, false);
            } else {
                let (lo, hi) = (x - map.step / 2.0, x + map.step / 2.0);
                // Only pixels inside the source count, so a huge footprint costs no more.
                let first = ((lo + 0.5).floor() as i64).max(0);
                let last = ((hi + 0.5).floor() as i64).min(src_len - 1);
                for i in first..=last {
                    let overlap = hi.min(i as f32 + 0.5) - lo.max(i as f32 - 0.5);
                    push(&mut taps, i, overlap / map.step, overlap == 1.0);
                }
            }
            let n = taps.weights.len() - offset;
            taps.offset.push(offset);
            taps.start.push(first.unwrap_or(0));
            taps.len.push(n);
            taps.coverage.push(taps.weights[offset..].iter().sum());
            taps.uniform.push(if uniform.1 >= 2 { uniform } else { (0, 0) });
        }
        taps
    }

    /// The source pixels any output reads, as `start..end` (empty when none).
    fn span(&self) -> Range<usize> {
        let mut lo = usize::MAX;
        let mut hi = 0;
        for (&s, &n) in self.start.iter().zip(&self.len) {
            if n > 0 {
                lo = lo.min(s);
                hi = hi.max(s + n);
            }
        }
        if lo >= hi {
            0..0
        } else {
            lo..hi
        }
    }

    /// The same taps with one count for all outputs (zero weights fill up), every window
    /// inside `span`: the column pass then runs one loop of known length per output.
    fn dense(&self, span: &Range<usize>) -> DenseTaps {
        let outputs = self.len.len();
        let count = self.len.iter().copied().max().unwrap_or(0).min(span.len());
        let mut dense = DenseTaps { count, start: Vec::with_capacity(outputs), by_output: vec![0.0; count * outputs] };
        for o in 0..outputs {
            let window = self.start[o].min(span.end.saturating_sub(count)).max(span.start);
            for t in 0..self.len[o] {
                let slot = self.start[o] + t - window;
                let w = self.weights[self.offset[o] + t];
                dense.by_output[o * count + slot] = w;
            }
            dense.start.push(window - span.start);
        }
        dense
    }
}

/// Taps with `count` weights per output, output `o` reading from `start[o]` (relative to
/// the span) on; tap `t` of output `o` is `by_output[o * count + t]`.
struct DenseTaps {
    count: usize,
    start: Vec<usize>,
    by_output: Vec<f32>,
}

/// Buffers kept from one sampling to the next: the row and plane buffers, which grow to
/// the largest region seen (the small tap tables are rebuilt for each sampling).
#[derive(Debug, Default)]
pub struct Scratch {
    rows: RowBuffers,
    planes: Vec<Vec<f32>>,
}

/// Buffers of one output row: the source rows combined (as floats, and as integer sums),
/// and the row filtered across before it is transformed.
#[derive(Debug, Default)]
struct RowBuffers {
    row: Vec<f32>,
    sums: Vec<u16>,
    filtered: Vec<f32>,
    /// Rows of two planes read together (I420's U and V) before they are interleaved.
    pair: [Vec<f32>; 2],
}

/// What becomes of each sampled value `v` (an RGB channel in [0, 255]) of an output pixel
/// whose footprint lies the fraction `coverage` inside the frame:
/// `(v + (1 − coverage) · border) · scale + offset`, channel by channel. The border value
/// thus fills what lies outside the frame, and the scale and offset normalise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutputTransform {
    pub scale: [f32; 3],
    pub offset: [f32; 3],
    pub border: f32,
}

impl OutputTransform {
    /// RGB in [0, 255] as sampled, black outside the frame.
    pub const IDENTITY: Self = Self { scale: [1.0; 3], offset: [0.0; 3], border: 0.0 };

    /// The output values of one pixel's RGB.
    #[inline(always)]
    pub fn apply(&self, rgb: [f32; 3], coverage: f32) -> [f32; 3] {
        let outside = (1.0 - coverage) * self.border;
        std::array::from_fn(|c| (rgb[c] + outside) * self.scale[c] + self.offset[c])
    }
}

/// YUV to RGB as `rgb = luma · (Y − y0) + chroma · (U − 128, V − 128)`, precomputed.
struct YuvCoefficients {
    y0: f32,
    luma: f32,
    r_v: f32,
    g_u: f32,
    g_v: f32,
    b_u: f32,
}

impl From<YuvMatrix> for YuvCoefficients {
    fn from(m: YuvMatrix) -> Self {
        let (y0, luma, chroma) = if m.full_range { (0.0, 1.0, 1.0) } else { (16.0, 255.0 / 219.0, 255.0 / 224.0) };
        let kg = 1.0 - m.kr - m.kb;
        let r_v = 2.0 * (1.0 - m.kr) * chroma;
        let b_u = 2.0 * (1.0 - m.kb) * chroma;
        Self { y0, luma, r_v, g_u: m.kb * b_u / kg, g_v: m.kr * r_v / kg, b_u }
    }
}

impl YuvCoefficients {
    #[inline(always)]
    fn rgb(&self, y: f32, u: f32, v: f32) -> [f32; 3] {
        let l = self.luma * (y - self.y0);
        let (u, v) = (u - 128.0, v - 128.0);
        [l + self.r_v * v, l - self.g_u * u - self.g_v * v, l + self.b_u * u].map(clamp_channel)
    }
}

/// Clamps an RGB value to [0, 255] (as `max` then `min`, which compiles to two vector
/// instructions and, unlike `clamp`, turns NaN into 0).
#[inline(always)]
#[allow(clippy::manual_clamp)]
fn clamp_channel(v: f32) -> f32 {
    v.max(0.0).min(255.0)
}

/// Resamples the region `warp` of `frame` into `out`, a network input tensor in CHW
/// layout: three planes of `warp.width`×`warp.height` values, row-major, red, green then
/// blue, each passed through `transform`. Outside the frame the sampled colour is black,
/// which the transform's border value then replaces.
pub fn sample_rgb_planes(
    frame: &FrameView,
    warp: &Warp,
    scratch: &mut Scratch,
    transform: &OutputTransform,
    out: &mut [f32],
) {
    let (width, height) = (warp.width, warp.height);
    assert_eq!(out.len(), 3 * width * height, "three planes of {width}x{height} values");
    if width * height == 0 {
        return;
    }
    let (r, rest) = out.split_at_mut(width * height);
    let (g, b) = rest.split_at_mut(width * height);
    let out = [r, g, b];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { sample_avx2(frame, warp, scratch, transform, out) };
    }
    sample_body(frame, warp, scratch, transform, out)
}

/// What one plane's sampling needs besides the pixels.
struct PlanePlan {
    format: PlaneFormat,
    tx: AxisTaps,
    ty: AxisTaps,
    /// Source pixels any output reads across.
    span: Range<usize>,
    dense: DenseTaps,
    /// Whether every output column lies wholly inside the frame.
    columns_inside: bool,
}

impl PlanePlan {
    #[inline(always)]
    fn new(frame: &FrameView, warp: &Warp, format: PlaneFormat) -> Self {
        let sub = format.subsampling;
        let (pw, ph) = (frame.width.div_ceil(sub), frame.height.div_ceil(sub));
        let tx = AxisTaps::new(warp.x.subsampled(sub), warp.width, pw);
        let ty = AxisTaps::new(warp.y.subsampled(sub), warp.height, ph);
        let span = tx.span();
        let dense = tx.dense(&span);
        let columns_inside = tx.coverage.iter().all(|&c| c == 1.0);
        Self { format, tx, ty, span, dense, columns_inside }
    }
}

/// The sampling compiled for AVX2 (8 floats or 16 shorts per instruction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sample_avx2(
    frame: &FrameView,
    warp: &Warp,
    scratch: &mut Scratch,
    transform: &OutputTransform,
    out: [&mut [f32]; 3],
) {
    sample_body(frame, warp, scratch, transform, out)
}

#[inline(always)]
fn sample_body(
    frame: &FrameView,
    warp: &Warp,
    scratch: &mut Scratch,
    transform: &OutputTransform,
    out: [&mut [f32]; 3],
) {
    let sampled = frame.layout.sampled_planes();
    let sources: Vec<Vec<&Plane>> =
        sampled.iter().map(|(_, range)| frame.planes[range.clone()].iter().collect()).collect();
    let plans: Vec<PlanePlan> = sampled.into_iter().map(|(format, _)| PlanePlan::new(frame, warp, format)).collect();
    let Scratch { rows, planes } = scratch;
    if let PixelLayout::PackedRgb { r, g, b, .. } = frame.layout {
        let sink = RowSink::Rgb { order: [r, g, b], transform, out };
        return resample_plane(&sources[0], &plans[0], rows, sink);
    }

    planes.resize_with(plans.len(), Vec::new);
    for (p, plan) in plans.iter().enumerate() {
        // Every value is written, so stale contents need no clearing.
        let values = &mut planes[p];
        values.resize(plan.ty.start.len() * plan.tx.start.len() * plan.format.channels, 0.0);
        let sink = RowSink::Values { out: values, black: plan.format.black, luma: &plans[0] };
        resample_plane(&sources[p], plan, rows, sink);
    }
    // Luma, then U and V interleaved, for every YUV layout.
    let coverage = (&plans[0].tx.coverage[..], &plans[0].ty.coverage[..]);
    let (luma, chroma) = (&planes[0], &planes[1]);
    match frame.layout {
        PixelLayout::I420(m) | PixelLayout::Nv12 { matrix: m, swapped: false } => {
            yuv_to_rgb_planes::<0, 1>(&m.into(), transform, coverage, luma, chroma, out)
        }
        PixelLayout::Nv12 { matrix: m, swapped: true } => {
            yuv_to_rgb_planes::<1, 0>(&m.into(), transform, coverage, luma, chroma, out)
        }
        PixelLayout::PackedRgb { .. } => unreachable!("packed RGB is written row by row"),
    }
}

/// Converts resampled Y values and interleaved chroma (two values per pixel, U at `U` and
/// V at `V`) to the transformed RGB planes.
#[inline(always)]
fn yuv_to_rgb_planes<const U: usize, const V: usize>(
    m: &YuvCoefficients,
    transform: &OutputTransform,
    coverage: (&[f32], &[f32]),
    luma: &[f32],
    chroma: &[f32],
    out: [&mut [f32]; 3],
) {
    let (cov_x, cov_y) = coverage;
    let width = cov_x.len();
    let [r_out, g_out, b_out] = out;
    let rows = luma
        .chunks_exact(width)
        .zip(chroma.chunks_exact(width * 2))
        .zip(r_out.chunks_exact_mut(width).zip(g_out.chunks_exact_mut(width)).zip(b_out.chunks_exact_mut(width)))
        .zip(cov_y);
    for (((y, uv), ((r, g), b)), &cy) in rows {
        // Iterators over equal lengths only, so that the loop vectorises.
        let pixels = y.iter().zip(uv.chunks_exact(2)).zip(cov_x).zip(r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()));
        for (((&y, uv), &cx), ((r, g), b)) in pixels {
            let rgb = m.rgb(y, uv[U], uv[V]);
            [*r, *g, *b] = transform.apply(rgb, cx * cy);
        }
    }
}

/// Where the rows of a resampled plane go.
enum RowSink<'o> {
    /// Plane values, interleaved. Near the frame's edges a chroma plane's footprint lies
    /// inside the frame by another fraction than the luma's; its values are rescaled to
    /// the luma's fraction (as if the chroma reached exactly to the luma edge). Then each
    /// plane's black fills the rest of the pixel, so that what lies outside the frame
    /// becomes RGB black.
    Values { out: &'o mut [f32], black: [f32; 4], luma: &'o PlanePlan },
    /// Packed RGB pixels (channels at `order` within a pixel) straight to the transformed
    /// output planes.
    Rgb { order: [usize; 3], transform: &'o OutputTransform, out: [&'o mut [f32]; 3] },
}

/// Resamples one plane, output row by output row: the source rows under an output row are
/// first combined into one row of the source span, which is then filtered across.
#[inline(always)]
fn resample_plane(sources: &[&Plane], plan: &PlanePlan, buffers: &mut RowBuffers, mut sink: RowSink) {
    let RowBuffers { row, sums, filtered, pair } = buffers;
    let PlanePlan { format, tx, ty, span, dense, columns_inside } = plan;
    let c = format.channels;
    let out_w = tx.start.len();
    // Bytes per pixel of each source plane: all of a pixel's values, or one of two.
    let per_source = c / sources.len();
    let bytes = span.start * per_source..span.end * per_source;
    row.resize(span.len() * c, 0.0);
    for oy in 0..ty.start.len() {
        let n = ty.len[oy];
        let inside = n > 0 && !span.is_empty();
        if inside {
            let weights = &ty.weights[ty.offset[oy]..ty.offset[oy] + n];
            if let [plane] = sources {
                vertical(plane, bytes.clone(), ty.start[oy], weights, ty.uniform[oy], row, sums);
            } else {
                // Two planes of one value per pixel, interleaved into one row.
                for (source, values) in sources.iter().zip(pair.iter_mut()) {
                    values.resize(bytes.len(), 0.0);
                    vertical(source, bytes.clone(), ty.start[oy], weights, ty.uniform[oy], values, sums);
                }
                for ((px, &a), &b) in row.chunks_exact_mut(2).zip(&pair[0]).zip(&pair[1]) {
                    (px[0], px[1]) = (a, b);
                }
            }
        }
        match &mut sink {
            RowSink::Values { out, black, luma } => {
                let out_row = &mut out[oy * out_w * c..(oy + 1) * out_w * c];
                if inside {
                    match c {
                        1 => filter_pixels::<1>(row, dense, out_row),
                        2 => filter_pixels::<2>(row, dense, out_row),
                        _ => unreachable!("only chroma and luma planes are kept as values"),
                    }
                } else {
                    out_row.fill(0.0);
                }
                // Rows wholly inside the frame have nothing to paint.
                let (cy, ly) = (ty.coverage[oy], luma.ty.coverage[oy]);
                if !(cy == 1.0 && ly == 1.0 && *columns_inside && luma.columns_inside) {
                    for ((px, &cx), &lx) in out_row.chunks_exact_mut(c).zip(&tx.coverage).zip(&luma.tx.coverage) {
                        let (own, target) = (cx * cy, lx * ly);
                        for (v, black) in px.iter_mut().zip(*black) {
                            *v = if own > 0.0 { *v * (target / own) + (1.0 - target) * black } else { black };
                        }
                    }
                }
            }
            RowSink::Rgb { order, transform, out } => {
                let rows = out.each_mut().map(|plane| &mut plane[oy * out_w..(oy + 1) * out_w]);
                let cy = ty.coverage[oy];
                if !inside {
                    let value = transform.apply([0.0; 3], 0.0);
                    for (row, v) in rows.into_iter().zip(value) {
                        row.fill(v);
                    }
                    continue;
                }
                filtered.resize(out_w * c, 0.0);
                match c {
                    3 => filter_pixels::<3>(row, dense, filtered),
                    4 => filter_pixels::<4>(row, dense, filtered),
                    _ => unreachable!("packed RGB has 3 or 4 bytes per pixel"),
                }
                // Channel positions as constants, so that the transform vectorises.
                let cov = (&tx.coverage[..], cy);
                match (c, *order) {
                    (3, [0, 1, 2]) => transform_row::<3, 0, 1, 2>(filtered, transform, cov, rows),
                    (3, [2, 1, 0]) => transform_row::<3, 2, 1, 0>(filtered, transform, cov, rows),
                    (4, [0, 1, 2]) => transform_row::<4, 0, 1, 2>(filtered, transform, cov, rows),
                    (4, [2, 1, 0]) => transform_row::<4, 2, 1, 0>(filtered, transform, cov, rows),
                    (4, [1, 2, 3]) => transform_row::<4, 1, 2, 3>(filtered, transform, cov, rows),
                    (4, [3, 2, 1]) => transform_row::<4, 3, 2, 1>(filtered, transform, cov, rows),
                    (3, order) => transform_row_in_order::<3>(filtered, order, transform, cov, rows),
                    (4, order) => transform_row_in_order::<4>(filtered, order, transform, cov, rows),
                    _ => unreachable!("packed RGB has 3 or 4 bytes per pixel"),
                }
            }
        }
    }
}

/// The vertical pass of one output row: `row[i] = Σ weights[t] · source[first_row + t][i]`
/// over the bytes `bytes` of each source row, one source row after the other. Taps of
/// equal weight (`uniform`: first tap, count) are summed as integers first (at most 257
/// rows of 255 fit in a u16) and weighted once.
#[inline(always)]
fn vertical(
    plane: &Plane,
    bytes: Range<usize>,
    first_row: usize,
    weights: &[f32],
    uniform: (usize, usize),
    row: &mut [f32],
    sums: &mut Vec<u16>,
) {
    sums.resize(bytes.len(), 0);
    let source_row = |r: usize| &plane.data[r * plane.stride..][bytes.clone()];
    let (u0, un) = uniform;
    let mut row_set = false;
    let mut t = u0;
    while t < u0 + un {
        let end = (t + 257).min(u0 + un);
        let first = first_row + t;
        sums.iter_mut().zip(source_row(first)).for_each(|(s, &p)| *s = p as u16);
        for r in first + 1..first_row + end {
            sums.iter_mut().zip(source_row(r)).for_each(|(s, &p)| *s += p as u16);
        }
        let w = weights[u0];
        if row_set {
            row.iter_mut().zip(sums.iter()).for_each(|(a, &s)| *a += w * s as f32);
        } else {
            row.iter_mut().zip(sums.iter()).for_each(|(a, &s)| *a = w * s as f32);
        }
        row_set = true;
        t = end;
    }
    for (t, &w) in weights.iter().enumerate() {
        if !(u0..u0 + un).contains(&t) {
            let src = source_row(first_row + t);
            if row_set {
                row.iter_mut().zip(src).for_each(|(a, &p)| *a += w * p as f32);
            } else {
                row.iter_mut().zip(src).for_each(|(a, &p)| *a = w * p as f32);
            }
            row_set = true;
        }
    }
}

/// Applies the output's column taps to one accumulated row (pixel `p` of the span at
/// `row[p · C..]`), for any number of taps.
#[inline(always)]
fn filter_pixel<const C: usize>(row: &[f32], taps: &DenseTaps, output: usize) -> [f32; C] {
    let n = taps.count;
    let start = taps.start[output];
    let values = &row[start * C..(start + n) * C];
    let weights = &taps.by_output[output * n..(output + 1) * n];
    // Two running sums halve the dependency chain.
    let (mut even, mut odd) = ([0.0f32; C], [0.0f32; C]);
    for (pair, w) in values.chunks_exact(2 * C).zip(weights.chunks_exact(2)) {
        for k in 0..C {
            even[k] += w[0] * pair[k];
            odd[k] += w[1] * pair[C + k];
        }
    }
    if n % 2 == 1 {
        let w = weights[n - 1];
        for k in 0..C {
            even[k] += w * values[(n - 1) * C + k];
        }
    }
    std::array::from_fn(|k| even[k] + odd[k])
}

/// The column pass of one accumulated row of `C` values per pixel, output after output,
/// into `out` (`C` values per output).
#[inline(always)]
fn filter_pixels<const C: usize>(row: &[f32], taps: &DenseTaps, out: &mut [f32]) {
    // Tap counts known at compile time unroll the loop over taps.
    match taps.count {
        0 => out.fill(0.0),
        1 => filter_pixels_of::<C, 1>(row, taps, out),
        2 => filter_pixels_of::<C, 2>(row, taps, out),
        3 => filter_pixels_of::<C, 3>(row, taps, out),
        4 => filter_pixels_of::<C, 4>(row, taps, out),
        5 => filter_pixels_of::<C, 5>(row, taps, out),
        6 => filter_pixels_of::<C, 6>(row, taps, out),
        7 => filter_pixels_of::<C, 7>(row, taps, out),
        8 => filter_pixels_of::<C, 8>(row, taps, out),
        9 => filter_pixels_of::<C, 9>(row, taps, out),
        10 => filter_pixels_of::<C, 10>(row, taps, out),
        11 => filter_pixels_of::<C, 11>(row, taps, out),
        12 => filter_pixels_of::<C, 12>(row, taps, out),
        _ => {
            for (o, px) in out.chunks_exact_mut(C).enumerate() {
                px.copy_from_slice(&filter_pixel::<C>(row, taps, o));
            }
        }
    }
}

/// [`filter_pixels`] for exactly `N` taps per output.
#[inline(always)]
fn filter_pixels_of<const C: usize, const N: usize>(row: &[f32], taps: &DenseTaps, out: &mut [f32]) {
    let outputs = out.chunks_exact_mut(C).zip(&taps.start).zip(taps.by_output.chunks_exact(N));
    for ((px, &start), weights) in outputs {
        let values = &row[start * C..start * C + N * C];
        let mut acc = [0.0f32; C];
        for t in 0..N {
            for k in 0..C {
                acc[k] += weights[t] * values[t * C + k];
            }
        }
        px.copy_from_slice(&acc);
    }
}

/// Turns one filtered row of packed RGB (`C` values per pixel, red, green and blue at
/// `R`, `G` and `B`) into the transformed output rows; `coverage` is the column coverages
/// and the row's.
#[inline(always)]
fn transform_row<const C: usize, const R: usize, const G: usize, const B: usize>(
    filtered: &[f32],
    transform: &OutputTransform,
    coverage: (&[f32], f32),
    out: [&mut [f32]; 3],
) {
    transform_row_in_order::<C>(filtered, [R, G, B], transform, coverage, out)
}

/// [`transform_row`] with the channel positions known only at run time (vectorised only
/// when inlined with constants).
#[inline(always)]
fn transform_row_in_order<const C: usize>(
    filtered: &[f32],
    order: [usize; 3],
    transform: &OutputTransform,
    coverage: (&[f32], f32),
    out: [&mut [f32]; 3],
) {
    let (cov_x, cov_y) = coverage;
    let [r_out, g_out, b_out] = out;
    let pixels = filtered.chunks_exact(C).zip(cov_x).zip(r_out.iter_mut().zip(g_out.iter_mut()).zip(b_out));
    for ((px, &cx), ((r, g), b)) in pixels {
        let rgb = order.map(|i| clamp_channel(px[i]));
        [*r, *g, *b] = transform.apply(rgb, cx * cov_y);
    }
}

#[cfg(test)]
mod tests {
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
        for frame in [&rgb, &nv12] {
            for step in [0.7f32, 3.3, 10.0] {
                let warp =
                    Warp { x: AxisMap { origin: -3.0, step }, y: AxisMap { origin: 2.0, step }, width: 40, height: 30 };
                let mut a = vec![0.0f32; 3 * 40 * 30];
                sample_rgb_planes(frame, &warp, &mut Scratch::default(), &transform, &mut a);
                let mut b = vec![vec![0.0f32; 40 * 30]; 3];
                let [br, bg, bb] = &mut b[..] else { unreachable!() };
                sample_body(frame, &warp, &mut Scratch::default(), &transform, [br, bg, bb]);
                assert_eq!(a, b.concat(), "{:?}, step {step}", frame.layout);
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
    fn reference_plane(
        data: &[u8],
        w: usize,
        h: usize,
        channels: usize,
        warp: &Warp,
        sub: usize,
    ) -> (Vec<f32>, Vec<f32>) {
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
                            out[(oy * warp.width + ox) * channels + c] +=
                                wj * wi * data[(j * w + i) * channels + c] as f32;
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
        for layout in [
            PixelLayout::PackedRgb { bytes: 2, r: 0, g: 1, b: 1 },
            PixelLayout::PackedRgb { bytes: 4, r: 0, g: 1, b: 4 },
        ] {
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
}
