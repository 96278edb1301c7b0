//! Small 3-vector and 3×3 rotation algebra for the fit, in f64.
//!
//! The fit works in f64 so that any finite f32 input (even near `f32::MAX`) can be squared
//! without overflow, and converts to the project's f32 row-major [`super::Mat3`] only at the
//! end. Matrices are row-major and act on column vectors: `v' = R v`.

use super::Mat3;

pub type Vec3 = [f64; 3];
pub type Mat3d = [[f64; 3]; 3];

pub const IDENTITY: Mat3d = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// Vectors shorter than this (metres) have no usable direction.
pub const MIN_LENGTH: f64 = 1e-6;

pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn scale(a: Vec3, s: f64) -> Vec3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

pub fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

pub fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

pub fn midpoint(a: Vec3, b: Vec3) -> Vec3 {
    scale(add(a, b), 0.5)
}

pub fn is_finite_vec(a: Vec3) -> bool {
    a.iter().all(|c| c.is_finite())
}

/// The unit vector along `a`, or `None` when it is too short or not finite.
pub fn normalized(a: Vec3) -> Option<Vec3> {
    let n = norm(a);
    (n.is_finite() && n > MIN_LENGTH).then(|| scale(a, 1.0 / n))
}

pub fn mul(a: &Mat3d, b: &Mat3d) -> Mat3d {
    let mut out = [[0.0; 3]; 3];
    for (r, row) in out.iter_mut().enumerate() {
        for (c, value) in row.iter_mut().enumerate() {
            *value = a[r][0] * b[0][c] + a[r][1] * b[1][c] + a[r][2] * b[2][c];
        }
    }
    out
}

pub fn apply(m: &Mat3d, v: Vec3) -> Vec3 {
    [dot(m[0], v), dot(m[1], v), dot(m[2], v)]
}

pub fn transpose(m: &Mat3d) -> Mat3d {
    [[m[0][0], m[1][0], m[2][0]], [m[0][1], m[1][1], m[2][1]], [m[0][2], m[1][2], m[2][2]]]
}

/// `a^T b`: `b` expressed in the frame `a` (the relative rotation of a child frame `b`
/// under its parent frame `a`).
pub fn relative(a: &Mat3d, b: &Mat3d) -> Mat3d {
    mul(&transpose(a), b)
}

pub fn determinant(m: &Mat3d) -> f64 {
    dot(m[0], cross(m[1], m[2]))
}

pub fn to_f64(m: &Mat3) -> Mat3d {
    m.map(|row| row.map(f64::from))
}

pub fn vec_to_f64(v: [f32; 3]) -> Vec3 {
    v.map(f64::from)
}

/// Rotation by `angle` radians about the unit vector `axis` (right-handed).
pub fn axis_angle(axis: Vec3, angle: f64) -> Mat3d {
    let (s, c) = angle.sin_cos();
    let t = 1.0 - c;
    let [x, y, z] = axis;
    [
        [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
        [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
        [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
    ]
}

/// Rotation for the rotation vector `w` (axis times angle).
pub fn exp(w: Vec3) -> Mat3d {
    let angle = norm(w);
    if !angle.is_finite() {
        return IDENTITY;
    }
    if angle < 1e-12 {
        // First order; exact enough below 1e-12 rad.
        return [[1.0, -w[2], w[1]], [w[2], 1.0, -w[0]], [-w[1], w[0], 1.0]];
    }
    axis_angle(scale(w, 1.0 / angle), angle)
}

/// Unit quaternion (w, x, y, z) of a rotation matrix (Shepperd's method), sign chosen with
/// w ≥ 0. Also gives the nearest rotation's quaternion for slightly non-orthonormal input.
pub fn quaternion(m: &Mat3d) -> [f64; 4] {
    let trace = m[0][0] + m[1][1] + m[2][2];
    let q = if trace > m[0][0].max(m[1][1]).max(m[2][2]) {
        let s = (1.0 + trace).max(0.0).sqrt() * 2.0;
        [0.25 * s, (m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s]
    } else if m[0][0] >= m[1][1] && m[0][0] >= m[2][2] {
        let s = (1.0 + m[0][0] - m[1][1] - m[2][2]).max(0.0).sqrt() * 2.0;
        [(m[2][1] - m[1][2]) / s, 0.25 * s, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s]
    } else if m[1][1] >= m[2][2] {
        let s = (1.0 + m[1][1] - m[0][0] - m[2][2]).max(0.0).sqrt() * 2.0;
        [(m[0][2] - m[2][0]) / s, (m[0][1] + m[1][0]) / s, 0.25 * s, (m[1][2] + m[2][1]) / s]
    } else {
        let s = (1.0 + m[2][2] - m[0][0] - m[1][1]).max(0.0).sqrt() * 2.0;
        [(m[1][0] - m[0][1]) / s, (m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, 0.25 * s]
    };
    let n = q.iter().map(|c| c * c).sum::<f64>().sqrt();
    if !(n.is_finite() && n > 1e-12) {
        return [1.0, 0.0, 0.0, 0.0];
    }
    let sign = if q[0] < 0.0 { -1.0 } else { 1.0 };
    q.map(|c| c * sign / n)
}

/// Rotation matrix of a quaternion (w, x, y, z); normalises it first.
pub fn from_quaternion(q: [f64; 4]) -> Mat3d {
    let n = q.iter().map(|c| c * c).sum::<f64>().sqrt();
    if !(n.is_finite() && n > 1e-12) {
        return IDENTITY;
    }
    let [w, x, y, z] = q.map(|c| c / n);
    [
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
        [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
        [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
    ]
}

/// Rotation vector (axis times angle, angle in [0, π]) of a rotation.
pub fn log(m: &Mat3d) -> Vec3 {
    let [w, x, y, z] = quaternion(m);
    let s = (x * x + y * y + z * z).sqrt();
    if s < 1e-15 {
        return [2.0 * x, 2.0 * y, 2.0 * z];
    }
    let angle = 2.0 * s.atan2(w);
    [x, y, z].map(|c| c / s * angle)
}

/// The same rotation axis with `t` times the angle.
pub fn fraction(m: &Mat3d, t: f64) -> Mat3d {
    exp(scale(log(m), t))
}

/// Angle in radians of a rotation (in [0, π]).
pub fn angle(m: &Mat3d) -> f64 {
    norm(log(m))
}

/// Twist angle of `m` about the unit `axis` in its swing-twist decomposition
/// `m = swing · twist(axis)`, in (−π, π].
pub fn twist_angle(m: &Mat3d, axis: Vec3) -> f64 {
    let [w, x, y, z] = quaternion(m);
    2.0 * dot([x, y, z], axis).atan2(w)
}

/// Smallest rotation taking the unit vector `from` onto the unit vector `to`.
pub fn min_rotation(from: Vec3, to: Vec3) -> Mat3d {
    let c = dot(from, to).clamp(-1.0, 1.0);
    let axis = cross(from, to);
    if c > -1.0 + 1e-9 {
        // R = I + [v]x + [v]x² / (1 + c), with v = from × to.
        let k = 1.0 / (1.0 + c);
        let [x, y, z] = axis;
        return [
            [1.0 - k * (y * y + z * z), -z + k * x * y, y + k * x * z],
            [z + k * x * y, 1.0 - k * (x * x + z * z), -x + k * y * z],
            [-y + k * x * z, x + k * y * z, 1.0 - k * (x * x + y * y)],
        ];
    }
    // Opposite vectors: half a turn about any axis perpendicular to `from`.
    let helper = if from[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
    let perpendicular = normalized(cross(from, helper)).unwrap_or([0.0, 0.0, 1.0]);
    axis_angle(perpendicular, std::f64::consts::PI)
}

/// Orthonormal frame whose first column is `primary` and whose second column lies in the
/// plane of `primary` and `secondary`, on `secondary`'s side. `None` when either is too short
/// or they are (nearly) parallel.
pub fn frame(primary: Vec3, secondary: Vec3) -> Option<Mat3d> {
    let e1 = normalized(primary)?;
    let s = normalized(secondary)?;
    let perpendicular = sub(s, scale(e1, dot(s, e1)));
    // Below about 0.06° between the two the second axis is noise.
    if norm(perpendicular) < 1e-3 {
        return None;
    }
    let e2 = normalized(perpendicular)?;
    let e3 = cross(e1, e2);
    Some([[e1[0], e2[0], e3[0]], [e1[1], e2[1], e3[1]], [e1[2], e2[2], e3[2]]])
}

/// The rotation that takes `rest_primary` exactly onto the direction `primary` and
/// `rest_secondary` into the half-plane of `primary` and `secondary` (the TRIAD method).
pub fn triad(rest_primary: Vec3, rest_secondary: Vec3, primary: Vec3, secondary: Vec3) -> Option<Mat3d> {
    let rest = frame(rest_primary, rest_secondary)?;
    let posed = frame(primary, secondary)?;
    Some(mul(&posed, &transpose(&rest)))
}

/// The rotation R minimising Σ w |R a − b|² over pairs (a = rest vector, b = observed
/// vector, w ≥ 0), by Horn's quaternion method. `None` when the pairs do not determine a
/// unique rotation (fewer than two non-parallel directions).
pub fn wahba(pairs: &[(Vec3, Vec3, f64)]) -> Option<Mat3d> {
    let mut s = [[0.0f64; 3]; 3];
    for &(a, b, w) in pairs {
        if !(w > 0.0 && w.is_finite() && is_finite_vec(a) && is_finite_vec(b)) {
            continue;
        }
        for i in 0..3 {
            for j in 0..3 {
                s[i][j] += w * a[i] * b[j];
            }
        }
    }
    let [[sxx, sxy, sxz], [syx, syy, syz], [szx, szy, szz]] = s;
    let n = [
        [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
        [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
        [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
        [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
    ];
    let magnitude = n.iter().flatten().map(|v| v.abs()).fold(0.0, f64::max);
    if !(magnitude.is_finite() && magnitude > 0.0) {
        return None;
    }
    let n = n.map(|row| row.map(|v| v / magnitude));
    let (values, vectors) = symmetric_eigen4(n);
    let mut order = [0usize, 1, 2, 3];
    order.sort_by(|&i, &j| values[j].total_cmp(&values[i]));
    // Equal top eigenvalues: a one-parameter family of rotations fits equally well.
    if values[order[0]] - values[order[1]] < 1e-9 {
        return None;
    }
    let best = order[0];
    let q = [vectors[0][best], vectors[1][best], vectors[2][best], vectors[3][best]];
    Some(from_quaternion(q))
}

/// Eigen-decomposition of a symmetric 4×4 matrix by cyclic Jacobi rotations; eigenvectors
/// are the columns of the second result.
fn symmetric_eigen4(mut a: [[f64; 4]; 4]) -> ([f64; 4], [[f64; 4]; 4]) {
    let mut v = [[0.0; 4]; 4];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _sweep in 0..32 {
        let off: f64 = (0..4).flat_map(|p| (p + 1..4).map(move |q| (p, q))).map(|(p, q)| a[p][q] * a[p][q]).sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..4 {
            for q in p + 1..4 {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..4 {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..4 {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ([a[0][0], a[1][1], a[2][2], a[3][3]], v)
}

/// The nearest proper rotation to `m`, or `None` when `m` is not finite or far from one.
pub fn proper_rotation(m: &Mat3d) -> Option<Mat3d> {
    if !m.iter().flatten().all(|v| v.is_finite()) || determinant(m) <= 0.0 {
        return None;
    }
    let r = from_quaternion(quaternion(m));
    let residual = mul(&transpose(&r), m)
        .iter()
        .enumerate()
        .map(|(i, row)| {
            row.iter().enumerate().map(|(j, v)| (v - if i == j { 1.0 } else { 0.0 }).abs()).fold(0.0, f64::max)
        })
        .fold(0.0, f64::max);
    (residual < 1e-3).then_some(r)
}

/// A rotation for the outside world: f32, orthonormal, det +1; the identity when `m` is not
/// a rotation (never NaN).
pub fn to_output(m: &Mat3d) -> Mat3 {
    let r = proper_rotation(m).unwrap_or(IDENTITY);
    r.map(|row| row.map(|v| v as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_diff(a: &Mat3d, b: &Mat3d) -> f64 {
        a.iter().flatten().zip(b.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
    }

    fn sample_rotations() -> Vec<Mat3d> {
        let mut out = vec![IDENTITY];
        for i in 0..40 {
            let f = i as f64;
            let axis = normalized([(f * 1.3).sin(), (f * 0.7).cos(), (f * 2.1).sin() + 0.1]).unwrap();
            out.push(axis_angle(axis, (f * 0.37) % std::f64::consts::PI));
        }
        out.push(axis_angle([1.0, 0.0, 0.0], std::f64::consts::PI));
        out.push(axis_angle([0.0, 0.6, 0.8], std::f64::consts::PI));
        out
    }

    #[test]
    fn axis_angle_is_right_handed() {
        let r = axis_angle([0.0, 0.0, 1.0], std::f64::consts::FRAC_PI_2);
        let x = apply(&r, [1.0, 0.0, 0.0]);
        assert!(norm(sub(x, [0.0, 1.0, 0.0])) < 1e-12, "{x:?}");
    }

    #[test]
    fn quaternion_and_log_round_trip() {
        for r in sample_rotations() {
            assert!(max_diff(&from_quaternion(quaternion(&r)), &r) < 1e-12);
            assert!(max_diff(&exp(log(&r)), &r) < 1e-9, "{r:?}");
        }
    }

    #[test]
    fn min_rotation_maps_from_onto_to() {
        let dirs = [
            [1.0, 0.0, 0.0],
            [-1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0],
            normalized([0.3, -0.5, 0.8]).unwrap(),
            normalized([-0.3, 0.5, -0.8]).unwrap(),
        ];
        for a in dirs {
            for b in dirs {
                let r = min_rotation(a, b);
                assert!(norm(sub(apply(&r, a), b)) < 1e-9, "{a:?} -> {b:?}");
                assert!((determinant(&r) - 1.0).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn triad_recovers_a_rotation_from_two_vectors() {
        let (a, b) = ([0.2, 0.9, -0.1], [1.0, 0.1, 0.3]);
        for r in sample_rotations() {
            let got = triad(a, b, apply(&r, a), apply(&r, b)).unwrap();
            assert!(max_diff(&got, &r) < 1e-9);
        }
        assert!(triad(a, a, a, a).is_none());
        assert!(triad([0.0; 3], b, a, b).is_none());
    }

    #[test]
    fn wahba_recovers_a_rotation_and_rejects_one_direction() {
        let rest = [[0.1, 0.0, 0.05], [0.08, 0.0, -0.03], [0.04, -0.015, 0.05]];
        for r in sample_rotations() {
            let pairs: Vec<_> = rest.iter().map(|&a| (a, scale(apply(&r, a), 1.7), 1.0)).collect();
            let got = wahba(&pairs).unwrap();
            assert!(max_diff(&got, &r) < 1e-9, "{r:?} {got:?}");
            // Two vectors are enough.
            assert!(max_diff(&wahba(&pairs[..2]).unwrap(), &r) < 1e-9);
            // One direction leaves the twist about it free.
            assert!(wahba(&pairs[..1]).is_none());
        }
        assert!(wahba(&[]).is_none());
    }

    #[test]
    fn twist_angle_of_a_pure_twist_and_of_a_swing() {
        let axis = normalized([0.3, 1.0, -0.2]).unwrap();
        let twist = axis_angle(axis, 0.7);
        assert!((twist_angle(&twist, axis) - 0.7).abs() < 1e-12);
        let swing = min_rotation(axis, normalized([1.0, 0.2, 0.1]).unwrap());
        assert!(twist_angle(&swing, axis).abs() < 1e-12);
    }

    #[test]
    fn proper_rotation_rejects_garbage() {
        assert!(proper_rotation(&[[f64::NAN; 3]; 3]).is_none());
        assert!(proper_rotation(&[[0.0; 3]; 3]).is_none());
        let mirror = [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        assert!(proper_rotation(&mirror).is_none());
        let out = to_output(&[[f64::INFINITY, 0.0, 0.0], [0.0; 3], [0.0; 3]]);
        assert_eq!(out, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
    }
}
