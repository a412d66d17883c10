//! The `data { … }` block: where rows come from and how they become ids.

use super::InteractionFn;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    /// Parquet files; the spec names the columns' roles as for CSV (the delimiter is unused).
    Parquet(CsvSpec),
}

impl FileFormat {
    /// The format's name in the spec language.
    pub fn name(&self) -> &'static str {
        match self {
            FileFormat::Criteo => "criteo",
            FileFormat::Avazu => "avazu",
            FileFormat::Libfm => "libfm",
            FileFormat::Csv(_) => "csv",
            FileFormat::Parquet(_) => "parquet",
        }
    }
}

/// How a CSV (or Parquet) file is read.
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
    /// Categories of each field (`vocab = 50` gives every field 50; a list gives each its own).
    pub vocab: Vec<usize>,
    /// Exponent of the Zipf law the categories are drawn from (category k with weight
    /// 1 / (k + 1)^zipf); 0 draws them uniformly.
    pub zipf: f64,
    /// Chance that a value is missing (drawn per row and field). A missing value takes the
    /// field's reserved id 0 and adds nothing to the logit.
    pub missing: f64,
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
