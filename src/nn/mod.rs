//! Layers, one per file, as compositions of dfdx ops with runtime shapes. Embedding tables live
//! outside the graph (`embedding`); everything else is a [`Param`] in the graph.

pub mod batch_norm;
pub mod embedding;
pub mod function;
pub mod gate;
pub mod interaction;
#[cfg(not(feature = "cuda"))]
pub mod kernels;
pub mod mlp;
mod update;

pub use update::{GrdaSchedule, Update};

use dfdx::prelude::*;

/// The device every model runs on: the CPU, or CUDA with the `cuda` feature.
#[cfg(not(feature = "cuda"))]
pub type Backend = Cpu;
/// The device every model runs on: the CPU, or CUDA with the `cuda` feature.
#[cfg(feature = "cuda")]
pub type Backend = Cuda;

/// The tape of a training forward pass.
pub type Tp = OwnedTape<f32, Backend>;
/// Gradients of a backward pass.
pub type Grads = Gradients<f32, Backend>;
/// 1-D tensor.
pub type T1<T = NoneTape> = Tensor<(usize,), f32, Backend, T>;
/// 2-D tensor.
pub type T2<T = NoneTape> = Tensor<(usize, usize), f32, Backend, T>;
/// 3-D tensor.
pub type T3<T = NoneTape> = Tensor<(usize, usize, usize), f32, Backend, T>;
/// Index tensor for gathers.
pub type Idx = Tensor<(usize,), usize, Backend>;

/// A dense parameter in the graph: stored flat, used in its shape.
pub struct Param {
    /// Name, for checkpoints and messages (`mlp.0.weight`).
    pub name: String,
    /// The values, flat.
    pub t: T1,
    /// The logical shape.
    pub shape: Vec<usize>,
    /// Its optimizer.
    pub update: Update,
}

impl Param {
    /// A parameter with these values.
    pub fn new(
        dev: &Backend,
        name: impl Into<String>,
        shape: Vec<usize>,
        values: Vec<f32>,
        update: Update,
    ) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            values.len(),
            "values fill the shape"
        );
        let n = values.len();
        Param {
            name: name.into(),
            t: dev.tensor_from_vec(values, (n,)),
            shape,
            update,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether it has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as a 1-D tensor on tape `T`.
    pub fn t1<T: Tape<f32, Backend>>(&self) -> T1<T> {
        self.t.retaped::<T>()
    }

    /// The values as a 2-D tensor.
    pub fn t2<T: Tape<f32, Backend>>(&self) -> T2<T> {
        let [a, b] = self.shape[..] else {
            panic!("{} is not 2-D: {:?}", self.name, self.shape)
        };
        self.t.retaped::<T>().reshape_like(&(a, b))
    }

    /// The values as a 3-D tensor.
    pub fn t3<T: Tape<f32, Backend>>(&self) -> T3<T> {
        let [a, b, c] = self.shape[..] else {
            panic!("{} is not 3-D: {:?}", self.name, self.shape)
        };
        self.t.retaped::<T>().reshape_like(&(a, b, c))
    }

    /// The values on the host.
    pub fn values(&self) -> Vec<f32> {
        // dfdx's `as_vec` indexes the first element even of an empty tensor (a kernel or weight
        // over positions the dimension search pruned away entirely).
        if self.is_empty() {
            return Vec::new();
        }
        self.t.as_vec()
    }

    /// Overwrites the values.
    pub fn set(&mut self, values: &[f32]) {
        assert_eq!(values.len(), self.len());
        self.t.copy_from(values);
    }
}

/// Xavier-uniform values for a `fan_in × fan_out` weight.
pub fn xavier(rng: &mut impl rand::Rng, fan_in: usize, fan_out: usize, n: usize) -> Vec<f32> {
    let a = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    (0..n).map(|_| rng.gen_range(-a..a)).collect()
}

/// Normal values with standard deviation `std`.
pub fn normal(rng: &mut impl rand::Rng, std: f32, n: usize) -> Vec<f32> {
    use rand_distr::{Distribution, Normal};
    let d = Normal::new(0.0f32, std).expect("finite std");
    (0..n).map(|_| d.sample(rng)).collect()
}
