//! The commands behind `aim`'s command line, one file each. `main.rs` parses the arguments
//! (clap) and calls these; each returns a [`Result`] whose error decides the exit code.

pub mod bench;
pub mod check;
pub mod data;
pub mod epochs;
pub mod fmt;
pub mod predict;
pub mod report;
pub mod run;
pub mod show;
pub mod train;
pub mod transfer;

use crate::spec::{self, Loaded};
use std::path::Path;

/// Why a command failed; the exit code follows from it ([`Error::code`]).
#[derive(Debug)]
pub enum Error {
    /// A spec was invalid; its diagnostics were printed already. Exit code 2.
    Invalid,
    /// Anything else (unreadable or malformed input, a failed write, …). Exit code 1.
    Failed(anyhow::Error),
}

impl Error {
    /// The process exit code: 1 for a failure, 2 for an invalid spec.
    pub fn code(&self) -> u8 {
        match self {
            Error::Invalid => 2,
            Error::Failed(_) => 1,
        }
    }

    /// Prints the error (an invalid spec's diagnostics are out already); a malformed data row
    /// as `FILE:LINE: what`, with the way out.
    pub fn print(&self) {
        let Error::Failed(e) = self else { return };
        if let Some(row) = e.downcast_ref::<crate::data::ingest::RowError>() {
            eprintln!("error: {row}");
            eprintln!("  = help: fix the row, or set `on_error = skip` in the spec's `data` block to count and skip such rows");
        } else {
            eprintln!("error: {e:#}");
        }
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error::Failed(e)
    }
}

/// What a command returns.
pub type Result<T = ()> = std::result::Result<T, Error>;

/// A failure with this message.
pub fn fail<T>(msg: impl std::fmt::Display) -> Result<T> {
    Err(Error::Failed(anyhow::anyhow!("{msg}")))
}

/// Reads and checks a spec, printing its diagnostics; the spec when it is valid.
pub fn load(path: &Path) -> Result<(Loaded, spec::Spec)> {
    let loaded = spec::load(path)
        .map_err(|e| Error::Failed(anyhow::anyhow!("cannot read {}: {e}", path.display())))?;
    if !loaded.diagnostics.0.is_empty() {
        eprint!("{}", loaded.diagnostics.render(&loaded.source));
    }
    match loaded.spec.clone() {
        Some(s) => Ok((loaded, s)),
        None => Err(Error::Invalid),
    }
}

/// The exit code of a command's result, printing its error if any.
pub fn exit_code(r: Result) -> u8 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            e.print();
            e.code()
        }
    }
}

/// Runs `f` on each path, printing each failure, and returns the worst exit code: an invalid
/// spec (2) outranks a failure (1).
pub fn each<P>(paths: &[P], mut f: impl FnMut(&P) -> Result) -> u8 {
    paths.iter().fold(0, |worst, p| {
        let code = exit_code(f(p));
        if worst == 2 || code == 2 {
            2
        } else {
            worst.max(code)
        }
    })
}
