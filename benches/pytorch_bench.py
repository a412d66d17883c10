#!/usr/bin/env python3
"""The PyTorch side of `aim bench`: the same models, shapes and synthetic rows, timed the same way.

Usage: python3 benches/pytorch_bench.py [--model deepfm|search|retrain] [--optim sparse|dense|fused]
       [--fields 39 --vocab 1000000 -d 16 --mlp 400,400,400 --batch 2000 --threads 2
        --warmup 5 --steps 20] [--json]

Needs `pip install torch` (a comparison tool only: aim does not depend on it). Prints one JSON
object with train_samples_per_s, infer_samples_per_s and peak_rss_mb, like `aim bench --json`.

The models mirror src/bench.rs:
- deepfm: linear + Σ_pairs α·BN(<e_i,e_j>) (BN without affine) + MLP(400-400-400) over the embeddings.
- search: function-wise embeddings (one table per function); every pair with the inner, outer
  (Π_q w_qᵀe_q), vector-kernel and scalar-kernel functions, each BN-normed and α-gated; no MLP.
  (α gets plain SGD here in place of GRDA: the same work per step.)
- retrain: every fourth pair, each with one function in turn; MLP with BN over the kept pairs'
  element-wise product vectors (the outer function's scalar).
"""
import argparse, json, resource, statistics, time

import torch
import torch.nn as nn


def pairs(n):
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


class Interactions(nn.Module):
    """One function over a list of pairs, (B, P) outputs and optionally (B, P, d) vectors."""

    def __init__(self, fn, ps, d):
        super().__init__()
        self.fn = fn
        self.register_buffer("i", torch.tensor([p[0] for p in ps]))
        self.register_buffer("j", torch.tensor([p[1] for p in ps]))
        P = len(ps)
        if fn == "vector":
            self.k = nn.Parameter(torch.randn(P, d) * 1e-3)
        elif fn == "scalar":
            self.k = nn.Parameter(torch.ones(P))
        elif fn == "outer":
            self.k = nn.Parameter(torch.empty(2, d).uniform_(-0.5, 0.5))
        self.need_vectors = False

    def forward(self, e):  # e: (B, n, d)
        # The fastest formulation found for each function, to be fair to PyTorch:
        # - inner and scalar kernel without vectors: one batched matmul e·eᵀ and the pairs'
        #   entries (as FuxiCTR's InnerProductInteraction), instead of gathering both sides;
        # - outer: each field's projections w_qᵀe once, then the pairs' products;
        # - vector kernel, or any function whose vectors the MLP reads: gather both sides.
        if self.fn == "outer":
            p0, p1 = e @ self.k[0], e @ self.k[1]  # (B, n)
            return p0[:, self.i] * p1[:, self.j], None
        if self.fn in ("inner", "scalar") and not self.need_vectors:
            out = torch.bmm(e, e.transpose(1, 2))[:, self.i, self.j]
            return (out * self.k if self.fn == "scalar" else out), None
        prod = e[:, self.i] * e[:, self.j]
        if self.fn == "inner":
            return prod.sum(-1), prod
        if self.fn == "scalar":
            return prod.sum(-1) * self.k, prod
        return (prod * self.k).sum(-1), prod


class Model(nn.Module):
    def __init__(self, o, sparse):
        super().__init__()
        n, d, per = o.fields, o.d, o.vocab // o.fields
        self.offsets = nn.Parameter(torch.arange(n) * per, requires_grad=False)
        fns = {"deepfm": ["inner"], "search": ["inner", "outer", "vector", "scalar"],
               "retrain": ["inner", "outer", "vector", "scalar"]}[o.model]
        ps = pairs(n)
        if o.model == "retrain":
            kept = ps[::4]
            groups = [kept[k::4] for k in range(4)]
        else:
            groups = [ps for _ in fns]
        tables = 1 if o.model == "deepfm" else len(fns)
        self.emb = nn.ModuleList(nn.Embedding(o.vocab, d, sparse=sparse) for _ in range(tables))
        for t in self.emb:
            nn.init.xavier_uniform_(t.weight)
        self.lin = nn.Embedding(o.vocab, 1, sparse=sparse)
        nn.init.zeros_(self.lin.weight)
        self.blocks = nn.ModuleList(Interactions(f, g, d) for f, g in zip(fns, groups))
        for b in self.blocks:
            b.need_vectors = o.model == "retrain"
        self.bns = nn.ModuleList(nn.BatchNorm1d(len(g), affine=False) for g in groups)
        self.alphas = nn.ParameterList(nn.Parameter(torch.ones(len(g))) for g in groups)
        self.tables_of = [0] if tables == 1 else list(range(len(fns)))
        self.mlp = None
        if o.model != "search":
            if o.model == "deepfm":
                width = n * d
            else:
                width = sum(len(g) * (1 if f == "outer" else d) for f, g in zip(fns, groups))
            layers = []
            for h in o.mlp:
                layers += [nn.Linear(width, h), nn.ReLU()]
                if o.model == "retrain":
                    layers.append(nn.BatchNorm1d(h, affine=False))
                width = h
            layers.append(nn.Linear(width, 1))
            self.mlp = nn.Sequential(*layers)
        self.bias = nn.Parameter(torch.zeros(1))
        self.model = o.model

    def forward(self, x):
        ids = x + self.offsets
        logit = self.bias + self.lin(ids).sum((1, 2))
        es = [t(ids) for t in self.emb]
        vectors = []
        for k, (blk, bn, a) in enumerate(zip(self.blocks, self.bns, self.alphas)):
            out, prod = blk(es[self.tables_of[k]])
            logit = logit + (bn(out) * a).sum(1)
            if self.model == "retrain":
                vectors.append((prod if prod is not None else out.unsqueeze(-1)).flatten(1))
        if self.mlp is not None:
            inp = es[0].flatten(1) if self.model == "deepfm" else torch.cat(vectors, 1)
            logit = logit + self.mlp(inp).squeeze(1)
        return logit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="deepfm", choices=["deepfm", "search", "retrain"])
    ap.add_argument("--optim", default="sparse", choices=["sparse", "dense", "fused"])
    ap.add_argument("--fields", type=int, default=39)
    ap.add_argument("--vocab", type=int, default=1_000_000)
    ap.add_argument("-d", type=int, default=16)
    ap.add_argument("--mlp", default="400,400,400")
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    o = ap.parse_args()
    o.mlp = [int(h) for h in o.mlp.split(",")]
    torch.set_num_threads(o.threads)
    torch.manual_seed(1)
    sparse = o.optim == "sparse"
    m = Model(o, sparse)
    emb_params = [p for t in m.emb for p in t.parameters()] + list(m.lin.parameters())
    ids = {id(p) for p in emb_params}
    dense = [p for p in m.parameters() if id(p) not in ids and p.requires_grad]
    if sparse:
        opts = [torch.optim.SparseAdam(emb_params, lr=1e-3), torch.optim.Adam(dense, lr=1e-3)]
    else:
        opts = [torch.optim.Adam(list(m.parameters()), lr=1e-3, foreach=False,
                                 fused=(o.optim == "fused"))]
    total = o.warmup + o.steps
    pool = o.batch * min(total, 32)
    per = o.vocab // o.fields
    g = torch.Generator().manual_seed(1)
    X = torch.randint(0, per, (pool, o.fields), generator=g)
    y = ((X[:, 0] % 7 == 0).float() * 0.4 + 0.2 > torch.rand(pool, generator=g)).float()
    nb = pool // o.batch
    lossf = nn.BCEWithLogitsLoss()
    times = []
    m.train()
    for s in range(total):
        k = s % nb
        xb, yb = X[k * o.batch:(k + 1) * o.batch], y[k * o.batch:(k + 1) * o.batch]
        t0 = time.perf_counter()
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        loss = lossf(m(xb), yb)
        loss.backward()
        for opt in opts:
            opt.step()
        if s >= o.warmup:
            times.append(time.perf_counter() - t0)
    m.eval()
    itimes = []
    with torch.inference_mode():
        for s in range(total):
            k = s % nb
            t0 = time.perf_counter()
            m(X[k * o.batch:(k + 1) * o.batch])
            if s >= o.warmup:
                itimes.append(time.perf_counter() - t0)
    step = statistics.median(times)
    out = {
        "framework": f"torch {torch.__version__}",
        "model": o.model,
        "optim": o.optim,
        "train_samples_per_s": o.batch / step,
        "train_step_ms": step * 1e3,
        "infer_samples_per_s": o.batch / statistics.median(itimes),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if o.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:22} {v:.1f}" if isinstance(v, float) else f"{k:22} {v}")


if __name__ == "__main__":
    main()
