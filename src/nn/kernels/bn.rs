//! Batch norm without affine, times a gate, optionally summed: α and β gates, the MLP's norm.

use super::{add_into, ranges, Shared, CHUNK};
use crate::nn::batch_norm::Running;
use crate::nn::{Backend, T1, T2, T3};
use crate::simd::zip_update;
use dfdx::prelude::*;
use rayon::prelude::*;

/// What a gated batch norm returns.
enum BnOut {
    /// Normalised and gated, `(groups, batch, width)`.
    Full,
    /// Summed over groups and width, `(batch,)`.
    Sum,
}

/// Batch norm without affine over axis 1 of `x` `(groups, batch, width)`, times the gate
/// `(groups, width)` when given: what [`crate::nn::batch_norm::batch_norm`] followed by a gate computes.
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
    let gate_t = gate.map(|a| {
        let (a, t) = a.split_tape();
        tape = std::mem::take(&mut tape).merge(t);
        a
    });
    let xv = super::host(&x);
    let av = gate_t.as_ref().map(super::host);
    let channels = g * w;
    let running_inv = if train { vec![] } else { running.inv_std() };
    // Per channel: mean and 1/std (the batch's in training, the running ones in evaluation).
    let stats: Vec<(f32, f32, f32)> = (0..channels)
        .into_par_iter()
        .with_min_len(8)
        .map(|c| {
            crate::simd::vectorized!({
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
                    (running.mean[c], running_inv[c], 0.0)
                }
            })
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
    let full = matches!(what, BnOut::Full);
    let inv: Vec<f32> = stats.iter().map(|s| s.1).collect();
    let mean: Vec<f32> = stats.iter().map(|s| s.0).collect();
    let gate: Vec<f32> = av.clone().unwrap_or_else(|| vec![1.0; channels]);
    // x̂ in x's layout: what the backward pass reads (and the full output is made of). Inference
    // of a summed gate does not need it: Σ_c a_c·inv_c·(x_c − mean_c) directly.
    let need_xhat = T::OWNS_TAPE || full;
    let mut xhat = if need_xhat {
        vec![0.0f32; xv.len()]
    } else {
        vec![]
    };
    if need_xhat {
        xhat.par_chunks_mut(b * w)
            .zip(xv.par_chunks(b * w))
            .enumerate()
            .for_each(|(gi, (h, x))| {
                crate::simd::vectorized!({
                    let (mean, inv) = (&mean[gi * w..][..w], &inv[gi * w..][..w]);
                    if w == 1 {
                        // One channel per block (the α gates): a plain element-wise pass.
                        let (m, i) = (mean[0], inv[0]);
                        zip_update(h, x, |_, x| (x - m) * i);
                    } else {
                        for (h, x) in h.chunks_mut(w).zip(x.chunks(w)) {
                            for wi in 0..w {
                                h[wi] = (x[wi] - mean[wi]) * inv[wi];
                            }
                        }
                    }
                })
            });
    }
    let out: Vec<f32> = if full {
        let mut y = xhat.clone();
        if av.is_some() {
            y.par_chunks_mut(b * w).enumerate().for_each(|(gi, y)| {
                crate::simd::vectorized!({
                    let a = &gate[gi * w..][..w];
                    for y in y.chunks_mut(w) {
                        y.iter_mut().zip(a).for_each(|(v, a)| *v *= a);
                    }
                })
            });
        }
        y
    } else {
        // Per sample, Σ over channels of a_c·x̂_c, or in inference the same from x directly:
        // Σ_c s_c·x_c − Σ_c s_c·mean_c with s_c = a_c·inv_c. Samples are the inner loop (they
        // are contiguous within a channel block), so it vectorises.
        let (coef, src, offset): (Vec<f32>, &[f32], f32) = if need_xhat {
            (gate.clone(), &xhat, 0.0)
        } else {
            let scale: Vec<f32> = gate.iter().zip(&inv).map(|(a, i)| a * i).collect();
            let offset = scale.iter().zip(&mean).map(|(s, m)| s * m).sum();
            (scale, &xv, offset)
        };
        let parts: Vec<Vec<f32>> = ranges(b, CHUNK)
            .into_par_iter()
            .map(|(b0, b1)| {
                crate::simd::vectorized!({
                    let mut acc = vec![-offset; b1 - b0];
                    for gi in 0..g {
                        let block = &src[gi * b * w..(gi + 1) * b * w];
                        for wi in 0..w {
                            let c = coef[gi * w + wi];
                            if w == 1 {
                                zip_update(&mut acc, &block[b0..b1], |s, x| s + c * x);
                            } else {
                                for (k, s) in (b0..b1).zip(acc.iter_mut()) {
                                    *s += c * block[k * w + wi];
                                }
                            }
                        }
                    }
                    acc
                })
            })
            .collect();
        parts.concat()
    };
    let n = out.len();
    let y: T1 = dev.tensor_from_vec(out, (n,));
    let y_c = y.clone();
    tape.add_backward_op(move |grads| {
        // Per channel: gx̂ = gy·a; ga = Σ_b gy·x̂; in training
        // gx = inv·(gx̂ − mean(gx̂) − x̂·mean(gx̂·x̂)), in evaluation gx = inv·gx̂. Each channel
        // accumulates straight into its own (strided) elements of x's gradient.
        let ga: Vec<f32> = {
            let (gy, gxs) = super::grad_read_write(grads, &y_c, &x)?;
            let gx_all = Shared::new(gxs);
            (0..channels)
                .into_par_iter()
                .with_min_len(8)
                .map(|c| {
                    crate::simd::vectorized!({
                        let (gi, wi) = (c / w, c % w);
                        let a = gate[c];
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
                        for k in 0..b {
                            let gh = dy(k) * a;
                            let v = if train {
                                inv[c] * (gh - m1 - xhat[idx(k)] * m2)
                            } else {
                                inv[c] * gh
                            };
                            // SAFETY: element (gi, k, wi) belongs to channel c, handled by this task.
                            unsafe { *gx_all.at(idx(k)) += v };
                        }
                        ga
                    })
                })
                .collect()
        };
        if let Some(a) = &gate_t {
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
    use crate::nn::batch_norm::batch_norm;
    use crate::nn::kernels::test_util::{close, rand_vec, same_on_every_path};
    use crate::nn::{Grads, Tp};
    use rand::{Rng, SeedableRng};

    /// The gated batch norm matches batch_norm × gate (and its sum), in training and evaluation,
    /// with and without a gate, at width 1 (α) and width > 1 (β, the MLP's), bit-identically on
    /// every SIMD path this CPU has.
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
                        let what = format!("({g},{b},{w}) train {train} gated {gated} sum {sum}");
                        let c = same_on_every_path(&what, || run(true));
                        let q = run(false);
                        if !train {
                            // Inference (no tape) takes a shorter path for the sum: same values.
                            let mut r1 = start.clone();
                            let mut r2 = start.clone();
                            let a1 = gated.then(|| a.clone());
                            let a2 = gated.then(|| a.clone());
                            let (v1, v2) = if sum {
                                (
                                    gated_bn_sum(x.clone(), a1, &mut r1, false).as_vec(),
                                    gated_bn_sum(
                                        x.retaped::<Tp>(),
                                        a2.map(|a| a.retaped::<Tp>()),
                                        &mut r2,
                                        false,
                                    )
                                    .as_vec(),
                                )
                            } else {
                                (
                                    gated_bn(x.clone(), a1, &mut r1, false).as_vec(),
                                    gated_bn(
                                        x.retaped::<Tp>(),
                                        a2.map(|a| a.retaped::<Tp>()),
                                        &mut r2,
                                        false,
                                    )
                                    .as_vec(),
                                )
                            };
                            close(&v1, &v2, 1e-4, "inference without a tape");
                        }
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
