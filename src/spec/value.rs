//! Reading one value of a spec: numbers in ranges, choices among names, named call arguments;
//! each returns the value or the diagnostic that says what would be valid.

use super::ast::*;
use super::diagnostic::Diagnostic;
use super::suggest::did_you_mean;

/// An accepted range of numbers, with how it reads in messages.
#[derive(Clone, Copy)]
pub struct Range {
    /// Lower bound.
    pub lo: f64,
    /// Whether the lower bound itself is allowed.
    pub lo_incl: bool,
    /// Upper bound.
    pub hi: f64,
    /// Whether the upper bound itself is allowed.
    pub hi_incl: bool,
}

impl Range {
    /// x > 0.
    pub const POSITIVE: Range = Range {
        lo: 0.0,
        lo_incl: false,
        hi: f64::MAX,
        hi_incl: true,
    };
    /// x ≥ 0.
    pub const NON_NEGATIVE: Range = Range {
        lo: 0.0,
        lo_incl: true,
        hi: f64::MAX,
        hi_incl: true,
    };
    /// 0 < x < 1.
    pub const OPEN_UNIT: Range = Range {
        lo: 0.0,
        lo_incl: false,
        hi: 1.0,
        hi_incl: false,
    };
    /// 0 ≤ x < 1.
    pub const RATE: Range = Range {
        lo: 0.0,
        lo_incl: true,
        hi: 1.0,
        hi_incl: false,
    };
    /// Any finite number.
    pub const ANY: Range = Range {
        lo: f64::MIN,
        lo_incl: true,
        hi: f64::MAX,
        hi_incl: true,
    };

    fn contains(&self, x: f64) -> bool {
        (if self.lo_incl {
            x >= self.lo
        } else {
            x > self.lo
        }) && (if self.hi_incl {
            x <= self.hi
        } else {
            x < self.hi
        })
    }

    fn describe(&self) -> String {
        let unbounded_hi = self.hi == f64::MAX;
        let unbounded_lo = self.lo == f64::MIN;
        match (unbounded_lo, unbounded_hi) {
            (true, true) => "any number".into(),
            (false, true) => format!(
                "a number {} {}",
                if self.lo_incl { "≥" } else { ">" },
                self.lo
            ),
            _ => format!(
                "a number in {}{}, {}{}",
                if self.lo_incl { "[" } else { "(" },
                self.lo,
                self.hi,
                if self.hi_incl { "]" } else { ")" }
            ),
        }
    }
}

pub(super) fn list(xs: &[&str]) -> String {
    xs.iter()
        .map(|x| format!("`{x}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "expected X, found Y" at a value.
pub fn expected(v: &Value, what: &str, found: &ValueKind) -> Diagnostic {
    Diagnostic::error(
        v.span,
        format!("expected {what}, found {}", found.describe()),
        format!("expected {what}"),
    )
}

/// An integer in `min..=max`.
pub fn int_in(v: &Value, min: i64, max: i64) -> Result<i64, Diagnostic> {
    let i = match &v.kind {
        ValueKind::Int(i) => *i,
        ValueKind::Float(x) if x.fract() == 0.0 => {
            return Err(expected(v, "an integer", &v.kind)
                .with_help(format!("write `{}` without the decimal point", *x as i64)))
        }
        k => return Err(expected(v, "an integer", k)),
    };
    if i < min || i > max {
        let range = if max == i64::MAX {
            format!("an integer ≥ {min}")
        } else {
            format!("an integer in {min}..={max}")
        };
        return Err(Diagnostic::error(
            v.span,
            format!("{i} is out of range"),
            format!("expected {range}"),
        ));
    }
    Ok(i)
}

/// A number (integer or float) in `range`.
pub fn num_in(v: &Value, range: Range) -> Result<f64, Diagnostic> {
    let x = match &v.kind {
        ValueKind::Int(i) => *i as f64,
        ValueKind::Float(x) => *x,
        k => return Err(expected(v, "a number", k)),
    };
    if !range.contains(x) {
        return Err(Diagnostic::error(
            v.span,
            format!("{} is out of range", super::fmt::inline(v)),
            format!("expected {}", range.describe()),
        ));
    }
    Ok(x)
}

/// A bare word among `choices`.
pub fn choice<'v>(v: &'v Value, choices: &[&str], what: &str) -> Result<&'v str, Diagnostic> {
    let word = match &v.kind {
        ValueKind::Ident(s) => s.as_str(),
        ValueKind::Str(s) if choices.contains(&s.as_str()) => {
            return Err(expected(v, "a bare word", &v.kind)
                .with_help(format!("write `{s}` without quotes")))
        }
        k => return Err(expected(v, &format!("one of {}", list(choices)), k)),
    };
    if choices.contains(&word) {
        return Ok(word);
    }
    let d = Diagnostic::error(
        v.span,
        format!("unknown {what} `{word}`"),
        format!("expected one of {}", list(choices)),
    );
    Err(match did_you_mean(word, choices) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None => d,
    })
}
