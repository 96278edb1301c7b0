//! YUV to RGB conversion: colour matrices, and the conversion of resampled planes.

use std::ops::Range;

use super::{clamp_channel, FrameView, OutputTransform, PixelLayout};

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
    pub(super) fn black_luma(&self) -> f32 {
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

/// YUV to RGB as `rgb = luma · (Y − y0) + chroma · (U − 128, V − 128)`, precomputed.
pub(super) struct YuvCoefficients {
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
    pub(super) fn rgb(&self, y: f32, u: f32, v: f32) -> [f32; 3] {
        let l = self.luma * (y - self.y0);
        let (u, v) = (u - 128.0, v - 128.0);
        [l + self.r_v * v, l - self.g_u * u - self.g_v * v, l + self.b_u * u].map(clamp_channel)
    }
}

/// Converts resampled Y values and interleaved chroma (two values per pixel, U at `U` and
/// V at `V`) to the transformed RGB planes.
#[inline(always)]
pub(super) fn yuv_to_rgb_planes<const U: usize, const V: usize>(
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

/// Buffers of [`yuv420_region_to_rgbx`]: the region's pixels, and rows of chroma.
#[derive(Debug, Default)]
pub(super) struct RgbRegion {
    /// RGBx bytes, as many pixels per row as the region has columns.
    pub(super) pixels: Vec<u8>,
    /// U and V of the current row at chroma resolution, edge samples repeated one further
    /// on either side, then at full resolution.
    chroma: [Vec<f32>; 4],
}

/// Converts the region `columns` × `rows` of a YUV 4:2:0 frame to 8-bit RGBx into
/// `region.pixels`, pixel by pixel as a converter to an 8-bit RGB frame would: chroma
/// upsampled bilinearly from centre-sited samples (sample `k` at pixel `2k + 0.5`, edge
/// samples repeated), the colour matrix, each channel clamped to [0, 255] and rounded
/// (half up).
///
/// Returns false, leaving `region` alone, for a layout that is not YUV.
#[inline(always)]
pub(super) fn yuv420_region_to_rgbx(
    frame: &FrameView,
    columns: Range<usize>,
    rows: Range<usize>,
    region: &mut RgbRegion,
) -> bool {
    // The chroma planes: U and V (I420), or one of pairs with U at `u` (NV12, NV21).
    let (matrix, chroma_planes, u) = match frame.layout {
        PixelLayout::I420(m) => (m, &frame.planes[1..3], 0),
        PixelLayout::Nv12 { matrix, swapped } => (matrix, &frame.planes[1..2], swapped as usize),
        PixelLayout::PackedRgb { .. } => return false,
    };
    let m = YuvCoefficients::from(matrix);
    let luma = &frame.planes[0];
    let chroma_last = frame.width.div_ceil(2) as i64 - 1;
    let chroma_height = frame.height.div_ceil(2);
    let RgbRegion { pixels, chroma } = region;
    pixels.resize(columns.len() * rows.len() * 4, 0);
    if columns.is_empty() || rows.is_empty() {
        return true;
    }
    // Pixels are taken in pairs from an even column on: pixel 2m reads chroma samples
    // m − 1 and m (weights 1/4, 3/4), pixel 2m + 1 samples m and m + 1 (3/4, 1/4).
    let first_pair = columns.start / 2;
    let pairs = columns.end.div_ceil(2) - first_pair;
    // Chroma samples first_pair − 1 ..= first_pair + pairs are needed; those inside the
    // plane are `read`, stored from `at` on, and the edge ones repeated beyond them.
    let wanted = first_pair as i64 - 1..first_pair as i64 + pairs as i64 + 1;
    let read = wanted.start.max(0) as usize..wanted.end.min(chroma_last + 1) as usize;
    let at = (read.start as i64 - wanted.start) as usize;
    let [row_u, row_v, full_u, full_v] = chroma;
    for row in [&mut *row_u, &mut *row_v] {
        row.resize(pairs + 2, 0.0);
    }
    for row in [&mut *full_u, &mut *full_v] {
        row.resize(2 * pairs, 0.0);
    }
    let skip = columns.start % 2;
    let row_bytes = columns.len() * 4;
    for (y, out) in rows.zip(pixels.chunks_exact_mut(row_bytes)) {
        // Vertically at chroma resolution (row y reads chroma rows as column x does).
        let (k0, k1, fy) = chroma_neighbours(y, chroma_height);
        let (inside_u, inside_v) = (&mut row_u[at..at + read.len()], &mut row_v[at..at + read.len()]);
        match chroma_planes {
            [pu, pv] => {
                for (plane, row) in [(pu, inside_u), (pv, inside_v)] {
                    let a = &plane.data[k0 * plane.stride..][read.clone()];
                    let b = &plane.data[k1 * plane.stride..][read.clone()];
                    for ((c, &p), &q) in row.iter_mut().zip(a).zip(b) {
                        *c = p as f32 * (1.0 - fy) + q as f32 * fy;
                    }
                }
            }
            [pair] => {
                let bytes = 2 * read.start..2 * read.end;
                let a = &pair.data[k0 * pair.stride..][bytes.clone()];
                let b = &pair.data[k1 * pair.stride..][bytes];
                let values = a.chunks_exact(2).zip(b.chunks_exact(2));
                for ((cu, cv), (p, q)) in inside_u.iter_mut().zip(inside_v.iter_mut()).zip(values) {
                    *cu = p[u] as f32 * (1.0 - fy) + q[u] as f32 * fy;
                    *cv = p[1 - u] as f32 * (1.0 - fy) + q[1 - u] as f32 * fy;
                }
            }
            _ => unreachable!("4:2:0 chroma is one plane of pairs or two planes"),
        }
        for row in [&mut *row_u, &mut *row_v] {
            let (first, last) = (row[at], row[at + read.len() - 1]);
            row[..at].fill(first);
            row[at + read.len()..].fill(last);
        }
        // Then across, pixel pair by pixel pair.
        for (row, full) in [(&*row_u, &mut *full_u), (&*row_v, &mut *full_v)] {
            let (c0, c1, c2) = (&row[..pairs], &row[1..pairs + 1], &row[2..]);
            for (((pixel_pair, &c0), &c1), &c2) in full.chunks_exact_mut(2).zip(c0).zip(c1).zip(c2) {
                pixel_pair[0] = c0 * 0.25 + c1 * 0.75;
                pixel_pair[1] = c1 * 0.75 + c2 * 0.25;
            }
        }
        let luma_row = &luma.data[y * luma.stride + columns.start..][..columns.len()];
        let (cu, cv) = (&full_u[skip..skip + columns.len()], &full_v[skip..skip + columns.len()]);
        // Equal-length iterators only, so that the conversion vectorises.
        for ((px, &l), (&cu, &cv)) in out.chunks_exact_mut(4).zip(luma_row).zip(cu.iter().zip(cv)) {
            // SAFETY: `rgb` clamps each channel to [0, 255] (NaN to 0), so c + 0.5 fits.
            let [r, g, b] = m.rgb(l as f32, cu, cv).map(|c| unsafe { (c + 0.5).to_int_unchecked::<i32>() } as u32);
            px.copy_from_slice(&(r | g << 8 | b << 16 | 0xff00_0000).to_le_bytes());
        }
    }
    true
}

/// Chroma rows (or columns) of full-resolution row `i` of a frame whose chroma has `len`
/// of them (centre-sited: sample `k` at `2k + 0.5`): the two samples, edge repeated, and
/// the weight of the second.
#[inline(always)]
fn chroma_neighbours(i: usize, len: usize) -> (usize, usize, f32) {
    // (i − 0.5) / 2: sample i/2 − 1 at 3/4 for even i, (i − 1)/2 at 1/4 for odd i.
    let (k, f) = if i.is_multiple_of(2) { (i as i64 / 2 - 1, 0.75) } else { ((i as i64 - 1) / 2, 0.25) };
    let last = len as i64 - 1;
    (k.clamp(0, last) as usize, (k + 1).clamp(0, last) as usize, f)
}
