//! `aim report ARCH [-o report.html]`: the architecture as one self-contained HTML page.

use std::path::{Path, PathBuf};

/// The flags of `aim report`.
#[derive(clap::Args)]
pub struct Args {
    /// The architecture file (`.ron`) that `aim run` wrote.
    pub arch: PathBuf,
    /// Where to write the page [default: beside ARCH, `NAME.arch.ron` → `NAME.report.html`].
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// `NAME.arch.ron` → `NAME.report.html`; any other name gets `.html` in place of its extension.
pub fn default_output(arch: &Path) -> PathBuf {
    let name = arch
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.strip_suffix(".arch.ron") {
        Some(stem) if !stem.is_empty() => arch.with_file_name(format!("{stem}.report.html")),
        _ => arch.with_extension("html"),
    }
}

/// Writes the report of the architecture at `arch` to `output` (atomically) and says where.
pub fn run(arch: &Path, output: Option<&Path>) -> super::Result {
    let out = output.map_or_else(|| default_output(arch), Path::to_path_buf);
    if out == arch {
        return super::fail(format!(
            "{}: the report would overwrite the architecture; name another file with -o",
            out.display()
        ));
    }
    let found = crate::arch::Architecture::load(arch)?;
    let page = crate::report::page(&found, &arch.display().to_string());
    crate::io::write_atomically(&out, page.as_bytes())?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
