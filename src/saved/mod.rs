//! A saved model: one safetensors file that holds everything needed to score raw rows — the
//! weights, the model's configuration, and the preprocessing (format, numeric bucketing, each
//! field's vocabulary and its missing-value id). `aim run`, `aim train` and `aim transfer`
//! write one; `aim predict` and `examples/score.py` read it. The layout is documented in
//! README (Saved models).
//!
//! Tensors (all little-endian): every dense parameter by its name (`bias`, `mlp.in0`, …,
//! `order2.inner.alpha`), `emb{t}.{field}` `(vocab, kept dims)` per embedding table `t` and
//! field, `linear.{field}` `(vocab, 1)`, `{name}.running_mean` / `.running_var` per batch norm,
//! and `vocab.{field}.offsets` (u64, vocab + 1) with `vocab.{field}.bytes` (u8): the text of
//! id `k` is `bytes[offsets[k]..offsets[k+1]]` (id 0 is `<oov>`). The header's `aim` metadata
//! entry is the JSON of [`Header`].

use crate::data::meta::SplitMetrics;
use crate::data::read::FieldKind;
use crate::model::{Model, ModelConfig};
use crate::spec::{Bucketing, FileFormat, OnError};
use anyhow::{bail, Context, Result};
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

mod read;
mod write;

pub use read::{looks_saved, read, validate};
pub use write::{save_beside_output, write};

/// Bumped whenever the file's layout or meaning changes.
pub const VERSION: u32 = 1;

/// The largest embedding length a saved model may declare.
const MAX_D: usize = 4096;

/// A field as preprocessing sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedField {
    /// Its name (a column name, or the format's).
    pub name: String,
    /// How its raw values are read.
    pub kind: FieldKind,
    /// Ids 0..vocab; 0 is out-of-vocabulary.
    pub vocab: usize,
    /// The id of a missing value, if it has its own (else missing values are OOV).
    pub missing: Option<u32>,
}

/// How raw rows become ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// The input format (`None` for synthetic data, which has no raw rows).
    pub format: Option<FileFormat>,
    /// How numbers become categories.
    pub numeric: Bucketing,
    /// What a malformed row does.
    pub on_error: OnError,
    /// The fields, in the model's order.
    pub fields: Vec<SavedField>,
}

/// The metadata of a saved model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// [`VERSION`] when written.
    pub version: u32,
    /// What wrote it: `aim run`, `aim train`, `aim transfer`.
    pub written_by: String,
    /// The spec's experiment name.
    pub spec: String,
    /// The model's shape.
    pub config: ModelConfig,
    /// The preprocessing of raw rows.
    pub preprocess: Preprocess,
    /// Platt scaling of the logit, when the model is calibrated.
    pub calibration: Option<crate::calibration::Platt>,
    /// Test AUC and log loss as the writer reported them.
    pub test: Option<SplitMetrics>,
}

/// A saved model, read back: the model, its header, and the text of every id.
pub struct Saved {
    /// The model, in evaluation mode.
    pub model: Model,
    /// Its metadata.
    pub header: Header,
    /// Per field, the text of each id (index 0 is `<oov>`).
    pub vocab: Vec<Vec<Vec<u8>>>,
}

/// The preprocessing of a dataset's cache: fields, vocabularies (read from `vocab.ron`) and
/// the spec's format settings.
pub fn preprocess(
    spec: &crate::spec::Spec,
    ds: &crate::data::Dataset,
) -> Result<(Preprocess, Vec<Vec<Vec<u8>>>)> {
    let format = match &spec.data.source {
        crate::spec::DataSource::Files { format, .. } => Some(format.clone()),
        crate::spec::DataSource::Synthetic(_) => None,
    };
    let vocab = ds.vocab()?;
    let pre = Preprocess {
        format,
        numeric: spec.data.numeric,
        on_error: spec.data.on_error,
        fields: ds
            .meta
            .fields
            .iter()
            .map(|f| SavedField {
                name: f.name.clone(),
                kind: f.kind,
                vocab: f.vocab,
                missing: f.missing,
            })
            .collect(),
    };
    Ok((pre, vocab.into_iter().map(|(_, v)| v).collect()))
}

/// The content hash of a saved model's bytes.
pub fn content_hash(bytes: &[u8]) -> String {
    crate::hash::Fnv::default().bytes(bytes).hex()
}

/// Reads the model a user names: a model file, or the architecture file that names one (its
/// content hash must match).
pub fn open(path: &Path) -> Result<Saved> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if looks_saved(&bytes) {
        return read(path, &bytes);
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        anyhow::anyhow!(
            "{}: neither an aim model file nor an architecture file",
            path.display()
        )
    })?;
    let arch: crate::arch::Architecture = ron::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "{}: neither an aim model file nor an architecture file ({e})",
            path.display()
        )
    })?;
    let Some(m) = &arch.model else {
        bail!(
            "{}: this architecture names no saved model (written by an older aim, or without a `retrain` block): re-run `aim run`",
            path.display()
        );
    };
    let file = path.parent().unwrap_or(Path::new("")).join(&m.file);
    let bytes = std::fs::read(&file).with_context(|| {
        format!(
            "cannot read {}, the model {} names",
            file.display(),
            path.display()
        )
    })?;
    let hash = content_hash(&bytes);
    if hash != m.hash {
        bail!(
            "{}: its content hash is {hash}, but {} names hash {}: the model was replaced or damaged after `aim run` wrote both (re-run `aim run`)",
            file.display(),
            path.display(),
            m.hash
        );
    }
    read(&file, &bytes)
}
