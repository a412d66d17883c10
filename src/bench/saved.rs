//! `aim bench --saved`: the inference of a saved model, the figure `aim predict` is held to.

use super::*;

/// What timing a saved model's inference measured.
#[derive(Clone, Debug, Serialize)]
pub struct SavedBenchResult {
    /// The model file timed.
    pub model: String,
    /// Rows per batch.
    pub batch: usize,
    /// Timed batches (after the warm-up ones).
    pub steps: usize,
    /// Inference samples per second (median batch; evaluation mode, no tape).
    pub infer_samples_per_s: f64,
    /// Peak resident memory of the process, MiB.
    pub peak_rss_mb: f64,
    /// Trained values.
    pub params: usize,
    /// The machine it ran on.
    pub machine: Machine,
}

/// Times the inference of a saved model (what `aim predict` runs) on rows of uniformly drawn
/// ids of its fields' vocabularies, one id per multi-valued cell: the figure `aim predict`'s
/// throughput is held to, for exactly the model it scores.
pub fn run_saved(path: &std::path::Path, o: &BenchOptions) -> Result<SavedBenchResult> {
    if o.batch < 2 || o.steps == 0 || o.threads == 0 {
        bail!("the benchmark needs a batch of ≥ 2, ≥ 1 timed step and ≥ 1 thread");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(o.threads)
        .build()?;
    // Built inside the pool: a CUDA model may not cross threads.
    pool.install(|| run_saved_in_pool(path, o))
}

fn run_saved_in_pool(path: &std::path::Path, o: &BenchOptions) -> Result<SavedBenchResult> {
    let mut saved = crate::saved::open(path)?;
    let fields = saved.header.preprocess.fields.clone();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(o.seed);
    let mut draw = |vocab: usize| rng.gen_range(0..vocab.max(1) as u32);
    let total = o.warmup + o.steps;
    // A few distinct batches, reused round-robin, as `run` does.
    let batches: Vec<Batch> = (0..total.min(8))
        .map(|_| {
            let mut matrix = Vec::with_capacity(o.batch * fields.len());
            let mut multi = Vec::new();
            for _ in 0..o.batch {
                for f in fields.iter().filter(|f| !is_multi(f)) {
                    matrix.push(draw(f.vocab));
                }
            }
            for f in fields.iter().filter(|f| is_multi(f)) {
                let ids: Vec<u32> = (0..o.batch).map(|_| draw(f.vocab)).collect();
                multi.push(((0..=o.batch as u32).collect(), ids));
            }
            let single = fields.len() - multi.len();
            Batch::new(o.batch, single, matrix, multi).expect("one id per cell fills the batch")
        })
        .collect();
    let mut secs = Vec::with_capacity(o.steps);
    for step in 0..total {
        let t0 = Instant::now();
        let p = saved.model.predict(&batches[step % batches.len()]);
        if step >= o.warmup {
            secs.push(t0.elapsed().as_secs_f64());
        }
        if p.iter().any(|x| !x.is_finite()) {
            bail!("the saved model's predictions are not finite");
        }
    }
    Ok(SavedBenchResult {
        model: path.display().to_string(),
        batch: o.batch,
        steps: o.steps,
        infer_samples_per_s: o.batch as f64 / median(secs),
        peak_rss_mb: peak_rss_mb(),
        params: saved.model.num_params(),
        machine: Machine::here(),
    })
}

fn is_multi(f: &crate::saved::SavedField) -> bool {
    matches!(f.kind, crate::data::read::FieldKind::Multi { .. })
}
