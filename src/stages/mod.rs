//! The three AIM stages and the pipeline that runs them: search interaction-function pairs
//! (FIS + IFS), search embedding dimensions (EDS), re-train the found architecture.

pub mod base;
mod finished;
mod pipeline;
pub mod prune;
pub mod retrain;
pub mod search_dims;
pub mod search_interactions;
pub mod seeds;
pub mod transfer;

pub use finished::{finished_key, Finished};
pub use pipeline::{pipeline, Found};
pub use seeds::{baseline_seeds, retrain_seeds};

use crate::data::Dataset;
use crate::model::{FieldInfo, Model, Optimizers};
use crate::spec::InteractionFn;
use crate::train::{EpochLog, FitState, Hooks, TrainOptions, TrainReport, Trainer};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// A kept interaction: its fields and the non-zero gate of each kept function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    /// Field indices, ascending.
    pub fields: Vec<usize>,
    /// (function, α), strongest |α| first.
    pub alphas: Vec<(InteractionFn, f32)>,
}

impl Kept {
    /// The largest |α| of its functions.
    pub fn strength(&self) -> f32 {
        self.alphas.iter().map(|(_, a)| a.abs()).fold(0.0, f32::max)
    }
}

/// What the stages report to and where they checkpoint.
pub struct Ctx<'a> {
    /// Sees every epoch of every stage, with the stage's name.
    pub on_epoch: &'a mut dyn FnMut(&str, &EpochLog),
    /// The step progress bar.
    pub progress: &'a crate::data::progress::Progress,
    /// Where the stage in progress checkpoints after every epoch, and the run's key; `None`
    /// for no checkpoints.
    pub checkpoint: Option<(std::path::PathBuf, String)>,
}

impl Ctx<'_> {
    /// Reports nothing and checkpoints nothing.
    pub fn quiet(progress: &crate::data::progress::Progress) -> Ctx<'_> {
        // A closure without captures is zero-sized: leaking it allocates nothing.
        Ctx {
            on_epoch: Box::leak(Box::new(|_: &str, _: &EpochLog| {})),
            progress,
            checkpoint: None,
        }
    }
}

impl Ctx<'_> {
    /// Trains `m` as the stage `name` and returns it with its report. With a checkpoint, the
    /// stage resumes from its last finished epoch when it was interrupted, and its checkpoint
    /// is removed when it finishes.
    pub fn train(
        &mut self,
        name: &str,
        mut m: Model,
        ds: &Dataset,
        opt: &mut Optimizers,
        o: &TrainOptions,
    ) -> Result<(Model, TrainReport)> {
        let ckpt = (self.checkpoint.as_ref()).map(|(p, k)| (p.clone(), format!("{k}/{name}")));
        let state = match &ckpt {
            Some((p, k)) => crate::checkpoint::load(p, k, &mut m, opt)?,
            None => None,
        };
        if let Some(s) = &state {
            eprintln!("{name}: resuming from epoch {}", s.epochs_done);
        }
        let mut hooks = StageHooks {
            name,
            on_epoch: &mut *self.on_epoch,
            checkpoint: ckpt.as_ref(),
        };
        let r = Trainer::new(ds, o, self.progress).fit(
            &mut m,
            opt,
            state.unwrap_or_default(),
            &mut hooks,
        )?;
        if let Some((p, _)) = &ckpt {
            let _ = std::fs::remove_file(p);
        }
        Ok((m, r))
    }
}

/// A stage's epochs go to the run's epoch lines under its name, and its state to its
/// checkpoint file (with the run's key).
struct StageHooks<'a, 'b> {
    name: &'a str,
    on_epoch: &'a mut (dyn FnMut(&str, &EpochLog) + 'b),
    checkpoint: Option<&'a (std::path::PathBuf, String)>,
}

impl Hooks for StageHooks<'_, '_> {
    fn epoch(&mut self, log: &EpochLog) {
        (self.on_epoch)(self.name, log)
    }

    fn checkpoint(&mut self, model: &Model, opt: &Optimizers, state: &FitState) -> Result<()> {
        match self.checkpoint {
            Some((p, k)) => crate::checkpoint::save(p, k, model, opt, state),
            None => Ok(()),
        }
    }
}

/// The fields with only their kept positions (stage 2's result).
pub fn compact_fields(fields: &[FieldInfo], positions: &[Vec<usize>]) -> Vec<FieldInfo> {
    fields
        .iter()
        .zip(positions)
        .map(|(f, p)| FieldInfo {
            positions: p.clone(),
            ..f.clone()
        })
        .collect()
}

/// The fields with every position kept.
pub fn full_fields(ds: &Dataset, d: usize) -> Result<Vec<FieldInfo>> {
    crate::train::fields(ds, d)
}

/// A stage of `aim run`, for `--from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Stage {
    /// Stage 1: search interactions and functions.
    Interactions,
    /// Stage 2: search embedding dimensions.
    EmbeddingDims,
    /// Stage 3: re-train.
    Retrain,
}
