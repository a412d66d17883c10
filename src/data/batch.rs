//! A batch of ids as the embedding tables read it. Its fields are private: every batch comes
//! from a constructor that checks its shape, or from a cache split that was checked on open,
//! so the tables can rely on it (ids below each field's vocabulary are checked per batch by
//! the table, which knows the vocabularies).

use super::cache::Split;

/// A batch's ids: a row-major matrix for the single-valued fields, and for each multi-valued
/// field a ragged list (embedded as the mean of its values' embeddings).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    rows: usize,
    columns: usize,
    matrix: Vec<u32>,
    multi: Vec<(Vec<u32>, Vec<u32>)>,
}

/// Where a field's ids are in a [`Batch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A column of the matrix.
    Column(usize),
    /// A ragged list.
    Multi(usize),
}

impl Batch {
    /// A batch of single-valued fields only: `rows` samples of `matrix.len() / rows` ids each.
    ///
    /// # Panics
    /// If `matrix.len()` is not a multiple of `rows` (a caller's bug, not an input error).
    pub fn from_matrix(matrix: Vec<u32>, rows: usize) -> Self {
        let columns = matrix.len().checked_div(rows).unwrap_or(0);
        assert_eq!(
            columns * rows,
            matrix.len(),
            "a batch matrix of {} ids does not hold {rows} rows",
            matrix.len()
        );
        Batch {
            rows,
            columns,
            matrix,
            multi: vec![],
        }
    }

    /// A batch with multi-valued fields: per field, offsets (`rows + 1`, from 0, never
    /// decreasing, ending at the id count) and the ids.
    pub fn new(
        rows: usize,
        columns: usize,
        matrix: Vec<u32>,
        multi: Vec<(Vec<u32>, Vec<u32>)>,
    ) -> Result<Self, String> {
        if matrix.len() != rows * columns {
            return Err(format!(
                "{} ids for {rows} rows of {columns} columns",
                matrix.len()
            ));
        }
        for (m, (offsets, ids)) in multi.iter().enumerate() {
            let ok = offsets.len() == rows + 1
                && offsets.first() == Some(&0)
                && offsets.windows(2).all(|w| w[0] <= w[1])
                && offsets.last().map(|&o| o as usize) == Some(ids.len());
            if !ok {
                return Err(format!(
                    "multi-valued field {m}: offsets {offsets:?} do not index {} ids in {rows} rows",
                    ids.len()
                ));
            }
        }
        Ok(Batch {
            rows,
            columns,
            matrix,
            multi,
        })
    }

    /// Refills this batch with the given rows of a split, reusing its buffers.
    pub fn fill(&mut self, split: &Split, rows: impl Iterator<Item = usize>) {
        let cols = split.ids.shape[1];
        let ids = split.ids.data();
        self.matrix.clear();
        self.rows = 0;
        self.columns = cols;
        self.multi.resize_with(split.multi.len(), Default::default);
        for (o, v) in self.multi.iter_mut() {
            o.clear();
            o.push(0);
            v.clear();
        }
        for r in rows {
            self.matrix
                .extend_from_slice(&ids[r * cols..(r + 1) * cols]);
            for ((offsets, values), (o, v)) in split.multi.iter().zip(self.multi.iter_mut()) {
                // Offsets were checked (non-decreasing, within the ids) when the cache opened.
                let (a, b) = (offsets.data()[r] as usize, offsets.data()[r + 1] as usize);
                v.extend_from_slice(&values.data()[a..b]);
                o.push(v.len() as u32);
            }
            self.rows += 1;
        }
    }

    /// Samples.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns of the matrix (the single-valued fields).
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// The `(rows, columns)` ids of the single-valued fields.
    pub fn matrix(&self) -> &[u32] {
        &self.matrix
    }

    /// Per multi-valued field: offsets (`rows + 1`, from 0) and the ids.
    pub fn multi(&self) -> &[(Vec<u32>, Vec<u32>)] {
        &self.multi
    }

    /// The (id, weight) pairs of field source `src` in sample `b`: one id of weight 1, or each
    /// of a multi-valued field's ids with weight 1/count.
    pub fn entries(&self, src: Source, b: usize, out: &mut Vec<(u32, f32)>) {
        out.clear();
        match src {
            Source::Column(c) => out.push((self.matrix[b * self.columns + c], 1.0)),
            Source::Multi(m) => {
                let (offsets, ids) = &self.multi[m];
                let vals = &ids[offsets[b] as usize..offsets[b + 1] as usize];
                let w = 1.0 / vals.len().max(1) as f32;
                out.extend(vals.iter().map(|&v| (v, w)));
            }
        }
    }

    /// The largest id of field source `src` in this batch, if it has any.
    pub fn max_id(&self, src: Source) -> Option<u32> {
        match src {
            Source::Column(c) if c < self.columns => (0..self.rows)
                .map(|b| self.matrix[b * self.columns + c])
                .max(),
            Source::Column(_) => None,
            Source::Multi(m) => self
                .multi
                .get(m)
                .and_then(|(_, ids)| ids.iter().copied().max()),
        }
    }
}
