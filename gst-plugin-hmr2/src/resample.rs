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
//! the region is black; the caller gets the fraction of each output pixel that came from
//! inside the frame, to paint another border colour if it wants one.
//!
//! Chroma of 4:2:0 formats is taken as centre-sited (chroma sample `j` lies at luma
//! position `2j + 0.5`).

/// Source pixels per output pixel above which sampling averages over the footprint;
/// at or below it, plain bilinear interpolation is used (as in the HMR2 reference, which
/// blurs only above this downscale).
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
        if self.full_range { 0.0 } else { 16.0 }
    }

    /// RGB in [0, 255] of 8-bit Y, U, V values (fractional values allowed).
    #[inline]
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
            Self::I420(m) => vec![
                PlaneFormat { channels: 1, subsampling: 1, black: [m.black_luma(), 0.0, 0.0, 0.0] },
                PlaneFormat { channels: 1, subsampling: 2, black: [128.0, 0.0, 0.0, 0.0] },
                PlaneFormat { channels: 1, subsampling: 2, black: [128.0, 0.0, 0.0, 0.0] },
            ],
            Self::Nv12 { matrix: m, .. } => vec![
                PlaneFormat { channels: 1, subsampling: 1, black: [m.black_luma(), 0.0, 0.0, 0.0] },
                PlaneFormat { channels: 2, subsampling: 2, black: [128.0, 128.0, 0.0, 0.0] },
            ],
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct PlaneFormat {
    channels: usize,
    subsampling: usize,
    black: [f32; 4],
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
    pub fn new(
        width: usize,
        height: usize,
        layout: PixelLayout,
        planes: Vec<Plane<'a>>,
    ) -> Result<Self, String> {
        let formats = layout.planes();
        if planes.len() != formats.len() {
            return Err(format!("{layout:?} needs {} planes, got {}", formats.len(), planes.len()));
        }
        if width == 0 || height == 0 {
            return Err(format!("empty frame {width}x{height}"));
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
                for i in (lo + 0.5).floor() as i64..=(hi + 0.5).floor() as i64 {
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
    fn span(&self) -> std::ops::Range<usize> {
        let mut lo = usize::MAX;
        let mut hi = 0;
        for (&s, &n) in self.start.iter().zip(&self.len) {
            if n > 0 {
                lo = lo.min(s);
                hi = hi.max(s + n);
            }
        }
        if lo >= hi { 0..0 } else { lo..hi }
    }

    /// The same taps with one count for all outputs (zero weights fill up), every window
    /// inside `span`, weights stored tap by tap: the column pass then updates all outputs
    /// once per tap, with no dependency from one output to the next.
    fn dense(&self, span: &std::ops::Range<usize>) -> DenseTaps {
        let outputs = self.len.len();
        let count = self.len.iter().copied().max().unwrap_or(0).min(span.len());
        let mut dense = DenseTaps {
            count,
            start: Vec::with_capacity(outputs),
            weights: vec![0.0; count * outputs],
            by_output: vec![0.0; count * outputs],
        };
        for o in 0..outputs {
            let window = self.start[o].min(span.end.saturating_sub(count)).max(span.start);
            for t in 0..self.len[o] {
                let slot = self.start[o] + t - window;
                let w = self.weights[self.offset[o] + t];
                dense.weights[slot * outputs + o] = w;
                dense.by_output[o * count + slot] = w;
            }
            dense.start.push(window - span.start);
        }
        dense
    }
}

/// Taps with `count` weights per output, output `o` reading from `start[o]` (relative to
/// the span) on; tap `t` of output `o` is `weights[t * outputs + o]`, and also
/// `by_output[o * count + t]`.
struct DenseTaps {
    count: usize,
    start: Vec<usize>,
    weights: Vec<f32>,
    by_output: Vec<f32>,
}

/// Reusable buffers, so that sampling allocates nothing once warmed up.
#[derive(Debug, Default)]
pub struct Scratch {
    row: Vec<f32>,
    sums: Vec<u16>,
    planes: Vec<Vec<f32>>,
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
        let (y0, luma, chroma) =
            if m.full_range { (0.0, 1.0, 1.0) } else { (16.0, 255.0 / 219.0, 255.0 / 224.0) };
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
        [l + self.r_v * v, l - self.g_u * u - self.g_v * v, l + self.b_u * u].map(|c| c.clamp(0.0, 255.0))
    }
}

/// Resamples the region `warp` of `frame` and hands every output pixel, row by row, to
/// `put(x, y, rgb, coverage)`: `rgb` in [0, 255] (black outside the frame) and `coverage`
/// the fraction of the pixel's footprint inside the frame.
pub fn sample_rgb(
    frame: &FrameView,
    warp: &Warp,
    scratch: &mut Scratch,
    mut put: impl FnMut(usize, usize, [f32; 3], f32),
) {
    let formats = frame.layout.planes();
    scratch.planes.resize_with(formats.len(), Vec::new);
    let mut luma_coverage = (Vec::new(), Vec::new());
    for (p, format) in formats.iter().enumerate() {
        let sub = format.subsampling;
        let (pw, ph) = (frame.width.div_ceil(sub), frame.height.div_ceil(sub));
        let tx = AxisTaps::new(warp.x.subsampled(sub), warp.width, pw);
        let ty = AxisTaps::new(warp.y.subsampled(sub), warp.height, ph);
        // Every value is written, so stale contents need no clearing.
        let out = &mut scratch.planes[p];
        out.resize(warp.width * warp.height * format.channels, 0.0);
        resample_plane(&frame.planes[p], format, &tx, &ty, &mut scratch.row, &mut scratch.sums, out);
        if p == 0 {
            luma_coverage = (tx.coverage, ty.coverage);
        }
    }

    let (cov_x, cov_y) = (&luma_coverage.0, &luma_coverage.1);
    let planes = &scratch.planes;
    match frame.layout {
        PixelLayout::PackedRgb { bytes, r, g, b } => for_each_pixel(cov_x, cov_y, &mut put, |i| {
            let px = &planes[0][i * bytes..i * bytes + bytes];
            [px[r], px[g], px[b]].map(|c| c.clamp(0.0, 255.0))
        }),
        PixelLayout::I420(m) => {
            let m = YuvCoefficients::from(m);
            let (y, u, v) = (&planes[0], &planes[1], &planes[2]);
            for_each_pixel(cov_x, cov_y, &mut put, |i| m.rgb(y[i], u[i], v[i]))
        }
        PixelLayout::Nv12 { matrix, swapped } => {
            let m = YuvCoefficients::from(matrix);
            let (u, v) = if swapped { (1, 0) } else { (0, 1) };
            let (y, uv) = (&planes[0], &planes[1]);
            for_each_pixel(cov_x, cov_y, &mut put, |i| m.rgb(y[i], uv[2 * i + u], uv[2 * i + v]))
        }
    }
}

#[inline(always)]
fn for_each_pixel(
    cov_x: &[f32],
    cov_y: &[f32],
    put: &mut impl FnMut(usize, usize, [f32; 3], f32),
    rgb_at: impl Fn(usize) -> [f32; 3],
) {
    let width = cov_x.len();
    for (y, cy) in cov_y.iter().enumerate() {
        for (x, cx) in cov_x.iter().enumerate() {
            put(x, y, rgb_at(y * width + x), cx * cy);
        }
    }
}

/// Resamples one plane into `out` (`ty.len` rows × `tx.len` pixels × channels), rows first
/// so that only one accumulated row of the source span is kept.
fn resample_plane(
    plane: &Plane,
    format: &PlaneFormat,
    tx: &AxisTaps,
    ty: &AxisTaps,
    row: &mut Vec<f32>,
    sums: &mut Vec<u16>,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { resample_plane_avx2(plane, format, tx, ty, row, sums, out) };
    }
    resample_plane_body(plane, format, tx, ty, row, sums, out)
}

/// The same code compiled for AVX2 (8 floats or 16 shorts per instruction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn resample_plane_avx2(
    plane: &Plane,
    format: &PlaneFormat,
    tx: &AxisTaps,
    ty: &AxisTaps,
    row: &mut Vec<f32>,
    sums: &mut Vec<u16>,
    out: &mut [f32],
) {
    resample_plane_body(plane, format, tx, ty, row, sums, out)
}

#[inline(always)]
fn resample_plane_body(
    plane: &Plane,
    format: &PlaneFormat,
    tx: &AxisTaps,
    ty: &AxisTaps,
    row: &mut Vec<f32>,
    sums: &mut Vec<u16>,
    out: &mut [f32],
) {
    let c = format.channels;
    let span = tx.span();
    let dense = tx.dense(&span);
    let out_w = tx.start.len();
    let bytes = span.start * c..span.end * c;
    row.resize(bytes.len(), 0.0);
    sums.resize(bytes.len(), 0);
    let source_row = |r: usize| &plane.data[r * plane.stride..][bytes.clone()];
    for (oy, out_row) in out.chunks_exact_mut(out_w * c).enumerate() {
        let n = ty.len[oy];
        if n > 0 && !span.is_empty() {
            let weights = &ty.weights[ty.offset[oy]..ty.offset[oy] + n];
            let (u0, un) = ty.uniform[oy];
            // The first contribution sets the row, the others add to it.
            let mut row_set = false;
            // Taps of equal weight: summed as integers (at most 257 rows of 255 fit in a
            // u16), then weighted once.
            let mut t = u0;
            while t < u0 + un {
                let end = (t + 257).min(u0 + un);
                let first_row = ty.start[oy] + t;
                sums.iter_mut().zip(source_row(first_row)).for_each(|(s, &p)| *s = p as u16);
                for r in first_row + 1..ty.start[oy] + end {
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
                    let src = source_row(ty.start[oy] + t);
                    if row_set {
                        row.iter_mut().zip(src).for_each(|(a, &p)| *a += w * p as f32);
                    } else {
                        row.iter_mut().zip(src).for_each(|(a, &p)| *a = w * p as f32);
                    }
                    row_set = true;
                }
            }
            match c {
                1 => horizontal::<1>(row, &dense, out_row),
                2 => horizontal::<2>(row, &dense, out_row),
                3 => horizontal::<3>(row, &dense, out_row),
                4 => horizontal::<4>(row, &dense, out_row),
                _ => unreachable!("planes have 1 to 4 values per pixel"),
            }
        } else {
            out_row.fill(0.0);
        }
        if format.black.iter().any(|&b| b != 0.0) {
            let cy = ty.coverage[oy];
            for (px, cx) in out_row.chunks_exact_mut(c).zip(&tx.coverage) {
                let outside = 1.0 - cx * cy;
                for (v, black) in px.iter_mut().zip(format.black) {
                    *v += outside * black;
                }
            }
        }
    }
}

/// The column pass of one accumulated row: output after output for 3 and 4 values per
/// pixel (one vector per tap, two running sums to halve the dependency chain), tap after
/// tap over all outputs for 1 and 2.
#[inline(always)]
fn horizontal<const C: usize>(row: &[f32], taps: &DenseTaps, out_row: &mut [f32]) {
    let (n, outputs) = (taps.count, taps.start.len());
    if C >= 3 {
        if n == 0 {
            out_row.fill(0.0);
            return;
        }
        let per_output = out_row.chunks_exact_mut(C).zip(&taps.start).zip(taps.by_output.chunks_exact(n));
        for ((px, &start), weights) in per_output {
            let values = &row[start * C..(start + n) * C];
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
            for k in 0..C {
                px[k] = even[k] + odd[k];
            }
        }
    } else {
        out_row.fill(0.0);
        let reach = taps.start.iter().max().map_or(0, |&s| (s + n) * C);
        assert!(reach <= row.len(), "taps reach past the accumulated row");
        for t in 0..n {
            let weights = &taps.weights[t * outputs..(t + 1) * outputs];
            for ((px, &start), &w) in out_row.chunks_exact_mut(C).zip(&taps.start).zip(weights) {
                for (k, value) in px.iter_mut().enumerate() {
                    // SAFETY: (start + t) * C + k < (start + n) * C <= reach <= row.len(),
                    // asserted above.
                    *value += w * unsafe { *row.get_unchecked((start + t) * C + k) };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RGBA: PixelLayout = PixelLayout::PackedRgb { bytes: 4, r: 0, g: 1, b: 2 };

    fn close(a: f32, b: f32, tol: f32) -> bool {
        (a - b).abs() <= tol
    }

    /// Collects the sampled RGB of every output pixel.
    fn sample(frame: &FrameView, warp: &Warp) -> Vec<([f32; 3], f32)> {
        let mut out = vec![([0.0; 3], 0.0); warp.width * warp.height];
        sample_rgb(frame, warp, &mut Scratch::default(), |x, y, rgb, cov| {
            out[y * warp.width + x] = (rgb, cov)
        });
        out
    }

    fn unit_warp(x0: f32, y0: f32, step: f32, w: usize, h: usize) -> Warp {
        Warp {
            x: AxisMap { origin: x0, step },
            y: AxisMap { origin: y0, step },
            width: w,
            height: h,
        }
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
            vec![
                Plane { data: &y, stride: w },
                Plane { data: &u, stride: 2 },
                Plane { data: &v, stride: 2 },
            ],
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
        // The AVX2 build of the plane resampler must give the same numbers as the plain one.
        let (w, h) = (97usize, 61usize);
        let data: Vec<u8> = (0..w * h * 3).map(|i| (i * 31 % 256) as u8).collect();
        let plane = Plane { data: &data, stride: w * 3 };
        let format = PlaneFormat { channels: 3, subsampling: 1, black: [0.0; 4] };
        for step in [0.7f32, 3.3, 10.0] {
            let tx = AxisTaps::new(AxisMap { origin: -3.0, step }, 40, w);
            let ty = AxisTaps::new(AxisMap { origin: 2.0, step }, 30, h);
            let mut a = vec![0.0; 40 * 30 * 3];
            let mut b = a.clone();
            resample_plane(&plane, &format, &tx, &ty, &mut Vec::new(), &mut Vec::new(), &mut a);
            resample_plane_body(&plane, &format, &tx, &ty, &mut Vec::new(), &mut Vec::new(), &mut b);
            assert_eq!(a, b, "step {step}");
            assert!(a.iter().any(|&v| v > 0.0));
        }
    }

    #[test]
    fn short_planes_are_rejected() {
        let data = [0u8; 7];
        assert!(FrameView::new(2, 1, RGBA, vec![Plane { data: &data, stride: 8 }]).is_err());
        assert!(FrameView::new(2, 1, RGBA, vec![Plane { data: &[0; 8], stride: 4 }]).is_err());
    }
}
