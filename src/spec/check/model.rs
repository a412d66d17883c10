//! The `model { … }` block, and the optimiser calls (`adam(…)`, `grda(…)`) every block uses.

use super::*;

pub(super) const MODEL_KEYS: &[&str] = &[
    "base",
    "embedding_dim",
    "mlp",
    "batch_size",
    "optimizer",
    "epochs",
    "patience",
    "dropout",
    "batch_norm",
    "init_std",
    "calibrate",
];

pub(super) fn model_block(sink: &mut Sink, b: &Block) -> ModelSpec {
    let t = Table::new(sink, "model".into(), b.header, &b.items, MODEL_KEYS, &[]);
    let names: Vec<&str> = BaseModel::ALL.iter().map(|m| m.name()).collect();
    let base = t
        .choice(sink, "base", &names)
        .and_then(|n| BaseModel::ALL.into_iter().find(|m| m.name() == n))
        .unwrap_or(BaseModel::Deepfm);
    let mlp = t.int_list(sink, "mlp", &[400, 400, 400], 1);
    if !base.has_mlp() {
        if let Some(a) = t.get("mlp") {
            sink.push(
                Diagnostic::warning(
                    a.key.span,
                    format!("`mlp` is unused by `{}`", base.name()),
                    "this base model has no MLP",
                )
                .with_help("use `base = deepfm` or `base = ipnn` for a model with an MLP"),
            );
        }
    }
    ModelSpec {
        base,
        embedding_dim: t.count(sink, "embedding_dim", 10, 1),
        mlp,
        batch_size: t.count(sink, "batch_size", 2000, 1),
        optimizer: adam(sink, &t, "optimizer", Adam::default()),
        epochs: t.count(sink, "epochs", 10, 1),
        patience: t.count(sink, "patience", 2, 1),
        dropout: t.num(sink, "dropout", 0.0, Range::RATE),
        batch_norm: t.boolean(sink, "batch_norm", false),
        init_std: t
            .get("init_std")
            .map(|_| t.num(sink, "init_std", 0.0, Range::POSITIVE)),
        calibrate: t.boolean(sink, "calibrate", true),
    }
}

pub(super) fn optimizer_call<'v>(sink: &mut Sink, v: &'v Value, want: &str) -> Option<&'v Call> {
    match &v.kind {
        ValueKind::Call(c) if c.name.name == want => Some(c),
        ValueKind::Call(c) => {
            sink.push(
                Diagnostic::error(c.name.span, format!("expected `{want}(…)`, found `{}(…)`", c.name.name), format!("this is trained by {want}"))
                    .with_help(if want == "grda" {
                        "gates are trained by GRDA, which drives useless ones to exactly zero; the other weights' Adam is `weights = adam(…)`"
                    } else {
                        "these weights are trained by Adam"
                    }),
            );
            None
        }
        ValueKind::Ident(s) if s == want => None,
        k => {
            sink.push(expected(v, &format!("`{want}(…)`"), k));
            None
        }
    }
}

pub(super) fn adam(sink: &mut Sink, t: &Table, key: &str, default: Adam) -> Adam {
    let Some(v) = t.value(key) else {
        return default;
    };
    let Some(c) = optimizer_call(sink, v, "adam") else {
        return default;
    };
    let args = named_args(sink, c, &["lr", "l2"]);
    Adam {
        lr: args
            .get("lr")
            .and_then(|v| sink.ok(num_in(v, Range::POSITIVE)))
            .unwrap_or(default.lr),
        l2: args
            .get("l2")
            .and_then(|v| sink.ok(num_in(v, Range::NON_NEGATIVE)))
            .unwrap_or(default.l2),
    }
}

pub(super) fn grda(sink: &mut Sink, t: &Table, key: &str, default: Grda) -> Grda {
    let Some(v) = t.value(key) else {
        return default;
    };
    let Some(c) = optimizer_call(sink, v, "grda") else {
        return default;
    };
    let args = named_args(sink, c, &["lr", "c", "mu"]);
    let (c, auto) = match args.get("c") {
        None => (default.c, default.auto),
        Some(v) if matches!(&v.kind, ValueKind::Ident(s) if s == "auto") => (0.0, true),
        Some(v) => (
            sink.ok(num_in(v, Range::NON_NEGATIVE)).unwrap_or(default.c),
            false,
        ),
    };
    Grda {
        c,
        auto,
        lr: args
            .get("lr")
            .and_then(|v| sink.ok(num_in(v, Range::POSITIVE)))
            .unwrap_or(default.lr),
        mu: args
            .get("mu")
            .and_then(|v| sink.ok(num_in(v, Range::OPEN_UNIT)))
            .unwrap_or(default.mu),
    }
}
