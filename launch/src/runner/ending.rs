//! How a run ends: whether its outputs are put in place, and the status it exits with.
//!
//! Outputs are kept only when the pipeline finished them (end of stream reached the sinks)
//! and, unless the run completed normally, when they hold at least one frame: a failed or
//! interrupted run must not replace a file with an empty one. Then, in this order: a
//! failure (RTSP retries exhausted after frames were written) is the result; a signal
//! gives [`Outcome::Interrupted`]; an input that ended early gives
//! [`Outcome::PartialInput`] (or [`Outcome::Complete`] with --allow-partial); otherwise
//! [`Outcome::Complete`].

use crate::{Failure, Outcome};

use super::discover::EarlyEnd;

/// What the session saw when its pipeline stopped.
pub struct RunEnd {
    /// End of stream reached the sinks: the outputs are whole.
    pub finished: bool,
    pub failure: Option<Failure>,
    pub interrupted: bool,
    /// Frames out of the processing chain (= frames in the video output).
    pub frames_done: u64,
    /// Set when the input stopped short of its announced length (file input only).
    pub early_end: Option<EarlyEnd>,
    pub allow_partial: bool,
}

/// What to do about it.
#[derive(Debug, PartialEq)]
pub struct Verdict {
    /// Put the outputs in place (otherwise their temporary files are removed).
    pub keep_outputs: bool,
    /// A line for stderr, after the outputs.
    pub note: Option<String>,
    pub result: Result<Outcome, Failure>,
}

pub fn judge(end: RunEnd) -> Verdict {
    let nothing_written = end.frames_done == 0 && (end.failure.is_some() || end.interrupted);
    if !end.finished || nothing_written {
        let note = (end.finished && end.failure.is_none())
            .then(|| "hmr2-launch: interrupted before the first frame: nothing was written".to_owned());
        return Verdict {
            keep_outputs: false,
            note,
            result: match end.failure {
                Some(f) => Err(f),
                None if end.interrupted => Ok(Outcome::Interrupted),
                // The loop ends on end of stream, an error, or a timeout (a failure).
                None => Err(Failure::runtime("the pipeline stopped without finishing")),
            },
        };
    }
    let (note, result) = match (end.failure, end.interrupted, end.early_end) {
        (Some(f), _, _) => (None, Err(f)),
        (None, true, _) => (None, Ok(Outcome::Interrupted)),
        (None, false, Some(early)) if end.allow_partial => {
            (Some(format!("hmr2-launch: warning: {early} (accepted: --allow-partial)")), Ok(Outcome::Complete))
        }
        (None, false, Some(early)) => (
            Some(format!(
                "hmr2-launch: warning: {early}; the outputs hold what was read (--allow-partial accepts this)"
            )),
            Ok(Outcome::PartialInput),
        ),
        (None, false, None) => (None, Ok(Outcome::Complete)),
    };
    Verdict { keep_outputs: true, note, result }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end() -> RunEnd {
        RunEnd {
            finished: true,
            failure: None,
            interrupted: false,
            frames_done: 10,
            early_end: None,
            allow_partial: false,
        }
    }

    fn early() -> EarlyEnd {
        EarlyEnd {
            frames_done: 10,
            frames_announced: Some(20),
            reached: gst::ClockTime::from_mseconds(333),
            announced: gst::ClockTime::from_mseconds(667),
        }
    }

    #[test]
    fn a_complete_run_keeps_its_outputs() {
        let v = judge(end());
        assert_eq!((v.keep_outputs, v.result), (true, Ok(Outcome::Complete)));
        // An empty input that ended normally still gives (empty) outputs.
        let v = judge(RunEnd { frames_done: 0, ..end() });
        assert_eq!((v.keep_outputs, v.result), (true, Ok(Outcome::Complete)));
    }

    #[test]
    fn unfinished_or_empty_failed_runs_keep_nothing() {
        let failure = || Some(Failure::runtime("x"));
        let v = judge(RunEnd { finished: false, failure: failure(), ..end() });
        assert_eq!((v.keep_outputs, v.result), (false, Err(Failure::runtime("x"))));
        let v = judge(RunEnd { failure: failure(), frames_done: 0, ..end() });
        assert!(!v.keep_outputs);
        let v = judge(RunEnd { interrupted: true, frames_done: 0, ..end() });
        assert_eq!((v.keep_outputs, v.result), (false, Ok(Outcome::Interrupted)));
        assert!(v.note.unwrap().contains("nothing was written"));
    }

    #[test]
    fn finished_runs_report_failure_then_interrupt_then_early_end() {
        let v = judge(RunEnd {
            failure: Some(Failure::runtime("gave up")),
            interrupted: true,
            early_end: Some(early()),
            ..end()
        });
        assert_eq!((v.keep_outputs, v.result), (true, Err(Failure::runtime("gave up"))));
        let v = judge(RunEnd { interrupted: true, early_end: Some(early()), ..end() });
        assert_eq!(v.result, Ok(Outcome::Interrupted));
        let v = judge(RunEnd { early_end: Some(early()), ..end() });
        assert_eq!(v.result, Ok(Outcome::PartialInput));
        assert!(v.note.unwrap().contains("10 of 20 frames"));
        let v = judge(RunEnd { early_end: Some(early()), allow_partial: true, ..end() });
        assert_eq!(v.result, Ok(Outcome::Complete));
        assert!(v.note.unwrap().contains("accepted: --allow-partial"));
    }
}
