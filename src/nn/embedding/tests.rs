use super::*;
use crate::nn::kernels::test_util::same_on_every_path;
use rand::{Rng, SeedableRng};

/// Three fields: full width, two kept positions of four, and a multi-valued one; ids repeat
/// within the batch, so the update sums gradients per row.
fn table_and_batch(rng: &mut impl Rng) -> (Table, Batch) {
    let d = 4;
    let mut t = Table::new(
        d,
        &[
            (30, vec![0, 1, 2, 3]),
            (20, vec![1, 3]),
            (10, vec![0, 1, 2, 3]),
        ],
        rng,
    );
    t.set_multi(&[false, false, true]);
    let rows = 50;
    let matrix: Vec<u32> = (0..rows)
        .flat_map(|_| [rng.gen_range(0..30), rng.gen_range(0..20)])
        .collect();
    let mut offsets = vec![0u32];
    let mut ids = vec![];
    for _ in 0..rows {
        for _ in 0..rng.gen_range(0..3) {
            ids.push(rng.gen_range(0..10));
        }
        offsets.push(ids.len() as u32);
    }
    let batch = Batch::new(rows, 2, matrix, vec![(offsets, ids)]).expect("a valid batch");
    (t, batch)
}

/// The gather and the sparse Adam update give the same bits on every SIMD path this CPU has,
/// and the update of a row used by one sample is Adam's first step by hand.
#[test]
fn gather_and_sparse_adam_agree_on_every_path_and_with_adam() {
    let fresh = || table_and_batch(&mut rand_chacha::ChaCha8Rng::seed_from_u64(11));
    let (table, batch) = fresh();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let gathered = same_on_every_path("gather", || {
        let mut out = Vec::new();
        table.gather(&batch, &mut out);
        out
    });
    // Field 0, sample 0: its row's weights, unchanged.
    let id0 = batch.matrix()[0];
    assert_eq!(&gathered[..4], table.row_weights(0, id0));
    let grad: Vec<f32> = (0..gathered.len())
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let (lr, l2) = (0.01, 0.001);
    let after = same_on_every_path("sparse adam", || {
        let (mut t, _) = fresh();
        t.adam(1, lr, l2, &batch, &grad);
        t.raw().0.to_vec()
    });
    let (mut updated, _) = fresh();
    updated.set_raw(&after, table.raw().1).expect("same shape");
    // A field-0 row used by exactly one sample: after one step, w − lr · g / (|g| + ε) per
    // coordinate (m̂ = g, v̂ = g²), with g = the sample's gradient + l2 · w.
    let col: Vec<u32> = (0..batch.rows()).map(|b| batch.matrix()[b * 2]).collect();
    let b = (0..col.len())
        .find(|&b| col.iter().filter(|&&x| x == col[b]).count() == 1)
        .expect("a row used once");
    let before = table.row_weights(0, col[b]);
    let now = updated.row_weights(0, col[b]);
    for k in 0..4 {
        let g = grad[b * 4 + k] + l2 * before[k];
        let want = before[k] - lr * g / (g.abs() + 1e-8);
        assert!(
            (now[k] - want).abs() < 1e-6,
            "coordinate {k}: {} vs {want}",
            now[k]
        );
    }
}

/// A gather into a reused buffer (as inference's recycled one) gives the same values as into
/// a fresh one: the straight copy overwrites every value, the pruned and multi-valued fields
/// zero theirs first, and a longer old buffer is cut to the batch.
#[test]
fn gather_into_a_reused_buffer_leaves_nothing_of_the_old_values() {
    let (table, batch) = table_and_batch(&mut rand_chacha::ChaCha8Rng::seed_from_u64(21));
    let mut fresh = Vec::new();
    table.gather(&batch, &mut fresh);
    let mut reused = vec![f32::NAN; fresh.len() + 17];
    table.gather(&batch, &mut reused);
    assert_eq!(reused.len(), fresh.len());
    assert!(
        reused
            .iter()
            .zip(&fresh)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "reused buffer differs"
    );
    // Through `leaf_and_host` and `recycle`: the second batch's leaf is its own.
    let dev: Backend = Default::default();
    let (_, host) = table.leaf_and_host(&dev, &batch);
    table.recycle(host);
    let (_, other) = table_and_batch(&mut rand_chacha::ChaCha8Rng::seed_from_u64(22));
    let (leaf, host) = table.leaf_and_host(&dev, &other);
    let mut want = Vec::new();
    table.gather(&other, &mut want);
    assert_eq!(leaf.as_vec(), want);
    assert_eq!(*host, want);
}

/// Every row of a 16-wide table starts a cache line, and the saved state leaves the alignment
/// padding out: it is the rows alone, and it restores into a table whose padding differs.
#[test]
fn rows_start_cache_lines_and_the_state_excludes_the_padding() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let fields = [(7, (0..16).collect::<Vec<_>>()), (5, (0..16).collect())];
    let t = Table::new(16, &fields, &mut rng);
    for (f, slot) in t.fields.iter().enumerate() {
        let region = t.region(f);
        for id in 0..slot.vocab {
            let row = region[id * 48..].as_ptr() as usize;
            assert_eq!(row % 64, 0, "field {f} row {id} at {row:#x}");
        }
    }
    let (state, touched) = t.raw();
    assert_eq!(state.len(), (7 + 5) * 3 * 16);
    assert_eq!(&state[..16], t.row_weights(0, 0));
    // A second table, whose padding may differ: the same weights after a restore.
    let mut u = Table::new(16, &fields, &mut rng);
    u.set_raw(state, touched).expect("same shape");
    assert_eq!(u.weights(), t.weights());
    assert_eq!(u.row_weights(1, 4), t.row_weights(1, 4));
}
