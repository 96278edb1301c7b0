//! The animation export: every tracked person of a pose file as a skinned, animated glTF 2.0
//! character (`.glb`, `.gltf`) or a BVH skeleton (`.bvh`). Conventions are documented in
//! launch/README.md ("Animation export") and in [`skeleton`] (world frame), [`gltf`]
//! (document layout, absent frames) and [`bvh`] (channels).
//!
//! The camera: the pose metadata gives every person a translation `cam_t` in the frame of a
//! pinhole camera (focal length, principal point) per frame. The export takes the camera as
//! fixed (the default assumption, stated in the summary): one glTF camera at the world
//! origin with the median focal length of the file, and the per-frame `cam_t` becomes the
//! root motion of each body. A principal point away from the image centre cannot be
//! expressed by a glTF camera and is reported.

pub mod bvh;
pub mod gltf;
pub mod influences;
pub mod pose_file;
pub mod rotation;
pub mod skeleton;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use gstmeshoverlay::body_model::BodyModel;

use self::influences::Influences;
use self::pose_file::PoseFile;
use self::skeleton::{JointPose, RestBody, NUM_JOINTS};
use crate::pending_output::PendingOutput;

/// Influences per vertex kept by default: two glTF attribute sets, which hold every weight
/// of the bundled mannequin (2) and of the Anny body (up to 7).
pub const DEFAULT_MAX_INFLUENCES: usize = 8;

/// The video's view, as one fixed camera.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    pub width: u32,
    pub height: u32,
    /// Pixels.
    pub focal_length: f64,
    pub principal_point: [f64; 2],
}

impl View {
    /// Vertical field of view, radians.
    pub fn yfov(&self) -> f64 {
        2.0 * (f64::from(self.height) / (2.0 * self.focal_length)).atan()
    }
}

/// One track, ready to write.
#[derive(Clone, Debug)]
pub struct TrackAnimation {
    pub id: u64,
    /// sRGB colour, meshoverlay's palette colour for the track.
    pub color: [u8; 3],
    /// The body with the track's consolidated shape.
    pub rest: RestBody,
    /// (seconds since the file's first frame, pose) at every frame the track is present.
    pub keys: Vec<(f64, JointPose)>,
    /// The file frame of each key.
    pub key_frames: Vec<usize>,
    /// STEP keys of visibility (time, shown); empty when the track is present in every
    /// frame of the file.
    pub visibility: Vec<(f64, bool)>,
}

/// Everything an export writes.
#[derive(Clone, Debug)]
pub struct Scene {
    pub view: View,
    pub tracks: Vec<TrackAnimation>,
    pub faces: Vec<[u32; 3]>,
    pub influences: Influences,
    /// Time of every frame of the file, seconds since its first.
    pub frame_times: Vec<f64>,
    pub frame_period_s: f64,
    /// What the summary should mention (camera assumptions, dropped data).
    pub notes: Vec<String>,
}

/// Output format, by the extension of the output path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Glb,
    Gltf,
    Bvh,
}

impl Format {
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "glb" => Some(Self::Glb),
            "gltf" => Some(Self::Gltf),
            "bvh" => Some(Self::Bvh),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnimationError {
    #[error("{path}: {source}")]
    PoseFile { path: PathBuf, source: pose_file::PoseFileError },
    #[error("{path}: no track {track} (tracks: {available})")]
    NoSuchTrack { path: PathBuf, track: u64, available: String },
    #[error("{path}: no frame gives the video's size (width and height are 0 on every line)")]
    NoFrameSize { path: PathBuf },
    #[error(transparent)]
    Output(#[from] crate::pending_output::PendingOutputError),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Options of an export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Most skinning influences per vertex (glTF); more are pruned with renormalisation.
    pub max_influences: usize,
    /// Only this track (default: all).
    pub track: Option<u64>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self { max_influences: DEFAULT_MAX_INFLUENCES, track: None }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Builds the scene of a pose file with `body`.
pub fn scene(
    file: &PoseFile,
    body: &BodyModel,
    options: &ExportOptions,
    origin: &Path,
) -> Result<Scene, AnimationError> {
    let mut notes = Vec::new();
    let tracks: Vec<&pose_file::Track> = match options.track {
        Some(id) => vec![file.tracks.get(&id).ok_or_else(|| AnimationError::NoSuchTrack {
            path: origin.to_owned(),
            track: id,
            available: file.tracks.keys().map(u64::to_string).collect::<Vec<_>>().join(", "),
        })?],
        None => file.tracks.values().collect(),
    };
    let frame = file
        .frames
        .iter()
        .find(|f| f.width > 0 && f.height > 0)
        .ok_or_else(|| AnimationError::NoFrameSize { path: origin.to_owned() })?;
    let all = tracks.iter().flat_map(|t| &t.frames);
    let focals: Vec<f64> = all.clone().map(|f| f.focal_length).collect();
    let (lo, hi) = focals.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &f| (lo.min(f), hi.max(f)));
    let view = View {
        width: frame.width,
        height: frame.height,
        focal_length: median(focals),
        principal_point: [0, 1].map(|a| median(all.clone().map(|f| f.principal_point[a]).collect())),
    };
    if hi - lo > 1e-3 * view.focal_length {
        notes.push(format!(
            "the focal length varies from {lo:.1} to {hi:.1} px; the camera uses the median {:.1} px",
            view.focal_length
        ));
    }
    let centre = [f64::from(view.width) / 2.0, f64::from(view.height) / 2.0];
    let shift = ((view.principal_point[0] - centre[0]).powi(2) + (view.principal_point[1] - centre[1]).powi(2)).sqrt();
    if shift > 0.5 {
        notes.push(format!(
            "the principal point ({:.1}, {:.1}) is {shift:.1} px from the image centre, which a glTF camera cannot express; the camera looks through the centre",
            view.principal_point[0], view.principal_point[1]
        ));
    }

    let frame_times: Vec<f64> = file.frames.iter().map(|f| f.time_s).collect();
    let influences = influences::pack(&body.weights, NUM_JOINTS, options.max_influences);

    if body.has_pose_correctives() {
        notes.push("the body model's pose correctives (posedirs) are not exported: glTF skinning is linear".into());
    }
    let tracks = tracks
        .into_iter()
        .enumerate()
        .map(|(index, track)| {
            let rest = RestBody::new(body, &track.consolidated_betas());
            let keys = track.frames.iter().map(|f| (frame_times[f.frame], JointPose::new(&rest, f))).collect();
            let key_frames: Vec<usize> = track.frames.iter().map(|f| f.frame).collect();
            let mut visibility = Vec::new();
            let mut present = key_frames.iter().peekable();
            let mut shown = None;
            for (k, &time) in frame_times.iter().enumerate() {
                let here = present.next_if(|&&f| f == k).is_some();
                if shown != Some(here) {
                    visibility.push((time, here));
                    shown = Some(here);
                }
            }
            if visibility.len() == 1 {
                visibility.clear();
            }
            let color =
                gstmeshoverlay::style::person_color(gstmeshoverlay::style::PALETTE_COLOR, index, Some(track.id));
            TrackAnimation { id: track.id, color, rest, keys, key_frames, visibility }
        })
        .collect();
    let tracks: Vec<TrackAnimation> = tracks;
    if influences.pruned_vertices > 0 {
        let error = pruning_error(body, &tracks, &influences);
        notes.push(format!(
            "skinning: {} vertices have more than {} influences; the rest was dropped (at most {:.4} of a vertex's weight), which moves a vertex by at most {:.1} mm in this export",
            influences.pruned_vertices,
            options.max_influences,
            influences.max_pruned_weight,
            error * 1e3
        ));
    }
    Ok(Scene {
        view,
        tracks,
        faces: body.faces.clone(),
        influences,
        frame_times,
        frame_period_s: file.frame_period_s,
        notes,
    })
}

/// The largest distance, over every key of every track, between a pruned vertex skinned
/// with all its weights and with the kept ones, metres.
pub fn pruning_error(body: &BodyModel, tracks: &[TrackAnimation], influences: &Influences) -> f64 {
    let mut worst = 0.0f64;
    for track in tracks {
        for (_, pose) in &track.keys {
            let world = pose.world_transforms(&track.rest);
            for &v in &influences.pruned {
                let v = v as usize;
                let vertex = track.rest.vertices[v];
                let row = &body.weights[v * NUM_JOINTS..(v + 1) * NUM_JOINTS];
                let full = pose.skin_vertex(&track.rest, &world, vertex, row.iter().copied().enumerate());
                let kept = pose.skin_vertex(&track.rest, &world, vertex, influences.of_vertex(v));
                let d = (0..3).map(|a| (full[a] - kept[a]).powi(2)).sum::<f64>().sqrt();
                worst = worst.max(d);
            }
        }
    }
    worst
}

/// The BVH path of track `id` when an export writes one file per track: `walk.bvh` →
/// `walk-track-ID.bvh`.
pub fn bvh_track_path(out: &Path, id: u64) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    out.with_file_name(format!("{stem}-track-{id}.bvh"))
}

/// Writes `scene` to `out` (and, for BVH with several tracks, one file per track beside it)
/// through temporary files renamed into place once all are complete; the files written.
pub fn write(scene: &Scene, out: &Path, format: Format) -> Result<Vec<PathBuf>, AnimationError> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| AnimationError::Write { path, source }
    };
    match format {
        Format::Glb | Format::Gltf => {
            let doc = gltf::build(scene);
            let mut bytes = Vec::new();
            match format {
                Format::Glb => gltf::write_glb(&doc, &mut bytes),
                _ => gltf::write_gltf(&doc, &mut bytes),
            }
            .map_err(write_error(out))?;
            files.push((out.to_owned(), bytes));
        }
        Format::Bvh => {
            for track in &scene.tracks {
                let path = if scene.tracks.len() == 1 { out.to_owned() } else { bvh_track_path(out, track.id) };
                files.push((path, bvh::write(track, &scene.frame_times, scene.frame_period_s).into_bytes()));
            }
        }
    }
    let mut pending = Vec::new();
    for (path, bytes) in &files {
        let output = PendingOutput::create(path)?;
        output.writer().and_then(|mut w| w.write_all(bytes)).map_err(write_error(path))?;
        pending.push(output);
    }
    // Only now that every file is complete does any of them replace its target.
    for output in pending {
        output.commit()?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

/// Reads a pose file.
pub fn read_poses(path: &Path) -> Result<PoseFile, AnimationError> {
    let wrap = |source| AnimationError::PoseFile { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(|e| wrap(pose_file::PoseFileError::Read(e)))?;
    pose_file::read(std::io::BufReader::new(file)).map_err(wrap)
}
