//! GStreamer glue of `hmr2pose`: pads, properties, events, queries and state changes.
//!
//! Three threads meet in the [`Worker`] (see its module for the protocol). The upstream
//! streaming thread (chain function) finds person boxes, writes the crops into the batch
//! being filled and queues the frame. The worker thread runs whole batches through the
//! network. The source pad task pushes frames (with their metadata) and events downstream
//! in arrival order, and sends a partial batch when its timeout expires.
//!
//! Lock order: `stream` before the worker's state. The latency query takes neither.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use hmr2_meta::camera::FrameCamera;
use hmr2_meta::pose::FramePoses;

use super::engine::{Estimate, Estimator, FrameJob, Job};
use super::frame;
use super::open::{self, Notice, OpenError};
use super::settings::{self, Settings};
use super::stats::{thread_cpu_time, Stats};
use super::stream::{Feed, PendingFrame, PoseWorker, Stream};
use crate::batching::{self, Batch, Ready};
use crate::boxes;
use crate::crop::sampler::Scratch;
use crate::worker::{Next, Worker};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("hmr2pose", gst::DebugColorFlags::empty(), Some("Human pose and mesh recovery"))
});

/// The test network bundled into the plugin (empty when it was missing at build time).
static BUNDLED_MODEL: &[u8] = include_bytes!(env!("HMR2_BUNDLED_MODEL"));

/// Frames held at most (waiting for results or for downstream) before upstream waits.
fn max_queued_frames(batch_size: usize) -> usize {
    4 * batch_size + 8
}

pub struct Hmr2Pose {
    sinkpad: gst::Pad,
    srcpad: gst::Pad,
    settings: Mutex<Settings>,
    stats: Mutex<Stats>,
    stream: Mutex<Option<Stream>>,
    worker: Mutex<Option<Arc<PoseWorker>>>,
    /// Duration of one frame at the negotiated rate, for the latency query.
    frame_duration: Mutex<Option<Duration>>,
    /// What the running model is and estimates (the `estimator` field of `stats`).
    estimator: Mutex<Option<String>>,
}

impl Hmr2Pose {
    fn worker(&self) -> Option<Arc<PoseWorker>> {
        self.worker.lock().unwrap().clone()
    }

    // ----- streaming thread -----

    fn sink_chain(&self, buffer: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self.settings.lock().unwrap().clone();
        let worker = self.worker().ok_or(gst::FlowError::Flushing)?;
        worker.wait_for_room(max_queued_frames(settings.batch_size as usize))?;

        let mut guard = self.stream.lock().unwrap();
        let stream = guard.as_mut().ok_or(gst::FlowError::Flushing)?;
        let Some((info, layout, planes)) = stream.video.clone() else {
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ("Buffer before caps"));
            return Err(gst::FlowError::NotNegotiated);
        };
        let mapped = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info).map_err(|_| {
            gst::element_imp_error!(self, gst::StreamError::Failed, ("Cannot map the frame for reading"));
            gst::FlowError::Error
        })?;
        let view = frame::view(&mapped, layout, planes).map_err(|e| {
            gst::element_imp_error!(self, gst::StreamError::Format, ("Frame does not match its caps: {e}"));
            gst::FlowError::Error
        })?;

        let start = Instant::now();
        let (source, thresholds) =
            (settings.box_source, (settings.detector_threshold, settings.detector_iou_threshold));
        let found = if stream.skips_detection(settings.detection_interval) {
            // Tracked persons are followed by their landmarks; new ones wait for the next
            // detection.
            frame::roi_boxes(buffer.as_ref())
        } else {
            frame::person_boxes(source, buffer.as_ref(), &view, stream.detector.as_mut(), thresholds).map_err(|e| {
                gst::element_imp_error!(self, gst::StreamError::Failed, ("{e}"));
                gst::FlowError::Error
            })?
        };
        let detect_time = start.elapsed();
        let frame_size = [info.width() as f32, info.height() as f32];
        let boxes::Selection { kept: persons, outside } =
            boxes::select(&found, settings.max_persons as usize, frame_size);
        if !outside.is_empty() && !std::mem::replace(&mut stream.warned_outside, true) {
            let (n, first) = (outside.len(), outside[0].bbox);
            let msg = format!("{n} person box(es) wholly outside the frame are ignored (first: {first:?}); no more reports in this stream");
            gst::element_imp_warning!(self, gst::StreamError::Format, ("{msg}"));
        }

        let focal = (settings.focal_length > 0.0).then_some(settings.focal_length);
        let pixel_aspect = frame::pixel_aspect(&info);
        let camera = frame::display_camera(&info, focal);
        if let Feed::Frames { reset, tracked, .. } = &mut stream.feed {
            let (width, height) = (info.width(), info.height());
            let pending =
                PendingFrame { buffer: buffer.clone(), persons: Vec::new(), width, height, camera, pixel_aspect };
            let frame = worker.push_frame(pending, 1)?;
            drop(view);
            drop(mapped);
            let job = FrameJob {
                frame,
                buffer: Some(buffer),
                info,
                layout,
                planes,
                detections: persons,
                // The landmark fit works in stored pixels; its poses are moved to display
                // geometry when they are attached.
                camera: FrameCamera::for_frame(width, height, focal),
                reset: std::mem::take(reset),
                tracked: tracked.clone(),
            };
            worker.send(Job::Frame(job));
            self.count_frame(0, detect_time, Duration::ZERO, Duration::ZERO);
            return Ok(gst::FlowSuccess::Ok);
        }
        let Feed::Crops(input) = stream.feed else { unreachable!("handled above") };
        let (width, height) = (info.width(), info.height());
        let pending =
            PendingFrame { buffer: buffer.clone(), persons: persons.clone(), width, height, camera, pixel_aspect };
        let id = worker.push_frame(pending, persons.len())?;
        stream.newest_frame = id;

        let start = Instant::now();
        let cpu_start = thread_cpu_time();
        let timeout = settings.batch_timeout();
        let last_batch = stream.crop_into_batches(
            &worker,
            &view,
            &persons,
            id,
            input,
            settings.crop_filter.into(),
            timeout,
            |full| self.send_batch(&worker, full),
        );
        let crop_time = start.elapsed();
        let crop_cpu_time = thread_cpu_time().saturating_sub(cpu_start);
        drop(view);
        drop(mapped);
        drop(buffer);
        if let Some(batch) = last_batch {
            self.send_batch(&worker, batch);
        }
        if stream.batch.as_ref().is_some_and(|b| b.is_due(id, Instant::now(), timeout)) {
            let batch = stream.batch.take().unwrap();
            self.send_batch(&worker, batch);
        }

        self.count_frame(persons.len(), detect_time, crop_time, crop_cpu_time);
        Ok(gst::FlowSuccess::Ok)
    }

    fn count_frame(&self, persons: usize, detect: Duration, crop: Duration, crop_cpu: Duration) {
        let mut stats = self.stats.lock().unwrap();
        stats.frames += 1;
        stats.persons += persons as u64;
        stats.detect += detect;
        stats.crop += crop;
        stats.crop_cpu += crop_cpu;
    }

    fn send_batch(&self, worker: &PoseWorker, batch: Batch) {
        if batch.is_empty() {
            return;
        }
        gst::trace!(CAT, imp = self, "sending a batch of {} crops", batch.len());
        worker.send(Job::Crops(batch));
    }

    /// Sends the partial batch, if any.
    fn send_pending_batch(&self) {
        let mut guard = self.stream.lock().unwrap();
        if let (Some(stream), Some(worker)) = (guard.as_mut(), self.worker()) {
            if let Some(batch) = stream.batch.take() {
                self.send_batch(&worker, batch);
            }
        }
    }

    /// Sends the partial batch and waits until every queued frame and event has left.
    fn drain(&self) -> bool {
        self.send_pending_batch();
        self.worker().is_some_and(|worker| worker.drain())
    }

    fn queue_event(&self, event: gst::Event) -> bool {
        self.worker().is_some_and(|worker| worker.push_event(event))
    }

    fn set_caps(&self, caps: &gst::Caps) -> bool {
        let Ok(info) = gst_video::VideoInfo::from_caps(caps) else {
            gst::warning!(CAT, imp = self, "invalid video caps {caps}");
            return false;
        };
        let Some((layout, planes)) = frame::layout(&info) else {
            gst::warning!(CAT, imp = self, "unsupported format {:?}", info.format());
            return false;
        };
        let fps = info.fps();
        *self.frame_duration.lock().unwrap() = (fps.numer() > 0 && fps.denom() > 0)
            .then(|| Duration::from_secs_f64(fps.denom() as f64 / fps.numer() as f64));
        let mut guard = self.stream.lock().unwrap();
        match guard.as_mut() {
            Some(stream) => {
                gst::debug!(CAT, imp = self, "caps {caps}");
                stream.video = Some((info, layout, planes));
                true
            }
            None => false,
        }
    }

    fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        use gst::EventView;
        gst::log!(CAT, obj = pad, "event {event:?}");
        match event.view() {
            EventView::FlushStart(_) => {
                let forwarded = self.srcpad.push_event(event);
                if let Some(worker) = self.worker() {
                    worker.flush_start();
                }
                let _ = self.srcpad.pause_task();
                forwarded
            }
            EventView::FlushStop(_) => {
                if let Some(stream) = self.stream.lock().unwrap().as_mut() {
                    stream.batch = None;
                    stream.start_over();
                }
                if let Some(worker) = self.worker() {
                    worker.flush_stop();
                }
                let forwarded = self.srcpad.push_event(event);
                self.start_task();
                forwarded
            }
            EventView::Caps(c) => {
                let caps = c.caps_owned();
                self.drain() && self.set_caps(&caps) && self.queue_event(event)
            }
            EventView::StreamStart(_) => {
                if let Some(stream) = self.stream.lock().unwrap().as_mut() {
                    stream.start_over();
                }
                self.queue_event(event)
            }
            EventView::Eos(_) => {
                self.send_pending_batch();
                self.queue_event(event)
            }
            _ if event.is_serialized() => self.queue_event(event),
            _ => gst::Pad::event_default(pad, Some(&*self.obj()), event),
        }
    }

    fn sink_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
        match query.type_() {
            gst::QueryType::Allocation => {
                if !self.srcpad.peer_query(query) {
                    return false;
                }
                let held = max_queued_frames(self.settings.lock().unwrap().batch_size as usize) as u32;
                frame::hold_more_buffers(query, held);
                true
            }
            gst::QueryType::Drain => self.drain() && gst::Pad::query_default(pad, Some(&*self.obj()), query),
            _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
        }
    }

    // ----- source pad task -----

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

    /// The latency this element adds, see the element documentation. Takes neither the
    /// stream nor the worker's queue, so it never waits for a detection or a crop.
    fn added_latency(&self) -> gst::ClockTime {
        let settings = self.settings.lock().unwrap().clone();
        let frame_duration = *self.frame_duration.lock().unwrap();
        let inference = self.worker().map(|w| w.job_times().mean()).unwrap_or_default();
        self.stats.lock().unwrap().reported_inference = inference;
        let added =
            batching::added_latency(settings.batch_size as usize, frame_duration, settings.batch_timeout(), inference);
        gst::ClockTime::from_nseconds(added.as_nanos() as u64)
    }

    fn start_task(&self) {
        let this = self.obj().clone();
        if let Err(e) = self.srcpad.start_task(move || this.imp().src_loop()) {
            gst::error!(CAT, imp = self, "cannot start the source pad task: {e}");
        }
    }

    /// One round of the source pad task: push the next frame or event, or wait for one.
    fn src_loop(&self) {
        let Some(worker) = self.worker() else {
            let _ = self.srcpad.pause_task();
            return;
        };
        let ready = match worker.next() {
            Next::Ready(ready) => ready,
            Next::Flushing => {
                let _ = self.srcpad.pause_task();
                return;
            }
            Next::Failed(message) => {
                gst::element_imp_error!(self, gst::StreamError::Failed, ("HMR2 inference failed: {message}"));
                worker.set_flow(Err(gst::FlowError::Error));
                let _ = self.srcpad.pause_task();
                return;
            }
            Next::DeadlineDue => {
                self.send_batch_on_timeout(&worker);
                return;
            }
        };

        // After downstream returned EOS it takes no buffers until a new segment or stream,
        // but the task keeps running: frames already queued are dropped, and the EOS (or
        // segment) event upstream sends next must still get through, or the pipeline hangs.
        let downstream_eos = worker.flow() == Err(gst::FlowError::Eos);
        let flow = match ready {
            Ready::Frame(..) if downstream_eos => Ok(gst::FlowSuccess::Ok),
            Ready::Frame(pending, estimates) => {
                let buffer = self.attach_poses(pending, estimates);
                self.srcpad.push(buffer)
            }
            Ready::Event(event) => {
                let restarts = matches!(event.type_(), gst::EventType::Segment | gst::EventType::StreamStart);
                if self.srcpad.push_event(event) && restarts && downstream_eos {
                    worker.set_flow(Ok(()));
                }
                Ok(gst::FlowSuccess::Ok)
            }
        };
        if let Err(err) = flow {
            worker.set_flow(Err(err));
            if err == gst::FlowError::Eos {
                gst::debug!(CAT, imp = self, "downstream returned EOS, dropping frames until EOS or a new segment");
                return;
            }
            gst::debug!(CAT, imp = self, "pausing after downstream returned {err:?}");
            if matches!(err, gst::FlowError::Error | gst::FlowError::NotNegotiated) {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Failed,
                    ("Internal data stream error."),
                    ["streaming stopped, reason {err:?}"]
                );
            }
            let _ = self.srcpad.pause_task();
        }
        self.maybe_post_latency(&worker);
    }

    fn send_batch_on_timeout(&self, worker: &PoseWorker) {
        let timeout = self.settings.lock().unwrap().batch_timeout();
        let mut guard = self.stream.lock().unwrap();
        let Some(stream) = guard.as_mut() else { return };
        match stream.batch.as_ref() {
            Some(batch) if batch.is_due(stream.newest_frame, Instant::now(), timeout) => {
                gst::debug!(CAT, imp = self, "batch timeout: sending {} crops", batch.len());
                let batch = stream.batch.take().unwrap();
                self.send_batch(worker, batch);
            }
            batch => {
                // The timeout changed, or the batch left meanwhile.
                worker.set_deadline(batch.and_then(|b| b.deadline(timeout)));
            }
        }
    }

    fn attach_poses(&self, pending: PendingFrame, estimates: Vec<Estimate>) -> gst::Buffer {
        let start = Instant::now();
        let mut persons = Vec::with_capacity(pending.persons.len());
        for (i, estimate) in estimates.into_iter().enumerate() {
            match estimate {
                Estimate::Crop(e) => {
                    persons.push(e.to_pose(&pending.persons[i], &pending.camera, pending.pixel_aspect))
                }
                Estimate::Persons(mut found) => {
                    self.stats.lock().unwrap().persons += found.len() as u64;
                    if pending.pixel_aspect != 1.0 {
                        for person in &mut found {
                            frame::stored_fit_to_display(person, &pending.camera, pending.pixel_aspect);
                        }
                    }
                    persons.extend(found);
                }
            }
        }
        let poses = FramePoses { frame_width: pending.width, frame_height: pending.height, persons };
        let mut buffer = pending.buffer;
        if let Err(e) = poses.attach(buffer.make_mut()) {
            gst::warning!(CAT, imp = self, "cannot attach the pose meta: {e}");
        }
        self.stats.lock().unwrap().post += start.elapsed();
        buffer
    }

    /// Asks the pipeline to query latency again when the measured inference time moved.
    fn maybe_post_latency(&self, worker: &PoseWorker) {
        let now = worker.job_times().mean();
        let moved = {
            let before = self.stats.lock().unwrap().reported_inference;
            now.abs_diff(before) > before / 4 && now.abs_diff(before) > Duration::from_millis(1)
        };
        if moved {
            let obj = self.obj();
            let _ = obj.post_message(gst::message::Latency::builder().src(&*obj).build());
            self.stats.lock().unwrap().reported_inference = now;
        }
    }

    fn stats_structure(&self) -> gst::Structure {
        let stats = self.stats.lock().unwrap().clone();
        let jobs = self.worker().map(|w| w.job_times()).unwrap_or_default();
        let estimator = self.estimator.lock().unwrap().clone();
        gst::Structure::builder("hmr2pose-stats")
            .field_if_some("estimator", estimator)
            .field("frames", stats.frames)
            .field("persons", stats.persons)
            .field("batches", jobs.jobs)
            .field("detect-ns", stats.detect.as_nanos() as u64)
            .field("crop-ns", stats.crop.as_nanos() as u64)
            .field("crop-cpu-ns", stats.crop_cpu.as_nanos() as u64)
            .field("inference-ns", jobs.busy.as_nanos() as u64)
            .field("post-ns", stats.post.as_nanos() as u64)
            .build()
    }

    // ----- state changes -----

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap().clone();
        let opened = open::open(&settings, BUNDLED_MODEL).map_err(|e| match e {
            OpenError::Runtime(_) => gst::error_msg!(gst::LibraryError::Init, ("{e}")),
            _ if e.is_not_found() => gst::error_msg!(gst::ResourceError::NotFound, ("{e}")),
            _ => gst::error_msg!(gst::LibraryError::Settings, ("{e}")),
        })?;
        gst::info!(CAT, imp = self, "ONNX Runtime from {}", opened.library.display());
        for notice in &opened.notices {
            match notice {
                Notice::BundledTestNetwork { models_dir } => gst::element_imp_warning!(
                    self,
                    gst::LibraryError::Settings,
                    ("Using the bundled HMR2 test network, which estimates nothing: no model given and none found in {} (run scripts/setup.sh)", models_dir.display()),
                    ["It has the HMR2 signature but made-up weights: it always describes an upright person near the rest pose. Set the model property to a real model"]
                ),
                Notice::ProviderUnavailable { model, detail } => gst::element_imp_warning!(
                    self,
                    gst::LibraryError::Init,
                    ("The requested execution provider is unavailable for the {}: {}", model, detail)
                ),
            }
        }
        let (estimator, detector) = (opened.estimator, opened.detector);
        gst::info!(CAT, imp = self, "pose model: {}", estimator.describe());
        let bundled = opened.notices.iter().any(|n| matches!(n, Notice::BundledTestNetwork { .. }));
        *self.estimator.lock().unwrap() = Some(if bundled {
            "the bundled HMR2 test network (made-up weights): estimates nothing, every person box gets the same \
             upright pose"
                .to_owned()
        } else {
            estimator.describe()
        });
        let feed = match &estimator {
            Estimator::Hmr2(network) => Feed::Crops(network.input_size()),
            Estimator::Landmarks(_) => {
                Feed::Frames { reset: true, since_detection: 0, tracked: Arc::new(AtomicUsize::new(0)) }
            }
        };

        *self.stats.lock().unwrap() = Stats::default();
        let worker = Worker::start(estimator, "hmr2-inference")
            .map_err(|e| gst::error_msg!(gst::CoreError::Thread, ("Cannot start the inference thread: {e}")))?;
        *self.worker.lock().unwrap() = Some(Arc::new(worker));
        *self.stream.lock().unwrap() = Some(Stream {
            video: None,
            feed,
            batch_size: settings.batch_size.max(1) as usize,
            batch: None,
            newest_frame: 0,
            detector,
            scratch: Scratch::default(),
            warned_outside: false,
        });
        gst::info!(CAT, imp = self, "started: batch {}", settings.batch_size);
        Ok(())
    }

    fn stop(&self) {
        *self.stream.lock().unwrap() = None;
        // The source pad task has stopped: this is the last reference, and dropping it
        // ends the worker thread.
        *self.worker.lock().unwrap() = None;
        *self.frame_duration.lock().unwrap() = None;
    }
}

#[glib::object_subclass]
impl ObjectSubclass for Hmr2Pose {
    const NAME: &'static str = "GstHmr2Pose";
    type Type = super::Hmr2Pose;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let sinkpad = gst::Pad::builder_from_template(&klass.pad_template("sink").unwrap())
            .chain_function(|_pad, parent, buffer| {
                Hmr2Pose::catch_panic_pad_function(parent, || Err(gst::FlowError::Error), |imp| imp.sink_chain(buffer))
            })
            .event_function(|pad, parent, event| {
                Hmr2Pose::catch_panic_pad_function(parent, || false, |imp| imp.sink_event(pad, event))
            })
            .query_function(|pad, parent, query| {
                Hmr2Pose::catch_panic_pad_function(parent, || false, |imp| imp.sink_query(pad, query))
            })
            .flags(gst::PadFlags::PROXY_CAPS)
            .build();
        let srcpad = gst::Pad::builder_from_template(&klass.pad_template("src").unwrap())
            .query_function(|pad, parent, query| {
                Hmr2Pose::catch_panic_pad_function(parent, || false, |imp| imp.src_query(pad, query))
            })
            .activatemode_function(|_pad, parent, mode, active| {
                Hmr2Pose::catch_panic_pad_function(
                    parent,
                    || Err(gst::loggable_error!(CAT, "panic activating the source pad")),
                    |imp| imp.src_activate(mode, active),
                )
            })
            .flags(gst::PadFlags::PROXY_CAPS)
            .build();
        Self {
            sinkpad,
            srcpad,
            settings: Mutex::new(Settings::default()),
            stats: Mutex::new(Stats::default()),
            stream: Mutex::new(None),
            worker: Mutex::new(None),
            frame_duration: Mutex::new(None),
            estimator: Mutex::new(None),
        }
    }
}

impl Hmr2Pose {
    fn src_activate(&self, mode: gst::PadMode, active: bool) -> Result<(), gst::LoggableError> {
        if mode != gst::PadMode::Push {
            return Err(gst::loggable_error!(CAT, "only push mode is supported"));
        }
        if active {
            if let Some(worker) = self.worker() {
                worker.activate();
            }
            self.start_task();
        } else {
            if let Some(worker) = self.worker() {
                worker.flush_start();
            }
            self.srcpad.stop_task().map_err(|e| gst::loggable_error!(CAT, "cannot stop the task: {e}"))?;
        }
        Ok(())
    }
}

impl ObjectImpl for Hmr2Pose {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(settings::param_specs);
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        self.settings.lock().unwrap().set(pspec.name(), value);
        gst::debug!(CAT, imp = self, "{} = {:?}", pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if pspec.name() == "stats" {
            return self.stats_structure().to_value();
        }
        self.settings.lock().unwrap().get(pspec.name())
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        obj.add_pad(&self.sinkpad).unwrap();
        obj.add_pad(&self.srcpad).unwrap();
    }
}

impl GstObjectImpl for Hmr2Pose {}

impl ElementImpl for Hmr2Pose {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Human pose and mesh recovery",
                "Filter/Analyzer/Video",
                "Finds the persons in each frame (region-of-interest metas, a person detector \
                 or the whole frame), estimates their SMPL pose through ONNX Runtime with a \
                 BlazePose landmark model fitted to the SMPL skeleton or an HMR2.0 network, and \
                 attaches their SMPL parameters and full-frame camera as Hmr2PoseMeta; frames \
                 pass through untouched and in order",
                "The hmr2-gst developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new().format_list(frame::FORMATS).build();
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
            if let Err(message) = self.start() {
                self.post_error_message(message);
                return Err(gst::StateChangeError);
            }
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
