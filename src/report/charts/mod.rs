//! The report's charts, each an SVG drawn from an [`Architecture`] alone: one file per chart,
//! and here what they share (function colours, the legend, α's text).

mod bars;
mod compare;
mod curves;
mod dims;
mod heatmap;

pub use bars::higher_order_bars;
pub use compare::compare;
pub use curves::learning_curves;
pub use dims::dims_per_field;
pub use heatmap::order2_heatmap;

use super::svg::{clip, tick_label, tick_step, ticks, Anchor, Svg};
use crate::arch::{ArchInteraction, Architecture};
use std::collections::BTreeMap;

/// One colour per interaction function (the categorical palette of d3/matplotlib, which
/// stays distinguishable for the common forms of colour blindness better than most).
pub fn function_colour(f: &str) -> &'static str {
    match f {
        "inner" => "#1f77b4",
        "outer" => "#ff7f0e",
        "vector_kernel" => "#2ca02c",
        "scalar_kernel" => "#9467bd",
        _ => "#7f7f7f",
    }
}

/// The functions an architecture uses, in the palette's order, for legends.
fn functions_used(arch: &Architecture) -> Vec<String> {
    let order = ["inner", "outer", "vector_kernel", "scalar_kernel"];
    let mut used: Vec<String> = arch
        .interactions
        .iter()
        .flat_map(|i| i.functions.iter().cloned())
        .collect();
    used.sort_by_key(|f| (order.iter().position(|o| o == f).unwrap_or(9), f.clone()));
    used.dedup();
    used
}

/// The strongest |α| of an interaction and its function.
fn strongest(i: &ArchInteraction) -> Option<(&str, f64)> {
    i.functions
        .iter()
        .filter_map(|f| i.alphas.get(f).map(|a| (f.as_str(), (*a as f64).abs())))
        .filter(|(_, a)| a.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// "inner 1.54, outer 1.05": every kept function of an interaction with its α.
fn alphas_text(i: &ArchInteraction) -> String {
    i.functions
        .iter()
        .map(|f| match i.alphas.get(f) {
            Some(a) => format!("{f} α = {a:.3}"),
            None => f.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A row of coloured squares naming the functions, at (x, y).
fn legend(svg: &mut Svg, x: f64, y: f64, functions: &[String]) {
    let mut at = x;
    for f in functions {
        svg.rect(at, y - 10.0, 12.0, 12.0, function_colour(f), None);
        svg.text(at + 16.0, y, f, Anchor::Start, 12.0);
        at += 28.0 + 7.0 * f.chars().count() as f64;
    }
}

/// Width in pixels that `chars` characters of 11 px text take, about.
fn text_width(chars: usize, size: f64) -> f64 {
    chars as f64 * size * 0.6
}

/// The longest label's length in characters, capped at `cap` (a long field name is cut off
/// rather than pushing the plot off the page); `empty` when there are no labels.
fn label_chars<'a>(labels: impl IntoIterator<Item = &'a str>, empty: usize, cap: usize) -> usize {
    labels
        .into_iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(empty)
        .min(cap)
}
