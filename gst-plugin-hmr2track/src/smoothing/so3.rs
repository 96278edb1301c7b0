//! Rotations as unit quaternions, with the exponential and logarithm maps the smoothers
//! work through.
//!
//! A rotation is smoothed in the tangent space of a reference rotation R₀: a rotation R
//! becomes the rotation vector `log(R₀ᵀ R)` (axis × angle, body frame of R₀), which can be
//! averaged and scaled like any vector, and comes back as `R₀ exp(v)`. Every rotation made
//! here is a unit quaternion, so whatever goes in, what comes out as a matrix is
//! orthonormal with determinant +1 (to rounding).
//!
//! Computations use `f64`: near 180° the logarithm loses precision fast in `f32`.

use hmr2_meta::math::{determinant, Mat3};

/// Angles below this (radians) use the series forms of exp and log.
const SMALL_ANGLE: f64 = 1e-9;

/// A rotation as a unit quaternion `w + x i + y j + z k`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quat {
    pub w: f64,
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

impl Quat {
    pub const IDENTITY: Quat = Quat { w: 1.0, x: 0.0, y: 0.0, z: 0.0 };

    /// The rotation of a matrix that should be one (row-major, acting on column vectors),
    /// by Shepperd's method and normalisation: exact for rotations, a close rotation for
    /// slightly non-orthonormal ones. `None` when the matrix holds a non-finite value or
    /// is no rotation at all: a determinant that is not positive (a reflection, a
    /// collapsed matrix).
    pub fn from_matrix(m: &Mat3) -> Option<Quat> {
        let det = f64::from(determinant(m));
        if m.iter().flatten().any(|v| !v.is_finite()) || !det.is_finite() || det <= 1e-6 {
            return None;
        }
        // Undo a uniform scale first: Shepperd's formulas assume a unit determinant.
        let unit = det.cbrt();
        let m = m.map(|row| row.map(|v| f64::from(v) / unit));
        let trace = m[0][0] + m[1][1] + m[2][2];
        // Take the square root of the largest of the four candidates, for accuracy.
        let candidates = [trace, m[0][0] - m[1][1] - m[2][2], m[1][1] - m[0][0] - m[2][2], m[2][2] - m[0][0] - m[1][1]];
        let (largest, value) =
            candidates.iter().copied().enumerate().fold(
                (0, f64::NEG_INFINITY),
                |best, (i, v)| {
                    if v > best.1 {
                        (i, v)
                    } else {
                        best
                    }
                },
            );
        let root = (1.0 + value).max(0.0).sqrt() * 2.0;
        if root < 1e-12 {
            return None;
        }
        let q = match largest {
            0 => Quat {
                w: 0.25 * root,
                x: (m[2][1] - m[1][2]) / root,
                y: (m[0][2] - m[2][0]) / root,
                z: (m[1][0] - m[0][1]) / root,
            },
            1 => Quat {
                w: (m[2][1] - m[1][2]) / root,
                x: 0.25 * root,
                y: (m[0][1] + m[1][0]) / root,
                z: (m[0][2] + m[2][0]) / root,
            },
            2 => Quat {
                w: (m[0][2] - m[2][0]) / root,
                x: (m[0][1] + m[1][0]) / root,
                y: 0.25 * root,
                z: (m[1][2] + m[2][1]) / root,
            },
            _ => Quat {
                w: (m[1][0] - m[0][1]) / root,
                x: (m[0][2] + m[2][0]) / root,
                y: (m[1][2] + m[2][1]) / root,
                z: 0.25 * root,
            },
        };
        q.normalized()
    }

    /// The rotation matrix (row-major, acting on column vectors).
    pub fn to_matrix(self) -> Mat3 {
        let Quat { w, x, y, z } = self.normalized().unwrap_or(Quat::IDENTITY);
        let m = [
            [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
            [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
            [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
        ];
        m.map(|row| row.map(|v| v as f32))
    }

    /// This quaternion scaled to unit length; `None` when its length is zero or not finite.
    pub fn normalized(self) -> Option<Quat> {
        let n = (self.w * self.w + self.x * self.x + self.y * self.y + self.z * self.z).sqrt();
        (n.is_finite() && n > 1e-12).then(|| Quat { w: self.w / n, x: self.x / n, y: self.y / n, z: self.z / n })
    }

    /// The inverse rotation.
    pub fn conjugate(self) -> Quat {
        Quat { w: self.w, x: -self.x, y: -self.y, z: -self.z }
    }

    /// The rotation vector (axis × angle, angle in [0, π]) of this rotation.
    pub fn log(self) -> [f64; 3] {
        // q and −q are the same rotation: take the one with w ≥ 0 for the shorter angle.
        let q = if self.w < 0.0 { Quat { w: -self.w, x: -self.x, y: -self.y, z: -self.z } } else { self };
        let s = (q.x * q.x + q.y * q.y + q.z * q.z).sqrt();
        let angle = 2.0 * s.atan2(q.w);
        let scale = if s < SMALL_ANGLE {
            // angle / s → 2 / w as s → 0.
            2.0 / q.w.max(SMALL_ANGLE)
        } else {
            angle / s
        };
        [q.x * scale, q.y * scale, q.z * scale]
    }

    /// The rotation of a rotation vector (axis × angle).
    pub fn exp(v: [f64; 3]) -> Quat {
        let angle = norm(v);
        if !angle.is_finite() {
            return Quat::IDENTITY;
        }
        let half = 0.5 * angle;
        let scale = if angle < SMALL_ANGLE { 0.5 } else { half.sin() / angle };
        Quat { w: half.cos(), x: v[0] * scale, y: v[1] * scale, z: v[2] * scale }.normalized().unwrap_or(Quat::IDENTITY)
    }

    /// The rotation vector taking `self` to `other` in `self`'s frame: `log(selfᵀ other)`.
    pub fn tangent_to(self, other: Quat) -> [f64; 3] {
        (self.conjugate() * other).log()
    }

    /// `self exp(v)`: the rotation reached from `self` along the tangent vector `v`.
    pub fn retract(self, v: [f64; 3]) -> Quat {
        (self * Quat::exp(v)).normalized().unwrap_or(self)
    }

    /// The angle in radians, in [0, π], of the rotation between `self` and `other`.
    pub fn angle_to(self, other: Quat) -> f64 {
        let d = self.conjugate() * other;
        let s = (d.x * d.x + d.y * d.y + d.z * d.z).sqrt();
        2.0 * s.atan2(d.w.abs())
    }

    /// The rotation a fraction `t` of the way from `self` to `other` along the shorter arc.
    pub fn slerp(self, other: Quat, t: f64) -> Quat {
        self.retract(scale(self.tangent_to(other), t))
    }
}

/// The composition `self ∘ o` (apply `o` first), as the product of the matrices.
impl std::ops::Mul for Quat {
    type Output = Quat;

    fn mul(self, o: Quat) -> Quat {
        Quat {
            w: self.w * o.w - self.x * o.x - self.y * o.y - self.z * o.z,
            x: self.w * o.x + self.x * o.w + self.y * o.z - self.z * o.y,
            y: self.w * o.y - self.x * o.z + self.y * o.w + self.z * o.x,
            z: self.w * o.z + self.x * o.y - self.y * o.x + self.z * o.w,
        }
    }
}

/// Euclidean length of a 3-vector.
pub fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// `s v`.
pub fn scale(v: [f64; 3], s: f64) -> [f64; 3] {
    [v[0] * s, v[1] * s, v[2] * s]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use hmr2_meta::math::IDENTITY;
    use std::f64::consts::PI;

    /// Largest deviation of `m mᵀ` from the identity and of det(m) from 1.
    pub(crate) fn rotation_defect(m: &Mat3) -> f32 {
        let mut worst = (determinant(m) - 1.0).abs();
        for r in 0..3 {
            for c in 0..3 {
                let dot: f32 = (0..3).map(|k| m[r][k] * m[c][k]).sum();
                worst = worst.max((dot - if r == c { 1.0 } else { 0.0 }).abs());
            }
        }
        if worst.is_nan() {
            f32::INFINITY
        } else {
            worst
        }
    }

    fn axis_angle_matrix(axis: [f64; 3], angle: f64) -> Mat3 {
        Quat::exp(scale(axis, angle / norm(axis))).to_matrix()
    }

    fn close(a: [f64; 3], b: [f64; 3], tol: f64) -> bool {
        (0..3).all(|i| (a[i] - b[i]).abs() <= tol)
    }

    #[test]
    fn matrix_round_trip_and_known_rotation() {
        // 90° about z takes x to y: the first column of R is (0, 1, 0).
        let m = axis_angle_matrix([0.0, 0.0, 1.0], PI / 2.0);
        assert!((m[1][0] - 1.0).abs() < 1e-6 && m[0][0].abs() < 1e-6, "{m:?}");
        for (axis, angle) in [([1.0, 2.0, 3.0], 0.3), ([0.0, 1.0, 0.0], PI), ([1.0, 0.0, 0.0], PI - 1e-7)] {
            let m = axis_angle_matrix(axis, angle);
            let back = Quat::from_matrix(&m).unwrap().to_matrix();
            for r in 0..3 {
                for c in 0..3 {
                    assert!((m[r][c] - back[r][c]).abs() < 1e-6, "{m:?} vs {back:?}");
                }
            }
        }
    }

    #[test]
    fn log_and_exp_are_inverse() {
        for v in [[0.0, 0.0, 0.0], [1e-12, 0.0, 0.0], [0.3, -0.2, 0.1], [0.0, 3.0, 0.0], [0.0, 0.0, PI]] {
            let back = Quat::exp(v).log();
            assert!(close(back, v, 1e-9), "{v:?} -> {back:?}");
        }
        // Beyond π the logarithm returns the equivalent shorter rotation.
        let back = Quat::exp([0.0, 0.0, 1.5 * PI]).log();
        assert!(close(back, [0.0, 0.0, -0.5 * PI], 1e-9), "{back:?}");
    }

    #[test]
    fn tangent_and_retract_agree_with_matrices() {
        let a = Quat::from_matrix(&axis_angle_matrix([1.0, 1.0, 0.0], 0.7)).unwrap();
        let b = Quat::from_matrix(&axis_angle_matrix([0.0, 1.0, 2.0], -1.1)).unwrap();
        let v = a.tangent_to(b);
        let reached = a.retract(v);
        assert!(reached.angle_to(b) < 1e-9);
        assert!((a.angle_to(b) - norm(v)).abs() < 1e-9);
        let half = a.slerp(b, 0.5);
        assert!((a.angle_to(half) - half.angle_to(b)).abs() < 1e-9);
    }

    #[test]
    fn degenerate_matrices_are_rejected_or_projected() {
        let mut nan = IDENTITY;
        nan[1][2] = f32::NAN;
        assert_eq!(Quat::from_matrix(&nan), None);
        assert_eq!(Quat::from_matrix(&[[0.0; 3]; 3]), None);
        let mut scaled = axis_angle_matrix([0.0, 1.0, 0.0], 0.4);
        for row in scaled.iter_mut() {
            for v in row.iter_mut() {
                *v *= 3.0;
            }
        }
        let q = Quat::from_matrix(&scaled).unwrap();
        assert!((q.log()[1] - 0.4).abs() < 1e-6, "{:?}", q.log());
        let reflection = [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        assert_eq!(Quat::from_matrix(&reflection), None);
    }
}
