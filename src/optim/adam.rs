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
            #[cfg(not(feature = "cuda"))]
            {
                // dfdx's kernel runs on one thread; the same update, in parallel chunks.
                let mut w = crate::nn::kernels::host(&p.t);
                adam_update(&self.cfg, self.t, &mut w, m, v, g);
                p.t.copy_from(&w);
            }
            #[cfg(feature = "cuda")]
            self.cfg
                .try_update(self.t, &mut p.t, m, v, &*g)
                .expect("adam update");
        }
    }
}

/// One Adam step on host buffers, element for element as dfdx's CPU kernel computes it (the
/// bias corrections as reciprocals, ε outside the square root), in parallel chunks.
#[cfg(not(feature = "cuda"))]
fn adam_update(cfg: &AdamConfig, t: i32, w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
    use rayon::prelude::*;
    let [b1, b2] = cfg.betas.map(|b| b as f32);
    let (lr, eps) = (cfg.lr as f32, cfg.eps as f32);
    let (c1, c2) = ((1.0 - b1.powi(t)).recip(), (1.0 - b2.powi(t)).recip());
    const CH: usize = 1 << 14;
    w.par_chunks_mut(CH)
        .zip(m.par_chunks_mut(CH))
        .zip(v.par_chunks_mut(CH))
        .zip(g.par_chunks(CH))
        .for_each(|(((w, m), v), g)| {
            crate::simd::vectorized!({
                crate::simd::update4(w, m, v, g, |w, m, v, g| {
                    let m = m * b1 + g * (1.0 - b1);
                    let v = v * b2 + g.powi(2) * (1.0 - b2);
                    let (m_hat, v_hat) = (m * c1, v * c2);
                    (w - lr * m_hat / (v_hat.sqrt() + eps), m, v)
                })
            })
        });
}

#[cfg(all(test, not(feature = "cuda")))]
mod tests {
    use super::*;

    /// The parallel update gives dfdx's kernel's values exactly, over several steps, on every
    /// SIMD path this CPU has.
    #[test]
    fn matches_dfdx_adam() {
        crate::simd::on_every_path(|_| matches_dfdx_adam_here());
    }

    fn matches_dfdx_adam_here() {
        let dev: crate::nn::Backend = Default::default();
        let n = 40_000;
        let init: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let mut ours = Param::new(&dev, "w", vec![n], init.clone(), Update::Adam);
        let mut theirs: crate::nn::T1 = dev.tensor_from_vec(init, (n,));
        let mut adam = Adam::new(1e-2);
        let cfg = adam.cfg;
        let (mut m, mut v): (Grads, Grads) = (Gradients::leaky(), Gradients::leaky());
        for step in 1..=5 {
            let gv: Vec<f32> = (0..n)
                .map(|i| (((i + step * 31) * 104_729) % 997) as f32 / 498.5 - 1.0)
                .collect();
            let mut grads: Grads = Gradients::leaky();
            grads
                .get_or_alloc_mut(&ours.t)
                .unwrap()
                .copy_from_slice(&gv);
            adam.step([&mut ours], &mut grads);
            let mut g2: Grads = Gradients::leaky();
            g2.get_or_alloc_mut(&theirs).unwrap().copy_from_slice(&gv);
            let gref = g2.get_or_alloc_mut(&theirs).unwrap().clone();
            let key = theirs.clone();
            let (mm, vv) = (
                m.get_or_alloc_mut(&key).unwrap(),
                v.get_or_alloc_mut(&key).unwrap(),
            );
            drop(key);
            cfg.try_update(step as i32, &mut theirs, mm, vv, &gref)
                .unwrap();
            assert_eq!(ours.values(), theirs.as_vec(), "step {step}");
        }
    }
}
