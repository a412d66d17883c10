//! Syntax tree → canonical spec text (`aim fmt`).
//!
//! The canonical form: two-space indentation, `key = value` with single spaces, trailing comments
//! two spaces after the code, at most one blank line between items and none at the start of a
//! block, lists on one line when they fit in [`WIDTH`] columns and one element per line (with a
//! trailing comma) otherwise, numbers written in their shortest exact form.

use super::ast::*;

/// Lines longer than this break their lists over several lines.
pub const WIDTH: usize = 100;

/// The canonical text of a document.
pub fn format(doc: &Document) -> String {
    let mut out = String::new();
    items(&doc.items, 0, &mut out);
    out
}

fn items(list: &[Item], depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    for (i, item) in list.iter().enumerate() {
        if let ItemKind::Comment(c) = &item.kind {
            if c.trailing && out.ends_with('\n') {
                out.pop();
                out.push_str(&format!("  #{}\n", c.text));
                continue;
            }
        }
        if item.blank_before && i > 0 {
            out.push('\n');
        }
        match &item.kind {
            ItemKind::Comment(c) => out.push_str(&format!("{indent}#{}\n", c.text)),
            ItemKind::Assignment(a) => {
                let head = format!("{indent}{} = ", key(&a.key.name));
                out.push_str(&head);
                out.push_str(&value(&a.value, depth, head.len()));
                out.push('\n');
            }
            ItemKind::Block(b) => {
                out.push_str(&indent);
                out.push_str(&b.kind.name);
                if let Some(l) = &b.label {
                    out.push_str(&format!(" {l}"));
                }
                if let Some((n, _)) = &b.name {
                    out.push_str(&format!(" {}", string(n)));
                }
                out.push_str(" {\n");
                items(&b.items, depth + 1, out);
                out.push_str(&format!("{indent}}}\n"));
            }
        }
    }
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
        && s != "true"
        && s != "false"
}

fn key(name: &str) -> String {
    if is_ident(name) {
        name.to_string()
    } else {
        string(name)
    }
}

/// A string literal for `s`, escaped.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An integer, with `_` between groups of three digits from 100_000 up, as people write them.
pub fn int(i: i64) -> String {
    let digits = i.unsigned_abs().to_string();
    if digits.len() < 6 {
        return i.to_string();
    }
    let mut out = String::from(if i < 0 { "-" } else { "" });
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push('_');
        }
        out.push(c);
    }
    out
}

/// A float in the shortest text that parses back to the same value, always with a `.` or an
/// exponent so that it stays a float.
pub fn float(x: f64) -> String {
    let s = format!("{x:?}");
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// The one-line form of a value.
pub fn inline(v: &Value) -> String {
    match &v.kind {
        ValueKind::Str(s) => string(s),
        ValueKind::Int(i) => int(*i),
        ValueKind::Float(x) => float(*x),
        ValueKind::Bool(b) => b.to_string(),
        ValueKind::Ident(s) => s.clone(),
        ValueKind::List(xs) => {
            format!("[{}]", xs.iter().map(inline).collect::<Vec<_>>().join(", "))
        }
        ValueKind::Call(c) => {
            let args: Vec<String> = c
                .args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{} = {}", n.name, inline(&a.value)),
                    None => inline(&a.value),
                })
                .collect();
            format!("{}({})", c.name.name, args.join(", "))
        }
    }
}

/// A value that starts at column `col` of a line indented `depth` levels.
fn value(v: &Value, depth: usize, col: usize) -> String {
    let one = inline(v);
    match &v.kind {
        ValueKind::List(xs) if col + one.len() > WIDTH && !xs.is_empty() => {
            let inner = "  ".repeat(depth + 1);
            let mut s = String::from("[\n");
            for x in xs {
                s.push_str(&inner);
                s.push_str(&value(x, depth + 1, inner.len()));
                s.push_str(",\n");
            }
            s.push_str(&"  ".repeat(depth));
            s.push(']');
            s
        }
        _ => one,
    }
}
