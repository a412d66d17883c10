//! The kept higher-order interactions, ranked by their strongest |α|, coloured by function.

use super::*;

/// The kept interactions of order three and up, ranked by their strongest |α|, at most `top`.
pub fn higher_order_bars(arch: &Architecture, top: usize) -> (String, usize) {
    let mut kept: Vec<(&ArchInteraction, &str, f64)> = arch
        .interactions
        .iter()
        .filter(|i| i.order >= 3)
        .filter_map(|i| strongest(i).map(|(f, a)| (i, f, a)))
        .collect();
    kept.sort_by(|a, b| b.2.total_cmp(&a.2));
    let total = kept.len();
    kept.truncate(top);
    let labels: Vec<String> = kept.iter().map(|(i, _, _)| i.fields.join(" × ")).collect();
    let margin = text_width(label_chars(labels.iter().map(String::as_str), 0, 40), 11.0) + 12.0;
    let (bar_w, row) = (360.0, 18.0);
    let height = 50.0 + row * kept.len().max(1) as f64 + 30.0;
    let mut svg = Svg::new(margin + bar_w + 160.0, height, "higher-order interactions");
    if kept.is_empty() {
        svg.text(
            10.0,
            40.0,
            "no interaction of order 3 or more was kept",
            Anchor::Start,
            13.0,
        );
        return (svg.finish(), 0);
    }
    let max = kept[0].2.max(f64::MIN_POSITIVE);
    let step = tick_step(0.0, max, 4);
    for t in &ticks(0.0, max, 4) {
        let x = margin + bar_w * t / max;
        svg.line(x, 30.0, x, 30.0 + row * kept.len() as f64, "#dddddd", 1.0);
        svg.text(x, 24.0, &tick_label(*t, step), Anchor::Middle, 10.0);
    }
    for (k, ((i, f, a), label)) in kept.iter().zip(&labels).enumerate() {
        let y = 30.0 + row * k as f64;
        let title = format!("{label} (order {}): {}", i.order, alphas_text(i));
        svg.text_titled(
            margin - 6.0,
            y + 13.0,
            &clip(label, 40),
            Anchor::End,
            11.0,
            &title,
        );
        svg.rect(
            margin,
            y + 3.0,
            bar_w * a / max,
            row - 5.0,
            function_colour(f),
            Some(&title),
        );
        svg.text(
            margin + bar_w * a / max + 4.0,
            y + 13.0,
            &format!("{a:.3} ({})", i.functions.len()),
            Anchor::Start,
            10.0,
        );
    }
    let y = 30.0 + row * kept.len() as f64 + 28.0;
    svg.text(
        margin,
        y - 16.0,
        "strongest |α|; in brackets the number of kept functions",
        Anchor::Start,
        10.0,
    );
    legend(&mut svg, margin, y, &functions_used(arch));
    (svg.finish(), total)
}
