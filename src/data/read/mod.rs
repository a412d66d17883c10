//! One reader per file format. A reader turns one line into a label and one [`Cell`] per field;
//! it knows nothing of vocabularies, splits or caches (see `ingest`).

mod avazu;
mod criteo;
mod csv;
mod libfm;
pub mod parquet;

pub use avazu::Avazu;
pub use criteo::Criteo;
pub use csv::{split_quoted, Csv};
pub use libfm::Libfm;

use serde::{Deserialize, Serialize};

/// How a field's raw values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldKind {
    /// One category per row.
    Categorical,
    /// A number, bucketed into a category.
    Numeric,
    /// Several categories per row separated by `sep` (multi-hot).
    Multi {
        /// The separator byte.
        sep: u8,
    },
}

/// A field as the reader sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// The field's name (a column name, or `f0`… / `field0`… where the format has none).
    pub name: String,
    /// How its values are read.
    pub kind: FieldKind,
}

impl FieldDef {
    /// A field of `kind` named `name`.
    pub fn new(name: impl Into<String>, kind: FieldKind) -> Self {
        FieldDef {
            name: name.into(),
            kind,
        }
    }
}

/// One field's value in one row, borrowed from the line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'l> {
    /// A category.
    Cat(&'l [u8]),
    /// A number (bucketed later).
    Num(f64),
    /// The raw text of a multi-valued cell (split later).
    Multi(&'l [u8]),
    /// The elements of a list (a Parquet list column), each as a 4-byte little-endian length
    /// and its bytes. Packed so that a cell stays two words and a tag, as every row of every
    /// field holds one.
    List(&'l [u8]),
    /// No value: its own category.
    Missing,
}

impl<'l> Cell<'l> {
    /// The elements of a multi-valued cell, empty ones left out: `Multi`'s text split at `sep`
    /// and trimmed as text cells are, or a list's elements exactly as stored; nothing for other
    /// cells.
    pub fn items(self, sep: u8) -> impl Iterator<Item = &'l [u8]> {
        let (multi, list) = match self {
            Cell::Multi(raw) => (Some(raw), None),
            Cell::List(packed) => (None, Some(packed)),
            _ => (None, None),
        };
        let split = multi
            .into_iter()
            .flat_map(move |raw| raw.split(move |&b| b == sep).map(trim));
        let listed = list.into_iter().flat_map(|mut rest: &'l [u8]| {
            std::iter::from_fn(move || {
                let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
                let item = rest.get(4..4 + len)?;
                rest = &rest[4 + len..];
                Some(item)
            })
        });
        split.chain(listed).filter(|v| !v.is_empty())
    }
}

/// A file format's reader.
pub trait Reader: Send + Sync {
    /// Sees the first line of each input file. Returns `Ok(true)` when it was a header (and is
    /// consumed), `Ok(false)` when it is data, or what is wrong with it.
    fn start_file(&mut self, first_line: &[u8]) -> Result<bool, String>;

    /// The fields, known after the first file's first line.
    fn fields(&self) -> &[FieldDef];

    /// Parses a data line into its label (0 or 1; 0 when [`Reader::labelled`] is false) and one
    /// cell per field (`cells` is cleared first).
    fn parse<'l>(&self, line: &'l [u8], cells: &mut Vec<Cell<'l>>) -> Result<u8, String>;

    /// Lets the files lack the label (rows to score with `aim predict`); whether they do is
    /// known after [`Reader::start_file`], from [`Reader::labelled`].
    fn allow_unlabelled(&mut self);

    /// Whether the rows carry a label (always, unless [`Reader::allow_unlabelled`] was called
    /// and the file has none).
    fn labelled(&self) -> bool;
}

/// A label: 1 for `1`/`+1`/`1.0`, 0 for `0`/`-1`/`0.0`/`-1.0`; anything else is an error.
pub fn label(raw: &[u8]) -> Result<u8, String> {
    match trim(raw) {
        b"1" | b"+1" => Ok(1),
        b"0" | b"-1" => Ok(0),
        t => match std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
        {
            Some(1.0) => Ok(1),
            Some(0.0) | Some(-1.0) => Ok(0),
            _ => Err(format!("label `{}` is not 0, 1 or -1", show(t))),
        },
    }
}

/// A number, or an error naming the field.
pub fn number(raw: &[u8], field: &str) -> Result<f64, String> {
    number_or(raw, || field.to_string())
}

/// A number, or an error naming the field that `field` builds: only on failure, since this
/// runs for every cell of every row.
pub fn number_or(raw: &[u8], field: impl FnOnce() -> String) -> Result<f64, String> {
    let t = trim(raw);
    if let Some(x) = small_integer(t) {
        return Ok(x);
    }
    std::str::from_utf8(t)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|x| x.is_finite())
        .ok_or_else(|| format!("{}: `{}` is not a number", field(), show(t)))
}

/// The value of an optionally signed integer of at most 15 digits, without going through
/// the float parser (libFM's values are nearly all `1`); `None` for anything else, which the
/// full parse then decides.
fn small_integer(t: &[u8]) -> Option<f64> {
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // At most 15 digits: below 2^53, so the integer and its f64 are exact.
    let v = digits
        .iter()
        .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0')) as f64;
    Some(if neg { -v } else { v })
}

/// Bytes without leading and trailing ASCII whitespace.
pub fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// Text for messages: the value, shortened and lossily decoded.
pub fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(40)]).into_owned();
    if b.len() > 40 {
        format!("{s}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integer fast path gives exactly what the float parser gives, and leaves everything
    /// else (fractions, exponents, long digit runs, junk) to it.
    #[test]
    fn small_integers_parse_as_the_float_parser_does() {
        for t in [
            "0",
            "1",
            "-1",
            "+1",
            "-0",
            "007",
            "123456789012345",
            "-999999999999999",
        ] {
            let fast = small_integer(t.as_bytes()).expect("an integer");
            let slow: f64 = t.parse().unwrap();
            assert_eq!(fast.to_bits(), slow.to_bits(), "{t}");
            assert_eq!(number(t.as_bytes(), "f").unwrap().to_bits(), slow.to_bits());
        }
        for t in [
            "",
            "-",
            "+",
            "1.5",
            "1e3",
            "1234567890123456",
            "0x1",
            "1 2",
            "--1",
        ] {
            assert_eq!(small_integer(t.as_bytes()), None, "{t}");
        }
        assert_eq!(number(b" 1.5 ", "f"), Ok(1.5));
        assert_eq!(number(b"1e3", "f"), Ok(1000.0));
        let huge = "9".repeat(400);
        assert_eq!(
            number(huge.as_bytes(), "f").unwrap_err(),
            format!("f: `{}…` is not a number", "9".repeat(40))
        );
        assert!(number(b"-", "f").is_err());
        assert_eq!(
            number_or(b"x", || "entry 3".into()).unwrap_err(),
            "entry 3: `x` is not a number"
        );
    }
}
