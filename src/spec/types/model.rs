//! The `model { … }` block and the optimisers every block names.

use serde::{Deserialize, Serialize};

/// A base model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum BaseModel {
    /// Factorization machine: bias + linear + Σ pairwise inner products.
    Fm,
    /// Field-weighted FM: a learned weight per field pair.
    Fwfm,
    /// FM ∥ MLP over the concatenated embeddings.
    Deepfm,
    /// MLP over [embeddings, pairwise inner products].
    Ipnn,
}

impl BaseModel {
    /// All base models.
    pub const ALL: [BaseModel; 4] = [
        BaseModel::Fm,
        BaseModel::Fwfm,
        BaseModel::Deepfm,
        BaseModel::Ipnn,
    ];

    /// The model's name in the spec language.
    pub fn name(self) -> &'static str {
        match self {
            BaseModel::Fm => "fm",
            BaseModel::Fwfm => "fwfm",
            BaseModel::Deepfm => "deepfm",
            BaseModel::Ipnn => "ipnn",
        }
    }

    /// Whether the model has an MLP.
    pub fn has_mlp(self) -> bool {
        matches!(self, BaseModel::Deepfm | BaseModel::Ipnn)
    }
}

/// Adam's settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// L2 penalty on the embeddings of each batch.
    pub l2: f64,
}

impl Default for Adam {
    fn default() -> Self {
        Adam { lr: 1e-3, l2: 0.0 }
    }
}

/// GRDA's settings (Chao & Cheng): threshold l1(t) = c·γ^½·(tγ)^μ.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grda {
    /// Learning rate γ.
    pub lr: f64,
    /// Threshold scale c (with `auto`, solved for the run's length: see `stages::prune`).
    pub c: f64,
    /// Threshold growth exponent μ ∈ (0, 1).
    pub mu: f64,
    /// `c = auto`: the threshold is chosen on validation AUC from a ladder.
    #[serde(default)]
    pub auto: bool,
}

impl Grda {
    /// The L1 threshold after `t` steps: c·γ^½·(tγ)^μ.
    pub fn threshold(&self, t: u64) -> f64 {
        self.schedule().threshold(t)
    }

    /// The optimizer's settings (with `c = auto`, the c of one rung, set before this).
    pub fn schedule(&self) -> crate::optim::grda::Schedule {
        crate::optim::grda::Schedule {
            lr: self.lr,
            c: self.c,
            mu: self.mu,
        }
    }
}

/// The `model { … }` block: the base model, trained alone by `aim train`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Which base model.
    pub base: BaseModel,
    /// Embedding length d.
    pub embedding_dim: usize,
    /// Hidden layer widths of the MLP (DeepFM, IPNN).
    pub mlp: Vec<usize>,
    /// Rows per training step.
    pub batch_size: usize,
    /// The optimizer of every weight.
    pub optimizer: Adam,
    /// Training epochs (at most; see `patience`).
    pub epochs: usize,
    /// Stop after this many epochs without a better validation AUC.
    pub patience: usize,
    /// Dropout rate in the MLP.
    pub dropout: f64,
    /// Batch norm in the MLP.
    pub batch_norm: bool,
    /// Standard deviation of the initial embedding values; `None` takes the base model's
    /// default (`model::default_init_std`).
    pub init_std: Option<f64>,
    /// Platt-scale the trained model's logit on the validation split (base model and re-train).
    pub calibrate: bool,
}
