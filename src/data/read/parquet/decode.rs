//! One column's pages decoded into a batch's [`Column`], through the parquet crate's readers.

use super::column::check_utf8;
use super::pages::StringPages;
use super::{Column, Physical, Source, Want};
use ::parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use ::parquet::data_type::{ByteArray, DataType};
use std::io::Write as _;

/// One column's reader within the current row group, and its buffers (kept between batches).
#[derive(Default)]
pub(super) struct Decoder {
    pub(super) reader: Option<ColumnReader>,
    /// A flat string column read page by page (`pages`), instead of through `reader`.
    pub(super) pages: Option<StringPages>,
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
    pub(super) fn read(
        &mut self,
        s: &Source,
        rows: usize,
        out: &mut Column,
    ) -> Result<usize, String> {
        out.clear();
        if let Some(p) = &mut self.pages {
            let n = p.read(rows, out)?;
            fits(rows, out.text.len())?;
            check_utf8(s, out);
            return Ok(n);
        }
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
        fits(rows, out.text.len().max(levels))?;
        if strings {
            check_utf8(s, out);
        }
        if s.list {
            out.pack_lists();
            fits(rows, out.packed.len())?;
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
                match super::super::number(b, &s.name) {
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

/// Offsets are u32 to halve the index memory: a batch whose text passes 4 GiB (values of 256 KB
/// on average) is refused before anything indexes it, rather than misindexed.
fn fits(rows: usize, len: usize) -> Result<(), String> {
    match u32::try_from(len) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "{rows} rows of this column hold more than 4 GiB of text"
        )),
    }
}
