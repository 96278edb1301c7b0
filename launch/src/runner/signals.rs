//! Ctrl-C: the first one asks the session to finish the output; a second one exits at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::EXIT_ABORTED;

static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

pub fn install_interrupt_handler() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let _ = ctrlc::set_handler(|| {
        let n = INTERRUPTS.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= 2 {
            eprintln!("\nhmr2-launch: aborted (the output may be unfinished)");
            std::process::exit(EXIT_ABORTED);
        }
    });
}

/// Whether an interrupt arrived.
pub fn interrupted() -> bool {
    INTERRUPTS.load(Ordering::SeqCst) > 0
}
