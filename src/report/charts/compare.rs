//! Parameters and test AUC of the found model against the base models, per seed.

use super::*;

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
    let longest = label_chars(entries.iter().map(|e| e.label.as_str()), 1, usize::MAX);
    let margin = text_width(longest, 11.0) + 12.0;
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
pub(super) fn human(v: f64) -> String {
    match v {
        v if v >= 1e9 => format!("{:.2}G", v / 1e9),
        v if v >= 1e6 => format!("{:.2}M", v / 1e6),
        v if v >= 1e3 => format!("{:.1}k", v / 1e3),
        v => format!("{v:.0}"),
    }
}
