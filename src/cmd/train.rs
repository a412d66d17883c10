//! `aim train SPEC`: the spec's base model alone.

use std::path::{Path, PathBuf};

/// The flags of `aim train`.
#[derive(clap::Args)]
pub struct Args {
    /// The spec file (`.aim`).
    pub spec: PathBuf,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
    /// Start over even when a checkpoint of this run exists.
    #[arg(long)]
    pub fresh: bool,
}

/// Trains the base model (resuming unless `fresh`), writes its outputs and prints its result.
pub fn run(path: &Path, quiet: bool, fresh: bool) -> super::Result {
    let (loaded, spec) = super::load(path)?;
    let progress = crate::data::progress::Progress::new(quiet);
    let mut on_epoch = super::epochs::per_stage(quiet);
    let (model, ds, report) =
        crate::stages::base::run(&spec, &loaded.source.text, fresh, &progress, &mut on_epoch)?;
    let (json, saved) = crate::stages::base::write(&spec, &ds, &model, &report)?;
    println!(
        "{}: best epoch {}, test AUC {:.5}, test logloss {:.5}, {} parameters, {:.0} train samples/s, {:.0} inference samples/s",
        spec.model.base.name(),
        report.best_epoch,
        report.test_auc,
        report.test_logloss,
        report.params,
        report.train_samples_per_s,
        report.infer_samples_per_s
    );
    println!("wrote {} and {}", json.display(), saved.display());
    Ok(())
}
