//! Turning what a user has on disk (or a generator) into the id matrices training reads.
//!
//! [`prepare`] returns the cache for a spec's `data` block, building it when the inputs or the
//! settings changed: readers (`read/`) parse lines, `ingest` builds vocabularies and splits,
//! `synthetic` generates rows with planted truth, `cache` stores and maps the result and `meta`
//! is what a cache records about itself.

pub mod batch;
pub mod cache;
pub mod export;
pub mod ingest;
pub mod meta;
pub mod npy;
pub mod progress;
pub mod read;
pub mod split;
pub mod summary;
pub mod synthetic;
pub mod vocab;

pub use batch::{Batch, Source};
pub use cache::Dataset;
pub use meta::Meta;

use crate::spec::{Bucketing, DataSource, FileFormat, OnError, Spec, SyntheticSpec};
use anyhow::Result;
use serde::Serialize;
use std::path::PathBuf;

/// What `prepare` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// An existing cache matched the inputs and settings.
    Reused,
    /// The cache was built now.
    Built,
}

/// Everything that changes the processed data: the cache key is a hash of this and of the input
/// files' identities.
#[derive(Serialize)]
enum Settings<'a> {
    Files {
        format: &'a FileFormat,
        split: Option<[f64; 3]>,
        shuffle: bool,
        seed: u64,
        min_count: u32,
        numeric: Bucketing,
        on_error: OnError,
    },
    Synthetic {
        spec: &'a SyntheticSpec,
        split: [f64; 3],
        seed: u64,
    },
}

/// The cache key of a spec's data (reads the head of every input file).
pub fn cache_key(spec: &Spec) -> Result<String> {
    let d = &spec.data;
    Ok(match &d.source {
        DataSource::Synthetic(s) => cache::key(
            &Settings::Synthetic {
                spec: s,
                split: d.split.expect("synthetic data is split"),
                seed: spec.seed,
            },
            &[],
        ),
        DataSource::Files { format, .. } => {
            let ids = input_files(spec)
                .iter()
                .map(|p| cache::file_identity(p))
                .collect::<Result<Vec<_>>>()?;
            let settings = Settings::Files {
                format,
                split: d.split,
                shuffle: d.shuffle,
                seed: spec.seed,
                min_count: d.min_count,
                numeric: d.numeric,
                on_error: d.on_error,
            };
            cache::key(&settings, &ids)
        }
    })
}

/// The spec's input files, in the order train, valid, test.
pub fn input_files(spec: &Spec) -> Vec<PathBuf> {
    match &spec.data.source {
        DataSource::Synthetic(_) => vec![],
        DataSource::Files {
            train, valid, test, ..
        } => [Some(train), valid.as_ref(), test.as_ref()]
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
    }
}

/// The processed data of a spec: the existing cache when it matches, else a new one.
pub fn prepare(
    spec: &Spec,
    rebuild: bool,
    progress: &progress::Progress,
) -> Result<(Dataset, CacheUse)> {
    let d = &spec.data;
    for f in input_files(spec) {
        if !f.is_file() {
            anyhow::bail!(
                "{}: no such file (the spec's `data` block names it)",
                f.display()
            );
        }
    }
    let key = cache_key(spec)?;
    let dir = d.cache.join(&key);
    if !rebuild && dir.join("meta.ron").is_file() {
        return Ok((Dataset::open(&dir)?, CacheUse::Reused));
    }
    let building = cache::Building::start(&d.cache, &key)?;
    let mut meta = match &d.source {
        DataSource::Synthetic(s) => synthetic::generate(
            s,
            d.split.expect("synthetic data is split"),
            spec.seed,
            &building,
        )?,
        DataSource::Files { format, .. } => {
            let mut reader: Option<Box<dyn read::Reader>> = match format {
                FileFormat::Criteo => Some(Box::new(read::Criteo::default())),
                FileFormat::Avazu => Some(Box::new(read::Avazu::default())),
                FileFormat::Libfm => Some(Box::new(read::Libfm::default())),
                FileFormat::Csv(c) => Some(Box::new(read::Csv::new(c.clone()))),
                FileFormat::Parquet(_) => None,
            };
            let input = match (&mut reader, format) {
                (Some(r), _) => ingest::Input::Lines(r.as_mut()),
                (None, FileFormat::Parquet(c)) => ingest::Input::Parquet(c),
                (None, _) => unreachable!("every other format has a reader"),
            };
            let splitting = match d.split {
                None => ingest::Splitting::ByFile,
                Some(fractions) => ingest::Splitting::Fractions {
                    fractions,
                    shuffle: d.shuffle,
                    seed: spec.seed,
                },
            };
            let opts = ingest::Options {
                on_error: d.on_error,
                numeric: d.numeric,
                min_count: d.min_count,
                splitting,
            };
            ingest::ingest(input, &input_files(spec), &opts, &building, progress)?
        }
    };
    meta.key = key;
    let dir = building.finish(&meta)?;
    Ok((Dataset::open(&dir)?, CacheUse::Built))
}
