//! What each stage measured, and what `c = auto` chose from its ladder of thresholds.

use serde::{Deserialize, Serialize};

/// Validation AUC a sparser rung may lose against the best rung (the interaction ladder's rule).
/// Defined with the file format because architecture files written before [`Selection`]
/// recorded its tolerance were chosen with it.
pub const TOLERANCE: f64 = 0.0005;

/// What a stage measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// `search interactions (order 2)`, `search embedding_dims`, `retrain`.
    pub name: String,
    /// Wall seconds.
    pub seconds: f64,
    /// Parameters of the model the stage trained.
    pub params: usize,
    /// Validation AUC at the end of the stage.
    pub valid_auc: f64,
    /// Validation log loss at the end of the stage.
    pub valid_logloss: f64,
    /// Training samples per second.
    pub train_samples_per_s: f64,
    /// Every epoch the stage ran (the learning curve `aim report` draws).
    #[serde(default)]
    pub epochs: Vec<crate::train::EpochLog>,
}

impl StageRecord {
    /// The record of a stage named `name` that started at `t0` and trained to `report`.
    pub fn new(name: String, t0: std::time::Instant, report: &crate::train::TrainReport) -> Self {
        StageRecord {
            name,
            seconds: t0.elapsed().as_secs_f64(),
            params: report.params,
            valid_auc: report.valid_auc,
            valid_logloss: report.valid_logloss,
            train_samples_per_s: report.train_samples_per_s,
            epochs: report.epochs.clone(),
        }
    }
}

/// One rung of the ladder, as measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rung {
    /// The threshold τ that the run's planned steps end at.
    pub threshold: f64,
    /// Its `c`.
    pub c: f64,
    /// Gates left open.
    pub open: usize,
    /// The search model's validation AUC at the end of the run.
    pub valid_auc: f64,
}

/// What `c = auto` chose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Every rung tried.
    pub rungs: Vec<Rung>,
    /// The index of the chosen one.
    pub chosen: usize,
    /// The validation AUC a sparser rung could lose against the best (absent in files written
    /// before it was recorded: 0.0005).
    #[serde(default)]
    pub tolerance: Option<f64>,
}

impl Selection {
    /// The chosen rung.
    pub fn rung(&self) -> Option<&Rung> {
        self.rungs.get(self.chosen)
    }

    /// One line: the chosen threshold and the ladder it was chosen from.
    pub fn summary(&self) -> String {
        let ladder: Vec<String> = self
            .rungs
            .iter()
            .map(|r| format!("{}:{}/{:.4}", r.threshold, r.open, r.valid_auc))
            .collect();
        match self.rung() {
            Some(r) => format!(
                "c = auto: threshold {} (c = {:.4}), {} gates open, validation AUC {:.4} (the sparsest within {:.4} of the best); ladder τ:open/AUC {}",
                r.threshold,
                r.c,
                r.open,
                r.valid_auc,
                self.tolerance.unwrap_or(TOLERANCE),
                ladder.join(" ")
            ),
            None => format!("c = auto: no rung chosen; ladder {}", ladder.join(" ")),
        }
    }
}
