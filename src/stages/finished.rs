//! The finished stages of a run, kept beside its output so that an interrupted `aim run`
//! resumes after the last finished stage, and the key that says whose they are.

use super::{search_dims, search_interactions};
use crate::data::Dataset;
use serde::{Deserialize, Serialize};

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
        spec.beside_output("stages.ron")
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

/// The key of a spec's finished stages (see [`crate::io::run_key`]).
pub fn finished_key(spec: &crate::spec::Spec, spec_text: &str, ds: &Dataset) -> String {
    crate::io::run_key("stages", spec, spec_text, &ds.meta.key)
}
