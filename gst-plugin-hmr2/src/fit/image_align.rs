//! Swings the limbs of a placed body onto the image landmarks.
//!
//! The 3D fit takes bone directions from BlazePose's world landmarks and bone lengths from
//! the canonical skeleton; the model's 2D landmarks and its 3D landmarks do not agree
//! exactly, and a person's proportions are not the skeleton's, so elbows, wrists, knees and
//! ankles of the placed skeleton miss their 2D landmarks by up to a tenth of the person's
//! height on kicks and turned poses. What a user sees is the projection, so each limb bone
//! is swung (the bone keeps its length, its twist and its subtree) until its end lies on the
//! ray through its 2D landmark:
//!
//! - the two points of that ray at the bone's length from the bone's start are the exact
//!   solutions; the one whose direction is closer to the 3D fit's wins (the image cannot tell
//!   a bone pointing towards the camera from one pointing away; the 3D landmarks can);
//! - where the ray passes farther than the bone's length (the person's limb is longer than
//!   the skeleton's), the bone points at the ray's nearest point;
//! - a swing is capped at [`MAX_SWING`] away from the 3D fit's direction, so one wrong 2D
//!   landmark cannot fold a limb.
//!
//! Bones are taken parent first (upper arm before forearm), each from the 3D fit's
//! direction, so a swing of the upper arm does not decide the forearm's.

use super::camera::Pinhole;
use super::landmarks::{self as lm, NUM_LANDMARKS};
use super::rotation::{add, apply, dot, min_rotation, mul, norm, normalized, scale, sub, transpose, Mat3d, Vec3};
use super::skeleton::{self, global_orientations, joint_positions, NUM_JOINTS};
use super::{FitOptions, JointSource};

/// Largest swing away from the 3D fit's bone direction (radians).
pub const MAX_SWING: f64 = 0.6;

/// (joint whose rotation swings the bone, joint at the bone's end, landmark of that end).
const LIMB_BONES: [(usize, usize, usize); 8] = {
    use skeleton::*;
    [
        (L_SHOULDER, L_ELBOW, lm::LEFT_ELBOW),
        (R_SHOULDER, R_ELBOW, lm::RIGHT_ELBOW),
        (L_HIP, L_KNEE, lm::LEFT_KNEE),
        (R_HIP, R_KNEE, lm::RIGHT_KNEE),
        (L_ELBOW, L_WRIST, lm::LEFT_WRIST),
        (R_ELBOW, R_WRIST, lm::RIGHT_WRIST),
        (L_KNEE, L_ANKLE, lm::LEFT_ANKLE),
        (R_KNEE, R_ANKLE, lm::RIGHT_ANKLE),
    ]
};

/// Local rotations with the limb bones swung onto the rays of their 2D landmarks, for a
/// body placed at `translation` (metres, camera frame). Bones whose rotation was not fitted
/// to landmarks ([`JointSource::Landmarks`]) or whose end landmark is not seen stay as they are.
pub(super) fn align_limbs(
    local: &[Mat3d; NUM_JOINTS],
    sources: &[JointSource; NUM_JOINTS],
    translation: Vec3,
    image_landmarks: &[[f32; 2]; NUM_LANDMARKS],
    visibility: &[f32; NUM_LANDMARKS],
    camera: &Pinhole,
    options: &FitOptions,
) -> [Mat3d; NUM_JOINTS] {
    let mut local = *local;
    let fitted_directions = bone_directions(&global_orientations(&local));
    for (joint, end, landmark) in LIMB_BONES {
        let v = visibility[landmark];
        if sources[joint] != JointSource::Landmarks || !(v.is_finite() && v >= options.min_visibility && v > 0.0) {
            continue;
        }
        let Some(ray) = ray_through(image_landmarks[landmark], camera) else { continue };
        let global = global_orientations(&local);
        let positions = joint_positions(&global);
        let start = add(positions[joint], translation);
        let length = norm(sub(positions[end], positions[joint]));
        let current = match normalized(sub(positions[end], positions[joint])) {
            Some(d) => d,
            None => continue,
        };
        let prior = fitted_directions[end];
        let Some(target) = direction_onto_ray(start, length, ray, prior) else { continue };
        let target = capped(prior, target, MAX_SWING);
        let swing = min_rotation(current, target);
        let parent = skeleton::parent(joint).expect("limb joints have parents");
        // G_joint' = Q · G_joint  ⇒  local' = G_parent^T · Q · G_joint.
        local[joint] = mul(&transpose(&global[parent]), &mul(&swing, &global[joint]));
    }
    local
}

/// World direction of the bone ending at each joint (zero for the pelvis).
fn bone_directions(global: &[Mat3d; NUM_JOINTS]) -> [Vec3; NUM_JOINTS] {
    std::array::from_fn(|j| match skeleton::parent(j) {
        Some(p) => normalized(apply(&global[p], skeleton::rest_bone(j))).unwrap_or([0.0; 3]),
        None => [0.0; 3],
    })
}

/// Unit direction from the camera centre through full-frame pixel `uv`.
fn ray_through(uv: [f32; 2], camera: &Pinhole) -> Option<Vec3> {
    let f = f64::from(camera.focal_length);
    let [cx, cy] = camera.principal_point.map(f64::from);
    let [u, v] = uv.map(f64::from);
    if !(f > 0.0 && f.is_finite() && u.is_finite() && v.is_finite()) {
        return None;
    }
    normalized([(u - cx) / f, (v - cy) / f, 1.0])
}

/// Direction from `start` of a bone of `length` whose end lies on the camera ray `ray`
/// (unit, through the origin), the solution closest to `prior`; where no point of the ray
/// is that far from `start`, the direction to the ray's nearest point.
fn direction_onto_ray(start: Vec3, length: f64, ray: Vec3, prior: Vec3) -> Option<Vec3> {
    // |s·ray − start|² = length²  ⇔  s² − 2 s (ray·start) + |start|² − length² = 0.
    let along = dot(ray, start);
    let discriminant = along * along - dot(start, start) + length * length;
    if discriminant < 0.0 {
        return normalized(sub(scale(ray, along), start));
    }
    let root = discriminant.sqrt();
    [along + root, along - root]
        .into_iter()
        .filter(|s| *s > 0.0)
        .filter_map(|s| normalized(sub(scale(ray, s), start)))
        .max_by(|a, b| dot(*a, prior).total_cmp(&dot(*b, prior)))
}

/// `target`, turned back towards `from` so that it is at most `max_angle` away from it.
fn capped(from: Vec3, target: Vec3, max_angle: f64) -> Vec3 {
    let angle = dot(from, target).clamp(-1.0, 1.0).acos();
    if angle <= max_angle || normalized(from).is_none() {
        return target;
    }
    let full = min_rotation(from, target);
    let partial = super::rotation::fraction(&full, max_angle / angle);
    apply(&partial, from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec3) -> Vec3 {
        normalized(v).unwrap()
    }

    #[test]
    fn the_chosen_end_lies_on_the_ray_at_the_bone_length() {
        let start = [0.1, -0.2, 3.0];
        let ray = unit([0.3, -0.1, 3.0]);
        let d = direction_onto_ray(start, 0.4, ray, unit([0.0, 0.0, -1.0])).unwrap();
        let end = add(start, scale(d, 0.4));
        // On the ray: end is parallel to ray.
        let off_ray = norm(sub(end, scale(ray, dot(end, ray))));
        assert!(off_ray < 1e-9, "{off_ray}");
        // The solution towards the camera was preferred.
        assert!(end[2] < start[2]);
        let away = direction_onto_ray(start, 0.4, ray, unit([0.0, 0.0, 1.0])).unwrap();
        assert!(add(start, scale(away, 0.4))[2] > start[2]);
    }

    #[test]
    fn a_ray_out_of_reach_gets_the_nearest_point() {
        let start = [0.0, 0.0, 2.0];
        let ray = unit([1.0, 0.0, 1.0]);
        let d = direction_onto_ray(start, 0.1, ray, [1.0, 0.0, 0.0]).unwrap();
        let nearest = scale(ray, dot(ray, start));
        assert!(norm(sub(d, unit(sub(nearest, start)))) < 1e-12);
    }

    #[test]
    fn swings_are_capped() {
        let from = [1.0, 0.0, 0.0];
        let to = [0.0, 1.0, 0.0];
        let c = capped(from, to, 0.5);
        assert!((dot(c, from).acos() - 0.5).abs() < 1e-9);
        assert!((norm(c) - 1.0).abs() < 1e-12);
        assert_eq!(capped(from, unit([1.0, 0.1, 0.0]), 0.5), unit([1.0, 0.1, 0.0]));
    }
}
