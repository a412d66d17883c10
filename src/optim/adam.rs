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
