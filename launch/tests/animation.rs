//! The animation export (`hmr2-launch export`, `file --animation`) against the real tools:
//! Khronos' glTF-Validator must report no error and no warning, and Blender must import the
//! .glb and the .bvh with every joint where the project's own forward kinematics (meshoverlay's
//! `Skinner`) puts it, within 1 mm. Tests that need a tool skip with a message when it is
//! absent (the set-up installs both: see launch/README.md, "Animation export").

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{assert_fails_with, assert_succeeded, repo_root, scratch, Launch};
use gstmeshoverlay::body_model::{BodyModel, NUM_JOINTS};
use gstmeshoverlay::skinning::{BodyPose, Skinner};
use hmr2_meta::math::axis_angle;
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(120);
/// Joints must land within this of the project's forward kinematics, metres.
const JOINT_TOLERANCE_M: f64 = 1e-3;

/// The sample clip's ground truth (models/sample/sample_poses.json) as a pose file, one
/// track (id 1).
fn sample_pose_file(path: &Path) {
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("models/sample/sample_poses.json")).unwrap())
            .unwrap();
    let period = 1_000_000_000 * truth["fps_d"].as_u64().unwrap() / truth["fps_n"].as_u64().unwrap();
    let lines: Vec<String> = truth["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            json!({
                "frame_index": f["index"], "timestamp_ns": f["pts_ns"], "duration_ns": period,
                "width": truth["width"], "height": truth["height"], "has_poses": true,
                "persons": [{
                    "bbox": f["bbox"], "score": 1.0, "track_id": 1,
                    "smpl": {"global_orient": f["global_orient"], "body_pose": f["body_pose"], "betas": f["betas"]},
                    "camera": {"cam_t": f["cam_t"], "focal_length": f["focal_length"],
                               "principal_point": f["principal_point"], "pred_cam": [1.0, 0.0, 0.0]},
                }],
            })
            .to_string()
        })
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Three tracks at 25 frames/s over 60 frames: track 3 leaves at frame 50, track 7 is
/// missing for frames 20..30, track 12 arrives at frame 10; each with its own shape, large
/// joint rotations (up to 150°) and a root turning through a half turn.
const MULTI_FRAMES: u64 = 60;
const MULTI_FPS: f64 = 25.0;
fn multi_track_present(track: u64, frame: u64) -> bool {
    match track {
        3 => frame < 50,
        7 => !(20..30).contains(&frame),
        _ => frame >= 10,
    }
}
fn multi_track_pose_file(path: &Path) {
    let mut lines = Vec::new();
    for k in 0..MULTI_FRAMES {
        let mut persons = Vec::new();
        for track in [3u64, 7, 12] {
            if !multi_track_present(track, k) {
                continue;
            }
            let kf = k as f64;
            let tf = track as f64;
            let orient = axis_angle([1.0, 0.05 * tf, 0.02], std::f64::consts::PI - 0.3 + 0.02 * kf);
            let body: Vec<_> = (0..23)
                .map(|j| {
                    let jf = j as f64;
                    axis_angle(
                        [(jf * 1.3 + tf).sin(), (jf * 0.7).cos(), 0.5 - (jf * 0.9).sin()],
                        2.6 * (0.13 * kf + jf + tf).sin(),
                    )
                })
                .collect();
            let mut betas = [0.0; 10];
            betas[0] = 0.4 * (tf - 7.0) / 5.0;
            betas[1] = -0.3 * (tf % 2.0);
            persons.push(json!({
                "bbox": [0, 0, 1, 1], "score": 1.0, "track_id": track,
                "smpl": {"global_orient": orient, "body_pose": body, "betas": betas},
                "camera": {"cam_t": [(tf - 7.0) * 0.35 + 0.01 * kf, 0.15, 7.0 + 0.1 * tf], "focal_length": 700.0,
                           "principal_point": [320.0, 240.0], "pred_cam": [1.0, 0.0, 0.0]},
            }));
        }
        lines.push(
            json!({"frame_index": k, "timestamp_ns": k * 40_000_000, "duration_ns": 40_000_000, "width": 640,
                   "height": 480, "has_poses": true, "persons": persons})
            .to_string(),
        );
    }
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn export(poses: &Path, out: &Path, extra: &[&str]) -> String {
    let mut launch = Launch::new("export").arg(poses).opt("-o", out);
    for a in extra {
        launch = launch.arg(a);
    }
    assert_succeeded(&launch.run(TIMEOUT)).1
}

// ---------------------------------------------------------------------------------------
// glTF-Validator

fn validator() -> Option<PathBuf> {
    let modules = repo_root().join(".deps/gltf-validator/node_modules");
    let found = modules.join("gltf-validator").is_dir() && Command::new("node").arg("--version").output().is_ok();
    if !found {
        eprintln!(
            "skipped: Khronos glTF-Validator is not installed (run `.venv/bin/python models/gltf_validator.py`; needs node and npm)"
        );
    }
    found.then_some(modules)
}

fn validate(modules: &Path, file: &Path) -> Value {
    let out = Command::new("node")
        .arg(repo_root().join("models/gltf_validator/validate.js"))
        .arg(file)
        .env("NODE_PATH", modules)
        .output()
        .unwrap();
    assert!(out.status.success(), "validator failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_valid(modules: &Path, file: &Path) -> Value {
    let report = validate(modules, file);
    let issues = &report["issues"];
    assert_eq!(
        (issues["numErrors"].as_u64(), issues["numWarnings"].as_u64()),
        (Some(0), Some(0)),
        "{}: {}",
        file.display(),
        serde_json::to_string_pretty(&issues["messages"]).unwrap()
    );
    report
}

#[test]
fn sample_and_multi_track_exports_pass_the_khronos_validator() {
    let Some(modules) = validator() else { return };
    let dir = scratch("anim-validator");
    let (sample, multi) = (dir.join("sample.jsonl"), dir.join("multi.jsonl"));
    sample_pose_file(&sample);
    multi_track_pose_file(&multi);
    for (poses, name) in [(&sample, "sample"), (&multi, "multi")] {
        for ext in ["glb", "gltf"] {
            let out = dir.join(&format!("{name}.{ext}"));
            export(poses, &out, &[]);
            let report = assert_valid(&modules, &out);
            let info = &report["info"];
            let tracks = if name == "multi" { 3 } else { 1 };
            assert_eq!(info["animationCount"].as_u64(), Some(1), "{info}");
            assert_eq!(info["hasSkins"].as_bool(), Some(true), "{info}");
            assert_eq!(info["drawCallCount"].as_u64(), Some(tracks), "{info}");
            assert_eq!(info["totalVertexCount"].as_u64().map(|v| v > 0), Some(true), "{info}");
        }
    }
    // Pruned to one set of four: still valid.
    let pruned = dir.join("pruned.glb");
    export(&multi, &pruned, &["--max-influences", "3"]);
    assert_valid(&modules, &pruned);
}

// ---------------------------------------------------------------------------------------
// Blender

fn blender() -> Option<&'static str> {
    let found = Command::new("blender").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: Blender is not installed (apt-get install -y blender python3-numpy)");
    }
    found.then_some("blender")
}

/// Runs tests/blender/joints.py: every armature's joint positions at `times`.
fn blender_joints(file: &Path, fps: f64, times: &[f64], dir: &Path) -> Value {
    let out = dir.join(format!("{}.joints.json", file.file_name().unwrap().to_string_lossy()));
    let mut cmd = Command::new("blender");
    cmd.args(["-b", "--factory-startup", "--python"])
        .arg(repo_root().join("launch/tests/blender/joints.py"))
        .arg("--")
        .arg(file)
        .arg(&out)
        .arg(fps.to_string())
        .args(times.iter().map(|t| t.to_string()));
    let result = common::run_with_timeout(cmd, Duration::from_secs(300));
    assert!(
        result.status.success() && out.is_file(),
        "blender failed:\n{}\n{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

/// The project's forward kinematics of every person in a pose file: by track, by line
/// index, the 24 joints in Blender's world (glTF world (x, y, z) → Blender (x, −z, y); the
/// glTF world is the camera frame turned a half turn about x).
fn reference_joints(
    poses: &Path,
    body: &BodyModel,
) -> std::collections::BTreeMap<u64, Vec<Option<[[f64; 3]; NUM_JOINTS]>>> {
    let skinner = Skinner::new(body);
    let lines: Vec<Value> =
        std::fs::read_to_string(poses).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut out = std::collections::BTreeMap::new();
    let num = |v: &Value| v.as_f64().unwrap() as f32;
    let mat = |v: &Value| -> [[f32; 3]; 3] { std::array::from_fn(|r| std::array::from_fn(|c| num(&v[r][c]))) };
    for (i, line) in lines.iter().enumerate() {
        for p in line["persons"].as_array().unwrap() {
            let track = p["track_id"].as_u64().unwrap();
            let mut rotations = [mat(&p["smpl"]["global_orient"]); NUM_JOINTS];
            for j in 1..NUM_JOINTS {
                rotations[j] = mat(&p["smpl"]["body_pose"][j - 1]);
            }
            let pose = BodyPose {
                betas: std::array::from_fn(|k| num(&p["smpl"]["betas"][k])),
                rotations,
                translation: std::array::from_fn(|a| num(&p["camera"]["cam_t"][a])),
            };
            let joints = skinner.pose_joints(&pose).map(|[x, y, z]| [f64::from(x), f64::from(z), -f64::from(y)]);
            let frames: &mut Vec<Option<_>> = out.entry(track).or_insert_with(|| vec![None; lines.len()]);
            frames[i] = Some(joints);
        }
    }
    out
}

/// Compares Blender's joints with the reference at each (line index, time); the largest
/// error in metres.
fn compare_joints(armature: &Value, reference: &[Option<[[f64; 3]; NUM_JOINTS]>], frames: &[usize], what: &str) -> f64 {
    let names = hmr2_launch::animation::skeleton::JOINT_NAMES;
    let mut worst = 0.0f64;
    for (k, &frame) in frames.iter().enumerate() {
        let expected = reference[frame].unwrap_or_else(|| panic!("{what}: the track is absent in frame {frame}"));
        let heads = &armature["frames"][k]["heads"];
        for (j, name) in names.iter().enumerate() {
            let got: Vec<f64> = heads[*name]
                .as_array()
                .unwrap_or_else(|| panic!("{what}: no bone {name}"))
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let error = (0..3).map(|a| (got[a] - expected[j][a]).powi(2)).sum::<f64>().sqrt();
            assert!(
                error < JOINT_TOLERANCE_M,
                "{what}: frame {frame}, joint {name}: Blender {got:?}, forward kinematics {:?} ({:.2} mm apart)",
                expected[j],
                error * 1e3
            );
            worst = worst.max(error);
        }
    }
    worst
}

#[test]
fn blender_imports_the_glb_with_the_projects_joint_positions() {
    if blender().is_none() {
        return;
    }
    let dir = scratch("anim-blender-glb");
    let body = BodyModel::default_body().unwrap();
    for (name, fps, frames) in
        [("sample", 30.0, vec![0usize, 17, 44, 89]), ("multi", MULTI_FPS, vec![0, 15, 19, 30, 41, 49, 59])]
    {
        let poses = dir.join(&format!("{name}.jsonl"));
        if name == "sample" {
            sample_pose_file(&poses);
        } else {
            multi_track_pose_file(&poses);
        }
        let glb = dir.join(&format!("{name}.glb"));
        export(&poses, &glb, &[]);
        let times: Vec<f64> = frames.iter().map(|&f| f as f64 / fps).collect();
        let result = blender_joints(&glb, fps, &times, dir.path());
        let reference = reference_joints(&poses, &body);
        assert_eq!(result["armatures"].as_object().unwrap().len(), reference.len(), "{result}");
        for (track, joints) in &reference {
            let armature = &result["armatures"][format!("track {track}")];
            assert!(
                armature.is_object(),
                "no armature for track {track}: {:?}",
                result["armatures"].as_object().unwrap().keys()
            );
            let present: Vec<usize> = frames.iter().copied().filter(|&f| joints[f].is_some()).collect();
            let indices: Vec<usize> =
                frames.iter().enumerate().filter(|(_, f)| joints[**f].is_some()).map(|(k, _)| k).collect();
            let subset = json!({"frames": indices.iter().map(|&k| armature["frames"][k].clone()).collect::<Vec<_>>()});
            let worst = compare_joints(&subset, joints, &present, &format!("{name}.glb track {track}"));
            eprintln!("{name}.glb track {track}: {} frames, worst joint error {:.4} mm", present.len(), worst * 1e3);
        }
    }
}

#[test]
fn blender_imports_the_bvh_with_the_projects_joint_positions() {
    if blender().is_none() {
        return;
    }
    let dir = scratch("anim-blender-bvh");
    let body = BodyModel::default_body().unwrap();
    let poses = dir.join("multi.jsonl");
    multi_track_pose_file(&poses);
    let out = dir.join("multi.bvh");
    let stdout = assert_succeeded(&Launch::new("export").arg(&poses).opt("-o", &out).run(TIMEOUT)).0;
    let reference = reference_joints(&poses, &body);
    for track in [3u64, 7, 12] {
        let file = dir.join(&format!("multi-track-{track}.bvh"));
        assert!(stdout.contains(&format!("animation: {}", file.display())), "{stdout}");
        let joints = &reference[&track];
        let first = joints.iter().position(Option::is_some).unwrap();
        // BVH motion starts at the track's first frame: times relative to it.
        let frames: Vec<usize> = [first, first + 5, 19, 30, 37, 49]
            .into_iter()
            .filter(|&f| joints.get(f).is_some_and(Option::is_some))
            .collect();
        let times: Vec<f64> = frames.iter().map(|&f| (f - first) as f64 / MULTI_FPS).collect();
        let result = blender_joints(&file, MULTI_FPS, &times, dir.path());
        let worst = compare_joints(&result["armatures"]["bvh"], joints, &frames, &format!("track {track} bvh"));
        eprintln!("multi-track-{track}.bvh: {} frames, worst joint error {:.4} mm", frames.len(), worst * 1e3);
    }
    // One track picked: the file is the -o path itself.
    let single = dir.join("seven.bvh");
    export(&poses, &single, &["--track", "7"]);
    let text = std::fs::read_to_string(&single).unwrap();
    assert!(text.contains("Frames: 60\nFrame Time: 0.04000000\n"), "{}", &text[text.find("MOTION").unwrap()..][..60]);
}

// ---------------------------------------------------------------------------------------
// Errors

#[test]
fn bad_pose_files_fail_naming_the_line_and_leave_no_output() {
    let dir = scratch("anim-errors");
    let good = dir.join("good.jsonl");
    multi_track_pose_file(&good);
    let text = std::fs::read_to_string(&good).unwrap();
    let out = dir.join("out.glb");
    std::fs::write(&out, b"previous").unwrap();

    let mut lines: Vec<&str> = text.lines().collect();
    lines[4] = "{\"frame_index\": 4, \"persons\": [";
    let malformed = dir.join("malformed.jsonl");
    std::fs::write(&malformed, lines.join("\n")).unwrap();
    let o = Launch::new("export").arg(&malformed).opt("-o", &out).run(TIMEOUT);
    assert_fails_with(&o, "malformed.jsonl: line 5: not a pose line: ");

    let no_track = dir.join("untracked.jsonl");
    std::fs::write(
        &no_track,
        text.replace("\"track_id\":", "\"was\":").replace("\"was\":", "\"track_id\":null,\"x\":"),
    )
    .unwrap();
    let o = Launch::new("export").arg(&no_track).opt("-o", &out).run(TIMEOUT);
    assert_fails_with(&o, "no tracked person in 60 lines");

    // NaN rotations (written as null) hide the track in that frame, with a warning.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut v: Value = serde_json::from_str(&lines[2]).unwrap();
    v["persons"][0]["smpl"]["body_pose"][5][1][1] = Value::Null;
    lines[2] = v.to_string();
    let nan = dir.join("nan.jsonl");
    std::fs::write(&nan, lines.join("\n")).unwrap();
    let fresh = dir.join("nan.glb");
    let err = export(&nan, &fresh, &[]);
    assert!(err.contains("nan.jsonl: line 3: track 3 (persons[0]): smpl.body_pose[5] is not finite (NaN or null); the track is hidden in that frame"), "{err}");

    let o = Launch::new("export").arg(&good).opt("-o", dir.join("out.fbx")).run(TIMEOUT);
    assert_fails_with(&o, "the extension must be .glb, .gltf or .bvh");
    let o = Launch::new("export").arg(&good).opt("-o", &out).opt("--track", "99").run(TIMEOUT);
    assert_fails_with(&o, "no track 99 (tracks: 3, 7, 12)");

    // None of the failures touched the existing output or left a temporary file.
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// ---------------------------------------------------------------------------------------
// file --animation

/// The animation written by a `file` run is the export of the poses that run wrote.
#[test]
fn file_run_writes_the_animation_of_its_own_poses() {
    let dir = scratch("anim-file");
    let (video, poses, glb) = (dir.join("out.mp4"), dir.join("poses.jsonl"), dir.join("run.glb"));
    let o = Launch::file(common::sample_clip())
        .with_test_network()
        .max_frames(12)
        .output(&video)
        .poses(&poses)
        .opt("--animation", &glb)
        .run(TIMEOUT);
    let (stdout, stderr) = assert_succeeded(&o);
    assert!(stdout.contains(&format!("animation: {}", glb.display())), "{stdout}\n{stderr}");
    assert!(video.is_file() && poses.is_file() && glb.is_file());
    // The same body as the run (the test network's set-up: the bundled mannequin).
    let again = dir.join("again.glb");
    let o = Launch::new("export").arg(&poses).output(&again).with_test_network().run(TIMEOUT);
    assert_succeeded(&o);
    assert!(
        std::fs::read(&glb).unwrap() == std::fs::read(&again).unwrap(),
        "the run's animation differs from export's"
    );
    if let Some(modules) = validator() {
        assert_valid(&modules, &glb);
    }

    // Without --poses nor -o: the animation alone, and no temporary pose file left behind.
    let only = dir.join("only").join("walk.bvh");
    let o =
        Launch::file(common::sample_clip()).with_test_network().max_frames(6).opt("--animation", &only).run(TIMEOUT);
    let (stdout, _) = assert_succeeded(&o);
    assert_eq!(stdout.trim(), format!("animation: {}", only.display()));
    let names: Vec<String> = std::fs::read_dir(only.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["walk.bvh"]);
    assert!(std::fs::read_to_string(&only).unwrap().contains("Frames: 6\n"));
}

#[test]
fn file_animation_usage_errors() {
    let dir = scratch("anim-file-usage");
    let o = Launch::file(common::sample_clip()).opt("--animation", dir.join("a.fbx")).run(TIMEOUT);
    assert_fails_with(&o, "--animation");
    assert_eq!(o.status.code(), Some(2));
    let o = Launch::file(common::sample_clip()).arg("--no-track").opt("--animation", dir.join("a.glb")).run(TIMEOUT);
    assert_fails_with(&o, "cannot be combined with --no-track");
    let poses = dir.join("p.jsonl");
    let o = Launch::file(common::sample_clip()).poses(&poses).opt("--animation", &poses).run(TIMEOUT);
    assert_fails_with(&o, "--animation");
    assert_eq!(o.status.code(), Some(2));
}

// ---------------------------------------------------------------------------------------
// Silhouette: Blender's render through the exported camera against meshoverlay's

/// meshoverlay's silhouette of one pose line's persons (opaque white over black).
fn meshoverlay_silhouette(line: &Value, body: &BodyModel) -> (u32, u32, Vec<u8>) {
    use gstmeshoverlay::composite::{ChannelOrder, FrameMut};
    use gstmeshoverlay::renderer::{BackendChoice, Renderer};
    use gstmeshoverlay::style::{RenderMode, Style};
    use hmr2_meta::pose::{FramePoses, PersonPose};
    let (width, height) = (line["width"].as_u64().unwrap() as u32, line["height"].as_u64().unwrap() as u32);
    let num = |v: &Value| v.as_f64().unwrap() as f32;
    let mat = |v: &Value| -> [[f32; 3]; 3] { std::array::from_fn(|r| std::array::from_fn(|c| num(&v[r][c]))) };
    let persons = line["persons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PersonPose {
            bbox: std::array::from_fn(|i| num(&p["bbox"][i])),
            score: 1.0,
            track_id: p["track_id"].as_u64(),
            global_orient: mat(&p["smpl"]["global_orient"]),
            body_pose: std::array::from_fn(|j| mat(&p["smpl"]["body_pose"][j])),
            betas: std::array::from_fn(|k| num(&p["smpl"]["betas"][k])),
            cam_t: std::array::from_fn(|a| num(&p["camera"]["cam_t"][a])),
            focal_length: num(&p["camera"]["focal_length"]),
            principal_point: std::array::from_fn(|a| num(&p["camera"]["principal_point"][a])),
            ..Default::default()
        })
        .collect();
    let poses = FramePoses { frame_width: width, frame_height: height, persons };
    let mut renderer = Renderer::new(body, BackendChoice::Auto).expect("a GPU adapter (lavapipe will do)");
    let mut pixels = vec![0u8; (width * height * 4) as usize];
    for px in pixels.chunks_exact_mut(4) {
        px[3] = 255;
    }
    let style = Style { mode: RenderMode::Solid, color: 0xFFFF_FFFF, opacity: 1.0 };
    renderer.render(&poses, &style, &mut FrameMut::packed(&mut pixels, width, height, ChannelOrder::Rgba)).unwrap();
    let mask = pixels.chunks_exact(4).map(|p| u8::from(p[0] > 0 || p[1] > 0 || p[2] > 0)).collect();
    (width, height, mask)
}

fn iou(a: &[u8], b: &[u8]) -> (f64, usize, usize) {
    let inter = a.iter().zip(b).filter(|(x, y)| **x == 1 && **y == 1).count();
    let union = a.iter().zip(b).filter(|(x, y)| **x == 1 || **y == 1).count();
    (inter as f64 / union.max(1) as f64, a.iter().filter(|x| **x == 1).count(), b.iter().filter(|x| **x == 1).count())
}

#[test]
fn blender_render_through_the_exported_camera_matches_meshoverlays_silhouette() {
    if blender().is_none() {
        return;
    }
    let dir = scratch("anim-silhouette");
    let body = BodyModel::default_body().unwrap();
    let poses = dir.join("multi.jsonl");
    multi_track_pose_file(&poses);
    let glb = dir.join("multi.glb");
    export(&poses, &glb, &[]);
    let lines: Vec<Value> =
        std::fs::read_to_string(&poses).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // Frame 5: tracks 3 and 7 (12 is not there yet, hidden by its scale key); frame 40: all three.
    for frame in [5usize, 40] {
        let (width, height, reference) = meshoverlay_silhouette(&lines[frame], &body);
        let (png, mask) = (dir.join(&format!("blender-{frame}.png")), dir.join(&format!("blender-{frame}.mask")));
        let mut cmd = Command::new("blender");
        cmd.args(["-b", "--factory-startup", "--python"])
            .arg(repo_root().join("launch/tests/blender/silhouette.py"))
            .arg("--")
            .args([&glb, &png, &mask])
            .args([
                MULTI_FPS.to_string(),
                (frame as f64 / MULTI_FPS).to_string(),
                width.to_string(),
                height.to_string(),
            ]);
        let result = common::run_with_timeout(cmd, Duration::from_secs(300));
        assert!(
            result.status.success() && mask.is_file(),
            "blender failed:\n{}",
            String::from_utf8_lossy(&result.stderr)
        );
        let rendered = std::fs::read(&mask).unwrap();
        assert_eq!(rendered.len(), reference.len());
        let (score, blender_px, overlay_px) = iou(&rendered, &reference);
        eprintln!("frame {frame}: silhouette IoU {score:.4} (Blender {blender_px} px, meshoverlay {overlay_px} px)");
        assert!(overlay_px > 2000, "meshoverlay drew almost nothing ({overlay_px} px)");
        assert!(score >= 0.95, "frame {frame}: IoU {score:.4} (Blender {blender_px} px, meshoverlay {overlay_px} px)");
    }
}
