//! `aim data SPEC`: builds (or reuses) the cache and summarises it.

use std::path::Path;

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
