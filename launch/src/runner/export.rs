//! `export`: a pose file into an animation file, and the same step at the end of a
//! `file --animation` run.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use gstmeshoverlay::body_model::BodyModel;

use crate::animation::{self, ExportOptions, Format};
use crate::cli::{AnimationOptions, ExportArgs};
use crate::{say, Failure, Outcome};

/// Warnings about single lines printed before the rest are only counted.
const WARNINGS_SHOWN: usize = 10;

/// The output's format, or a usage error naming the accepted extensions.
pub fn output_format(output: &Path, option: &str) -> Result<Format, Failure> {
    Format::from_path(output).ok_or_else(|| {
        Failure::usage(format!("{option} {}: the extension must be .glb, .gltf or .bvh", output.display()))
    })
}

/// The body the animation carries: the one given, else meshoverlay's default.
pub fn load_body(options: &AnimationOptions) -> Result<BodyModel, Failure> {
    match &options.body_model {
        Some(path) => BodyModel::from_file(path),
        None => BodyModel::default_body(),
    }
    .map_err(|e| Failure::runtime(e.to_string()))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Converts `poses` into `output`, saying what it did; the files written.
pub fn export(
    poses: &Path,
    output: &Path,
    options: &AnimationOptions,
    body: &BodyModel,
) -> Result<Vec<PathBuf>, Failure> {
    let started = Instant::now();
    let format = output_format(output, "-o")?;
    let file = animation::read_poses(poses).map_err(|e| Failure::runtime(e.to_string()))?;
    for warning in file.warnings.iter().take(WARNINGS_SHOWN) {
        say!("hmr2-launch: warning: {}: {warning}", poses.display());
    }
    if file.warnings.len() > WARNINGS_SHOWN {
        say!("hmr2-launch: warning: {}: {} more warnings", poses.display(), file.warnings.len() - WARNINGS_SHOWN);
    }
    let export_options = ExportOptions { max_influences: options.max_influences as usize, track: options.track };
    let scene = animation::scene(&file, body, &export_options, poses).map_err(|e| Failure::runtime(e.to_string()))?;
    for note in &scene.notes {
        say!("hmr2-launch: note: {note}");
    }
    let written = animation::write(&scene, output, format).map_err(|e| Failure::runtime(e.to_string()))?;
    let ids: Vec<String> = scene.tracks.iter().map(|t| t.id.to_string()).collect();
    let duration = scene.frame_times.last().copied().unwrap_or(0.0) + scene.frame_period_s;
    say!(
        "hmr2-launch: animation: {} track{} ({}) over {} frames ({duration:.2} s), camera {}x{} with a {:.1}° vertical field of view, in {:.2} s",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        ids.join(", "),
        scene.frame_times.len(),
        scene.view.width,
        scene.view.height,
        scene.view.yfov().to_degrees(),
        started.elapsed().as_secs_f64()
    );
    if format == Format::Bvh {
        for track in &scene.tracks {
            let (first, last) = (track.key_frames[0], track.key_frames[track.key_frames.len() - 1]);
            let missing = last - first + 1 - track.key_frames.len();
            say!(
                "hmr2-launch: track {}: BVH frames are video frames {first}–{last} (from {:.3} s){}",
                track.id,
                scene.frame_times[first],
                if missing > 0 { format!("; {missing} missing frames interpolated") } else { String::new() }
            );
        }
    }
    for path in &written {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let size = if size >= 1_000_000 {
            format!("{:.1} MB", size as f64 / 1e6)
        } else {
            format!("{:.0} kB", size as f64 / 1e3)
        };
        say!("hmr2-launch: wrote {} ({size})", path.display());
    }
    Ok(written)
}

pub fn run_export(args: &ExportArgs) -> Result<Outcome, Failure> {
    output_format(&args.output, "-o")?;
    if same_file(&args.poses, &args.output) {
        return Err(Failure::usage(format!(
            "-o {} is the pose file: refusing to overwrite a file the run reads",
            args.output.display()
        )));
    }
    if !args.poses.is_file() {
        return Err(Failure::runtime(format!("pose file not found: {}", args.poses.display())));
    }
    let body = load_body(&args.animation)?;
    let written = export(&args.poses, &args.output, &args.animation, &body)?;
    let mut stdout = std::io::stdout().lock();
    for path in written {
        let _ = writeln!(stdout, "animation: {}", path.display());
    }
    Ok(Outcome::Complete)
}
