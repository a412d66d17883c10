use super::*;
use rand::{Rng, SeedableRng};

/// The fused training path and the host inference path agree with the generic composition:
/// two input groups, batch norm with non-trivial running statistics.
/// On every SIMD path this CPU has.
#[test]
fn kernel_paths_match_the_generic_composition() {
    // Two hidden layers and one: host inference ends in either of its two buffers.
    crate::simd::on_every_path(|_| {
        kernel_paths_match_with(&[7, 6]);
        kernel_paths_match_with(&[5]);
    });
}

fn kernel_paths_match_with(hidden: &[usize]) {
    let dev: Backend = Default::default();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let groups = [
        Group {
            groups: 3,
            width: 4,
            keep: Some(vec![vec![0, 2], vec![1, 2, 3], vec![3]]),
        },
        Group::all(5, 1),
    ];
    let mut mlp = Mlp::new(&dev, "m", &groups, hidden, true, 1e-5, &mut rng);
    for p in mlp.params_mut() {
        let v: Vec<f32> = (0..p.len()).map(|_| rng.gen_range(-0.5..0.5)).collect();
        p.set(&v);
    }
    for r in mlp.norms.as_mut().unwrap() {
        r.mean
            .iter_mut()
            .for_each(|m| *m = rng.gen_range(-0.2..0.2));
        r.var.iter_mut().for_each(|v| *v = rng.gen_range(0.5..2.0));
    }
    let batch = 70;
    let inputs: Vec<T3> = groups
        .iter()
        .map(|g| {
            let n = g.groups * batch * g.width;
            dev.tensor_from_vec(
                (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect(),
                (g.groups, batch, g.width),
            )
        })
        .collect();
    // Host inference against the generic composition, on the MLP's current parameters.
    let infer_matches = |mlp: &mut Mlp, what: &str| -> Vec<f32> {
        let fast = mlp.forward(inputs.clone(), batch, false).as_vec();
        let generic = mlp.forward_generic(inputs.clone(), batch, false).as_vec();
        for (a, b) in fast.iter().zip(&generic) {
            assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{what}: {a} vs {b}");
        }
        fast
    };
    let fast = infer_matches(&mut mlp, "host inference");
    // Host inference keeps copies of the parameters between batches: a change through
    // `params_mut` must reach the next batch.
    for p in mlp.params_mut() {
        let v: Vec<f32> = p.values().iter().map(|x| 0.1 - 0.5 * x).collect();
        p.set(&v);
    }
    let fast2 = infer_matches(&mut mlp, "host inference after a change");
    assert!(
        fast2.iter().zip(&fast).any(|(a, b)| (a - b).abs() > 1e-3),
        "the change moved the output"
    );
    // Training mode (batch statistics) through the taped kernels: values, and the gradients
    // of the first input (scattered back to its kept positions) and of its weights.
    let mut m2 = Mlp::new(&dev, "m", &groups, hidden, true, 1e-5, &mut rng);
    for (p, q) in m2.params_mut().zip(mlp.params()) {
        p.set(&q.values());
    }
    let r: crate::nn::T1 = dev.tensor_from_vec(
        (0..batch).map(|_| rng.gen_range(-1.0..1.0)).collect(),
        (batch,),
    );
    let mut results = Vec::new();
    for (m, generic) in [(&mut mlp, false), (&mut m2, true)] {
        let x0 = inputs[0].clone().trace(crate::nn::Grads::leaky());
        let taped = vec![x0, inputs[1].retaped::<crate::nn::Tp>()];
        let y = if generic {
            m.forward_generic(taped, batch, true)
        } else {
            m.forward(taped, batch, true)
        };
        let v = y.as_vec();
        let g = (y * r.clone()).sum::<(), _>().backward();
        results.push((v, g.get(&inputs[0]).as_vec(), g.get(&m.input[0].t).as_vec()));
    }
    let (fast, generic) = (&results[0], &results[1]);
    for (what, a, b) in [
        ("value", &fast.0, &generic.0),
        ("d/dinput", &fast.1, &generic.1),
        ("d/dweight", &fast.2, &generic.2),
    ] {
        assert_eq!(a.len(), b.len(), "{what}");
        for (x, y) in a.iter().zip(b.iter()) {
            assert!(
                (x - y).abs() < 1e-4 * (1.0 + y.abs()),
                "training {what}: {x} vs {y}"
            );
        }
    }
    assert_eq!(
        fast.1[1], 0.0,
        "block 0 does not read position 1: no gradient there"
    );
    assert!(fast.1[0] != 0.0, "block 0 reads position 0");
}
