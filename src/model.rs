//! A CTR model as a short composition of the layers in `nn/`: embedding tables (outside the
//! graph), an optional linear part, interaction blocks per order (a function and its gate per
//! candidate function), an optional MLP, and a logit `bias + Σ_k part_k` (the parts summed
//! directly, as FuxiCTR does: learned part weights were no better on validation).
//! FM, FwFM, DeepFM and IPNN are configurations of it ([`ModelConfig::base`]); the AIM stages
//! build others (gated candidates, pruned dimensions, an MLP over interaction vectors).

use crate::nn::embedding::{with_leaf_grad, Batch, Table};
use crate::nn::gate::{Gate, GateKind};
use crate::nn::interaction::{FunctionBlock, Tuples};
use crate::nn::mlp::{Group, Mlp};
use crate::nn::{Backend, Grads, Param, Tp, Update, T1, T2, T3};
use crate::optim::adam::Adam;
use crate::optim::grda::Grda;
use crate::spec::{BaseModel, InteractionFn, ModelSpec};
use anyhow::{bail, Result};
use dfdx::prelude::*;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

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
        let group = |groups: usize, width: usize, keep: Vec<Vec<usize>>| Group {
            groups,
            width,
            keep: keep.iter().any(|k| k.len() < width).then_some(keep),
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
            bn_eps: 1e-5,
            alpha_init: 1.0,
            beta_init: 1.0,
            init: crate::nn::embedding::Init::Normal(base_init_std(spec)),
        })
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
    /// (`train::fit_from`); `None` while training and when not calibrated.
    pub calibration: Option<crate::calibration::Platt>,
}

/// What a training step needs besides the model: optimizer state.
pub struct Optimizers {
    /// Adam on dense parameters.
    pub adam: Adam,
    /// Learning rate of the embedding tables' sparse Adam.
    pub lr: f32,
    /// L2 on the batch's embedding rows.
    pub l2: f32,
    /// GRDA settings per gate parameter name.
    pub grda_config: HashMap<String, crate::spec::Grda>,
    /// GRDA state per gate parameter.
    pub grda: HashMap<String, Grda>,
    /// Steps taken (the embeddings' Adam step count).
    pub step: u32,
}

impl Optimizers {
    /// Adam at `lr` for everything (and `l2` on embeddings).
    pub fn new(lr: f64, l2: f64) -> Self {
        Optimizers {
            adam: Adam::new(lr),
            lr: lr as f32,
            l2: l2 as f32,
            grda_config: HashMap::new(),
            grda: HashMap::new(),
            step: 0,
        }
    }

    /// Steps taken.
    pub fn steps(&self) -> u32 {
        self.step
    }
}

/// `acc + x`, or `x` when there is nothing yet.
fn add<T: Tape<f32, Backend> + Merge<T>>(acc: Option<T1<T>>, x: T1<T>) -> Option<T1<T>> {
    Some(match acc {
        None => x,
        Some(a) => a + x,
    })
}

/// The loss was not finite.
#[derive(Debug)]
pub struct NonFinite(pub f32);

impl Model {
    /// A model of `cfg`, initialised from `seed`.
    pub fn new(cfg: ModelConfig, seed: u64) -> Self {
        let dev: Backend = Default::default();
        // dfdx's buffer cache stays off: it keeps every freed buffer for reuse by dfdx's own
        // allocations of the same size, and the kernels' buffers (allocated outside it) then pile
        // up step after step (memory grew without bound). Freed buffers are reused through the
        // allocator instead (`crate::tune_allocator`).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let d = cfg.d;
        let fields: Vec<(usize, Vec<usize>)> = cfg
            .fields
            .iter()
            .map(|f| (f.vocab, f.positions.clone()))
            .collect();
        let table_fns = cfg.table_functions();
        let multi: Vec<bool> = cfg.fields.iter().map(|f| f.multi).collect();
        let tables = table_fns
            .iter()
            .map(|_| {
                let mut t = Table::with_init(d, &fields, cfg.init, &mut rng);
                t.set_multi(&multi);
                t
            })
            .collect();
        let linear = cfg.linear.then(|| {
            let lin: Vec<(usize, Vec<usize>)> =
                cfg.fields.iter().map(|f| (f.vocab, vec![0])).collect();
            let mut t = Table::new(1, &lin, &mut rng);
            t.set_multi(&multi);
            t
        });
        let dim_gates = match cfg.dim_gates {
            Some(update) => table_fns
                .iter()
                .map(|_| {
                    Gate::new(
                        &dev,
                        "beta",
                        GateKind::BatchNorm,
                        (cfg.fields.len(), d),
                        cfg.beta_init,
                        cfg.bn_eps,
                        update,
                    )
                })
                .collect(),
            None => vec![],
        };
        let table_of = |f: InteractionFn| table_fns.iter().position(|t| *t == Some(f)).unwrap_or(0);
        let orders: Vec<OrderBlock> = cfg
            .orders
            .iter()
            .map(|o| {
                let blocks = o
                    .functions
                    .iter()
                    .filter(|(_, tuples)| !tuples.is_empty())
                    .map(|(f, tuples)| {
                        let f = *f;
                        let tuples = Tuples::new(&dev, o.order, tuples.clone());
                        let name = format!("order{}.{}", o.order, f.name());
                        let function = FunctionBlock::new(&dev, &name, f, &tuples, d, &mut rng);
                        let init = if o.gate == GateKind::Scale {
                            1.0
                        } else {
                            cfg.alpha_init
                        };
                        let gate = Gate::new(
                            &dev,
                            &format!("{name}.alpha"),
                            o.gate,
                            (tuples.len(), 1),
                            init,
                            cfg.bn_eps,
                            o.gate_update,
                        );
                        Block {
                            table: table_of(f),
                            tuples,
                            function,
                            gate,
                        }
                    })
                    .collect();
                OrderBlock {
                    order: o.order,
                    blocks,
                    to_logit: o.to_logit,
                }
            })
            .collect();
        let mlp = cfg.mlp.as_ref().map(|m| {
            let groups = cfg.mlp_groups();
            let mut mlp = Mlp::new(
                &dev,
                "mlp",
                &groups,
                &m.hidden,
                m.batch_norm,
                cfg.bn_eps.max(1e-5),
                &mut rng,
            );
            mlp.dropout = m.dropout as f32;
            mlp
        });
        let bias = Param::new(&dev, "bias", vec![1], vec![0.0], Update::Adam);
        Model {
            cfg,
            dev,
            tables,
            linear,
            dim_gates,
            orders,
            mlp,
            bias,
            calibration: None,
        }
    }

    /// Every dense parameter.
    pub fn params(&self) -> Vec<&Param> {
        let mut out: Vec<&Param> = vec![&self.bias];
        out.extend(
            self.dim_gates
                .iter()
                .take(1)
                .filter_map(|g| g.param.as_ref()),
        );
        for o in &self.orders {
            for b in &o.blocks {
                out.extend(b.function.kernel.iter());
                out.extend(b.gate.param.iter());
            }
        }
        if let Some(m) = &self.mlp {
            out.extend(m.params());
        }
        out
    }

    /// Every dense parameter, mutable, in the order of [`Model::params`] (for tests that perturb
    /// weights).
    #[doc(hidden)]
    pub fn params_for_test(&mut self) -> Vec<&mut Param> {
        self.params_mut()
    }

    /// Every dense parameter, mutable, in the order of [`Model::params`].
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut out: Vec<&mut Param> = vec![&mut self.bias];
        // β is one parameter shared by the tables: the first gate holds it.
        out.extend(
            self.dim_gates
                .iter_mut()
                .take(1)
                .filter_map(|g| g.param.as_mut()),
        );
        for o in &mut self.orders {
            for b in &mut o.blocks {
                out.extend(b.function.kernel.iter_mut());
                out.extend(b.gate.param.iter_mut());
            }
        }
        if let Some(m) = &mut self.mlp {
            out.extend(m.params_mut());
        }
        out
    }

    /// Number of trained values: embeddings (kept positions only), linear weights and dense
    /// parameters.
    pub fn num_params(&self) -> usize {
        self.tables.iter().map(Table::num_weights).sum::<usize>()
            + self.linear.as_ref().map_or(0, Table::num_weights)
            + self.params().iter().map(|p| p.len()).sum::<usize>()
    }

    /// The logits `(batch,)` from the embedding leaves (one per table, `(n, batch·d)`) and the
    /// linear leaf `(n, batch)`.
    pub fn forward<T: Tape<f32, Backend> + Merge<T>>(
        &mut self,
        leaves: Vec<T2<T>>,
        linear: Option<T2<T>>,
        batch: usize,
        train: bool,
    ) -> T1<T> {
        self.forward_with_hosts(leaves, vec![], linear, batch, train)
    }

    /// [`Model::forward`], given the leaves' values on the host too (one per table, or none):
    /// inference hands them to the kernels in place of copying the leaf tensors out again.
    fn forward_with_hosts<T: Tape<f32, Backend> + Merge<T>>(
        &mut self,
        leaves: Vec<T2<T>>,
        hosts: Vec<std::sync::Arc<Vec<f32>>>,
        linear: Option<T2<T>>,
        batch: usize,
        train: bool,
    ) -> T1<T> {
        let (n, d) = (self.cfg.fields.len(), self.cfg.d);
        // β gates: batch-normalise each (field, position) over the batch and scale it. The first
        // gate holds the shared β; the others keep only their own statistics.
        let leaves: Vec<T2<T>> = if self.dim_gates.is_empty() {
            leaves
        } else {
            let beta = self.dim_gates[0].param.as_ref().map(|p| p.t2::<T>());
            leaves
                .into_iter()
                .zip(self.dim_gates.iter_mut())
                .map(|(e, g)| {
                    crate::nn::gate::gated_batch_norm(
                        e.reshape_like(&(n, batch, d)),
                        beta.as_ref().map(|b| b.retaped::<T>()),
                        g.running.as_mut().expect("β is batch-normed"),
                        train,
                    )
                    .reshape_like(&(n, batch * d))
                })
                .collect()
        };
        // The host copies of the leaves hold their values only while no β gate changed them.
        let hosts = if self.dim_gates.is_empty() {
            hosts
        } else {
            vec![]
        };
        // Every use below takes a tape-less copy of a leaf; the leaves' own tapes (the β gates'
        // ops, the traced gradients) are merged into the logit's at the end.
        let mut spare: Vec<T> = Vec::new();
        let leaves: Vec<T2<T>> = leaves
            .into_iter()
            .map(|e| {
                let (e, tape) = e.split_tape();
                spare.push(tape);
                e.retaped::<T>()
            })
            .collect();
        let mut parts: Vec<T1<T>> = Vec::new();
        if let Some(l) = linear {
            parts.push(l.sum::<(usize,), Axis<0>>());
        }
        let mut mlp_inputs: Vec<T3<T>> = Vec::new();
        if let Some(m) = &self.cfg.mlp {
            if m.input != MlpInput::InteractionVectors {
                mlp_inputs.push(leaves[0].retaped::<T>().reshape_like(&(n, batch, d)));
            }
        }
        let vectors = self.cfg.mlp.as_ref().map(|m| m.input);
        // Values that do not reach the logit directly put their tapes in `spare` too, so that the
        // ops on them (which the MLP's tape-less copies depend on) still run backward.
        for o in &mut self.orders {
            let mut sum: Option<T1<T>> = None;
            for b in &mut o.blocks {
                let p = b.tuples.len();
                // Inference of a block whose values only feed its gated sum: one fused pass over
                // the host copy of the leaf, without the (P, batch) values.
                #[cfg(not(feature = "cuda"))]
                if let (false, false, true, Some(h), Some((coef, offset))) = (
                    T::OWNS_TAPE,
                    train,
                    o.to_logit
                        && !matches!(
                            vectors,
                            Some(MlpInput::EmbeddingsAndProducts | MlpInput::InteractionVectors)
                        ),
                    hosts.get(b.table),
                    b.gate.inference_sum_coefficients(),
                ) {
                    let kv = b.function.kernel.as_ref().map(Param::values);
                    let y = crate::nn::kernels::interact_gated_sum(
                        h,
                        &b.tuples.flat,
                        b.function.function,
                        &kv.unwrap_or_default(),
                        &coef,
                        offset,
                        batch,
                        d,
                    );
                    let y: T1 = self.dev.tensor_from_vec(y, (batch,));
                    sum = add(sum, y.retaped::<T>());
                    continue;
                }
                let (out, prod) = b.function.forward(
                    &b.tuples,
                    &leaves[b.table],
                    batch,
                    d,
                    vectors == Some(MlpInput::InteractionVectors),
                    hosts.get(b.table).cloned(),
                );
                match vectors {
                    Some(MlpInput::EmbeddingsAndProducts) => {
                        mlp_inputs.push(out.retaped::<T>().reshape_like(&(p, batch, 1)))
                    }
                    Some(MlpInput::InteractionVectors) => mlp_inputs.push(match prod {
                        Some(v) => v,
                        None => out.retaped::<T>().reshape_like(&(p, batch, 1)),
                    }),
                    _ => {}
                }
                if o.to_logit {
                    let s = b.gate.forward_sum(out.reshape_like(&(p, batch, 1)), train);
                    sum = add(sum, s);
                } else {
                    spare.push(out.split_tape().1);
                }
            }
            if let Some(s) = sum {
                parts.push(s);
            }
        }
        if let Some(m) = &mut self.mlp {
            // The embeddings group (DeepFM, IPNN) is the first table's leaf.
            let embeddings =
                self.cfg.mlp.as_ref().map(|c| c.input) != Some(MlpInput::InteractionVectors);
            let mlp_hosts = match hosts.first() {
                Some(h) if embeddings => vec![Some(h.clone())],
                _ => vec![],
            };
            parts.push(m.forward_with_hosts(mlp_inputs, mlp_hosts, batch, train));
        }
        let mut logit = self
            .bias
            .t1::<T>()
            .reshape_like(&())
            .broadcast_like::<_, Axis<0>>(&(batch,));
        for part in parts {
            logit = logit + part;
        }
        let (logit, mut tape) = logit.split_tape();
        for t in spare {
            tape = tape.merge(t);
        }
        logit.put_tape(tape)
    }

    fn leaves(&mut self, batch: &Batch) -> (Vec<T2>, Option<T2>) {
        let leaves = self
            .tables
            .iter()
            .map(|t| t.leaf(&self.dev, batch))
            .collect();
        let lin = self.linear.as_ref().map(|t| t.leaf(&self.dev, batch));
        (leaves, lin)
    }

    /// One training step on a batch (`ids` row-major `(batch, fields)`, labels 0/1); returns the
    /// mean loss.
    pub fn train_step(
        &mut self,
        ids: &Batch,
        labels: &[f32],
        opt: &mut Optimizers,
    ) -> Result<f32, NonFinite> {
        let batch = labels.len();
        assert_eq!(batch, ids.rows(), "one label per row");
        let (leaves, lin) = self.leaves(ids);
        let grads: Grads = Gradients::leaky();
        let mut traced: Vec<T2<Tp>> = Vec::with_capacity(leaves.len());
        let mut grads = Some(grads);
        for l in &leaves {
            traced.push(match grads.take() {
                Some(g) => l.clone().trace(g),
                None => l.retaped::<Tp>(),
            });
        }
        let lin_t = lin.as_ref().map(|l| l.retaped::<Tp>());
        let logits = self.forward::<Tp>(traced, lin_t, batch, true);
        let y: T1 = self.dev.tensor_from_vec(labels.to_vec(), (batch,));
        let loss = binary_cross_entropy_with_logits_loss(logits, y);
        let value = loss.array();
        if !value.is_finite() {
            return Err(NonFinite(value));
        }
        let mut grads = loss.backward();
        self.apply(&mut grads, &leaves, lin.as_ref(), ids, opt);
        Ok(value)
    }

    /// Applies the gradients of a step: sparse Adam on the touched embedding rows, Adam or GRDA
    /// on the dense parameters.
    pub fn apply(
        &mut self,
        grads: &mut Grads,
        leaves: &[T2],
        lin: Option<&T2>,
        batch: &Batch,
        opt: &mut Optimizers,
    ) {
        opt.step += 1;
        for (table, leaf) in self.tables.iter_mut().zip(leaves) {
            with_leaf_grad(grads, leaf, |g| {
                table.adam(opt.step, opt.lr, opt.l2, batch, g)
            });
        }
        if let (Some(table), Some(leaf)) = (self.linear.as_mut(), lin) {
            with_leaf_grad(grads, leaf, |g| table.adam(opt.step, opt.lr, 0.0, batch, g));
        }
        let mut params = self.params_mut();
        for p in params.iter_mut().filter(|p| p.update == Update::Grda) {
            let cfg = *opt
                .grda_config
                .get(&p.name)
                .unwrap_or_else(|| panic!("no GRDA settings for {}", p.name));
            // The gates' values are read only when GRDA starts (its accumulator begins there), not
            // on every step.
            let state = opt
                .grda
                .entry(p.name.clone())
                .or_insert_with(|| Grda::new(cfg, &p.values()));
            let g = grads.get(&p.t).as_vec();
            let new = state.step(&g);
            p.set(&new);
        }
        opt.adam.step(params, grads);
    }

    /// Click probabilities of a batch, in evaluation mode (running batch-norm statistics).
    pub fn predict(&mut self, batch: &Batch) -> Vec<f32> {
        let logit = self.logit(batch);
        match self.calibration {
            None => logit.sigmoid().as_vec(),
            Some(p) => logit
                .as_vec()
                .into_iter()
                .map(|z| p.probability(z))
                .collect(),
        }
    }

    /// The uncalibrated logit of each sample of a batch (evaluation mode).
    pub fn predict_logits(&mut self, batch: &Batch) -> Vec<f32> {
        self.logit(batch).as_vec()
    }

    fn logit(&mut self, batch: &Batch) -> T1 {
        let (leaves, hosts): (Vec<T2>, Vec<_>) = self
            .tables
            .iter()
            .map(|t| t.leaf_and_host(&self.dev, batch))
            .unzip();
        let lin = self.linear.as_ref().map(|t| t.leaf(&self.dev, batch));
        self.forward_with_hosts::<NoneTape>(leaves, hosts, lin, batch.rows(), false)
    }

    /// Starts an epoch: reseeds the dropout stream from (`seed`, `epoch`), so that a run resumed
    /// at an epoch boundary continues exactly as the uninterrupted run would.
    pub fn start_epoch(&mut self, seed: u64, epoch: usize) {
        if let Some(m) = &mut self.mlp {
            m.reseed(seed ^ (epoch as u64).wrapping_mul(0xa076_1d64_78bd_642f));
        }
    }

    /// Every learned value, for restoring the best epoch: dense parameters, tables, statistics.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            params: self.params().iter().map(|p| p.values()).collect(),
            tables: self
                .tables
                .iter()
                .chain(self.linear.iter())
                .map(Table::weights)
                .collect(),
            running: self
                .running()
                .into_iter()
                .map(|r| (r.mean.clone(), r.var.clone()))
                .collect(),
        }
    }

    /// Restores a snapshot taken of this model.
    pub fn restore(&mut self, s: &Snapshot) {
        for (p, v) in self.params_mut().into_iter().zip(&s.params) {
            p.set(v);
        }
        for (t, w) in self
            .tables
            .iter_mut()
            .chain(self.linear.iter_mut())
            .zip(&s.tables)
        {
            t.set_weights(w);
        }
        for (r, (m, v)) in self.running_mut().into_iter().zip(&s.running) {
            r.mean.clone_from(m);
            r.var.clone_from(v);
        }
    }

    /// Every batch norm's running statistics, in a fixed order.
    pub fn running(&self) -> Vec<&crate::nn::gate::Running> {
        let mut out: Vec<&crate::nn::gate::Running> = self
            .dim_gates
            .iter()
            .filter_map(|g| g.running.as_ref())
            .collect();
        for o in &self.orders {
            out.extend(o.blocks.iter().filter_map(|b| b.gate.running.as_ref()));
        }
        if let Some(n) = self.mlp.as_ref().and_then(|m| m.norms.as_ref()) {
            out.extend(n.iter());
        }
        out
    }

    /// A name for each of [`Model::running`]'s statistics, in its order: `beta.table{t}` for
    /// the dimension gates, the gate's parameter name (`order2.inner.alpha`) for an
    /// interaction block's, `mlp.bn{i}` for the MLP's hidden layers.
    pub fn running_names(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .dim_gates
            .iter()
            .enumerate()
            .filter(|(_, g)| g.running.is_some())
            .map(|(t, _)| format!("beta.table{t}"))
            .collect();
        for o in &self.orders {
            for b in &o.blocks {
                if b.gate.running.is_some() {
                    out.push(format!(
                        "order{}.{}.alpha",
                        o.order,
                        b.function.function.name()
                    ));
                }
            }
        }
        if let Some(n) = self.mlp.as_ref().and_then(|m| m.norms.as_ref()) {
            out.extend((0..n.len()).map(|i| format!("mlp.bn{i}")));
        }
        out
    }

    /// Every batch norm's running statistics, mutable, in the order of [`Model::running`].
    pub fn running_mut(&mut self) -> Vec<&mut crate::nn::gate::Running> {
        let mut out: Vec<&mut crate::nn::gate::Running> = self
            .dim_gates
            .iter_mut()
            .filter_map(|g| g.running.as_mut())
            .collect();
        for o in &mut self.orders {
            out.extend(o.blocks.iter_mut().filter_map(|b| b.gate.running.as_mut()));
        }
        if let Some(n) = self.mlp.as_mut().and_then(|m| m.norms.as_mut()) {
            out.extend(n.iter_mut());
        }
        out
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// `predict` (which hands the kernels the gathered leaves' host copies) gives what the plain
    /// tape-less forward gives, for a model whose MLP reads the embeddings and one whose MLP reads
    /// interaction vectors, after a few training steps (so that nothing is at its initial value).
    #[test]
    fn predict_matches_the_plain_forward() {
        for input in [MlpInput::Embeddings, MlpInput::InteractionVectors] {
            let fields: Vec<FieldInfo> = (0..5)
                .map(|i| FieldInfo {
                    name: format!("f{i}"),
                    vocab: 7,
                    positions: (0..4).collect(),
                    multi: false,
                })
                .collect();
            let cfg = ModelConfig {
                fields,
                d: 4,
                function_wise: true,
                linear: true,
                orders: vec![OrderConfig {
                    order: 2,
                    functions: vec![
                        (InteractionFn::Inner, all_pairs(5)),
                        (InteractionFn::VectorKernel, all_pairs(5)),
                        (InteractionFn::ScalarKernel, all_pairs(5)),
                        (InteractionFn::Outer, all_pairs(5)),
                    ],
                    gate: GateKind::BatchNorm,
                    gate_update: Update::Adam,
                    to_logit: true,
                }],
                mlp: Some(MlpConfig {
                    hidden: vec![8],
                    input,
                    batch_norm: true,
                    dropout: 0.0,
                }),
                dim_gates: None,
                bn_eps: 1e-5,
                alpha_init: 1.0,
                beta_init: 1.0,
                init: Default::default(),
            };
            let mut m = Model::new(cfg, 1);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
            let rows = 40;
            let batch =
                Batch::from_matrix((0..rows * 5).map(|_| rng.gen_range(0..7)).collect(), rows);
            let y: Vec<f32> = (0..rows).map(|i| (i % 3 == 0) as u8 as f32).collect();
            let mut opt = Optimizers::new(1e-2, 0.0);
            for _ in 0..3 {
                m.train_step(&batch, &y, &mut opt).unwrap();
            }
            let fast = m.predict(&batch);
            let (leaves, lin) = m.leaves(&batch);
            let plain = m
                .forward::<NoneTape>(leaves, lin, rows, false)
                .sigmoid()
                .as_vec();
            // The fused inference of gated sums adds in another order: equal to rounding.
            for (a, b) in fast.iter().zip(&plain) {
                assert!((a - b).abs() < 1e-5, "{input:?}: {a} vs {b}");
            }
        }
    }
}
