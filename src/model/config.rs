//! What a model is, as data: its fields, its interactions per order, its MLP; the base models'
//! configurations and the closed-form parameter count.

use crate::nn::gate::GateKind;
use crate::nn::mlp::Group;
use crate::nn::Update;
use crate::spec::{BaseModel, InteractionFn, ModelSpec};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// A field as the model sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldInfo {
    /// Its name.
    pub name: String,
    /// Ids 0..vocab.
    pub vocab: usize,
    /// Kept embedding positions among 0..d (all unless the dimension search pruned some).
    pub positions: Vec<usize>,
    /// Several values per row (embedded as the mean of their embeddings).
    pub multi: bool,
}

/// The interactions of one order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderConfig {
    /// The order p (2..=4).
    pub order: usize,
    /// Per function, the field tuples it is computed for (each of `order` distinct fields): a
    /// pruned (tuple, function) pair is simply absent and costs nothing.
    pub functions: Vec<(InteractionFn, Vec<Vec<usize>>)>,
    /// How each function's outputs are gated.
    pub gate: GateKind,
    /// Who updates the gates.
    pub gate_update: Update,
    /// Whether the gated sum joins the logit (IPNN feeds its products to the MLP only).
    pub to_logit: bool,
}

/// What the MLP reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MlpInput {
    /// The fields' embeddings (DeepFM).
    Embeddings,
    /// The embeddings and the order-2 products (IPNN).
    EmbeddingsAndProducts,
    /// Every interaction's element-wise product vector, and the outer function's scalars (AIM's
    /// re-trained model).
    InteractionVectors,
}

/// The MLP's shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// What it reads.
    pub input: MlpInput,
    /// Batch norm (no affine) after each hidden layer.
    pub batch_norm: bool,
    /// Dropout rate after each hidden layer (training only).
    pub dropout: f64,
}

/// Everything that fixes a model's shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// The fields.
    pub fields: Vec<FieldInfo>,
    /// Embedding length d.
    pub d: usize,
    /// One table per interaction function (the paper's function-wise embeddings) or one shared.
    pub function_wise: bool,
    /// A first-order weight per category.
    pub linear: bool,
    /// Interactions per order.
    pub orders: Vec<OrderConfig>,
    /// The MLP, if any.
    pub mlp: Option<MlpConfig>,
    /// Dimension gates β per (field, position), batch-normed, and who updates them.
    pub dim_gates: Option<Update>,
    /// Whether the dimension gates batch-normalise each (field, position) first (otherwise they
    /// scale the embeddings as they are).
    #[serde(default)]
    pub dims_batch_norm: bool,
    /// Batch-norm ε of the gates.
    pub bn_eps: f64,
    /// Initial α.
    pub alpha_init: f32,
    /// Initial β.
    pub beta_init: f32,
    /// How the embedding tables start.
    pub init: crate::nn::embedding::Init,
}

/// All pairs of `n` fields.
pub fn all_pairs(n: usize) -> Vec<Vec<usize>> {
    (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| vec![i, j]))
        .collect()
}

/// The standard deviation a base model's embeddings start from, unless its `model` block sets
/// `init_std`. Chosen on validation AUC (seeds 2024–2026, Frappe and Adult; README: Baselines):
/// DeepFM and FM are best at 3e-2 on both; IPNN at 1e-2 on Frappe (0.9519 against 0.9479) and
/// level on Adult (0.9220 against 0.9226). FwFM follows FM.
pub fn default_init_std(base: BaseModel) -> f32 {
    match base {
        BaseModel::Ipnn => 0.01,
        BaseModel::Fm | BaseModel::Fwfm | BaseModel::Deepfm => crate::nn::embedding::INIT_STD,
    }
}

/// The standard deviation the spec's base model starts from: its `init_std` if set, else the
/// base model's default.
pub fn base_init_std(spec: &ModelSpec) -> f32 {
    spec.init_std
        .map_or(default_init_std(spec.base), |s| s as f32)
}

/// The standard deviation of the search and re-train models' embeddings: the spec's `init_std`
/// if set, else [`crate::nn::embedding::INIT_STD`] whatever the base model (1e-2 made the
/// search keep too many pairs on the synthetic data; README: Baselines).
pub fn search_init_std(spec: &ModelSpec) -> f32 {
    spec.init_std
        .map_or(crate::nn::embedding::INIT_STD, |s| s as f32)
}

/// [`search_init_std`] as a table's initialisation.
pub fn search_init(spec: &ModelSpec) -> crate::nn::embedding::Init {
    crate::nn::embedding::Init::Normal(search_init_std(spec))
}

impl ModelConfig {
    /// The interaction blocks a model of this configuration has, in order: (order, function,
    /// tuples) for every function with at least one tuple.
    pub fn blocks(&self) -> impl Iterator<Item = (usize, InteractionFn, &[Vec<usize>])> {
        self.orders.iter().flat_map(|o| {
            o.functions
                .iter()
                .filter(|(_, t)| !t.is_empty())
                .map(move |(f, t)| (o.order, *f, t.as_slice()))
        })
    }

    /// The MLP's input groups (see [`MlpInput`]): what its first layer reads, and so its weights.
    pub fn mlp_groups(&self) -> Vec<Group> {
        let Some(m) = &self.mlp else {
            return vec![];
        };
        let (n, d) = (self.fields.len(), self.d);
        // A position the dimension search pruned is zero in the leaf, and so in every product
        // that involves its field: the MLP reads only the positions all of a block's fields
        // keep (the same function, without weights that could never matter).
        let keep_of = |tuples: &[Vec<usize>]| -> Vec<Vec<usize>> {
            tuples
                .iter()
                .map(|tuple| {
                    (0..d)
                        .filter(|k| tuple.iter().all(|&f| self.fields[f].positions.contains(k)))
                        .collect()
                })
                .collect()
        };
        let group = |groups: usize, width: usize, mut keep: Vec<Vec<usize>>| {
            // A group with no position left would need an empty weight, which dfdx cannot
            // read back (`as_vec` of zero elements panics): it reads one always-zero position
            // instead, whose weights get no gradient and change nothing.
            if keep.iter().all(Vec::is_empty) {
                if let Some(k) = keep.first_mut() {
                    k.push(0);
                }
            }
            Group {
                groups,
                width,
                keep: keep.iter().any(|k| k.len() < width).then_some(keep),
            }
        };
        let singles: Vec<Vec<usize>> = (0..n).map(|f| vec![f]).collect();
        let embeddings = || group(n, d, keep_of(&singles));
        let mut groups = vec![];
        match m.input {
            MlpInput::Embeddings => groups.push(embeddings()),
            MlpInput::EmbeddingsAndProducts => {
                groups.push(embeddings());
                for (_, _, tuples) in self.blocks() {
                    groups.push(Group::all(tuples.len(), 1));
                }
            }
            MlpInput::InteractionVectors => {
                for (_, f, tuples) in self.blocks() {
                    if f == InteractionFn::Outer {
                        groups.push(Group::all(tuples.len(), 1));
                    } else {
                        groups.push(group(tuples.len(), d, keep_of(tuples)));
                    }
                }
            }
        }
        groups
    }

    /// The dense parameters a model of this configuration has (everything but the tables),
    /// counted without building it.
    pub fn dense_params(&self) -> usize {
        let (n, d) = (self.fields.len(), self.d);
        let mut total = 1 + if self.dim_gates.is_some() { n * d } else { 0 };
        for o in &self.orders {
            for (f, tuples) in o.functions.iter().filter(|(_, t)| !t.is_empty()) {
                let p = tuples.len();
                total += match f {
                    InteractionFn::Inner => 0,
                    InteractionFn::VectorKernel => p * d,
                    InteractionFn::ScalarKernel => p,
                    InteractionFn::Outer => o.order * d,
                };
                if o.gate != GateKind::None {
                    total += p;
                }
            }
        }
        if let Some(m) = &self.mlp {
            let h0 = m.hidden.first().copied().unwrap_or(0);
            total += self.mlp_groups().iter().map(Group::kept).sum::<usize>() * h0;
            let mut widths = m.hidden.clone();
            widths.push(1);
            total += widths.windows(2).map(|w| w[0] * w[1]).sum::<usize>();
            total += widths.iter().sum::<usize>();
        }
        total
    }

    /// Trained values of a model of this configuration ([`Model::num_params`]), counted
    /// without building it: embeddings at their kept positions, linear weights, dense
    /// parameters.
    pub fn num_params(&self) -> usize {
        let tables = self.table_functions().len();
        let emb: usize = self
            .fields
            .iter()
            .map(|f| f.vocab * f.positions.len())
            .sum();
        let linear: usize = if self.linear {
            self.fields.iter().map(|f| f.vocab).sum()
        } else {
            0
        };
        tables * emb + linear + self.dense_params()
    }

    /// The base model of a spec's `model` block over these fields.
    pub fn base(spec: &ModelSpec, fields: Vec<FieldInfo>) -> Result<Self> {
        let pairs = OrderConfig {
            order: 2,
            functions: vec![(InteractionFn::Inner, all_pairs(fields.len()))],
            gate: GateKind::None,
            gate_update: Update::Adam,
            to_logit: true,
        };
        let mlp = |input| {
            Some(MlpConfig {
                hidden: spec.mlp.clone(),
                input,
                batch_norm: spec.batch_norm,
                dropout: spec.dropout,
            })
        };
        let (orders, mlp, linear) = match spec.base {
            BaseModel::Fm => (vec![pairs], None, true),
            BaseModel::Fwfm => (
                vec![OrderConfig {
                    gate: GateKind::Scale,
                    ..pairs
                }],
                None,
                true,
            ),
            BaseModel::Deepfm => (vec![pairs], mlp(MlpInput::Embeddings), true),
            BaseModel::Ipnn => (
                vec![OrderConfig {
                    to_logit: false,
                    ..pairs
                }],
                mlp(MlpInput::EmbeddingsAndProducts),
                false,
            ),
        };
        if mlp.as_ref().is_some_and(|m| m.hidden.is_empty()) {
            bail!(
                "`{}` needs at least one MLP layer (`mlp = [400, 400]`)",
                spec.base.name()
            );
        }
        Ok(ModelConfig {
            fields,
            d: spec.embedding_dim,
            function_wise: false,
            linear,
            orders,
            mlp,
            dim_gates: None,
            dims_batch_norm: false,
            bn_eps: 1e-5,
            alpha_init: 1.0,
            beta_init: 1.0,
            init: crate::nn::embedding::Init::Normal(base_init_std(spec)),
        })
    }

    /// Bytes the embedding tables take ([`Table::bytes`](crate::nn::embedding::Table::bytes) per
    /// table and field), the linear term's included.
    pub fn table_bytes(&self) -> u64 {
        let per_table = |width: fn(&FieldInfo) -> usize| {
            self.fields.iter().fold(0u64, |acc, f| {
                acc.saturating_add(crate::nn::embedding::Table::bytes(f.vocab, width(f)))
            })
        };
        let tables = self.table_functions().len() as u64;
        let mut bytes = per_table(|f| f.positions.len()).saturating_mul(tables);
        if self.linear {
            bytes = bytes.saturating_add(per_table(|_| 1));
        }
        bytes
    }

    /// The embedding tables' functions: one table per function when function-wise (in the order
    /// of first use), else one shared table.
    pub fn table_functions(&self) -> Vec<Option<InteractionFn>> {
        if !self.function_wise {
            return vec![None];
        }
        let mut fns: Vec<InteractionFn> = Vec::new();
        for o in &self.orders {
            for (f, _) in &o.functions {
                if !fns.contains(f) {
                    fns.push(*f);
                }
            }
        }
        if fns.is_empty() {
            return vec![None];
        }
        fns.into_iter().map(Some).collect()
    }
}
