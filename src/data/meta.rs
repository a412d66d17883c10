//! What a built cache records about itself (`meta.ron`): fields, splits, skipped rows and, for
//! synthetic data, the planted truth. Its own module so that the cache and the generators both
//! depend on it and not on each other.

use super::read::FieldKind;
use serde::{Deserialize, Serialize};

/// Bumped whenever the layout or the preprocessing changes meaning: old caches are rebuilt.
pub const FORMAT_VERSION: u32 = 2;

/// The three splits, in order.
pub const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// A field of the processed data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldMeta {
    /// The field's name.
    pub name: String,
    /// How its raw values were read.
    pub kind: FieldKind,
    /// Ids 0..vocab, id 0 being out-of-vocabulary.
    pub vocab: usize,
    /// Column in the id matrix, for single-valued fields; multi-valued ones have their own arrays.
    pub column: Option<usize>,
    /// The id of a missing value (an empty cell), when missing values were frequent enough in
    /// training to get their own; `None` means missing values are out-of-vocabulary. Saved
    /// models need it: `vocab.ron` names that id `<missing>`, which a category could also be.
    pub missing: Option<u32>,
}

/// One split's size and statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitMeta {
    /// `train`, `valid` or `test`.
    pub name: String,
    /// Rows.
    pub rows: usize,
    /// Rows labelled 1.
    pub positives: usize,
    /// Per field, values that mapped to the out-of-vocabulary id.
    pub oov: Vec<u64>,
    /// Per field, values in all (rows for single-valued fields).
    pub values: Vec<u64>,
}

/// A row that was skipped (`on_error = skip`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkippedRow {
    /// The file.
    pub file: String,
    /// 1-based line number (in a Parquet file: 1-based row).
    pub line: usize,
    /// What was wrong.
    pub error: String,
    /// Whether `line` counts the rows of a Parquet file.
    #[serde(default)]
    pub parquet: bool,
}

impl std::fmt::Display for SkippedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.parquet {
            false => write!(f, "{}:{}: {}", self.file, self.line, self.error),
            true => write!(f, "{}: row {}: {}", self.file, self.line, self.error),
        }
    }
}

/// Rows skipped as malformed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// How many.
    pub count: u64,
    /// The first few.
    pub first: Vec<SkippedRow>,
}

/// AUC and log loss of one split.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitMetrics {
    /// Area under the ROC curve.
    pub auc: f64,
    /// Mean binary cross-entropy.
    pub logloss: f64,
}

/// Everything known about a built cache.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// [`FORMAT_VERSION`] at build time.
    pub version: u32,
    /// The key the cache was built for.
    pub key: String,
    /// The fields, in spec/format order.
    pub fields: Vec<FieldMeta>,
    /// Train, valid, test.
    pub splits: Vec<SplitMeta>,
    /// Malformed rows skipped.
    pub skipped: Skipped,
    /// Bytes of input read.
    pub input_bytes: u64,
    /// Seconds the build took.
    pub build_seconds: f64,
    /// For synthetic data: the truth that was planted.
    pub truth: Option<Truth>,
    /// For synthetic data: AUC and log loss of the true probabilities, per split (the ceiling any
    /// model can reach).
    pub bayes: Option<Vec<SplitMetrics>>,
}

impl Meta {
    /// Columns of the id matrix (single-valued fields).
    pub fn columns(&self) -> usize {
        self.fields.iter().filter(|f| f.column.is_some()).count()
    }
}

/// What the generator planted, written next to the data as `truth.ron`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// The planted interactions.
    pub planted: Vec<PlantedTruth>,
    /// Fields in no planted interaction: only weak first-order signal.
    pub noise_fields: Vec<String>,
    /// The logit's constant.
    pub bias: f64,
}

/// One planted interaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlantedTruth {
    /// Its fields' names.
    pub fields: Vec<String>,
    /// The generating function's name.
    pub function: String,
    /// Its weight in the logit (of the standardised term).
    pub strength: f64,
    /// Length of its hidden vectors: the embedding dimensions it needs (0 in caches written
    /// before it was recorded).
    #[serde(default)]
    pub rank: usize,
}
