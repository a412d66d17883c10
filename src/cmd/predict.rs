//! `aim predict MODEL DATA`: scores raw rows with a saved model.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The flags of `aim predict`.
#[derive(clap::Args)]
pub struct Args {
    /// The architecture file `aim run` wrote (it names the saved model), or a model file
    /// (`.safetensors`) that `aim run`, `aim train` or `aim transfer` wrote.
    pub model: PathBuf,
    /// Rows to score, in the format the model was trained on (labels optional).
    pub data: PathBuf,
    /// Where to write the scores (CSV: the kept columns, then `probability`); standard output
    /// if not given.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Copy these input columns (comma-separated header names, e.g. `id`) before each score.
    #[arg(long, value_delimiter = ',')]
    pub keep: Vec<String>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Scores `data` with the model at `model` and writes the scores (atomically, to `output`).
pub fn run(
    model: &Path,
    data: &Path,
    output: Option<&Path>,
    keep: &[String],
    quiet: bool,
) -> super::Result {
    if !data.is_file() {
        return super::fail(format_args!("{}: no such file", data.display()));
    }
    let mut saved = crate::saved::open(model)?;
    let progress = crate::data::progress::Progress::new(quiet);
    let outcome = match output {
        Some(path) => {
            let tmp = crate::io::temp_beside(path)?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp);
            let outcome = crate::predict::predict(&mut saved, data, keep, &mut w, &progress)?;
            let tmp = w
                .into_inner()
                .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error()))?;
            tmp.as_file()
                .sync_all()
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            tmp.persist(path)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error))?;
            outcome
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            let outcome = crate::predict::predict(&mut saved, data, keep, &mut w, &progress)?;
            w.flush()
                .map_err(|e| anyhow::anyhow!("cannot write the scores: {e}"))?;
            outcome
        }
    };
    let mut line = format!(
        "scored {} rows of {} in {:.1}s ({:.0} rows/s)",
        outcome.rows,
        data.display(),
        outcome.seconds,
        outcome.rows as f64 / outcome.seconds.max(1e-9)
    );
    if let (Some(auc), Some(ll)) = (outcome.auc, outcome.logloss) {
        line.push_str(&format!(": AUC {auc:.5}, log loss {ll:.5}"));
    } else if outcome.labelled {
        line.push_str(": AUC undefined (one class only)");
    }
    eprintln!("{line}");
    if outcome.skipped.count > 0 {
        eprintln!(
            "skipped {} malformed rows (`on_error = skip`; their probability is empty), first:",
            outcome.skipped.count
        );
        for s in &outcome.skipped.first {
            eprintln!("  {s}");
        }
    }
    if let Some(p) = output {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}
