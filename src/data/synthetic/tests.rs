use super::*;
use crate::spec::Planted;

fn spec(vocab: Vec<usize>, zipf: f64, missing: f64) -> SyntheticSpec {
    SyntheticSpec {
        rows: 1000,
        fields: vocab.len(),
        vocab,
        zipf,
        missing,
        rank: 3,
        first_order: 0.1,
        planted: vec![
            Planted {
                fields: vec![0, 1],
                function: InteractionFn::Inner,
                strength: 1.0,
                rank: None,
            },
            Planted {
                fields: vec![1, 2],
                function: InteractionFn::Outer,
                strength: 1.0,
                rank: None,
            },
        ],
    }
}

/// Counts of each category of each field over `rows` rows, and of missing values.
fn counts(g: &mut Generator, vocab: &[usize], rows: usize) -> (Vec<Vec<usize>>, usize) {
    let mut c: Vec<Vec<usize>> = vocab.iter().map(|&v| vec![0; v]).collect();
    let mut missing = 0;
    let mut ids = vec![0u32; vocab.len()];
    for _ in 0..rows {
        g.row(&mut ids);
        for (f, &v) in ids.iter().enumerate() {
            if v == MISSING {
                missing += 1;
            } else {
                c[f][v as usize] += 1;
            }
        }
    }
    (c, missing)
}

/// Each field draws from its own vocabulary; uniformly by default, and under `zipf = 1.1` the
/// most frequent category takes the share the law gives it (1 / Σ_k k^-1.1 of 1000: 0.16).
#[test]
fn per_field_vocabularies_and_zipf_skew() {
    let vocab = vec![1000, 7, 30];
    let rows = 40_000;
    let mut g = Generator::new(&spec(vocab.clone(), 0.0, 0.0), 1);
    let (c, missing) = counts(&mut g, &vocab, rows);
    assert_eq!(missing, 0);
    for (f, cf) in c.iter().enumerate() {
        assert_eq!(cf.len(), vocab[f]);
        assert_eq!(
            cf.iter().sum::<usize>(),
            rows,
            "every value of field {f} in range"
        );
    }
    let (lo, hi) = (c[1].iter().min().unwrap(), c[1].iter().max().unwrap());
    assert!(
        *lo as f64 > 0.9 * *hi as f64,
        "uniform over 7: {lo} vs {hi}"
    );
    let mut g = Generator::new(&spec(vocab.clone(), 1.1, 0.0), 1);
    let (c, _) = counts(&mut g, &vocab, rows);
    let h: f64 = (1..=1000).map(|k| (k as f64).powf(-1.1)).sum();
    let top = c[0][0] as f64 / rows as f64;
    assert!(
        (top - 1.0 / h).abs() < 0.01,
        "top share {top} vs {}",
        1.0 / h
    );
    assert!(c[0][0] > 50 * c[0][500].max(1), "a long tail");
}

/// `missing` of the values are missing, and a missing value adds nothing to the logit: with
/// every value missing, the logit is the bias plus each term's standardised zero.
#[test]
fn missing_values_are_drawn_at_their_rate_and_carry_nothing() {
    let vocab = vec![20, 20, 20];
    let mut g = Generator::new(&spec(vocab.clone(), 0.0, 0.2), 3);
    let rows = 20_000;
    let (_, missing) = counts(&mut g, &vocab, rows);
    let rate = missing as f64 / (3 * rows) as f64;
    assert!((rate - 0.2).abs() < 0.01, "missing rate {rate}");
    let none = [MISSING; 3];
    let logit = BIAS
        + g.terms
            .iter()
            .map(|t| t.strength * (0.0 - t.mean) / t.std)
            .sum::<f64>();
    let p = g.probability(&none);
    assert!((p - 1.0 / (1.0 + (-logit).exp())).abs() < 1e-12);
    // One present value changes it by exactly its first-order weight.
    let mut one = none;
    one[2] = 5;
    let p1 = g.probability(&one);
    let z1 = (p1 / (1.0 - p1)).ln();
    assert!((z1 - logit - g.first_order[2][5]).abs() < 1e-9);
}
