//! Starting and stopping the element keeps no memory: 300 start/stop cycles, each drawing
//! a person; the resident set size (RSS) may grow by at most [`BOUND_PER_CYCLE`] per cycle
//! between cycles 50 and 300, and no shared library may be unloaded after the first
//! cycles (unloading the graphics driver is what made Mesa leak on every cycle). (Its own
//! test binary: other tests running in the same process would move the RSS.)
//!
//! The body model is a small synthetic one (200 vertices): the GPU path is the same as
//! with the mannequin, and loading the mannequin in a debug build would make each cycle
//! five times longer.
//!
//! RSS is noisy: glibc keeps freed memory in the arenas of the driver's threads. Free heap
//! memory is handed back to the system (`malloc_trim`) before each reading and the lowest
//! of ten readings is taken at each end; a few MiB of noise over the 250 cycles remain.

mod common;

use common::*;
use gst::prelude::*;
use hmr2_meta::camera::FrameCamera;
use hmr2_meta::pose::FramePoses;

const W: u32 = 160;
const H: u32 = 120;
const CAPS: &str = "video/x-raw,format=RGBA,width=160,height=120,framerate=30/1";
const CYCLES: usize = 300;
const MEASURED_FROM: usize = 50;
/// A bare wgpu loop with no project code (instance, device, one triangle drawn and read
/// back, all dropped) keeps 8 KiB per cycle on lavapipe, and the readings move by up to
/// 20 KiB per cycle either way; this is well above both.
const BOUND_PER_CYCLE: f64 = 64.0 * 1024.0;
/// Readings taken at each end of the measured cycles; the lowest counts.
const READINGS: usize = 10;

/// Resident set size in bytes, after handing free heap memory back to the system.
fn rss_bytes() -> u64 {
    release_free_heap();
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_heap() {
    extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: malloc_trim only returns free memory of the allocator to the system.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_heap() {}

/// How many shared objects the process has unloaded so far (glibc's `dlpi_subs`), or
/// `None` where the C library does not count them.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn libraries_unloaded() -> Option<u64> {
    use std::ffi::{c_char, c_int, c_void};
    /// The start of glibc's `struct dl_phdr_info` up to `dlpi_subs`.
    #[repr(C)]
    struct DlPhdrInfo {
        addr: usize,
        name: *const c_char,
        phdr: *const c_void,
        phnum: u16,
        adds: u64,
        subs: u64,
    }
    extern "C" {
        fn dl_iterate_phdr(
            callback: extern "C" fn(*mut DlPhdrInfo, usize, *mut c_void) -> c_int,
            data: *mut c_void,
        ) -> c_int;
    }
    extern "C" fn read_subs(info: *mut DlPhdrInfo, size: usize, data: *mut c_void) -> c_int {
        if size >= std::mem::size_of::<DlPhdrInfo>() {
            // SAFETY: glibc passes a valid info of `size` bytes, and `data` is the
            // Option<u64> below.
            unsafe { *(data as *mut Option<u64>) = Some((*info).subs) };
        }
        1 // the counter is the same in every object's info: stop at the first
    }
    let mut subs: Option<u64> = None;
    // SAFETY: the callback only reads the info it is given and writes `subs`.
    unsafe { dl_iterate_phdr(read_subs, &mut subs as *mut Option<u64> as *mut c_void) };
    subs
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn libraries_unloaded() -> Option<u64> {
    None
}

/// Starts the element with the body model at `model`, draws one person, stops it.
fn cycle(model: &std::path::Path, poses: &FramePoses) {
    let properties = [("opacity", 1.0f64.to_value()), ("body-model", model.to_str().unwrap().to_value())];
    let mut h = harness(CAPS, &properties);
    let background = solid_frame(W, H, [0, 0, 0, 255]);
    let out = h.push_and_pull(buffer_with_poses(&background, Some(poses))).unwrap();
    assert!(buffer_bytes(&out) != background, "the person was not drawn");
    h.element().unwrap().set_state(gst::State::Null).unwrap();
}

#[test]
fn start_stop_cycles_keep_no_memory() {
    init();
    let model = random_model(&mut Rng::new(3), 200, 10).write_temp("small.safetensors");
    let camera = FrameCamera::for_frame(W, H, None);
    let mut rotations = [IDENTITY; 24];
    rotations[0] = UPRIGHT;
    let poses = FramePoses {
        frame_width: W,
        frame_height: H,
        persons: vec![person(&camera, &rotations, [0.0; 10], [0.0, 0.1, 40.0], None)],
    };
    let (mut at_start, mut at_end) = (u64::MAX, u64::MAX);
    let mut unloaded_at_start = None;
    for n in 1..=CYCLES {
        cycle(&model, &poses);
        if n == READINGS {
            unloaded_at_start = libraries_unloaded();
        }
        if (MEASURED_FROM - READINGS + 1..=MEASURED_FROM).contains(&n) {
            at_start = at_start.min(rss_bytes());
        }
        if n > CYCLES - READINGS {
            at_end = at_end.min(rss_bytes());
        }
    }
    let unloaded = libraries_unloaded().zip(unloaded_at_start).map(|(a, b)| a - b);
    let growth = at_end as f64 - at_start as f64;
    let per_cycle = growth / (CYCLES - MEASURED_FROM) as f64;
    println!(
        "RSS around cycle {MEASURED_FROM}: {} KiB; around cycle {CYCLES}: {:+.0} KiB, {:.2} KiB per cycle; \
         libraries unloaded after cycle {READINGS}: {unloaded:?}",
        at_start / 1024,
        growth / 1024.0,
        per_cycle / 1024.0
    );
    assert!(unloaded.is_none_or(|n| n == 0), "{unloaded:?} shared libraries were unloaded by starting and stopping");
    assert!(
        per_cycle <= BOUND_PER_CYCLE,
        "{:.1} KiB kept per start/stop cycle (bound {:.0} KiB)",
        per_cycle / 1024.0,
        BOUND_PER_CYCLE / 1024.0
    );
}
