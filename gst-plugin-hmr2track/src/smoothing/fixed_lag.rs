//! The fixed-lag smoother's arithmetic: a speed-adaptive kernel and a weighted local linear
//! fit (LOESS of degree 1).
//!
//! With K frames of lag, frame t is estimated from the samples of frames t − K … t + K.
//! Each sample is weighted by `exp(−2π f |Δt|)`, the two-sided counterpart of the One-Euro
//! filter's exponential memory at cutoff f, times a tricube taper over the K frames so that
//! samples enter and leave the window smoothly. A weighted straight line through the
//! samples, evaluated at t, is the estimate: it has no lag for motion of constant speed,
//! even where the window is one-sided (the first frames of a track, the last of a stream).
//! What a straight line cannot follow is a change of speed; for rotations, which swing back
//! and forth with every step, f rises with the joint's speed as in the One-Euro filter
//! (fast joints get a narrow kernel and are not smeared). The camera translation, whose
//! motion is mostly steady, keeps the still-signal cutoff.

use std::f64::consts::TAU;

/// Weight of a sample `dt_abs` seconds and `frames_abs` frames away from the estimated
/// frame, for a kernel at `cutoff` Hz over a half window of `half_window` frames.
pub fn kernel_weight(dt_abs: f64, frames_abs: u64, cutoff: f64, half_window: u32) -> f64 {
    let u = frames_abs as f64 / (f64::from(half_window) + 1.0);
    let taper = (1.0 - u.powi(3)).max(0.0).powi(3);
    let decay = (-TAU * cutoff * dt_abs).exp();
    let w = decay * taper;
    if w.is_finite() {
        w
    } else {
        0.0
    }
}

/// Sums for a weighted least-squares line `y = a + b t` through N-dimensional points.
#[derive(Clone, Debug)]
pub struct LocalLinearFit<const N: usize> {
    s0: f64,
    s1: f64,
    s2: f64,
    t0: [f64; N],
    t1: [f64; N],
}

impl<const N: usize> Default for LocalLinearFit<N> {
    fn default() -> Self {
        Self { s0: 0.0, s1: 0.0, s2: 0.0, t0: [0.0; N], t1: [0.0; N] }
    }
}

impl<const N: usize> LocalLinearFit<N> {
    /// Adds a point at time `t` (relative to the time the fit is evaluated at) with weight
    /// `w`. Points with a non-finite or non-positive weight, time or value are ignored.
    pub fn add(&mut self, t: f64, w: f64, y: [f64; N]) {
        if !(w.is_finite() && w > 0.0 && t.is_finite() && y.iter().all(|v| v.is_finite())) {
            return;
        }
        self.s0 += w;
        self.s1 += w * t;
        self.s2 += w * t * t;
        for ((t0, t1), v) in self.t0.iter_mut().zip(self.t1.iter_mut()).zip(y) {
            *t0 += w * v;
            *t1 += w * t * v;
        }
    }

    /// The weighted mean of the points; `None` without points.
    pub fn mean(&self) -> Option<[f64; N]> {
        (self.s0 > 0.0).then(|| self.t0.map(|v| v / self.s0))
    }

    /// The fitted line at t = 0; the weighted mean when the points' times do not spread
    /// (a single time, or one point); `None` without points.
    pub fn at_zero(&self) -> Option<[f64; N]> {
        let det = self.s0 * self.s2 - self.s1 * self.s1;
        // Relative test: det is a variance of the times times s0².
        if det <= 1e-9 * self.s0 * self.s2 || !det.is_finite() {
            return self.mean();
        }
        let mut out = [0.0; N];
        for (i, v) in out.iter_mut().enumerate() {
            *v = (self.s2 * self.t0[i] - self.s1 * self.t1[i]) / det;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_tapers_to_zero_beyond_the_window() {
        assert_eq!(kernel_weight(0.0, 0, 1.0, 4), 1.0);
        assert!(kernel_weight(0.1, 3, 1.0, 4) > 0.0);
        assert_eq!(kernel_weight(0.2, 5, 1.0, 4), 0.0);
        // A faster signal (higher cutoff) gets a narrower kernel.
        assert!(kernel_weight(0.1, 3, 5.0, 4) < kernel_weight(0.1, 3, 1.0, 4));
        assert_eq!(kernel_weight(f64::INFINITY, 1, 1.0, 4), 0.0);
    }

    #[test]
    fn line_is_recovered_even_one_sided() {
        // y = 2 + 3 t sampled only at t > 0: the fit at 0 gives the intercept, no lag.
        let mut fit = LocalLinearFit::<1>::default();
        for i in 1..6 {
            let t = i as f64 * 0.1;
            fit.add(t, 1.0 / i as f64, [2.0 + 3.0 * t]);
        }
        assert!((fit.at_zero().unwrap()[0] - 2.0).abs() < 1e-9);
        // The mean of the same points lags behind.
        assert!(fit.mean().unwrap()[0] > 2.1);
    }

    #[test]
    fn degenerate_fits_fall_back_to_the_mean() {
        let mut fit = LocalLinearFit::<2>::default();
        assert_eq!(fit.at_zero(), None);
        fit.add(0.3, 1.0, [1.0, 2.0]);
        fit.add(0.3, 3.0, [5.0, 2.0]);
        fit.add(0.1, f64::NAN, [100.0, 100.0]);
        fit.add(0.1, 1.0, [f64::INFINITY, 0.0]);
        assert_eq!(fit.at_zero(), Some([4.0, 2.0]));
    }
}
