//! What a run measured: parameter counts, the re-trained model's metrics, the seed repeats and
//! the baselines' t-tests.

use serde::{Deserialize, Serialize};

/// Parameter counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The spec's base model on the same data (the baseline).
    pub base: usize,
    /// The first search model (every candidate, function-wise embeddings).
    pub before: usize,
    /// The re-trained architecture.
    pub after: usize,
    /// The base model with function-wise embeddings (one table per searched function), the
    /// fair size to compare the architecture with: it has those tables too.
    #[serde(default)]
    pub base_function_wise: usize,
}

/// Validation and test metrics of the re-trained model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetrainMetrics {
    /// Best epoch.
    pub best_epoch: usize,
    /// Validation AUC.
    pub valid_auc: f64,
    /// Validation log loss.
    pub valid_logloss: f64,
    /// Test AUC.
    pub test_auc: f64,
    /// Test log loss (after calibration, if any).
    pub test_logloss: f64,
    /// Test log loss before calibration.
    #[serde(default)]
    pub test_logloss_uncalibrated: Option<f64>,
    /// The Platt scaling fitted on validation (`model { calibrate }`).
    #[serde(default)]
    pub calibration: Option<crate::calibration::Platt>,
}

/// Metrics over repeated re-trains (`aim run --seeds N`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedMetrics {
    /// The seeds.
    pub seeds: Vec<u64>,
    /// Test AUC of each.
    pub test_auc: Vec<f64>,
    /// Test log loss of each.
    pub test_logloss: Vec<f64>,
    /// Validation AUC of each (at its kept epoch): what a setting is chosen on.
    #[serde(default)]
    pub valid_auc: Vec<f64>,
    /// Validation log loss of each.
    #[serde(default)]
    pub valid_logloss: Vec<f64>,
    /// Test log loss of each before calibration (equal to `test_logloss` without one).
    #[serde(default)]
    pub test_logloss_uncalibrated: Vec<f64>,
    /// Mean and standard deviation of the test AUC.
    pub auc: crate::stats::MeanStd,
    /// Mean and standard deviation of the test log loss.
    pub logloss: crate::stats::MeanStd,
}

impl SeedMetrics {
    /// Summarises per-seed results.
    pub fn new(seeds: Vec<u64>, reports: &[crate::train::TrainReport]) -> Self {
        let pick = |f: fn(&crate::train::TrainReport) -> f64| reports.iter().map(f).collect();
        let (test_auc, test_logloss): (Vec<f64>, Vec<f64>) =
            (pick(|r| r.test_auc), pick(|r| r.test_logloss));
        SeedMetrics {
            seeds,
            auc: crate::stats::mean_std(&test_auc),
            logloss: crate::stats::mean_std(&test_logloss),
            test_auc,
            test_logloss,
            valid_auc: pick(|r| r.valid_auc),
            valid_logloss: pick(|r| r.valid_logloss),
            test_logloss_uncalibrated: pick(|r| r.test_logloss_uncalibrated),
        }
    }
}

/// A baseline trained on the same seeds, and Welch's two-tailed t-tests against it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The base model.
    pub base: String,
    /// Its metrics over the seeds.
    pub metrics: SeedMetrics,
    /// p-value of the test AUC difference.
    pub p_auc: f64,
    /// p-value of the test log loss difference.
    pub p_logloss: f64,
}

/// Metrics of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The re-trained model's, when stage 3 ran.
    pub retrain: Option<RetrainMetrics>,
    /// The re-train repeated over seeds.
    #[serde(default)]
    pub seeds: Option<SeedMetrics>,
    /// Baselines over the same seeds.
    #[serde(default)]
    pub baselines: Vec<Baseline>,
}
