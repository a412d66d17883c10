//! Files → cache, streaming, in three passes:
//! 1. read every line (in large chunks), parse it, and write each field's *provisional* id (order
//!    of first appearance) to a temporary matrix; memory holds only the vocabularies and labels;
//! 2. decide the split of every row, then count the training rows' values;
//! 3. map provisional ids to final ids (the `min_count` cut) and stream each split's `.npy` files.
//!
//! One file per pass; this one holds the settings, the driver and what the passes share.

mod pass1;
mod pass2;
mod pass3;

use super::cache::Building;
use super::meta::{FieldMeta, Meta, Skipped, SkippedRow, SplitMeta, FORMAT_VERSION, SPLITS};
use super::npy;
use super::progress::Progress;
use super::read::{Cell, FieldDef, FieldKind, Reader};
use super::split::split_sizes;
use super::vocab::{self, Interner, OOV};
use crate::spec::{Bucketing, OnError};
use anyhow::{bail, Context, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How rows are assigned to splits.
#[derive(Clone, Debug)]
pub enum Splitting {
    /// Each file is one split: the files are train, valid, test in that order.
    ByFile,
    /// The files are pooled and split by these fractions.
    Fractions {
        /// Train, valid, test.
        fractions: [f64; 3],
        /// Shuffle with the seed before splitting (else keep file order).
        shuffle: bool,
        /// The seed.
        seed: u64,
    },
}

/// Where the rows come from: text lines a reader parses, or Parquet files with the columns a
/// spec names.
pub enum Input<'a> {
    /// Line-based files (CSV, TSV, libFM) and their reader.
    Lines(&'a mut dyn Reader),
    /// Parquet files.
    Parquet(&'a crate::spec::CsvSpec),
}

/// Settings of an ingest.
#[derive(Clone, Debug)]
pub struct Options {
    /// What a malformed row does.
    pub on_error: OnError,
    /// How numbers become categories.
    pub numeric: Bucketing,
    /// Values rarer than this in training become OOV.
    pub min_count: u32,
    /// How rows are split.
    pub splitting: Splitting,
}

/// A malformed row, when `on_error = fail`: `FILE:LINE: message`, or `FILE: row N: message`
/// in a Parquet file.
#[derive(Debug)]
pub struct RowError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (in a Parquet file: 1-based row).
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// Whether `line` counts the rows of a Parquet file.
    pub parquet: bool,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.parquet {
            false => write!(f, "{}:{}: {}", self.file.display(), self.line, self.message),
            true => write!(
                f,
                "{}: row {}: {}",
                self.file.display(),
                self.line,
                self.message
            ),
        }
    }
}

impl std::error::Error for RowError {}

/// Rows per block when the provisional matrix is streamed back (passes 2 and 3).
const BLOCK_ROWS: usize = 1 << 16;

/// What pass 1 leaves for the later passes.
struct Provisional {
    rows: usize,
    labels: Vec<u8>,
    fields: Vec<FieldDef>,
    interners: Vec<Interner>,
    /// Per multi-valued field: row offsets and provisional ids.
    multi: Vec<(Vec<u64>, Vec<u32>)>,
    skipped: Skipped,
    /// The provisional id matrix (the single-valued fields, row-major).
    prov_path: PathBuf,
    /// Data rows per input file.
    file_rows: Vec<usize>,
}

/// The fields by kind: the single-valued ones are the id matrix's columns, in order.
struct Layout {
    single: Vec<usize>,
    multi_fields: Vec<usize>,
}

impl Layout {
    fn of(fields: &[FieldDef]) -> Self {
        let multi = |f: &usize| matches!(fields[*f].kind, FieldKind::Multi { .. });
        Layout {
            single: (0..fields.len()).filter(|f| !multi(f)).collect(),
            multi_fields: (0..fields.len()).filter(multi).collect(),
        }
    }
}

/// Reads `files` with `reader` and writes the cache into `out`.
pub fn ingest(
    mut input: Input<'_>,
    files: &[PathBuf],
    opts: &Options,
    out: &Building,
    progress: &Progress,
) -> Result<Meta> {
    let t0 = Instant::now();
    let dir = out.dir();
    let total_bytes: u64 = files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .map(|m| m.len())
                .with_context(|| format!("cannot read {}", f.display()))
        })
        .sum::<Result<u64>>()?;
    progress.start_bytes(total_bytes, "reading");

    let p = pass1::run(&mut input, files, opts, dir, progress)?;
    progress.finish();
    let (tags, sizes) = pass2::splits(p.rows, &p.file_rows, &opts.splitting)?;
    let layout = Layout::of(&p.fields);
    let counts = pass2::count_training(&p, &layout, &tags)?;
    let (mappings, vocabs): (Vec<Vec<u32>>, Vec<usize>) = counts
        .iter()
        .map(|c| vocab::assign(c, opts.min_count))
        .unzip();
    drop(counts);
    let written = pass3::write(dir, &p, &layout, &tags, sizes, &mappings)?;
    let _ = std::fs::remove_file(&p.prov_path);
    let (fields, interners) = (&p.fields, &p.interners);

    // ---- vocabularies and metadata
    let vocab_names: Vec<(String, Vec<String>)> = fields
        .iter()
        .enumerate()
        .map(|(f, d)| {
            (
                d.name.clone(),
                interners[f].names(&mappings[f], vocabs[f], d.kind),
            )
        })
        .collect();
    crate::io::write_ron(&dir.join("vocab.ron"), &vocab_names)?;
    let mut col = 0;
    let field_meta = fields
        .iter()
        .enumerate()
        .map(|(f, d)| FieldMeta {
            name: d.name.clone(),
            kind: d.kind,
            vocab: vocabs[f],
            column: match d.kind {
                FieldKind::Multi { .. } => None,
                _ => {
                    col += 1;
                    Some(col - 1)
                }
            },
            missing: interners[f]
                .missing(d.kind)
                .map(|p| mappings[f][p as usize])
                .filter(|&id| id != OOV),
        })
        .collect();
    let splits = (0..3)
        .map(|t| SplitMeta {
            name: SPLITS[t].into(),
            rows: sizes[t],
            positives: written.labels[t].iter().map(|&l| l as usize).sum(),
            oov: written.oov[t].clone(),
            values: written.values[t].clone(),
        })
        .collect();
    Ok(Meta {
        version: FORMAT_VERSION,
        key: String::new(),
        fields: field_meta,
        splits,
        skipped: p.skipped,
        input_bytes: total_bytes,
        build_seconds: t0.elapsed().as_secs_f64(),
        truth: None,
        bayes: None,
    })
}

/// Streams the provisional id matrix (`s` ids per row) in blocks of whole rows: `f(first row,
/// ids)`. Memory stays one block, however large the data.
fn for_each_block(
    path: &Path,
    s: usize,
    mut f: impl FnMut(usize, &[u32]) -> Result<()>,
) -> Result<()> {
    let mut file = std::io::BufReader::with_capacity(
        1 << 20,
        File::open(path).context("cannot read the temporary id matrix")?,
    );
    let rows_per_block = BLOCK_ROWS;
    let mut buf = vec![0u32; rows_per_block * s];
    let mut r0 = 0;
    loop {
        let bytes = npy::as_bytes_mut(&mut buf);
        let mut filled = 0;
        while filled < bytes.len() {
            match file
                .read(&mut bytes[filled..])
                .context("cannot read the temporary id matrix")?
            {
                0 => break,
                n => filled += n,
            }
        }
        if filled % (4 * s.max(1)) != 0 {
            bail!("the temporary id matrix was truncated");
        }
        let ids = filled / 4;
        if ids == 0 {
            return Ok(());
        }
        f(r0, &buf[..ids])?;
        r0 += ids / s.max(1);
        if ids < buf.len() {
            return Ok(());
        }
    }
}
