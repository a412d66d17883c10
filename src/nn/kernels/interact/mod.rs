//! The interaction functions (inner, outer, vector and scalar kernel) at any order, fused.
//!
//! Longer than the house's ~400 lines on purpose: the forward pass and the backward pass of all
//! four functions share one chunked loop over the batch, its per-chunk buffers and its indexing
//! of tuples and positions; apart, neither half reads without the other.

mod pairs;

use super::{add_into, dot, ranges, sum_partials, Shared, CHUNK};
use crate::nn::function::InteractionFn;
use crate::nn::{Backend, T2, T3};
use dfdx::prelude::*;
use rayon::prelude::*;
use std::sync::Arc;

/// The fields of one order's tuples, flat (`P × p`), as the kernels read them.
#[derive(Clone, Debug)]
pub struct FlatTuples {
    /// The order p.
    pub order: usize,
    /// Tuple t's fields are `fields[t·p .. (t+1)·p]`.
    pub fields: Vec<usize>,
}

impl FlatTuples {
    /// Flattens `tuples` (each of `order` fields).
    pub fn new(order: usize, tuples: &[Vec<usize>]) -> Self {
        FlatTuples {
            order,
            fields: tuples.iter().flatten().copied().collect(),
        }
    }

    fn len(&self) -> usize {
        self.fields.len() / self.order
    }

    fn get(&self, t: usize) -> &[usize] {
        &self.fields[t * self.order..(t + 1) * self.order]
    }
}

/// The interaction function `function` of every tuple for every sample, `(P, batch)`, from the
/// field-major embeddings `e` `(fields, batch · d)`, and (when `vectors`, for the functions that
/// have them) a tape-less view of the element-wise products `(P, batch, d)`, whose gradient
/// flows back through the returned value's tape. `kernel` is φ `(P, d)`, s `(P, 1)` or w `(p, d)`.
pub fn interact<T: Tape<f32, Backend> + Merge<T>>(
    e: T2<T>,
    tuples: &FlatTuples,
    function: InteractionFn,
    kernel: Option<T2<T>>,
    (batch, d): (usize, usize),
    vectors: bool,
    e_host: Option<Arc<Vec<f32>>>,
) -> (T2<T>, Option<T3<T>>) {
    let dev = e.device().clone();
    let (e, mut tape) = e.split_tape();
    let kernel = kernel.map(|k| {
        let (k, t) = k.split_tape();
        tape = std::mem::take(&mut tape).merge(t);
        k
    });
    // The caller may already hold e's values (inference keeps the gathered leaf): no copy then.
    let ev = e_host.unwrap_or_else(|| Arc::new(super::host(&e)));
    let kv = kernel.as_ref().map(super::host).unwrap_or_default();
    let p = tuples.len();
    let bd = batch * d;
    let want_vectors = vectors && function != InteractionFn::Outer;
    let mut out = vec![0.0f32; p * batch];
    let mut vecs = if want_vectors {
        vec![0.0f32; p * bd]
    } else {
        vec![]
    };
    let fields = ev.len() / bd;
    let proj = if function == InteractionFn::Outer {
        let proj = outer_projections(&ev, &kv, tuples.order, batch, d);
        out.par_chunks_mut(batch).enumerate().for_each(|(t, o)| {
            crate::simd::vectorized!({
                let f = tuples.get(t);
                for (b, y) in o.iter_mut().enumerate() {
                    *y = (0..tuples.order)
                        .map(|q| proj[(q * fields + f[q]) * batch + b])
                        .product();
                }
            })
        });
        proj
    } else if pairs_apply(tuples, function, want_vectors) {
        let scale = pairs::scales(function, &kv, p);
        let sink = pairs::Sink::Values {
            out: &mut out,
            scale: &scale,
        };
        pairs::forward(&ev, tuples, (batch, d), sink);
        vec![]
    } else {
        let vchunk = if want_vectors { bd } else { 1 };
        let mut dummy = vec![0.0f32; p];
        let vslices: Vec<&mut [f32]> = if want_vectors {
            vecs.chunks_mut(vchunk).collect()
        } else {
            dummy.chunks_mut(1).collect()
        };
        out.par_chunks_mut(batch)
            .zip(vslices)
            .enumerate()
            .for_each(|(t, (o, v))| {
                crate::simd::vectorized!({
                    let f = tuples.get(t);
                    let rows: Vec<&[f32]> = f.iter().map(|&f| &ev[f * bd..(f + 1) * bd]).collect();
                    let weight: Option<&[f32]> =
                        (function == InteractionFn::VectorKernel).then(|| &kv[t * d..(t + 1) * d]);
                    let scale = if function == InteractionFn::ScalarKernel {
                        kv[t]
                    } else {
                        1.0
                    };
                    let mut prod = vec![0.0f32; d];
                    for (b, y) in o.iter_mut().enumerate() {
                        let s = b * d..(b + 1) * d;
                        let value = if rows.len() == 2 && weight.is_none() && !want_vectors {
                            dot(&rows[0][s.clone()], &rows[1][s])
                        } else {
                            prod.copy_from_slice(&rows[0][s.clone()]);
                            for r in &rows[1..] {
                                prod.iter_mut()
                                    .zip(&r[s.clone()])
                                    .for_each(|(a, x)| *a *= x);
                            }
                            if want_vectors {
                                v[s].copy_from_slice(&prod);
                            }
                            match weight {
                                Some(w) => dot(&prod, w),
                                None => prod.iter().sum(),
                            }
                        };
                        *y = scale * value;
                    }
                })
            });
        vec![]
    };
    let out: T2 = dev.tensor_from_vec(out, (p, batch));
    let vecs: Option<T3> = want_vectors.then(|| dev.tensor_from_vec(vecs, (p, batch, d)));
    let (out_c, vecs_c) = (out.clone(), vecs.clone());
    let tuples = tuples.clone();
    tape.add_backward_op(move |grads| {
        let go = grads.get_or_alloc_mut(&out_c)?.to_vec();
        let (ge, gk) = {
            let gv: Option<&[f32]> = match &vecs_c {
                Some(v) => Some(&grads.get_or_alloc_mut(v)?[..]),
                None => None,
            };
            if function == InteractionFn::Outer {
                outer_backward(&ev, &kv, &proj, &tuples, &go, batch, d)
            } else {
                product_backward(&ev, &kv, &tuples, function, (&go, gv), (batch, d))
            }
        };
        debug_assert_eq!(ge.len(), fields * bd);
        add_into(grads.get_or_alloc_mut(&e)?, &ge);
        if let Some(k) = &kernel {
            add_into(grads.get_or_alloc_mut(k)?, &gk);
        }
        Ok(())
    });
    (out.put_tape(tape), vecs.map(|v| v.retaped::<T>()))
}

/// Inference of a batch-normed, gated and summed function in one pass:
/// `y_b = Σ_t coef_t · f_t(b) − offset` with `coef_t = α_t / √(var_t + ε)` and
/// `offset = Σ_t coef_t · mean_t` (running statistics), without the `(P, batch)` values.
/// Sample-parallel, tuples in order within a sample chunk.
pub fn interact_gated_sum(
    ev: &[f32],
    tuples: &FlatTuples,
    function: InteractionFn,
    kv: &[f32],
    (coef, offset): (&[f32], f32),
    (batch, d): (usize, usize),
) -> Vec<f32> {
    let (p, bd, order) = (tuples.len(), batch * d, tuples.order);
    let fields = ev.len() / bd;
    let proj = if function == InteractionFn::Outer {
        outer_projections(ev, kv, order, batch, d)
    } else {
        vec![]
    };
    // Scalar kernel folds its s into the coefficient.
    let coef: Vec<f32> = (0..p)
        .map(|t| {
            if function == InteractionFn::ScalarKernel {
                coef[t] * kv[t]
            } else {
                coef[t]
            }
        })
        .collect();
    if pairs_apply(tuples, function, false) {
        let mut sum = vec![0.0f32; batch];
        let sink = pairs::Sink::Sum {
            sum: &mut sum,
            coef: &coef,
            offset,
        };
        pairs::forward(ev, tuples, (batch, d), sink);
        return sum;
    }
    let parts: Vec<Vec<f32>> = ranges(batch, CHUNK)
        .into_par_iter()
        .map(|(b0, b1)| {
            crate::simd::vectorized!({
                let mut acc = vec![-offset; b1 - b0];
                let mut prod = vec![0.0f32; d];
                for t in 0..p {
                    let c = coef[t];
                    if c == 0.0 {
                        continue;
                    }
                    let f = tuples.get(t);
                    match function {
                        InteractionFn::Outer => {
                            for (b, y) in (b0..b1).zip(acc.iter_mut()) {
                                let v: f32 = (0..order)
                                    .map(|q| proj[(q * fields + f[q]) * batch + b])
                                    .product();
                                *y += c * v;
                            }
                        }
                        InteractionFn::Inner | InteractionFn::ScalarKernel if order == 2 => {
                            let r0 = &ev[f[0] * bd + b0 * d..f[0] * bd + b1 * d];
                            let r1 = &ev[f[1] * bd + b0 * d..f[1] * bd + b1 * d];
                            for ((y, x0), x1) in acc
                                .iter_mut()
                                .zip(r0.chunks_exact(d))
                                .zip(r1.chunks_exact(d))
                            {
                                *y += c * dot(x0, x1);
                            }
                        }
                        _ => {
                            for (b, y) in (b0..b1).zip(acc.iter_mut()) {
                                let at = |q: usize| &ev[f[q] * bd + b * d..][..d];
                                prod.copy_from_slice(at(0));
                                for q in 1..order {
                                    prod.iter_mut().zip(at(q)).for_each(|(a, x)| *a *= x);
                                }
                                let v = if function == InteractionFn::VectorKernel {
                                    dot(&prod, &kv[t * d..(t + 1) * d])
                                } else {
                                    prod.iter().sum()
                                };
                                *y += c * v;
                            }
                        }
                    }
                }
                acc
            })
        })
        .collect();
    parts.concat()
}

/// Whether [`pairs`] computes this function: inner products (scaled or not) of pairs, without
/// the product vectors.
fn pairs_apply(tuples: &FlatTuples, function: InteractionFn, vectors: bool) -> bool {
    tuples.order == 2
        && !vectors
        && matches!(function, InteractionFn::Inner | InteractionFn::ScalarKernel)
}

/// `proj[q][f][b] = w_q · e_f[b]` for every position q and field f, `(p, fields, batch)`.
fn outer_projections(ev: &[f32], w: &[f32], order: usize, batch: usize, d: usize) -> Vec<f32> {
    let fields = ev.len() / (batch * d);
    let mut proj = vec![0.0f32; order * fields * batch];
    proj.par_chunks_mut(batch)
        .enumerate()
        .for_each(|(qf, out)| {
            crate::simd::vectorized!({
                let (q, f) = (qf / fields, qf % fields);
                let wq = &w[q * d..(q + 1) * d];
                let row = &ev[f * batch * d..(f + 1) * batch * d];
                for (b, y) in out.iter_mut().enumerate() {
                    *y = dot(&row[b * d..(b + 1) * d], wq);
                }
            })
        });
    proj
}

/// Gradients of the outer function for e `(fields, batch·d)` and w `(p, d)`.
fn outer_backward(
    ev: &[f32],
    w: &[f32],
    proj: &[f32],
    tuples: &FlatTuples,
    go: &[f32],
    batch: usize,
    d: usize,
) -> (Vec<f32>, Vec<f32>) {
    let (order, bd) = (tuples.order, batch * d);
    let fields = ev.len() / bd;
    // gp[q][f][b]: d loss / d proj, summed over the tuples with field f at position q.
    let mut gp = vec![0.0f32; order * fields * batch];
    let gp_all = Shared::new(&mut gp);
    ranges(batch, CHUNK).into_par_iter().for_each(|(b0, b1)| {
        crate::simd::vectorized!({
            for t in 0..tuples.len() {
                let f = tuples.get(t);
                for b in b0..b1 {
                    let g = go[t * batch + b];
                    for q in 0..order {
                        let mut others = g;
                        for (r, &fr) in f.iter().enumerate() {
                            if r != q {
                                others *= proj[(r * fields + fr) * batch + b];
                            }
                        }
                        // SAFETY: this task owns samples b0..b1; element (q, f_q, b) is in them.
                        unsafe { *gp_all.at((q * fields + f[q]) * batch + b) += others };
                    }
                }
            }
        })
    });
    let mut ge = vec![0.0f32; fields * bd];
    ge.par_chunks_mut(bd).enumerate().for_each(|(f, row)| {
        crate::simd::vectorized!({
            for q in 0..order {
                let wq = &w[q * d..(q + 1) * d];
                let g = &gp[(q * fields + f) * batch..][..batch];
                for (b, &gb) in g.iter().enumerate() {
                    if gb != 0.0 {
                        row[b * d..(b + 1) * d]
                            .iter_mut()
                            .zip(wq)
                            .for_each(|(x, &wk)| *x += gb * wk);
                    }
                }
            }
        })
    });
    // gw[q] = Σ_f Σ_b gp[q][f][b] · e_f[b], partials per (q, f) summed in order.
    let parts: Vec<Vec<f32>> = (0..order * fields)
        .into_par_iter()
        .map(|qf| {
            crate::simd::vectorized!({
                let f = qf % fields;
                let mut acc = vec![0.0f32; d];
                let g = &gp[qf * batch..(qf + 1) * batch];
                let row = &ev[f * bd..(f + 1) * bd];
                for (b, &gb) in g.iter().enumerate() {
                    if gb != 0.0 {
                        acc.iter_mut()
                            .zip(&row[b * d..(b + 1) * d])
                            .for_each(|(a, &x)| *a += gb * x);
                    }
                }
                acc
            })
        })
        .collect();
    let mut gw = vec![0.0f32; order * d];
    for (qf, part) in parts.into_iter().enumerate() {
        let q = qf / fields;
        gw[q * d..(q + 1) * d]
            .iter_mut()
            .zip(&part)
            .for_each(|(a, x)| *a += x);
    }
    (ge, gw)
}

/// Gradients of the product functions (inner, vector and scalar kernel) for e and the kernel,
/// from the outputs' gradient `go` `(P, batch)` and the vectors' `gv` `(P, batch, d)`.
fn product_backward(
    ev: &[f32],
    kv: &[f32],
    tuples: &FlatTuples,
    function: InteractionFn,
    (go, gv): (&[f32], Option<&[f32]>),
    (batch, d): (usize, usize),
) -> (Vec<f32>, Vec<f32>) {
    let (order, bd, p) = (tuples.order, batch * d, tuples.len());
    let fields = ev.len() / bd;
    let klen = match function {
        InteractionFn::VectorKernel => p * d,
        InteractionFn::ScalarKernel => p,
        _ => 0,
    };
    let mut ge = vec![0.0f32; fields * bd];
    if gv.is_none() && pairs_apply(tuples, function, false) {
        let scale = pairs::scales(function, kv, p);
        let want_gscale = function == InteractionFn::ScalarKernel;
        let gk = pairs::backward(ev, tuples, &scale, go, (batch, d), &mut ge, want_gscale);
        return (ge, gk);
    }
    let ge_all = Shared::new(&mut ge);
    let uniform = gv.is_none() && function != InteractionFn::VectorKernel;
    let parts: Vec<Vec<f32>> = ranges(batch, CHUNK)
        .into_par_iter()
        .map(|(b0, b1)| {
            crate::simd::vectorized!({
                let mut gk = vec![0.0f32; klen];
                let mut coef = vec![0.0f32; d];
                let mut prod = vec![0.0f32; d];
                for t in 0..p {
                    let f = tuples.get(t);
                    for b in b0..b1 {
                        let g = go[t * batch + b];
                        let gvb = gv.map(|v| &v[t * bd + b * d..][..d]);
                        if g == 0.0 && gvb.is_none() {
                            continue;
                        }
                        let at = |q: usize| &ev[f[q] * bd + b * d..][..d];
                        match function {
                            InteractionFn::VectorKernel => {
                                let phi = &kv[t * d..(t + 1) * d];
                                coef.iter_mut().zip(phi).for_each(|(c, &w)| *c = g * w);
                            }
                            InteractionFn::ScalarKernel => coef.fill(g * kv[t]),
                            _ => coef.fill(g),
                        }
                        if let Some(v) = gvb {
                            coef.iter_mut().zip(v).for_each(|(c, &x)| *c += x);
                        }
                        if klen > 0 {
                            prod.copy_from_slice(at(0));
                            for q in 1..order {
                                prod.iter_mut().zip(at(q)).for_each(|(a, x)| *a *= x);
                            }
                            if function == InteractionFn::VectorKernel {
                                gk[t * d..(t + 1) * d]
                                    .iter_mut()
                                    .zip(&prod)
                                    .for_each(|(a, &x)| *a += g * x);
                            } else {
                                gk[t] += g * prod.iter().sum::<f32>();
                            }
                        }
                        for (q, &fq) in f.iter().enumerate() {
                            // SAFETY: this task owns samples b0..b1; row (f_q, b) is one of them.
                            let dst = unsafe { ge_all.slice(fq * bd + b * d, d) };
                            if order == 2 {
                                let other = at(1 - q);
                                if uniform {
                                    // Inner and scalar kernel without vectors: one coefficient.
                                    let c = coef[0];
                                    dst.iter_mut().zip(other).for_each(|(x, &y)| *x += c * y);
                                } else {
                                    dst.iter_mut()
                                        .zip(other)
                                        .zip(&coef)
                                        .for_each(|((x, &y), &c)| *x += c * y);
                                }
                            } else {
                                for k in 0..d {
                                    let mut x = coef[k];
                                    for r in 0..order {
                                        if r != q {
                                            x *= at(r)[k];
                                        }
                                    }
                                    dst[k] += x;
                                }
                            }
                        }
                    }
                }
                gk
            })
        })
        .collect();
    (ge, sum_partials(parts, klen))
}

#[cfg(test)]
mod tests;
