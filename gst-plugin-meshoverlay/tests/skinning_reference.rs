//! The element's skinning against the independent f64 reference in `common` (explicit
//! per-joint 4x4 matrices, dense loops over every weight and pose feature), for random
//! rotations and shapes, on the bundled mannequin and on random synthetic models.

mod common;

use common::*;
use gstmeshoverlay::body_model::BodyModel;
use gstmeshoverlay::skinning::{BodyPose, Skinner};

const TOLERANCE: f64 = 1e-5;

fn random_pose(rng: &mut Rng, beta_range: f64, translation: [f32; 3]) -> BodyPose {
    BodyPose {
        betas: std::array::from_fn(|_| rng.range(-beta_range, beta_range) as f32),
        rotations: std::array::from_fn(|_| rng.rotation()),
        translation,
    }
}

/// Largest coordinate difference between the element's skinning and the reference for
/// several poses posed in one batch (the element batches persons).
fn max_error(arrays: &ModelArrays, model: &BodyModel, poses: &[BodyPose]) -> f64 {
    let skinner = Skinner::new(model);
    let mut posed = Vec::new();
    skinner.pose_all(poses, &mut posed);
    let mut worst = 0.0f64;
    for (pose, body) in poses.iter().zip(&posed) {
        let (vertices, joints) = reference_forward(arrays, &pose.betas, &pose.rotations, pose.translation);
        assert_eq!(body.vertices.len(), vertices.len());
        for (got, want) in body.vertices.iter().zip(&vertices).chain(body.joints.iter().zip(&joints)) {
            for a in 0..3 {
                worst = worst.max((got[a] as f64 - want[a]).abs());
            }
        }
        let joints_only = skinner.pose_joints(pose);
        for (got, want) in joints_only.iter().zip(&joints) {
            for a in 0..3 {
                worst = worst.max((got[a] as f64 - want[a]).abs());
            }
        }
    }
    worst
}

#[test]
fn mannequin_matches_reference_for_random_poses_and_shapes() {
    let arrays = mannequin_arrays();
    let model = BodyModel::bundled().unwrap();
    let mut rng = Rng::new(1);
    let poses: Vec<BodyPose> =
        (0..4).map(|i| random_pose(&mut rng, 3.0, [0.3 * i as f32, -0.2, 1.5 * i as f32])).collect();
    let error = max_error(&arrays, &model, &poses);
    assert!(error < TOLERANCE, "max error {error}");
}

#[test]
fn synthetic_models_match_reference() {
    let mut rng = Rng::new(2);
    // S < 10, S = 10 and S > 10 (only the first ten coefficients are used).
    for (v, s) in [(37, 3), (50, 10), (29, 14)] {
        let arrays = random_model(&mut rng, v, s);
        let model = BodyModel::from_bytes(&arrays.to_bytes(), "synthetic").unwrap();
        assert_eq!(model.num_shape_coeffs, s);
        let poses: Vec<BodyPose> = (0..3).map(|_| random_pose(&mut rng, 2.0, [0.1, 0.2, 0.3])).collect();
        let error = max_error(&arrays, &model, &poses);
        assert!(error < TOLERANCE, "V {v}, S {s}: max error {error}");
    }
}

#[test]
fn reference_is_sensitive_to_the_pose_feature_layout() {
    // Guards the test itself: a transposed pose feature must show up as an error, so the
    // comparisons above could fail.
    let mut rng = Rng::new(3);
    let arrays = random_model(&mut rng, 20, 10);
    let model = BodyModel::from_bytes(&arrays.to_bytes(), "synthetic").unwrap();
    let pose = random_pose(&mut rng, 1.0, [0.0; 3]);
    let mut transposed = pose.clone();
    for rotation in transposed.rotations[1..].iter_mut() {
        let r = *rotation;
        *rotation = std::array::from_fn(|i| std::array::from_fn(|j| r[j][i]));
    }
    let skinner = Skinner::new(&model);
    let mut posed = Vec::new();
    skinner.pose_all(&[transposed], &mut posed);
    let (vertices, _) = reference_forward(&arrays, &pose.betas, &pose.rotations, pose.translation);
    let error = posed[0]
        .vertices
        .iter()
        .zip(&vertices)
        .map(|(a, b)| (0..3).map(|k| (a[k] as f64 - b[k]).abs()).fold(0.0, f64::max))
        .fold(0.0, f64::max);
    assert!(error > 1e-3, "a transposed pose went unnoticed ({error})");
}
