//! A session: the main pipeline built from a plan, with its pad probes (pose export,
//! --boxes, frame counters), run until end of stream, an error or Ctrl-C.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

use crate::box_file::{self, BoxTable};
use crate::cli::{Common, RtspArgs};
use crate::elements::build_pipeline;
use crate::plan::{self, Plan, Sink};
use crate::poses::{self, PoseTap, SharedTap};
use crate::rtsp::RtspInput;
use crate::{serve, Failure};

use super::bus::{describe_error, element_label, first_bus_error};
use super::counters::{self, Counters, MAX_FRAMES_MESSAGE};
use super::progress::Progress;
use super::signals;
use super::stats::{self, ElementStats};
use super::summary::Summary;

/// How long to wait for end of stream once it was requested.
const EOS_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Session<'a> {
    plan: &'a Plan,
    common: &'a Common,
    pipeline: gst::Pipeline,
    tap: SharedTap,
    counters: Arc<Counters>,
    rtsp: Option<RtspInput>,
    appsrc: Option<gst_app::AppSrc>,
    serve_sink: Option<gst_app::AppSink>,
}

impl<'a> Session<'a> {
    pub fn new(
        plan: &'a Plan,
        common: &'a Common,
        rtsp_args: Option<&RtspArgs>,
    ) -> Result<Self, Failure> {
        if common.verbose {
            eprintln!("hmr2-launch: pipeline: {}", plan.printed.command_line());
        }
        let pipeline = build_pipeline(&plan.main).map_err(|e| Failure::runtime(e.to_string()))?;
        let element = |name: &str| {
            pipeline
                .by_name(name)
                .ok_or_else(|| Failure::runtime(format!("pipeline has no element named '{name}'")))
        };
        let tap = PoseTap::new(common.poses.as_deref()).map_err(|e| {
            Failure::runtime(format!(
                "cannot create {}: {e}",
                common.poses.as_deref().unwrap_or(Path::new("")).display()
            ))
        })?;
        let tap: SharedTap = Arc::new(Mutex::new(tap));
        let pose = element(plan::POSE)?;
        if let Some(path) = &common.pose.boxes {
            let table = BoxTable::load(path).map_err(|e| Failure::runtime(e.to_string()))?;
            box_file::install(
                &pose.static_pad("sink").expect("hmr2pose has a sink pad"),
                table,
            );
        }
        poses::install(
            &pose.static_pad("src").expect("hmr2pose has a src pad"),
            tap.clone(),
        );

        let counters = Arc::new(Counters::default());
        counters::install_queue_probes(
            &element(plan::IN)?,
            &counters,
            common.max_frames,
            pipeline.bus().expect("pipeline has a bus"),
        );
        counters::install_done_probe(
            &element(plan::POST)?
                .static_pad("src")
                .expect("videoconvert src"),
            &counters,
        );

        let appsrc = pipeline
            .by_name(plan::APPSRC)
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok());
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
        let serve_sink = pipeline
            .by_name(plan::SERVE_SINK)
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok());
        Ok(Self {
            plan,
            common,
            pipeline,
            tap,
            counters,
            rtsp,
            appsrc,
            serve_sink,
        })
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

    pub fn run(mut self, expected: Option<u64>) -> Result<(), Failure> {
        signals::install_interrupt_handler();
        let bus = self.pipeline.bus().expect("pipeline has a bus");
        let _server = match (&self.plan.sink, &self.serve_sink) {
            (Sink::Serve { port, mount }, Some(appsink)) => {
                let s = serve::start(*port, mount, appsink.clone())?;
                eprintln!("hmr2-launch: serving {}", s.url);
                Some(s)
            }
            _ => None,
        };
        if self.pipeline.set_state(gst::State::Playing).is_err() {
            let cause = first_bus_error(&bus, Duration::from_secs(2))
                .unwrap_or_else(|| "the pipeline refused to start".to_owned());
            let _ = self.pipeline.set_state(gst::State::Null);
            self.cleanup_output(0);
            return Err(Failure::runtime(cause));
        }
        if let Some(r) = &mut self.rtsp {
            r.start()?;
        }
        let started = Instant::now();
        let mut progress = Progress::new(self.common.quiet, expected, self.plan.live);
        let mut eos_requested_at: Option<Instant> = None;
        let mut failure: Option<Failure> = None;
        let mut interrupted = false;
        loop {
            if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
                match msg.view() {
                    gst::MessageView::Eos(_) => break,
                    gst::MessageView::Error(e) => {
                        failure = Some(Failure::runtime(describe_error(&msg, e)));
                        break;
                    }
                    gst::MessageView::Warning(w) if self.common.verbose => {
                        progress.println(&format!(
                            "hmr2-launch: warning from {}: {}",
                            element_label(&msg),
                            w.error()
                        ));
                    }
                    gst::MessageView::Application(a)
                        if a.structure()
                            .is_some_and(|s| s.name() == MAX_FRAMES_MESSAGE)
                            && eos_requested_at.is_none() =>
                    {
                        self.request_eos();
                        eos_requested_at = Some(Instant::now());
                    }
                    gst::MessageView::Latency(_) => {
                        let _ = self.pipeline.recalculate_latency();
                    }
                    _ => {}
                }
            }
            if !interrupted && signals::interrupted() {
                interrupted = true;
                self.counters
                    .closing
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                progress.println(
                    "hmr2-launch: interrupted: finishing the output (Ctrl-C again to abort)",
                );
                if eos_requested_at.is_none() {
                    self.request_eos();
                    eos_requested_at = Some(Instant::now());
                }
            }
            if eos_requested_at.is_none() {
                if let Some(r) = &mut self.rtsp {
                    progress
                        .suspend(|| r.poll(self.common.verbose))
                        .unwrap_or_else(|f| {
                            failure = Some(f);
                        });
                    if failure.is_some() {
                        self.request_eos();
                        eos_requested_at = Some(Instant::now());
                    }
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
        progress.finish();
        let elapsed = started.elapsed();
        let stats: Vec<ElementStats> = [plan::POSE, plan::OVERLAY]
            .iter()
            .filter_map(|name| stats::read(&self.pipeline.by_name(name)?))
            .collect();
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(r) = &mut self.rtsp {
            r.stop();
        }
        let mut tap = self.tap.lock().unwrap_or_else(|e| e.into_inner());
        let tap_result = tap.finish();
        let done = self.counters.done();
        if done > 0 || failure.is_none() {
            Summary {
                elapsed,
                done,
                arrived: self
                    .counters
                    .arrived
                    .load(std::sync::atomic::Ordering::Relaxed),
                admitted: self
                    .counters
                    .admitted
                    .load(std::sync::atomic::Ordering::Relaxed),
                live: self.plan.live,
                max_frames: self.common.max_frames,
                interrupted,
                poses: &tap.counts,
                reconnections: self.rtsp.as_ref().map_or(0, |r| r.reconnections),
                stats: &stats,
            }
            .print();
        }
        drop(tap);
        if let Some(f) = failure {
            self.cleanup_output(done);
            return Err(f);
        }
        if let Err(e) = tap_result {
            return Err(Failure::runtime(e.to_string()));
        }
        self.print_outputs();
        Ok(())
    }

    /// Removes an output file that never received a frame.
    fn cleanup_output(&self, done: u64) {
        if done == 0 {
            if let Sink::File(p) = &self.plan.sink {
                let _ = std::fs::remove_file(p);
            }
        }
    }

    fn print_outputs(&self) {
        if let Sink::File(p) = &self.plan.sink {
            println!("video: {}", p.display());
        }
        if let Some(p) = &self.common.poses {
            println!("poses: {}", p.display());
        }
    }
}
