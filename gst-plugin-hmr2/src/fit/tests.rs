//! The fit against synthetic people: exact recovery, noise, missing landmarks, hard root
//! orientations, the camera, garbage input, and a benchmark.

use super::landmarks::{self as lm, NUM_LANDMARKS};
use super::rotation::{angle, apply, determinant, norm, relative, sub, to_f64, transpose, vec_to_f64, Mat3d, Vec3};
use super::skeleton::{self as sk, JOINT_NAMES, NUM_JOINTS};
use super::synthetic::{self as syn, Rng, BENT, STRAIGHT};
use super::*;

const CM: f64 = 0.01;

fn all_visible(world: [[f32; 3]; NUM_LANDMARKS]) -> PoseLandmarks {
    PoseLandmarks { world, visibility: [0.95; NUM_LANDMARKS], crop_rotation: 0.0 }
}

fn local_of(pose: &SmplPose) -> [Mat3d; NUM_JOINTS] {
    std::array::from_fn(|j| to_f64(pose.rotation(j)))
}

/// Largest distance between fitted and true joints, and the joint where it occurs.
fn worst_joint(fit: &BodyFit, truth: &[Vec3; NUM_JOINTS], joints: impl Iterator<Item = usize>) -> (f64, usize) {
    joints
        .map(|j| (norm(sub(vec_to_f64(fit.joints[j]), truth[j])), j))
        .fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a })
}

fn worst_landmark(fit: &BodyFit, truth: &[Vec3; NUM_LANDMARKS]) -> (f64, usize) {
    let fitted = syn::posed_landmarks(&local_of(&fit.pose));
    (0..NUM_LANDMARKS).map(|i| (norm(sub(fitted[i], truth[i])), i)).fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a })
}

fn rotation_error(a: &Mat3, b: &Mat3d) -> f64 {
    angle(&relative(&to_f64(a), b))
}

fn assert_valid_rotation(m: &Mat3, what: &str) {
    let d = to_f64(m);
    assert!(m.iter().flatten().all(|v| v.is_finite()), "{what}: {m:?}");
    let should_be_identity = relative(&d, &d);
    for (i, row) in should_be_identity.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let expected = if i == j { 1.0 } else { 0.0 };
            assert!((v - expected).abs() < 1e-5, "{what} not orthonormal: {m:?}");
        }
    }
    assert!((determinant(&d) - 1.0).abs() < 1e-5, "{what}: det {}", determinant(&d));
}

#[test]
fn random_bent_poses_are_recovered_exactly() {
    let mut rng = Rng::new(1);
    let (mut worst_position, mut worst_point, mut worst_angle) = (0.0f64, 0.0f64, 0.0f64);
    for case in 0..300 {
        let truth = syn::random_pose(&mut rng, None, BENT);
        let size = rng.range(0.8, 1.25);
        let fit = fit_body(&all_visible(syn::world_landmarks(&truth, size)), None, &FitOptions::default());
        let (err, joint) = worst_joint(&fit, &syn::joints(&truth), 0..NUM_JOINTS);
        assert!(err < CM, "case {case}: {} off by {err} m", JOINT_NAMES[joint]);
        worst_position = worst_position.max(err);
        let (err, point) = worst_landmark(&fit, &syn::posed_landmarks(&truth));
        assert!(err < CM, "case {case}: {} off by {err} m", lm::LANDMARK_NAMES[point]);
        worst_point = worst_point.max(err);
        // Every rotation, twists included, is the one the landmarks were made from.
        for j in 0..NUM_JOINTS {
            let e = rotation_error(fit.pose.rotation(j), &truth[j]);
            assert!(e < 0.2f64.to_radians(), "case {case}: {} off by {:.3}°", JOINT_NAMES[j], e.to_degrees());
            worst_angle = worst_angle.max(e);
        }
        let expected_fixed = [sk::L_COLLAR, sk::R_COLLAR, sk::L_HAND, sk::R_HAND, sk::L_FOOT, sk::R_FOOT];
        for j in 0..NUM_JOINTS {
            let expected = if expected_fixed.contains(&j) { JointSource::Fixed } else { JointSource::Landmarks };
            assert_eq!(fit.sources[j], expected, "{}", JOINT_NAMES[j]);
        }
    }
    println!(
        "exact landmarks: worst joint {:.4} mm, worst re-posed landmark {:.4} mm, worst rotation {:.5}°",
        worst_position * 1000.0,
        worst_point * 1000.0,
        worst_angle.to_degrees()
    );
    // Far inside the 1 cm requirement: the fit is exact up to rounding.
    assert!(worst_position < 1e-4);
}

#[test]
fn nearly_straight_limbs_keep_exact_joint_positions() {
    // A straight limb's bend plane is noise; positions must not suffer, and legs take their
    // twist from the feet exactly. (An arm's upper twist is then not observable apart from
    // the forearm's: only positions are checked for arms.)
    let mut rng = Rng::new(2);
    for case in 0..300 {
        let truth = syn::random_pose(&mut rng, None, STRAIGHT);
        let fit = fit_body(&all_visible(syn::world_landmarks(&truth, 1.0)), None, &FitOptions::default());
        let (err, joint) = worst_joint(&fit, &syn::joints(&truth), 0..NUM_JOINTS);
        assert!(err < 1e-3, "case {case}: {} off by {err} m", JOINT_NAMES[joint]);
        let (err, point) = worst_landmark(&fit, &syn::posed_landmarks(&truth));
        assert!(err < 1e-3, "case {case}: {} off by {err} m", lm::LANDMARK_NAMES[point]);
        for j in [sk::L_HIP, sk::R_HIP, sk::L_KNEE, sk::R_KNEE, sk::L_ANKLE, sk::R_ANKLE] {
            let e = rotation_error(fit.pose.rotation(j), &truth[j]);
            assert!(e < 0.2f64.to_radians(), "case {case}: {} off by {:.3}°", JOINT_NAMES[j], e.to_degrees());
        }
    }
}

#[test]
fn spine_outside_the_model_costs_little_at_the_shoulders() {
    // The fit shares one twist/side-bend rotation over the three spine joints and gives
    // sagittal bending to the pelvis. A body whose spine joints bend independently (up to
    // 20° each, flexion included) is explained with the shoulders close to the truth.
    let mut rng = Rng::new(3);
    let (mut worst, mut sum) = (0.0f64, 0.0);
    for _ in 0..300 {
        let mut truth = syn::random_pose(&mut rng, None, BENT);
        for j in [sk::SPINE1, sk::SPINE2, sk::SPINE3] {
            truth[j] = rng.rotation_within(0.35);
        }
        let fit = fit_body(&all_visible(syn::world_landmarks(&truth, 1.0)), None, &FitOptions::default());
        let joints = syn::joints(&truth);
        for j in [sk::L_SHOULDER, sk::R_SHOULDER] {
            let err = norm(sub(vec_to_f64(fit.joints[j]), joints[j]));
            worst = worst.max(err);
            sum += err;
        }
    }
    println!(
        "independent spine joints: shoulder error mean {:.1} mm, worst {:.1} mm",
        sum / 600.0 * 1000.0,
        worst * 1000.0
    );
    assert!(sum / 600.0 < 2.0 * CM, "mean shoulder error {} m", sum / 600.0);
    assert!(worst < 6.0 * CM, "worst shoulder error {worst} m");
}

#[test]
fn noisy_landmarks_give_bounded_errors() {
    // 1 cm Gaussian noise on every coordinate of every world landmark.
    let mut rng = Rng::new(4);
    let (mut sum, mut count, mut worst) = (0.0, 0usize, 0.0f64);
    let mut per_joint = [0.0f64; NUM_JOINTS];
    let cases = 400;
    for _ in 0..cases {
        let truth = syn::random_pose(&mut rng, None, BENT);
        let mut world = syn::world_landmarks(&truth, 1.0);
        for p in world.iter_mut() {
            for c in p.iter_mut() {
                *c += (rng.gaussian() * CM) as f32;
            }
        }
        let fit = fit_body(&all_visible(world), None, &FitOptions::default());
        let joints = syn::joints(&truth);
        for j in 0..NUM_JOINTS {
            let e = norm(sub(vec_to_f64(fit.joints[j]), joints[j]));
            sum += e;
            count += 1;
            worst = worst.max(e);
            per_joint[j] += e / cases as f64;
        }
    }
    let mean = sum / count as f64;
    println!("1 cm noise: mean joint error {:.1} mm, worst {:.1} mm", mean * 1000.0, worst * 1000.0);
    for j in 0..NUM_JOINTS {
        println!("  {:<11} mean {:.1} mm", JOINT_NAMES[j], per_joint[j] * 1000.0);
    }
    assert!(mean < 2.0 * CM, "mean {mean}");
    assert!(worst < 8.0 * CM, "worst {worst}");
}

fn hide(landmarks: &mut PoseLandmarks, points: &[usize]) {
    for &p in points {
        landmarks.visibility[p] = 0.1;
        // What an unseen point holds must not matter.
        landmarks.world[p] = [f32::NAN, 1e30, -3.0];
    }
}

#[test]
fn unseen_limbs_keep_rest_or_previous_and_the_rest_is_unaffected() {
    let mut rng = Rng::new(5);
    let cases: [(&[usize], &[usize]); 4] = [
        (
            &[lm::LEFT_ELBOW, lm::LEFT_WRIST, lm::LEFT_PINKY, lm::LEFT_INDEX, lm::LEFT_THUMB],
            &[sk::L_SHOULDER, sk::L_ELBOW, sk::L_WRIST],
        ),
        (
            &[lm::RIGHT_KNEE, lm::RIGHT_ANKLE, lm::RIGHT_HEEL, lm::RIGHT_FOOT_INDEX],
            &[sk::R_HIP, sk::R_KNEE, sk::R_ANKLE],
        ),
        (&lm::FACE, &[sk::NECK, sk::HEAD]),
        (&[lm::LEFT_HEEL, lm::LEFT_FOOT_INDEX], &[sk::L_ANKLE]),
    ];
    for (hidden, affected) in cases {
        for _ in 0..50 {
            let truth = syn::random_pose(&mut rng, None, BENT);
            let previous = syn::to_pose(&syn::random_pose(&mut rng, None, BENT));
            let full = all_visible(syn::world_landmarks(&truth, 1.0));
            let mut partial = full;
            hide(&mut partial, hidden);
            let options = FitOptions::default();
            let reference = fit_body(&full, None, &options);
            let at_rest = fit_body(&partial, None, &options);
            let with_previous = fit_body(&partial, Some(&previous), &options);
            for j in 0..NUM_JOINTS {
                if affected.contains(&j) {
                    assert_eq!(at_rest.pose.rotation(j), &IDENTITY, "{}", JOINT_NAMES[j]);
                    assert_eq!(at_rest.sources[j], JointSource::Rest);
                    assert!(rotation_error(with_previous.pose.rotation(j), &to_f64(previous.rotation(j))) < 1e-5);
                    assert_eq!(with_previous.sources[j], JointSource::Previous);
                } else {
                    for fit in [&at_rest, &with_previous] {
                        let e = rotation_error(fit.pose.rotation(j), &to_f64(reference.pose.rotation(j)));
                        // The lower leg also loses the foot's twist when the foot is hidden.
                        let tolerance = if hidden.contains(&lm::LEFT_HEEL) && j == sk::L_KNEE { 0.9 } else { 1e-5 };
                        assert!(e < tolerance, "{} changed by {e} rad", JOINT_NAMES[j]);
                    }
                }
            }
            // Positions of everything not below the hidden segments stay exact.
            let truth_joints = syn::joints(&truth);
            for j in 0..NUM_JOINTS {
                let below = affected.iter().any(|&a| {
                    let mut k = j;
                    while let Some(p) = sk::parent(k) {
                        if p == a {
                            return true;
                        }
                        k = p;
                    }
                    false
                });
                if !below {
                    let e = norm(sub(vec_to_f64(at_rest.joints[j]), truth_joints[j]));
                    assert!(e < 1e-3, "{} off by {e}", JOINT_NAMES[j]);
                }
            }
        }
    }
}

#[test]
fn upper_body_only_keeps_the_arms_right() {
    // Hips unseen (a person cut at the waist): the torso axis is assumed upright, and the
    // arms, relative to the shoulders, stay exact for an upright person.
    let mut rng = Rng::new(6);
    let upright = to_f64(&[[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]);
    for _ in 0..50 {
        let mut truth = syn::random_pose(&mut rng, Some(upright), BENT);
        for j in [sk::SPINE1, sk::SPINE2, sk::SPINE3] {
            truth[j] = super::rotation::IDENTITY;
        }
        let twist = super::rotation::axis_angle([0.0, 1.0, 0.0], rng.range(-1.0, 1.0));
        truth[sk::PELVIS] = super::rotation::mul(&upright, &twist);
        let mut landmarks = all_visible(syn::world_landmarks(&truth, 1.0));
        hide(&mut landmarks, &[lm::LEFT_HIP, lm::RIGHT_HIP, lm::LEFT_KNEE, lm::RIGHT_KNEE]);
        let fit = fit_body(&landmarks, None, &FitOptions::default());
        assert_eq!(fit.sources[sk::PELVIS], JointSource::Assumed);
        assert!(rotation_error(&fit.pose.global_orient, &truth[sk::PELVIS]) < 1e-4);
        let joints = syn::joints(&truth);
        for j in [sk::L_ELBOW, sk::R_ELBOW, sk::L_WRIST, sk::R_WRIST, sk::HEAD] {
            let e = norm(sub(vec_to_f64(fit.joints[j]), joints[j]));
            assert!(e < 1e-3, "{} off by {e}", JOINT_NAMES[j]);
        }
        assert!(!fit.joint_is_placed(sk::L_KNEE));
        assert!(fit.joint_is_placed(sk::L_WRIST));
    }
}

/// Checks that the fitted root is the truth (within `tolerance` radians) and that the
/// body's left is where it should be.
fn assert_root(fit: &BodyFit, truth: &[Mat3d; NUM_JOINTS], tolerance: f64, what: &str) {
    let e = rotation_error(&fit.pose.global_orient, &truth[0]);
    assert!(e < tolerance, "{what}: root off by {:.2}°", e.to_degrees());
    let joints = syn::joints(truth);
    for (l, r) in [(sk::L_HIP, sk::R_HIP), (sk::L_SHOULDER, sk::R_SHOULDER), (sk::L_WRIST, sk::R_WRIST)] {
        let fitted = sub(vec_to_f64(fit.joints[l]), vec_to_f64(fit.joints[r]));
        let expected = sub(joints[l], joints[r]);
        assert!(super::rotation::dot(fitted, expected) > 0.0, "{what}: left and right swapped");
    }
}

#[test]
fn seen_from_behind_or_lying_down_does_not_flip() {
    let facing_away = [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]];
    // Head to the image's right, face up, the body's left towards the camera.
    let lying = [[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]];
    // Head down (hand stand), facing the camera.
    let upside_down = [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]];
    let mut rng = Rng::new(7);
    for (name, root) in [("behind", facing_away), ("lying", lying), ("upside down", upside_down)] {
        let root = to_f64(&root);
        assert!((determinant(&root) - 1.0).abs() < 1e-12);
        for _ in 0..50 {
            let truth = syn::random_pose(&mut rng, Some(root), BENT);
            let exact = fit_body(&all_visible(syn::world_landmarks(&truth, 1.0)), None, &FitOptions::default());
            assert_root(&exact, &truth, 1e-3, name);
            let mut world = syn::world_landmarks(&truth, 1.0);
            for p in world.iter_mut() {
                for c in p.iter_mut() {
                    *c += (rng.gaussian() * CM) as f32;
                }
            }
            let noisy = fit_body(&all_visible(world), None, &FitOptions::default());
            assert_root(&noisy, &truth, 15f64.to_radians(), name);
        }
    }
}

#[test]
fn an_upright_person_facing_the_camera_has_the_documented_root() {
    let mut rng = Rng::new(8);
    let facing = to_f64(&[[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]);
    let truth = syn::random_pose(&mut rng, Some(facing), BENT);
    let fit = fit_body(&all_visible(syn::world_landmarks(&truth, 1.0)), None, &FitOptions::default());
    // 180° about x: head up in the image (−y), the left hip on the image's right (+x).
    let g = fit.pose.global_orient;
    assert!((g[0][0] - 1.0).abs() < 1e-4 && (g[1][1] + 1.0).abs() < 1e-4 && (g[2][2] + 1.0).abs() < 1e-4);
    assert!(fit.joints[sk::HEAD][1] < fit.joints[sk::L_ANKLE][1]);
    assert!(fit.joints[sk::L_HIP][0] > fit.joints[sk::R_HIP][0]);
}

#[test]
fn crop_rotation_is_undone() {
    // The same person seen in a crop turned by 30°: the landmark model reports the body in
    // the crop's axes; with the crop rotation given, the fit is the unrotated one.
    let mut rng = Rng::new(9);
    let truth = syn::random_pose(&mut rng, None, BENT);
    let theta = 30f64.to_radians();
    let turn_back = super::rotation::axis_angle([0.0, 0.0, 1.0], -theta);
    let mut landmarks = all_visible(syn::world_landmarks(&truth, 1.0));
    for p in landmarks.world.iter_mut() {
        *p = apply(&turn_back, vec_to_f64(*p)).map(|v| v as f32);
    }
    landmarks.crop_rotation = theta as f32;
    let fit = fit_body(&landmarks, None, &FitOptions::default());
    assert!(rotation_error(&fit.pose.global_orient, &truth[0]) < 1e-4);
}

const CAMERA: Pinhole = Pinhole { focal_length: 1500.0, principal_point: [960.0, 540.0] };

#[test]
fn camera_fit_recovers_a_known_translation() {
    let mut rng = Rng::new(10);
    for _ in 0..100 {
        let truth = syn::random_pose(&mut rng, None, BENT);
        let t = [rng.range(-1.5, 1.5), rng.range(-1.0, 1.0), rng.range(3.0, 15.0)];
        let image = syn::image_landmarks(&truth, t, &CAMERA);
        let landmarks = all_visible(syn::world_landmarks(&truth, rng.range(0.8, 1.2)));
        let fit = fit_person(&landmarks, &image, &CAMERA, None, &FitOptions::default()).unwrap();
        let got = vec_to_f64(fit.camera.translation);
        assert!(norm(sub(got, t)) < 1e-3 * t[2], "{got:?} vs {t:?}");
        assert_eq!(fit.camera.correspondences.len(), 12);
        assert!(fit.camera.max_error_px < 0.05, "{}", fit.camera.max_error_px);
        for c in &fit.camera.correspondences {
            let truth_point = super::rotation::add(syn::posed_landmarks(&truth)[c.landmark], t);
            assert!(norm(sub(vec_to_f64(c.point), truth_point)) < 1e-3 * t[2]);
        }
    }
}

#[test]
fn limbs_are_swung_onto_the_image_landmarks() {
    // The 3D landmarks carry 2 cm of noise, the 2D ones none: the placed skeleton should
    // land on the 2D landmarks far better than the 3D directions alone put it, without
    // moving the joints away from the truth in 3D.
    let mut rng = Rng::new(12);
    let options = FitOptions::default();
    let (mut before, mut after, mut err_3d_before, mut err_3d_after) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let cases = 200;
    for _ in 0..cases {
        let truth = syn::random_pose(&mut rng, None, BENT);
        let t = [rng.range(-1.0, 1.0), rng.range(-0.5, 0.5), rng.range(3.0, 8.0)];
        let image = syn::image_landmarks(&truth, t, &CAMERA);
        let mut world = syn::world_landmarks(&truth, 1.0);
        for p in world.iter_mut() {
            for c in p.iter_mut() {
                *c += (rng.gaussian() * 2.0 * CM) as f32;
            }
        }
        let landmarks = all_visible(world);
        let unaligned_body = fit_body(&landmarks, None, &options);
        let unaligned = fit_camera(&unaligned_body, &image, &landmarks.visibility, &CAMERA, &options).unwrap();
        let aligned = fit_person(&landmarks, &image, &CAMERA, None, &options).unwrap();
        // Elbows, wrists, knees and ankles: the joints a swing can move onto their landmark.
        let limb_error = |fit: &CameraFit| {
            fit.correspondences
                .iter()
                .filter(|c| ![sk::L_SHOULDER, sk::R_SHOULDER, sk::L_HIP, sk::R_HIP].contains(&c.joint))
                .map(|c| f64::from((c.projected[0] - c.observed[0]).hypot(c.projected[1] - c.observed[1])))
                .fold(0.0, f64::max)
        };
        before += limb_error(&unaligned) / cases as f64;
        after += limb_error(&aligned.camera) / cases as f64;
        let truth_joints = syn::joints(&truth);
        let mean_3d = |fit: &BodyFit| {
            (0..NUM_JOINTS).map(|j| norm(sub(vec_to_f64(fit.joints[j]), truth_joints[j]))).sum::<f64>()
                / NUM_JOINTS as f64
        };
        err_3d_before += mean_3d(&unaligned_body) / cases as f64;
        err_3d_after += mean_3d(&aligned.body) / cases as f64;
        for j in 0..NUM_JOINTS {
            assert_valid_rotation(aligned.body.pose.rotation(j), JOINT_NAMES[j]);
        }
    }
    println!(
        "2 cm 3D noise: worst limb reprojection {before:.2} -> {after:.2} px, mean 3D joint error {:.1} -> {:.1} mm",
        err_3d_before * 1000.0,
        err_3d_after * 1000.0
    );
    assert!(after < 0.25 * before, "{before} -> {after}");
    assert!(err_3d_after < err_3d_before * 1.05, "{err_3d_before} -> {err_3d_after}");
}

#[test]
fn camera_fit_uses_only_seen_and_placed_joints() {
    let mut rng = Rng::new(11);
    let truth = syn::random_pose(&mut rng, None, BENT);
    let t = [0.2, 0.1, 5.0];
    let mut image = syn::image_landmarks(&truth, t, &CAMERA);
    let mut landmarks = all_visible(syn::world_landmarks(&truth, 1.0));
    hide(&mut landmarks, &[lm::LEFT_KNEE, lm::LEFT_ANKLE]);
    image[lm::LEFT_KNEE] = [f32::NAN, 0.0];
    image[lm::LEFT_ANKLE] = [1e9, -1e9];
    let fit = fit_person(&landmarks, &image, &CAMERA, None, &FitOptions::default()).unwrap();
    assert_eq!(fit.camera.correspondences.len(), 10);
    assert!(norm(sub(vec_to_f64(fit.camera.translation), t)) < 1e-3 * t[2]);
}

#[test]
fn camera_fit_rejects_bodies_behind_the_camera_and_degenerate_input() {
    let mut rng = Rng::new(12);
    let truth = syn::random_pose(&mut rng, None, BENT);
    let joints = syn::joints(&truth);
    let points = |t: Vec3| -> Vec<([f32; 3], [f32; 2], f32)> {
        joints
            .iter()
            .map(|&j| {
                let p = j.map(|v| v as f32);
                let q = super::rotation::add(j, t).map(|v| v as f32);
                (p, [CAMERA.focal_length * q[0] / q[2] + 960.0, CAMERA.focal_length * q[1] / q[2] + 540.0], 1.0)
            })
            .collect()
    };
    assert!(solve_translation(&points([0.0, 0.0, 6.0]), &CAMERA).is_ok());
    assert!(matches!(solve_translation(&points([0.3, 0.0, -6.0]), &CAMERA), Err(CameraFitError::BehindCamera { .. })));
    let one = &points([0.0, 0.0, 6.0])[..1];
    assert_eq!(solve_translation(one, &CAMERA), Err(CameraFitError::NotEnoughPoints { found: 1, needed: 2 }));
    // All points on the optical axis: depth is not observable.
    let on_axis = [([0.0, 0.0, 0.0], [960.0, 540.0], 1.0), ([0.0, 0.0, 0.5], [960.0, 540.0], 1.0)];
    assert_eq!(solve_translation(&on_axis, &CAMERA), Err(CameraFitError::Degenerate));
    let all_nan = vec![([f32::NAN; 3], [f32::NAN; 2], 1.0); 12];
    assert!(matches!(solve_translation(&all_nan, &CAMERA), Err(CameraFitError::NotEnoughPoints { .. })));
    let zero_weight = points([0.0, 0.0, 6.0]).into_iter().map(|(p, uv, _)| (p, uv, 0.0)).collect::<Vec<_>>();
    assert!(matches!(solve_translation(&zero_weight, &CAMERA), Err(CameraFitError::NotEnoughPoints { .. })));
    let bad_camera = Pinhole { focal_length: f32::NAN, principal_point: [0.0, 0.0] };
    assert_eq!(solve_translation(&points([0.0, 0.0, 6.0]), &bad_camera), Err(CameraFitError::InvalidCamera));
    // A fit where nothing is seen.
    let mut landmarks = all_visible(syn::world_landmarks(&truth, 1.0));
    landmarks.visibility = [0.0; NUM_LANDMARKS];
    let image = syn::image_landmarks(&truth, [0.0, 0.0, 5.0], &CAMERA);
    assert!(matches!(
        fit_person(&landmarks, &image, &CAMERA, None, &FitOptions::default()),
        Err(CameraFitError::NotEnoughPoints { found: 0, .. })
    ));
}

#[test]
fn garbage_input_still_gives_valid_rotations() {
    let mut rng = Rng::new(13);
    let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, f32::MAX, f32::MIN, 1e-30, 1e30];
    let pick = |rng: &mut Rng| -> f32 {
        match rng.next_u64() % 4 {
            0 => specials[(rng.next_u64() % specials.len() as u64) as usize],
            1 => 0.0,
            _ => rng.range(-2.0, 2.0) as f32,
        }
    };
    let previous = syn::to_pose(&syn::random_pose(&mut rng, None, BENT));
    for case in 0..3000 {
        let mut landmarks =
            PoseLandmarks { world: [[0.0; 3]; NUM_LANDMARKS], visibility: [0.0; NUM_LANDMARKS], crop_rotation: 0.0 };
        for i in 0..NUM_LANDMARKS {
            landmarks.world[i] = [pick(&mut rng), pick(&mut rng), pick(&mut rng)];
            landmarks.visibility[i] = if rng.uniform() < 0.7 { 1.0 } else { pick(&mut rng) };
        }
        match case % 4 {
            // All points coincident.
            0 => landmarks.world = [[0.3, 0.3, 0.3]; NUM_LANDMARKS],
            // All points on one line.
            1 => {
                for (i, p) in landmarks.world.iter_mut().enumerate() {
                    *p = [i as f32 * 0.01, 0.0, 0.0];
                }
            }
            _ => {}
        }
        if case % 7 == 0 {
            landmarks.crop_rotation = pick(&mut rng);
        }
        let previous = (case % 2 == 0).then_some(&previous);
        let fit = fit_body(&landmarks, previous, &FitOptions::default());
        for j in 0..NUM_JOINTS {
            assert_valid_rotation(fit.pose.rotation(j), &format!("case {case} {}", JOINT_NAMES[j]));
        }
        assert!(fit.joints.iter().flatten().all(|v| v.is_finite()), "case {case}");
        let image = [[pick(&mut rng), pick(&mut rng)]; NUM_LANDMARKS];
        if let Ok(camera) = fit_camera(&fit, &image, &landmarks.visibility, &CAMERA, &FitOptions::default()) {
            assert!(camera.translation.iter().all(|v| v.is_finite()) && camera.translation[2] > 0.0);
        }
    }
}

#[test]
fn previous_pose_of_the_wrong_kind_is_still_turned_into_rotations() {
    // A previous pose with garbage rotations must not leak NaN or non-rotations.
    let mut previous = SmplPose::REST;
    previous.body_pose[sk::L_SHOULDER - 1] = [[f32::NAN; 3]; 3];
    previous.body_pose[sk::L_ELBOW - 1] = [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]];
    previous.global_orient = [[0.0; 3]; 3];
    let landmarks =
        PoseLandmarks { world: [[0.0; 3]; NUM_LANDMARKS], visibility: [0.0; NUM_LANDMARKS], crop_rotation: 0.0 };
    let fit = fit_body(&landmarks, Some(&previous), &FitOptions::default());
    for j in 0..NUM_JOINTS {
        assert_valid_rotation(fit.pose.rotation(j), JOINT_NAMES[j]);
    }
}

#[test]
fn the_axis_convention_is_one_constant() {
    // The fit reads world landmarks only through `world_to_camera`: a person built in camera
    // axes and handed over in the model's axes comes back unchanged, whatever the constant.
    let axes = to_f64(&lm::WORLD_LANDMARK_AXES);
    let product = super::rotation::mul(&transpose(&axes), &axes);
    for (i, row) in product.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            assert_eq!(*v, if i == j { 1.0 } else { 0.0 }, "must be a signed permutation");
        }
    }
}

/// CPU time this thread has run, in seconds (Linux; `None` elsewhere). A shared machine
/// makes wall time overstate the cost, so the benchmark prints both.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// Time per person of the pose fit and of pose + camera (run with
/// `cargo test --release -p gst-plugin-hmr2 --lib fit::tests::bench -- --ignored --nocapture`).
#[test]
#[ignore]
fn bench_fit_per_person() {
    let mut rng = Rng::new(14);
    let n = 20000;
    let inputs: Vec<_> = (0..n)
        .map(|_| {
            let truth = syn::random_pose(&mut rng, None, BENT);
            let mut world = syn::world_landmarks(&truth, 1.0);
            for p in world.iter_mut() {
                for c in p.iter_mut() {
                    *c += (rng.gaussian() * 0.005) as f32;
                }
            }
            (all_visible(world), syn::image_landmarks(&truth, [0.1, 0.2, 6.0], &CAMERA))
        })
        .collect();
    let options = FitOptions::default();
    let mut sink = 0.0f32;
    let mut time = |what: &str, f: &mut dyn FnMut(&PoseLandmarks, &[[f32; 2]; NUM_LANDMARKS]) -> f32| {
        let (wall, cpu) = (std::time::Instant::now(), thread_cpu_seconds());
        for (landmarks, image) in &inputs {
            sink += f(std::hint::black_box(landmarks), image);
        }
        let wall = wall.elapsed().as_secs_f64() / n as f64;
        let cpu = cpu.zip(thread_cpu_seconds()).map(|(a, b)| (b - a) / n as f64);
        println!(
            "{what}: {:.1} µs per person CPU time, {:.1} µs wall ({n} people)",
            cpu.unwrap_or(f64::NAN) * 1e6,
            wall * 1e6
        );
    };
    time("fit_body", &mut |landmarks, _| fit_body(landmarks, None, &options).joints[5][1]);
    time("fit_person (pose + camera)", &mut |landmarks, image| {
        fit_person(landmarks, image, &CAMERA, None, &options).map(|f| f.camera.translation[2]).unwrap_or(0.0)
    });
    println!("checksum {sink}");
}
