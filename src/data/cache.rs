//! The processed-data cache: one folder per (inputs, settings) key holding `.npy` id matrices and
//! labels per split, vocabularies and metadata as RON. Built in a temporary folder and renamed
//! into place, so an interrupted build never leaves a half cache; read memory-mapped.

use super::meta::{FieldMeta, Meta, FORMAT_VERSION};
use super::npy::{self, Element};
use crate::hash::Fnv;
use anyhow::{bail, Context, Result};
use memmap2::Mmap;
use serde::Serialize;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Identity of an input file: path, size, modification time and a hash of its first MiB.
pub fn file_identity(path: &Path) -> Result<String> {
    use std::io::Read;
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let mut head = Vec::with_capacity(1 << 20);
    File::open(path)
        .and_then(|f| f.take(1 << 20).read_to_end(&mut head))
        .with_context(|| format!("cannot read {}", path.display()))?;
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(format!(
        "{}|{}|{mtime}|{}",
        abs.display(),
        meta.len(),
        Fnv::default().bytes(&head).hex()
    ))
}

/// The cache key of some settings (any serialisable description) and input identities.
pub fn key(settings: &impl Serialize, inputs: &[String]) -> String {
    let mut h = Fnv::default().str(&FORMAT_VERSION.to_string());
    h = h.str(&ron::to_string(settings).expect("settings serialise"));
    for i in inputs {
        h = h.str(i);
    }
    h.hex()
}

/// A folder being built; renamed to its final name by [`Building::finish`], removed if dropped.
pub struct Building {
    tmp: tempfile::TempDir,
    root: PathBuf,
    key: String,
}

impl Building {
    /// Starts building the cache for `key` under `root`.
    pub fn start(root: &Path, key: &str) -> Result<Self> {
        std::fs::create_dir_all(root)
            .with_context(|| format!("cannot create the cache folder {}", root.display()))?;
        let prefix = format!(".building-{key}-");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        // Renamed into place when done: 0777 less the umask, as `mkdir` would give (not 0700).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o777));
        }
        let tmp = builder
            .tempdir_in(root)
            .with_context(|| format!("cannot write in the cache folder {}", root.display()))?;
        Ok(Building {
            tmp,
            root: root.to_path_buf(),
            key: key.to_string(),
        })
    }

    /// The folder to write into.
    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes the metadata, moves the folder into place, and removes caches of other keys.
    pub fn finish(self, meta: &Meta) -> Result<PathBuf> {
        crate::io::write_ron(&self.dir().join("meta.ron"), meta)?;
        let dest = self.root.join(&self.key);
        if dest.exists() {
            std::fs::remove_dir_all(&dest)
                .with_context(|| format!("cannot replace {}", dest.display()))?;
        }
        let tmp = self.tmp.keep();
        if let Err(e) = std::fs::rename(&tmp, &dest) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e)
                .with_context(|| format!("cannot move the new cache to {}", dest.display()));
        }
        // Stale caches of this spec (other keys) are dead weight: remove them.
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let is_key = name.len() == 16 && name.chars().all(|c| c.is_ascii_hexdigit());
                if is_key && name != self.key {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(dest)
    }
}

/// A memory-mapped `.npy` array.
pub struct Array<T: Element> {
    map: Option<Mmap>,
    offset: usize,
    /// The array's shape.
    pub shape: Vec<usize>,
    _t: std::marker::PhantomData<T>,
}

impl<T: Element> Array<T> {
    /// Maps a file, checking its header against `T`.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path)
            .with_context(|| format!("the cache is unreadable: {} is missing", path.display()))?;
        let len = file.metadata()?.len();
        // An empty file cannot be mapped; it is also not a valid .npy file.
        if len == 0 {
            bail!("the cache is unreadable: {} is empty", path.display());
        }
        // SAFETY: the cache files are written once, atomically, and never modified in place; a
        // user editing them while we run is outside what we can defend against.
        let map = unsafe { Mmap::map(&file) }
            .with_context(|| format!("cannot map {}", path.display()))?;
        let (shape, offset) = npy::parse_header::<T>(&map)
            .map_err(|e| anyhow::anyhow!("the cache is unreadable: {}: {e}", path.display()))?;
        if offset % std::mem::align_of::<T>() != 0 {
            bail!(
                "the cache is unreadable: {}: misaligned data",
                path.display()
            );
        }
        Ok(Array {
            map: Some(map),
            offset,
            shape,
            _t: std::marker::PhantomData,
        })
    }

    /// The elements.
    pub fn data(&self) -> &[T] {
        let Some(map) = &self.map else { return &[] };
        let bytes = &map[self.offset..];
        // SAFETY: the header was checked to describe `T` elements filling exactly these bytes,
        // and the mapping is page-aligned with a data offset that is a multiple of T's alignment.
        unsafe {
            std::slice::from_raw_parts(
                bytes.as_ptr().cast::<T>(),
                bytes.len() / std::mem::size_of::<T>(),
            )
        }
    }
}

/// One split of an opened cache.
pub struct Split {
    /// Row-major ids, rows × columns.
    pub ids: Array<u32>,
    /// One label per row, 0 or 1.
    pub labels: Array<u8>,
    /// Per multi-valued field (in field order): row offsets (rows + 1) and the ids.
    pub multi: Vec<(Array<u64>, Array<u32>)>,
}

impl Split {
    /// Rows in the split.
    pub fn rows(&self) -> usize {
        self.labels.shape[0]
    }

    /// The ids of row `i`.
    pub fn row(&self, i: usize) -> &[u32] {
        let c = self.ids.shape[1];
        &self.ids.data()[i * c..(i + 1) * c]
    }
}

/// A cache opened for reading.
pub struct Dataset {
    /// The cache folder.
    pub dir: PathBuf,
    /// Its metadata.
    pub meta: Meta,
    /// Train, valid, test.
    pub splits: Vec<Split>,
}

/// Every id of a split below its field's vocabulary, and multi-valued offsets non-decreasing:
/// the embedding tables address a field's rows by id, so an id past its vocabulary would read
/// and write another field's rows (from another thread, in the sparse Adam). A cache is input
/// like any file: a disk error, an edit or another version must not get that far.
fn check_ids(
    dir: &Path,
    split: &str,
    meta: &Meta,
    ids: &Array<u32>,
    multi: &[(Array<u64>, Array<u32>)],
) -> Result<()> {
    use rayon::prelude::*;
    let corrupt = |file: String, what: String| {
        anyhow::anyhow!(
            "the cache is corrupt: {}: {what}; rebuild it with `aim data --rebuild`",
            dir.join(file).display()
        )
    };
    let single: Vec<&FieldMeta> = meta.fields.iter().filter(|f| f.column.is_some()).collect();
    let cols = single.len();
    let mut vocab = vec![0u32; cols];
    // Each of the `cols` columns belongs to exactly one field: in range and never repeated
    // (with as many fields as columns, that also leaves none without a field).
    let mut owner: Vec<Option<&str>> = vec![None; cols];
    for f in &single {
        let c = f.column.expect("single-valued");
        if c >= cols {
            return Err(corrupt(
                "meta.ron".into(),
                format!("field `{}` has column {c} of {cols}", f.name),
            ));
        }
        if let Some(other) = owner[c].replace(&f.name) {
            return Err(corrupt(
                "meta.ron".into(),
                format!("fields `{other}` and `{}` both have column {c}", f.name),
            ));
        }
        vocab[c] = u32::try_from(f.vocab).unwrap_or(u32::MAX);
    }
    if cols > 0 {
        let bad = ids
            .data()
            .par_chunks(cols * 4096)
            .enumerate()
            .find_map_first(|(chunk, block)| {
                block.chunks(cols).enumerate().find_map(|(r, row)| {
                    row.iter()
                        .zip(&vocab)
                        .position(|(id, v)| id >= v)
                        .map(|c| (chunk * 4096 + r, c, row[c]))
                })
            });
        if let Some((row, c, id)) = bad {
            let f = single
                .iter()
                .find(|f| f.column == Some(c))
                .expect("a column's field");
            return Err(corrupt(
                format!("{split}.ids.npy"),
                format!(
                    "row {row}, field `{}`: id {id}, but the field has {} ids (0..{})",
                    f.name, f.vocab, f.vocab
                ),
            ));
        }
    }
    let multis = meta.fields.iter().filter(|f| f.column.is_none());
    for (f, (offsets, values)) in multis.zip(multi) {
        if let Some(r) = offsets.data().windows(2).position(|w| w[1] < w[0]) {
            return Err(corrupt(
                format!("{split}.{}.offsets.npy", f.name),
                format!("offsets decrease at row {r}"),
            ));
        }
        if let Some(k) = values.data().iter().position(|&v| v as usize >= f.vocab) {
            return Err(corrupt(
                format!("{split}.{}.ids.npy", f.name),
                format!(
                    "value {k}: id {}, but field `{}` has {} ids",
                    values.data()[k],
                    f.name,
                    f.vocab
                ),
            ));
        }
    }
    Ok(())
}

impl Dataset {
    /// The text of every id, per field (`vocab.ron`), checked against the metadata: one list
    /// per field, in order, of exactly its vocabulary's length.
    pub fn vocab(&self) -> Result<Vec<(String, Vec<Vec<u8>>)>> {
        let path = self.dir.join("vocab.ron");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("the cache is unreadable: cannot read {}", path.display()))?;
        let vocab: Vec<(String, Vec<String>)> = ron::from_str(&text)
            .map_err(|e| anyhow::anyhow!("the cache is unreadable: {}: {e}", path.display()))?;
        let fits = vocab.len() == self.meta.fields.len()
            && vocab
                .iter()
                .zip(&self.meta.fields)
                .all(|((n, v), f)| *n == f.name && v.len() == f.vocab);
        if !fits {
            bail!(
                "the cache is unreadable: {} does not match meta.ron (rebuild with `aim data --rebuild`)",
                path.display()
            );
        }
        Ok(vocab
            .into_iter()
            .map(|(n, v)| (n, v.into_iter().map(String::into_bytes).collect()))
            .collect())
    }

    /// Opens the cache in `dir`, checking every array against the metadata and every id
    /// against its field's vocabulary.
    pub fn open(dir: &Path) -> Result<Self> {
        let meta_path = dir.join("meta.ron");
        let text = std::fs::read_to_string(&meta_path).with_context(|| {
            format!(
                "the cache is unreadable: cannot read {}",
                meta_path.display()
            )
        })?;
        let meta: Meta = ron::from_str(&text).map_err(|e| {
            anyhow::anyhow!("the cache is unreadable: {}: {e}", meta_path.display())
        })?;
        let cols = meta.columns();
        let multi: Vec<&FieldMeta> = meta.fields.iter().filter(|f| f.column.is_none()).collect();
        let mut splits = Vec::new();
        for s in &meta.splits {
            let ids = Array::<u32>::open(&dir.join(format!("{}.ids.npy", s.name)))?;
            let labels = Array::<u8>::open(&dir.join(format!("{}.labels.npy", s.name)))?;
            if ids.shape != [s.rows, cols] || labels.shape != [s.rows] {
                bail!("the cache is unreadable: {} arrays do not match meta.ron (rebuild with `aim data --rebuild`)", s.name);
            }
            let mut m = Vec::new();
            for f in &multi {
                let offsets =
                    Array::<u64>::open(&dir.join(format!("{}.{}.offsets.npy", s.name, f.name)))?;
                let values =
                    Array::<u32>::open(&dir.join(format!("{}.{}.ids.npy", s.name, f.name)))?;
                if offsets.shape != [s.rows + 1]
                    || offsets.data().last().copied() != Some(values.shape[0] as u64)
                {
                    bail!(
                        "the cache is unreadable: {}.{} arrays do not agree",
                        s.name,
                        f.name
                    );
                }
                m.push((offsets, values));
            }
            check_ids(dir, &s.name, &meta, &ids, &m)?;
            splits.push(Split {
                ids,
                labels,
                multi: m,
            });
        }
        Ok(Dataset {
            dir: dir.to_path_buf(),
            meta,
            splits,
        })
    }
}
