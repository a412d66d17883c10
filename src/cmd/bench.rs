//! `aim bench`: times training and inference on synthetic rows.

use crate::bench::BenchOptions;

/// The flags of `aim bench`.
#[derive(clap::Args)]
pub struct Args {
    /// The benchmark's shape.
    #[command(flatten)]
    pub options: BenchOptions,
    /// Time only the inference of this saved model (an architecture `aim run` wrote, or a
    /// model file) on uniformly drawn ids of its fields: the figure `aim predict` is held to.
    /// `--batch`, `--threads`, `--warmup` and `--steps` apply; the shape flags do not.
    #[arg(long, value_name = "MODEL")]
    pub saved: Option<std::path::PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs the benchmark and prints its numbers (text or one JSON object).
pub fn run(o: &BenchOptions, saved: Option<&std::path::Path>, json: bool) -> super::Result {
    if let Some(path) = saved {
        let r = crate::bench::run_saved(path, o)?;
        if json {
            println!("{}", serde_json::to_string(&r).expect("serialisable"));
        } else {
            println!(
                "{} (matrix products: gemm's {} kernels)",
                r.machine.cpu, r.machine.gemm_path
            );
            println!(
                "{}: {} parameters, batch {}, {} threads, {} timed batches",
                r.model, r.params, r.batch, r.machine.threads, r.steps
            );
            println!("inference  {:>9.0} samples/s", r.infer_samples_per_s);
            println!("memory     {:>9.0} MiB peak RSS", r.peak_rss_mb);
        }
        return Ok(());
    }
    let r = crate::bench::run(o)?;
    if json {
        println!("{}", serde_json::to_string(&r).expect("serialisable"));
        return Ok(());
    }
    println!(
        "{} (matrix products: gemm's {} kernels)",
        r.machine.cpu, r.machine.gemm_path
    );
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
    Ok(())
}
