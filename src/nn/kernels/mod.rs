//! Our own rayon-parallel CPU kernels for the hot ops, plugged into dfdx as custom ops with a
//! hand-written backward: the interaction functions (all orders) and the gated batch norm.
//! dfdx's generic gather, element-wise ops and reductions run on one thread and materialise
//! every intermediate (a `(P, batch, d)` product per position); these fuse the whole function.
//!
//! Every kernel is tested against the generic dfdx composition it replaces (forward and
//! gradient, `tests` below). The CUDA build uses the generic compositions.
//!
//! Sums over the batch are taken in a fixed order (per channel, or per fixed chunk of samples and
//! then chunk by chunk), so results do not depend on how rayon schedules the work.

use rayon::prelude::*;

use crate::simd::zip_update;

mod bn;
mod dense;
mod flatten;
mod interact;

pub use bn::{gated_bn, gated_bn_sum};
pub use dense::dense;
pub(crate) use dense::{bias_relu, matmul_into};
pub use flatten::flatten_groups;
pub(crate) use flatten::{flatten_host_into, Keep};
pub use interact::{interact, interact_gated_sum, FlatTuples};

/// Samples per task in the batch-parallel loops.
pub(crate) const CHUNK: usize = 64;

/// A mutable buffer shared by tasks that write disjoint parts of it (rayon cannot split some
/// strided or scattered layouts into `&mut` chunks). It borrows the buffer for its lifetime, and
/// every access is bounds-checked, so an index bug panics instead of writing outside it; what
/// the caller still owes is that no two tasks touch the same element at once.
pub(crate) struct Shared<'a, T> {
    ptr: *mut T,
    len: usize,
    _buf: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: a `Shared` is a `&mut [T]` handed to several tasks; sending or sharing it is sound
// for `T: Send` given the disjointness that each `unsafe` access promises.
unsafe impl<T: Send> Send for Shared<'_, T> {}
unsafe impl<T: Send> Sync for Shared<'_, T> {}

impl<'a, T> Shared<'a, T> {
    pub(crate) fn new(buf: &'a mut [T]) -> Self {
        Shared {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            _buf: std::marker::PhantomData,
        }
    }

    /// `buf[start .. start + len]`, checked against the buffer's length.
    ///
    /// # Safety
    /// No other reference to any of these elements may be live while the slice is.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn slice(&self, start: usize, len: usize) -> &mut [T] {
        assert!(
            start <= self.len && len <= self.len - start,
            "{start}..{start}+{len} in a buffer of {}",
            self.len
        );
        // SAFETY: in bounds (checked above) of a buffer borrowed for 'a; exclusive by the
        // caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }

    /// `buf[i]`, checked against the buffer's length.
    ///
    /// # Safety
    /// As [`Shared::slice`], for element `i`.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn at(&self, i: usize) -> &mut T {
        // SAFETY: as for `slice`.
        unsafe { &mut self.slice(i, 1)[0] }
    }
}

/// `[start, end)` ranges of `chunk` covering `0..n`.
pub(crate) fn ranges(n: usize, chunk: usize) -> Vec<(usize, usize)> {
    (0..n.div_ceil(chunk))
        .map(|i| (i * chunk, ((i + 1) * chunk).min(n)))
        .collect()
}

/// Dot product with eight independent accumulators (so that it vectorises).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    for v in acc {
        s += v;
    }
    s
}

/// Adds `b` into `a` in parallel.
pub(crate) fn add_into(a: &mut [f32], b: &[f32]) {
    a.par_chunks_mut(1 << 14)
        .zip(b.par_chunks(1 << 14))
        .for_each(|(a, b)| crate::simd::vectorized!({ zip_update(a, b, |x, y| x + y) }));
}

/// Sums per-chunk partial vectors in chunk order.
pub(crate) fn sum_partials(parts: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; len];
    for p in parts {
        out.iter_mut().zip(&p).for_each(|(o, x)| *o += x);
    }
    out
}

/// One gradient to read and another to accumulate into, at once and without copying. dfdx
/// offers only one mutable borrow of its gradient map at a time; the two are distinct heap
/// buffers (of distinct tensors, both allocated before either is borrowed), which a lookup
/// does not move.
pub(crate) fn grad_read_write<'g, S1: dfdx::shapes::Shape, S2: dfdx::shapes::Shape>(
    grads: &'g mut crate::nn::Grads,
    read: &dfdx::tensor::Tensor<S1, f32, crate::nn::Backend>,
    write: &dfdx::tensor::Tensor<S2, f32, crate::nn::Backend>,
) -> Result<(&'g [f32], &'g mut [f32]), dfdx::tensor::CpuError> {
    grads.try_alloc_for(read)?;
    grads.try_alloc_for(write)?;
    let r = grads.get_or_alloc_mut(read)?;
    let (ptr, len) = (r.as_ptr(), r.len());
    let w = grads.get_or_alloc_mut(write)?;
    let (a, b) = (ptr as usize, w.as_ptr() as usize);
    assert!(
        a + len * 4 <= b || b + w.len() * 4 <= a,
        "grad_read_write needs two tensors with disjoint gradient buffers"
    );
    // SAFETY: the two buffers are disjoint (checked just above, whatever the caller passed),
    // and both were allocated before either lookup, so the second lookup neither inserted nor
    // moved the first's heap buffer (dfdx 0.13 keeps each gradient in its own `Vec`, which
    // Cargo.toml pins): `ptr..ptr + len` is still a live, initialised buffer that nothing
    // else borrows for `'g`.
    let r = unsafe { std::slice::from_raw_parts(ptr, len) };
    Ok((r, &mut w[..]))
}

/// A host copy of a tensor's values, by one `memcpy`. dfdx's `as_vec` walks an element
/// iterator (about 3 ns a value here: 2.4 ms for a 2000 × 400 activation, as much as its
/// matrix product). The tensor must be laid out in its shape's order, as every kernel input is:
/// made by `tensor_from_vec`, a kernel or an element-wise op, at most reshaped (never permuted
/// or broadcast; a debug build checks the values against `as_vec`).
pub(crate) fn host<S: dfdx::shapes::Shape, T>(
    t: &dfdx::tensor::Tensor<S, f32, crate::nn::Backend, T>,
) -> Vec<f32> {
    let mut v = Vec::new();
    host_into(t, &mut v);
    v
}

/// [`host`] into `v`, reused: no allocation, and no zeroing of what the copy overwrites.
pub(crate) fn host_into<S: dfdx::shapes::Shape, T>(
    t: &dfdx::tensor::Tensor<S, f32, crate::nn::Backend, T>,
    v: &mut Vec<f32>,
) {
    use dfdx::shapes::HasShape;
    v.resize(t.shape().num_elements(), 0.0);
    t.copy_into(v);
    debug_assert_eq!(
        *v,
        t.as_vec(),
        "a kernel input is laid out in its shape's order"
    );
}

/// What the kernels' tests share: random values, and the comparison of a kernel's values with
/// the generic composition's.
#[cfg(test)]
pub(crate) mod test_util {
    use rand::Rng;

    /// `n` values uniform in (−a, a).
    pub fn rand_vec(rng: &mut impl Rng, n: usize, a: f32) -> Vec<f32> {
        (0..n).map(|_| rng.gen_range(-a..a)).collect()
    }

    /// Runs `f` on every SIMD path this CPU has (`crate::simd`), asserts the paths agree bit for
    /// bit (compared through `Debug`, which prints each float's shortest exact form), and
    /// returns the result.
    pub fn same_on_every_path<R: std::fmt::Debug + Send>(
        what: &str,
        mut f: impl FnMut() -> R + Send,
    ) -> R {
        let mut runs = crate::simd::on_every_path(|_| f());
        let first = format!("{:?}", runs[0].1);
        for (p, r) in &runs[1..] {
            assert!(
                format!("{r:?}") == first,
                "{what}: the {p:?} path differs from the {:?} path",
                runs[0].0
            );
        }
        runs.swap_remove(0).1
    }

    /// Asserts `a` (the kernel's) matches `b` (the generic composition's) to `tol`, relative.
    pub fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tol * (1.0 + y.abs()),
                "{what}[{i}]: kernel {x} vs generic {y}"
            );
        }
    }
}
