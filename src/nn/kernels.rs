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

use super::gate::Running;
use super::{Backend, T1, T2, T3};
use crate::spec::InteractionFn;
use dfdx::prelude::*;
use rayon::prelude::*;

/// Samples per task in the batch-parallel loops.
const CHUNK: usize = 64;

/// A raw pointer shared between tasks that write disjoint parts of one buffer.
#[derive(Clone, Copy)]
pub(crate) struct SyncPtr<T>(pub *mut T);
// SAFETY: used only where tasks write disjoint elements (each use says why).
unsafe impl<T> Send for SyncPtr<T> {}
unsafe impl<T> Sync for SyncPtr<T> {}
impl<T> SyncPtr<T> {
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

/// `[start, end)` ranges of `chunk` covering `0..n`.
fn ranges(n: usize, chunk: usize) -> Vec<(usize, usize)> {
    (0..n.div_ceil(chunk))
        .map(|i| (i * chunk, ((i + 1) * chunk).min(n)))
        .collect()
}

/// Dot product with eight independent accumulators (so that it vectorises).
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
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
fn add_into(a: &mut [f32], b: &[f32]) {
    a.par_chunks_mut(1 << 14)
        .zip(b.par_chunks(1 << 14))
        .for_each(|(a, b)| a.iter_mut().zip(b).for_each(|(x, y)| *x += y));
}

/// Sums per-chunk partial vectors in chunk order.
fn sum_partials(parts: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; len];
    for p in parts {
        out.iter_mut().zip(&p).for_each(|(o, x)| *o += x);
    }
    out
}

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
    batch: usize,
    d: usize,
    vectors: bool,
) -> (T2<T>, Option<T3<T>>) {
    let dev = e.device().clone();
    let (e, mut tape) = e.split_tape();
    let kernel = kernel.map(|k| {
        let (k, t) = k.split_tape();
        tape = std::mem::take(&mut tape).merge(t);
        k
    });
    let ev = e.as_vec();
    let kv = kernel.as_ref().map(|k| k.as_vec()).unwrap_or_default();
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
            let f = tuples.get(t);
            for (b, y) in o.iter_mut().enumerate() {
                *y = (0..tuples.order)
                    .map(|q| proj[(q * fields + f[q]) * batch + b])
                    .product();
            }
        });
        proj
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
                product_backward(&ev, &kv, &tuples, function, &go, gv, batch, d)
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

/// `proj[q][f][b] = w_q · e_f[b]` for every position q and field f, `(p, fields, batch)`.
fn outer_projections(ev: &[f32], w: &[f32], order: usize, batch: usize, d: usize) -> Vec<f32> {
    let fields = ev.len() / (batch * d);
    let mut proj = vec![0.0f32; order * fields * batch];
    proj.par_chunks_mut(batch)
        .enumerate()
        .for_each(|(qf, out)| {
            let (q, f) = (qf / fields, qf % fields);
            let wq = &w[q * d..(q + 1) * d];
            let row = &ev[f * batch * d..(f + 1) * batch * d];
            for (b, y) in out.iter_mut().enumerate() {
                *y = dot(&row[b * d..(b + 1) * d], wq);
            }
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
    let gp_ptr = SyncPtr(gp.as_mut_ptr());
    ranges(batch, CHUNK).into_par_iter().for_each(|(b0, b1)| {
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
                    unsafe { *gp_ptr.get().add((q * fields + f[q]) * batch + b) += others };
                }
            }
        }
    });
    let mut ge = vec![0.0f32; fields * bd];
    ge.par_chunks_mut(bd).enumerate().for_each(|(f, row)| {
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
    });
    // gw[q] = Σ_f Σ_b gp[q][f][b] · e_f[b], partials per (q, f) summed in order.
    let parts: Vec<Vec<f32>> = (0..order * fields)
        .into_par_iter()
        .map(|qf| {
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
#[allow(clippy::too_many_arguments)]
fn product_backward(
    ev: &[f32],
    kv: &[f32],
    tuples: &FlatTuples,
    function: InteractionFn,
    go: &[f32],
    gv: Option<&[f32]>,
    batch: usize,
    d: usize,
) -> (Vec<f32>, Vec<f32>) {
    let (order, bd, p) = (tuples.order, batch * d, tuples.len());
    let fields = ev.len() / bd;
    let klen = match function {
        InteractionFn::VectorKernel => p * d,
        InteractionFn::ScalarKernel => p,
        _ => 0,
    };
    let mut ge = vec![0.0f32; fields * bd];
    let ge_ptr = SyncPtr(ge.as_mut_ptr());
    let parts: Vec<Vec<f32>> = ranges(batch, CHUNK)
        .into_par_iter()
        .map(|(b0, b1)| {
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
                        let dst = unsafe {
                            std::slice::from_raw_parts_mut(ge_ptr.get().add(fq * bd + b * d), d)
                        };
                        if order == 2 {
                            let other = at(1 - q);
                            for k in 0..d {
                                dst[k] += coef[k] * other[k];
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
        .collect();
    (ge, sum_partials(parts, klen))
}

/// What a gated batch norm returns.
enum BnOut {
    /// Normalised and gated, `(groups, batch, width)`.
    Full,
    /// Summed over groups and width, `(batch,)`.
    Sum,
}

/// Batch norm without affine over axis 1 of `x` `(groups, batch, width)`, times the gate
/// `(groups, width)` when given: what [`super::gate::batch_norm`] followed by a gate computes.
pub fn gated_bn<T: Tape<f32, Backend> + Merge<T>>(
    x: T3<T>,
    gate: Option<T2<T>>,
    running: &mut Running,
    train: bool,
) -> T3<T> {
    let shape = *x.shape();
    let (y, _) = bn(x, gate, running, train, BnOut::Full);
    y.expect("full output").reshape_like(&shape)
}

/// [`gated_bn`] summed over groups and width: `(batch,)`, without the `(groups, batch, width)`
/// intermediate.
pub fn gated_bn_sum<T: Tape<f32, Backend> + Merge<T>>(
    x: T3<T>,
    gate: Option<T2<T>>,
    running: &mut Running,
    train: bool,
) -> T1<T> {
    bn(x, gate, running, train, BnOut::Sum)
        .1
        .expect("summed output")
}

#[allow(clippy::type_complexity)]
fn bn<T: Tape<f32, Backend> + Merge<T>>(
    x: T3<T>,
    gate: Option<T2<T>>,
    running: &mut Running,
    train: bool,
    what: BnOut,
) -> (Option<T1<T>>, Option<T1<T>>) {
    let dev = x.device().clone();
    let (g, b, w) = *x.shape();
    let (x, mut tape) = x.split_tape();
    let gate = gate.map(|a| {
        let (a, t) = a.split_tape();
        tape = std::mem::take(&mut tape).merge(t);
        a
    });
    let xv = x.as_vec();
    let av = gate.as_ref().map(|a| a.as_vec());
    let channels = g * w;
    // Per channel: mean and 1/std (the batch's in training, the running ones in evaluation).
    let stats: Vec<(f32, f32, f32)> = (0..channels)
        .into_par_iter()
        .with_min_len(8)
        .map(|c| {
            let (gi, wi) = (c / w, c % w);
            let base = gi * b * w + wi;
            if train {
                let mut s = 0.0f32;
                for k in 0..b {
                    s += xv[base + k * w];
                }
                let mean = s / b as f32;
                let mut v = 0.0f32;
                for k in 0..b {
                    let z = xv[base + k * w] - mean;
                    v += z * z;
                }
                let var = v / b as f32;
                (mean, 1.0 / (var + running.eps as f32).sqrt(), var)
            } else {
                let inv = 1.0 / ((running.var[c] as f64 + running.eps).sqrt() as f32);
                (running.mean[c], inv, 0.0)
            }
        })
        .collect();
    if train {
        let unbias = if b > 1 {
            b as f32 / (b - 1) as f32
        } else {
            1.0
        };
        for (c, &(mean, _, var)) in stats.iter().enumerate() {
            running.mean[c] += running.momentum * (mean - running.mean[c]);
            running.var[c] += running.momentum * (var * unbias - running.var[c]);
        }
    }
    // x̂, in x's layout.
    let mut xhat = vec![0.0f32; xv.len()];
    xhat.par_chunks_mut(b * w)
        .zip(xv.par_chunks(b * w))
        .enumerate()
        .for_each(|(gi, (h, x))| {
            for k in 0..b {
                for wi in 0..w {
                    let (mean, inv, _) = stats[gi * w + wi];
                    h[k * w + wi] = (x[k * w + wi] - mean) * inv;
                }
            }
        });
    let gate_of = |c: usize| av.as_ref().map_or(1.0, |a| a[c]);
    let inv: Vec<f32> = stats.iter().map(|s| s.1).collect();
    let full = matches!(what, BnOut::Full);
    let out: Vec<f32> = if full {
        let mut y = xhat.clone();
        if let Some(a) = &av {
            y.par_chunks_mut(b * w).enumerate().for_each(|(gi, y)| {
                for k in 0..b {
                    for wi in 0..w {
                        y[k * w + wi] *= a[gi * w + wi];
                    }
                }
            });
        }
        y
    } else {
        ranges(b, CHUNK)
            .into_par_iter()
            .flat_map_iter(|(b0, b1)| {
                let xhat = &xhat;
                (b0..b1).map(move |k| {
                    let mut s = 0.0f32;
                    for c in 0..channels {
                        let (gi, wi) = (c / w, c % w);
                        s += gate_of(c) * xhat[gi * b * w + k * w + wi];
                    }
                    s
                })
            })
            .collect()
    };
    let n = out.len();
    let y: T1 = dev.tensor_from_vec(out, (n,));
    let y_c = y.clone();
    tape.add_backward_op(move |grads| {
        let gy = grads.get_or_alloc_mut(&y_c)?.to_vec();
        // Per channel: gx̂ = gy·a; ga = Σ_b gy·x̂; in training
        // gx = inv·(gx̂ − mean(gx̂) − x̂·mean(gx̂·x̂)), in evaluation gx = inv·gx̂.
        let per: Vec<(Vec<f32>, f32)> = (0..channels)
            .into_par_iter()
            .with_min_len(8)
            .map(|c| {
                let (gi, wi) = (c / w, c % w);
                let a = av.as_ref().map_or(1.0, |a| a[c]);
                let idx = |k: usize| gi * b * w + k * w + wi;
                let dy = |k: usize| if full { gy[idx(k)] } else { gy[k] };
                let mut ga = 0.0f32;
                let (mut s1, mut s2) = (0.0f32, 0.0f32);
                for k in 0..b {
                    let (d, h) = (dy(k), xhat[idx(k)]);
                    ga += d * h;
                    s1 += d * a;
                    s2 += d * a * h;
                }
                let (m1, m2) = (s1 / b as f32, s2 / b as f32);
                let gx: Vec<f32> = (0..b)
                    .map(|k| {
                        let gh = dy(k) * a;
                        if train {
                            inv[c] * (gh - m1 - xhat[idx(k)] * m2)
                        } else {
                            inv[c] * gh
                        }
                    })
                    .collect();
                (gx, ga)
            })
            .collect();
        let mut gx = vec![0.0f32; g * b * w];
        for (c, (col, _)) in per.iter().enumerate() {
            let (gi, wi) = (c / w, c % w);
            for (k, v) in col.iter().enumerate() {
                gx[gi * b * w + k * w + wi] = *v;
            }
        }
        add_into(grads.get_or_alloc_mut(&x)?, &gx);
        if let Some(a) = &gate {
            let ga: Vec<f32> = per.iter().map(|p| p.1).collect();
            add_into(grads.get_or_alloc_mut(a)?, &ga);
        }
        Ok(())
    });
    let y = y.put_tape(tape);
    if full {
        (Some(y), None)
    } else {
        (None, Some(y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gate::batch_norm;
    use crate::nn::interaction::{FunctionBlock, Tuples};
    use crate::nn::{Grads, Tp};
    use rand::{Rng, SeedableRng};

    fn rand_vec(rng: &mut impl Rng, n: usize, a: f32) -> Vec<f32> {
        (0..n).map(|_| rng.gen_range(-a..a)).collect()
    }

    fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tol * (1.0 + y.abs()),
                "{what}[{i}]: kernel {x} vs generic {y}"
            );
        }
    }

    /// The kernel and the generic composition agree on every function at orders 2 to 4: values,
    /// product vectors, and the gradients of e and the kernel under a random linear loss.
    #[test]
    fn interactions_match_the_generic_composition() {
        let dev: Backend = Default::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (n, batch, d) = (6, 70, 5);
        for order in 2..=4 {
            let tuples: Vec<Vec<usize>> = match order {
                2 => vec![vec![0, 1], vec![2, 5], vec![1, 3], vec![4, 5]],
                3 => vec![vec![0, 1, 2], vec![1, 4, 5], vec![0, 3, 5]],
                _ => vec![vec![0, 1, 2, 3], vec![2, 3, 4, 5]],
            };
            let tu = Tuples::new(&dev, order, tuples.clone());
            let flat = FlatTuples::new(order, &tuples);
            let p = tuples.len();
            for f in [
                InteractionFn::Inner,
                InteractionFn::Outer,
                InteractionFn::VectorKernel,
                InteractionFn::ScalarKernel,
            ] {
                let mut block = FunctionBlock::new(&dev, "b", f, &tu, d, &mut rng);
                if let Some(k) = &mut block.kernel {
                    let v = rand_vec(&mut rng, k.len(), 1.0);
                    k.set(&v);
                }
                let ev = rand_vec(&mut rng, n * batch * d, 1.0);
                let e: T2 = dev.tensor_from_vec(ev, (n, batch * d));
                let r_out: T2 = dev.tensor_from_vec(rand_vec(&mut rng, p * batch, 1.0), (p, batch));
                let r_vec: T3 =
                    dev.tensor_from_vec(rand_vec(&mut rng, p * batch * d, 1.0), (p, batch, d));
                let run = |custom: bool| -> (Vec<f32>, Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
                    let et = e.clone().trace(Grads::leaky());
                    let (out, vecs) = if custom {
                        interact(
                            et,
                            &flat,
                            f,
                            block.kernel.as_ref().map(|k| k.t2::<Tp>()),
                            batch,
                            d,
                            true,
                        )
                    } else {
                        block.forward_generic(&tu, &et, batch, d)
                    };
                    let (ov, vv) = (out.as_vec(), vecs.as_ref().map(|v| v.as_vec()));
                    let mut loss = (out * r_out.clone()).sum::<(), _>();
                    if let Some(v) = vecs {
                        // The vectors are tape-less: their loss term's ops join the value's tape.
                        loss = loss + (v * r_vec.clone()).sum::<(), _>();
                    }
                    let g = loss.backward();
                    let gk = block
                        .kernel
                        .as_ref()
                        .map(|k| g.get(&k.t).as_vec())
                        .unwrap_or_default();
                    (ov, vv, g.get(&e).as_vec(), gk)
                };
                let (o1, v1, ge1, gk1) = run(true);
                let (o2, v2, ge2, gk2) = run(false);
                let what = format!("{f:?} order {order}");
                close(&o1, &o2, 1e-4, &format!("{what} value"));
                if f != InteractionFn::Outer {
                    close(&v1.unwrap(), &v2.unwrap(), 1e-5, &format!("{what} vectors"));
                }
                close(&ge1, &ge2, 1e-4, &format!("{what} d/de"));
                close(&gk1, &gk2, 1e-3, &format!("{what} d/dkernel"));
                assert!(
                    ge1.iter().any(|x| *x != 0.0),
                    "{what}: a gradient reached e"
                );
            }
        }
    }

    /// The gated batch norm matches batch_norm × gate (and its sum), in training and evaluation,
    /// with and without a gate, at width 1 (α) and width > 1 (β, the MLP's).
    #[test]
    fn gated_batch_norm_matches_the_generic_composition() {
        let dev: Backend = Default::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for (g, b, w) in [(7, 90, 1), (3, 70, 4), (1, 65, 9)] {
            for train in [true, false] {
                for gated in [true, false] {
                    for sum in [true, false] {
                        let xv: Vec<f32> = (0..g * b * w)
                            .map(|i| rng.gen_range(-1.0..1.0) * (1 + i % 3) as f32 + 0.3)
                            .collect();
                        let x: T3 = dev.tensor_from_vec(xv, (g, b, w));
                        let a: T2 = dev.tensor_from_vec(rand_vec(&mut rng, g * w, 2.0), (g, w));
                        let r: T3 =
                            dev.tensor_from_vec(rand_vec(&mut rng, g * b * w, 1.0), (g, b, w));
                        let rs: T1 = dev.tensor_from_vec(rand_vec(&mut rng, b, 1.0), (b,));
                        let mut start = Running::new(g * w, 1e-5);
                        start.mean = rand_vec(&mut rng, g * w, 0.5);
                        start.var = (0..g * w).map(|_| rng.gen_range(0.5..2.0)).collect();
                        let run = |custom: bool| {
                            let mut run = start.clone();
                            let xt = x.clone().trace(Grads::leaky());
                            let at = gated.then(|| a.retaped::<Tp>());
                            let loss = if custom {
                                if sum {
                                    (gated_bn_sum(xt, at, &mut run, train) * rs.clone())
                                        .sum::<(), _>()
                                } else {
                                    (gated_bn(xt, at, &mut run, train) * r.clone()).sum::<(), _>()
                                }
                            } else {
                                let y = batch_norm(xt, &mut run, train);
                                let y = match at {
                                    Some(a) => y * a.broadcast_like::<_, Axis<1>>(&(g, b, w)),
                                    None => y,
                                };
                                if sum {
                                    (y.sum::<(usize,), Axes2<0, 2>>() * rs.clone()).sum::<(), _>()
                                } else {
                                    (y * r.clone()).sum::<(), _>()
                                }
                            };
                            let value = loss.array();
                            let gr = loss.backward();
                            let ga = if gated { gr.get(&a).as_vec() } else { vec![] };
                            (value, gr.get(&x).as_vec(), ga, run.mean, run.var)
                        };
                        let c = run(true);
                        let q = run(false);
                        let what = format!("({g},{b},{w}) train {train} gated {gated} sum {sum}");
                        close(&[c.0], &[q.0], 1e-4, &format!("{what} loss"));
                        close(&c.1, &q.1, 1e-3, &format!("{what} d/dx"));
                        close(&c.2, &q.2, 1e-3, &format!("{what} d/da"));
                        close(&c.3, &q.3, 1e-5, &format!("{what} running mean"));
                        close(&c.4, &q.4, 1e-5, &format!("{what} running var"));
                    }
                }
            }
        }
    }
}
