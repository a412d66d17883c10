//! Optimiser state and a training step: sparse Adam on the embedding rows a batch touched,
//! Adam or GRDA on the dense parameters.

use super::*;
use crate::nn::embedding::{with_leaf_grad, Batch};
use crate::nn::{Grads, Tp, Update, T1, T2};
use crate::optim::adam::Adam;
use crate::optim::grda::Grda;
use anyhow::Result;
use dfdx::prelude::*;
use std::collections::HashMap;

/// What a training step needs besides the model: optimizer state.
pub struct Optimizers {
    /// Adam on dense parameters.
    pub adam: Adam,
    /// Learning rate of the embedding tables' sparse Adam.
    pub lr: f32,
    /// L2 on the batch's embedding rows.
    pub l2: f32,
    /// GRDA state per gate parameter.
    pub grda: HashMap<String, Grda>,
    /// Steps taken (the embeddings' Adam step count).
    pub step: u32,
}

impl Optimizers {
    /// Adam at `lr` for everything (and `l2` on embeddings).
    pub fn new(lr: f64, l2: f64) -> Self {
        Optimizers {
            adam: Adam::new(lr),
            lr: lr as f32,
            l2: l2 as f32,
            grda: HashMap::new(),
            step: 0,
        }
    }

    /// Steps taken.
    pub fn steps(&self) -> u32 {
        self.step
    }
}

impl Model {
    /// One training step on a batch (`ids` row-major `(batch, fields)`, labels 0/1); returns the
    /// mean loss.
    pub fn train_step(
        &mut self,
        ids: &Batch,
        labels: &[f32],
        opt: &mut Optimizers,
    ) -> Result<f32, NonFinite> {
        let batch = labels.len();
        assert_eq!(batch, ids.rows(), "one label per row");
        let (leaves, lin) = self.leaves(ids);
        let grads: Grads = Gradients::leaky();
        let mut traced: Vec<T2<Tp>> = Vec::with_capacity(leaves.len());
        let mut grads = Some(grads);
        for l in &leaves {
            traced.push(match grads.take() {
                Some(g) => l.clone().trace(g),
                None => l.retaped::<Tp>(),
            });
        }
        let lin_t = lin.as_ref().map(|l| l.retaped::<Tp>());
        let logits = self.forward::<Tp>(traced, lin_t, batch, true);
        let y: T1 = self.dev.tensor_from_vec(labels.to_vec(), (batch,));
        let loss = binary_cross_entropy_with_logits_loss(logits, y);
        let value = loss.array();
        if !value.is_finite() {
            return Err(NonFinite(value));
        }
        let mut grads = loss.backward();
        self.apply(&mut grads, &leaves, lin.as_ref(), ids, opt);
        Ok(value)
    }

    /// Applies the gradients of a step: sparse Adam on the touched embedding rows, Adam or GRDA
    /// on the dense parameters.
    pub fn apply(
        &mut self,
        grads: &mut Grads,
        leaves: &[T2],
        lin: Option<&T2>,
        batch: &Batch,
        opt: &mut Optimizers,
    ) {
        opt.step += 1;
        for (table, leaf) in self.tables.iter_mut().zip(leaves) {
            with_leaf_grad(grads, leaf, |g| {
                table.adam(opt.step, opt.lr, opt.l2, batch, g)
            });
        }
        if let (Some(table), Some(leaf)) = (self.linear.as_mut(), lin) {
            with_leaf_grad(grads, leaf, |g| table.adam(opt.step, opt.lr, 0.0, batch, g));
        }
        let mut params = self.params_mut();
        for p in params.iter_mut() {
            let Update::Grda(schedule) = p.update else {
                continue;
            };
            // The gates' values are read only when GRDA starts (its accumulator begins there), not
            // on every step.
            let state = opt
                .grda
                .entry(p.name.clone())
                .or_insert_with(|| Grda::new(schedule, &p.values()));
            let g = grads.get(&p.t).as_vec();
            let new = state.step(&g);
            p.set(&new);
        }
        opt.adam.step(params, grads);
    }

    /// Starts an epoch: reseeds the dropout stream from (`seed`, `epoch`), so that a run resumed
    /// at an epoch boundary continues exactly as the uninterrupted run would.
    pub fn start_epoch(&mut self, seed: u64, epoch: usize) {
        if let Some(m) = &mut self.mlp {
            m.reseed(seed ^ (epoch as u64).wrapping_mul(0xa076_1d64_78bd_642f));
        }
    }
}
