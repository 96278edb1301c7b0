//! The tool never destroys or silently corrupts a user's file: outputs that would overwrite
//! what the run reads are refused, outputs appear only when finished (written beside the
//! target and renamed), SIGTERM and SIGHUP finish them like Ctrl-C, two runs never write
//! one file at once, a truncated input is reported, and --boxes coordinates are bounded.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use hmr2_launch::{EXIT_INTERRUPTED, EXIT_PARTIAL_INPUT, EXIT_USAGE};

const T: Duration = Duration::from_secs(120);

/// No temporary file is left in `dir`.
fn assert_no_temp_files(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(hmr2_launch::pending_output::TEMP_SUFFIX))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

/// A copy of the sample clip in `dir`, and its bytes.
fn copy_of_the_sample(dir: &Path, name: &str) -> (std::path::PathBuf, Vec<u8>) {
    let path = dir.join(name);
    std::fs::copy(sample_clip(), &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

#[test]
fn an_output_that_is_the_input_is_refused_and_the_input_survives() {
    let dir = scratch("safety-input");
    let (clip, original) = copy_of_the_sample(dir.path(), "clip.mp4");
    std::os::unix::fs::symlink("clip.mp4", dir.join("link.mp4")).unwrap();
    std::fs::hard_link(&clip, dir.join("hard.mp4")).unwrap();
    let cases =
        [("-o", "clip.mp4"), ("-o", "link.mp4"), ("-o", "hard.mp4"), ("--poses", "clip.mp4"), ("--poses", "link.mp4")];
    for (option, name) in cases {
        let mut tool = Launch::file(&clip).opt(option, dir.join(name));
        if option == "--poses" {
            tool = tool.output(dir.join("out.mp4"));
        }
        let o = tool.run(T);
        assert_fails_with(&o, "is the input");
        assert_eq!(o.status.code(), Some(EXIT_USAGE as i32), "{option} {name}");
        assert_eq!(std::fs::read(&clip).unwrap(), original, "{option} {name}: the input changed");
        assert!(dir.join("link.mp4").is_symlink());
        assert!(!dir.join("out.mp4").exists(), "nothing is written");
    }
    assert_no_temp_files(dir.path());
}

#[test]
fn video_and_poses_on_the_same_path_are_refused() {
    let dir = scratch("safety-same-outputs");
    let clip = sample_clip();
    let existing = dir.join("precious.mp4");
    std::fs::write(&existing, b"a file the user keeps").unwrap();
    for target in [existing.clone(), dir.join("new.mp4")] {
        let o =
            Launch::file(&clip).output(&target).poses(dir.path().join(".").join(target.file_name().unwrap())).run(T);
        assert_fails_with(&o, "-o and --poses name the same file");
        assert_eq!(o.status.code(), Some(EXIT_USAGE as i32));
    }
    assert_eq!(std::fs::read(&existing).unwrap(), b"a file the user keeps");
    assert!(!dir.join("new.mp4").exists());
    assert_no_temp_files(dir.path());
}

#[test]
fn a_failed_run_leaves_an_existing_output_alone() {
    let dir = scratch("safety-failed-run");
    let (out, original) = copy_of_the_sample(dir.path(), "out.mp4");
    let poses = dir.join("p.jsonl");
    std::fs::write(&poses, b"earlier poses\n").unwrap();
    let model = dir.join("garbage.onnx");
    std::fs::write(&model, b"not an onnx model").unwrap();
    let o = Launch::file(sample_clip()).output(&out).poses(&poses).opt("--model", &model).run(T);
    assert_fails_with(&o, "pose");
    assert_eq!(std::fs::read(&out).unwrap(), original, "-o was changed");
    assert_eq!(std::fs::read(&poses).unwrap(), b"earlier poses\n");
    // A stream that never delivers a frame: the run ends cleanly, but with nothing to
    // write, so the existing files stay.
    let url = format!("rtsp://127.0.0.1:{}/nothing", free_port());
    let o = Launch::new("rtsp").arg(&url).opt("--max-retries", "0").output(&out).poses(&poses).run(T);
    assert_fails_with(&o, "cannot connect");
    assert_eq!(std::fs::read(&out).unwrap(), original, "-o was changed");
    assert_eq!(std::fs::read(&poses).unwrap(), b"earlier poses\n");
    assert_no_temp_files(dir.path());
}

/// Runs the live test source into a file, stops it with `signal` after 10 frames, and
/// checks the file is finished: it decodes, with one frame per pose line.
fn signal_finishes_the_output(signal: &str) {
    let dir = scratch(&format!("safety-sig{signal}"));
    let out = dir.join("live.mp4");
    let poses = dir.join("live.jsonl");
    let mut tool = Launch::test_source("320x240").output(&out).poses(&poses).spawn();
    tool.wait_until("10 frames", T, |_| lines_written(&poses) >= 10);
    tool.signal(signal);
    let (status, stderr) = tool.wait(T);
    assert_eq!(status.code(), Some(EXIT_INTERRUPTED as i32), "SIG{signal}: {status:?}\n{stderr}");
    assert!(stderr.contains("interrupted after"), "{stderr}");
    let lines = check_pose_file(&poses).len() as u64;
    let decoded = decode(&out);
    assert!(decoded.frames >= 10, "{} frames", decoded.frames);
    assert_eq!(decoded.frames, lines, "one frame per pose line");
    assert!(
        stderr.contains(&format!("wrote {lines} frames to {}", out.display())),
        "the summary says how many frames were written:\n{stderr}"
    );
    assert_no_temp_files(dir.path());
}

#[test]
fn sigterm_finishes_the_output() {
    signal_finishes_the_output("TERM");
}

#[test]
fn sighup_finishes_the_output() {
    signal_finishes_the_output("HUP");
}

#[test]
fn a_second_writer_of_the_same_output_is_refused() {
    let dir = scratch("safety-concurrent");
    let (out, original) = copy_of_the_sample(dir.path(), "out.mp4");
    let poses = dir.join("first.jsonl");
    let mut first = Launch::test_source("320x240").output(&out).poses(&poses).spawn();
    first.wait_until("5 frames", T, |_| lines_written(&poses) >= 5);
    // While the first run writes, the file at -o is still the old one.
    assert_eq!(std::fs::read(&out).unwrap(), original);
    let second = Launch::file(sample_clip()).output(&out).max_frames(5).run(T);
    assert_fails_with(&second, "being written by another hmr2-launch run");
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(std::fs::read(&out).unwrap(), original);
    first.signal("INT");
    let (status, stderr) = first.wait(T);
    assert_eq!(status.code(), Some(EXIT_INTERRUPTED as i32), "{stderr}");
    // The first run's file replaced the old one whole.
    assert_eq!(decode(&out).frames, check_pose_file(&poses).len() as u64);
    assert_no_temp_files(dir.path());
}

#[test]
fn runs_started_together_leave_one_whole_file() {
    let dir = scratch("safety-race");
    let out = dir.join("out.mp4");
    let runs: Vec<Running> =
        (0..2).map(|_| Launch::file(sample_clip()).output(&out).max_frames(30).arg("-q").spawn()).collect();
    let results: Vec<_> = runs.into_iter().map(|r| r.wait(T)).collect();
    let winners = results.iter().filter(|(s, _)| s.success()).count();
    assert!(winners >= 1, "no run succeeded: {results:?}");
    for (status, stderr) in &results {
        if !status.success() {
            assert!(stderr.contains("being written by another hmr2-launch run"), "{stderr}");
        }
    }
    assert_eq!(decode(&out).frames, 30, "the output is whole");
    assert_no_temp_files(dir.path());
}

/// A 3 s, 90-frame MP4 with its index at the front (as a web-ready file), cut in half.
fn truncated_clip(dir: &Path) -> std::path::PathBuf {
    let full = dir.join("full.mp4");
    write_with_gstreamer(&format!(
        "videotestsrc num-buffers=90 pattern=ball ! video/x-raw,width=160,height=120,framerate=30/1 ! \
         x264enc bframes=0 speed-preset=ultrafast ! mp4mux faststart=true ! filesink location=\"{}\"",
        full.display()
    ));
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    cut
}

#[test]
fn a_truncated_input_is_reported() {
    let dir = scratch("safety-truncated");
    let cut = truncated_clip(dir.path());
    let poses = dir.join("p.jsonl");
    // The content does not matter here: full-frame boxes skip any detector.
    let run = |input: &Path| Launch::file(input).poses(&poses).opt("--box-source", "full-frame").arg("-q");
    let o = run(&cut).run(T);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(EXIT_PARTIAL_INPUT as i32), "exit status for a truncated input:\n{stderr}");
    let lines = check_pose_file(&poses).len();
    assert!(lines < 90, "{lines} frames from half a file");
    assert!(stderr.contains(&format!("the input ended early: {lines} of 90 frames")), "{stderr}");
    assert!(stderr.contains("of 3.00 s)"), "{stderr}");
    // Accepted on request: same warning, exit 0.
    let o = run(&cut).arg("--allow-partial").run(T);
    let (_, stderr) = assert_succeeded(&o);
    assert!(stderr.contains("the input ended early"), "{stderr}");
    // The whole file is not reported.
    let o = run(&dir.join("full.mp4")).run(T);
    let (_, stderr) = assert_succeeded(&o);
    assert!(!stderr.contains("ended early"), "{stderr}");
    assert_eq!(check_pose_file(&poses).len(), 90);
}

#[test]
fn a_rejected_boxes_file_leaves_no_poses_file() {
    let dir = scratch("safety-boxes-poses");
    let boxes = dir.join("boxes.jsonl");
    std::fs::write(
        &boxes,
        "{\"frame_index\": 0, \"boxes\": [[10, 10, 50, 90]]}\n\
         {\"frame_index\": 1, \"boxes\": [[50, 10, 10, 90]]}\n",
    )
    .unwrap();
    let poses = dir.join("p.jsonl");
    let o = Launch::file(sample_clip()).opt("--boxes", &boxes).poses(&poses).run(T);
    assert_fails_with(&o, "line 2: box 0");
    assert!(!poses.exists(), "a rejected run left {}", poses.display());
    assert_no_temp_files(dir.path());
}

#[test]
fn boxes_coordinates_must_be_finite_and_bounded() {
    let dir = scratch("safety-boxes-bounds");
    let boxes = dir.join("boxes.jsonl");
    let poses = dir.join("p.jsonl");
    for coordinate in ["1e39", "-1e39", "1e6", "1e400"] {
        std::fs::write(
            &boxes,
            format!(
                "{{\"frame_index\": 0, \"boxes\": [[10, 10, 50, 90]]}}\n\
                 {{\"frame_index\": 1, \"boxes\": [[0, 0, {coordinate}, 90]]}}\n"
            ),
        )
        .unwrap();
        let o = Launch::file(sample_clip()).opt("--boxes", &boxes).poses(&poses).max_frames(3).run(T);
        assert_fails_with(&o, "line 2:");
        assert!(!poses.exists(), "{coordinate}: a pose file was written");
    }
}
