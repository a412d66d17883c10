//! One reader per file format. A reader turns one line into a label and one [`Cell`] per field;
//! it knows nothing of vocabularies, splits or caches (see `ingest`).

mod avazu;
mod criteo;
mod csv;
mod libfm;

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
    /// No value: its own category.
    Missing,
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
    let t = trim(raw);
    std::str::from_utf8(t)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|x| x.is_finite())
        .ok_or_else(|| format!("{field}: `{}` is not a number", show(t)))
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
