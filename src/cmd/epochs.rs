//! The per-epoch lines every training command prints on stderr.

use crate::train::EpochLog;

/// The header of the per-epoch lines.
pub fn header() {
    eprintln!(
        "{:>5} {:>11} {:>10} {:>14} {:>11} {:>8} {:>9}",
        "epoch", "train loss", "valid AUC", "valid logloss", "samples/s", "seconds", "data wait"
    );
}

/// One epoch's line (under [`header`]).
pub fn line(e: &EpochLog) {
    eprintln!(
        "{:>5} {:>11.5} {:>10.5} {:>14.5} {:>11.0} {:>8.1} {:>8.2}s",
        e.epoch,
        e.train_loss,
        e.valid_auc,
        e.valid_logloss,
        e.samples_per_s,
        e.seconds,
        e.data_wait_seconds
    );
}

/// Prints each stage's epochs under a heading naming the stage (nothing when `quiet`).
pub fn per_stage(quiet: bool) -> impl FnMut(&str, &EpochLog) {
    let mut last = String::new();
    move |stage: &str, e: &EpochLog| {
        if quiet {
            return;
        }
        if stage != last {
            eprintln!("\n{stage}");
            header();
            last = stage.to_string();
        }
        line(e);
    }
}
