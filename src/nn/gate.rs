//! The gates that multiply a batch-normalised output: α per (interaction, function) and β per
//! (field, dimension). The normaliser itself is in `batch_norm.rs`.

use super::batch_norm::{batch_norm, Running};
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
