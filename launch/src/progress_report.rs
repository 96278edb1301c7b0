//! `--progress-json`: machine-readable progress on stdout, one JSON object per line, for a
//! program that runs the tool as a child process (the `serve` subcommand does).
//!
//! ```text
//! {"event":"progress","done":30,"total":90,"elapsed_s":1.52}
//! {"event":"summary","frames":90,"elapsed_s":4.1,"interrupted":false,"persons":90,"stats":[…]}
//! ```
//!
//! Progress lines come at most every [`PROGRESS_PERIOD`]; the summary line comes once, when
//! the pipeline has stopped (also after an interruption), before the outputs are put in place.
//! Other lines on stdout (`video: PATH`) are not JSON objects and are to be skipped.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Shortest interval between two progress lines.
pub const PROGRESS_PERIOD: Duration = Duration::from_millis(500);

/// One element's `stats` in the summary: counts and per-stage totals in nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageStats {
    /// Factory name: hmr2pose, meshoverlay.
    pub element: String,
    pub frames: Option<u64>,
    pub persons: Option<u64>,
    /// Stage name (`detect`, `inference`, `draw`, …) to total nanoseconds.
    pub stages_ns: BTreeMap<String, u64>,
}

/// One line of `--progress-json` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Report {
    /// Frames out of the processing chain so far, of `total` expected (when known).
    Progress { done: u64, total: Option<u64>, elapsed_s: f64 },
    /// The run's totals.
    Summary { frames: u64, elapsed_s: f64, interrupted: bool, persons: u64, stats: Vec<StageStats> },
}

impl Report {
    /// The line to print (without its newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a report serialises")
    }

    /// Reads one line of the tool's stdout; `None` for lines that are not reports.
    pub fn parse(line: &str) -> Option<Self> {
        let line = line.trim();
        if !line.starts_with('{') {
            return None;
        }
        serde_json::from_str(line).ok()
    }

    /// Writes the line to stdout and flushes it (a reader waits for whole lines).
    pub fn emit(&self) {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", self.to_line());
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_other_lines_are_skipped() {
        let p = Report::Progress { done: 3, total: Some(90), elapsed_s: 0.5 };
        assert_eq!(p.to_line(), r#"{"event":"progress","done":3,"total":90,"elapsed_s":0.5}"#);
        assert_eq!(Report::parse(&p.to_line()), Some(p));
        let s = Report::Summary {
            frames: 90,
            elapsed_s: 4.0,
            interrupted: false,
            persons: 12,
            stats: vec![StageStats {
                element: "hmr2pose".into(),
                frames: Some(90),
                persons: None,
                stages_ns: [("detect".to_owned(), 1_000u64)].into_iter().collect(),
            }],
        };
        assert_eq!(Report::parse(&s.to_line()), Some(s));
        assert_eq!(Report::parse("video: /tmp/out.mp4"), None);
        assert_eq!(Report::parse(r#"{"event":"other"}"#), None);
    }
}
