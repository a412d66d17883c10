//! libFM: `label idx:val idx:val …`; label −1/0 → 0, 1 → 1; the k-th entry is field k and its
//! index is the category (the value is checked to be a number and otherwise not used).

use super::*;

/// The libFM reader. The first line fixes the number of fields.
#[derive(Default)]
pub struct Libfm {
    fields: Vec<FieldDef>,
    may_lack_label: bool,
    /// Whether lines start with a label (a file to score may have none: its first token is
    /// then an `index:value`, which no label can be).
    unlabelled: bool,
}

impl Reader for Libfm {
    fn start_file(&mut self, first: &[u8]) -> Result<bool, String> {
        let mut toks = first
            .split(u8::is_ascii_whitespace)
            .filter(|t| !t.is_empty())
            .peekable();
        self.unlabelled = self.may_lack_label && toks.peek().is_some_and(|t| t.contains(&b':'));
        let n = toks.count() + usize::from(self.unlabelled);
        if n < 2 {
            return Err("a libFM line needs a label and at least one `index:value`".into());
        }
        if self.fields.is_empty() {
            self.fields = (0..n - 1)
                .map(|i| FieldDef::new(format!("field{i}"), FieldKind::Categorical))
                .collect();
        }
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
        let mut toks = line
            .split(u8::is_ascii_whitespace)
            .filter(|t| !t.is_empty());
        let lab = if self.unlabelled {
            0
        } else {
            label(toks.next().ok_or("empty line")?)?
        };
        for t in toks {
            let colon = t.iter().position(|&b| b == b':');
            let (idx, val) = match colon {
                Some(c) => (&t[..c], &t[c + 1..]),
                None => return Err(format!("`{}` is not `index:value`", show(t))),
            };
            if idx.is_empty() {
                return Err(format!("`{}` has no index", show(t)));
            }
            number_or(val, || format!("entry {}", cells.len() + 1))?;
            cells.push(Cell::Cat(idx));
        }
        if cells.len() != self.fields.len() {
            return Err(format!(
                "expected {} features, found {}",
                self.fields.len(),
                cells.len()
            ));
        }
        Ok(lab)
    }
}
