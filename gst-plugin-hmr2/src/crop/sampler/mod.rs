//! Sampling an axis-aligned, scaled region of a video frame straight from its own pixel
//! format into RGB, with anti-aliasing when shrinking.
//!
//! Only the source pixels under the region are read, plane by plane, in the frame's own
//! layout: packed 3- and 4-byte RGB orders, I420 and NV12. The parts: `taps` (which
//! source pixels each output reads, per filter), `passes` (the row and column passes),
//! `yuv` (colour matrices and conversions). Each plane is resampled separably (rows
//! first, then columns) at the output resolution. With [`Filter::BilinearOrArea`], YUV
//! planes are resampled as they are and only then turned into RGB (resampling is linear
//! and the conversion affine, so the order only matters through the clamp to [0, 255]).
//! With [`Filter::GaussianBilinear`] (the reference's), the region of a YUV frame the
//! filter reads is first converted to 8-bit RGB pixel by pixel, clamped and rounded as a
//! converter in front would, and then resampled as packed RGB.
//!
//! Filters ([`Filter`]), per axis, with pixel centres at integer coordinates as in OpenCV:
//! either bilinear interpolation up to [`ANTI_ALIAS_ABOVE`] source pixels per output pixel
//! and area averaging over the output pixel's footprint above it (which reads every source
//! pixel under the region about once, whatever the scale); or a Gaussian blur followed by
//! bilinear interpolation, both folded into one set of taps. Outside the frame the region
//! is black, and an [`OutputTransform`] can paint another border value there
//! (weighted by the part of each output pixel outside the frame) while it scales and
//! offsets the values into the planar RGB a network takes, in the same pass.
//!
//! Chroma of 4:2:0 formats is taken as centre-sited (chroma sample `j` lies at luma
//! position `2j + 0.5`).

use std::ops::Range;

mod passes;
mod taps;
#[cfg(test)]
mod tests;
mod yuv;

pub use yuv::YuvMatrix;

#[cfg(target_arch = "x86_64")]
use passes::sample_avx2;
use passes::sample_body;
use taps::AxisTaps;

/// [`Filter::BilinearOrArea`]: source pixels per output pixel above which sampling
/// averages over the footprint; at or below it, plain bilinear interpolation is used.
pub const ANTI_ALIAS_ABOVE: f32 = 1.1;

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

    /// Packed 8-bit RGBx (a YUV region converted before filtering).
    const RGBX: Self = Self { channels: 4, subsampling: 1, black: [0.0; 4] };

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

/// Why planes do not make a frame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    #[error("{layout:?} needs {expected} planes, got {got}")]
    PlaneCount { layout: PixelLayout, expected: usize, got: usize },
    #[error("empty frame {width}x{height}")]
    Empty { width: usize, height: usize },
    #[error("{0:?}: packed RGB needs 3 or 4 bytes per pixel and channels inside them")]
    PackedChannels(PixelLayout),
    #[error(
        "plane {plane} of a {width}x{height} {layout:?} frame needs {needed} bytes with rows of at \
         least {row}, got {got} bytes with stride {stride}"
    )]
    ShortPlane {
        plane: usize,
        width: usize,
        height: usize,
        layout: PixelLayout,
        needed: usize,
        row: usize,
        got: usize,
        stride: usize,
    },
}

impl<'a> FrameView<'a> {
    /// Checks that the planes hold a `width`×`height` frame of the given layout.
    pub fn new(width: usize, height: usize, layout: PixelLayout, planes: Vec<Plane<'a>>) -> Result<Self, FrameError> {
        let formats = layout.planes();
        if planes.len() != formats.len() {
            return Err(FrameError::PlaneCount { layout, expected: formats.len(), got: planes.len() });
        }
        if width == 0 || height == 0 {
            return Err(FrameError::Empty { width, height });
        }
        if let PixelLayout::PackedRgb { bytes, r, g, b } = layout {
            if !(3..=4).contains(&bytes) || [r, g, b].iter().any(|&c| c >= bytes) {
                return Err(FrameError::PackedChannels(layout));
            }
        }
        for (i, (plane, format)) in planes.iter().zip(&formats).enumerate() {
            let (w, h) = (width.div_ceil(format.subsampling), height.div_ceil(format.subsampling));
            let row = w * format.channels;
            let needed = plane.stride * (h - 1) + row;
            if plane.stride < row || plane.data.len() < needed {
                return Err(FrameError::ShortPlane {
                    plane: i,
                    width,
                    height,
                    layout,
                    needed,
                    row,
                    got: plane.data.len(),
                    stride: plane.stride,
                });
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

/// Buffers kept from one sampling to the next: the row and plane buffers, which grow to
/// the largest region seen (the small tap tables are rebuilt for each sampling).
#[derive(Debug, Default)]
pub struct Scratch {
    rows: RowBuffers,
    planes: Vec<Vec<f32>>,
    /// A YUV region converted to RGB before a Gaussian filter.
    rgb: yuv::RgbRegion,
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

/// Clamps an RGB value to [0, 255] (as `max` then `min`, which compiles to two vector
/// instructions and, unlike `clamp`, turns NaN into 0).
#[inline(always)]
#[allow(clippy::manual_clamp)]
fn clamp_channel(v: f32) -> f32 {
    v.max(0.0).min(255.0)
}

/// How source pixels become output pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Filter {
    /// Bilinear interpolation up to [`ANTI_ALIAS_ABOVE`] source pixels per output pixel;
    /// above it, the average over each output pixel's footprint.
    BilinearOrArea,
    /// The frame blurred with a Gaussian of standard deviation `sigma` frame pixels (none
    /// at 0), truncated at 4 sigma and repeating the frame's edge pixels beyond it, then
    /// interpolated bilinearly at the `grid`'s positions, black outside the frame: what
    /// scikit-image's `gaussian` (its defaults) followed by OpenCV's `warpAffine`
    /// (`INTER_LINEAR`, constant black border) compute. Both steps are linear and
    /// separable, so each axis gets one set of taps, the Gaussian folded into the bilinear
    /// weights: the blur is evaluated only where the warp reads it, exactly.
    ///
    /// YUV frames are taken as the 8-bit RGB frame that bilinear, centre-sited upsampling
    /// of the chroma (edge repeated), the colour matrix, and clamping and rounding each
    /// channel give; only the part the taps read is converted, in bands of rows.
    GaussianBilinear { sigma: f32, grid: SampleGrid },
}

/// Where a [`Filter::GaussianBilinear`] samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SampleGrid {
    /// At the warp's positions.
    Exact,
    /// Where OpenCV's `warpAffine` samples for the given map (which replaces the warp's
    /// own), on its fixed-point grid of 1/32 pixel.
    OpenCv(OpenCvMap),
}

/// An axis-aligned inverse affine map as OpenCV's `warpAffine` applies it: destination
/// pixel `(u, v)` reads source position `(origin[0] + step[0]·u, origin[1] + step[1]·v)`.
/// OpenCV rounds `step[0]·u` and `origin[0]` (with the row's term) to 1/1024 pixel each,
/// and `step[1]·v + origin[1]` as one, then rounds half up to 1/32 pixel. The warp's
/// columns are destination columns `first_column..`, its rows `0..`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpenCvMap {
    pub origin: [f64; 2],
    pub step: [f64; 2],
    pub first_column: usize,
}

impl OpenCvMap {
    /// OpenCV's sample positions along `x` (`axis` 0) or `y` (1) of `count` outputs.
    pub fn positions(&self, axis: usize, count: usize) -> Vec<f64> {
        // AB_BITS = 10, INTER_BITS = 5; cvRound rounds half to even.
        let fixed = |v: f64| (v * 1024.0).round_ties_even();
        let to_grid = |units: f64| ((units + 16.0) / 32.0).floor() / 32.0;
        let (origin, step) = (self.origin[axis], self.step[axis]);
        (0..count)
            .map(|o| match axis {
                0 => to_grid(fixed(step * (self.first_column + o) as f64) + fixed(origin)),
                _ => to_grid(fixed(step * o as f64 + origin)),
            })
            .collect()
    }
}

impl SampleGrid {
    /// Sample positions along one axis of `warp` (`axis` 0: columns, 1: rows).
    fn positions(&self, warp: &Warp, axis: usize) -> Vec<f64> {
        let (map, count) = if axis == 0 { (warp.x, warp.width) } else { (warp.y, warp.height) };
        match self {
            Self::Exact => (0..count).map(|o| map.origin as f64 + o as f64 * map.step as f64).collect(),
            Self::OpenCv(cv) => cv.positions(axis, count),
        }
    }
}

/// Resamples the region `warp` of `frame` into `out`, a network input tensor in CHW
/// layout: three planes of `warp.width`×`warp.height` values, row-major, red, green then
/// blue, each passed through `transform`. Outside the frame the sampled colour is black,
/// which the transform's border value then replaces. Filters with
/// [`Filter::BilinearOrArea`].
pub fn sample_rgb_planes(
    frame: &FrameView,
    warp: &Warp,
    scratch: &mut Scratch,
    transform: &OutputTransform,
    out: &mut [f32],
) {
    sample_rgb_planes_filtered(frame, warp, &Filter::BilinearOrArea, scratch, transform, out)
}

/// [`sample_rgb_planes`] with the given filter.
pub fn sample_rgb_planes_filtered(
    frame: &FrameView,
    warp: &Warp,
    filter: &Filter,
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
        return unsafe { sample_avx2(frame, warp, filter, scratch, transform, out) };
    }
    sample_body(frame, warp, filter, scratch, transform, out)
}

/// The taps of one axis of a plane subsampled by `subsampling` (1 or 2), for `filter`.
fn axis_taps(filter: &Filter, warp: &Warp, axis: usize, frame_len: usize, subsampling: usize) -> AxisTaps {
    let (map, count) = if axis == 0 { (warp.x, warp.width) } else { (warp.y, warp.height) };
    match filter {
        Filter::BilinearOrArea => AxisTaps::new(map.subsampled(subsampling), count, frame_len.div_ceil(subsampling)),
        Filter::GaussianBilinear { sigma, grid } => {
            assert_eq!(subsampling, 1, "YUV frames are converted to RGB before a Gaussian filter");
            let kernel = taps::gaussian_kernel(*sigma as f64);
            AxisTaps::gaussian_bilinear(&grid.positions(warp, axis), &kernel, frame_len)
        }
    }
}
