//! Summary statistics over repeated runs, and Welch's two-tailed t-test (as the paper reports
//! the significance of AIM against its baselines).

use serde::{Deserialize, Serialize};

/// Mean and sample standard deviation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// The mean.
    pub mean: f64,
    /// The sample standard deviation (n − 1 in the denominator; 0 for one value).
    pub std: f64,
}

/// Mean and sample standard deviation of `xs` (not empty).
pub fn mean_std(xs: &[f64]) -> MeanStd {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    MeanStd {
        mean,
        std: var.sqrt(),
    }
}

/// Two-tailed p-value of Welch's t-test that `a` and `b` have the same mean.
pub fn welch_p(a: &[f64], b: &[f64]) -> f64 {
    let (x, y) = (mean_std(a), mean_std(b));
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (x.std.powi(2) / na, y.std.powi(2) / nb);
    if va + vb == 0.0 {
        return if x.mean == y.mean { 1.0 } else { 0.0 };
    }
    let t = (x.mean - y.mean) / (va + vb).sqrt();
    let df = (va + vb).powi(2) / (va.powi(2) / (na - 1.0) + vb.powi(2) / (nb - 1.0));
    student_two_tailed(t, df)
}

/// P(|T| ≥ |t|) for Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2).
pub fn student_two_tailed(t: f64, df: f64) -> f64 {
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// The regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz).
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    // The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(b, a, 1.0 - x);
    }
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = m as f64;
        for k in 0..2 {
            let num = if k == 0 {
                m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
            } else {
                -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))
            };
            d = 1.0 + num * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = 1.0 + num / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    front * h / a
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7).
pub fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        // Student's t, two-tailed (reference values from statistical tables).
        assert!((student_two_tailed(2.0, 10.0) - 0.073_388).abs() < 1e-5);
        assert!((student_two_tailed(2.228, 10.0) - 0.05).abs() < 1e-4);
        assert!((student_two_tailed(1.0, 1.0) - 0.5).abs() < 1e-12);
        assert!((student_two_tailed(0.0, 7.0) - 1.0).abs() < 1e-12);
        assert!((incomplete_beta(2.0, 3.0, 0.4) - 0.5248).abs() < 1e-12);
        let m = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m.mean, 2.5);
        assert!((m.std - 1.290_994_448_735_805_6).abs() < 1e-12);
    }

    #[test]
    fn welch() {
        // Two clearly different samples and two identical ones.
        let a = [0.941, 0.942, 0.940, 0.943, 0.941];
        let b = [0.936, 0.937, 0.935, 0.937, 0.936];
        assert!(welch_p(&a, &b) < 1e-4);
        assert!((welch_p(&a, &a) - 1.0).abs() < 1e-12);
        // Welch's t = 2.4, df = 8 for equal variances and sizes: p = 0.0432 (tables)
        let p = welch_p(&[1.0, 2.0, 3.0, 4.0, 5.0], &[-1.4, -0.4, 0.6, 1.6, 2.6]);
        assert!((p - 0.0432).abs() < 5e-4, "{p}");
        let swapped = welch_p(&[-1.4, -0.4, 0.6, 1.6, 2.6], &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(
            p, swapped,
            "two-tailed: the order of the samples does not matter"
        );
        // Unequal variances and sizes: t = −3.273, Welch–Satterthwaite df = 5.158 → p = 0.02113
        // (the t density integrated numerically).
        let p = welch_p(&[1.0, 2.0, 3.0], &[3.0, 5.0, 7.0, 9.0, 11.0]);
        assert!((p - 0.02113).abs() < 2e-4, "{p}");
    }
}
