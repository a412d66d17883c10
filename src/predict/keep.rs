//! `--keep`: named input columns copied in front of each score.

use crate::data::read;
use crate::spec::FileFormat;

/// What `--keep` copies: named columns of a format with a header.
pub(super) struct Keep {
    /// The header's column index of each kept column.
    columns: Vec<usize>,
    delimiter: u8,
    quoted: bool,
}

impl Keep {
    pub(super) fn new(
        names: &[String],
        format: &FileFormat,
        header: &[u8],
    ) -> Result<Self, String> {
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
    pub(super) fn cells(&self, line: &[u8], spans: &mut Vec<(usize, usize)>, out: &mut Vec<u8>) {
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
