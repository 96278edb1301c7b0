//! The two elements embedded in a third-party application: a PyGObject program
//! (tests/python/embed_app.py) builds its own pipeline with hmr2pose and meshoverlay,
//! loaded from the built plugin libraries through GST_PLUGIN_PATH, and reads the pose
//! metadata of every frame.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SAMPLE_FRAMES: u64 = 90;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Runs `cmd` with a time limit, collecting its output.
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("cannot start the command");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output { status, stdout: out_thread.join().unwrap(), stderr: err_thread.join().unwrap() }
}

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
    let scratch = tempdir("python-embed");
    let mut cmd = Command::new(&python);
    cmd.arg(repo_root().join("tests/python/embed_app.py"))
        .arg(repo_root().join("models/sample/sample.mp4"))
        .args(["--frames", &SAMPLE_FRAMES.to_string()])
        .env("GST_PLUGIN_PATH", &dir)
        // A private registry, so a stale cache of another build is never used.
        .env("GST_REGISTRY", scratch.join("registry.bin"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir());
    let o = run_with_timeout(cmd, Duration::from_secs(240));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "embed_app.py failed:\n{stderr}\n{stdout}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().unwrap())
        .unwrap_or_else(|e| panic!("no JSON summary ({e}): {stdout}"));
    eprintln!("{summary}");
    assert_eq!(summary["frames"].as_u64(), Some(SAMPLE_FRAMES));
    assert_eq!(summary["pose_stats_frames"].as_u64(), Some(SAMPLE_FRAMES));
    assert!(summary["persons"].as_u64().unwrap() > 0, "no person found: {summary}");
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A fresh directory for the test's private GStreamer registry.
fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hmr2-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
