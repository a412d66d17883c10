//! Any CSV with a header: the spec names the label column and each feature column's role.

use super::*;
use crate::spec::{ColumnRole, CsvSpec, Unlisted};

/// The CSV reader.
pub struct Csv {
    spec: CsvSpec,
    fields: Vec<FieldDef>,
    /// Column index of the label (`None`: unlabelled rows, for scoring) and of each field; the
    /// header's column count.
    label_col: Option<usize>,
    may_lack_label: bool,
    field_cols: Vec<usize>,
    columns: usize,
}

/// The fields a spec's `columns { … }` list, in order: CSV's and Parquet's alike.
pub(crate) fn fields_of(spec: &CsvSpec) -> Vec<FieldDef> {
    spec.columns
        .iter()
        .map(|c| {
            let kind = match c.role {
                ColumnRole::Categorical => FieldKind::Categorical,
                ColumnRole::Numeric => FieldKind::Numeric,
                ColumnRole::Multi { sep } => FieldKind::Multi { sep: sep as u8 },
            };
            FieldDef::new(c.name.clone(), kind)
        })
        .collect()
}

impl Csv {
    /// A reader for the columns `spec` names.
    pub fn new(spec: CsvSpec) -> Self {
        let fields = fields_of(&spec);
        Csv {
            spec,
            fields,
            label_col: None,
            may_lack_label: false,
            field_cols: vec![],
            columns: 0,
        }
    }
}

/// Splits a CSV line at `sep`, honouring double quotes (`"a,b"`, `"say ""hi"""`); quoted cells
/// are returned without their quotes (doubled quotes stay doubled: they are category text).
pub fn split_quoted(line: &[u8], sep: u8, out: &mut Vec<(usize, usize)>) -> Result<(), String> {
    out.clear();
    let mut i = 0;
    loop {
        if line.get(i) == Some(&b'"') {
            let start = i + 1;
            let mut j = start;
            loop {
                match line.get(j) {
                    None => return Err("a quoted cell is not closed on its line".into()),
                    Some(b'"') if line.get(j + 1) == Some(&b'"') => j += 2,
                    Some(b'"') => break,
                    Some(_) => j += 1,
                }
            }
            out.push((start, j));
            i = j + 1;
            match line.get(i) {
                None => return Ok(()),
                Some(&c) if c == sep => i += 1,
                Some(_) => return Err("text after a closing quote".into()),
            }
        } else {
            let end = line[i..]
                .iter()
                .position(|&b| b == sep)
                .map_or(line.len(), |p| i + p);
            out.push((i, end));
            if end == line.len() {
                return Ok(());
            }
            i = end + 1;
        }
    }
}

impl Reader for Csv {
    fn start_file(&mut self, first: &[u8]) -> Result<bool, String> {
        let mut spans = Vec::new();
        split_quoted(first, self.spec.delimiter, &mut spans).map_err(|e| format!("header: {e}"))?;
        let names: Vec<String> = spans
            .iter()
            .map(|&(a, b)| String::from_utf8_lossy(trim(&first[a..b])).into_owned())
            .collect();
        let find = |name: &str| -> Result<usize, String> {
            names.iter().position(|n| n == name).ok_or_else(|| {
                let cands: Vec<&str> = names.iter().map(String::as_str).collect();
                let hint = crate::spec::suggest_name(name, &cands)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("; the header has {}", names.join(", ")));
                format!("no column `{name}` in the header{hint}")
            })
        };
        let label_col = match find(&self.spec.label) {
            Ok(c) => Some(c),
            Err(_) if self.may_lack_label => None,
            Err(e) => return Err(e),
        };
        let field_cols = self
            .spec
            .columns
            .iter()
            .map(|c| find(&c.name))
            .collect::<Result<Vec<_>, _>>()?;
        if self.spec.unlisted == Unlisted::Reject {
            let unlisted: Vec<&str> = names
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != label_col && !field_cols.contains(i))
                .map(|(_, n)| n.as_str())
                .collect();
            if !unlisted.is_empty() {
                return Err(format!(
                    "columns not listed in the spec: {} (list them, or set `unlisted = ignore`)",
                    unlisted.join(", ")
                ));
            }
        }
        if self.columns != 0 && names.len() != self.columns {
            return Err(format!(
                "this file has {} columns, the first file {}",
                names.len(),
                self.columns
            ));
        }
        self.label_col = label_col;
        self.field_cols = field_cols;
        self.columns = names.len();
        Ok(true)
    }

    fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    fn allow_unlabelled(&mut self) {
        self.may_lack_label = true;
    }

    fn labelled(&self) -> bool {
        self.label_col.is_some() || self.columns == 0
    }

    fn parse<'l>(&self, line: &'l [u8], cells: &mut Vec<Cell<'l>>) -> Result<u8, String> {
        cells.clear();
        thread_local! {
            static SPANS: std::cell::RefCell<Vec<(usize, usize)>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        SPANS.with(|s| {
            let mut spans = s.borrow_mut();
            split_quoted(line, self.spec.delimiter, &mut spans)?;
            if spans.len() != self.columns {
                return Err(format!(
                    "expected {} columns, found {}",
                    self.columns,
                    spans.len()
                ));
            }
            let cell = |c: usize| trim(&line[spans[c].0..spans[c].1]);
            let lab = match self.label_col {
                Some(c) => label(cell(c))?,
                None => 0,
            };
            for (f, &c) in self.fields.iter().zip(&self.field_cols) {
                let raw = cell(c);
                cells.push(match f.kind {
                    _ if raw.is_empty() => Cell::Missing,
                    FieldKind::Categorical => Cell::Cat(raw),
                    FieldKind::Numeric => Cell::Num(number(raw, &f.name)?),
                    FieldKind::Multi { .. } => Cell::Multi(raw),
                });
            }
            Ok(lab)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        split_quoted(line.as_bytes(), b',', &mut out).unwrap();
        out.iter().map(|&(a, b)| line[a..b].to_string()).collect()
    }

    #[test]
    fn quoting() {
        assert_eq!(cells("a,b,,c"), ["a", "b", "", "c"]);
        assert_eq!(cells("\"a,b\",c"), ["a,b", "c"]);
        assert_eq!(cells("x,\"say \"\"hi\"\"\""), ["x", "say \"\"hi\"\""]);
        assert_eq!(cells(""), [""]);
        let mut out = Vec::new();
        assert!(split_quoted(b"\"open,b", b',', &mut out).is_err());
        assert!(split_quoted(b"\"a\"b,c", b',', &mut out).is_err());
    }
}
