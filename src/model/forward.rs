//! The logit: the parts summed over the embedding leaves, with a tape for training and on host
//! buffers for inference.

use super::*;
use crate::nn::embedding::Batch;
use crate::nn::{Backend, T1, T2, T3};
use dfdx::prelude::*;

/// `acc + x`, or `x` when there is nothing yet.
fn add<T: Tape<f32, Backend> + Merge<T>>(acc: Option<T1<T>>, x: T1<T>) -> Option<T1<T>> {
    Some(match acc {
        None => x,
        Some(a) => a + x,
    })
}

impl Model {
    /// The logits `(batch,)` from the embedding leaves (one per table, `(n, batch·d)`) and the
    /// linear leaf `(n, batch)`.
    pub fn forward<T: Tape<f32, Backend> + Merge<T>>(
        &mut self,
        leaves: Vec<T2<T>>,
        linear: Option<T2<T>>,
        batch: usize,
        train: bool,
    ) -> T1<T> {
        self.forward_with_hosts(leaves, vec![], linear, batch, train)
    }

    /// [`Model::forward`], given the leaves' values on the host too (one per table, or none):
    /// inference hands them to the kernels in place of copying the leaf tensors out again.
    fn forward_with_hosts<T: Tape<f32, Backend> + Merge<T>>(
        &mut self,
        leaves: Vec<T2<T>>,
        hosts: Vec<std::sync::Arc<Vec<f32>>>,
        linear: Option<T2<T>>,
        batch: usize,
        train: bool,
    ) -> T1<T> {
        let (n, d) = (self.cfg.fields.len(), self.cfg.d);
        // β gates: batch-normalise each (field, position) over the batch and scale it. The first
        // gate holds the shared β; the others keep only their own statistics.
        let leaves: Vec<T2<T>> = if self.dim_gates.is_empty() {
            leaves
        } else {
            let beta = self.dim_gates[0].param.as_ref().map(|p| p.t2::<T>());
            leaves
                .into_iter()
                .zip(self.dim_gates.iter_mut())
                .map(|(e, g)| {
                    if g.running.is_none() {
                        let b = beta.as_ref().expect("β").retaped::<T>();
                        let e = e.reshape_like(&(n, batch, d));
                        let shape = *e.shape();
                        return (e * b.broadcast_like::<_, Axis<1>>(&shape))
                            .reshape_like(&(n, batch * d));
                    }
                    crate::nn::gate::gated_batch_norm(
                        e.reshape_like(&(n, batch, d)),
                        beta.as_ref().map(|b| b.retaped::<T>()),
                        g.running.as_mut().expect("β is batch-normed"),
                        train,
                    )
                    .reshape_like(&(n, batch * d))
                })
                .collect()
        };
        // The host copies of the leaves hold their values only while no β gate changed them.
        let hosts = if self.dim_gates.is_empty() {
            hosts
        } else {
            vec![]
        };
        // Every use below takes a tape-less copy of a leaf; the leaves' own tapes (the β gates'
        // ops, the traced gradients) are merged into the logit's at the end.
        let mut spare: Vec<T> = Vec::new();
        let leaves: Vec<T2<T>> = leaves
            .into_iter()
            .map(|e| {
                let (e, tape) = e.split_tape();
                spare.push(tape);
                e.retaped::<T>()
            })
            .collect();
        let mut parts: Vec<T1<T>> = Vec::new();
        if let Some(l) = linear {
            parts.push(l.sum::<(usize,), Axis<0>>());
        }
        let mut mlp_inputs: Vec<T3<T>> = Vec::new();
        if let Some(m) = &self.cfg.mlp {
            if m.input != MlpInput::InteractionVectors {
                mlp_inputs.push(leaves[0].retaped::<T>().reshape_like(&(n, batch, d)));
            }
        }
        let vectors = self.cfg.mlp.as_ref().map(|m| m.input);
        // Values that do not reach the logit directly put their tapes in `spare` too, so that the
        // ops on them (which the MLP's tape-less copies depend on) still run backward.
        for o in &mut self.orders {
            let mut sum: Option<T1<T>> = None;
            for b in &mut o.blocks {
                let p = b.tuples.len();
                // Inference of a block whose values only feed its gated sum: one fused pass over
                // the host copy of the leaf, without the (P, batch) values.
                #[cfg(not(feature = "cuda"))]
                if let (false, false, true, Some(h), Some((coef, offset))) = (
                    T::OWNS_TAPE,
                    train,
                    o.to_logit
                        && !matches!(
                            vectors,
                            Some(MlpInput::EmbeddingsAndProducts | MlpInput::InteractionVectors)
                        ),
                    hosts.get(b.table),
                    b.gate.inference_sum_coefficients(),
                ) {
                    let kv = b.function.kernel.as_ref().map(crate::nn::Param::values);
                    let y = crate::nn::kernels::interact_gated_sum(
                        h,
                        &b.tuples.flat,
                        b.function.function,
                        &kv.unwrap_or_default(),
                        (&coef, offset),
                        (batch, d),
                    );
                    let y: T1 = self.dev.tensor_from_vec(y, (batch,));
                    sum = add(sum, y.retaped::<T>());
                    continue;
                }
                let (out, prod) = b.function.forward(
                    &b.tuples,
                    &leaves[b.table],
                    batch,
                    d,
                    vectors == Some(MlpInput::InteractionVectors),
                    hosts.get(b.table).cloned(),
                );
                match vectors {
                    Some(MlpInput::EmbeddingsAndProducts) => {
                        mlp_inputs.push(out.retaped::<T>().reshape_like(&(p, batch, 1)))
                    }
                    Some(MlpInput::InteractionVectors) => mlp_inputs.push(match prod {
                        Some(v) => v,
                        None => out.retaped::<T>().reshape_like(&(p, batch, 1)),
                    }),
                    _ => {}
                }
                if o.to_logit {
                    let s = b.gate.forward_sum(out.reshape_like(&(p, batch, 1)), train);
                    sum = add(sum, s);
                } else {
                    spare.push(out.split_tape().1);
                }
            }
            if let Some(s) = sum {
                parts.push(s);
            }
        }
        if let Some(m) = &mut self.mlp {
            // The embeddings group (DeepFM, IPNN) is the first table's leaf.
            let embeddings =
                self.cfg.mlp.as_ref().map(|c| c.input) != Some(MlpInput::InteractionVectors);
            let mlp_hosts = match hosts.first() {
                Some(h) if embeddings => vec![Some(h.clone())],
                _ => vec![],
            };
            parts.push(m.forward_with_hosts(mlp_inputs, mlp_hosts, batch, train));
        }
        let mut logit = self
            .bias
            .t1::<T>()
            .reshape_like(&())
            .broadcast_like::<_, Axis<0>>(&(batch,));
        for part in parts {
            logit = logit + part;
        }
        let (logit, mut tape) = logit.split_tape();
        for t in spare {
            tape = tape.merge(t);
        }
        logit.put_tape(tape)
    }

    pub(super) fn leaves(&mut self, batch: &Batch) -> (Vec<T2>, Option<T2>) {
        let leaves = self
            .tables
            .iter()
            .map(|t| t.leaf(&self.dev, batch))
            .collect();
        let lin = self.linear.as_ref().map(|t| t.leaf(&self.dev, batch));
        (leaves, lin)
    }

    /// Click probabilities of a batch, in evaluation mode (running batch-norm statistics).
    pub fn predict(&mut self, batch: &Batch) -> Vec<f32> {
        let logit = self.logit(batch);
        match self.calibration {
            None => logit.sigmoid().as_vec(),
            Some(p) => logit
                .as_vec()
                .into_iter()
                .map(|z| p.probability(z))
                .collect(),
        }
    }

    /// The uncalibrated logit of each sample of a batch (evaluation mode).
    pub fn predict_logits(&mut self, batch: &Batch) -> Vec<f32> {
        self.logit(batch).as_vec()
    }

    fn logit(&mut self, batch: &Batch) -> T1 {
        let (leaves, hosts): (Vec<T2>, Vec<_>) = self
            .tables
            .iter()
            .map(|t| t.leaf_and_host(&self.dev, batch))
            .unzip();
        let lin = self.linear.as_ref().map(|t| t.leaf(&self.dev, batch));
        let logit =
            self.forward_with_hosts::<NoneTape>(leaves, hosts.clone(), lin, batch.rows(), false);
        // The forward pass has dropped its copies of the host buffers: hand them back.
        for (t, h) in self.tables.iter().zip(hosts) {
            t.recycle(h);
        }
        logit
    }
}
