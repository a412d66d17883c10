#!/usr/bin/env python3
"""Runs `aim bench` and the PyTorch side (benches/pytorch_bench.py) one after the other on the same
shapes and prints README's speed table (markdown). Needs a release build (`cargo build --release`)
and `pip install torch`; without torch it prints aim's rows alone.

Usage: python3 benches/compare.py [--steps 20] [--repeat 3] [--threads 2] [--simd avx2]
Each row is the best of `--repeat` runs (this machine's timings vary by ±10% between runs).
`--simd avx2` (or scalar) makes both sides act as on a CPU without AVX-512: aim through AIM_SIMD,
PyTorch through ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA and MKL_ENABLE_INSTRUCTIONS.
"""
import argparse, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
AIM = os.path.join(HERE, "..", "target", "release", "aim")


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def best(cmd, repeat):
    runs = [run(cmd) for _ in range(repeat)]
    return {
        "train": max(r["train_samples_per_s"] for r in runs),
        "infer": max(r["infer_samples_per_s"] for r in runs),
        "rss": min(r["peak_rss_mb"] for r in runs),
        "wait": min(r.get("data_wait_ms", float("nan")) for r in runs),
        "machine": runs[0].get("machine", {}),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="threads for both sides")
    ap.add_argument("--simd", choices=["scalar", "avx2", "avx512"],
                    help="force both sides' SIMD path (default: each side's best)")
    o = ap.parse_args()
    if o.simd:
        os.environ["AIM_SIMD"] = o.simd
        torch_isa = {"scalar": ("default", "SSE41", "SSE4_2"), "avx2": ("avx2", "AVX2", "AVX2"),
                     "avx512": ("avx512", "AVX512_CORE", "AVX512")}[o.simd]
        os.environ["ATEN_CPU_CAPABILITY"] = torch_isa[0]
        os.environ["ONEDNN_MAX_CPU_ISA"] = torch_isa[1]
        os.environ["MKL_ENABLE_INSTRUCTIONS"] = torch_isa[2]
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        print("torch is not installed: aim's rows only", file=sys.stderr)
    threads = ["--threads", str(o.threads)]
    m = run([AIM, "bench", "--model", "deepfm", "--steps", "2", "--json"] + threads).get("machine", {})
    print(f"{m.get('cpu', 'unknown CPU')}; aim's kernels on its {m.get('simd_path', '?')} path "
          f"(this CPU's best: {m.get('simd_best', '?')}), its matrix products on gemm's "
          f"{m.get('gemm_path', '?')} kernels; {m.get('threads', '?')} threads")
    if have_torch:
        import torch
        cap = subprocess.run([sys.executable, "-c", "import torch; "
                              "print(torch.backends.cpu.get_cpu_capability())"],
                             capture_output=True, text=True).stdout.strip()
        print(f"PyTorch {torch.__version__}, CPU capability {cap}")
    print()
    print("| model | implementation | train samples/s | inference samples/s | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for model in ["deepfm", "search", "retrain"]:
        a = best([AIM, "bench", "--model", model, "--steps", str(o.steps), "--json"] + threads,
                 o.repeat)
        print(f"| {model} | aim | {a['train']:,.0f} | {a['infer']:,.0f} | {a['rss']:,.0f} |")
        if not have_torch:
            continue
        optims = ["sparse", "dense", "fused"] if model == "deepfm" else ["sparse"]
        for opt in optims:
            t = best([sys.executable, os.path.join(HERE, "pytorch_bench.py"), "--model", model,
                      "--optim", opt, "--steps", str(o.steps), "--json"] + threads, o.repeat)
            name = {"sparse": "PyTorch, SparseAdam + Adam", "dense": "PyTorch, Adam (dense)",
                    "fused": "PyTorch, fused Adam (dense)"}[opt]
            print(f"| {model} | {name} | {t['train']:,.0f} ({a['train'] / t['train']:.2f}×) "
                  f"| {t['infer']:,.0f} ({a['infer'] / t['infer']:.2f}×) | {t['rss']:,.0f} |")


if __name__ == "__main__":
    main()
