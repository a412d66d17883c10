#!/usr/bin/env python3
"""Runs `aim data` and `aim train` (and with --run, `aim run`) on specs/criteo_synthetic.aim at
several row counts and prints README's "Data at scale" table (markdown): wall time, peak memory
and the cache's size on disk for each. Needs a release build (`cargo build --release`).

Usage: python3 benches/scale.py [--rows 1000000,4500000,10000000] [--run] [--work DIR]
       python3 benches/scale.py --summarize OUT/criteo_synthetic.arch.ron

With --run, each row count's found architecture is also held against the planted truth (the
second table): the planted pairs' recall and the kept pairs' precision among the 741 candidates,
how many kept pairs have the planted function as their strongest α, the planted triples' ranks
among the kept triples (by their largest |α|), and the dimensions the search gave the fields.
--summarize prints that for a finished run's architecture file.

Peak memory is sampled from /proc/PID/status every 0.1 s: `RssAnon` (the process's own memory)
and `RssAnon + RssFile` (plus the pages of memory-mapped files it has read, which the kernel
may drop: the cache). The spec is copied into --work with only `rows` changed, so its cache
and outputs land there (several GB at 10M rows).
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
AIM = os.path.join(ROOT, "target", "release", "aim")
SPEC = os.path.join(ROOT, "specs", "criteo_synthetic.aim")


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cmd, cwd, env=None):
    """Runs cmd (with `env` added to the environment); returns (seconds, peak RssAnon MiB,
    peak RssAnon + RssFile MiB, stdout)."""
    t0 = time.time()
    full = dict(os.environ, **(env or {}))
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=full)
    anon = total = 0
    while p.poll() is None:
        a, f = status_kb(p.pid, "RssAnon"), status_kb(p.pid, "RssFile")
        anon, total = max(anon, a), max(total, a + f)
        time.sleep(0.1)
    out, err = p.communicate()
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err}")
    return time.time() - t0, anon / 1024, total / 1024, out


def planted(spec_text):
    """The spec's planted interactions: [(function, (fields...))]."""
    block = spec_text[spec_text.index("planted = ["):]
    block = block[:block.index("]\n")]
    out = []
    for fn, args in re.findall(r"(\w+)\(([^)]*)\)", block):
        fields = tuple(a.strip() for a in args.split(",") if "=" not in a)
        out.append((fn, fields))
    return out


def kept(arch_text):
    """The architecture's interactions, in file order: [(fields, {function: alpha})]."""
    body = arch_text[arch_text.index("interactions: ["):]
    out = []
    for fields, alphas in re.findall(
            r"\(\s*fields: \[([^\]]*)\],\s*order: \d+,\s*functions: \[[^\]]*\],\s*alphas: \{([^}]*)\}",
            body):
        names = tuple(x.strip().strip('"') for x in fields.split(",") if x.strip())
        out.append((names, {f: float(a) for f, a in re.findall(r'"(\w+)": ([-0-9.e]+)', alphas)}))
    return out


def summarize(arch_path, spec_text):
    """One markdown row: the found architecture against the planted truth."""
    arch = open(arch_path).read()
    truth = planted(spec_text)
    found = kept(arch)
    pairs = [(f, a) for f, a in found if len(f) == 2]
    triples = sorted([(f, a) for f, a in found if len(f) == 3],
                     key=lambda e: -max(abs(x) for x in e[1].values()))
    want_pairs = {tuple(sorted(f)): fn for fn, f in truth if len(f) == 2}
    want_triples = [tuple(sorted(f)) for fn, f in truth if len(f) == 3]
    kept_pairs = {tuple(sorted(f)): a for f, a in pairs}
    hits = [p for p in want_pairs if p in kept_pairs]
    right_fn = sum(1 for p in hits
                   if max(kept_pairs[p], key=lambda k: abs(kept_pairs[p][k])) == want_pairs[p])
    inside = sum(1 for p in kept_pairs if p not in want_pairs
                 and any(set(p) <= set(t) for t in want_triples))
    ranks = []
    for t in want_triples:
        r = [i + 1 for i, (f, _) in enumerate(triples) if tuple(sorted(f)) == t]
        ranks.append(str(r[0]) if r else "not kept")
    dims = [int(d) for d in re.findall(r"\bdim: (\d+),", arch)]
    dim_text = (f"all {dims[0]}" if len(set(dims)) == 1
                else f"{min(dims)}–{max(dims)} (mean {sum(dims) / len(dims):.1f})")
    return (f"| {len(hits)}/{len(want_pairs)} | {len(hits)}/{len(kept_pairs)}"
            f" ({inside} more inside a planted triple) | {right_fn}/{len(hits)} | "
            f"{len(triples)} | {', '.join(ranks)} | {dim_text} |")


SUMMARY_HEADER = ("| planted pairs kept | kept pairs planted | strongest α is the planted function "
                  "| triples kept | planted triples' ranks | dimensions per field |\n"
                  "|---|---|---|---|---|---|")


def du_mib(path):
    n = 0
    for d, _, files in os.walk(path):
        for f in files:
            n += os.path.getsize(os.path.join(d, f))
    return n / 2**20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="1000000,4500000,10000000")
    ap.add_argument("--run", action="store_true", help="also time `aim run` (all stages)")
    ap.add_argument("--work", help="folder for the specs, caches and outputs (default: a temporary one)")
    ap.add_argument("--summarize", metavar="ARCH", help="only hold ARCH against the spec's truth")
    o = ap.parse_args()
    if o.summarize:
        print(SUMMARY_HEADER)
        print(summarize(o.summarize, open(SPEC).read()))
        return
    work = o.work or tempfile.mkdtemp(prefix="aim-scale-")
    text = open(SPEC).read()
    assert "rows = 1_000_000" in text, "the spec's rows line changed"
    cpu = subprocess.run([AIM, "bench", "--steps", "1", "--warmup", "0", "--json"],
                         capture_output=True, text=True).stdout
    m = re.search(r'"cpu":"([^"]*)"', cpu)
    print(f"{m.group(1) if m else 'unknown CPU'}, {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d')}; specs/criteo_synthetic.aim with `rows` changed\n")
    cols = ["rows", "`aim data` s", "peak RssAnon MiB", "peak with file pages MiB", "cache MiB",
            "`aim train` s", "train samples/s", "peak RssAnon MiB", "test AUC"]
    if o.run:
        cols += ["`aim run` s", "peak RssAnon MiB"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    searches = []
    for rows in [int(r) for r in o.rows.split(",")]:
        d = os.path.join(work, str(rows))
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        with open(os.path.join(d, "s.aim"), "w") as f:
            f.write(text.replace("rows = 1_000_000", f"rows = {rows}"))
        ds, da, dt, _ = measure([AIM, "data", "s.aim", "-q"], d)
        cache = du_mib(os.path.join(d, ".aim-cache"))
        ts, ta, _, out = measure([AIM, "train", "s.aim", "-q", "--fresh"], d)
        sps = re.search(r"(\d+) train samples/s", out)
        auc = re.search(r"test AUC ([0-9.]+)", out)
        cells = [f"{rows:,}", f"{ds:.1f}", f"{da:,.0f}", f"{dt:,.0f}", f"{cache:,.0f}", f"{ts:.0f}",
                 f"{int(sps.group(1)):,}" if sps else "?", f"{ta:,.0f}",
                 auc.group(1) if auc else "?"]
        if o.run:
            rs, ra, _, _ = measure([AIM, "run", "s.aim", "-q"], d)
            cells += [f"{rs:.0f}", f"{ra:,.0f}"]
            arch = os.path.join(d, "out", "criteo_synthetic.arch.ron")
            searches.append(f"| {rows:,} " + summarize(arch, text))
        print("| " + " | ".join(cells) + " |", flush=True)
        shutil.rmtree(os.path.join(d, ".aim-cache"), ignore_errors=True)
    if searches:
        print("\n| rows " + SUMMARY_HEADER.replace("\n|---", "\n|---|---"))
        print("\n".join(searches))


if __name__ == "__main__":
    main()
