//! A CTR model as a short composition of the layers in `nn/`: embedding tables (outside the
//! graph), an optional linear part, interaction blocks per order (a function and its gate per
//! candidate function), an optional MLP, and a logit `bias + Σ_k part_k` (the parts summed
//! directly, as FuxiCTR does: learned part weights were no better on validation).
//! FM, FwFM, DeepFM and IPNN are configurations of it ([`ModelConfig::base`]); the AIM stages
//! build others (gated candidates, pruned dimensions, an MLP over interaction vectors).
//!
//! One concept per file: [`config`] (what a model is, as data), [`build`] (its layers from a
//! config), [`forward`] (the logit, training and inference), [`step`] (the optimisers and a
//! training step), [`state`] (parameters, snapshots, batch-norm statistics).

mod build;
mod config;
mod forward;
mod state;
mod step;
#[cfg(test)]
mod tests;

pub use config::*;
pub use step::Optimizers;

use crate::nn::embedding::Table;
use crate::nn::gate::Gate;
use crate::nn::interaction::{FunctionBlock, Tuples};
use crate::nn::mlp::Mlp;
use crate::nn::{Backend, Param};

/// One interaction function over its tuples, with its gate.
pub struct Block {
    /// The embedding table it reads.
    pub table: usize,
    /// Its tuples.
    pub tuples: Tuples,
    /// The function.
    pub function: FunctionBlock,
    /// Its gates, one per tuple.
    pub gate: Gate,
}

/// One order's blocks.
pub struct OrderBlock {
    /// The order.
    pub order: usize,
    /// Per function with at least one tuple.
    pub blocks: Vec<Block>,
    /// Whether the sum joins the logit.
    pub to_logit: bool,
}

/// A model.
pub struct Model {
    /// Its configuration.
    pub cfg: ModelConfig,
    /// The device.
    pub dev: Backend,
    /// Embedding tables (see [`ModelConfig::table_functions`]).
    pub tables: Vec<Table>,
    /// First-order weights (a width-1 table).
    pub linear: Option<Table>,
    /// β per table (one shared parameter, statistics per table).
    pub dim_gates: Vec<Gate>,
    /// Interactions per order.
    pub orders: Vec<OrderBlock>,
    /// The MLP.
    pub mlp: Option<Mlp>,
    /// The logit's constant.
    pub bias: Param,
    /// Platt scaling of the logit in [`Model::predict`], fitted on validation after training
    /// (`train::Trainer::fit`); `None` while training and when not calibrated.
    pub calibration: Option<crate::calibration::Platt>,
}

/// The loss was not finite.
#[derive(Debug)]
pub struct NonFinite(pub f32);

/// A copy of a model's learned values.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// Dense parameters, in the order of [`Model::params`].
    pub params: Vec<Vec<f32>>,
    /// Table weights (embedding tables, then the linear one).
    pub tables: Vec<Vec<f32>>,
    /// Batch-norm statistics (mean, var), in the order of [`Model::running`].
    pub running: Vec<(Vec<f32>, Vec<f32>)>,
}
