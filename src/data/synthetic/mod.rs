//! Synthetic rows with planted interactions: the ground truth for testing the search.
//!
//! Every category of every field has hidden vectors (one set per planted interaction it takes
//! part in) and a weak first-order weight. The logit of a row is
//! `bias + Σ_f first_order(f) + Σ_planted strength · z(term)`, where each planted term is
//! computed with its interaction function and standardised (`z`: mean 0, variance 1 over random
//! rows) so that `strength` means the same for every function. The label is drawn from
//! Bernoulli(sigmoid(logit)), so the true probability of every row is known, and with it the
//! best AUC and log loss any model can reach (the Bayes metrics).
//!
//! Each field has its own vocabulary; categories are drawn uniformly or from a Zipf law, and a
//! value may be missing (the field's id 0, contributing nothing). Rows are generated straight
//! into the cache's files in blocks, so memory does not grow with the row count: only with the
//! vocabularies (each category's first-order weight, and hidden vectors for planted fields).

use super::cache::Building;
use super::meta::{
    FieldMeta, Meta, PlantedTruth, Skipped, SplitMeta, SplitMetrics, Truth, FORMAT_VERSION, SPLITS,
};
use super::npy;
use super::read::FieldKind;
use super::split::split_sizes;
use crate::metrics;
use crate::spec::{InteractionFn, SyntheticSpec};
use anyhow::Result;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use std::time::Instant;

/// The logit's constant: puts the positive rate near 40%, a typical benchmark balance.
const BIAS: f64 = -0.5;

/// Rows drawn to standardise each planted term.
const CALIBRATION_ROWS: usize = 20_000;

/// A missing value among a row's category indices.
const MISSING: u32 = u32::MAX;

/// Rows generated per block written to the cache.
const BLOCK_ROWS: usize = 1 << 16;

/// How one field's categories are drawn.
enum Draw {
    Uniform(u32),
    Zipf(rand_distr::Zipf<f64>),
}

impl Draw {
    fn new(vocab: usize, zipf: f64) -> Self {
        if zipf > 0.0 {
            Draw::Zipf(rand_distr::Zipf::new(vocab as u64, zipf).expect("vocab ≥ 2 and zipf > 0"))
        } else {
            Draw::Uniform(vocab as u32)
        }
    }

    /// A category index, 0-based (0 the most frequent under Zipf).
    fn sample(&self, rng: &mut impl Rng) -> u32 {
        match self {
            Draw::Uniform(v) => rng.gen_range(0..*v),
            // Zipf draws 1..=n; the float holds every value exactly (n < 2^32).
            Draw::Zipf(z) => z.sample(rng) as u32 - 1,
        }
    }
}

/// Name of synthetic field `i`.
pub fn field_name(i: usize) -> String {
    format!("f{i}")
}

/// One planted term with its parameters.
struct Term {
    fields: Vec<usize>,
    function: InteractionFn,
    strength: f64,
    /// Length of its hidden vectors.
    rank: usize,
    /// hidden[q][v * rank + k]: position q's field, category v.
    hidden: Vec<Vec<f64>>,
    /// vector_kernel: φ (rank); outer: w_q stacked (positions × rank); scalar_kernel: [s].
    params: Vec<f64>,
    mean: f64,
    std: f64,
}

impl Term {
    fn raw(&self, ids: &[u32]) -> f64 {
        let rank = self.rank;
        // A missing value's hidden vector is zero: the term is 0 for every function.
        if self.fields.iter().any(|&f| ids[f] == MISSING) {
            return 0.0;
        }
        let h = |q: usize| {
            let v = ids[self.fields[q]] as usize;
            &self.hidden[q][v * rank..(v + 1) * rank]
        };
        match self.function {
            InteractionFn::Outer => (0..self.fields.len())
                .map(|q| {
                    h(q).iter()
                        .zip(&self.params[q * rank..(q + 1) * rank])
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
                })
                .product(),
            f => {
                let mut s = 0.0;
                for k in 0..rank {
                    let p: f64 = (0..self.fields.len()).map(|q| h(q)[k]).product();
                    s += match f {
                        InteractionFn::VectorKernel => self.params[k] * p,
                        _ => p,
                    };
                }
                if f == InteractionFn::ScalarKernel {
                    s * self.params[0]
                } else {
                    s
                }
            }
        }
    }
}

/// A category index from `d`, or `MISSING` with chance `missing`.
fn draw(d: &Draw, missing: f64, rng: &mut impl Rng) -> u32 {
    if missing > 0.0 && rng.gen::<f64>() < missing {
        MISSING
    } else {
        d.sample(rng)
    }
}

/// The generator: parameters drawn from the seed.
pub struct Generator {
    spec: SyntheticSpec,
    first_order: Vec<Vec<f64>>,
    draws: Vec<Draw>,
    terms: Vec<Term>,
    rng: rand_chacha::ChaCha8Rng,
}

impl Generator {
    /// Draws every hidden vector and kernel from `seed`.
    pub fn new(spec: &SyntheticSpec, seed: u64) -> Self {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_da7a);
        let r = spec.rank;
        let vocab = &spec.vocab;
        let draws: Vec<Draw> = vocab.iter().map(|&v| Draw::new(v, spec.zipf)).collect();
        let normal = |n: usize, scale: f64, rng: &mut rand_chacha::ChaCha8Rng| -> Vec<f64> {
            (0..n)
                .map(|_| scale * Distribution::<f64>::sample(&StandardNormal, rng))
                .collect::<Vec<f64>>()
        };
        let first_order = (0..spec.fields)
            .map(|f| normal(vocab[f], spec.first_order, &mut rng))
            .collect();
        let mut terms: Vec<Term> = spec
            .planted
            .iter()
            .map(|p| {
                let r = p.rank.unwrap_or(r);
                let hidden = p
                    .fields
                    .iter()
                    .map(|&f| normal(vocab[f] * r, 1.0, &mut rng))
                    .collect();
                let params = match p.function {
                    InteractionFn::Inner => vec![],
                    InteractionFn::VectorKernel => normal(r, 1.0, &mut rng),
                    InteractionFn::Outer => normal(p.fields.len() * r, 1.0, &mut rng),
                    InteractionFn::ScalarKernel => {
                        let s: f64 = rng.gen_range(0.5..2.0);
                        vec![if rng.gen::<bool>() { s } else { -s }]
                    }
                };
                Term {
                    fields: p.fields.clone(),
                    function: p.function,
                    strength: p.strength,
                    rank: r,
                    hidden,
                    params,
                    mean: 0.0,
                    std: 1.0,
                }
            })
            .collect();
        // Standardise each term over random rows, so `strength` means the same for every function.
        let mut ids = vec![0u32; spec.fields];
        for t in &mut terms {
            let (mut s, mut s2) = (0.0, 0.0);
            for _ in 0..CALIBRATION_ROWS {
                for &f in &t.fields {
                    ids[f] = draw(&draws[f], spec.missing, &mut rng);
                }
                let x = t.raw(&ids);
                s += x;
                s2 += x * x;
            }
            let n = CALIBRATION_ROWS as f64;
            t.mean = s / n;
            t.std = (s2 / n - t.mean * t.mean).max(1e-12).sqrt();
        }
        Generator {
            spec: spec.clone(),
            first_order,
            draws,
            terms,
            rng,
        }
    }

    /// The true probability of a row of category indices (0..vocab per field).
    pub fn probability(&self, ids: &[u32]) -> f64 {
        let mut logit = BIAS;
        for (f, &v) in ids.iter().enumerate() {
            if v != MISSING {
                logit += self.first_order[f][v as usize];
            }
        }
        for t in &self.terms {
            logit += t.strength * (t.raw(ids) - t.mean) / t.std;
        }
        1.0 / (1.0 + (-logit).exp())
    }

    /// The next row: category indices (0..vocab, or `MISSING`), its true probability and its
    /// label.
    pub fn row(&mut self, ids: &mut [u32]) -> (f64, u8) {
        for (x, d) in ids.iter_mut().zip(&self.draws) {
            *x = draw(d, self.spec.missing, &mut self.rng);
        }
        let p = self.probability(ids);
        let y = u8::from(self.rng.gen::<f64>() < p);
        (p, y)
    }

    /// The truth: planted interactions by field names, and the noise fields.
    pub fn truth(&self) -> Truth {
        let planted_fields: std::collections::BTreeSet<usize> = self
            .spec
            .planted
            .iter()
            .flat_map(|p| p.fields.clone())
            .collect();
        Truth {
            planted: self
                .spec
                .planted
                .iter()
                .map(|p| PlantedTruth {
                    fields: p.fields.iter().map(|&f| field_name(f)).collect(),
                    function: p.function.name().to_string(),
                    strength: p.strength,
                    rank: p.rank.unwrap_or(self.spec.rank),
                })
                .collect(),
            noise_fields: (0..self.spec.fields)
                .filter(|f| !planted_fields.contains(f))
                .map(field_name)
                .collect(),
            bias: BIAS,
        }
    }
}

/// Generates the rows into the cache being built. Ids in the cache are category + 1 (id 0 is
/// the out-of-vocabulary id every field reserves, unused here).
pub fn generate(spec: &SyntheticSpec, split: [f64; 3], seed: u64, out: &Building) -> Result<Meta> {
    let t0 = Instant::now();
    let dir = out.dir();
    let mut g = Generator::new(spec, seed);
    let sizes = split_sizes(spec.rows, split);
    let n = spec.fields;
    let mut splits = Vec::new();
    let mut bayes = Vec::new();
    let mut ids = vec![0u32; n];
    for (t, &rows) in sizes.iter().enumerate() {
        let name = SPLITS[t];
        let mut ids_out =
            npy::FileWriter::<u32>::create(&dir.join(format!("{name}.ids.npy")), &[rows, n])?;
        let mut labels_out =
            npy::FileWriter::<u8>::create(&dir.join(format!("{name}.labels.npy")), &[rows])?;
        // The Bayes metrics need every row's probability and label: 5 bytes a row, the one
        // per-row cost kept (45M rows: 225 MB).
        let mut labels = Vec::with_capacity(rows);
        let mut probs = Vec::with_capacity(rows);
        let mut present = vec![0u64; n];
        let mut block = Vec::with_capacity(BLOCK_ROWS.min(rows) * n);
        let mut done = 0;
        while done < rows {
            let take = BLOCK_ROWS.min(rows - done);
            block.clear();
            let first = labels.len();
            for _ in 0..take {
                let (p, y) = g.row(&mut ids);
                for (f, &v) in ids.iter().enumerate() {
                    // Cache ids: category + 1; a missing value is the reserved id 0.
                    if v == MISSING {
                        block.push(0);
                    } else {
                        block.push(v + 1);
                        present[f] += 1;
                    }
                }
                labels.push(y);
                probs.push(p as f32);
            }
            ids_out.push(&block)?;
            labels_out.push(&labels[first..])?;
            done += take;
        }
        ids_out.finish()?;
        labels_out.finish()?;
        bayes.push(SplitMetrics {
            auc: metrics::auc(&probs, &labels).unwrap_or(f64::NAN),
            logloss: metrics::logloss(&probs, &labels),
        });
        splits.push(SplitMeta {
            name: name.into(),
            rows,
            positives: labels.iter().map(|&l| l as usize).sum(),
            oov: vec![0; n],
            values: present,
        });
    }
    let truth = g.truth();
    crate::io::write_ron(&dir.join("truth.ron"), &truth)?;
    let vocab: Vec<(String, Vec<String>)> = (0..n)
        .map(|f| {
            (
                field_name(f),
                std::iter::once("<oov>".to_string())
                    .chain((0..spec.vocab[f]).map(|v| v.to_string()))
                    .collect(),
            )
        })
        .collect();
    crate::io::write_ron(&dir.join("vocab.ron"), &vocab)?;
    Ok(Meta {
        version: FORMAT_VERSION,
        key: String::new(),
        fields: (0..n)
            .map(|f| FieldMeta {
                name: field_name(f),
                kind: FieldKind::Categorical,
                vocab: spec.vocab[f] + 1,
                column: Some(f),
                missing: None,
            })
            .collect(),
        splits,
        skipped: Skipped::default(),
        input_bytes: 0,
        build_seconds: t0.elapsed().as_secs_f64(),
        truth: Some(truth),
        bayes: Some(bayes),
    })
}

#[cfg(test)]
mod tests;
