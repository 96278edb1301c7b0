//! The reconnecting RTSP input: a source pipeline (rtspsrc ! decodebin ! appsink) that is
//! torn down and rebuilt when the stream drops, feeding an appsrc in the main pipeline that
//! keeps running, so the encoder and muxer see one continuous stream. Timestamps are
//! re-based per connection so they stay monotonic: the first frame after a reconnection
//! continues where the previous one ended.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

use crate::desc::Description;
use crate::elements::build_pipeline;
use crate::plan::BRIDGE_SINK;
use crate::say;
use crate::{clean_debug, Failure};

/// Name of the application message posted on the main bus when the stream dropped and a
/// reconnection is scheduled.
pub const RECONNECTING_MESSAGE: &str = "hmr2-launch-reconnecting";
/// Name of the application message posted when frames flow again after a reconnection.
pub const RECONNECTED_MESSAGE: &str = "hmr2-launch-reconnected";

const MAX_DELAY: f64 = 30.0;

#[derive(Default)]
struct Rebase {
    /// Running time of the first frame of the current connection.
    first_running: Option<gst::ClockTime>,
    /// Output time given to that first frame.
    base: gst::ClockTime,
    /// Where the next connection starts: end of the last frame pushed.
    next: gst::ClockTime,
    last_pts: Option<gst::ClockTime>,
    last_duration: Option<gst::ClockTime>,
    caps: Option<gst::Caps>,
    frames_this_connection: u64,
    frames_total: u64,
    last_frame_at: Option<Instant>,
    stopped: bool,
}

impl Rebase {
    fn new_connection(&mut self) {
        self.first_running = None;
        self.frames_this_connection = 0;
        self.last_frame_at = None;
    }

    /// Output timestamp for a frame at source running time `running`.
    fn map(&mut self, running: Option<gst::ClockTime>, duration: Option<gst::ClockTime>) -> gst::ClockTime {
        let running = running.unwrap_or_else(|| {
            // No timestamp: continue from the last one.
            self.first_running.unwrap_or(gst::ClockTime::ZERO)
                + self.last_pts.map_or(gst::ClockTime::ZERO, |p| p.saturating_sub(self.base))
                + self.last_duration.unwrap_or(gst::ClockTime::ZERO)
        });
        let first = *self.first_running.get_or_insert_with(|| {
            self.base = self.next;
            running
        });
        let mut pts = self.base + running.saturating_sub(first);
        if let Some(last) = self.last_pts {
            if pts <= last {
                pts = last + gst::ClockTime::from_nseconds(1);
            }
        }
        let dur = duration.or(self.last_duration);
        self.last_pts = Some(pts);
        self.last_duration = dur;
        self.next = pts + dur.unwrap_or(gst::ClockTime::ZERO);
        pts
    }
}

enum State {
    Connecting { since: Instant, attempt: u32 },
    Streaming,
    Waiting { until: Instant, attempt: u32 },
    Stopped,
}

/// The reconnecting source.
pub struct RtspInput {
    url: String,
    description: Description,
    appsrc: gst_app::AppSrc,
    main_bus: gst::Bus,
    source: Option<gst::Pipeline>,
    shared: Arc<Mutex<Rebase>>,
    state: State,
    max_retries: u32,
    retry_delay: f64,
    stall_timeout: Duration,
    /// Failed tries in the current outage.
    failures: u32,
    ever_streamed: bool,
    pub reconnections: u32,
    quiet_prefix: &'static str,
}

impl RtspInput {
    pub fn new(
        url: &str,
        description: Description,
        appsrc: gst_app::AppSrc,
        main_bus: gst::Bus,
        max_retries: u32,
        retry_delay: f64,
        stall_timeout: f64,
    ) -> Self {
        Self {
            url: url.to_owned(),
            description,
            appsrc,
            main_bus,
            source: None,
            shared: Arc::new(Mutex::new(Rebase::default())),
            state: State::Stopped,
            max_retries,
            retry_delay: retry_delay.max(0.0),
            stall_timeout: Duration::from_secs_f64(stall_timeout.max(0.5)),
            failures: 0,
            ever_streamed: false,
            reconnections: 0,
            quiet_prefix: "hmr2-launch: rtsp:",
        }
    }

    /// Frames handed to the main pipeline so far.
    pub fn frames(&self) -> u64 {
        self.lock().frames_total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rebase> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the first connection.
    pub fn start(&mut self) -> Result<(), Failure> {
        self.connect(0)
    }

    fn connect(&mut self, attempt: u32) -> Result<(), Failure> {
        self.teardown();
        let pipeline = build_pipeline(&self.description).map_err(|e| Failure::runtime(format!("RTSP source: {e}")))?;
        let appsink = pipeline
            .by_name(BRIDGE_SINK)
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or_else(|| Failure::runtime("RTSP source pipeline has no appsink"))?;
        self.lock().new_connection();
        let shared = self.shared.clone();
        let appsrc = self.appsrc.clone();
        appsink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    forward(&shared, &appsrc, &sample)
                })
                .build(),
        );
        // The state change reports failures on the bus; poll() picks them up.
        let _ = pipeline.set_state(gst::State::Playing);
        self.source = Some(pipeline);
        self.state = State::Connecting { since: Instant::now(), attempt };
        Ok(())
    }

    fn teardown(&mut self) {
        if let Some(p) = self.source.take() {
            let _ = p.set_state(gst::State::Null);
        }
    }

    /// Stops the source for good (end of input requested).
    pub fn stop(&mut self) {
        self.lock().stopped = true;
        self.teardown();
        self.state = State::Stopped;
    }

    /// Handles the source's bus, stalls and scheduled retries. Returns an error when the
    /// stream is lost for good.
    pub fn poll(&mut self, verbose: bool) -> Result<(), Failure> {
        let mut lost: Option<String> = None;
        // An error (refused, unknown host, bad path), not silence or end of stream.
        let mut failed = false;
        if let Some(p) = &self.source {
            let bus = p.bus().expect("pipeline has a bus");
            while let Some(msg) = bus.pop() {
                match msg.view() {
                    gst::MessageView::Error(e) => {
                        let src = msg.src().map(|s| s.name().to_string()).unwrap_or_default();
                        let debug = e
                            .debug()
                            .map(|d| clean_debug(&d))
                            .filter(|d| !d.is_empty())
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default();
                        if lost.is_none() {
                            failed = true;
                        }
                        lost.get_or_insert(format!("{src}: {}{debug}", e.error()));
                    }
                    gst::MessageView::Eos(_) => {
                        lost.get_or_insert_with(|| "end of stream".to_owned());
                    }
                    gst::MessageView::Warning(w) if verbose => {
                        say!("{} warning: {}", self.quiet_prefix, w.error());
                    }
                    _ => {}
                }
            }
        }
        let (frames_now, last_frame_at) = {
            let s = self.lock();
            (s.frames_this_connection, s.last_frame_at)
        };
        match self.state {
            State::Connecting { since, attempt } => {
                if frames_now > 0 && lost.is_none() {
                    self.state = State::Streaming;
                    self.failures = 0;
                    if self.ever_streamed {
                        self.reconnections += 1;
                        let at = self.frames() - frames_now;
                        say!(
                            "{} reconnected to {} (try {attempt}); {at} frames had been received before",
                            self.quiet_prefix,
                            self.url
                        );
                        let _ = self.main_bus.post(
                            gst::message::Application::builder(
                                gst::Structure::builder(RECONNECTED_MESSAGE)
                                    .field("url", &self.url)
                                    .field("attempt", attempt)
                                    .field("frame", at)
                                    .build(),
                            )
                            .build(),
                        );
                    }
                    self.ever_streamed = true;
                } else if lost.is_none() && since.elapsed() > self.stall_timeout {
                    lost = Some(format!("no frame within {:.1} s", self.stall_timeout.as_secs_f64()));
                }
            }
            State::Streaming => {
                if lost.is_none() && last_frame_at.is_some_and(|t| t.elapsed() > self.stall_timeout) {
                    lost = Some(format!("no frame for {:.1} s", self.stall_timeout.as_secs_f64()));
                }
            }
            State::Waiting { until, attempt } => {
                if Instant::now() >= until {
                    self.connect(attempt)?;
                }
                return Ok(());
            }
            State::Stopped => return Ok(()),
        }
        match lost {
            Some(cause) => self.on_lost(cause, failed),
            None => Ok(()),
        }
    }

    /// `failed`: the source reported an error. A stream that never connected and fails
    /// (a closed port, a wrong address or path) is given up at once: reconnection is for
    /// streams that drop.
    fn on_lost(&mut self, cause: String, failed: bool) -> Result<(), Failure> {
        if failed && !self.ever_streamed {
            self.teardown();
            self.state = State::Stopped;
            return Err(Failure::runtime(format!(
                "rtsp: cannot connect to {}: {cause}; giving up after 0 reconnection tries: it never connected \
                 (--max-retries is for streams that drop)",
                self.url
            )));
        }
        let streamed_this_time = matches!(self.state, State::Streaming);
        self.teardown();
        if streamed_this_time {
            self.failures = 0;
        }
        self.failures += 1;
        let what = if self.ever_streamed {
            format!("stream {} lost", self.url)
        } else {
            format!("cannot connect to {}", self.url)
        };
        if self.failures > self.max_retries {
            self.state = State::Stopped;
            let tries = if self.max_retries == 1 { "try" } else { "tries" };
            return Err(Failure::runtime(format!(
                "rtsp: {what}: {cause}; giving up after {} reconnection {tries}",
                self.max_retries
            )));
        }
        let attempt = self.failures;
        let delay = (self.retry_delay * 2f64.powi(attempt as i32 - 1)).min(MAX_DELAY);
        say!(
            "{} {what}: {cause}; reconnecting in {delay:.1} s (try {attempt}/{})",
            self.quiet_prefix,
            self.max_retries
        );
        let _ = self.main_bus.post(
            gst::message::Application::builder(
                gst::Structure::builder(RECONNECTING_MESSAGE)
                    .field("url", &self.url)
                    .field("attempt", attempt)
                    .field("max-retries", self.max_retries)
                    .field("delay", delay)
                    .field("cause", &cause)
                    .build(),
            )
            .build(),
        );
        self.state = State::Waiting { until: Instant::now() + Duration::from_secs_f64(delay), attempt };
        Ok(())
    }
}

impl Drop for RtspInput {
    fn drop(&mut self) {
        self.stop();
    }
}

/// appsink callback: re-base the frame and hand it to the main pipeline.
fn forward(
    shared: &Mutex<Rebase>,
    appsrc: &gst_app::AppSrc,
    sample: &gst::Sample,
) -> Result<gst::FlowSuccess, gst::FlowError> {
    let buffer = sample.buffer().ok_or(gst::FlowError::Error)?;
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    if s.stopped {
        return Err(gst::FlowError::Eos);
    }
    let running = sample
        .segment()
        .and_then(|seg| seg.downcast_ref::<gst::ClockTime>())
        .zip(buffer.pts())
        .and_then(|(seg, pts)| seg.to_running_time(pts));
    let duration = buffer.duration().or_else(|| {
        sample.caps().and_then(|c| gst_video::VideoInfo::from_caps(c).ok()).and_then(|info| {
            let fps = info.fps();
            (fps.numer() > 0).then(|| {
                gst::ClockTime::SECOND
                    .mul_div_floor(fps.denom() as u64, fps.numer() as u64)
                    .unwrap_or(gst::ClockTime::ZERO)
            })
        })
    });
    let pts = s.map(running, duration);
    if let Some(caps) = sample.caps_owned() {
        if s.caps.as_ref() != Some(&caps) {
            appsrc.set_caps(Some(&caps));
            s.caps = Some(caps);
        }
    }
    s.frames_this_connection += 1;
    s.frames_total += 1;
    s.last_frame_at = Some(Instant::now());
    drop(s);
    let mut out = buffer.copy();
    {
        let b = out.make_mut();
        b.set_pts(pts);
        b.set_dts(gst::ClockTime::NONE);
        b.set_duration(duration);
    }
    match appsrc.push_buffer(out) {
        Ok(ok) => Ok(ok),
        // The main pipeline is shutting down: stop this source quietly.
        Err(gst::FlowError::Flushing) | Err(gst::FlowError::Eos) => Err(gst::FlowError::Eos),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> gst::ClockTime {
        gst::ClockTime::from_mseconds(v)
    }

    #[test]
    fn rebases_across_connections() {
        let mut r = Rebase::default();
        r.new_connection();
        assert_eq!(r.map(Some(ms(5000)), Some(ms(40))), ms(0));
        assert_eq!(r.map(Some(ms(5040)), Some(ms(40))), ms(40));
        // New connection whose clock starts elsewhere: continues after the last frame.
        r.new_connection();
        assert_eq!(r.map(Some(ms(100)), Some(ms(40))), ms(80));
        assert_eq!(r.map(Some(ms(140)), Some(ms(40))), ms(120));
        // A timestamp going backwards still yields increasing output.
        let p = r.map(Some(ms(50)), Some(ms(40)));
        assert!(p > ms(120));
    }
}
