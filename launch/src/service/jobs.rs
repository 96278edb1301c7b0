//! The worker pool: each worker takes the oldest queued job and runs it as a child process
//! of this very binary (`hmr2-launch file … --progress-json`), so a pipeline that crashes
//! takes only its job down. Progress lines update the store; the summary line gives the
//! per-stage times; the exit status decides the job's end ([`judge_exit`]).
//!
//! Each worker keeps one process started ahead of its next job (`hmr2-launch standby`:
//! GStreamer, the plugins and ONNX Runtime set up, waiting for its command line on stdin),
//! started when the worker's previous job starts, so a job does not wait for that set-up.

use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::progress_report::{Report, StageStats};
use crate::say;
use crate::{EXIT_INTERRUPTED, EXIT_PARTIAL_INPUT};

use super::job::{run_arguments, Job, JobFiles, JobState};
use super::store::{now_ms, Finish, Progress};
use super::Service;

/// How often a running job's cancel flag is looked at.
const CANCEL_POLL: Duration = Duration::from_millis(500);
/// Longest time between two renewals of a running job's lease.
const HEARTBEAT: Duration = Duration::from_secs(2);
/// Runs again, and the wait before each, of a job whose outputs an earlier run (killed
/// with the service) still holds.
const LOCKED_RETRIES: usize = 5;
const LOCKED_WAIT: Duration = Duration::from_secs(1);
/// Lines of the child's stderr kept for the error text.
const STDERR_TAIL: usize = 20;

/// What to do with a job whose child process ended.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Finish(Finish),
    /// The service is stopping: the job goes back to the queue.
    Requeue,
    /// Another worker holds the job now (this one's lease expired): nothing is recorded.
    LeaseLost,
}

/// What a child process left behind.
#[derive(Debug, Default)]
pub struct ChildEnd {
    /// Exit code, or None when a signal ended it.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub summary: Option<(u64, Vec<StageStats>)>,
    pub frames_seen: u64,
    pub stderr_tail: Vec<String>,
}

fn cause(stderr: &[String]) -> Option<String> {
    let error = stderr.iter().rev().find_map(|l| l.strip_prefix("hmr2-launch: error: ").map(str::to_owned));
    error.or_else(|| {
        stderr
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("hmr2-launch: warning: ").map(str::to_owned))
            .or_else(|| stderr.last().cloned())
    })
}

/// Decides a job's end from its child's end. `cancel_requested`: a client asked to cancel;
/// `stopping`: the service is shutting down (it killed the child itself).
pub fn judge_exit(end: &ChildEnd, cancel_requested: bool, stopping: bool) -> Verdict {
    let (frames_done, stats) = end.summary.clone().unwrap_or((end.frames_seen, Vec::new()));
    let finish = |state, error: Option<String>, partial| {
        Verdict::Finish(Finish { state, frames_done, stats: stats.clone(), error, partial, degraded: None })
    };
    let detail = || cause(&end.stderr_tail).map(|c| format!(": {c}")).unwrap_or_default();
    match (end.code, end.signal) {
        (Some(0), _) => finish(JobState::Succeeded, None, false),
        _ if stopping && !cancel_requested => Verdict::Requeue,
        (Some(c), _) if c == EXIT_INTERRUPTED as i32 && cancel_requested => {
            finish(JobState::Cancelled, None, frames_done > 0)
        }
        (None, Some(_)) if cancel_requested => finish(JobState::Cancelled, None, false),
        (Some(c), _) if c == EXIT_INTERRUPTED as i32 => finish(
            JobState::Failed,
            Some("the pipeline was interrupted by a signal from outside the service".into()),
            false,
        ),
        (Some(c), _) if c == EXIT_PARTIAL_INPUT as i32 => {
            finish(JobState::Failed, Some(format!("truncated input{}", detail())), false)
        }
        (Some(c), _) => finish(JobState::Failed, Some(format!("the pipeline failed (status {c}){}", detail())), false),
        (None, s) => finish(
            JobState::Failed,
            Some(format!("the pipeline process died (signal {}){}", s.unwrap_or(0), detail())),
            false,
        ),
    }
}

fn child_end(status: ExitStatus) -> (Option<i32>, Option<i32>) {
    use std::os::unix::process::ExitStatusExt as _;
    (status.code(), status.signal())
}

fn lease_until(svc: &Service) -> i64 {
    now_ms() + svc.config.lease.as_millis() as i64
}

/// One worker: takes jobs until the service stops. `name` identifies it in the store.
pub async fn worker(svc: Arc<Service>, name: String) {
    let mut stop = svc.stop.subscribe();
    let mut standby: Option<Child> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        if standby.as_mut().is_none_or(|c| !matches!(c.try_wait(), Ok(None))) {
            standby = start_standby(&svc);
        }
        let claimed = svc.store.claim_next(&name, now_ms(), lease_until(&svc));
        match claimed {
            Ok(Some(job)) => {
                let warm = standby.take();
                // Set up while this job runs, for the next one.
                standby = start_standby(&svc);
                run_job(&svc, &name, job, warm).await
            }
            Ok(None) => {
                tokio::select! {
                    _ = svc.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(e) => {
                say!("hmr2-launch: serve: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Whether a run failed because another process holds its outputs' lock.
fn outputs_locked(error: &str) -> bool {
    error.contains("is being written by another hmr2-launch run")
}

/// Whether a failed run's error points at the drawing (meshoverlay, or a crash, which in
/// practice comes from the GPU driver): then the `fallback` option runs the job again
/// without it.
pub fn rendering_failed(error: &str) -> bool {
    error.contains("overlay") || error.contains("process died (signal")
}

fn job_arguments(svc: &Service, job: &Job, without_overlay: bool) -> Vec<String> {
    let files = JobFiles::new(&svc.config.data_dir, &job.id);
    run_arguments(&job.options, &files, svc.config.models_dir.as_deref(), without_overlay)
}

/// A process for a job: `args` on its command line, or `standby` waiting for them on stdin.
fn child_command(svc: &Service, args: &[String], stdin: Stdio) -> Command {
    let mut cmd = Command::new(&svc.config.launch_bin);
    cmd.args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Jobs never open a window.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .kill_on_drop(true);
    // SAFETY: prctl is async-signal-safe; it makes the child die with the service (even on
    // SIGKILL), so a restarted service never finds an old run still writing the job's files.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

fn start_standby(svc: &Service) -> Option<Child> {
    match child_command(svc, &["standby".to_owned()], Stdio::piped()).spawn() {
        Ok(child) => Some(child),
        Err(e) => {
            say!("hmr2-launch: serve: cannot start a process ahead of the next job: {e}");
            None
        }
    }
}

/// The job's process: `warm` (a standby) given the job's command line, or a new one.
async fn start_job(svc: &Service, job: &Job, without_overlay: bool, warm: Option<Child>) -> std::io::Result<Child> {
    let args = job_arguments(svc, job, without_overlay);
    if let Some(mut child) = warm {
        let line = serde_json::to_string(&args).expect("strings serialise") + "\n";
        let given = match child.stdin.take() {
            // Dropping stdin closes it: the process reads nothing more from it.
            Some(mut stdin) => stdin.write_all(line.as_bytes()).await.is_ok(),
            None => false,
        };
        if given && matches!(child.try_wait(), Ok(None)) {
            svc.metrics.add_warm_start();
            return Ok(child);
        }
        // It died waiting (killed from outside): a new process runs the job.
        let _ = child.start_kill();
    }
    child_command(svc, &args, Stdio::null()).spawn()
}

async fn run_job(svc: &Service, worker: &str, job: Job, warm: Option<Child>) {
    svc.busy.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut verdict = supervise(svc, worker, &job, start_job(svc, &job, false, warm).await).await;
    // A run of this job killed with an earlier service may still be exiting, its outputs'
    // lock not yet released: a process ready at once can meet it. It is given a moment.
    for _ in 0..LOCKED_RETRIES {
        let Verdict::Finish(Finish { state: JobState::Failed, error: Some(error), .. }) = &verdict else { break };
        if job.attempts < 2 || !outputs_locked(error) {
            break;
        }
        say!("hmr2-launch: serve: job {}: an earlier run still holds its outputs; running it again shortly", job.id);
        tokio::time::sleep(LOCKED_WAIT).await;
        verdict = supervise(svc, worker, &job, start_job(svc, &job, false, None).await).await;
    }
    if let Verdict::Finish(Finish { state: JobState::Failed, error: Some(error), .. }) = &verdict {
        if job.options.fallback && job.options.outputs.video() && rendering_failed(error) {
            let why = format!("drawing failed ({error}); the video holds the original frames");
            say!("hmr2-launch: serve: job {}: {why}", job.id);
            verdict = match supervise(svc, worker, &job, start_job(svc, &job, true, None).await).await {
                Verdict::Finish(f) if f.state == JobState::Succeeded => {
                    Verdict::Finish(Finish { degraded: Some(why), ..f })
                }
                other => other,
            };
        }
    }
    svc.busy.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    let result = match &verdict {
        Verdict::Finish(f) => {
            if f.state == JobState::Succeeded || f.state == JobState::Cancelled {
                svc.metrics.add_run(f.frames_done, &f.stats);
            }
            svc.store.finish(&job.id, worker, f, now_ms()).map(|held| {
                if !held {
                    say!("hmr2-launch: serve: job {}: another worker held it; this run's result is dropped", job.id);
                }
            })
        }
        Verdict::Requeue => svc.store.requeue(&job.id, worker),
        Verdict::LeaseLost => {
            say!("hmr2-launch: serve: job {}: lease lost to another worker; run stopped", job.id);
            Ok(())
        }
    };
    if let Err(e) = result {
        say!("hmr2-launch: serve: job {}: {e}", job.id);
    }
    svc.finished.notify_waiters();
}

async fn supervise(svc: &Service, worker: &str, job: &Job, child: std::io::Result<Child>) -> Verdict {
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return Verdict::Finish(Finish {
                state: JobState::Failed,
                frames_done: 0,
                stats: Vec::new(),
                error: Some(format!("cannot start the pipeline process: {e}")),
                partial: false,
                degraded: None,
            })
        }
    };
    // Signals go by process id: `child` is borrowed by its wait below.
    let pid = child.id().map(|p| p as libc::pid_t);
    let signal = |sig: libc::c_int| {
        if let Some(pid) = pid {
            // SAFETY: kill has no memory effects; the child is not reaped before the wait ends.
            unsafe { libc::kill(pid, sig) };
        }
    };
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let tail = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut tail = VecDeque::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        }
        Vec::from(tail)
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut stop = svc.stop.subscribe();
    let mut end = ChildEnd::default();
    let mut cancel_sent = false;
    let mut killed_for_stop = false;
    let mut tick = tokio::time::interval(CANCEL_POLL);
    let mut stdout_open = true;
    let mut last_beat = std::time::Instant::now();
    let mut lease_lost = false;
    let status = loop {
        tokio::select! {
            line = lines.next_line(), if stdout_open => match line {
                Ok(Some(line)) => match Report::parse(&line) {
                    Some(Report::Progress { done, total, elapsed_s }) => {
                        end.frames_seen = done;
                        let fps = if elapsed_s > 0.0 { done as f64 / elapsed_s } else { 0.0 };
                        let progress = Progress { frames_done: done, frames_total: total, fps };
                        match svc.store.heartbeat(&job.id, worker, Some(progress), lease_until(svc)) {
                            Ok(true) => last_beat = std::time::Instant::now(),
                            Ok(false) if !lease_lost => {
                                lease_lost = true;
                                signal(libc::SIGKILL);
                            }
                            Ok(false) => {}
                            Err(e) => say!("hmr2-launch: serve: job {}: {e}", job.id),
                        }
                    }
                    Some(Report::Summary { frames, stats, .. }) => end.summary = Some((frames, stats)),
                    None => {}
                },
                _ => stdout_open = false,
            },
            status = child.wait() => break status,
            _ = tick.tick() => {
                if last_beat.elapsed() >= HEARTBEAT && !lease_lost {
                    if let Ok(held) = svc.store.heartbeat(&job.id, worker, None, lease_until(svc)) {
                        last_beat = std::time::Instant::now();
                        if !held {
                            lease_lost = true;
                            signal(libc::SIGKILL);
                        }
                    }
                }
                if !cancel_sent && svc.store.get(&job.id).ok().flatten().is_some_and(|j| j.cancel_requested) {
                    cancel_sent = true;
                    // SIGTERM: the tool finishes its outputs with the frames done so far.
                    signal(libc::SIGTERM);
                }
            }
            _ = stop.changed(), if !killed_for_stop => {
                if *stop.borrow() {
                    killed_for_stop = true;
                    signal(libc::SIGKILL);
                }
            }
        }
    };
    // The rest of stdout (the summary comes just before the exit).
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(Report::Summary { frames, stats, .. }) = Report::parse(&line) {
            end.summary = Some((frames, stats));
        }
    }
    end.stderr_tail = tail.await.unwrap_or_default();
    match status {
        Ok(s) => (end.code, end.signal) = child_end(s),
        Err(e) => end.stderr_tail.push(format!("hmr2-launch: error: waiting for the pipeline process: {e}")),
    }
    if lease_lost {
        return Verdict::LeaseLost;
    }
    let cancel_requested = svc.store.get(&job.id).ok().flatten().is_some_and(|j| j.cancel_requested);
    judge_exit(&end, cancel_requested, killed_for_stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(code: Option<i32>, signal: Option<i32>, stderr: &[&str]) -> ChildEnd {
        ChildEnd {
            code,
            signal,
            summary: Some((42, Vec::new())),
            frames_seen: 40,
            stderr_tail: stderr.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn state(v: &Verdict) -> (JobState, Option<&str>, bool) {
        match v {
            Verdict::Finish(f) => (f.state, f.error.as_deref(), f.partial),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn exit_statuses_become_job_states() {
        let ok = judge_exit(&end(Some(0), None, &[]), false, false);
        assert_eq!(state(&ok), (JobState::Succeeded, None, false));
        let Verdict::Finish(f) = ok else { unreachable!() };
        assert_eq!(f.frames_done, 42, "frames from the summary");

        let failed =
            judge_exit(&end(Some(1), None, &["x", "hmr2-launch: error: cannot read input a: bad", "y"]), false, false);
        assert_eq!(state(&failed).1, Some("the pipeline failed (status 1): cannot read input a: bad"));

        let cancelled = judge_exit(&end(Some(3), None, &[]), true, false);
        assert_eq!(state(&cancelled), (JobState::Cancelled, None, true));
        let outside = judge_exit(&end(Some(3), None, &[]), false, false);
        assert_eq!(state(&outside).0, JobState::Failed);

        let truncated = judge_exit(
            &end(Some(4), None, &["hmr2-launch: warning: the input ended early: 3 of 9 frames"]),
            false,
            false,
        );
        assert_eq!(state(&truncated).1, Some("truncated input: the input ended early: 3 of 9 frames"));

        let crashed = judge_exit(&ChildEnd { summary: None, ..end(None, Some(11), &[]) }, false, false);
        assert_eq!(state(&crashed).1, Some("the pipeline process died (signal 11)"));
        let Verdict::Finish(f) = crashed else { unreachable!() };
        assert_eq!(f.frames_done, 40, "frames from the last progress line");
    }

    #[test]
    fn drawing_failures_are_told_apart() {
        assert!(rendering_failed("the pipeline failed (status 1): meshoverlay overlay: cannot load the body model"));
        assert!(rendering_failed("the pipeline process died (signal 11)"));
        assert!(!rendering_failed("the pipeline failed (status 1): cannot read input x"));
        assert!(!rendering_failed("truncated input: the input ended early"));
    }

    #[test]
    fn a_stopping_service_requeues_unless_cancelled_or_done() {
        assert_eq!(judge_exit(&end(None, Some(9), &[]), false, true), Verdict::Requeue);
        assert_eq!(state(&judge_exit(&end(Some(0), None, &[]), false, true)).0, JobState::Succeeded);
        assert_eq!(state(&judge_exit(&end(None, Some(9), &[]), true, true)).0, JobState::Cancelled);
    }
}
