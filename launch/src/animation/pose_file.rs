//! Reading a pose file (`--poses` JSON Lines, schema in launch/README.md) into tracks: the
//! frames of each track id with their rotations, translation, shape and camera, on the
//! file's timeline. Problems are reported with the line they are on.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde::Deserialize;

use super::rotation::Mat3d;
use super::skeleton::NUM_JOINTS;

/// Shape coefficients a pose line carries.
pub const NUM_BETAS: usize = hmr2_meta::pose::NUM_BETAS;

/// Frame period assumed when the file has neither timestamps nor durations.
pub const FALLBACK_FRAME_PERIOD_S: f64 = 1.0 / 30.0;

/// Why a pose file cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum PoseFileError {
    #[error("cannot read the pose file: {0}")]
    Read(#[source] std::io::Error),
    #[error("line {line}: {problem}")]
    Line { line: usize, problem: String },
    #[error("the pose file has no pose lines")]
    Empty,
    #[error(
        "no tracked person in {lines} lines ({untracked} persons without a track id{hint}): an animation follows a track"
    )]
    NoTrackedPerson { lines: usize, untracked: u64, hint: &'static str },
}

/// A number as the pose file writes it: non-finite values are `null`.
type Num = Option<f32>;

#[derive(Deserialize)]
struct LineIn {
    frame_index: u64,
    timestamp_ns: Option<u64>,
    duration_ns: Option<u64>,
    width: u32,
    height: u32,
    persons: Vec<PersonIn>,
}

#[derive(Deserialize)]
struct PersonIn {
    track_id: Option<u64>,
    smpl: SmplIn,
    camera: CameraIn,
}

#[derive(Deserialize)]
struct SmplIn {
    global_orient: [[Num; 3]; 3],
    body_pose: Vec<[[Num; 3]; 3]>,
    betas: Vec<Num>,
}

#[derive(Deserialize)]
struct CameraIn {
    cam_t: [Num; 3],
    focal_length: Num,
    principal_point: [Num; 2],
}

/// One frame of the file (every line, with or without persons).
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// 1-based line number in the file.
    pub line: usize,
    pub frame_index: u64,
    /// Seconds since the first line's frame.
    pub time_s: f64,
    pub width: u32,
    pub height: u32,
}

/// One tracked person in one frame, as the metadata gives it (camera frame).
#[derive(Clone, Debug, PartialEq)]
pub struct TrackFrame {
    /// Index into [`PoseFile::frames`].
    pub frame: usize,
    /// `rotations[0]`: root orientation in the camera frame; `rotations[j]`: joint j relative
    /// to its parent.
    pub rotations: [Mat3d; NUM_JOINTS],
    /// Full-frame translation, metres, camera frame.
    pub cam_t: [f64; 3],
    pub betas: [f64; NUM_BETAS],
    pub focal_length: f64,
    pub principal_point: [f64; 2],
}

/// The frames of one track id, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    pub id: u64,
    pub frames: Vec<TrackFrame>,
}

impl Track {
    /// The track's one shape: the mean of its frames' coefficients.
    pub fn consolidated_betas(&self) -> [f64; NUM_BETAS] {
        let n = self.frames.len().max(1) as f64;
        std::array::from_fn(|i| self.frames.iter().map(|f| f.betas[i]).sum::<f64>() / n)
    }
}

/// A whole pose file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoseFile {
    pub frames: Vec<Frame>,
    /// By track id.
    pub tracks: BTreeMap<u64, Track>,
    /// Seconds between frames (the median duration, else the median timestamp step).
    pub frame_period_s: f64,
    /// Things left out, one line each, naming the file line.
    pub warnings: Vec<String>,
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

fn finite_matrix(m: &[[Num; 3]; 3]) -> Option<Mat3d> {
    let mut out = [[0.0; 3]; 3];
    for (row_out, row) in out.iter_mut().zip(m) {
        for (o, v) in row_out.iter_mut().zip(row) {
            *o = f64::from(v.filter(|v| v.is_finite())?);
        }
    }
    Some(out)
}

fn finite_array<const N: usize>(values: &[Num; N]) -> Option<[f64; N]> {
    let mut out = [0.0; N];
    for (o, v) in out.iter_mut().zip(values) {
        *o = f64::from(v.filter(|v| v.is_finite())?);
    }
    Some(out)
}

/// A tracked person read from a line; Err names what is unusable (the person is left out).
fn read_person(person: &PersonIn, frame: usize) -> Result<TrackFrame, String> {
    let mut rotations = [[[0.0; 3]; 3]; NUM_JOINTS];
    rotations[0] = finite_matrix(&person.smpl.global_orient).ok_or("smpl.global_orient is not finite (NaN or null)")?;
    for (j, m) in person.smpl.body_pose.iter().enumerate() {
        rotations[j + 1] =
            finite_matrix(m).ok_or_else(|| format!("smpl.body_pose[{j}] is not finite (NaN or null)"))?;
    }
    let cam_t = finite_array(&person.camera.cam_t).ok_or("camera.cam_t is not finite (NaN or null)")?;
    if cam_t[2] <= 0.0 {
        return Err(format!("camera.cam_t puts the body behind the camera (z = {})", cam_t[2]));
    }
    let mut betas = [0.0; NUM_BETAS];
    for (i, b) in person.smpl.betas.iter().take(NUM_BETAS).enumerate() {
        betas[i] = f64::from(b.filter(|b| b.is_finite()).ok_or_else(|| format!("smpl.betas[{i}] is not finite"))?);
    }
    let focal = person
        .camera
        .focal_length
        .filter(|f| f.is_finite() && *f > 0.0)
        .ok_or("camera.focal_length is not a positive number")?;
    let principal = finite_array(&person.camera.principal_point).ok_or("camera.principal_point is not finite")?;
    Ok(TrackFrame { frame, rotations, cam_t, betas, focal_length: f64::from(focal), principal_point: principal })
}

/// Reads a pose file. Lines that are not pose lines, or persons with the wrong number of
/// rotations, are errors; tracked persons with unusable numbers are left out with a warning.
pub fn read(reader: impl BufRead) -> Result<PoseFile, PoseFileError> {
    let mut file = PoseFile::default();
    let mut first_timestamp: Option<u64> = None;
    let mut durations = Vec::new();
    let mut steps = Vec::new();
    let mut untracked = 0u64;
    // Lines without a timestamp are placed after the previous line by one frame period,
    // which is known only at the end: keep their frame steps symbolic until then.
    let mut times: Vec<Option<f64>> = Vec::new();
    let mut previous_ns: Option<u64> = None;
    for (number, text) in reader.lines().enumerate() {
        let line = number + 1;
        let text = text.map_err(PoseFileError::Read)?;
        if text.trim().is_empty() {
            continue;
        }
        let parsed: LineIn = serde_json::from_str(&text)
            .map_err(|e| PoseFileError::Line { line, problem: format!("not a pose line: {e}") })?;
        if let Some(ts) = parsed.timestamp_ns {
            if let Some(prev) = previous_ns {
                if ts <= prev {
                    return Err(PoseFileError::Line {
                        line,
                        problem: format!("timestamp_ns {ts} does not follow the previous line's ({prev})"),
                    });
                }
                steps.push((ts - prev) as f64 * 1e-9);
            }
            previous_ns = Some(ts);
        }
        let t0 = *first_timestamp.get_or_insert(parsed.timestamp_ns.unwrap_or(0));
        times.push(parsed.timestamp_ns.map(|ts| ts.saturating_sub(t0) as f64 * 1e-9));
        if let Some(d) = parsed.duration_ns.filter(|d| *d > 0) {
            durations.push(d as f64 * 1e-9);
        }
        let frame = file.frames.len();
        file.frames.push(Frame {
            line,
            frame_index: parsed.frame_index,
            time_s: 0.0,
            width: parsed.width,
            height: parsed.height,
        });
        for (k, person) in parsed.persons.iter().enumerate() {
            if person.smpl.body_pose.len() != NUM_JOINTS - 1 {
                return Err(PoseFileError::Line {
                    line,
                    problem: format!(
                        "persons[{k}].smpl.body_pose has {} rotations, expected {}",
                        person.smpl.body_pose.len(),
                        NUM_JOINTS - 1
                    ),
                });
            }
            let Some(id) = person.track_id else {
                untracked += 1;
                continue;
            };
            let track = file.tracks.entry(id).or_insert_with(|| Track { id, frames: Vec::new() });
            if track.frames.last().is_some_and(|f| f.frame == frame) {
                file.warnings.push(format!("line {line}: track {id} appears twice; persons[{k}] is left out"));
                continue;
            }
            match read_person(person, frame) {
                Ok(track_frame) => track.frames.push(track_frame),
                Err(problem) => file.warnings.push(format!(
                    "line {line}: track {id} (persons[{k}]): {problem}; the track is hidden in that frame"
                )),
            }
        }
    }
    if file.frames.is_empty() {
        return Err(PoseFileError::Empty);
    }
    file.tracks.retain(|_, t| !t.frames.is_empty());
    if file.tracks.is_empty() {
        let hint = if untracked > 0 { "; was the run made with --no-track?" } else { "" };
        return Err(PoseFileError::NoTrackedPerson { lines: file.frames.len(), untracked, hint });
    }
    file.frame_period_s = median(durations).or_else(|| median(steps)).unwrap_or_else(|| {
        file.warnings.push(format!(
            "the file has no timestamps or durations: {} frames/s assumed",
            (1.0 / FALLBACK_FRAME_PERIOD_S).round()
        ));
        FALLBACK_FRAME_PERIOD_S
    });
    let mut previous = -file.frame_period_s;
    for (frame, time) in file.frames.iter_mut().zip(times) {
        frame.time_s = time.filter(|t| *t > previous).unwrap_or(previous + file.frame_period_s);
        previous = frame.time_s;
    }
    if untracked > 0 {
        file.warnings.push(format!("{untracked} persons without a track id are left out"));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(track: Option<u64>, orient00: &str) -> String {
        let rot = "[[1,0,0],[0,1,0],[0,0,1]]";
        let body: Vec<&str> = vec![rot; 23];
        let track = track.map_or("null".to_string(), |t| t.to_string());
        format!(
            r#"{{"bbox":[0,0,1,1],"score":1,"track_id":{track},"smpl":{{"global_orient":[[{orient00},0,0],[0,-1,0],[0,0,-1]],"body_pose":[{}],"betas":[0.5,0,0,0,0,0,0,0,0,0]}},"camera":{{"cam_t":[0,0.2,10],"focal_length":500,"principal_point":[320,180],"pred_cam":[1,0,0]}}}}"#,
            body.join(",")
        )
    }

    fn line(index: u64, persons: &[String]) -> String {
        format!(
            r#"{{"frame_index":{index},"timestamp_ns":{},"duration_ns":40000000,"width":640,"height":360,"has_poses":true,"persons":[{}]}}"#,
            1_000_000_000 + index * 40_000_000,
            persons.join(",")
        )
    }

    #[test]
    fn groups_persons_by_track_on_the_file_timeline() {
        let text = [
            line(0, &[person(Some(4), "1"), person(Some(2), "1")]),
            line(1, &[person(Some(4), "1")]),
            String::new(),
            line(2, &[person(Some(2), "1"), person(None, "1")]),
        ]
        .join("\n");
        let file = read(text.as_bytes()).unwrap();
        assert_eq!(file.frames.len(), 3);
        assert_eq!(file.frames[2].line, 4);
        assert!((file.frames[2].time_s - 0.08).abs() < 1e-12);
        assert!((file.frame_period_s - 0.04).abs() < 1e-12);
        assert_eq!(file.tracks.keys().copied().collect::<Vec<_>>(), [2, 4]);
        assert_eq!(file.tracks[&2].frames.iter().map(|f| f.frame).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(file.tracks[&4].frames[0].cam_t, [0.0, 0.2f32 as f64, 10.0]);
        assert_eq!(file.tracks[&4].consolidated_betas()[0], 0.5);
        assert_eq!(file.warnings, ["1 persons without a track id are left out"]);
    }

    #[test]
    fn a_malformed_line_is_an_error_naming_it() {
        let text = [line(0, &[person(Some(1), "1")]), "{\"frame_index\": 1, ".into()].join("\n");
        let err = read(text.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("line 2: not a pose line: "), "{err}");
        let short = line(0, &[person(Some(1), "1").replacen("[[1,0,0],[0,1,0],[0,0,1]],", "", 1)]);
        let err = read(short.as_bytes()).unwrap_err().to_string();
        assert_eq!(err, "line 1: persons[0].smpl.body_pose has 22 rotations, expected 23");
    }

    #[test]
    fn non_finite_rotations_hide_the_track_in_that_frame_with_a_warning() {
        let text = [line(0, &[person(Some(1), "1")]), line(1, &[person(Some(1), "null")])].join("\n");
        let file = read(text.as_bytes()).unwrap();
        assert_eq!(file.tracks[&1].frames.len(), 1);
        assert_eq!(
            file.warnings,
            ["line 2: track 1 (persons[0]): smpl.global_orient is not finite (NaN or null); the track is hidden in that frame"]
        );
    }

    #[test]
    fn no_tracked_person_is_an_error() {
        let text = [line(0, &[person(None, "1")]), line(1, &[])].join("\n");
        let err = read(text.as_bytes()).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "no tracked person in 2 lines (1 persons without a track id; was the run made with --no-track?)"
            ),
            "{err}"
        );
        assert!(matches!(read("\n".as_bytes()), Err(PoseFileError::Empty)));
    }

    #[test]
    fn timestamps_must_increase() {
        let text = [line(1, &[person(Some(1), "1")]), line(0, &[person(Some(1), "1")])].join("\n");
        let err = read(text.as_bytes()).unwrap_err().to_string();
        assert_eq!(err, "line 2: timestamp_ns 1000000000 does not follow the previous line's (1040000000)");
    }
}
