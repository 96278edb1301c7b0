//! YUV to RGB conversion: colour matrices, and the conversion of resampled planes.

use super::{clamp_channel, OutputTransform};

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
