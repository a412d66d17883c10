//! `data { format = csv }`: the CSV table and its column roles.

use super::*;

pub(super) fn csv(sink: &mut Sink, t: &Table) -> CsvSpec {
    let label = t.string(sink, "label").unwrap_or_else(|| {
        if t.get("label").is_none() {
            t.missing(sink, "label", "\"label\"");
        }
        "label".into()
    });
    let delimiter = match (t.string(sink, "delimiter"), t.value("delimiter")) {
        (Some(s), Some(v)) => {
            let d = if s == "\\t" { "\t".to_string() } else { s };
            if d.len() == 1 && d != "\"" && d != "\n" {
                d.as_bytes()[0]
            } else {
                sink.push(Diagnostic::error(
                    v.span,
                    "invalid delimiter",
                    "expected one ASCII character, e.g. \",\" or \"\\t\"",
                ));
                b','
            }
        }
        _ => b',',
    };
    let unlisted = match t.choice(sink, "unlisted", &["ignore", "reject"]).as_deref() {
        Some("reject") => Unlisted::Reject,
        _ => Unlisted::Ignore,
    };
    let mut columns = Vec::new();
    match t.blocks() {
        [] => t.missing(sink, "columns", "{ age = numeric }` block, i.e. `columns"),
        [cb, ..] => {
            no_label(sink, cb);
            let mut seen = std::collections::HashSet::new();
            for item in &cb.items {
                match &item.kind {
                    ItemKind::Comment(_) => {}
                    ItemKind::Block(x) => sink.push(Diagnostic::error(
                        x.kind.span,
                        "unexpected block in `columns`",
                        "expected `name = role` lines",
                    )),
                    ItemKind::Assignment(a) => {
                        if !seen.insert(a.key.name.clone()) {
                            sink.push(Diagnostic::error(
                                a.key.span,
                                format!("column `{}` listed twice", a.key.name),
                                "listed again here",
                            ));
                            continue;
                        }
                        if a.key.name == label {
                            sink.push(Diagnostic::error(
                                a.key.span,
                                format!("`{label}` is the label column"),
                                "the label cannot also be a feature",
                            ));
                            continue;
                        }
                        if let Some(role) = column_role(sink, &a.value) {
                            columns.push(Column {
                                name: a.key.name.clone(),
                                role,
                            });
                        }
                    }
                }
            }
            if columns.is_empty() && !sink.diags.iter().any(|d| d.is_error()) {
                sink.push(Diagnostic::error(
                    cb.header,
                    "no feature columns",
                    "list at least one column",
                ));
            }
        }
    }
    CsvSpec {
        label,
        delimiter,
        columns,
        unlisted,
    }
}

pub(super) fn column_role(sink: &mut Sink, v: &Value) -> Option<ColumnRole> {
    const ROLES: &[&str] = &["categorical", "numeric", "multi"];
    match &v.kind {
        ValueKind::Call(c) if c.name.name == "multi" => {
            let args = named_args(sink, c, &["sep"]);
            let sep = match args.get("sep") {
                Some(s) => match &s.kind {
                    ValueKind::Str(x) if x.chars().count() == 1 => x.chars().next()?,
                    _ => {
                        sink.push(Diagnostic::error(
                            s.span,
                            "invalid separator",
                            "expected one character, e.g. \"|\"",
                        ));
                        return None;
                    }
                },
                None => '|',
            };
            Some(ColumnRole::Multi { sep })
        }
        ValueKind::Ident(s) if s == "multi" => Some(ColumnRole::Multi { sep: '|' }),
        _ => match sink.ok(choice(v, ROLES, "column role"))? {
            "categorical" => Some(ColumnRole::Categorical),
            _ => Some(ColumnRole::Numeric),
        },
    }
}
