//! Criteo: label, I1..I13 (integer counts), C1..C26 (hashed categories); empty means missing.
//! Accepts Kaggle's raw TSV (no header) and the CSV variant with header `label,I1..I13,C1..C26`.

use super::*;
use crate::spec::formats::{CRITEO_CATEGORICAL, CRITEO_NUMERIC};

const COLUMNS: usize = 1 + CRITEO_NUMERIC + CRITEO_CATEGORICAL;

/// The Criteo reader.
pub struct Criteo {
    fields: Vec<FieldDef>,
    sep: u8,
    may_lack_label: bool,
    /// Rows without the label column (Kaggle's test file: 39 columns), for scoring.
    unlabelled: bool,
}

impl Default for Criteo {
    fn default() -> Self {
        let mut fields: Vec<FieldDef> = (1..=CRITEO_NUMERIC)
            .map(|i| FieldDef::new(format!("I{i}"), FieldKind::Numeric))
            .collect();
        fields.extend(
            (1..=CRITEO_CATEGORICAL)
                .map(|i| FieldDef::new(format!("C{i}"), FieldKind::Categorical)),
        );
        Criteo {
            fields,
            sep: b'\t',
            may_lack_label: false,
            unlabelled: false,
        }
    }
}

impl Reader for Criteo {
    fn start_file(&mut self, first: &[u8]) -> Result<bool, String> {
        if first.starts_with(b"label") {
            let expected: Vec<String> = std::iter::once("label".to_string())
                .chain(self.fields.iter().map(|f| f.name.clone()))
                .collect();
            let got: Vec<&[u8]> = first.split(|&b| b == b',').map(trim).collect();
            if got.len() != COLUMNS || got.iter().zip(&expected).any(|(g, e)| *g != e.as_bytes()) {
                return Err(format!(
                    "unexpected Criteo header `{}`: expected `{}`",
                    show(first),
                    expected.join(",")
                ));
            }
            self.sep = b',';
            return Ok(true);
        }
        self.sep = if first.contains(&b'\t') { b'\t' } else { b',' };
        let columns = first.split(|&b| b == self.sep).count();
        self.unlabelled = self.may_lack_label && columns == COLUMNS - 1;
        Ok(false)
    }

    fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    fn allow_unlabelled(&mut self) {
        self.may_lack_label = true;
    }

    fn labelled(&self) -> bool {
        !self.unlabelled
    }

    fn parse<'l>(&self, line: &'l [u8], cells: &mut Vec<Cell<'l>>) -> Result<u8, String> {
        cells.clear();
        let mut cols = line.split(|&b| b == self.sep);
        let (lab, expected) = if self.unlabelled {
            (0, COLUMNS - 1)
        } else {
            (label(cols.next().unwrap_or_default())?, COLUMNS)
        };
        for (i, raw) in cols.enumerate() {
            if i >= COLUMNS - 1 {
                return Err(format!("expected {expected} columns, found more"));
            }
            cells.push(if raw.is_empty() {
                Cell::Missing
            } else if i < CRITEO_NUMERIC {
                Cell::Num(number(raw, &self.fields[i].name)?)
            } else {
                Cell::Cat(raw)
            });
        }
        if cells.len() != COLUMNS - 1 {
            return Err(format!(
                "expected {expected} columns, found {}",
                cells.len() + expected + 1 - COLUMNS
            ));
        }
        Ok(lab)
    }
}
