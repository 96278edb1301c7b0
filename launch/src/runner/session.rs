//! A session: the main pipeline built from a plan, with its pad probes (pose export,
//! --boxes, frame counters), run until end of stream, an error or a signal; then its
//! outputs are put in place (when the pipeline finished them) and the run's [`Outcome`]
//! decided.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

use crate::box_file::{self, BoxTable};
use crate::cli::{Common, RtspArgs};
use crate::elements::build_pipeline;
use crate::plan::{self, Plan, Sink};
use crate::poses::{self, PoseTap, SharedTap};
use crate::progress_report::Report;
use crate::rtsp::RtspInput;
use crate::{say, serve, Failure, Outcome};

use super::audio_probes::{self, AudioRepairs};
use super::bus::{describe_error, element_label, first_bus_error};
use super::counters::{self, Counters, MAX_FRAMES_MESSAGE};
use super::discover::InputInfo;
use super::ending::{judge, RunEnd};
use super::outputs::Outputs;
use super::progress::Progress;
use super::signals;
use super::stall::{SilenceWatch, FILE_SILENCE};
use super::stats::{self, ElementStats};
use super::summary::{self, Summary};

/// How long to wait for end of stream once it was requested.
const EOS_TIMEOUT: Duration = Duration::from_secs(60);

/// How the bus loop ended.
struct LoopEnd {
    /// End of stream went through to the sinks: only then are the outputs whole.
    finished: bool,
    failure: Option<Failure>,
    interrupted: bool,
}

/// What the end of a run is judged against.
#[derive(Clone)]
pub struct Ending {
    /// Frames expected, for the progress bar.
    pub progress_total: Option<u64>,
    /// The input file as discovered: a run that ends before its announced duration is
    /// reported (and exits with [`Outcome::PartialInput`] unless `allow_partial`).
    pub input: Option<InputInfo>,
    pub allow_partial: bool,
}

impl Ending {
    /// Live sources announce no length.
    pub fn live(common: &Common) -> Self {
        Self { progress_total: common.max_frames, input: None, allow_partial: false }
    }
}

pub struct Session<'a> {
    plan: &'a Plan,
    common: &'a Common,
    pipeline: gst::Pipeline,
    tap: SharedTap,
    counters: Arc<Counters>,
    rtsp: Option<RtspInput>,
    appsrc: Option<gst_app::AppSrc>,
    serve_sink: Option<gst_app::AppSink>,
    outputs: Outputs,
    audio_repairs: Arc<AudioRepairs>,
}

impl<'a> Session<'a> {
    pub fn new(
        plan: &'a Plan,
        common: &'a Common,
        rtsp_args: Option<&RtspArgs>,
        boxes: Option<BoxTable>,
        outputs: Outputs,
    ) -> Result<Self, Failure> {
        if common.verbose {
            say!("hmr2-launch: pipeline: {}", plan.printed.command_line());
        }
        let pipeline = build_pipeline(&plan.main).map_err(|e| Failure::runtime(e.to_string()))?;
        let element = |name: &str| {
            pipeline.by_name(name).ok_or_else(|| Failure::runtime(format!("pipeline has no element named '{name}'")))
        };
        if let Some(video) = &outputs.video {
            // The description names the final file (as --print-pipeline shows it); the
            // tool writes beside it and renames at the end.
            element(plan::FILE_SINK)?.set_property("location", video.pending.write_path().to_string_lossy().as_ref());
        }
        let scratch_poses = outputs.animation.as_ref().and_then(|a| a.scratch_poses.as_ref());
        let writer = match (&outputs.poses, scratch_poses) {
            (Some(p), _) => Some(
                p.pending.writer().map_err(|e| Failure::runtime(format!("cannot write {}: {e}", p.shown.display())))?,
            ),
            (None, Some(scratch)) => Some(
                scratch
                    .writer()
                    .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", scratch.write_path().display())))?,
            ),
            (None, None) => None,
        };
        let tap: SharedTap = Arc::new(Mutex::new(PoseTap::new(writer)));
        let pose = element(plan::POSE)?;
        if let Some(table) = boxes {
            box_file::install(&pose.static_pad("sink").expect("hmr2pose has a sink pad"), table);
        }
        // The poses are exported as they leave the tracker (ids, smoothing), if there is one.
        let exported = if common.no_track { pose.clone() } else { element(plan::TRACK)? };
        poses::install(&exported.static_pad("src").expect("the pose element has a src pad"), tap.clone());

        let counters = Arc::new(Counters::default());
        crate::interlace::install(&element(plan::IN)?.static_pad("sink").expect("queue sink"));
        let c = counters.clone();
        crate::timestamps::install(&element(plan::IN)?.static_pad("sink").expect("queue sink"), move || {
            c.repaired_timestamps.fetch_add(1, Ordering::Relaxed);
        });
        counters::install_queue_probes(
            &element(plan::IN)?,
            &counters,
            common.max_frames,
            pipeline.bus().expect("pipeline has a bus"),
        );
        crate::interlace::install_flagging(&element(plan::POST)?.static_pad("src").expect("videoconvert src"));
        counters::install_done_probe(&element(plan::POST)?.static_pad("src").expect("videoconvert src"), &counters);
        let audio_repairs = audio_probes::install(&pipeline, &counters);

        let appsrc = pipeline.by_name(plan::APPSRC).and_then(|e| e.downcast::<gst_app::AppSrc>().ok());
        let rtsp = match (rtsp_args, &plan.source, &appsrc) {
            (Some(args), Some(source), Some(appsrc)) => Some(RtspInput::new(
                &args.url,
                source.clone(),
                appsrc.clone(),
                pipeline.bus().expect("bus"),
                args.max_retries,
                args.retry_delay,
                args.stall_timeout,
            )),
            _ => None,
        };
        let serve_sink = pipeline.by_name(plan::SERVE_SINK).and_then(|e| e.downcast::<gst_app::AppSink>().ok());
        Ok(Self { plan, common, pipeline, tap, counters, rtsp, appsrc, serve_sink, outputs, audio_repairs })
    }

    /// Ends the input streams where they enter the processing (video) and the audio branch:
    /// for a source that stopped sending without ending, whose own end never comes.
    fn end_inputs(&self) {
        let audio_heads = (0..).map(crate::audio::queue_name).map_while(|name| self.pipeline.by_name(&name));
        for head in self.pipeline.by_name(plan::IN).into_iter().chain(audio_heads) {
            if let Some(pad) = head.static_pad("sink") {
                let _ = pad.send_event(gst::event::Eos::new());
            }
        }
    }

    fn request_eos(&mut self) {
        if let Some(r) = &mut self.rtsp {
            r.stop();
        }
        match &self.appsrc {
            Some(src) => {
                let _ = src.end_of_stream();
            }
            None => {
                self.pipeline.send_event(gst::event::Eos::new());
            }
        }
    }

    /// Runs the pipeline until end of stream, an error, or a timeout after end of stream
    /// was asked for (--max-frames, a signal, RTSP given up).
    fn bus_loop(&mut self, bus: &gst::Bus, progress: &mut Progress) -> LoopEnd {
        let mut eos_requested_at: Option<Instant> = None;
        let mut failure: Option<Failure> = None;
        let mut interrupted = false;
        let mut finished = false;
        let mut silence = (!self.plan.live).then(|| SilenceWatch::new(FILE_SILENCE, Instant::now()));
        let queue = self.pipeline.by_name(plan::IN);
        loop {
            if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
                match msg.view() {
                    gst::MessageView::Eos(_) => {
                        finished = true;
                        break;
                    }
                    gst::MessageView::Error(e) => {
                        let mut f = Failure::runtime(describe_error(&msg, e));
                        f.in_audio = audio_probes::from_audio_branch(&msg);
                        failure = Some(f);
                        break;
                    }
                    // hmr2pose's notices (the test network, an unavailable GPU) matter to
                    // every run; other elements' warnings only with -v.
                    gst::MessageView::Warning(w)
                        if self.common.verbose || msg.src().is_some_and(|s| s.name() == plan::POSE) =>
                    {
                        progress.println(&format!("hmr2-launch: warning from {}: {}", element_label(&msg), w.error()));
                    }
                    gst::MessageView::Application(a)
                        if a.structure().is_some_and(|s| s.name() == MAX_FRAMES_MESSAGE)
                            && eos_requested_at.is_none() =>
                    {
                        self.request_eos();
                        eos_requested_at = Some(Instant::now());
                    }
                    gst::MessageView::Application(a)
                        if a.structure().is_some_and(|s| s.name() == audio_probes::AUDIO_UNDECODABLE_MESSAGE) =>
                    {
                        let tracks = a.structure().and_then(|s| s.get::<u32>("tracks").ok()).unwrap_or(1);
                        let mut f = Failure::runtime(format!("{tracks} audio track(s) cannot be decoded"));
                        f.in_audio = true;
                        failure = Some(f);
                        break;
                    }
                    gst::MessageView::Latency(_) => {
                        let _ = self.pipeline.recalculate_latency();
                    }
                    _ => {}
                }
            }
            if !interrupted && signals::interrupted() {
                interrupted = true;
                self.counters.closing.store(true, Ordering::Relaxed);
                progress.println("hmr2-launch: interrupted: finishing the outputs (interrupt again to abort)");
                if eos_requested_at.is_none() {
                    self.request_eos();
                    eos_requested_at = Some(Instant::now());
                }
            }
            if eos_requested_at.is_none() {
                if let Some(r) = &mut self.rtsp {
                    progress.suspend(|| r.poll(self.common.verbose)).unwrap_or_else(|f| {
                        failure = Some(f);
                    });
                    if failure.is_some() {
                        self.request_eos();
                        eos_requested_at = Some(Instant::now());
                    }
                }
            }
            if let (Some(watch), None, Some(queue)) = (&mut silence, eos_requested_at, &queue) {
                let arrived = self.counters.arrived.load(Ordering::Relaxed);
                let queue_empty = queue.property::<u32>("current-level-buffers") == 0;
                let audio = self.counters.audio_end_ns.load(Ordering::Relaxed);
                if !self.counters.input_ended.load(Ordering::Relaxed)
                    && watch.silent(Instant::now(), arrived, audio, queue_empty)
                {
                    progress.println(&format!(
                        "hmr2-launch: warning: the input stopped sending frames without ending ({arrived} frames, then {} s of silence): finishing the outputs with what arrived",
                        FILE_SILENCE.as_secs()
                    ));
                    self.end_inputs();
                    eos_requested_at = Some(Instant::now());
                }
            }
            progress.update(self.counters.done());
            if eos_requested_at.is_some_and(|t| t.elapsed() > EOS_TIMEOUT) {
                failure.get_or_insert(Failure::runtime(format!(
                    "the pipeline did not finish within {} s after end of stream was requested",
                    EOS_TIMEOUT.as_secs()
                )));
                break;
            }
        }
        LoopEnd { finished, failure, interrupted }
    }

    pub fn run(mut self, ending: Ending) -> Result<Outcome, Failure> {
        let bus = self.pipeline.bus().expect("pipeline has a bus");
        let _server = match (&self.plan.sink, &self.serve_sink) {
            (Sink::Serve { port, mount }, Some(appsink)) => {
                let s = serve::start(*port, mount, appsink.clone())?;
                say!("hmr2-launch: serving {}", s.url);
                Some(s)
            }
            _ => None,
        };
        if self.pipeline.set_state(gst::State::Playing).is_err() {
            let cause = first_bus_error(&bus, Duration::from_secs(2))
                .unwrap_or_else(|| "the pipeline refused to start".to_owned());
            let _ = self.pipeline.set_state(gst::State::Null);
            return Err(Failure::runtime(cause));
        }
        if let Some(r) = &mut self.rtsp {
            r.start()?;
        }
        let started = Instant::now();
        let mut progress =
            Progress::new(self.common.quiet, ending.progress_total, self.plan.live, self.common.progress_json);
        let LoopEnd { finished, mut failure, interrupted } = self.bus_loop(&bus, &mut progress);
        progress.finish();
        let elapsed = started.elapsed();
        let stats: Vec<ElementStats> =
            [plan::POSE, plan::OVERLAY].iter().filter_map(|name| stats::read(&self.pipeline.by_name(name)?)).collect();
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(r) = &mut self.rtsp {
            r.stop();
        }
        let mut tap = self.tap.lock().unwrap_or_else(|e| e.into_inner());
        let tap_result = tap.finish();
        let pose_lines = tap.counts.frames;
        let done = self.counters.done();
        if done > 0 || failure.is_none() {
            Summary {
                elapsed,
                done,
                arrived: self.counters.arrived.load(Ordering::Relaxed),
                admitted: self.counters.admitted(),
                live: self.plan.live,
                max_frames: self.common.max_frames,
                interrupted,
                poses: &tap.counts,
                reconnections: self.rtsp.as_ref().map_or(0, |r| r.reconnections),
                repaired_timestamps: self.counters.repaired_timestamps.load(Ordering::Relaxed),
                stats: &stats,
            }
            .print();
            if let Some(picture) = ending.input.as_ref().map(|i| &i.picture) {
                summary::conformed(picture);
            }
        }
        if self.common.progress_json {
            let persons = tap.counts.persons;
            Report::Summary {
                frames: done,
                elapsed_s: elapsed.as_secs_f64(),
                interrupted,
                persons,
                stats: stats.iter().map(ElementStats::to_report).collect(),
            }
            .emit();
        }
        drop(tap);
        let restamped = self.audio_repairs.restamped.load(Ordering::Relaxed);
        if restamped > 0 && !self.common.quiet {
            say!("hmr2-launch: audio: {restamped} buffers overlapping the previous one restamped from their sample counts");
        }

        let mut outputs = std::mem::take(&mut self.outputs);
        if let Err(e) = tap_result {
            // An incomplete pose file is not put in place, nor an animation made from it.
            outputs.poses = None;
            outputs.animation = None;
            failure.get_or_insert(Failure::runtime(e.to_string()));
        }
        let max_frames_reached = self.common.max_frames.is_some_and(|m| self.counters.admitted() >= m);
        let early_end = ending
            .input
            .as_ref()
            .filter(|_| finished && !interrupted && !max_frames_reached)
            .and_then(|info| info.early_end(self.counters.reached(), done));
        let verdict = judge(RunEnd {
            finished,
            failure,
            interrupted,
            frames_done: done,
            early_end,
            allow_partial: ending.allow_partial,
        });
        if verdict.keep_outputs {
            let animation = outputs.animation.take();
            let poses = outputs.poses.as_ref().map(|p| p.pending.target().to_owned());
            outputs.commit(done, pose_lines)?;
            if let Some(animation) = animation {
                animation.finish(poses.as_deref())?;
            }
        }
        if let Some(note) = &verdict.note {
            say!("{note}");
        }
        verdict.result
    }
}
