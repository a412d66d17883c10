use super::*;
use crate::nn::interaction::{FunctionBlock, Tuples};
use crate::nn::kernels::test_util::{close, rand_vec, same_on_every_path};
use crate::nn::{Grads, Tp};
use rand::SeedableRng;

/// The kernel and the generic composition agree on every function at orders 2 to 4: values,
/// product vectors, and the gradients of e and the kernel under a random linear loss. The
/// kernel gives the same bits on every SIMD path this CPU has, and so does the fused inference
/// of a gated sum, which matches Σ_t coef_t · f_t − offset.
#[test]
fn interactions_match_the_generic_composition() {
    let dev: Backend = Default::default();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let (n, batch, d) = (6, 70, 5);
    for order in 2..=4 {
        let tuples: Vec<Vec<usize>> = match order {
            // Seven pairs, one of them (below) with a closed gate in the gated sum.
            2 => vec![
                vec![0, 1],
                vec![2, 5],
                vec![1, 3],
                vec![4, 5],
                vec![0, 5],
                vec![3, 4],
                vec![2, 3],
            ],
            3 => vec![vec![0, 1, 2], vec![1, 4, 5], vec![0, 3, 5]],
            _ => vec![vec![0, 1, 2, 3], vec![2, 3, 4, 5]],
        };
        let tu = Tuples::new(&dev, order, tuples.clone());
        let flat = FlatTuples::new(order, &tuples);
        let p = tuples.len();
        for f in [
            InteractionFn::Inner,
            InteractionFn::Outer,
            InteractionFn::VectorKernel,
            InteractionFn::ScalarKernel,
        ] {
            let mut block = FunctionBlock::new(&dev, "b", f, &tu, d, &mut rng);
            if let Some(k) = &mut block.kernel {
                let v = rand_vec(&mut rng, k.len(), 1.0);
                k.set(&v);
            }
            let ev = rand_vec(&mut rng, n * batch * d, 1.0);
            let e: T2 = dev.tensor_from_vec(ev, (n, batch * d));
            let r_out: T2 = dev.tensor_from_vec(rand_vec(&mut rng, p * batch, 1.0), (p, batch));
            let r_vec: T3 =
                dev.tensor_from_vec(rand_vec(&mut rng, p * batch * d, 1.0), (p, batch, d));
            let run =
                |custom: bool, vectors: bool| -> (Vec<f32>, Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
                    let et = e.clone().trace(Grads::leaky());
                    let (out, vecs) = if custom {
                        interact(
                            et,
                            &flat,
                            f,
                            block.kernel.as_ref().map(|k| k.t2::<Tp>()),
                            (batch, d),
                            vectors,
                            None,
                        )
                    } else {
                        block.forward_generic(&tu, &et, batch, d)
                    };
                    let vecs = vecs.filter(|_| vectors);
                    let (ov, vv) = (out.as_vec(), vecs.as_ref().map(|v| v.as_vec()));
                    let mut loss = (out * r_out.clone()).sum::<(), _>();
                    if let Some(v) = vecs {
                        // The vectors are tape-less: their loss term's ops join the value's tape.
                        loss = loss + (v * r_vec.clone()).sum::<(), _>();
                    }
                    let g = loss.backward();
                    let gk = block
                        .kernel
                        .as_ref()
                        .map(|k| g.get(&k.t).as_vec())
                        .unwrap_or_default();
                    (ov, vv, g.get(&e).as_vec(), gk)
                };
            let mut o1 = vec![];
            // With the product vectors (the MLP reads them) and without (the general loop, or
            // for inner and scalar-kernel pairs the lane-blocked one).
            for vectors in [true, false] {
                let what = format!("{f:?} order {order} vectors {vectors}");
                let (o, v1, ge1, gk1) = same_on_every_path(&what, || run(true, vectors));
                let (o2, v2, ge2, gk2) = run(false, vectors);
                close(&o, &o2, 1e-4, &format!("{what} value"));
                if f != InteractionFn::Outer && vectors {
                    close(&v1.unwrap(), &v2.unwrap(), 1e-5, &format!("{what} vectors"));
                }
                close(&ge1, &ge2, 1e-4, &format!("{what} d/de"));
                close(&gk1, &gk2, 1e-3, &format!("{what} d/dkernel"));
                assert!(
                    ge1.iter().any(|x| *x != 0.0),
                    "{what}: a gradient reached e"
                );
                o1 = o;
            }
            let what = format!("{f:?} order {order}");
            // A closed gate (a zero coefficient), which the sum skips.
            let mut coef = rand_vec(&mut rng, p, 1.0);
            coef[1] = 0.0;
            let offset = 0.3;
            let kv = block
                .kernel
                .as_ref()
                .map(|k| k.values())
                .unwrap_or_default();
            let ev = e.as_vec();
            let sum = same_on_every_path(&format!("{what} gated sum"), || {
                interact_gated_sum(&ev, &flat, f, &kv, (&coef, offset), (batch, d))
            });
            let want: Vec<f32> = (0..batch)
                .map(|b| (0..p).map(|t| coef[t] * o1[t * batch + b]).sum::<f32>() - offset)
                .collect();
            close(&sum, &want, 1e-4, &format!("{what} gated sum"));
        }
    }
}
