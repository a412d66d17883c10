//! The interaction functions, at orders 2 to 4, over an explicit list of field tuples.
//!
//! Input: an embedding leaf `E`, field-major `(fields, batch · d)`. For a tuple list of order p,
//! position q's fields are gathered as rows, `G_q = E[idx_q]` `(P, batch · d)`, and
//! - inner:          Σ_k Π_q G_q,k
//! - vector_kernel:  Σ_k φ_k Π_q G_q,k   with φ `(P, d)`, one vector per tuple
//! - scalar_kernel:  s · Σ_k Π_q G_q,k   with s `(P,)`, one scalar per tuple
//! - outer (approx): Π_q (w_qᵀ G_q)       with w `(p, d)`, shared by the tuples of the order
//!
//! Each gives `(P, batch)`; the element-wise products `Π_q G_q` `(P, batch, d)` are what the
//! re-trained model's MLP reads.

use super::{normal, xavier, Backend, Idx, Param, Update, T2, T3};
use crate::nn::function::InteractionFn;
use dfdx::prelude::*;

/// One interaction function over the tuples of one order.
pub struct FunctionBlock {
    /// The function.
    pub function: InteractionFn,
    /// φ `(P, d)` (vector kernel), s `(P, 1)` (scalar kernel) or w `(p, d)` (outer).
    pub kernel: Option<Param>,
}

/// The tuples of one order and their index tensors.
pub struct Tuples {
    /// The order p.
    pub order: usize,
    /// The field tuples (each sorted, p fields).
    pub tuples: Vec<Vec<usize>>,
    /// Per position q: the q-th field of every tuple.
    pub idx: Vec<Idx>,
    /// The tuples as the CPU kernels read them.
    #[cfg(not(feature = "cuda"))]
    pub flat: super::kernels::FlatTuples,
}

impl Tuples {
    /// Index tensors for `tuples` (all of order `order`).
    pub fn new(dev: &Backend, order: usize, tuples: Vec<Vec<usize>>) -> Self {
        assert!(
            tuples.iter().all(|t| t.len() == order),
            "every tuple has {order} fields"
        );
        let idx = (0..order)
            .map(|q| {
                let v: Vec<usize> = tuples.iter().map(|t| t[q]).collect();
                let n = v.len();
                dev.tensor_from_vec(v, (n,))
            })
            .collect();
        Tuples {
            order,
            #[cfg(not(feature = "cuda"))]
            flat: super::kernels::FlatTuples::new(order, &tuples),
            tuples,
            idx,
        }
    }

    /// Number of tuples.
    pub fn len(&self) -> usize {
        self.tuples.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tuples.is_empty()
    }

    /// Position q's gathered embeddings `(P, batch · d)`.
    pub fn gather<T: Tape<f32, Backend>>(&self, e: &T2<T>, q: usize) -> T2<T> {
        e.retaped::<T>().gather(self.idx[q].clone())
    }

    /// The element-wise product over positions, `(P, batch, d)`.
    pub fn product<T: Tape<f32, Backend> + Merge<T>>(
        &self,
        e: &T2<T>,
        batch: usize,
        d: usize,
    ) -> T3<T> {
        let mut p = self.gather(e, 0);
        for q in 1..self.order {
            p = p * self.gather(e, q);
        }
        p.reshape_like(&(self.len(), batch, d))
    }
}

impl FunctionBlock {
    /// A block for `function` over `tuples`, with its kernel initialised as the authors do
    /// (φ ~ N(0, 0.001), s = 1, w xavier-uniform).
    pub fn new(
        dev: &Backend,
        name: &str,
        function: InteractionFn,
        tuples: &Tuples,
        d: usize,
        rng: &mut impl rand::Rng,
    ) -> Self {
        let p = tuples.len();
        let kernel = match function {
            InteractionFn::Inner => None,
            InteractionFn::VectorKernel => Some(Param::new(
                dev,
                format!("{name}.phi"),
                vec![p, d],
                normal(rng, 0.001, p * d),
                Update::Adam,
            )),
            InteractionFn::ScalarKernel => Some(Param::new(
                dev,
                format!("{name}.s"),
                vec![p, 1],
                vec![1.0; p],
                Update::Adam,
            )),
            InteractionFn::Outer => {
                let o = tuples.order;
                Some(Param::new(
                    dev,
                    format!("{name}.w"),
                    vec![o, d],
                    xavier(rng, d, 1, o * d),
                    Update::Adam,
                ))
            }
        };
        FunctionBlock { function, kernel }
    }

    /// The function's value for every tuple and sample `(P, batch)`, carrying the tape, and (when
    /// `vectors`, for the functions that have them) a tape-less copy of the element-wise product
    /// vectors `(P, batch, d)` it summed. The value must reach the loss (or its tape be merged
    /// into it): the ops that made both are on its tape. `e_host`, when given, holds e's values
    /// (saves a copy). Runs the fused CPU kernel
    /// ([`super::kernels::interact`]), or on CUDA the generic composition.
    pub fn forward<T: Tape<f32, Backend> + Merge<T>>(
        &self,
        tuples: &Tuples,
        e: &T2<T>,
        batch: usize,
        d: usize,
        vectors: bool,
        e_host: Option<std::sync::Arc<Vec<f32>>>,
    ) -> (T2<T>, Option<T3<T>>) {
        #[cfg(not(feature = "cuda"))]
        {
            super::kernels::interact(
                e.retaped::<T>(),
                &tuples.flat,
                self.function,
                self.kernel.as_ref().map(|k| k.t2::<T>()),
                (batch, d),
                vectors,
                e_host,
            )
        }
        #[cfg(feature = "cuda")]
        {
            let _ = e_host;
            let (out, v) = self.forward_generic(tuples, e, batch, d);
            (out, v.filter(|_| vectors))
        }
    }

    /// [`FunctionBlock::forward`] as a composition of dfdx's generic ops (always returning the
    /// vectors where the function has them): the CUDA path, and the reference the kernels are
    /// tested against.
    pub fn forward_generic<T: Tape<f32, Backend> + Merge<T>>(
        &self,
        tuples: &Tuples,
        e: &T2<T>,
        batch: usize,
        d: usize,
    ) -> (T2<T>, Option<T3<T>>) {
        let p = tuples.len();
        let shape = (p, batch, d);
        // The returned value carries the tape (it always reaches the loss, see `Model::forward`);
        // the product vectors are tape-less copies whose gradient flows back through it.
        match self.function {
            InteractionFn::Inner => {
                let prod = tuples.product(e, batch, d);
                let vectors = prod.retaped::<T>();
                (prod.sum::<(usize, usize), Axis<2>>(), Some(vectors))
            }
            InteractionFn::ScalarKernel => {
                let prod = tuples.product(e, batch, d);
                let vectors = prod.retaped::<T>();
                let s = self
                    .kernel
                    .as_ref()
                    .expect("scalar kernel")
                    .t2::<T>()
                    .reshape_like(&(p,));
                let out = prod.sum::<(usize, usize), Axis<2>>()
                    * s.broadcast_like::<_, Axis<1>>(&(p, batch));
                (out, Some(vectors))
            }
            InteractionFn::VectorKernel => {
                let prod = tuples.product(e, batch, d);
                let vectors = prod.retaped::<T>();
                let phi = self.kernel.as_ref().expect("vector kernel").t2::<T>();
                let out = (prod * phi.broadcast_like::<_, Axis<1>>(&shape))
                    .sum::<(usize, usize), Axis<2>>();
                (out, Some(vectors))
            }
            InteractionFn::Outer => {
                let w = self.kernel.as_ref().expect("outer kernel").t2::<T>();
                let mut out: Option<T2<T>> = None;
                for q in 0..tuples.order {
                    let wq = w.retaped::<T>().reshape_like(&(tuples.order * d,));
                    // Row q of w as a (d,) vector: select it by gathering the single row.
                    let idx: Idx = e
                        .device()
                        .tensor_from_vec((q * d..(q + 1) * d).collect(), (d,));
                    let wq: Tensor<(usize,), f32, Backend, T> = wq.gather(idx);
                    let g = tuples.gather(e, q).reshape_like(&shape);
                    let proj = (g * wq.broadcast_like::<_, Axes2<0, 1>>(&shape))
                        .sum::<(usize, usize), Axis<2>>();
                    out = Some(match out {
                        None => proj,
                        Some(o) => o * proj,
                    });
                }
                (out.expect("order ≥ 2"), None)
            }
        }
    }
}
