//! The `.aim` language: source text → syntax tree → checked [`Spec`].
//!
//! `parse` turns text into an [`ast::Document`] (keeping comments for `fmt`), `check` gives it
//! meaning or reports every error with its span, and `fmt` writes the canonical text back.

pub mod ast;
pub mod check;
pub mod diagnostic;
pub mod fmt;
pub mod formats;
pub mod parse;
mod suggest;
pub mod table;
pub mod types;
pub mod value;

pub use diagnostic::{Diagnostic, Diagnostics, Severity, Source};
pub use suggest::did_you_mean as suggest_name;
pub use types::*;

use std::path::Path;

/// A spec file read, parsed and checked.
pub struct Loaded {
    /// The file's text, for rendering diagnostics.
    pub source: Source,
    /// The spec, when it has no error.
    pub spec: Option<Spec>,
    /// Errors and warnings.
    pub diagnostics: Diagnostics,
}

/// Parses and checks spec text read from `path` (used for messages and to resolve relative
/// paths).
pub fn load_source(source: Source) -> Loaded {
    let dir = source
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".").to_path_buf()
    } else {
        dir
    };
    match parse::parse(&source.text) {
        Err(d) => Loaded {
            source,
            spec: None,
            diagnostics: Diagnostics(vec![d]),
        },
        Ok(doc) => {
            let (spec, diagnostics) = check::check(&doc, &dir);
            Loaded {
                source,
                spec,
                diagnostics,
            }
        }
    }
}

/// Reads, parses and checks a spec file.
pub fn load(path: &Path) -> std::io::Result<Loaded> {
    Ok(load_source(Source::read(path)?))
}
