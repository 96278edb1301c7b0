//! Rotation conversions of the animation export: matrix → unit quaternion (glTF), matrix →
//! Z-Y-X Euler angles (BVH), and the change of frame from the pose metadata's camera frame
//! (OpenCV: x right, y down, z forward) to the exported world (glTF: y up, the camera looking
//! down −z).

/// Row-major 3×3 matrix in f64 (the export's working precision).
pub type Mat3d = [[f64; 3]; 3];

/// A unit quaternion `[x, y, z, w]`, glTF's component order.
pub type Quat = [f64; 4];

pub const IDENTITY: Mat3d = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// Camera frame → world frame: a half turn about x (y down becomes y up, z forward becomes
/// −z, the direction a glTF camera looks). It is its own inverse.
pub const CAMERA_TO_WORLD: Mat3d = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];

pub fn mul(a: &Mat3d, b: &Mat3d) -> Mat3d {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

pub fn apply(m: &Mat3d, v: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|i| (0..3).map(|k| m[i][k] * v[k]).sum())
}

/// A point of the camera frame in the world frame.
pub fn camera_point_to_world(p: [f64; 3]) -> [f64; 3] {
    apply(&CAMERA_TO_WORLD, p)
}

/// An orientation given in the camera frame (a body's root rotation), seen from the world.
pub fn camera_rotation_to_world(r: &Mat3d) -> Mat3d {
    mul(&CAMERA_TO_WORLD, r)
}

/// The unit quaternion of a rotation matrix, by the largest of the four candidate
/// denominators (Shepperd's choice), so rotations near a half turn stay exact. A matrix that
/// is not quite orthonormal (f32 rounding) gives the quaternion of a nearby rotation; the
/// result is normalised and has `w >= 0`.
pub fn quaternion_from_matrix(m: &Mat3d) -> Quat {
    let trace = m[0][0] + m[1][1] + m[2][2];
    let q = if trace >= m[0][0].max(m[1][1]).max(m[2][2]) {
        let s = (1.0 + trace).max(0.0).sqrt() * 2.0; // 4w
        [(m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s, 0.25 * s]
    } else if m[0][0] >= m[1][1] && m[0][0] >= m[2][2] {
        let s = (1.0 + m[0][0] - m[1][1] - m[2][2]).max(0.0).sqrt() * 2.0; // 4x
        [0.25 * s, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s, (m[2][1] - m[1][2]) / s]
    } else if m[1][1] >= m[2][2] {
        let s = (1.0 - m[0][0] + m[1][1] - m[2][2]).max(0.0).sqrt() * 2.0; // 4y
        [(m[0][1] + m[1][0]) / s, 0.25 * s, (m[1][2] + m[2][1]) / s, (m[0][2] - m[2][0]) / s]
    } else {
        let s = (1.0 - m[0][0] - m[1][1] + m[2][2]).max(0.0).sqrt() * 2.0; // 4z
        [(m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, 0.25 * s, (m[1][0] - m[0][1]) / s]
    };
    let norm = q.iter().map(|c| c * c).sum::<f64>().sqrt();
    let sign = if q[3] < 0.0 { -1.0 } else { 1.0 };
    q.map(|c| sign * c / norm)
}

/// The rotation matrix of a unit quaternion `[x, y, z, w]`.
pub fn matrix_from_quaternion(q: &Quat) -> Mat3d {
    let [x, y, z, w] = *q;
    [
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - z * w), 2.0 * (x * z + y * w)],
        [2.0 * (x * y + z * w), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - x * w)],
        [2.0 * (x * z - y * w), 2.0 * (y * z + x * w), 1.0 - 2.0 * (x * x + y * y)],
    ]
}

/// `q` or `−q` (the same rotation), whichever is nearer `previous`, so that linear
/// interpolation between consecutive keys takes the short way round.
pub fn same_hemisphere(q: Quat, previous: &Quat) -> Quat {
    let dot: f64 = q.iter().zip(previous).map(|(a, b)| a * b).sum();
    if dot < 0.0 {
        q.map(|c| -c)
    } else {
        q
    }
}

/// Spherical linear interpolation from `a` (t = 0) to `b` (t = 1), the short way.
pub fn slerp(a: &Quat, b: &Quat, t: f64) -> Quat {
    let b = same_hemisphere(*b, a);
    let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>().min(1.0);
    let (wa, wb) = if dot > 0.9995 {
        (1.0 - t, t)
    } else {
        let theta = dot.acos();
        ((((1.0 - t) * theta).sin()) / theta.sin(), (t * theta).sin() / theta.sin())
    };
    let q: [f64; 4] = std::array::from_fn(|i| wa * a[i] + wb * b[i]);
    let norm = q.iter().map(|c| c * c).sum::<f64>().sqrt();
    q.map(|c| c / norm)
}

/// Euler angles in degrees `[z, y, x]` with `m = Rz(z) · Ry(y) · Rx(x)`: BVH's
/// `Zrotation Yrotation Xrotation` channels. At gimbal lock (y = ±90°) x is set to 0.
pub fn euler_zyx_degrees(m: &Mat3d) -> [f64; 3] {
    let sy = (-m[2][0]).clamp(-1.0, 1.0);
    let y = sy.asin();
    let (z, x) = if sy.abs() < 1.0 - 1e-12 {
        (m[1][0].atan2(m[0][0]), m[2][1].atan2(m[2][2]))
    } else {
        ((-m[0][1]).atan2(m[1][1]), 0.0)
    };
    [z.to_degrees(), y.to_degrees(), x.to_degrees()]
}

/// `Rz(z) · Ry(y) · Rx(x)` from degrees, the inverse of [`euler_zyx_degrees`].
pub fn matrix_from_euler_zyx_degrees(zyx: [f64; 3]) -> Mat3d {
    let [z, y, x] = zyx.map(f64::to_radians);
    let rz = [[z.cos(), -z.sin(), 0.0], [z.sin(), z.cos(), 0.0], [0.0, 0.0, 1.0]];
    let ry = [[y.cos(), 0.0, y.sin()], [0.0, 1.0, 0.0], [-y.sin(), 0.0, y.cos()]];
    let rx = [[1.0, 0.0, 0.0], [0.0, x.cos(), -x.sin()], [0.0, x.sin(), x.cos()]];
    mul(&mul(&rz, &ry), &rx)
}

/// `angles` shifted by whole turns to lie within half a turn of `previous`, per channel, so
/// that a curve editor's interpolation does not spin through 360° between two frames.
pub fn unwrap_degrees(angles: [f64; 3], previous: &[f64; 3]) -> [f64; 3] {
    std::array::from_fn(|i| angles[i] - 360.0 * ((angles[i] - previous[i]) / 360.0).round())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmr2_meta::math::axis_angle;

    fn max_diff(a: &Mat3d, b: &Mat3d) -> f64 {
        a.iter().flatten().zip(b.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
    }

    #[test]
    fn quaternion_of_known_rotations() {
        let q = quaternion_from_matrix(&IDENTITY);
        assert_eq!(q, [0.0, 0.0, 0.0, 1.0]);
        // A quarter turn about z: (0, 0, sin 45°, cos 45°).
        let q = quaternion_from_matrix(&axis_angle([0.0, 0.0, 1.0], std::f64::consts::FRAC_PI_2));
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!(q.iter().zip([0.0, 0.0, h, h]).all(|(a, b)| (a - b).abs() < 1e-12), "{q:?}");
        // The camera-to-world change of frame is a half turn about x.
        let q = quaternion_from_matrix(&CAMERA_TO_WORLD);
        assert!((q[0].abs() - 1.0).abs() < 1e-12 && q[1] == 0.0 && q[2] == 0.0 && q[3].abs() < 1e-12, "{q:?}");
    }

    /// Rotations at and just short of a half turn, about many axes: the naive formula
    /// (dividing by 4w) loses all precision there.
    #[test]
    fn round_trips_near_half_turns() {
        let axes =
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 2.0, -3.0], [-0.3, 0.1, 0.9], [1.0, 1.0, 1.0]];
        for axis in axes {
            for angle in
                [std::f64::consts::PI, std::f64::consts::PI - 1e-7, std::f64::consts::PI - 1e-3, 3.0, 1.0, 1e-6]
            {
                let m = axis_angle(axis, angle);
                let q = quaternion_from_matrix(&m);
                let norm: f64 = q.iter().map(|c| c * c).sum();
                assert!((norm - 1.0).abs() < 1e-12);
                assert!(max_diff(&matrix_from_quaternion(&q), &m) < 1e-12, "axis {axis:?} angle {angle}");
            }
        }
    }

    #[test]
    fn a_slightly_skewed_matrix_gives_a_unit_quaternion() {
        let mut m = axis_angle([0.2, 0.5, 0.1], 2.5);
        m[0][1] += 1e-4;
        let q = quaternion_from_matrix(&m);
        assert!((q.iter().map(|c| c * c).sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(max_diff(&matrix_from_quaternion(&q), &m) < 1e-3);
    }

    #[test]
    fn euler_zyx_round_trips_and_handles_gimbal_lock() {
        for zyx in [[10.0, 20.0, 30.0], [-170.0, 80.0, 45.0], [179.0, -60.0, -179.0], [0.0, 0.0, 0.0]] {
            let m = matrix_from_euler_zyx_degrees(zyx);
            let back = euler_zyx_degrees(&m);
            assert!(back.iter().zip(zyx).all(|(a, b)| (a - b).abs() < 1e-9), "{zyx:?} → {back:?}");
        }
        let locked = matrix_from_euler_zyx_degrees([30.0, 90.0, 20.0]);
        let back = euler_zyx_degrees(&locked);
        assert!(max_diff(&matrix_from_euler_zyx_degrees(back), &locked) < 1e-9, "{back:?}");
        let m = axis_angle([0.3, -0.2, 0.9], std::f64::consts::PI);
        assert!(max_diff(&matrix_from_euler_zyx_degrees(euler_zyx_degrees(&m)), &m) < 1e-9);
    }

    #[test]
    fn unwrapping_stays_near_the_previous_angles() {
        assert_eq!(unwrap_degrees([-179.0, 10.0, 350.0], &[179.0, 10.0, -5.0]), [181.0, 10.0, -10.0]);
    }

    #[test]
    fn slerp_takes_the_short_way_and_hits_its_ends() {
        let a = quaternion_from_matrix(&axis_angle([0.0, 1.0, 0.0], 0.2));
        let b = quaternion_from_matrix(&axis_angle([0.0, 1.0, 0.0], 0.6));
        let mid = slerp(&a, &b.map(|c| -c), 0.5);
        let expected = quaternion_from_matrix(&axis_angle([0.0, 1.0, 0.0], 0.4));
        assert!(same_hemisphere(mid, &expected).iter().zip(expected).all(|(x, y)| (x - y).abs() < 1e-12));
        assert!(slerp(&a, &b, 0.0).iter().zip(a).all(|(x, y)| (x - y).abs() < 1e-12));
    }

    /// An upright person facing the camera has the root rotation of a half turn about x in
    /// the camera frame (SMPL's body y axis points down the image); in the world it stands
    /// upright (identity) in front of the camera, facing it.
    #[test]
    fn camera_frame_to_world_frame() {
        let facing_camera = CAMERA_TO_WORLD;
        assert!(max_diff(&camera_rotation_to_world(&facing_camera), &IDENTITY) < 1e-15);
        // A point 5 m in front of the camera, 1 m below the image centre.
        assert_eq!(camera_point_to_world([0.5, 1.0, 5.0]), [0.5, -1.0, -5.0]);
    }
}
