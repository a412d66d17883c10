//! The architecture AIM found, written as RON (and shown as JSON by `aim show --json`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A field of the found architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchField {
    /// Its name.
    pub name: String,
    /// Vocabulary size (ids 0..vocab).
    pub vocab: usize,
    /// Kept embedding dimension d_i.
    pub dim: usize,
    /// Kept positions φ_i among 0..d.
    pub positions: Vec<usize>,
}

/// A kept interaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchInteraction {
    /// Field names.
    pub fields: Vec<String>,
    /// Its order.
    pub order: usize,
    /// Kept functions, strongest |α| first.
    pub functions: Vec<String>,
    /// α of each kept function.
    pub alphas: BTreeMap<String, f32>,
}

/// Candidates and kept interactions of one order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchOrder {
    /// The order.
    pub order: usize,
    /// Candidate tuples searched.
    pub candidates: usize,
    /// Tuples kept.
    pub kept: usize,
    /// Interaction-function pairs kept.
    pub kept_pairs: usize,
    /// With `c = auto`: the threshold ladder and the rung chosen.
    #[serde(default)]
    pub threshold: Option<Selection>,
}

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

/// The found architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// The spec's experiment name.
    pub spec: String,
    /// FNV-1a hash of the spec text.
    pub spec_hash: String,
    /// The data cache's key (a fingerprint of the inputs and preprocessing).
    pub data: String,
    /// The seed.
    pub seed: u64,
    /// Embedding length d before the dimension search.
    pub embedding_dim: usize,
    /// With `c = auto` in the dimension search: the ladder and the rung chosen.
    #[serde(default)]
    pub dims_threshold: Option<Selection>,
    /// One embedding table per function, or shared.
    pub function_wise: bool,
    /// Every field.
    pub fields: Vec<ArchField>,
    /// Per order, candidates and kept counts.
    pub orders: Vec<ArchOrder>,
    /// Every kept interaction, by order, strongest first.
    pub interactions: Vec<ArchInteraction>,
    /// Parameter counts.
    pub params: Params,
    /// Each stage's time and metrics.
    pub stages: Vec<StageRecord>,
    /// The final metrics.
    pub metrics: Metrics,
    /// The re-trained model's saved file, beside this one (`aim predict` reads it).
    #[serde(default)]
    pub model: Option<ModelFile>,
}

/// A saved model that an architecture names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// Its file name, relative to the architecture file's folder.
    pub file: String,
    /// FNV-1a of its bytes (hex): a model replaced after the architecture was written is
    /// refused.
    pub hash: String,
}

impl Architecture {
    /// Reads, parses and checks an architecture file: any file on disk is input, and a
    /// hand-edited one must give a clear error, never a panic further on.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let arch: Architecture = ron::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not an architecture file: {e}", path.display()))?;
        arch.validate()
            .map_err(|e| anyhow::anyhow!("{}: not a valid architecture: {e}", path.display()))?;
        Ok(arch)
    }

    /// Checks what the rest of `aim` relies on: every interaction names `order` distinct known
    /// fields and a finite α for each of its known functions; every field's positions lie in
    /// 0..d, ascending, and number its dimension.
    pub fn validate(&self) -> Result<(), String> {
        let d = self.embedding_dim;
        for f in &self.fields {
            if f.positions.len() != f.dim
                || f.positions.windows(2).any(|w| w[0] >= w[1])
                || f.positions.iter().any(|&k| k >= d)
            {
                return Err(format!(
                    "field `{}`: dim {} and positions {:?} do not fit (ascending, below embedding_dim = {d}, one per dimension)",
                    f.name, f.dim, f.positions
                ));
            }
        }
        for i in &self.interactions {
            let what = format!("interaction ({})", i.fields.join(", "));
            if !(2..=4).contains(&i.order) || i.fields.len() != i.order {
                return Err(format!(
                    "{what}: order {} with {} fields (orders are 2..=4, one field each)",
                    i.order,
                    i.fields.len()
                ));
            }
            for (k, f) in i.fields.iter().enumerate() {
                if !self.fields.iter().any(|x| &x.name == f) {
                    return Err(format!("{what}: `{f}` is not one of the fields"));
                }
                if i.fields[..k].contains(f) {
                    return Err(format!("{what}: `{f}` appears twice"));
                }
            }
            if i.functions.is_empty() {
                return Err(format!("{what}: no functions"));
            }
            for f in &i.functions {
                if crate::spec::InteractionFn::from_name(f).is_none() {
                    return Err(format!(
                        "{what}: unknown function `{f}` (inner, outer, vector_kernel, scalar_kernel)"
                    ));
                }
                match i.alphas.get(f) {
                    Some(a) if a.is_finite() => {}
                    Some(a) => return Err(format!("{what}: α of `{f}` is {a}")),
                    None => return Err(format!("{what}: `{f}` has no α")),
                }
            }
        }
        Ok(())
    }

    /// A readable summary: the top interactions per order, dimensions per field, parameters,
    /// metrics and time per stage.
    pub fn show(&self, top: usize) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "architecture of \"{}\" (seed {}, spec {}, data {})",
            self.spec, self.seed, self.spec_hash, self.data
        );
        for ord in &self.orders {
            let _ = writeln!(
                o,
                "\norder {}: kept {} of {} candidates ({} interaction-function pairs)",
                ord.order, ord.kept, ord.candidates, ord.kept_pairs
            );
            if let Some(t) = &ord.threshold {
                let _ = writeln!(o, "  {}", t.summary());
            }
            for i in self
                .interactions
                .iter()
                .filter(|i| i.order == ord.order)
                .take(top)
            {
                let fns: Vec<String> = i
                    .functions
                    .iter()
                    .map(|f| format!("{f} {:+.3}", i.alphas.get(f).copied().unwrap_or(f32::NAN)))
                    .collect();
                let _ = writeln!(o, "  ({})  {}", i.fields.join(", "), fns.join(", "));
            }
            let more = self
                .interactions
                .iter()
                .filter(|i| i.order == ord.order)
                .count()
                .saturating_sub(top);
            if more > 0 {
                let _ = writeln!(o, "  … and {more} more");
            }
        }
        let _ = writeln!(o, "\nembedding dimensions (of {}):", self.embedding_dim);
        if let Some(t) = &self.dims_threshold {
            let _ = writeln!(o, "  {}", t.summary());
        }
        for f in &self.fields {
            let _ = writeln!(o, "  {:<20} {:>3}  {:?}", f.name, f.dim, f.positions);
        }
        let _ = writeln!(
            o,
            "\nparameters: base model {} ({} with function-wise embeddings), first search model {}, found architecture {}",
            self.params.base, self.params.base_function_wise, self.params.before, self.params.after
        );
        let _ = writeln!(
            o,
            "\n{:<36} {:>8} {:>11} {:>10} {:>14}",
            "stage", "seconds", "parameters", "valid AUC", "valid logloss"
        );
        for s in &self.stages {
            let _ = writeln!(
                o,
                "{:<36} {:>8.1} {:>11} {:>10.5} {:>14.5}",
                s.name, s.seconds, s.params, s.valid_auc, s.valid_logloss
            );
        }
        if let Some(r) = &self.metrics.retrain {
            let _ = writeln!(
                o,
                "\nre-trained: test AUC {:.5}, test logloss {:.5} (best epoch {}){}",
                r.test_auc,
                r.test_logloss,
                r.best_epoch,
                match (r.calibration, r.test_logloss_uncalibrated) {
                    (Some(p), Some(raw)) => format!(
                        "; calibrated σ({:.3}·z {:+.3}) on validation, {raw:.5} before",
                        p.scale, p.shift
                    ),
                    _ => String::new(),
                }
            );
        }
        if let Some(s) = &self.metrics.seeds {
            let _ = writeln!(
                o,
                "over {} seeds: test AUC {:.5} ± {:.5}, test logloss {:.5} ± {:.5}",
                s.seeds.len(),
                s.auc.mean,
                s.auc.std,
                s.logloss.mean,
                s.logloss.std
            );
        }
        for b in &self.metrics.baselines {
            let m = &b.metrics;
            let _ = writeln!(
                o,
                "baseline {}: test AUC {:.5} ± {:.5}, test logloss {:.5} ± {:.5}; Welch's t-test p = {:.2e} (AUC), {:.2e} (logloss)",
                b.base, m.auc.mean, m.auc.std, m.logloss.mean, m.logloss.std, b.p_auc, b.p_logloss
            );
        }
        o
    }
}

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
                self.tolerance.unwrap_or(crate::stages::prune::TOLERANCE),
                ladder.join(" ")
            ),
            None => format!("c = auto: no rung chosen; ladder {}", ladder.join(" ")),
        }
    }
}
