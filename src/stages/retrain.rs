//! Stage 3: re-train the found architecture: the kept interaction-function pairs (α kept,
//! trained by Adam, in the logit), each field's compact embedding (its kept positions only), and
//! the base model's MLP over what `retrain { input }` names (by default the embeddings, as
//! DeepFM). Early stopping on validation AUC; evaluated on test.

use super::search_interactions::{kept_orders, set_alphas, OrderResult};
use super::Ctx;
use crate::arch::StageRecord;
use crate::data::Dataset;
use crate::model::{FieldInfo, MlpConfig, MlpInput, Model, ModelConfig, Optimizers};
use crate::nn::Update;
use crate::spec::{EmbeddingSharing, InteractionSearch, ModelSpec, Retrain, RetrainInput, Spec};
use crate::train::{TrainOptions, TrainReport};
use anyhow::{Context, Result};
use std::time::Instant;

/// The re-trained model's configuration.
pub fn config(
    retrain: &Retrain,
    search: Option<&InteractionSearch>,
    interactions: &[OrderResult],
    model: &ModelSpec,
    fields: Vec<FieldInfo>,
) -> ModelConfig {
    let orders = kept_orders(interactions, Update::Adam);

    // With no interaction kept there are no vectors to read: the MLP reads the embeddings.
    let input = match retrain.input {
        _ if orders.is_empty() => MlpInput::Embeddings,
        RetrainInput::Products => MlpInput::EmbeddingsAndProducts,
        RetrainInput::Embeddings => MlpInput::Embeddings,
        RetrainInput::Vectors => MlpInput::InteractionVectors,
    };
    ModelConfig {
        fields,
        d: model.embedding_dim,
        function_wise: search.is_none_or(|s| s.embeddings == EmbeddingSharing::FunctionWise),
        linear: true,
        orders,
        mlp: (!retrain.mlp.is_empty()).then(|| MlpConfig {
            hidden: retrain.mlp.clone(),
            input,
            // The base model's MLP: batch norm there made the re-train overfit by its third
            // epoch on Adult (validation AUC 0.913 with it, 0.922 without).
            batch_norm: model.batch_norm,
            dropout: model.dropout,
        }),
        dim_gates: None,
        dims_batch_norm: false,
        bn_eps: search.map_or(1e-10, |s| s.bn_eps),
        alpha_init: 1.0,
        beta_init: 1.0,
        init: crate::model::search_init(model),
    }
}

/// Re-trains; returns the model, its report and the stage record.
pub fn run(
    spec: &Spec,
    seed: u64,
    interactions: &[OrderResult],
    fields: Vec<FieldInfo>,
    ds: &Dataset,
    ctx: &mut Ctx<'_>,
) -> Result<(Model, TrainReport, StageRecord)> {
    let retrain = (spec.retrain.as_ref()).context("the spec has no `retrain` block")?;
    let (search, model) = (spec.search_interactions.as_ref(), &spec.model);
    let t0 = Instant::now();
    let cfg = config(retrain, search, interactions, model, fields);
    let mut opt = Optimizers::new(retrain.optimizer.lr, retrain.optimizer.l2);
    let opts = TrainOptions {
        epochs: retrain.epochs,
        patience: retrain.patience,
        batch_size: model.batch_size,
        seed: seed ^ 0x3e,
        eval_batch: 16_384,
        restore_best: true,
        calibrate: model.calibrate,
    };
    let name = "retrain".to_string();
    let mut m = Model::try_new(cfg, seed ^ 0x3e3e)?;
    set_alphas(&mut m, interactions);
    let (m, report) = ctx.train(&name, m, ds, &mut opt, &opts)?;
    let record = StageRecord::new(name, t0, &report);
    Ok((m, report, record))
}
