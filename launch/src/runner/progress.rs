//! Progress on stderr: a bar on a terminal, a plain line every 2 s otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress_report::{Report, PROGRESS_PERIOD};
use crate::say;

const PLAIN_PROGRESS_PERIOD: Duration = Duration::from_secs(2);

pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    total: Option<u64>,
    start: Instant,
    last_line: Instant,
    live: bool,
    /// `--progress-json`: when the last JSON line was printed (None: not asked for).
    json_last: Option<Option<Instant>>,
}

impl Progress {
    pub fn new(quiet: bool, total: Option<u64>, live: bool, json: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let (bar, template) = match total {
                Some(t) => (
                    ProgressBar::new(t),
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} frames, {per_sec}, ETA {eta}",
                ),
                None => (ProgressBar::new_spinner(), "{spinner} [{elapsed_precise}] {pos} frames, {per_sec}"),
            };
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        });
        let now = Instant::now();
        Self { bar, plain: !quiet && !tty, total, start: now, last_line: now, live, json_last: json.then_some(None) }
    }

    pub fn update(&mut self, done: u64) {
        if let Some(last) = &mut self.json_last {
            if last.is_none_or(|t| t.elapsed() >= PROGRESS_PERIOD) {
                *last = Some(Instant::now());
                Report::Progress { done, total: self.total, elapsed_s: self.start.elapsed().as_secs_f64() }.emit();
            }
        }
        if let Some(bar) = &self.bar {
            if self.total.is_some_and(|t| done > t) {
                bar.set_length(done);
            }
            bar.set_position(done);
            bar.tick();
        } else if self.plain && self.last_line.elapsed() >= PLAIN_PROGRESS_PERIOD {
            self.last_line = Instant::now();
            let secs = self.start.elapsed().as_secs_f64();
            let fps = if secs > 0.0 { done as f64 / secs } else { 0.0 };
            let line = match self.total {
                Some(t) if t > 0 => {
                    let eta = if fps > 0.0 && t > done {
                        format!(", ETA {:.0} s", (t - done) as f64 / fps)
                    } else {
                        String::new()
                    };
                    format!(
                        "hmr2-launch: {done}/{t} frames ({:.0}%), {fps:.1} frames/s{eta}",
                        100.0 * done as f64 / t as f64
                    )
                }
                _ => format!("hmr2-launch: {done} frames, {fps:.1} frames/s{}", if self.live { " (live)" } else { "" }),
            };
            say!("{line}");
        }
    }

    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| say!("{line}")),
            None => say!("{line}"),
        }
    }

    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }
}
