//! Spec text → syntax tree, with the pest grammar in `grammar/aim.pest`.

use super::ast::*;
use super::diagnostic::Diagnostic;
use pest::iterators::Pair;
use pest::Parser as _;

/// The pest parser; its `Rule` enum is an implementation detail of this module.
#[allow(missing_docs)]
mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/aim.pest"]
    pub struct AimParser;
}
use grammar::{AimParser, Rule};

/// Parses spec text into its syntax tree, or the syntax error with its span.
pub fn parse(text: &str) -> Result<Document, Diagnostic> {
    let mut pairs = AimParser::parse(Rule::file, text).map_err(|e| syntax_error(text, e))?;
    let file = pairs.next().expect("the file rule always yields one pair");
    let b = Builder { text };
    let mut items = Vec::new();
    let mut value_error = None;
    for pair in file.into_inner() {
        if pair.as_rule() == Rule::EOI {
            break;
        }
        if let Err(e) = b.item(pair, &mut items) {
            value_error.get_or_insert(e);
        }
    }
    if let Some(e) = value_error {
        return Err(e);
    }
    b.mark_blank_lines(&mut items);
    Ok(Document { items })
}

struct Builder<'t> {
    text: &'t str,
}

fn span(p: &Pair<'_, Rule>) -> Span {
    Span::new(p.as_span().start(), p.as_span().end())
}

impl Builder<'_> {
    /// Adds the item for `pair` to `out`. Comments written inside an assignment or a block header
    /// (inside a list, say) are moved before it, on their own lines: the tree has no place for
    /// them there, and losing them would be worse.
    fn item(&self, pair: Pair<'_, Rule>, out: &mut Vec<Item>) -> Result<(), Diagnostic> {
        let item = |kind| Item {
            blank_before: false,
            kind,
        };
        match pair.as_rule() {
            Rule::COMMENT => out.push(item(ItemKind::Comment(self.comment(&pair)))),
            Rule::assignment => {
                let sp = span(&pair);
                let mut inner = self.code(pair, out).into_iter();
                let key = self.key(inner.next().expect("assignment has a key"));
                let value = self.value(inner.next().expect("assignment has a value"), out)?;
                out.push(item(ItemKind::Assignment(Assignment {
                    key,
                    value,
                    span: sp,
                })));
            }
            Rule::block => {
                let sp = span(&pair);
                let mut header_end = sp.start;
                let mut kind = None;
                let mut label = None;
                let mut name = None;
                let mut items = Vec::new();
                let mut hoisted = Vec::new();
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::ident if kind.is_none() => {
                            header_end = span(&p).end;
                            kind = Some(Ident {
                                name: p.as_str().to_string(),
                                span: span(&p),
                            });
                        }
                        Rule::block_label => {
                            header_end = span(&p).end;
                            label = Some(self.label(p)?);
                        }
                        Rule::string => {
                            header_end = span(&p).end;
                            name = Some((unescape(p.as_str()), span(&p)));
                        }
                        Rule::COMMENT if items.is_empty() && self.before_brace(&p) => {
                            hoisted.push(Item {
                                blank_before: false,
                                kind: ItemKind::Comment(Comment {
                                    trailing: false,
                                    ..self.comment(&p)
                                }),
                            });
                        }
                        _ => self.item(p, &mut items)?,
                    }
                }
                self.mark_blank_lines(&mut items);
                out.extend(hoisted);
                let kind = kind.expect("block has a kind");
                let header = Span::new(kind.span.start, header_end);
                out.push(item(ItemKind::Block(Block {
                    kind,
                    label,
                    name,
                    items,
                    header,
                    span: sp,
                })));
            }
            r => unreachable!("unexpected rule {r:?} at item level"),
        }
        Ok(())
    }

    /// Whether a comment inside a block comes before its opening brace, i.e. sits in the header.
    fn before_brace(&self, p: &Pair<'_, Rule>) -> bool {
        let start = span(p).start;
        // Only whitespace and comments can lie between the comment and the `{` of its header.
        let mut rest = &self.text[span(p).end..];
        loop {
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix('#') {
                rest = r.find('\n').map_or("", |i| &r[i..]);
            } else {
                return rest.starts_with('{') && start < self.text.len();
            }
        }
    }

    /// The children of `pair` that are code; its comments are moved to `out` (see [`Self::hoist`]).
    fn code<'i>(&self, pair: Pair<'i, Rule>, out: &mut Vec<Item>) -> Vec<Pair<'i, Rule>> {
        pair.into_inner().filter(|p| !self.hoist(p, out)).collect()
    }

    /// If `p` is a comment, moves it to `out` as an own-line comment and says so.
    fn hoist(&self, p: &Pair<'_, Rule>, out: &mut Vec<Item>) -> bool {
        if p.as_rule() != Rule::COMMENT {
            return false;
        }
        out.push(Item {
            blank_before: false,
            kind: ItemKind::Comment(Comment {
                trailing: false,
                ..self.comment(p)
            }),
        });
        true
    }

    fn comment(&self, p: &Pair<'_, Rule>) -> Comment {
        let sp = span(p);
        let line_before = &self.text[..sp.start];
        let line_before = &line_before[line_before.rfind('\n').map_or(0, |i| i + 1)..];
        Comment {
            text: p.as_str()[1..].trim_end().to_string(),
            trailing: !line_before.trim().is_empty(),
            span: sp,
        }
    }

    fn key(&self, p: Pair<'_, Rule>) -> Ident {
        let inner = p.into_inner().next().expect("key has one child");
        let name = match inner.as_rule() {
            Rule::string => unescape(inner.as_str()),
            _ => inner.as_str().to_string(),
        };
        Ident {
            name,
            span: span(&inner),
        }
    }

    fn label(&self, p: Pair<'_, Rule>) -> Result<Label, Diagnostic> {
        let inner = p.into_inner().next().expect("label has one child");
        let sp = span(&inner);
        Ok(match inner.as_rule() {
            Rule::integer => Label::Int(
                inner.as_str().replace('_', "").parse().map_err(|_| {
                    Diagnostic::error(sp, "number too large", "does not fit in 64 bits")
                })?,
                sp,
            ),
            _ => Label::Ident(Ident {
                name: inner.as_str().to_string(),
                span: sp,
            }),
        })
    }

    fn value(&self, p: Pair<'_, Rule>, hoisted: &mut Vec<Item>) -> Result<Value, Diagnostic> {
        let sp = span(&p);
        let inner = p.into_inner().next().expect("value has one child");
        let kind = match inner.as_rule() {
            Rule::string => ValueKind::Str(unescape(inner.as_str())),
            Rule::boolean => ValueKind::Bool(inner.as_str() == "true"),
            Rule::ident => ValueKind::Ident(inner.as_str().to_string()),
            Rule::number => number(inner.as_str(), sp)?,
            Rule::list => {
                let mut items = Vec::new();
                for q in inner.into_inner() {
                    if !self.hoist(&q, hoisted) {
                        items.push(self.value(q, hoisted)?);
                    }
                }
                ValueKind::List(items)
            }
            Rule::call => {
                let mut parts = self.code(inner, hoisted).into_iter();
                let n = parts.next().expect("call has a name");
                let name = Ident {
                    name: n.as_str().to_string(),
                    span: span(&n),
                };
                let mut args = Vec::new();
                for a in parts {
                    let a = a.into_inner().next().expect("argument has one child");
                    args.push(match a.as_rule() {
                        Rule::named => {
                            let mut kv = self.code(a, hoisted).into_iter();
                            let k = kv.next().expect("named argument has a name");
                            let name = Ident {
                                name: k.as_str().to_string(),
                                span: span(&k),
                            };
                            let value = self.value(kv.next().expect("and a value"), hoisted)?;
                            Argument {
                                name: Some(name),
                                value,
                            }
                        }
                        _ => Argument {
                            name: None,
                            value: self.value(a, hoisted)?,
                        },
                    });
                }
                ValueKind::Call(Call { name, args })
            }
            r => unreachable!("unexpected rule {r:?} in value"),
        };
        Ok(Value { kind, span: sp })
    }

    /// Sets `blank_before` on every item but the first from the text between it and the item
    /// before it.
    fn mark_blank_lines(&self, items: &mut [Item]) {
        for i in 1..items.len() {
            let prev_end = item_span(&items[i - 1]).end;
            let start = item_span(&items[i]).start;
            if prev_end <= start {
                items[i].blank_before = self.text[prev_end..start].matches('\n').count() >= 2;
            }
        }
    }
}

fn item_span(item: &Item) -> Span {
    match &item.kind {
        ItemKind::Comment(c) => c.span,
        ItemKind::Assignment(a) => a.span,
        ItemKind::Block(b) => b.span,
    }
}

fn number(text: &str, sp: Span) -> Result<ValueKind, Diagnostic> {
    let clean = text.replace('_', "");
    if clean.contains(['.', 'e', 'E']) {
        clean
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(ValueKind::Float)
            .ok_or_else(|| Diagnostic::error(sp, "number out of range", "not a finite number"))
    } else {
        clean.parse::<i64>().map(ValueKind::Int).map_err(|_| {
            Diagnostic::error(sp, "integer too large", "does not fit in a 64-bit integer")
                .with_help("integers must lie in -9223372036854775808..=9223372036854775807")
        })
    }
}

/// The text of a string literal (with its quotes) with escapes resolved.
fn unescape(lit: &str) -> String {
    let inner = lit
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(lit);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn describe(rule: &Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of file",
        Rule::block => "a block",
        Rule::assignment => "`key = value`",
        Rule::key => "a key",
        Rule::ident => "a name",
        Rule::block_label => "a block label",
        Rule::value => "a value",
        Rule::list => "a list `[…]`",
        Rule::call => "a call `name(…)`",
        Rule::argument | Rule::named => "an argument",
        Rule::number | Rule::integer => "a number",
        Rule::boolean => "`true` or `false`",
        Rule::string | Rule::string_inner | Rule::string_char => "a string",
        Rule::COMMENT => "a comment",
        _ => "a spec item",
    }
}

fn syntax_error(text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // Point at the whole offending token rather than one character of it.
    let rest = &text[pos..];
    let tok_len = rest
        .char_indices()
        .find(|&(i, c)| c.is_whitespace() || (i > 0 && !c.is_alphanumeric() && c != '_'))
        .map_or(rest.len(), |(i, _)| {
            i.max(rest.chars().next().map_or(0, char::len_utf8))
        });
    let sp = Span::new(pos, pos + tok_len);
    let found = match rest.chars().next() {
        None => "end of file".to_string(),
        Some(_) => format!("`{}`", &rest[..tok_len]),
    };
    if rest.starts_with('"') && !rest[1..].split('\n').next().unwrap_or("").contains('"') {
        let line_len = rest.find('\n').unwrap_or(rest.len());
        return Diagnostic::error(
            Span::new(pos, pos + line_len),
            "unterminated string",
            "this string has no closing `\"`",
        )
        .with_help("strings end on the line they start; write `\\n` for a newline inside one");
    }
    let mut expected: Vec<&str> = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives
            .iter()
            .filter(|r| **r != Rule::COMMENT)
            .map(describe)
            .collect(),
        ErrorVariant::CustomError { message } => vec![Box::leak(message.clone().into_boxed_str())],
    };
    expected.sort_unstable();
    expected.dedup();
    let label = match expected.as_slice() {
        [] => "unexpected here".to_string(),
        [one] => format!("expected {one}"),
        many => format!("expected {}", join_or(many)),
    };
    let help = if rest.starts_with('}') || rest.is_empty() {
        Some("check that every `{`, `[` and `(` before this point is closed".to_string())
    } else if rest.starts_with('=') {
        Some(
            "keys are names like `embedding_dim` or quoted strings like `\"marital-status\"`"
                .into(),
        )
    } else {
        None
    };
    let d = Diagnostic::error(sp, format!("syntax error: unexpected {found}"), label);
    match help {
        Some(h) => d.with_help(h),
        None => d,
    }
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [a] => a.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
