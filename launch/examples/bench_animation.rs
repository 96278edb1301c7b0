//! Benchmark of the animation export, printing figures (no pass/fail): a generated pose
//! file of 1,000 frames × 3 tracks (30 frames/s, every track present in every frame, joint
//! rotations of every size) exported with the default body (the set-up's Anny body, else the
//! bundled mannequin) to .glb, .gltf and .bvh: time per stage and file size, and the
//! export's share of a `hmr2-launch file` run of the same frames at a given speed.
//!
//! ```sh
//! cargo run --release -p hmr2-launch --example bench_animation [-- --frames N] [--tracks N] \
//!     [--runs N] [--run-fps F]
//! ```
//!
//! `--run-fps` (default 17, the demo's measured speed on vtest.avi in the README) sets the
//! file run the export is compared with: N frames take N / F seconds.

use std::io::Write as _;
use std::time::{Duration, Instant};

use gstmeshoverlay::body_model::BodyModel;
use hmr2_launch::animation::{self, ExportOptions, Format};
use hmr2_meta::math::axis_angle;
use serde_json::json;

fn pose_file(frames: u64, tracks: u64) -> String {
    let mut text = String::new();
    for k in 0..frames {
        let kf = k as f64;
        let persons: Vec<_> = (1..=tracks)
            .map(|track| {
                let tf = track as f64;
                let body: Vec<_> = (0..23)
                    .map(|j| {
                        let jf = j as f64;
                        axis_angle([(jf + tf).sin(), (jf * 0.7).cos(), 0.4], 2.0 * (0.05 * kf + jf).sin())
                    })
                    .collect();
                json!({"bbox": [0, 0, 1, 1], "score": 1.0, "track_id": track,
                       "smpl": {"global_orient": axis_angle([1.0, 0.1, 0.0], 3.0 + 0.001 * kf), "body_pose": body, "betas": vec![0.0; 10]},
                       "camera": {"cam_t": [tf - 2.0, 0.2, 8.0], "focal_length": 1000.0, "principal_point": [640.0, 360.0], "pred_cam": [1.0, 0.0, 0.0]}})
            })
            .collect();
        let line = json!({"frame_index": k, "timestamp_ns": k * 33_333_333, "duration_ns": 33_333_333,
                          "width": 1280, "height": 720, "has_poses": true, "persons": persons});
        text.push_str(&line.to_string());
        text.push('\n');
    }
    text
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut frames = 1000u64;
    let mut tracks = 3u64;
    let mut runs = 5usize;
    let mut run_fps = 17.0f64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--frames" => frames = value().parse().expect("--frames N"),
            "--tracks" => tracks = value().parse().expect("--tracks N"),
            "--runs" => runs = value().parse().expect("--runs N"),
            "--run-fps" => run_fps = value().parse().expect("--run-fps F"),
            other => panic!("unknown argument {other}"),
        }
    }
    let dir = std::env::temp_dir().join(format!("hmr2-bench-animation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let poses = dir.join("poses.jsonl");
    std::fs::File::create(&poses).unwrap().write_all(pose_file(frames, tracks).as_bytes()).unwrap();
    let body = BodyModel::default_body().unwrap();
    println!(
        "animation export: {frames} frames x {tracks} tracks, body with {} vertices / {} triangles, pose file {:.1} MB, {runs} runs (medians)",
        body.num_vertices,
        body.num_faces(),
        std::fs::metadata(&poses).unwrap().len() as f64 / 1e6
    );
    let run_s = frames as f64 / run_fps;
    for (format, name) in [(Format::Glb, "out.glb"), (Format::Gltf, "out.gltf"), (Format::Bvh, "out.bvh")] {
        let out = dir.join(name);
        let (mut read, mut build, mut write) = (Vec::new(), Vec::new(), Vec::new());
        let mut size = 0;
        for _ in 0..runs {
            let t0 = Instant::now();
            let file = animation::read_poses(&poses).unwrap();
            let t1 = Instant::now();
            let scene = animation::scene(&file, &body, &ExportOptions::default(), &poses).unwrap();
            let t2 = Instant::now();
            let written = animation::write(&scene, &out, format).unwrap();
            let t3 = Instant::now();
            read.push(t1 - t0);
            build.push(t2 - t1);
            write.push(t3 - t2);
            size = written.iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
        }
        let (read, build, write) = (median(read), median(build), median(write));
        let total = (read + build + write).as_secs_f64();
        println!(
            "{:>5}: read {:6.1} ms, scene {:6.1} ms, encode+write {:6.1} ms, total {:6.1} ms; {:6.2} MB; {:.2}% of a {:.0} s file run at {run_fps} frames/s",
            name.trim_start_matches("out."),
            read.as_secs_f64() * 1e3,
            build.as_secs_f64() * 1e3,
            write.as_secs_f64() * 1e3,
            total * 1e3,
            size as f64 / 1e6,
            100.0 * total / run_s,
            run_s
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
