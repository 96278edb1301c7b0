//! HMR2's person crop: where the square crop lies in the frame, which of its columns the
//! network sees, and how crop pixels are normalised.
//!
//! A person box `(x0, y0, x1, y1)` (frame pixels) becomes a square of side
//! `max(h, 4/3 w)` around the box centre: the box grown to the 3:4 aspect of the network
//! input, then made square. That square is warped to [`CROP_SIDE`]² pixels like OpenCV's
//! `warpAffine` in the reference: integer coordinates are pixel centres and crop pixel
//! `(u, v)` samples the frame at `centre + ((u, v) − CROP_SIDE / 2) · side / CROP_SIDE`,
//! with black outside the frame. A 256×192 network sees crop columns 32..224; a network
//! with that slice in its graph takes all 256 columns.
//!
//! Filtering ([`CropFilter`]): by default exactly as HMR2's reference demo (4D-Humans'
//! `ViTDetDataset`): for a square larger than 1.1 × 512 pixels the frame is blurred with
//! a Gaussian of sigma `(side / 512 − 1) / 2` (scikit-image's `gaussian`), and the crop is
//! then sampled bilinearly where OpenCV's `warpAffine` samples; smaller squares are sampled
//! bilinearly without blur.
//!
//! Frames with non-square pixels (caps `pixel-aspect-ratio` p ≠ 1, e.g. 1440x1080 HDV at
//! 4:3) are cropped in display geometry, where a stored pixel is p wide: the box is
//! scaled by p horizontally, grown and squared there, and the square's sampling grid is
//! mapped back to stored pixels (its horizontal step divided by p). The network thus sees
//! the person as a viewer does, and the crop's centre and side are display pixels, as the
//! camera of the pose metadata is ([`hmr2_meta::camera`]).

use std::ops::Range;

use hmr2_meta::camera;
use sampler::{AxisMap, Filter, FrameView, OpenCvMap, OutputTransform, SampleGrid, Scratch, Warp};

#[cfg(test)]
mod reference_parity;
pub mod rotated;
pub mod sampler;

/// Side in pixels of the square crop (the crop the HMR2 focal length refers to).
pub const CROP_SIDE: usize = camera::CROP_SIZE as usize;
/// Aspect the box is grown to before it is made square, as width : height.
pub const BOX_ASPECT: (f32, f32) = (192.0, 256.0);
/// ImageNet channel means (RGB) of pixel values scaled to [0, 1].
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Squares larger than this many times 512 pixels (twice the crop side) are blurred first.
pub const BLUR_ABOVE: f64 = 1.1;

/// How a person crop is filtered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CropFilter {
    /// As the reference: a Gaussian blur of sigma `(side / 512 − 1) / 2` frame pixels when
    /// `side / 512 > 1.1`, then bilinear sampling on OpenCV's 1/32-pixel grid.
    #[default]
    Reference,
    /// Bilinear sampling up to a 1.1× shrink, the average over each crop pixel's footprint
    /// above ([`Filter::BilinearOrArea`]): smoother than the reference's crop for squares
    /// between about 282 and 563 pixels, slightly different above.
    Area,
}

/// The square region of the frame that becomes one person's crop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PersonCrop {
    /// Centre in frame pixels (the box midpoint).
    pub center: [f32; 2],
    /// Side of the square in frame pixels.
    pub side: f32,
    /// Display width of a stored pixel (caps pixel-aspect-ratio); `center` and `side`
    /// are display pixels: x = stored x × `pixel_aspect`.
    pub pixel_aspect: f32,
}

impl PersonCrop {
    /// The crop HMR2 takes for a person box `(x0, y0, x1, y1)`.
    pub fn from_box(bbox: [f32; 4]) -> Self {
        Self::from_box_in_display(bbox, 1.0)
    }

    /// The crop for a person box in stored pixels of a frame whose pixels are
    /// `pixel_aspect` wide, taken in display geometry.
    pub fn from_box_in_display(bbox: [f32; 4], pixel_aspect: f32) -> Self {
        let p = if pixel_aspect.is_finite() && pixel_aspect > 0.0 { pixel_aspect } else { 1.0 };
        let [x0, y0, x1, y1] = bbox;
        let (x0, x1) = (x0 * p, x1 * p);
        let (w, h) = ((x1 - x0).abs(), (y1 - y0).abs());
        let (aw, ah) = BOX_ASPECT;
        Self { center: [(x0 + x1) / 2.0, (y0 + y1) / 2.0], side: h.max(w * ah / aw), pixel_aspect: p }
    }

    /// Frame pixels per crop pixel.
    pub fn scale(&self) -> f32 {
        self.side / CROP_SIDE as f32
    }

    /// Frame position (pixel-centre coordinates, stored pixels) sampled by crop pixel
    /// `(u, v)`.
    pub fn source_position(&self, u: f32, v: f32) -> [f32; 2] {
        let half = CROP_SIDE as f32 / 2.0;
        let k = self.scale();
        [(self.center[0] + (u - half) * k) / self.pixel_aspect, self.center[1] + (v - half) * k]
    }

    /// The sampling grid of the given crop columns over all crop rows.
    pub fn warp(&self, columns: Range<usize>) -> Warp {
        let [x0, y0] = self.source_position(columns.start as f32, 0.0);
        let step = self.scale();
        Warp {
            x: AxisMap { origin: x0, step: step / self.pixel_aspect },
            y: AxisMap { origin: y0, step },
            width: columns.len(),
            height: CROP_SIDE,
        }
    }

    /// Standard deviation in frame pixels of the reference's blur: `(side / 512 − 1) / 2`
    /// when `side / 512 > 1.1`, else 0 (no blur).
    pub fn reference_blur_sigma(&self) -> f32 {
        let factor = self.side as f64 / (2 * CROP_SIDE) as f64;
        if factor > BLUR_ABOVE {
            ((factor - 1.0) / 2.0) as f32
        } else {
            0.0
        }
    }

    /// The map OpenCV's `warpAffine` applies in the reference, computed the way it comes
    /// about there: from float32 points (the centre, and the centre moved by half the side
    /// right and down) mapped to the crop's centre and edges, inverted in double precision.
    pub fn opencv_map(&self, columns: Range<usize>) -> OpenCvMap {
        let half = self.side * 0.5;
        let half_crop = (CROP_SIDE / 2) as f64;
        let step = |c: f32| ((c + half) as f64 - c as f64) / half_crop;
        let [sx, sy] = self.center.map(step);
        let [cx, cy] = self.center.map(f64::from);
        // Non-square pixels: the reference's map is taken in display pixels, and stored x is
        // display x / p. (The blur keeps one sigma, in stored pixels: p times too wide
        // horizontally in display terms; square pixels, the reference's case, are exact.)
        let p = f64::from(self.pixel_aspect);
        OpenCvMap {
            origin: [(cx - half_crop * sx) / p, cy - half_crop * sy],
            step: [sx / p, sy],
            first_column: columns.start,
        }
    }

    /// The sampler's filter for this crop and the given crop columns.
    pub fn filter(&self, filter: CropFilter, columns: Range<usize>) -> Filter {
        match filter {
            CropFilter::Reference => Filter::GaussianBilinear {
                sigma: self.reference_blur_sigma(),
                grid: SampleGrid::OpenCv(self.opencv_map(columns)),
            },
            CropFilter::Area => Filter::BilinearOrArea,
        }
    }

    /// Writes the network input for this crop: normalised RGB, planar (CHW), `CROP_SIDE`
    /// rows of `input_width` columns, into `out` (exactly 3 × 256 × `input_width` values),
    /// filtered as the reference does.
    pub fn write_input(&self, frame: &FrameView, input_width: usize, scratch: &mut Scratch, out: &mut [f32]) {
        self.write_input_filtered(frame, input_width, CropFilter::Reference, scratch, out)
    }

    /// [`Self::write_input`] with the given filter.
    pub fn write_input_filtered(
        &self,
        frame: &FrameView,
        input_width: usize,
        filter: CropFilter,
        scratch: &mut Scratch,
        out: &mut [f32],
    ) {
        let columns = input_columns(input_width);
        let filter = self.filter(filter, columns.clone());
        let warp = self.warp(columns);
        sampler::sample_rgb_planes_filtered(frame, &warp, &filter, scratch, &imagenet_normalisation(), out);
    }
}

/// The crop columns a network of the given input width sees: the centred `width` columns
/// of the square crop (32..224 for 192, everything for 256).
pub fn input_columns(input_width: usize) -> Range<usize> {
    let start = CROP_SIDE.saturating_sub(input_width) / 2;
    start..start + input_width.min(CROP_SIDE)
}

/// ImageNet normalisation, `(v / 255 − mean) / std` per channel, as one multiply-add, with
/// black (0) outside the frame.
pub fn imagenet_normalisation() -> OutputTransform {
    OutputTransform {
        scale: std::array::from_fn(|c| 1.0 / (255.0 * IMAGENET_STD[c])),
        offset: std::array::from_fn(|c| -IMAGENET_MEAN[c] / IMAGENET_STD[c]),
        border: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_square_pixels_are_cropped_in_display_geometry() {
        // 1440x1080 at 4:3 shows as 1920x1080: a box 150 stored pixels wide is 200 wide
        // on screen, the crop of the same person in a square-pixel 1920x1080 frame.
        let hdv = PersonCrop::from_box_in_display([600.0, 100.0, 750.0, 500.0], 4.0 / 3.0);
        let square = PersonCrop::from_box([800.0, 100.0, 1000.0, 500.0]);
        assert!((hdv.center[0] - square.center[0]).abs() < 1e-3 && hdv.center[1] == square.center[1]);
        assert!((hdv.side - square.side).abs() < 1e-3);
        // The grid samples the same picture: stored x = display x / p, a 3/4 step.
        let (a, b) = (hdv.source_position(10.0, 20.0), square.source_position(10.0, 20.0));
        assert!((a[0] * 4.0 / 3.0 - b[0]).abs() < 1e-3 && (a[1] - b[1]).abs() < 1e-3);
        let (wa, wb) = (hdv.warp(32..224), square.warp(32..224));
        assert!((wa.x.step * 4.0 / 3.0 - wb.x.step).abs() < 1e-5 && wa.y == wb.y);
    }

    /// ImageNet normalisation of one RGB pixel given in [0, 255].
    fn normalize(rgb: [f32; 3]) -> [f32; 3] {
        imagenet_normalisation().apply(rgb, 1.0)
    }

    #[test]
    fn wide_box_grows_in_height() {
        // 1920x1080 box: h/w < 4/3, so the side is 4/3 * 1920 = 2560.
        let crop = PersonCrop::from_box([0.0, 0.0, 1920.0, 1080.0]);
        assert_eq!(crop.center, [960.0, 540.0]);
        assert_eq!(crop.side, 2560.0);
        assert_eq!(crop.scale(), 10.0);
    }

    #[test]
    fn tall_box_keeps_its_height() {
        // 60x200 box: 4/3 * 60 = 80 < 200, so the side is the height.
        let crop = PersonCrop::from_box([100.0, 50.0, 160.0, 250.0]);
        assert_eq!(crop.center, [130.0, 150.0]);
        assert_eq!(crop.side, 200.0);
    }

    #[test]
    fn box_at_exact_aspect_is_square_of_its_height() {
        let crop = PersonCrop::from_box([0.0, 0.0, 96.0, 128.0]);
        assert_eq!(crop.side, 128.0);
    }

    #[test]
    fn crop_centre_maps_to_box_centre() {
        // Crop pixel (128, 128) is the box centre; one crop pixel is side/256 frame pixels.
        let crop = PersonCrop { center: [300.0, 200.0], side: 512.0, pixel_aspect: 1.0 };
        assert_eq!(crop.source_position(128.0, 128.0), [300.0, 200.0]);
        assert_eq!(crop.source_position(0.0, 0.0), [44.0, -56.0]);
        assert_eq!(crop.source_position(32.0, 255.0), [108.0, 454.0]);
    }

    #[test]
    fn network_columns() {
        assert_eq!(input_columns(192), 32..224);
        assert_eq!(input_columns(256), 0..256);
    }

    #[test]
    fn input_tensor_matches_hand_computed_pixels() {
        use sampler::PixelLayout;
        // A 64x64 RGB frame, left half (x < 32) red (200, 0, 0), right half blue (0, 0, 100).
        // The box (16, 0)-(48, 64) makes a 64-pixel square centred at (32, 32): a 4x
        // upscale, so bilinear sampling; crop column u samples x = 32 + (u - 128) / 4.
        let (w, h) = (64usize, 64usize);
        let mut data = vec![0u8; w * h * 3];
        for y in 0..h {
            for x in 0..w {
                let px = if x < 32 { [200, 0, 0] } else { [0, 0, 100] };
                data[(y * w + x) * 3..][..3].copy_from_slice(&px);
            }
        }
        let layout = PixelLayout::PackedRgb { bytes: 3, r: 0, g: 1, b: 2 };
        let frame = FrameView::new(w, h, layout, vec![sampler::Plane { data: &data, stride: w * 3 }]).unwrap();
        let crop = PersonCrop::from_box([16.0, 0.0, 48.0, 64.0]);
        assert_eq!((crop.center, crop.side), ([32.0, 32.0], 64.0));
        let mut input = vec![0.0f32; 3 * 256 * 192];
        crop.write_input(&frame, 192, &mut Scratch::default(), &mut input);
        let at = |c: usize, y: usize, x: usize| input[c * 256 * 192 + y * 192 + x];
        let red = normalize([200.0, 0.0, 0.0]);
        let blue = normalize([0.0, 0.0, 100.0]);
        // Tensor column 0 is crop column 32: x = 32 - 96 / 4 = 8 (red).
        assert!((at(0, 100, 0) - red[0]).abs() < 1e-5);
        assert!((at(2, 100, 0) - red[2]).abs() < 1e-5);
        // Crop column 126 (tensor 94) samples x = 31.5: half red, half blue.
        let mix = normalize([100.0, 0.0, 50.0]);
        for (c, expected) in mix.iter().enumerate() {
            assert!((at(c, 7, 94) - expected).abs() < 1e-5, "channel {c}: {}", at(c, 7, 94));
        }
        // Crop column 130 (tensor 98) samples x = 32.5: blue.
        assert!((at(2, 100, 98) - blue[2]).abs() < 1e-5);
        // Crop row 255 samples y = 63.75: weight 0.25 on row 63, 0.75 on the black outside.
        let edge = normalize([0.0, 0.0, 25.0]);
        assert!((at(2, 255, 191) - edge[2]).abs() < 1e-5, "{}", at(2, 255, 191));
    }

    #[test]
    fn normalisation_matches_hand_computed_values() {
        // (0/255 - 0.485) / 0.229 = -2.117903; (255/255 - 0.456) / 0.224 = 2.428571;
        // (128/255 - 0.406) / 0.225 = 0.426492.
        let n = normalize([0.0, 255.0, 128.0]);
        let expected = [-2.117_904, 2.428_571, 0.426_492];
        for c in 0..3 {
            assert!((n[c] - expected[c]).abs() < 1e-5, "{n:?}");
        }
    }
}
