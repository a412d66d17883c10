//! The engine: interaction functions against hand computations, gradients against finite
//! differences, sparse Adam against dense Adam, training against the Bayes ceiling, determinism,
//! and the model's shape against the closed form.

use aim::data::progress::Progress;
use aim::model::*;
use aim::nn::embedding::Batch;
use aim::nn::gate::GateKind;
use aim::nn::{Backend, Update, T1, T2};
use aim::spec::{BaseModel, InteractionFn, ModelSpec};
use dfdx::prelude::*;
use rand::{Rng, SeedableRng};

const FNS: [InteractionFn; 4] = InteractionFn::ALL;

fn fields(n: usize, vocab: usize, d: usize) -> Vec<FieldInfo> {
    (0..n)
        .map(|i| FieldInfo {
            name: format!("f{i}"),
            vocab,
            positions: (0..d).collect(),
            multi: false,
        })
        .collect()
}

fn config(n: usize, vocab: usize, d: usize, orders: Vec<OrderConfig>) -> ModelConfig {
    ModelConfig {
        fields: fields(n, vocab, d),
        d,
        function_wise: false,
        linear: false,
        orders,
        mlp: None,
        dim_gates: None,
        dims_batch_norm: false,
        bn_eps: 1e-5,
        alpha_init: 0.6,
        beta_init: 0.6,
        init: Default::default(),
    }
}

fn order(
    p: usize,
    tuples: Vec<Vec<usize>>,
    functions: Vec<InteractionFn>,
    gate: GateKind,
) -> OrderConfig {
    let functions = functions.into_iter().map(|f| (f, tuples.clone())).collect();
    OrderConfig {
        order: p,
        functions,
        gate,
        gate_update: Update::Adam,
        to_logit: true,
    }
}

/// Sets every embedding row of table 0 to a known vector: e[f][id][k] from `value`.
fn set_embeddings(m: &mut Model, value: impl Fn(usize, usize, usize) -> f32) {
    let t = &mut m.tables[0];
    let mut w = Vec::new();
    for (f, slot) in t.fields.iter().enumerate() {
        for id in 0..slot.vocab {
            for k in 0..slot.positions.len() {
                w.push(value(f, id, k));
            }
        }
    }
    t.set_weights(&w);
}

fn logits(m: &mut Model, ids: &[u32], batch: usize) -> Vec<f32> {
    let probs = m.predict(&Batch::from_matrix(ids.to_vec(), batch));
    probs.iter().map(|p| (p / (1.0 - p)).ln()).collect()
}

// ---------------------------------------------------------------------------------------------
// Interaction functions against hand computations.

#[test]
fn order_two_functions_by_hand() {
    // e0 = [1, 2, 3], e1 = [4, 5, 6] (id 0 of fields 0 and 1).
    let e = |f: usize, _id: usize, k: usize| (f * 3 + k + 1) as f32 / 10.0;
    // At /10 scale: e0 = [.1,.2,.3], e1 = [.4,.5,.6]; Σ e0·e1 = .04+.10+.18 = 0.32.
    let cases: [(InteractionFn, f32); 4] = [
        (InteractionFn::Inner, 0.32),
        // φ = [1, -1, 2]: .04 − .10 + .36 = 0.30
        (InteractionFn::VectorKernel, 0.30),
        // s = -2: −0.64
        (InteractionFn::ScalarKernel, -0.64),
        // w0 = [1, 0, 1], w1 = [0, 2, 0]: (.1 + .3) · (1.0) = 0.40
        (InteractionFn::Outer, 0.40),
    ];
    for (f, want) in cases {
        let mut m = Model::new(
            config(
                2,
                1,
                3,
                vec![order(2, vec![vec![0, 1]], vec![f], GateKind::None)],
            ),
            1,
        );
        set_embeddings(&mut m, e);
        if let Some(k) = m.orders[0].blocks[0].function.kernel.as_mut() {
            match f {
                InteractionFn::VectorKernel => k.set(&[1.0, -1.0, 2.0]),
                InteractionFn::ScalarKernel => k.set(&[-2.0]),
                InteractionFn::Outer => k.set(&[1.0, 0.0, 1.0, 0.0, 2.0, 0.0]),
                InteractionFn::Inner => unreachable!(),
            }
        }
        let got = logits(&mut m, &[0, 0, 0, 0], 2);
        for g in got {
            assert!((g - want).abs() < 1e-5, "{f}: {g} vs {want}");
        }
    }
}

#[test]
fn higher_orders_by_hand() {
    let (n, vocab, d) = (5, 3, 4);
    let e = |f: usize, id: usize, k: usize| {
        0.3 + 0.1 * f as f32 - 0.07 * id as f32
            + 0.05 * k as f32 * if f % 2 == 0 { 1.0 } else { -1.0 }
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for p in 2..=4 {
        let tuples = vec![(0..p).collect::<Vec<_>>(), (1..=p).collect::<Vec<_>>()];
        for f in FNS {
            let mut m = Model::new(
                config(
                    n,
                    vocab,
                    d,
                    vec![order(p, tuples.clone(), vec![f], GateKind::None)],
                ),
                2,
            );
            set_embeddings(&mut m, e);
            let kernel: Vec<f32> = match f {
                InteractionFn::Inner => vec![],
                InteractionFn::VectorKernel => {
                    (0..2 * d).map(|_| rng.gen_range(-1.0..1.0)).collect()
                }
                InteractionFn::ScalarKernel => vec![1.5, -0.5],
                InteractionFn::Outer => (0..p * d).map(|_| rng.gen_range(-1.0..1.0)).collect(),
            };
            if let Some(k) = m.orders[0].blocks[0].function.kernel.as_mut() {
                k.set(&kernel);
            }
            let ids: Vec<u32> = vec![0, 1, 2, 0, 1, 2, 2, 1, 0, 2];
            let got = logits(&mut m, &ids, 2);
            for b in 0..2 {
                let emb = |field: usize, k: usize| e(field, ids[b * n + field] as usize, k);
                let mut want = 0.0f32;
                for (t, tuple) in tuples.iter().enumerate() {
                    want += match f {
                        InteractionFn::Outer => tuple
                            .iter()
                            .enumerate()
                            .map(|(q, &fld)| {
                                (0..d).map(|k| kernel[q * d + k] * emb(fld, k)).sum::<f32>()
                            })
                            .product(),
                        _ => {
                            let s: Vec<f32> = (0..d)
                                .map(|k| tuple.iter().map(|&fld| emb(fld, k)).product())
                                .collect();
                            match f {
                                InteractionFn::Inner => s.iter().sum(),
                                InteractionFn::VectorKernel => s
                                    .iter()
                                    .zip(&kernel[t * d..(t + 1) * d])
                                    .map(|(a, b)| a * b)
                                    .sum(),
                                _ => kernel[t] * s.iter().sum::<f32>(),
                            }
                        }
                    };
                }
                assert!(
                    (got[b] - want).abs() < 1e-5,
                    "order {p} {f} row {b}: {} vs {want}",
                    got[b]
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Gradients against central finite differences.

/// The loss (train mode: batch statistics) for given leaf values.
fn loss_at(
    m: &mut Model,
    leaves: &[Vec<f32>],
    lin: &Option<Vec<f32>>,
    batch: usize,
    labels: &[f32],
) -> f64 {
    let (n, d) = (m.cfg.fields.len(), m.cfg.d);
    let dev = m.dev.clone();
    let l: Vec<T2> = leaves
        .iter()
        .map(|v| dev.tensor_from_vec(v.clone(), (n, batch * d)))
        .collect();
    let lin: Option<T2> = lin
        .as_ref()
        .map(|v| dev.tensor_from_vec(v.clone(), (n, batch)));
    let logits = m.forward::<NoneTape>(l, lin, batch, true);
    let y: T1 = dev.tensor_from_vec(labels.to_vec(), (batch,));
    binary_cross_entropy_with_logits_loss(logits, y).array() as f64
}

#[track_caller]
fn close(what: &str, analytic: f32, numeric: f64) {
    let tol = 2e-3 + 0.05 * numeric.abs();
    assert!(
        (analytic as f64 - numeric).abs() <= tol,
        "{what}: autodiff {analytic:.6e}, finite difference {numeric:.6e}"
    );
}

/// Checks d loss / d (leaves, linear leaf, every dense parameter) at random coordinates.
fn gradcheck(mut m: Model, batch: usize, seed: u64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // Kernels and gates at O(1) values: at their tiny initial values (φ ~ N(0, 0.001)) the loss is
    // scale-invariant in them through batch norm, and a finite difference of any usable step is
    // far outside its linear range. The formulas are what is checked here, not the init.
    for p in m.params_for_test() {
        let n = p.len();
        let v: Vec<f32> = (0..n)
            .map(|_| rng.gen_range(0.3..1.0) * if rng.gen::<bool>() { 1.0 } else { -1.0 })
            .collect();
        p.set(&v);
    }
    let n = m.cfg.fields.len();
    let vocab = m.cfg.fields[0].vocab as u32;
    let ids: Vec<u32> = (0..batch * n).map(|_| rng.gen_range(0..vocab)).collect();
    let labels: Vec<f32> = (0..batch).map(|i| (i % 2) as f32).collect();
    let dev = m.dev.clone();
    let mut buf = Vec::new();
    let leaves: Vec<Vec<f32>> = m
        .tables
        .iter()
        .map(|t| {
            t.gather(&Batch::from_matrix(ids.clone(), batch), &mut buf);
            buf.clone()
        })
        .collect();
    let lin: Option<Vec<f32>> = m.linear.as_ref().map(|t| {
        t.gather(&Batch::from_matrix(ids.clone(), batch), &mut buf);
        buf.clone()
    });
    let (d, nf) = (m.cfg.d, n);
    // autodiff
    let leaf_t: Vec<T2> = leaves
        .iter()
        .map(|v| dev.tensor_from_vec(v.clone(), (nf, batch * d)))
        .collect();
    let lin_t: Option<T2> = lin
        .as_ref()
        .map(|v| dev.tensor_from_vec(v.clone(), (nf, batch)));
    let mut traced = Vec::new();
    for (i, l) in leaf_t.iter().enumerate() {
        traced.push(if i == 0 {
            l.clone().trace(Gradients::<f32, Backend>::leaky())
        } else {
            l.retaped::<aim::nn::Tp>()
        });
    }
    let logits = m.forward::<aim::nn::Tp>(
        traced,
        lin_t.as_ref().map(|l| l.retaped::<aim::nn::Tp>()),
        batch,
        true,
    );
    let y: T1 = dev.tensor_from_vec(labels.clone(), (batch,));
    let grads = binary_cross_entropy_with_logits_loss(logits, y).backward();
    let eps = 1e-3f32;
    // leaves
    for (t, leaf) in leaf_t.iter().enumerate() {
        let g = grads.get(leaf).as_vec();
        for _ in 0..12 {
            let k = rng.gen_range(0..g.len());
            let mut plus = leaves.clone();
            plus[t][k] += eps;
            let mut minus = leaves.clone();
            minus[t][k] -= eps;
            let fd = (loss_at(&mut m, &plus, &lin, batch, &labels)
                - loss_at(&mut m, &minus, &lin, batch, &labels))
                / (2.0 * eps as f64);
            close(&format!("embedding leaf {t}[{k}]"), g[k], fd);
        }
    }
    if let (Some(lt), Some(lv)) = (&lin_t, &lin) {
        let g = grads.get(lt).as_vec();
        for k in 0..g.len().min(6) {
            let mut plus = lv.clone();
            plus[k] += eps;
            let mut minus = lv.clone();
            minus[k] -= eps;
            let fd = (loss_at(&mut m, &leaves, &Some(plus), batch, &labels)
                - loss_at(&mut m, &leaves, &Some(minus), batch, &labels))
                / (2.0 * eps as f64);
            close(&format!("linear leaf[{k}]"), g[k], fd);
        }
    }
    // every dense parameter
    let names: Vec<(String, Vec<f32>)> = m
        .params()
        .iter()
        .map(|p| {
            let g =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| grads.get(&p.t).as_vec()));
            (
                p.name.clone(),
                g.unwrap_or_else(|_| panic!("{} has no gradient: it is not in the graph", p.name)),
            )
        })
        .collect();
    for (pi, (name, g)) in names.iter().enumerate() {
        for _ in 0..4 {
            let k = rng.gen_range(0..g.len());
            let shift = |m: &mut Model, delta: f32| {
                let mut ps = m.params_for_test();
                let p = &mut ps[pi];
                let mut v = p.values();
                v[k] += delta;
                p.set(&v);
            };
            shift(&mut m, eps);
            let up = loss_at(&mut m, &leaves, &lin, batch, &labels);
            shift(&mut m, -2.0 * eps);
            let down = loss_at(&mut m, &leaves, &lin, batch, &labels);
            shift(&mut m, eps);
            close(
                &format!("{name}[{k}]"),
                g[k],
                (up - down) / (2.0 * eps as f64),
            );
        }
    }
}

#[test]
fn gradients_of_gated_multi_order_model() {
    // Orders 2 and 3, all four functions, batch-normed α, β (batch-normed or not), function-wise
    // embeddings, linear part, and an MLP over the interaction vectors with batch norm.
    let n = 4;
    let mut cfg = config(
        n,
        5,
        3,
        vec![
            order(2, all_pairs(n), FNS.to_vec(), GateKind::BatchNorm),
            order(
                3,
                vec![vec![0, 1, 2], vec![1, 2, 3]],
                FNS.to_vec(),
                GateKind::BatchNorm,
            ),
        ],
    );
    cfg.function_wise = true;
    cfg.linear = true;
    cfg.dim_gates = Some(Update::Adam);
    cfg.mlp = Some(MlpConfig {
        hidden: vec![6, 5],
        input: MlpInput::InteractionVectors,
        batch_norm: true,
        dropout: 0.0,
    });
    // Embeddings at the xavier scale (~0.3 here): at normal(0, 0.03) the central difference's
    // step of 1e-3 is 3% of a value, and the doubly batch-normed products curve too much over
    // it for a finite difference to be a reference.
    cfg.init = aim::nn::embedding::Init::Xavier;
    // β batch-normed per (field, position) first, then β scaling the embeddings as they are
    // (the dimension search's default).
    // Unnormalised, point 1 puts an MLP unit within the step of its ReLU kink (mlp.b1: 1.4e-2
    // against a difference quotient of 1.9e-2), where a finite difference is no reference;
    // points 2–4 are smooth.
    for (norm, points) in [(true, &[1u64][..]), (false, &[2, 3, 4][..])] {
        cfg.dims_batch_norm = norm;
        for &point in points {
            let m = Model::new(cfg.clone(), 11);
            assert_eq!(m.dim_gates[0].running.is_some(), norm);
            gradcheck(m, 24, point);
        }
    }
}

#[test]
fn gradients_of_base_models() {
    for base in BaseModel::ALL {
        let spec = ModelSpec {
            base,
            embedding_dim: 3,
            mlp: vec![7, 4],
            batch_size: 8,
            optimizer: Default::default(),
            epochs: 1,
            patience: 1,
            dropout: 0.0,
            batch_norm: base == BaseModel::Ipnn,
            init_std: None,
            calibrate: false,
        };
        let cfg = ModelConfig::base(&spec, fields(4, 6, 3)).unwrap();
        gradcheck(Model::new(cfg, 5), 24, 2);
    }
}

// ---------------------------------------------------------------------------------------------
// Sparse lazy Adam against dense Adam.

#[test]
fn sparse_adam_matches_dense_adam_on_rows_touched_every_step() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let (vocab, d, batch) = (3usize, 4usize, 5usize);
    let mut table = aim::nn::embedding::Table::new(d, &[(vocab, (0..d).collect())], &mut rng);
    let dev: Backend = Default::default();
    let mut dense = aim::nn::Param::new(&dev, "w", vec![vocab, d], table.weights(), Update::Adam);
    let mut adam = aim::optim::adam::Adam::new(0.01);
    for step in 1..=6u32 {
        // every row appears, row 0 twice: its gradient is the sum of both
        let ids: Vec<u32> = vec![0, 1, 2, 0, 2];
        let g: Vec<f32> = (0..batch * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        table.adam(step, 0.01, 0.0, &Batch::from_matrix(ids.clone(), batch), &g);
        let mut summed = vec![0.0f32; vocab * d];
        for (b, &id) in ids.iter().enumerate() {
            for k in 0..d {
                summed[id as usize * d + k] += g[b * d + k];
            }
        }
        // dense Adam through dfdx's kernel, with the gradient of Σ w·g
        let gt: T1 = dev.tensor_from_vec(summed, (vocab * d,));
        let loss = (dense.t.clone().trace(Gradients::leaky()) * gt).sum::<(), Axis<0>>();
        let mut grads = loss.backward();
        adam.step([&mut dense], &mut grads);
        let (a, b) = (table.weights(), dense.values());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-6, "step {step}: sparse {x} vs dense {y}");
        }
    }
}

#[test]
fn sparse_adam_leaves_untouched_rows_alone() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut table = aim::nn::embedding::Table::new(2, &[(4, vec![0, 1])], &mut rng);
    let before = table.weights();
    table.adam(
        1,
        0.1,
        0.0,
        &Batch::from_matrix(vec![1, 1], 2),
        &[0.5, -0.5, 0.25, 0.25],
    );
    let after = table.weights();
    assert_eq!(&before[0..2], &after[0..2]);
    assert_eq!(&before[4..8], &after[4..8]);
    assert_ne!(&before[2..4], &after[2..4]);
}

/// Two fields of 2 and 3 rows: an id of 2 in the first is past its vocabulary, and before the
/// per-field regions it read (gather) or wrote (Adam) the second field's row 0.
fn two_field_table() -> aim::nn::embedding::Table {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    aim::nn::embedding::Table::new(2, &[(2, vec![0, 1]), (3, vec![0, 1])], &mut rng)
}

#[test]
#[should_panic(expected = "field 0: id 2 in a batch, but the field has 2 ids")]
fn gather_refuses_an_id_past_its_field() {
    two_field_table().gather(&Batch::from_matrix(vec![2, 0], 1), &mut Vec::new());
}

#[test]
#[should_panic(expected = "field 0: id 2 in a batch, but the field has 2 ids")]
fn sparse_adam_refuses_an_id_past_its_field() {
    two_field_table().adam(1, 0.1, 0.0, &Batch::from_matrix(vec![2, 0], 1), &[1.0; 4]);
}

#[test]
fn batches_are_checked_when_built() {
    assert!(Batch::new(2, 1, vec![0, 1], vec![(vec![0, 1, 2], vec![4, 5])]).is_ok());
    let bad = [
        Batch::new(2, 2, vec![0, 1, 2], vec![]),
        Batch::new(2, 1, vec![0, 1], vec![(vec![0, 2], vec![4, 5])]),
        Batch::new(2, 1, vec![0, 1], vec![(vec![1, 1, 2], vec![4, 5])]),
        Batch::new(2, 1, vec![0, 1], vec![(vec![0, 2, 1], vec![4, 5])]),
        Batch::new(2, 1, vec![0, 1], vec![(vec![0, 1, 3], vec![4, 5])]),
    ];
    for (k, b) in bad.iter().enumerate() {
        assert!(b.is_err(), "case {k} was accepted");
    }
}

// ---------------------------------------------------------------------------------------------
// Training.

fn synthetic_dataset(dir: &std::path::Path, planted: &str, rows: usize) -> aim::data::Dataset {
    let text = format!(
        "experiment \"t\" {{\n  seed = 5\n  data {{\n    format = synthetic\n    rows = {rows}\n    fields = 6\n    vocab = 20\n    rank = 4\n    planted = [{planted}]\n  }}\n}}\n"
    );
    let l = aim::spec::load_source(aim::spec::Source::new(dir.join("t.aim"), text));
    aim::data::prepare(&l.spec.unwrap(), false, &Progress::hidden())
        .unwrap()
        .0
}

fn train_base(
    ds: &aim::data::Dataset,
    base: BaseModel,
    lr: f64,
    epochs: usize,
) -> aim::train::TrainReport {
    train_base_calibrated(ds, base, lr, epochs, false)
}

fn train_base_calibrated(
    ds: &aim::data::Dataset,
    base: BaseModel,
    lr: f64,
    epochs: usize,
    calibrate: bool,
) -> aim::train::TrainReport {
    let spec = ModelSpec {
        base,
        embedding_dim: 8,
        mlp: vec![64, 32],
        batch_size: 1000,
        optimizer: aim::spec::Adam { lr, l2: 0.0 },
        epochs,
        patience: 2,
        dropout: 0.0,
        batch_norm: false,
        init_std: None,
        calibrate: false,
    };
    let cfg = ModelConfig::base(&spec, aim::train::fields(ds, 8).unwrap()).unwrap();
    let mut m = Model::new(cfg, 3);
    let mut opt = Optimizers::new(lr, 0.0);
    let o = aim::train::TrainOptions {
        epochs,
        patience: 2,
        batch_size: 1000,
        seed: 3,
        eval_batch: 8192,
        restore_best: true,
        calibrate,
    };
    aim::train::fit(&mut m, ds, &mut opt, &o, |_| {}).unwrap()
}

/// Calibration is fitted after training: the same weights, so the same AUC (up to ties), and a
/// validation log loss no worse than the uncalibrated one (the fit starts from the identity).
#[test]
fn calibration_keeps_the_ranking_and_lowers_the_log_loss() {
    let dir = tempfile::tempdir().unwrap();
    let ds = synthetic_dataset(dir.path(), "inner(f0, f1, strength = 1.5)", 30_000);
    let raw = train_base_calibrated(&ds, BaseModel::Deepfm, 0.02, 6, false);
    let cal = train_base_calibrated(&ds, BaseModel::Deepfm, 0.02, 6, true);
    let p = cal.calibration.expect("a fit");
    eprintln!(
        "{p:?}: valid logloss {} -> {}, test {} -> {}",
        raw.valid_logloss, cal.valid_logloss, raw.test_logloss, cal.test_logloss
    );
    assert_eq!(raw.best_epoch, cal.best_epoch);
    assert!(
        (raw.valid_auc - cal.valid_auc).abs() < 1e-4,
        "{} vs {}",
        raw.valid_auc,
        cal.valid_auc
    );
    assert!(
        (raw.test_auc - cal.test_auc).abs() < 1e-4,
        "{} vs {}",
        raw.test_auc,
        cal.test_auc
    );
    assert!(cal.valid_logloss <= raw.valid_logloss + 1e-6);
    assert_eq!(cal.test_logloss_uncalibrated, raw.test_logloss);
    assert_eq!(raw.test_logloss_uncalibrated, raw.test_logloss);
    assert!(raw.calibration.is_none());
}

#[test]
fn fm_and_deepfm_approach_the_bayes_auc_on_planted_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let ds = synthetic_dataset(
        dir.path(),
        "inner(f0, f1, strength = 1.5), inner(f2, f3, strength = 1.5)",
        200_000,
    );
    let bayes = ds.meta.bayes.as_ref().unwrap()[2].auc;
    for base in [BaseModel::Fm, BaseModel::Deepfm] {
        let r = train_base(&ds, base, 0.005, 10);
        let aucs: Vec<String> = r
            .epochs
            .iter()
            .map(|e| format!("{:.4}", e.valid_auc))
            .collect();
        eprintln!(
            "{}: test AUC {:.4}, Bayes {bayes:.4}; valid AUC by epoch {}",
            base.name(),
            r.test_auc,
            aucs.join(" ")
        );
        // DeepFM's MLP adds variance on 200k rows: float-rounding changes alone (fused kernels
        // against dfdx's generic ops) moved its early-stopped test AUC between 0.8519 and 0.8537,
        // with the same validation curve to 3 decimals.
        let slack = if base == BaseModel::Fm { 0.01 } else { 0.015 };
        assert!(
            r.test_auc > bayes - slack,
            "{}: test AUC {:.4}, Bayes {bayes:.4}",
            base.name(),
            r.test_auc
        );
        assert!(
            r.test_auc <= bayes + 0.005,
            "nothing beats the true probabilities by much: {:.4} vs {bayes:.4}",
            r.test_auc
        );
    }
}

#[test]
fn training_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let ds = synthetic_dataset(dir.path(), "inner(f0, f1), outer(f2, f3)", 20_000);
    let a = train_base(&ds, BaseModel::Deepfm, 0.005, 2);
    let b = train_base(&ds, BaseModel::Deepfm, 0.005, 2);
    assert_eq!(
        a.epochs
            .iter()
            .map(|e| (e.train_loss, e.valid_auc))
            .collect::<Vec<_>>(),
        b.epochs
            .iter()
            .map(|e| (e.train_loss, e.valid_auc))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        (a.test_auc, a.test_logloss),
        (b.test_auc, b.test_logloss),
        "bit-identical metrics"
    );
}

/// The same run on a 1-thread and a 2-thread pool: sums over the batch are taken in a fixed
/// order, whatever rayon's schedule, so the metrics are bit-identical (IPNN, with calibration,
/// exercises the interaction kernels, the MLP's gemm and the batch-parallel reductions).
#[test]
fn training_is_bit_identical_on_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let ds = synthetic_dataset(dir.path(), "inner(f0, f1), outer(f2, f3)", 20_000);
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| train_base_calibrated(&ds, BaseModel::Ipnn, 0.005, 2, true))
    };
    let (one, two) = (on(1), on(2));
    let key = |r: &aim::train::TrainReport| {
        (
            r.epochs
                .iter()
                .map(|e| (e.train_loss, e.valid_auc, e.valid_logloss))
                .collect::<Vec<_>>(),
            r.test_auc,
            r.test_logloss,
            r.calibration,
        )
    };
    assert_eq!(key(&one), key(&two));
}

#[test]
fn a_non_finite_loss_names_epoch_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let ds = synthetic_dataset(dir.path(), "inner(f0, f1)", 5_000);
    let spec = ModelSpec {
        base: BaseModel::Fm,
        embedding_dim: 4,
        mlp: vec![],
        batch_size: 500,
        optimizer: Default::default(),
        epochs: 2,
        patience: 1,
        dropout: 0.0,
        batch_norm: false,
        init_std: None,
        calibrate: false,
    };
    let mut m = Model::new(
        ModelConfig::base(&spec, aim::train::fields(&ds, 4).unwrap()).unwrap(),
        1,
    );
    m.bias.set(&[f32::NAN]);
    let o = aim::train::TrainOptions {
        epochs: 2,
        patience: 1,
        batch_size: 500,
        seed: 1,
        eval_batch: 1000,
        restore_best: true,
        calibrate: false,
    };
    let e = aim::train::fit(&mut m, &ds, &mut Optimizers::new(1e-3, 0.0), &o, |_| {}).unwrap_err();
    assert!(
        e.to_string()
            .contains("the training loss became NaN at epoch 1, step 1"),
        "{e}"
    );
}

/// A saved model reads back to the same predictions, bit for bit, for a DeepFM and for an
/// AIM re-train shape (function-wise tables, every function, batch-normed gates, calibration);
/// its tensors have the documented names and shapes and hold exactly the model's parameters.
#[test]
fn a_saved_model_reads_back_to_the_same_predictions() {
    use aim::data::read::FieldKind;
    use aim::saved::{Preprocess, SavedField};
    let spec = ModelSpec {
        base: BaseModel::Deepfm,
        embedding_dim: 3,
        mlp: vec![5],
        batch_size: 8,
        optimizer: Default::default(),
        epochs: 1,
        patience: 1,
        dropout: 0.0,
        batch_norm: true,
        init_std: None,
        calibrate: false,
    };
    let deepfm = ModelConfig::base(&spec, fields(3, 7, 3)).unwrap();
    let mut aim_cfg = deepfm.clone();
    aim_cfg.function_wise = true;
    aim_cfg.fields[1].positions = vec![0, 2];
    aim_cfg.orders = vec![OrderConfig {
        order: 2,
        functions: FNS.iter().map(|&f| (f, all_pairs(3))).collect(),
        gate: GateKind::BatchNorm,
        gate_update: Update::Adam,
        to_logit: true,
    }];
    aim_cfg.mlp.as_mut().unwrap().input = MlpInput::InteractionVectors;
    for (k, cfg) in [deepfm, aim_cfg].into_iter().enumerate() {
        let mut m = Model::new(cfg, 1);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let rows = 64;
        let batch = Batch::from_matrix((0..rows * 3).map(|_| rng.gen_range(0..7)).collect(), rows);
        let y: Vec<f32> = (0..rows).map(|i| (i % 3 == 0) as u8 as f32).collect();
        let mut opt = Optimizers::new(1e-2, 0.0);
        for _ in 0..3 {
            m.train_step(&batch, &y, &mut opt).unwrap();
        }
        m.calibration = Some(aim::calibration::Platt {
            scale: 1.5,
            shift: -0.25,
        });
        let pre = Preprocess {
            format: Some(aim::spec::FileFormat::Libfm),
            numeric: aim::spec::Bucketing::LogSquare,
            on_error: aim::spec::OnError::Fail,
            fields: (0..3)
                .map(|i| SavedField {
                    name: format!("f{i}"),
                    kind: FieldKind::Categorical,
                    vocab: 7,
                    missing: None,
                })
                .collect(),
        };
        let vocab: Vec<Vec<Vec<u8>>> = (0..3)
            .map(|_| (0..7).map(|v| format!("v{v}").into_bytes()).collect())
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let hash = aim::saved::write(&p, &m, "test", "t", &pre, &vocab, None).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(hash, aim::saved::content_hash(&bytes));
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("emb0.f2").unwrap().shape(), &[7, 3]);
        assert_eq!(st.tensor("linear.f0").unwrap().shape(), &[7, 1]);
        assert_eq!(st.tensor("vocab.f1.offsets").unwrap().shape(), &[8]);
        if k == 1 {
            assert_eq!(st.tensor("emb3.f1").unwrap().shape(), &[7, 2]);
            assert!(st.tensor("order2.outer.alpha.running_var").is_ok());
        } else {
            assert_eq!(st.tensor("mlp.in0").unwrap().shape(), &[3, 3, 5]);
        }
        let weights: usize = st
            .tensors()
            .iter()
            .filter(|(n, _)| !n.starts_with("vocab.") && !n.contains(".running_"))
            .map(|(_, t)| t.shape().iter().product::<usize>())
            .sum();
        assert_eq!(weights, m.num_params());
        assert_eq!(
            m.cfg.num_params(),
            m.num_params(),
            "counted from the config"
        );
        let mut back = aim::saved::read(&p, &bytes).unwrap();
        assert_eq!(back.vocab, vocab);
        assert_eq!(back.header.preprocess, pre);
        assert_eq!(back.model.predict(&batch), m.predict(&batch), "config {k}");
        // Every strict prefix of the file is refused with an error, never a panic.
        for cut in [0, 7, 8, 9, bytes.len() / 2, bytes.len() - 1] {
            assert!(aim::saved::read(&p, &bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}

#[test]
#[ignore = "reads ../shared/data"]
fn deepfm_on_frappe_reaches_the_rivals_auc() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let l = aim::spec::load(&root.join("specs/frappe.aim")).unwrap();
    let mut spec = l.spec.unwrap();
    let dir = tempfile::tempdir().unwrap();
    spec.data.cache = dir.path().to_path_buf();
    let ds = aim::data::prepare(&spec, false, &Progress::hidden())
        .unwrap()
        .0;
    let m = &spec.model;
    let cfg = ModelConfig::base(m, aim::train::fields(&ds, m.embedding_dim).unwrap()).unwrap();
    let mut model = Model::new(cfg, spec.seed);
    let o = aim::train::TrainOptions::for_model(m, spec.seed);
    let r = aim::train::fit(
        &mut model,
        &ds,
        &mut Optimizers::new(m.optimizer.lr, 0.0),
        &o,
        |_| {},
    )
    .unwrap();
    // FuxiCTR's DeepFM on the same rows and budget: 0.9505 (../shared/peers/RESULTS.md). Seed
    // 2024 gives 0.9479 here (seeds 2025, 2026: 0.9487, 0.9509); the bound leaves 0.003 below
    // parity for a CPU whose matrix products round differently and stop at another epoch.
    assert!(
        r.test_auc >= 0.9505 - 0.006,
        "DeepFM test AUC {:.4} on Frappe's exact split (seed {})",
        r.test_auc,
        spec.seed
    );

    // The saved model scores the raw test file to the evaluation's scores, bit for bit, and the
    // numpy reference scorer agrees within 1e-5 (issue 12).
    spec.output = dir.path().join("out/frappe.arch.ron");
    let (file, _) = aim::saved::save_beside_output(
        &spec,
        &ds,
        &model,
        "test",
        "frappe.model.safetensors",
        None,
    )
    .unwrap();
    let aim::spec::DataSource::Files { test, .. } = &spec.data.source else {
        panic!("frappe.aim reads files")
    };
    let test = test.clone().unwrap();
    let mut saved = aim::saved::open(&file).unwrap();
    let mut out = Vec::new();
    let outcome =
        aim::predict::predict(&mut saved, &test, &[], &mut out, &Progress::hidden()).unwrap();
    assert_eq!(
        outcome.bytes,
        std::fs::metadata(&test).unwrap().len(),
        "every byte of the input is counted"
    );
    let scored: Vec<f32> = String::from_utf8(out)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.parse().unwrap())
        .collect();
    let split = &ds.splits[2];
    let mut own = vec![];
    let mut b = Batch::default();
    let mut row = 0;
    while row < split.rows() {
        let n = aim::predict::BATCH.min(split.rows() - row);
        b.fill(split, row..row + n);
        own.extend(model.predict(&b));
        row += n;
    }
    assert_eq!(scored, own, "aim predict's scores are the evaluation's");
    assert_eq!(outcome.auc, Some(r.test_auc));
    let numpy = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !numpy {
        eprintln!("skipped examples/score.py: python3 with numpy is not installed");
        return;
    }
    let py = dir.path().join("py.csv");
    let o = std::process::Command::new("python3")
        .arg(root.join("examples/score.py"))
        .arg(&file)
        .arg(&test)
        .arg("-o")
        .arg(&py)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&py).unwrap();
    let worst = text
        .lines()
        .skip(1)
        .zip(&own)
        .map(|(l, p)| (l.parse::<f32>().unwrap() - p).abs())
        .fold(0.0f32, f32::max);
    assert_eq!(text.lines().count(), own.len() + 1);
    assert!(worst < 1e-5, "score.py differs by up to {worst}");
}

// ---------------------------------------------------------------------------------------------
// The compiled model's shape against the closed form.

mod shapes {
    use super::*;
    use proptest::prelude::*;
    use rand::Rng;

    fn expected(cfg: &ModelConfig) -> usize {
        let d = cfg.d;
        let vocab: usize = cfg.fields.iter().map(|f| f.vocab).sum();
        let tables = cfg.table_functions().len();
        let mut n = tables * vocab * d + if cfg.linear { vocab } else { 0 } + 1; // + bias
        for o in &cfg.orders {
            for (f, tuples) in &o.functions {
                let p = tuples.len();
                n += match f {
                    _ if p == 0 => 0,
                    InteractionFn::Inner => 0,
                    InteractionFn::VectorKernel => p * d,
                    InteractionFn::ScalarKernel => p,
                    InteractionFn::Outer => o.order * d,
                };
                if o.gate != GateKind::None {
                    n += p; // one α per (tuple, function)
                }
            }
        }
        if let Some(mlp) = &cfg.mlp {
            let fan_in: usize = match mlp.input {
                MlpInput::Embeddings => cfg.fields.len() * d,
                MlpInput::EmbeddingsAndProducts => {
                    cfg.fields.len() * d
                        + cfg
                            .orders
                            .iter()
                            .flat_map(|o| o.functions.iter().map(|(_, t)| t.len()))
                            .sum::<usize>()
                }
                MlpInput::InteractionVectors => cfg
                    .orders
                    .iter()
                    .flat_map(|o| {
                        o.functions
                            .iter()
                            .map(|(f, t)| t.len() * if *f == InteractionFn::Outer { 1 } else { d })
                    })
                    .sum(),
            };
            let mut widths = vec![fan_in];
            widths.extend(&mlp.hidden);
            widths.push(1);
            n += widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum::<usize>();
        }
        n
    }

    fn arb_config() -> impl Strategy<Value = (ModelConfig, u64)> {
        (
            2usize..7,
            prop::collection::vec(1usize..30, 7),
            1usize..6,
            prop::sample::subsequence(FNS.to_vec(), 1..=4),
            2usize..=4,
            any::<bool>(),
            any::<bool>(),
            prop::option::of((
                prop::collection::vec(1usize..9, 1..3),
                prop::sample::select(vec![
                    MlpInput::Embeddings,
                    MlpInput::EmbeddingsAndProducts,
                    MlpInput::InteractionVectors,
                ]),
            )),
            prop::sample::select(vec![GateKind::None, GateKind::Scale, GateKind::BatchNorm]),
            any::<u64>(),
        )
            .prop_map(
                |(n, vocabs, d, fns, max_order, function_wise, linear, mlp, gate, seed)| {
                    let max_order = max_order.min(n);
                    let orders = (2..=max_order)
                        .map(|p| {
                            let tuples: Vec<Vec<usize>> = if p == 2 {
                                all_pairs(n)
                            } else {
                                (0..=n - p).map(|s| (s..s + p).collect()).collect()
                            };
                            order(p, tuples, fns.clone(), gate)
                        })
                        .collect();
                    let mut cfg = config(n, 1, d, orders);
                    for (f, v) in cfg.fields.iter_mut().zip(&vocabs) {
                        f.vocab = *v;
                    }
                    cfg.function_wise = function_wise;
                    cfg.linear = linear;
                    cfg.mlp = mlp.map(|(hidden, input)| MlpConfig {
                        hidden,
                        input,
                        batch_norm: seed % 2 == 0,
                        dropout: if seed % 3 == 0 { 0.3 } else { 0.0 },
                    });
                    (cfg, seed)
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(60))]
        #[test]
        fn parameter_counts_follow_the_spec_and_logits_are_finite((cfg, seed) in arb_config()) {
            let want = expected(&cfg);
            let n = cfg.fields.len();
            let vocabs: Vec<usize> = cfg.fields.iter().map(|f| f.vocab).collect();
            let mut m = Model::new(cfg, seed);
            prop_assert_eq!(m.num_params(), want);
            let batch = 7;
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let ids: Vec<u32> = (0..batch * n).map(|k| rng.gen_range(0..vocabs[k % n] as u32)).collect();
            let p = m.predict(&Batch::from_matrix(ids.clone(), batch));
            prop_assert_eq!(p.len(), batch);
            prop_assert!(p.iter().all(|x| x.is_finite()));
            let labels: Vec<f32> = (0..batch).map(|i| (i % 2) as f32).collect();
            let loss = m.train_step(&Batch::from_matrix(ids.clone(), batch), &labels, &mut Optimizers::new(1e-3, 0.0)).unwrap();
            prop_assert!(loss.is_finite());
        }
    }
}

#[test]
fn pruned_dimensions_are_zero_padded_and_have_no_parameters() {
    let mut cfg = config(
        3,
        4,
        3,
        vec![order(
            2,
            all_pairs(3),
            vec![InteractionFn::Inner],
            GateKind::None,
        )],
    );
    cfg.fields[1].positions = vec![0, 2];
    cfg.fields[2].positions = vec![];
    let mut m = Model::new(cfg, 1);
    assert_eq!(m.tables[0].num_weights(), 4 * 3 + 4 * 2);
    let mut buf = Vec::new();
    m.tables[0].gather(&Batch::from_matrix(vec![1, 2, 3, 0, 1, 2], 2), &mut buf);
    // field-major (fields, batch · d): field 1 keeps positions 0 and 2; field 2 keeps none.
    let f1 = &buf[6..12];
    assert!(
        f1[0] != 0.0 && f1[1] == 0.0 && f1[2] != 0.0 && f1[4] == 0.0,
        "{f1:?}"
    );
    assert!(buf[12..18].iter().all(|&x| x == 0.0));
    // a training step keeps working, and the pruned positions stay absent
    let loss = m
        .train_step(
            &Batch::from_matrix(vec![1, 2, 3, 0, 1, 2], 2),
            &[1.0, 0.0],
            &mut Optimizers::new(0.01, 0.0),
        )
        .unwrap();
    assert!(loss.is_finite());
    m.tables[0].gather(&Batch::from_matrix(vec![1, 2, 3, 0, 1, 2], 2), &mut buf);
    assert_eq!(buf[7], 0.0);
}

#[test]
fn pruned_interaction_function_pairs_cost_nothing() {
    let tuples_inner = vec![vec![0, 1], vec![1, 2]];
    let cfg = ModelConfig {
        orders: vec![OrderConfig {
            order: 2,
            functions: vec![
                (InteractionFn::Inner, tuples_inner),
                (InteractionFn::VectorKernel, vec![vec![0, 2]]),
                (InteractionFn::Outer, vec![]),
            ],
            gate: GateKind::BatchNorm,
            gate_update: Update::Adam,
            to_logit: true,
        }],
        ..config(3, 4, 5, vec![])
    };
    let m = Model::new(cfg, 1);
    assert_eq!(
        m.orders[0].blocks.len(),
        2,
        "no block for a function without tuples"
    );
    let gates: usize = m.orders[0]
        .blocks
        .iter()
        .map(|b| b.gate.param.as_ref().unwrap().len())
        .sum();
    assert_eq!(gates, 3, "one α per kept (tuple, function) pair");
    assert_eq!(
        m.orders[0].blocks[1]
            .function
            .kernel
            .as_ref()
            .unwrap()
            .shape,
        vec![1, 5]
    );
}

#[test]
fn multi_valued_fields_embed_the_mean_and_share_its_gradient() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let d = 3;
    // one single-valued field (vocab 2) and one multi-valued field (vocab 4)
    let mut table = aim::nn::embedding::Table::new(
        d,
        &[(2, (0..d).collect()), (4, (0..d).collect())],
        &mut rng,
    );
    table.set_multi(&[false, true]);
    // sample 0: values {1, 3}; sample 1: value {2}
    let batch = Batch::new(2, 1, vec![0, 1], vec![(vec![0, 2, 3], vec![1, 3, 2])]).unwrap();
    let mut buf = Vec::new();
    table.gather(&batch, &mut buf);
    let row = |f: usize, id: u32| table.row_weights(f, id).to_vec();
    let (r1, r3, r2) = (row(1, 1), row(1, 3), row(1, 2));
    for k in 0..d {
        assert!(
            (buf[2 * d + k] - (r1[k] + r3[k]) / 2.0).abs() < 1e-7,
            "the mean of the values"
        );
        assert!((buf[2 * d + d + k] - r2[k]).abs() < 1e-7);
    }
    // Sparse Adam: each value gets its sample's gradient / count, as a dense Adam given that sum.
    let dev: Backend = Default::default();
    let before = table.weights();
    let mut dense =
        aim::nn::Param::new(&dev, "w", vec![before.len()], before.clone(), Update::Adam);
    let g: Vec<f32> = (0..2 * 2 * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
    table.adam(1, 0.01, 0.0, &batch, &g);
    let mut want = vec![0.0f32; before.len()];
    let at = |f: usize, id: usize| if f == 0 { id * d } else { 2 * d + id * d };
    for k in 0..d {
        want[at(0, 0) + k] += g[k];
        want[at(0, 1) + k] += g[d + k];
        want[at(1, 1) + k] += g[2 * d + k] / 2.0;
        want[at(1, 3) + k] += g[2 * d + k] / 2.0;
        want[at(1, 2) + k] += g[3 * d + k];
    }
    let gt: T1 = dev.tensor_from_vec(want, (before.len(),));
    let mut grads = (dense.t.clone().trace(Gradients::leaky()) * gt)
        .sum::<(), Axis<0>>()
        .backward();
    aim::optim::adam::Adam::new(0.01).step([&mut dense], &mut grads);
    for (i, (a, b)) in table.weights().iter().zip(dense.values()).enumerate() {
        assert!((a - b).abs() < 1e-6, "weight {i}: sparse {a} vs dense {b}");
    }
}

#[test]
fn a_model_learns_from_a_multi_valued_csv_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let tags = ["a", "b", "c", "d", "e", "x"];
    let mut csv = String::from("y,color,tags\n");
    for _ in 0..6000 {
        let n = rng.gen_range(1..4);
        let t: Vec<&str> = (0..n).map(|_| tags[rng.gen_range(0..tags.len())]).collect();
        let has_x = t.contains(&"x");
        let y = u8::from(if has_x {
            rng.gen_bool(0.9)
        } else {
            rng.gen_bool(0.1)
        });
        csv.push_str(&format!(
            "{y},{},{}\n",
            ["red", "blue"][rng.gen_range(0..2)],
            t.join("|")
        ));
    }
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    let text = "experiment \"m\" {\n  seed = 3\n  data {\n    format = csv\n    train = \"d.csv\"\n    label = \"y\"\n    columns {\n      color = categorical\n      tags = multi(sep = \"|\")\n    }\n  }\n  model {\n    base = fm\n    embedding_dim = 4\n    batch_size = 256\n    optimizer = adam(lr = 0.05)\n    epochs = 4\n  }\n}\n";
    let l = aim::spec::load_source(aim::spec::Source::new(dir.path().join("m.aim"), text));
    let spec = l.spec.unwrap();
    let ds = aim::data::prepare(&spec, false, &Progress::hidden())
        .unwrap()
        .0;
    let fields = aim::train::fields(&ds, 4).unwrap();
    assert!(fields[1].multi && !fields[0].multi);
    let mut m = Model::new(ModelConfig::base(&spec.model, fields).unwrap(), 3);
    let o = aim::train::TrainOptions::for_model(&spec.model, 3);
    let r = aim::train::fit(&mut m, &ds, &mut Optimizers::new(0.05, 0.0), &o, |_| {}).unwrap();
    assert!(
        r.test_auc > 0.85,
        "the tag `x` decides the label: test AUC {}",
        r.test_auc
    );
}

#[test]
fn dropout_is_for_training_only_and_deterministic() {
    let spec = ModelSpec {
        base: BaseModel::Deepfm,
        embedding_dim: 4,
        mlp: vec![32, 32],
        batch_size: 8,
        optimizer: Default::default(),
        epochs: 1,
        patience: 1,
        dropout: 0.5,
        batch_norm: false,
        init_std: None,
        calibrate: false,
    };
    let ids: Vec<u32> = (0..8 * 3).map(|k| (k % 5) as u32).collect();
    let b = Batch::from_matrix(ids, 8);
    let mut with = Model::new(ModelConfig::base(&spec, fields(3, 5, 4)).unwrap(), 2);
    let mut without = Model::new(
        ModelConfig::base(
            &ModelSpec {
                dropout: 0.0,
                ..spec.clone()
            },
            fields(3, 5, 4),
        )
        .unwrap(),
        2,
    );
    // evaluation ignores dropout: the same weights give the same predictions
    assert_eq!(with.predict(&b), without.predict(&b));
    // training with dropout differs from without, and repeats exactly from the same seed
    let labels = vec![1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
    let l1 = with
        .train_step(&b, &labels, &mut Optimizers::new(1e-3, 0.0))
        .unwrap();
    let l0 = without
        .train_step(&b, &labels, &mut Optimizers::new(1e-3, 0.0))
        .unwrap();
    assert_ne!(l1, l0);
    let mut again = Model::new(ModelConfig::base(&spec, fields(3, 5, 4)).unwrap(), 2);
    assert_eq!(
        again
            .train_step(&b, &labels, &mut Optimizers::new(1e-3, 0.0))
            .unwrap(),
        l1
    );
}

#[test]
fn a_run_resumed_from_its_checkpoint_ends_exactly_as_the_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let ds = synthetic_dataset(dir.path(), "inner(f0, f1), outer(f2, f3)", 12_000);
    let deepfm = {
        let spec = ModelSpec {
            base: BaseModel::Deepfm,
            embedding_dim: 4,
            mlp: vec![16, 8],
            batch_size: 500,
            optimizer: Default::default(),
            epochs: 4,
            patience: 9,
            dropout: 0.2,
            batch_norm: true,
            init_std: None,
            calibrate: false,
        };
        ModelConfig::base(&spec, aim::train::fields(&ds, 4).unwrap()).unwrap()
    };
    // A search model: gates by GRDA, so its state is checkpointed too.
    let mut search = config(
        6,
        21,
        4,
        vec![OrderConfig {
            gate_update: Update::Grda(aim::optim::grda::Schedule {
                lr: 1.0,
                c: 0.05,
                mu: 0.6,
            }),
            ..order(2, all_pairs(6), FNS.to_vec(), GateKind::BatchNorm)
        }],
    );
    search.function_wise = true;
    search.linear = true;
    for cfg in [deepfm, search] {
        let opt = || Optimizers::new(0.005, 0.0);
        let o = aim::train::TrainOptions {
            epochs: 4,
            patience: 9,
            batch_size: 500,
            seed: 1,
            eval_batch: 4096,
            restore_best: true,
            calibrate: false,
        };
        let mut m = Model::new(cfg.clone(), 3);
        let full = aim::train::fit(&mut m, &ds, &mut opt(), &o, |_| {}).unwrap();

        let path = dir.path().join("run.ckpt");
        let mut m = Model::new(cfg.clone(), 3);
        let quiet = Progress::hidden();
        let trainer = aim::train::Trainer::new(&ds, &o, &quiet);
        let crash = trainer.fit(
            &mut m,
            &mut opt(),
            Default::default(),
            &mut aim::train::OnCheckpoint::new(|m, opt, s| {
                aim::checkpoint::save(&path, "key", m, opt, s)?;
                anyhow::ensure!(
                    s.epochs_done < 2,
                    "simulated crash after epoch {}",
                    s.epochs_done
                );
                Ok(())
            }),
        );
        assert!(crash
            .unwrap_err()
            .to_string()
            .contains("simulated crash after epoch 2"));

        let (mut m, mut opt2) = (Model::new(cfg.clone(), 99), opt());
        assert!(
            aim::checkpoint::load(&path, "another run", &mut m, &mut opt2)
                .unwrap()
                .is_none()
        );
        let state = aim::checkpoint::load(&path, "key", &mut m, &mut opt2)
            .unwrap()
            .expect("a checkpoint");
        assert_eq!(state.epochs_done, 2);
        let resumed = trainer
            .fit(
                &mut m,
                &mut opt2,
                state,
                &mut aim::train::OnEpoch(|_: &aim::train::EpochLog| {}),
            )
            .unwrap();
        let key = |r: &aim::train::TrainReport| {
            r.epochs
                .iter()
                .map(|e| (e.epoch, e.train_loss, e.valid_auc, e.valid_logloss))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&resumed), key(&full));
        assert_eq!(
            (resumed.best_epoch, resumed.test_auc, resumed.test_logloss),
            (full.best_epoch, full.test_auc, full.test_logloss)
        );
    }
}
