//! meshoverlay in a harness on the machine's GPU (lavapipe here): camera exactness,
//! silhouettes against a CPU rasterisation, occlusion, formats, modes, pass-through and
//! timestamps.

mod common;

use common::*;
use gst::prelude::*;
use gstmeshoverlay::style::PALETTE;
use hmr2_meta::camera::FrameCamera;
use hmr2_meta::pose::FramePoses;

const W: u32 = 320;
const H: u32 = 240;
const RGBA_CAPS: &str = "video/x-raw,format=RGBA,width=320,height=240,framerate=30/1";
const BLACK: [u8; 4] = [0, 0, 0, 255];

/// Properties for an opaque overlay, with a fixed colour when given.
fn opaque(color: Option<u32>) -> Vec<(&'static str, glib::Value)> {
    let mut properties = vec![("opacity", 1.0f64.to_value())];
    if let Some(color) = color {
        properties.push(("color", color.to_value()));
    }
    properties
}

fn render(h: &mut gst_check::Harness, background: &[u8], poses: &FramePoses) -> Vec<u8> {
    let out = h.push_and_pull(buffer_with_poses(background, Some(poses))).unwrap();
    buffer_bytes(&out)
}

fn frame_poses(persons: Vec<hmr2_meta::pose::PersonPose>) -> FramePoses {
    FramePoses { frame_width: W, frame_height: H, persons }
}

fn upright_rest() -> [hmr2_meta::math::Mat3; 24] {
    let mut rotations = [IDENTITY; 24];
    rotations[0] = UPRIGHT;
    rotations
}

#[test]
fn known_points_land_on_expected_pixels() {
    // A tiny triangle (circumradius 0.8 px) centred on the model origin: it covers the
    // centre of exactly one pixel, the one its centre projects into.
    let camera = FrameCamera { focal_length: 500.0, principal_point: [150.0, 110.0] };
    let depth = 10.0f32;
    let radius = 0.8 * depth / camera.focal_length;
    // Counter-clockwise seen from the camera (at -z of the triangle): its outside faces
    // the camera, as a body's front does.
    let corners: Vec<f32> = [90.0f32, 330.0, 210.0]
        .iter()
        .flat_map(|deg| [radius * deg.to_radians().cos(), radius * deg.to_radians().sin(), 0.0])
        .collect();
    let mut weights = vec![0.0; 3 * 24];
    for v in 0..3 {
        weights[v * 24] = 1.0;
    }
    let triangle = ModelArrays {
        v: 3,
        s: 1,
        v_template: corners,
        faces: vec![0, 1, 2],
        shapedirs: vec![0.0; 9],
        posedirs: vec![0.0; 207 * 9],
        j_regressor: vec![1.0 / 3.0; 24 * 3],
        weights,
        parents: SMPL_TREE.to_vec(),
    };
    let path = triangle.write_temp("triangle.safetensors");
    let mut h = harness(
        RGBA_CAPS,
        &[
            ("opacity", 1.0f64.to_value()),
            ("body-model", path.to_str().unwrap().to_value()),
            ("color", 0xffffffffu32.to_value()),
        ],
    );
    // Pixel centres (200.5, 100.5) and (57.5, 181.5), back-projected at depth 10.
    let targets = [[200.5f32, 100.5], [57.5, 181.5]];
    let persons = targets
        .iter()
        .map(|[u, v]| {
            let cam_t = [
                (u - camera.principal_point[0]) * depth / camera.focal_length,
                (v - camera.principal_point[1]) * depth / camera.focal_length,
                depth,
            ];
            assert_eq!(camera.project(cam_t), Some([*u, *v]));
            person(&camera, &[IDENTITY; 24], [0.0; 10], cam_t, None)
        })
        .collect();
    let background = solid_frame(W, H, BLACK);
    let out = render(&mut h, &background, &frame_poses(persons));
    let lit: Vec<(u32, u32)> = changed_mask(&background, &out)
        .iter()
        .enumerate()
        .filter(|(_, &m)| m)
        .map(|(i, _)| (i as u32 % W, i as u32 / W))
        .collect();
    assert_eq!(lit, vec![(200, 100), (57, 181)]);
}

#[test]
fn upright_person_renders_head_above_feet() {
    let camera = FrameCamera::for_frame(W, H, None);
    let arrays = mannequin_arrays();
    let rotations = upright_rest();
    let cam_t = [0.0, 0.1, 60.0];
    let mut h = harness(RGBA_CAPS, &opaque(Some(0xffffffff)));
    let background = solid_frame(W, H, BLACK);
    let out = render(&mut h, &background, &frame_poses(vec![person(&camera, &rotations, [0.0; 10], cam_t, None)]));
    let mask = changed_mask(&background, &out);
    let (top, bottom) = mask_rows(&mask, W).expect("the person is drawn");

    let (vertices, joints) = reference_forward(&arrays, &[0.0; 10], &rotations, cam_t);
    let project_v = |p: [f64; 3]| camera.project(p.map(|x| x as f32)).unwrap()[1];
    let head = project_v(joints[15]);
    let feet = project_v(joints[7]).max(project_v(joints[8]));
    assert!(head < feet, "head at v = {head}, feet at v = {feet}");
    assert!((top as f32) < head && head < (top + bottom) as f32 / 2.0, "head {head} vs rows {top}..{bottom}");
    assert!(feet > (top + bottom) as f32 / 2.0 && feet < bottom as f32 + 1.0, "feet {feet} vs rows {top}..{bottom}");
    // The render itself is upright: the arms (widest rows) are in its upper half and the
    // projected wrists and head fall on drawn pixels.
    let widths: Vec<usize> = mask.chunks(W as usize).map(|row| row.iter().filter(|&&m| m).count()).collect();
    let widest = (0..H as usize).max_by_key(|&y| widths[y]).unwrap() as u32;
    assert!(widest < (top + bottom) / 2, "widest row {widest} is not in the upper half of {top}..{bottom}");
    for joint in [15, 20, 21] {
        let [u, v] = camera.project(joints[joint].map(|x| x as f32)).unwrap();
        assert!(mask[v as usize * W as usize + u as usize], "joint {joint} at ({u}, {v}) is not drawn");
    }
    // The silhouette spans exactly the projected mesh's rows.
    let (highest, lowest) = vertices
        .iter()
        .map(|p| project_v(*p))
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    assert!((top as f32 - highest).abs() <= 1.0, "top row {top}, highest vertex {highest}");
    assert!((bottom as f32 + 1.0 - lowest).abs() <= 1.0, "bottom row {bottom}, lowest vertex {lowest}");
}

#[test]
fn silhouette_matches_cpu_rasterisation() {
    let camera = FrameCamera::for_frame(W, H, None);
    let arrays = mannequin_arrays();
    let mut rng = Rng::new(7);
    let mut h = harness(RGBA_CAPS, &opaque(Some(0xffffffff)));
    let background = solid_frame(W, H, BLACK);
    for round in 0..4 {
        // Limbs bent at random (about +-0.6 rad per joint), upright root, random shape.
        let mut rotations = upright_rest();
        for r in rotations[1..].iter_mut() {
            let random = rng.rotation();
            *r = blend_towards_identity(&random, 0.2);
        }
        if round == 3 {
            // A mirroring root (determinant -1) turns the winding inside out: the body
            // must still be drawn whole.
            rotations[0] = [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];
        }
        let betas: [f32; 10] = std::array::from_fn(|_| rng.range(-1.5, 1.5) as f32);
        let cam_t = [0.3 * round as f32 - 0.3, 0.05, 50.0 + 5.0 * round as f32];
        let out = render(&mut h, &background, &frame_poses(vec![person(&camera, &rotations, betas, cam_t, None)]));
        let drawn = changed_mask(&background, &out);
        let (vertices, _) = reference_forward(&arrays, &betas, &rotations, cam_t);
        let expected = rasterize(&camera, &vertices, &arrays.faces, W, H);
        let pixels = expected.iter().filter(|&&m| m).count();
        assert!(pixels > 3000, "the person covers only {pixels} pixels");
        let score = iou(&drawn, &expected);
        println!("round {round}: IoU {score:.4} over {pixels} pixels");
        assert!(score >= 0.98, "round {round}: IoU {score}");
    }
}

/// A rotation part way between the identity and `r` (normalised linear blend; enough for
/// moderate random bends).
fn blend_towards_identity(r: &hmr2_meta::math::Mat3, amount: f32) -> hmr2_meta::math::Mat3 {
    let mut m: [[f32; 3]; 3] =
        std::array::from_fn(|i| std::array::from_fn(|j| amount * r[i][j] + (1.0 - amount) * IDENTITY[i][j]));
    // Gram-Schmidt back to a rotation.
    let norm = |v: [f32; 3]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    let n0 = norm(m[0]);
    m[0] = m[0].map(|x| x / n0);
    let d = (0..3).map(|k| m[1][k] * m[0][k]).sum::<f32>();
    m[1] = std::array::from_fn(|k| m[1][k] - d * m[0][k]);
    let n1 = norm(m[1]);
    m[1] = m[1].map(|x| x / n1);
    m[2] = [
        m[0][1] * m[1][2] - m[0][2] * m[1][1],
        m[0][2] * m[1][0] - m[0][0] * m[1][2],
        m[0][0] * m[1][1] - m[0][1] * m[1][0],
    ];
    m
}

#[test]
fn nearer_person_wins_where_people_overlap() {
    let camera = FrameCamera::for_frame(W, H, None);
    let arrays = mannequin_arrays();
    let rotations = upright_rest();
    let mut h = harness(RGBA_CAPS, &opaque(None));
    let background = solid_frame(W, H, BLACK);
    // Palette colours by track id: 0 is light blue (blue > red), 1 coral (red > blue).
    assert!(PALETTE[0][2] > PALETTE[0][0] && PALETTE[1][0] > PALETTE[1][2]);
    let is_blue = |p: &[u8]| p[2] > p[0];
    for blue_is_near in [true, false] {
        let (near, far) = (45.0f32, 70.0f32);
        let (blue_z, coral_z) = if blue_is_near { (near, far) } else { (far, near) };
        // Sideways offsets chosen so the projections overlap over the torso.
        let blue_t = [-0.2 * blue_z / 50.0, 0.05, blue_z];
        let coral_t = [0.2 * coral_z / 50.0, 0.05, coral_z];
        let persons = vec![
            person(&camera, &rotations, [0.0; 10], blue_t, Some(0)),
            person(&camera, &rotations, [0.0; 10], coral_t, Some(1)),
        ];
        let out = render(&mut h, &background, &frame_poses(persons));
        let mask_of = |t: [f32; 3]| {
            let (v, _) = reference_forward(&arrays, &[0.0; 10], &rotations, t);
            rasterize(&camera, &v, &arrays.faces, W, H)
        };
        let (blue_mask, coral_mask) = (mask_of(blue_t), mask_of(coral_t));
        let overlap: Vec<usize> = (0..blue_mask.len()).filter(|&i| blue_mask[i] && coral_mask[i]).collect();
        assert!(overlap.len() > 300, "overlap of only {} pixels", overlap.len());
        let near_wins = overlap.iter().filter(|&&i| is_blue(&out[i * 4..i * 4 + 4]) == blue_is_near).count();
        let share = near_wins as f64 / overlap.len() as f64;
        println!("blue near: {blue_is_near}: nearer colour on {share:.4} of {} overlapping pixels", overlap.len());
        assert!(share > 0.97, "blue near: {blue_is_near}: the nearer colour shows on {share:.3} of the overlap");
    }
}

#[test]
fn every_format_keeps_its_channel_order() {
    let camera = FrameCamera::for_frame(W, H, None);
    let rotations = upright_rest();
    let cam_t = [0.0, 0.1, 60.0];
    // The pelvis projects to the principal point's column, 0.1 m below its row.
    let [u, v] = camera.project([0.0, 0.1, 60.0]).unwrap();
    let probe = (v as usize * W as usize + u as usize) * 4;
    for (format, red_at, fourth) in [("RGBA", 0, 255u8), ("BGRA", 2, 255), ("RGBx", 0, 17), ("BGRx", 2, 17)] {
        let caps = format!("video/x-raw,format={format},width=320,height=240,framerate=30/1");
        let mut h = harness(&caps, &opaque(Some(0xffff0000)));
        let background = solid_frame(W, H, [0, 0, 0, fourth]);
        let out = render(&mut h, &background, &frame_poses(vec![person(&camera, &rotations, [0.0; 10], cam_t, None)]));
        let pixel = &out[probe..probe + 4];
        assert!(pixel[red_at] > 100, "{format}: {pixel:?}");
        assert!(pixel[1] < 60 && pixel[2 - red_at] < 60, "{format}: {pixel:?}");
        assert_eq!(pixel[3], fourth, "{format}: fourth byte changed: {pixel:?}");
    }
}

#[test]
fn every_mode_draws_the_person() {
    let camera = FrameCamera::for_frame(W, H, None);
    let rotations = upright_rest();
    let poses = frame_poses(vec![person(&camera, &rotations, [0.0; 10], [0.0, 0.1, 40.0], None)]);
    let background = solid_frame(W, H, BLACK);
    let mut area = std::collections::HashMap::new();
    for mode in ["solid", "wireframe", "skeleton"] {
        let mut h = harness(RGBA_CAPS, &[]);
        h.element().unwrap().set_property_from_str("mode", mode);
        let out = render(&mut h, &background, &poses);
        area.insert(mode, changed_mask(&background, &out).iter().filter(|&&m| m).count());
    }
    assert!(area["skeleton"] > 200, "{area:?}");
    assert!(area["wireframe"] > 200, "{area:?}");
    assert!(area["skeleton"] < area["solid"] && area["wireframe"] <= area["solid"], "{area:?}");
}

#[test]
fn frames_without_poses_pass_through_bit_exact() {
    let mut h = harness(RGBA_CAPS, &opaque(None));
    let mut rng = Rng::new(11);
    let noise: Vec<u8> = (0..W * H * 4).map(|_| (rng.unit() * 256.0) as u8).collect();
    let camera = FrameCamera::for_frame(W, H, None);

    let untouched = |h: &mut gst_check::Harness, poses: Option<&FramePoses>| {
        let out = h.push_and_pull(buffer_with_poses(&noise, poses)).unwrap();
        buffer_bytes(&out) == noise
    };
    assert!(untouched(&mut h, None), "frame without metadata changed");
    assert!(untouched(&mut h, Some(&frame_poses(vec![]))), "frame with nobody changed");
    let behind = person(&camera, &upright_rest(), [0.0; 10], [0.0, 0.0, -20.0], None);
    assert!(untouched(&mut h, Some(&frame_poses(vec![behind]))), "person behind the camera drawn");
    let visible = person(&camera, &upright_rest(), [0.0; 10], [0.0, 0.1, 60.0], None);
    assert!(!untouched(&mut h, Some(&frame_poses(vec![visible.clone()]))), "visible person not drawn");
    h.element().unwrap().set_property("opacity", 0.0f64);
    assert!(untouched(&mut h, Some(&frame_poses(vec![visible]))), "opacity 0 changed the frame");
}

#[test]
fn every_frame_comes_out_with_its_timestamps() {
    let mut h = harness(RGBA_CAPS, &[]);
    let camera = FrameCamera::for_frame(W, H, None);
    let poses = frame_poses(vec![person(&camera, &upright_rest(), [0.0; 10], [0.0, 0.1, 60.0], Some(3))]);
    let background = solid_frame(W, H, BLACK);
    let frame_duration = gst::ClockTime::from_mseconds(40);
    for i in 0..12u64 {
        let mut buffer = buffer_with_poses(&background, (i % 3 != 0).then_some(&poses));
        {
            let b = buffer.get_mut().unwrap();
            b.set_pts(frame_duration * i);
            b.set_duration(frame_duration);
            b.set_offset(i);
        }
        h.push(buffer).unwrap();
    }
    for i in 0..12u64 {
        let out = h.pull().unwrap();
        assert_eq!(out.pts(), Some(frame_duration * i));
        assert_eq!(out.duration(), Some(frame_duration));
        assert_eq!(out.offset(), i);
        assert_eq!(out.size(), (W * H * 4) as usize);
    }
    assert_eq!(h.buffers_in_queue(), 0);
    let stats = h.element().unwrap().property::<gst::Structure>("stats");
    // Every frame is counted; the 8 carrying a person drew one each.
    assert_eq!(stats.get::<u64>("frames").unwrap(), 12, "{stats}");
    assert_eq!(stats.get::<u64>("persons").unwrap(), 8, "{stats}");
    for stage in STAGES {
        let ns = stats.get::<u64>(format!("{stage}-ns").as_str()).unwrap();
        assert!(ns > 0, "{stage} took no time: {stats}");
    }
}

/// The stages the `stats` structure reports as `<stage>-ns`.
const STAGES: [&str; 5] = ["skinning", "upload", "draw", "readback", "composite"];

#[test]
fn properties_have_documented_defaults_and_stats() {
    let h = harness(RGBA_CAPS, &[]);
    let element = h.element().unwrap();
    assert_eq!(element.property::<Option<String>>("body-model"), None);
    assert_eq!(element.property::<u32>("color"), 0);
    assert_eq!(element.property::<f64>("opacity"), 0.85);
    let mode = element.property_value("mode");
    assert_eq!(glib::EnumValue::from_value(&mode).unwrap().1.nick(), "solid");
    let backend = element.property_value("backend");
    assert_eq!(glib::EnumValue::from_value(&backend).unwrap().1.nick(), "auto");
    let stats = element.property::<gst::Structure>("stats");
    assert_eq!(stats.name(), "meshoverlay-stats");
    assert_eq!(stats.get::<u64>("frames").unwrap(), 0);
    assert_eq!(stats.get::<u64>("persons").unwrap(), 0);
    assert!(!stats.get::<String>("adapter").unwrap().is_empty(), "{stats}");
    for stage in STAGES {
        assert_eq!(stats.get::<u64>(format!("{stage}-ns").as_str()), Ok(0), "{stats}");
    }
    // The same layout before the element starts.
    let stopped = gst::ElementFactory::make("meshoverlay").build().unwrap();
    let stats = stopped.property::<gst::Structure>("stats");
    let names: Vec<&str> = stats.fields().map(|f| f.as_str()).collect();
    let mut expected = vec!["adapter", "frames", "persons"];
    let stage_fields: Vec<String> = STAGES.iter().map(|s| format!("{s}-ns")).collect();
    expected.extend(stage_fields.iter().map(String::as_str));
    assert_eq!(names, expected, "{stats}");
}
