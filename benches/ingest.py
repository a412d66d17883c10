#!/usr/bin/env python3
"""Ingest speed of `aim data` on the same rows as TSV and as Parquet (README "Data at scale").

Generates specs/criteo_synthetic.aim's rows (`--rows`), writes the training split back out with
`aim data --export tsv` and `--export parquet`, then times `aim data` building a cache from each
(all 39 fields categorical, the same split), best of `--repeat`. Needs a release build and, for
the Parquet footer's sizes, pyarrow (`pip install pyarrow`; a measuring aid, not a dependency).

Usage: python3 benches/ingest.py [--rows 1000000] [--repeat 2] [--work DIR [--reuse]]

The inputs are timed in turn within each repeat (TSV, Parquet, Parquet through the crate's
decoders), so that a drift in this machine's speed touches all of them alike. The last row
reads the string columns through the parquet crate's value decoders (`AIM_PARQUET_GENERIC=1`)
instead of aim's page reader. `--reuse` keeps the exported files of an earlier run in DIR.

Sizes per format: the file on disk; for Parquet also its footer's uncompressed size of the
column chunks (dictionary pages and encoded indices: what the codec inflated) and the decoded
values' bytes (each value's text plus a 4-byte length, the PLAIN encoding's size: what the
reader hands on). MB/s divides each by the wall time of `aim data`.
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale  # noqa: E402  (measure, du_mib, paths)


def spec_for(fmt, path, fields):
    cols = "\n".join(f"      {f} = categorical" for f in fields)
    extra = '    delimiter = "\\t"\n' if fmt == "csv" else ""
    return (f'experiment "ingest_{fmt}" {{\n  seed = 1\n  data {{\n    format = {fmt}\n'
            f'    train = "{path}"\n    split = [0.8, 0.1, 0.1]\n    label = "label"\n{extra}'
            f'    columns {{\n{cols}\n    }}\n  }}\n  model {{\n    base = fm\n  }}\n}}\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--work")
    ap.add_argument("--reuse", action="store_true")
    o = ap.parse_args()
    work = o.work or tempfile.mkdtemp(prefix="aim-ingest-")
    os.makedirs(work, exist_ok=True)
    text = open(scale.SPEC).read().replace("rows = 1_000_000", f"rows = {o.rows}")
    open(os.path.join(work, "s.aim"), "w").write(text)
    have = all(os.path.exists(os.path.join(work, f"train.{f}")) for f in ["tsv", "parquet"])
    if not (o.reuse and have):
        subprocess.run([scale.AIM, "data", "s.aim", "-q"], cwd=work, check=True,
                       stdout=subprocess.DEVNULL)
        for fmt in ["tsv", "parquet"]:
            subprocess.run([scale.AIM, "data", "s.aim", "-q", "--export", fmt, "--split", "train",
                            "-o", f"train.{fmt}"], cwd=work, check=True)
    header = open(os.path.join(work, "train.tsv")).readline().rstrip("\n").split("\t")
    fields = header[1:]
    rows = sum(1 for _ in open(os.path.join(work, "train.tsv"))) - 1
    tsv_bytes = os.path.getsize(os.path.join(work, "train.tsv"))
    pq_file = os.path.join(work, "train.parquet")
    footer = plain = None
    try:
        import pyarrow.parquet as pq
        md = pq.ParquetFile(pq_file).metadata
        footer = sum(md.row_group(g).column(c).total_uncompressed_size
                     for g in range(md.num_row_groups) for c in range(md.num_columns))
        t = pq.read_table(pq_file)
        plain = 4 * rows  # the label, INT32
        for f in fields:
            col = t.column(f)
            plain += sum(4 + len(v) for v in col.to_pylist() if v is not None)
    except ImportError:
        print("(pyarrow not installed: Parquet's footer and decoded sizes left out)")
    cpu = subprocess.run([scale.AIM, "bench", "--steps", "1", "--warmup", "0", "--json"],
                         capture_output=True, text=True).stdout
    m = re.search(r'"cpu":"([^"]*)"', cpu)
    print(f"{m.group(1) if m else 'unknown CPU'}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}; "
          f"the training split of specs/criteo_synthetic.aim at {o.rows:,} rows: {rows:,} rows, "
          f"{len(fields)} fields, best of {o.repeat}\n")
    print("| input | file MB | data MB | `aim data` s | MB/s | rows/s | peak RssAnon MiB |")
    print("|---|---|---|---|---|---|---|")
    inputs = [("csv", "train.tsv", None), ("parquet", "train.parquet", None),
              ("parquet", "train.parquet", {"AIM_PARQUET_GENERIC": "1"})]
    best = [None] * len(inputs)
    for _ in range(o.repeat):
        for i, (fmt, name, env) in enumerate(inputs):
            d = os.path.join(work, f"{fmt}{'-generic' if env else ''}")
            os.makedirs(d, exist_ok=True)
            open(os.path.join(d, "s.aim"), "w").write(spec_for(fmt, f"../{name}", fields))
            shutil.rmtree(os.path.join(d, ".aim-cache"), ignore_errors=True)
            s, anon, _, _ = scale.measure([scale.AIM, "data", "s.aim", "-q"], d, env)
            best[i] = (s, anon) if best[i] is None or s < best[i][0] else best[i]
    for (fmt, name, env), (s, anon) in zip(inputs, best):
        size = os.path.getsize(os.path.join(work, name))
        if fmt == "csv":
            sizes = [("TSV text", tsv_bytes)]
        elif env:
            sizes = [("Parquet through the crate's decoders, decoded values", plain)]
        else:
            sizes = [("Parquet, footer's uncompressed", footer), ("Parquet, decoded values", plain)]
        for label, data in sizes:
            if data is None:
                continue
            print(f"| {label} | {size / 1e6:,.1f} | {data / 1e6:,.1f} | {s:.2f} | "
                  f"{data / 1e6 / s:,.0f} | {rows / s:,.0f} | {anon:,.0f} |")

if __name__ == "__main__":
    main()
