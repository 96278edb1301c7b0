//! GStreamer glue of `hmr2track`: pads, properties, events, queries and state changes
//! around [`crate::stream::StreamProcessor`].
//!
//! Everything runs on the upstream streaming thread: a frame goes into the processor and
//! what leaves it (frames held for the lag, queued events) is pushed downstream at once,
//! outside the state lock.

use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use hmr2_meta::pose::{FramePoses, PoseMetaError};

use super::GapFill;
use crate::association::AssociationParams;
use crate::smoothing::{OneEuroParams, SmoothingParams};
use crate::stream::{Output, ProcessorParams, StreamProcessor, DEFAULT_FRAME_DURATION_S};
use crate::track::TrackerParams;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "hmr2track",
        gst::DebugColorFlags::empty(),
        Some("Tracking and temporal smoothing of hmr2 poses"),
    )
});

/// One second at 30 frames/s, as DeepSORT's and ByteTrack's track buffers.
const DEFAULT_MAX_MISSES: u32 = 30;
/// SORT's confirmation count: one-frame false detections never get an id.
const DEFAULT_MIN_HITS: u32 = 3;
/// ByteTrack's first-association gate (cost 0.8 on 1 − IoU).
const DEFAULT_IOU_THRESHOLD: f64 = 0.2;
/// Chosen on the generated scenes (README): 0 gives id switches where people cross at the
/// same depth, 0.5 still a few where they enter and pass, 2 no fewer than 1.
const DEFAULT_POSE_WEIGHT: f64 = 1.0;
/// Every detection may start a track: hmr2pose already thresholds its detector.
const DEFAULT_NEW_TRACK_SCORE: f64 = 0.0;
const DEFAULT_SMOOTHING: bool = true;
/// Rotation and translation filter parameters chosen on the sample clip with simulated
/// estimation noise, where they lower both the jitter and the error (README, sweep).
const DEFAULT_MIN_CUTOFF: f64 = 1.0;
const DEFAULT_BETA: f64 = 1.0;
const DEFAULT_TRANSLATION_MIN_CUTOFF: f64 = 1.0;
const DEFAULT_TRANSLATION_BETA: f64 = 10.0;
/// Causal by default: no latency for live sources.
const DEFAULT_LAG: u32 = 0;
/// A sixth of a second at 30 frames/s: bridges a blink of the detector, not an occlusion.
const DEFAULT_GAP_FILL_FRAMES: u32 = 5;
/// Cutoff (Hz) of the One-Euro filters' speed estimate, as the filter's authors advise.
const DERIVATIVE_CUTOFF: f64 = 1.0;

#[derive(Debug, Clone, PartialEq)]
struct Settings {
    max_misses: u32,
    min_hits: u32,
    iou_threshold: f64,
    pose_weight: f64,
    new_track_score: f64,
    smoothing: bool,
    min_cutoff: f64,
    beta: f64,
    translation_min_cutoff: f64,
    translation_beta: f64,
    lag: u32,
    gap_fill: GapFill,
    gap_fill_frames: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_misses: DEFAULT_MAX_MISSES,
            min_hits: DEFAULT_MIN_HITS,
            iou_threshold: DEFAULT_IOU_THRESHOLD,
            pose_weight: DEFAULT_POSE_WEIGHT,
            new_track_score: DEFAULT_NEW_TRACK_SCORE,
            smoothing: DEFAULT_SMOOTHING,
            min_cutoff: DEFAULT_MIN_CUTOFF,
            beta: DEFAULT_BETA,
            translation_min_cutoff: DEFAULT_TRANSLATION_MIN_CUTOFF,
            translation_beta: DEFAULT_TRANSLATION_BETA,
            lag: DEFAULT_LAG,
            gap_fill: GapFill::default(),
            gap_fill_frames: DEFAULT_GAP_FILL_FRAMES,
        }
    }
}

impl Settings {
    fn processor_params(&self) -> ProcessorParams {
        let filter = |min_cutoff, beta| OneEuroParams { min_cutoff, beta, derivative_cutoff: DERIVATIVE_CUTOFF };
        ProcessorParams {
            tracker: TrackerParams {
                max_misses: self.max_misses,
                min_hits: self.min_hits,
                association: AssociationParams { iou_threshold: self.iou_threshold, pose_weight: self.pose_weight },
                new_track_score: self.new_track_score as f32,
            },
            smoothing: SmoothingParams {
                rotation: filter(self.min_cutoff, self.beta),
                translation: filter(self.translation_min_cutoff, self.translation_beta),
                lag: self.lag,
            },
            smooth: self.smoothing,
            predict_frames: match self.gap_fill {
                GapFill::None => 0,
                GapFill::Predict => self.gap_fill_frames,
            },
        }
    }
}

pub(super) fn default_processor_params() -> ProcessorParams {
    Settings::default().processor_params()
}

type Processor = StreamProcessor<gst::Buffer, gst::Event>;

/// The streaming side, alive between READY→PAUSED and PAUSED→READY.
struct State {
    processor: Processor,
    /// Frame size of the current caps.
    frame_size: Option<(i32, i32)>,
    /// Kinds of unreadable metadata already warned about in this stream.
    warned_bad_meta: Vec<std::mem::Discriminant<PoseMetaError>>,
    processing: Duration,
}

pub struct Hmr2Track {
    sinkpad: gst::Pad,
    srcpad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    /// Duration of one frame at the negotiated rate, for the latency query.
    frame_duration: Mutex<Option<Duration>>,
}

impl Hmr2Track {
    // ----- streaming thread -----

    fn sink_chain(&self, buffer: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let params = self.settings.lock().unwrap().processor_params();
        let outputs = self.with_processor(|state| {
            if state.processor.params() != &params {
                state.processor.set_params(params);
            }
            let poses = match FramePoses::from_buffer(&buffer) {
                Ok(poses) => poses,
                Err(err) => {
                    self.warn_bad_meta(state, err);
                    None
                }
            };
            let pts = buffer.pts().map(|t| t.nseconds() as f64 * 1e-9);
            state.processor.push_frame(buffer, pts, poses)
        })?;
        self.push_outputs(outputs).0
    }

    /// Runs `f` on the processor, timing it; `Flushing` when the element is not started.
    fn with_processor<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<R, gst::FlowError> {
        let mut guard = self.state.lock().unwrap();
        let state = guard.as_mut().ok_or(gst::FlowError::Flushing)?;
        let start = Instant::now();
        let result = f(state);
        state.processing += start.elapsed();
        Ok(result)
    }

    fn warn_bad_meta(&self, state: &mut State, err: PoseMetaError) {
        let kind = std::mem::discriminant(&err);
        if !state.warned_bad_meta.contains(&kind) {
            state.warned_bad_meta.push(kind);
            gst::element_imp_warning!(
                self,
                gst::StreamError::Format,
                ("unreadable pose metadata, frames carrying it pass through untracked: {err}")
            );
        }
    }

    /// Writes the poses into the frames that leave and pushes everything in order. Returns
    /// the flow of the frames and whether the last event pushed was accepted. After a
    /// frame is refused, the frames behind it are dropped; events still go.
    fn push_outputs(
        &self,
        outputs: Vec<Output<gst::Buffer, gst::Event>>,
    ) -> (Result<gst::FlowSuccess, gst::FlowError>, bool) {
        let mut flow = Ok(gst::FlowSuccess::Ok);
        let mut event_ok = true;
        for output in outputs {
            match output {
                Output::Frame { item, poses } => {
                    if flow.is_err() {
                        continue;
                    }
                    let mut buffer = item;
                    if let Some(poses) = poses {
                        let start = Instant::now();
                        if let Err(err) = poses.attach(buffer.make_mut()) {
                            gst::warning!(CAT, imp = self, "cannot attach the pose meta: {err}");
                        }
                        if let Some(state) = self.state.lock().unwrap().as_mut() {
                            state.processing += start.elapsed();
                        }
                    }
                    flow = self.srcpad.push(buffer);
                    if let Err(err) = flow {
                        gst::debug!(CAT, imp = self, "downstream returned {err:?}");
                    }
                }
                Output::Other(event) => event_ok = self.srcpad.push_event(event),
            }
        }
        (flow, event_ok)
    }

    /// Pushes out every held frame and event.
    fn drain(&self) -> bool {
        match self.with_processor(|state| state.processor.drain()) {
            Ok(outputs) => {
                // A refused frame is logged there; what matters here is that nothing stays held.
                let _ = self.push_outputs(outputs);
                true
            }
            Err(_) => false,
        }
    }

    fn set_caps(&self, caps: &gst::CapsRef) {
        let Some(s) = caps.structure(0) else { return };
        let size = s.get::<i32>("width").ok().zip(s.get::<i32>("height").ok());
        let fps = s.get::<gst::Fraction>("framerate").ok();
        let duration = fps
            .filter(|f| f.numer() > 0 && f.denom() > 0)
            .map(|f| Duration::from_secs_f64(f.denom() as f64 / f.numer() as f64));
        *self.frame_duration.lock().unwrap() = duration;
        let _ = self.with_processor(|state| {
            if let Some(d) = duration {
                state.processor.set_frame_duration(d.as_secs_f64());
            }
            if state.frame_size.is_some() && size != state.frame_size {
                gst::debug!(CAT, imp = self, "frame size changed to {size:?}: tracks end");
                state.processor.reset_tracks();
            }
            state.frame_size = size;
        });
    }

    fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        use gst::EventView;
        gst::log!(CAT, obj = pad, "event {event:?}");
        match event.view() {
            EventView::FlushStop(_) => {
                let _ = self.with_processor(|state| state.processor.flush());
                self.srcpad.push_event(event)
            }
            EventView::StreamStart(_) => {
                self.drain();
                let _ = self.with_processor(|state| {
                    state.processor.reset_stream();
                    state.frame_size = None;
                    state.warned_bad_meta.clear();
                });
                self.srcpad.push_event(event)
            }
            EventView::Caps(c) => {
                self.drain();
                self.set_caps(c.caps());
                self.srcpad.push_event(event)
            }
            EventView::Eos(_) => {
                self.drain();
                self.srcpad.push_event(event)
            }
            _ if event.is_serialized() => match self.with_processor(|state| state.processor.push_other(event)) {
                Ok(outputs) => self.push_outputs(outputs).1,
                Err(_) => false,
            },
            _ => gst::Pad::event_default(pad, Some(&*self.obj()), event),
        }
    }

    fn sink_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
        match query.view_mut() {
            gst::QueryViewMut::Allocation(q) => {
                if !self.srcpad.peer_query(q.query_mut()) {
                    return false;
                }
                // The lag holds that many of upstream's buffers: ask for them on top.
                let held = self.settings.lock().unwrap().lag;
                if held > 0 {
                    let pools: Vec<_> = q.allocation_pools().collect();
                    for (i, (pool, size, min, max)) in pools.into_iter().enumerate() {
                        let max = if max == 0 { 0 } else { max.saturating_add(held) };
                        q.set_nth_allocation_pool(i as u32, pool.as_ref(), size, min.saturating_add(held), max);
                    }
                }
                true
            }
            gst::QueryViewMut::Drain(_) => self.drain() && gst::Pad::query_default(pad, Some(&*self.obj()), query),
            _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
        }
    }

    fn src_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
        match query.view_mut() {
            gst::QueryViewMut::Latency(q) => {
                let mut upstream = gst::query::Latency::new();
                if !self.sinkpad.peer_query(&mut upstream) {
                    return false;
                }
                let (live, min, max) = upstream.result();
                let added = self.added_latency();
                gst::debug!(CAT, imp = self, "upstream latency {min}..{max:?}, adding {added}");
                q.set(live, min + added, max.map(|m| m + added));
                true
            }
            _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
        }
    }

    /// `lag` frame durations (at the caps' frame rate, else 30 frames/s).
    fn added_latency(&self) -> gst::ClockTime {
        let lag = self.settings.lock().unwrap().lag;
        let frame = self.frame_duration.lock().unwrap().unwrap_or(Duration::from_secs_f64(DEFAULT_FRAME_DURATION_S));
        gst::ClockTime::from_nseconds((frame * lag).as_nanos() as u64)
    }

    fn stats(&self) -> gst::Structure {
        let guard = self.state.lock().unwrap();
        let mut builder = gst::Structure::builder("hmr2track-stats");
        let Some(state) = guard.as_ref() else {
            return builder.field("frames", 0u64).build();
        };
        let p = &state.processor;
        let c = p.counters();
        builder = builder
            .field("frames", c.frames)
            .field("frames-without-poses", c.frames_without_poses)
            .field("persons", c.persons)
            .field("tracked", c.tracked)
            .field("untrackable", c.untrackable)
            .field("predicted", c.predicted)
            .field("ids", p.ids_given())
            .field("live-tracks", p.live_tracks() as u64)
            .field("held-frames", p.held_frames() as u64)
            .field("processing-ns", state.processing.as_nanos() as u64);
        builder.build()
    }

    // ----- state changes -----

    fn start(&self) {
        let params = self.settings.lock().unwrap().processor_params();
        *self.state.lock().unwrap() = Some(State {
            processor: StreamProcessor::new(params),
            frame_size: None,
            warned_bad_meta: Vec::new(),
            processing: Duration::ZERO,
        });
    }

    fn stop(&self) {
        *self.state.lock().unwrap() = None;
        *self.frame_duration.lock().unwrap() = None;
    }
}

#[glib::object_subclass]
impl ObjectSubclass for Hmr2Track {
    const NAME: &'static str = "GstHmr2Track";
    type Type = super::Hmr2Track;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let sinkpad = gst::Pad::builder_from_template(&klass.pad_template("sink").unwrap())
            .chain_function(|_pad, parent, buffer| {
                Hmr2Track::catch_panic_pad_function(parent, || Err(gst::FlowError::Error), |imp| imp.sink_chain(buffer))
            })
            .event_function(|pad, parent, event| {
                Hmr2Track::catch_panic_pad_function(parent, || false, |imp| imp.sink_event(pad, event))
            })
            .query_function(|pad, parent, query| {
                Hmr2Track::catch_panic_pad_function(parent, || false, |imp| imp.sink_query(pad, query))
            })
            .flags(gst::PadFlags::PROXY_CAPS)
            .build();
        let srcpad = gst::Pad::builder_from_template(&klass.pad_template("src").unwrap())
            .query_function(|pad, parent, query| {
                Hmr2Track::catch_panic_pad_function(parent, || false, |imp| imp.src_query(pad, query))
            })
            .flags(gst::PadFlags::PROXY_CAPS)
            .build();
        Self {
            sinkpad,
            srcpad,
            settings: Mutex::new(Settings::default()),
            state: Mutex::new(None),
            frame_duration: Mutex::new(None),
        }
    }
}

impl ObjectImpl for Hmr2Track {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt::builder("max-misses")
                    .nick("Maximum misses")
                    .blurb("Frames in a row a confirmed track may go undetected and keep its id")
                    .maximum(100_000)
                    .default_value(DEFAULT_MAX_MISSES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("min-hits")
                    .nick("Minimum hits")
                    .blurb("Detections in a row before a new track is confirmed and given an id (1: at once)")
                    .minimum(1)
                    .maximum(1000)
                    .default_value(DEFAULT_MIN_HITS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("iou-threshold")
                    .nick("IoU threshold")
                    .blurb("Least overlap (intersection over union) of a track's predicted box and a detection's box for them to be associated")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_IOU_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("pose-weight")
                    .nick("Pose weight")
                    .blurb("Weight of pose dissimilarity (0..1: root and joint rotation angles over 180°) beside 1 - IoU in the association cost; decides where boxes are ambiguous (0: boxes only)")
                    .minimum(0.0)
                    .maximum(10.0)
                    .default_value(DEFAULT_POSE_WEIGHT)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("new-track-score")
                    .nick("New track score")
                    .blurb("Least detection score that starts a new track; lower-scored detections only continue existing tracks")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_NEW_TRACK_SCORE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("smoothing")
                    .nick("Smoothing")
                    .blurb("Smooth each track's rotations (on SO(3)), camera translation and shape (running mean); off: only track ids are written")
                    .default_value(DEFAULT_SMOOTHING)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("min-cutoff")
                    .nick("Rotation minimum cutoff")
                    .blurb("One-Euro cutoff frequency (Hz) of a still joint's rotation: lower smooths more")
                    .minimum(0.001)
                    .maximum(1000.0)
                    .default_value(DEFAULT_MIN_CUTOFF)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("beta")
                    .nick("Rotation speed coefficient")
                    .blurb("Cutoff (Hz) added per rad/s of a joint's angular speed: higher lags less in fast motion")
                    .minimum(0.0)
                    .maximum(1000.0)
                    .default_value(DEFAULT_BETA)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("translation-min-cutoff")
                    .nick("Translation minimum cutoff")
                    .blurb("One-Euro cutoff frequency (Hz) of a still camera translation (image position and log depth)")
                    .minimum(0.001)
                    .maximum(1000.0)
                    .default_value(DEFAULT_TRANSLATION_MIN_CUTOFF)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("translation-beta")
                    .nick("Translation speed coefficient")
                    .blurb("Cutoff (Hz) added per body height per second that the body's image moves or grows (causal filter; the fixed-lag smoother's straight-line fit needs none for the translation)")
                    .minimum(0.0)
                    .maximum(1000.0)
                    .default_value(DEFAULT_TRANSLATION_BETA)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("lag")
                    .nick("Lag")
                    .blurb("Frames each frame is held for the fixed-lag smoother, which estimates it from as many frames before and after, and which gives a new track its id from its first frame (0: causal filter, no added latency); adds lag frame durations of latency")
                    .maximum(300)
                    .default_value(DEFAULT_LAG)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("gap-fill", GapFill::default())
                    .nick("Gap fill")
                    .blurb("What a frame gets for a confirmed track missed in it: nothing, or a person marked predicted in the metadata (and score 0)")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("gap-fill-frames")
                    .nick("Gap fill frames")
                    .blurb("Frames in a row a missed track is predicted with gap-fill=predict (at most max-misses)")
                    .maximum(100_000)
                    .default_value(DEFAULT_GAP_FILL_FRAMES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("Counters since the element started: frames, frames-without-poses, persons, tracked, untrackable, predicted, ids, live-tracks, held-frames, processing-ns")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings.lock().unwrap();
        match pspec.name() {
            "max-misses" => s.max_misses = value.get().expect("type checked upstream"),
            "min-hits" => s.min_hits = value.get().expect("type checked upstream"),
            "iou-threshold" => s.iou_threshold = value.get().expect("type checked upstream"),
            "pose-weight" => s.pose_weight = value.get().expect("type checked upstream"),
            "new-track-score" => s.new_track_score = value.get().expect("type checked upstream"),
            "smoothing" => s.smoothing = value.get().expect("type checked upstream"),
            "min-cutoff" => s.min_cutoff = value.get().expect("type checked upstream"),
            "beta" => s.beta = value.get().expect("type checked upstream"),
            "translation-min-cutoff" => s.translation_min_cutoff = value.get().expect("type checked upstream"),
            "translation-beta" => s.translation_beta = value.get().expect("type checked upstream"),
            "lag" => s.lag = value.get().expect("type checked upstream"),
            "gap-fill" => s.gap_fill = value.get().expect("type checked upstream"),
            "gap-fill-frames" => s.gap_fill_frames = value.get().expect("type checked upstream"),
            other => unreachable!("no writable property {other}"),
        }
        gst::debug!(CAT, imp = self, "{} = {:?}", pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        // Statistics lock the streaming state, never while holding the settings.
        if pspec.name() == "stats" {
            return self.stats().to_value();
        }
        let s = self.settings.lock().unwrap();
        match pspec.name() {
            "max-misses" => s.max_misses.to_value(),
            "min-hits" => s.min_hits.to_value(),
            "iou-threshold" => s.iou_threshold.to_value(),
            "pose-weight" => s.pose_weight.to_value(),
            "new-track-score" => s.new_track_score.to_value(),
            "smoothing" => s.smoothing.to_value(),
            "min-cutoff" => s.min_cutoff.to_value(),
            "beta" => s.beta.to_value(),
            "translation-min-cutoff" => s.translation_min_cutoff.to_value(),
            "translation-beta" => s.translation_beta.to_value(),
            "lag" => s.lag.to_value(),
            "gap-fill" => s.gap_fill.to_value(),
            "gap-fill-frames" => s.gap_fill_frames.to_value(),
            other => unreachable!("no property {other}"),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        obj.add_pad(&self.sinkpad).unwrap();
        obj.add_pad(&self.srcpad).unwrap();
    }
}

impl GstObjectImpl for Hmr2Track {}

impl ElementImpl for Hmr2Track {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "HMR2 pose tracker",
                "Filter/Analyzer/Video",
                "Gives the persons of the hmr2 pose metadata stable track ids (Kalman box motion, \
                 box overlap and pose similarity, optimal assignment) and smooths their rotations \
                 on SO(3), camera translation and shape in time (One-Euro, or a fixed-lag smoother \
                 that adds latency); frames pass through untouched and in order",
                "The hmr2-gst developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            // Only the metadata is read: any raw video, in any memory.
            let caps = gst::Caps::builder("video/x-raw").any_features().build();
            vec![
                gst::PadTemplate::new("sink", gst::PadDirection::Sink, gst::PadPresence::Always, &caps).unwrap(),
                gst::PadTemplate::new("src", gst::PadDirection::Src, gst::PadPresence::Always, &caps).unwrap(),
            ]
        });
        TEMPLATES.as_ref()
    }

    fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        gst::debug!(CAT, imp = self, "{transition:?}");
        if transition == gst::StateChange::ReadyToPaused {
            self.start();
        }
        let result = self.parent_change_state(transition);
        if transition == gst::StateChange::PausedToReady
            || (transition == gst::StateChange::ReadyToPaused && result.is_err())
        {
            self.stop();
        }
        result
    }
}
