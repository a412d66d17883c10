//! Files → cache, streaming, in three passes:
//! 1. read every line (in large chunks), parse it, and write each field's *provisional* id (order
//!    of first appearance) to a temporary matrix; memory holds only the vocabularies and labels;
//! 2. decide the split of every row, then count the training rows' values;
//! 3. map provisional ids to final ids (the `min_count` cut) and stream each split's `.npy` files.

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

/// A malformed row, when `on_error = fail`: `FILE:LINE: message`.
#[derive(Debug)]
pub struct RowError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

impl std::error::Error for RowError {}

/// Rows per parallel step of pass 3.
const PASS3_BLOCK: usize = 1 << 16;

/// One pass-3 task's output: final ids and labels per split, OOV counts per split and field.
struct Pass3Out {
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

/// Lines parsed per parallel task.
const PARSE_BLOCK: usize = 2048;

/// One parallel task's parse of a block of lines.
#[derive(Default)]
struct Parsed<'t> {
    cells: Vec<Cell<'t>>,
    labels: Vec<u8>,
    errors: Vec<(usize, String)>,
}

impl<'t> Parsed<'t> {
    /// An emptied buffer, kept between chunks without borrowing any text.
    fn into_static(self) -> Parsed<'static> {
        Parsed {
            cells: relife(self.cells),
            labels: clear(self.labels),
            errors: clear(self.errors),
        }
    }

    fn from_static(p: Parsed<'static>) -> Self {
        Parsed {
            cells: relife(p.cells),
            labels: p.labels,
            errors: p.errors,
        }
    }
}

fn clear<T>(mut v: Vec<T>) -> Vec<T> {
    v.clear();
    v
}

/// Empties a vector of cells and lets it borrow from other text; the in-place collect keeps the
/// allocation, as both element types have the same layout.
fn relife<'a, 'b>(mut v: Vec<Cell<'a>>) -> Vec<Cell<'b>> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

/// Bytes read at a time.
const CHUNK: usize = 8 << 20;

/// A cell's provisional id in its field.
#[inline]
fn intern(interner: &mut Interner, kind: FieldKind, cell: Cell<'_>, numeric: Bucketing) -> u32 {
    match (kind, cell) {
        (FieldKind::Numeric, Cell::Num(x)) => interner.num(Some(vocab::bucket(x, numeric))),
        (FieldKind::Numeric, _) => interner.num(None),
        (_, Cell::Cat(v)) | (_, Cell::Multi(v)) => interner.cat(v),
        (_, Cell::Num(x)) => interner.num(Some(x.floor() as i64)),
        (_, Cell::Missing) => interner.cat(b""),
    }
}

/// How many skipped rows are listed by line number.
const LISTED_SKIPS: usize = 5;

/// Reads `files` with `reader` and writes the cache into `out`.
pub fn ingest(
    reader: &mut dyn Reader,
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

    // ---- pass 1: parse, intern, write provisional ids
    let mut pass1 = Pass1::new(dir)?;
    let mut file_rows = Vec::with_capacity(files.len());
    for path in files {
        let before = pass1.rows;
        let skipped_before = pass1.skipped.count;
        pass1.read_file(reader, path, opts, progress)?;
        if pass1.rows == before {
            let why = match (pass1.skipped.count - skipped_before, pass1.header_seen) {
                (0, true) => " (only a header)".to_string(),
                (0, false) => String::new(),
                (n, _) => format!(" ({n} malformed rows skipped)"),
            };
            bail!("{}: no data rows{why}", path.display());
        }
        file_rows.push(pass1.rows - before);
    }
    let Pass1 {
        rows,
        labels,
        fields,
        interners,
        multi,
        skipped,
        prov,
        prov_path,
        ..
    } = pass1;
    let mut prov = prov
        .into_inner()
        .map_err(|e| e.into_error())
        .context("cannot write the temporary id matrix")?;
    prov.flush()?;
    drop(prov);
    progress.finish();

    // ---- split assignment
    let tags = assign_splits(rows, &file_rows, &opts.splitting)?;
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

    // ---- pass 2: count training values
    let single: Vec<usize> = (0..fields.len())
        .filter(|&f| !matches!(fields[f].kind, FieldKind::Multi { .. }))
        .collect();
    let multi_fields: Vec<usize> = (0..fields.len())
        .filter(|&f| matches!(fields[f].kind, FieldKind::Multi { .. }))
        .collect();
    let s = single.len();
    let mut counts: Vec<Vec<u32>> = interners.iter().map(|i| vec![0u32; i.len()]).collect();
    for_each_block(&prov_path, s, |r0, block| {
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
        let (offsets, ids) = &multi[m];
        for (r, &t) in tags.iter().enumerate() {
            if t == 0 {
                for &p in &ids[offsets[r] as usize..offsets[r + 1] as usize] {
                    counts[f][p as usize] = counts[f][p as usize].saturating_add(1);
                }
            }
        }
    }
    let (mappings, vocabs): (Vec<Vec<u32>>, Vec<usize>) = counts
        .iter()
        .map(|c| vocab::assign(c, opts.min_count))
        .unzip();
    drop(counts);

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
    let mut values = vec![vec![0u64; fields.len()]; 3];
    // Row-parallel: each task maps a contiguous run of rows into its own per-split buffers, which
    // are then written in task order, so every split keeps the rows' file order.
    let tasks = 2 * rayon::current_num_threads();
    let mut outs: Vec<Pass3Out> = (0..tasks).map(|_| Pass3Out::new(fields.len())).collect();
    for_each_block(&prov_path, s, |r0, block| {
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
                o.labels[t].push(labels[r]);
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
            split_labels[t as usize].push(labels[r]);
        }
    }
    let mut oov = vec![vec![0u64; fields.len()]; 3];
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
    for &f in &single {
        for t in 0..3 {
            values[t][f] = sizes[t] as u64;
        }
    }
    for (m, &f) in multi_fields.iter().enumerate() {
        let (offsets, ids) = &multi[m];
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
                &dir.join(format!("{}.{}.offsets.npy", SPLITS[t], fields[f].name)),
                &[o.len()],
                &o,
            )?;
            npy::write_file(
                &dir.join(format!("{}.{}.ids.npy", SPLITS[t], fields[f].name)),
                &[v.len()],
                &v,
            )?;
        }
    }
    let _ = std::fs::remove_file(&prov_path);
    for (t, l) in split_labels.iter().enumerate() {
        npy::write_file(
            &dir.join(format!("{}.labels.npy", SPLITS[t])),
            &[l.len()],
            l,
        )?;
    }

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
    super::cache::write_ron(&dir.join("vocab.ron"), &vocab_names)?;
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
            positives: split_labels[t].iter().map(|&l| l as usize).sum(),
            oov: oov[t].clone(),
            values: values[t].clone(),
        })
        .collect();
    Ok(Meta {
        version: FORMAT_VERSION,
        key: String::new(),
        fields: field_meta,
        splits,
        skipped,
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
    let rows_per_block = PASS3_BLOCK;
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

/// State of the first pass.
struct Pass1 {
    rows: usize,
    labels: Vec<u8>,
    fields: Vec<FieldDef>,
    interners: Vec<Interner>,
    /// Per multi-valued field: row offsets and provisional ids.
    multi: Vec<(Vec<u64>, Vec<u32>)>,
    skipped: Skipped,
    prov: BufWriter<File>,
    prov_path: PathBuf,
    pending: Vec<u32>,
    parse_bufs: Vec<Parsed<'static>>,
    /// Non-blank lines of the current file, and whether its first one was a header.
    lines_in_file: usize,
    header_seen: bool,
    bytes_done: u64,
}

impl Pass1 {
    fn new(dir: &Path) -> Result<Self> {
        let prov_path = dir.join(".provisional.u32");
        let f = File::create(&prov_path).context("cannot write in the cache folder")?;
        Ok(Pass1 {
            rows: 0,
            labels: Vec::new(),
            fields: Vec::new(),
            interners: Vec::new(),
            multi: Vec::new(),
            skipped: Skipped::default(),
            prov: BufWriter::with_capacity(4 << 20, f),
            prov_path,
            pending: Vec::with_capacity(1 << 16),
            parse_bufs: Vec::new(),
            lines_in_file: 0,
            header_seen: false,
            bytes_done: 0,
        })
    }

    fn read_file(
        &mut self,
        reader: &mut dyn Reader,
        path: &Path,
        opts: &Options,
        progress: &Progress,
    ) -> Result<()> {
        let mut file =
            File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut buf = vec![0u8; CHUNK];
        let (mut filled, mut lines) = (0usize, 0usize);
        self.lines_in_file = 0;
        self.header_seen = false;
        loop {
            if filled == buf.len() {
                buf.resize(buf.len() * 2, 0); // a line longer than the buffer
            }
            let n = file
                .read(&mut buf[filled..])
                .with_context(|| format!("cannot read {}", path.display()))?;
            self.bytes_done += n as u64;
            let eof = n == 0;
            filled += n;
            // Work on whole lines only; a partial last line waits for the next read.
            let end = if eof {
                filled
            } else {
                match memchr::memrchr(b'\n', &buf[..filled]) {
                    Some(p) => p + 1,
                    None => continue,
                }
            };
            lines = self.chunk(reader, path, &buf[..end], lines, opts)?;
            progress.set(self.bytes_done, self.rows as u64);
            buf.copy_within(end..filled, 0);
            filled -= end;
            if eof {
                break;
            }
        }
        if lines == 0 {
            bail!("{}: the file is empty", path.display());
        }
        self.flush_pending()?;
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<()> {
        self.prov
            .write_all(npy::as_bytes(&self.pending))
            .context("cannot write the temporary id matrix")?;
        self.pending.clear();
        Ok(())
    }

    /// Handles a run of whole lines whose first is line `lines_before + 1` of the file: parses
    /// them in parallel, then interns each field's column in parallel (each field still sees its
    /// values in file order, so provisional ids stay deterministic). Returns the lines so far.
    fn chunk(
        &mut self,
        reader: &mut dyn Reader,
        path: &Path,
        text: &[u8],
        lines_before: usize,
        opts: &Options,
    ) -> Result<usize> {
        let fail = |line: usize, message: String| RowError {
            file: path.to_path_buf(),
            line,
            message,
        };
        if text.is_empty() {
            return Ok(lines_before);
        }
        let mut lines: Vec<(usize, &[u8])> = Vec::new();
        let mut no = lines_before;
        for mut line in text.split(|&b| b == b'\n') {
            no += 1;
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                lines.push((no, line));
            }
        }
        // `split` yields an empty piece after a final newline: not a line.
        if text.last() == Some(&b'\n') {
            no -= 1;
        }
        if self.lines_in_file == 0 && !lines.is_empty() {
            let (first_no, first) = lines[0];
            if let Err(e) = std::str::from_utf8(first) {
                return Err(fail(
                    first_no,
                    format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1),
                )
                .into());
            }
            let header = reader.start_file(first).map_err(|m| fail(first_no, m))?;
            if self.interners.is_empty() {
                self.fields = reader.fields().to_vec();
                self.interners = self.fields.iter().map(|_| Interner::new()).collect();
                let n_multi = self
                    .fields
                    .iter()
                    .filter(|f| matches!(f.kind, FieldKind::Multi { .. }))
                    .count();
                self.multi = (0..n_multi).map(|_| (vec![0u64], Vec::new())).collect();
            }
            self.header_seen = header;
        }
        let skip_header =
            usize::from(self.lines_in_file == 0 && self.header_seen && !lines.is_empty());
        self.lines_in_file += lines.len();
        let reader: &dyn Reader = reader;
        let n = self.fields.len();

        // Parse in parallel: per block of lines, the cells of its good rows, their labels, and
        // the errors of its bad ones, all in line order. The buffers are reused from chunk to
        // chunk: allocating them afresh costs page faults that serialise the threads.
        let blocks: Vec<&[(usize, &[u8])]> = lines[skip_header..].chunks(PARSE_BLOCK).collect();
        self.parse_bufs
            .resize_with(self.parse_bufs.len().max(blocks.len()), Default::default);
        let mut parsed: Vec<Parsed<'_>> = self
            .parse_bufs
            .drain(..blocks.len())
            .map(Parsed::from_static)
            .collect();
        parsed
            .par_iter_mut()
            .zip(blocks.par_iter())
            .for_each(|(p, block)| {
                let mut row = Vec::with_capacity(n);
                for &(no, line) in block.iter() {
                    if let Err(e) = std::str::from_utf8(line) {
                        p.errors.push((
                            no,
                            format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1),
                        ));
                        continue;
                    }
                    match reader.parse(line, &mut row) {
                        Ok(label) => {
                            p.labels.push(label);
                            p.cells.extend_from_slice(&row);
                        }
                        Err(m) => p.errors.push((no, m)),
                    }
                }
            });
        for p in &parsed {
            for (no, m) in &p.errors {
                self.bad_row(fail(*no, m.clone()), opts)?;
            }
        }
        let rows: usize = parsed.iter().map(|p| p.labels.len()).sum();
        for p in &parsed {
            self.labels.extend_from_slice(&p.labels);
        }

        // Intern in parallel, one field per task.
        let numeric = opts.numeric;
        let columns: Vec<(Vec<u32>, Vec<u32>)> = self
            .interners
            .par_iter_mut()
            .zip(self.fields.par_iter())
            .enumerate()
            .map(|(f, (interner, def))| {
                let mut ids = Vec::with_capacity(rows);
                let mut counts = Vec::new();
                for p in &parsed {
                    for row in p.cells.chunks_exact(n) {
                        match def.kind {
                            FieldKind::Multi { sep } => {
                                let before = ids.len();
                                if let Cell::Multi(raw) = row[f] {
                                    for v in raw
                                        .split(|&b| b == sep)
                                        .map(super::read::trim)
                                        .filter(|v| !v.is_empty())
                                    {
                                        ids.push(interner.cat(v));
                                    }
                                }
                                if ids.len() == before {
                                    ids.push(interner.cat(b"")); // empty, or only separators: missing
                                }
                                counts.push((ids.len() - before) as u32);
                            }
                            kind => ids.push(intern(interner, kind, row[f], numeric)),
                        }
                    }
                }
                (ids, counts)
            })
            .collect();

        // Row-major provisional ids for the single-valued fields; ragged arrays for the others.
        let single: Vec<usize> = (0..n)
            .filter(|&f| !matches!(self.fields[f].kind, FieldKind::Multi { .. }))
            .collect();
        self.pending.reserve(rows * single.len());
        for r in 0..rows {
            for &f in &single {
                self.pending.push(columns[f].0[r]);
            }
        }
        let mut m = 0;
        for (f, (ids, counts)) in columns.into_iter().enumerate() {
            if matches!(self.fields[f].kind, FieldKind::Multi { .. }) {
                let (offsets, all) = &mut self.multi[m];
                m += 1;
                all.extend_from_slice(&ids);
                for c in counts {
                    let last = *offsets.last().expect("starts with 0");
                    offsets.push(last + c as u64);
                }
            }
        }
        self.rows += rows;
        self.parse_bufs
            .extend(parsed.into_iter().map(Parsed::into_static));
        if self.pending.len() >= 1 << 20 {
            self.flush_pending()?;
        }
        Ok(no)
    }

    fn bad_row(&mut self, err: RowError, opts: &Options) -> Result<()> {
        match opts.on_error {
            OnError::Fail => Err(anyhow::Error::new(err)),
            OnError::Skip => {
                self.skipped.count += 1;
                if self.skipped.first.len() < LISTED_SKIPS {
                    self.skipped.first.push(SkippedRow {
                        file: err.file.display().to_string(),
                        line: err.line,
                        error: err.message,
                    });
                }
                Ok(())
            }
        }
    }
}
