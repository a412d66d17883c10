//! MLP inference on host buffers (the CPU build): no tape, running batch-norm statistics.

use super::Mlp;
use crate::nn::{Backend, T3};
use dfdx::prelude::*;

impl Mlp {
    /// Inference on host buffers, layer after layer with no tensor in between: the activations
    /// stay in one buffer per layer (the tape's ops would copy each in and out). Batch norm uses
    /// the running statistics; no dropout.
    pub(super) fn infer_host<T: Tape<f32, Backend>>(
        &mut self,
        inputs: Vec<T3<T>>,
        hosts: &[Option<std::sync::Arc<Vec<f32>>>],
        batch: usize,
    ) -> Vec<f32> {
        use crate::nn::kernels::{bias_relu, flatten_host_into, host, matmul_into, Keep};
        let [mut x, mut y] = std::mem::take(&mut self.scratch);
        let mut flat = std::mem::take(&mut self.flat);
        let hp = match self.host_params.take() {
            Some(hp) => hp,
            None => self.params().map(|p| host(&p.t)).collect(),
        };
        let (w_in, rest) = hp.split_at(self.input.len());
        let (w_later, b_all) = rest.split_at(self.layers.len());
        let h0 = self.input[0].shape[2];
        // Every product below overwrites its output (the first group's too), so the buffers'
        // old values are never read and resizing zeroes only what grows.
        x.resize(batch * h0, 0.0);
        for (i, (xg, w)) in inputs.iter().zip(&self.input).enumerate() {
            let (g, b, k) = *xg.shape();
            let keep = self.keep[i].as_deref().map_or(Keep::All, Keep::Some);
            match hosts.get(i) {
                Some(Some(h)) => flatten_host_into(&mut flat, h, g, b, k, keep),
                _ => flatten_host_into(&mut flat, &host(xg), g, b, k, keep),
            }
            let rows = w.shape[0] * w.shape[1];
            matmul_into(&mut x, i > 0, &flat, batch, rows, &w_in[i], h0);
        }
        let mut width = h0;
        let n = self.layers.len();
        for i in 0..=n {
            // Layer i's output is in `x`: its bias, and its ReLU and norm if hidden, in one pass;
            // then layer i + 1.
            let hidden = i < n;
            let stats = match (&self.norms, hidden) {
                (Some(norms), true) => Some((&norms[i].mean, norms[i].inv_std())),
                _ => None,
            };
            let norm = stats.as_ref().map(|(m, s)| (m.as_slice(), s.as_slice()));
            bias_relu(
                &mut x[..batch * width],
                width,
                Some(&b_all[i]),
                hidden,
                norm,
            );
            if hidden {
                let next = self.layers[i].shape[1];
                y.resize(batch * next, 0.0);
                matmul_into(&mut y, false, &x, batch, width, &w_later[i], next);
                std::mem::swap(&mut x, &mut y);
                width = next;
            }
        }
        let out = x[..batch * width].to_vec();
        self.scratch = [x, y];
        self.flat = flat;
        self.host_params = Some(hp);
        out
    }
}
