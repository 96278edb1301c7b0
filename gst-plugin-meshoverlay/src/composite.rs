//! Alpha compositing of the rendered people over a video frame, on the CPU.
//!
//! The renderer reads back premultiplied RGBA8 for the window the people cover; only
//! those pixels are touched, and fully transparent ones are skipped.

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

    #[test]
    fn transparent_pixels_leave_the_frame_bit_exact() {
        let original: Vec<u8> = (0..64).map(|i| (i * 37 % 251) as u8).collect();
        let mut data = original.clone();
        let mut frame = FrameMut::packed(&mut data, 4, 4, ChannelOrder::Bgrx);
        blend_premultiplied(&mut frame, PixelRect { x: 0, y: 0, width: 4, height: 4 }, &[0; 64], 16);
        assert_eq!(data, original);
    }
}
