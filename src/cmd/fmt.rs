//! `aim fmt SPEC…`: a spec in canonical form (printed, checked or written back).

use crate::spec;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The flags of `aim fmt`.
#[derive(clap::Args)]
pub struct Args {
    /// Spec files (`.aim`).
    #[arg(required = true)]
    pub specs: Vec<PathBuf>,
    /// Print nothing; exit 1 when a file is not in canonical form.
    #[arg(long, conflicts_with = "write")]
    pub check: bool,
    /// Rewrite the files in place.
    #[arg(long)]
    pub write: bool,
}

/// Formats the spec at `path`: prints it, or with `check` fails when it is not canonical, or
/// with `write` rewrites it in place (atomically).
pub fn run(path: &Path, check: bool, write: bool) -> super::Result {
    let source = spec::Source::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let doc = match spec::parse::parse(&source.text) {
        Ok(d) => d,
        Err(d) => {
            eprint!("{}", spec::Diagnostics(vec![d]).render(&source));
            return Err(super::Error::Invalid);
        }
    };
    let text = spec::fmt::format(&doc);
    if check {
        if text != source.text {
            let line = first_difference(&source.text, &text);
            return super::fail(format_args!(
                "{}:{line}: not in canonical form (run `aim fmt --write {}`)",
                path.display(),
                path.display()
            ));
        }
    } else if write {
        if text != source.text {
            crate::io::write_atomically(path, text.as_bytes())?;
            eprintln!("formatted {}", path.display());
        }
    } else {
        let _ = std::io::stdout().write_all(text.as_bytes());
    }
    Ok(())
}

/// The 1-based number of the first line where `a` and `b` differ.
fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()))
        + 1
}
