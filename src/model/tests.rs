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
            dims_batch_norm: false,
            bn_eps: 1e-5,
            alpha_init: 1.0,
            beta_init: 1.0,
            init: Default::default(),
        };
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
