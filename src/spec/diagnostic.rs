//! Errors and warnings about a spec, with the span they are about, rendered like rustc's.

use super::ast::Span;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A spec's text and the name it is shown under.
#[derive(Clone, Debug)]
pub struct Source {
    /// The path as the user gave it (shown in messages).
    pub path: PathBuf,
    /// The file's contents.
    pub text: String,
}

impl Source {
    /// A source from its path and text.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Source {
            path: path.into(),
            text: text.into(),
        }
    }

    /// Reads a spec file.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        Self::from_bytes(path, std::fs::read(path)?)
    }

    /// A source from a file's bytes, which must be UTF-8.
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> std::io::Result<Self> {
        let path = path.into();
        let text = String::from_utf8(bytes).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        Ok(Source::new(path, text))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        self.text
            .split('\n')
            .nth(line - 1)
            .unwrap_or("")
            .trim_end_matches('\r')
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The spec is invalid.
    Error,
    /// The spec is valid but probably not what was meant.
    Warning,
}

/// One message about a span of a spec.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The headline, e.g. "unknown key `embeding_dim` in `model`".
    pub message: String,
    /// What it is about.
    pub span: Span,
    /// A short text shown under the caret, e.g. "expected an integer in 2..=4".
    pub label: String,
    /// A hint such as "did you mean `embedding_dim`?".
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            label: label.into(),
            help: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(span, message, label)
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the message the way rustc does:
    ///
    /// ```text
    /// error: unknown key `embeding_dim` in `model`
    ///   --> specs/frappe.aim:14:5
    ///    |
    /// 14 |     embeding_dim = 10
    ///    |     ^^^^^^^^^^^^ not a key of `model`
    ///    |
    ///    = help: did you mean `embedding_dim`?
    /// ```
    pub fn render(&self, src: &Source) -> String {
        let (line, col) = src.line_col(self.span.start);
        let text = src.line_text(line);
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = String::new();
        let _ = writeln!(out, "{kind}: {}", self.message);
        let _ = writeln!(out, "{pad}--> {}:{line}:{col}", src.path.display());
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{line} | {text}");
        // The caret runs to the end of the span or of the line, whichever is first.
        let (end_line, end_col) = src.line_col(self.span.end);
        let line_chars = text.chars().count();
        let last = if end_line == line {
            end_col.max(col + 1)
        } else {
            line_chars + 2
        };
        let width = last.saturating_sub(col).max(1);
        let _ = writeln!(
            out,
            "{pad} | {}{} {}",
            " ".repeat(col - 1),
            "^".repeat(width),
            self.label
        );
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out
    }

    /// `FILE:LINE:COL: message`, the one-line form.
    pub fn short(&self, src: &Source) -> String {
        let (line, col) = src.line_col(self.span.start);
        format!("{}:{line}:{col}: {}", src.path.display(), self.message)
    }
}

/// Everything found wrong with a spec, errors and warnings, in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Whether any of them is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    /// All of them rendered, followed by a count line when there are errors.
    pub fn render(&self, src: &Source) -> String {
        let mut sorted: Vec<&Diagnostic> = self.0.iter().collect();
        sorted.sort_by_key(|d| d.span.start);
        let mut out = String::new();
        for d in sorted {
            out.push_str(&d.render(src));
            out.push('\n');
        }
        let n = self.errors().count();
        if n > 0 {
            let _ = writeln!(
                out,
                "error: {} is invalid: {n} error{}",
                src.path.display(),
                if n == 1 { "" } else { "s" }
            );
        }
        out
    }
}
