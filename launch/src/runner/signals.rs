//! SIGINT (Ctrl-C), SIGTERM and SIGHUP: the first asks the session to finish its outputs
//! with the frames so far; a second one exits at once (status 130), removing the
//! unfinished temporary files.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::{pending_output, say, EXIT_ABORTED};

static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

pub fn install_interrupt_handler() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    // ctrlc runs this on its own thread, not in the signal handler, so it may lock and
    // touch files.
    let _ = ctrlc::set_handler(|| {
        let n = INTERRUPTS.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= 2 {
            pending_output::remove_all();
            say!("\nhmr2-launch: aborted: the outputs were not written");
            std::process::exit(EXIT_ABORTED);
        }
    });
}

/// Whether an interrupt arrived.
pub fn interrupted() -> bool {
    INTERRUPTS.load(Ordering::SeqCst) > 0
}
