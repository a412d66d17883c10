//! `aim show ARCH`: an architecture file, readably or as JSON.

use std::path::{Path, PathBuf};

/// The flags of `aim show`.
#[derive(clap::Args)]
pub struct Args {
    /// The architecture file (`.ron`) that `aim run` wrote.
    pub arch: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Interactions listed per order.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

/// Prints the architecture at `path`, `top` interactions per order.
pub fn run(path: &Path, json: bool, top: usize) -> super::Result {
    let arch = crate::arch::Architecture::load(path)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&arch).expect("JSON serialises")
        );
    } else {
        print!("{}", arch.show(top));
    }
    Ok(())
}
