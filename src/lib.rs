//! `aim`: the Automatic Interaction Machine for click-through-rate prediction.
//!
//! The crate follows the pipeline of a run: [`spec`] (text → checked spec), [`plan`] (spec →
//! fields, candidates, stage budgets), [`data`] (files → id matrices).

#![warn(missing_docs)]

pub mod arch;
pub mod bench;
pub mod calibration;
pub mod checkpoint;
pub mod cmd;
pub mod data;
pub mod hash;
pub mod io;
pub mod metrics;
pub mod model;
pub mod nn;
pub mod optim;
pub mod plan;
pub mod predict;
pub mod report;
pub mod saved;
pub mod simd;
pub mod spec;
pub mod stages;
pub mod stats;
pub mod text;
pub mod train;

/// Keeps large freed buffers in the process (glibc): every training step allocates and frees
/// buffers of megabytes, and with glibc's defaults each one is a fresh `mmap` whose pages fault
/// in again (about a tenth of a step's time, measured).
///
/// # Safety
/// Call it before any other thread starts (first thing in `main`): glibc documents `mallopt`
/// as unsafe to race with the allocator's initialisation in other threads.
pub unsafe fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; the caller guarantees no other thread.
    unsafe {
        // 32 MiB is the largest threshold glibc accepts (a larger one is ignored).
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
        // One arena: buffers freed by a worker thread are reused by the others, not trimmed.
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
