//! Pass 1: read every line (in large chunks), parse it in parallel, intern each field's values
//! in order of first appearance, and stream the provisional ids to a temporary matrix; memory
//! holds only the vocabularies and the labels.

mod absorb;
mod parquet;

use super::*;

/// Lines parsed per parallel task.
pub(super) const PARSE_BLOCK: usize = 2048;

/// One parallel task's parse of a block of lines.
#[derive(Default)]
pub(super) struct Parsed<'t> {
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

pub(super) fn clear<T>(mut v: Vec<T>) -> Vec<T> {
    v.clear();
    v
}

/// Empties a vector of cells and lets it borrow from other text; the in-place collect keeps the
/// allocation, as both element types have the same layout.
pub(super) fn relife<'a, 'b>(mut v: Vec<Cell<'a>>) -> Vec<Cell<'b>> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

/// Bytes read at a time.
pub(super) const CHUNK: usize = 8 << 20;

/// A cell's provisional id in its field.
#[inline]
pub(super) fn intern(
    interner: &mut Interner,
    kind: FieldKind,
    cell: Cell<'_>,
    numeric: Bucketing,
) -> u32 {
    match (kind, cell) {
        (FieldKind::Numeric, Cell::Num(x)) => interner.num(Some(vocab::bucket(x, numeric))),
        (FieldKind::Numeric, _) => interner.num(None),
        (_, Cell::Cat(v)) | (_, Cell::Multi(v)) => interner.cat(v),
        (_, Cell::Num(x)) => interner.num(Some(x.floor() as i64)),
        // Lists only come from multi-valued fields, which intern their items instead.
        (_, Cell::Missing) | (_, Cell::List(_)) => interner.cat(b""),
    }
}

/// How many skipped rows are listed by line number.
pub(super) const LISTED_SKIPS: usize = 5;

/// Runs pass 1 over `files`, in order: what it found, ready for the later passes. A file with no
/// data rows is an error naming it.
pub(super) fn run(
    input: &mut Input<'_>,
    files: &[PathBuf],
    opts: &Options,
    dir: &Path,
    progress: &Progress,
) -> Result<Provisional> {
    // ---- pass 1: parse, intern, write provisional ids
    let mut pass1 = Pass1::new(dir)?;
    for path in files {
        let before = pass1.found.rows;
        let skipped_before = pass1.found.skipped.count;
        match input {
            Input::Lines(reader) => pass1.read_file(&mut **reader, path, opts, progress)?,
            Input::Parquet(spec) => pass1.read_parquet(spec, path, opts, progress)?,
        }
        let rows = pass1.found.rows - before;
        if rows == 0 {
            let why = match (
                pass1.found.skipped.count - skipped_before,
                pass1.header_seen,
            ) {
                (0, true) => " (only a header)".to_string(),
                (0, false) => String::new(),
                (n, _) => format!(" ({n} malformed rows skipped)"),
            };
            bail!("{}: no data rows{why}", path.display());
        }
        pass1.found.file_rows.push(rows);
    }
    let Pass1 { found, prov, .. } = pass1;
    let mut prov = prov
        .into_inner()
        .map_err(|e| e.into_error())
        .context("cannot write the temporary id matrix")?;
    prov.flush()?;
    drop(prov);
    Ok(found)
}

/// State of the first pass: what it has found so far, and its buffers.
pub(super) struct Pass1 {
    found: Provisional,
    prov: BufWriter<File>,
    pending: Vec<u32>,
    parse_bufs: Vec<Parsed<'static>>,
    /// Per field, the provisional ids of the current Parquet dictionary's entries (`u32::MAX`:
    /// not met yet), and that dictionary's number.
    dictionary_ids: Vec<(u64, Vec<u32>)>,
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
            found: Provisional {
                rows: 0,
                labels: Vec::new(),
                fields: Vec::new(),
                interners: Vec::new(),
                multi: Vec::new(),
                skipped: Skipped::default(),
                prov_path,
                file_rows: Vec::new(),
            },
            prov: BufWriter::with_capacity(4 << 20, f),
            pending: Vec::with_capacity(1 << 16),
            parse_bufs: Vec::new(),
            dictionary_ids: Vec::new(),
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
            progress.set(self.bytes_done, self.found.rows as u64);
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
            parquet: false,
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
            if self.found.interners.is_empty() {
                self.set_fields(reader.fields());
            }
            self.header_seen = header;
        }
        let skip_header =
            usize::from(self.lines_in_file == 0 && self.header_seen && !lines.is_empty());
        self.lines_in_file += lines.len();
        let reader: &dyn Reader = reader;
        let n = self.found.fields.len();

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
        self.absorb(parsed, &fail, opts)?;
        Ok(no)
    }

    /// The fields' interners and list buffers, set up by the first file.
    fn set_fields(&mut self, fields: &[FieldDef]) {
        self.found.fields = fields.to_vec();
        self.found.interners = fields.iter().map(|_| Interner::new()).collect();
        let n_multi = fields
            .iter()
            .filter(|f| matches!(f.kind, FieldKind::Multi { .. }))
            .count();
        self.found.multi = (0..n_multi).map(|_| (vec![0u64], Vec::new())).collect();
        self.dictionary_ids = fields.iter().map(|_| (0, Vec::new())).collect();
    }
}
