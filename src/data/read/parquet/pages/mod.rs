//! Flat string columns read page by page, without the parquet crate's value decoders.
//!
//! The crate hands every value over as a reference-counted `ByteArray`, which cost a quarter of
//! Parquet ingest (issue 14). Here the definition levels and dictionary indices are decoded from
//! the pages directly and each value's text is copied straight from its dictionary entry (or
//! its PLAIN bytes) into the batch. Only the encodings CTR files use are read this way: PLAIN
//! and dictionary values, RLE levels, in v1 or v2 pages; a column chunk with any other
//! encoding goes through the crate's reader instead (`File::for_each_batch` decides).

use super::column::Dictionary;
use super::Column;
use ::parquet::basic::Encoding;
use ::parquet::column::page::{Page, PageReader};
use bytes::Bytes;
use std::sync::Arc;

/// Whether a column chunk with these encodings can be read here.
pub(super) fn readable(encodings: &[Encoding]) -> bool {
    encodings.iter().all(|e| {
        matches!(
            e,
            Encoding::PLAIN | Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY | Encoding::RLE
        )
    })
}

/// The RLE / bit-packed hybrid encoding of levels and dictionary indices.
struct Hybrid {
    data: Bytes,
    pos: usize,
    width: usize,
    rle_left: usize,
    rle_value: u32,
    packed_left: usize,
    packed_bit: usize,
}

impl Hybrid {
    fn new(data: Bytes, width: usize) -> Result<Hybrid, String> {
        if width > 32 {
            return Err(format!("a bit width of {width}"));
        }
        Ok(Hybrid {
            data,
            pos: 0,
            width,
            rle_left: 0,
            rle_value: 0,
            packed_left: 0,
            packed_bit: 0,
        })
    }

    #[inline]
    fn next(&mut self) -> Result<u32, String> {
        loop {
            if self.rle_left > 0 {
                self.rle_left -= 1;
                return Ok(self.rle_value);
            }
            if self.packed_left > 0 {
                self.packed_left -= 1;
                let v = self.bits(self.packed_bit)?;
                self.packed_bit += self.width;
                return Ok(v);
            }
            let header = self.uleb()?;
            let count = usize::try_from(header >> 1).map_err(|_| "a run too long")?;
            if header & 1 == 1 {
                // `count` groups of 8 values; the last run of a page may be cut short, which
                // only matters if its missing values are read.
                self.packed_left = count.checked_mul(8).ok_or("a run too long")?;
                self.packed_bit = self.pos * 8;
                let bytes = count.checked_mul(self.width).ok_or("a run too long")?;
                self.pos = self.pos.saturating_add(bytes).min(self.data.len());
            } else {
                let n = self.width.div_ceil(8);
                let b = self
                    .data
                    .get(self.pos..self.pos + n)
                    .ok_or("a run's value is cut off")?;
                self.rle_value = b.iter().rev().fold(0u32, |v, &x| (v << 8) | u32::from(x));
                self.pos += n;
                self.rle_left = count;
            }
        }
    }

    /// The `width` bits at bit `at`, little-endian.
    #[inline]
    fn bits(&self, at: usize) -> Result<u32, String> {
        if self.width == 0 {
            return Ok(0);
        }
        let mask = (1u64 << self.width) - 1;
        // At most 32 bits from bit 0–7 of a byte: one unaligned 8-byte load, away from the end.
        if let Some(b) = self.data.get(at / 8..at / 8 + 8) {
            let v = u64::from_le_bytes(b.try_into().expect("8 bytes"));
            return Ok(((v >> (at % 8)) & mask) as u32);
        }
        let (first, last) = (at / 8, (at + self.width).div_ceil(8));
        let b = self
            .data
            .get(first..last)
            .ok_or("bit-packed values are cut off")?;
        let v = b.iter().rev().fold(0u64, |v, &x| (v << 8) | u64::from(x));
        Ok(((v >> (at % 8)) & mask) as u32)
    }

    fn uleb(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .data
                .get(self.pos)
                .ok_or("levels or indices end early")?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("a run header too long".into())
    }
}

/// A data page's values.
enum Values {
    Dict(Hybrid),
    Plain { data: Bytes, pos: usize },
}

/// A flat string column chunk, read page by page.
pub(super) struct StringPages {
    pages: Box<dyn PageReader>,
    max_def: i16,
    /// The chunk's dictionary once its page is read, shared with the batches read from it.
    dict: Option<Arc<Dictionary>>,
    /// Per dictionary entry, whether it is UTF-8. The text of one that is not is copied into
    /// the batch as a value of its own, where the batch's UTF-8 check names its rows.
    utf8: Vec<bool>,
    left: usize,
    def: Option<Hybrid>,
    values: Option<Values>,
}

/// Numbers dictionaries process-wide, so that no two ever share one.
static DICTIONARIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl StringPages {
    pub(super) fn new(pages: Box<dyn PageReader>, max_def: i16) -> StringPages {
        StringPages {
            pages,
            max_def,
            dict: None,
            utf8: Vec::new(),
            left: 0,
            def: None,
            values: None,
        }
    }

    /// Reads up to `rows` rows into `out` (its `rows`, text values and dictionary entries);
    /// returns how many it read.
    pub(super) fn read(&mut self, rows: usize, out: &mut Column) -> Result<usize, String> {
        let mut done = 0;
        while done < rows {
            if self.left == 0 && !self.next_page()? {
                break;
            }
            let n = (rows - done).min(self.left);
            for _ in 0..n {
                let defined = match &mut self.def {
                    Some(d) => {
                        let level = d.next()?;
                        if level > self.max_def as u32 {
                            return Err(format!("a definition level of {level}"));
                        }
                        level == self.max_def as u32
                    }
                    None => true,
                };
                if defined {
                    match self.values.as_mut().ok_or("a page without values")? {
                        Values::Dict(h) => {
                            let k = h.next()? as usize;
                            match self.utf8.get(k) {
                                Some(true) => {
                                    out.ends.push(out.text.len() as u32);
                                    out.entries.push(k as u32);
                                }
                                Some(false) => {
                                    let d = self.dict.as_ref().expect("entries have a dictionary");
                                    out.push_text(d.entry(k));
                                    out.entries.push(u32::MAX);
                                }
                                None => {
                                    return Err(format!(
                                        "dictionary index {k} past its {} entries",
                                        self.utf8.len()
                                    ))
                                }
                            }
                        }
                        Values::Plain { data, pos } => {
                            let t = plain(data, pos)?;
                            out.push_text(t);
                            out.entries.push(u32::MAX);
                        }
                    }
                }
                out.rows.push(out.ends.len() as u32);
            }
            self.left -= n;
            done += n;
        }
        out.dict.clone_from(&self.dict);
        Ok(done)
    }

    /// Moves to the next data page (loading a dictionary page on the way); false at the end.
    fn next_page(&mut self) -> Result<bool, String> {
        let width = (16 - (self.max_def as u16).leading_zeros()) as usize;
        loop {
            let page = match self.pages.get_next_page().map_err(|e| e.to_string())? {
                Some(p) => p,
                None => return Ok(false),
            };
            match page {
                Page::DictionaryPage {
                    buf, num_values, ..
                } => {
                    // One per column chunk: entries read before a second one would be numbered
                    // as its entries.
                    if self.dict.is_some() {
                        return Err("a second dictionary page in one column chunk".into());
                    }
                    let mut dict = Dictionary {
                        number: DICTIONARIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                        bytes: Vec::new(),
                        starts: vec![0],
                    };
                    self.utf8.clear();
                    let mut pos = 0;
                    for _ in 0..num_values {
                        let t = plain(&buf, &mut pos)?;
                        self.utf8.push(std::str::from_utf8(t).is_ok());
                        dict.bytes.extend_from_slice(t);
                        let end = u32::try_from(dict.bytes.len())
                            .map_err(|_| "a dictionary of more than 4 GiB")?;
                        dict.starts.push(end);
                    }
                    self.dict = Some(Arc::new(dict));
                }
                Page::DataPage {
                    buf,
                    num_values,
                    encoding,
                    def_level_encoding,
                    ..
                } => {
                    let mut pos = 0;
                    self.def = None;
                    if self.max_def > 0 {
                        if def_level_encoding != Encoding::RLE {
                            return Err(format!("definition levels in {def_level_encoding}"));
                        }
                        let len = u32::from_le_bytes(
                            buf.get(0..4)
                                .ok_or("a page too short")?
                                .try_into()
                                .expect("4 bytes"),
                        ) as usize;
                        let levels = buf.get(4..4 + len).ok_or("a page too short")?;
                        self.def = Some(Hybrid::new(buf.slice_ref(levels), width)?);
                        pos = 4 + len;
                    }
                    self.values = Some(values(buf.slice(pos..), encoding)?);
                    self.left = num_values as usize;
                    return Ok(true);
                }
                Page::DataPageV2 {
                    buf,
                    num_values,
                    encoding,
                    def_levels_byte_len,
                    rep_levels_byte_len,
                    ..
                } => {
                    let rep = rep_levels_byte_len as usize;
                    let end = rep + def_levels_byte_len as usize;
                    if end > buf.len() {
                        return Err("a page too short".into());
                    }
                    self.def = match self.max_def {
                        0 => None,
                        _ => Some(Hybrid::new(buf.slice(rep..end), width)?),
                    };
                    self.values = Some(values(buf.slice(end..), encoding)?);
                    self.left = num_values as usize;
                    return Ok(true);
                }
            }
        }
    }
}

/// The values of a data page in `encoding`.
fn values(data: Bytes, encoding: Encoding) -> Result<Values, String> {
    match encoding {
        Encoding::PLAIN => Ok(Values::Plain { data, pos: 0 }),
        Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY => {
            let width = *data.first().ok_or("a page without values")? as usize;
            Ok(Values::Dict(Hybrid::new(data.slice(1..), width)?))
        }
        e => Err(format!("values in {e}")),
    }
}

/// The next PLAIN byte array at `pos` (a 4-byte little-endian length, then the bytes).
fn plain<'d>(data: &'d [u8], pos: &mut usize) -> Result<&'d [u8], String> {
    let len = data
        .get(*pos..*pos + 4)
        .ok_or("a value is cut off")?
        .try_into()
        .map(u32::from_le_bytes)
        .expect("4 bytes") as usize;
    let t = data
        .get(*pos + 4..*pos + 4 + len)
        .ok_or("a value is cut off")?;
    *pos += 4 + len;
    Ok(t)
}

#[cfg(test)]
mod tests;
