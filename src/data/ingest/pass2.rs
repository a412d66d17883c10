//! Pass 2: decide the split of every row, then count the training rows' values.

use super::*;

/// Every row's split (0 train, 1 valid, 2 test) and the splits' sizes; an empty split is an
/// error.
pub(super) fn splits(
    rows: usize,
    file_rows: &[usize],
    how: &Splitting,
) -> Result<(Vec<u8>, [usize; 3])> {
    let tags = assign_splits(rows, file_rows, how)?;
    let mut sizes = [0usize; 3];
    for &t in &tags {
        sizes[t as usize] += 1;
    }
    if let Some(empty) = (0..3).find(|&s| sizes[s] == 0) {
        bail!(
            "the {} split is empty ({rows} rows in all, split {:?}): more rows or other fractions are needed",
            SPLITS[empty],
            sizes
        );
    }
    Ok((tags, sizes))
}

/// How often each provisional id of each field occurs in the training rows.
pub(super) fn count_training(
    p: &Provisional,
    layout: &Layout,
    tags: &[u8],
) -> Result<Vec<Vec<u32>>> {
    let (single, multi_fields, s) = (&layout.single, &layout.multi_fields, layout.single.len());
    let mut counts: Vec<Vec<u32>> = p.interners.iter().map(|i| vec![0u32; i.len()]).collect();
    for_each_block(&p.prov_path, s, |r0, block| {
        for (i, row) in block.chunks_exact(s.max(1)).enumerate() {
            if tags[r0 + i] == 0 {
                for (c, &f) in single.iter().enumerate() {
                    let p = row[c] as usize;
                    counts[f][p] = counts[f][p].saturating_add(1);
                }
            }
        }
        Ok(())
    })?;
    for (m, &f) in multi_fields.iter().enumerate() {
        let (offsets, ids) = &p.multi[m];
        for (r, &t) in tags.iter().enumerate() {
            if t == 0 {
                for &p in &ids[offsets[r] as usize..offsets[r + 1] as usize] {
                    counts[f][p as usize] = counts[f][p as usize].saturating_add(1);
                }
            }
        }
    }
    Ok(counts)
}

fn assign_splits(rows: usize, file_rows: &[usize], how: &Splitting) -> Result<Vec<u8>> {
    Ok(match how {
        Splitting::ByFile => {
            assert_eq!(file_rows.len(), 3, "three files, one per split");
            file_rows
                .iter()
                .enumerate()
                .flat_map(|(k, &n)| std::iter::repeat_n(k as u8, n))
                .collect()
        }
        Splitting::Fractions {
            fractions,
            shuffle,
            seed,
        } => {
            let [a, b, _] = split_sizes(rows, *fractions);
            let tag = |i: usize| {
                if i < a {
                    0
                } else if i < a + b {
                    1
                } else {
                    2
                }
            };
            if *shuffle {
                let mut perm: Vec<u32> = (0..rows as u32).collect();
                perm.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(*seed));
                let mut tags = vec![0u8; rows];
                for (i, &r) in perm.iter().enumerate() {
                    tags[r as usize] = tag(i);
                }
                tags
            } else {
                (0..rows).map(tag).collect()
            }
        }
    })
}
