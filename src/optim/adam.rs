//! Adam on dense parameters with runtime shapes, through dfdx's own kernel (which runs on the
//! model's device). dfdx's `Optimizer` only takes const shapes, so the moments are kept here.

use crate::nn::{Grads, Param, Update};
use dfdx::prelude::*;

/// Adam's state for a set of parameters.
pub struct Adam {
    cfg: AdamConfig,
    t: i32,
    m: Grads,
    v: Grads,
}

impl Adam {
    /// Adam with learning rate `lr` (β = 0.9, 0.999; ε = 1e-8, as in PyTorch and TensorFlow).
    pub fn new(lr: f64) -> Self {
        Adam {
            cfg: AdamConfig {
                lr,
                betas: [0.9, 0.999],
                eps: 1e-8,
                weight_decay: None,
            },
            t: 0,
            m: Gradients::leaky(),
            v: Gradients::leaky(),
        }
    }

    /// Steps taken.
    pub fn steps(&self) -> i32 {
        self.t
    }

    /// The first and second moments of `p`, once it has been updated.
    pub fn moments(&self, p: &Param) -> Option<(Vec<f32>, Vec<f32>)> {
        if self.t == 0 || p.update != Update::Adam {
            return None;
        }
        Some((self.m.get(&p.t).as_vec(), self.v.get(&p.t).as_vec()))
    }

    /// Restores the step count and the moments of `params` (as [`Adam::moments`] gave them).
    /// Needs the CPU build: the moments are written into host memory.
    pub fn restore<'a>(
        &mut self,
        t: i32,
        params: impl IntoIterator<Item = (&'a Param, (Vec<f32>, Vec<f32>))>,
    ) -> anyhow::Result<()> {
        self.t = t;
        for (p, (m, v)) in params {
            #[cfg(not(feature = "cuda"))]
            {
                self.m
                    .get_or_alloc_mut(&p.t)
                    .expect("moment storage")
                    .copy_from_slice(&m);
                self.v
                    .get_or_alloc_mut(&p.t)
                    .expect("moment storage")
                    .copy_from_slice(&v);
            }
            #[cfg(feature = "cuda")]
            {
                let _ = (p, m, v);
                anyhow::bail!("resuming from a checkpoint needs the CPU build");
            }
        }
        Ok(())
    }

    /// Changes the learning rate (the moments are kept).
    pub fn set_lr(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }

    /// One step on every parameter whose update is [`Update::Adam`].
    pub fn step<'a>(&mut self, params: impl IntoIterator<Item = &'a mut Param>, grads: &mut Grads) {
        self.t += 1;
        for p in params {
            if p.update != Update::Adam {
                continue;
            }
            let g = grads.get_or_alloc_mut(&p.t).expect("gradient storage");
            let m = self.m.get_or_alloc_mut(&p.t).expect("moment storage");
            let v = self.v.get_or_alloc_mut(&p.t).expect("moment storage");
            self.cfg
                .try_update(self.t, &mut p.t, m, v, &*g)
                .expect("adam update");
        }
    }
}
