//! The pose tap: a pad probe after hmr2pose that counts people and writes one JSON line per
//! frame (`--poses`). The schema is documented in launch/README.md.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::{Arc, Mutex};

use gst::prelude::*;
use hmr2_meta::math::Mat3;
use hmr2_meta::pose::{FramePoses, PersonPose, NUM_BETAS, NUM_BODY_JOINTS};
use serde::Serialize;

/// One line of the JSONL file.
#[derive(Debug, Serialize)]
pub struct FrameLine<'a> {
    /// 0-based index of the frame in the output.
    pub frame_index: u64,
    /// Presentation timestamp in nanoseconds (null when the buffer had none).
    pub timestamp_ns: Option<u64>,
    /// Frame duration in nanoseconds (null when unknown).
    pub duration_ns: Option<u64>,
    /// Size of the frame the poses refer to (0 when the frame carried no pose metadata and
    /// no caps were known).
    pub width: u32,
    pub height: u32,
    /// Pixel aspect ratio of the stream (numerator, denominator): the cameras are in
    /// display geometry, `width × num / den` pixels wide.
    pub pixel_aspect_ratio: [u32; 2],
    /// Whether the frame carried hmr2 pose metadata.
    pub has_poses: bool,
    pub persons: Vec<PersonLine<'a>>,
}

#[derive(Debug, Serialize)]
pub struct PersonLine<'a> {
    /// x0, y0, x1, y1 in full-frame pixels.
    pub bbox: &'a [f32; 4],
    pub score: f32,
    /// Track id, null when the person is not tracked.
    pub track_id: Option<u64>,
    /// Not detected in this frame: the tracker's prediction filling a gap.
    pub predicted: bool,
    pub smpl: SmplLine<'a>,
    pub camera: CameraLine<'a>,
}

#[derive(Debug, Serialize)]
pub struct SmplLine<'a> {
    /// 3x3 root rotation (row-major rows), OpenCV camera frame.
    pub global_orient: &'a Mat3,
    /// 23 x 3x3 rotations of SMPL joints 1..23 relative to their parents.
    pub body_pose: &'a [Mat3; NUM_BODY_JOINTS],
    /// 10 shape coefficients.
    pub betas: &'a [f32; NUM_BETAS],
}

#[derive(Debug, Serialize)]
pub struct CameraLine<'a> {
    /// Full-frame translation (tx, ty, tz) in metres.
    pub cam_t: &'a [f32; 3],
    /// Full-frame focal length in pixels.
    pub focal_length: f32,
    /// Principal point (cx, cy) in pixels.
    pub principal_point: &'a [f32; 2],
    /// The network's weak-perspective crop camera (s, tx, ty).
    pub pred_cam: &'a [f32; 3],
}

impl<'a> PersonLine<'a> {
    pub fn new(p: &'a PersonPose) -> Self {
        Self {
            bbox: &p.bbox,
            score: p.score,
            track_id: p.track_id,
            predicted: p.predicted,
            smpl: SmplLine { global_orient: &p.global_orient, body_pose: &p.body_pose, betas: &p.betas },
            camera: CameraLine {
                cam_t: &p.cam_t,
                focal_length: p.focal_length,
                principal_point: &p.principal_point,
                pred_cam: &p.pred_cam,
            },
        }
    }
}

/// Counts gathered by the tap, for the summary.
#[derive(Debug, Default, Clone)]
pub struct PoseCounts {
    pub frames: u64,
    pub frames_with_meta: u64,
    pub frames_with_persons: u64,
    pub persons: u64,
    pub max_persons: usize,
    pub track_ids: HashSet<u64>,
    pub meta_errors: u64,
    pub first_meta_error: Option<String>,
}

/// The tap's state, shared between the streaming thread and the main thread.
pub struct PoseTap {
    writer: Option<BufWriter<File>>,
    pub counts: PoseCounts,
    /// The first write that failed; later frames are not written.
    pub write_error: Option<std::io::Error>,
    /// Frame size from the caps, used for frames without metadata.
    pub caps_size: (u32, u32),
    /// The stream's time segment: pose times are running times, as the muxer writes them,
    /// so they equal the output video's times (a decoder delay or a transport stream's
    /// start offset lives in the segment, not in the output).
    pub segment: Option<gst::FormattedSegment<gst::ClockTime>>,
    /// Pixel aspect ratio from the caps.
    pub caps_pixel_aspect: [u32; 2],
}

pub type SharedTap = Arc<Mutex<PoseTap>>;

impl PoseTap {
    /// A tap writing to `file` (None: counting only).
    pub fn new(file: Option<File>) -> Self {
        Self {
            writer: file.map(BufWriter::new),
            counts: PoseCounts::default(),
            write_error: None,
            caps_size: (0, 0),
            segment: None,
            caps_pixel_aspect: [1, 1],
        }
    }

    /// The output's time of a frame stamped `pts`: its running time in the segment (the
    /// timestamp itself while no segment was seen).
    pub fn output_time(&self, pts: Option<gst::ClockTime>) -> Option<gst::ClockTime> {
        match &self.segment {
            Some(segment) => pts.and_then(|p| segment.to_running_time(p)),
            None => pts,
        }
    }

    /// Handles one buffer leaving hmr2pose.
    pub fn on_buffer(&mut self, buffer: &gst::BufferRef) {
        let index = self.counts.frames;
        self.counts.frames += 1;
        let poses = match FramePoses::from_buffer(buffer) {
            Ok(p) => p,
            Err(e) => {
                self.counts.meta_errors += 1;
                self.counts.first_meta_error.get_or_insert_with(|| e.to_string());
                None
            }
        };
        if let Some(p) = &poses {
            self.counts.frames_with_meta += 1;
            let n = p.persons.len();
            self.counts.persons += n as u64;
            if n > 0 {
                self.counts.frames_with_persons += 1;
            }
            self.counts.max_persons = self.counts.max_persons.max(n);
            self.counts.track_ids.extend(p.persons.iter().filter_map(|q| q.track_id));
        }
        if self.writer.is_none() || self.write_error.is_some() {
            return;
        }
        let (width, height) = match &poses {
            Some(p) => (p.frame_width, p.frame_height),
            None => self.caps_size,
        };
        let line = FrameLine {
            frame_index: index,
            timestamp_ns: self.output_time(buffer.pts()).map(|t| t.nseconds()),
            duration_ns: buffer.duration().map(|t| t.nseconds()),
            width,
            height,
            pixel_aspect_ratio: self.caps_pixel_aspect,
            has_poses: poses.is_some(),
            persons: poses.as_ref().map_or_else(Vec::new, |p| p.persons.iter().map(PersonLine::new).collect()),
        };
        let result = (|| -> std::io::Result<()> {
            let w = self.writer.as_mut().expect("checked above");
            serde_json::to_writer(&mut *w, &line)?;
            w.write_all(b"\n")?;
            // One line per frame is small; flushing keeps the file readable while running.
            w.flush()
        })();
        if let Err(e) = result {
            self.write_error = Some(e);
        }
    }

    /// Flushes and closes the file; the first write error, if any.
    pub fn finish(&mut self) -> Result<(), PoseWriteError> {
        if let Some(mut w) = self.writer.take() {
            if let Err(e) = w.flush() {
                self.write_error.get_or_insert(e);
            }
        }
        match self.write_error.take() {
            Some(source) => Err(PoseWriteError(source)),
            None => Ok(()),
        }
    }
}

/// Writing the pose file failed (the disk is full, the file system went away, ...).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the poses: {0}")]
pub struct PoseWriteError(#[source] pub std::io::Error);

/// Installs the tap on `pad` (the source pad of hmr2pose).
pub fn install(pad: &gst::Pad, tap: SharedTap) {
    pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_pad, info| {
            let mut tap = tap.lock().unwrap_or_else(|e| e.into_inner());
            match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => tap.on_buffer(b),
                Some(gst::PadProbeData::BufferList(list)) => {
                    for b in list.iter() {
                        tap.on_buffer(b);
                    }
                }
                Some(gst::PadProbeData::Event(ev)) => match ev.view() {
                    gst::EventView::Caps(c) => {
                        if let Ok(info) = gst_video::VideoInfo::from_caps(c.caps()) {
                            tap.caps_size = (info.width(), info.height());
                            let par = info.par();
                            if par.numer() > 0 && par.denom() > 0 {
                                tap.caps_pixel_aspect = [par.numer() as u32, par.denom() as u32];
                            }
                        }
                    }
                    gst::EventView::Segment(s) => {
                        tap.segment = s.segment().downcast_ref::<gst::ClockTime>().cloned();
                    }
                    _ => {}
                },
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_schema() {
        gst::init().unwrap();
        let dir = std::env::temp_dir().join(format!("hmr2-launch-poses-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.jsonl");
        let mut tap = PoseTap::new(Some(File::create(&path).unwrap()));
        let mut buffer = gst::Buffer::with_size(4).unwrap();
        {
            let b = buffer.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_mseconds(40));
            let poses = FramePoses {
                frame_width: 640,
                frame_height: 360,
                persons: vec![
                    PersonPose { track_id: Some(3), ..Default::default() },
                    PersonPose { track_id: Some(4), score: 0.0, predicted: true, ..Default::default() },
                ],
            };
            poses.attach(b).unwrap();
        }
        tap.on_buffer(&buffer);
        tap.on_buffer(&gst::Buffer::with_size(4).unwrap());
        tap.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["frame_index"], 0);
        assert_eq!(lines[0]["timestamp_ns"], 40_000_000);
        assert_eq!(lines[0]["width"], 640);
        let p = &lines[0]["persons"][0];
        assert_eq!(p["track_id"], 3);
        assert_eq!(p["predicted"], false);
        assert_eq!(lines[0]["persons"][1]["predicted"], true);
        assert_eq!(p["smpl"]["body_pose"].as_array().unwrap().len(), 23);
        assert_eq!(p["smpl"]["global_orient"][2][2], 1.0);
        assert_eq!(p["smpl"]["betas"].as_array().unwrap().len(), 10);
        assert_eq!(p["camera"]["cam_t"].as_array().unwrap().len(), 3);
        assert_eq!(lines[1]["has_poses"], false);
        assert_eq!(lines[1]["persons"].as_array().unwrap().len(), 0);
        assert_eq!(tap.counts.persons, 2);
        assert_eq!(tap.counts.frames, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
