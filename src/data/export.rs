//! `aim data --export tsv|parquet`: a cached split written back out, so that the same rows can
//! feed `aim predict`, the peers or another tool.
//!
//! TSV: one header line (`label`, then the field names), then one line per row: the label (0
//! or 1) and each field's value as `vocab.ron` names it. An out-of-vocabulary or missing value
//! is an empty cell; a multi-valued field's values are joined by `|`.
//!
//! Parquet: the same values, typed: `label` a required INT32, each single-valued field an
//! optional string (null where TSV has an empty cell), each multi-valued field an optional list
//! of strings; dictionary-encoded and Snappy-compressed, in row groups of [`ROW_GROUP`] rows.
//! `format = parquet` with every field `categorical` (multi-valued ones `multi`) reads it back.
//!
//! Numeric fields come out as their bucket's name, not the raw number (the cache keeps only the
//! bucket).

use super::cache::Dataset;
use super::meta::SPLITS;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Rows per row group of an exported Parquet file.
pub const ROW_GROUP: usize = 1 << 18;

/// The separator of a multi-valued field's values in the exported cells.
pub const MULTI_SEP: &str = "|";

/// Writes split `split` (`train`, `valid`, `test`) of `ds` to `path` as TSV, atomically.
/// Returns the rows written.
pub fn tsv(ds: &Dataset, split: &str, path: &Path) -> Result<usize> {
    let s = split_index(split)?;
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

fn split_index(split: &str) -> Result<usize> {
    SPLITS
        .iter()
        .position(|&n| n == split)
        .with_context(|| format!("no split `{split}`: expected one of train, valid, test"))
}

/// Writes split `split` of `ds` to `path` as Parquet, atomically. Returns the rows written.
pub fn parquet(ds: &Dataset, split: &str, path: &Path) -> Result<usize> {
    use ::parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
    use ::parquet::data_type::{ByteArray, ByteArrayType, Int32Type};
    use ::parquet::file::properties::WriterProperties;
    use ::parquet::file::writer::SerializedFileWriter;
    use ::parquet::schema::types::Type;

    let s = split_index(split)?;
    let vocab = ds.vocab()?;
    for (name, texts) in &vocab {
        if let Some(t) = texts.iter().find(|t| std::str::from_utf8(t).is_err()) {
            bail!(
                "field `{name}`'s value {:?} is not UTF-8: it cannot be a Parquet string",
                String::from_utf8_lossy(t)
            );
        }
    }
    // Cloning a ByteArray shares its bytes: each category's text is allocated once.
    let texts: Vec<Vec<ByteArray>> = vocab
        .iter()
        .map(|(_, t)| t.iter().map(|b| ByteArray::from(b.clone())).collect())
        .collect();
    let string = |name: &str, rep: Repetition| {
        Type::primitive_type_builder(name, Physical::BYTE_ARRAY)
            .with_repetition(rep)
            .with_logical_type(Some(LogicalType::String))
            .build()
    };
    let mut fields = vec![Arc::new(
        Type::primitive_type_builder("label", Physical::INT32)
            .with_repetition(Repetition::REQUIRED)
            .build()?,
    )];
    for f in &ds.meta.fields {
        fields.push(Arc::new(match f.column {
            Some(_) => string(&f.name, Repetition::OPTIONAL)?,
            None => Type::group_type_builder(&f.name)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(Some(LogicalType::List))
                .with_fields(vec![Arc::new(
                    Type::group_type_builder("list")
                        .with_repetition(Repetition::REPEATED)
                        .with_fields(vec![Arc::new(string("element", Repetition::REQUIRED)?)])
                        .build()?,
                )])
                .build()?,
        }));
    }
    let schema = Arc::new(
        Type::group_type_builder("aim")
            .with_fields(fields)
            .build()?,
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("aim {}", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let split = &ds.splits[s];
    let mut tmp = crate::io::temp_beside(path)?;
    let write = |tmp: &mut tempfile::NamedTempFile| -> Result<()> {
        let file = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let mut w = SerializedFileWriter::new(file, schema.clone(), props.clone())?;
        let (mut values, mut def, mut rep) = (Vec::new(), Vec::new(), Vec::new());
        for r0 in (0..split.rows()).step_by(ROW_GROUP) {
            let rows = r0..(r0 + ROW_GROUP).min(split.rows());
            let mut group = w.next_row_group()?;
            let mut col = group.next_column()?.expect("the label column");
            let labels: Vec<i32> = split.labels.data()[rows.clone()]
                .iter()
                .map(|&l| i32::from(l))
                .collect();
            col.typed::<Int32Type>().write_batch(&labels, None, None)?;
            col.close()?;
            let mut m = 0;
            for (f, meta) in ds.meta.fields.iter().enumerate() {
                let blank = |id: u32| id == 0 || meta.missing == Some(id);
                values.clear();
                def.clear();
                rep.clear();
                match meta.column {
                    Some(c) => {
                        for r in rows.clone() {
                            let id = split.row(r)[c];
                            def.push(i16::from(!blank(id)));
                            if !blank(id) {
                                values.push(texts[f][id as usize].clone());
                            }
                        }
                    }
                    None => {
                        let (offsets, ids) = &split.multi[m];
                        m += 1;
                        for r in rows.clone() {
                            let (a, b) =
                                (offsets.data()[r] as usize, offsets.data()[r + 1] as usize);
                            let kept = ids.data()[a..b].iter().filter(|&&id| !blank(id));
                            let before = values.len();
                            for &id in kept {
                                rep.push(if values.len() == before { 0 } else { 1 });
                                def.push(2);
                                values.push(texts[f][id as usize].clone());
                            }
                            if values.len() == before {
                                rep.push(0);
                                def.push(0); // a null list: the value is missing
                            }
                        }
                    }
                }
                let mut col = group.next_column()?.expect("one column per field");
                let rep = meta.column.is_none().then_some(&rep[..]);
                col.typed::<ByteArrayType>()
                    .write_batch(&values, Some(&def), rep)?;
                col.close()?;
            }
            group.close()?;
        }
        w.into_inner()?.flush()?;
        Ok(())
    };
    write(&mut tmp)
        .and_then(|_| Ok(tmp.as_file().sync_all()?))
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(split.rows())
}
