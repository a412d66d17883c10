//! Parsed rows into pass 1's state: errors reported, each field's values interned in file order
//! (in parallel, one field per task), provisional ids queued for the temporary matrix.

use super::*;

/// Interns one cell of a field of `kind` into `ids`; a multi-valued field's cell adds each
/// item, and its item count to `counts`.
#[inline]
pub(super) fn push_cell(
    interner: &mut Interner,
    kind: FieldKind,
    cell: Cell<'_>,
    numeric: Bucketing,
    ids: &mut Vec<u32>,
    counts: &mut Vec<u32>,
) {
    match kind {
        FieldKind::Multi { sep } => {
            let before = ids.len();
            for v in cell.items(sep) {
                ids.push(interner.cat(v));
            }
            if ids.len() == before {
                ids.push(interner.cat(b"")); // empty, or only separators: missing
            }
            counts.push((ids.len() - before) as u32);
        }
        kind => ids.push(intern(interner, kind, cell, numeric)),
    }
}

impl Pass1 {
    /// Takes parsed lines in file order: reports their errors, interns each field's column in
    /// parallel (each field still sees its values in file order, so provisional ids stay
    /// deterministic) and queues the provisional ids.
    pub(super) fn absorb(
        &mut self,
        parsed: Vec<Parsed<'_>>,
        fail: &dyn Fn(usize, String) -> RowError,
        opts: &Options,
    ) -> Result<()> {
        for p in &parsed {
            for (no, m) in &p.errors {
                self.bad_row(fail(*no, m.clone()), opts)?;
            }
        }
        let n = self.found.fields.len();
        let rows: usize = parsed.iter().map(|p| p.labels.len()).sum();
        for p in &parsed {
            self.found.labels.extend_from_slice(&p.labels);
        }
        let numeric = opts.numeric;
        let columns: Vec<(Vec<u32>, Vec<u32>)> = self
            .found
            .interners
            .par_iter_mut()
            .zip(self.found.fields.par_iter())
            .enumerate()
            .map(|(f, (interner, def))| {
                let (mut ids, mut counts) = (Vec::with_capacity(rows), Vec::new());
                for p in &parsed {
                    for row in p.cells.chunks_exact(n) {
                        push_cell(interner, def.kind, row[f], numeric, &mut ids, &mut counts);
                    }
                }
                (ids, counts)
            })
            .collect();
        self.queue(columns, rows)?;
        self.parse_bufs
            .extend(parsed.into_iter().map(Parsed::into_static));
        Ok(())
    }

    /// Queues `rows` rows of provisional ids, given per field as (ids, item counts): row-major
    /// for the single-valued fields, ragged arrays for the others.
    pub(super) fn queue(&mut self, columns: Vec<(Vec<u32>, Vec<u32>)>, rows: usize) -> Result<()> {
        let n = self.found.fields.len();
        let single: Vec<usize> = (0..n)
            .filter(|&f| !matches!(self.found.fields[f].kind, FieldKind::Multi { .. }))
            .collect();
        self.pending.reserve(rows * single.len());
        for r in 0..rows {
            for &f in &single {
                self.pending.push(columns[f].0[r]);
            }
        }
        let mut m = 0;
        for (f, (ids, counts)) in columns.into_iter().enumerate() {
            if matches!(self.found.fields[f].kind, FieldKind::Multi { .. }) {
                let (offsets, all) = &mut self.found.multi[m];
                m += 1;
                all.extend_from_slice(&ids);
                for c in counts {
                    let last = *offsets.last().expect("starts with 0");
                    offsets.push(last + c as u64);
                }
            }
        }
        self.found.rows += rows;
        if self.pending.len() >= 1 << 20 {
            self.flush_pending()?;
        }
        Ok(())
    }

    pub(super) fn bad_row(&mut self, err: RowError, opts: &Options) -> Result<()> {
        match opts.on_error {
            OnError::Fail => Err(anyhow::Error::new(err)),
            OnError::Skip => {
                self.found.skipped.count += 1;
                if self.found.skipped.first.len() < LISTED_SKIPS {
                    self.found.skipped.first.push(SkippedRow {
                        file: err.file.display().to_string(),
                        line: err.line,
                        error: err.message,
                        parquet: err.parquet,
                    });
                }
                Ok(())
            }
        }
    }
}
