//! Per-stage learning curves: training loss, validation AUC and log loss per epoch.

use super::*;

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
