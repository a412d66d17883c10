//! The model's own tests: inference against the plain forward.

use super::*;
use crate::nn::embedding::Batch;
use crate::nn::gate::GateKind;
use crate::nn::Update;
use crate::spec::InteractionFn;

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};

/// `predict` (which hands the kernels the gathered leaves' host copies) gives what the plain
/// tape-less forward gives, for a model whose MLP reads the embeddings and one whose MLP reads
/// interaction vectors, after a few training steps (so that nothing is at its initial value).
#[test]
fn predict_matches_the_plain_forward() {
    for input in [MlpInput::Embeddings, MlpInput::InteractionVectors] {
        let cfg = config(input, 7);
        let mut m = Model::new(cfg, 1);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let rows = 40;
        let batch = Batch::from_matrix((0..rows * 5).map(|_| rng.gen_range(0..7)).collect(), rows);
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

/// Five fields of `vocab` ids at d = 4, all four functions function-wise on every pair with
/// batch-normed gates, a linear term and an MLP reading `input`.
fn config(input: MlpInput, vocab: usize) -> ModelConfig {
    let fields: Vec<FieldInfo> = (0..5)
        .map(|i| FieldInfo {
            name: format!("f{i}"),
            vocab,
            positions: (0..4).collect(),
            multi: false,
        })
        .collect();
    ModelConfig {
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
        dims_batch_norm: false,
        bn_eps: 1e-5,
        alpha_init: 1.0,
        beta_init: 1.0,
        init: Default::default(),
    }
}

/// A vocabulary past any machine's memory is an error naming the largest field, before any
/// allocation (it was an allocation failure: an abort). `table_bytes` counts every id's
/// weights, Adam moments and last step, per table.
#[cfg(target_os = "linux")]
#[test]
fn a_model_past_this_machines_memory_is_an_error() {
    let small = config(MlpInput::Embeddings, 7);
    // Four function-wise tables: 5 fields × 7 ids × (3 · 4 floats + 1 step) × 4 bytes; the
    // linear term's table: 5 × 7 × (3 + 1) × 4.
    assert_eq!(small.table_bytes(), 4 * 5 * 7 * 13 * 4 + 5 * 7 * 4 * 4);
    assert!(Model::try_new(small, 1).is_ok());
    let mut huge = config(MlpInput::Embeddings, 7);
    huge.fields[3].vocab = 1 << 42;
    let e = Model::try_new(huge, 1).err().expect("refused").to_string();
    assert!(
        e.contains("embedding tables need") && e.contains("`f3` with 4398046511104 ids"),
        "{e}"
    );
}
