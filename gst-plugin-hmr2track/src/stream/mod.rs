//! One stream's processing, independent of GStreamer: frames (with their poses) and other
//! items (events) go in, in order; they come out in the same order, frames with their
//! persons given track ids and smoothed, `lag` frames later.
//!
//! Per frame:
//! - Persons whose values cannot be tracked ([`PoseSample::from_person`]: non-finite
//!   values, a degenerate box, a body behind the camera) pass through as they are, with no
//!   track id. The rest are associated with the tracks ([`Tracker`]).
//! - Each track's smoother takes its person's sample; when the frame leaves, the person's
//!   rotations and camera translation are replaced by the smoothed ones (the causal filter's
//!   output, or with a lag the fixed-lag estimate), the shape by the track's running mean,
//!   and the track id is set (`None` while the track is not confirmed). With a lag, a
//!   track confirmed within `lag` frames of its first detections gets its id on those
//!   frames too.
//! - A confirmed track missed in this frame for at most `predict_frames` frames in a row,
//!   whose predicted box centre is still in the picture, is added after the detected persons
//!   as a *predicted* person: `predicted` set and score 0, the motion model's box, the smoother's prediction,
//!   the track's id and shape, the other values from its last detection.
//! - Boxes, scores, `pred-cam`, focal length and principal point of detected persons are
//!   left as they came. A frame without poses passes through untouched and leaves the
//!   tracks as they were.

use std::collections::{HashMap, HashSet, VecDeque};

use hmr2_meta::pose::{FramePoses, PersonPose};

use crate::smoothing::one_euro::OneEuroParams;
use crate::smoothing::{PoseSample, SmoothingParams, TrackSmoother};
use crate::track::{Detection, TrackKey, Tracker, TrackerParams};

/// Longest step between two frames' timestamps taken as the time between them, in seconds;
/// a longer step, a step back or a missing timestamp counts as one frame duration.
pub const MAX_TIME_STEP_S: f64 = 1.0;
/// Frame duration assumed until one is known, in seconds.
pub const DEFAULT_FRAME_DURATION_S: f64 = 1.0 / 30.0;

/// Filter settings that let every sample through unchanged (used when smoothing is off,
/// so that predictions still start from the last detection).
const PASS_THROUGH: OneEuroParams = OneEuroParams { min_cutoff: f64::INFINITY, beta: 0.0, derivative_cutoff: 1.0 };

/// Everything the processing is configured by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProcessorParams {
    pub tracker: TrackerParams,
    /// Filters and lag; the lag holds frames even when `smooth` is off.
    pub smoothing: SmoothingParams,
    /// Whether rotations, camera translation and shape are smoothed.
    pub smooth: bool,
    /// Frames in a row a missed confirmed track is filled in with a prediction (0: never).
    pub predict_frames: u32,
}

/// An item leaving the processor.
#[derive(Debug)]
pub enum Output<F, O> {
    /// A frame; `poses` is `None` when it came without poses (it is to pass untouched).
    Frame { item: F, poses: Option<FramePoses> },
    /// Anything else, in its place in the order.
    Other(O),
}

/// Counters since the processor was made.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counters {
    pub frames: u64,
    /// Frames that carried no poses.
    pub frames_without_poses: u64,
    /// Persons that came in.
    pub persons: u64,
    /// Persons that left with a track id.
    pub tracked: u64,
    /// Persons that could not be tracked (unusable values).
    pub untrackable: u64,
    /// Predicted persons added.
    pub predicted: u64,
}

struct HeldFrame<F> {
    item: F,
    seq: u64,
    time: f64,
    poses: Option<FramePoses>,
    /// For each person of `poses`, its track.
    tracks: Vec<Option<TrackKey>>,
    /// Tracks to fill in, with their predicted boxes.
    predicted: Vec<(TrackKey, [f32; 4])>,
}

enum Held<F, O> {
    Frame(HeldFrame<F>),
    Other(O),
}

struct TrackState {
    smoother: TrackSmoother,
    id: Option<u64>,
    /// The last detection, for the values a prediction does not estimate.
    template: PersonPose,
    alive: bool,
}

/// Tracking and smoothing of one stream.
pub struct StreamProcessor<F, O> {
    params: ProcessorParams,
    tracker: Tracker,
    tracks: HashMap<TrackKey, TrackState>,
    held: VecDeque<Held<F, O>>,
    held_frames: usize,
    next_seq: u64,
    last_pts: Option<f64>,
    time: Option<f64>,
    frame_duration: f64,
    counters: Counters,
}

impl<F, O> StreamProcessor<F, O> {
    pub fn new(params: ProcessorParams) -> Self {
        Self {
            params,
            tracker: Tracker::new(params.tracker),
            tracks: HashMap::new(),
            held: VecDeque::new(),
            held_frames: 0,
            next_seq: 0,
            last_pts: None,
            time: None,
            frame_duration: DEFAULT_FRAME_DURATION_S,
            counters: Counters::default(),
        }
    }

    pub fn params(&self) -> &ProcessorParams {
        &self.params
    }

    /// New settings, used from the next frame (a shorter lag releases frames then).
    pub fn set_params(&mut self, params: ProcessorParams) {
        self.params = params;
        self.tracker.set_params(params.tracker);
    }

    /// The nominal frame duration in seconds, for frames without a usable timestamp.
    pub fn set_frame_duration(&mut self, seconds: f64) {
        if seconds.is_finite() && seconds > 0.0 {
            self.frame_duration = seconds;
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Live tracks, confirmed or not.
    pub fn live_tracks(&self) -> usize {
        self.tracker.len()
    }

    /// Track ids given in this stream.
    pub fn ids_given(&self) -> u64 {
        self.tracker.ids_given()
    }

    /// Frames held for the lag.
    pub fn held_frames(&self) -> usize {
        self.held_frames
    }

    /// Takes a frame with its presentation time in seconds and its poses (`None`: it has
    /// none); returns what leaves now.
    pub fn push_frame(&mut self, item: F, pts: Option<f64>, poses: Option<FramePoses>) -> Vec<Output<F, O>> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let time = self.advance_clock(pts);
        self.counters.frames += 1;
        let (tracks, predicted) = match &poses {
            Some(p) => self.track(seq, time, p),
            None => {
                self.counters.frames_without_poses += 1;
                (Vec::new(), Vec::new())
            }
        };
        self.held.push_back(Held::Frame(HeldFrame { item, seq, time, poses, tracks, predicted }));
        self.held_frames += 1;
        self.release(self.params.smoothing.lag as usize)
    }

    /// Takes any other item (an event); it leaves after the frames that came before it.
    pub fn push_other(&mut self, item: O) -> Vec<Output<F, O>> {
        self.held.push_back(Held::Other(item));
        self.release(self.params.smoothing.lag as usize)
    }

    /// Releases everything held (end of stream, new caps, a drain).
    pub fn drain(&mut self) -> Vec<Output<F, O>> {
        self.release(0)
    }

    /// Drops everything held and ends every track (a flush); ids are not given again.
    pub fn flush(&mut self) {
        self.held.clear();
        self.held_frames = 0;
        self.reset_tracks();
    }

    /// Ends every track (ids are not given again) and restarts the clock. Held frames
    /// still leave, with what their tracks had.
    pub fn reset_tracks(&mut self) {
        self.tracker.clear();
        for state in self.tracks.values_mut() {
            state.alive = false;
        }
        self.prune();
        self.last_pts = None;
        self.time = None;
    }

    /// Forgets everything, ids included (a new stream). Held frames are dropped: drain first.
    pub fn reset_stream(&mut self) {
        self.flush();
        self.tracker.reset_ids();
        self.tracks.clear();
    }

    fn advance_clock(&mut self, pts: Option<f64>) -> f64 {
        let step = match (self.last_pts, pts) {
            (Some(prev), Some(now)) if now > prev && now - prev <= MAX_TIME_STEP_S => now - prev,
            _ => self.frame_duration,
        };
        if pts.is_some_and(f64::is_finite) {
            self.last_pts = pts;
        }
        let time = self.time.map_or(0.0, |t| t + step);
        self.time = Some(time);
        time
    }

    fn filter_params(&self) -> SmoothingParams {
        let mut p = self.params.smoothing;
        if !self.params.smooth {
            p.rotation = PASS_THROUGH;
            p.translation = PASS_THROUGH;
        }
        p
    }

    /// Associates a frame's persons; returns their tracks and the tracks to predict.
    #[allow(clippy::type_complexity)]
    fn track(&mut self, seq: u64, time: f64, poses: &FramePoses) -> (Vec<Option<TrackKey>>, Vec<(TrackKey, [f32; 4])>) {
        self.counters.persons += poses.persons.len() as u64;
        let mut samples: Vec<Option<PoseSample>> =
            poses.persons.iter().map(|p| PoseSample::from_person(p).ok()).collect();
        let usable: Vec<usize> = (0..samples.len()).filter(|&i| samples[i].is_some()).collect();
        self.counters.untrackable += (samples.len() - usable.len()) as u64;
        let detections: Vec<Detection> = usable
            .iter()
            .map(|&i| Detection {
                bbox: poses.persons[i].bbox,
                score: poses.persons[i].score,
                rotations: samples[i].as_ref().expect("usable").rotations,
            })
            .collect();
        let update = self.tracker.update(&detections);

        let filter_params = self.filter_params();
        let mut tracks = vec![None; poses.persons.len()];
        for (k, &i) in usable.iter().enumerate() {
            let Some(key) = update.tracks[k] else {
                continue;
            };
            tracks[i] = Some(key);
            let person = &poses.persons[i];
            let sample = samples[i].take().expect("usable");
            let id = self.tracker.id(key);
            match self.tracks.get_mut(&key) {
                Some(state) => {
                    state.smoother.push(seq, time, sample, &person.betas, &filter_params);
                    state.template.clone_from(person);
                    state.id = id;
                }
                None => {
                    self.tracks.insert(
                        key,
                        TrackState {
                            smoother: TrackSmoother::new(seq, time, sample, &person.betas),
                            id,
                            template: person.clone(),
                            alive: true,
                        },
                    );
                }
            }
        }
        for key in &update.ended {
            if let Some(state) = self.tracks.get_mut(key) {
                state.alive = false;
            }
        }
        // A person whose predicted box has left the picture is not filled in.
        let in_picture = |b: &[f32; 4]| {
            let (cx, cy) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
            let (w, h) = (poses.frame_width as f32, poses.frame_height as f32);
            (w <= 0.0 || (0.0..w).contains(&cx)) && (h <= 0.0 || (0.0..h).contains(&cy))
        };
        let predicted = update
            .coasting
            .iter()
            .filter(|c| c.misses <= self.params.predict_frames && in_picture(&c.bbox))
            .map(|c| (c.key, c.bbox))
            .collect();
        (tracks, predicted)
    }

    /// Releases items from the front while more than `keep` frames are held.
    fn release(&mut self, keep: usize) -> Vec<Output<F, O>> {
        let mut out = Vec::new();
        while let Some(front) = self.held.front() {
            if matches!(front, Held::Frame(_)) && self.held_frames <= keep {
                break;
            }
            match self.held.pop_front().expect("front exists") {
                Held::Other(item) => out.push(Output::Other(item)),
                Held::Frame(frame) => {
                    self.held_frames -= 1;
                    out.push(self.finish(frame));
                }
            }
        }
        if !out.is_empty() {
            self.prune();
        }
        out
    }

    /// The frame as it leaves: ids, smoothed values, predicted persons.
    fn finish(&mut self, frame: HeldFrame<F>) -> Output<F, O> {
        let HeldFrame { item, seq, time, poses, tracks, predicted } = frame;
        let Some(mut poses) = poses else {
            return Output::Frame { item, poses: None };
        };
        let params = self.filter_params();
        for (person, key) in poses.persons.iter_mut().zip(&tracks) {
            let Some(state) = key.and_then(|k| self.tracks.get(&k)) else {
                person.track_id = None;
                continue;
            };
            person.track_id = state.id;
            if state.id.is_some() {
                self.counters.tracked += 1;
            }
            if self.params.smooth {
                if let Some(sample) = state.smoother.smoothed(seq, time, &params) {
                    sample.apply_to(person);
                }
                if let Some(betas) = state.smoother.shape() {
                    person.betas = betas;
                }
            }
        }
        for (key, bbox) in predicted {
            let Some(state) = self.tracks.get(&key) else {
                continue;
            };
            let Some(sample) = state.smoother.predicted(seq, time, &params) else {
                continue;
            };
            let mut person = state.template.clone();
            sample.apply_to(&mut person);
            person.bbox = bbox;
            person.score = 0.0;
            person.predicted = true;
            person.track_id = state.id;
            if let Some(betas) = state.smoother.shape() {
                person.betas = betas;
            }
            self.counters.predicted += 1;
            poses.persons.push(person);
        }
        Output::Frame { item, poses: Some(poses) }
    }

    /// Forgets samples no held frame needs, and tracks that ended and no held frame names.
    fn prune(&mut self) {
        let oldest = self
            .held
            .iter()
            .find_map(|h| match h {
                Held::Frame(f) => Some(f.seq),
                Held::Other(_) => None,
            })
            .unwrap_or(self.next_seq);
        let keep_from = oldest.saturating_sub(u64::from(self.params.smoothing.lag));
        let mut referenced: Option<HashSet<TrackKey>> = None;
        let held = &self.held;
        self.tracks.retain(|key, state| {
            if state.alive {
                state.smoother.forget_before(keep_from);
                return true;
            }
            let referenced = referenced.get_or_insert_with(|| {
                held.iter()
                    .filter_map(|h| match h {
                        Held::Frame(f) => Some(f),
                        Held::Other(_) => None,
                    })
                    .flat_map(|f| f.tracks.iter().flatten().chain(f.predicted.iter().map(|(k, _)| k)))
                    .copied()
                    .collect()
            });
            referenced.contains(key)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::association::AssociationParams;
    use hmr2_meta::pose::PersonPose;

    fn params(lag: u32, predict_frames: u32) -> ProcessorParams {
        let filter = OneEuroParams { min_cutoff: 1.0, beta: 0.5, derivative_cutoff: 1.0 };
        ProcessorParams {
            tracker: TrackerParams {
                max_misses: 5,
                min_hits: 3,
                association: AssociationParams { iou_threshold: 0.2, pose_weight: 0.5 },
                new_track_score: 0.0,
            },
            smoothing: SmoothingParams { rotation: filter, translation: filter, lag },
            smooth: true,
            predict_frames,
        }
    }

    fn person(x: f32, wobble: f32) -> PersonPose {
        let mut p = PersonPose {
            bbox: [x, 100.0, x + 60.0, 280.0],
            score: 0.9,
            cam_t: [0.01 * x, 0.0, 20.0 + wobble],
            focal_length: 1000.0,
            principal_point: [320.0, 240.0],
            ..Default::default()
        };
        p.global_orient = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];
        p.betas[0] = wobble;
        p
    }

    fn frame(persons: Vec<PersonPose>) -> Option<FramePoses> {
        Some(FramePoses { frame_width: 640, frame_height: 480, persons })
    }

    type Proc = StreamProcessor<u32, &'static str>;

    /// Frame numbers and events in the order they left.
    fn order(out: &[Output<u32, &'static str>]) -> Vec<String> {
        out.iter()
            .map(|o| match o {
                Output::Frame { item, .. } => item.to_string(),
                Output::Other(e) => e.to_string(),
            })
            .collect()
    }

    fn ids(out: &Output<u32, &'static str>) -> Vec<Option<u64>> {
        match out {
            Output::Frame { poses: Some(p), .. } => p.persons.iter().map(|q| q.track_id).collect(),
            _ => panic!("no poses"),
        }
    }

    #[test]
    fn everything_leaves_in_order_after_the_lag() {
        for lag in [0, 3] {
            let mut p = Proc::new(params(lag, 0));
            let mut out = Vec::new();
            for i in 0..10u32 {
                out.extend(p.push_frame(i, Some(i as f64 / 30.0), frame(vec![person(i as f32, 0.0)])));
                if i == 1 {
                    out.extend(p.push_other("tag"));
                }
                if i == 4 {
                    assert_eq!(out.len(), 5 + 1 - lag as usize, "lag {lag}");
                    assert_eq!(p.held_frames(), lag as usize);
                }
            }
            out.extend(p.push_other("eos-like"));
            out.extend(p.drain());
            let expected: Vec<String> =
                ["0", "1", "tag", "2", "3", "4", "5", "6", "7", "8", "9", "eos-like"].map(String::from).to_vec();
            assert_eq!(order(&out), expected, "lag {lag}");
            assert_eq!(p.held_frames(), 0);
        }
    }

    #[test]
    fn a_lag_gives_a_new_track_its_id_from_its_first_frame() {
        let run = |lag: u32| {
            let mut p = Proc::new(params(lag, 0));
            let mut out = Vec::new();
            for i in 0..8u32 {
                out.extend(p.push_frame(i, None, frame(vec![person(2.0 * i as f32, 0.0)])));
            }
            out.extend(p.drain());
            out.iter().map(|o| ids(o)[0]).collect::<Vec<_>>()
        };
        assert_eq!(run(0)[..4], [None, None, Some(1), Some(1)]);
        assert!(run(4).iter().all(|id| *id == Some(1)), "{:?}", run(4));
    }

    #[test]
    fn misses_are_predicted_with_score_zero_for_a_few_frames() {
        let mut p = Proc::new(params(0, 2));
        let mut out = Vec::new();
        for i in 0..12u32 {
            let persons = if (5..9).contains(&i) { vec![] } else { vec![person(2.0 * i as f32, 0.0)] };
            out.extend(p.push_frame(i, None, frame(persons)));
        }
        let per_frame: Vec<Vec<Option<u64>>> = out.iter().map(ids).collect();
        assert_eq!(per_frame[5], vec![Some(1)]);
        assert_eq!(per_frame[6], vec![Some(1)]);
        assert_eq!(per_frame[7], Vec::<Option<u64>>::new());
        assert_eq!(per_frame[9], vec![Some(1)], "the same person after a miss of 4 <= max-misses 5");
        let Output::Frame { poses: Some(poses), .. } = &out[6] else { panic!() };
        let predicted = &poses.persons[0];
        assert_eq!((predicted.score, predicted.predicted), (0.0, true));
        assert!(
            !out.iter()
                .flat_map(|o| match o {
                    Output::Frame { poses: Some(poses), .. } => poses.persons.clone(),
                    _ => vec![],
                })
                .filter(|p| p.score > 0.0)
                .any(|p| p.predicted),
            "detections are not marked predicted"
        );
        assert!(predicted.bbox[0] > 9.0, "the box moves on from x = 8: {:?}", predicted.bbox);
        assert_eq!(p.counters().predicted, 2);
    }

    #[test]
    fn unusable_persons_and_frames_without_poses_pass_untouched() {
        let mut p = Proc::new(params(0, 0));
        let mut bad = person(300.0, 0.0);
        bad.cam_t[1] = f32::NAN;
        let mut out = Vec::new();
        for i in 0..5u32 {
            out.extend(p.push_frame(i, None, frame(vec![bad.clone(), person(i as f32, 0.0)])));
        }
        out.extend(p.push_frame(5, None, None));
        let Output::Frame { poses: Some(poses), .. } = &out[4] else { panic!() };
        assert_eq!(poses.persons[0].cam_t[0], bad.cam_t[0]);
        assert!(poses.persons[0].cam_t[1].is_nan());
        assert_eq!(poses.persons[0].track_id, None);
        assert_eq!(poses.persons[1].track_id, Some(1));
        assert!(matches!(out[5], Output::Frame { item: 5, poses: None }));
        assert_eq!(p.counters().untrackable, 5);
        assert_eq!(p.counters().frames_without_poses, 1);
    }

    #[test]
    fn smoothing_off_changes_nothing_but_ids() {
        let mut prm = params(0, 0);
        prm.smooth = false;
        let mut p = Proc::new(prm);
        for i in 0..6u32 {
            let input = person(i as f32, (i % 2) as f32);
            let out = p.push_frame(i, None, frame(vec![input.clone()]));
            let Output::Frame { poses: Some(poses), .. } = &out[0] else { panic!() };
            let mut expected = input;
            expected.track_id = poses.persons[0].track_id;
            assert_eq!(poses.persons[0], expected);
        }
    }

    #[test]
    fn smoothing_steadies_depth_and_shape() {
        let mut p = Proc::new(params(0, 0));
        let mut last = None;
        for i in 0..30u32 {
            let wobble = if i % 2 == 0 { 1.0 } else { -1.0 };
            let out = p.push_frame(i, None, frame(vec![person(100.0, wobble)]));
            let Output::Frame { poses: Some(poses), .. } = &out[0] else { panic!() };
            last = Some(poses.persons[0].clone());
        }
        let last = last.unwrap();
        assert!((last.cam_t[2] - 20.0).abs() < 0.3, "depth {}", last.cam_t[2]);
        assert!(last.betas[0].abs() < 0.1, "betas {:?}", last.betas);
    }

    #[test]
    fn flush_and_new_streams() {
        let mut p = Proc::new(params(2, 0));
        for i in 0..5u32 {
            p.push_frame(i, None, frame(vec![person(0.0, 0.0)]));
        }
        p.flush();
        assert_eq!(p.held_frames(), 0);
        assert_eq!(p.live_tracks(), 0);
        let mut out = Vec::new();
        for i in 0..5u32 {
            out.extend(p.push_frame(i, None, frame(vec![person(0.0, 0.0)])));
        }
        out.extend(p.drain());
        assert_eq!(ids(&out[4]), vec![Some(2)], "a flush does not give an id again");
        p.reset_stream();
        let mut out = Vec::new();
        for i in 0..5u32 {
            out.extend(p.push_frame(i, None, frame(vec![person(0.0, 0.0)])));
        }
        out.extend(p.drain());
        assert_eq!(ids(&out[4]), vec![Some(1)], "a new stream counts from 1");
    }

    #[test]
    fn ended_tracks_are_forgotten() {
        let mut p = Proc::new(params(3, 0));
        for i in 0..5u32 {
            p.push_frame(i, None, frame(vec![person(0.0, 0.0)]));
        }
        for i in 5..20u32 {
            p.push_frame(i, None, frame(vec![]));
        }
        assert_eq!(p.live_tracks(), 0);
        assert!(p.tracks.is_empty());
    }
}
