//! The few SVG primitives the report's charts need. Every string that reaches the page goes
//! through [`escape`]: field names come from the user's data.

use std::fmt::Write as _;

/// Text for XML (element content and attribute values alike).
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// `s` cut to `max` characters with an ellipsis (the full name goes in a tooltip).
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut o: String = s.chars().take(max.saturating_sub(1)).collect();
        o.push('…');
        o
    }
}

/// Where a text's anchor point is.
#[derive(Clone, Copy)]
pub enum Anchor {
    /// Text starts at x.
    Start,
    /// Text is centred on x.
    Middle,
    /// Text ends at x.
    End,
}

impl Anchor {
    fn name(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// An SVG picture being drawn; [`Svg::finish`] closes it.
pub struct Svg {
    width: f64,
    height: f64,
    label: String,
    body: String,
}

/// Coordinates to two decimals: enough for a screen, and the page stays small.
fn n(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

impl Svg {
    /// A `width` × `height` picture; `label` is what a screen reader says.
    pub fn new(width: f64, height: f64, label: &str) -> Self {
        Svg {
            width,
            height,
            label: label.to_string(),
            body: String::new(),
        }
    }

    /// A rectangle, with a tooltip when `title` is given.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, title: Option<&str>) {
        let _ = write!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}""#,
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0)),
            escape(fill)
        );
        self.close_with_title(title);
    }

    /// A square of side `side` with an opacity (a heat map cell's strength).
    pub fn square_opacity(
        &mut self,
        x: f64,
        y: f64,
        side: f64,
        fill: &str,
        opacity: f64,
        title: Option<&str>,
    ) {
        let (w, h) = (side, side);
        let _ = write!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}" fill-opacity="{}""#,
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0)),
            escape(fill),
            n(opacity.clamp(0.0, 1.0))
        );
        self.close_with_title(title);
    }

    fn close_with_title(&mut self, title: Option<&str>) {
        match title {
            Some(t) => {
                let _ = write!(self.body, "><title>{}</title></rect>", escape(t));
            }
            None => self.body.push_str("/>"),
        }
    }

    /// A straight line.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = write!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="{}"/>"#,
            n(x1),
            n(y1),
            n(x2),
            n(y2),
            escape(stroke),
            n(width)
        );
    }

    /// A circle, with a tooltip when `title` is given.
    pub fn circle(&mut self, x: f64, y: f64, r: f64, fill: &str, title: Option<&str>) {
        let _ = write!(
            self.body,
            r#"<circle cx="{}" cy="{}" r="{}" fill="{}""#,
            n(x),
            n(y),
            n(r),
            escape(fill)
        );
        match title {
            Some(t) => {
                let _ = write!(self.body, "><title>{}</title></circle>", escape(t));
            }
            None => self.body.push_str("/>"),
        }
    }

    /// A line through `points`; non-finite points break it into pieces.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64) {
        for piece in points.split(|(x, y)| !x.is_finite() || !y.is_finite()) {
            if piece.is_empty() {
                continue;
            }
            let pts: Vec<String> = piece
                .iter()
                .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
                .collect();
            let _ = write!(
                self.body,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="{}" stroke-linejoin="round"/>"#,
                pts.join(" "),
                escape(stroke),
                n(width)
            );
        }
    }

    /// Text at (x, y) (the baseline), `size` pixels high.
    pub fn text(&mut self, x: f64, y: f64, s: &str, anchor: Anchor, size: f64) {
        let _ = write!(
            self.body,
            r#"<text x="{}" y="{}" text-anchor="{}" font-size="{}">{}</text>"#,
            n(x),
            n(y),
            anchor.name(),
            n(size),
            escape(s)
        );
    }

    /// Text turned by `degrees` about its anchor `(x, y)` (column labels), with a tooltip.
    pub fn text_rotated(
        &mut self,
        (x, y): (f64, f64),
        s: &str,
        anchor: Anchor,
        size: f64,
        degrees: f64,
        title: &str,
    ) {
        let _ = write!(
            self.body,
            r#"<text x="{x}" y="{y}" text-anchor="{}" font-size="{}" transform="rotate({} {x} {y})"><title>{}</title>{}</text>"#,
            anchor.name(),
            n(size),
            n(degrees),
            escape(title),
            escape(s),
            x = n(x),
            y = n(y),
        );
    }

    /// Text with a tooltip (a clipped label whose full form is `title`).
    pub fn text_titled(&mut self, x: f64, y: f64, s: &str, anchor: Anchor, size: f64, title: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{}" y="{}" text-anchor="{}" font-size="{}"><title>{}</title>{}</text>"#,
            n(x),
            n(y),
            anchor.name(),
            n(size),
            escape(title),
            escape(s)
        );
    }

    /// The finished `<svg>` element.
    pub fn finish(self) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">{}</svg>"#,
            escape(&self.label),
            self.body,
            w = n(self.width),
            h = n(self.height),
        )
    }
}

/// The round step (1, 2 or 5 times a power of ten) between about `count` ticks over
/// `lo..=hi`.
pub fn tick_step(lo: f64, hi: f64, count: usize) -> f64 {
    if !lo.is_finite() || !hi.is_finite() || hi <= lo || count == 0 {
        return 1.0;
    }
    let raw = (hi - lo) / count as f64;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// About `count` round tick values covering `lo..=hi`, [`tick_step`] apart.
pub fn ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() || hi <= lo || count == 0 {
        return vec![lo];
    }
    let step = tick_step(lo, hi, count);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 && out.len() < 100 {
        // Rounding to the step's decimals keeps 0.30000000000000004 off the axis.
        out.push((t / step).round() * step);
        t += step;
    }
    out
}

/// A tick value, with as many decimals as the step between ticks needs.
pub fn tick_label(v: f64, step: f64) -> String {
    let decimals = if step > 0.0 && step < 1.0 {
        (-step.log10()).ceil() as usize
    } else {
        0
    };
    // A tick at zero computed as -1e-17 would read "-0.0".
    let v = if v.abs() < step.abs() * 1e-6 { 0.0 } else { v };
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            escape("a<b>&\"c'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&#39;\u{fffd}"
        );
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(
            ticks(0.93, 0.96, 3),
            vec![0.93, 0.9400000000000001, 0.9500000000000001, 0.96]
        );
        assert_eq!(tick_label(0.9400000000000001, 0.01), "0.94");
        assert_eq!(ticks(3.0, 3.0, 4), vec![3.0]);
        // One tick in the range: its label still has the step's decimals.
        assert_eq!(ticks(0.801, 0.886, 4).len(), 1);
        assert_eq!(tick_label(0.85, tick_step(0.801, 0.886, 4)), "0.85");
    }

    #[test]
    fn clips_long_labels() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
