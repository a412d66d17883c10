//! Parquet files (`format = parquet`): the same `columns { … }` roles as CSV, read by row group
//! and, within a row group, in batches of rows, one column per parallel task. Memory holds one
//! batch of every listed column, however large the file or its row groups.
//!
//! What a column may hold, by role:
//! - the label: booleans, integers, floats or strings, each 0/1 (or -1 for 0) as CSV's label;
//! - `categorical`: strings (UTF-8), integers, floats or booleans; a number's category is its
//!   text (`42`, `1.5`, `true`), so a Parquet file and a CSV of the same rows give the same ids;
//! - `numeric`: integers, floats, booleans, or strings that parse as numbers;
//! - `multi`: a list column (each element one category), or a string column split at `sep`.
//!
//! A null is a missing value; an empty list, or one of only nulls, is a missing value too.
//! Types that would have to be guessed at (decimals, INT96 timestamps, fixed-length binary,
//! nested structs and maps, lists of lists) are refused, naming the column.
//!
//! `column` holds a batch's decoded values, `decode` turns the crate's pages into them, and
//! `at` reads the file at explicit offsets.

mod at;
mod column;
mod decode;
mod pages;

pub use column::{Batch, Column};

use super::FieldDef;
use crate::spec::{ColumnRole, CsvSpec, Unlisted};
use ::parquet::basic::{ConvertedType, LogicalType, Type as Physical};
use ::parquet::file::reader::{FileReader, SerializedFileReader};
use anyhow::{bail, Context, Result};
use at::At;
use decode::Decoder;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Rows decoded per batch: large enough that per-batch costs vanish, small enough that a batch
/// of 39 string columns stays a few tens of MB (65,536 rows were no faster and took 130 MB more
/// at Criteo's shape).
pub const BATCH_ROWS: usize = 1 << 14;

/// How a listed column is turned into values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// Each value as its text (categories, multi-valued elements, string labels).
    Text,
    /// Each value as a number (numeric fields; numeric labels).
    Number,
}

/// One column the spec lists (or the label), as found in the file's schema.
#[derive(Clone, Debug)]
struct Source {
    /// The leaf column's index in the file.
    leaf: usize,
    /// The spec's name for it.
    name: String,
    physical: Physical,
    unsigned: bool,
    /// A list column (repetition level 1).
    list: bool,
    max_def: i16,
    want: Want,
}

/// An open Parquet file whose schema matched the spec.
pub struct File {
    path: PathBuf,
    reader: SerializedFileReader<At>,
    fields: Vec<FieldDef>,
    label: Source,
    columns: Vec<Source>,
}

impl File {
    /// Opens `path` and matches its schema to the spec's columns: every listed column (and the
    /// label) must be there with a type its role can read.
    pub fn open(path: &Path, spec: &CsvSpec) -> Result<File> {
        let f =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let f = At::new(f).with_context(|| format!("cannot read {}", path.display()))?;
        let reader = guarded(|| SerializedFileReader::new(f).map_err(|e| e.to_string()))
            .map_err(|e| anyhow::anyhow!("{}: not a readable Parquet file: {e}", path.display()))?;
        let at = |e: String| anyhow::anyhow!("{}: {e}", path.display());
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        let top: Vec<String> = schema
            .root_schema()
            .get_fields()
            .iter()
            .map(|t| t.name().to_string())
            .collect();
        let find = |name: &str, role: Option<ColumnRole>| -> Result<Source, String> {
            let leaves: Vec<usize> = (0..schema.num_columns())
                .filter(|&i| schema.column(i).path().parts()[0] == name)
                .collect();
            let leaf = match leaves[..] {
                [] => {
                    let cands: Vec<&str> = top.iter().map(String::as_str).collect();
                    let hint = crate::spec::suggest_name(name, &cands)
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_else(|| format!("; the file has {}", top.join(", ")));
                    return Err(format!("no column `{name}`{hint}"));
                }
                [one] => one,
                _ => {
                    return Err(format!(
                        "column `{name}` is a struct or map ({} leaf columns); aim reads flat and list columns",
                        leaves.len()
                    ))
                }
            };
            let c = schema.column(leaf);
            let what = describe(&c);
            let list = c.max_rep_level() > 0;
            if list && role.is_none() {
                return Err(format!("the label column `{name}` is a list ({what})"));
            }
            if c.max_rep_level() > 1 {
                return Err(format!(
                    "column `{name}` is a list of lists ({what}); aim reads flat and list columns"
                ));
            }
            let multi = matches!(role, Some(ColumnRole::Multi { .. }));
            if list && !multi {
                return Err(format!(
                    "column `{name}` is a list ({what}); declare it `{name} = multi` to read each element as a category"
                ));
            }
            let logical = c.logical_type();
            if matches!(logical, Some(LogicalType::Decimal { .. }))
                || c.converted_type() == ConvertedType::DECIMAL
                || matches!(
                    c.physical_type(),
                    Physical::INT96 | Physical::FIXED_LEN_BYTE_ARRAY
                )
            {
                return Err(format!(
                    "column `{name}` has type {what}, which aim does not read; cast it to a string, integer or float column"
                ));
            }
            let want = match (role, c.physical_type()) {
                (Some(ColumnRole::Numeric), _)
                | (
                    None,
                    Physical::BOOLEAN
                    | Physical::INT32
                    | Physical::INT64
                    | Physical::FLOAT
                    | Physical::DOUBLE,
                ) => Want::Number,
                _ => Want::Text,
            };
            let unsigned = matches!(
                logical,
                Some(LogicalType::Integer {
                    is_signed: false,
                    ..
                })
            ) || matches!(
                c.converted_type(),
                ConvertedType::UINT_8
                    | ConvertedType::UINT_16
                    | ConvertedType::UINT_32
                    | ConvertedType::UINT_64
            );
            Ok(Source {
                leaf,
                name: name.to_string(),
                physical: c.physical_type(),
                unsigned,
                list,
                max_def: c.max_def_level(),
                want,
            })
        };
        let label = find(&spec.label, None).map_err(at)?;
        let columns = spec
            .columns
            .iter()
            .map(|c| find(&c.name, Some(c.role.clone())))
            .collect::<Result<Vec<_>, _>>()
            .map_err(at)?;
        if spec.unlisted == Unlisted::Reject {
            let unlisted: Vec<&str> = top
                .iter()
                .filter(|n| **n != spec.label && !spec.columns.iter().any(|c| &c.name == *n))
                .map(String::as_str)
                .collect();
            if !unlisted.is_empty() {
                bail!(at(format!(
                    "columns not listed in the spec: {} (list them, or set `unlisted = ignore`)",
                    unlisted.join(", ")
                )));
            }
        }
        let fields = super::csv::fields_of(spec);
        Ok(File {
            path: path.to_path_buf(),
            reader,
            fields,
            label,
            columns,
        })
    }

    /// The fields, in spec order.
    pub fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    /// Rows in the file, from its footer.
    pub fn rows(&self) -> u64 {
        self.reader.metadata().file_metadata().num_rows().max(0) as u64
    }

    /// Bytes of the listed columns (and the label) in the file, compressed and uncompressed,
    /// from the footer.
    pub fn column_bytes(&self) -> (u64, u64) {
        let mut out = (0, 0);
        for g in self.reader.metadata().row_groups() {
            for s in std::iter::once(&self.label).chain(&self.columns) {
                let c = g.column(s.leaf);
                out.0 += c.compressed_size().max(0) as u64;
                out.1 += c.uncompressed_size().max(0) as u64;
            }
        }
        out
    }

    /// Reads every row, in file order, in batches of at most [`BATCH_ROWS`]: `each(first row,
    /// batch)`, the first row counted from 0 in the file.
    ///
    /// (Decoding the next batch while `each` works on the last was tried: no faster on two
    /// cores, where both already keep the cores busy.)
    pub fn for_each_batch(&self, mut each: impl FnMut(usize, &Batch) -> Result<()>) -> Result<()> {
        let at = |e: &dyn std::fmt::Display| anyhow::anyhow!("{}: {e}", self.path.display());
        let sources: Vec<&Source> = std::iter::once(&self.label).chain(&self.columns).collect();
        let mut decoders: Vec<Decoder> = sources.iter().map(|_| Decoder::default()).collect();
        let mut batch = Batch {
            rows: 0,
            label: Column::default(),
            columns: (0..self.columns.len()).map(|_| Column::default()).collect(),
        };
        let mut first = 0usize;
        for g in 0..self.reader.num_row_groups() {
            let group = self.reader.get_row_group(g).map_err(|e| at(&e))?;
            let expected = group.metadata().num_rows().max(0) as usize;
            for (d, s) in decoders.iter_mut().zip(&sources) {
                let chunk = group.metadata().column(s.leaf);
                if s.want == Want::Text
                    && s.physical == Physical::BYTE_ARRAY
                    && !s.list
                    && pages::readable(chunk.encodings())
                    && std::env::var_os("AIM_PARQUET_GENERIC").is_none()
                {
                    let p = group.get_column_page_reader(s.leaf).map_err(|e| at(&e))?;
                    d.pages = Some(pages::StringPages::new(p, s.max_def));
                    d.reader = None;
                } else {
                    d.reader = Some(group.get_column_reader(s.leaf).map_err(|e| at(&e))?);
                    d.pages = None;
                }
            }
            for done in (0..expected).step_by(BATCH_ROWS) {
                let want = BATCH_ROWS.min(expected - done);
                let mut outs: Vec<&mut Column> = std::iter::once(&mut batch.label)
                    .chain(batch.columns.iter_mut())
                    .collect();
                let got = decoders
                    .par_iter_mut()
                    .zip(outs.par_iter_mut())
                    .zip(sources.par_iter())
                    .map(|((d, out), s)| guarded(|| d.read(s, want, out)))
                    .collect::<Vec<_>>();
                for (r, s) in got.iter().zip(&sources) {
                    match r {
                        Ok(n) if *n == want => {}
                        Ok(n) => bail!(at(&format!(
                            "row group {g}: column `{}` ends after {} of its {expected} rows (a damaged file)",
                            s.name,
                            done + n
                        ))),
                        Err(e) => bail!(at(&format!("row group {g}, column `{}`: {e}", s.name))),
                    }
                }
                batch.rows = want;
                each(first, &batch)?;
                first += want;
            }
        }
        Ok(())
    }
}

/// Runs a step of the parquet crate, turning a panic inside it (an assertion it makes about a
/// damaged file) into an error like its others.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(format!("the file is damaged ({what})"))
    })
}

/// The type of a column for messages, e.g. `BYTE_ARRAY (String)`.
fn describe(c: &::parquet::schema::types::ColumnDescriptor) -> String {
    match c.logical_type() {
        Some(l) => format!("{} ({l:?})", c.physical_type()),
        None if c.converted_type() != ConvertedType::NONE => {
            format!("{} ({})", c.physical_type(), c.converted_type())
        }
        None => c.physical_type().to_string(),
    }
}
