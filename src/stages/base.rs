//! `aim train`: the spec's base model alone (the baseline every AIM result is compared to),
//! checkpointed after every epoch so that an interrupted run resumes, and its outputs.

use super::Ctx;
use crate::model::{Model, ModelConfig, Optimizers};
use crate::spec::Spec;
use crate::train::{EpochLog, TrainOptions, TrainReport};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Trains the spec's base model, resuming from its checkpoint unless `fresh`.
pub fn run(
    spec: &Spec,
    spec_text: &str,
    fresh: bool,
    progress: &crate::data::progress::Progress,
    on_epoch: &mut dyn FnMut(&str, &EpochLog),
) -> Result<(Model, crate::data::Dataset, TrainReport)> {
    let (ds, _) = crate::data::prepare(spec, false, progress)?;
    let m = &spec.model;
    let cfg = ModelConfig::base(m, crate::train::fields(&ds, m.embedding_dim)?)?;
    let ckpt = crate::checkpoint::train_path(spec);
    if fresh {
        let _ = std::fs::remove_file(&ckpt);
    }
    let key = crate::checkpoint::train_key(spec, spec_text, &ds.meta.key);
    let mut ctx = Ctx {
        on_epoch,
        progress,
        checkpoint: Some((ckpt, key)),
    };
    let mut opt = Optimizers::new(m.optimizer.lr, m.optimizer.l2);
    let o = TrainOptions::for_model(m, spec.seed);
    let rows = ds.meta.splits[0].rows;
    let model = Model::try_new(cfg, spec.seed)?;
    eprintln!(
        "training {} on {} ({rows} rows, {} fields, {} parameters)",
        m.base.name(),
        spec.name,
        model.cfg.fields.len(),
        model.num_params()
    );
    let (model, report) = ctx.train(m.base.name(), model, &ds, &mut opt, &o)?;
    Ok((model, ds, report))
}

/// Writes the trained model's metrics (JSON and RON) and the saved model (safetensors, see
/// `crate::saved`) beside the spec's output; returns the metrics file's and the model's paths.
pub fn write(
    spec: &Spec,
    ds: &crate::data::Dataset,
    model: &Model,
    report: &TrainReport,
) -> Result<(PathBuf, PathBuf)> {
    let dir = spec
        .output
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let stem = format!("{}.train", spec.output_stem());
    let metrics = serde_json::json!({
        "spec": spec.name,
        "base": spec.model.base.name(),
        "seed": spec.seed,
        "best_epoch": report.best_epoch,
        "valid_auc": report.valid_auc,
        "valid_logloss": report.valid_logloss,
        "test_auc": report.test_auc,
        "test_logloss": report.test_logloss,
        "test_logloss_uncalibrated": report.test_logloss_uncalibrated,
        "calibration": report.calibration,
        "params": report.params,
        "train_samples_per_s": report.train_samples_per_s,
        "infer_samples_per_s": report.infer_samples_per_s,
        "epochs": report.epochs,
    });
    let json = dir.join(format!("{stem}.metrics.json"));
    crate::io::write_atomically(&json, serde_json::to_string_pretty(&metrics)?.as_bytes())?;
    crate::io::write_ron(&dir.join(format!("{stem}.metrics.ron")), report)?;
    let test = crate::data::meta::SplitMetrics {
        auc: report.test_auc,
        logloss: report.test_logloss,
    };
    let (saved, _) = crate::saved::save_beside_output(
        spec,
        ds,
        model,
        "aim train",
        &format!("{stem}.safetensors"),
        Some(test),
    )?;
    Ok((json, saved))
}
