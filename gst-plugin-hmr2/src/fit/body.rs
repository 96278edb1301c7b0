//! The pose fit itself: global orientations of the body segments from the landmarks, turned
//! into SMPL rotations relative to the parents.
//!
//! Every segment's camera-frame orientation G_j is found from its own landmarks wherever it
//! can be, and R_j = G_parent^T G_j follows. A bone's direction fixes the child joint's
//! position exactly; the twist about the bone comes from secondary landmarks. See the
//! module documentation of [`super`] for the rules.

use std::sync::OnceLock;

use super::landmarks::{self as lm, rest_point, NUM_LANDMARKS};
use super::rotation::{
    add, apply, axis_angle, cross, dot, exp, fraction, log, midpoint, min_rotation, mul, norm, normalized, relative,
    scale, sub, transpose, triad, twist_angle, wahba, Mat3d, Vec3, IDENTITY,
};
use super::skeleton::{self as sk, rest_bone, rest_joint, NUM_JOINTS};
use super::JointSource;

/// A bend (sine of the angle between the two bones of a limb) below which the bend plane
/// says nothing about the limb's twist, and above which it alone decides it.
const BEND_PLANE_MIN_SINE: f64 = 0.17; // about 10°
const BEND_PLANE_FULL_SINE: f64 = 0.5; // 30°

/// Person-to-skeleton size ratios outside this range are treated as the bound (only the
/// neck uses the ratio, to place the head joint between shoulders and face).
const SCALE_RANGE: (f64, f64) = (0.3, 3.0);

/// Landmarks in camera axes with the visibility decision made.
pub(super) struct Observation {
    pub points: [Vec3; NUM_LANDMARKS],
    pub seen: [bool; NUM_LANDMARKS],
    /// Visibility in [0, 1] of the points seen, 0 for the others.
    pub weight: [f64; NUM_LANDMARKS],
}

impl Observation {
    fn point(&self, landmark: usize) -> Option<Vec3> {
        self.seen[landmark].then_some(self.points[landmark])
    }

    /// Unit vector from one seen landmark to another.
    fn direction(&self, from: usize, to: usize) -> Option<Vec3> {
        normalized(sub(self.point(to)?, self.point(from)?))
    }
}

/// One arm or leg: three segments (upper, lower, end) and the landmarks that fix them.
struct LimbRig {
    /// SMPL joints of the upper, lower and end segments (shoulder, elbow, wrist or hip,
    /// knee, ankle).
    joints: [usize; 3],
    /// Landmarks at those joints.
    landmarks: [usize; 3],
    /// Landmarks attached to the end segment (hand or foot points).
    end_points: &'static [usize],
    /// Rest unit directions of the upper and lower bones.
    upper_dir: Vec3,
    lower_dir: Vec3,
    /// Rest hinge axis of the middle joint (elbow, knee), perpendicular to both bones:
    /// flexion is a positive rotation about it.
    hinge: Vec3,
    /// Rest vectors from the end joint's landmark to the end points.
    end_rest: [Vec3; 3],
}

/// Rest-pose quantities the fit measures against, computed once from the skeleton and rig.
struct Canonical {
    hip_line: Vec3,
    shoulder_line: Vec3,
    shoulder_width: f64,
    /// Torso chain in rest coordinates: mid-hip → spine1, then the bones to spine2 and
    /// spine3, then spine3 → mid-shoulder (collars at rest carry the shoulders rigidly).
    spine1_from_midhip: Vec3,
    spine2_bone: Vec3,
    spine3_bone: Vec3,
    midshoulder_from_spine3: Vec3,
    neck_from_midshoulder: Vec3,
    /// Unit neck → head direction at rest.
    neck_dir: Vec3,
    limbs: [LimbRig; 4],
}

fn canonical() -> &'static Canonical {
    static CANONICAL: OnceLock<Canonical> = OnceLock::new();
    CANONICAL.get_or_init(build_canonical)
}

fn unit(v: Vec3) -> Vec3 {
    normalized(v).expect("the rest skeleton has no zero-length bones")
}

fn build_canonical() -> Canonical {
    let rest = rest_joint;
    let midhip = midpoint(rest(sk::L_HIP), rest(sk::R_HIP));
    let midshoulder = midpoint(rest(sk::L_SHOULDER), rest(sk::R_SHOULDER));
    let limb = |joints: [usize; 3], landmarks: [usize; 3], end_points: &'static [usize], flex: Vec3| {
        let upper_dir = unit(rest_bone(joints[1]));
        let lower_dir = unit(rest_bone(joints[2]));
        // The hinge must be perpendicular to both rest bones so that flexing keeps the
        // lower bone in the bend plane; its sign follows the anatomical flexion direction
        // (forearm forward, shin backward).
        let anatomical = unit(cross(upper_dir, flex));
        let hinge = match normalized(cross(upper_dir, lower_dir)) {
            Some(h) if norm(cross(upper_dir, lower_dir)) > 1e-3 && dot(h, anatomical) > 0.5 => h,
            _ => anatomical,
        };
        let mut end_rest = [[0.0; 3]; 3];
        for (slot, &p) in end_rest.iter_mut().zip(end_points) {
            *slot = sub(rest_point(p), rest_point(landmarks[2]));
        }
        LimbRig { joints, landmarks, end_points, upper_dir, lower_dir, hinge, end_rest }
    };
    let forward = [0.0, 0.0, 1.0];
    let backward = [0.0, 0.0, -1.0];
    Canonical {
        hip_line: unit(sub(rest(sk::L_HIP), rest(sk::R_HIP))),
        shoulder_line: unit(sub(rest(sk::L_SHOULDER), rest(sk::R_SHOULDER))),
        shoulder_width: norm(sub(rest(sk::L_SHOULDER), rest(sk::R_SHOULDER))),
        spine1_from_midhip: sub(rest(sk::SPINE1), midhip),
        spine2_bone: rest_bone(sk::SPINE2),
        spine3_bone: rest_bone(sk::SPINE3),
        midshoulder_from_spine3: sub(midshoulder, rest(sk::SPINE3)),
        neck_from_midshoulder: sub(rest(sk::NECK), midshoulder),
        neck_dir: unit(rest_bone(sk::HEAD)),
        limbs: [
            limb(
                [sk::L_SHOULDER, sk::L_ELBOW, sk::L_WRIST],
                [lm::LEFT_SHOULDER, lm::LEFT_ELBOW, lm::LEFT_WRIST],
                &[lm::LEFT_PINKY, lm::LEFT_INDEX, lm::LEFT_THUMB],
                forward,
            ),
            limb(
                [sk::R_SHOULDER, sk::R_ELBOW, sk::R_WRIST],
                [lm::RIGHT_SHOULDER, lm::RIGHT_ELBOW, lm::RIGHT_WRIST],
                &[lm::RIGHT_PINKY, lm::RIGHT_INDEX, lm::RIGHT_THUMB],
                forward,
            ),
            limb(
                [sk::L_HIP, sk::L_KNEE, sk::L_ANKLE],
                [lm::LEFT_HIP, lm::LEFT_KNEE, lm::LEFT_ANKLE],
                &[lm::LEFT_HEEL, lm::LEFT_FOOT_INDEX],
                backward,
            ),
            limb(
                [sk::R_HIP, sk::R_KNEE, sk::R_ANKLE],
                [lm::RIGHT_HIP, lm::RIGHT_KNEE, lm::RIGHT_ANKLE],
                &[lm::RIGHT_HEEL, lm::RIGHT_FOOT_INDEX],
                backward,
            ),
        ],
    }
}

/// Mid-hip → mid-shoulder vector in pelvis coordinates for the three spine rotations.
fn torso_vector(c: &Canonical, spine: &[Mat3d; 3]) -> Vec3 {
    let s1 = spine[0];
    let s12 = mul(&s1, &spine[1]);
    let s123 = mul(&s12, &spine[2]);
    add(
        add(c.spine1_from_midhip, apply(&s1, c.spine2_bone)),
        add(apply(&s12, c.spine3_bone), apply(&s123, c.midshoulder_from_spine3)),
    )
}

/// The rotations being built, kept as local (relative to the parent) and global (camera
/// frame) together; joints are set in tree order.
struct Solution {
    local: [Mat3d; NUM_JOINTS],
    global: [Mat3d; NUM_JOINTS],
    source: [JointSource; NUM_JOINTS],
}

impl Solution {
    fn set_global(&mut self, joint: usize, global: Mat3d, source: JointSource) {
        self.global[joint] = global;
        self.local[joint] = match sk::parent(joint) {
            Some(p) => relative(&self.global[p], &global),
            None => global,
        };
        self.source[joint] = source;
    }

    fn set_local(&mut self, joint: usize, local: Mat3d, source: JointSource) {
        self.local[joint] = local;
        self.global[joint] = match sk::parent(joint) {
            Some(p) => mul(&self.global[p], &local),
            None => local,
        };
        self.source[joint] = source;
    }
}

/// Rotation of a person standing upright and facing the camera: the model's y (up) to the
/// camera's −y, its z (forward) to the camera's −z.
pub(super) const FACING_CAMERA: Mat3d = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];

/// The model frame's up axis.
const MODEL_UP: Vec3 = [0.0, 1.0, 0.0];

/// What a joint falls back to when its landmarks are not seen.
fn fallback(previous: Option<&[Mat3d; NUM_JOINTS]>, joint: usize) -> (Mat3d, JointSource) {
    match previous {
        Some(p) => (p[joint], JointSource::Previous),
        None if joint == sk::PELVIS => (FACING_CAMERA, JointSource::Rest),
        None => (IDENTITY, JointSource::Rest),
    }
}

/// Fits all joints. Returns local rotations (index 0: global orient) and their sources.
pub(super) fn fit(
    obs: &Observation,
    previous: Option<&[Mat3d; NUM_JOINTS]>,
) -> ([Mat3d; NUM_JOINTS], [JointSource; NUM_JOINTS]) {
    let c = canonical();
    let mut sol = Solution {
        local: [IDENTITY; NUM_JOINTS],
        global: [IDENTITY; NUM_JOINTS],
        source: [JointSource::Fixed; NUM_JOINTS],
    };

    let torso = fit_torso(c, obs, previous);
    sol.set_global(sk::PELVIS, torso.pelvis, torso.pelvis_source);
    for (joint, r) in [sk::SPINE1, sk::SPINE2, sk::SPINE3].into_iter().zip(torso.spine) {
        sol.set_local(joint, r, torso.spine_source);
    }
    // Collars stay at rest: BlazePose has no point on the clavicle, and the chest frame
    // already carries the shoulder line.
    sol.set_local(sk::L_COLLAR, IDENTITY, JointSource::Fixed);
    sol.set_local(sk::R_COLLAR, IDENTITY, JointSource::Fixed);

    match fit_head(c, obs, &sol.global[sk::SPINE3], torso.measured.as_ref()) {
        Some((neck, head, neck_source)) => {
            sol.set_global(sk::NECK, neck, neck_source);
            sol.set_global(sk::HEAD, head, JointSource::Landmarks);
        }
        None => {
            for joint in [sk::NECK, sk::HEAD] {
                let (r, source) = fallback(previous, joint);
                sol.set_local(joint, r, source);
            }
        }
    }

    for rig in &c.limbs {
        fit_limb(rig, obs, previous, &mut sol);
    }
    // Fingers and toes: nothing in the landmarks says how they bend.
    for joint in [sk::L_HAND, sk::R_HAND, sk::L_FOOT, sk::R_FOOT] {
        sol.set_local(joint, IDENTITY, JointSource::Fixed);
    }
    (sol.local, sol.source)
}

/// Torso measurements the neck fit reuses.
struct TorsoMeasured {
    /// Person size over skeleton size (from the shoulder width).
    scale: f64,
    midshoulder: Vec3,
}

struct TorsoFit {
    pelvis: Mat3d,
    spine: [Mat3d; 3],
    pelvis_source: JointSource,
    spine_source: JointSource,
    measured: Option<TorsoMeasured>,
}

fn fit_torso(c: &Canonical, obs: &Observation, previous: Option<&[Mat3d; NUM_JOINTS]>) -> TorsoFit {
    let hip_line = obs.direction(lm::RIGHT_HIP, lm::LEFT_HIP);
    let shoulder_line = obs.direction(lm::RIGHT_SHOULDER, lm::LEFT_SHOULDER);
    let midhip = obs.point(lm::LEFT_HIP).zip(obs.point(lm::RIGHT_HIP)).map(|(a, b)| midpoint(a, b));
    let midshoulder = obs.point(lm::LEFT_SHOULDER).zip(obs.point(lm::RIGHT_SHOULDER)).map(|(a, b)| midpoint(a, b));
    let measured = shoulder_line.and(midshoulder).map(|midshoulder| TorsoMeasured {
        scale: (norm(sub(obs.points[lm::LEFT_SHOULDER], obs.points[lm::RIGHT_SHOULDER])) / c.shoulder_width)
            .clamp(SCALE_RANGE.0, SCALE_RANGE.1),
        midshoulder,
    });

    let (spine_fallback, spine_fallback_source) = {
        let s = [sk::SPINE1, sk::SPINE2, sk::SPINE3].map(|j| fallback(previous, j));
        ([s[0].0, s[1].0, s[2].0], s[0].1)
    };

    // Full torso: hips and shoulders seen.
    if let (Some(x_h), Some(x_s), Some(u)) =
        (hip_line, shoulder_line, midhip.zip(midshoulder).and_then(|(h, s)| normalized(sub(s, h))))
    {
        if let Some((pelvis, spine)) = solve_torso(c, x_h, x_s, u) {
            return TorsoFit {
                pelvis,
                spine: [spine; 3],
                pelvis_source: JointSource::Landmarks,
                spine_source: JointSource::Landmarks,
                measured,
            };
        }
    }

    // Partial torso: the pelvis's up axis (model y) is the previous pose's, else upright.
    let up = previous.and_then(|p| normalized(apply(&p[sk::PELVIS], MODEL_UP))).unwrap_or([0.0, -1.0, 0.0]);
    let chest_rotation = mul(&mul(&spine_fallback[0], &spine_fallback[1]), &spine_fallback[2]);
    // The spine at rest is part of the assumption here, not a lost segment: the
    // shoulders still sit where the landmarks put them.
    let assumed_spine_source = match spine_fallback_source {
        JointSource::Rest => JointSource::Assumed,
        other => other,
    };
    let assumed = |pelvis: Mat3d| TorsoFit {
        pelvis,
        spine: spine_fallback,
        pelvis_source: JointSource::Assumed,
        spine_source: assumed_spine_source,
        measured: None,
    };
    if let Some(x_s) = shoulder_line {
        let up_in_chest = apply(&transpose(&chest_rotation), MODEL_UP);
        if let Some(chest) = triad(c.shoulder_line, up_in_chest, x_s, up) {
            let mut fit = assumed(mul(&chest, &transpose(&chest_rotation)));
            fit.measured = measured;
            return fit;
        }
    }
    if let Some(x_h) = hip_line {
        if let Some(pelvis) = triad(c.hip_line, MODEL_UP, x_h, up) {
            return assumed(pelvis);
        }
    }
    let (pelvis, pelvis_source) = fallback(previous, sk::PELVIS);
    TorsoFit { pelvis, spine: spine_fallback, pelvis_source, spine_source: spine_fallback_source, measured: None }
}

/// Pelvis orientation and the (equal) rotation of each spine joint that best explain the
/// hip line `x_h`, the shoulder line `x_s` and the torso axis `u` (unit vectors, camera
/// frame). The spine turns about an axis in its y-z plane only (twist and side bend);
/// forward/backward bending cannot be told from a pelvis tilt with four points and goes
/// to the pelvis. Levenberg-Marquardt over 5 parameters from a TRIAD start.
fn solve_torso(c: &Canonical, x_h: Vec3, x_s: Vec3, u: Vec3) -> Option<(Mat3d, Mat3d)> {
    let rest_axis = torso_vector(c, &[IDENTITY; 3]);
    let pelvis0 = triad(rest_axis, c.hip_line, u, x_h)?;
    let chest0 = triad(c.shoulder_line, rest_axis, x_s, u)?;
    let w0 = scale(log(&relative(&pelvis0, &chest0)), 1.0 / 3.0);

    let residuals = |x: &[f64; 5]| -> [f64; 9] {
        let pelvis = mul(&pelvis0, &exp([x[0], x[1], x[2]]));
        let spine = exp([0.0, x[3], x[4]]);
        let chest = mul(&pelvis, &mul(&mul(&spine, &spine), &spine));
        let hip = apply(&pelvis, c.hip_line);
        let shoulder = apply(&chest, c.shoulder_line);
        let axis_raw = apply(&pelvis, torso_vector(c, &[spine; 3]));
        let axis = normalized(axis_raw).unwrap_or(axis_raw);
        let mut r = [0.0; 9];
        for k in 0..3 {
            r[k] = hip[k] - x_h[k];
            r[3 + k] = shoulder[k] - x_s[k];
            r[6 + k] = axis[k] - u[k];
        }
        r
    };
    let cost = |r: &[f64; 9]| r.iter().map(|v| v * v).sum::<f64>();

    let mut x = [0.0, 0.0, 0.0, w0[1], w0[2]];
    let mut r = residuals(&x);
    let mut current = cost(&r);
    let mut lambda = 1e-3;
    for _ in 0..50 {
        if !current.is_finite() || current <= 1e-26 {
            break;
        }
        // Forward differences: in f64 a 1e-7 step leaves the Jacobian accurate to about
        // 1e-7, plenty for Gauss-Newton steps.
        let mut jac = [[0.0; 5]; 9];
        let h = 1e-7;
        for p in 0..5 {
            let mut plus = x;
            plus[p] += h;
            let rp = residuals(&plus);
            for k in 0..9 {
                jac[k][p] = (rp[k] - r[k]) / h;
            }
        }
        let mut jtj = [[0.0; 5]; 5];
        let mut jtr = [0.0; 5];
        for k in 0..9 {
            for a in 0..5 {
                jtr[a] += jac[k][a] * r[k];
                for b in 0..5 {
                    jtj[a][b] += jac[k][a] * jac[k][b];
                }
            }
        }
        let mut improved = false;
        for _ in 0..10 {
            let mut a = jtj;
            for (d, row) in a.iter_mut().enumerate() {
                row[d] += lambda * (jtj[d][d] + 1e-9);
            }
            let Some(step) = solve5(a, jtr.map(|v| -v)) else {
                break;
            };
            let mut candidate = x;
            for p in 0..5 {
                candidate[p] += step[p];
            }
            let rc = residuals(&candidate);
            let cc = cost(&rc);
            if cc < current {
                let step_size = step.iter().map(|v| v * v).sum::<f64>().sqrt();
                x = candidate;
                r = rc;
                current = cc;
                lambda = (lambda * 0.2).max(1e-12);
                // Below 1e-9 rad further steps change nothing that f32 output can hold.
                improved = step_size > 1e-9;
                break;
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    if !x.iter().all(|v| v.is_finite()) {
        return None;
    }
    Some((mul(&pelvis0, &exp([x[0], x[1], x[2]])), exp([0.0, x[3], x[4]])))
}

/// Solves a 5×5 linear system by Gaussian elimination with partial pivoting.
fn solve5(mut a: [[f64; 5]; 5], mut b: [f64; 5]) -> Option<[f64; 5]> {
    for col in 0..5 {
        let pivot = (col..5).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        let magnitude = a[pivot][col].abs();
        if magnitude.is_nan() || magnitude <= 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..5 {
            let f = a[row][col] / a[col][col];
            for k in col..5 {
                a[row][k] -= f * a[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 5];
    for row in (0..5).rev() {
        let s: f64 = (row + 1..5).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Neck and head orientations (camera frame) and the neck's source. The head's
/// orientation is the rotation that best maps the rest face points onto the seen ones
/// (about their centroids). The neck points from its joint to the head joint, both placed
/// from the landmarks when the shoulders were measured; the head's twist about the neck is
/// shared half and half between neck and head. Without shoulder measurements the head's
/// rotation relative to the chest is split evenly between the two joints.
fn fit_head(
    c: &Canonical,
    obs: &Observation,
    chest: &Mat3d,
    torso: Option<&TorsoMeasured>,
) -> Option<(Mat3d, Mat3d, JointSource)> {
    let seen: Vec<usize> = lm::FACE.into_iter().filter(|&i| obs.seen[i]).collect();
    if seen.len() < 3 {
        return None;
    }
    let total: f64 = seen.iter().map(|&i| obs.weight[i]).sum();
    let centroid =
        |f: &dyn Fn(usize) -> Vec3| seen.iter().fold([0.0; 3], |acc, &i| add(acc, scale(f(i), obs.weight[i] / total)));
    let observed_centroid = centroid(&|i| obs.points[i]);
    let rest_centroid = centroid(&|i| rest_point(i));
    let pairs: Vec<(Vec3, Vec3, f64)> = seen
        .iter()
        .map(|&i| (sub(rest_point(i), rest_centroid), sub(obs.points[i], observed_centroid), obs.weight[i]))
        .collect();
    let head = wahba(&pairs)?;

    let Some(torso) = torso else {
        let half = fraction(&relative(chest, &head), 0.5);
        return Some((mul(chest, &half), head, JointSource::Assumed));
    };
    let k = torso.scale;
    let neck_point = add(torso.midshoulder, scale(apply(chest, c.neck_from_midshoulder), k));
    let centroid_from_head = sub(rest_centroid, rest_joint(sk::HEAD));
    let head_point = sub(observed_centroid, scale(apply(&head, centroid_from_head), k));
    let rest_neck_world = apply(chest, c.neck_dir);
    let neck_dir = normalized(sub(head_point, neck_point)).unwrap_or(rest_neck_world);
    let swung = mul(&min_rotation(rest_neck_world, neck_dir), chest);
    let twist = twist_angle(&relative(&swung, &head), c.neck_dir);
    let neck = mul(&swung, &axis_angle(c.neck_dir, 0.5 * twist));
    Some((neck, head, JointSource::Landmarks))
}

fn smoothstep(edge0: f64, edge1: f64, x: f64) -> f64 {
    let t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// One limb: upper and lower segments swing onto the seen bone directions; the end segment
/// (hand, foot) takes the orientation that best maps its rest points onto the seen ones.
///
/// Twists: the lower segment's twist is the end segment's (the wrist and ankle only swing,
/// so forearm rotation and foot turn-out show in the lower segment). The upper segment's
/// twist puts the middle joint's rest hinge axis on the normal of the seen bend plane when
/// the limb is bent (over 30°); when it is nearly straight the bend plane says nothing, and
/// the hinge axis of the lower segment (from the end segment) is used instead, so a straight
/// leg turns with its foot; blended in between. Without end points, the twist is the one
/// the segment has under its parent at its previous (or rest) rotation.
fn fit_limb(rig: &LimbRig, obs: &Observation, previous: Option<&[Mat3d; NUM_JOINTS]>, sol: &mut Solution) {
    let [upper, lower, end] = rig.joints;
    let [root_lm, mid_lm, end_lm] = rig.landmarks;
    let upper_bone = obs.direction(root_lm, mid_lm);
    let lower_bone = obs.direction(mid_lm, end_lm);

    let end_frame = obs.point(end_lm).and_then(|origin| {
        let pairs: Vec<(Vec3, Vec3, f64)> = rig
            .end_points
            .iter()
            .zip(&rig.end_rest)
            .filter(|(&p, _)| obs.seen[p])
            .map(|(&p, &rest)| (rest, sub(obs.points[p], origin), obs.weight[p]))
            .collect();
        if pairs.len() < 2 {
            return None;
        }
        wahba(&pairs)
    });
    // The lower segment seen through the end segment: the end joint only swings, so the
    // lower segment is the end frame turned back by the smallest rotation that puts the
    // lower bone on its rest direction.
    let lower_from_end = end_frame.zip(lower_bone).map(|(e, d2)| {
        let in_end = apply(&transpose(&e), d2);
        mul(&e, &transpose(&min_rotation(in_end, rig.lower_dir)))
    });

    match upper_bone {
        Some(d1) => {
            let parent = sk::parent(upper).expect("limbs hang from a parent");
            let (prev_local, _) = fallback(previous, upper);
            let untwisted = mul(&sol.global[parent], &prev_local);
            let other = lower_from_end.unwrap_or(untwisted);
            let other_hinge = apply(&other, rig.hinge);
            let bend = lower_bone.map(|d2| cross(d1, d2));
            let bend_weight = bend.map_or(0.0, |n| smoothstep(BEND_PLANE_MIN_SINE, BEND_PLANE_FULL_SINE, norm(n)));
            let plane_hinge = bend.and_then(normalized).unwrap_or(other_hinge);
            let blended = add(scale(plane_hinge, bend_weight), scale(other_hinge, 1.0 - bend_weight));
            let dominant = if bend_weight >= 0.5 { plane_hinge } else { other_hinge };
            let global = triad(rig.upper_dir, rig.hinge, d1, blended)
                .or_else(|| triad(rig.upper_dir, rig.hinge, d1, dominant))
                .unwrap_or_else(|| mul(&min_rotation(apply(&untwisted, rig.upper_dir), d1), &untwisted));
            sol.set_global(upper, global, JointSource::Landmarks);
        }
        None => {
            let (r, source) = fallback(previous, upper);
            sol.set_local(upper, r, source);
        }
    }

    match lower_bone {
        Some(d2) => {
            let global = lower_from_end.unwrap_or_else(|| {
                let g = sol.global[upper];
                mul(&min_rotation(apply(&g, rig.lower_dir), d2), &g)
            });
            sol.set_global(lower, global, JointSource::Landmarks);
        }
        None => {
            let (r, source) = fallback(previous, lower);
            sol.set_local(lower, r, source);
        }
    }

    match end_frame {
        Some(e) => sol.set_global(end, e, JointSource::Landmarks),
        None => {
            let (r, source) = fallback(previous, end);
            sol.set_local(end, r, source);
        }
    }
}
