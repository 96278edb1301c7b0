//! Full-frame camera translation for a fitted body.
//!
//! With a known pinhole (focal f, principal point (cx, cy), OpenCV axes) a posed point X
//! (pelvis-relative, camera orientation) placed at X + t projects to
//! u = f (X.x + tx) / (X.z + tz) + cx, v likewise. For seen image points (u, v) that is
//! linear in t: (u − cx)(X.z + tz) = f (X.x + tx), (v − cy)(X.z + tz) = f (X.y + ty).
//! Weighted linear least squares gives t; two reweighting passes by 1 / (X.z + tz)² turn the
//! algebraic error into the reprojection error (exact data is fitted exactly either way).

use super::landmarks::{posed_point, JOINT_LANDMARKS, NUM_LANDMARKS};
use super::rotation::to_f64;
use super::rotation::Vec3;
use super::skeleton::{global_orientations, joint_positions};
use super::{BodyFit, FitOptions};

/// Full-frame pinhole camera with square pixels and no skew.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pinhole {
    pub focal_length: f32,
    pub principal_point: [f32; 2],
}

/// Nearest distance from the camera (metres) accepted for the pelvis and for every point
/// used in the fit.
pub const MIN_DEPTH: f32 = 1e-3;

/// One joint-landmark pair used by the camera fit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Correspondence {
    /// BlazePose landmark index.
    pub landmark: usize,
    /// SMPL joint index.
    pub joint: usize,
    /// Weight in the fit (the landmark's visibility).
    pub weight: f32,
    /// The landmark in full-frame pixels.
    pub observed: [f32; 2],
    /// Where the landmark lies on the fitted skeleton, in the camera frame (translation
    /// added), metres: its joint, or beside it for the hips
    /// ([`super::landmarks::HIP_POINT_OFFSET`]).
    pub point: [f32; 3],
    /// `point` projected, full-frame pixels.
    pub projected: [f32; 2],
}

/// The fitted translation and how well it explains the landmarks.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraFit {
    /// Translation (tx, ty, tz) added to the posed body (pelvis at the origin), metres.
    pub translation: [f32; 3],
    /// The pairs used, with their fitted 3D points and projections.
    pub correspondences: Vec<Correspondence>,
    /// Weighted root-mean-square and largest reprojection error over the pairs, pixels.
    pub rms_error_px: f32,
    pub max_error_px: f32,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CameraFitError {
    #[error("the camera has no valid focal length and principal point")]
    InvalidCamera,
    #[error("{found} usable joint-landmark pairs, at least {needed} are needed")]
    NotEnoughPoints { found: usize, needed: usize },
    #[error("the points do not determine a translation (all on one line of sight?)")]
    Degenerate,
    #[error("the fitted body lies behind the camera (depth {depth} m)")]
    BehindCamera { depth: f32 },
}

/// Pairs needed at the least: two points fix the three unknowns (four equations).
pub const MIN_POINTS: usize = 2;

/// Translation minimising the visibility-weighted reprojection error of `points`
/// (posed 3D point, observed pixel, weight ≥ 0; non-finite or zero-weight pairs are
/// skipped).
pub fn solve_translation(points: &[([f32; 3], [f32; 2], f32)], camera: &Pinhole) -> Result<[f32; 3], CameraFitError> {
    let f = f64::from(camera.focal_length);
    let [cx, cy] = camera.principal_point.map(f64::from);
    if !(f.is_finite() && f > 0.0 && cx.is_finite() && cy.is_finite()) {
        return Err(CameraFitError::InvalidCamera);
    }
    // (3D point, normalised image point, weight)
    let usable: Vec<(Vec3, [f64; 2], f64)> = points
        .iter()
        .filter(|(p, uv, w)| p.iter().chain(uv).all(|v| v.is_finite()) && w.is_finite() && *w > 0.0)
        .map(|(p, uv, w)| {
            let p = p.map(f64::from);
            let n = [(f64::from(uv[0]) - cx) / f, (f64::from(uv[1]) - cy) / f];
            (p, n, f64::from(*w))
        })
        .collect();
    if usable.len() < MIN_POINTS {
        return Err(CameraFitError::NotEnoughPoints { found: usable.len(), needed: MIN_POINTS });
    }

    let mut t: Option<Vec3> = None;
    for _pass in 0..3 {
        let mut a = [[0.0f64; 3]; 3];
        let mut b = [0.0f64; 3];
        let mut scale_sum = 0.0;
        for &(p, n, w) in &usable {
            let depth_weight = match t {
                Some(t) if p[2] + t[2] > 0.0 => 1.0 / (p[2] + t[2]).powi(2),
                _ => 1.0,
            };
            let w = w * depth_weight;
            // Rows: tx − n.x tz = n.x X.z − X.x ; ty − n.y tz = n.y X.z − X.y
            for (axis, rhs) in [(0, n[0] * p[2] - p[0]), (1, n[1] * p[2] - p[1])] {
                let mut row = [0.0; 3];
                row[axis] = 1.0;
                row[2] = -n[axis];
                for i in 0..3 {
                    b[i] += w * row[i] * rhs;
                    for j in 0..3 {
                        a[i][j] += w * row[i] * row[j];
                    }
                }
            }
            scale_sum += w;
        }
        let solved = solve3(a, b, scale_sum).ok_or(CameraFitError::Degenerate)?;
        t = Some(solved);
    }
    let t = t.ok_or(CameraFitError::Degenerate)?;
    // solve3 only returns finite values.
    if t[2] <= f64::from(MIN_DEPTH) {
        return Err(CameraFitError::BehindCamera { depth: t[2] as f32 });
    }
    if let Some(nearest) =
        usable.iter().map(|(p, _, _)| p[2] + t[2]).min_by(f64::total_cmp).filter(|d| *d <= f64::from(MIN_DEPTH))
    {
        return Err(CameraFitError::BehindCamera { depth: nearest as f32 });
    }
    let t = t.map(|v| v as f32);
    // Finite in f64 but beyond f32 (image points near f32::MAX): no usable answer.
    if !t.iter().all(|v| v.is_finite()) {
        return Err(CameraFitError::Degenerate);
    }
    Ok(t)
}

/// Solves the 3×3 normal equations by Cramer's rule, rejecting near-singular systems
/// (relative to the total weight `scale`).
fn solve3(a: [[f64; 3]; 3], b: [f64; 3], scale: f64) -> Option<Vec3> {
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&a);
    // The tz column is scaled by the spread of the normalised image points; below 1e-10
    // (about 0.1 px spread at f = 1000 for a handful of points) depth is not observable.
    if !(d.is_finite() && scale > 0.0 && d.abs() > 1e-10 * scale.powi(3)) {
        return None;
    }
    let mut x = [0.0; 3];
    for (k, slot) in x.iter_mut().enumerate() {
        let mut m = a;
        for (row, value) in m.iter_mut().zip(b) {
            row[k] = value;
        }
        *slot = det(&m) / d;
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Projects a camera-frame point (metres) to pixels.
pub fn project(point: [f32; 3], camera: &Pinhole) -> [f32; 2] {
    [
        camera.focal_length * point[0] / point[2] + camera.principal_point[0],
        camera.focal_length * point[1] / point[2] + camera.principal_point[1],
    ]
}

/// Camera translation for a fitted body from its image landmarks (33 × (u, v), full-frame
/// pixels) and their visibilities. Uses the pairs of [`JOINT_LANDMARKS`] whose landmark is
/// seen (visibility ≥ `options.min_visibility`, weight = visibility) and whose joint is
/// placed by the fit ([`BodyFit::joint_is_placed`]).
///
/// Correspondence: BlazePose's shoulder, elbow, wrist, knee and ankle points are taken as
/// SMPL's joints of the same name; its hip points as points on the pelvis beside SMPL's hip
/// joints ([`super::landmarks::HIP_POINT_OFFSET`] further out).
pub fn fit_camera(
    body: &BodyFit,
    image_landmarks: &[[f32; 2]; NUM_LANDMARKS],
    visibility: &[f32; NUM_LANDMARKS],
    camera: &Pinhole,
    options: &FitOptions,
) -> Result<CameraFit, CameraFitError> {
    let pairs = usable_pairs(body, visibility, options);
    let global = global_orientations(&std::array::from_fn(|j| to_f64(body.pose.rotation(j))));
    let positions = joint_positions(&global);
    // Where each landmark sits on the posed skeleton: its joint, or beside it (hips).
    let landmark_points: Vec<[f32; 3]> =
        pairs.iter().map(|&(landmark, _, _)| posed_point(landmark, &global, &positions).map(|v| v as f32)).collect();
    let points: Vec<([f32; 3], [f32; 2], f32)> =
        pairs.iter().zip(&landmark_points).map(|(&(landmark, _, w), p)| (*p, image_landmarks[landmark], w)).collect();
    let t = solve_translation(&points, camera)?;
    let mut correspondences = Vec::with_capacity(pairs.len());
    let (mut sum_sq, mut sum_w, mut max_err) = (0.0f64, 0.0f64, 0.0f32);
    for (&(landmark, joint, weight), &j) in pairs.iter().zip(&landmark_points) {
        let observed = image_landmarks[landmark];
        if !(observed.iter().all(|v| v.is_finite()) && j.iter().all(|v| v.is_finite())) {
            continue;
        }
        let point = [j[0] + t[0], j[1] + t[1], j[2] + t[2]];
        let projected = project(point, camera);
        let err = (projected[0] - observed[0]).hypot(projected[1] - observed[1]);
        sum_sq += f64::from(weight) * f64::from(err).powi(2);
        sum_w += f64::from(weight);
        max_err = max_err.max(err);
        correspondences.push(Correspondence { landmark, joint, weight, observed, point, projected });
    }
    Ok(CameraFit {
        translation: t,
        correspondences,
        rms_error_px: (sum_sq / sum_w.max(f64::MIN_POSITIVE)).sqrt() as f32,
        max_error_px: max_err,
    })
}

/// (landmark, joint, weight) of the pairs usable for the camera fit.
pub(super) fn usable_pairs(
    body: &BodyFit,
    visibility: &[f32; NUM_LANDMARKS],
    options: &FitOptions,
) -> Vec<(usize, usize, f32)> {
    JOINT_LANDMARKS
        .iter()
        .filter_map(|&(landmark, joint)| {
            let v = visibility[landmark];
            (v.is_finite() && v >= options.min_visibility && v > 0.0 && body.joint_is_placed(joint)).then_some((
                landmark,
                joint,
                v.min(1.0),
            ))
        })
        .collect()
}
