//! The syntax tree of a `.aim` file: what was written, before any meaning is given to it.
//!
//! The tree keeps comments and blank lines so that `aim fmt` can write a file back without losing
//! what the user wrote. Every node carries the [`Span`] of its text for diagnostics.

use std::fmt;

/// A byte range in the spec text.
///
/// Spans never take part in equality: two trees are equal when they say the same thing, wherever
/// it was written. This is what lets `fmt → parse` be compared with the original tree.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset one past the last character.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

/// A whole spec file.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Top-level items: normally one `experiment` block, and comments.
    pub items: Vec<Item>,
}

/// One entry of a block (or of the file) with the layout around it.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Whether an empty line separated it from what came before (kept by `fmt`, at most one).
    pub blank_before: bool,
    /// The entry itself.
    pub kind: ItemKind,
}

/// What an [`Item`] is.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    /// `# text`, either on its own line or after code on the same line.
    Comment(Comment),
    /// `key = value`.
    Assignment(Assignment),
    /// `kind label "name" { … }`.
    Block(Block),
}

/// A comment, without its newline.
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    /// The text after `#`, as written (leading space included).
    pub text: String,
    /// Whether it followed code on the same line (`x = 1  # why`).
    pub trailing: bool,
    /// Where it was.
    pub span: Span,
}

/// An identifier with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The identifier's text.
    pub name: String,
    /// Where it was.
    pub span: Span,
}

/// `key = value`. A key is an identifier or a quoted string (for CSV column names like
/// `"marital-status"`); the tree keeps only its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// The key's text (unquoted).
    pub key: Ident,
    /// The value.
    pub value: Value,
    /// The whole assignment.
    pub span: Span,
}

/// A block label: `search interactions { … }` or `order 3 { … }`.
#[derive(Clone, Debug, PartialEq)]
pub enum Label {
    /// An identifier label.
    Ident(Ident),
    /// An integer label.
    Int(u64, Span),
}

impl Label {
    /// Where the label was.
    pub fn span(&self) -> Span {
        match self {
            Label::Ident(i) => i.span,
            Label::Int(_, s) => *s,
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Ident(i) => f.write_str(&i.name),
            Label::Int(n, _) => write!(f, "{n}"),
        }
    }
}

/// `kind label "name" { items }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// The block's kind, e.g. `experiment`, `data`, `search`.
    pub kind: Ident,
    /// An optional label, e.g. `interactions` in `search interactions`.
    pub label: Option<Label>,
    /// An optional quoted name, e.g. `"frappe"` in `experiment "frappe"`.
    pub name: Option<(String, Span)>,
    /// The block's contents.
    pub items: Vec<Item>,
    /// The header (`kind label "name"`), for diagnostics about the block as a whole.
    pub header: Span,
    /// The whole block.
    pub span: Span,
}

impl Block {
    /// How the block is referred to in messages: `search interactions`.
    pub fn title(&self) -> String {
        match &self.label {
            Some(l) => format!("{} {l}", self.kind.name),
            None => self.kind.name.clone(),
        }
    }
}

/// A value with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// What the value is.
    pub kind: ValueKind,
    /// Where it was.
    pub span: Span,
}

/// The kinds of value the language has.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
    /// `"text"`, unescaped.
    Str(String),
    /// `42`, `-1`, `1_000_000`.
    Int(i64),
    /// `0.005`, `1e-10`.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// A bare word such as `libfm` or `function_wise`.
    Ident(String),
    /// `[a, b, c]`.
    List(Vec<Value>),
    /// `name(arg, key = value)`.
    Call(Call),
}

impl ValueKind {
    /// A word for the kind of value, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            ValueKind::Str(_) => "a string",
            ValueKind::Int(_) => "an integer",
            ValueKind::Float(_) => "a number",
            ValueKind::Bool(_) => "a boolean",
            ValueKind::Ident(_) => "a name",
            ValueKind::List(_) => "a list",
            ValueKind::Call(_) => "a call",
        }
    }
}

/// `name(arguments)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The called name, e.g. `grda`.
    pub name: Ident,
    /// Positional and named arguments, in order.
    pub args: Vec<Argument>,
}

/// One argument of a call: positional (`f0`) or named (`lr = 0.1`).
#[derive(Clone, Debug, PartialEq)]
pub struct Argument {
    /// The name, for a named argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: Value,
}
