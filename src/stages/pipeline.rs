//! `aim run`'s pipeline: the data, then each stage in turn (reusing the finished ones), then the
//! architecture file's contents. Read top to bottom: [`pipeline`] names the steps, one function
//! each below it.

use super::search_interactions::OrderResult;
use super::{
    compact_fields, full_fields, retrain, search_dims, search_interactions, Ctx, Finished, Kept,
    Stage,
};
use crate::arch::*;
use crate::data::Dataset;
use crate::model::{FieldInfo, Model, ModelConfig};
use crate::spec::{EmbeddingSharing, InteractionFn, Spec};
use crate::train::EpochLog;
use anyhow::Result;
use std::path::Path;

/// What a run of the stages found.
pub struct Found {
    /// The architecture (written by the caller).
    pub arch: Architecture,
    /// The re-trained model, when the spec has a `retrain` block.
    pub model: Option<Model>,
    /// The data it was trained on.
    pub data: Dataset,
}

/// Runs every stage of a spec and returns what it found. Stages before `from` that a previous
/// run of the same spec and data finished are reused.
pub fn pipeline(
    spec: &Spec,
    spec_text: &str,
    from: Option<Stage>,
    progress: &crate::data::progress::Progress,
    on_epoch: &mut dyn FnMut(&str, &EpochLog),
) -> Result<Found> {
    let (ds, _) = crate::data::prepare(spec, false, progress)?;
    let fields = full_fields(&ds, spec.model.embedding_dim)?;
    // Before any stage: a base model the spec cannot build fails the run at once.
    let base_params = ModelConfig::base(&spec.model, fields.clone())?.num_params();
    let key = super::finished_key(spec, spec_text, &ds);
    let finished_path = Finished::path(spec);
    let mut finished = Finished::load(&finished_path, &key);
    // By default every finished stage is reused: only the re-train (never saved) runs again.
    let from = from.unwrap_or(Stage::Retrain);
    if from <= Stage::Interactions {
        finished.interactions = None;
    }
    if from <= Stage::EmbeddingDims {
        finished.dims = None;
    }
    let mut ctx = Ctx {
        on_epoch,
        progress,
        checkpoint: Some((finished_path.with_extension("ckpt"), key)),
    };
    let mut stages = Vec::new();
    let mut run = Run {
        spec,
        fields: &fields,
        ds: &ds,
        finished: &mut finished,
        finished_path: &finished_path,
        ctx: &mut ctx,
    };
    let interactions = run.interactions()?;
    stages.extend(
        interactions
            .iter()
            .filter(|r| r.record.seconds > 0.0)
            .map(|r| r.record.clone()),
    );
    let (positions, dims_threshold, dims_record) = run.dims(&interactions)?;
    stages.extend(dims_record);
    let compact = compact_fields(&fields, &positions);
    let (model, after, metrics, retrain_record) = run.retrain(&interactions, &compact)?;
    stages.extend(retrain_record);
    let found = Searched {
        base_params,
        interactions,
        compact,
        dims_threshold,
        stages,
        after,
        metrics,
    };
    Ok(Found {
        arch: architecture(spec, spec_text, &ds, &fields, found),
        model,
        data: ds,
    })
}

/// What one pipeline run reads and where its finished stages go.
struct Run<'a, 'c> {
    spec: &'a Spec,
    fields: &'a [FieldInfo],
    ds: &'a Dataset,
    finished: &'a mut Finished,
    finished_path: &'a Path,
    ctx: &'a mut Ctx<'c>,
}

impl Run<'_, '_> {
    /// Stage 1 (or, without a search block, every pair with the inner product, as FM).
    fn interactions(&mut self) -> Result<Vec<OrderResult>> {
        let spec = self.spec;
        match (
            &spec.search_interactions,
            self.finished.interactions.clone(),
        ) {
            (Some(_), Some(done)) => {
                eprintln!(
                    "search interactions: reusing the finished stage ({})",
                    self.finished_path.display()
                );
                Ok(done)
            }
            (Some(s), None) => {
                let r = search_interactions::run(
                    s,
                    &spec.model,
                    self.fields,
                    self.ds,
                    spec.seed,
                    self.ctx,
                )?;
                self.finished.interactions = Some(r.clone());
                crate::io::write_ron(self.finished_path, &*self.finished)?;
                Ok(r)
            }
            (None, _) => Ok(vec![every_pair(self.fields.len())]),
        }
    }

    /// Stage 2: each field's kept positions, `c = auto`'s choice, and the stage's record (none
    /// without a `search embedding_dims` block: every position is kept).
    #[allow(clippy::type_complexity)]
    fn dims(
        &mut self,
        interactions: &[OrderResult],
    ) -> Result<(Vec<Vec<usize>>, Option<Selection>, Option<StageRecord>)> {
        let spec = self.spec;
        match (&spec.search_dims, self.finished.dims.clone()) {
            (Some(_), Some(done)) => {
                eprintln!(
                    "search embedding_dims: reusing the finished stage ({})",
                    self.finished_path.display()
                );
                Ok((done.positions, done.threshold, Some(done.record)))
            }
            (Some(dims), None) => {
                let r = search_dims::run(spec, dims, interactions, self.fields, self.ds, self.ctx)?;
                self.finished.dims = Some(r.clone());
                crate::io::write_ron(self.finished_path, &*self.finished)?;
                Ok((r.positions, r.threshold, Some(r.record)))
            }
            (None, _) => Ok((
                vec![(0..spec.model.embedding_dim).collect(); self.fields.len()],
                None,
                None,
            )),
        }
    }

    /// Stage 3: the re-trained model, its parameter count, metrics and record. Without a
    /// `retrain` block only the found architecture's size is counted.
    #[allow(clippy::type_complexity)]
    fn retrain(
        &mut self,
        interactions: &[OrderResult],
        compact: &[FieldInfo],
    ) -> Result<(
        Option<Model>,
        usize,
        Option<RetrainMetrics>,
        Option<StageRecord>,
    )> {
        let spec = self.spec;
        if spec.retrain.is_none() {
            let bare = crate::spec::Retrain {
                optimizer: Default::default(),
                mlp: vec![],
                input: Default::default(),
                epochs: 1,
                patience: 1,
            };
            let cfg = retrain::config(
                &bare,
                spec.search_interactions.as_ref(),
                interactions,
                &spec.model,
                compact.to_vec(),
            );
            return Ok((None, cfg.num_params(), None, None));
        }
        let (m, report, record) = retrain::run(
            spec,
            spec.seed,
            interactions,
            compact.to_vec(),
            self.ds,
            self.ctx,
        )?;
        let metrics = RetrainMetrics {
            best_epoch: report.best_epoch,
            valid_auc: report.valid_auc,
            valid_logloss: report.valid_logloss,
            test_auc: report.test_auc,
            test_logloss: report.test_logloss,
            test_logloss_uncalibrated: Some(report.test_logloss_uncalibrated),
            calibration: report.calibration,
        };
        let params = m.num_params();
        Ok((Some(m), params, Some(metrics), Some(record)))
    }
}

/// Stage 1's stand-in without a search block: every pair, with the inner product.
fn every_pair(n: usize) -> OrderResult {
    OrderResult {
        order: 2,
        candidates: n * (n - 1) / 2,
        kept: crate::model::all_pairs(n)
            .into_iter()
            .map(|t| Kept {
                fields: t,
                alphas: vec![(InteractionFn::Inner, 1.0)],
            })
            .collect(),
        record: StageRecord {
            name: "search interactions (skipped)".into(),
            seconds: 0.0,
            params: 0,
            valid_auc: f64::NAN,
            valid_logloss: f64::NAN,
            train_samples_per_s: 0.0,
            epochs: Vec::new(),
        },
        threshold: None,
    }
}

/// What the stages found, for the architecture file.
struct Searched {
    base_params: usize,
    interactions: Vec<OrderResult>,
    compact: Vec<FieldInfo>,
    dims_threshold: Option<Selection>,
    stages: Vec<StageRecord>,
    after: usize,
    metrics: Option<RetrainMetrics>,
}

/// The architecture file's contents: what was found, and the sizes to compare it with.
fn architecture(
    spec: &Spec,
    spec_text: &str,
    ds: &Dataset,
    fields: &[FieldInfo],
    found: Searched,
) -> Architecture {
    let base_params = found.base_params;
    let base_table: usize = fields.iter().map(|f| f.vocab * f.positions.len()).sum();
    let function_wise = spec
        .search_interactions
        .as_ref()
        .is_none_or(|s| s.embeddings == EmbeddingSharing::FunctionWise);
    // One embedding table per searched function when the search is function-wise.
    let tables = spec.search_interactions.as_ref().map_or(1, |s| {
        if s.embeddings == EmbeddingSharing::FunctionWise {
            s.functions.len().max(1)
        } else {
            1
        }
    });
    let names = |t: &[usize]| {
        t.iter()
            .map(|&i| fields[i].name.clone())
            .collect::<Vec<_>>()
    };
    let interactions = &found.interactions;
    Architecture {
        spec: spec.name.clone(),
        spec_hash: crate::hash::Fnv::default()
            .bytes(spec_text.as_bytes())
            .hex(),
        data: ds.meta.key.clone(),
        seed: spec.seed,
        embedding_dim: spec.model.embedding_dim,
        dims_threshold: found.dims_threshold,
        function_wise,
        fields: found
            .compact
            .iter()
            .map(|f| ArchField {
                name: f.name.clone(),
                vocab: f.vocab,
                dim: f.positions.len(),
                positions: f.positions.clone(),
            })
            .collect(),
        orders: interactions
            .iter()
            .map(|r| ArchOrder {
                order: r.order,
                candidates: r.candidates,
                kept: r.kept.len(),
                kept_pairs: r.kept.iter().map(|k| k.alphas.len()).sum(),
                threshold: r.threshold.clone(),
            })
            .collect(),
        interactions: interactions
            .iter()
            .flat_map(|r| {
                r.kept.iter().map(move |k| ArchInteraction {
                    fields: names(&k.fields),
                    order: r.order,
                    functions: k.alphas.iter().map(|(f, _)| f.name().to_string()).collect(),
                    alphas: k
                        .alphas
                        .iter()
                        .map(|(f, a)| (f.name().to_string(), *a))
                        .collect(),
                })
            })
            .collect(),
        params: Params {
            base: base_params,
            before: interactions.first().map_or(0, |r| r.record.params),
            after: found.after,
            base_function_wise: base_params + (tables - 1) * base_table,
        },
        stages: found.stages,
        metrics: Metrics {
            retrain: found.metrics,
            seeds: None,
            baselines: vec![],
        },
        model: None,
    }
}
