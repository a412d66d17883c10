//! `aim predict`'s work: raw rows → the saved preprocessing → ids → probabilities, streamed in
//! batches, in input order. The same readers as ingest parse the rows, so a malformed row gets
//! the same `FILE:LINE: what` error (or is counted under `on_error = skip`), and the same ids
//! reach the model as training gave it: a category unseen in training, or too rare there, is
//! the field's out-of-vocabulary id 0; an empty cell is the field's missing id.

use crate::data::hash::FxHashMap;
use crate::data::ingest::RowError;
use crate::data::meta::{Skipped, SkippedRow};
use crate::data::read::{self, Cell, FieldKind, Reader};
use crate::data::vocab::{bucket, OOV};
use crate::data::Batch;
use crate::saved::{Preprocess, Saved};
use crate::spec::{Bucketing, FileFormat, OnError};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::io::{BufRead, Write};
use std::path::Path;

/// Rows scored per batch: the batch the stages evaluate with, so that the scores are the
/// model's own evaluation's, bit for bit.
pub const BATCH: usize = 16_384;

/// How many skipped rows are listed by line number.
const LISTED_SKIPS: usize = 5;

/// One field's raw value → id map.
enum Keys {
    /// Category text → id.
    Cat(FxHashMap<Box<[u8]>, u32>),
    /// A number's bucket → id.
    Num(FxHashMap<i64, u32>),
}

/// A field's lookup.
struct FieldLookup {
    kind: FieldKind,
    keys: Keys,
    /// The id of an empty cell.
    missing: u32,
}

/// Raw cells → ids, as the saved preprocessing says.
pub struct Lookup {
    fields: Vec<FieldLookup>,
    numeric: Bucketing,
}

impl Lookup {
    /// The lookup of a saved model's preprocessing and vocabularies.
    pub fn new(pre: &Preprocess, vocab: &[Vec<Vec<u8>>]) -> Result<Self, String> {
        let mut fields = Vec::with_capacity(pre.fields.len());
        for (f, texts) in pre.fields.iter().zip(vocab) {
            let missing = f.missing.unwrap_or(OOV);
            let real = (1..texts.len()).filter(|&k| k as u32 != missing);
            let keys = match f.kind {
                FieldKind::Numeric => {
                    let mut m = FxHashMap::default();
                    for k in real {
                        let b = std::str::from_utf8(&texts[k])
                            .ok()
                            .and_then(|s| s.parse::<i64>().ok())
                            .ok_or_else(|| {
                                format!(
                                    "field `{}`: id {k} is `{}`, not a numeric bucket",
                                    f.name,
                                    read::show(&texts[k])
                                )
                            })?;
                        if m.insert(b, k as u32).is_some() {
                            return Err(format!("field `{}`: bucket {b} has two ids", f.name));
                        }
                    }
                    Keys::Num(m)
                }
                _ => {
                    let mut m = FxHashMap::default();
                    for k in real {
                        if m.insert(texts[k].clone().into_boxed_slice(), k as u32)
                            .is_some()
                        {
                            return Err(format!(
                                "field `{}`: `{}` has two ids",
                                f.name,
                                read::show(&texts[k])
                            ));
                        }
                    }
                    Keys::Cat(m)
                }
            };
            fields.push(FieldLookup {
                kind: f.kind,
                keys,
                missing,
            });
        }
        Ok(Lookup {
            fields,
            numeric: pre.numeric,
        })
    }

    /// Field `f`'s ids for a cell: one, or a multi-valued cell's values (the missing id when
    /// it has none), as ingest assigns them.
    fn ids(&self, f: usize, cell: Cell<'_>, out: &mut Vec<u32>) {
        let l = &self.fields[f];
        let cat = |v: &[u8]| match &l.keys {
            Keys::Cat(m) => m.get(v).copied().unwrap_or(OOV),
            Keys::Num(_) => OOV,
        };
        match (l.kind, cell) {
            (FieldKind::Numeric, Cell::Num(x)) => out.push(match &l.keys {
                Keys::Num(m) => m.get(&bucket(x, self.numeric)).copied().unwrap_or(OOV),
                Keys::Cat(_) => OOV,
            }),
            (FieldKind::Multi { sep }, Cell::Multi(raw)) => {
                let before = out.len();
                for v in raw
                    .split(|&b| b == sep)
                    .map(read::trim)
                    .filter(|v| !v.is_empty())
                {
                    out.push(cat(v));
                }
                if out.len() == before {
                    out.push(l.missing);
                }
            }
            (_, Cell::Cat(v)) | (_, Cell::Multi(v)) => out.push(cat(v)),
            (_, Cell::Missing) | (_, Cell::Num(_)) => out.push(l.missing),
        }
    }
}

/// The reader of a saved model's format, allowed to meet rows without labels.
pub fn reader(pre: &Preprocess) -> Result<Box<dyn Reader>> {
    let mut r: Box<dyn Reader> = match &pre.format {
        Some(FileFormat::Criteo) => Box::new(read::Criteo::default()),
        Some(FileFormat::Avazu) => Box::new(read::Avazu::default()),
        Some(FileFormat::Libfm) => Box::new(read::Libfm::default()),
        Some(FileFormat::Csv(c)) => Box::new(read::Csv::new(c.clone())),
        None => bail!(
            "the model was trained on synthetic data, which has no raw rows to score (`aim data --export` is not built yet)"
        ),
    };
    r.allow_unlabelled();
    Ok(r)
}

/// What `--keep` copies: named columns of a format with a header.
struct Keep {
    /// The header's column index of each kept column.
    columns: Vec<usize>,
    delimiter: u8,
    quoted: bool,
}

impl Keep {
    fn new(names: &[String], format: &FileFormat, header: &[u8]) -> Result<Self, String> {
        let (delimiter, quoted) = match format {
            FileFormat::Csv(c) => (c.delimiter, true),
            FileFormat::Avazu => (b',', false),
            f => {
                return Err(format!(
                "`--keep` copies named columns, and the {} format has no header (csv and avazu do)",
                f.name()
            ))
            }
        };
        let mut spans = Vec::new();
        split(header, delimiter, quoted, &mut spans)?;
        let header_names: Vec<String> = spans
            .iter()
            .map(|&(a, b)| String::from_utf8_lossy(read::trim(&header[a..b])).into_owned())
            .collect();
        let columns = names
            .iter()
            .map(|n| {
                header_names.iter().position(|h| h == n).ok_or_else(|| {
                    format!(
                        "`--keep {n}`: no such column; the header has {}",
                        header_names.join(", ")
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Keep {
            columns,
            delimiter,
            quoted,
        })
    }

    /// The kept cells of a line, as CSV text (`,`-separated, quoted where needed).
    fn cells(&self, line: &[u8], spans: &mut Vec<(usize, usize)>, out: &mut Vec<u8>) {
        out.clear();
        if split(line, self.delimiter, self.quoted, spans).is_err() {
            return;
        }
        for (k, &c) in self.columns.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            let Some(&(a, b)) = spans.get(c) else {
                continue;
            };
            let v = &line[a..b];
            // A quoted cell's text keeps its doubled quotes (see `split_quoted`): quoting it
            // again reproduces it; an unquoted cell is quoted only when it must be.
            let was_quoted = a > 0 && line[a - 1] == b'"';
            if was_quoted || v.iter().any(|&x| matches!(x, b',' | b'"' | b'\r')) {
                out.push(b'"');
                if was_quoted {
                    out.extend_from_slice(v);
                } else {
                    for &x in v {
                        if x == b'"' {
                            out.push(b'"');
                        }
                        out.push(x);
                    }
                }
                out.push(b'"');
            } else {
                out.extend_from_slice(v);
            }
        }
    }
}

fn split(
    line: &[u8],
    delimiter: u8,
    quoted: bool,
    out: &mut Vec<(usize, usize)>,
) -> Result<(), String> {
    if quoted {
        return read::split_quoted(line, delimiter, out);
    }
    out.clear();
    let mut start = 0;
    for (i, &b) in line.iter().enumerate() {
        if b == delimiter {
            out.push((start, i));
            start = i + 1;
        }
    }
    out.push((start, line.len()));
    Ok(())
}

/// What a scoring run did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Rows scored.
    pub rows: u64,
    /// Malformed rows skipped (`on_error = skip`): their probability is left empty.
    pub skipped: Skipped,
    /// Whether the rows had labels.
    pub labelled: bool,
    /// AUC of the scored rows, when labelled (and both classes occur).
    pub auc: Option<f64>,
    /// Log loss of the scored rows, when labelled.
    pub logloss: Option<f64>,
    /// Bytes of input read.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

/// One parsed row.
#[derive(Default)]
struct Rows {
    labels: Vec<u8>,
    matrix: Vec<u32>,
    /// Per multi-valued field: the count of each row's ids, and the ids.
    multi: Vec<(Vec<u32>, Vec<u32>)>,
    /// Per row of the block, `Ok(())` or what is wrong.
    status: Vec<Result<(), String>>,
    keeps: Vec<Vec<u8>>,
}

/// Scores the rows of `input` with a saved model, writing `[kept columns,]probability` CSV to
/// `out` in input order.
pub fn predict(
    saved: &mut Saved,
    input: &Path,
    keep: &[String],
    out: &mut dyn Write,
    progress: &crate::data::progress::Progress,
) -> Result<Outcome> {
    let t0 = std::time::Instant::now();
    let pre = saved.header.preprocess.clone();
    let lookup = Lookup::new(&pre, &saved.vocab)
        .map_err(|e| anyhow::anyhow!("the model's vocabulary is damaged: {e}"))?;
    let mut reader = reader(&pre)?;
    let file =
        std::fs::File::open(input).with_context(|| format!("cannot read {}", input.display()))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut lines = std::io::BufReader::with_capacity(1 << 20, file);
    let fail = |line: usize, message: String| RowError {
        file: input.to_path_buf(),
        line,
        message,
    };
    progress.start_bytes(total, "scoring");
    let mut outcome = Outcome::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut no = 0usize;
    let mut keeper: Option<Keep> = None;
    let mut text: Vec<u8> = Vec::with_capacity(BATCH * 64);
    let mut spans: Vec<(usize, usize, usize)> = Vec::with_capacity(BATCH);
    let mut all_probs: Vec<f32> = Vec::new();
    let mut all_labels: Vec<u8> = Vec::new();
    let mut started = false;
    let n = pre.fields.len();
    let multi_fields: Vec<usize> = (0..n)
        .filter(|&f| matches!(pre.fields[f].kind, FieldKind::Multi { .. }))
        .collect();
    let single: Vec<usize> = (0..n)
        .filter(|&f| !matches!(pre.fields[f].kind, FieldKind::Multi { .. }))
        .collect();
    loop {
        buf.clear();
        let got = lines
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {}", input.display()))?;
        outcome.bytes += got as u64;
        let eof = got == 0;
        if !eof {
            no += 1;
            let mut line: &[u8] = &buf;
            if line.last() == Some(&b'\n') {
                line = &line[..line.len() - 1];
            }
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                if !started {
                    started = true;
                    if let Err(e) = std::str::from_utf8(line) {
                        bail!(fail(
                            no,
                            format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1)
                        ));
                    }
                    let header = reader.start_file(line).map_err(|m| fail(no, m))?;
                    if !keep.is_empty() {
                        let format = pre.format.as_ref().expect("a reader exists");
                        if !header {
                            bail!(
                                "`--keep` copies named columns, and {} has no header",
                                input.display()
                            );
                        }
                        keeper = Some(Keep::new(keep, format, line).map_err(|m| fail(no, m))?);
                    }
                    let mut head: Vec<u8> = Vec::new();
                    for name in keep {
                        head.extend_from_slice(name.as_bytes());
                        head.push(b',');
                    }
                    head.extend_from_slice(b"probability\n");
                    out.write_all(&head).context("cannot write the scores")?;
                    if !header {
                        text.extend_from_slice(line);
                        spans.push((no, 0, text.len()));
                    }
                } else {
                    let a = text.len();
                    text.extend_from_slice(line);
                    spans.push((no, a, text.len()));
                }
            }
        }
        if spans.len() >= BATCH || (eof && !spans.is_empty()) {
            let block = score_block(
                saved,
                &lookup,
                reader.as_ref(),
                keeper.as_ref(),
                &text,
                &spans,
                &single,
                multi_fields.len(),
            );
            let (rows, probs) = block;
            let mut p = probs.iter();
            let mut line_out: Vec<u8> = Vec::new();
            for (i, status) in rows.status.iter().enumerate() {
                line_out.clear();
                if let Some(k) = rows.keeps.get(i) {
                    line_out.extend_from_slice(k);
                    line_out.push(b',');
                }
                match status {
                    Ok(()) => {
                        let prob = p.next().expect("one probability per good row");
                        write!(line_out, "{prob}").expect("writing to memory");
                    }
                    Err(m) => {
                        let err = fail(spans[i].0, m.clone());
                        match pre.on_error {
                            OnError::Fail => return Err(err.into()),
                            OnError::Skip => {
                                outcome.skipped.count += 1;
                                if outcome.skipped.first.len() < LISTED_SKIPS {
                                    outcome.skipped.first.push(SkippedRow {
                                        file: input.display().to_string(),
                                        line: spans[i].0,
                                        error: m.clone(),
                                    });
                                }
                            }
                        }
                    }
                }
                line_out.push(b'\n');
                out.write_all(&line_out)
                    .context("cannot write the scores")?;
            }
            outcome.rows += probs.len() as u64;
            // AUC needs every score; rows without labels keep nothing, so memory stays flat.
            if reader.labelled() {
                all_probs.extend_from_slice(&probs);
                all_labels.extend_from_slice(&rows.labels);
            }
            text.clear();
            spans.clear();
            progress.set(outcome.bytes, outcome.rows);
        }
        if eof {
            break;
        }
    }
    progress.finish();
    if !started {
        bail!("{}: the file is empty", input.display());
    }
    out.flush().context("cannot write the scores")?;
    outcome.labelled = reader.labelled();
    if outcome.labelled && !all_probs.is_empty() {
        outcome.auc = crate::metrics::auc(&all_probs, &all_labels);
        outcome.logloss = Some(crate::metrics::logloss(&all_probs, &all_labels));
    }
    outcome.seconds = t0.elapsed().as_secs_f64();
    Ok(outcome)
}

/// Parses, maps and scores one block of lines; returns the rows (status per line) and the
/// probabilities of the good ones.
#[allow(clippy::too_many_arguments)]
fn score_block(
    saved: &mut Saved,
    lookup: &Lookup,
    reader: &dyn Reader,
    keeper: Option<&Keep>,
    text: &[u8],
    spans: &[(usize, usize, usize)],
    single: &[usize],
    n_multi: usize,
) -> (Rows, Vec<f32>) {
    const PART: usize = 1024;
    let parts: Vec<Rows> = spans
        .par_chunks(PART)
        .map(|chunk| {
            let mut r = Rows {
                multi: (0..n_multi).map(|_| Default::default()).collect(),
                ..Default::default()
            };
            let mut cells = Vec::new();
            let mut ids = Vec::new();
            let mut kspans = Vec::new();
            for &(_, a, b) in chunk {
                let line = &text[a..b];
                if let Some(k) = keeper {
                    let mut kept = Vec::new();
                    k.cells(line, &mut kspans, &mut kept);
                    r.keeps.push(kept);
                }
                if let Err(e) = std::str::from_utf8(line) {
                    r.status.push(Err(format!(
                        "invalid UTF-8 at byte {} of the line",
                        e.valid_up_to() + 1
                    )));
                    continue;
                }
                let label = match reader.parse(line, &mut cells) {
                    Ok(l) => l,
                    Err(m) => {
                        r.status.push(Err(m));
                        continue;
                    }
                };
                r.status.push(Ok(()));
                r.labels.push(label);
                let mut m = 0;
                for (f, &cell) in cells.iter().enumerate() {
                    ids.clear();
                    lookup.ids(f, cell, &mut ids);
                    if single.contains(&f) {
                        r.matrix.push(ids[0]);
                    } else {
                        r.multi[m].0.push(ids.len() as u32);
                        r.multi[m].1.extend_from_slice(&ids);
                        m += 1;
                    }
                }
            }
            r
        })
        .collect();
    let mut all = Rows {
        multi: (0..n_multi).map(|_| Default::default()).collect(),
        ..Default::default()
    };
    for p in parts {
        all.labels.extend(p.labels);
        all.matrix.extend(p.matrix);
        all.status.extend(p.status);
        all.keeps.extend(p.keeps);
        for (a, b) in all.multi.iter_mut().zip(p.multi) {
            a.0.extend(b.0);
            a.1.extend(b.1);
        }
    }
    let rows = all.labels.len();
    if rows == 0 {
        return (all, vec![]);
    }
    let multi: Vec<(Vec<u32>, Vec<u32>)> = all
        .multi
        .iter()
        .map(|(counts, ids)| {
            let mut offsets = Vec::with_capacity(rows + 1);
            offsets.push(0u32);
            for &c in counts {
                offsets.push(offsets.last().expect("starts with 0") + c);
            }
            (offsets, ids.clone())
        })
        .collect();
    let batch = Batch::new(rows, single.len(), std::mem::take(&mut all.matrix), multi)
        .expect("the rows' ids fill the batch");
    let probs = saved.model.predict(&batch);
    (all, probs)
}
