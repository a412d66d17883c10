//! `aim run --seeds N --baseline B`: the re-train repeated over seeds, the base models trained on
//! the same seeds, and Welch's t-tests between them.

use super::{compact_fields, full_fields, retrain, Ctx, Finished};
use crate::arch::{Baseline, SeedMetrics};
use crate::model::{Model, ModelConfig, Optimizers};
use crate::spec::{BaseModel, Spec};
use crate::train::{TrainOptions, TrainReport};
use anyhow::{Context, Result};

/// The re-train over `seeds` and each of `baselines` over the same seeds, t-tested against it.
pub fn repeat(
    spec: &Spec,
    spec_text: &str,
    seeds: &[u64],
    baselines: &[BaseModel],
    progress: &crate::data::progress::Progress,
) -> Result<(SeedMetrics, Vec<Baseline>)> {
    let mine = SeedMetrics::new(
        seeds.to_vec(),
        &retrain_seeds(spec, spec_text, seeds, progress)?,
    );
    let mut out = Vec::new();
    for &b in baselines {
        let theirs = SeedMetrics::new(seeds.to_vec(), &baseline_seeds(spec, b, seeds, progress)?);
        out.push(Baseline {
            base: b.name().to_string(),
            p_auc: crate::stats::welch_p(&mine.test_auc, &theirs.test_auc),
            p_logloss: crate::stats::welch_p(&mine.test_logloss, &theirs.test_logloss),
            metrics: theirs,
        });
    }
    Ok((mine, out))
}

/// Re-trains the found architecture with each of `seeds` (the search stages must have finished:
/// they are read from the saved stages) and returns each run's test AUC and log loss.
pub fn retrain_seeds(
    spec: &Spec,
    spec_text: &str,
    seeds: &[u64],
    progress: &crate::data::progress::Progress,
) -> Result<Vec<TrainReport>> {
    let (ds, _) = crate::data::prepare(spec, false, progress)?;
    // Checked here too, before any model trains (`retrain::run` reads the block itself).
    spec.retrain
        .as_ref()
        .context("`--seeds` repeats the re-train: the spec needs a `retrain` block")?;
    let key = super::finished_key(spec, spec_text, &ds);
    let finished = Finished::load(&Finished::path(spec), &key);
    let interactions = finished
        .interactions
        .context("`--seeds` needs the finished interaction search of this spec")?;
    let d = spec.model.embedding_dim;
    let fields = full_fields(&ds, d)?;
    let positions = finished
        .dims
        .map_or_else(|| vec![(0..d).collect(); fields.len()], |r| r.positions);
    let compact = compact_fields(&fields, &positions);
    let mut reports = Vec::new();
    for &seed in seeds {
        let (_, report, _) = retrain::run(
            spec,
            seed,
            &interactions,
            compact.clone(),
            &ds,
            &mut Ctx::quiet(progress),
        )?;
        reports.push(report);
    }
    Ok(reports)
}

/// Trains `base` (the spec's model block otherwise) with each of `seeds`; returns each run's
/// test AUC and log loss.
pub fn baseline_seeds(
    spec: &Spec,
    base: BaseModel,
    seeds: &[u64],
    progress: &crate::data::progress::Progress,
) -> Result<Vec<TrainReport>> {
    let (ds, _) = crate::data::prepare(spec, false, progress)?;
    let model = crate::spec::ModelSpec {
        base,
        ..spec.model.clone()
    };
    let mut reports = Vec::new();
    for &seed in seeds {
        let cfg = ModelConfig::base(&model, full_fields(&ds, model.embedding_dim)?)?;
        let mut opt = Optimizers::new(model.optimizer.lr, model.optimizer.l2);
        let (_, r) = Ctx::quiet(progress).train(
            "baseline",
            Model::try_new(cfg, seed)?,
            &ds,
            &mut opt,
            &TrainOptions::for_model(&model, seed),
        )?;
        reports.push(r);
    }
    Ok(reports)
}
