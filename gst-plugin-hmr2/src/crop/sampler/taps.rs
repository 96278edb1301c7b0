//! Filter taps of one axis: which source pixels each output pixel reads, and with what
//! weights.

use std::ops::Range;

use super::{AxisMap, ANTI_ALIAS_ABOVE};

/// Filter taps of one axis: for output `o`, source pixels `start[o]..start[o] + len[o]`
/// weighted by `weights[offset[o]..]`; `coverage[o]` is the sum of those weights (1 when
/// the whole footprint lies inside the source). `uniform[o]` is the run of taps (first,
/// count) that area averaging gives the same weight, so they can be summed first and
/// weighted once.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct AxisTaps {
    pub(super) start: Vec<usize>,
    pub(super) len: Vec<usize>,
    pub(super) offset: Vec<usize>,
    pub(super) weights: Vec<f32>,
    pub(super) coverage: Vec<f32>,
    pub(super) uniform: Vec<(usize, usize)>,
}

impl AxisTaps {
    #[inline(always)]
    pub(super) fn new(map: AxisMap, out_len: usize, src_len: usize) -> Self {
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

    /// Bilinear taps at `positions` over a line of `len` pixels (black beyond it) with a
    /// blur folded in: the line is first convolved with the odd-length `kernel` centred on
    /// each pixel, repeating the edge pixels beyond the line. Coverage is the bilinear
    /// weight inside the line (the kernel sums to 1).
    pub(super) fn gaussian_bilinear(positions: &[f64], kernel: &[f64], len: usize) -> Self {
        let mut taps = Self::default();
        let (n, radius) = (len as i64, (kernel.len() / 2) as i64);
        let mut acc = Vec::new();
        for &x in positions {
            let i0 = x.floor();
            let f = x - i0;
            let i0 = i0 as i64;
            let (lo, hi) = ((i0 - radius).max(0), (i0 + 1 + radius).min(n - 1));
            acc.clear();
            acc.resize((hi - lo + 1).max(0) as usize, 0.0);
            let mut coverage = 0.0;
            for (j, b) in [(i0, 1.0 - f), (i0 + 1, f)] {
                if !(0..n).contains(&j) || b <= 0.0 {
                    continue;
                }
                coverage += b;
                for (a, g) in kernel.iter().enumerate() {
                    acc[((j + a as i64 - radius).clamp(0, n - 1) - lo) as usize] += b * g;
                }
            }
            // Both taps inside: exactly 1, whatever the rounding of (1 − f) + f.
            let coverage = if (0..n - 1).contains(&i0) { 1.0 } else { coverage as f32 };
            taps.push_run(lo as usize, &acc, coverage);
        }
        taps
    }

    /// The same taps over a line that starts `by` pixels later (every tap reads at or
    /// after `by`).
    pub(super) fn shift_back(&mut self, by: usize) {
        for (start, &len) in self.start.iter_mut().zip(&self.len) {
            if len > 0 {
                *start -= by;
            }
        }
    }

    /// The taps of `outputs` only.
    pub(super) fn outputs(&self, outputs: Range<usize>) -> Self {
        Self {
            start: self.start[outputs.clone()].to_vec(),
            len: self.len[outputs.clone()].to_vec(),
            offset: self.offset[outputs.clone()].to_vec(),
            weights: self.weights.clone(),
            coverage: self.coverage[outputs.clone()].to_vec(),
            uniform: self.uniform[outputs].to_vec(),
        }
    }

    /// A band of outputs from `first` on whose taps read at most `max_pixels` source
    /// pixels together (or one output, if its own taps read more), and the pixels they
    /// read (empty when none). Taps must move forward with the outputs.
    pub(super) fn band(&self, first: usize, max_pixels: usize) -> (Range<usize>, Range<usize>) {
        let (mut lo, mut hi) = (usize::MAX, 0);
        let mut end = first;
        while end < self.start.len() {
            let (s, n) = (self.start[end], self.len[end]);
            if n > 0 {
                let (new_lo, new_hi) = (lo.min(s), hi.max(s + n));
                if end > first && new_hi - new_lo > max_pixels {
                    break;
                }
                (lo, hi) = (new_lo, new_hi);
            }
            end += 1;
        }
        (first..end, if lo < hi { lo..hi } else { 0..0 })
    }

    /// Appends one output's taps: `weights` on the pixels from `first` on, leading and
    /// trailing zeros dropped.
    fn push_run(&mut self, first: usize, weights: &[f64], coverage: f32) {
        let lead = weights.iter().take_while(|&&w| w == 0.0).count();
        let trail = weights[lead..].iter().rev().take_while(|&&w| w == 0.0).count();
        let kept = &weights[lead..weights.len() - trail];
        self.offset.push(self.weights.len());
        self.start.push(if kept.is_empty() { 0 } else { first + lead });
        self.len.push(kept.len());
        self.weights.extend(kept.iter().map(|&w| w as f32));
        self.coverage.push(if kept.is_empty() { 0.0 } else { coverage });
        self.uniform.push((0, 0));
    }

    /// The source pixels any output reads, as `start..end` (empty when none).
    pub(super) fn span(&self) -> Range<usize> {
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
    pub(super) fn dense(&self, span: &Range<usize>) -> DenseTaps {
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
pub(super) struct DenseTaps {
    pub(super) count: usize,
    pub(super) start: Vec<usize>,
    pub(super) by_output: Vec<f32>,
}

/// scikit-image's (SciPy's) Gaussian kernel of standard deviation `sigma`: radius
/// `⌊4 sigma + 0.5⌋`, weights `exp(−x² / 2 sigma²)` normalised to sum 1; `[1]` for no blur.
pub(super) fn gaussian_kernel(sigma: f64) -> Vec<f64> {
    if sigma <= 0.0 {
        return vec![1.0];
    }
    let radius = (4.0 * sigma + 0.5) as i64;
    let mut kernel: Vec<f64> = (-radius..=radius).map(|x| (-0.5 * (x * x) as f64 / (sigma * sigma)).exp()).collect();
    let sum: f64 = kernel.iter().sum();
    kernel.iter_mut().for_each(|w| *w /= sum);
    kernel
}
