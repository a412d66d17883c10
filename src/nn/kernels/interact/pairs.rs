//! Inner products of field pairs with samples as the vector lanes: the hot case of FM, DeepFM
//! and the search's inner and scalar-kernel pairs (order 2, no product vectors).
//!
//! The embeddings are field-major, `(fields, batch · d)`: a pair's dot product per sample is a
//! horizontal sum over d. Here each task copies a block of [`LANES`] samples of every field
//! into `(field, k, lane)` order (a few tens of KB, in L1/L2), after which a pair's products
//! for the whole block are `d` vertical multiply-adds, and its gradients `2d`, with no
//! horizontal sums; every pair reads the block from cache instead of streaming both fields'
//! rows from memory. Sums over k run in k order in every lane, so the result does not depend on
//! the SIMD width.

use super::{FlatTuples, Shared, CHUNK};
use crate::nn::kernels::ranges;
use rayon::prelude::*;

/// Samples per vector block: one AVX-512 register of f32, two AVX2 ones.
const LANES: usize = 16;

/// Copies samples `s0 .. s0 + w` (w ≤ LANES) of every field into `tr` as `(field, k, lane)`;
/// lanes past `w` keep what they held (their results are never written out).
fn transpose_in(ev: &[f32], (batch, d): (usize, usize), s0: usize, w: usize, tr: &mut [f32]) {
    let bd = batch * d;
    for (f, block) in tr.chunks_exact_mut(d * LANES).enumerate() {
        for l in 0..w {
            let src = &ev[f * bd + (s0 + l) * d..][..d];
            for (k, &x) in src.iter().enumerate() {
                block[k * LANES + l] = x;
            }
        }
    }
}

/// `Σ_k x[k][l] · y[k][l]` per lane, in k order.
#[inline(always)]
fn lane_dots(x: &[f32], y: &[f32], d: usize) -> [f32; LANES] {
    let mut acc = [0.0f32; LANES];
    let (x, y) = (&x[..d * LANES], &y[..d * LANES]);
    for (xk, yk) in x.chunks_exact(LANES).zip(y.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += xk[l] * yk[l];
        }
    }
    acc
}

/// `g[k][l] += c[l] · x[k][l]` for k < d.
#[inline(always)]
fn lanes_axpy(g: &mut [f32], c: &[f32; LANES], x: &[f32], d: usize) {
    let (g, x) = (&mut g[..d * LANES], &x[..d * LANES]);
    for (gk, xk) in g.chunks_exact_mut(LANES).zip(x.chunks_exact(LANES)) {
        let gk: &mut [f32; LANES] = gk.try_into().expect("a lane block");
        // Loaded whole before the store: LLVM cannot tell the two buffers apart here, and would
        // otherwise keep the lanes scalar in case a store changes a later load.
        let (xv, mut gv): ([f32; LANES], [f32; LANES]) =
            (xk.try_into().expect("a lane block"), *gk);
        for l in 0..LANES {
            gv[l] += c[l] * xv[l];
        }
        *gk = gv;
    }
}

/// Each pair's scale: the scalar kernel's s, or 1 for the inner product.
pub(super) fn scales(
    function: crate::nn::function::InteractionFn,
    kv: &[f32],
    p: usize,
) -> Vec<f32> {
    match function {
        crate::nn::function::InteractionFn::ScalarKernel => kv.to_vec(),
        _ => vec![1.0; p],
    }
}

/// Where the per-block results go: the `(P, batch)` values scaled per pair, or their weighted
/// sum per sample.
pub(super) enum Sink<'a> {
    /// `out[t · batch + b] = scale_t · ⟨e_i, e_j⟩(b)`.
    Values {
        out: &'a mut [f32],
        scale: &'a [f32],
    },
    /// `sum[b] = Σ_t coef_t · ⟨e_i, e_j⟩(b) − offset`, pairs in order.
    Sum {
        sum: &'a mut [f32],
        coef: &'a [f32],
        offset: f32,
    },
}

/// The inner products of the order-2 `tuples` over the field-major embeddings `ev`, into `sink`.
pub(super) fn forward(ev: &[f32], tuples: &FlatTuples, (batch, d): (usize, usize), sink: Sink) {
    debug_assert_eq!(tuples.order, 2);
    let fields = ev.len() / (batch * d);
    let p = tuples.len();
    let (target, scale, offset, summed) = match sink {
        Sink::Values { out, scale } => (out, scale, 0.0, false),
        Sink::Sum { sum, coef, offset } => (sum, coef, offset, true),
    };
    assert_eq!(scale.len(), p, "one coefficient per pair");
    let all = Shared::new(target);
    ranges(batch, CHUNK).into_par_iter().for_each(|(b0, b1)| {
        crate::simd::vectorized!({
            let mut tr = vec![0.0f32; fields * d * LANES];
            for s0 in (b0..b1).step_by(LANES) {
                let w = (b1 - s0).min(LANES);
                transpose_in(ev, (batch, d), s0, w, &mut tr);
                let mut total = [-offset; LANES];
                for (t, &c) in scale.iter().enumerate().take(p) {
                    let (i, j) = (tuples.fields[2 * t], tuples.fields[2 * t + 1]);
                    if summed && c == 0.0 {
                        continue;
                    }
                    let v = lane_dots(&tr[i * d * LANES..], &tr[j * d * LANES..], d);
                    if summed {
                        for l in 0..LANES {
                            total[l] += c * v[l];
                        }
                    } else {
                        // SAFETY: this task owns samples b0..b1 of every pair's row.
                        let dst = unsafe { all.slice(t * batch + s0, w) };
                        for l in 0..w {
                            dst[l] = c * v[l];
                        }
                    }
                }
                if summed {
                    // SAFETY: this task owns samples b0..b1.
                    unsafe { all.slice(s0, w) }.copy_from_slice(&total[..w]);
                }
            }
        })
    });
}

/// Gradients of `out[t][b] = scale_t · ⟨e_i, e_j⟩(b)` from the outputs' gradient `go`
/// `(P, batch)`: into `ge` `(fields, batch · d)` (overwritten), and, when `gscale` is given (the
/// scalar kernel), `Σ_b go · ⟨e_i, e_j⟩` per pair. Pairs are added in order for every element,
/// as in the general loop.
pub(super) fn backward(
    ev: &[f32],
    tuples: &FlatTuples,
    scale: &[f32],
    go: &[f32],
    (batch, d): (usize, usize),
    ge: &mut [f32],
    want_gscale: bool,
) -> Vec<f32> {
    let fields = ev.len() / (batch * d);
    let (p, bd) = (tuples.len(), batch * d);
    let ge_all = Shared::new(ge);
    let parts: Vec<Vec<f32>> = ranges(batch, CHUNK)
        .into_par_iter()
        .map(|(b0, b1)| {
            crate::simd::vectorized!({
                let mut tr = vec![0.0f32; fields * d * LANES];
                let mut gt = vec![0.0f32; fields * d * LANES];
                let mut gs = vec![0.0f32; if want_gscale { p } else { 0 }];
                for s0 in (b0..b1).step_by(LANES) {
                    let w = (b1 - s0).min(LANES);
                    transpose_in(ev, (batch, d), s0, w, &mut tr);
                    gt.fill(0.0);
                    for t in 0..p {
                        let (i, j) = (tuples.fields[2 * t], tuples.fields[2 * t + 1]);
                        let mut g = [0.0f32; LANES];
                        let src = &go[t * batch + s0..][..w];
                        if let Ok(full) = <&[f32; LANES]>::try_from(src) {
                            // A constant-size copy: inlined, where `copy_from_slice` of a
                            // run-time length calls memmove for 64 bytes.
                            g = *full;
                        } else {
                            g[..w].copy_from_slice(src);
                        }
                        if want_gscale {
                            let v = lane_dots(&tr[i * d * LANES..], &tr[j * d * LANES..], d);
                            for l in 0..w {
                                gs[t] += g[l] * v[l];
                            }
                        }
                        let c = g.map(|g| g * scale[t]);
                        lanes_axpy(&mut gt[i * d * LANES..], &c, &tr[j * d * LANES..], d);
                        lanes_axpy(&mut gt[j * d * LANES..], &c, &tr[i * d * LANES..], d);
                    }
                    for f in 0..fields {
                        for l in 0..w {
                            // SAFETY: this task owns samples b0..b1 of every field's row.
                            let dst = unsafe { ge_all.slice(f * bd + (s0 + l) * d, d) };
                            for (k, x) in dst.iter_mut().enumerate() {
                                *x = gt[(f * d + k) * LANES + l];
                            }
                        }
                    }
                }
                gs
            })
        })
        .collect();
    super::sum_partials(parts, if want_gscale { p } else { 0 })
}
