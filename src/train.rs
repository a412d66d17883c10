//! The training loop: shuffled mini-batches, evaluation on the validation split each epoch,
//! early stopping on validation AUC with patience, the best epoch restored and evaluated on test.

use crate::data::cache::Split;
use crate::data::Dataset;
use crate::metrics;
use crate::model::{FieldInfo, Model, Optimizers};
use crate::nn::embedding::Batch;
use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
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
    on_epoch: impl FnMut(&EpochLog),
) -> Result<TrainReport> {
    let quiet = crate::data::progress::Progress::hidden();
    fit_from(
        model,
        ds,
        opt,
        o,
        FitState::default(),
        &quiet,
        on_epoch,
        |_, _, _| Ok(()),
    )
}

/// Trains from `state` (a fresh one, or one a checkpoint restored together with the model and
/// optimizer), calling `checkpoint` after every epoch and showing the steps on `progress`.
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
pub fn fit_from(
    model: &mut Model,
    ds: &Dataset,
    opt: &mut Optimizers,
    o: &TrainOptions,
    state: FitState,
    progress: &crate::data::progress::Progress,
    mut on_epoch: impl FnMut(&EpochLog),
    mut checkpoint: impl FnMut(&Model, &Optimizers, &FitState) -> Result<()>,
) -> Result<TrainReport> {
    let train = &ds.splits[0];
    let (rows, labels) = (train.rows(), train.labels.data());
    let mut order: Vec<u32> = (0..rows as u32).collect();
    let FitState {
        epochs_done,
        mut logs,
        mut best,
        mut step_secs,
        mut step_rows,
    } = state;
    let stopped = |logs: &[EpochLog], best: &Option<(f64, usize, crate::model::Snapshot)>| {
        // `patience` epochs since the best one: stop (as the uninterrupted run would have).
        o.restore_best
            && best
                .as_ref()
                .is_some_and(|b| logs.len() - b.1 >= o.patience)
    };
    for epoch in (epochs_done + 1)..=o.epochs {
        if stopped(&logs, &best) {
            break;
        }
        model.start_epoch(o.seed, epoch);
        let t0 = Instant::now();
        // The epoch's order depends on (seed, epoch) alone, not on earlier epochs: a run resumed
        // at an epoch boundary sees the same batches as the uninterrupted run.
        for (i, r) in order.iter_mut().enumerate() {
            *r = i as u32;
        }
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(
            o.seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9),
        ));
        let (mut loss_sum, mut seen, mut secs, mut wait) = (0.0f64, 0usize, 0.0f64, 0.0f64);
        progress.start_steps(
            rows.div_ceil(o.batch_size) as u64,
            &format!("epoch {epoch}"),
        );
        // A loader thread assembles the batches from the memory-mapped split while the model
        // trains on the previous one; buffers go back to it for reuse.
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(Batch, Vec<f32>)>(2);
        let (empty_tx, empty_rx) = std::sync::mpsc::channel::<(Batch, Vec<f32>)>();
        for _ in 0..3 {
            empty_tx
                .send((Batch::default(), Vec::with_capacity(o.batch_size)))
                .expect("the channel is open");
        }
        let order = &order;
        std::thread::scope(|scope| -> Result<()> {
            // Owned here, so that an early return (a failed step) closes both channels and the
            // loader stops.
            let (full_rx, empty_tx) = (full_rx, empty_tx);
            scope.spawn(move || {
                // A batch of one row has no batch statistics; it is left out of this epoch.
                for chunk in order.chunks(o.batch_size).filter(|c| c.len() >= 2) {
                    let Ok((mut ids, mut y)) = empty_rx.recv() else {
                        return;
                    };
                    ids.fill(train, chunk.iter().map(|&r| r as usize));
                    y.clear();
                    y.extend(chunk.iter().map(|&r| labels[r as usize] as f32));
                    if full_tx.send((ids, y)).is_err() {
                        return;
                    }
                }
            });
            let mut step = 0;
            loop {
                let w0 = Instant::now();
                let Ok((ids, y)) = full_rx.recv() else {
                    break;
                };
                wait += w0.elapsed().as_secs_f64();
                let s0 = Instant::now();
                let loss = model.train_step(&ids, &y, opt).map_err(|e| {
                    anyhow::anyhow!("the training loss became {} at epoch {epoch}, step {}: lower the learning rate", e.0, step + 1)
                })?;
                secs += s0.elapsed().as_secs_f64();
                loss_sum += loss as f64 * y.len() as f64;
                seen += y.len();
                step += 1;
                progress.set(step as u64, seen as u64);
                // The loader may have finished: a failed send only means no more batches.
                let _ = empty_tx.send((ids, y));
            }
            Ok(())
        })?;
        progress.finish();
        step_secs += secs;
        step_rows += seen;
        let (valid_auc, valid_logloss, _) = evaluate(model, &ds.splits[1], o.eval_batch);
        let log = EpochLog {
            epoch,
            train_loss: loss_sum / seen.max(1) as f64,
            valid_auc,
            valid_logloss,
            samples_per_s: seen as f64 / secs.max(1e-9),
            seconds: t0.elapsed().as_secs_f64(),
            data_wait_seconds: wait,
        };
        on_epoch(&log);
        logs.push(log);
        if o.restore_best && best.as_ref().is_none_or(|(auc, _, _)| valid_auc > *auc) {
            best = Some((valid_auc, epoch, model.snapshot()));
        }
        let state = FitState {
            epochs_done: epoch,
            logs,
            best,
            step_secs,
            step_rows,
        };
        checkpoint(model, opt, &state)?;
        FitState {
            logs,
            best,
            step_secs,
            step_rows,
            ..
        } = state;
    }
    let best_epoch = match best {
        Some((_, epoch, snap)) => {
            model.restore(&snap);
            epoch
        }
        None => logs.len(),
    };
    model.calibration = None;
    let mut uncalibrated = None;
    if o.calibrate {
        uncalibrated = Some(evaluate(model, &ds.splits[2], o.eval_batch).1);
        let valid = &ds.splits[1];
        model.calibration = crate::calibration::Platt::fit(
            &logits(model, valid, o.eval_batch),
            valid.labels.data(),
        );
    }
    let (valid_auc, valid_logloss, _) = evaluate(model, &ds.splits[1], o.eval_batch);
    let (test_auc, test_logloss, infer) = evaluate(model, &ds.splits[2], o.eval_batch);
    Ok(TrainReport {
        epochs: logs,
        best_epoch,
        valid_auc,
        valid_logloss,
        test_auc,
        test_logloss,
        test_logloss_uncalibrated: uncalibrated.unwrap_or(test_logloss),
        calibration: model.calibration,
        params: model.num_params(),
        train_samples_per_s: step_rows as f64 / step_secs.max(1e-9),
        infer_samples_per_s: infer,
    })
}
