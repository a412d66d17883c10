//! `aim run SPEC`: the AIM stages, optionally repeated over seeds against baselines, and the
//! architecture file.

use crate::spec::BaseModel;
use crate::stages::Stage;
use std::path::{Path, PathBuf};

/// The flags of `aim run`.
#[derive(clap::Args)]
pub struct Args {
    /// The spec file (`.aim`).
    pub spec: PathBuf,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
    /// Rerun from this stage (earlier finished stages of the same spec and data are reused;
    /// by default every finished stage is).
    #[arg(long, value_enum)]
    pub from: Option<Stage>,
    /// Repeat the re-train with this many seeds (seed, seed+1, …) and report mean ± std.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// Train these base models (comma-separated) on the same seeds and t-test the
    /// differences.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub baseline: Vec<BaseModel>,
}

/// Runs the spec's stages (from `from`), repeats the re-train over `seeds` against
/// `baselines`, writes the architecture and prints it.
pub fn run(
    path: &Path,
    quiet: bool,
    from: Option<Stage>,
    seeds: u64,
    baselines: &[BaseModel],
) -> super::Result {
    if !baselines.is_empty() && seeds < 2 {
        return super::fail(
            "a t-test against a baseline needs at least 2 seeds: add `--seeds 5`, say",
        );
    }
    let (loaded, spec) = super::load(path)?;
    if seeds > 1 && spec.retrain.is_none() {
        // Said before the searches run, not after them.
        return super::fail(format_args!(
            "{}: `--seeds` repeats the re-train, and the spec has no `retrain` block: add `retrain {{}}` (all defaults)",
            path.display()
        ));
    }
    let text = &loaded.source.text;
    let progress = crate::data::progress::Progress::new(quiet);
    let mut on_epoch = super::epochs::per_stage(quiet);
    let found = crate::stages::pipeline(&spec, text, from, &progress, &mut on_epoch)?;
    let mut arch = found.arch;
    if seeds > 1 || !baselines.is_empty() {
        let list: Vec<u64> = (0..seeds).map(|k| spec.seed + k).collect();
        if !quiet {
            eprintln!("\nrepeating the re-train with seeds {list:?}");
        }
        let (mine, base) = crate::stages::seeds::repeat(&spec, text, &list, baselines, &progress)?;
        arch.metrics.seeds = Some(mine);
        arch.metrics.baselines = base;
    }
    // The model first: the architecture names it by its content hash.
    let saved = match &found.model {
        Some(m) => {
            let file = format!("{}.model.safetensors", spec.output_stem());
            let test = arch
                .metrics
                .retrain
                .map(|r| crate::data::meta::SplitMetrics {
                    auc: r.test_auc,
                    logloss: r.test_logloss,
                });
            let (path, hash) =
                crate::saved::save_beside_output(&spec, &found.data, m, "aim run", &file, test)?;
            arch.model = Some(crate::arch::ModelFile { file, hash });
            Some(path)
        }
        None => None,
    };
    crate::io::write_ron(&spec.output, &arch)?;
    println!("{}", arch.show(10));
    match saved {
        Some(p) => println!("wrote {} and {}", spec.output.display(), p.display()),
        None => println!("wrote {}", spec.output.display()),
    }
    Ok(())
}
