//! BVH (Biovision hierarchy) of one track: SMPL's 24 joints under their names, offsets from
//! the rest joints of the track's body (metres, y up), and one motion frame per video frame
//! from the track's first to its last appearance.
//!
//! Channels: the root (pelvis) has `Xposition Yposition Zposition Zrotation Yrotation
//! Xrotation`, every other joint `Zrotation Yrotation Xrotation`: the local rotation is
//! `Rz · Ry · Rx` (degrees), the order the channels are listed in. The root's OFFSET is zero
//! and its position channels are its world position, so readers that add the offset and
//! readers that replace it agree. Frames where the track is missing inside its span are
//! interpolated (slerp of every joint's rotation, linear root position) between the frames
//! around them; BVH has no way to hide a body.

use std::fmt::Write as _;

use super::rotation::{euler_zyx_degrees, matrix_from_quaternion, quaternion_from_matrix, slerp, unwrap_degrees};
use super::skeleton::{JointPose, JOINT_NAMES, NUM_JOINTS};
use super::TrackAnimation;

/// Joints in the order the hierarchy lists them (depth first, children in index order),
/// which is also the order of their channels in each motion line.
fn hierarchy_order(parents: &[Option<usize>; NUM_JOINTS]) -> Vec<usize> {
    fn visit(j: usize, parents: &[Option<usize>; NUM_JOINTS], out: &mut Vec<usize>) {
        out.push(j);
        for c in 0..NUM_JOINTS {
            if parents[c] == Some(j) {
                visit(c, parents, out);
            }
        }
    }
    let mut out = Vec::with_capacity(NUM_JOINTS);
    visit(0, parents, &mut out);
    out
}

/// The pose at file frame `frame` (inside the track's span): the key itself, or the
/// interpolation between the keys around it, by time.
fn pose_at(track: &TrackAnimation, frame: usize, frame_times: &[f64], next_key: &mut usize) -> JointPose {
    while track.key_frames[*next_key] < frame {
        *next_key += 1;
    }
    let b = *next_key;
    if track.key_frames[b] == frame {
        return track.keys[b].1.clone();
    }
    let a = b - 1;
    let (ta, tb) = (frame_times[track.key_frames[a]], frame_times[track.key_frames[b]]);
    let t = (frame_times[frame] - ta) / (tb - ta);
    let (pa, pb) = (&track.keys[a].1, &track.keys[b].1);
    JointPose {
        root_translation: std::array::from_fn(|i| pa.root_translation[i] * (1.0 - t) + pb.root_translation[i] * t),
        rotations: std::array::from_fn(|j| {
            matrix_from_quaternion(&slerp(
                &quaternion_from_matrix(&pa.rotations[j]),
                &quaternion_from_matrix(&pb.rotations[j]),
                t,
            ))
        }),
    }
}

/// The BVH text of `track`; `frame_times` are the file's frame times, `frame_period_s` the
/// stream's frame period.
pub fn write(track: &TrackAnimation, frame_times: &[f64], frame_period_s: f64) -> String {
    let rest = &track.rest;
    let order = hierarchy_order(&rest.parents);
    let mut text = String::from("HIERARCHY\n");
    // Hierarchy, written by walking `order` and closing braces when the depth decreases.
    let depth_of = |mut j: usize| {
        let mut d = 0;
        while let Some(p) = rest.parents[j] {
            j = p;
            d += 1;
        }
        d
    };
    let mut open: Vec<usize> = Vec::new();
    for &j in &order {
        let depth = depth_of(j);
        while open.len() > depth {
            open.pop();
            let _ = writeln!(text, "{}}}", "  ".repeat(open.len()));
        }
        let pad = "  ".repeat(depth);
        let offset = if j == 0 { [0.0; 3] } else { rest.offset(j) };
        let keyword = if j == 0 { "ROOT" } else { "JOINT" };
        let _ = writeln!(text, "{pad}{keyword} {}\n{pad}{{", JOINT_NAMES[j]);
        let _ = writeln!(text, "{pad}  OFFSET {:.6} {:.6} {:.6}", offset[0], offset[1], offset[2]);
        if j == 0 {
            let _ = writeln!(text, "{pad}  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation");
        } else {
            let _ = writeln!(text, "{pad}  CHANNELS 3 Zrotation Yrotation Xrotation");
        }
        if !rest.parents.contains(&Some(j)) {
            // A leaf: the end site continues the bone half its length (it sets where a
            // viewer draws the bone's tip).
            let tip = rest.offset(j).map(|c| c * 0.5);
            let _ = writeln!(
                text,
                "{pad}  End Site\n{pad}  {{\n{pad}    OFFSET {:.6} {:.6} {:.6}\n{pad}  }}",
                tip[0], tip[1], tip[2]
            );
        }
        open.push(j);
    }
    while let Some(_j) = open.pop() {
        let _ = writeln!(text, "{}}}", "  ".repeat(open.len()));
    }

    let first = track.key_frames[0];
    let last = *track.key_frames.last().expect("a track has frames");
    let _ = writeln!(text, "MOTION\nFrames: {}\nFrame Time: {:.8}", last - first + 1, frame_period_s);
    let mut next_key = 0;
    let mut previous = [[0.0; 3]; NUM_JOINTS];
    for frame in first..=last {
        let pose = pose_at(track, frame, frame_times, &mut next_key);
        let mut line = String::with_capacity(NUM_JOINTS * 30);
        let p = pose.root_translation;
        let _ = write!(line, "{:.6} {:.6} {:.6}", p[0], p[1], p[2]);
        for &j in &order {
            let angles = unwrap_degrees(euler_zyx_degrees(&pose.rotations[j]), &previous[j]);
            previous[j] = angles;
            let _ = write!(line, " {:.5} {:.5} {:.5}", angles[0], angles[1], angles[2]);
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::animation::rotation::{matrix_from_euler_zyx_degrees, IDENTITY};
    use crate::animation::skeleton::RestBody;
    use gstmeshoverlay::body_model::BodyModel;

    fn track() -> TrackAnimation {
        let model = BodyModel::bundled().unwrap();
        let rest = RestBody::new(&model, &[0.0; 10]);
        let pose = |angle: f64, x: f64| {
            let mut rotations = [IDENTITY; NUM_JOINTS];
            rotations[0] = matrix_from_euler_zyx_degrees([0.0, angle, 0.0]);
            rotations[18] = matrix_from_euler_zyx_degrees([angle, 0.0, 0.0]);
            JointPose { root_translation: [x, 1.0, -5.0], rotations }
        };
        TrackAnimation {
            id: 7,
            color: [255, 0, 0],
            rest,
            keys: vec![(0.1, pose(10.0, 0.0)), (0.3, pose(30.0, 2.0))],
            key_frames: vec![1, 3],
            visibility: vec![],
        }
    }

    #[test]
    fn hierarchy_lists_every_joint_once_parents_first() {
        let order = hierarchy_order(&gstmeshoverlay::body_model::BodyModel::bundled().unwrap().parents);
        assert_eq!(order.len(), NUM_JOINTS);
        assert_eq!(&order[..4], &[0, 1, 4, 7]);
    }

    #[test]
    fn motion_spans_the_track_and_interpolates_its_gaps() {
        let text = write(&track(), &[0.0, 0.1, 0.2, 0.3], 0.1);
        assert!(text.starts_with("HIERARCHY\nROOT pelvis\n{\n  OFFSET 0.000000 0.000000 0.000000\n"), "{text}");
        assert_eq!(text.matches("JOINT ").count(), 23);
        assert_eq!(text.matches("End Site").count(), 5);
        assert_eq!(text.matches('{').count(), text.matches('}').count());
        let motion = text.split("MOTION\n").nth(1).unwrap();
        let lines: Vec<&str> = motion.lines().collect();
        assert_eq!(lines[0], "Frames: 3");
        assert_eq!(lines[1], "Frame Time: 0.10000000");
        let values: Vec<Vec<f64>> =
            lines[2..].iter().map(|l| l.split(' ').map(|v| v.parse().unwrap()).collect()).collect();
        assert!(values.iter().all(|v| v.len() == 6 + 3 * 23));
        // The missing middle frame: half way in position and in the root's yaw.
        assert_eq!(values[1][0], 1.0);
        assert!((values[1][4] - 20.0).abs() < 1e-4, "{:?}", &values[1][..6]);
        assert!((values[2][4] - 30.0).abs() < 1e-4);
    }
}
