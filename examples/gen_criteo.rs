//! Writes a Criteo-shaped TSV (label, 13 integer counts, 26 hashed categoricals, no header) for
//! ingest benchmarks: `cargo run --release --example gen_criteo -- OUT.tsv [MEGABYTES] [SEED]`.
//!
//! Categories are skewed (log-uniform ranks over vocabularies from 10 to 1M per field) and about
//! a fifth of the cells are missing, as in the real data.

use rand::{Rng, SeedableRng};
use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .get(1)
        .expect("usage: gen_criteo OUT.tsv [MEGABYTES] [SEED]");
    let megabytes: u64 = args.get(2).map_or(1024, |s| s.parse().expect("megabytes"));
    let seed: u64 = args.get(3).map_or(0, |s| s.parse().expect("seed"));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let vocab: Vec<f64> = (0..26)
        .map(|i| 10f64.powf(1.0 + 5.0 * (i as f64) / 25.0))
        .collect();
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let (mut written, target) = (0u64, megabytes * 1_000_000);
    let mut line = Vec::with_capacity(512);
    let mut rows = 0u64;
    while written < target {
        line.clear();
        write!(line, "{}", u8::from(rng.gen_bool(0.25)))?;
        for _ in 0..13 {
            if rng.gen_bool(0.2) {
                line.push(b'\t'); // missing
            } else {
                let x: f64 = rng.gen::<f64>() * 10.0;
                write!(line, "\t{}", (x.exp() - 1.0) as i64)?;
            }
        }
        for v in &vocab {
            if rng.gen_bool(0.15) {
                line.push(b'\t'); // missing
            } else {
                // log-uniform rank: a few categories are very frequent, most are rare
                let rank = v.powf(rng.gen::<f64>()) as u64;
                write!(
                    line,
                    "\t{:08x}",
                    (rank.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32
                )?;
            }
        }
        line.push(b'\n');
        w.write_all(&line)?;
        written += line.len() as u64;
        rows += 1;
    }
    w.flush()?;
    eprintln!("wrote {rows} rows, {:.1} MB to {out}", written as f64 / 1e6);
    Ok(())
}
