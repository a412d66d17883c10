//! `aim bench`: training and inference throughput and peak memory of a model on synthetic rows,
//! the numbers README's speed table is made of.
//!
//! The default is the contract of the speed issue: 39 fields, a 1M-row vocabulary split evenly
//! across them with uniformly drawn ids, d = 16, DeepFM with MLP 400-400-400 and gated
//! batch-normed pairs, batch 2000, 2 threads, warm-up steps then timed steps. `--model search`
//! and `--model retrain` time the AIM stages' models on the same rows.

use crate::model::OrderConfig;
use crate::model::{all_pairs, FieldInfo, MlpConfig, MlpInput, Model, ModelConfig, Optimizers};
use crate::nn::embedding::Batch;
use crate::nn::gate::GateKind;
use crate::nn::Update;
use crate::spec::InteractionFn;
use anyhow::{bail, Result};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::time::Instant;

mod machine;
mod saved;

pub use machine::Machine;
pub use saved::{run_saved, SavedBenchResult};

/// Which model is timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BenchModel {
    /// DeepFM: linear + gated batch-normed inner products of all pairs + MLP over embeddings.
    Deepfm,
    /// Stage 1 of AIM: every pair with all four interaction functions, α-gated (GRDA) and
    /// batch-normed, function-wise embeddings, no MLP.
    Search,
    /// Stage 3 of AIM: a quarter of the pairs kept (spread over the four functions), function-wise
    /// embeddings, MLP (with batch norm) over the kept interactions' vectors.
    Retrain,
}

/// The benchmark's shape: the flags of `aim bench`, whose defaults are the contract's shape.
#[derive(Clone, Debug, Serialize, clap::Args)]
pub struct BenchOptions {
    /// Which model.
    #[arg(long, value_enum, default_value = "deepfm")]
    pub model: BenchModel,
    /// Fields.
    #[arg(long, default_value_t = 39)]
    pub fields: usize,
    /// Total vocabulary, split evenly across the fields.
    #[arg(long, default_value_t = 1_000_000)]
    pub vocab: usize,
    /// Embedding length.
    #[arg(long, short, default_value_t = 16)]
    pub d: usize,
    /// MLP hidden widths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "400,400,400")]
    pub mlp: Vec<usize>,
    /// Rows per step.
    #[arg(long, default_value_t = 2000)]
    pub batch: usize,
    /// Threads (rayon's pool; the matrix products run on it too).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Seed of the rows and the model.
    #[arg(skip = 1u64)]
    pub seed: u64,
}

impl Default for BenchOptions {
    /// The flags' defaults (one source for both).
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            options: BenchOptions,
        }
        <Defaults as clap::Parser>::parse_from(["bench"]).options
    }
}

/// What a benchmark measured.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    /// The shape it ran.
    pub options: BenchOptions,
    /// Training samples per second (median step).
    pub train_samples_per_s: f64,
    /// Median training step, milliseconds.
    pub train_step_ms: f64,
    /// Time the training loop waited for the loader thread, milliseconds over all timed steps.
    pub data_wait_ms: f64,
    /// Inference samples per second (median batch; evaluation mode, no tape).
    pub infer_samples_per_s: f64,
    /// Peak resident memory of the process, MiB.
    pub peak_rss_mb: f64,
    /// Resident memory once the model and the rows exist, before the first step, MiB: the peak
    /// less this is what the steps add (activations, gradients, the kernels' buffers).
    pub rss_before_steps_mb: f64,
    /// Parameters and their optimizer state (Adam's two moments), MiB.
    pub state_mb: f64,
    /// Trained values.
    pub params: usize,
    /// The machine it ran on.
    pub machine: Machine,
}

/// The model of a benchmark.
pub fn config(o: &BenchOptions) -> ModelConfig {
    let per = o.vocab / o.fields;
    let fields: Vec<FieldInfo> = (0..o.fields)
        .map(|i| FieldInfo {
            name: format!("f{i}"),
            vocab: per,
            positions: (0..o.d).collect(),
            multi: false,
        })
        .collect();
    let pairs = all_pairs(o.fields);
    let all = [
        InteractionFn::Inner,
        InteractionFn::Outer,
        InteractionFn::VectorKernel,
        InteractionFn::ScalarKernel,
    ];
    let (orders, function_wise, mlp) = match o.model {
        BenchModel::Deepfm => (
            vec![OrderConfig {
                order: 2,
                functions: vec![(InteractionFn::Inner, pairs)],
                gate: GateKind::BatchNorm,
                gate_update: Update::Adam,
                to_logit: true,
            }],
            false,
            Some(MlpConfig {
                hidden: o.mlp.clone(),
                input: MlpInput::Embeddings,
                batch_norm: false,
                dropout: 0.0,
            }),
        ),
        BenchModel::Search => (
            vec![OrderConfig {
                order: 2,
                functions: all.iter().map(|&f| (f, pairs.clone())).collect(),
                gate: GateKind::BatchNorm,
                gate_update: Update::Grda(crate::optim::grda::Schedule {
                    lr: 1e-3,
                    c: 5e-4,
                    mu: 0.8,
                }),
                to_logit: true,
            }],
            true,
            None,
        ),
        BenchModel::Retrain => {
            // Every fourth pair kept, each with one function in turn.
            let mut kept: Vec<Vec<Vec<usize>>> = vec![vec![]; 4];
            for (k, p) in pairs.into_iter().step_by(4).enumerate() {
                kept[k % 4].push(p);
            }
            (
                vec![OrderConfig {
                    order: 2,
                    functions: all.iter().copied().zip(kept).collect(),
                    gate: GateKind::BatchNorm,
                    gate_update: Update::Adam,
                    to_logit: true,
                }],
                true,
                Some(MlpConfig {
                    hidden: o.mlp.clone(),
                    input: MlpInput::InteractionVectors,
                    batch_norm: true,
                    dropout: 0.0,
                }),
            )
        }
    };
    ModelConfig {
        fields,
        d: o.d,
        function_wise,
        linear: true,
        orders,
        mlp,
        dim_gates: None,
        dims_batch_norm: false,
        bn_eps: 1e-5,
        alpha_init: 1.0,
        beta_init: 1.0,
        init: Default::default(),
    }
}

/// Peak resident memory of this process so far, MiB (Linux; 0 elsewhere).
pub fn peak_rss_mb() -> f64 {
    rss_mb("VmHWM:")
}

/// A memory line of `/proc/self/status` in MiB (Linux; 0 elsewhere).
fn rss_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the benchmark. The rows are drawn up front (the stand-in for the memory-mapped cache);
/// a loader thread assembles each step's batch from them, as training does.
pub fn run(o: &BenchOptions) -> Result<BenchResult> {
    if o.fields < 2 || o.vocab < o.fields || o.d == 0 || o.batch < 2 || o.steps == 0 {
        bail!("the benchmark needs ≥ 2 fields, a vocabulary of ≥ 1 id per field, d ≥ 1, a batch of ≥ 2 and ≥ 1 timed step");
    }
    if o.model != BenchModel::Search && (o.mlp.is_empty() || o.mlp.contains(&0)) {
        bail!("--mlp needs at least one layer, each at least 1 wide (e.g. --mlp 400,400,400)");
    }
    if o.threads == 0 {
        bail!("--threads must be at least 1");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(o.threads)
        .build()?;
    pool.install(|| run_in_pool(o))
}

fn run_in_pool(o: &BenchOptions) -> Result<BenchResult> {
    let cfg = config(o);
    let per = (o.vocab / o.fields) as u32;
    let total = o.warmup + o.steps;
    // A pool of distinct rows, reused round-robin: enough that batches differ, bounded memory.
    let pool_rows = o.batch * total.min(32);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(o.seed);
    let ids: Vec<u32> = (0..pool_rows * o.fields)
        .map(|_| rng.gen_range(0..per))
        .collect();
    // Labels with signal (a few first-field ids click more), so the loss is not degenerate.
    let labels: Vec<f32> = (0..pool_rows)
        .map(|r| {
            let p = if ids[r * o.fields] % 7 == 0 { 0.6 } else { 0.2 };
            f32::from(rng.gen::<f32>() < p)
        })
        .collect();
    let mut model = Model::try_new(cfg, o.seed)?;
    let mut opt = Optimizers::new(1e-3, 0.0);
    let batches = pool_rows / o.batch;
    let rss_before_steps_mb = rss_mb("VmRSS:");
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Batch, Vec<f32>)>(2);
    let mut step_secs = Vec::with_capacity(o.steps);
    let mut wait = 0.0f64;
    std::thread::scope(|s| -> Result<()> {
        let (ids, labels) = (&ids, &labels);
        s.spawn(move || {
            for step in 0..total {
                let k = step % batches;
                let rows = k * o.batch..(k + 1) * o.batch;
                let matrix = ids[rows.start * o.fields..rows.end * o.fields].to_vec();
                let y = labels[rows].to_vec();
                if tx.send((Batch::from_matrix(matrix, o.batch), y)).is_err() {
                    return;
                }
            }
        });
        for step in 0..total {
            let w0 = Instant::now();
            let (batch, y) = rx.recv()?;
            let waited = w0.elapsed().as_secs_f64();
            let t0 = Instant::now();
            model
                .train_step(&batch, &y, &mut opt)
                .map_err(|e| anyhow::anyhow!("the benchmark's loss became {}", e.0))?;
            if step >= o.warmup {
                step_secs.push(t0.elapsed().as_secs_f64());
                wait += waited;
            }
        }
        Ok(())
    })?;
    let train_step = median(step_secs);
    // Inference: evaluation mode, no tape, same batch size.
    let mut infer_secs = Vec::new();
    for step in 0..total {
        let k = step % batches;
        let matrix = ids[k * o.batch * o.fields..(k + 1) * o.batch * o.fields].to_vec();
        let batch = Batch::from_matrix(matrix, o.batch);
        let t0 = Instant::now();
        let p = model.predict(&batch);
        if step >= o.warmup {
            infer_secs.push(t0.elapsed().as_secs_f64());
        }
        if p.iter().any(|x| !x.is_finite()) {
            bail!("the benchmark's predictions are not finite");
        }
    }
    let params = model.num_params();
    Ok(BenchResult {
        options: o.clone(),
        train_samples_per_s: o.batch as f64 / train_step,
        train_step_ms: train_step * 1e3,
        data_wait_ms: wait * 1e3,
        infer_samples_per_s: o.batch as f64 / median(infer_secs),
        peak_rss_mb: peak_rss_mb(),
        rss_before_steps_mb,
        state_mb: (params * 3 * 4) as f64 / (1024.0 * 1024.0),
        params,
        machine: Machine::here(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults (the flags' defaults) are the speed issue's contract shape.
    #[test]
    fn the_default_is_the_contract_shape() {
        let o = BenchOptions::default();
        assert_eq!(o.model, BenchModel::Deepfm);
        assert_eq!(
            (o.fields, o.vocab, o.d, o.batch, o.threads),
            (39, 1_000_000, 16, 2000, 2)
        );
        assert_eq!(o.mlp, vec![400, 400, 400]);
        assert!(o.warmup > 0 && o.steps >= 20);
        assert_eq!(o.seed, 1);
    }
}
