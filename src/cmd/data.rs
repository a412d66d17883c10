//! `aim data SPEC`: builds (or reuses) the cache and summarises it.

use std::path::{Path, PathBuf};

/// The flags of `aim data`.
#[derive(clap::Args)]
pub struct Args {
    /// The spec file (`.aim`).
    pub spec: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Rebuild the cache even when it is up to date.
    #[arg(long)]
    pub rebuild: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Prepares the spec's data and prints the summary (text or JSON).
pub fn run(path: &Path, json: bool, rebuild: bool, quiet: bool) -> super::Result {
    let (_, spec) = super::load(path)?;
    let progress = crate::data::progress::Progress::new(quiet);
    let (ds, used) = crate::data::prepare(&spec, rebuild, &progress)?;
    if json {
        let v = crate::data::summary::json(&ds.meta, &ds.dir, used);
        println!(
            "{}",
            serde_json::to_string_pretty(&v).expect("JSON serialises")
        );
    } else {
        print!("{}", crate::data::summary::text(&ds.meta, &ds.dir, used));
    }
    Ok(())
}
