//! Small rotation-matrix math shared by the estimator, the renderer and the tools.

/// Row-major 3×3 matrix, as the pose metadata carries rotations.
pub type Mat3 = [[f32; 3]; 3];

/// The identity rotation.
pub const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// The matrix of the first nine `values`, row by row (as the metadata and the networks
/// lay rotations out).
pub fn from_row_major(values: &[f32]) -> Mat3 {
    std::array::from_fn(|r| std::array::from_fn(|c| values[r * 3 + c]))
}

/// Determinant of a 3×3 matrix (+1 for a proper rotation, −1 for a reflection).
pub fn determinant(m: &Mat3) -> f32 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

/// Rotation by `angle` radians about `axis` (any length but zero; right-handed), in f64:
/// Rodrigues' formula, for tools, tests and benchmarks that make poses.
pub fn axis_angle(axis: [f64; 3], angle: f64) -> [[f64; 3]; 3] {
    let n = axis.iter().map(|c| c * c).sum::<f64>().sqrt();
    let [x, y, z] = axis.map(|c| c / n);
    let (s, c) = angle.sin_cos();
    let t = 1.0 - c;
    [
        [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
        [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
        [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
    ]
}

/// Whether every entry is finite.
pub fn is_finite(m: &Mat3) -> bool {
    m.iter().flatten().all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn determinant_of_rotation_and_reflection() {
        assert_eq!(determinant(&IDENTITY), 1.0);
        let flip_x = [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        assert_eq!(determinant(&flip_x), -1.0);
        let about_x_180 = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];
        assert_eq!(determinant(&about_x_180), 1.0);
    }

    #[test]
    fn row_major_order() {
        let values: Vec<f32> = (0..9).map(|v| v as f32).collect();
        assert_eq!(from_row_major(&values), [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]);
    }

    #[test]
    fn axis_angle_is_right_handed_and_normalises_its_axis() {
        // 90° about z takes x to y.
        let m = axis_angle([0.0, 0.0, 2.0], std::f64::consts::FRAC_PI_2);
        let x_to = [m[0][0], m[1][0], m[2][0]];
        assert!((x_to[1] - 1.0).abs() < 1e-12 && x_to[0].abs() < 1e-12 && x_to[2].abs() < 1e-12, "{m:?}");
        assert!((determinant(&m.map(|row| row.map(|v| v as f32))) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn finiteness() {
        assert!(is_finite(&IDENTITY));
        let mut m = IDENTITY;
        m[2][1] = f32::NAN;
        assert!(!is_finite(&m));
    }
}
