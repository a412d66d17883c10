//! Embedding tables outside the graph. A batch's rows are gathered into a leaf tensor, its
//! gradient is read back after backward, and a lazy sparse Adam updates only the touched rows.
//! dfdx's own gather would build (and Adam sweep) a dense V×d gradient every step.
//!
//! Layout of the leaf: field-major, `(fields, batch · d)`, so that an interaction's fields are
//! gathered as rows. A field may keep only some of the `d` positions (the dimension search):
//! its table then has one column per kept position and the others are zero in the leaf.

use super::{Backend, T2};
use dfdx::prelude::*;
use rayon::prelude::*;

/// One field's rows in a table.
#[derive(Clone, Debug)]
pub struct FieldSlot {
    /// First row of the field in the table.
    pub offset: usize,
    /// Rows (vocabulary size).
    pub vocab: usize,
    /// Kept positions among 0..d (all of them unless the dimension search pruned some).
    pub positions: Vec<usize>,
}

/// An embedding table with its Adam moments, rows interleaved `[w | m | v]` so that an update
/// touches adjacent memory. Each field has its own width (its kept positions).
pub struct Table {
    /// Width d of the leaf.
    pub d: usize,
    /// The fields.
    pub fields: Vec<FieldSlot>,
    /// Row starts in `data` (per global row), since widths differ between fields.
    starts: Vec<usize>,
    data: Vec<f32>,
    /// Per row, the step it was last updated (for lazy bias correction, as SparseAdam).
    touched: Vec<u32>,
}

impl Table {
    /// A table for fields of these vocabularies and kept positions, xavier-uniform initialised
    /// (bound √(6 / (vocab + d)) per field).
    pub fn new(d: usize, fields: &[(usize, Vec<usize>)], rng: &mut impl rand::Rng) -> Self {
        let mut slots = Vec::new();
        let mut starts = Vec::new();
        let mut data = Vec::new();
        let mut offset = 0;
        for (vocab, positions) in fields {
            let w = positions.len();
            let a = (6.0 / (*vocab + d) as f64).sqrt() as f32;
            for _ in 0..*vocab {
                starts.push(data.len());
                data.extend((0..w).map(|_| rng.gen_range(-a..a)));
                data.extend(std::iter::repeat_n(0.0, 2 * w));
            }
            slots.push(FieldSlot {
                offset,
                vocab: *vocab,
                positions: positions.clone(),
            });
            offset += vocab;
        }
        let rows = offset;
        Table {
            d,
            fields: slots,
            starts,
            data,
            touched: vec![0; rows],
        }
    }

    /// Weights (not moments) of every row, field by field: what a checkpoint saves.
    pub fn weights(&self) -> Vec<f32> {
        let mut out = Vec::new();
        for (r, &s) in self.starts.iter().enumerate() {
            out.extend_from_slice(&self.data[s..s + self.width_of(r)]);
        }
        out
    }

    /// Sets the weights (same layout as [`Table::weights`]).
    pub fn set_weights(&mut self, w: &[f32]) {
        let mut k = 0;
        for r in 0..self.starts.len() {
            let (s, n) = (self.starts[r], self.width_of(r));
            self.data[s..s + n].copy_from_slice(&w[k..k + n]);
            k += n;
        }
        assert_eq!(k, w.len(), "weights fill the table");
    }

    /// Parameters (weights) in the table.
    pub fn num_weights(&self) -> usize {
        self.fields
            .iter()
            .map(|f| f.vocab * f.positions.len())
            .sum()
    }

    fn width_of(&self, row: usize) -> usize {
        let f = self.fields.partition_point(|f| f.offset <= row) - 1;
        self.fields[f].positions.len()
    }

    /// The row of `id` in field `f`.
    #[inline]
    pub fn row(&self, f: usize, id: u32) -> usize {
        self.fields[f].offset + id as usize
    }

    /// The weights of a row.
    pub fn row_weights(&self, f: usize, id: u32) -> &[f32] {
        let r = self.row(f, id);
        let s = self.starts[r];
        &self.data[s..s + self.fields[f].positions.len()]
    }

    /// Gathers a batch into the host buffer of the leaf, `(fields, batch · d)`; `ids` is
    /// row-major `(batch, fields)`.
    pub fn gather(&self, ids: &[u32], batch: usize, out: &mut Vec<f32>) {
        let (n, d) = (self.fields.len(), self.d);
        out.clear();
        out.resize(n * batch * d, 0.0);
        out.par_chunks_mut(batch * d)
            .enumerate()
            .for_each(|(f, dst)| {
                let slot = &self.fields[f];
                for b in 0..batch {
                    let s = self.starts[slot.offset + ids[b * n + f] as usize];
                    let src = &self.data[s..s + slot.positions.len()];
                    let row = &mut dst[b * d..(b + 1) * d];
                    if slot.positions.len() == d {
                        row.copy_from_slice(src);
                    } else {
                        for (&k, &x) in slot.positions.iter().zip(src) {
                            row[k] = x;
                        }
                    }
                }
            });
    }

    /// The leaf tensor of a batch.
    pub fn leaf(&self, dev: &Backend, ids: &[u32], batch: usize, buf: &mut Vec<f32>) -> T2 {
        self.gather(ids, batch, buf);
        dev.tensor_from_vec(buf.clone(), (self.fields.len(), batch * self.d))
    }

    /// Lazy sparse Adam (as PyTorch's SparseAdam): sums the gradient of each touched row over
    /// the batch, then updates only those rows, with bias correction from the global step
    /// `step` (1-based). `l2` adds `l2 · w` to the gradient of every row used in the batch.
    pub fn adam(&mut self, step: u32, lr: f32, l2: f32, ids: &[u32], batch: usize, grad: &[f32]) {
        let (n, d) = (self.fields.len(), self.d);
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        let c1 = 1.0 / (1.0 - b1.powi(step as i32));
        let c2 = 1.0 / (1.0 - b2.powi(step as i32));
        // Per field in parallel: each field's rows are disjoint from the others'.
        let starts = &self.starts;
        let touched_ptr = SyncPtr(self.touched.as_mut_ptr());
        let data_ptr = SyncPtr(self.data.as_mut_ptr());
        self.fields.par_iter().enumerate().for_each(|(f, slot)| {
            let w = slot.positions.len();
            // Sum the batch's gradients per distinct row (rows repeat within a batch).
            let mut rows: Vec<(u32, usize)> = (0..batch).map(|b| (ids[b * n + f], b)).collect();
            rows.sort_unstable();
            let mut i = 0;
            let mut g = vec![0.0f32; w];
            while i < rows.len() {
                let id = rows[i].0;
                g.iter_mut().for_each(|x| *x = 0.0);
                while i < rows.len() && rows[i].0 == id {
                    let gb = &grad[f * batch * d + rows[i].1 * d..][..d];
                    for (x, &k) in g.iter_mut().zip(&slot.positions) {
                        *x += gb[k];
                    }
                    i += 1;
                }
                let r = slot.offset + id as usize;
                // SAFETY: row r belongs to field f only, and each field is handled by one task.
                let (row, touched) = unsafe {
                    (
                        std::slice::from_raw_parts_mut(data_ptr.get().add(starts[r]), 3 * w),
                        &mut *touched_ptr.get().add(r),
                    )
                };
                *touched = step;
                let (wt, mv) = row.split_at_mut(w);
                let (m, v) = mv.split_at_mut(w);
                for k in 0..w {
                    let gk = g[k] + l2 * wt[k];
                    m[k] = b1 * m[k] + (1.0 - b1) * gk;
                    v[k] = b2 * v[k] + (1.0 - b2) * gk * gk;
                    wt[k] -= lr * (m[k] * c1) / ((v[k] * c2).sqrt() + eps);
                }
            }
        });
    }
}

/// A raw pointer shared between tasks that write disjoint parts of one buffer.
#[derive(Clone, Copy)]
struct SyncPtr<T>(*mut T);
// SAFETY: used only where tasks write disjoint elements (see `Table::adam`).
unsafe impl<T> Send for SyncPtr<T> {}
unsafe impl<T> Sync for SyncPtr<T> {}
impl<T> SyncPtr<T> {
    fn get(self) -> *mut T {
        self.0
    }
}

/// Reads a leaf's gradient back to the host.
pub fn leaf_grad(grads: &super::Grads, leaf: &T2) -> Vec<f32> {
    grads.get(leaf).as_vec()
}
