//! A progress bar on stderr (bytes, MB/s, rows/s, ETA) for jobs that run over a second; silent
//! when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::{Cell, RefCell};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Progress of a long job.
pub struct Progress {
    enabled: bool,
    bar: RefCell<Option<ProgressBar>>,
    started: Cell<Option<Instant>>,
    shown: Cell<bool>,
}

impl Progress {
    /// A bar that shows itself when stderr is a terminal and `quiet` is false.
    pub fn new(quiet: bool) -> Self {
        Progress {
            enabled: !quiet && std::io::stderr().is_terminal(),
            bar: RefCell::new(None),
            started: Cell::new(None),
            shown: Cell::new(false),
        }
    }

    /// A bar that never shows.
    pub fn hidden() -> Self {
        Progress::new(true)
    }

    /// Starts counting towards `total` bytes.
    pub fn start_bytes(&self, total: u64, what: &str) {
        self.start(
            total,
            what,
            "{msg:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        );
    }

    /// Starts counting towards `total` training steps.
    pub fn start_steps(&self, total: u64, what: &str) {
        self.start(
            total,
            what,
            "{msg:>10} [{bar:30}] {pos}/{len} steps ETA {eta}",
        );
    }

    fn start(&self, total: u64, what: &str, template: &str) {
        self.started.set(Some(Instant::now()));
        self.shown.set(false);
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        *self.bar.borrow_mut() = Some(bar);
    }

    /// Bytes (or steps) done so far, and rows (shown as rows/s).
    pub fn set(&self, done: u64, rows: u64) {
        let Some(bar) = &*self.bar.borrow() else {
            return;
        };
        let elapsed = self.started.get().map_or(Duration::ZERO, |t| t.elapsed());
        if !self.shown.get() && elapsed > Duration::from_secs(1) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown.set(true);
        }
        if self.shown.get() {
            let rate = rows as f64 / elapsed.as_secs_f64().max(1e-9);
            bar.set_message(format!("{:.0}k rows/s", rate / 1e3));
        }
        bar.set_position(done);
    }

    /// Ends the bar (and clears it).
    pub fn finish(&self) {
        if let Some(bar) = self.bar.borrow_mut().take() {
            bar.finish_and_clear();
        }
    }
}
