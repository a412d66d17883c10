//! Pass 1 over a Parquet file: its batches become cells, which then go the way parsed lines go.

use super::*;

impl Pass1 {
    /// Reads a Parquet file batch by batch: each batch's rows become cells in parallel blocks,
    /// then go the way parsed lines go. Errors name the row (1-based in the file).
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
        let kinds: Vec<FieldKind> = file.fields().iter().map(|f| f.kind).collect();
        file.for_each_batch(|first, batch| {
            let blocks: Vec<usize> = (0..batch.rows).step_by(PARSE_BLOCK).collect();
            // The buffers come from (and `absorb` returns them to) the pool the text path uses.
            self.parse_bufs
                .resize_with(self.parse_bufs.len().max(blocks.len()), Default::default);
            let mut parsed: Vec<Parsed<'_>> = self
                .parse_bufs
                .drain(..blocks.len())
                .map(Parsed::from_static)
                .collect();
            parsed
                .par_iter_mut()
                .zip(blocks.par_iter())
                .for_each(|(p, &a)| {
                    let mut row = Vec::with_capacity(kinds.len());
                    'rows: for r in a..(a + PARSE_BLOCK).min(batch.rows) {
                        let no = first + r + 1;
                        for c in std::iter::once(&batch.label).chain(&batch.columns) {
                            if let Some(m) = c.error(r) {
                                p.errors.push((no, m.to_string()));
                                continue 'rows;
                            }
                        }
                        let label = match batch.label.label(r) {
                            Ok(l) => l,
                            Err(m) => {
                                p.errors.push((no, m));
                                continue;
                            }
                        };
                        row.clear();
                        row.extend(batch.columns.iter().zip(&kinds).map(|(c, &k)| c.cell(r, k)));
                        p.labels.push(label);
                        p.cells.extend_from_slice(&row);
                    }
                });
            self.absorb(parsed, &fail, opts)?;
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
}
