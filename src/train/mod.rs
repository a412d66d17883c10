//! Training: its options, what it reports, and evaluation; the loop itself is [`Trainer`]
//! (`trainer.rs`): shuffled mini-batches, evaluation on the validation split each epoch, early
//! stopping on validation AUC with patience, the best epoch restored and evaluated on test.

mod trainer;
pub use trainer::{Hooks, OnCheckpoint, OnEpoch, Trainer};

use crate::data::cache::Split;
use crate::data::progress::Progress;
use crate::data::Dataset;
use crate::metrics;
use crate::model::{FieldInfo, Model, Optimizers};
use crate::nn::embedding::Batch;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// How to train.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// At most this many epochs.
    pub epochs: usize,
    /// Stop after this many epochs without a better validation AUC.
    pub patience: usize,
    /// Rows per step.
    pub batch_size: usize,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Rows per evaluation batch.
    pub eval_batch: usize,
    /// Early stopping: keep the best epoch's weights and stop after `patience` epochs without a
    /// better validation AUC. Off for the searches, which run all epochs and keep the final gates.
    pub restore_best: bool,
    /// Fit Platt scaling on the validation split after training ([`crate::calibration`]).
    pub calibrate: bool,
}

impl TrainOptions {
    /// Training of a spec's base model: its epochs, patience and batch, with early stopping.
    pub fn for_model(m: &crate::spec::ModelSpec, seed: u64) -> Self {
        TrainOptions {
            epochs: m.epochs,
            patience: m.patience,
            batch_size: m.batch_size,
            seed,
            eval_batch: 16_384,
            restore_best: true,
            calibrate: m.calibrate,
        }
    }
}

/// One epoch's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation AUC.
    pub valid_auc: f64,
    /// Validation log loss.
    pub valid_logloss: f64,
    /// Training samples per second (steps only, not evaluation).
    pub samples_per_s: f64,
    /// Wall seconds of the epoch, evaluation included.
    pub seconds: f64,
    /// Seconds the training steps waited for the loader thread's batches.
    #[serde(default)]
    pub data_wait_seconds: f64,
}

/// The outcome of training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Every epoch run.
    pub epochs: Vec<EpochLog>,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Its validation AUC.
    pub valid_auc: f64,
    /// Its validation log loss.
    pub valid_logloss: f64,
    /// Test AUC of the kept weights.
    pub test_auc: f64,
    /// Test log loss of the kept weights (calibrated when `calibration` is set).
    pub test_logloss: f64,
    /// Test log loss before calibration (equal to `test_logloss` without one).
    #[serde(default)]
    pub test_logloss_uncalibrated: f64,
    /// The Platt scaling fitted on validation, if any.
    #[serde(default)]
    pub calibration: Option<crate::calibration::Platt>,
    /// Trained values.
    pub params: usize,
    /// Training samples per second over all epochs (steps only).
    pub train_samples_per_s: f64,
    /// Inference samples per second on the test split.
    pub infer_samples_per_s: f64,
}

/// The model's view of a dataset's fields (all positions kept).
pub fn fields(ds: &Dataset, d: usize) -> Result<Vec<FieldInfo>> {
    if ds.meta.fields.is_empty() {
        bail!("the data has no fields");
    }
    Ok(ds
        .meta
        .fields
        .iter()
        .map(|f| FieldInfo {
            name: f.name.clone(),
            vocab: f.vocab,
            positions: (0..d).collect(),
            multi: f.column.is_none(),
        })
        .collect())
}

/// `score` on each batch of `batch` rows of a split, concatenated in row order.
fn scores(
    model: &mut Model,
    split: &Split,
    batch: usize,
    score: fn(&mut Model, &Batch) -> Vec<f32>,
) -> Vec<f32> {
    let rows = split.rows();
    let mut out = Vec::with_capacity(rows);
    let mut b = Batch::default();
    let mut r = 0;
    while r < rows {
        let n = batch.min(rows - r);
        b.fill(split, r..r + n);
        out.extend(score(model, &b));
        r += n;
    }
    out
}

/// The model's uncalibrated logits on a split, in row order.
pub fn logits(model: &mut Model, split: &Split, batch: usize) -> Vec<f32> {
    scores(model, split, batch, Model::predict_logits)
}

/// AUC, log loss and samples/s of the model on a split.
pub fn evaluate(model: &mut Model, split: &Split, batch: usize) -> (f64, f64, f64) {
    let t0 = Instant::now();
    let rows = split.rows();
    let probs = scores(model, split, batch, Model::predict);
    let secs = t0.elapsed().as_secs_f64();
    let labels = split.labels.data();
    let auc = metrics::auc(&probs, labels).unwrap_or(f64::NAN);
    (
        auc,
        metrics::logloss(&probs, labels),
        rows as f64 / secs.max(1e-9),
    )
}

/// Where a training run stands between epochs: what a checkpoint must keep besides the model
/// and optimizer state.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct FitState {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Their logs.
    pub logs: Vec<EpochLog>,
    /// Best validation AUC so far, its epoch and the model's values then.
    pub best: Option<(f64, usize, crate::model::Snapshot)>,
    /// Seconds spent in training steps so far.
    pub step_secs: f64,
    /// Rows trained on so far.
    pub step_rows: usize,
}

/// Trains `model` on `ds`; `on_epoch` sees each epoch as it ends.
pub fn fit(
    model: &mut Model,
    ds: &Dataset,
    opt: &mut Optimizers,
    o: &TrainOptions,
    mut on_epoch: impl FnMut(&EpochLog),
) -> Result<TrainReport> {
    let quiet = Progress::hidden();
    Trainer::new(ds, o, &quiet).fit(model, opt, FitState::default(), &mut OnEpoch(&mut on_epoch))
}
