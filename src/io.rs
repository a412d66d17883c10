//! Writing files so that no reader ever sees a partial one: through a temporary file in the same
//! folder, synced, then renamed into place. Every output aim writes goes through here.

use anyhow::{Context, Result};
use serde::Serialize;
use std::path::Path;

/// Writes a value as pretty RON, atomically.
pub fn write_ron(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = ron::ser::to_string_pretty(value, ron::ser::PrettyConfig::default())?;
    write_atomically(path, text.as_bytes())
}

/// Writes bytes through a temporary file in the same folder and renames it into place.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut tmp = temp_beside(path)?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// A temporary file in `path`'s folder with the mode `path` will have (its current one, or
/// 0666 less the umask): written, then persisted onto `path`, so that no reader ever sees a
/// partial file.
pub fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // The temporary file would be created 0600: a rewritten file keeps its mode, and a new one
    // gets 0666 less the user's umask (the kernel applies it), as any other program's output.
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o666))
    };
    #[cfg(not(unix))]
    let mode = std::fs::metadata(path).map(|m| m.permissions()).ok();
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    builder.permissions(mode);
    #[cfg(not(unix))]
    if let Some(m) = mode {
        builder.permissions(m);
    }
    builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))
}

/// The key of a run of `what` (`"train"`, `"stages"`): the spec's text, the checked spec with
/// every default filled in (a checkpoint or finished stage of an aim whose defaults differed is
/// not reused) and the data's cache key. A checkpoint or stages file is resumed only by the run
/// it was written for.
pub fn run_key(what: &str, spec: &crate::spec::Spec, spec_text: &str, data_key: &str) -> String {
    crate::hash::Fnv::default()
        .str(what)
        .str(spec_text)
        .str(&format!("{spec:?}"))
        .str(data_key)
        .hex()
}
