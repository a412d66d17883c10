//! `c = auto`: GRDA's threshold chosen on validation data instead of by hand.
//!
//! GRDA's threshold after T steps is l1(T) = c·γ^½·(Tγ)^μ, so one `c` prunes nothing on a small
//! dataset and everything on a large one. With `c = auto` the search instead:
//! 1. trains the gates with the threshold that ends at the ladder's first rung,
//!    l1(T) = [`LADDER`]\[0\] (`c` solved for the run's own T);
//! 2. reads GRDA's dual accumulator v and, for each rung τ of [`LADDER`], sets the gates to
//!    sign(v)·max(|v| − τ, 0): exactly what GRDA's last step gives with threshold τ;
//! 3. scores every rung by the search model's validation AUC with those gates;
//! 4. keeps the sparsest rung within [`TOLERANCE`] of the best.
//!
//! Every gated term is batch-normalised, so a gate's value is the standard deviation of its
//! term's contribution to the logit: the same τ means the same thing on every dataset, which a
//! c does not.

use crate::data::Dataset;
use crate::model::{Model, Optimizers};
use crate::spec::Grda;
use serde::{Deserialize, Serialize};

/// Thresholds tried, as a gate's final |value| (a term's logit standard deviation).
pub const LADDER: [f64; 10] = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7];

/// Validation AUC a sparser rung may lose against the best rung.
pub const TOLERANCE: f64 = 0.0005;

/// The training threshold of `c = auto`: `c` such that l1(`steps`) is the ladder's first rung.
pub fn auto_config(g: Grda, steps: u64) -> Grda {
    if !g.auto {
        return g;
    }
    let unit = Grda { c: 1.0, ..g }.threshold(steps.max(1));
    Grda {
        c: LADDER[0] / unit,
        ..g
    }
}

/// One rung of the ladder, as measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rung {
    /// The threshold τ.
    pub threshold: f64,
    /// Gates left open.
    pub open: usize,
    /// The search model's validation AUC with those gates.
    pub valid_auc: f64,
}

/// What `c = auto` chose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Every rung tried.
    pub rungs: Vec<Rung>,
    /// The index of the chosen one.
    pub chosen: usize,
    /// The `c` that would end a run of the same length at the chosen threshold.
    pub c: f64,
}

impl Selection {
    /// The chosen rung.
    pub fn rung(&self) -> &Rung {
        &self.rungs[self.chosen]
    }

    /// One line: the chosen threshold and the ladder it was chosen from.
    pub fn summary(&self) -> String {
        let ladder: Vec<String> = self
            .rungs
            .iter()
            .map(|r| format!("{}:{}/{:.4}", r.threshold, r.open, r.valid_auc))
            .collect();
        match self.rungs.get(self.chosen) {
            Some(r) => format!(
                "c = auto: threshold {} (c = {:.4}), {} gates open, validation AUC {:.4}; ladder τ:open/AUC {}",
                r.threshold,
                self.c,
                r.open,
                r.valid_auc,
                ladder.join(" ")
            ),
            None => format!("c = auto: no rung chosen; ladder {}", ladder.join(" ")),
        }
    }
}

/// GRDA's gate value for accumulator `v` at threshold `tau`.
fn shrink(v: f64, tau: f64) -> f32 {
    (v.signum() * (v.abs() - tau).max(0.0)) as f32
}

/// Runs the ladder over the GRDA-trained gate parameters `names` of `m` (their accumulators are
/// in `opt`), leaves the model's gates at the chosen rung and returns the selection. `grda` is
/// the configuration the gates were trained with, over `steps` steps.
pub fn select(
    m: &mut Model,
    opt: &Optimizers,
    names: &[String],
    ds: &Dataset,
    grda: &Grda,
    steps: u64,
) -> Selection {
    let accs: Vec<Vec<f64>> = names
        .iter()
        .map(|n| opt.grda[n].accumulator().to_vec())
        .collect();
    let mut rungs = Vec::new();
    for &tau in &LADDER {
        let mut open = 0;
        for (name, acc) in names.iter().zip(&accs) {
            let v: Vec<f32> = acc.iter().map(|&a| shrink(a, tau)).collect();
            open += v.iter().filter(|x| **x != 0.0).count();
            m.set_param(name, &v);
        }
        let (valid_auc, _, _) = crate::train::evaluate(m, &ds.splits[1], 16_384);
        rungs.push(Rung {
            threshold: tau,
            open,
            valid_auc,
        });
    }
    let best = rungs
        .iter()
        .map(|r| r.valid_auc)
        .filter(|a| a.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    // Rungs go from dense to sparse: the last one within tolerance of the best.
    let chosen = rungs
        .iter()
        .rposition(|r| r.valid_auc >= best - TOLERANCE)
        .unwrap_or(0);
    let tau = LADDER[chosen];
    for (name, acc) in names.iter().zip(&accs) {
        let v: Vec<f32> = acc.iter().map(|&a| shrink(a, tau)).collect();
        m.set_param(name, &v);
    }
    let unit = Grda { c: 1.0, ..*grda }.threshold(steps.max(1));
    Selection {
        rungs,
        chosen,
        c: tau / unit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_solves_c_for_the_first_rung() {
        let g = Grda {
            lr: 0.1,
            c: 0.0,
            mu: 0.9,
            auto: true,
        };
        for steps in [10, 1_000, 100_000] {
            let t = auto_config(g, steps).threshold(steps);
            assert!((t - LADDER[0]).abs() < 1e-12, "{steps}: {t}");
        }
        let fixed = Grda { auto: false, ..g };
        assert_eq!(auto_config(fixed, 100), fixed);
    }

    #[test]
    fn shrink_is_grda_soft_threshold() {
        assert_eq!(shrink(0.5, 0.2), 0.3);
        assert_eq!(shrink(-0.5, 0.2), -0.3);
        assert_eq!(shrink(0.1, 0.2), 0.0);
    }
}
