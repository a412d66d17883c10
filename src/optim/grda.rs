//! GRDA (Chao & Cheng): dual averaging with a growing L1 threshold, which drives useless
//! architecture gates to exactly zero. For a parameter with initial value w0:
//! `v ← v − γ·∇L` (v starts at w0), `l1(t) = c·γ^½·(tγ)^μ`, `w = sign(v)·max(|v| − l1(t), 0)`.

pub use crate::nn::GrdaSchedule as Schedule;

/// GRDA's state for one vector of gates.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Grda {
    cfg: Schedule,
    acc: Vec<f64>,
    t: u64,
}

impl Grda {
    /// Starts from the gates' initial values.
    pub fn new(cfg: Schedule, init: &[f32]) -> Self {
        Grda {
            cfg,
            acc: init.iter().map(|&x| x as f64).collect(),
            t: 0,
        }
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// One step with gradient `grad`; returns the new gate values.
    pub fn step(&mut self, grad: &[f32]) -> Vec<f32> {
        assert_eq!(grad.len(), self.acc.len(), "one gradient per gate");
        self.t += 1;
        let l1 = self.cfg.threshold(self.t);
        self.acc
            .iter_mut()
            .zip(grad)
            .map(|(a, &g)| {
                *a -= self.cfg.lr * g as f64;
                (a.signum() * (a.abs() - l1).max(0.0)) as f32
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_hand_computed_sequence() {
        // γ = 0.5, c = 0.1, μ = 0.5: l1(t) = 0.1·√0.5·√(0.5t) = 0.05·√t.
        let cfg = Schedule {
            lr: 0.5,
            c: 0.1,
            mu: 0.5,
        };
        let mut g = Grda::new(cfg, &[1.0, 0.2, -0.3]);
        // t = 1: v = [1 − 0.5·0.2, 0.2 − 0.5·0.1, −0.3 − 0.5·(−0.1)] = [0.9, 0.15, −0.25]; l1 = 0.05
        let w = g.step(&[0.2, 0.1, -0.1]);
        assert!(
            (w[0] - 0.85).abs() < 1e-6 && (w[1] - 0.10).abs() < 1e-6 && (w[2] + 0.20).abs() < 1e-6,
            "{w:?}"
        );
        // t = 2: v = [0.9, 0.15 − 0.5·0.2, −0.25] = [0.9, 0.05, −0.25]; l1 = 0.05·√2 = 0.0707
        let w = g.step(&[0.0, 0.2, 0.0]);
        assert!((w[0] - (0.9 - 0.05 * 2f32.sqrt())).abs() < 1e-6);
        assert_eq!(w[1], 0.0, "|v| = 0.05 < l1: exactly zero");
        assert!((w[2] + (0.25 - 0.05 * 2f32.sqrt())).abs() < 1e-6);
        // a closed gate can reopen when its gradient pushes the accumulator past the threshold
        let w = g.step(&[0.0, -1.0, 0.0]);
        assert!((w[1] - (0.55 - 0.05 * 3f32.sqrt())).abs() < 1e-6, "{w:?}");
        assert_eq!(g.steps(), 3);
    }
}
