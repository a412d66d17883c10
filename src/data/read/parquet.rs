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

use super::{label, show, Cell, FieldDef, FieldKind};
use crate::spec::{ColumnRole, CsvSpec, Unlisted};
use ::parquet::basic::{ConvertedType, LogicalType, Type as Physical};
use ::parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use ::parquet::data_type::{ByteArray, DataType};
use ::parquet::file::reader::{FileReader, SerializedFileReader};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::io::Write as _;
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

/// One batch of decoded rows: every listed column's values for the same rows.
pub struct Batch {
    /// Rows in the batch.
    pub rows: usize,
    /// The label column.
    pub label: Column,
    /// The feature columns, in spec order.
    pub columns: Vec<Column>,
}

/// One column's values for a batch of rows. Row `r`'s values are `values[rows[r]..rows[r+1]]`:
/// none for a null (or empty list), one for a flat column, any number for a list.
#[derive(Default)]
pub struct Column {
    /// Where each row's values start, plus the end (`rows + 1` entries).
    pub rows: Vec<u32>,
    /// The values as text: value `k` is `text[ends[k - 1]..ends[k]]` (from 0 for the first).
    pub text: Vec<u8>,
    /// End offsets of the text values.
    pub ends: Vec<u32>,
    /// The values as numbers (numeric columns).
    pub numbers: Vec<f64>,
    /// Whether the column is a list (each element one value), not a flat column.
    pub list: bool,
    /// A list column's rows as [`Cell::List`] holds them: each element as a 4-byte
    /// little-endian length and its bytes; row `r`'s are `packed[packed_rows[r]..packed_rows[r + 1]]`.
    pub packed: Vec<u8>,
    /// Where each row's packed elements start, plus the end.
    pub packed_rows: Vec<u32>,
    /// The rows whose value could not be read, as (row in batch, message), in row order.
    pub errors: Vec<(usize, String)>,
}

impl Column {
    /// How many values row `r` has, and the index of its first.
    pub fn span(&self, r: usize) -> (usize, usize) {
        let (a, b) = (self.rows[r] as usize, self.rows[r + 1] as usize);
        (a, b - a)
    }

    /// What is wrong with row `r`'s value, if anything.
    pub fn error(&self, r: usize) -> Option<&str> {
        if self.errors.is_empty() {
            return None;
        }
        self.errors
            .binary_search_by_key(&r, |e| e.0)
            .ok()
            .map(|i| self.errors[i].1.as_str())
    }

    /// Row `r` as a cell of a `kind` field (see [`Cell`]).
    pub fn cell(&self, r: usize, kind: FieldKind) -> Cell<'_> {
        match (self.span(r), kind) {
            ((_, 0), _) => Cell::Missing,
            ((k, _), FieldKind::Numeric) => Cell::Num(self.numbers[k]),
            (_, FieldKind::Multi { .. }) if self.list => Cell::List(
                &self.packed[self.packed_rows[r] as usize..self.packed_rows[r + 1] as usize],
            ),
            ((k, _), FieldKind::Multi { .. }) => Cell::Multi(self.text(k)),
            ((k, _), FieldKind::Categorical) => Cell::Cat(self.text(k)),
        }
    }

    /// Text value `k`.
    pub fn text(&self, k: usize) -> &[u8] {
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.text[start..self.ends[k] as usize]
    }

    /// The label of row `r`: 0 or 1, or what is wrong with it.
    pub fn label(&self, r: usize) -> Result<u8, String> {
        match self.span(r) {
            (_, 0) => Err("the label is null".into()),
            (k, _) if !self.numbers.is_empty() => {
                let x = self.numbers[k];
                if x == 1.0 {
                    Ok(1)
                } else if x == 0.0 || x == -1.0 {
                    Ok(0)
                } else {
                    Err(format!("label `{x}` is not 0, 1 or -1"))
                }
            }
            (k, _) => label(self.text(k)),
        }
    }

    fn clear(&mut self) {
        self.rows.clear();
        self.rows.push(0);
        self.text.clear();
        self.ends.clear();
        self.numbers.clear();
        self.errors.clear();
        self.packed.clear();
        self.packed_rows.clear();
    }

    /// Fills `packed` from the values (after their UTF-8 check).
    fn pack_lists(&mut self) {
        self.packed_rows.push(0);
        for r in 0..self.rows.len() - 1 {
            let (first, n) = self.span(r);
            for k in first..first + n {
                let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
                let t = &self.text[start..self.ends[k] as usize];
                self.packed
                    .extend_from_slice(&(t.len() as u32).to_le_bytes());
                self.packed.extend_from_slice(t);
            }
            self.packed_rows.push(self.packed.len() as u32);
        }
    }

    fn push_text(&mut self, t: &[u8]) {
        self.text.extend_from_slice(t);
        self.ends.push(self.text.len() as u32);
    }
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
        let fields = spec
            .columns
            .iter()
            .map(|c| {
                let kind = match c.role {
                    ColumnRole::Categorical => FieldKind::Categorical,
                    ColumnRole::Numeric => FieldKind::Numeric,
                    ColumnRole::Multi { sep } => FieldKind::Multi { sep: sep as u8 },
                };
                FieldDef::new(c.name.clone(), kind)
            })
            .collect();
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
                d.reader = Some(group.get_column_reader(s.leaf).map_err(|e| at(&e))?);
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

/// A file read at explicit offsets. The parquet crate's own reader for `File` seeks clones of
/// one handle, which share one offset: column chunks read on several threads at once would read
/// each other's bytes.
struct At {
    file: std::sync::Arc<std::fs::File>,
    len: u64,
}

impl At {
    fn new(file: std::fs::File) -> std::io::Result<At> {
        let len = file.metadata()?.len();
        Ok(At {
            file: std::sync::Arc::new(file),
            len,
        })
    }
}

/// A reader from an offset of an [`At`] file onwards.
struct FromOffset {
    file: std::sync::Arc<std::fs::File>,
    pos: u64,
}

impl std::io::Read for FromOffset {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = read_at(&self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Reads at `pos` without moving any handle's offset.
fn read_at(file: &std::fs::File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::read_at(file, buf, pos);
    #[cfg(windows)]
    return std::os::windows::fs::FileExt::seek_read(file, buf, pos);
}

impl ::parquet::file::reader::Length for At {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ::parquet::file::reader::ChunkReader for At {
    type T = std::io::BufReader<FromOffset>;

    fn get_read(&self, start: u64) -> ::parquet::errors::Result<Self::T> {
        Ok(std::io::BufReader::new(FromOffset {
            file: self.file.clone(),
            pos: start,
        }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> ::parquet::errors::Result<bytes::Bytes> {
        let mut buf = vec![0u8; length];
        let mut done = 0;
        while done < length {
            match read_at(&self.file, &mut buf[done..], start + done as u64) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
                Ok(0) => {
                    return Err(::parquet::errors::ParquetError::EOF(format!(
                        "the file ends before byte {}",
                        start + length as u64
                    )))
                }
                Ok(n) => done += n,
            }
        }
        Ok(buf.into())
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

/// Records each row whose text is not UTF-8. The values are checked as one buffer, which is
/// several times faster than one by one for short values: the buffer is valid and no value
/// starts inside a character (with a continuation byte) exactly when every value is valid.
/// Only when that fails are the values checked one by one, to name the rows.
fn check_utf8(s: &Source, out: &mut Column) {
    let continuation = |b: u8| b & 0xC0 == 0x80;
    let starts_ok = std::iter::once(0)
        .chain(out.ends.iter().map(|&e| e as usize))
        .filter(|&a| a < out.text.len())
        .all(|a| !continuation(out.text[a]));
    if starts_ok && std::str::from_utf8(&out.text).is_ok() {
        return;
    }
    for r in 0..out.rows.len() - 1 {
        let (first, n) = out.span(r);
        for k in first..first + n {
            let b = out.text(k);
            if let Err(e) = std::str::from_utf8(b) {
                let m = format!(
                    "{}: invalid UTF-8 at byte {} of `{}`",
                    s.name,
                    e.valid_up_to() + 1,
                    show(b)
                );
                out.errors.push((r, m));
                break;
            }
        }
    }
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

/// One column's reader within the current row group, and its buffers (kept between batches).
#[derive(Default)]
struct Decoder {
    reader: Option<ColumnReader>,
    def: Vec<i16>,
    rep: Vec<i16>,
    bools: Vec<bool>,
    i32s: Vec<i32>,
    i64s: Vec<i64>,
    f32s: Vec<f32>,
    f64s: Vec<f64>,
    bytes: Vec<ByteArray>,
}

impl Decoder {
    /// Reads up to `rows` records into `out`; returns how many it read.
    fn read(&mut self, s: &Source, rows: usize, out: &mut Column) -> Result<usize, String> {
        out.clear();
        self.def.clear();
        self.rep.clear();
        let reader = self.reader.as_mut().expect("set for the row group");
        let (def, rep) = (&mut self.def, &mut self.rep);
        fn go<T: DataType>(
            r: &mut ColumnReaderImpl<T>,
            rows: usize,
            def: &mut Vec<i16>,
            rep: &mut Vec<i16>,
            values: &mut Vec<T::T>,
        ) -> Result<(usize, usize), String> {
            values.clear();
            let (mut records, mut levels) = (0, 0);
            // read_records stops at page ends; loop until the batch is full or the column ends.
            while records < rows {
                let (n, _, l) = r
                    .read_records(rows - records, Some(def), Some(rep), values)
                    .map_err(|e| e.to_string())?;
                if n == 0 && l == 0 {
                    break;
                }
                records += n;
                levels += l;
            }
            Ok((records, levels))
        }
        let (records, levels) = match reader {
            ColumnReader::BoolColumnReader(r) => go(r, rows, def, rep, &mut self.bools)?,
            ColumnReader::Int32ColumnReader(r) => go(r, rows, def, rep, &mut self.i32s)?,
            ColumnReader::Int64ColumnReader(r) => go(r, rows, def, rep, &mut self.i64s)?,
            ColumnReader::FloatColumnReader(r) => go(r, rows, def, rep, &mut self.f32s)?,
            ColumnReader::DoubleColumnReader(r) => go(r, rows, def, rep, &mut self.f64s)?,
            ColumnReader::ByteArrayColumnReader(r) => go(r, rows, def, rep, &mut self.bytes)?,
            _ => return Err(format!("type {} is not read", s.physical)),
        };
        // Levels: with no definition levels every level is a value; with no repetition levels
        // every level is a row. Strings, the common case, are copied in one pass afterwards
        // rather than value by value through `push`.
        out.list = s.list;
        let has_def = s.max_def > 0;
        let strings = s.want == Want::Text && s.physical == Physical::BYTE_ARRAY;
        let (mut value, mut row) = (0usize, 0usize);
        if !has_def && !s.list {
            out.rows.extend((1..=levels).map(|v| v as u32));
            (value, row) = (levels, levels);
            if !strings {
                for k in 0..levels {
                    self.push(s, k, out, k);
                }
            }
        } else if strings && !s.list {
            // Optional strings: one level per row, a value where it is defined.
            out.rows.reserve(levels);
            for &d in &self.def[..levels] {
                value += usize::from(d == s.max_def);
                out.rows.push(value as u32);
            }
            row = levels;
        } else {
            for i in 0..levels {
                if !s.list || self.rep[i] == 0 {
                    if i > 0 {
                        out.rows.push(value as u32);
                    }
                    row += 1;
                }
                if has_def && self.def[i] < s.max_def {
                    continue; // a null, or an empty or null list
                }
                if !strings {
                    self.push(s, value, out, row - 1);
                }
                value += 1;
            }
            if levels > 0 {
                out.rows.push(value as u32);
            }
        }
        if strings {
            let bytes = &self.bytes[..value];
            out.text.reserve(bytes.iter().map(|b| b.len()).sum());
            out.ends.reserve(value);
            for b in bytes {
                out.push_text(b.data());
            }
        }
        if strings {
            check_utf8(s, out);
        }
        if s.list {
            out.pack_lists();
        }
        // Offsets are u32 to halve the index memory; a batch whose text passes 4 GiB (values of
        // 64 KB on average) is refused rather than misindexed.
        if out.packed.len() > u32::MAX as usize || levels > u32::MAX as usize {
            return Err(format!(
                "{rows} rows of this column hold more than 4 GiB of text"
            ));
        }
        debug_assert_eq!(row, records);
        Ok(records)
    }

    /// Appends decoded value `k` to `out` as `s` wants it.
    fn push(&self, s: &Source, k: usize, out: &mut Column, row: usize) {
        let fail = |out: &mut Column, m: String| {
            if out.errors.last().is_none_or(|e| e.0 != row) {
                out.errors.push((row, m));
            }
        };
        match (s.want, s.physical) {
            (Want::Number, Physical::BOOLEAN) => {
                out.numbers.push(f64::from(u8::from(self.bools[k])))
            }
            (Want::Number, Physical::INT32) => out.numbers.push(if s.unsigned {
                f64::from(self.i32s[k] as u32)
            } else {
                f64::from(self.i32s[k])
            }),
            (Want::Number, Physical::INT64) => out.numbers.push(if s.unsigned {
                self.i64s[k] as u64 as f64
            } else {
                self.i64s[k] as f64
            }),
            (Want::Number, Physical::FLOAT) | (Want::Number, Physical::DOUBLE) => {
                let x = if s.physical == Physical::FLOAT {
                    f64::from(self.f32s[k])
                } else {
                    self.f64s[k]
                };
                if !x.is_finite() {
                    fail(out, format!("{}: `{x}` is not a number", s.name));
                }
                out.numbers.push(x);
            }
            (Want::Number, _) => {
                let b = self.bytes[k].data();
                match super::number(b, &s.name) {
                    Ok(x) => out.numbers.push(x),
                    Err(m) => {
                        fail(out, m);
                        out.numbers.push(0.0);
                    }
                }
            }
            // UTF-8 is checked for the whole batch at once (`check_utf8`).
            (Want::Text, Physical::BYTE_ARRAY) => out.push_text(self.bytes[k].data()),
            (Want::Text, _) => {
                // Writing to a Vec cannot fail.
                let t = &mut out.text;
                let _ = match s.physical {
                    Physical::BOOLEAN => write!(t, "{}", self.bools[k]),
                    Physical::INT32 if s.unsigned => write!(t, "{}", self.i32s[k] as u32),
                    Physical::INT32 => write!(t, "{}", self.i32s[k]),
                    Physical::INT64 if s.unsigned => write!(t, "{}", self.i64s[k] as u64),
                    Physical::INT64 => write!(t, "{}", self.i64s[k]),
                    Physical::FLOAT => write!(t, "{}", self.f32s[k]),
                    _ => write!(t, "{}", self.f64s[k]),
                };
                out.ends.push(out.text.len() as u32);
            }
        }
    }
}
