//! The two elements embedded in a third-party application: a PyGObject program
//! (tests/python/embed_app.py) builds its own pipeline with hmr2pose and meshoverlay,
//! loaded from the built plugin libraries through GST_PLUGIN_PATH, and reads the pose
//! metadata of every frame.

mod launch_common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use launch_common::*;

/// `target/<profile>`, where `cargo build --workspace` puts the plugin libraries.
fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|deps| deps.parent()).unwrap().to_path_buf()
}

#[test]
fn python_application_embeds_both_elements() {
    let python = repo_root().join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/setup.sh", python.display());
    let dir = build_dir();
    for lib in ["libgsthmr2.so", "libgstmeshoverlay.so"] {
        assert!(
            dir.join(lib).is_file(),
            "{} is missing: build the plugins first (cargo build --workspace, same profile as the tests)",
            dir.join(lib).display()
        );
    }
    let scratch = scratch("python-embed");
    let mut cmd = Command::new(&python);
    cmd.arg(repo_root().join("tests/python/embed_app.py"))
        .arg(sample_clip())
        .args(["--frames", &SAMPLE_FRAMES.to_string()])
        .env("GST_PLUGIN_PATH", &dir)
        // A private registry, so a stale cache of another build is never used.
        .env("GST_REGISTRY", scratch.join("registry.bin"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir());
    let o = run_with_timeout(cmd, Duration::from_secs(240));
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "embed_app.py failed:\n{stderr}\n{stdout}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().unwrap())
        .unwrap_or_else(|e| panic!("no JSON summary ({e}): {stdout}"));
    eprintln!("{summary}");
    assert_eq!(summary["frames"].as_u64(), Some(SAMPLE_FRAMES));
    assert_eq!(summary["pose_stats_frames"].as_u64(), Some(SAMPLE_FRAMES));
    assert!(summary["persons"].as_u64().unwrap() > 0, "no person found: {summary}");
    let _ = std::fs::remove_dir_all(&scratch);
}
