//! Embedding tables outside the graph. A batch's rows are gathered into a leaf tensor, its
//! gradient is read back after backward, and a lazy sparse Adam updates only the touched rows.
//! dfdx's own gather would build (and Adam sweep) a dense V×d gradient every step.
//!
//! Layout of the leaf: field-major, `(fields, batch · d)`, so that an interaction's fields are
//! gathered as rows. A field may keep only some of the `d` positions (the dimension search):
//! its table then has one column per kept position and the others are zero in the leaf.

use super::{Backend, T2};
use crate::simd::{update4, zip_update};
use dfdx::prelude::*;
use rayon::prelude::*;

mod memory;
use memory::{advise_huge_pages, copy_row, prefetch, PREFETCH};

pub use crate::data::batch::{Batch, Source};

/// One field's rows in a table.
#[derive(Clone, Debug)]
pub struct FieldSlot {
    /// First row of the field in the table.
    pub offset: usize,
    /// Where its first row starts in the table's data; row `id` starts `id · 3 · width` later.
    pub base: usize,
    /// Rows (vocabulary size).
    pub vocab: usize,
    /// Kept positions among 0..d (all of them unless the dimension search pruned some).
    pub positions: Vec<usize>,
    /// Where its ids are in a batch.
    pub source: Source,
}

/// The standard deviation of initial embedding values unless the model says otherwise (see
/// [`Init::Normal`]). Per-field xavier bounds (√(6/(vocab+d)): 0.7 for a 2-category field)
/// overfitted early; the peers' normal(0, 1e-4) left the model on a plateau for ~5 epochs that
/// early stopping sometimes ended on (Frappe). 1e-4 … 3e-2 were compared on validation AUC over
/// 3 seeds on Frappe and Adult: 3e-2 was best for DeepFM on both and for the search on the
/// synthetic data (README: Baselines); IPNN's default differs (`model::default_init_std`).
pub const INIT_STD: f32 = 0.03;

/// How a table's values start.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Init {
    /// normal(0, std): base models, the interaction search and the re-train.
    Normal(f32),
    /// Xavier-uniform per field (bound √(6/(vocab+d))): the dimension search, whose GRDA
    /// settings in `specs/synthetic.aim` were calibrated with it (with normal(0, 0.03) noise
    /// fields kept 1–3 dimensions there). Not yet compared on validation.
    Xavier,
}

impl Default for Init {
    fn default() -> Self {
        Init::Normal(INIT_STD)
    }
}

/// An embedding table with its Adam moments, rows interleaved `[w | m | v]` so that an update
/// touches adjacent memory. Each field has its own width (its kept positions).
pub struct Table {
    /// Width d of the leaf.
    pub d: usize,
    /// The fields.
    pub fields: Vec<FieldSlot>,
    data: Vec<f32>,
    /// Floats before the first row, which put the rows on a 64-byte boundary: a 16-float row
    /// then fills one cache line where it would straddle two. Not part of the saved state.
    pad: usize,
    /// Per row, the step it was last updated (for lazy bias correction, as SparseAdam).
    touched: Vec<u32>,
    /// A gathered buffer given back after inference ([`Table::recycle`]): the next gather
    /// writes into memory that is already mapped.
    spare: std::sync::Mutex<Vec<f32>>,
}

impl Table {
    /// A table for fields of these vocabularies and kept positions, initialised normal(0,
    /// [`INIT_STD`]).
    pub fn new(d: usize, fields: &[(usize, Vec<usize>)], rng: &mut impl rand::Rng) -> Self {
        Self::with_init(d, fields, Init::default(), rng)
    }

    /// [`Table::new`], initialised by `init`.
    pub fn with_init(
        d: usize,
        fields: &[(usize, Vec<usize>)],
        init: Init,
        rng: &mut impl rand::Rng,
    ) -> Self {
        let mut slots = Vec::new();
        let total: usize = fields.iter().map(|(v, p)| v * 3 * p.len()).sum();
        let mut data = Vec::with_capacity(total + 15);
        advise_huge_pages(&mut data);
        // glibc aligns large blocks to 16 bytes only. Only speed depends on the padding.
        let pad = (64 - data.as_ptr() as usize % 64) % 64 / std::mem::size_of::<f32>();
        data.extend(std::iter::repeat_n(0.0, pad));
        let mut offset = 0;
        for (vocab, positions) in fields {
            let w = positions.len();
            let base = data.len();
            let bound = (6.0 / (*vocab + d) as f64).sqrt() as f32;
            for _ in 0..*vocab {
                match init {
                    Init::Normal(std) => data.extend(crate::nn::normal(rng, std, w)),
                    Init::Xavier => data.extend((0..w).map(|_| rng.gen_range(-bound..bound))),
                }
                data.extend(std::iter::repeat_n(0.0, 2 * w));
            }
            let source = Source::Column(slots.len());
            slots.push(FieldSlot {
                offset,
                base,
                vocab: *vocab,
                positions: positions.clone(),
                source,
            });
            offset += vocab;
        }
        let rows = offset;
        Table {
            d,
            fields: slots,
            data,
            pad,
            touched: vec![0; rows],
            spare: Default::default(),
        }
    }

    /// Marks the multi-valued fields: single-valued ones take the matrix columns in order,
    /// multi-valued ones the ragged lists in order.
    pub fn set_multi(&mut self, multi: &[bool]) {
        let (mut c, mut m) = (0, 0);
        for (slot, &is_multi) in self.fields.iter_mut().zip(multi) {
            slot.source = if is_multi {
                m += 1;
                Source::Multi(m - 1)
            } else {
                c += 1;
                Source::Column(c - 1)
            };
        }
    }

    /// Bytes a table of `vocab` rows of `width` positions holds: each row's weights and Adam
    /// moments, and its last update step (saturating: a corrupt vocabulary can be near
    /// `usize::MAX`).
    pub fn bytes(vocab: usize, width: usize) -> u64 {
        let row = (3 * width as u64 + 1) * 4;
        (vocab as u64).saturating_mul(row)
    }

    /// The whole state (weights and Adam moments, interleaved) and each row's last update step.
    pub fn raw(&self) -> (&[f32], &[u32]) {
        (&self.data[self.pad..], &self.touched)
    }

    /// Restores what [`Table::raw`] gave.
    pub fn set_raw(&mut self, data: &[f32], touched: &[u32]) -> anyhow::Result<()> {
        let mine = &mut self.data[self.pad..];
        if data.len() != mine.len() || touched.len() != self.touched.len() {
            anyhow::bail!("the checkpoint's embedding table does not match the model");
        }
        mine.copy_from_slice(data);
        self.touched.copy_from_slice(touched);
        Ok(())
    }

    /// Weights (not moments) of every row, field by field: what a checkpoint saves.
    pub fn weights(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.num_weights());
        for slot in &self.fields {
            let w = slot.positions.len();
            for id in 0..slot.vocab {
                let s = slot.base + id * 3 * w;
                out.extend_from_slice(&self.data[s..s + w]);
            }
        }
        out
    }

    /// Sets the weights (same layout as [`Table::weights`]).
    pub fn set_weights(&mut self, w: &[f32]) {
        let mut k = 0;
        for slot in &self.fields {
            let n = slot.positions.len();
            for id in 0..slot.vocab {
                let s = slot.base + id * 3 * n;
                self.data[s..s + n].copy_from_slice(&w[k..k + n]);
                k += n;
            }
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

    /// The weights of a row.
    pub fn row_weights(&self, f: usize, id: u32) -> &[f32] {
        let w = self.fields[f].positions.len();
        &self.region(f)[id as usize * 3 * w..][..w]
    }

    /// Checks that every id of the batch lies below its field's vocabulary. Cache splits are
    /// checked when they open, so this fails only on a caller's bug; it is one pass over the
    /// ids, cheap against the gather, and keeps an id from reaching another field's rows.
    ///
    /// # Panics
    /// On an id at or above its field's vocabulary.
    fn check(&self, batch: &Batch) {
        for (f, slot) in self.fields.iter().enumerate() {
            if let Some(id) = batch.max_id(slot.source) {
                assert!(
                    (id as usize) < slot.vocab,
                    "field {f}: id {id} in a batch, but the field has {} ids",
                    slot.vocab
                );
            }
        }
    }

    /// Field `f`'s rows: `vocab` rows of `[w | m | v]`, each `3 · width` long.
    fn region(&self, f: usize) -> &[f32] {
        let slot = &self.fields[f];
        &self.data[slot.base..slot.base + slot.vocab * 3 * slot.positions.len()]
    }

    /// Gathers a batch into the host buffer of the leaf, `(fields, batch · d)`.
    ///
    /// # Panics
    /// On an id at or above its field's vocabulary (see [`Table::check`]).
    pub fn gather(&self, batch: &Batch, out: &mut Vec<f32>) {
        self.check(batch);
        let (n, d, rows) = (self.fields.len(), self.d, batch.rows());
        // A reused buffer keeps its old values: the straight copy below overwrites all of its
        // field's values, and the general case zeroes its own first.
        out.resize(n * rows * d, 0.0);
        out.truncate(n * rows * d);
        out.par_chunks_mut((rows * d).max(1))
            .enumerate()
            .for_each(|(f, dst)| {
                crate::simd::vectorized!({
                    let slot = &self.fields[f];
                    let data = self.region(f);
                    let width = slot.positions.len();
                    if let (Source::Column(c), true) = (slot.source, width == d) {
                        // The common case, a single-valued field at full width: a straight copy,
                        // fetching rows a few samples ahead (they are scattered over the table).
                        let col = |b: usize| batch.matrix()[b * batch.columns() + c] as usize;
                        for b in 0..rows {
                            if b + PREFETCH < rows {
                                prefetch(data, col(b + PREFETCH) * 3 * d, d);
                            }
                            let s = col(b) * 3 * d;
                            copy_row(&mut dst[b * d..(b + 1) * d], &data[s..s + d]);
                        }
                        return;
                    }
                    dst.fill(0.0);
                    let mut entries = Vec::new();
                    for b in 0..rows {
                        let row = &mut dst[b * d..(b + 1) * d];
                        batch.entries(slot.source, b, &mut entries);
                        for &(id, w) in &entries {
                            let s = id as usize * 3 * width;
                            let src = &data[s..s + width];
                            for (&k, &x) in slot.positions.iter().zip(src) {
                                row[k] += w * x;
                            }
                        }
                    }
                })
            });
    }

    /// The leaf tensor of a batch, and the same values on the host.
    pub fn leaf_and_host(&self, dev: &Backend, batch: &Batch) -> (T2, std::sync::Arc<Vec<f32>>) {
        let mut buf = std::mem::take(&mut *self.spare.lock().unwrap_or_else(|e| e.into_inner()));
        self.gather(batch, &mut buf);
        let copy: Vec<f32> = buf.par_iter().copied().collect();
        let t = dev.tensor_from_vec(copy, (self.fields.len(), batch.rows() * self.d));
        (t, std::sync::Arc::new(buf))
    }

    /// Gives back the host buffer of [`Table::leaf_and_host`] for the next gather to reuse, if
    /// nothing else holds it any more.
    pub fn recycle(&self, host: std::sync::Arc<Vec<f32>>) {
        if let Ok(buf) = std::sync::Arc::try_unwrap(host) {
            *self.spare.lock().unwrap_or_else(|e| e.into_inner()) = buf;
        }
    }

    /// The leaf tensor of a batch.
    pub fn leaf(&self, dev: &Backend, batch: &Batch) -> T2 {
        let mut buf = Vec::new();
        self.gather(batch, &mut buf);
        dev.tensor_from_vec(buf, (self.fields.len(), batch.rows() * self.d))
    }

    /// Lazy sparse Adam (as PyTorch's SparseAdam): sums the gradient of each touched row over
    /// the batch, then updates only those rows, with bias correction from the global step
    /// `step` (1-based). `l2` adds `l2 · w` to the gradient of every row used in the batch.
    ///
    /// # Panics
    /// On an id at or above its field's vocabulary (see [`Table::check`]).
    pub fn adam(&mut self, step: u32, lr: f32, l2: f32, batch: &Batch, grad: &[f32]) {
        self.check(batch);
        let (d, rows_in_batch) = (self.d, batch.rows());
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        // As PyTorch: w −= (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε).
        let step_size = lr / (1.0 - b1.powi(step as i32));
        let inv_sqrt_c2 = 1.0 / (1.0 - b2.powi(step as i32)).sqrt();
        // Per field in parallel, each task owning its field's rows: split the table into the
        // fields' disjoint regions (laid out in field order by `with_init`).
        let mut regions = Vec::with_capacity(self.fields.len());
        let (mut data, mut touched) = (&mut self.data[self.pad..], &mut self.touched[..]);
        for slot in &self.fields {
            let (mine, rest) = data.split_at_mut(slot.vocab * 3 * slot.positions.len());
            let (mine_t, rest_t) = touched.split_at_mut(slot.vocab);
            regions.push((slot, mine, mine_t));
            (data, touched) = (rest, rest_t);
        }
        regions
            .into_par_iter()
            .enumerate()
            .for_each(|(f, (slot, data, touched))| {
                crate::simd::vectorized!({
                    let w = slot.positions.len();
                    let full = w == d;
                    // Sum the batch's gradients per distinct row (rows repeat within a batch); a value
                    // of a multi-valued field gets its sample's gradient divided by its value count.
                    let mut rows: Vec<(u32, usize, f32)> = Vec::with_capacity(rows_in_batch);
                    let mut entries = Vec::new();
                    for b in 0..rows_in_batch {
                        batch.entries(slot.source, b, &mut entries);
                        rows.extend(entries.iter().map(|&(id, w)| (id, b, w)));
                    }
                    rows.sort_unstable_by_key(|&(id, b, _)| (id, b));
                    let mut i = 0;
                    let mut g = vec![0.0f32; w];
                    while i < rows.len() {
                        let id = rows[i].0 as usize;
                        if i + PREFETCH < rows.len() {
                            prefetch(data, rows[i + PREFETCH].0 as usize * 3 * w, 3 * w);
                        }
                        g.iter_mut().for_each(|x| *x = 0.0);
                        while i < rows.len() && rows[i].0 as usize == id {
                            let (_, b, wt) = rows[i];
                            let gb = &grad[f * rows_in_batch * d + b * d..][..d];
                            if full {
                                zip_update(&mut g, gb, |x, y| x + wt * y);
                            } else {
                                for (x, &k) in g.iter_mut().zip(&slot.positions) {
                                    *x += wt * gb[k];
                                }
                            }
                            i += 1;
                        }
                        touched[id] = step;
                        let row = &mut data[id * 3 * w..(id + 1) * 3 * w];
                        let (wt, mv) = row.split_at_mut(w);
                        let (m, v) = mv.split_at_mut(w);
                        update4(wt, m, v, &g, |wt, m, v, g| {
                            let gk = g + l2 * wt;
                            let m = b1 * m + (1.0 - b1) * gk;
                            let v = b2 * v + (1.0 - b2) * gk * gk;
                            (wt - step_size * m / (v.sqrt() * inv_sqrt_c2 + eps), m, v)
                        });
                    }
                })
            });
    }
}

/// Calls `f` with a leaf's gradient on the host (borrowed on the CPU, copied from CUDA).
pub fn with_leaf_grad<R>(grads: &mut super::Grads, leaf: &T2, f: impl FnOnce(&[f32]) -> R) -> R {
    #[cfg(not(feature = "cuda"))]
    {
        f(grads.get_or_alloc_mut(leaf).expect("gradient storage"))
    }
    #[cfg(feature = "cuda")]
    {
        f(&grads.get(leaf).as_vec())
    }
}

#[cfg(test)]
mod tests;
