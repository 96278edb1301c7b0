//! A square crop turned by an angle, the input of the BlazePose landmark model.
//!
//! Pixel `(col, row)` of an `n`×`n` crop shows the frame at
//! `centre + side · R(rotation) · ((col + 0.5) / n − 0.5, (row + 0.5) / n − 0.5)`, with
//! `R = [[cos, −sin], [sin, cos]]` in frame pixels (x right, y down, pixel `i` spanning
//! `[i, i + 1)`): rotation 0 is an upright crop, and a positive rotation turns the crop's
//! "up" towards the frame's right. Outside the frame the edge pixels repeat, as MediaPipe's
//! own crop does (a black border moves the model's depth estimates).
//!
//! Shrinking is anti-aliased: the part of the frame under the crop is first resampled by
//! the [`sampler`](super::sampler) (area averaging above 1.1× reduction) to about the
//! crop's resolution, and that image is then turned with bilinear interpolation.

use super::sampler::{self, AxisMap, FrameView, OutputTransform, Scratch, Warp};

/// Largest side, in pixels, of the intermediate image (bounds the work for absurd crops).
const MAX_INTERMEDIATE_SIDE: usize = 2048;

/// A square region of the frame, turned by `rotation` radians about its centre.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RotatedSquare {
    /// Centre in frame pixels (continuous coordinates).
    pub centre: [f32; 2],
    /// Side in frame pixels.
    pub side: f32,
    pub rotation: f32,
}

/// Buffers reused from crop to crop.
#[derive(Debug, Default)]
pub struct RotatedScratch {
    sampler: Scratch,
    image: Vec<f32>,
}

impl RotatedSquare {
    /// The frame position (continuous coordinates) of a point of an `n`×`n` crop given in
    /// crop pixels (`0..n` on both axes).
    pub fn to_frame(&self, point: [f32; 2], n: usize) -> [f32; 2] {
        let (sin, cos) = self.rotation.sin_cos();
        let u = (point[0] / n as f32 - 0.5) * self.side;
        let v = (point[1] / n as f32 - 0.5) * self.side;
        [self.centre[0] + cos * u - sin * v, self.centre[1] + sin * u + cos * v]
    }

    /// The axis-aligned box around the square, x0, y0, x1, y1.
    pub fn bounds(&self) -> [f32; 4] {
        let (sin, cos) = self.rotation.sin_cos();
        let half = 0.5 * self.side * (cos.abs() + sin.abs());
        let [cx, cy] = self.centre;
        [cx - half, cy - half, cx + half, cy + half]
    }

    /// Whether the numbers describe a crop at all (finite, positive side).
    pub fn is_valid(&self) -> bool {
        self.centre.iter().all(|v| v.is_finite())
            && self.rotation.is_finite()
            && self.side.is_finite()
            && self.side > 0.0
    }

    /// Writes the `n`×`n` crop as planar RGB in [0, 1] (`out` holds 3·n·n values).
    pub fn write_rgb(&self, frame: &FrameView, n: usize, scratch: &mut RotatedScratch, out: &mut [f32]) {
        assert_eq!(out.len(), 3 * n * n, "output of the wrong size");
        let (width, height) = (frame.width() as f32, frame.height() as f32);
        // Numbers that describe no crop show the whole frame rather than garbage.
        let square = if self.is_valid() {
            *self
        } else {
            RotatedSquare { centre: [width / 2.0, height / 2.0], side: width.max(height), rotation: 0.0 }
        };
        // The part of the frame under the crop, at least one pixel, inside the frame.
        let [bx0, by0, bx1, by1] = square.bounds();
        let x0 = bx0.clamp(0.0, width - 1.0).floor();
        let y0 = by0.clamp(0.0, height - 1.0).floor();
        let x1 = bx1.clamp(x0 + 1.0, width).ceil();
        let y1 = by1.clamp(y0 + 1.0, height).ceil();
        // About one intermediate pixel per crop pixel, never finer than the frame.
        let scale = (square.side / n as f32).max(1.0);
        let columns = (((x1 - x0) / scale).ceil() as usize).clamp(1, MAX_INTERMEDIATE_SIDE);
        let rows = (((y1 - y0) / scale).ceil() as usize).clamp(1, MAX_INTERMEDIATE_SIDE);
        let (step_x, step_y) = ((x1 - x0) / columns as f32, (y1 - y0) / rows as f32);
        // The sampler puts pixel centres at integer coordinates.
        let warp = Warp {
            x: AxisMap { origin: x0 + 0.5 * step_x - 0.5, step: step_x },
            y: AxisMap { origin: y0 + 0.5 * step_y - 0.5, step: step_y },
            width: columns,
            height: rows,
        };
        let to_unit = OutputTransform { scale: [1.0 / 255.0; 3], offset: [0.0; 3], border: 0.0 };
        scratch.image.resize(3 * columns * rows, 0.0);
        sampler::sample_rgb_planes(frame, &warp, &mut scratch.sampler, &to_unit, &mut scratch.image);

        // Crop pixel centre → intermediate pixel-centre coordinates, an affine map.
        let to_image = |p: [f32; 2]| [(p[0] - x0) / step_x - 0.5, (p[1] - y0) / step_y - 0.5];
        let origin = to_image(square.to_frame([0.5, 0.5], n));
        let along_col = to_image(square.to_frame([1.5, 0.5], n));
        let along_row = to_image(square.to_frame([0.5, 1.5], n));
        let du = [along_col[0] - origin[0], along_col[1] - origin[1]];
        let dv = [along_row[0] - origin[0], along_row[1] - origin[1]];
        let (max_x, max_y) = ((columns - 1) as f32, (rows - 1) as f32);
        let plane = columns * rows;
        let image = &scratch.image;
        let (r_out, rest) = out.split_at_mut(n * n);
        let (g_out, b_out) = rest.split_at_mut(n * n);
        for row in 0..n {
            for col in 0..n {
                let x = (origin[0] + col as f32 * du[0] + row as f32 * dv[0]).clamp(0.0, max_x);
                let y = (origin[1] + col as f32 * du[1] + row as f32 * dv[1]).clamp(0.0, max_y);
                let (xi, yi) = (x.floor(), y.floor());
                let (fx, fy) = (x - xi, y - yi);
                let (xi, yi) = (xi as usize, yi as usize);
                let (xn, yn) = ((xi + 1).min(columns - 1), (yi + 1).min(rows - 1));
                let weights = [(1.0 - fx) * (1.0 - fy), fx * (1.0 - fy), (1.0 - fx) * fy, fx * fy];
                let taps = [yi * columns + xi, yi * columns + xn, yn * columns + xi, yn * columns + xn];
                let sample = |c: usize| -> f32 {
                    let base = &image[c * plane..(c + 1) * plane];
                    taps.iter().zip(&weights).map(|(&t, &w)| base[t] * w).sum()
                };
                let o = row * n + col;
                r_out[o] = sample(0);
                g_out[o] = sample(1);
                b_out[o] = sample(2);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::f32::consts::FRAC_PI_2;

    use super::*;
    use crate::crop::sampler::{PixelLayout, Plane};

    const RGB: PixelLayout = PixelLayout::PackedRgb { bytes: 3, r: 0, g: 1, b: 2 };

    /// A frame whose red is x, green is y, blue a constant: positions can be read back.
    fn ramp(width: usize, height: usize) -> Vec<u8> {
        (0..height).flat_map(|y| (0..width).flat_map(move |x| [x as u8, y as u8, 200])).collect()
    }

    fn crop(data: &[u8], width: usize, height: usize, square: RotatedSquare, n: usize) -> Vec<f32> {
        let frame = FrameView::new(width, height, RGB, vec![Plane { data, stride: width * 3 }]).unwrap();
        let mut out = vec![0.0; 3 * n * n];
        square.write_rgb(&frame, n, &mut RotatedScratch::default(), &mut out);
        out
    }

    #[test]
    fn upright_crop_at_frame_resolution_reads_the_pixels_under_it() {
        let (w, h) = (64, 48);
        let data = ramp(w, h);
        // A 16-pixel square whose pixels coincide with frame pixels 20..36 x 10..26.
        let square = RotatedSquare { centre: [28.0, 18.0], side: 16.0, rotation: 0.0 };
        let out = crop(&data, w, h, square, 16);
        for row in 0..16 {
            for col in 0..16 {
                let i = row * 16 + col;
                assert!((out[i] * 255.0 - (20 + col) as f32).abs() < 1e-3, "r at {col},{row}");
                assert!((out[256 + i] * 255.0 - (10 + row) as f32).abs() < 1e-3, "g at {col},{row}");
                assert!((out[512 + i] * 255.0 - 200.0).abs() < 1e-3);
            }
        }
    }

    #[test]
    fn a_quarter_turn_maps_crop_rows_to_frame_columns() {
        let (w, h) = (64, 64);
        let data = ramp(w, h);
        let square = RotatedSquare { centre: [32.0, 32.0], side: 16.0, rotation: FRAC_PI_2 };
        let out = crop(&data, w, h, square, 16);
        // Rotation +90°: the crop's x axis runs along the frame's +y, its y axis along −x.
        for (col, row) in [(0usize, 0usize), (15, 0), (0, 15), (7, 9)] {
            let expect = square.to_frame([col as f32 + 0.5, row as f32 + 0.5], 16);
            let i = row * 16 + col;
            assert!((out[i] * 255.0 - (expect[0] - 0.5)).abs() < 1e-2, "x at {col},{row}: {expect:?}");
            assert!((out[256 + i] * 255.0 - (expect[1] - 0.5)).abs() < 1e-2, "y at {col},{row}");
        }
        assert!(out[15] * 255.0 < out[0] * 255.0 + 1e-3, "along the crop's x the frame x stays");
        assert!(out[256 + 15] > out[256], "along the crop's x the frame y grows");
    }

    #[test]
    fn outside_the_frame_the_edge_repeats() {
        let (w, h) = (32, 32);
        let data = ramp(w, h);
        // Centred on the top-left corner: three quarters of the crop lie outside.
        let square = RotatedSquare { centre: [0.0, 0.0], side: 16.0, rotation: 0.3 };
        let out = crop(&data, w, h, square, 16);
        assert!(out.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
        // Blue is constant in the frame, so a repeated edge keeps it everywhere (a black
        // border would not).
        assert!(out[512..].iter().all(|b| (b * 255.0 - 200.0).abs() < 1e-3));
    }

    #[test]
    fn shrinking_averages_instead_of_aliasing() {
        // Alternating black and white columns: a 4x reduction must come out grey.
        let (w, h) = (256, 256);
        let data: Vec<u8> =
            (0..h).flat_map(|_| (0..w).flat_map(|x| if x % 2 == 0 { [0u8; 3] } else { [255u8; 3] })).collect();
        let square = RotatedSquare { centre: [128.0, 128.0], side: 200.0, rotation: 0.2 };
        let out = crop(&data, w, h, square, 50);
        let mean = out[..2500].iter().sum::<f32>() / 2500.0;
        let spread = out[..2500].iter().map(|v| (v - 0.5).abs()).fold(0.0f32, f32::max);
        assert!((mean - 0.5).abs() < 0.02 && spread < 0.1, "mean {mean}, spread {spread}");
    }

    #[test]
    fn invalid_and_huge_squares_still_write_finite_values() {
        let (w, h) = (16, 16);
        let data = ramp(w, h);
        for square in [
            RotatedSquare { centre: [f32::NAN, 3.0], side: 10.0, rotation: 0.0 },
            RotatedSquare { centre: [8.0, 8.0], side: 1.0e9, rotation: 1.0 },
            RotatedSquare { centre: [-1.0e6, 8.0], side: 4.0, rotation: 0.0 },
        ] {
            let out = crop(&data, w, h, square, 8);
            assert!(out.iter().all(|v| v.is_finite()), "{square:?}");
        }
    }
}
