//! The `aim` command line: argument parsing (clap) over [`aim::cmd`], one function per command.

use aim::cmd;
use aim::spec::BaseModel;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
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
        #[arg(long, value_delimiter = ',', value_enum)]
        baseline: Vec<BaseModel>,
    },
    /// Re-trains another base model with the interaction-function pairs of an architecture.
    Transfer {
        /// The architecture file (`.ron`) that `aim run` wrote.
        arch: PathBuf,
        /// The spec whose data and model settings to use.
        spec: PathBuf,
        /// The base model to re-train (one with an MLP).
        #[arg(long, value_enum)]
        base: MlpBase,
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

/// The base models `aim transfer` can re-train: those with an MLP.
#[derive(Clone, Copy, clap::ValueEnum)]
enum MlpBase {
    Deepfm,
    Ipnn,
}

/// Exit codes: 0 success, 1 a failure other than an invalid spec, 2 an invalid spec.
fn main() -> ExitCode {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    unsafe { aim::tune_allocator() };
    let one = cmd::exit_code;
    let code = match Cli::parse().command {
        Command::Check { specs } => cmd::each(&specs, |p| cmd::check::run(p)),
        Command::Fmt {
            specs,
            check,
            write,
        } => cmd::each(&specs, |p| cmd::fmt::run(p, check, write)),
        Command::Data {
            spec,
            json,
            rebuild,
            quiet,
        } => one(cmd::data::run(&spec, json, rebuild, quiet)),
        Command::Run {
            spec,
            quiet,
            from,
            seeds,
            baseline,
        } => one(cmd::run::run(&spec, quiet, from, seeds, &baseline)),
        Command::Transfer {
            arch,
            spec,
            base,
            quiet,
        } => {
            let base = match base {
                MlpBase::Deepfm => BaseModel::Deepfm,
                MlpBase::Ipnn => BaseModel::Ipnn,
            };
            one(cmd::transfer::run(&arch, &spec, base, quiet))
        }
        Command::Show { arch, json, top } => one(cmd::show::run(&arch, json, top)),
        Command::Train { spec, quiet, fresh } => one(cmd::train::run(&spec, quiet, fresh)),
        Command::Bench { options, json } => one(cmd::bench::run(&options, json)),
    };
    ExitCode::from(code)
}
