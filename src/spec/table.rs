//! Reading one block of a spec: its keys, their types and ranges, and its sub-blocks.
//!
//! Every getter reports what is wrong into the shared diagnostics and returns a usable value
//! (the default) so that checking goes on and one run shows every error in the file.

use super::ast::*;
use super::diagnostic::Diagnostic;
use super::suggest::did_you_mean;
use super::value::{choice, expected, int_in, list, num_in, Range};
use std::collections::HashMap;

/// The diagnostics collected while checking.
#[derive(Default)]
pub struct Sink {
    /// Everything reported so far.
    pub diags: Vec<Diagnostic>,
}

impl Sink {
    /// Records a diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Records the error of a failed conversion and returns the value if there was one.
    pub fn ok<T>(&mut self, r: Result<T, Diagnostic>) -> Option<T> {
        r.map_err(|d| self.push(d)).ok()
    }
}

/// One block's keys and sub-blocks, checked against what the block allows.
pub struct Table<'a> {
    /// How the block is named in messages, e.g. `search interactions`.
    pub title: String,
    /// The block's header, where "missing key" errors point.
    pub header: Span,
    keys: HashMap<&'a str, &'a Assignment>,
    blocks: Vec<&'a Block>,
}

impl<'a> Table<'a> {
    /// Reads `items`, reporting keys not in `allowed_keys`, sub-blocks whose kind is not in
    /// `allowed_blocks`, and repeated keys.
    pub fn new(
        sink: &mut Sink,
        title: String,
        header: Span,
        items: &'a [Item],
        allowed_keys: &[&str],
        allowed_blocks: &[&str],
    ) -> Self {
        let mut keys = HashMap::new();
        let mut blocks = Vec::new();
        for item in items {
            match &item.kind {
                ItemKind::Comment(_) => {}
                ItemKind::Assignment(a) => {
                    let k = a.key.name.as_str();
                    if !allowed_keys.contains(&k) {
                        let mut d = Diagnostic::error(
                            a.key.span,
                            format!("unknown key `{k}` in `{title}`"),
                            format!("not a key of `{title}`"),
                        );
                        d = match did_you_mean(k, allowed_keys) {
                            Some(s) => d.with_help(format!("did you mean `{s}`?")),
                            None if allowed_blocks.contains(&k) => {
                                d.with_help(format!("`{k}` is a block: write `{k} {{ … }}`"))
                            }
                            None => d.with_help(format!("valid keys: {}", list(allowed_keys))),
                        };
                        sink.push(d);
                    } else if keys.contains_key(k) {
                        sink.push(
                            Diagnostic::error(
                                a.key.span,
                                format!("duplicate key `{k}` in `{title}`"),
                                "set a second time here",
                            )
                            .with_help("each key may be set once per block; remove one"),
                        );
                    } else {
                        keys.insert(k, a);
                    }
                }
                ItemKind::Block(b) => {
                    let k = b.kind.name.as_str();
                    if allowed_blocks.contains(&k) {
                        blocks.push(b);
                    } else {
                        let mut d = Diagnostic::error(
                            b.kind.span,
                            format!("unknown block `{k}` in `{title}`"),
                            format!("not a block of `{title}`"),
                        );
                        d = match did_you_mean(k, allowed_blocks) {
                            Some(s) => d.with_help(format!("did you mean `{s}`?")),
                            None if allowed_blocks.is_empty() => {
                                d.with_help(format!("`{title}` holds only `key = value` lines"))
                            }
                            None => d.with_help(format!("valid blocks: {}", list(allowed_blocks))),
                        };
                        sink.push(d);
                    }
                }
            }
        }
        Table {
            title,
            header,
            keys,
            blocks,
        }
    }

    /// The sub-blocks, in order.
    pub fn blocks(&self) -> &[&'a Block] {
        &self.blocks
    }

    /// The assignment of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'a Assignment> {
        self.keys.get(key).copied()
    }

    /// The value of `key`, if present.
    pub fn value(&self, key: &str) -> Option<&'a Value> {
        self.get(key).map(|a| &a.value)
    }

    /// Reports a missing required key.
    pub fn missing(&self, sink: &mut Sink, key: &str, example: &str) {
        sink.push(
            Diagnostic::error(
                self.header,
                format!("missing key `{key}` in `{}`", self.title),
                format!("`{}` needs `{key}`", self.title),
            )
            .with_help(format!("add a line like `{key} = {example}`")),
        );
    }

    /// Reports that `key` may not appear here, with a reason.
    pub fn forbid(&self, sink: &mut Sink, key: &str, why: &str) {
        if let Some(a) = self.get(key) {
            sink.push(Diagnostic::error(
                a.key.span,
                format!("`{key}` does not apply here"),
                why.to_string(),
            ));
        }
    }

    /// An integer in `range` (inclusive), or `default` when absent or invalid.
    pub fn int(&self, sink: &mut Sink, key: &str, default: i64, min: i64, max: i64) -> i64 {
        match self.value(key) {
            None => default,
            Some(v) => sink.ok(int_in(v, min, max)).unwrap_or(default),
        }
    }

    /// A count (`usize`) of at least `min`, or `default`.
    pub fn count(&self, sink: &mut Sink, key: &str, default: usize, min: usize) -> usize {
        self.int(sink, key, default as i64, min as i64, i64::MAX) as usize
    }

    /// A number checked by `range`, or `default`.
    pub fn num(&self, sink: &mut Sink, key: &str, default: f64, range: Range) -> f64 {
        match self.value(key) {
            None => default,
            Some(v) => sink.ok(num_in(v, range)).unwrap_or(default),
        }
    }

    /// A boolean, or `default`.
    pub fn boolean(&self, sink: &mut Sink, key: &str, default: bool) -> bool {
        match self.value(key) {
            None => default,
            Some(v) => match &v.kind {
                ValueKind::Bool(b) => *b,
                k => {
                    sink.push(expected(v, "`true` or `false`", k));
                    default
                }
            },
        }
    }

    /// A string, if present and a string.
    pub fn string(&self, sink: &mut Sink, key: &str) -> Option<String> {
        let v = self.value(key)?;
        match &v.kind {
            ValueKind::Str(s) => Some(s.clone()),
            k => {
                sink.push(expected(v, "a quoted string", k));
                None
            }
        }
    }

    /// One of `choices` (a bare word), if present and valid.
    pub fn choice(&self, sink: &mut Sink, key: &str, choices: &[&str]) -> Option<String> {
        let v = self.value(key)?;
        sink.ok(choice(v, choices, key)).map(str::to_string)
    }

    /// A list of integers each ≥ `min`, or `default`.
    pub fn int_list(&self, sink: &mut Sink, key: &str, default: &[usize], min: i64) -> Vec<usize> {
        let Some(v) = self.value(key) else {
            return default.to_vec();
        };
        let ValueKind::List(xs) = &v.kind else {
            sink.push(expected(v, "a list like `[400, 400]`", &v.kind));
            return default.to_vec();
        };
        let mut out = Vec::new();
        for x in xs {
            match sink.ok(int_in(x, min, i64::MAX)) {
                Some(i) => out.push(i as usize),
                None => return default.to_vec(),
            }
        }
        out
    }
}

/// The named arguments of a call, checked against `allowed`; positional ones are refused.
pub fn named_args<'v>(
    sink: &mut Sink,
    call: &'v Call,
    allowed: &[&str],
) -> HashMap<&'v str, &'v Value> {
    let mut out = HashMap::new();
    for a in &call.args {
        let Some(n) = &a.name else {
            sink.push(
                Diagnostic::error(
                    a.value.span,
                    format!("`{}` takes only named arguments", call.name.name),
                    "unnamed argument",
                )
                .with_help(format!("name it: one of {}", list(allowed))),
            );
            continue;
        };
        if !allowed.contains(&n.name.as_str()) {
            let d = Diagnostic::error(
                n.span,
                format!("unknown argument `{}` of `{}`", n.name, call.name.name),
                format!("`{}` takes {}", call.name.name, list(allowed)),
            );
            sink.push(match did_you_mean(&n.name, allowed) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d,
            });
        } else if out.insert(n.name.as_str(), &a.value).is_some() {
            sink.push(Diagnostic::error(
                n.span,
                format!("argument `{}` given twice", n.name),
                "given again here",
            ));
        }
    }
    out
}
