//! `aim check SPEC…`: checks a spec and prints its plan.

use std::path::{Path, PathBuf};

/// The flags of `aim check`.
#[derive(clap::Args)]
pub struct Args {
    /// Spec files (`.aim`).
    #[arg(required = true)]
    pub specs: Vec<PathBuf>,
}

/// Checks the spec at `path` and prints its plan.
pub fn run(path: &Path) -> super::Result {
    let (_, spec) = super::load(path)?;
    let plan = crate::plan::Plan::new(spec);
    println!("{}: ok", path.display());
    print!("{plan}");
    Ok(())
}
