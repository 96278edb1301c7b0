//! Cross-check against the project's Python reference: `models/sample/sample_poses.json`
//! holds, for every frame of the sample clip, the mannequin's pose and the posed joints and
//! projected mesh box that `models/body_model.py` computed. The element's skinning must
//! reproduce the joints, and its rendering must fill exactly that box.

mod common;

use common::*;
use gstmeshoverlay::body_model::BodyModel;
use gstmeshoverlay::skinning::{BodyPose, Skinner};
use hmr2_meta::math::Mat3;
use hmr2_meta::pose::{FramePoses, PersonPose};
use serde_json::Value;

fn ground_truth() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/sample/sample_poses.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        other => vec![other.as_f64().unwrap() as f32],
    }
}

fn mat3(values: &[f32]) -> Mat3 {
    std::array::from_fn(|r| std::array::from_fn(|c| values[r * 3 + c]))
}

fn person_of(frame: &Value) -> PersonPose {
    let body_pose = floats(&frame["body_pose"]);
    let pp = floats(&frame["principal_point"]);
    PersonPose {
        global_orient: mat3(&floats(&frame["global_orient"])),
        body_pose: std::array::from_fn(|j| mat3(&body_pose[j * 9..j * 9 + 9])),
        betas: floats(&frame["betas"]).try_into().unwrap(),
        cam_t: floats(&frame["cam_t"]).try_into().unwrap(),
        focal_length: frame["focal_length"].as_f64().unwrap() as f32,
        principal_point: [pp[0], pp[1]],
        ..Default::default()
    }
}

#[test]
fn skinned_joints_match_the_python_reference() {
    let truth = ground_truth();
    let skinner = Skinner::new(&BodyModel::bundled().unwrap());
    let frames = truth["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 90);
    let mut worst = 0.0f32;
    for frame in frames {
        let joints = skinner.pose_joints(&BodyPose::from(&person_of(frame)));
        let expected = floats(&frame["joints_3d"]);
        for (j, joint) in joints.iter().enumerate() {
            for a in 0..3 {
                worst = worst.max((joint[a] - expected[j * 3 + a]).abs());
            }
        }
    }
    // The file rounds rotations to 7 decimals and positions to 6.
    assert!(worst < 2e-5, "largest joint difference {worst} m");
}

#[test]
fn rendered_silhouette_fills_the_reference_box() {
    let truth = ground_truth();
    let (w, h) = (truth["width"].as_u64().unwrap() as u32, truth["height"].as_u64().unwrap() as u32);
    let caps = format!("video/x-raw,format=BGRx,width={w},height={h},framerate=30/1");
    let mut harness = harness(&caps, &[("opacity", 1.0f64.into())]);
    let background = solid_frame(w, h, [0, 0, 0, 0]);
    for index in [0usize, 23, 47, 89] {
        let frame = &truth["frames"][index];
        let poses = FramePoses { frame_width: w, frame_height: h, persons: vec![person_of(frame)] };
        let out = buffer_bytes(&harness.push_and_pull(buffer_with_poses(&background, Some(&poses))).unwrap());
        let mask = changed_mask(&background, &out);
        let columns: Vec<u32> = (0..w).filter(|&x| (0..h).any(|y| mask[(y * w + x) as usize])).collect();
        let (top, bottom) = mask_rows(&mask, w).expect("drawn");
        // Covered pixels span the box: pixel i is covered when its centre i + 0.5 is inside.
        let bbox = floats(&frame["bbox"]);
        let found =
            [columns[0] as f32 + 0.5, top as f32 + 0.5, *columns.last().unwrap() as f32 + 0.5, bottom as f32 + 0.5];
        for k in 0..4 {
            assert!((found[k] - bbox[k]).abs() <= 1.0, "frame {index}: box {found:?} vs reference {bbox:?}");
        }
        // Every projected joint lies on the body.
        let joints_2d = floats(&frame["joints_2d"]);
        for j in 0..24 {
            let (u, v) = (joints_2d[j * 2] as u32, joints_2d[j * 2 + 1] as u32);
            assert!(mask[(v * w + u) as usize], "frame {index}: joint {j} at ({u}, {v}) is not drawn");
        }
    }
}
