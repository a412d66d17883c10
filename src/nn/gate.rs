//! Batch norm without scale or shift, and the gates that multiply its output: α per
//! (interaction, function) and β per (field, dimension).
//!
//! Training normalises with the batch's statistics and updates running ones; evaluation uses the
//! running ones. ε is configurable and tiny by default: small-init products have variances far
//! below PyTorch's 1e-5, and with that ε the normaliser would not normalise (nor would the gates
//! ever move).

use super::{Backend, Param, T1, T2, T3};
use dfdx::prelude::*;

/// How a block of outputs `(groups, batch, width)` is gated.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum GateKind {
    /// Passed through.
    None,
    /// Multiplied by a learned scale per group and width position (FwFM's pair weights).
    Scale,
    /// Batch-normalised (no affine), then multiplied by the gate (α or β).
    BatchNorm,
}

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

/// Batch norm (no affine) of `x` `(groups, batch, width)` times `gate` `(groups, width)` when
/// given: the fused CPU kernel, or on CUDA the generic composition.
pub fn gated_batch_norm<T: Tape<f32, Backend> + Merge<T>>(
    x: T3<T>,
    gate: Option<T2<T>>,
    running: &mut Running,
    train: bool,
) -> T3<T> {
    #[cfg(not(feature = "cuda"))]
    {
        super::kernels::gated_bn(x, gate, running, train)
    }
    #[cfg(feature = "cuda")]
    {
        let shape = *x.shape();
        let y = batch_norm(x, running, train);
        match gate {
            Some(a) => y * a.broadcast_like::<_, Axis<1>>(&shape),
            None => y,
        }
    }
}

/// A gate over outputs `(groups, batch, width)`: its parameter has shape `(groups, width)`.
pub struct Gate {
    /// How it gates.
    pub kind: GateKind,
    /// The gate values (absent for [`GateKind::None`]).
    pub param: Option<Param>,
    /// Batch-norm statistics (for [`GateKind::BatchNorm`]).
    pub running: Option<Running>,
}

impl Gate {
    /// A gate of `kind` over `(groups, width)` channels, starting at `init`.
    pub fn new(
        dev: &Backend,
        name: &str,
        kind: GateKind,
        (groups, width): (usize, usize),
        init: f32,
        eps: f64,
        update: super::Update,
    ) -> Self {
        let param = (kind != GateKind::None).then(|| {
            Param::new(
                dev,
                name,
                vec![groups, width],
                vec![init; groups * width],
                update,
            )
        });
        let running = (kind == GateKind::BatchNorm).then(|| Running::new(groups * width, eps));
        Gate {
            kind,
            param,
            running,
        }
    }

    /// For inference of a batch-normed gate's sum `Σ_c a_c·(x_c − mean_c)·inv_c`: the
    /// coefficients `a_c·inv_c` and the constant `Σ_c a_c·inv_c·mean_c` it subtracts (running
    /// statistics). None for a gate that is not batch-normed.
    pub fn inference_sum_coefficients(&self) -> Option<(Vec<f32>, f32)> {
        let (r, p) = (self.running.as_ref()?, self.param.as_ref()?);
        let coef: Vec<f32> = p
            .values()
            .iter()
            .zip(r.inv_std())
            .map(|(a, i)| a * i)
            .collect();
        let offset = coef.iter().zip(&r.mean).map(|(c, m)| c * m).sum();
        Some((coef, offset))
    }

    /// Applies the gate to `x` (groups, batch, width) and sums over groups and width: `(batch,)`.
    pub fn forward_sum<T: Tape<f32, Backend> + Merge<T>>(
        &mut self,
        x: T3<T>,
        train: bool,
    ) -> T1<T> {
        #[cfg(not(feature = "cuda"))]
        if let Some(r) = &mut self.running {
            let gate = self.param.as_ref().map(|p| p.t2::<T>());
            return super::kernels::gated_bn_sum(x, gate, r, train);
        }
        self.forward(x, train).sum::<(usize,), Axes2<0, 2>>()
    }

    /// Applies the gate to `x` (groups, batch, width).
    pub fn forward<T: Tape<f32, Backend> + Merge<T>>(&mut self, x: T3<T>, train: bool) -> T3<T> {
        if let Some(r) = &mut self.running {
            let gate = self.param.as_ref().map(|p| p.t2::<T>());
            return gated_batch_norm(x, gate, r, train);
        }
        let shape = *x.shape();
        let x = match &mut self.running {
            Some(r) => batch_norm(x, r, train),
            None => x,
        };
        match &self.param {
            Some(p) => x * p.t2::<T>().broadcast_like::<_, Axis<1>>(&shape),
            None => x,
        }
    }
}
