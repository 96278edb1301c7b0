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
