//! The MLP's grouped input, `(groups, batch, k)`, laid out as the rows its first layer
//! multiplies, `(batch, kept values)`: on host buffers for inference, and as a taped op.

use super::{grad_read_write, ranges, Shared, CHUNK};
use crate::nn::{Backend, T2, T3};
use dfdx::prelude::*;
use rayon::prelude::*;

/// Which positions of each block an MLP input group keeps: all of them, or per block a sorted
/// list (positions that are always zero, such as an embedding dimension the search pruned,
/// carry nothing and get no weights).
#[derive(Clone, Copy)]
pub(crate) enum Keep<'a> {
    All,
    Some(&'a [Vec<usize>]),
}

impl Keep<'_> {
    /// Kept values per sample, and each block's first column in a row.
    fn layout(self, g: usize, k: usize) -> (usize, Vec<usize>) {
        match self {
            Keep::All => (g * k, (0..g).map(|gi| gi * k).collect()),
            Keep::Some(keep) => {
                assert_eq!(keep.len(), g, "one kept list per block");
                let mut starts = Vec::with_capacity(g);
                let mut at = 0;
                for kp in keep {
                    starts.push(at);
                    at += kp.len();
                }
                (at, starts)
            }
        }
    }
}

/// `(groups, batch, k)` laid out as `(batch, kept values)`, block after block, on host buffers,
/// into `y`: every value of the result is written, so a reused `y` is zeroed only where it grows.
pub(crate) fn flatten_host_into(
    y: &mut Vec<f32>,
    x: &[f32],
    g: usize,
    b: usize,
    k: usize,
    keep: Keep,
) {
    let (width, starts) = keep.layout(g, k);
    y.resize(b * width, 0.0);
    y.par_chunks_mut(width.max(1))
        .enumerate()
        .for_each(|(r, row)| {
            crate::simd::vectorized!({
                for gi in 0..g {
                    let src = &x[(gi * b + r) * k..][..k];
                    match keep {
                        Keep::All => row[gi * k..(gi + 1) * k].copy_from_slice(src),
                        Keep::Some(kp) => {
                            for (o, &p) in row[starts[gi]..].iter_mut().zip(&kp[gi]) {
                                *o = src[p];
                            }
                        }
                    }
                }
            })
        });
}

/// `(groups, batch, k)` laid out as `(batch, groups · k)`: an input group of the MLP; with
/// `keep`, only each block's kept positions.
pub fn flatten_groups<T: Tape<f32, Backend> + Merge<T>>(
    x: T3<T>,
    keep: Option<&[Vec<usize>]>,
) -> T2<T> {
    let (g, b, k) = *x.shape();
    let keep_owned: Option<Vec<Vec<usize>>> = keep.map(|k| k.to_vec());
    let kp = keep.map_or(Keep::All, Keep::Some);
    let (width, starts) = kp.layout(g, k);
    let (x, mut tape) = x.split_tape();
    let mut y = Vec::new();
    flatten_host_into(&mut y, &super::host(&x), g, b, k, kp);
    let out: T2 = x.device().tensor_from_vec(y, (b, width));
    let out_c = out.clone();
    tape.add_backward_op(move |grads| {
        let (gy, gx) = grad_read_write(grads, &out_c, &x)?;
        let gx_all = Shared::new(gx);
        ranges(b, CHUNK).into_par_iter().for_each(|(r0, r1)| {
            crate::simd::vectorized!({
                for r in r0..r1 {
                    for gi in 0..g {
                        // SAFETY: this task owns samples r0..r1; (gi, r, ·) is one of them.
                        let dst = unsafe { gx_all.slice((gi * b + r) * k, k) };
                        let src = &gy[r * width + starts[gi]..];
                        match &keep_owned {
                            None => dst.iter_mut().zip(&src[..k]).for_each(|(a, v)| *a += v),
                            Some(kp) => {
                                for (&p, v) in kp[gi].iter().zip(src) {
                                    dst[p] += v;
                                }
                            }
                        }
                    }
                }
            })
        });
        Ok(())
    });
    out.put_tape(tape)
}
