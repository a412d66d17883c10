//! The MLP: ReLU layers with optional batch norm (no affine), and a first layer that reads
//! grouped inputs: a group is `(G, batch, k)` with weight `(G, k, h)`, and the first layer is
//! `Σ_groups X_group W_group + b`, the same as a matmul of the concatenation of all groups.

use super::batch_norm::Running;
use super::gate::gated_batch_norm;
use super::{xavier, Backend, Param, Update, T2, T3};
use dfdx::prelude::*;

/// One input group's shape: `groups` blocks of `width` values per sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Blocks (fields, tuples).
    pub groups: usize,
    /// Values per block.
    pub width: usize,
    /// Per block, the positions the MLP reads (sorted), when not all: the others are always zero
    /// (an embedding dimension the search pruned) and get no weights.
    pub keep: Option<Vec<Vec<usize>>>,
}

impl Group {
    /// A group that reads every value.
    pub fn all(groups: usize, width: usize) -> Self {
        Group {
            groups,
            width,
            keep: None,
        }
    }

    /// Values per sample the MLP reads from it.
    pub fn kept(&self) -> usize {
        match &self.keep {
            Some(k) => k.iter().map(Vec::len).sum(),
            None => self.groups * self.width,
        }
    }
}

/// The MLP.
pub struct Mlp {
    /// First-layer weights, one per input group `(G, k, h)`, or `(1, kept, h)` for a group that
    /// reads only some positions. Private, as the later layers and the biases: they change
    /// only through [`Mlp::params_mut`], which drops inference's copies of them.
    input: Vec<Param>,
    /// Per input group, the positions it reads (see [`Group::keep`]).
    pub keep: Vec<Option<Vec<Vec<usize>>>>,
    /// Weights `(h_i, h_{i+1})` of the later layers, ending with `(h_last, 1)`.
    layers: Vec<Param>,
    /// Biases, one per layer (first and later), the last one of length 1.
    biases: Vec<Param>,
    /// Batch-norm statistics per hidden layer (when enabled).
    pub norms: Option<Vec<Running>>,
    /// Dropout rate after each hidden layer, in training only.
    pub dropout: f32,
    rng: rand_chacha::ChaCha8Rng,
    /// Inference's two activation buffers, kept between calls: a fresh buffer of a batch's
    /// activations (26 MB at 16,384 rows × 400) is zeroed by the allocator, which took 5% of
    /// `aim predict`'s time, on one thread.
    #[cfg_attr(feature = "cuda", allow(dead_code))]
    scratch: [Vec<f32>; 2],
    /// Inference's input layout, kept between calls for the same reason.
    #[cfg_attr(feature = "cuda", allow(dead_code))]
    flat: Vec<f32>,
    /// Inference's host copies of the parameters ([`Mlp::params`] order), made on the first
    /// batch after a change and read by every batch until the next: copying the weights out of
    /// their tensors per batch was 2.3 MB (DeepFM) to 5 MB (re-train) of memcpy a batch.
    #[cfg_attr(feature = "cuda", allow(dead_code))]
    host_params: Option<Vec<Vec<f32>>>,
}

impl Mlp {
    /// An MLP over `inputs` with hidden widths `hidden` (at least one) and a scalar output.
    pub fn new(
        dev: &Backend,
        name: &str,
        inputs: &[Group],
        hidden: &[usize],
        batch_norm: bool,
        eps: f64,
        rng: &mut impl rand::Rng,
    ) -> Self {
        assert!(!hidden.is_empty(), "an MLP has a hidden layer");
        let fan_in: usize = inputs.iter().map(Group::kept).sum();
        let h0 = hidden[0];
        let input = inputs
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let shape = match &g.keep {
                    Some(_) => vec![1, g.kept(), h0],
                    None => vec![g.groups, g.width, h0],
                };
                let n = g.kept() * h0;
                Param::new(
                    dev,
                    format!("{name}.in{i}"),
                    shape,
                    xavier(rng, fan_in, h0, n),
                    Update::Adam,
                )
            })
            .collect();
        let keep = inputs.iter().map(|g| g.keep.clone()).collect();
        let mut widths = hidden.to_vec();
        widths.push(1);
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                Param::new(
                    dev,
                    format!("{name}.w{}", i + 1),
                    vec![w[0], w[1]],
                    xavier(rng, w[0], w[1], w[0] * w[1]),
                    Update::Adam,
                )
            })
            .collect();
        let biases = widths
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                Param::new(
                    dev,
                    format!("{name}.b{i}"),
                    vec![1, w],
                    vec![0.0; w],
                    Update::Adam,
                )
            })
            .collect();
        let norms = batch_norm.then(|| hidden.iter().map(|&h| Running::new(h, eps)).collect());
        let rng = rand::SeedableRng::seed_from_u64(rng.gen::<u64>());
        Mlp {
            input,
            keep,
            layers,
            biases,
            norms,
            dropout: 0.0,
            rng,
            scratch: Default::default(),
            flat: Vec::new(),
            host_params: None,
        }
    }

    /// Restarts the dropout stream from `seed`.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = rand::SeedableRng::seed_from_u64(seed);
    }

    /// All parameters, to change: inference copies them afresh on its next batch.
    pub fn params_mut(&mut self) -> impl Iterator<Item = &mut Param> {
        self.host_params = None;
        self.input
            .iter_mut()
            .chain(self.layers.iter_mut())
            .chain(self.biases.iter_mut())
    }

    /// All parameters.
    pub fn params(&self) -> impl Iterator<Item = &Param> {
        self.input
            .iter()
            .chain(self.layers.iter())
            .chain(self.biases.iter())
    }

    fn bias<T: Tape<f32, Backend>>(&self, i: usize, batch: usize) -> T2<T> {
        let w = self.biases[i].shape[1];
        self.biases[i]
            .t2::<T>()
            .reshape_like(&(w,))
            .broadcast_like::<_, Axis<0>>(&(batch, w))
    }

    fn hidden<T: Tape<f32, Backend> + Merge<T>>(
        &mut self,
        x: T2<T>,
        i: usize,
        batch: usize,
        train: bool,
    ) -> T2<T> {
        let x = (x + self.bias::<T>(i, batch)).relu();
        self.after_relu(x, i, batch, train)
    }

    /// Hidden layer i's batch norm and dropout, after its ReLU.
    fn after_relu<T: Tape<f32, Backend> + Merge<T>>(
        &mut self,
        x: T2<T>,
        i: usize,
        batch: usize,
        train: bool,
    ) -> T2<T> {
        let x = match &mut self.norms {
            Some(n) => {
                let h = x.shape().1;
                gated_batch_norm(x.reshape_like(&(1, batch, h)), None, &mut n[i], train)
                    .reshape_like(&(batch, h))
            }
            None => x,
        };
        if !train || self.dropout <= 0.0 {
            return x;
        }
        // Inverted dropout with a mask from the model's own seeded stream (deterministic runs).
        use rand::Rng;
        let shape = *x.shape();
        let keep = 1.0 - self.dropout;
        let mask: Vec<f32> = (0..shape.0 * shape.1)
            .map(|_| {
                if self.rng.gen::<f32>() < keep {
                    1.0 / keep
                } else {
                    0.0
                }
            })
            .collect();
        let mask: T2 = x.device().tensor_from_vec(mask, shape);
        x * mask
    }

    /// The output `(batch,)` for inputs matching the groups given at construction: on the CPU
    /// through the fused layer kernels ([`super::kernels::dense`]), on CUDA as
    /// [`Mlp::forward_generic`].
    pub fn forward<T: Tape<f32, Backend> + Merge<T>>(
        &mut self,
        inputs: Vec<T3<T>>,
        batch: usize,
        train: bool,
    ) -> Tensor<(usize,), f32, Backend, T> {
        self.forward_with_hosts(inputs, vec![], batch, train)
    }

    /// [`Mlp::forward`], with the values of some input groups already on the host (`hosts[i]`
    /// for group i, when given): inference then reads them without a copy.
    pub fn forward_with_hosts<T: Tape<f32, Backend> + Merge<T>>(
        &mut self,
        inputs: Vec<T3<T>>,
        hosts: Vec<Option<std::sync::Arc<Vec<f32>>>>,
        batch: usize,
        train: bool,
    ) -> Tensor<(usize,), f32, Backend, T> {
        #[cfg(feature = "cuda")]
        let _ = hosts;
        // Inference (no tape, running statistics) runs on host buffers; a tape-less forward in
        // training mode (batch statistics) takes the kernels' path like any other.
        #[cfg(not(feature = "cuda"))]
        if !T::OWNS_TAPE && !train {
            let dev = inputs[0].device().clone();
            let y = self.infer_host(inputs, &hosts, batch);
            return dev.tensor_from_vec(y, (batch,)).retaped::<T>();
        }
        #[cfg(not(feature = "cuda"))]
        {
            use super::kernels::{dense, flatten_groups};
            let first: Vec<(T2<T>, T2<T>)> = inputs
                .into_iter()
                .zip(&self.input)
                .zip(&self.keep)
                .map(|((xg, w), keep)| {
                    let (rows, h) = (w.shape[0] * w.shape[1], w.shape[2]);
                    (
                        flatten_groups(xg, keep.as_deref()),
                        w.t3::<T>().reshape_like(&(rows, h)),
                    )
                })
                .collect();
            let mut x = dense(first, Some(self.biases[0].t2::<T>()), true);
            x = self.after_relu(x, 0, batch, train);
            let n = self.layers.len();
            for i in 0..n {
                let hidden = i + 1 < n;
                let y = dense(
                    vec![(x, self.layers[i].t2::<T>())],
                    Some(self.biases[i + 1].t2::<T>()),
                    hidden,
                );
                x = if hidden {
                    self.after_relu(y, i + 1, batch, train)
                } else {
                    y
                };
            }
            x.reshape_like(&(batch,))
        }
        #[cfg(feature = "cuda")]
        self.forward_generic(inputs, batch, train)
    }

    /// [`Mlp::forward`] as a composition of dfdx's generic ops: the CUDA path, and the reference
    /// the kernels are tested against.
    pub fn forward_generic<T: Tape<f32, Backend> + Merge<T>>(
        &mut self,
        inputs: Vec<T3<T>>,
        batch: usize,
        train: bool,
    ) -> Tensor<(usize,), f32, Backend, T> {
        // Each group (G, batch, k) is laid out as (batch, G·k) and multiplied by its weight
        // (G·k, h): the same as a matmul of the concatenation, with no (G, batch, h) intermediate
        // (which with hundreds of interaction groups would be gigabytes).
        let mut x: Option<T2<T>> = None;
        for ((xg, w), keep) in inputs.into_iter().zip(&self.input).zip(&self.keep) {
            let (g, b, k) = *xg.shape();
            let h = w.shape[2];
            let flat: T2<T> = xg.permute::<_, Axes3<1, 0, 2>>().reshape_like(&(b, g * k));
            // Kept positions only: a product with a 0/1 selection matrix (g·k, kept).
            let flat = match keep {
                Some(kp) => {
                    let kept: usize = kp.iter().map(Vec::len).sum();
                    let mut sel = vec![0.0f32; g * k * kept];
                    let mut c = 0;
                    for (gi, positions) in kp.iter().enumerate() {
                        for &p in positions {
                            sel[(gi * k + p) * kept + c] = 1.0;
                            c += 1;
                        }
                    }
                    let sel: T2 = flat.device().tensor_from_vec(sel, (g * k, kept));
                    flat.matmul(sel)
                }
                None => flat,
            };
            let rows = w.shape[0] * w.shape[1];
            let part = flat.matmul(w.t3::<T>().reshape_like(&(rows, h)));
            x = Some(match x {
                None => part,
                Some(a) => a + part,
            });
        }
        let mut x = self.hidden(x.expect("at least one input group"), 0, batch, train);
        let n = self.layers.len();
        for i in 0..n {
            let y = x.matmul(self.layers[i].t2::<T>());
            if i + 1 < n {
                x = self.hidden(y, i + 1, batch, train);
            } else {
                x = y + self.bias::<T>(n, batch);
            }
        }
        x.reshape_like(&(batch,))
    }
}

#[cfg(not(feature = "cuda"))]
mod infer;
#[cfg(all(test, not(feature = "cuda")))]
mod tests;
