//! `aim transfer ARCH SPEC --base B`: another base model re-trained with an architecture's
//! interaction-function pairs.

use crate::spec::BaseModel;
use std::path::{Path, PathBuf};

/// The flags of `aim transfer`.
#[derive(clap::Args)]
pub struct Args {
    /// The architecture file (`.ron`) that `aim run` wrote.
    pub arch: PathBuf,
    /// The spec whose data and model settings to use.
    pub spec: PathBuf,
    /// The base model to re-train (one with an MLP).
    #[arg(long, value_enum)]
    pub base: MlpBase,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The base models `aim transfer` can re-train: those with an MLP.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum MlpBase {
    /// DeepFM: FM and an MLP side by side.
    Deepfm,
    /// IPNN: an MLP over the embeddings and the pairwise products.
    Ipnn,
}

impl From<MlpBase> for BaseModel {
    fn from(b: MlpBase) -> Self {
        match b {
            MlpBase::Deepfm => BaseModel::Deepfm,
            MlpBase::Ipnn => BaseModel::Ipnn,
        }
    }
}

/// Trains `base` with the interactions of the architecture at `arch_path` and prints its result.
pub fn run(arch_path: &Path, spec_path: &Path, base: BaseModel, quiet: bool) -> super::Result {
    if !base.has_mlp() {
        return super::fail(format_args!(
            "`--base {}`: transfer re-trains a model with an MLP, `deepfm` or `ipnn`",
            base.name()
        ));
    }
    let (_, spec) = super::load(spec_path)?;
    let arch = crate::arch::Architecture::load(arch_path)?;
    let progress = crate::data::progress::Progress::new(quiet);
    if !quiet {
        super::epochs::header();
    }
    let (model, ds, r) = crate::stages::transfer::train(&arch, &spec, base, &progress, |e| {
        if !quiet {
            super::epochs::line(e);
        }
    })?;
    let (saved, _) = crate::saved::save_beside_output(
        &spec,
        &ds,
        &model,
        "aim transfer",
        &format!(
            "{}.transfer-{}.safetensors",
            spec.output_stem(),
            base.name()
        ),
        Some(crate::data::meta::SplitMetrics {
            auc: r.test_auc,
            logloss: r.test_logloss,
        }),
    )?;
    println!(
        "{} with the {} interactions of {}: best epoch {}, test AUC {:.5}, test logloss {:.5}, {} parameters",
        base.name(),
        arch.interactions.len(),
        arch_path.display(),
        r.best_epoch,
        r.test_auc,
        r.test_logloss,
        r.params
    );
    println!("wrote {}", saved.display());
    Ok(())
}
