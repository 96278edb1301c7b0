//! The streaming side's counters for the `stats` property.

use std::time::Duration;

/// Time spent per stage on the streaming and source threads, for the `stats` property
/// (the worker counts inference itself).
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub frames: u64,
    pub persons: u64,
    pub detect: Duration,
    pub crop: Duration,
    /// CPU time of the streaming thread while cropping (without the time other threads
    /// had its core).
    pub crop_cpu: Duration,
    pub post: Duration,
    /// Mean inference time per batch last used in a latency answer.
    pub reported_inference: Duration,
}

/// CPU time consumed so far by the calling thread (zero where the platform cannot say).
pub fn thread_cpu_time() -> Duration {
    #[cfg(unix)]
    {
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `now` is a valid timespec to write to.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } == 0 {
            return Duration::new(now.tv_sec as u64, now.tv_nsec as u32);
        }
    }
    Duration::ZERO
}
