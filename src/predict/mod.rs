//! `aim predict`'s work: raw rows → the saved preprocessing → ids → probabilities, streamed in
//! batches, in input order. The same readers as ingest parse the rows, so a malformed row gets
//! the same `FILE:LINE: what` error (or is counted under `on_error = skip`), and the same ids
//! reach the model as training gave it: a category unseen in training, or too rare there, is
//! the field's out-of-vocabulary id 0; an empty cell is the field's missing id.

mod block;
mod keep;
mod lookup;

pub use lookup::Lookup;

use block::{produce, Block, Parser};
use keep::Keep;

use crate::data::ingest::RowError;
use crate::data::meta::{Skipped, SkippedRow};
use crate::data::read::{self, FieldKind, Reader};
use crate::saved::{Preprocess, Saved};
use crate::spec::{FileFormat, OnError};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, Write};
use std::path::Path;

/// Rows scored per batch: the batch the stages evaluate with, so that the scores are the
/// model's own evaluation's, bit for bit.
pub const BATCH: usize = 16_384;

/// How many skipped rows are listed by line number.
const LISTED_SKIPS: usize = 5;
/// The reader of a saved model's format, allowed to meet rows without labels.
pub fn reader(pre: &Preprocess) -> Result<Box<dyn Reader>> {
    let mut r: Box<dyn Reader> = match &pre.format {
        Some(FileFormat::Criteo) => Box::new(read::Criteo::default()),
        Some(FileFormat::Avazu) => Box::new(read::Avazu::default()),
        Some(FileFormat::Libfm) => Box::new(read::Libfm::default()),
        Some(FileFormat::Csv(c)) => Box::new(read::Csv::new(c.clone())),
        Some(FileFormat::Parquet(c)) => Box::new(read::Csv::new(c.clone())),
        None => bail!(
            "the model was trained on synthetic data, which has no raw rows to score: write them out with `aim data SPEC --export tsv --split test -o rows.tsv` and score that file with a model trained from a `format = csv` spec over the same rows"
        ),
    };
    r.allow_unlabelled();
    Ok(r)
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
    let mut magic = [0u8; 4];
    if std::io::Read::read_exact(&mut &file, &mut magic).is_ok() && &magic == b"PAR1" {
        bail!(
            "{}: a Parquet file; aim predict reads text rows (CSV with a header naming the model's columns; a Parquet-trained model reads them with `,` between cells)",
            input.display()
        );
    }
    std::io::Seek::rewind(&mut &file)
        .with_context(|| format!("cannot read {}", input.display()))?;
    let mut lines = std::io::BufReader::with_capacity(1 << 20, file);
    let fail = |line: usize, message: String| RowError {
        file: input.to_path_buf(),
        line,
        message,
        parquet: false,
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
                                    parquet: false,
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
