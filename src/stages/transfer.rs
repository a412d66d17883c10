//! `aim transfer`: another base model re-trained with the interaction-function pairs a search
//! found (the paper's transferability). DeepFM keeps its MLP over the embeddings and replaces
//! its pairwise inner products by the found pairs (gated, joining the logit); IPNN's MLP reads
//! the embeddings and the found pairs' outputs instead of every pair's inner product.

use crate::arch::Architecture;
use crate::model::{FieldInfo, Model, ModelConfig, OrderConfig};
use crate::nn::gate::GateKind;
use crate::nn::Update;
use crate::spec::{BaseModel, InteractionFn, ModelSpec};
use anyhow::{bail, Context, Result};

/// The configuration of `base` with the architecture's interactions.
pub fn config(
    arch: &Architecture,
    model: &ModelSpec,
    base: BaseModel,
    fields: Vec<FieldInfo>,
) -> Result<ModelConfig> {
    if !matches!(base, BaseModel::Deepfm | BaseModel::Ipnn) {
        bail!(
            "transfer re-trains `deepfm` or `ipnn`, not `{}`",
            base.name()
        );
    }
    let index = |name: &str| {
        fields
            .iter()
            .position(|f| f.name == name)
            .with_context(|| format!("the architecture's field `{name}` is not in the spec's data"))
    };
    let mut orders: Vec<OrderConfig> = Vec::new();
    for i in &arch.interactions {
        let tuple = i
            .fields
            .iter()
            .map(|f| index(f))
            .collect::<Result<Vec<_>>>()?;
        let o = match orders.iter_mut().find(|o| o.order == i.order) {
            Some(o) => o,
            None => {
                orders.push(OrderConfig {
                    order: i.order,
                    functions: vec![],
                    gate: GateKind::BatchNorm,
                    gate_update: Update::Adam,
                    to_logit: base == BaseModel::Deepfm,
                });
                orders.last_mut().expect("just pushed")
            }
        };
        for f in &i.functions {
            let f = InteractionFn::from_name(f)
                .with_context(|| format!("unknown function `{f}` in the architecture"))?;
            match o.functions.iter_mut().find(|(g, _)| *g == f) {
                Some((_, t)) => t.push(tuple.clone()),
                None => o.functions.push((f, vec![tuple.clone()])),
            }
        }
    }
    orders.sort_by_key(|o| o.order);
    let mut cfg = ModelConfig::base(
        &ModelSpec {
            base,
            ..model.clone()
        },
        fields,
    )?;
    cfg.orders = orders;
    cfg.function_wise = arch.function_wise;
    cfg.bn_eps = 1e-10;
    Ok(cfg)
}

/// Sets a transferred model's gates to the architecture's α.
pub fn set_alphas(m: &mut Model, arch: &Architecture) {
    let names: Vec<String> = m.cfg.fields.iter().map(|f| f.name.clone()).collect();
    for o in &mut m.orders {
        for b in &mut o.blocks {
            let f = b.function.function.name();
            let values: Vec<f32> = b
                .tuples
                .tuples
                .iter()
                .map(|t| {
                    let fields: Vec<&str> = t.iter().map(|&i| names[i].as_str()).collect();
                    arch.interactions
                        .iter()
                        .find(|i| i.fields == fields)
                        .and_then(|i| i.alphas.get(f))
                        .copied()
                        .unwrap_or(1.0)
                })
                .collect();
            if let Some(p) = b.gate.param.as_mut() {
                p.set(&values);
            }
        }
    }
}

/// Trains `base` with the architecture's interactions on the spec's data and settings; returns
/// the model, the data and the report.
pub fn train(
    arch: &Architecture,
    spec: &crate::spec::Spec,
    base: BaseModel,
    progress: &crate::data::progress::Progress,
    on_epoch: impl FnMut(&crate::train::EpochLog),
) -> Result<(Model, crate::data::Dataset, crate::train::TrainReport)> {
    let (ds, _) = crate::data::prepare(spec, false, progress)?;
    let fields = crate::train::fields(&ds, spec.model.embedding_dim)?;
    let cfg = config(arch, &spec.model, base, fields)?;
    let mut model = Model::try_new(cfg, spec.seed)?;
    set_alphas(&mut model, arch);
    let mut opt = crate::model::Optimizers::new(spec.model.optimizer.lr, spec.model.optimizer.l2);
    let o = crate::train::TrainOptions::for_model(&spec.model, spec.seed);
    let report = crate::train::fit(&mut model, &ds, &mut opt, &o, on_epoch)?;
    Ok((model, ds, report))
}
