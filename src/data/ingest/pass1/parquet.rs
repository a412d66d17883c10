//! Pass 1 over a Parquet file: each batch's columns are interned as they come, column by column,
//! with no row-major copy of the cells.

use super::absorb::push_cell;
use super::*;
use crate::data::read::parquet::Batch;

impl Pass1 {
    /// Reads a Parquet file batch by batch. Errors name the row (1-based in the file).
    pub(super) fn read_parquet(
        &mut self,
        spec: &crate::spec::CsvSpec,
        path: &Path,
        opts: &Options,
        progress: &Progress,
    ) -> Result<()> {
        let file = crate::data::read::parquet::File::open(path, spec)?;
        if self.found.interners.is_empty() {
            self.set_fields(file.fields());
        }
        self.lines_in_file = 0;
        self.header_seen = false;
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        let total = file.rows().max(1);
        let start_bytes = self.bytes_done;
        let fail = |row: usize, message: String| RowError {
            file: path.to_path_buf(),
            line: row,
            message,
            parquet: true,
        };
        file.for_each_batch(|first, batch| {
            self.absorb_batch(first, batch, &fail, opts)?;
            self.lines_in_file += batch.rows;
            let done = (first + batch.rows) as u64;
            self.bytes_done = start_bytes + size * done.min(total) / total;
            progress.set(self.bytes_done, self.found.rows as u64);
            Ok(())
        })?;
        self.bytes_done = start_bytes + size;
        self.flush_pending()?;
        Ok(())
    }

    /// One batch whose first row is row `first` (0-based) of its file: reports its bad rows in
    /// row order, then interns each field's column in parallel, as [`Pass1::absorb`] does for
    /// lines.
    ///
    /// A value from the column chunk's dictionary costs a lookup of that entry's provisional id
    /// once the entry has been interned, rather than a hash of its text: the ids are the same,
    /// since each entry is interned where it first appears.
    fn absorb_batch(
        &mut self,
        first: usize,
        batch: &Batch,
        fail: &dyn Fn(usize, String) -> RowError,
        opts: &Options,
    ) -> Result<()> {
        // A row's first error, from the label or the columns in spec order.
        let mut errors: Vec<(usize, &str)> = std::iter::once(&batch.label)
            .chain(&batch.columns)
            .flat_map(|c| c.errors.iter().map(|(r, m)| (*r, m.as_str())))
            .collect();
        errors.sort_by_key(|e| e.0); // stable: the first column's error stays first
        errors.dedup_by_key(|e| e.0);
        let mut good = Vec::with_capacity(batch.rows);
        let mut labels = Vec::with_capacity(batch.rows);
        let mut next_error = errors.iter().peekable();
        for r in 0..batch.rows {
            if let Some(&(_, m)) = next_error.next_if(|e| e.0 == r) {
                self.bad_row(fail(first + r + 1, m.to_string()), opts)?;
                continue;
            }
            match batch.label.label(r) {
                Ok(l) => {
                    good.push(r);
                    labels.push(l);
                }
                Err(m) => self.bad_row(fail(first + r + 1, m), opts)?,
            }
        }
        self.found.labels.extend_from_slice(&labels);

        let numeric = opts.numeric;
        let columns: Vec<(Vec<u32>, Vec<u32>)> = self
            .found
            .interners
            .par_iter_mut()
            .zip(self.found.fields.par_iter())
            .zip(self.dictionary_ids.par_iter_mut())
            .zip(batch.columns.par_iter())
            .map(|(((interner, def), known), c)| {
                let (mut ids, mut counts) = (Vec::with_capacity(good.len()), Vec::new());
                let dictionary = def.kind == FieldKind::Categorical && c.dict.is_some();
                if let Some(d) = c.dict.as_ref().filter(|_| dictionary) {
                    if known.0 != d.number {
                        known.0 = d.number;
                        known.1.clear();
                        known.1.resize(d.len(), u32::MAX);
                    }
                }
                for &r in &good {
                    if dictionary {
                        if let Some(slot) = known.1.get_mut(c.entry(r) as usize) {
                            if *slot == u32::MAX {
                                *slot = intern(interner, def.kind, c.cell(r, def.kind), numeric);
                            }
                            ids.push(*slot);
                            continue;
                        }
                    }
                    push_cell(
                        interner,
                        def.kind,
                        c.cell(r, def.kind),
                        numeric,
                        &mut ids,
                        &mut counts,
                    );
                }
                (ids, counts)
            })
            .collect();
        self.queue(columns, good.len())
    }
}
