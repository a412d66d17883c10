//! The `aim` command line: a thin layer over the library.

use aim::plan::Plan;
use aim::spec::{self, Loaded};
use clap::{Parser, Subcommand};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The Automatic Interaction Machine: searches which feature interactions, interaction functions
/// and embedding sizes a CTR model needs, then re-trains it.
#[derive(Parser)]
#[command(name = "aim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks specs and prints each one's plan (data, model, stages, GRDA schedules).
    Check {
        /// Spec files (`.aim`).
        #[arg(required = true)]
        specs: Vec<PathBuf>,
    },
    /// Builds (or reuses) the processed-data cache of a spec and summarises it per split and field.
    Data {
        /// The spec file (`.aim`).
        spec: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Rebuild the cache even when it is up to date.
        #[arg(long)]
        rebuild: bool,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Runs the AIM stages (search interactions, search dimensions, re-train) and writes the
    /// architecture to the spec's `output`.
    Run {
        /// The spec file (`.aim`).
        spec: PathBuf,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
        /// Rerun from this stage (earlier finished stages of the same spec and data are reused;
        /// by default every finished stage is).
        #[arg(long, value_enum)]
        from: Option<aim::stages::Stage>,
        /// Repeat the re-train with this many seeds (seed, seed+1, …) and report mean ± std.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        seeds: u64,
        /// Train these base models (comma-separated) on the same seeds and t-test the
        /// differences.
        #[arg(long, value_delimiter = ',', value_parser = ["fm", "fwfm", "deepfm", "ipnn"])]
        baseline: Vec<String>,
    },
    /// Re-trains another base model with the interaction-function pairs of an architecture.
    Transfer {
        /// The architecture file (`.ron`) that `aim run` wrote.
        arch: PathBuf,
        /// The spec whose data and model settings to use.
        spec: PathBuf,
        /// The base model to re-train.
        #[arg(long, value_parser = ["deepfm", "ipnn"])]
        base: String,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Prints an architecture file readably, or as JSON.
    Show {
        /// The architecture file (`.ron`) that `aim run` wrote.
        arch: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Interactions listed per order.
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
    /// Trains the spec's base model alone (the baseline every AIM result is compared to).
    Train {
        /// The spec file (`.aim`).
        spec: PathBuf,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
        /// Start over even when a checkpoint of this run exists.
        #[arg(long)]
        fresh: bool,
    },
    /// Times training and inference of a model on synthetic rows (samples/s, peak memory).
    Bench {
        #[command(flatten)]
        options: aim::bench::BenchOptions,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Prints a spec in canonical form (comments kept).
    Fmt {
        /// Spec files (`.aim`).
        #[arg(required = true)]
        specs: Vec<PathBuf>,
        /// Print nothing; exit 1 when a file is not in canonical form.
        #[arg(long, conflicts_with = "write")]
        check: bool,
        /// Rewrite the files in place.
        #[arg(long)]
        write: bool,
    },
}

/// Exit codes: 0 success, 1 a failure other than an invalid spec, 2 an invalid spec.
const FAILURE: u8 = 1;
const INVALID: u8 = 2;

/// The header of the per-epoch lines.
fn epoch_header() {
    eprintln!(
        "{:>5} {:>11} {:>10} {:>14} {:>11} {:>8} {:>9}",
        "epoch", "train loss", "valid AUC", "valid logloss", "samples/s", "seconds", "data wait"
    );
}

/// One epoch's line (under [`epoch_header`]).
fn epoch_line(e: &aim::train::EpochLog) {
    eprintln!(
        "{:>5} {:>11.5} {:>10.5} {:>14.5} {:>11.0} {:>8.1} {:>8.2}s",
        e.epoch,
        e.train_loss,
        e.valid_auc,
        e.valid_logloss,
        e.samples_per_s,
        e.seconds,
        e.data_wait_seconds
    );
}

fn bench(o: aim::bench::BenchOptions, json: bool) -> u8 {
    match aim::bench::run(&o) {
        Ok(r) if json => {
            println!("{}", serde_json::to_string(&r).expect("serialisable"));
            0
        }
        Ok(r) => {
            println!(
                "{}: {} fields, vocabulary {}, d = {}, batch {}, {} threads, {} timed steps",
                serde_json::to_value(o.model)
                    .expect("a name")
                    .as_str()
                    .unwrap_or("model"),
                o.fields,
                o.vocab,
                o.d,
                o.batch,
                o.threads,
                o.steps
            );
            println!(
                "train      {:>9.0} samples/s  ({:.1} ms/step, waited {:.1} ms for data in all)",
                r.train_samples_per_s, r.train_step_ms, r.data_wait_ms
            );
            println!("inference  {:>9.0} samples/s", r.infer_samples_per_s);
            println!(
                "memory     {:>9.0} MiB peak RSS: {:.0} MiB before the first step ({:.0} MiB parameters + Adam moments, {} parameters), {:.0} MiB added by the steps",
                r.peak_rss_mb,
                r.rss_before_steps_mb,
                r.state_mb,
                r.params,
                r.peak_rss_mb - r.rss_before_steps_mb
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            FAILURE
        }
    }
}

fn main() -> ExitCode {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    unsafe { aim::tune_allocator() };
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Train { spec, quiet, fresh } => train(&spec, quiet, fresh),
        Command::Run {
            spec,
            quiet,
            from,
            seeds,
            baseline,
        } => run(&spec, quiet, from, seeds, &baseline),
        Command::Show { arch, json, top } => show(&arch, json, top),
        Command::Transfer {
            arch,
            spec,
            base,
            quiet,
        } => transfer(&arch, &spec, &base, quiet),
        Command::Bench { options, json } => bench(options, json),
        Command::Check { specs } => worst(specs.iter().map(|p| check(p))),
        Command::Data {
            spec,
            json,
            rebuild,
            quiet,
        } => data(&spec, json, rebuild, quiet),
        Command::Fmt {
            specs,
            check,
            write,
        } => worst(specs.iter().map(|p| fmt(p, check, write))),
    };
    ExitCode::from(code)
}

fn worst(codes: impl Iterator<Item = u8>) -> u8 {
    codes.fold(0, |a, b| {
        if a == INVALID || b == INVALID {
            INVALID
        } else {
            a.max(b)
        }
    })
}

fn fail(msg: impl std::fmt::Display) -> u8 {
    eprintln!("error: {msg}");
    FAILURE
}

/// Reads and checks a spec, printing its diagnostics; the spec when it is valid.
fn load(path: &Path) -> Result<(Loaded, spec::Spec), u8> {
    let loaded =
        spec::load(path).map_err(|e| fail(format_args!("cannot read {}: {e}", path.display())))?;
    if !loaded.diagnostics.0.is_empty() {
        eprint!("{}", loaded.diagnostics.render(&loaded.source));
    }
    match loaded.spec.clone() {
        Some(s) => Ok((loaded, s)),
        None => Err(INVALID),
    }
}

fn check(path: &Path) -> u8 {
    let (_, spec) = match load(path) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let plan = Plan::new(spec);
    println!("{}: ok", path.display());
    print!("{plan}");
    0
}

/// Prints an error of the data layer: a malformed row as `FILE:LINE: what`, with the way out.
fn data_error(e: anyhow::Error) -> u8 {
    if let Some(row) = e.downcast_ref::<aim::data::ingest::RowError>() {
        eprintln!("error: {row}");
        eprintln!("  = help: fix the row, or set `on_error = skip` in the spec's `data` block to count and skip such rows");
        return FAILURE;
    }
    fail(format_args!("{e:#}"))
}

fn data(path: &Path, json: bool, rebuild: bool, quiet: bool) -> u8 {
    let (_, spec) = match load(path) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let progress = aim::data::progress::Progress::new(quiet);
    match aim::data::prepare(&spec, rebuild, &progress) {
        Ok((ds, used)) => {
            if json {
                let v = aim::data::summary::json(&ds.meta, &ds.dir, used);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&v).expect("JSON serialises")
                );
            } else {
                print!("{}", aim::data::summary::text(&ds.meta, &ds.dir, used));
            }
            0
        }
        Err(e) => data_error(e),
    }
}

fn run(
    path: &Path,
    quiet: bool,
    from: Option<aim::stages::Stage>,
    seeds: u64,
    baselines: &[String],
) -> u8 {
    if !baselines.is_empty() && seeds < 2 {
        return fail("a t-test against a baseline needs at least 2 seeds: add `--seeds 5`, say");
    }
    let (loaded, spec) = match load(path) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let progress = aim::data::progress::Progress::new(quiet);
    let mut last = String::new();
    let mut on_epoch = |stage: &str, e: &aim::train::EpochLog| {
        if quiet {
            return;
        }
        if stage != last {
            eprintln!("\n{stage}");
            epoch_header();
            last = stage.to_string();
        }
        epoch_line(e);
    };
    let mut arch =
        match aim::stages::pipeline(&spec, &loaded.source.text, from, &progress, &mut on_epoch) {
            Ok(a) => a,
            Err(e) => return data_error(e),
        };
    if seeds > 1 || !baselines.is_empty() {
        let list: Vec<u64> = (0..seeds).map(|k| spec.seed + k).collect();
        if !quiet {
            eprintln!("\nrepeating the re-train with seeds {list:?}");
        }
        let repeated = aim::stages::retrain_seeds(&spec, &loaded.source.text, &list, &progress)
            .and_then(|reports| {
                let mine = aim::arch::SeedMetrics::new(list.clone(), &reports);
                let mut base = Vec::new();
                for name in baselines {
                    let b = aim::spec::BaseModel::ALL
                        .into_iter()
                        .find(|m| m.name() == name)
                        .expect("clap checked the name");
                    let theirs = aim::stages::baseline_seeds(&spec, b, &list, &progress)?;
                    let metrics = aim::arch::SeedMetrics::new(list.clone(), &theirs);
                    base.push(aim::arch::Baseline {
                        base: name.to_string(),
                        p_auc: aim::stats::welch_p(&mine.test_auc, &metrics.test_auc),
                        p_logloss: aim::stats::welch_p(&mine.test_logloss, &metrics.test_logloss),
                        metrics,
                    });
                }
                Ok((mine, base))
            });
        match repeated {
            Ok((mine, base)) => {
                arch.metrics.seeds = Some(mine);
                arch.metrics.baselines = base;
            }
            Err(e) => return data_error(e),
        }
    }
    if let Err(e) = aim::data::cache::write_ron(&spec.output, &arch) {
        return fail(format_args!("{e:#}"));
    }
    println!("{}", arch.show(10));
    println!("wrote {}", spec.output.display());
    0
}

fn transfer(arch_path: &Path, path: &Path, base: &str, quiet: bool) -> u8 {
    let (_, spec) = match load(path) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let arch = match aim::arch::Architecture::load(arch_path) {
        Ok(a) => a,
        Err(e) => return fail(format_args!("{e:#}")),
    };
    let base = if base == "ipnn" {
        aim::spec::BaseModel::Ipnn
    } else {
        aim::spec::BaseModel::Deepfm
    };
    let result = (|| -> anyhow::Result<aim::train::TrainReport> {
        let progress = aim::data::progress::Progress::new(quiet);
        let (ds, _) = aim::data::prepare(&spec, false, &progress)?;
        let fields = aim::train::fields(&ds, spec.model.embedding_dim)?;
        let cfg = aim::stages::transfer::config(&arch, &spec.model, base, fields)?;
        let mut model = aim::model::Model::new(cfg, spec.seed);
        aim::stages::transfer::set_alphas(&mut model, &arch);
        let mut opt = aim::model::Optimizers::new(spec.model.optimizer.lr, spec.model.optimizer.l2);
        let o = aim::train::TrainOptions::for_model(&spec.model, spec.seed);
        aim::train::fit(&mut model, &ds, &mut opt, &o, |e| {
            if !quiet {
                eprintln!(
                    "{:>5} {:>11.5} {:>10.5} {:>14.5} {:>11.0}",
                    e.epoch, e.train_loss, e.valid_auc, e.valid_logloss, e.samples_per_s
                );
            }
        })
    })();
    match result {
        Ok(r) => {
            println!(
                "{} with the {} interactions of {}: best epoch {}, test AUC {:.5}, test logloss {:.5}, {} parameters",
                base.name(),
                arch.interactions.len(),
                arch_path.display(),
                r.best_epoch,
                r.test_auc,
                r.test_logloss,
                r.params
            );
            0
        }
        Err(e) => data_error(e),
    }
}

fn show(path: &Path, json: bool, top: usize) -> u8 {
    let arch = match aim::arch::Architecture::load(path) {
        Ok(a) => a,
        Err(e) => return fail(format_args!("{e:#}")),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&arch).expect("JSON serialises")
        );
    } else {
        print!("{}", arch.show(top));
    }
    0
}

fn train(path: &Path, quiet: bool, fresh: bool) -> u8 {
    let (loaded, spec) = match load(path) {
        Ok(x) => x,
        Err(code) => return code,
    };
    match run_train(&spec, &loaded.source.text, quiet, fresh) {
        Ok(()) => 0,
        Err(e) => data_error(e),
    }
}

fn run_train(spec: &aim::spec::Spec, text: &str, quiet: bool, fresh: bool) -> anyhow::Result<()> {
    use aim::model::{Model, ModelConfig, Optimizers};
    let progress = aim::data::progress::Progress::new(quiet);
    let (ds, _) = aim::data::prepare(spec, false, &progress)?;
    let m = &spec.model;
    let cfg = ModelConfig::base(m, aim::train::fields(&ds, m.embedding_dim)?)?;
    let mut model = Model::new(cfg, spec.seed);
    let mut opt = Optimizers::new(m.optimizer.lr, m.optimizer.l2);
    let opts = aim::train::TrainOptions::for_model(m, spec.seed);
    eprintln!(
        "training {} on {} ({} rows, {} fields, {} parameters)",
        m.base.name(),
        spec.name,
        ds.meta.splits[0].rows,
        ds.meta.fields.len(),
        model.num_params()
    );
    epoch_header();
    let key = aim::checkpoint::train_key(text, &ds.meta.key);
    let ckpt = aim::checkpoint::train_path(spec);
    let state = if fresh {
        None
    } else {
        aim::checkpoint::load(&ckpt, &key, &mut model, &mut opt)?
    };
    if let Some(s) = &state {
        eprintln!("resuming from epoch {} ({})", s.epochs_done, ckpt.display());
    }
    let report = aim::train::fit_from(
        &mut model,
        &ds,
        &mut opt,
        &opts,
        state.unwrap_or_default(),
        &progress,
        epoch_line,
        |m, o, s| aim::checkpoint::save(&ckpt, &key, m, o, s),
    )?;
    // The run finished: its checkpoint has served.
    let _ = std::fs::remove_file(&ckpt);
    let dir = spec
        .output
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let stem = format!("{}.train", spec.name);
    let metrics = serde_json::json!({
        "spec": spec.name,
        "base": m.base.name(),
        "seed": spec.seed,
        "best_epoch": report.best_epoch,
        "valid_auc": report.valid_auc,
        "valid_logloss": report.valid_logloss,
        "test_auc": report.test_auc,
        "test_logloss": report.test_logloss,
        "params": report.params,
        "train_samples_per_s": report.train_samples_per_s,
        "infer_samples_per_s": report.infer_samples_per_s,
        "epochs": report.epochs,
    });
    aim::data::cache::write_atomically(
        &dir.join(format!("{stem}.metrics.json")),
        serde_json::to_string_pretty(&metrics)?.as_bytes(),
    )?;
    aim::data::cache::write_ron(&dir.join(format!("{stem}.metrics.ron")), &report)?;
    model.save(&dir.join(format!("{stem}.safetensors")))?;
    println!(
        "{}: best epoch {}, test AUC {:.5}, test logloss {:.5}, {} parameters, {:.0} train samples/s, {:.0} inference samples/s",
        m.base.name(),
        report.best_epoch,
        report.test_auc,
        report.test_logloss,
        report.params,
        report.train_samples_per_s,
        report.infer_samples_per_s
    );
    println!(
        "wrote {}",
        dir.join(format!("{stem}.metrics.json")).display()
    );
    Ok(())
}

fn fmt(path: &Path, check: bool, write: bool) -> u8 {
    let source = match spec::Source::read(path) {
        Ok(s) => s,
        Err(e) => return fail(format_args!("cannot read {}: {e}", path.display())),
    };
    let doc = match spec::parse::parse(&source.text) {
        Ok(d) => d,
        Err(d) => {
            eprint!("{}", spec::Diagnostics(vec![d]).render(&source));
            return INVALID;
        }
    };
    let text = spec::fmt::format(&doc);
    if check {
        if text != source.text {
            let line = first_difference(&source.text, &text);
            eprintln!(
                "{}:{line}: not in canonical form (run `aim fmt --write {}`)",
                path.display(),
                path.display()
            );
            return FAILURE;
        }
        0
    } else if write {
        if text == source.text {
            return 0;
        }
        match aim::data::cache::write_atomically(path, text.as_bytes()) {
            Ok(()) => {
                eprintln!("formatted {}", path.display());
                0
            }
            Err(e) => fail(format_args!("{e:#}")),
        }
    } else {
        let _ = std::io::stdout().write_all(text.as_bytes());
        0
    }
}

fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()))
        + 1
}
