//! The report's charts, each an SVG drawn from an [`Architecture`] alone.

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

/// Fields × fields: each cell is the pair's strongest kept function, its opacity |α| over the
/// largest; pruned pairs are grey.
pub fn order2_heatmap(arch: &Architecture) -> String {
    let names: Vec<&str> = arch.fields.iter().map(|f| f.name.as_str()).collect();
    let nf = names.len();
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut cell: BTreeMap<(usize, usize), &ArchInteraction> = BTreeMap::new();
    for i in arch.interactions.iter().filter(|i| i.order == 2) {
        if let [a, b] = i.fields.as_slice() {
            if let (Some(&a), Some(&b)) = (index.get(a.as_str()), index.get(b.as_str())) {
                cell.insert((a, b), i);
                cell.insert((b, a), i);
            }
        }
    }
    let max = cell
        .values()
        .filter_map(|i| strongest(i).map(|s| s.1))
        .fold(0.0f64, f64::max);
    let size = (560.0 / nf.max(1) as f64).clamp(10.0, 36.0);
    let label_chars = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(1)
        .min(18);
    let font = (size * 0.6).clamp(8.0, 12.0);
    let margin = text_width(label_chars, font) + 10.0;
    let grid = size * nf as f64;
    let (width, height) = (margin + grid + 20.0, margin + grid + 40.0);
    let mut svg = Svg::new(width.max(420.0), height, "order-2 gate heat map");
    for (r, name) in names.iter().enumerate() {
        let y = margin + size * r as f64;
        svg.text_titled(
            margin - 6.0,
            y + size * 0.5 + font * 0.35,
            &clip(name, 18),
            Anchor::End,
            font,
            name,
        );
        let x = margin + size * r as f64 + size * 0.5 + font * 0.35;
        svg.text_rotated(
            x,
            margin - 6.0,
            &clip(name, 18),
            Anchor::Start,
            font,
            -90.0,
            name,
        );
        for c in 0..nf {
            let x = margin + size * c as f64;
            let title;
            match cell.get(&(r, c)).and_then(|i| strongest(i).map(|s| (i, s))) {
                Some((i, (f, a))) => {
                    title = format!("{} × {}: {}", i.fields[0], i.fields[1], alphas_text(i));
                    let strength = if max > 0.0 { a / max } else { 1.0 };
                    svg.rect(x, y, size, size, "#ffffff", None);
                    svg.rect_opacity(
                        x,
                        y,
                        size - 1.0,
                        size - 1.0,
                        function_colour(f),
                        0.15 + 0.85 * strength,
                        Some(&title),
                    );
                }
                None if r == c => svg.rect(x, y, size - 1.0, size - 1.0, "#ffffff", None),
                None => {
                    title = format!("{} × {}: pruned", names[r], names[c]);
                    svg.rect(x, y, size - 1.0, size - 1.0, "#eeeeee", Some(&title));
                }
            }
        }
    }
    let mut used = functions_used(arch);
    used.push("pruned".into());
    let y = margin + grid + 24.0;
    let mut at = 10.0;
    for f in &used {
        let colour = if f == "pruned" {
            "#eeeeee"
        } else {
            function_colour(f)
        };
        svg.rect(at, y - 10.0, 12.0, 12.0, colour, None);
        svg.text(at + 16.0, y, f, Anchor::Start, 12.0);
        at += 28.0 + 7.0 * f.chars().count() as f64;
    }
    svg.finish()
}

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
    let label_chars = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    let margin = text_width(label_chars, 11.0) + 12.0;
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

/// Per field: the kept embedding dimensions out of d, beside the vocabulary on a log scale.
pub fn dims_per_field(arch: &Architecture) -> String {
    let names: Vec<&str> = arch.fields.iter().map(|f| f.name.as_str()).collect();
    let label_chars = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(1)
        .min(24);
    let margin = text_width(label_chars, 11.0) + 12.0;
    let (dim_w, vocab_w, gap, row) = (240.0, 240.0, 70.0, 18.0);
    let d = arch.embedding_dim.max(1) as f64;
    let max_vocab = arch
        .fields
        .iter()
        .map(|f| f.vocab)
        .max()
        .unwrap_or(1)
        .max(10) as f64;
    let decades = max_vocab.log10().ceil().max(1.0);
    let top = 40.0;
    let height = top + row * names.len() as f64 + 20.0;
    let mut svg = Svg::new(
        margin + dim_w + gap + vocab_w + 60.0,
        height,
        "embedding dimensions per field",
    );
    svg.text(
        margin,
        16.0,
        &format!("kept dimensions (of d = {})", arch.embedding_dim),
        Anchor::Start,
        12.0,
    );
    let vx = margin + dim_w + gap;
    let bottom = top + row * names.len() as f64;
    // A grid line over every row with its label above, for both axes.
    let grid = |svg: &mut Svg, x: f64, label: &str| {
        svg.line(x, top - 4.0, x, bottom, "#e4e4e4", 1.0);
        svg.text(x, top - 8.0, label, Anchor::Middle, 9.0);
    };
    svg.text(vx, 16.0, "vocabulary (log scale)", Anchor::Start, 12.0);
    for k in 0..=arch.embedding_dim {
        if arch.embedding_dim <= 20 || k % 5 == 0 {
            grid(&mut svg, margin + dim_w * k as f64 / d, &k.to_string());
        }
    }
    for e in 0..=decades as usize {
        let label = match e {
            0 => "1".to_string(),
            1..=2 => format!("{}", 10usize.pow(e as u32)),
            _ => format!("1e{e}"),
        };
        grid(&mut svg, vx + vocab_w * e as f64 / decades, &label);
    }
    for (k, f) in arch.fields.iter().enumerate() {
        let y = top + row * k as f64;
        let title = format!(
            "{}: {} of {} dimensions kept, vocabulary {}",
            f.name, f.dim, arch.embedding_dim, f.vocab
        );
        svg.text_titled(
            margin - 6.0,
            y + 13.0,
            &clip(&f.name, 24),
            Anchor::End,
            11.0,
            &title,
        );
        svg.rect(
            margin,
            y + 3.0,
            dim_w * f.dim as f64 / d,
            row - 5.0,
            "#1f77b4",
            Some(&title),
        );
        svg.text(
            margin + dim_w * f.dim as f64 / d + 4.0,
            y + 13.0,
            &f.dim.to_string(),
            Anchor::Start,
            10.0,
        );
        let v = (f.vocab.max(1) as f64).log10() / decades;
        svg.rect(vx, y + 3.0, vocab_w * v, row - 5.0, "#bcbd22", Some(&title));
        svg.text(
            vx + vocab_w * v + 4.0,
            y + 13.0,
            &f.vocab.to_string(),
            Anchor::Start,
            10.0,
        );
    }
    svg.finish()
}

/// A palette for stages (lines in the learning curves).
const STAGE_COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// Training loss, validation AUC and validation log loss per epoch, a line per stage; `None`
/// when no stage recorded its epochs (an architecture written before they were kept).
pub fn learning_curves(arch: &Architecture) -> Option<String> {
    let stages: Vec<_> = arch
        .stages
        .iter()
        .filter(|s| !s.epochs.is_empty())
        .collect();
    if stages.is_empty() {
        return None;
    }
    type Pick = fn(&crate::train::EpochLog) -> f64;
    let panels: [(&str, Pick); 3] = [
        ("training loss", |e| e.train_loss),
        ("validation AUC", |e| e.valid_auc),
        ("validation log loss", |e| e.valid_logloss),
    ];
    let (pw, ph, left, top, gap) = (230.0, 170.0, 46.0, 26.0, 24.0);
    let legend_rows = stages.len() as f64;
    let width = 3.0 * (left + pw + gap);
    let height = top + ph + 40.0 + 18.0 * legend_rows;
    let mut svg = Svg::new(width, height, "learning curves");
    let max_epoch = stages
        .iter()
        .flat_map(|s| s.epochs.iter().map(|e| e.epoch))
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    for (p, (title, pick)) in panels.iter().enumerate() {
        let x0 = p as f64 * (left + pw + gap) + left;
        let values: Vec<f64> = stages
            .iter()
            .flat_map(|s| s.epochs.iter().map(pick))
            .filter(|v| v.is_finite())
            .collect();
        let (mut lo, mut hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-6 {
            (lo, hi) = (lo - 0.5e-3, hi + 0.5e-3);
        }
        let pad = (hi - lo) * 0.05;
        let (lo, hi) = (lo - pad, hi + pad);
        let fx = |e: f64| x0 + pw * (e - 1.0) / (max_epoch - 1.0);
        let fy = |v: f64| top + ph - ph * (v - lo) / (hi - lo);
        svg.text(x0 + pw / 2.0, 14.0, title, Anchor::Middle, 12.0);
        svg.rect(x0, top, pw, ph, "#fafafa", None);
        let yt = ticks(lo, hi, 4);
        let ystep = tick_step(lo, hi, 4);
        for t in &yt {
            svg.line(x0, fy(*t), x0 + pw, fy(*t), "#e0e0e0", 1.0);
            svg.text(
                x0 - 4.0,
                fy(*t) + 3.5,
                &tick_label(*t, ystep),
                Anchor::End,
                9.0,
            );
        }
        for t in ticks(1.0, max_epoch, 5) {
            if t.fract() == 0.0 {
                svg.text(fx(t), top + ph + 13.0, &format!("{t}"), Anchor::Middle, 9.0);
            }
        }
        svg.text(
            x0 + pw / 2.0,
            top + ph + 27.0,
            "epoch",
            Anchor::Middle,
            10.0,
        );
        for (k, s) in stages.iter().enumerate() {
            let colour = STAGE_COLOURS[k % STAGE_COLOURS.len()];
            let pts: Vec<(f64, f64)> = s
                .epochs
                .iter()
                .map(|e| (fx(e.epoch as f64), fy(pick(e))))
                .collect();
            svg.polyline(&pts, colour, 1.8);
            for (e, (x, y)) in s.epochs.iter().zip(&pts) {
                if y.is_finite() {
                    let tip = format!("{}, epoch {}: {title} {:.5}", s.name, e.epoch, pick(e));
                    svg.circle(*x, *y, 2.5, colour, Some(&tip));
                }
            }
        }
    }
    for (k, s) in stages.iter().enumerate() {
        let y = top + ph + 50.0 + 18.0 * k as f64;
        let colour = STAGE_COLOURS[k % STAGE_COLOURS.len()];
        svg.line(left, y - 4.0, left + 24.0, y - 4.0, colour, 2.5);
        let best = s
            .epochs
            .iter()
            .filter(|e| e.valid_auc.is_finite())
            .max_by(|a, b| a.valid_auc.total_cmp(&b.valid_auc));
        let text = match best {
            Some(b) => format!(
                "{} ({} epochs, best validation AUC {:.5} at epoch {}, {:.0} s)",
                s.name,
                s.epochs.len(),
                b.valid_auc,
                b.epoch,
                s.seconds
            ),
            None => s.name.clone(),
        };
        svg.text(left + 30.0, y, &text, Anchor::Start, 11.0);
    }
    Some(svg.finish())
}

/// One bar (or a mean with its seeds' spread) in the comparison chart.
struct Entry {
    label: String,
    params: Option<usize>,
    /// Test AUC per seed (one value without `--seeds`).
    aucs: Vec<f64>,
    colour: &'static str,
}

/// Parameters and test AUC of the found model against the base models: bars for the
/// parameters, each seed's AUC as a dot with the mean ± std as a line.
pub fn compare(arch: &Architecture) -> String {
    let mut entries = Vec::new();
    let found_aucs = match (&arch.metrics.seeds, &arch.metrics.retrain) {
        (Some(s), _) => s.test_auc.clone(),
        (None, Some(r)) => vec![r.test_auc],
        (None, None) => Vec::new(),
    };
    entries.push(Entry {
        label: "found by aim run (re-trained)".into(),
        params: Some(arch.params.after),
        aucs: found_aucs,
        colour: "#d62728",
    });
    entries.push(Entry {
        label: "search model (every candidate)".into(),
        params: Some(arch.params.before).filter(|p| *p > 0),
        aucs: Vec::new(),
        colour: "#7f7f7f",
    });
    if arch.params.base_function_wise > 0 {
        entries.push(Entry {
            label: "base model, function-wise embeddings".into(),
            params: Some(arch.params.base_function_wise),
            aucs: Vec::new(),
            colour: "#aec7e8",
        });
    }
    entries.push(Entry {
        label: "base model".into(),
        params: Some(arch.params.base).filter(|p| *p > 0),
        aucs: Vec::new(),
        colour: "#1f77b4",
    });
    for b in &arch.metrics.baselines {
        entries.push(Entry {
            label: format!("baseline {}", b.base),
            params: None,
            aucs: b.metrics.test_auc.clone(),
            colour: "#1f77b4",
        });
    }
    let label_chars = entries
        .iter()
        .map(|e| e.label.chars().count())
        .max()
        .unwrap_or(1);
    let margin = text_width(label_chars, 11.0) + 12.0;
    let (pw, row, top, gap) = (260.0, 22.0, 40.0, 90.0);
    let height = top + row * entries.len() as f64 + 50.0;
    let mut svg = Svg::new(
        margin + 2.0 * pw + gap + 40.0,
        height,
        "parameters and test AUC against the base models",
    );
    svg.text(margin, 16.0, "parameters", Anchor::Start, 12.0);
    let ax = margin + pw + gap;
    svg.text(
        ax,
        16.0,
        "test AUC (dots: seeds; line: mean ± std)",
        Anchor::Start,
        12.0,
    );
    let max_params = entries
        .iter()
        .filter_map(|e| e.params)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let all: Vec<f64> = entries
        .iter()
        .flat_map(|e| e.aucs.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    let (lo, hi) = if lo.is_finite() {
        let pad = ((hi - lo) * 0.15).max(0.002);
        (lo - pad, hi + pad)
    } else {
        (0.5, 1.0)
    };
    let fx = |v: f64| ax + pw * (v - lo) / (hi - lo);
    let bottom = top + row * entries.len() as f64;
    let pt = ticks(0.0, max_params, 3);
    for t in &pt {
        let x = margin + pw * t / max_params;
        svg.line(x, top - 4.0, x, bottom, "#e4e4e4", 1.0);
        svg.text(x, bottom + 14.0, &human(*t), Anchor::Middle, 9.0);
    }
    let at = ticks(lo, hi, 4);
    let astep = tick_step(lo, hi, 4);
    for t in &at {
        svg.line(fx(*t), top - 4.0, fx(*t), bottom, "#e4e4e4", 1.0);
        svg.text(
            fx(*t),
            bottom + 14.0,
            &tick_label(*t, astep),
            Anchor::Middle,
            9.0,
        );
    }
    for (k, e) in entries.iter().enumerate() {
        let y = top + row * k as f64;
        svg.text(margin - 6.0, y + 15.0, &e.label, Anchor::End, 11.0);
        if let Some(p) = e.params {
            let title = format!("{}: {p} parameters", e.label);
            svg.rect(
                margin,
                y + 4.0,
                pw * p as f64 / max_params,
                row - 8.0,
                e.colour,
                Some(&title),
            );
            svg.text(
                margin + pw * p as f64 / max_params + 4.0,
                y + 15.0,
                &human(p as f64),
                Anchor::Start,
                10.0,
            );
        }
        let finite: Vec<f64> = e.aucs.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.is_empty() {
            continue;
        }
        let ms = crate::stats::mean_std(&finite);
        let yc = y + row / 2.0;
        if finite.len() > 1 {
            svg.line(
                fx(ms.mean - ms.std),
                yc,
                fx(ms.mean + ms.std),
                yc,
                e.colour,
                2.0,
            );
            svg.line(fx(ms.mean), yc - 6.0, fx(ms.mean), yc + 6.0, e.colour, 2.0);
        }
        for (s, v) in finite.iter().enumerate() {
            let title = format!("{}: test AUC {v:.5} (seed {})", e.label, s + 1);
            svg.circle(fx(*v), yc, 3.5, e.colour, Some(&title));
        }
        let text = if finite.len() > 1 {
            format!("{:.5} ± {:.5}", ms.mean, ms.std)
        } else {
            format!("{:.5}", ms.mean)
        };
        svg.text(ax + pw + 6.0, yc + 4.0, &text, Anchor::Start, 10.0);
    }
    if arch.metrics.baselines.is_empty() {
        svg.text(
            margin,
            bottom + 34.0,
            "no baseline trained: `aim run SPEC --seeds 3 --baseline deepfm` adds them",
            Anchor::Start,
            10.0,
        );
    }
    svg.finish()
}

/// 1234567 → "1.23M".
fn human(v: f64) -> String {
    match v {
        v if v >= 1e9 => format!("{:.2}G", v / 1e9),
        v if v >= 1e6 => format!("{:.2}M", v / 1e6),
        v if v >= 1e3 => format!("{:.1}k", v / 1e3),
        v => format!("{v:.0}"),
    }
}
