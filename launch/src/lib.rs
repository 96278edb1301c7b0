//! `hmr2-launch`: ready-made hmr2pose ! meshoverlay pipelines for files, webcams and RTSP
//! streams, with both plugins registered statically (no GST_PLUGIN_PATH needed).
//!
//! The binary is a thin wrapper around [`main`]; the modules are public so the end-to-end
//! tests can reuse the pose schema and the pipeline descriptions.

pub mod animation;
pub mod audio;
pub mod box_file;
pub mod cli;
pub mod colour;
pub mod conform;
pub mod desc;
pub mod elements;
pub mod interlace;
pub mod output_paths;
pub mod pending_output;
pub mod plan;
pub mod poses;
pub mod progress_report;
pub mod rtsp;
mod runner;
mod serve;
pub mod service;
pub mod timestamps;

use std::fmt;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

pub use rtsp::{RECONNECTED_MESSAGE, RECONNECTING_MESSAGE};

/// Writes one line to stderr, ignoring failures: after SIGHUP the terminal may be gone, and
/// the output must still be finished.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}

/// Exit status of a run that failed (missing file, element error, RTSP retries exhausted).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status of a usage error (as clap uses).
pub const EXIT_USAGE: u8 = 2;
/// Exit status of a run stopped by SIGINT, SIGTERM or SIGHUP; its outputs were finished
/// with the frames processed so far.
pub const EXIT_INTERRUPTED: u8 = 3;
/// Exit status of a run whose input ended before the length its container announces
/// (without --allow-partial); its outputs hold what was read.
pub const EXIT_PARTIAL_INPUT: u8 = 4;
/// Exit status after a second interrupt: the tool stops at once, its outputs unfinished
/// (their temporary files are removed).
pub const EXIT_ABORTED: i32 = 130;

/// A failure that ends the program: one line for stderr and an exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub code: u8,
    /// The failure came from an audio branch: the run can be redone without the audio.
    pub in_audio: bool,
}

impl Failure {
    /// Bad command line.
    pub fn usage(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: EXIT_USAGE, in_audio: false }
    }

    /// Anything that went wrong at run time.
    pub fn runtime(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: EXIT_FAILURE, in_audio: false }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// How a run that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The whole input (or --max-frames frames) was processed.
    Complete,
    /// A signal stopped it; the outputs hold the frames processed until then.
    Interrupted,
    /// The input ended before its announced length.
    PartialInput,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Complete => 0,
            Self::Interrupted => EXIT_INTERRUPTED,
            Self::PartialInput => EXIT_PARTIAL_INPUT,
        }
    }
}

/// Folds a multi-line text into one line of at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > max {
        let mut s: String = joined.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    } else {
        joined
    }
}

/// The useful part of a GStreamer debug string: `file.c(123): function (): /GstPipeline:p/
/// GstX:x: detail` becomes `detail` (empty when there is none).
pub fn clean_debug(debug: &str) -> String {
    let text = match debug.find(" (): ") {
        Some(i) => {
            let rest = &debug[i + 5..];
            if rest.starts_with('/') {
                // The object path ends at the first ':' followed by white space.
                let bytes = rest.as_bytes();
                (0..bytes.len().saturating_sub(1))
                    .find(|&j| bytes[j] == b':' && bytes[j + 1].is_ascii_whitespace())
                    .map_or("", |j| &rest[j + 2..])
            } else {
                rest
            }
        }
        None => debug,
    };
    one_line(text, 300)
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("hmr2-launch: internal error{place}: {}", one_line(&payload, 300));
    }));
}

/// Vulkan drivers complain on stderr when XDG_RUNTIME_DIR is unset (harmless, but it looks
/// like an error): give them a private directory in that case.
fn ensure_runtime_dir() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| Path::new(&d).is_dir()) {
        return;
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "user".to_owned());
    let dir = std::env::temp_dir().join(format!("hmr2-launch-runtime-{user}"));
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true).mode(0o700);
    if builder.create(&dir).is_ok() {
        // Still single-threaded here: nothing else reads the environment concurrently.
        std::env::set_var("XDG_RUNTIME_DIR", &dir);
    }
}

/// Parses the command line, runs it, and returns the exit code.
pub fn main() -> ExitCode {
    install_panic_hook();
    ensure_runtime_dir();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    if let cli::Command::Serve(args) = cli.command {
        return match service::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(f) => {
                say!("hmr2-launch: error: {}", one_line(&f.message, 600));
                ExitCode::from(f.code)
            }
        };
    }
    match runner::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(f) => {
            say!("hmr2-launch: error: {}", one_line(&f.message, 600));
            ExitCode::from(f.code)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cleans_debug_strings() {
        use super::clean_debug;
        assert_eq!(
            clean_debug("../libs/gst/base/gstbasesrc.c(3132): gst_base_src_loop (): /GstPipeline:pipeline0/GstVideoTestSrc:videotestsrc0:\nstreaming stopped, reason not-negotiated (-4)"),
            "streaming stopped, reason not-negotiated (-4)"
        );
        assert_eq!(clean_debug("x.rs(1): f (): /GstPipeline:p/GstMeshOverlay:overlay"), "");
        assert_eq!(clean_debug("plain text"), "plain text");
    }
}
