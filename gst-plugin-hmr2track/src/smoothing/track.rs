//! One track's smoothing state: the causal One-Euro filters, the recent samples the
//! fixed-lag smoother reads, and the running mean of the shape.

use std::collections::VecDeque;

use hmr2_meta::pose::NUM_BETAS;

use super::fixed_lag::{kernel_weight, LocalLinearFit};
use super::one_euro::{OneEuroParams, RotationFilter, VectorFilter};
use super::pose::{PoseSample, ShapeMean, NUM_ROTATIONS};

/// Longest extrapolation of the camera translation into a gap, in seconds.
pub const MAX_EXTRAPOLATION_S: f64 = 1.0;

/// Turns the rate of change of `ln tz` (1/s) into the speed, in body heights per second, at
/// which the body's ends (head, feet) move in the image as it comes nearer or goes away:
/// the image height scales by `1/tz`, so each end moves by half a height times `d ln tz`.
/// Depth and image position then share one speed unit and one set of parameters.
pub const DEPTH_SPEED_SCALE: f64 = 0.5;

/// How a track's poses are smoothed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmoothingParams {
    /// Filter of the 24 rotations; speeds in rad/s.
    pub rotation: OneEuroParams,
    /// Filter of the camera translation; speeds in body heights per second that the body's
    /// image moves (image position) or grows at its ends (log depth, see
    /// [`DEPTH_SPEED_SCALE`]).
    pub translation: OneEuroParams,
    /// Frames of look-ahead of the fixed-lag smoother; 0 for the causal filter alone.
    pub lag: u32,
}

/// One frame of the track, as estimated and as filtered causally.
#[derive(Clone, Debug)]
struct Sample {
    seq: u64,
    time: f64,
    raw: PoseSample,
    forward: PoseSample,
    rotation_speed: [f64; NUM_ROTATIONS],
    lateral_velocity: [f64; 2],
    depth_velocity: f64,
}

/// A track's smoothing state.
#[derive(Clone, Debug)]
pub struct TrackSmoother {
    rotations: Vec<RotationFilter>,
    lateral: VectorFilter<2>,
    depth: VectorFilter<1>,
    shape: ShapeMean,
    history: VecDeque<Sample>,
}

impl TrackSmoother {
    /// A smoother whose first sample is frame `seq` at `time` seconds.
    pub fn new(seq: u64, time: f64, sample: PoseSample, betas: &[f32; NUM_BETAS]) -> Self {
        let mut shape = ShapeMean::default();
        shape.add(betas);
        let first = Sample {
            seq,
            time,
            forward: sample.clone(),
            rotation_speed: [0.0; NUM_ROTATIONS],
            lateral_velocity: [0.0; 2],
            depth_velocity: 0.0,
            raw: sample,
        };
        Self {
            rotations: first.raw.rotations.iter().map(|q| RotationFilter::new(*q)).collect(),
            lateral: VectorFilter::new(first.raw.lateral),
            depth: VectorFilter::new([first.raw.log_depth]),
            shape,
            history: VecDeque::from([first]),
        }
    }

    /// Adds frame `seq` (after every frame added so far), filtering it causally.
    pub fn push(&mut self, seq: u64, time: f64, raw: PoseSample, betas: &[f32; NUM_BETAS], params: &SmoothingParams) {
        let last = self.history.back().expect("a smoother always holds a sample");
        let dt = time - last.time;
        let mut forward = raw.clone();
        let mut rotation_speed = [0.0; NUM_ROTATIONS];
        for (j, filter) in self.rotations.iter_mut().enumerate() {
            forward.rotations[j] = filter.step(raw.rotations[j], dt, &params.rotation);
            rotation_speed[j] = filter.speed();
        }
        // Image-plane speed in body heights per second.
        let height = raw.apparent_height.max(1e-6);
        forward.lateral = self.lateral.step(raw.lateral, dt, &params.translation, 1.0 / height);
        forward.log_depth = self.depth.step([raw.log_depth], dt, &params.translation, DEPTH_SPEED_SCALE)[0];
        let lateral_velocity = self.lateral.derivative();
        let depth_velocity = self.depth.derivative()[0];
        self.shape.add(betas);
        self.history.push_back(Sample { seq, time, raw, forward, rotation_speed, lateral_velocity, depth_velocity });
    }

    /// Frame number of the newest sample.
    pub fn newest_seq(&self) -> u64 {
        self.history.back().map_or(0, |s| s.seq)
    }

    /// The track's running mean shape.
    pub fn shape(&self) -> Option<[f32; NUM_BETAS]> {
        self.shape.mean()
    }

    /// Drops the samples no estimate of frame `seq` or later can need, keeping the newest
    /// one before it (the origin of predictions into a gap).
    pub fn forget_before(&mut self, seq: u64) {
        while self.history.len() > 1 && self.history[1].seq < seq {
            self.history.pop_front();
        }
    }

    /// The smoothed pose of frame `seq` (at `time` seconds), where the track has a sample:
    /// the causal filter's output, or with a lag the fixed-lag estimate from the samples of
    /// frames `seq − lag ..= seq + lag` held so far.
    pub fn smoothed(&self, seq: u64, time: f64, params: &SmoothingParams) -> Option<PoseSample> {
        let center = self.history.iter().find(|s| s.seq == seq)?;
        if params.lag == 0 {
            return Some(center.forward.clone());
        }
        Some(self.fit_window(seq, time, &center.forward, params))
    }

    /// The pose of frame `seq` (at `time` seconds), where the track was not detected: with a
    /// lag and samples on both sides of it within the window, the fixed-lag estimate (an
    /// interpolation); otherwise the last filtered rotations held and the camera
    /// translation carried on at its filtered velocity. `None` before the track's first
    /// sample.
    pub fn predicted(&self, seq: u64, time: f64, params: &SmoothingParams) -> Option<PoseSample> {
        let before = self.history.iter().rev().find(|s| s.seq < seq)?;
        let lag = u64::from(params.lag);
        let later = self.history.iter().any(|s| s.seq > seq && s.seq - seq <= lag);
        if later {
            return Some(self.fit_window(seq, time, &before.forward, params));
        }
        let dt = (time - before.time).clamp(0.0, MAX_EXTRAPOLATION_S);
        let mut out = before.forward.clone();
        out.lateral[0] += before.lateral_velocity[0] * dt;
        out.lateral[1] += before.lateral_velocity[1] * dt;
        out.log_depth += before.depth_velocity * dt;
        Some(out)
    }

    /// The fixed-lag estimate of frame `seq` from the raw samples around it, with
    /// rotations fitted in the tangent space of `reference`'s.
    fn fit_window(&self, seq: u64, time: f64, reference: &PoseSample, params: &SmoothingParams) -> PoseSample {
        let lag = u64::from(params.lag);
        let window: Vec<&Sample> = self.history.iter().filter(|s| s.seq.abs_diff(seq) <= lag).collect();
        // The speed sets the kernel's width: the fastest the causal filter saw from this
        // frame to the end of the window, so that motion starting there is not smeared.
        let ahead = || window.iter().filter(|s| s.seq >= seq);
        let weight =
            |s: &Sample, cutoff: f64| kernel_weight((s.time - time).abs(), s.seq.abs_diff(seq), cutoff, params.lag);

        let mut out = reference.clone();
        for j in 0..NUM_ROTATIONS {
            let speed = ahead().map(|s| s.rotation_speed[j]).fold(0.0, f64::max);
            let cutoff = params.rotation.cutoff(speed);
            let base = reference.rotations[j];
            let mut fit = LocalLinearFit::<3>::default();
            for s in &window {
                fit.add(s.time - time, weight(s, cutoff), base.tangent_to(s.raw.rotations[j]));
            }
            if let Some(v) = fit.at_zero() {
                out.rotations[j] = base.retract(v);
            }
        }

        // The camera translation's motion is mostly steady (walking), which a straight-line
        // fit follows at any width: no speed term, the still-signal cutoff throughout.
        let cutoff = params.translation.min_cutoff;
        let mut fit = LocalLinearFit::<2>::default();
        for s in &window {
            fit.add(s.time - time, weight(s, cutoff), s.raw.lateral);
        }
        if let Some(v) = fit.at_zero() {
            out.lateral = v;
        }

        let mut fit = LocalLinearFit::<1>::default();
        for s in &window {
            fit.add(s.time - time, weight(s, cutoff), [s.raw.log_depth]);
        }
        if let Some([v]) = fit.at_zero() {
            out.log_depth = v;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smoothing::so3::tests::rotation_defect;
    use crate::smoothing::so3::Quat;

    const DT: f64 = 1.0 / 30.0;

    fn params(lag: u32) -> SmoothingParams {
        let p = OneEuroParams { min_cutoff: 1.0, beta: 0.5, derivative_cutoff: 1.0 };
        SmoothingParams { rotation: p, translation: p, lag }
    }

    /// Deterministic noise in [-1, 1).
    fn noise(i: u64) -> f64 {
        let h = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((h >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    /// A sample turning about y at 1 rad/s and drifting right, with optional noise.
    fn sample(i: u64, noisy: bool) -> PoseSample {
        let n = if noisy { 0.05 } else { 0.0 };
        let angle = i as f64 * DT + n * noise(i);
        PoseSample {
            rotations: [Quat::exp([0.0, angle, n * noise(i + 1000)]); NUM_ROTATIONS],
            lateral: [0.01 * i as f64 + 0.01 * n * noise(i + 2000), 0.0],
            log_depth: 3.0 + n * noise(i + 3000),
            apparent_height: 0.2,
        }
    }

    fn run(lag: u32, noisy: bool, frames: u64) -> TrackSmoother {
        let mut s = TrackSmoother::new(0, 0.0, sample(0, noisy), &[0.0; NUM_BETAS]);
        for i in 1..frames {
            s.push(i, i as f64 * DT, sample(i, noisy), &[0.0; NUM_BETAS], &params(lag));
        }
        s
    }

    fn angle_error(s: &PoseSample, i: u64) -> f64 {
        s.rotations[0].angle_to(sample(i, false).rotations[0])
    }

    #[test]
    fn fixed_lag_has_no_lag_on_a_steady_turn() {
        let s = run(8, false, 60);
        let causal = s.smoothed(40, 40.0 * DT, &params(0)).unwrap();
        let lagged = s.smoothed(40, 40.0 * DT, &params(8)).unwrap();
        assert!(angle_error(&causal, 40) > 0.02, "{}", angle_error(&causal, 40));
        assert!(angle_error(&lagged, 40) < 1e-6, "{}", angle_error(&lagged, 40));
        assert!((lagged.lateral[0] - 0.4).abs() < 1e-9);
    }

    #[test]
    fn fixed_lag_reduces_noise_more_than_it_costs() {
        let s = run(8, true, 120);
        let (mut raw, mut smoothed) = (0.0, 0.0);
        for i in 20..100 {
            raw += sample(i, true).rotations[0].angle_to(sample(i, false).rotations[0]);
            smoothed += angle_error(&s.smoothed(i, i as f64 * DT, &params(8)).unwrap(), i);
        }
        assert!(smoothed < 0.6 * raw, "error {smoothed} vs raw {raw}");
    }

    #[test]
    fn gaps_are_interpolated_with_a_lag_and_extrapolated_without() {
        let mut s = TrackSmoother::new(0, 0.0, sample(0, false), &[1.0; NUM_BETAS]);
        for i in (1..30).filter(|i| !(10..13).contains(i)) {
            s.push(i, i as f64 * DT, sample(i, false), &[1.0; NUM_BETAS], &params(8));
        }
        let inside = s.predicted(11, 11.0 * DT, &params(8)).unwrap();
        assert!(angle_error(&inside, 11) < 1e-6, "{}", angle_error(&inside, 11));
        assert!((inside.lateral[0] - 0.11).abs() < 1e-9);
        // Causal: the last filtered rotation held, the translation carried on.
        let held = s.predicted(11, 11.0 * DT, &params(0)).unwrap();
        let last = s.predicted(10, 9.0 * DT, &params(0)).unwrap();
        assert_eq!(held.rotations, last.rotations);
        assert!(held.lateral[0] > last.lateral[0] + 0.01 && held.lateral[0] < 0.11, "{:?}", held.lateral);
        assert_eq!(s.predicted(0, 0.0, &params(0)), None);
        assert_eq!(s.shape(), Some([1.0; NUM_BETAS]));
    }

    #[test]
    fn forgetting_keeps_the_origin_of_predictions() {
        let mut s = run(0, false, 10);
        s.forget_before(100);
        assert_eq!(s.newest_seq(), 9);
        assert!(s.predicted(12, 12.0 * DT, &params(0)).is_some());
        assert!(s.smoothed(5, 5.0 * DT, &params(0)).is_none());
    }

    #[test]
    fn outputs_stay_rotations_through_flips() {
        let mut s = TrackSmoother::new(0, 0.0, sample(0, false), &[0.0; NUM_BETAS]);
        for i in 1..50u64 {
            let mut x = sample(i, true);
            if i % 3 == 0 {
                x.rotations = [Quat::exp([std::f64::consts::PI, 0.0, 0.0]); NUM_ROTATIONS];
            }
            s.push(i, i as f64 * DT, x, &[0.0; NUM_BETAS], &params(4));
        }
        for i in 0..50u64 {
            for lag in [0, 4] {
                let out = s.smoothed(i, i as f64 * DT, &params(lag)).unwrap();
                for q in out.rotations {
                    assert!(rotation_defect(&q.to_matrix()) < 1e-5);
                }
            }
        }
    }
}
