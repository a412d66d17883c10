//! Stage 2: search embedding dimensions (EDS). The model keeps stage 1's interaction-function
//! pairs; a gate β per (field, position), batch-normed and shared by the field's function-wise
//! embeddings, is trained by GRDA. A field's dimension is its count of non-zero β, and the kept
//! positions are recorded. α is frozen at its searched values or trained by Adam (never by
//! GRDA together with β).

use super::search_interactions::{kept_orders, set_alphas, OrderResult};
use super::Ctx;
use crate::arch::StageRecord;
use crate::data::Dataset;
use crate::model::{FieldInfo, Model, ModelConfig, Optimizers};
use crate::nn::{GrdaSchedule, Update};
use crate::spec::{AlphaDuringEds, DimSearch, EmbeddingSharing, Spec};
use crate::train::TrainOptions;
use anyhow::Result;
use std::time::Instant;

/// Kept positions per field, and what the stage measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DimsResult {
    /// Per field, the kept positions among 0..d.
    pub positions: Vec<Vec<usize>>,
    /// Per field and position, the final β.
    pub betas: Vec<Vec<f32>>,
    /// What the stage measured.
    pub record: StageRecord,
    /// With `c = auto`, the threshold ladder and the rung chosen.
    #[serde(default)]
    pub threshold: Option<super::prune::Selection>,
}

/// Runs the dimension search `dims` of `spec` over the kept `interactions`.
pub fn run(
    spec: &Spec,
    dims: &DimSearch,
    interactions: &[OrderResult],
    fields: &[FieldInfo],
    ds: &Dataset,
    ctx: &mut Ctx<'_>,
) -> Result<DimsResult> {
    let (search, model, seed) = (spec.search_interactions.as_ref(), &spec.model, spec.seed);
    let t0 = Instant::now();
    let d = model.embedding_dim;
    let alpha_update = match dims.alpha {
        AlphaDuringEds::Frozen => Update::Frozen,
        AlphaDuringEds::Adam => Update::Adam,
    };
    // The model of one rung: β gated by GRDA with the rung's schedule.
    let config = |schedule: GrdaSchedule| ModelConfig {
        fields: fields.to_vec(),
        d,
        function_wise: search.is_none_or(|s| s.embeddings == EmbeddingSharing::FunctionWise),
        linear: true,
        orders: kept_orders(interactions, alpha_update),
        mlp: None,
        dim_gates: Some(Update::Grda(schedule)),
        dims_batch_norm: dims.batch_norm,
        bn_eps: dims.bn_eps,
        alpha_init: 1.0,
        beta_init: dims.beta_init as f32,
        init: crate::model::search_init(model),
    };
    let steps = dims.epochs as u64 * ds.splits[0].rows().div_ceil(model.batch_size) as u64;
    let opts = TrainOptions {
        epochs: dims.epochs,
        patience: model.patience.min(dims.epochs),
        batch_size: model.batch_size,
        seed: seed ^ 0xd1,
        eval_batch: 16_384,
        restore_best: false,
        calibrate: false,
    };
    let name = "search embedding_dims".to_string();
    let valid = &ds.meta.splits[1];
    let tolerance = super::prune::Tolerance::StandardError {
        positives: valid.positives,
        negatives: valid.rows - valid.positives,
    };
    let ((m, report), threshold) =
        super::prune::search(dims.optimizer, steps, tolerance, |grda, rung| {
            let mut opt = Optimizers::new(dims.weights.lr, dims.weights.l2);
            let mut m = Model::try_new(config(grda.schedule()), seed ^ 0xd1d1)?;
            set_alphas(&mut m, interactions);
            let (m, report) = ctx.train(&format!("{name}{rung}"), m, ds, &mut opt, &opts)?;
            let open = m.dim_gates[0]
                .param
                .as_ref()
                .map_or(0, |p| p.values().iter().filter(|b| **b != 0.0).count());
            Ok(super::prune::Run {
                valid_auc: report.valid_auc,
                model: (m, report),
                open,
            })
        })?;
    let beta = m.dim_gates[0].param.as_ref().expect("β").values();
    let betas: Vec<Vec<f32>> = beta.chunks(d).map(<[f32]>::to_vec).collect();
    // A field in no kept interaction gets no gradient on its β, so whether GRDA's threshold
    // closes its gates says nothing about it (τ above β's start closed all, below it none): the
    // search has no evidence there, and the field keeps every position for the re-train's MLP.
    let in_kept: std::collections::BTreeSet<usize> = interactions
        .iter()
        .flat_map(|r| r.kept.iter().flat_map(|k| k.fields.iter().copied()))
        .collect();
    let positions = betas
        .iter()
        .enumerate()
        .map(|(f, b)| {
            if in_kept.contains(&f) {
                (0..d).filter(|&k| b[k] != 0.0).collect()
            } else {
                (0..d).collect()
            }
        })
        .collect();
    Ok(DimsResult {
        positions,
        betas,
        record: StageRecord::new(name, t0, &report),
        threshold,
    })
}
