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
    Cat(CatKeys),
    /// A number's bucket → id.
    Num(FxHashMap<i64, u32>),
}

/// Category text → id, with texts of up to 15 bytes (hex hashes, integer codes: nearly every
/// CTR category) packed into one integer, so a lookup hashes and compares 16 bytes in
/// registers instead of following a pointer to compare slices.
#[derive(Default)]
struct CatKeys {
    short: FxHashMap<u128, u32>,
    long: FxHashMap<Box<[u8]>, u32>,
}

impl CatKeys {
    /// The packed form of a text of at most 15 bytes: its bytes, then its length in the last
    /// byte, so two texts pack alike only when they are equal.
    fn pack(v: &[u8]) -> Option<u128> {
        (v.len() < 16).then(|| {
            let mut b = [0u8; 16];
            b[..v.len()].copy_from_slice(v);
            b[15] = v.len() as u8;
            u128::from_le_bytes(b)
        })
    }

    /// Adds a text; false if it was there already.
    fn insert(&mut self, v: &[u8], id: u32) -> bool {
        match Self::pack(v) {
            Some(k) => self.short.insert(k, id).is_none(),
            None => self.long.insert(v.into(), id).is_none(),
        }
    }

    fn get(&self, v: &[u8]) -> Option<u32> {
        match Self::pack(v) {
            Some(k) => self.short.get(&k).copied(),
            None => self.long.get(v).copied(),
        }
    }
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
                    let mut m = CatKeys::default();
                    for k in real {
                        if !m.insert(&texts[k], k as u32) {
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
            Keys::Cat(m) => m.get(v).unwrap_or(OOV),
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

/// One block of input lines, parsed and mapped to ids, ready for the model.
struct Block {
    /// The line number of each row of the block.
    lines: Vec<usize>,
    /// Per row, `Ok(())` or what is wrong with it.
    status: Vec<Result<(), String>>,
    /// The labels of the good rows.
    labels: Vec<u8>,
    /// The kept columns of every row, when `--keep` was given.
    keeps: Vec<Vec<u8>>,
    /// The good rows' ids (`None` when the block has none).
    batch: Option<Batch>,
    /// Input bytes read through the end of this block.
    bytes: u64,
}

/// What turns a block of lines into a [`Block`]: the saved preprocessing and the reader.
struct Parser<'a> {
    lookup: &'a Lookup,
    reader: &'a dyn Reader,
    keeper: Option<&'a Keep>,
    /// Which fields hold one id per row (the rest are multi-valued).
    single: Vec<bool>,
    n_multi: usize,
}

impl Parser<'_> {
    /// Parses and maps the lines `spans` of `text`.
    fn block(&self, text: &[u8], spans: &[(usize, usize, usize)], bytes: u64) -> Block {
        let mut status = Vec::with_capacity(spans.len());
        let mut labels = Vec::with_capacity(spans.len());
        let mut keeps = Vec::new();
        let n_single = self.single.iter().filter(|&&s| s).count();
        let mut matrix = Vec::with_capacity(spans.len() * n_single);
        // Per multi-valued field: offsets into its ids, and the ids.
        let mut multi: Vec<(Vec<u32>, Vec<u32>)> =
            (0..self.n_multi).map(|_| (vec![0], Vec::new())).collect();
        let mut cells = Vec::new();
        let mut ids = Vec::new();
        let mut kspans = Vec::new();
        for &(_, a, b) in spans {
            let line = &text[a..b];
            if let Some(k) = self.keeper {
                let mut kept = Vec::new();
                k.cells(line, &mut kspans, &mut kept);
                keeps.push(kept);
            }
            if let Err(e) = std::str::from_utf8(line) {
                status.push(Err(format!(
                    "invalid UTF-8 at byte {} of the line",
                    e.valid_up_to() + 1
                )));
                continue;
            }
            match self.reader.parse(line, &mut cells) {
                Ok(label) => {
                    status.push(Ok(()));
                    labels.push(label);
                }
                Err(m) => {
                    status.push(Err(m));
                    continue;
                }
            }
            let mut m = 0;
            for (f, &cell) in cells.iter().enumerate() {
                if self.single[f] {
                    ids.clear();
                    self.lookup.ids(f, cell, &mut ids);
                    matrix.push(ids[0]);
                } else {
                    let (offsets, all) = &mut multi[m];
                    self.lookup.ids(f, cell, all);
                    offsets.push(all.len() as u32);
                    m += 1;
                }
            }
        }
        let rows = labels.len();
        let batch = (rows > 0).then(|| {
            Batch::new(rows, n_single, matrix, multi).expect("the rows' ids fill the batch")
        });
        Block {
            lines: spans.iter().map(|s| s.0).collect(),
            status,
            labels,
            keeps,
            batch,
            bytes,
        }
    }
}

/// Lowers the calling thread's priority to the least (nice 19). The reader thread then runs
/// where the model leaves a core idle instead of preempting one of the model's threads, which
/// stalls the model's parallel sections at their joins; when the model waits for the next
/// block it sleeps, and the reader has the core. Elsewhere than Linux, where `setpriority`
/// applies to the whole process, this does nothing.
fn background() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on this thread's own id; no memory is passed. A failure
    // (e.g. a sandbox forbidding it) leaves the priority as it was, which is only slower.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
    }
}

/// Reads the data lines after the first, in blocks of [`BATCH`] non-blank lines, and sends
/// each parsed block down `tx` until the input ends, a read fails or the receiver hangs up.
/// `first` is the first data line, when the file has no header to hold it.
fn produce(
    mut input: impl BufRead,
    path: &Path,
    parser: &Parser<'_>,
    first: Option<(usize, Vec<u8>)>,
    mut no: usize,
    mut bytes: u64,
    tx: &std::sync::mpsc::SyncSender<Result<Block>>,
) {
    background();
    let mut text: Vec<u8> = Vec::with_capacity(BATCH * 64);
    let mut spans: Vec<(usize, usize, usize)> = Vec::with_capacity(BATCH);
    if let Some((n, line)) = first {
        text.extend_from_slice(&line);
        spans.push((n, 0, text.len()));
    }
    loop {
        let a = text.len();
        let got = match input.read_until(b'\n', &mut text) {
            Ok(got) => got,
            Err(e) => {
                let _ = tx.send(Err(
                    anyhow::Error::new(e).context(format!("cannot read {}", path.display()))
                ));
                return;
            }
        };
        bytes += got as u64;
        let eof = got == 0;
        if !eof {
            no += 1;
            let mut b = text.len();
            if text[b - 1] == b'\n' {
                b -= 1;
            }
            if b > a && text[b - 1] == b'\r' {
                b -= 1;
            }
            if text[a..b].iter().all(u8::is_ascii_whitespace) {
                text.truncate(a);
            } else {
                text.truncate(b);
                spans.push((no, a, b));
            }
        }
        if spans.len() >= BATCH || (eof && !spans.is_empty()) {
            if tx.send(Ok(parser.block(&text, &spans, bytes))).is_err() {
                return;
            }
            text.clear();
            spans.clear();
        }
        if eof {
            return;
        }
    }
}

/// Scores the rows of `input` with a saved model, writing `[kept columns,]probability` CSV to
/// `out` in input order.
///
/// One thread reads and parses the next block while this one scores the last, so parsing
/// costs little wall time where the model leaves a core idle. At most three blocks are alive
/// at once: memory is flat in the input size, but for the 5 bytes per labelled row that the
/// exact AUC needs.
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

    // The first non-blank line: a header, or the first row; either way it tells the reader
    // how the file is laid out.
    let mut buf: Vec<u8> = Vec::new();
    let mut no = 0usize;
    let first = loop {
        buf.clear();
        let got = lines
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {}", input.display()))?;
        if got == 0 {
            bail!("{}: the file is empty", input.display());
        }
        outcome.bytes += got as u64;
        no += 1;
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(u8::is_ascii_whitespace) {
            break line.to_vec();
        }
    };
    if let Err(e) = std::str::from_utf8(&first) {
        bail!(fail(
            no,
            format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1)
        ));
    }
    let header = reader.start_file(&first).map_err(|m| fail(no, m))?;
    let keeper = if keep.is_empty() {
        None
    } else {
        let format = pre.format.as_ref().expect("a reader exists");
        if !header {
            bail!(
                "`--keep` copies named columns, and {} has no header",
                input.display()
            );
        }
        Some(Keep::new(keep, format, &first).map_err(|m| fail(no, m))?)
    };
    let mut head: Vec<u8> = Vec::new();
    for name in keep {
        head.extend_from_slice(name.as_bytes());
        head.push(b',');
    }
    head.extend_from_slice(b"probability\n");
    out.write_all(&head).context("cannot write the scores")?;

    let single: Vec<bool> = pre
        .fields
        .iter()
        .map(|f| !matches!(f.kind, FieldKind::Multi { .. }))
        .collect();
    let n_multi = single.iter().filter(|&&s| !s).count();
    let parser = Parser {
        lookup: &lookup,
        reader: reader.as_ref(),
        keeper: keeper.as_ref(),
        single,
        n_multi,
    };
    let first_row = (!header).then_some((no, first));
    let mut all_probs: Vec<f32> = Vec::new();
    let mut all_labels: Vec<u8> = Vec::new();
    let labelled = reader.labelled();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Block>>(1);
    let start_bytes = outcome.bytes;
    std::thread::scope(|s| -> Result<()> {
        let parser = &parser;
        s.spawn(move || produce(lines, input, parser, first_row, no, start_bytes, &tx));
        // `rx` is dropped on every way out, so the reader stops at its next block.
        let rx = rx;
        let mut line_out: Vec<u8> = Vec::new();
        for block in rx.iter() {
            let block = block?;
            let probs = block
                .batch
                .as_ref()
                .map(|b| saved.model.predict(b))
                .unwrap_or_default();
            let mut p = probs.iter();
            for (i, status) in block.status.iter().enumerate() {
                line_out.clear();
                if let Some(k) = block.keeps.get(i) {
                    line_out.extend_from_slice(k);
                    line_out.push(b',');
                }
                match status {
                    Ok(()) => {
                        let prob = p.next().expect("one probability per good row");
                        write!(line_out, "{prob}").expect("writing to memory");
                    }
                    Err(m) => match pre.on_error {
                        OnError::Fail => return Err(fail(block.lines[i], m.clone()).into()),
                        OnError::Skip => {
                            outcome.skipped.count += 1;
                            if outcome.skipped.first.len() < LISTED_SKIPS {
                                outcome.skipped.first.push(SkippedRow {
                                    file: input.display().to_string(),
                                    line: block.lines[i],
                                    error: m.clone(),
                                });
                            }
                        }
                    },
                }
                line_out.push(b'\n');
                out.write_all(&line_out)
                    .context("cannot write the scores")?;
            }
            outcome.rows += probs.len() as u64;
            outcome.bytes = block.bytes;
            // AUC needs every score; rows without labels keep nothing, so memory stays flat.
            if labelled {
                all_probs.extend_from_slice(&probs);
                all_labels.extend_from_slice(&block.labels);
            }
            progress.set(outcome.bytes, outcome.rows);
        }
        Ok(())
    })?;
    progress.finish();
    out.flush().context("cannot write the scores")?;
    outcome.labelled = labelled;
    if outcome.labelled && !all_probs.is_empty() {
        outcome.auc = crate::metrics::auc(&all_probs, &all_labels);
        outcome.logloss = Some(crate::metrics::logloss(&all_probs, &all_labels));
    }
    outcome.seconds = t0.elapsed().as_secs_f64();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packed and unpacked texts never collide: a text, its NUL-padded forms and a longer
    /// text with the same prefix are all different keys; texts past 15 bytes still resolve.
    #[test]
    fn category_keys_keep_every_text_apart() {
        let texts: Vec<&[u8]> = vec![
            b"",
            b"a",
            b"a\0",
            b"a\0\0",
            b"\0",
            b"\x01",
            b"abcdefghijklmno",
            b"abcdefghijklmn\x0f",
            b"abcdefghijklmnop",
            b"abcdefghijklmnopq",
            b"68fd1e64",
        ];
        let mut k = CatKeys::default();
        for (i, t) in texts.iter().enumerate() {
            assert!(k.insert(t, i as u32), "{t:?} collided");
        }
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(k.get(t), Some(i as u32), "{t:?}");
        }
        assert!(!k.insert(b"a", 99), "a repeat is reported");
        assert_eq!(k.get(b"b"), None);
        assert_eq!(k.get(b"abcdefghijklmnopqr"), None);
        assert_eq!((k.short.len(), k.long.len()), (9, 2));
    }
}
