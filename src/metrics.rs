//! Evaluation metrics: AUC (exact, ties counted one half) and log loss.

/// Probabilities are clipped to [EPS, 1 − EPS] before taking logs.
pub const LOGLOSS_EPS: f64 = 1e-7;

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half. `None` when one class is absent.
pub fn auc(scores: &[f32], labels: &[u8]) -> Option<f64> {
    assert_eq!(scores.len(), labels.len(), "one score per label");
    let mut order: Vec<u32> = (0..scores.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| scores[a as usize].total_cmp(&scores[b as usize]));
    // Mann–Whitney: sum of the positives' ranks, tied scores sharing their average rank.
    let (mut rank_sum, mut pos, mut i) = (0.0f64, 0u64, 0usize);
    while i < order.len() {
        let s = scores[order[i] as usize];
        let mut j = i;
        // NaN == NaN is false: NaN scores (a diverged model) tie with each other, else this
        // loop would never move past them.
        let tied = |t: f32| t == s || (t.is_nan() && s.is_nan());
        while j < order.len() && tied(scores[order[j] as usize]) {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0; // ranks i+1..=j
        let p = order[i..j]
            .iter()
            .filter(|&&k| labels[k as usize] != 0)
            .count() as u64;
        rank_sum += avg_rank * p as f64;
        pos += p;
        i = j;
    }
    let neg = scores.len() as u64 - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    Some((rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos as f64 * neg as f64))
}

/// Mean binary cross-entropy of probabilities, clipped to [1e-7, 1 − 1e-7].
pub fn logloss(probs: &[f32], labels: &[u8]) -> f64 {
    assert_eq!(probs.len(), labels.len(), "one probability per label");
    if probs.is_empty() {
        return f64::NAN;
    }
    let sum: f64 = probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = (p as f64).clamp(LOGLOSS_EPS, 1.0 - LOGLOSS_EPS);
            if y != 0 {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    sum / probs.len() as f64
}

/// The standard error of an AUC of `auc` over `positives` and `negatives` (Hanley & McNeil 1982,
/// Radiology 143: their exponential approximation of the two rank variances): how far a
/// validation AUC moves with the rows drawn, so a difference below it is not evidence.
pub fn auc_standard_error(auc: f64, positives: usize, negatives: usize) -> f64 {
    if positives == 0 || negatives == 0 || !auc.is_finite() {
        return f64::INFINITY;
    }
    let (a, np, nn) = (auc.clamp(0.0, 1.0), positives as f64, negatives as f64);
    let q1 = a / (2.0 - a);
    let q2 = 2.0 * a * a / (1.0 + a);
    let var = (a * (1.0 - a) + (np - 1.0) * (q1 - a * a) + (nn - 1.0) * (q2 - a * a)) / (np * nn);
    var.max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nan_scores_tie_and_end() {
        // Sorted by total_cmp the NaNs come last and tie: positives 0.9 and NaN, negatives
        // 0.1 and NaN → ranks 1, 2, (3.5, 3.5): (2 + 3.5 − 3) / 4.
        let a = auc(&[0.1, 0.9, f32::NAN, f32::NAN], &[0, 1, 1, 0]).unwrap();
        assert!((a - 0.625).abs() < 1e-12, "{a}");
        assert_eq!(auc(&[f32::NAN; 3], &[0, 1, 0]), Some(0.5));
    }

    fn brute_auc(s: &[f32], y: &[u8]) -> Option<f64> {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..s.len() {
            for j in 0..s.len() {
                if y[i] != 0 && y[j] == 0 {
                    den += 1.0;
                    num += if s[i] > s[j] {
                        1.0
                    } else if s[i] == s[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        (den > 0.0).then(|| num / den)
    }

    #[test]
    fn known_values() {
        assert_eq!(auc(&[0.1, 0.4, 0.35, 0.8], &[0, 0, 1, 1]), Some(0.75));
        assert_eq!(auc(&[0.5, 0.5], &[0, 1]), Some(0.5));
        assert_eq!(auc(&[0.2, 0.9], &[0, 1]), Some(1.0));
        assert_eq!(auc(&[0.2, 0.9], &[1, 1]), None);
        let ll = logloss(&[0.9, 0.2], &[1, 0]);
        assert!((ll - (-(0.9f64.ln()) - 0.8f64.ln()) / 2.0).abs() < 1e-7);
        // Clipping keeps a confident mistake finite: -ln(1e-7).
        assert!((logloss(&[0.0], &[1]) - 16.118_095_650_958_32).abs() < 1e-6);
    }

    proptest! {
        #[test]
        fn auc_matches_brute_force_with_ties(
            rows in prop::collection::vec((0u8..6, any::<bool>()), 1..60)
        ) {
            // Few distinct scores, so ties are common.
            let s: Vec<f32> = rows.iter().map(|r| r.0 as f32 / 5.0).collect();
            let y: Vec<u8> = rows.iter().map(|r| r.1 as u8).collect();
            match (auc(&s, &y), brute_auc(&s, &y)) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-12, "{a} vs {b}"),
                (a, b) => prop_assert_eq!(a, b),
            }
        }

        #[test]
        fn logloss_matches_brute_force(rows in prop::collection::vec((0.0f32..=1.0, any::<bool>()), 1..40)) {
            let p: Vec<f32> = rows.iter().map(|r| r.0).collect();
            let y: Vec<u8> = rows.iter().map(|r| r.1 as u8).collect();
            let mut want = 0.0;
            for (pi, yi) in p.iter().zip(&y) {
                let x = *pi as f64;
                let q = x.clamp(1e-7, 1.0 - 1e-7);
                want += if *yi == 1 { -q.ln() } else { -(1.0 - q).ln() };
            }
            want /= p.len() as f64;
            prop_assert!((logloss(&p, &y) - want).abs() < 1e-9);
        }
    }

    #[test]
    fn auc_standard_error_known_values() {
        // At AUC 0.5 Hanley–McNeil's variance is the Mann–Whitney null variance
        // (n₁ + n₀ + 1) / (12·n₁·n₀).
        let se = super::auc_standard_error(0.5, 100, 100);
        assert!((se - (201.0f64 / 120_000.0).sqrt()).abs() < 1e-12, "{se}");
        // It shrinks as 1/√rows, and is infinite without both classes.
        let (a, b) = (
            super::auc_standard_error(0.9, 1_000, 3_000),
            super::auc_standard_error(0.9, 4_000, 12_000),
        );
        assert!((a / b - 2.0).abs() < 0.01, "{a} {b}");
        assert_eq!(super::auc_standard_error(0.9, 0, 10), f64::INFINITY);
    }
}
