//! The `search interactions { … }` and `search embedding_dims { … }` blocks, and their defaults.

use super::*;

/// A search's epochs at most: it stops early, as the model does, after the model's `patience`
/// epochs without a better validation AUC. One epoch (the paper's, on 45M rows) left the gates
/// of a small dataset where they started (Frappe: 68 steps).
pub const SEARCH_EPOCHS: usize = 10;

/// GRDA on the interaction gates: the paper's μ, with `c = auto`. γ = 1: at the paper's 0.1 the
/// gates of a few thousand steps hardly leave their initial value and their order says nothing
/// (Frappe: every |α| within 0.47–0.69 after 10 epochs).
pub const GRDA_INTERACTIONS: Grda = Grda {
    lr: 1.0,
    c: 0.0,
    mu: 0.9,
    auto: true,
};
/// GRDA on the dimension gates: the paper's EDS μ, with `c = auto` and γ = 1 (as for α).
pub const GRDA_DIMS: Grda = Grda {
    lr: 1.0,
    c: 0.0,
    mu: 0.51,
    auto: true,
};

/// The dimension gates multiply the embeddings as they are, not batch-normalised per (field,
/// position): every interaction term is batch-normalised after them anyway, which already takes
/// the scale out of β, and normalising each position over the batch blew up rare categories
/// (a category seen in a fraction p of rows gets ~1/√p) so that the search model overfitted:
/// validation AUC of the dimension-search model with all gates open, normalised / not, Frappe
/// 0.891 / 0.949 (stage 1: 0.953), tests/aim.rs's rank data 0.886 / 0.893 (stage 1: 0.8925).
pub const DIMS_BATCH_NORM: bool = false;

pub(super) const SEARCH_KEYS: &[&str] = &[
    "max_order",
    "functions",
    "embeddings",
    "top_k",
    "optimizer",
    "weights",
    "epochs",
    "alpha_init",
    "bn_eps",
    "reason",
];

/// Asks for a `reason` where a block sets GRDA's `c` by hand: the default `c = auto` chooses the
/// threshold on validation data, so a hand-set one is a per-dataset number whose why `aim check`
/// must be able to show. `set` holds each `optimizer` key's value span and what it gave.
fn want_reason(sink: &mut Sink, what: &str, set: &[(Span, Grda)], reason: &Option<String>) {
    if reason.is_some() {
        return;
    }
    if let Some((span, _)) = set.iter().find(|(_, g)| !g.auto) {
        sink.push(
            Diagnostic::warning(
                *span,
                format!("{what}: GRDA's `c` is set by hand"),
                "the default `c = auto` chooses the threshold on validation data",
            )
            .with_help(format!(
                "drop `c`, or say why this value beats the default with `reason = \"…\"` in `{what}` (`aim check` shows it)"
            )),
        );
    }
}

pub(super) fn interaction_block(
    sink: &mut Sink,
    b: &Block,
    fields: Option<usize>,
    data: &DataSpec,
) -> InteractionSearch {
    let t = Table::new(
        sink,
        "search interactions".into(),
        b.header,
        &b.items,
        SEARCH_KEYS,
        &["order"],
    );
    let max_order = t.int(sink, "max_order", 2, 2, 4) as usize;
    let mut functions = Vec::new();
    match t.value("functions") {
        None => functions = InteractionFn::ALL.to_vec(),
        Some(v) => match &v.kind {
            ValueKind::List(xs) if xs.is_empty() => {
                sink.push(
                    Diagnostic::error(v.span, "no interaction functions", "list at least one")
                        .with_help(
                            "e.g. `functions = [inner, outer, vector_kernel, scalar_kernel]`",
                        ),
                );
            }
            ValueKind::List(xs) => {
                for x in xs {
                    if let Some(f) = sink.ok(choice(x, FUNCTIONS, "interaction function")) {
                        let f = InteractionFn::from_name(f).expect("checked");
                        if functions.contains(&f) {
                            sink.push(Diagnostic::error(
                                x.span,
                                format!("`{f}` listed twice"),
                                "already listed",
                            ));
                        } else {
                            functions.push(f);
                        }
                    }
                }
            }
            k => sink.push(expected(v, "a list like `[inner, outer]`", k)),
        },
    }
    let embeddings = match t
        .choice(sink, "embeddings", &["function_wise", "shared"])
        .as_deref()
    {
        Some("shared") => EmbeddingSharing::Shared,
        _ => EmbeddingSharing::FunctionWise,
    };
    let top_k = t
        .value("top_k")
        .and_then(|v| sink.ok(int_in(v, 1, i64::MAX)))
        .map(|k| k as usize);
    if let (Some(k), Some(n), Some(a)) = (top_k, fields, t.get("top_k")) {
        if k > n * (n - 1) / 2 {
            sink.push(Diagnostic::warning(
                a.value.span,
                format!(
                    "top_k = {k} exceeds the {} pairs of {n} fields",
                    n * (n - 1) / 2
                ),
                "every kept interaction seeds the next order",
            ));
        }
    }
    let epochs = t.count(sink, "epochs", SEARCH_EPOCHS, 1);
    let optimizer = grda(sink, &t, "optimizer", GRDA_INTERACTIONS);
    let mut hand_set: Vec<(Span, Grda)> = t
        .value("optimizer")
        .map(|v| (v.span, optimizer))
        .into_iter()
        .collect();
    let weights = adam(sink, &t, "weights", Adam::default());
    let mut orders: Vec<OrderSearch> = (2..=max_order)
        .map(|order| OrderSearch {
            order,
            epochs,
            optimizer,
            weights,
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for ob in t.blocks() {
        let n = match &ob.label {
            Some(Label::Int(n, sp)) => {
                if !(2..=max_order as u64).contains(n) {
                    sink.push(Diagnostic::error(
                        *sp,
                        format!("order {n} is not searched"),
                        format!("max_order = {max_order}: orders 2..={max_order}"),
                    ));
                    continue;
                }
                *n as usize
            }
            _ => {
                sink.push(Diagnostic::error(
                    ob.header,
                    "`order` needs its number",
                    "expected e.g. `order 3 {`",
                ));
                continue;
            }
        };
        if !seen.insert(n) {
            sink.push(Diagnostic::error(
                ob.header,
                format!("duplicate block `order {n}`"),
                "given a second time here",
            ));
            continue;
        }
        let ot = Table::new(
            sink,
            format!("order {n}"),
            ob.header,
            &ob.items,
            &["epochs", "optimizer", "weights"],
            &[],
        );
        let o = &mut orders[n - 2];
        o.epochs = ot.count(sink, "epochs", epochs, 1);
        o.optimizer = grda(sink, &ot, "optimizer", optimizer);
        if let Some(v) = ot.value("optimizer") {
            hand_set.push((v.span, o.optimizer));
        }
        o.weights = adam(sink, &ot, "weights", weights);
    }
    if let DataSource::Synthetic(s) = &data.source {
        if let Some(p) = s.planted.iter().find(|p| p.fields.len() > max_order) {
            let sp = t.get("max_order").map_or(b.header, |a| a.value.span);
            sink.push(Diagnostic::warning(
                sp,
                format!(
                    "an order-{} interaction is planted but max_order = {max_order}",
                    p.fields.len()
                ),
                "the search will not look for it",
            ));
        }
    }
    let reason = t.string(sink, "reason");
    want_reason(sink, "search interactions", &hand_set, &reason);
    InteractionSearch {
        reason,
        max_order,
        functions,
        embeddings,
        top_k,
        alpha_init: t.num(sink, "alpha_init", 0.6, Range::POSITIVE),
        bn_eps: t.num(sink, "bn_eps", 1e-10, Range::POSITIVE),
        orders,
    }
}

pub(super) fn dims_block(sink: &mut Sink, b: &Block) -> DimSearch {
    let keys = [
        "optimizer",
        "weights",
        "epochs",
        "beta_init",
        "bn_eps",
        "alpha",
        "batch_norm",
        "reason",
    ];
    let t = Table::new(
        sink,
        "search embedding_dims".into(),
        b.header,
        &b.items,
        &keys,
        &[],
    );
    let optimizer = grda(sink, &t, "optimizer", GRDA_DIMS);
    let reason = t.string(sink, "reason");
    let hand_set: Vec<(Span, Grda)> = t
        .value("optimizer")
        .map(|v| (v.span, optimizer))
        .into_iter()
        .collect();
    want_reason(sink, "search embedding_dims", &hand_set, &reason);
    DimSearch {
        reason,
        optimizer,
        weights: adam(sink, &t, "weights", Adam::default()),
        epochs: t.count(sink, "epochs", SEARCH_EPOCHS, 1),
        beta_init: t.num(sink, "beta_init", 0.6, Range::POSITIVE),
        batch_norm: t.boolean(sink, "batch_norm", DIMS_BATCH_NORM),
        bn_eps: t.num(sink, "bn_eps", 1e-10, Range::POSITIVE),
        alpha: match t.choice(sink, "alpha", &["frozen", "adam"]).as_deref() {
            Some("adam") => AlphaDuringEds::Adam,
            _ => AlphaDuringEds::Frozen,
        },
    }
}
