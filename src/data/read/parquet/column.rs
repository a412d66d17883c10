//! A batch of decoded rows: each listed column's values, as text or numbers, by row.

use super::super::{label, show, Cell, FieldKind};
use super::Source;

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
    /// For a dictionary-encoded string column read page by page: each value's dictionary
    /// entry (`u32::MAX` for a value stored in full); empty otherwise.
    pub entries: Vec<u32>,
    /// The dictionary `entries` index. A value with an entry keeps its text there, not in
    /// `text` (where it takes no bytes), so that no value is copied out of the dictionary.
    pub dict: Option<std::sync::Arc<Dictionary>>,
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

    /// Row `r`'s dictionary entry, when it has exactly one value and that value came from the
    /// dictionary; `u32::MAX` otherwise.
    pub fn entry(&self, r: usize) -> u32 {
        match self.span(r) {
            (k, 1) if !self.entries.is_empty() => self.entries[k],
            _ => u32::MAX,
        }
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
        if let Some(d) = &self.dict {
            if let Some(&e) = self.entries.get(k).filter(|&&e| e != u32::MAX) {
                return d.entry(e as usize);
            }
        }
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

    pub(super) fn clear(&mut self) {
        self.rows.clear();
        self.rows.push(0);
        self.text.clear();
        self.ends.clear();
        self.numbers.clear();
        self.entries.clear();
        self.dict = None;
        self.errors.clear();
        self.packed.clear();
        self.packed_rows.clear();
    }

    /// Fills `packed` from the values (after their UTF-8 check).
    pub(super) fn pack_lists(&mut self) {
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

    pub(super) fn push_text(&mut self, t: &[u8]) {
        self.text.extend_from_slice(t);
        self.ends.push(self.text.len() as u32);
    }
}

/// A column chunk's dictionary of strings: entry `k` is `bytes[starts[k]..starts[k + 1]]`.
pub struct Dictionary {
    /// A number no other dictionary read by this process has.
    pub number: u64,
    pub(super) bytes: Vec<u8>,
    pub(super) starts: Vec<u32>,
}

impl Dictionary {
    /// How many entries it has.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Entry `k`'s bytes; the caller has checked that `k` is an entry.
    pub fn entry(&self, k: usize) -> &[u8] {
        &self.bytes[self.starts[k] as usize..self.starts[k + 1] as usize]
    }
}

/// Records each row whose text is not UTF-8. The values are checked as one buffer, which is
/// several times faster than one by one for short values: the buffer is valid and no value
/// starts inside a character (with a continuation byte) exactly when every value is valid.
/// Only when that fails are the values checked one by one, to name the rows.
pub(super) fn check_utf8(s: &Source, out: &mut Column) {
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
