#!/usr/bin/env python3
"""README's accuracy table: `aim run SPEC --seeds N --baseline fm,deepfm,ipnn` per dataset, then
one markdown table of test AUC and log loss (mean ± std over the seeds, Welch p-values of AIM
against each baseline), with the peers' numbers from ../shared/peers/RESULTS.md beside it.

    python3 benches/accuracy.py [--seeds 5] [--aim target/release/aim] [--no-run] [SPEC ...]

Defaults to specs/frappe.aim and specs/adult.aim. Uses only the standard library.
"""

import argparse
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BASELINES = ["fm", "deepfm", "ipnn"]


def peers(results: pathlib.Path) -> dict:
    """(dataset, library model) -> (test AUC, test log loss), from RESULTS.md's table."""
    out = {}
    if not results.exists():
        return out
    for line in results.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and re.fullmatch(r"0\.\d+", cells[3] or ""):
            out[(cells[0].lower(), f"{cells[1]} {cells[2]}")] = (float(cells[3]), float(cells[4]))
    return out


def run(aim: str, spec: pathlib.Path, seeds: int, train: bool) -> dict:
    cmd = [aim, "run", str(spec), "-q", "--seeds", str(seeds), "--baseline", ",".join(BASELINES)]
    if train:
        print("+", " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    out = re.search(r'output\s*=\s*"([^"]+)"', spec.read_text())
    arch = (spec.parent / out.group(1)) if out else spec.parent / "out" / f"{spec.stem}.arch.ron"
    shown = subprocess.run([aim, "show", str(arch), "--json"], check=True, capture_output=True)
    return json.loads(shown.stdout)


def cell(m: dict) -> str:
    return f"{m['auc']['mean']:.4f} ± {m['auc']['std']:.4f} / {m['logloss']['mean']:.4f} ± {m['logloss']['std']:.4f}"


def valid(m: dict) -> str:
    """Mean validation AUC over the seeds (what settings are chosen on), or '' if not recorded."""
    v = m.get("valid_auc") or []
    return f"{sum(v) / len(v):.4f}" if v else "–"


def raw_logloss(m: dict) -> str:
    """Mean test log loss before calibration, or '–' if not recorded or not calibrated."""
    v, c = m.get("test_logloss_uncalibrated") or [], m.get("test_logloss") or []
    return f"{sum(v) / len(v):.4f}" if v and v != c else "–"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--aim", default=str(ROOT / "target" / "release" / "aim"))
    ap.add_argument("--no-run", action="store_true", help="only render the architectures already written")
    ap.add_argument("specs", nargs="*", default=[str(ROOT / "specs/frappe.aim"), str(ROOT / "specs/adult.aim")])
    a = ap.parse_args()
    peer = peers(ROOT.parent / "shared" / "peers" / "RESULTS.md")
    rows = []
    for s in a.specs:
        spec = pathlib.Path(s).resolve()
        arch = run(a.aim, spec, a.seeds, not a.no_run)
        m = arch["metrics"]
        base = {b["base"]: b for b in m["baselines"]}
        p = arch["params"]
        name = spec.stem
        peers_cell = "; ".join(
            f"{k[1]} {v[0]:.4f} / {v[1]:.4f}" for k, v in sorted(peer.items()) if k[0] == name
        )
        rows.append(
            f"| {name} | "
            + " | ".join(cell(base[b]["metrics"]) for b in BASELINES)
            + f" | **{cell(m['seeds'])}** | "
            + ", ".join(f"{b} {base[b]['p_auc']:.2g} / {base[b]['p_logloss']:.2g}" for b in BASELINES)
            + " | " + " / ".join(valid(x) for x in [base[b]["metrics"] for b in BASELINES] + [m["seeds"]])
            + " | " + " / ".join(raw_logloss(x) for x in [base[b]["metrics"] for b in BASELINES] + [m["seeds"]])
            + f" | {p['after']:,} ({p['after'] / p['base_function_wise']:.3f}× function-wise, {p['after'] / p['base']:.3f}× plain) | {peers_cell} |"
        )
    print(f"test AUC / log loss, mean ± std over {a.seeds} seeds (the spec's seed onwards)\n")
    print("| dataset | aim FM | aim DeepFM | aim IPNN | `aim run` | Welch p (AUC / log loss) vs FM, DeepFM, IPNN | validation AUC (FM / DeepFM / IPNN / aim run) | test log loss before calibration (same order) | parameters of the found model | peers (RESULTS.md) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
