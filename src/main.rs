//! The `aim` command line: a thin clap layer over [`aim::cmd`], whose files hold each command's
//! flags and work.

use aim::cmd;
use clap::{Parser, Subcommand};
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
    Check(cmd::check::Args),
    /// Builds (or reuses) the processed-data cache of a spec and summarises it per split and field.
    Data(cmd::data::Args),
    /// Runs the AIM stages (search interactions, search dimensions, re-train) and writes the
    /// architecture to the spec's `output`.
    Run(cmd::run::Args),
    /// Re-trains another base model with the interaction-function pairs of an architecture.
    Transfer(cmd::transfer::Args),
    /// Scores raw rows with a saved model (the one `aim run`, `aim train` or `aim transfer`
    /// wrote) and prints AUC and log loss when the rows have labels.
    Predict(cmd::predict::Args),
    /// Prints an architecture file readably, or as JSON.
    Show(cmd::show::Args),
    /// Writes an architecture as one self-contained HTML page of charts (gates, dimensions,
    /// learning curves, the found model against its bases).
    Report(cmd::report::Args),
    /// Trains the spec's base model alone (the baseline every AIM result is compared to).
    Train(cmd::train::Args),
    /// Times training and inference of a model on synthetic rows (samples/s, peak memory).
    Bench(cmd::bench::Args),
    /// Prints a spec in canonical form (comments kept).
    Fmt(cmd::fmt::Args),
}

/// Exit codes: 0 success, 1 a failure other than an invalid spec, 2 an invalid spec.
fn main() -> ExitCode {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    unsafe { aim::tune_allocator() };
    let one = cmd::exit_code;
    let cli = Cli::parse();
    // A forced SIMD path this CPU lacks would be an illegal instruction later: refuse it now.
    if let Err(e) = aim::simd::init() {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    let code = match cli.command {
        Command::Check(a) => cmd::each(&a.specs, |p| cmd::check::run(p)),
        Command::Fmt(a) => cmd::each(&a.specs, |p| cmd::fmt::run(p, a.check, a.write)),
        Command::Data(a) => one(cmd::data::run(&a)),
        Command::Run(a) => one(cmd::run::run(
            &a.spec,
            a.quiet,
            a.from,
            a.seeds,
            &a.baseline,
        )),
        Command::Transfer(a) => one(cmd::transfer::run(&a.arch, &a.spec, a.base.into(), a.quiet)),
        Command::Predict(a) => one(cmd::predict::run(
            &a.model,
            &a.data,
            a.output.as_deref(),
            &a.keep,
            a.quiet,
        )),
        Command::Show(a) => one(cmd::show::run(&a.arch, a.json, a.top)),
        Command::Report(a) => one(cmd::report::run(&a.arch, a.output.as_deref())),
        Command::Train(a) => one(cmd::train::run(&a.spec, a.quiet, a.fresh)),
        Command::Bench(a) => one(cmd::bench::run(&a.options, a.saved.as_deref(), a.json)),
    };
    ExitCode::from(code)
}
