//! The checked, typed form of a spec: what every later stage of a run reads.
//!
//! Nothing here can be invalid: ranges, required keys and cross-key rules were checked when the
//! value was built (see `check.rs`). Defaults follow the AIM paper where it gives one.

use serde::{Deserialize, Serialize};
use std::fmt;
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

/// The `data { … }` block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    /// Files on disk or generated rows.
    pub source: DataSource,
    /// Train/valid/test fractions, used when fewer than three files are given (or for synthetic
    /// rows): the given rows are pooled and split. `None` when three files are given.
    pub split: Option<[f64; 3]>,
    /// Whether pooled rows are shuffled (from the seed) before splitting; `false` keeps their
    /// order, for time-ordered data.
    pub shuffle: bool,
    /// Categories seen fewer times than this in the training split share one out-of-vocabulary
    /// id per field.
    pub min_count: u32,
    /// How numeric fields become categories.
    pub numeric: Bucketing,
    /// What a malformed row does.
    pub on_error: OnError,
    /// Where the processed cache lives (resolved against the spec's folder).
    pub cache: PathBuf,
}

/// Where the rows come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DataSource {
    /// Files in one of the supported formats.
    Files {
        /// The file format.
        format: FileFormat,
        /// Training rows (or all rows, with `split`).
        train: PathBuf,
        /// Validation rows, if given as a file.
        valid: Option<PathBuf>,
        /// Test rows, if given as a file.
        test: Option<PathBuf>,
    },
    /// Rows generated with planted interactions (`format = synthetic`).
    Synthetic(SyntheticSpec),
}

/// A file format.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FileFormat {
    /// Criteo: label, I1..I13, C1..C26, TSV without header or CSV with header.
    Criteo,
    /// Avazu's Kaggle CSV.
    Avazu,
    /// `label idx:val …` lines, one field per position.
    Libfm,
    /// Any CSV with a header; the spec names the columns' roles.
    Csv(CsvSpec),
}

impl FileFormat {
    /// The format's name in the spec language.
    pub fn name(&self) -> &'static str {
        match self {
            FileFormat::Criteo => "criteo",
            FileFormat::Avazu => "avazu",
            FileFormat::Libfm => "libfm",
            FileFormat::Csv(_) => "csv",
        }
    }
}

/// How a CSV file is read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsvSpec {
    /// The label column.
    pub label: String,
    /// The field separator (one byte).
    pub delimiter: u8,
    /// The feature columns, in spec order, with their roles.
    pub columns: Vec<Column>,
    /// What to do with a header column that is neither the label nor listed.
    pub unlisted: Unlisted,
}

/// A CSV feature column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// The header name.
    pub name: String,
    /// How its values are read.
    pub role: ColumnRole,
}

/// How a CSV column's values are read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ColumnRole {
    /// One category per row.
    Categorical,
    /// A number, bucketed into a category (see [`Bucketing`]).
    Numeric,
    /// Several categories separated by `sep` (multi-hot); embedded as the mean of its values.
    Multi {
        /// The separator between values, e.g. `|`.
        sep: char,
    },
}

/// What to do with CSV columns that the spec does not list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unlisted {
    /// Leave them out.
    Ignore,
    /// Refuse the file.
    Reject,
}

/// How numbers become categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bucketing {
    /// The Criteo convention: x > 2 → ⌊ln(x)²⌋, else the integer value itself.
    LogSquare,
    /// The integer value itself (⌊x⌋) is the category.
    Identity,
}

/// What a malformed row does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnError {
    /// Stop with `FILE:LINE: what is wrong`.
    Fail,
    /// Count, report (count and the first line numbers) and skip it.
    Skip,
}

/// `format = synthetic`: rows generated with planted interactions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyntheticSpec {
    /// Rows generated in all (then split by `split`).
    pub rows: usize,
    /// Fields, named `f0`, `f1`, ….
    pub fields: usize,
    /// Categories per field.
    pub vocab: usize,
    /// Length of each category's hidden vectors.
    pub rank: usize,
    /// Scale of the weak first-order terms every field gets.
    pub first_order: f64,
    /// The interactions that carry the signal.
    pub planted: Vec<Planted>,
}

/// One planted interaction: its fields, the function that generates it and its strength.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Planted {
    /// Field indices (2 to 4 of them, distinct, ascending).
    pub fields: Vec<usize>,
    /// The generating function.
    pub function: InteractionFn,
    /// Its weight in the logit.
    pub strength: f64,
    /// Length of its hidden vectors, when it differs from the data's `rank`: the number of
    /// embedding dimensions the term needs, which the dimension search should find.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
}

/// An interaction function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum InteractionFn {
    /// Σ_k Π_q e_{q,k}.
    Inner,
    /// The outer product approximated as Π_q (w_qᵀ e_q).
    Outer,
    /// Σ_k φ_k Π_q e_{q,k} with a learned vector φ per interaction.
    VectorKernel,
    /// s · Σ_k Π_q e_{q,k} with a learned scalar s per interaction.
    ScalarKernel,
}

impl InteractionFn {
    /// All four, in the canonical order.
    pub const ALL: [InteractionFn; 4] = [
        InteractionFn::Inner,
        InteractionFn::Outer,
        InteractionFn::VectorKernel,
        InteractionFn::ScalarKernel,
    ];

    /// The function's name in the spec language.
    pub fn name(self) -> &'static str {
        match self {
            InteractionFn::Inner => "inner",
            InteractionFn::Outer => "outer",
            InteractionFn::VectorKernel => "vector_kernel",
            InteractionFn::ScalarKernel => "scalar_kernel",
        }
    }

    /// The function with this spec name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for InteractionFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A base model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum BaseModel {
    /// Factorization machine: bias + linear + Σ pairwise inner products.
    Fm,
    /// Field-weighted FM: a learned weight per field pair.
    Fwfm,
    /// FM ∥ MLP over the concatenated embeddings.
    Deepfm,
    /// MLP over [embeddings, pairwise inner products].
    Ipnn,
}

impl BaseModel {
    /// All base models.
    pub const ALL: [BaseModel; 4] = [
        BaseModel::Fm,
        BaseModel::Fwfm,
        BaseModel::Deepfm,
        BaseModel::Ipnn,
    ];

    /// The model's name in the spec language.
    pub fn name(self) -> &'static str {
        match self {
            BaseModel::Fm => "fm",
            BaseModel::Fwfm => "fwfm",
            BaseModel::Deepfm => "deepfm",
            BaseModel::Ipnn => "ipnn",
        }
    }

    /// Whether the model has an MLP.
    pub fn has_mlp(self) -> bool {
        matches!(self, BaseModel::Deepfm | BaseModel::Ipnn)
    }
}

/// Adam's settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// L2 penalty on the embeddings of each batch.
    pub l2: f64,
}

impl Default for Adam {
    fn default() -> Self {
        Adam { lr: 1e-3, l2: 0.0 }
    }
}

/// GRDA's settings (Chao & Cheng): threshold l1(t) = c·γ^½·(tγ)^μ.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grda {
    /// Learning rate γ.
    pub lr: f64,
    /// Threshold scale c (with `auto`, solved for the run's length: see `stages::prune`).
    pub c: f64,
    /// Threshold growth exponent μ ∈ (0, 1).
    pub mu: f64,
    /// `c = auto`: the threshold is chosen on validation AUC from a ladder.
    #[serde(default)]
    pub auto: bool,
}

impl Grda {
    /// The L1 threshold after `t` steps: c·γ^½·(tγ)^μ.
    pub fn threshold(&self, t: u64) -> f64 {
        self.c * self.lr.sqrt() * (t as f64 * self.lr).powf(self.mu)
    }
}

/// The `model { … }` block: the base model, trained alone by `aim train`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Which base model.
    pub base: BaseModel,
    /// Embedding length d.
    pub embedding_dim: usize,
    /// Hidden layer widths of the MLP (DeepFM, IPNN).
    pub mlp: Vec<usize>,
    /// Rows per training step.
    pub batch_size: usize,
    /// The optimizer of every weight.
    pub optimizer: Adam,
    /// Training epochs (at most; see `patience`).
    pub epochs: usize,
    /// Stop after this many epochs without a better validation AUC.
    pub patience: usize,
    /// Dropout rate in the MLP.
    pub dropout: f64,
    /// Batch norm in the MLP.
    pub batch_norm: bool,
    /// Standard deviation of the initial embedding values; `None` takes the base model's
    /// default (`model::default_init_std`).
    pub init_std: Option<f64>,
    /// Platt-scale the trained model's logit on the validation split (base model and re-train).
    pub calibrate: bool,
}

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
