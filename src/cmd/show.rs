//! `aim show ARCH`: an architecture file, readably or as JSON.

use std::path::Path;

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
