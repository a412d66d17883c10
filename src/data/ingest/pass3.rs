//! Pass 3: map provisional ids to final ids (the `min_count` cut) and stream each split's
//! `.npy` files: the id matrix, the multi-valued fields' offsets and ids, the labels.

use super::*;

/// One pass-3 task's output: final ids and labels per split, OOV counts per split and field.
pub(super) struct Pass3Out {
    ids: [Vec<u32>; 3],
    labels: [Vec<u8>; 3],
    oov: [Vec<u64>; 3],
}

impl Pass3Out {
    fn new(fields: usize) -> Self {
        Pass3Out {
            ids: Default::default(),
            labels: Default::default(),
            oov: std::array::from_fn(|_| vec![0; fields]),
        }
    }
}

/// What pass 3 wrote, for the metadata.
pub(super) struct Written {
    /// Labels per split.
    pub(super) labels: Vec<Vec<u8>>,
    /// Out-of-vocabulary ids per split and field.
    pub(super) oov: Vec<Vec<u64>>,
    /// Values per split and field (rows, or a multi-valued field's ids).
    pub(super) values: Vec<Vec<u64>>,
}

/// Writes the splits' files into `dir`, with `mappings[f][provisional id]` the final id.
pub(super) fn write(
    dir: &Path,
    p: &Provisional,
    layout: &Layout,
    tags: &[u8],
    sizes: [usize; 3],
    mappings: &[Vec<u32>],
) -> Result<Written> {
    let (single, multi_fields, s) = (&layout.single, &layout.multi_fields, layout.single.len());
    // ---- pass 3: final ids, per split
    let mut writers = Vec::new();
    for (k, name) in SPLITS.iter().enumerate() {
        let f =
            File::create(dir.join(format!("{name}.ids.npy"))).context("cannot write the cache")?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        w.write_all(&npy::header::<u32>(&[sizes[k], s]))?;
        writers.push(w);
    }
    let mut split_labels: Vec<Vec<u8>> = sizes.iter().map(|&n| Vec::with_capacity(n)).collect();
    let mut values = vec![vec![0u64; p.fields.len()]; 3];
    // Row-parallel: each task maps a contiguous run of rows into its own per-split buffers, which
    // are then written in task order, so every split keeps the rows' file order.
    let tasks = 2 * rayon::current_num_threads();
    let mut outs: Vec<Pass3Out> = (0..tasks).map(|_| Pass3Out::new(p.fields.len())).collect();
    for_each_block(&p.prov_path, s, |r0, block| {
        let r1 = r0 + block.len() / s.max(1);
        let per = (r1 - r0).div_ceil(tasks);
        outs.par_iter_mut().enumerate().for_each(|(k, o)| {
            for t in 0..3 {
                o.ids[t].clear();
                o.labels[t].clear();
            }
            for r in (r0 + k * per).min(r1)..(r0 + (k + 1) * per).min(r1) {
                let t = tags[r] as usize;
                for (c, &f) in single.iter().enumerate() {
                    let id = mappings[f][block[(r - r0) * s + c] as usize];
                    o.oov[t][f] += (id == OOV) as u64;
                    o.ids[t].push(id);
                }
                o.labels[t].push(p.labels[r]);
            }
        });
        for o in &outs {
            for t in 0..3 {
                writers[t]
                    .write_all(npy::as_bytes(&o.ids[t]))
                    .context("cannot write the cache")?;
                split_labels[t].extend_from_slice(&o.labels[t]);
            }
        }
        Ok(())
    })?;
    if s == 0 {
        // Only multi-valued fields: no matrix to stream, but the labels still go to their splits.
        for (r, &t) in tags.iter().enumerate() {
            split_labels[t as usize].push(p.labels[r]);
        }
    }
    let mut oov = vec![vec![0u64; p.fields.len()]; 3];
    for o in &outs {
        for (total, part) in oov.iter_mut().zip(&o.oov) {
            for (a, b) in total.iter_mut().zip(part) {
                *a += b;
            }
        }
    }
    for w in writers {
        w.into_inner()
            .map_err(|e| e.into_error())
            .context("cannot write the cache")?
            .sync_all()?;
    }
    for &f in single {
        for t in 0..3 {
            values[t][f] = sizes[t] as u64;
        }
    }
    for (m, &f) in multi_fields.iter().enumerate() {
        let (offsets, ids) = &p.multi[m];
        let mut per: Vec<(Vec<u64>, Vec<u32>)> = (0..3).map(|_| (vec![0u64], Vec::new())).collect();
        for (r, &t) in tags.iter().enumerate() {
            let t = t as usize;
            let (o, v) = &mut per[t];
            for &p in &ids[offsets[r] as usize..offsets[r + 1] as usize] {
                let id = mappings[f][p as usize];
                oov[t][f] += (id == OOV) as u64;
                v.push(id);
            }
            o.push(v.len() as u64);
        }
        for (t, (o, v)) in per.into_iter().enumerate() {
            values[t][f] = v.len() as u64;
            npy::write_file(
                &dir.join(format!("{}.{}.offsets.npy", SPLITS[t], p.fields[f].name)),
                &[o.len()],
                &o,
            )?;
            npy::write_file(
                &dir.join(format!("{}.{}.ids.npy", SPLITS[t], p.fields[f].name)),
                &[v.len()],
                &v,
            )?;
        }
    }
    for (t, l) in split_labels.iter().enumerate() {
        npy::write_file(
            &dir.join(format!("{}.labels.npy", SPLITS[t])),
            &[l.len()],
            l,
        )?;
    }
    Ok(Written {
        labels: split_labels,
        oov,
        values,
    })
}
