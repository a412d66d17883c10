//! The `search interactions`, `search embedding_dims` and `retrain` blocks.

use super::{Adam, Grda, InteractionFn};
use serde::{Deserialize, Serialize};

/// How embeddings are shared between interaction functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmbeddingSharing {
    /// One embedding table per interaction function (the paper's function-wise embeddings).
    FunctionWise,
    /// One table shared by all functions.
    Shared,
}

/// Settings that an `order N { … }` block overrides for one order of the interaction search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderSearch {
    /// The order (2..=4).
    pub order: usize,
    /// Epochs of this order's search.
    pub epochs: usize,
    /// GRDA on this order's gates.
    pub optimizer: Grda,
    /// Adam on the other weights during this order's search.
    pub weights: Adam,
}

/// The `search interactions { … }` block: stage 1 (FIS + IFS).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InteractionSearch {
    /// Highest interaction order searched (2..=4).
    pub max_order: usize,
    /// Candidate interaction functions.
    pub functions: Vec<InteractionFn>,
    /// Function-wise or shared embeddings.
    pub embeddings: EmbeddingSharing,
    /// How many order-(p−1) interactions seed the order-p pool; `None` = ⌊fields/2⌋.
    pub top_k: Option<usize>,
    /// Initial value of every gate α.
    pub alpha_init: f64,
    /// Batch-norm ε on gated terms (tiny: small-init products have tiny variance).
    pub bn_eps: f64,
    /// Per-order settings, one for each order 2..=max_order (block defaults where no
    /// `order N` block overrides them).
    pub orders: Vec<OrderSearch>,
    /// Why the spec sets its own GRDA threshold instead of `c = auto` (`reason = "…"`), shown
    /// by `aim check`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Whether α is trained during the dimension search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlphaDuringEds {
    /// α keeps the value stage 1 found.
    Frozen,
    /// α is trained by Adam with the other weights.
    Adam,
}

/// The `search embedding_dims { … }` block: stage 2 (EDS).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DimSearch {
    /// GRDA on the gates β.
    pub optimizer: Grda,
    /// Adam on the other weights.
    pub weights: Adam,
    /// Epochs.
    pub epochs: usize,
    /// Initial value of every gate β.
    pub beta_init: f64,
    /// Batch-normalise each (field, position) before its gate (`batch_norm = true`); off by
    /// default, see [`crate::spec::check::DIMS_BATCH_NORM`].
    #[serde(default)]
    pub batch_norm: bool,
    /// Batch-norm ε on gated embeddings (with `batch_norm`).
    pub bn_eps: f64,
    /// What happens to α.
    pub alpha: AlphaDuringEds,
    /// Why the spec sets its own GRDA threshold instead of `c = auto` (`reason = "…"`), shown
    /// by `aim check`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// What the re-trained model's MLP reads (the found interactions stay in the logit, gated).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetrainInput {
    /// The compact embeddings and each kept interaction-function output (IPNN-style, as the
    /// paper's re-train: an MLP over [E, l]).
    Products,
    /// The compact embeddings alone (DeepFM-style, as `aim transfer --base deepfm`): the best
    /// of the three on validation AUC on Frappe and Adult (README: Results), and the smallest.
    #[default]
    Embeddings,
    /// Every kept interaction's element-wise product vector, and the outer function's scalars.
    Vectors,
}

impl RetrainInput {
    /// Every choice, by its spec name.
    pub const ALL: [(&'static str, RetrainInput); 3] = [
        ("products", RetrainInput::Products),
        ("embeddings", RetrainInput::Embeddings),
        ("vectors", RetrainInput::Vectors),
    ];

    /// Its spec name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, i)| *i == self)
            .expect("listed")
            .0
    }
}

/// The `retrain { … }` block: stage 3.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retrain {
    /// Adam on every weight.
    pub optimizer: Adam,
    /// Hidden layer widths of the added MLP.
    pub mlp: Vec<usize>,
    /// What the MLP reads.
    #[serde(default)]
    pub input: RetrainInput,
    /// Epochs (at most; see `patience`).
    pub epochs: usize,
    /// Stop after this many epochs without a better validation AUC.
    pub patience: usize,
}
