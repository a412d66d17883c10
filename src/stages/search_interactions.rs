//! Stage 1: search interaction-function pairs (FIS + IFS). Every candidate tuple gets a gate α
//! per interaction function, batch-normed and trained by GRDA (which closes useless gates to
//! exactly zero); everything else is trained by Adam; there is no MLP. Order p > 2 searches the
//! pool built from the top-k order-(p−1) interactions, each combined with every other field
//! (Algorithm 1), with the lower orders' kept pairs in the model.

use super::{Ctx, Kept};
use crate::arch::StageRecord;
use crate::data::Dataset;
use crate::model::{all_pairs, FieldInfo, Model, ModelConfig, Optimizers, OrderConfig};
use crate::nn::gate::GateKind;
use crate::nn::{GrdaSchedule, Update};
use crate::spec::{EmbeddingSharing, InteractionSearch, ModelSpec};
use crate::train::TrainOptions;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// One order's search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderResult {
    /// The order.
    pub order: usize,
    /// Candidate tuples searched.
    pub candidates: usize,
    /// Tuples with at least one non-zero gate, strongest first.
    pub kept: Vec<Kept>,
    /// What the stage measured.
    pub record: StageRecord,
    /// With `c = auto`, the threshold ladder and the rung chosen.
    #[serde(default)]
    pub threshold: Option<super::prune::Selection>,
}

/// The order-p pool: each of the `top_k` strongest order-(p−1) interactions extended by every
/// other field; sorted, without duplicates.
pub fn next_pool(kept: &[Kept], top_k: usize, fields: usize) -> Vec<Vec<usize>> {
    let mut by_strength: Vec<&Kept> = kept.iter().collect();
    by_strength.sort_by(|a, b| {
        b.strength()
            .total_cmp(&a.strength())
            .then_with(|| a.fields.cmp(&b.fields))
    });
    let mut pool: Vec<Vec<usize>> = Vec::new();
    for k in by_strength.into_iter().take(top_k) {
        for f in 0..fields {
            if !k.fields.contains(&f) {
                let mut t = k.fields.clone();
                t.push(f);
                t.sort_unstable();
                pool.push(t);
            }
        }
    }
    pool.sort();
    pool.dedup();
    pool
}

/// The kept pairs of earlier orders as model orders (gates batch-normed, trained by `update`,
/// starting from their searched values when `init` is set by the caller).
pub fn kept_orders(results: &[OrderResult], update: Update) -> Vec<OrderConfig> {
    results
        .iter()
        .filter(|r| !r.kept.is_empty())
        .map(|r| {
            let mut functions: Vec<(crate::spec::InteractionFn, Vec<Vec<usize>>)> = Vec::new();
            for k in &r.kept {
                for (f, _) in &k.alphas {
                    match functions.iter_mut().find(|(g, _)| g == f) {
                        Some((_, t)) => t.push(k.fields.clone()),
                        None => functions.push((*f, vec![k.fields.clone()])),
                    }
                }
            }
            functions.sort_by_key(|(f, _)| *f);
            OrderConfig {
                order: r.order,
                functions,
                gate: GateKind::BatchNorm,
                gate_update: update,
                to_logit: true,
            }
        })
        .collect()
}

/// Sets the gates of a model built from [`kept_orders`] to their searched values.
pub fn set_alphas(m: &mut crate::model::Model, results: &[OrderResult]) {
    for o in &mut m.orders {
        let Some(r) = results.iter().find(|r| r.order == o.order) else {
            continue;
        };
        for b in &mut o.blocks {
            let f = b.function.function;
            let values: Vec<f32> = b
                .tuples
                .tuples
                .iter()
                .map(|t| {
                    let k = r
                        .kept
                        .iter()
                        .find(|k| &k.fields == t)
                        .expect("a kept tuple");
                    k.alphas
                        .iter()
                        .find(|(g, _)| *g == f)
                        .map_or(0.0, |(_, a)| *a)
                })
                .collect();
            if let Some(p) = b.gate.param.as_mut() {
                p.set(&values);
            }
        }
    }
}

/// Runs the search, order by order.
pub fn run(
    search: &InteractionSearch,
    model: &ModelSpec,
    fields: &[FieldInfo],
    ds: &Dataset,
    seed: u64,
    ctx: &mut Ctx<'_>,
) -> Result<Vec<OrderResult>> {
    let n = fields.len();
    let top_k = search.top_k.unwrap_or(n / 2).max(1);
    let mut results: Vec<OrderResult> = Vec::new();
    for o in &search.orders {
        let t0 = Instant::now();
        let candidates = match results.last() {
            None => all_pairs(n),
            Some(prev) => next_pool(&prev.kept, top_k, n),
        };
        let name = format!("search interactions, order {}", o.order);
        if candidates.is_empty() {
            break;
        }
        // The model of one rung: the kept orders, then this order's candidates gated by GRDA
        // with the rung's schedule (`c = auto` gives each rung its own c).
        let config = |schedule: GrdaSchedule| ModelConfig {
            fields: fields.to_vec(),
            d: model.embedding_dim,
            function_wise: search.embeddings == EmbeddingSharing::FunctionWise,
            linear: true,
            orders: [
                kept_orders(&results, Update::Adam),
                vec![OrderConfig {
                    order: o.order,
                    functions: search
                        .functions
                        .iter()
                        .map(|&f| (f, candidates.clone()))
                        .collect(),
                    gate: GateKind::BatchNorm,
                    gate_update: Update::Grda(schedule),
                    to_logit: true,
                }],
            ]
            .concat(),
            mlp: None,
            dim_gates: None,
            dims_batch_norm: false,
            bn_eps: search.bn_eps,
            alpha_init: search.alpha_init as f32,
            beta_init: 1.0,
            init: crate::model::search_init(model),
        };
        let steps = o.epochs as u64 * ds.splits[0].rows().div_ceil(model.batch_size) as u64;
        let opts = TrainOptions {
            epochs: o.epochs,
            patience: model.patience.min(o.epochs),
            batch_size: model.batch_size,
            seed: seed ^ o.order as u64,
            eval_batch: 16_384,
            restore_best: false,
            calibrate: false,
        };
        let prev = results.clone();
        let ((m, report), threshold) = super::prune::search(
            o.optimizer,
            steps,
            super::prune::Tolerance::Auc(super::prune::TOLERANCE),
            |grda, rung| {
                let mut opt = Optimizers::new(o.weights.lr, o.weights.l2);
                let mut m =
                    Model::try_new(config(grda.schedule()), seed ^ ((o.order as u64) << 8))?;
                set_alphas(&mut m, &prev);
                let (m, report) = ctx.train(&format!("{name}{rung}"), m, ds, &mut opt, &opts)?;
                let open = m
                    .orders
                    .iter()
                    .filter(|b| b.order == o.order)
                    .flat_map(|b| b.blocks.iter())
                    .filter_map(|b| b.gate.param.as_ref())
                    .map(|p| p.values().iter().filter(|a| **a != 0.0).count())
                    .sum();
                Ok(super::prune::Run {
                    valid_auc: report.valid_auc,
                    model: (m, report),
                    open,
                })
            },
        )?;
        // Read the gates of this order: a tuple is kept when any of its functions' α is non-zero.
        let mut kept: Vec<Kept> = Vec::new();
        let order = m
            .orders
            .iter()
            .find(|b| b.order == o.order)
            .expect("the searched order");
        for b in &order.blocks {
            let alphas = b.gate.param.as_ref().expect("gated").values();
            for (t, a) in b.tuples.tuples.iter().zip(alphas) {
                if a != 0.0 {
                    match kept.iter_mut().find(|k| &k.fields == t) {
                        Some(k) => k.alphas.push((b.function.function, a)),
                        None => kept.push(Kept {
                            fields: t.clone(),
                            alphas: vec![(b.function.function, a)],
                        }),
                    }
                }
            }
        }
        for k in &mut kept {
            k.alphas.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        }
        kept.sort_by(|a, b| {
            b.strength()
                .total_cmp(&a.strength())
                .then_with(|| a.fields.cmp(&b.fields))
        });
        results.push(OrderResult {
            order: o.order,
            candidates: candidates.len(),
            kept,
            record: StageRecord::new(name, t0, &report),
            threshold,
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::InteractionFn;

    #[test]
    fn the_next_pool_extends_the_top_k() {
        let kept = vec![
            Kept {
                fields: vec![0, 1],
                alphas: vec![(InteractionFn::Inner, 0.9)],
            },
            Kept {
                fields: vec![2, 3],
                alphas: vec![(InteractionFn::Outer, -1.2)],
            },
            Kept {
                fields: vec![1, 2],
                alphas: vec![(InteractionFn::Inner, 0.1)],
            },
        ];
        // top 2 by |α|: (2,3) and (0,1); 4 fields
        let pool = next_pool(&kept, 2, 4);
        assert_eq!(
            pool,
            vec![vec![0, 1, 2], vec![0, 1, 3], vec![0, 2, 3], vec![1, 2, 3]]
        );
        assert_eq!(next_pool(&kept, 1, 4), vec![vec![0, 2, 3], vec![1, 2, 3]]);
        assert!(next_pool(&[], 3, 4).is_empty());
    }
}
