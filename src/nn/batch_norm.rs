//! Batch norm without scale or shift: the normaliser in front of every gate, and of the MLP's
//! layers when asked.
//!
//! Training normalises with the batch's statistics and updates running ones; evaluation uses the
//! running ones. ε is configurable and tiny by default: small-init products have variances far
//! below PyTorch's 1e-5, and with that ε the normaliser would not normalise (nor would the gates
//! ever move).
//!
//! This is the generic composition of dfdx ops; the CPU path runs the fused kernel in
//! `kernels::bn`, which the tests compare with it.

use super::{Backend, T3};
use dfdx::prelude::*;

/// Running statistics of a batch norm.
#[derive(Clone, Debug)]
pub struct Running {
    /// Per normalised channel.
    pub mean: Vec<f32>,
    /// Per normalised channel.
    pub var: Vec<f32>,
    /// How far one batch moves them (PyTorch's default 0.1).
    pub momentum: f32,
    /// ε of the normaliser.
    pub eps: f64,
}

impl Running {
    /// Statistics of `channels` channels, starting at mean 0 and variance 1.
    pub fn new(channels: usize, eps: f64) -> Self {
        Running {
            mean: vec![0.0; channels],
            var: vec![1.0; channels],
            momentum: 0.1,
            eps,
        }
    }

    /// Per channel, 1 / √(running var + ε): evaluation's normaliser.
    pub fn inv_std(&self) -> Vec<f32> {
        self.var
            .iter()
            .map(|v| 1.0 / ((*v as f64 + self.eps).sqrt() as f32))
            .collect()
    }
}

/// Batch norm without affine parameters over axis 1 of `x` (groups, batch, width): each
/// (group, width) channel gets mean 0 and variance 1 over the batch.
pub fn batch_norm<T: Tape<f32, Backend> + Merge<T>>(
    x: T3<T>,
    running: &mut Running,
    train: bool,
) -> T3<T> {
    let shape = *x.shape();
    let (a, b, c) = shape;
    if train {
        // Each intermediate is consumed by the op that uses it, so its ops stay on the tape
        // (a `retaped` copy would carry none, and the gradient through the mean would be lost).
        let mean = x.retaped::<T>().mean::<(usize, usize), Axis<1>>();
        let mv = mean.as_vec();
        let centered = x - mean.broadcast_like::<_, Axis<1>>(&shape);
        let var = centered
            .retaped::<T>()
            .square()
            .mean::<(usize, usize), Axis<1>>();
        let vv = var.as_vec();
        let unbias = if b > 1 {
            b as f32 / (b - 1) as f32
        } else {
            1.0
        };
        for k in 0..a * c {
            running.mean[k] += running.momentum * (mv[k] - running.mean[k]);
            running.var[k] += running.momentum * (vv[k] * unbias - running.var[k]);
        }
        let std = (var + running.eps as f32).sqrt();
        centered / std.broadcast_like::<_, Axis<1>>(&shape)
    } else {
        let dev = x.device().clone();
        let mean: Tensor<(usize, usize), f32, Backend> =
            dev.tensor_from_vec(running.mean.clone(), (a, c));
        let inv = running.inv_std();
        let inv: Tensor<(usize, usize), f32, Backend> = dev.tensor_from_vec(inv, (a, c));
        (x - mean.broadcast_like::<_, Axis<1>>(&shape)) * inv.broadcast_like::<_, Axis<1>>(&shape)
    }
}
