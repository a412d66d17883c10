//! `aim data SPEC`: builds (or reuses) the cache and summarises it, or writes a split back out
//! (`--export tsv|parquet`).

use std::path::PathBuf;

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
    /// Write a split back out instead of the summary: label, then each field's value (empty, or
    /// null in Parquet, when missing or out of vocabulary; a multi-valued field's joined by `|`,
    /// or a list in Parquet).
    #[arg(long, value_enum, requires = "output")]
    pub export: Option<Export>,
    /// The split to export.
    #[arg(long, value_parser = ["train", "valid", "test"], default_value = "test", requires = "export")]
    pub split: String,
    /// The file to export to (written whole or not at all).
    #[arg(long, short, requires = "export")]
    pub output: Option<PathBuf>,
}

/// What `--export` writes.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Export {
    /// Tab-separated, with a header line.
    Tsv,
    /// Parquet: strings (lists of strings for multi-valued fields), nulls where missing.
    Parquet,
}

/// Prepares the spec's data and prints the summary (text or JSON).
pub fn run(a: &Args) -> super::Result {
    let (json, quiet) = (a.json, a.quiet);
    let (_, spec) = super::load(&a.spec)?;
    let progress = crate::data::progress::Progress::new(quiet);
    let (ds, used) = crate::data::prepare(&spec, a.rebuild, &progress)?;
    if let (Some(export), Some(out)) = (a.export, &a.output) {
        let rows = match export {
            Export::Tsv => crate::data::export::tsv(&ds, &a.split, out)?,
            Export::Parquet => crate::data::export::parquet(&ds, &a.split, out)?,
        };
        if !quiet {
            eprintln!("wrote {} rows of {} to {}", rows, a.split, out.display());
        }
        return Ok(());
    }
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
