//! A Parquet file read at explicit offsets, so that its columns can be read in parallel.

/// A file read at explicit offsets. The parquet crate's own reader for `File` seeks clones of
/// one handle, which share one offset: column chunks read on several threads at once would read
/// each other's bytes.
pub(super) struct At {
    file: std::sync::Arc<std::fs::File>,
    len: u64,
}

impl At {
    pub(super) fn new(file: std::fs::File) -> std::io::Result<At> {
        let len = file.metadata()?.len();
        Ok(At {
            file: std::sync::Arc::new(file),
            len,
        })
    }
}

/// A reader from an offset of an [`At`] file onwards.
pub(super) struct FromOffset {
    file: std::sync::Arc<std::fs::File>,
    pos: u64,
}

impl std::io::Read for FromOffset {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = read_at(&self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Reads at `pos` without moving any handle's offset.
fn read_at(file: &std::fs::File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::read_at(file, buf, pos);
    #[cfg(windows)]
    return std::os::windows::fs::FileExt::seek_read(file, buf, pos);
}

impl ::parquet::file::reader::Length for At {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ::parquet::file::reader::ChunkReader for At {
    type T = std::io::BufReader<FromOffset>;

    fn get_read(&self, start: u64) -> ::parquet::errors::Result<Self::T> {
        Ok(std::io::BufReader::new(FromOffset {
            file: self.file.clone(),
            pos: start,
        }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> ::parquet::errors::Result<bytes::Bytes> {
        let mut buf = vec![0u8; length];
        let mut done = 0;
        while done < length {
            match read_at(&self.file, &mut buf[done..], start + done as u64) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
                Ok(0) => {
                    return Err(::parquet::errors::ParquetError::EOF(format!(
                        "the file ends before byte {}",
                        start + length as u64
                    )))
                }
                Ok(n) => done += n,
            }
        }
        Ok(buf.into())
    }
}
