//! The job store: where jobs and their progress are kept, behind [`JobStore`] so the
//! service does not depend on the database. [`sqlite`] is the embedded one (one machine),
//! [`postgres`] the shared one (several `serve` processes on one queue).

pub mod postgres;
pub mod sqlite;

use thiserror::Error;

use crate::progress_report::StageStats;

use super::job::{Job, JobState};

/// The job columns both stores read back, in the order their `job_from_row` expects.
const COLUMNS: &str = "id, state, options, input_name, created_ms, started_ms, finished_ms, frames_done, \
                       frames_total, fps, stats, error, attempts, cancel_requested, partial, degraded";

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("job database: {0}")]
    Database(String),
    #[error("job database holds an unreadable row: {0}")]
    Corrupt(String),
}

/// How a run ended, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Finish {
    pub state: JobState,
    pub frames_done: u64,
    pub stats: Vec<StageStats>,
    pub error: Option<String>,
    pub partial: bool,
    /// Why the video holds the original frames, when it does.
    pub degraded: Option<String>,
}

/// A running job's progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub frames_done: u64,
    pub frames_total: Option<u64>,
    pub fps: f64,
}

/// What [`JobStore::recover`] did with the jobs a dead service left running.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub requeued: Vec<String>,
    pub failed: Vec<String>,
}

/// A page of the job list, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub jobs: Vec<Job>,
    pub total: u64,
}

pub trait JobStore: Send + Sync {
    /// Adds a queued job unless `max_queued` jobs are already waiting (then `false`).
    fn insert_queued(&self, job: &Job, max_queued: u64) -> Result<bool, StoreError>;
    fn get(&self, id: &str) -> Result<Option<Job>, StoreError>;
    fn list(&self, offset: u64, limit: u64) -> Result<Page, StoreError>;
    fn counts_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError>;
    /// Takes the oldest queued job for `worker`: it becomes running, its attempts grow by
    /// one, and the worker holds its lease until `lease_until_ms` (renewed by [`Self::heartbeat`]).
    fn claim_next(&self, worker: &str, now_ms: i64, lease_until_ms: i64) -> Result<Option<Job>, StoreError>;
    /// Renews `worker`'s lease on a running job and records its progress, if any. `false`
    /// when the worker no longer holds the job (its lease expired and another took it, or
    /// the job was deleted): the run must stop and its result is not recorded.
    fn heartbeat(
        &self,
        id: &str,
        worker: &str,
        progress: Option<Progress>,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Records the end of a run; only the worker holding the job can (a result is recorded
    /// once). `false` when it did not hold it.
    fn finish(&self, id: &str, worker: &str, finish: &Finish, now_ms: i64) -> Result<bool, StoreError>;
    /// Cancels a queued job at once (`true`), or marks a running one to be cancelled (`false`).
    /// Returns `None` when the job is neither.
    fn cancel(&self, id: &str, now_ms: i64) -> Result<Option<bool>, StoreError>;
    /// Removes a job in a final state; `false` when there is no such job in a final state.
    fn delete_final(&self, id: &str) -> Result<bool, StoreError>;
    /// Puts a running job back in the queue (the service stops), without counting the run.
    fn requeue(&self, id: &str, worker: &str) -> Result<(), StoreError>;
    /// The jobs whose runner died (embedded store: every running job, at start; shared
    /// store: running jobs whose lease expired) are queued again, or failed once they were
    /// started `max_attempts` times.
    fn recover(&self, max_attempts: u32, now_ms: i64) -> Result<Recovery, StoreError>;
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
