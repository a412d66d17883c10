//! `c = auto`: GRDA's threshold chosen on validation data instead of by hand.
//!
//! GRDA's threshold after T steps is l1(T) = c·γ^½·(Tγ)^μ, so one `c` prunes nothing on a small
//! dataset and everything on a large one. With `c = auto` a search instead runs once per rung τ
//! of [`LADDER`], each time with the `c` that ends its planned T steps at l1(T) = τ, and keeps the
//! sparsest rung whose search model is within [`TOLERANCE`] validation AUC of the best rung's.
//!
//! Each rung is a whole GRDA run, so the weights adapt to the gates that close as they close:
//! scoring thresholds on one trained search model instead (soft-thresholding its accumulator)
//! always favoured keeping everything, since every gate's weights had co-adapted with the others
//! (Adult: 9 gates left of 364 gave validation AUC 0.42).
//!
//! Every gated term is batch-normalised, so a gate's value is the standard deviation of its
//! term's contribution to the logit: the same τ means the same thing on every dataset, which a
//! c does not.

pub use crate::arch::{Rung, Selection, TOLERANCE};
use crate::spec::Grda;
use anyhow::Result;

/// Final thresholds tried, as a gate's |value| (a term's logit standard deviation), dense to
/// sparse, doubling; the gates start at 0.6 and the useful ones grow past it (Frappe: up to 1.8).
pub const LADDER: [f64; 6] = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6];

/// Rungs added past [`LADDER`] (each doubling τ) while the sparsest rung so far is the best and
/// still has open gates: on Adult and the synthetic data τ = 1.6 was the best, not only the
/// sparsest within tolerance, so the ladder stopped short.
pub const EXTRA_RUNGS: usize = 3;

/// How much validation AUC a sparser rung may lose against the best.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tolerance {
    /// A fixed AUC ([`TOLERANCE`] for the interaction gates).
    Auc(f64),
    /// One standard error of the best rung's validation AUC (the one-standard-error rule), and
    /// at least [`TOLERANCE`]: for the dimension gates, whose rungs the re-train tells apart
    /// less than the search model does (Adult: 140, 78 and 29 dimensions kept gave the search
    /// model 0.9227, 0.9222, 0.9215 and the re-train 0.9223, 0.9221, 0.9228).
    StandardError {
        /// Validation rows labelled 1.
        positives: usize,
        /// Validation rows labelled 0.
        negatives: usize,
    },
}

impl Tolerance {
    /// The AUC a rung may lose against a best rung of `best`.
    pub fn at(self, best: f64) -> f64 {
        match self {
            Tolerance::Auc(t) => t,
            Tolerance::StandardError {
                positives,
                negatives,
            } => crate::metrics::auc_standard_error(best, positives, negatives).max(TOLERANCE),
        }
    }
}

/// `g` with the `c` that ends `steps` steps at threshold `tau`.
pub fn config_for(g: Grda, tau: f64, steps: u64) -> Grda {
    let unit = Grda { c: 1.0, ..g }.threshold(steps.max(1));
    Grda { c: tau / unit, ..g }
}

/// The best finite validation AUC of `rungs`.
fn best_auc(rungs: &[Rung]) -> f64 {
    rungs
        .iter()
        .map(|r| r.valid_auc)
        .filter(|a| a.is_finite())
        .fold(f64::NEG_INFINITY, f64::max)
}

/// The sparsest rung (the last: rungs go dense to sparse) within `tolerance` of the best. Under
/// the standard-error rule a rung with no gate open is never chosen: where the search model
/// learned next to nothing (an under-trained search on small data: every rung near AUC 0.5, one
/// standard error 0.012) every rung is "within" it, and that would prune every dimension.
pub fn choose(rungs: &[Rung], tolerance: Tolerance) -> usize {
    let best = best_auc(rungs);
    let tol = tolerance.at(best);
    let any_open = matches!(tolerance, Tolerance::Auc(_));
    rungs
        .iter()
        .rposition(|r| r.valid_auc >= best - tol && (any_open || r.open > 0))
        .unwrap_or(0)
}

/// A search's result on one rung: the model, its validation AUC and its open gates.
pub struct Run<M> {
    /// What the search trained.
    pub model: M,
    /// Its validation AUC.
    pub valid_auc: f64,
    /// Gates left open.
    pub open: usize,
}

/// Runs `search` with `grda` as it is, or, with `c = auto`, once per rung (named by the
/// suffix it is given), and returns the chosen run with the selection. `steps` is the planned
/// length of one run.
pub fn search<M>(
    grda: Grda,
    steps: u64,
    tolerance: Tolerance,
    mut search: impl FnMut(Grda, &str) -> Result<Run<M>>,
) -> Result<(M, Option<Selection>)> {
    if !grda.auto {
        return Ok((search(grda, "")?.model, None));
    }
    let mut runs: Vec<Option<M>> = Vec::new();
    let mut rungs: Vec<Rung> = Vec::new();
    let mut best = f64::NEG_INFINITY;
    let mut taus: Vec<f64> = LADDER.to_vec();
    let mut k = 0;
    while k < taus.len() {
        let tau = taus[k];
        k += 1;
        let g = config_for(grda, tau, steps);
        let run = search(g, &format!(", threshold {tau}"))?;
        let auc = run.valid_auc;
        if auc.is_finite() {
            best = best.max(auc);
        }
        // Only models that may still be chosen are kept (a search model can be large): an
        // earlier rung loses to this one whenever its AUC is no higher, and can never be chosen
        // once it is more than the tolerance below the best.
        let tol = tolerance.at(best);
        // A rung [`choose`] may not take (no gate open, under the standard-error rule) does not
        // displace an earlier one.
        let eligible = matches!(tolerance, Tolerance::Auc(_)) || run.open > 0;
        for (r, m) in rungs.iter().zip(runs.iter_mut()) {
            if (eligible && r.valid_auc <= auc) || r.valid_auc < best - tol {
                *m = None;
            }
        }
        rungs.push(Rung {
            threshold: tau,
            c: g.c,
            open: run.open,
            valid_auc: auc,
        });
        runs.push(Some(run.model));
        let last = rungs.last().expect("just pushed");
        if k == taus.len()
            && taus.len() < LADDER.len() + EXTRA_RUNGS
            && last.open > 0
            && last.valid_auc.is_finite()
            && last.valid_auc >= best
        {
            taus.push(tau * 2.0);
        }
    }
    let chosen = choose(&rungs, tolerance);
    let model = runs[chosen]
        .take()
        .expect("the chosen rung's model is never dropped");
    let tolerance = Some(tolerance.at(best_auc(&rungs)));
    Ok((
        model,
        Some(Selection {
            rungs,
            chosen,
            tolerance,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rung(threshold: f64, valid_auc: f64) -> Rung {
        Rung {
            threshold,
            c: 0.0,
            open: 0,
            valid_auc,
        }
    }

    #[test]
    fn c_is_solved_for_the_threshold() {
        let g = Grda {
            lr: 1.0,
            c: 0.0,
            mu: 0.9,
            auto: true,
        };
        for steps in [10, 1_000, 100_000] {
            let t = config_for(g, 0.2, steps).threshold(steps);
            assert!((t - 0.2).abs() < 1e-12, "{steps}: {t}");
        }
    }

    #[test]
    fn the_sparsest_rung_within_tolerance_wins() {
        let r = [
            rung(0.02, 0.900),
            rung(0.05, 0.910),
            rung(0.1, 0.9096),
            rung(0.2, 0.9090),
            rung(0.4, 0.950 - 0.1),
        ];
        assert_eq!(
            choose(&r, Tolerance::Auc(TOLERANCE)),
            2,
            "0.9096 is within 0.0005 of 0.910, 0.9090 is not"
        );
        assert_eq!(
            choose(
                &[rung(0.02, f64::NAN), rung(0.05, 0.8)],
                Tolerance::Auc(TOLERANCE)
            ),
            1
        );
        // One standard error of 0.910 over 1,000 + 3,000 rows is 0.0064: 0.9090 and 0.905 are
        // within it, 0.850 is not.
        let se = Tolerance::StandardError {
            positives: 1_000,
            negatives: 3_000,
        };
        assert!((se.at(0.910) - 0.006425).abs() < 1e-5, "{}", se.at(0.910));
        let r = [
            rung(0.05, 0.910),
            rung(0.1, 0.9090),
            rung(0.2, 0.905),
            rung(0.4, 0.850),
        ]
        .map(|r| Rung { open: 3, ..r });
        assert_eq!(choose(&r, se), 2);
        // A rung with every gate closed is not chosen under it, however close its AUC.
        let mut r = [rung(0.05, 0.545), rung(0.8, 0.543), rung(1.6, 0.5448)];
        r[0].open = 24;
        r[1].open = 4;
        assert_eq!(choose(&r, se), 1);
        assert_eq!(choose(&r, Tolerance::Auc(TOLERANCE)), 2);
        // Never below the fixed tolerance, however many rows.
        let huge = Tolerance::StandardError {
            positives: 1 << 40,
            negatives: 1 << 40,
        };
        assert_eq!(huge.at(0.9), TOLERANCE);
    }

    #[test]
    fn auto_runs_every_rung_and_returns_the_chosen_model() {
        let g = Grda {
            lr: 1.0,
            c: 0.0,
            mu: 0.9,
            auto: true,
        };
        let mut seen = Vec::new();
        let (m, sel) = search(g, 100, Tolerance::Auc(TOLERANCE), |gr, label| {
            seen.push(label.to_string());
            let tau = gr.threshold(100);
            // AUC flat up to τ = 0.1, then falling: 0.1 is the sparsest within tolerance.
            let auc = if tau < 0.15 { 0.9 } else { 0.8 };
            Ok(Run {
                model: tau,
                valid_auc: auc,
                open: 1,
            })
        })
        .unwrap();
        assert_eq!(seen.len(), LADDER.len());
        assert!((m - 0.1).abs() < 1e-9, "{m}");
        assert_eq!(sel.unwrap().rung().unwrap().threshold, 0.1);
        // Non-monotone AUCs (with a NaN): the model returned is always the chosen rung's.
        for aucs in [
            [0.9, 0.95, 0.91, 0.9498, 0.7, 0.96],
            [0.96, 0.5, 0.9598, 0.1, 0.2, 0.3],
            [f64::NAN, 0.8, 0.8, 0.7, 0.8, 0.79],
        ] {
            let mut k = 0;
            let (m, sel) = search(g, 100, Tolerance::Auc(TOLERANCE), |_, _| {
                k += 1;
                Ok(Run {
                    model: k - 1,
                    valid_auc: aucs[k - 1],
                    open: 0,
                })
            })
            .unwrap();
            let sel = sel.unwrap();
            assert_eq!(m, sel.chosen, "{aucs:?}");
            let rungs: Vec<Rung> = aucs.iter().map(|&a| rung(0.0, a)).collect();
            assert_eq!(sel.chosen, choose(&rungs, Tolerance::Auc(TOLERANCE)));
        }
        // Under the standard-error rule a last rung with every gate closed neither is chosen nor
        // displaces the sparsest open one (tests/report.rs's under-trained search).
        let (aucs, opens) = (
            [0.5449, 0.5443, 0.5432, 0.5417, 0.5429, 0.5448],
            [24, 24, 24, 23, 4, 0],
        );
        let mut k = 0;
        let se = Tolerance::StandardError {
            positives: 1_000,
            negatives: 1_400,
        };
        let (m, sel) = search(g, 100, se, |_, _| {
            k += 1;
            Ok(Run {
                model: k - 1,
                valid_auc: aucs[k - 1],
                open: opens[k - 1],
            })
        })
        .unwrap();
        assert_eq!((m, sel.unwrap().chosen), (4, 4));
        // AUC rising with τ: the ladder doubles past 1.6 while the sparsest rung is the best,
        // at most EXTRA_RUNGS times; falling after 3.2: it stops there and keeps 3.2.
        for (peak, want) in [
            (f64::INFINITY, LADDER.len() + EXTRA_RUNGS),
            (3.3, LADDER.len() + 2),
        ] {
            let mut taus = Vec::new();
            let (m, sel) = search(g, 100, Tolerance::Auc(TOLERANCE), |gr, _| {
                let tau = gr.threshold(100);
                taus.push(tau);
                let auc = if tau < peak { 0.8 + tau / 100.0 } else { 0.5 };
                Ok(Run {
                    model: tau,
                    valid_auc: auc,
                    open: 3,
                })
            })
            .unwrap();
            assert_eq!(taus.len(), want, "{taus:?}");
            let best = if peak.is_finite() { 3.2 } else { 12.8 };
            assert!((m - best).abs() < 1e-9, "{m} from {taus:?}");
            assert_eq!(sel.unwrap().rungs.len(), want);
        }
        // A sparsest rung with no gate open is not doubled.
        let mut n = 0;
        search(g, 100, Tolerance::Auc(TOLERANCE), |gr, _| {
            n += 1;
            let tau = gr.threshold(100);
            Ok(Run {
                model: (),
                valid_auc: 0.8 + tau,
                open: usize::from(tau < 1.0),
            })
        })
        .unwrap();
        assert_eq!(n, LADDER.len());
        let fixed = Grda { auto: false, ..g };
        let (m, sel) = search(fixed, 100, Tolerance::Auc(TOLERANCE), |gr, _| {
            Ok(Run {
                model: gr.c,
                valid_auc: 0.5,
                open: 0,
            })
        })
        .unwrap();
        assert_eq!((m, sel), (0.0, None));
    }
}
