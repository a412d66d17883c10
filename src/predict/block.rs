//! The reader thread: lines → blocks of parsed, mapped rows for the model.

use crate::data::read::Reader;
use crate::data::Batch;
use anyhow::Result;
use std::io::BufRead;
use std::path::Path;

use super::keep::Keep;
use super::lookup::Lookup;
use super::BATCH;

/// One block of input lines, parsed and mapped to ids, ready for the model.
pub(super) struct Block {
    /// The line number of each row of the block.
    pub(super) lines: Vec<usize>,
    /// Per row, `Ok(())` or what is wrong with it.
    pub(super) status: Vec<Result<(), String>>,
    /// The labels of the good rows.
    pub(super) labels: Vec<u8>,
    /// The kept columns of every row, when `--keep` was given.
    pub(super) keeps: Vec<Vec<u8>>,
    /// The good rows' ids (`None` when the block has none).
    pub(super) batch: Option<Batch>,
    /// Input bytes read through the end of this block.
    pub(super) bytes: u64,
}

/// What turns a block of lines into a [`Block`]: the saved preprocessing and the reader.
pub(super) struct Parser<'a> {
    pub(super) lookup: &'a Lookup,
    pub(super) reader: &'a dyn Reader,
    pub(super) keeper: Option<&'a Keep>,
    /// Which fields hold one id per row (the rest are multi-valued).
    pub(super) single: Vec<bool>,
    pub(super) n_multi: usize,
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
pub(super) fn produce(
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
        // At the end a block is sent even when empty: it carries the last byte count.
        if spans.len() >= BATCH || eof {
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
