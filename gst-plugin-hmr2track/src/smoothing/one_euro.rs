//! The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012): an exponential low-pass
//! filter whose cutoff frequency rises with the signal's speed, so that a still signal is
//! smoothed hard and a fast one follows with little lag.
//!
//! Per step of `dt` seconds, with `x₋` the previous sample and `x̂` the previous output: the
//! derivative `(x − x₋) / dt` is low-passed at a fixed cutoff into `ẋ̂`; the cutoff for the
//! value is `min_cutoff + beta × |ẋ̂|`; the output moves from `x̂` towards `x` by the
//! smoothing factor `α = r / (r + 1)`, `r = 2π cutoff dt`.
//!
//! [`VectorFilter`] filters a vector with one speed for all of it (its norm, optionally
//! rescaled); [`RotationFilter`] filters a rotation on SO(3): the velocity comes from
//! `log(R₋ᵀ R) / dt`, the difference to the previous output is the rotation vector
//! `log(R̂ᵀ R)`, and the output moves along it by `α`.

use std::f64::consts::TAU;

use super::so3::{norm, scale, Quat};

/// The filter's three parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneEuroParams {
    /// Cutoff frequency (Hz) of a still signal: lower smooths more.
    pub min_cutoff: f64,
    /// Cutoff added per unit of speed (Hz per unit/s): higher lags less when moving.
    pub beta: f64,
    /// Cutoff frequency (Hz) of the derivative's own low-pass filter.
    pub derivative_cutoff: f64,
}

impl OneEuroParams {
    /// The cutoff frequency for a signal moving at `speed`.
    pub fn cutoff(&self, speed: f64) -> f64 {
        let cutoff = self.min_cutoff + self.beta * speed;
        if cutoff.is_finite() {
            cutoff.max(0.0)
        } else {
            f64::MAX
        }
    }
}

/// The exponential smoothing factor for a step of `dt` seconds at `cutoff` Hz, in [0, 1].
pub fn smoothing_factor(dt: f64, cutoff: f64) -> f64 {
    let r = TAU * cutoff * dt;
    if r.is_finite() && r > 0.0 {
        r / (r + 1.0)
    } else if r > 0.0 {
        1.0
    } else {
        0.0
    }
}

fn valid_dt(dt: f64) -> bool {
    dt.is_finite() && dt > 0.0
}

/// One-Euro filter of an N-vector.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorFilter<const N: usize> {
    value: [f64; N],
    previous: [f64; N],
    derivative: [f64; N],
}

impl<const N: usize> VectorFilter<N> {
    /// A filter whose output starts at `x`, at rest.
    pub fn new(x: [f64; N]) -> Self {
        Self { value: x, previous: x, derivative: [0.0; N] }
    }

    /// The current output.
    pub fn value(&self) -> [f64; N] {
        self.value
    }

    /// The current derivative estimate (units per second).
    pub fn derivative(&self) -> [f64; N] {
        self.derivative
    }

    /// Filters the next sample, `dt` seconds after the previous one. The speed that raises
    /// the cutoff is the derivative's norm times `speed_scale` (to express it in the units
    /// `beta` is given for). A non-finite sample or step leaves the filter as it was.
    pub fn step(&mut self, x: [f64; N], dt: f64, params: &OneEuroParams, speed_scale: f64) -> [f64; N] {
        if !valid_dt(dt) || x.iter().any(|v| !v.is_finite()) {
            return self.value;
        }
        let a_d = smoothing_factor(dt, params.derivative_cutoff);
        for ((d, x), previous) in self.derivative.iter_mut().zip(x).zip(self.previous) {
            *d += a_d * ((x - previous) / dt - *d);
        }
        self.previous = x;
        let speed = self.derivative.iter().map(|d| d * d).sum::<f64>().sqrt() * speed_scale;
        let a = smoothing_factor(dt, params.cutoff(speed));
        for (value, x) in self.value.iter_mut().zip(x) {
            *value += a * (x - *value);
        }
        self.value
    }
}

/// One-Euro filter of a rotation, in the tangent space of its previous output.
#[derive(Clone, Debug, PartialEq)]
pub struct RotationFilter {
    value: Quat,
    previous: Quat,
    /// Angular velocity estimate (rad/s), body frame of the output.
    velocity: [f64; 3],
}

impl RotationFilter {
    /// A filter whose output starts at `q`, at rest.
    pub fn new(q: Quat) -> Self {
        Self { value: q, previous: q, velocity: [0.0; 3] }
    }

    /// The current output.
    pub fn value(&self) -> Quat {
        self.value
    }

    /// The current angular speed estimate (rad/s).
    pub fn speed(&self) -> f64 {
        norm(self.velocity)
    }

    /// Filters the next rotation, `dt` seconds after the previous one. A non-finite step
    /// leaves the filter as it was. Tangent vectors of successive outputs are treated as
    /// one space; the outputs move little from one frame to the next, where that holds.
    pub fn step(&mut self, q: Quat, dt: f64, params: &OneEuroParams) -> Quat {
        if !valid_dt(dt) {
            return self.value;
        }
        let delta = self.value.tangent_to(q);
        let motion = self.previous.tangent_to(q);
        if delta.iter().chain(&motion).any(|v| !v.is_finite()) {
            return self.value;
        }
        let a_d = smoothing_factor(dt, params.derivative_cutoff);
        for (v, m) in self.velocity.iter_mut().zip(motion) {
            *v += a_d * (m / dt - *v);
        }
        self.previous = q;
        let a = smoothing_factor(dt, params.cutoff(self.speed()));
        self.value = self.value.retract(scale(delta, a));
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smoothing::so3::tests::rotation_defect;
    use std::f64::consts::PI;

    const PARAMS: OneEuroParams = OneEuroParams { min_cutoff: 1.0, beta: 0.5, derivative_cutoff: 1.0 };
    const DT: f64 = 1.0 / 30.0;

    /// Deterministic noise in [-1, 1).
    fn noise(i: usize) -> f64 {
        let h = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((h >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    #[test]
    fn smoothing_factor_limits() {
        assert_eq!(smoothing_factor(0.0, 1.0), 0.0);
        assert!((smoothing_factor(1.0, 1.0 / TAU) - 0.5).abs() < 1e-12);
        assert_eq!(smoothing_factor(1.0, f64::INFINITY), 1.0);
        assert_eq!(PARAMS.cutoff(f64::NAN), f64::MAX);
    }

    #[test]
    fn still_signal_noise_is_reduced() {
        let mut f = VectorFilter::new([0.0]);
        let (mut raw, mut out) = (0.0, 0.0);
        for i in 0..300 {
            let x = 0.01 * noise(i);
            let y = f.step([x], DT, &PARAMS, 1.0)[0];
            if i >= 30 {
                raw += x * x;
                out += y * y;
            }
        }
        assert!(out < 0.2 * raw, "output power {out} vs input {raw}");
    }

    #[test]
    fn speed_raises_the_cutoff_and_cuts_lag() {
        // A ramp at 1 unit/s: with beta = 0 the output trails by about 1 / (2π min_cutoff)
        // seconds; with a large beta it follows closely.
        let lag_with = |beta: f64| {
            let params = OneEuroParams { beta, ..PARAMS };
            let mut f = VectorFilter::new([0.0]);
            let mut y = 0.0;
            for i in 1..=120 {
                y = f.step([i as f64 * DT], DT, &params, 1.0)[0];
            }
            120.0 * DT - y
        };
        let (slow, fast) = (lag_with(0.0), lag_with(10.0));
        assert!((slow - 1.0 / TAU).abs() < 0.05, "lag {slow}");
        assert!(fast < 0.25 * slow, "lag {fast} vs {slow}");
    }

    #[test]
    fn bad_steps_leave_the_filter_unchanged() {
        let mut f = VectorFilter::new([1.0, 2.0]);
        f.step([f64::NAN, 0.0], DT, &PARAMS, 1.0);
        f.step([5.0, 5.0], 0.0, &PARAMS, 1.0);
        f.step([5.0, 5.0], f64::NAN, &PARAMS, 1.0);
        assert_eq!(f.value(), [1.0, 2.0]);
        let mut r = RotationFilter::new(Quat::IDENTITY);
        r.step(Quat::exp([0.0, 1.0, 0.0]), -DT, &PARAMS);
        assert_eq!(r.value(), Quat::IDENTITY);
    }

    #[test]
    fn rotation_filter_follows_a_steady_turn() {
        // 1 rad/s about y for 4 s: the output trails the input by a bounded angle.
        let mut f = RotationFilter::new(Quat::IDENTITY);
        let mut lag = 0.0;
        for i in 1..=120 {
            let q = Quat::exp([0.0, i as f64 * DT, 0.0]);
            lag = f.step(q, DT, &PARAMS).angle_to(q);
        }
        assert!(lag > 0.0 && lag < 1.0 / TAU, "lag {lag} rad");
        assert!((f.speed() - 1.0).abs() < 0.1, "speed {}", f.speed());
    }

    #[test]
    fn rotation_outputs_are_rotations_for_any_input() {
        // Noise, 180° flips back and forth, a rotation by exactly π, huge steps and tiny ones.
        let mut f = RotationFilter::new(Quat::IDENTITY);
        for i in 0..400 {
            let q = match i % 7 {
                0 => Quat::exp([PI, 0.0, 0.0]),
                1 => Quat::exp([0.0, 0.0, PI * noise(i)]),
                2 => Quat::exp([0.0, PI - 1e-9, 0.0]),
                3 => Quat { w: -1.0, x: 0.0, y: 0.0, z: 0.0 },
                4 => Quat::exp([noise(i) * 10.0, noise(i + 1) * 10.0, 1e-13]),
                _ => Quat::exp([0.3 * noise(i), 0.1, -0.2]),
            };
            let dt = if i % 11 == 0 {
                1e-9
            } else if i % 13 == 0 {
                10.0
            } else {
                DT
            };
            let out = f.step(q, dt, &PARAMS).to_matrix();
            assert!(rotation_defect(&out) < 1e-5, "step {i}: {out:?}");
        }
    }
}
