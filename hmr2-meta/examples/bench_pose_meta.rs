//! Benchmark of the pose metadata's structure: writing ([`FramePoses::to_structure`]) and
//! reading ([`FramePoses::from_structure`]) one frame's persons (prints figures; not a test).
//!
//! Run: `cargo run --release -p hmr2-meta --example bench_pose_meta`

use std::hint::black_box;
use std::time::{Duration, Instant};

use hmr2_meta::math::IDENTITY;
use hmr2_meta::pose::{FramePoses, PersonPose, NUM_BETAS, NUM_BODY_JOINTS};

fn frame(persons: usize) -> FramePoses {
    let person = |i: usize| PersonPose {
        bbox: [10.0 * i as f32, 20.0, 110.0 + i as f32, 420.0],
        score: 0.9,
        track_id: Some(i as u64),
        global_orient: IDENTITY,
        body_pose: [IDENTITY; NUM_BODY_JOINTS],
        betas: [0.1; NUM_BETAS],
        pred_cam: [0.8, 0.1, -0.05],
        cam_t: [0.1, 0.2, 30.0],
        focal_length: 5000.0,
        principal_point: [960.0, 540.0],
        predicted: false,
    };
    FramePoses { frame_width: 1920, frame_height: 1080, persons: (0..persons).map(person).collect() }
}

/// Mean time of `f` over repeated runs lasting about half a second.
fn time(mut f: impl FnMut()) -> Duration {
    let (mut runs, start) = (0u32, Instant::now());
    while start.elapsed() < Duration::from_millis(500) {
        for _ in 0..100 {
            f();
        }
        runs += 100;
    }
    start.elapsed() / runs
}

fn main() {
    gst::init().unwrap();
    for persons in [1, 8, 32] {
        let poses = frame(persons);
        let structure = poses.to_structure();
        let write = time(|| {
            black_box(black_box(&poses).to_structure());
        });
        let read = time(|| {
            black_box(FramePoses::from_structure(black_box(&structure)).unwrap());
        });
        println!(
            "{persons:>2} person(s): to_structure {:.2} us, from_structure {:.2} us",
            write.as_secs_f64() * 1e6,
            read.as_secs_f64() * 1e6
        );
    }
}
