//! The MLP's layers: `relu?(Σ_i x_i · w_i + b)` on gemm's AVX-512 kernels, with the bias and
//! the ReLU fused into the product's pass (the grouped input's layout change: `flatten`).

use super::{ranges, sum_partials, CHUNK};
use crate::nn::{Backend, T2};
use dfdx::prelude::*;
use rayon::prelude::*;

/// A row-major matrix view for gemm: `(rows, cols)` of `data`, transposed when `t`. It borrows
/// the slice, so no view outlives (or aliases a `&mut` of) the values it reads.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    t: bool,
}

impl<'a> View<'a> {
    fn of(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix size");
        View {
            data,
            rows,
            cols,
            t: false,
        }
    }

    fn t(self) -> Self {
        View { t: !self.t, ..self }
    }

    /// (rows, cols, column stride, row stride) as seen.
    fn seen(self) -> (usize, usize, isize, isize) {
        if self.t {
            (self.cols, self.rows, self.cols as isize, 1)
        } else {
            (self.rows, self.cols, 1, self.cols as isize)
        }
    }
}

/// `dst (m, n) = (accumulate ? dst : 0) + a · b`, on the current rayon pool's threads.
fn gemm(dst: &mut [f32], accumulate: bool, a: View<'_>, b: View<'_>) {
    let (m, k, a_cs, a_rs) = a.seen();
    let (k2, n, b_cs, b_rs) = b.seen();
    assert_eq!(k, k2, "inner dimensions");
    assert_eq!(dst.len(), m * n, "output size");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    let (dst, a_ptr, b_ptr) = (dst.as_mut_ptr(), a.data.as_ptr(), b.data.as_ptr());
    let par = gemm::Parallelism::Rayon(rayon::current_num_threads());
    // gemm's microkernels write column-major tiles: compute the row-major dst as the
    // column-major dstᵀ = bᵀ · aᵀ. `gemm::gemm` makes this swap itself, but its generic driver,
    // which the forced paths call, does not: without it, it stores the tiles strided, 2–10%
    // slower at the MLP's shapes on AVX2 (bit-identical results).
    let (m, n, a_ptr, a_cs, a_rs, b_ptr, b_cs, b_rs) = (n, m, b_ptr, b_rs, b_cs, a_ptr, a_rs, a_cs);
    let (dst_cs, dst_rs) = (m as isize, 1);
    // SAFETY (all three calls): each view's slice holds exactly its rows × cols (checked in
    // `View::of`) and `dst` m × n (checked above), so every strided access stays inside them;
    // `dst` is exclusively borrowed while the views are shared borrows, so it aliases neither.
    // The forced kernels' instructions are the chosen path's, which this CPU has (`simd::path`).
    macro_rules! forced {
        ($simd:ty, $ukr:ident) => {{
            use gemm_f32::microkernel::$ukr::f32 as ukr;
            let simd = <$simd as gemm_common::simd::MixedSimd<f32, f32, f32, f32>>::try_new()
                .expect("the chosen SIMD path is available");
            unsafe {
                gemm_common::gemm::gemm_basic_generic::<
                    _,
                    f32,
                    { <$simd as gemm_common::simd::MixedSimd<f32, f32, f32, f32>>::SIMD_WIDTH },
                    { ukr::MR_DIV_N * <$simd as gemm_common::simd::MixedSimd<f32, f32, f32, f32>>::SIMD_WIDTH },
                    { ukr::NR },
                    { ukr::MR_DIV_N },
                    { ukr::H_M },
                    { ukr::H_N },
                >(
                    simd, m, n, k, dst, dst_cs, dst_rs, accumulate, a_ptr, a_cs, a_rs, b_ptr, b_cs,
                    b_rs, 1.0, 1.0, false, false, false, |x, y, z| x * y + z, &ukr::UKR,
                    &ukr::H_UKR, false, par,
                )
            }
        }};
    }
    match crate::simd::path() {
        // gemm's own dispatch: on a CPU with AVX-512 (which this path implies), its AVX-512
        // kernels.
        crate::simd::Path::Avx512 => unsafe {
            gemm::gemm(
                m, n, k, dst, dst_cs, dst_rs, accumulate, a_ptr, a_cs, a_rs, b_ptr, b_cs, b_rs,
                1.0, 1.0, false, false, false, par,
            )
        },
        #[cfg(target_arch = "x86_64")]
        crate::simd::Path::Avx2 => forced!(gemm_common::simd::V3, fma),
        _ => forced!(gemm_common::simd::Scalar, scalar),
    }
}

/// `y (m, n) = (accumulate ? y : 0) + x (m, k) · w (k, n)` on host buffers.
pub(crate) fn matmul_into(
    y: &mut [f32],
    accumulate: bool,
    x: &[f32],
    m: usize,
    k: usize,
    w: &[f32],
    n: usize,
) {
    gemm(y, accumulate, View::of(x, m, k), View::of(w, k, n));
}

/// Adds the bias `b` (n) to every row of `y` (m, n), then applies the ReLU when `relu`, then
/// `(v − mean) · inv_std` per column when `norm` is `(mean, inv_std)`: one pass over `y`.
pub(crate) fn bias_relu(
    y: &mut [f32],
    n: usize,
    b: Option<&[f32]>,
    relu: bool,
    norm: Option<(&[f32], &[f32])>,
) {
    if b.is_none() && !relu && norm.is_none() {
        return;
    }
    y.par_chunks_mut(n * CHUNK).for_each(|rows| {
        crate::simd::vectorized!({
            for row in rows.chunks_mut(n) {
                if let Some(b) = b {
                    row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
                }
                if relu {
                    row.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                if let Some((mean, inv)) = norm {
                    for ((v, m), s) in row.iter_mut().zip(mean).zip(inv) {
                        *v = (*v - m) * s;
                    }
                }
            }
        })
    });
}

/// `relu?(Σ_i x_i · w_i + b)` with x_i `(m, k_i)`, w_i `(k_i, n)` and b `(1, n)`: one MLP layer
/// (several inputs for a first layer that reads input groups with their own weights).
pub fn dense<T: Tape<f32, Backend> + Merge<T>>(
    inputs: Vec<(T2<T>, T2<T>)>,
    bias: Option<T2<T>>,
    relu: bool,
) -> T2<T> {
    assert!(!inputs.is_empty(), "a layer has an input");
    let dev = inputs[0].0.device().clone();
    let m = inputs[0].0.shape().0;
    let n = inputs[0].1.shape().1;
    let mut tape = T::default();
    let mut take = |t: T2<T>| {
        let (t, tp) = t.split_tape();
        tape = std::mem::take(&mut tape).merge(tp);
        t
    };
    let pairs: Vec<(T2, T2)> = inputs
        .into_iter()
        .map(|(x, w)| (take(x), take(w)))
        .collect();
    let bias = bias.map(&mut take);
    let host: Vec<(Vec<f32>, Vec<f32>, usize)> = pairs
        .iter()
        .map(|(x, w)| {
            assert_eq!(x.shape().0, m, "inputs share the batch");
            assert_eq!(x.shape().1, w.shape().0, "input and weight agree");
            assert_eq!(w.shape().1, n, "weights share the output width");
            (super::host(x), super::host(w), x.shape().1)
        })
        .collect();
    let bv = bias.as_ref().map(super::host);
    let mut y = vec![0.0f32; m * n];
    for (i, (xv, wv, k)) in host.iter().enumerate() {
        matmul_into(&mut y, i > 0, xv, m, *k, wv, n);
    }
    bias_relu(&mut y, n, bv.as_deref(), relu, None);
    // The backward pass reads the output (the ReLU's mask); inference does not keep a copy.
    let out: T2 = if T::OWNS_TAPE {
        dev.tensor_from_vec(y.clone(), (m, n))
    } else {
        dev.tensor_from_vec(std::mem::take(&mut y), (m, n))
    };
    let out_c = out.clone();
    tape.add_backward_op(move |grads| {
        // dz = gy where the ReLU passed (y > 0), else 0.
        let mut dz = grads.get_or_alloc_mut(&out_c)?.to_vec();
        if relu {
            dz.par_chunks_mut(1 << 14)
                .zip(y.par_chunks(1 << 14))
                .for_each(|(g, y)| {
                    crate::simd::vectorized!({
                        g.iter_mut().zip(y).for_each(|(g, &y)| {
                            if y <= 0.0 {
                                *g = 0.0
                            }
                        })
                    })
                });
        }
        let dzv = View::of(&dz, m, n);
        for ((x, w), (xv, wv, k)) in pairs.iter().zip(&host) {
            gemm(
                grads.get_or_alloc_mut(x)?,
                true,
                dzv,
                View::of(wv, *k, n).t(),
            );
            gemm(
                grads.get_or_alloc_mut(w)?,
                true,
                View::of(xv, m, *k).t(),
                dzv,
            );
        }
        if let Some(b) = &bias {
            let parts: Vec<Vec<f32>> = ranges(m, CHUNK)
                .into_par_iter()
                .map(|(r0, r1)| {
                    crate::simd::vectorized!({
                        let mut acc = vec![0.0f32; n];
                        for row in dz[r0 * n..r1 * n].chunks(n) {
                            acc.iter_mut().zip(row).for_each(|(a, g)| *a += g);
                        }
                        acc
                    })
                })
                .collect();
            let db = sum_partials(parts, n);
            grads
                .get_or_alloc_mut(b)?
                .iter_mut()
                .zip(&db)
                .for_each(|(a, g)| *a += g);
        }
        Ok(())
    });
    out.put_tape(tape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::kernels::flatten_groups;
    use crate::nn::kernels::test_util::close;
    use crate::nn::{Grads, Tp, T3};
    use rand::{Rng, SeedableRng};

    fn rand_t2(dev: &Backend, rng: &mut impl Rng, r: usize, c: usize) -> T2 {
        dev.tensor_from_vec(
            (0..r * c).map(|_| rng.gen_range(-1.0..1.0)).collect(),
            (r, c),
        )
    }

    /// A two-input layer with bias and ReLU, and the grouped layout, against dfdx's matmul,
    /// broadcast, relu and permute: values and the gradients of every input, on every SIMD path
    /// this CPU has (gemm's kernels included).
    #[test]
    fn dense_and_flatten_match_the_generic_composition() {
        let dev: Backend = Default::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let (m, n) = (70, 13);
        let g3: T3 = dev.tensor_from_vec(
            (0..3 * m * 4).map(|_| rng.gen_range(-1.0..1.0)).collect(),
            (3, m, 4),
        );
        let x2 = rand_t2(&dev, &mut rng, m, 5);
        let w1 = rand_t2(&dev, &mut rng, 12, n);
        let w2 = rand_t2(&dev, &mut rng, 5, n);
        let b = rand_t2(&dev, &mut rng, 1, n);
        let r = rand_t2(&dev, &mut rng, m, n);
        for relu in [true, false] {
            let run = |custom: bool| {
                let g = g3.clone().trace(Grads::leaky());
                let x = x2.retaped::<Tp>();
                let y: T2<Tp> = if custom {
                    let flat = flatten_groups(g, None);
                    dense(
                        vec![(flat, w1.retaped::<Tp>()), (x, w2.retaped::<Tp>())],
                        Some(b.retaped::<Tp>()),
                        relu,
                    )
                } else {
                    let flat: T2<Tp> = g.permute::<_, Axes3<1, 0, 2>>().reshape_like(&(m, 12));
                    let z = flat.matmul(w1.retaped::<Tp>())
                        + x.matmul(w2.retaped::<Tp>())
                        + b.retaped::<Tp>()
                            .reshape_like(&(n,))
                            .broadcast_like::<_, Axis<0>>(&(m, n));
                    if relu {
                        z.relu()
                    } else {
                        z
                    }
                };
                let yv = y.as_vec();
                let gr = (y * r.clone()).sum::<(), _>().backward();
                let grads: Vec<Vec<f32>> = vec![
                    gr.get(&g3).as_vec(),
                    gr.get(&x2).as_vec(),
                    gr.get(&w1).as_vec(),
                    gr.get(&w2).as_vec(),
                    gr.get(&b).as_vec(),
                ];
                (yv, grads)
            };
            let (y2, g2) = run(false);
            // gemm's paths round differently (its AVX kernels fuse multiply and add): each path
            // is held to the generic composition, not to the others' bits.
            for (path, (y1, g1)) in crate::simd::on_every_path(|_| run(true)) {
                close(&y1, &y2, 1e-4, &format!("{path:?} relu {relu}: value"));
                for (i, (a, b)) in g1.iter().zip(&g2).enumerate() {
                    let what = format!("{path:?} relu {relu}: gradient of input {i}");
                    close(a, b, 1e-4, &what);
                    assert!(a.iter().any(|v| *v != 0.0), "{what}: nonzero");
                }
            }
        }
    }
}
