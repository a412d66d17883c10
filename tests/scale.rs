//! Criteo-shaped synthetic data (issue 14): the shipped spec's shape at CI's size recovers what
//! was planted.

use aim::data::progress::Progress;
use std::collections::BTreeSet;

/// `specs/criteo_synthetic.aim` at 200k rows with its vocabularies capped at 100k (841,655
/// categories in all; the shipped 5.07M need 16 GB in the search): about 1.5 minutes and
/// 2.8 GB on 2 cores. Its GRDA thresholds are the ones its reason says were measured at 200k
/// rows (the shipped ones are those scaled to 1M rows' steps). All 8 planted pairs are kept,
/// and both planted triples; one of those is among the top 5 of its order.
#[test]
#[ignore = "1.5 minutes and 2.8 GB: CI runs it with --ignored"]
fn criteo_shaped_search_recovers_the_planted_pairs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("specs/criteo_synthetic.aim")).unwrap();
    let mut text = shipped
        .replace("rows = 1_000_000", "rows = 200_000")
        .replace("c = 0.02, mu = 0.6", "c = 0.05, mu = 0.6")
        .replace("c = 0.004, mu = 0.6", "c = 0.01, mu = 0.6")
        .replace("c = 0.02, mu = 0.51", "c = 0.05, mu = 0.51");
    for big in ["1_000_000", "500_000", "286_181", "142_572"] {
        text = text.replace(&format!("{big},"), "100_000,");
    }
    assert_ne!(
        text, shipped,
        "the spec still has the values this test scales"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("criteo_synthetic.aim");
    std::fs::write(&path, &text).unwrap();
    let l = aim::spec::load(&path).unwrap();
    let spec = l.spec.expect("a valid spec");
    let aim::spec::DataSource::Synthetic(syn) = &spec.data.source else {
        panic!("synthetic")
    };
    assert_eq!(syn.vocab.iter().copied().max(), Some(100_000));
    assert_eq!(syn.rows, 200_000);
    let arch = aim::stages::pipeline(
        &spec,
        &l.source.text,
        None,
        &Progress::hidden(),
        &mut |_, _| {},
    )
    .unwrap()
    .arch;
    let name = |t: &[usize]| t.iter().map(|i| format!("f{i}")).collect::<Vec<_>>();
    let planted = |n: usize| -> BTreeSet<Vec<String>> {
        syn.planted
            .iter()
            .filter(|p| p.fields.len() == n)
            .map(|p| name(&p.fields))
            .collect()
    };
    let (pairs, triples) = (planted(2), planted(3));
    assert_eq!((pairs.len(), triples.len()), (8, 2));
    let kept = |order: usize| -> Vec<&aim::arch::ArchInteraction> {
        arch.interactions
            .iter()
            .filter(|i| i.order == order)
            .collect()
    };
    let kept2 = kept(2);
    let hits = kept2.iter().filter(|i| pairs.contains(&i.fields)).count();
    assert_eq!(hits, 8, "every planted pair kept: {kept2:#?}");
    // A kept pair that was not planted must at least lie inside a planted triple.
    let inside_triple = |f: &[String]| triples.iter().any(|t| f.iter().all(|x| t.contains(x)));
    let strays: Vec<_> = kept2
        .iter()
        .filter(|i| !pairs.contains(&i.fields) && !inside_triple(&i.fields))
        .collect();
    assert!(
        strays.len() <= 1,
        "pairs kept with no planted reason: {strays:#?}"
    );
    let strength =
        |i: &aim::arch::ArchInteraction| i.alphas.values().map(|a| a.abs()).fold(0.0f32, f32::max);
    let mut kept3 = kept(3);
    kept3.sort_by(|a, b| strength(b).total_cmp(&strength(a)));
    let rank = |t: &Vec<String>| kept3.iter().position(|i| &i.fields == t);
    let ranks: Vec<Option<usize>> = triples.iter().map(rank).collect();
    assert!(
        ranks.iter().all(Option::is_some),
        "both planted triples kept: {ranks:?}"
    );
    assert!(
        ranks.iter().flatten().any(|&r| r < 5),
        "a planted triple among the top 5 of {}: {ranks:?}",
        kept3.len()
    );
}
