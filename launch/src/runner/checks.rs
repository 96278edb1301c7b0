//! Checks before anything is opened or built: outputs that would overwrite a file the run
//! reads (or each other), files that do not exist, a --boxes file that does not parse.
//! Only then are the outputs' directories created.

use std::path::{Path, PathBuf};

use crate::box_file::BoxTable;
use crate::cli::Common;
use crate::output_paths::{check_outputs, OutputFile, ReadFile};
use crate::plan::Sink;
use crate::Failure;

/// What the checks found.
pub struct Checked {
    pub boxes: Option<BoxTable>,
    /// Where -o and --poses lead (symbolic links followed): the files to replace.
    pub video_target: Option<PathBuf>,
    pub poses_target: Option<PathBuf>,
    /// Where --animation leads.
    pub animation_target: Option<PathBuf>,
}

/// The local file behind an input given as a path or a `file://` URI.
pub fn local_input(input: &str) -> Option<PathBuf> {
    if input.contains("://") {
        gst::glib::filename_from_uri(input).ok().map(|(p, _)| p)
    } else {
        Some(PathBuf::from(input))
    }
}

/// A webcam device must exist and be a character device (V4L2 reports a regular file only
/// as "system error: Success").
pub fn video_device(device: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(device)
        .map_err(|_| Failure::runtime(format!("camera device not found: {}", device.display())))?;
    if meta.file_type().is_char_device() {
        return Ok(());
    }
    let kind = if meta.is_dir() {
        "a directory"
    } else if meta.is_file() {
        "a regular file"
    } else {
        "not a device"
    };
    let hint = if meta.is_file() { " (to process a video file, use: hmr2-launch file PATH)" } else { "" };
    Err(Failure::runtime(format!("{} is not a video device: it is {kind}{hint}", device.display())))
}

/// `input` is the file or device the command reads, if any.
pub fn check(common: &Common, sink: &Sink, input: Option<&Path>) -> Result<Checked, Failure> {
    let video = match sink {
        Sink::File(p) => Some(p.as_path()),
        _ => None,
    };
    let mut reads = vec![];
    if let Some(p) = input {
        reads.push(ReadFile { what: "the input", path: p });
    }
    let named = [
        ("the model", common.pose.model.as_deref()),
        ("the detector model", common.pose.detector.as_deref()),
        ("the body model", common.overlay.body_model.as_deref()),
        ("the boxes file", common.pose.boxes.as_deref()),
    ];
    for (what, path) in named {
        if let Some(path) = path {
            reads.push(ReadFile { what, path });
        }
    }
    if let Some(animation) = &common.animation {
        super::export::output_format(animation, "--animation")?;
        if common.no_track {
            return Err(Failure::usage("--animation follows tracked people: it cannot be combined with --no-track"));
        }
    }
    let outputs: Vec<OutputFile> =
        [("-o", video), ("--poses", common.poses.as_deref()), ("--animation", common.animation.as_deref())]
            .into_iter()
            .filter_map(|(option, p)| Some(OutputFile { option, path: p? }))
            .collect();
    // Resolved in the order given: -o first, then --poses.
    let mut targets =
        check_outputs(&reads, &outputs).map_err(|e| Failure::usage(e.to_string()))?.into_iter().map(|r| r.path);
    let video_target = video.and_then(|_| targets.next());
    let poses_target = common.poses.as_ref().and_then(|_| targets.next());
    let animation_target = common.animation.as_ref().and_then(|_| targets.next());

    for (what, path) in named {
        if let Some(p) = path {
            if !p.is_file() {
                // "the model" → "model file not found: …"
                let what = what.trim_start_matches("the ").trim_end_matches(" file");
                return Err(Failure::runtime(format!("{what} file not found: {}", p.display())));
            }
        }
    }
    let boxes =
        common.pose.boxes.as_deref().map(BoxTable::load).transpose().map_err(|e| Failure::runtime(e.to_string()))?;

    for target in [&video_target, &poses_target, &animation_target].into_iter().flatten() {
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::runtime(format!("cannot create the directory {}: {e}", dir.display())))?;
        }
    }
    Ok(Checked { boxes, video_target, poses_target, animation_target })
}
