//! The shared job store: PostgreSQL, for several `serve` processes (API nodes and worker
//! nodes) on one queue. Workers take jobs with `FOR UPDATE SKIP LOCKED`, hold them under a
//! lease they renew while the pipeline runs, and a job whose lease expired (its worker died)
//! is queued again for another worker (or failed after `max_attempts` runs). A result is
//! recorded only by the worker that holds the job, so it is recorded once. New jobs are
//! announced with `NOTIFY hmr2_jobs`; workers `LISTEN` (see [`PgStore::listen_for_jobs`]).
//!
//! Lease times use the database's clock, so the nodes' clocks need not agree.

use std::sync::Mutex;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator as _;
use postgres::{Client, NoTls, Row};

use super::{Finish, JobStore, Page, Progress, Recovery, StoreError, COLUMNS};
use crate::service::job::{Job, JobOptions, JobState};

/// The channel of `LISTEN`/`NOTIFY`.
pub const CHANNEL: &str = "hmr2_jobs";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS hmr2_jobs (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    options TEXT NOT NULL,
    input_name TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    started_ms BIGINT,
    finished_ms BIGINT,
    frames_done BIGINT NOT NULL DEFAULT 0,
    frames_total BIGINT,
    fps DOUBLE PRECISION,
    stats TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    partial BOOLEAN NOT NULL DEFAULT FALSE,
    degraded TEXT,
    worker TEXT,
    lease_until_ms BIGINT
);
CREATE INDEX IF NOT EXISTS hmr2_jobs_state ON hmr2_jobs (state, seq);
";

/// The database's clock in milliseconds since the Unix epoch.
const DB_NOW: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// Serialises the queue-length check of concurrent inserts (any constant).
const INSERT_LOCK: i64 = 0x686d_7232;

pub struct PgStore {
    client: Mutex<Client>,
    max_attempts: u32,
}

fn db(e: postgres::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

fn job_from_row(row: &Row) -> Result<Job, StoreError> {
    let get = |e: postgres::Error| StoreError::Corrupt(e.to_string());
    let state: String = row.try_get(1).map_err(get)?;
    let options: String = row.try_get(2).map_err(get)?;
    let stats: String = row.try_get(10).map_err(get)?;
    Ok(Job {
        id: row.try_get(0).map_err(get)?,
        state: state.parse().map_err(|e| StoreError::Corrupt(format!("{e}")))?,
        options: serde_json::from_str::<JobOptions>(&options).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        input_name: row.try_get(3).map_err(get)?,
        created_ms: row.try_get(4).map_err(get)?,
        started_ms: row.try_get(5).map_err(get)?,
        finished_ms: row.try_get(6).map_err(get)?,
        frames_done: row.try_get::<_, i64>(7).map_err(get)? as u64,
        frames_total: row.try_get::<_, Option<i64>>(8).map_err(get)?.map(|n| n as u64),
        fps: row.try_get(9).map_err(get)?,
        stats: serde_json::from_str(&stats).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        error: row.try_get(11).map_err(get)?,
        attempts: row.try_get::<_, i32>(12).map_err(get)? as u32,
        cancel_requested: row.try_get(13).map_err(get)?,
        partial: row.try_get(14).map_err(get)?,
        degraded: row.try_get(15).map_err(get)?,
    })
}

/// The blocking client must not run on an async runtime's thread: inside one, step aside.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => tokio::task::block_in_place(f),
        Err(_) => f(),
    }
}

/// Lease length from the caller's clock, applied to the database's.
fn lease_ms(lease_until_ms: i64) -> i64 {
    (lease_until_ms - super::now_ms()).max(0)
}

impl PgStore {
    /// Connects and creates the table when missing.
    pub fn connect(url: &str, max_attempts: u32) -> Result<Self, StoreError> {
        blocking(|| {
            let mut client = Client::connect(url, NoTls).map_err(db)?;
            client.batch_execute(SCHEMA).map_err(db)?;
            Ok(Self { client: Mutex::new(client), max_attempts })
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Client) -> Result<T, StoreError>) -> Result<T, StoreError> {
        blocking(|| f(&mut self.client.lock().unwrap_or_else(|e| e.into_inner())))
    }
}

fn expire_leases(client: &mut Client, max_attempts: u32) -> Result<Recovery, StoreError> {
    let mut tx = client.transaction().map_err(db)?;
    let rows = tx
        .query(
            &format!(
                "SELECT id, attempts, cancel_requested FROM hmr2_jobs \
                 WHERE state = 'running' AND lease_until_ms < {DB_NOW} ORDER BY seq FOR UPDATE SKIP LOCKED"
            ),
            &[],
        )
        .map_err(db)?;
    let mut recovery = Recovery::default();
    for row in rows {
        let (id, attempts, cancel): (String, i32, bool) = (row.get(0), row.get(1), row.get(2));
        if cancel {
            tx.execute(
                &format!(
                    "UPDATE hmr2_jobs SET state = 'cancelled', finished_ms = {DB_NOW}, worker = NULL, \
                     error = 'its worker died while the job was being cancelled' WHERE id = $1"
                ),
                &[&id],
            )
            .map_err(db)?;
            recovery.failed.push(id);
        } else if attempts as u32 >= max_attempts {
            let error = format!("its worker died while running this job, {attempts} times; giving up");
            tx.execute(
                &format!(
                    "UPDATE hmr2_jobs SET state = 'failed', finished_ms = {DB_NOW}, worker = NULL, error = $2 \
                     WHERE id = $1"
                ),
                &[&id, &error],
            )
            .map_err(db)?;
            recovery.failed.push(id);
        } else {
            tx.execute(
                "UPDATE hmr2_jobs SET state = 'queued', started_ms = NULL, frames_done = 0, fps = NULL, \
                 worker = NULL, lease_until_ms = NULL WHERE id = $1",
                &[&id],
            )
            .map_err(db)?;
            recovery.requeued.push(id);
        }
    }
    tx.commit().map_err(db)?;
    Ok(recovery)
}

impl JobStore for PgStore {
    fn insert_queued(&self, job: &Job, max_queued: u64) -> Result<bool, StoreError> {
        let options = serde_json::to_string(&job.options).expect("options serialise");
        self.with(|c| {
            let mut tx = c.transaction().map_err(db)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INSERT_LOCK]).map_err(db)?;
            let queued: i64 =
                tx.query_one("SELECT COUNT(*) FROM hmr2_jobs WHERE state = 'queued'", &[]).map_err(db)?.get(0);
            if queued as u64 >= max_queued {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO hmr2_jobs (id, state, options, input_name, created_ms) VALUES ($1, 'queued', $2, $3, $4)",
                &[&job.id, &options, &job.input_name, &job.created_ms],
            )
            .map_err(db)?;
            // Delivered when the transaction commits.
            tx.batch_execute(&format!("NOTIFY {CHANNEL}")).map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(true)
        })
    }

    fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        self.with(|c| {
            let row = c.query_opt(&format!("SELECT {COLUMNS} FROM hmr2_jobs WHERE id = $1"), &[&id]).map_err(db)?;
            row.as_ref().map(job_from_row).transpose()
        })
    }

    fn list(&self, offset: u64, limit: u64) -> Result<Page, StoreError> {
        self.with(|c| {
            let total: i64 = c.query_one("SELECT COUNT(*) FROM hmr2_jobs", &[]).map_err(db)?.get(0);
            let rows = c
                .query(
                    &format!("SELECT {COLUMNS} FROM hmr2_jobs ORDER BY seq DESC LIMIT $1 OFFSET $2"),
                    &[&(limit as i64), &(offset as i64)],
                )
                .map_err(db)?;
            let jobs = rows.iter().map(job_from_row).collect::<Result<_, _>>()?;
            Ok(Page { jobs, total: total as u64 })
        })
    }

    fn counts_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        self.with(|c| {
            let rows = c.query("SELECT state, COUNT(*) FROM hmr2_jobs GROUP BY state", &[]).map_err(db)?;
            Ok(JobState::ALL
                .into_iter()
                .map(|s| {
                    let n = rows.iter().find(|r| r.get::<_, String>(0) == s.as_str()).map_or(0, |r| r.get::<_, i64>(1));
                    (s, n as u64)
                })
                .collect())
        })
    }

    fn claim_next(&self, worker: &str, _now_ms: i64, lease_until_ms: i64) -> Result<Option<Job>, StoreError> {
        let lease = lease_ms(lease_until_ms);
        self.with(|c| {
            expire_leases(c, self.max_attempts)?;
            let row = c
                .query_opt(
                    &format!(
                        "UPDATE hmr2_jobs SET state = 'running', started_ms = {DB_NOW}, attempts = attempts + 1, \
                         frames_done = 0, fps = NULL, worker = $1, lease_until_ms = {DB_NOW} + $2 \
                         WHERE id = (SELECT id FROM hmr2_jobs WHERE state = 'queued' ORDER BY seq \
                                     FOR UPDATE SKIP LOCKED LIMIT 1) \
                         RETURNING {COLUMNS}"
                    ),
                    &[&worker, &lease],
                )
                .map_err(db)?;
            row.as_ref().map(job_from_row).transpose()
        })
    }

    fn heartbeat(
        &self,
        id: &str,
        worker: &str,
        progress: Option<Progress>,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError> {
        let lease = lease_ms(lease_until_ms);
        self.with(|c| {
            let n = match progress {
                Some(p) => c.execute(
                    &format!(
                        "UPDATE hmr2_jobs SET frames_done = $3, frames_total = COALESCE($4, frames_total), fps = $5, \
                         lease_until_ms = {DB_NOW} + $6 WHERE id = $1 AND worker = $2 AND state = 'running'"
                    ),
                    &[&id, &worker, &(p.frames_done as i64), &p.frames_total.map(|n| n as i64), &p.fps, &lease],
                ),
                None => c.execute(
                    &format!(
                        "UPDATE hmr2_jobs SET lease_until_ms = {DB_NOW} + $3 \
                         WHERE id = $1 AND worker = $2 AND state = 'running'"
                    ),
                    &[&id, &worker, &lease],
                ),
            }
            .map_err(db)?;
            Ok(n > 0)
        })
    }

    fn finish(&self, id: &str, worker: &str, f: &Finish, _now_ms: i64) -> Result<bool, StoreError> {
        let stats = serde_json::to_string(&f.stats).expect("stats serialise");
        self.with(|c| {
            let n = c
                .execute(
                    &format!(
                        "UPDATE hmr2_jobs SET state = $3, frames_done = $4, stats = $5, error = $6, partial = $7, \
                         finished_ms = {DB_NOW}, degraded = $8, lease_until_ms = NULL \
                         WHERE id = $1 AND worker = $2 AND state = 'running'"
                    ),
                    &[
                        &id,
                        &worker,
                        &f.state.as_str(),
                        &(f.frames_done as i64),
                        &stats,
                        &f.error,
                        &f.partial,
                        &f.degraded,
                    ],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
    }

    fn cancel(&self, id: &str, _now_ms: i64) -> Result<Option<bool>, StoreError> {
        self.with(|c| {
            let n = c
                .execute(
                    &format!(
                        "UPDATE hmr2_jobs SET state = 'cancelled', cancel_requested = TRUE, finished_ms = {DB_NOW} \
                         WHERE id = $1 AND state = 'queued'"
                    ),
                    &[&id],
                )
                .map_err(db)?;
            if n > 0 {
                return Ok(Some(true));
            }
            let n = c
                .execute("UPDATE hmr2_jobs SET cancel_requested = TRUE WHERE id = $1 AND state = 'running'", &[&id])
                .map_err(db)?;
            Ok((n > 0).then_some(false))
        })
    }

    fn delete_final(&self, id: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            let n = c
                .execute(
                    "DELETE FROM hmr2_jobs WHERE id = $1 AND state IN ('succeeded', 'failed', 'cancelled')",
                    &[&id],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
    }

    fn requeue(&self, id: &str, worker: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE hmr2_jobs SET state = 'queued', attempts = GREATEST(attempts - 1, 0), started_ms = NULL, \
                 frames_done = 0, fps = NULL, worker = NULL, lease_until_ms = NULL \
                 WHERE id = $1 AND worker = $2 AND state = 'running'",
                &[&id, &worker],
            )
            .map_err(db)?;
            c.batch_execute(&format!("NOTIFY {CHANNEL}")).map_err(db)?;
            Ok(())
        })
    }

    fn recover(&self, max_attempts: u32, _now_ms: i64) -> Result<Recovery, StoreError> {
        self.with(|c| expire_leases(c, max_attempts))
    }
}

impl PgStore {
    /// Calls `wake` on every `NOTIFY hmr2_jobs`, from a thread of its own, reconnecting
    /// after errors; workers also poll, so a lost notification only delays a job.
    pub fn listen_for_jobs(url: String, wake: impl Fn() + Send + 'static) {
        listen(url, wake)
    }
}

fn listen(url: String, wake: impl Fn() + Send + 'static) {
    std::thread::Builder::new()
        .name("hmr2-listen".into())
        .spawn(move || loop {
            if let Ok(mut client) = Client::connect(&url, NoTls) {
                if client.batch_execute(&format!("LISTEN {CHANNEL}")).is_ok() {
                    let mut notifications = client.notifications();
                    let mut iter = notifications.blocking_iter();
                    while let Ok(Some(_)) = iter.next() {
                        wake();
                    }
                }
            }
            std::thread::sleep(Duration::from_secs(1));
        })
        .expect("cannot start the LISTEN thread");
}
