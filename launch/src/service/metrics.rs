//! `/metrics` in Prometheus' text exposition format: jobs by state (from the store), and
//! counters kept since this process started (frames processed, per-stage seconds).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use crate::progress_report::StageStats;

use super::job::JobState;

#[derive(Default)]
struct Totals {
    runs: u64,
    warm_starts: u64,
    frames: u64,
    /// (element, stage) to total nanoseconds.
    stage_ns: BTreeMap<(String, String), u64>,
}

#[derive(Default)]
pub struct Metrics {
    totals: Mutex<Totals>,
}

/// What one scrape shows besides the counters.
pub struct Gauges {
    pub jobs: Vec<(JobState, u64)>,
    pub workers: usize,
    pub busy: usize,
}

impl Metrics {
    /// Counts a finished run (succeeded or cancelled): its frames and stage times.
    pub fn add_run(&self, frames: u64, stats: &[StageStats]) {
        let mut t = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        t.runs += 1;
        t.frames += frames;
        for s in stats {
            for (stage, ns) in &s.stages_ns {
                *t.stage_ns.entry((s.element.clone(), stage.clone())).or_default() += ns;
            }
        }
    }

    /// Counts a run that went to a process started ahead of it.
    pub fn add_warm_start(&self) {
        self.totals.lock().unwrap_or_else(|e| e.into_inner()).warm_starts += 1;
    }

    pub fn render(&self, g: &Gauges) -> String {
        let t = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str("# HELP hmr2_jobs Jobs in the store, by state.\n# TYPE hmr2_jobs gauge\n");
        for (state, n) in &g.jobs {
            let _ = writeln!(out, "hmr2_jobs{{state=\"{state}\"}} {n}");
        }
        out.push_str("# HELP hmr2_workers Pipelines this process may run at once.\n# TYPE hmr2_workers gauge\n");
        let _ = writeln!(out, "hmr2_workers {}", g.workers);
        out.push_str("# HELP hmr2_workers_busy Pipelines running now.\n# TYPE hmr2_workers_busy gauge\n");
        let _ = writeln!(out, "hmr2_workers_busy {}", g.busy);
        out.push_str(
            "# HELP hmr2_runs_total Pipeline runs finished by this process.\n# TYPE hmr2_runs_total counter\n",
        );
        let _ = writeln!(out, "hmr2_runs_total {}", t.runs);
        out.push_str(
            "# HELP hmr2_warm_starts_total Pipeline runs given to a process started ahead of them.\n\
             # TYPE hmr2_warm_starts_total counter\n",
        );
        let _ = writeln!(out, "hmr2_warm_starts_total {}", t.warm_starts);
        out.push_str(
            "# HELP hmr2_frames_processed_total Frames processed by this process's runs.\n\
             # TYPE hmr2_frames_processed_total counter\n",
        );
        let _ = writeln!(out, "hmr2_frames_processed_total {}", t.frames);
        out.push_str(
            "# HELP hmr2_stage_seconds_total Time spent in each element's stage.\n\
             # TYPE hmr2_stage_seconds_total counter\n",
        );
        for ((element, stage), ns) in &t.stage_ns {
            let _ = writeln!(
                out,
                "hmr2_stage_seconds_total{{element=\"{}\",stage=\"{}\"}} {}",
                escape(element),
                escape(stage),
                *ns as f64 / 1e9
            );
        }
        out
    }
}

/// A label value as the text format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_states_frames_and_stage_seconds() {
        let m = Metrics::default();
        let stats = vec![StageStats {
            element: "hmr2pose".into(),
            frames: Some(90),
            persons: Some(90),
            stages_ns: [("inference".to_owned(), 1_500_000_000u64)].into_iter().collect(),
        }];
        m.add_run(90, &stats);
        m.add_run(10, &stats);
        let text = m.render(&Gauges { jobs: vec![(JobState::Queued, 2), (JobState::Running, 1)], workers: 2, busy: 1 });
        assert!(text.contains("hmr2_jobs{state=\"queued\"} 2\n"), "{text}");
        assert!(text.contains("hmr2_frames_processed_total 100\n"));
        assert!(text.contains("hmr2_runs_total 2\n"));
        assert!(text.contains("hmr2_stage_seconds_total{element=\"hmr2pose\",stage=\"inference\"} 3\n"), "{text}");
        assert!(text.contains("hmr2_workers_busy 1\n"));
        assert_eq!(escape("a\"b\\"), "a\\\"b\\\\");
    }
}
