//! Alpha compositing of the rendered people over a video frame, on the CPU.
//!
//! The renderer reads back premultiplied RGBA8 for the window the people cover; only
//! those pixels are touched, and fully transparent ones are skipped.
//!
//! Frames come packed (RGBA and its orders, [`FrameMut`]) or as 4:2:0 YUV (I420, YV12,
//! NV12, NV21, [`YuvFrameMut`]). YUV frames are blended in their own encoding: the
//! overlay's colour is converted with the frame's matrix and range, so every pixel the
//! mesh does not cover keeps its exact code values, and the frame needs no round trip
//! through RGB (whose 8-bit conversions shift levels by a few steps).

use crate::projection::PixelRect;

/// Which byte of a packed 4-byte pixel holds which channel, for the formats the element
/// accepts (the x formats have a padding byte where the others have alpha).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelOrder {
    Rgba,
    Bgra,
    Rgbx,
    Bgrx,
}

impl ChannelOrder {
    /// Byte positions of red, green and blue within a pixel.
    fn color_offsets(self) -> [usize; 3] {
        match self {
            Self::Rgba | Self::Rgbx => [0, 1, 2],
            Self::Bgra | Self::Bgrx => [2, 1, 0],
        }
    }

    /// Byte position of alpha, for orders that have one (the padding byte of the x
    /// orders is left as it is).
    fn alpha_offset(self) -> Option<usize> {
        match self {
            Self::Rgba | Self::Bgra => Some(3),
            Self::Rgbx | Self::Bgrx => None,
        }
    }
}

/// A mutable view of a packed 4-byte-per-pixel frame.
pub struct FrameMut<'a> {
    pub data: &'a mut [u8],
    pub width: u32,
    pub height: u32,
    /// Bytes from one row to the next.
    pub stride: usize,
    pub channel_order: ChannelOrder,
}

impl<'a> FrameMut<'a> {
    /// A frame whose rows follow each other with no padding (stride = 4 × width).
    pub fn packed(data: &'a mut [u8], width: u32, height: u32, channel_order: ChannelOrder) -> Self {
        Self { data, width, height, stride: width as usize * 4, channel_order }
    }
}

/// `a * b / 255`, rounded, for bytes.
#[inline]
fn mul_div255(a: u32, b: u32) -> u32 {
    let t = a * b + 128;
    (t + (t >> 8)) >> 8
}

/// A frame the renderer can draw over: its size, and how the rendered window is blended.
pub trait CompositeTarget {
    fn size(&self) -> (u32, u32);
    /// Blends `overlay` (premultiplied RGBA8 rows of `window.width` pixels,
    /// `overlay_stride` bytes apart) over the frame at `window`, which lies inside it.
    fn blend(&mut self, window: PixelRect, overlay: &[u8], overlay_stride: usize);
}

impl CompositeTarget for FrameMut<'_> {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn blend(&mut self, window: PixelRect, overlay: &[u8], overlay_stride: usize) {
        blend_premultiplied(self, window, overlay, overlay_stride);
    }
}

/// How a YUV frame encodes colour: luma weights of red and blue (the rest is green's) and
/// the range of its code values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct YuvEncoding {
    pub kr: f32,
    pub kb: f32,
    /// 0-255 for every component; otherwise 16-235 (luma) and 16-240 (chroma).
    pub full_range: bool,
}

impl YuvEncoding {
    /// (offset, scale) of luma and the scale of chroma, for code values.
    fn ranges(&self) -> (f32, f32, f32) {
        if self.full_range {
            (0.0, 255.0, 255.0)
        } else {
            (16.0, 219.0, 224.0)
        }
    }

    /// Y, Cb, Cr code values of an RGB colour (0-255), unrounded.
    pub fn encode(&self, rgb: [f32; 3]) -> [f32; 3] {
        let (y_offset, _, _) = self.ranges();
        let [y, cb, cr] = self.matrix().map(|row| row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2]);
        [y_offset + y, 128.0 + cb, 128.0 + cr]
    }

    /// The linear part of the encoding: rows giving Y, Cb, Cr (without their offsets)
    /// from R, G, B (0-255).
    fn matrix(&self) -> [[f32; 3]; 3] {
        let (_, y_scale, c_scale) = self.ranges();
        let (kr, kb) = (self.kr, self.kb);
        let kg = 1.0 - kr - kb;
        let luma = [kr, kg, kb];
        // Cb = (B − Y) / (2 (1 − kb)), Cr = (R − Y) / (2 (1 − kr)).
        let cb = [-kr, -kg, 1.0 - kb].map(|w| w / (2.0 * (1.0 - kb)));
        let cr = [1.0 - kr, -kg, -kb].map(|w| w / (2.0 * (1.0 - kr)));
        [luma.map(|w| w * y_scale / 255.0), cb.map(|w| w * c_scale / 255.0), cr.map(|w| w * c_scale / 255.0)]
    }
}

/// One plane of a frame: its bytes and the distance from one row to the next.
pub struct PlaneMut<'a> {
    pub data: &'a mut [u8],
    pub stride: usize,
}

/// The chroma planes of a 4:2:0 frame.
pub enum ChromaMut<'a> {
    /// I420 (and YV12, with the planes given in U, V order).
    Planar { u: PlaneMut<'a>, v: PlaneMut<'a> },
    /// NV12 (U then V in each pair) or NV21 (`swapped`: V then U).
    Interleaved { uv: PlaneMut<'a>, swapped: bool },
}

/// A mutable view of a 4:2:0 YUV frame (chroma subsampled 2x2, odd sizes rounded up).
pub struct YuvFrameMut<'a> {
    pub width: u32,
    pub height: u32,
    pub y: PlaneMut<'a>,
    pub chroma: ChromaMut<'a>,
    pub encoding: YuvEncoding,
}

impl CompositeTarget for YuvFrameMut<'_> {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn blend(&mut self, window: PixelRect, overlay: &[u8], overlay_stride: usize) {
        blend_premultiplied_yuv(self, window, overlay, overlay_stride);
    }
}

/// Blends premultiplied RGBA8 over a 4:2:0 frame, in the frame's encoding. Per pixel,
/// out = (1 - a) * frame + a * offset + encode(premultiplied colour) without offset,
/// which is blending in RGB carried through the (affine) encoding. Chroma takes the mean
/// of the premultiplied colours and coverages of the 2x2 pixels it covers.
pub fn blend_premultiplied_yuv(frame: &mut YuvFrameMut<'_>, window: PixelRect, overlay: &[u8], overlay_stride: usize) {
    assert!(
        window.x + window.width <= frame.width && window.y + window.height <= frame.height,
        "window {window:?} outside the {}x{} frame",
        frame.width,
        frame.height
    );
    let enc = frame.encoding;
    let (y_offset, _, _) = enc.ranges();
    let m = enc.matrix();
    let pixel = |x: u32, y: u32| -> [u8; 4] {
        let i = (y - window.y) as usize * overlay_stride + (x - window.x) as usize * 4;
        [overlay[i], overlay[i + 1], overlay[i + 2], overlay[i + 3]]
    };
    // The encoding of a premultiplied colour, without the offsets (they come with alpha).
    let encode_premultiplied = |p: [u8; 4]| -> [f32; 3] {
        let (r, g, b) = (p[0] as f32, p[1] as f32, p[2] as f32);
        [
            m[0][0] * r + m[0][1] * g + m[0][2] * b,
            m[1][0] * r + m[1][1] * g + m[1][2] * b,
            m[2][0] * r + m[2][1] * g + m[2][2] * b,
        ]
    };
    for y in window.y..window.y + window.height {
        let row = y as usize * frame.y.stride;
        for x in window.x..window.x + window.width {
            let p = pixel(x, y);
            if p[3] == 0 {
                continue;
            }
            let a = p[3] as f32 / 255.0;
            let d = &mut frame.y.data[row + x as usize];
            let luma = m[0][0] * p[0] as f32 + m[0][1] * p[1] as f32 + m[0][2] * p[2] as f32;
            *d = ((1.0 - a) * *d as f32 + a * y_offset + luma).round().clamp(0.0, 255.0) as u8;
        }
    }
    let (cx0, cx1) = (window.x / 2, (window.x + window.width).div_ceil(2));
    let (cy0, cy1) = (window.y / 2, (window.y + window.height).div_ceil(2));
    for cy in cy0..cy1 {
        for cx in cx0..cx1 {
            let (mut alpha, mut cb, mut cr) = (0.0f32, 0.0f32, 0.0f32);
            for (x, y) in [(2 * cx, 2 * cy), (2 * cx + 1, 2 * cy), (2 * cx, 2 * cy + 1), (2 * cx + 1, 2 * cy + 1)] {
                if x < window.x || y < window.y || x >= window.x + window.width || y >= window.y + window.height {
                    continue;
                }
                let p = pixel(x, y);
                if p[3] == 0 {
                    continue;
                }
                let [_, u, v] = encode_premultiplied(p);
                alpha += p[3] as f32 / 255.0;
                cb += u;
                cr += v;
            }
            if alpha == 0.0 {
                continue;
            }
            // The mean over the whole 2x2 block: uncovered pixels count with no coverage.
            let (a, cb, cr) = (alpha / 4.0, cb / 4.0, cr / 4.0);
            let mix = |d: &mut u8, c: f32| {
                *d = ((1.0 - a) * *d as f32 + a * 128.0 + c).round().clamp(0.0, 255.0) as u8;
            };
            let (cxu, cyu) = (cx as usize, cy as usize);
            match &mut frame.chroma {
                ChromaMut::Planar { u, v } => {
                    mix(&mut u.data[cyu * u.stride + cxu], cb);
                    mix(&mut v.data[cyu * v.stride + cxu], cr);
                }
                ChromaMut::Interleaved { uv, swapped } => {
                    let i = cyu * uv.stride + 2 * cxu;
                    let (iu, iv) = if *swapped { (i + 1, i) } else { (i, i + 1) };
                    mix(&mut uv.data[iu], cb);
                    mix(&mut uv.data[iv], cr);
                }
            }
        }
    }
}

/// Blends `overlay` (premultiplied RGBA8 rows of `window.width` pixels, `overlay_stride`
/// bytes apart) over the frame at `window`. The window must lie inside the frame.
pub fn blend_premultiplied(frame: &mut FrameMut<'_>, window: PixelRect, overlay: &[u8], overlay_stride: usize) {
    assert!(
        window.x + window.width <= frame.width && window.y + window.height <= frame.height,
        "window {window:?} outside the {}x{} frame",
        frame.width,
        frame.height
    );
    let [r, g, b] = frame.channel_order.color_offsets();
    let alpha = frame.channel_order.alpha_offset();
    let row_bytes = window.width as usize * 4;
    for row in 0..window.height as usize {
        let src = &overlay[row * overlay_stride..row * overlay_stride + row_bytes];
        let start = (window.y as usize + row) * frame.stride + window.x as usize * 4;
        let dst = &mut frame.data[start..start + row_bytes];
        for (s, d) in src.chunks_exact(4).zip(dst.chunks_exact_mut(4)) {
            let a = s[3] as u32;
            if a == 0 {
                continue;
            }
            let keep = 255 - a;
            for (channel, &offset) in [r, g, b].iter().enumerate() {
                d[offset] = (s[channel] as u32 + mul_div255(d[offset] as u32, keep)).min(255) as u8;
            }
            if let Some(offset) = alpha {
                d[offset] = (a + mul_div255(d[offset] as u32, keep)).min(255) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_bytes(order: ChannelOrder, pixel: [u8; 4]) -> (Vec<u8>, ChannelOrder) {
        (pixel.repeat(4 * 3), order)
    }

    #[test]
    fn opaque_pixel_replaces_in_channel_order() {
        for (order, expected) in [
            (ChannelOrder::Rgba, [200, 100, 50, 255]),
            (ChannelOrder::Bgra, [50, 100, 200, 255]),
            (ChannelOrder::Rgbx, [200, 100, 50, 7]),
            (ChannelOrder::Bgrx, [50, 100, 200, 7]),
        ] {
            let (mut data, order) = frame_bytes(order, [1, 2, 3, 7]);
            let mut frame = FrameMut::packed(&mut data, 4, 3, order);
            let window = PixelRect { x: 2, y: 1, width: 1, height: 1 };
            blend_premultiplied(&mut frame, window, &[200, 100, 50, 255], 256);
            assert_eq!(&data[16 + 8..16 + 12], &expected, "{order:?}");
            // Every other pixel is untouched.
            assert_eq!(&data[16 + 4..16 + 8], &[1, 2, 3, 7]);
            assert_eq!(&data[0..4], &[1, 2, 3, 7]);
        }
    }

    #[test]
    fn half_transparent_pixel_mixes() {
        let mut data = vec![100u8, 100, 100, 255];
        let mut frame = FrameMut::packed(&mut data, 1, 1, ChannelOrder::Rgba);
        // 50 % white over grey 100: 128 + 100 * 127 / 255 = 178.
        blend_premultiplied(&mut frame, PixelRect { x: 0, y: 0, width: 1, height: 1 }, &[128, 128, 128, 128], 4);
        assert_eq!(data, vec![178, 178, 178, 255]);
    }

    fn yuv_frame<'a>(y: &'a mut [u8], u: &'a mut [u8], v: &'a mut [u8], encoding: YuvEncoding) -> YuvFrameMut<'a> {
        YuvFrameMut {
            width: 4,
            height: 4,
            y: PlaneMut { data: y, stride: 4 },
            chroma: ChromaMut::Planar { u: PlaneMut { data: u, stride: 2 }, v: PlaneMut { data: v, stride: 2 } },
            encoding,
        }
    }

    const BT709_LIMITED: YuvEncoding = YuvEncoding { kr: 0.2126, kb: 0.0722, full_range: false };

    #[test]
    fn encodings_match_the_standard_code_values() {
        let full = YuvEncoding { full_range: true, ..BT709_LIMITED };
        let round = |v: [f32; 3]| v.map(|c| c.round() as i32);
        assert_eq!(round(BT709_LIMITED.encode([0.0; 3])), [16, 128, 128]);
        assert_eq!(round(BT709_LIMITED.encode([255.0; 3])), [235, 128, 128]);
        assert_eq!(round(full.encode([0.0; 3])), [0, 128, 128]);
        assert_eq!(round(full.encode([255.0; 3])), [255, 128, 128]);
        // BT.709 limited red: 63, 102, 240.
        assert_eq!(round(BT709_LIMITED.encode([255.0, 0.0, 0.0])), [63, 102, 240]);
    }

    #[test]
    fn opaque_yuv_pixels_take_the_overlay_colour_and_others_keep_their_values() {
        let (mut y, mut u, mut v) = ((0..16).map(|i| 20 + i as u8).collect::<Vec<_>>(), vec![90u8; 4], vec![170u8; 4]);
        let (y0, u0, v0) = (y.clone(), u.clone(), v.clone());
        // An opaque red 2x2 block over the top-left chroma block.
        let mut overlay = vec![0u8; 4 * 4 * 4];
        for (px, py) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            overlay[(py * 4 + px) * 4..(py * 4 + px) * 4 + 4].copy_from_slice(&[255, 0, 0, 255]);
        }
        let mut frame = yuv_frame(&mut y, &mut u, &mut v, BT709_LIMITED);
        blend_premultiplied_yuv(&mut frame, PixelRect { x: 0, y: 0, width: 4, height: 4 }, &overlay, 16);
        for (px, py) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            assert_eq!(y[py * 4 + px], 63);
        }
        assert_eq!((u[0], v[0]), (102, 240));
        for i in [2, 3, 6, 7, 8, 15] {
            assert_eq!(y[i], y0[i], "luma {i} untouched");
        }
        assert_eq!((&u[1..], &v[1..]), (&u0[1..], &v0[1..]), "other chroma untouched");
    }

    #[test]
    fn half_covered_chroma_blocks_mix_by_coverage() {
        let (mut y, mut u, mut v) = (vec![100u8; 16], vec![128u8; 4], vec![128u8; 4]);
        // One opaque red pixel of four, at an odd window origin.
        let mut frame = yuv_frame(&mut y, &mut u, &mut v, BT709_LIMITED);
        blend_premultiplied_yuv(&mut frame, PixelRect { x: 1, y: 1, width: 1, height: 1 }, &[255, 0, 0, 255], 4);
        assert_eq!(y[5], 63);
        // A quarter of red's chroma: 128 + (240 - 128) / 4 = 156.
        assert_eq!((u[0], v[0]), (122, 156));
    }

    #[test]
    fn transparent_pixels_leave_the_frame_bit_exact() {
        let original: Vec<u8> = (0..64).map(|i| (i * 37 % 251) as u8).collect();
        let mut data = original.clone();
        let mut frame = FrameMut::packed(&mut data, 4, 4, ChannelOrder::Bgrx);
        blend_premultiplied(&mut frame, PixelRect { x: 0, y: 0, width: 4, height: 4 }, &[0; 64], 16);
        assert_eq!(data, original);
    }
}
