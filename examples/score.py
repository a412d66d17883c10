#!/usr/bin/env python3
"""A numpy-only reference scorer for aim's saved models (README: Saved models).

    python3 examples/score.py MODEL.safetensors DATA [-o scores.csv]

Reads the model file that `aim run` (`NAME.model.safetensors`), `aim train` or `aim transfer`
wrote, applies its preprocessing to DATA's raw rows (csv, libfm, criteo or avazu, as the model
was trained on; labels optional) and writes one probability per row, as `aim predict` does:
the same ids (unseen or rare categories are id 0, empty cells the field's missing id) and the
same logit, `bias + linear + the gated interaction sums + the MLP`, calibrated if the model is.
It is written for reading, not speed: one numpy pass per batch of rows.
"""

import argparse
import json
import math
import struct
import sys

import numpy as np

DTYPES = {"F32": "<f4", "U64": "<u8", "U8": "u1", "I64": "<i8", "U32": "<u4"}
WHITESPACE = b" \t\n\r\x0c"  # Rust's is_ascii_whitespace
CRITEO_NUMERIC, CRITEO_CATEGORICAL = 13, 26
AVAZU_HEADER = ("id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,"
                "app_domain,app_category,device_id,device_ip,device_model,device_type,"
                "device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21").split(",")
WEEKDAYS = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"]


def read_safetensors(path):
    """The tensors (name -> numpy array) and the `aim` metadata of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = json.loads(header.pop("__metadata__")["aim"])
    data = raw[8 + n:]
    tensors = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
    return tensors, meta


class Model:
    def __init__(self, path):
        self.t, self.meta = read_safetensors(path)
        if self.meta["version"] != 1:
            sys.exit(f"{path}: model format {self.meta['version']}; this scorer reads format 1")
        self.cfg = self.meta["config"]
        if self.cfg["dim_gates"] is not None:
            sys.exit(f"{path}: a search model with dimension gates; score the re-trained model")
        self.pre = self.meta["preprocess"]
        self.fields = self.cfg["fields"]
        self.d = self.cfg["d"]
        self.lookups = []
        for f in self.pre["fields"]:
            offsets = self.t[f"vocab.{f['name']}.offsets"]
            blob = self.t[f"vocab.{f['name']}.bytes"].tobytes()
            missing = f["missing"] or 0
            keys = {}
            for k in range(1, f["vocab"]):
                if k == missing:
                    continue
                text = blob[offsets[k]:offsets[k + 1]]
                keys[int(text) if f["kind"] == "Numeric" else text] = k
            self.lookups.append((keys, missing))
        # Embedding tables as (vocab, d) per field, zero at pruned positions.
        self.tables = []
        for t in range(len(self.table_functions())):
            per_field = []
            for f in self.fields:
                w = self.t[f"emb{t}.{f['name']}"]
                full = np.zeros((f["vocab"], self.d), dtype=np.float32)
                full[:, f["positions"]] = w
                per_field.append(full)
            self.tables.append(per_field)

    def table_functions(self):
        if not self.cfg["function_wise"]:
            return [None]
        fns = []
        for o in self.cfg["orders"]:
            for f, _ in o["functions"]:
                if f not in fns:
                    fns.append(f)
        return fns or [None]

    # ---- preprocessing: raw cells -> ids, as aim's ingest assigns them
    def ids(self, f, cell):
        """cell: None (missing), bytes (a category or a multi-valued cell) or float."""
        keys, missing = self.lookups[f]
        kind = self.pre["fields"][f]["kind"]
        if cell is None:
            return [missing]
        if isinstance(kind, dict):  # {"Multi": {"sep": byte}}
            sep = bytes([kind["Multi"]["sep"]])
            vals = [v.strip(WHITESPACE) for v in cell.split(sep)]
            vals = [v for v in vals if v]
            return [keys.get(v, 0) for v in vals] or [missing]
        if kind == "Numeric":
            return [keys.get(bucket(cell, self.pre["numeric"]), 0)]
        return [keys.get(cell, 0)]

    # ---- the forward pass in evaluation mode
    def embed(self, table, ids):
        """(n, batch, d): each field's embedding (the mean over a multi-valued cell's ids)."""
        n, b = len(self.fields), len(ids)
        e = np.zeros((n, b, self.d), dtype=np.float32)
        for f in range(n):
            t = self.tables[table][f]
            for r in range(b):
                e[f, r] = t[ids[r][f]].mean(axis=0)
        return e

    def logits(self, ids):
        b = len(ids)
        tables = [self.embed(t, ids) for t in range(len(self.tables))]
        fns = self.table_functions()
        logit = np.full(b, self.t["bias"][0], dtype=np.float64)
        if self.cfg["linear"]:
            for f, fi in enumerate(self.fields):
                w = self.t[f"linear.{fi['name']}"][:, 0]
                logit += np.array([w[ids[r][f]].mean() for r in range(b)])
        mlp = self.cfg["mlp"]
        groups = []  # the MLP's input groups: (G, batch, k) arrays, with kept positions
        if mlp and mlp["input"] != "InteractionVectors":
            groups.append((tables[0], [f["positions"] for f in self.fields]))
        for o in self.cfg["orders"]:
            for fn, tuples in o["functions"]:
                if not tuples:
                    continue
                e = tables[fns.index(fn) if fn in fns else 0]
                name = f"order{o['order']}.{fn_name(fn)}"
                out, vectors = interact(fn, e, tuples, self.t.get(f"{name}.{KERNEL.get(fn, '')}"))
                if mlp and mlp["input"] == "EmbeddingsAndProducts":
                    groups.append((out[:, :, None], None))
                if mlp and mlp["input"] == "InteractionVectors":
                    if vectors is None:
                        groups.append((out[:, :, None], None))
                    else:
                        keep = [[k for k in range(self.d)
                                 if all(k in self.fields[f]["positions"] for f in t)]
                                for t in tuples]
                        groups.append((vectors, keep))
                if o["to_logit"]:
                    gate = o["gate"]
                    if gate == "BatchNorm":
                        mean = self.t[f"{name}.alpha.running_mean"][:, None]
                        var = self.t[f"{name}.alpha.running_var"][:, None]
                        inv = 1.0 / np.sqrt(var.astype(np.float64) + self.cfg["bn_eps"])
                        out = (out - mean) * inv * self.t[f"{name}.alpha"]
                    elif gate == "Scale":
                        out = out * self.t[f"{name}.alpha"]
                    logit += out.sum(axis=0)
        if mlp:
            logit += self.mlp(groups, b)
        return logit

    def mlp(self, groups, b):
        x = np.zeros((b, self.cfg["mlp"]["hidden"][0]), dtype=np.float64)
        for i, (g, keep) in enumerate(groups):
            w = self.t[f"mlp.in{i}"]
            G, _, k = g.shape
            flat = g.transpose(1, 0, 2).reshape(b, G * k)
            if keep is not None and any(len(kp) < k for kp in keep):
                cols = [gi * k + p for gi, kp in enumerate(keep) for p in kp]
                flat = flat[:, cols]
            x += flat @ w.reshape(-1, w.shape[2])
        eps = max(self.cfg["bn_eps"], 1e-5)
        layers = len(self.cfg["mlp"]["hidden"])
        for i in range(layers + 1):
            if i > 0:
                x = x @ self.t[f"mlp.w{i}"]
            x = x + self.t[f"mlp.b{i}"][0]
            if i < layers:
                x = np.maximum(x, 0.0)
                if self.cfg["mlp"]["batch_norm"]:
                    mean = self.t[f"mlp.bn{i}.running_mean"]
                    var = self.t[f"mlp.bn{i}.running_var"].astype(np.float64)
                    x = (x - mean) / np.sqrt(var + eps)
        return x[:, 0]

    def probabilities(self, ids):
        z = self.logits(ids)
        c = self.meta["calibration"]
        if c is not None:
            z = c["scale"] * z + c["shift"]
        return 1.0 / (1.0 + np.exp(-z))


KERNEL = {"VectorKernel": "phi", "ScalarKernel": "s", "Outer": "w"}


def fn_name(fn):
    return {"Inner": "inner", "Outer": "outer", "VectorKernel": "vector_kernel",
            "ScalarKernel": "scalar_kernel"}[fn]


def interact(fn, e, tuples, kernel):
    """(P, batch) values of an interaction function over its tuples, and the element-wise
    product vectors (P, batch, d) for the functions that have them."""
    t = np.array(tuples)
    if fn == "Outer":
        # Π_q (w_q · e_q)
        out = np.ones((len(tuples), e.shape[1]), dtype=np.float64)
        for q in range(t.shape[1]):
            out *= e[t[:, q]] @ kernel[q]
        return out, None
    prod = np.prod(e[t.T], axis=0)  # (P, batch, d)
    if fn == "Inner":
        return prod.sum(axis=2), prod
    if fn == "ScalarKernel":
        return prod.sum(axis=2) * kernel[:, 0][:, None], prod
    return (prod * kernel[:, None, :]).sum(axis=2), prod  # VectorKernel: Σ_k φ_k Π_q e_qk


def bucket(x, how):
    if how == "LogSquare" and x > 2.0:
        ln = math.log(x)
        return math.floor(ln * ln)
    return math.floor(x)


def number(raw):
    x = float(raw.strip(WHITESPACE))
    if not math.isfinite(x):
        raise ValueError(raw)
    return x


def split_quoted(line, sep):
    """aim's CSV cells: double-quoted cells lose their quotes, doubled quotes stay doubled."""
    cells, i = [], 0
    while True:
        if line[i:i + 1] == b'"':
            j = i + 1
            while True:
                if j >= len(line):
                    raise ValueError("a quoted cell is not closed")
                if line[j:j + 2] == b'""':
                    j += 2
                elif line[j:j + 1] == b'"':
                    break
                else:
                    j += 1
            cells.append(line[i + 1:j])
            i = j + 1
            if i >= len(line):
                return cells
            i += 1
        else:
            end = line.find(sep, i)
            if end < 0:
                cells.append(line[i:])
                return cells
            cells.append(line[i:end])
            i = end + 1


def weekday(year, month, day):
    import datetime
    return datetime.date(year, month, day).weekday()


def rows(model, path):
    """Yields (cells per field) for each data row of the file, as aim's readers parse it."""
    fmt = model.pre["format"]
    fields = model.pre["fields"]
    with open(path, "rb") as f:
        lines = (l.rstrip(b"\n").rstrip(b"\r") for l in f)
        lines = (l for l in lines if l.strip(WHITESPACE))
        first = next(lines)
        if isinstance(fmt, dict) and "Csv" in fmt:
            spec = fmt["Csv"]
            sep = bytes([spec["delimiter"]])
            names = [c.strip(WHITESPACE).decode() for c in split_quoted(first, sep)]
            cols = [names.index(c["name"]) for c in spec["columns"]]
            for line in lines:
                cells = split_quoted(line, sep)
                out = []
                for fi, c in zip(fields, cols):
                    raw = cells[c].strip(WHITESPACE)
                    if not raw:
                        out.append(None)
                    elif fi["kind"] == "Numeric":
                        out.append(number(raw))
                    else:
                        out.append(raw)
                yield out
        elif fmt == "Libfm":
            unlabelled = b":" in first.split()[0]
            for line in _chain(first, lines):
                toks = line.split()
                if not unlabelled:
                    toks = toks[1:]
                yield [t[:t.index(b":")] for t in toks]
        elif fmt == "Criteo":
            header = first.startswith(b"label")
            sep = b"," if header or b"\t" not in first else b"\t"
            unlabelled = not header and len(first.split(sep)) == CRITEO_NUMERIC + CRITEO_CATEGORICAL
            for line in (lines if header else _chain(first, lines)):
                cols = line.split(sep)[0 if unlabelled else 1:]
                yield [None if not c else (number(c) if i < CRITEO_NUMERIC else c)
                       for i, c in enumerate(cols)]
        elif fmt == "Avazu":
            unlabelled = first.decode().split(",") != AVAZU_HEADER
            for line in lines:
                cols = line.split(b",")[1:]
                if not unlabelled:
                    cols = cols[1:]
                hour = cols[0]
                wd = weekday(2000 + int(hour[0:2]), int(hour[2:4]), int(hour[4:6]))
                yield [hour[6:8], WEEKDAYS[wd]] + [c if c else None for c in cols[1:]]
        else:
            sys.exit("the model was trained on synthetic data: there are no raw rows to score")


def _chain(first, rest):
    yield first
    yield from rest


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("-o", "--output")
    ap.add_argument("--batch", type=int, default=4096)
    a = ap.parse_args()
    model = Model(a.model)
    out = open(a.output, "w") if a.output else sys.stdout
    out.write("probability\n")
    batch = []

    def flush():
        for p in model.probabilities(batch):
            out.write(f"{p:.9g}\n")
        batch.clear()

    for cells in rows(model, a.data):
        batch.append([model.ids(f, c) for f, c in enumerate(cells)])
        if len(batch) == a.batch:
            flush()
    if batch:
        flush()
    if a.output:
        out.close()


if __name__ == "__main__":
    main()
