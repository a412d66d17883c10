//! The three AIM stages and the pipeline that runs them: search interaction-function pairs
//! (FIS + IFS), search embedding dimensions (EDS), re-train the found architecture.

pub mod base;
pub mod prune;
pub mod retrain;
pub mod search_dims;
pub mod search_interactions;
pub mod seeds;
pub mod transfer;

pub use seeds::{baseline_seeds, retrain_seeds};

use crate::data::Dataset;
use crate::model::{FieldInfo, Model, ModelConfig, Optimizers};
use crate::spec::InteractionFn;
use crate::train::{EpochLog, TrainOptions, TrainReport};
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

/// Trains a model of `cfg` as the stage `name` and returns it with its report. With a
/// checkpoint in `ctx`, the stage resumes from its last finished epoch when it was interrupted,
/// and its checkpoint is removed when it finishes.
#[allow(clippy::too_many_arguments)]
pub fn train(
    cfg: ModelConfig,
    seed: u64,
    ds: &Dataset,
    opt: &mut Optimizers,
    o: &TrainOptions,
    name: &str,
    ctx: &mut Ctx<'_>,
    prepare: impl FnOnce(&mut Model),
) -> Result<(Model, TrainReport)> {
    let mut m = Model::new(cfg, seed);
    prepare(&mut m);
    let ckpt = ctx
        .checkpoint
        .as_ref()
        .map(|(p, k)| (p.clone(), format!("{k}/{name}")));
    let state = match &ckpt {
        Some((p, k)) => crate::checkpoint::load(p, k, &mut m, opt)?,
        None => None,
    };
    if let Some(s) = &state {
        eprintln!("{name}: resuming from epoch {}", s.epochs_done);
    }
    let on_epoch = &mut *ctx.on_epoch;
    let r = crate::train::fit_from(
        &mut m,
        ds,
        opt,
        o,
        state.unwrap_or_default(),
        ctx.progress,
        |e| on_epoch(name, e),
        |m, opt, s| match &ckpt {
            Some((p, k)) => crate::checkpoint::save(p, k, m, opt, s),
            None => Ok(()),
        },
    )?;
    if let Some((p, _)) = &ckpt {
        let _ = std::fs::remove_file(p);
    }
    Ok((m, r))
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

/// The finished stages of a run, saved beside its output so that an interrupted `aim run`
/// resumes after the last finished stage.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Finished {
    /// The run: a hash of the spec text and the data's cache key.
    pub key: String,
    /// Stage 1's result.
    pub interactions: Option<Vec<search_interactions::OrderResult>>,
    /// Stage 2's result.
    pub dims: Option<search_dims::DimsResult>,
}

impl Finished {
    /// Where a spec's finished stages are kept.
    pub fn path(spec: &crate::spec::Spec) -> std::path::PathBuf {
        let dir = spec
            .output
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        dir.join(format!("{}.stages.ron", spec.name))
    }

    /// The finished stages of the run `key`, if the file holds that run's.
    pub fn load(path: &std::path::Path, key: &str) -> Finished {
        let found: Option<Finished> = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| ron::from_str(&t).ok());
        match found {
            Some(f) if f.key == key => f,
            _ => Finished {
                key: key.to_string(),
                ..Default::default()
            },
        }
    }
}

/// The key of a spec's finished stages: its text, the checked spec with every default filled in
/// (a finished stage of an aim whose defaults differed is not reused) and the data's key.
pub fn finished_key(spec: &crate::spec::Spec, spec_text: &str, ds: &Dataset) -> String {
    crate::data::hash::Fnv::default()
        .str(spec_text)
        .str(&format!("{spec:?}"))
        .str(&ds.meta.key)
        .hex()
}

/// What a run of the stages found.
pub struct Found {
    /// The architecture (written by the caller).
    pub arch: crate::arch::Architecture,
    /// The re-trained model, when the spec has a `retrain` block.
    pub model: Option<Model>,
    /// The data it was trained on.
    pub data: Dataset,
}

/// Runs every stage of a spec and returns what it found. Stages before `from` that a previous
/// run of the same spec and data finished are reused.
pub fn pipeline(
    spec: &crate::spec::Spec,
    spec_text: &str,
    from: Option<Stage>,
    progress: &crate::data::progress::Progress,
    on_epoch: &mut dyn FnMut(&str, &EpochLog),
) -> Result<Found> {
    use crate::arch::*;
    use crate::spec::InteractionFn;
    let (ds, _) = crate::data::prepare(spec, false, progress)?;
    let d = spec.model.embedding_dim;
    let fields = full_fields(&ds, d)?;
    let base = ModelConfig::base(&spec.model, fields.clone())?;
    let base_params = base.num_params();
    let base_table: usize = fields.iter().map(|f| f.vocab * f.positions.len()).sum();
    // One embedding table per searched function when the search is function-wise.
    let tables = spec.search_interactions.as_ref().map_or(1, |s| {
        if s.embeddings == crate::spec::EmbeddingSharing::FunctionWise {
            s.functions.len().max(1)
        } else {
            1
        }
    });
    let base_function_wise = base_params + (tables - 1) * base_table;
    let key = finished_key(spec, spec_text, &ds);
    let finished_path = Finished::path(spec);
    let mut finished = Finished::load(&finished_path, &key);
    // By default every finished stage is reused: only the re-train (never saved) runs again.
    let from = from.unwrap_or(Stage::Retrain);
    if from <= Stage::Interactions {
        finished.interactions = None;
    }
    if from <= Stage::EmbeddingDims {
        finished.dims = None;
    }
    let mut ctx = Ctx {
        on_epoch,
        progress,
        checkpoint: Some((finished_path.with_extension("ckpt"), key.clone())),
    };
    let mut stages = Vec::new();
    // Stage 1 (or, without a search block, every pair with the inner product, as FM).
    let interactions = match (&spec.search_interactions, finished.interactions.clone()) {
        (Some(_), Some(done)) => {
            eprintln!(
                "search interactions: reusing the finished stage ({})",
                finished_path.display()
            );
            done
        }
        (Some(s), None) => {
            let r = search_interactions::run(s, &spec.model, &fields, &ds, spec.seed, &mut ctx)?;
            finished.interactions = Some(r.clone());
            crate::data::cache::write_ron(&finished_path, &finished)?;
            r
        }
        (None, _) => vec![search_interactions::OrderResult {
            order: 2,
            candidates: fields.len() * (fields.len() - 1) / 2,
            kept: crate::model::all_pairs(fields.len())
                .into_iter()
                .map(|t| Kept {
                    fields: t,
                    alphas: vec![(InteractionFn::Inner, 1.0)],
                })
                .collect(),
            record: StageRecord {
                name: "search interactions (skipped)".into(),
                seconds: 0.0,
                params: 0,
                valid_auc: f64::NAN,
                valid_logloss: f64::NAN,
                train_samples_per_s: 0.0,
                epochs: Vec::new(),
            },
            threshold: None,
        }],
    };
    let before = interactions.first().map_or(0, |r| r.record.params);
    stages.extend(
        interactions
            .iter()
            .filter(|r| r.record.seconds > 0.0)
            .map(|r| r.record.clone()),
    );
    // Stage 2.
    let (positions, dims_threshold) = match (&spec.search_dims, finished.dims.clone()) {
        (Some(_), Some(done)) => {
            eprintln!(
                "search embedding_dims: reusing the finished stage ({})",
                finished_path.display()
            );
            stages.push(done.record.clone());
            (done.positions, done.threshold)
        }
        (Some(dims), None) => {
            let r = search_dims::run(
                dims,
                spec.search_interactions.as_ref(),
                &interactions,
                &spec.model,
                &fields,
                &ds,
                spec.seed,
                &mut ctx,
            )?;
            stages.push(r.record.clone());
            finished.dims = Some(r.clone());
            crate::data::cache::write_ron(&finished_path, &finished)?;
            (r.positions, r.threshold)
        }
        (None, _) => (vec![(0..d).collect(); fields.len()], None),
    };
    let compact = compact_fields(&fields, &positions);
    // Stage 3.
    let mut retrained = None;
    let (after, metrics) = match &spec.retrain {
        Some(rt) => {
            let (m, report, record) = retrain::run(
                rt,
                spec.search_interactions.as_ref(),
                &interactions,
                &spec.model,
                compact.clone(),
                &ds,
                spec.seed,
                &mut ctx,
            )?;
            stages.push(record);
            let metrics = RetrainMetrics {
                best_epoch: report.best_epoch,
                valid_auc: report.valid_auc,
                valid_logloss: report.valid_logloss,
                test_auc: report.test_auc,
                test_logloss: report.test_logloss,
                test_logloss_uncalibrated: Some(report.test_logloss_uncalibrated),
                calibration: report.calibration,
            };
            let params = m.num_params();
            retrained = Some(m);
            (params, Some(metrics))
        }
        None => (
            retrain::config(
                &crate::spec::Retrain {
                    optimizer: Default::default(),
                    mlp: vec![],
                    input: Default::default(),
                    epochs: 1,
                    patience: 1,
                },
                spec.search_interactions.as_ref(),
                &interactions,
                &spec.model,
                compact.clone(),
            )
            .num_params(),
            None,
        ),
    };
    let names = |t: &[usize]| {
        t.iter()
            .map(|&i| fields[i].name.clone())
            .collect::<Vec<_>>()
    };
    let arch = Architecture {
        spec: spec.name.clone(),
        spec_hash: crate::data::hash::Fnv::default()
            .bytes(spec_text.as_bytes())
            .hex(),
        data: ds.meta.key.clone(),
        seed: spec.seed,
        embedding_dim: d,
        dims_threshold,
        function_wise: spec
            .search_interactions
            .as_ref()
            .is_none_or(|s| s.embeddings == crate::spec::EmbeddingSharing::FunctionWise),
        fields: compact
            .iter()
            .map(|f| ArchField {
                name: f.name.clone(),
                vocab: f.vocab,
                dim: f.positions.len(),
                positions: f.positions.clone(),
            })
            .collect(),
        orders: interactions
            .iter()
            .map(|r| ArchOrder {
                order: r.order,
                candidates: r.candidates,
                kept: r.kept.len(),
                kept_pairs: r.kept.iter().map(|k| k.alphas.len()).sum(),
                threshold: r.threshold.clone(),
            })
            .collect(),
        interactions: interactions
            .iter()
            .flat_map(|r| {
                r.kept.iter().map(move |k| ArchInteraction {
                    fields: names(&k.fields),
                    order: r.order,
                    functions: k.alphas.iter().map(|(f, _)| f.name().to_string()).collect(),
                    alphas: k
                        .alphas
                        .iter()
                        .map(|(f, a)| (f.name().to_string(), *a))
                        .collect(),
                })
            })
            .collect(),
        params: Params {
            base: base_params,
            before,
            after,
            base_function_wise,
        },
        stages,
        metrics: Metrics {
            retrain: metrics,
            seeds: None,
            baselines: vec![],
        },
        model: None,
    };
    Ok(Found {
        arch,
        model: retrained,
        data: ds,
    })
}
