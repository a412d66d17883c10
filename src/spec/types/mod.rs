//! The checked, typed form of a spec: what every later stage of a run reads.
//!
//! Nothing here can be invalid: ranges, required keys and cross-key rules were checked when the
//! value was built (see `check.rs`). Defaults follow the AIM paper where it gives one.

mod data;
mod model;
mod stages;

pub use crate::nn::function::InteractionFn;
pub use data::*;
pub use model::*;
pub use stages::*;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One experiment: data, base model and the AIM stages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// The experiment's name (`experiment "frappe"`).
    pub name: String,
    /// Seed for every random choice of the run (splits, init, shuffling, synthetic data).
    pub seed: u64,
    /// Where the rows come from and how they are turned into ids.
    pub data: DataSpec,
    /// The base model, also the baseline that `aim train` trains.
    pub model: ModelSpec,
    /// Stage 1 (FIS + IFS); `None` when the spec has no `search interactions` block.
    pub search_interactions: Option<InteractionSearch>,
    /// Stage 2 (EDS); `None` when the spec has no `search embedding_dims` block.
    pub search_dims: Option<DimSearch>,
    /// Stage 3; `None` when the spec has no `retrain` block.
    pub retrain: Option<Retrain>,
    /// Where the architecture file is written (resolved against the spec's folder).
    pub output: PathBuf,
}

impl Spec {
    /// The name every file written beside the output starts with: the output's file name
    /// without `.arch.ron` (or its extension), so that two specs of one experiment name with
    /// different outputs keep apart their stages, checkpoints and models.
    pub fn output_stem(&self) -> String {
        let name = self
            .output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = match name.strip_suffix(".arch.ron") {
            Some(s) => s.to_string(),
            None => match name.rsplit_once('.') {
                Some((s, _)) if !s.is_empty() => s.to_string(),
                _ => name,
            },
        };
        if stem.is_empty() {
            "aim".into()
        } else {
            stem
        }
    }

    /// The file `{output stem}.{suffix}` in the output's folder.
    pub fn beside_output(&self, suffix: &str) -> PathBuf {
        let dir = self.output.parent().unwrap_or(std::path::Path::new(""));
        dir.join(format!("{}.{suffix}", self.output_stem()))
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::{load_source, Source};

    fn spec(extra: &str) -> crate::spec::Loaded {
        let text = format!(
            "experiment \"e\" {{\n  data {{\n    format = synthetic\n    rows = 1000\n    fields = 3\n  }}\n  model {{\n  }}\n{extra}}}\n"
        );
        load_source(Source::new("specs/e.aim", text))
    }

    #[test]
    fn files_beside_the_output_are_named_after_it_not_the_experiment() {
        for (output, stages) in [
            ("out/a.arch.ron", "specs/out/a.stages.ron"),
            ("out/b.ron", "specs/out/b.stages.ron"),
            ("c", "specs/c.stages.ron"),
        ] {
            let l = spec(&format!("  output = \"{output}\"\n"));
            let s = l.spec.expect("valid");
            assert_eq!(s.beside_output("stages.ron"), std::path::Path::new(stages));
        }
        // The default output keeps the names that runs wrote before.
        let s = spec("").spec.expect("valid");
        assert_eq!(s.output_stem(), "e");
    }

    #[test]
    fn a_hand_set_grda_threshold_asks_for_its_reason() {
        let hand = "  search interactions {\n    optimizer = grda(c = 0.05)\n  }\n";
        let l = spec(hand);
        let w: Vec<String> = l.diagnostics.0.iter().map(|d| d.message.clone()).collect();
        assert!(w.iter().any(|m| m.contains("`c` is set by hand")), "{w:?}");
        let why = "  search interactions {\n    optimizer = grda(c = 0.05)\n    reason = \"faster\"\n  }\n";
        let l = spec(why);
        assert!(l.diagnostics.0.is_empty(), "{:?}", l.diagnostics.0);
        let s = l.spec.expect("valid");
        assert_eq!(
            s.search_interactions.as_ref().unwrap().reason.as_deref(),
            Some("faster")
        );
        let plan = crate::plan::Plan::new(s).to_string();
        assert!(plan.contains("reason   faster"), "{plan}");
        // `c = auto` and no `c` at all need no reason; an order block's own `c` does.
        for ok in ["grda(c = auto)", "grda(lr = 0.5)"] {
            let l = spec(&format!(
                "  search interactions {{\n    optimizer = {ok}\n  }}\n"
            ));
            assert!(l.diagnostics.0.is_empty(), "{ok}: {:?}", l.diagnostics.0);
        }
        let order = "  search interactions {\n    max_order = 3\n    order 3 {\n      optimizer = grda(c = 0.01)\n    }\n  }\n  search embedding_dims {\n    optimizer = grda(c = 0.01)\n  }\n";
        let l = spec(order);
        assert_eq!(l.diagnostics.0.len(), 2, "{:?}", l.diagnostics.0);
    }
}
