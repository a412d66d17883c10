#!/usr/bin/env python3
"""Runs `aim data` and `aim train` (and with --run, `aim run`) on specs/criteo_synthetic.aim at
several row counts and prints README's "Data at scale" table (markdown): wall time, peak memory
and the cache's size on disk for each. Needs a release build (`cargo build --release`).

Usage: python3 benches/scale.py [--rows 1000000,4500000,10000000] [--run] [--work DIR]

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


def measure(cmd, cwd):
    """Runs cmd; returns (seconds, peak RssAnon MiB, peak RssAnon + RssFile MiB, stdout)."""
    t0 = time.time()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    anon = total = 0
    while p.poll() is None:
        a, f = status_kb(p.pid, "RssAnon"), status_kb(p.pid, "RssFile")
        anon, total = max(anon, a), max(total, a + f)
        time.sleep(0.1)
    out, err = p.communicate()
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err}")
    return time.time() - t0, anon / 1024, total / 1024, out


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
    o = ap.parse_args()
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
        print("| " + " | ".join(cells) + " |", flush=True)
        shutil.rmtree(os.path.join(d, ".aim-cache"), ignore_errors=True)


if __name__ == "__main__":
    main()
