//! The architecture AIM found, written as RON (and shown as JSON by `aim show --json`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

mod metrics;
mod records;

pub use metrics::{Baseline, Metrics, Params, RetrainMetrics, SeedMetrics};
pub use records::{Rung, Selection, StageRecord, TOLERANCE};

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
