//! The training loop, one function per step of it, and the hooks it reports through.

use super::{evaluate, logits, EpochLog, FitState, TrainOptions, TrainReport};
use crate::data::progress::Progress;
use crate::data::Dataset;
use crate::model::{Model, Optimizers};
use crate::nn::embedding::Batch;
use anyhow::Result;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::time::Instant;

/// What a training run tells its caller as it goes. Both do nothing unless implemented.
pub trait Hooks {
    /// Sees each epoch's numbers as it ends.
    fn epoch(&mut self, _log: &EpochLog) {}
    /// Sees the model, the optimizer and the run's state after each epoch: all that a resumed
    /// run needs.
    fn checkpoint(&mut self, _model: &Model, _opt: &Optimizers, _state: &FitState) -> Result<()> {
        Ok(())
    }
}

/// A closure that sees each epoch, and checkpoints nothing.
pub struct OnEpoch<F>(pub F);

impl<F: FnMut(&EpochLog)> Hooks for OnEpoch<F> {
    fn epoch(&mut self, log: &EpochLog) {
        (self.0)(log)
    }
}

/// A closure that checkpoints after each epoch, and shows nothing.
pub struct OnCheckpoint<F>(F);

impl<F: FnMut(&Model, &Optimizers, &FitState) -> Result<()>> OnCheckpoint<F> {
    /// `f` sees the model, optimizer and state after each epoch.
    pub fn new(f: F) -> Self {
        OnCheckpoint(f)
    }
}

impl<F: FnMut(&Model, &Optimizers, &FitState) -> Result<()>> Hooks for OnCheckpoint<F> {
    fn checkpoint(&mut self, model: &Model, opt: &Optimizers, state: &FitState) -> Result<()> {
        (self.0)(model, opt, state)
    }
}

/// The training loop over one dataset with one set of options, its steps shown on a progress
/// bar: [`Trainer::fit`] runs epochs until the budget or the patience ends, then restores the
/// best epoch, calibrates and evaluates.
pub struct Trainer<'a> {
    ds: &'a Dataset,
    o: &'a TrainOptions,
    progress: &'a Progress,
}

/// One epoch's steps: summed loss, rows, seconds in steps, seconds waiting for batches.
struct Steps {
    loss_sum: f64,
    rows: usize,
    secs: f64,
    wait: f64,
}

impl<'a> Trainer<'a> {
    /// A trainer on `ds` with `o`, showing its steps on `progress`.
    pub fn new(ds: &'a Dataset, o: &'a TrainOptions, progress: &'a Progress) -> Self {
        Trainer { ds, o, progress }
    }

    /// Trains `model` from `state` (a fresh one, or one a checkpoint restored together with the
    /// model and optimizer), calling `hooks` after every epoch.
    pub fn fit(
        &self,
        model: &mut Model,
        opt: &mut Optimizers,
        mut state: FitState,
        hooks: &mut impl Hooks,
    ) -> Result<TrainReport> {
        let mut order: Vec<u32> = (0..self.ds.splits[0].rows() as u32).collect();
        for epoch in (state.epochs_done + 1)..=self.o.epochs {
            if self.patience_ran_out(&state) {
                break;
            }
            let log = self.epoch(model, opt, epoch, &mut order, &mut state)?;
            hooks.epoch(&log);
            state.epochs_done = epoch;
            if self.o.restore_best
                && (state.best.as_ref()).is_none_or(|(auc, _, _)| log.valid_auc > *auc)
            {
                state.best = Some((log.valid_auc, epoch, model.snapshot()));
            }
            state.logs.push(log);
            hooks.checkpoint(model, opt, &state)?;
        }
        self.finish(model, state)
    }

    /// `patience` epochs since the best one: stop (as the uninterrupted run would have).
    fn patience_ran_out(&self, state: &FitState) -> bool {
        self.o.restore_best
            && (state.best.as_ref()).is_some_and(|b| state.logs.len() - b.1 >= self.o.patience)
    }

    /// Trains one epoch on a shuffled order of the training rows and evaluates on validation;
    /// adds its steps' time and rows to `state`.
    fn epoch(
        &self,
        model: &mut Model,
        opt: &mut Optimizers,
        epoch: usize,
        order: &mut [u32],
        state: &mut FitState,
    ) -> Result<EpochLog> {
        model.start_epoch(self.o.seed, epoch);
        let t0 = Instant::now();
        // The epoch's order depends on (seed, epoch) alone, not on earlier epochs: a run resumed
        // at an epoch boundary sees the same batches as the uninterrupted run.
        for (i, r) in order.iter_mut().enumerate() {
            *r = i as u32;
        }
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(
            self.o.seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9),
        ));
        let steps = self.steps(model, opt, epoch, order)?;
        state.step_secs += steps.secs;
        state.step_rows += steps.rows;
        let (valid_auc, valid_logloss, _) = evaluate(model, &self.ds.splits[1], self.o.eval_batch);
        Ok(EpochLog {
            epoch,
            train_loss: steps.loss_sum / steps.rows.max(1) as f64,
            valid_auc,
            valid_logloss,
            samples_per_s: steps.rows as f64 / steps.secs.max(1e-9),
            seconds: t0.elapsed().as_secs_f64(),
            data_wait_seconds: steps.wait,
        })
    }

    /// One step per batch of `order`. A loader thread assembles the batches from the
    /// memory-mapped split while the model trains on the previous one; buffers go back to it for
    /// reuse.
    fn steps(
        &self,
        model: &mut Model,
        opt: &mut Optimizers,
        epoch: usize,
        order: &[u32],
    ) -> Result<Steps> {
        let (o, train) = (self.o, &self.ds.splits[0]);
        let labels = train.labels.data();
        let mut done = Steps {
            loss_sum: 0.0,
            rows: 0,
            secs: 0.0,
            wait: 0.0,
        };
        self.progress.start_steps(
            train.rows().div_ceil(o.batch_size) as u64,
            &format!("epoch {epoch}"),
        );
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(Batch, Vec<f32>)>(2);
        let (empty_tx, empty_rx) = std::sync::mpsc::channel::<(Batch, Vec<f32>)>();
        for _ in 0..3 {
            empty_tx
                .send((Batch::default(), Vec::with_capacity(o.batch_size)))
                .expect("the channel is open");
        }
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
                done.wait += w0.elapsed().as_secs_f64();
                let s0 = Instant::now();
                let loss = model.train_step(&ids, &y, opt).map_err(|e| {
                    anyhow::anyhow!("the training loss became {} at epoch {epoch}, step {}: lower the learning rate", e.0, step + 1)
                })?;
                done.secs += s0.elapsed().as_secs_f64();
                done.loss_sum += loss as f64 * y.len() as f64;
                done.rows += y.len();
                step += 1;
                self.progress.set(step as u64, done.rows as u64);
                // The loader may have finished: a failed send only means no more batches.
                let _ = empty_tx.send((ids, y));
            }
            Ok(())
        })?;
        self.progress.finish();
        Ok(done)
    }

    /// After the last epoch: the best epoch's weights restored, Platt scaling fitted on
    /// validation (when asked), and the kept model evaluated on validation and test.
    fn finish(&self, model: &mut Model, state: FitState) -> Result<TrainReport> {
        let (o, ds) = (self.o, self.ds);
        let best_epoch = match state.best {
            Some((_, epoch, snap)) => {
                model.restore(&snap);
                epoch
            }
            None => state.logs.len(),
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
            epochs: state.logs,
            best_epoch,
            valid_auc,
            valid_logloss,
            test_auc,
            test_logloss,
            test_logloss_uncalibrated: uncalibrated.unwrap_or(test_logloss),
            calibration: model.calibration,
            params: model.num_params(),
            train_samples_per_s: state.step_rows as f64 / state.step_secs.max(1e-9),
            infer_samples_per_s: infer,
        })
    }
}
