//! Syntax tree → typed [`Spec`], or every error found, each with its span: the experiment here,
//! one file per block beside it.

use super::ast::*;
use super::diagnostic::{Diagnostic, Diagnostics};
use super::table::{named_args, Sink, Table};
use super::types::*;
use super::value::{choice, expected, int_in, num_in, Range};
use std::collections::BTreeMap;
use std::path::Path;

mod csv;
mod data;
mod model;
mod retrain;
mod search;
mod synthetic;

use csv::*;
use data::*;
use model::*;
use retrain::*;
use search::*;
use synthetic::*;

pub use data::known_field_count;
pub use search::{DIMS_BATCH_NORM, GRDA_DIMS, GRDA_INTERACTIONS, SEARCH_EPOCHS};

/// Checks a parsed spec. Relative paths resolve against `spec_dir`. Returns the spec when there
/// is no error, and all diagnostics (warnings too) either way.
pub fn check(doc: &Document, spec_dir: &Path) -> (Option<Spec>, Diagnostics) {
    let mut sink = Sink::default();
    let mut experiments = Vec::new();
    for item in &doc.items {
        match &item.kind {
            ItemKind::Comment(_) => {}
            ItemKind::Block(b) if b.kind.name == "experiment" => experiments.push(b),
            ItemKind::Block(b) => sink.push(
                Diagnostic::error(
                    b.kind.span,
                    format!("unexpected block `{}` at the top level", b.kind.name),
                    "not inside `experiment`",
                )
                .with_help(
                    "a spec is one `experiment \"name\" { … }` block holding everything else",
                ),
            ),
            ItemKind::Assignment(a) => sink.push(
                Diagnostic::error(
                    a.key.span,
                    format!("`{}` outside `experiment`", a.key.name),
                    "not inside a block",
                )
                .with_help(
                    "a spec is one `experiment \"name\" { … }` block holding everything else",
                ),
            ),
        }
    }
    let spec = match experiments.as_slice() {
        [] => {
            sink.push(
                Diagnostic::error(
                    Span::new(0, 0),
                    "no `experiment` block",
                    "the spec is empty",
                )
                .with_help("start with `experiment \"name\" {` and close it with `}`"),
            );
            None
        }
        [e, rest @ ..] => {
            for r in rest {
                sink.push(
                    Diagnostic::error(
                        r.header,
                        "a second `experiment` block",
                        "one spec, one experiment",
                    )
                    .with_help("put each experiment in its own .aim file"),
                );
            }
            Some(experiment(&mut sink, e, spec_dir))
        }
    };
    let diags = Diagnostics(sink.diags);
    let spec = if diags.has_errors() { None } else { spec };
    (spec, diags)
}

const EXPERIMENT_KEYS: &[&str] = &["seed", "output"];
const EXPERIMENT_BLOCKS: &[&str] = &["data", "model", "search", "retrain"];

fn experiment(sink: &mut Sink, b: &Block, dir: &Path) -> Spec {
    if let Some(l) = &b.label {
        sink.push(
            Diagnostic::error(
                l.span(),
                "unexpected label",
                "an experiment has a quoted name, not a label",
            )
            .with_help(format!("write `experiment \"{l}\" {{`")),
        );
    }
    let name = match &b.name {
        Some((n, sp)) if n.trim().is_empty() => {
            sink.push(Diagnostic::error(
                *sp,
                "empty experiment name",
                "name it, e.g. \"frappe\"",
            ));
            "experiment".to_string()
        }
        Some((n, _)) => n.clone(),
        None => {
            sink.push(
                Diagnostic::error(
                    b.header,
                    "the experiment has no name",
                    "expected a quoted name here",
                )
                .with_help("write `experiment \"my-experiment\" {`"),
            );
            "experiment".to_string()
        }
    };
    let t = Table::new(
        sink,
        "experiment".into(),
        b.header,
        &b.items,
        EXPERIMENT_KEYS,
        EXPERIMENT_BLOCKS,
    );
    let seed = t.int(sink, "seed", 0, 0, i64::MAX) as u64;
    let output = match t.string(sink, "output") {
        Some(s) if s.trim().is_empty() => {
            let a = t.get("output").expect("present");
            sink.push(Diagnostic::error(
                a.value.span,
                "empty output path",
                "name a file, e.g. \"out/arch.ron\"",
            ));
            dir.join(format!("out/{name}.arch.ron"))
        }
        Some(s) => dir.join(s),
        None => dir.join(format!("out/{}.arch.ron", file_stem(&name))),
    };

    let mut data = None;
    let mut model = None;
    let mut searches: BTreeMap<String, &Block> = BTreeMap::new();
    let mut retrain = None;
    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
    for sb in t.blocks() {
        let title = sb.title();
        if seen.insert(title.clone(), sb.header).is_some() {
            sink.push(
                Diagnostic::error(
                    sb.header,
                    format!("duplicate block `{title}`"),
                    "given a second time here",
                )
                .with_help("merge the two blocks into one"),
            );
            continue;
        }
        match sb.kind.name.as_str() {
            "data" => {
                no_label(sink, sb);
                data = Some(*sb);
            }
            "model" => {
                no_label(sink, sb);
                model = Some(*sb);
            }
            "retrain" => {
                no_label(sink, sb);
                retrain = Some(*sb);
            }
            "search" => match &sb.label {
                Some(Label::Ident(i)) if i.name == "interactions" || i.name == "embedding_dims" => {
                    searches.insert(i.name.clone(), sb);
                }
                other => {
                    let (sp, found) = match other {
                        Some(l) => (l.span(), format!("`search {l}`")),
                        None => (sb.header, "`search` without a label".to_string()),
                    };
                    let d = Diagnostic::error(
                        sp,
                        format!("unknown search {found}"),
                        "expected `interactions` or `embedding_dims`",
                    );
                    let word = other.as_ref().map(|l| l.to_string()).unwrap_or_default();
                    sink.push(match super::suggest::did_you_mean(&word, &["interactions", "embedding_dims"]) {
                        Some(s) => d.with_help(format!("did you mean `search {s}`?")),
                        None => d.with_help("write `search interactions { … }` or `search embedding_dims { … }`"),
                    });
                }
            },
            _ => unreachable!("Table admits only the listed blocks"),
        }
    }
    let data = match data {
        Some(d) => data_block(sink, d, dir, &name),
        None => {
            sink.push(
                Diagnostic::error(
                    b.header,
                    "missing block `data`",
                    "the experiment needs `data { … }`",
                )
                .with_help("add `data { format = synthetic }` for a first try without files"),
            );
            default_data(dir, &name)
        }
    };
    let model = match model {
        Some(m) => model_block(sink, m),
        None => model_block(
            sink,
            &Block {
                kind: Ident {
                    name: "model".into(),
                    span: b.header,
                },
                label: None,
                name: None,
                items: vec![],
                header: b.header,
                span: b.header,
            },
        ),
    };
    let fields = known_field_count(&data);
    let search_interactions = searches
        .get("interactions")
        .map(|s| interaction_block(sink, s, fields, &data));
    let search_dims = searches.get("embedding_dims").map(|s| dims_block(sink, s));
    let retrain = retrain.map(|r| retrain_block(sink, r, &model));
    if search_dims.is_some() && search_interactions.is_none() {
        let sb = searches["embedding_dims"];
        sink.push(Diagnostic::warning(
            sb.header,
            "`search embedding_dims` without `search interactions`",
            "searches dimensions for the base model's pairwise interactions",
        ));
    }
    Spec {
        name,
        seed,
        data,
        model,
        search_interactions,
        search_dims,
        retrain,
        output,
    }
}

fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn no_label(sink: &mut Sink, b: &Block) {
    if let Some(l) = &b.label {
        sink.push(
            Diagnostic::error(
                l.span(),
                format!("`{}` takes no label", b.kind.name),
                "unexpected label",
            )
            .with_help(format!("write `{} {{`", b.kind.name)),
        );
    }
    if let Some((_, sp)) = &b.name {
        sink.push(Diagnostic::error(
            *sp,
            format!("`{}` takes no name", b.kind.name),
            "unexpected name",
        ));
    }
}
