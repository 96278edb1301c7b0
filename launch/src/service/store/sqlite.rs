//! The embedded job store: one SQLite file (WAL journal) under the data folder. Every
//! change is one transaction, so a service killed at any moment leaves a consistent file.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{Finish, JobStore, Page, Progress, Recovery, StoreError, COLUMNS};
use crate::service::job::{Job, JobOptions, JobState};

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    options TEXT NOT NULL,
    input_name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    started_ms INTEGER,
    finished_ms INTEGER,
    frames_done INTEGER NOT NULL DEFAULT 0,
    frames_total INTEGER,
    fps REAL,
    stats TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    partial INTEGER NOT NULL DEFAULT 0,
    degraded TEXT,
    worker TEXT,
    lease_until_ms INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, seq);
";

fn corrupt(what: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(std::io::Error::other(what.to_string())))
}

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    let state: String = row.get(1)?;
    let options: String = row.get(2)?;
    let stats: String = row.get(10)?;
    Ok(Job {
        id: row.get(0)?,
        state: state.parse().map_err(corrupt)?,
        options: serde_json::from_str::<JobOptions>(&options).map_err(corrupt)?,
        input_name: row.get(3)?,
        created_ms: row.get(4)?,
        started_ms: row.get(5)?,
        finished_ms: row.get(6)?,
        frames_done: row.get::<_, i64>(7)? as u64,
        frames_total: row.get::<_, Option<i64>>(8)?.map(|n| n as u64),
        fps: row.get(9)?,
        stats: serde_json::from_str(&stats).map_err(corrupt)?,
        error: row.get(11)?,
        attempts: row.get::<_, i64>(12)? as u32,
        cancel_requested: row.get(13)?,
        partial: row.get(14)?,
        degraded: row.get(15)?,
    })
}

impl SqliteStore {
    /// Opens (or creates) the database file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(db)?;
        Self::with_connection(conn)
    }

    /// A database in memory (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::with_connection(Connection::open_in_memory().map_err(db)?)
    }

    fn with_connection(conn: Connection) -> Result<Self, StoreError> {
        // journal_mode answers with the mode set (`memory` for a database in memory).
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())).map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn get_job(conn: &Connection, id: &str) -> Result<Option<Job>, StoreError> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"), [id], job_from_row).optional().map_err(db)
}

impl JobStore for SqliteStore {
    fn insert_queued(&self, job: &Job, max_queued: u64) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let queued: i64 =
            tx.query_row("SELECT COUNT(*) FROM jobs WHERE state = 'queued'", [], |r| r.get(0)).map_err(db)?;
        if queued as u64 >= max_queued {
            return Ok(false);
        }
        let options = serde_json::to_string(&job.options).expect("options serialise");
        tx.execute(
            "INSERT INTO jobs (id, state, options, input_name, created_ms) VALUES (?1, 'queued', ?2, ?3, ?4)",
            params![job.id, options, job.input_name, job.created_ms],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(true)
    }

    fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        get_job(&self.conn(), id)
    }

    fn list(&self, offset: u64, limit: u64) -> Result<Page, StoreError> {
        let conn = self.conn();
        let total: i64 = conn.query_row("SELECT COUNT(*) FROM jobs", [], |r| r.get(0)).map_err(db)?;
        let mut stmt =
            conn.prepare(&format!("SELECT {COLUMNS} FROM jobs ORDER BY seq DESC LIMIT ?1 OFFSET ?2")).map_err(db)?;
        let jobs = stmt
            .query_map(params![limit as i64, offset as i64], job_from_row)
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Page { jobs, total: total as u64 })
    }

    fn counts_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state").map_err(db)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        Ok(JobState::ALL
            .into_iter()
            .map(|s| (s, rows.iter().find(|(name, _)| name == s.as_str()).map_or(0, |(_, n)| *n as u64)))
            .collect())
    }

    fn claim_next(&self, worker: &str, now_ms: i64, lease_until_ms: i64) -> Result<Option<Job>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let id: Option<String> = tx
            .query_row("SELECT id FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1", [], |r| r.get(0))
            .optional()
            .map_err(db)?;
        let Some(id) = id else { return Ok(None) };
        tx.execute(
            "UPDATE jobs SET state = 'running', started_ms = ?2, attempts = attempts + 1, frames_done = 0, \
             fps = NULL, worker = ?3, lease_until_ms = ?4 WHERE id = ?1",
            params![id, now_ms, worker, lease_until_ms],
        )
        .map_err(db)?;
        let job = get_job(&tx, &id)?;
        tx.commit().map_err(db)?;
        Ok(job)
    }

    fn heartbeat(
        &self,
        id: &str,
        worker: &str,
        progress: Option<Progress>,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError> {
        let conn = self.conn();
        let n = match progress {
            Some(p) => conn.execute(
                "UPDATE jobs SET frames_done = ?3, frames_total = COALESCE(?4, frames_total), fps = ?5, \
                 lease_until_ms = ?6 WHERE id = ?1 AND worker = ?2 AND state = 'running'",
                params![id, worker, p.frames_done as i64, p.frames_total.map(|n| n as i64), p.fps, lease_until_ms],
            ),
            None => conn.execute(
                "UPDATE jobs SET lease_until_ms = ?3 WHERE id = ?1 AND worker = ?2 AND state = 'running'",
                params![id, worker, lease_until_ms],
            ),
        }
        .map_err(db)?;
        Ok(n > 0)
    }

    fn finish(&self, id: &str, worker: &str, f: &Finish, now_ms: i64) -> Result<bool, StoreError> {
        let stats = serde_json::to_string(&f.stats).expect("stats serialise");
        let n = self
            .conn()
            .execute(
                "UPDATE jobs SET state = ?3, frames_done = ?4, stats = ?5, error = ?6, partial = ?7, \
                 finished_ms = ?8, degraded = ?9, lease_until_ms = NULL \
                 WHERE id = ?1 AND worker = ?2 AND state = 'running'",
                params![
                    id,
                    worker,
                    f.state.as_str(),
                    f.frames_done as i64,
                    stats,
                    f.error,
                    f.partial,
                    now_ms,
                    f.degraded
                ],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    fn cancel(&self, id: &str, now_ms: i64) -> Result<Option<bool>, StoreError> {
        let conn = self.conn();
        let n = conn
            .execute(
                "UPDATE jobs SET state = 'cancelled', cancel_requested = 1, finished_ms = ?2 \
                 WHERE id = ?1 AND state = 'queued'",
                params![id, now_ms],
            )
            .map_err(db)?;
        if n > 0 {
            return Ok(Some(true));
        }
        let n = conn
            .execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?1 AND state = 'running'", [id])
            .map_err(db)?;
        Ok((n > 0).then_some(false))
    }

    fn delete_final(&self, id: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute("DELETE FROM jobs WHERE id = ?1 AND state IN ('succeeded', 'failed', 'cancelled')", [id])
            .map_err(db)?;
        Ok(n > 0)
    }

    fn requeue(&self, id: &str, worker: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), started_ms = NULL, \
                 frames_done = 0, fps = NULL, worker = NULL, lease_until_ms = NULL \
                 WHERE id = ?1 AND worker = ?2 AND state = 'running'",
                params![id, worker],
            )
            .map_err(db)?;
        Ok(())
    }

    fn recover(&self, max_attempts: u32, now_ms: i64) -> Result<Recovery, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let running: Vec<(String, i64, bool)> = {
            let mut stmt = tx
                .prepare("SELECT id, attempts, cancel_requested FROM jobs WHERE state = 'running' ORDER BY seq")
                .map_err(db)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)?
        };
        let mut recovery = Recovery::default();
        for (id, attempts, cancel_requested) in running {
            if cancel_requested {
                tx.execute(
                    "UPDATE jobs SET state = 'cancelled', finished_ms = ?2, \
                     error = 'the service stopped while the job was being cancelled' WHERE id = ?1",
                    params![id, now_ms],
                )
                .map_err(db)?;
                recovery.failed.push(id);
            } else if attempts as u64 >= max_attempts as u64 {
                let error = format!("the service died while running this job, {attempts} times; giving up");
                tx.execute(
                    "UPDATE jobs SET state = 'failed', finished_ms = ?2, error = ?3 WHERE id = ?1",
                    params![id, now_ms, error],
                )
                .map_err(db)?;
                recovery.failed.push(id);
            } else {
                tx.execute(
                    "UPDATE jobs SET state = 'queued', started_ms = NULL, frames_done = 0, fps = NULL WHERE id = ?1",
                    [&id],
                )
                .map_err(db)?;
                recovery.requeued.push(id);
            }
        }
        tx.commit().map_err(db)?;
        Ok(recovery)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> Job {
        Job::new(id.into(), JobOptions::default(), "in.mp4".into(), 5)
    }

    #[test]
    fn queue_is_bounded_and_claimed_in_order() {
        let s = SqliteStore::in_memory().unwrap();
        assert!(s.insert_queued(&job("a"), 2).unwrap());
        assert!(s.insert_queued(&job("b"), 2).unwrap());
        assert!(!s.insert_queued(&job("c"), 2).unwrap(), "the queue is full");
        let a = s.claim_next("w", 10, 0).unwrap().unwrap();
        assert_eq!((a.id.as_str(), a.state, a.attempts, a.started_ms), ("a", JobState::Running, 1, Some(10)));
        assert!(s.insert_queued(&job("c"), 2).unwrap(), "a claimed job leaves the queue");
        assert_eq!(s.claim_next("w", 11, 0).unwrap().unwrap().id, "b");
        assert_eq!(s.claim_next("w", 12, 0).unwrap().unwrap().id, "c");
        assert!(s.claim_next("w", 13, 0).unwrap().is_none());
        let counts = s.counts_by_state().unwrap();
        assert!(counts.contains(&(JobState::Running, 3)) && counts.contains(&(JobState::Queued, 0)));
    }

    #[test]
    fn progress_finish_list_and_delete() {
        let s = SqliteStore::in_memory().unwrap();
        for id in ["a", "b", "c"] {
            s.insert_queued(&job(id), 10).unwrap();
        }
        s.claim_next("w", 1, 0).unwrap();
        let p = Progress { frames_done: 10, frames_total: Some(90), fps: 5.0 };
        assert!(s.heartbeat("a", "w", Some(p), 0).unwrap());
        assert!(!s.heartbeat("a", "other", Some(p), 0).unwrap(), "only the lease holder");
        let a = s.get("a").unwrap().unwrap();
        assert_eq!((a.frames_done, a.frames_total, a.fps), (10, Some(90), Some(5.0)));
        assert!(!s.delete_final("a").unwrap(), "a running job is not deleted");
        let f = Finish {
            state: JobState::Succeeded,
            frames_done: 90,
            stats: vec![],
            error: None,
            partial: false,
            degraded: None,
        };
        assert!(!s.finish("a", "other", &f, 2).unwrap());
        assert!(s.finish("a", "w", &f, 2).unwrap());
        let a = s.get("a").unwrap().unwrap();
        assert_eq!((a.state, a.frames_done, a.finished_ms), (JobState::Succeeded, 90, Some(2)));
        // A second finish of the same job changes nothing: a result is recorded once.
        assert!(!s.finish("a", "w", &Finish { state: JobState::Failed, ..f }, 3).unwrap());
        assert_eq!(s.get("a").unwrap().unwrap().state, JobState::Succeeded);
        let page = s.list(0, 2).unwrap();
        assert_eq!(page.total, 3);
        assert_eq!(page.jobs.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(), ["c", "b"]);
        assert_eq!(s.list(2, 2).unwrap().jobs[0].id, "a");
        assert!(s.delete_final("a").unwrap());
        assert!(s.get("a").unwrap().is_none());
    }

    #[test]
    fn cancel_queued_at_once_running_on_request() {
        let s = SqliteStore::in_memory().unwrap();
        s.insert_queued(&job("a"), 10).unwrap();
        s.insert_queued(&job("b"), 10).unwrap();
        s.claim_next("w", 1, 0).unwrap();
        assert_eq!(s.cancel("b", 2).unwrap(), Some(true));
        assert_eq!(s.get("b").unwrap().unwrap().state, JobState::Cancelled);
        assert_eq!(s.cancel("a", 2).unwrap(), Some(false));
        assert!(s.get("a").unwrap().unwrap().cancel_requested);
        assert_eq!(s.cancel("b", 3).unwrap(), None);
        assert_eq!(s.cancel("zz", 3).unwrap(), None);
    }

    #[test]
    fn recovery_requeues_then_gives_up_and_survives_reopening() {
        let dir = std::env::temp_dir().join(format!("hmr2-store-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jobs.sqlite");
        let _ = std::fs::remove_file(&path);
        {
            let s = SqliteStore::open(&path).unwrap();
            s.insert_queued(&job("a"), 10).unwrap();
            s.insert_queued(&job("b"), 10).unwrap();
            s.claim_next("w", 1, 0).unwrap();
        }
        for attempt in 1..=2 {
            let s = SqliteStore::open(&path).unwrap();
            let r = s.recover(2, 5).unwrap();
            if attempt == 1 {
                assert_eq!(r.requeued, ["a"]);
                let a = s.claim_next("w", 6, 0).unwrap().unwrap();
                assert_eq!((a.id.as_str(), a.attempts), ("a", 2));
            } else {
                assert_eq!(r.failed, ["a"]);
                let a = s.get("a").unwrap().unwrap();
                assert_eq!(a.state, JobState::Failed);
                assert!(a.error.unwrap().contains("2 times"));
                assert_eq!(s.get("b").unwrap().unwrap().state, JobState::Queued, "queued jobs stay queued");
            }
        }
        // A shutdown puts a running job back without counting the run.
        let s = SqliteStore::open(&path).unwrap();
        let b = s.claim_next("w", 7, 0).unwrap().unwrap();
        s.requeue(&b.id, "w").unwrap();
        let b = s.get("b").unwrap().unwrap();
        assert_eq!((b.state, b.attempts), (JobState::Queued, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
