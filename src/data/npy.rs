//! The `.npy` format (version 1.0), so that numpy and other tools can read the cache directly.

use std::io::{self, Write};

/// An element type stored in `.npy` files: a plain integer or float. The trait is sealed (its
/// supertrait is private), so [`as_bytes_mut`]'s reinterpretation holds for every implementor:
/// none has padding or invalid bit patterns.
pub trait Element: Copy + 'static + sealed::Plain {
    /// numpy's type descriptor, e.g. `<u4`.
    const DESCR: &'static str;
}

mod sealed {
    /// Types for which every byte pattern is a valid value and which have no padding.
    pub trait Plain {}
    impl Plain for u8 {}
    impl Plain for u32 {}
    impl Plain for u64 {}
    impl Plain for f32 {}
    impl Plain for f64 {}
}

impl Element for u8 {
    const DESCR: &'static str = "|u1";
}
impl Element for u32 {
    const DESCR: &'static str = "<u4";
}
impl Element for u64 {
    const DESCR: &'static str = "<u8";
}
impl Element for f32 {
    const DESCR: &'static str = "<f4";
}
impl Element for f64 {
    const DESCR: &'static str = "<f8";
}

/// The header of an array of `shape`; its length is a multiple of 64 so the data is aligned.
pub fn header<T: Element>(shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        s => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {dims}, }}",
        T::DESCR
    );
    let unpadded = 10 + dict.len() + 1;
    let total = unpadded.div_ceil(64) * 64;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out
}

/// Writes a whole array.
pub fn write<T: Element, W: Write>(w: &mut W, shape: &[usize], data: &[T]) -> io::Result<()> {
    assert_eq!(
        shape.iter().product::<usize>(),
        data.len(),
        "shape matches data"
    );
    w.write_all(&header::<T>(shape))?;
    w.write_all(as_bytes(data))
}

/// Writes a whole array to a file (and syncs it).
pub fn write_file<T: Element>(
    path: &std::path::Path,
    shape: &[usize],
    data: &[T],
) -> anyhow::Result<()> {
    use anyhow::Context;
    let f =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut w = io::BufWriter::with_capacity(1 << 20, f);
    write(&mut w, shape, data).with_context(|| format!("cannot write {}", path.display()))?;
    w.into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// An array written to a file in pieces, its shape known up front, so that a generator never
/// holds it whole.
pub struct FileWriter<T: Element> {
    w: io::BufWriter<std::fs::File>,
    path: std::path::PathBuf,
    left: usize,
    _t: std::marker::PhantomData<T>,
}

impl<T: Element> FileWriter<T> {
    /// Creates `path` and writes the header of an array of `shape`.
    pub fn create(path: &std::path::Path, shape: &[usize]) -> anyhow::Result<Self> {
        use anyhow::Context;
        let f = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut w = io::BufWriter::with_capacity(1 << 20, f);
        w.write_all(&header::<T>(shape))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(FileWriter {
            w,
            path: path.to_path_buf(),
            left: shape.iter().product(),
            _t: std::marker::PhantomData,
        })
    }

    /// Appends the next values.
    pub fn push(&mut self, data: &[T]) -> anyhow::Result<()> {
        use anyhow::Context;
        anyhow::ensure!(
            data.len() <= self.left,
            "{}: more values than its shape holds",
            self.path.display()
        );
        self.left -= data.len();
        self.w
            .write_all(as_bytes(data))
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Checks every value was written, then flushes and syncs the file.
    pub fn finish(self) -> anyhow::Result<()> {
        use anyhow::Context;
        anyhow::ensure!(
            self.left == 0,
            "{}: {} values short of its shape",
            self.path.display(),
            self.left
        );
        let path = self.path;
        self.w
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// The bytes of a slice of plain numbers (little-endian on the machines we run on).
pub fn as_bytes<T: Element>(data: &[T]) -> &[u8] {
    // SAFETY: `Element` is sealed to plain integers and floats: no padding, and u8 has no
    // alignment, so the byte view covers exactly the slice's initialised memory.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast(), std::mem::size_of_val(data)) }
}

/// The bytes of a mutable slice of plain numbers, to read into.
pub fn as_bytes_mut<T: Element>(data: &mut [T]) -> &mut [u8] {
    // SAFETY: as for `as_bytes`; and every byte pattern is a valid value of a sealed
    // `Element`, so whatever is written through the view leaves valid values.
    unsafe { std::slice::from_raw_parts_mut(data.as_mut_ptr().cast(), std::mem::size_of_val(data)) }
}

/// Parses the header of `bytes`: the shape and the offset where the data starts. Refuses any
/// element type other than `T` and Fortran order.
pub fn parse_header<T: Element>(bytes: &[u8]) -> Result<(Vec<usize>, usize), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file".into());
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let dict = bytes
        .get(start..start + len)
        .ok_or("truncated .npy header")?;
    let dict = std::str::from_utf8(dict).map_err(|_| "the .npy header is not text")?;
    if !dict.contains(&format!("'descr': '{}'", T::DESCR)) {
        return Err(format!(
            "expected element type {}, header says {}",
            T::DESCR,
            dict.trim()
        ));
    }
    if dict.contains("'fortran_order': True") {
        return Err("Fortran-ordered arrays are not supported".into());
    }
    let shape = dict
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or("no shape in the .npy header")?;
    let shape = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad dimension `{s}`"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let data = start + len;
    let want = shape.iter().product::<usize>() * std::mem::size_of::<T>();
    if bytes.len() != data + want {
        return Err(format!(
            "{} data bytes, the shape needs {want}",
            bytes.len().saturating_sub(data)
        ));
    }
    Ok((shape, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut buf = Vec::new();
        write(&mut buf, &[2, 3], &[1u32, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(
            buf.len() % 64,
            6 * 4,
            "a 64-byte-aligned header, then 24 data bytes"
        );
        let (shape, off) = parse_header::<u32>(&buf).unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(off % 64, 0);
        assert_eq!(&buf[off..off + 4], &1u32.to_le_bytes());
        assert!(parse_header::<f32>(&buf)
            .unwrap_err()
            .contains("expected element type <f4"));
        assert!(parse_header::<u32>(&buf[..buf.len() - 1])
            .unwrap_err()
            .contains("data bytes"));
        let mut one = Vec::new();
        write(&mut one, &[3], &[1u8, 0, 1]).unwrap();
        assert_eq!(parse_header::<u8>(&one).unwrap().0, vec![3]);
        assert!(String::from_utf8_lossy(&one).contains("'shape': (3,)"));
    }
}
