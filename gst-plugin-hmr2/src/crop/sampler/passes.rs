//! The resampling itself: per plane, a vertical pass that combines the source rows under
//! each output row, then a horizontal pass of column taps, and the conversion of the
//! results into the transformed RGB planes.

use std::ops::Range;

use super::taps::{AxisTaps, DenseTaps};
use super::yuv::{yuv420_region_to_rgbx, yuv_to_rgb_planes};
use super::{
    axis_taps, clamp_channel, Filter, FrameView, OutputTransform, PixelLayout, Plane, PlaneFormat, RowBuffers, Scratch,
    Warp,
};

/// What one plane's sampling needs besides the pixels.
pub(super) struct PlanePlan {
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
    fn new(frame: &FrameView, warp: &Warp, filter: &Filter, format: PlaneFormat) -> Self {
        let sub = format.subsampling;
        let tx = axis_taps(filter, warp, 0, frame.width, sub);
        let ty = axis_taps(filter, warp, 1, frame.height, sub);
        Self::from_taps(tx, ty, format)
    }

    #[inline(always)]
    fn from_taps(tx: AxisTaps, ty: AxisTaps, format: PlaneFormat) -> Self {
        let span = tx.span();
        let dense = tx.dense(&span);
        let columns_inside = tx.coverage.iter().all(|&c| c == 1.0);
        Self { format, tx, ty, span, dense, columns_inside }
    }
}

/// The sampling compiled for AVX2 (8 floats or 16 shorts per instruction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn sample_avx2(
    frame: &FrameView,
    warp: &Warp,
    filter: &Filter,
    scratch: &mut Scratch,
    transform: &OutputTransform,
    out: [&mut [f32]; 3],
) {
    sample_body(frame, warp, filter, scratch, transform, out)
}

#[inline(always)]
pub(super) fn sample_body(
    frame: &FrameView,
    warp: &Warp,
    filter: &Filter,
    scratch: &mut Scratch,
    transform: &OutputTransform,
    out: [&mut [f32]; 3],
) {
    if let Filter::GaussianBilinear { .. } = filter {
        if let PixelLayout::I420(_) | PixelLayout::Nv12 { .. } = frame.layout {
            return sample_yuv_as_rgb(frame, warp, filter, scratch, transform, out);
        }
    }
    let sampled = frame.layout.sampled_planes();
    let sources: Vec<Vec<&Plane>> =
        sampled.iter().map(|(_, range)| frame.planes[range.clone()].iter().collect()).collect();
    let plans: Vec<PlanePlan> =
        sampled.into_iter().map(|(format, _)| PlanePlan::new(frame, warp, filter, format)).collect();
    let Scratch { rows, planes, .. } = scratch;
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

/// Bytes of converted RGBx a band of [`sample_yuv_as_rgb`] aims at: well inside the L2
/// cache, so that the row pass reads the band while it is still there.
const RGB_BAND_BYTES: usize = 512 * 1024;

/// A YUV frame through a [`Filter::GaussianBilinear`]: the region the filter reads is
/// converted to 8-bit RGB, pixel by pixel, as a converter in front would, and then
/// filtered as packed RGB. The blur must see the colours clamped to [0, 255] and rounded,
/// as the reference's 8-bit RGB frames are; folding the chroma upsampling into the taps
/// would clamp only after filtering. The region goes in bands of output rows, each
/// converting the source rows its taps read (rows shared by two bands are converted
/// twice), so that the converted pixels stay in the cache.
#[inline(always)]
fn sample_yuv_as_rgb(
    frame: &FrameView,
    warp: &Warp,
    filter: &Filter,
    scratch: &mut Scratch,
    transform: &OutputTransform,
    out: [&mut [f32]; 3],
) {
    let mut tx = axis_taps(filter, warp, 0, frame.width, 1);
    let ty = axis_taps(filter, warp, 1, frame.height, 1);
    let columns = tx.span();
    // The taps, from frame columns to columns of the converted region.
    tx.shift_back(columns.start);
    let band_rows = (RGB_BAND_BYTES / (4 * columns.len().max(1))).max(1);
    let Scratch { rows: buffers, rgb, .. } = scratch;
    let mut out = out.map(Some);
    let mut first = 0;
    while first < ty.start.len() {
        let (outputs, rows) = ty.band(first, band_rows);
        let converted = yuv420_region_to_rgbx(frame, columns.clone(), rows.clone(), rgb);
        debug_assert!(converted, "only YUV layouts come here");
        let mut band_ty = ty.outputs(outputs.clone());
        band_ty.shift_back(rows.start);
        let region = Plane { data: &rgb.pixels, stride: columns.len() * 4 };
        let plan = PlanePlan::from_taps(tx.clone(), band_ty, PlaneFormat::RGBX);
        let band_out = out.each_mut().map(|plane| {
            let (band, rest) = plane.take().expect("set").split_at_mut(outputs.len() * warp.width);
            *plane = Some(rest);
            band
        });
        let sink = RowSink::Rgb { order: [0, 1, 2], transform, out: band_out };
        resample_plane(&[&region], &plan, buffers, sink);
        first = outputs.end;
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
    // The other taps two rows at a time: half the passes over `row` (a Gaussian has many).
    let mut rest = (0..weights.len()).filter(|t| !(u0..u0 + un).contains(t)).peekable();
    while let Some(t) = rest.next() {
        let (w, src) = (weights[t], source_row(first_row + t));
        match (rest.next(), row_set) {
            (Some(t2), _) => {
                let (w2, src2) = (weights[t2], source_row(first_row + t2));
                let pairs = row.iter_mut().zip(src.iter().zip(src2));
                if row_set {
                    pairs.for_each(|(a, (&p, &q))| *a += w * p as f32 + w2 * q as f32);
                } else {
                    pairs.for_each(|(a, (&p, &q))| *a = w * p as f32 + w2 * q as f32);
                }
            }
            (None, true) => row.iter_mut().zip(src).for_each(|(a, &p)| *a += w * p as f32),
            (None, false) => row.iter_mut().zip(src).for_each(|(a, &p)| *a = w * p as f32),
        }
        row_set = true;
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
