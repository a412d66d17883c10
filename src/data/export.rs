//! `aim data --export tsv`: a cached split written back out as text, so that the same rows can
//! feed `aim predict`, the peers or another tool.
//!
//! One header line (`label`, then the field names), then one line per row: the label (0 or 1)
//! and each field's value as `vocab.ron` names it. An out-of-vocabulary or missing value is an
//! empty cell; a multi-valued field's values are joined by `|`. Numeric fields come out as
//! their bucket's name, not the raw number (the cache keeps only the bucket).

use super::cache::Dataset;
use super::meta::SPLITS;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::Path;

/// The separator of a multi-valued field's values in the exported cells.
pub const MULTI_SEP: &str = "|";

/// Writes split `split` (`train`, `valid`, `test`) of `ds` to `path` as TSV, atomically.
/// Returns the rows written.
pub fn tsv(ds: &Dataset, split: &str, path: &Path) -> Result<usize> {
    let s = SPLITS
        .iter()
        .position(|&n| n == split)
        .with_context(|| format!("no split `{split}`: expected one of train, valid, test"))?;
    let vocab = ds.vocab()?;
    // Every text goes out as one cell: a tab or a line break inside one would shift the columns
    // or the rows of whoever reads it back.
    for (name, texts) in &vocab {
        if let Some(t) = texts
            .iter()
            .find(|t| t.iter().any(|&b| b == b'\t' || b == b'\n' || b == b'\r'))
        {
            bail!(
                "field `{name}`'s value {:?} holds a tab or a line break: it cannot be one TSV cell",
                String::from_utf8_lossy(t)
            );
        }
    }
    let split = &ds.splits[s];
    let mut tmp = crate::io::temp_beside(path)?;
    let write = |tmp: &mut tempfile::NamedTempFile| -> std::io::Result<()> {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        w.write_all(b"label")?;
        for f in &ds.meta.fields {
            write!(w, "\t{}", f.name)?;
        }
        w.write_all(b"\n")?;
        for r in 0..split.rows() {
            write!(w, "{}", split.labels.data()[r])?;
            let row = split.row(r);
            let mut m = 0;
            for (f, meta) in ds.meta.fields.iter().enumerate() {
                w.write_all(b"\t")?;
                let texts = &vocab[f].1;
                let blank = |id: u32| id == 0 || meta.missing == Some(id);
                match meta.column {
                    Some(c) => {
                        if !blank(row[c]) {
                            w.write_all(&texts[row[c] as usize])?;
                        }
                    }
                    None => {
                        let (offsets, ids) = &split.multi[m];
                        let (a, b) = (offsets.data()[r] as usize, offsets.data()[r + 1] as usize);
                        let mut first = true;
                        for &id in &ids.data()[a..b] {
                            if blank(id) {
                                continue;
                            }
                            if !first {
                                w.write_all(MULTI_SEP.as_bytes())?;
                            }
                            w.write_all(&texts[id as usize])?;
                            first = false;
                        }
                        m += 1;
                    }
                }
            }
            w.write_all(b"\n")?;
        }
        w.flush()
    };
    write(&mut tmp)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(split.rows())
}
