//! The inference worker and the ordered queue it fills, shared by three threads: the
//! streaming thread queues frames and events and hands jobs over, the worker thread runs
//! them through an [`Engine`] and stores the results, and the source pad task takes what
//! may leave, in arrival order.
//!
//! Everything the threads share is behind one mutex with one condition variable, so the
//! protocol lives here and nowhere else:
//! - a flush ([`Worker::flush_start`]) empties the queue and moves the epoch on, so results
//!   of jobs sent before it are dropped when they arrive; [`Worker::flush_stop`] and
//!   [`Worker::activate`] accept frames again;
//! - an engine error is kept until the source side takes it ([`Next::Failed`]), and the
//!   streaming side gets it back from [`Worker::wait_for_room`] once the source side has
//!   recorded a flow error ([`Worker::set_flow`]), so the element's own error message comes
//!   before upstream's;
//! - at most [`MAX_IN_FLIGHT`] jobs are handed over and unfinished at once.
//!
//! Nothing here knows GStreamer beyond its flow return type.

use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::batching::{FrameId, OrderedQueue, Ready, Slot};

/// Jobs handed to the worker thread and not finished yet before the streaming thread
/// waits: one running, one ready to start.
pub const MAX_IN_FLIGHT: usize = 2;

/// Runs jobs on the worker thread.
pub trait Engine: Send + 'static {
    type Job: Send + 'static;
    type Output: Send + 'static;
    /// Why a job failed; kept as its text for the element's error message.
    type Error: std::fmt::Display;

    /// Runs one job: a result for each of its slots, or the reason it failed. The job is
    /// kept afterwards for its storage ([`Worker::take_spent`]): release in it what must
    /// not outlive the run.
    fn run(&mut self, job: &mut Self::Job) -> Result<Vec<(Slot, Self::Output)>, Self::Error>;
}

/// What the source side should do next.
#[derive(Debug)]
pub enum Next<F, E, R> {
    /// The head of the queue may leave.
    Ready(Ready<F, E, R>),
    /// The element is flushing or stopping.
    Flushing,
    /// A job failed; the message says why.
    Failed(String),
    /// The partial batch's deadline has passed: send it, then ask again.
    DeadlineDue,
}

struct State<F, E, J, R> {
    queue: OrderedQueue<F, E, R>,
    flushing: bool,
    /// Incremented by every flush; results of jobs sent before it are dropped.
    epoch: u64,
    in_flight: usize,
    /// What downstream answered last; returned upstream by the streaming thread.
    flow: Result<(), gst::FlowError>,
    /// An engine failure the source side has not taken yet.
    error: Option<String>,
    /// When the partial batch must be sent because of the batch timeout.
    deadline: Option<Instant>,
    /// Finished jobs, for the streaming side to reuse their storage.
    spent: Vec<J>,
    times: JobTimes,
}

/// How many jobs ran and how long they took, since the worker started.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct JobTimes {
    pub jobs: u64,
    pub busy: Duration,
}

impl JobTimes {
    /// Mean time per job (zero before the first).
    pub fn mean(&self) -> Duration {
        if self.jobs == 0 {
            Duration::ZERO
        } else {
            self.busy / self.jobs as u32
        }
    }
}

impl<F, E, J, R> State<F, E, J, R> {
    fn new() -> Self {
        Self {
            queue: OrderedQueue::default(),
            flushing: true,
            epoch: 0,
            in_flight: 0,
            flow: Ok(()),
            error: None,
            deadline: None,
            spent: Vec::new(),
            times: JobTimes::default(),
        }
    }
}

struct Shared<F, E, J, R> {
    state: Mutex<State<F, E, J, R>>,
    changed: Condvar,
}

impl<F, E, J, R> Shared<F, E, J, R> {
    fn lock(&self) -> MutexGuard<'_, State<F, E, J, R>> {
        self.state.lock().unwrap()
    }
}

/// The queue of frames `F` and events `E` waiting for results `R`, and the thread that
/// runs the jobs of engine `N` that produce them.
pub struct Worker<F, E, N: Engine> {
    shared: Arc<Shared<F, E, N::Job, N::Output>>,
    jobs: Option<mpsc::Sender<(u64, N::Job)>>,
    thread: Option<JoinHandle<()>>,
}

impl<F, E, N> Worker<F, E, N>
where
    F: Send + 'static,
    E: Send + 'static,
    N: Engine,
{
    /// Starts the worker thread, named `name`, flushing until [`Worker::activate`].
    pub fn start(engine: N, name: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared { state: Mutex::new(State::new()), changed: Condvar::new() });
        let (jobs, receiver) = mpsc::channel();
        let thread_shared = shared.clone();
        let thread =
            std::thread::Builder::new().name(name.into()).spawn(move || run_jobs(engine, receiver, thread_shared))?;
        Ok(Self { shared, jobs: Some(jobs), thread: Some(thread) })
    }

    fn notify(&self) {
        self.shared.changed.notify_all();
    }

    /// Accepts frames and events (after start, or when the source pad is activated).
    pub fn activate(&self) {
        let mut state = self.shared.lock();
        state.flushing = false;
        state.flow = Ok(());
        drop(state);
        self.notify();
    }

    /// Waits until the queue holds fewer than `max_frames` frames and another job may be
    /// handed over; returns what stops the stream instead, if anything.
    pub fn wait_for_room(&self, max_frames: usize) -> Result<(), gst::FlowError> {
        let mut state = self.shared.lock();
        loop {
            if state.flushing {
                return Err(gst::FlowError::Flushing);
            }
            state.flow?;
            if state.in_flight < MAX_IN_FLIGHT && state.queue.frames() < max_frames {
                return Ok(());
            }
            state = self.shared.changed.wait(state).unwrap();
        }
    }

    /// Queues a frame that waits for `slots` results.
    pub fn push_frame(&self, frame: F, slots: usize) -> Result<FrameId, gst::FlowError> {
        let mut state = self.shared.lock();
        if state.flushing {
            return Err(gst::FlowError::Flushing);
        }
        let id = state.queue.push_frame(frame, slots);
        drop(state);
        self.notify();
        Ok(id)
    }

    /// Queues a serialized event behind the frames before it; false when flushing.
    pub fn push_event(&self, event: E) -> bool {
        let mut state = self.shared.lock();
        if state.flushing {
            return false;
        }
        state.queue.push_event(event);
        drop(state);
        self.notify();
        true
    }

    /// Hands a job to the worker thread; clears the partial batch's deadline.
    pub fn send(&self, job: N::Job) {
        let epoch = {
            let mut state = self.shared.lock();
            state.in_flight += 1;
            state.deadline = None;
            state.epoch
        };
        let sent = self.jobs.as_ref().is_some_and(|jobs| jobs.send((epoch, job)).is_ok());
        if !sent {
            let mut state = self.shared.lock();
            state.in_flight -= 1;
            state.error.get_or_insert_with(|| "the worker thread has stopped".into());
            drop(state);
            self.notify();
        }
    }

    /// Sets (or clears) when the partial batch must be sent.
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        self.shared.lock().deadline = deadline;
        self.notify();
    }

    /// A finished job, for its storage.
    pub fn take_spent(&self) -> Option<N::Job> {
        self.shared.lock().spent.pop()
    }

    /// Starts flushing: drops everything queued and every result still to come.
    pub fn flush_start(&self) {
        let mut state = self.shared.lock();
        state.flushing = true;
        state.epoch += 1;
        state.queue.clear();
        state.deadline = None;
        drop(state);
        self.notify();
    }

    /// Ends a flush: an empty queue that accepts frames again, errors forgotten.
    pub fn flush_stop(&self) {
        let mut state = self.shared.lock();
        state.queue.clear();
        state.deadline = None;
        state.flushing = false;
        state.flow = Ok(());
        state.error = None;
        drop(state);
        self.notify();
    }

    /// Waits until every queued frame and event has left, or until a flush, an engine
    /// error or a downstream flow error ends the wait; false when flushing.
    pub fn drain(&self) -> bool {
        let mut state = self.shared.lock();
        while !state.queue.is_empty() && !state.flushing && state.error.is_none() && state.flow.is_ok() {
            state = self.shared.changed.wait(state).unwrap();
        }
        !state.flushing
    }

    /// Blocks until the source side has something to do.
    pub fn next(&self) -> Next<F, E, N::Output> {
        let mut state = self.shared.lock();
        let next = loop {
            if state.flushing {
                break Next::Flushing;
            }
            if let Some(message) = state.error.take() {
                break Next::Failed(message);
            }
            if let Some(ready) = state.queue.pop_ready() {
                break Next::Ready(ready);
            }
            match state.deadline {
                Some(deadline) if Instant::now() >= deadline => break Next::DeadlineDue,
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    state = self.shared.changed.wait_timeout(state, wait).unwrap().0;
                }
                None => state = self.shared.changed.wait(state).unwrap(),
            }
        };
        drop(state);
        // Room was made in the queue, or the state changed: wake the streaming side.
        self.notify();
        next
    }

    /// Records what downstream answered (ignored while flushing: a flush resets it).
    pub fn set_flow(&self, flow: Result<(), gst::FlowError>) {
        let mut state = self.shared.lock();
        if !state.flushing || flow.is_ok() {
            state.flow = flow;
        }
        drop(state);
        self.notify();
    }

    /// Jobs run so far and the time they took.
    pub fn job_times(&self) -> JobTimes {
        self.shared.lock().times
    }

    /// What downstream answered last.
    pub fn flow(&self) -> Result<(), gst::FlowError> {
        self.shared.lock().flow
    }
}

impl<F, E, N: Engine> Drop for Worker<F, E, N> {
    fn drop(&mut self) {
        // Closing the channel ends the thread once its current job is done.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run_jobs<F, E, N: Engine>(
    mut engine: N,
    jobs: mpsc::Receiver<(u64, N::Job)>,
    shared: Arc<Shared<F, E, N::Job, N::Output>>,
) {
    while let Ok((epoch, mut job)) = jobs.recv() {
        let start = Instant::now();
        let result = engine.run(&mut job);
        let elapsed = start.elapsed();
        let mut state = shared.lock();
        state.in_flight -= 1;
        state.times.jobs += 1;
        state.times.busy += elapsed;
        if epoch == state.epoch {
            match result {
                Ok(outputs) => {
                    for (slot, output) in outputs {
                        state.queue.fulfil(slot.frame, slot.person, output);
                    }
                }
                Err(e) => {
                    state.error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        state.spent.push(job);
        drop(state);
        shared.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{Receiver, SyncSender};

    use super::*;

    /// Doubles every value of a job once the test lets it go; fails on negative values.
    struct Doubler {
        go: Receiver<()>,
    }

    impl Engine for Doubler {
        type Job = Vec<(Slot, i32)>;
        type Output = i32;
        type Error = String;

        fn run(&mut self, job: &mut Self::Job) -> Result<Vec<(Slot, i32)>, String> {
            self.go.recv().map_err(|_| "stopped".to_string())?;
            if job.iter().any(|(_, v)| *v < 0) {
                return Err("negative value".into());
            }
            Ok(job.iter().map(|(slot, v)| (*slot, v * 2)).collect())
        }
    }

    fn worker() -> (Worker<&'static str, &'static str, Doubler>, SyncSender<()>) {
        let (go, receiver) = mpsc::sync_channel(16);
        let worker = Worker::start(Doubler { go: receiver }, "test-worker").unwrap();
        worker.activate();
        (worker, go)
    }

    fn slot(frame: FrameId, person: usize) -> Slot {
        Slot { frame, person }
    }

    fn ready(next: Next<&'static str, &'static str, i32>) -> Ready<&'static str, &'static str, i32> {
        match next {
            Next::Ready(ready) => ready,
            other => panic!("expected a ready item, got {other:?}"),
        }
    }

    #[test]
    fn frames_and_events_leave_in_order_with_results() {
        let (worker, go) = worker();
        let a = worker.push_frame("a", 2).unwrap();
        let b = worker.push_frame("b", 0).unwrap();
        assert!(worker.push_event("eos"));
        worker.send(vec![(slot(a, 0), 1), (slot(a, 1), 2)]);
        go.send(()).unwrap();
        assert_eq!(ready(worker.next()), Ready::Frame("a", vec![2, 4]));
        assert_eq!(ready(worker.next()), Ready::Frame("b", vec![]));
        assert_eq!(ready(worker.next()), Ready::Event("eos"));
        assert!(b > a);
        assert!(worker.drain());
        assert!(worker.take_spent().is_some(), "the finished job comes back for reuse");
        assert_eq!(worker.job_times().jobs, 1);
    }

    #[test]
    fn an_eos_queued_while_its_frames_job_runs_waits_for_it_and_drain_waits_for_both() {
        let (worker, go) = worker();
        let a = worker.push_frame("a", 1).unwrap();
        worker.push_frame("b", 0).unwrap();
        worker.send(vec![(slot(a, 0), 3)]);
        assert!(worker.push_event("eos"));
        std::thread::scope(|scope| {
            let source = scope.spawn(|| {
                let mut left = Vec::new();
                while !matches!(left.last(), Some(Ready::Event("eos"))) {
                    left.push(ready(worker.next()));
                }
                left
            });
            let draining = scope.spawn(|| worker.drain());
            std::thread::sleep(Duration::from_millis(50));
            // Looked at before the job may finish, asserted after (a failure must not leave
            // the source thread waiting forever).
            let (source_early, drain_early) = (source.is_finished(), draining.is_finished());
            go.send(()).unwrap();
            let (left, drained) = (source.join().unwrap(), draining.join().unwrap());
            assert!(!source_early, "something left before the job of the first frame finished");
            assert!(!drain_early, "drain returned with a job in flight");
            assert_eq!(left, vec![Ready::Frame("a", vec![6]), Ready::Frame("b", vec![]), Ready::Event("eos")]);
            assert!(drained);
        });
    }

    #[test]
    fn a_flush_drops_results_of_jobs_sent_before_it() {
        let (worker, go) = worker();
        let a = worker.push_frame("a", 1).unwrap();
        worker.send(vec![(slot(a, 0), 1)]);
        worker.flush_start();
        assert!(matches!(worker.next(), Next::Flushing));
        assert_eq!(worker.push_frame("late", 0), Err(gst::FlowError::Flushing));
        assert!(!worker.push_event("late"));
        assert_eq!(worker.wait_for_room(8), Err(gst::FlowError::Flushing));
        worker.flush_stop();
        let b = worker.push_frame("b", 1).unwrap();
        go.send(()).unwrap(); // the old job finishes after the flush: its result is dropped
        worker.send(vec![(slot(b, 0), 5)]);
        go.send(()).unwrap();
        assert_eq!(ready(worker.next()), Ready::Frame("b", vec![10]));
    }

    #[test]
    fn an_engine_error_reaches_the_source_side_then_upstream() {
        let (worker, go) = worker();
        let a = worker.push_frame("a", 1).unwrap();
        worker.send(vec![(slot(a, 0), -1)]);
        go.send(()).unwrap();
        match worker.next() {
            Next::Failed(message) => assert_eq!(message, "negative value"),
            other => panic!("expected the failure, got {other:?}"),
        }
        assert!(worker.wait_for_room(8).is_ok(), "upstream learns it once the source side says so");
        worker.set_flow(Err(gst::FlowError::Error));
        assert_eq!(worker.wait_for_room(8), Err(gst::FlowError::Error));
        assert!(!worker.drain() || worker.flow().is_err());
    }

    #[test]
    fn room_is_bounded_by_queued_frames_and_jobs_in_flight() {
        let (worker, go) = worker();
        let a = worker.push_frame("a", 1).unwrap();
        assert!(worker.wait_for_room(2).is_ok());
        worker.push_frame("b", 0).unwrap();
        // Two frames queued: a third must wait until one leaves.
        let waiter = std::thread::scope(|scope| {
            let waiting = scope.spawn(|| worker.wait_for_room(2));
            std::thread::sleep(Duration::from_millis(50));
            assert!(!waiting.is_finished(), "wait_for_room returned with a full queue");
            worker.send(vec![(slot(a, 0), 1)]);
            go.send(()).unwrap();
            assert!(matches!(worker.next(), Next::Ready(_)));
            waiting.join().unwrap()
        });
        assert!(waiter.is_ok());
    }

    #[test]
    fn a_passed_deadline_asks_for_the_partial_batch() {
        let (worker, _go) = worker();
        worker.push_frame("a", 1).unwrap();
        worker.set_deadline(Some(Instant::now() + Duration::from_millis(20)));
        let start = Instant::now();
        assert!(matches!(worker.next(), Next::DeadlineDue));
        assert!(start.elapsed() >= Duration::from_millis(15));
    }

    #[test]
    fn flow_errors_are_kept_but_not_while_flushing() {
        let (worker, _go) = worker();
        worker.flush_start();
        worker.set_flow(Err(gst::FlowError::NotLinked));
        assert_eq!(worker.flow(), Ok(()));
        worker.flush_stop();
        worker.set_flow(Err(gst::FlowError::Eos));
        assert_eq!(worker.flow(), Err(gst::FlowError::Eos));
        worker.activate();
        assert_eq!(worker.flow(), Ok(()));
    }
}
