//! `aim report`: one self-contained HTML page (inline SVG and CSS, no script, nothing fetched)
//! that pictures an architecture: the order-2 gates, the kept higher orders, the embedding
//! dimensions per field, each stage's learning curve, and the found model against its bases.
//!
//! The page is well-formed XML as well as HTML, so a strict XML parser reads it (the tests do).

pub mod charts;
pub mod svg;

use crate::arch::Architecture;
use std::fmt::Write as _;
use svg::escape;

/// The charts a report holds, by element id, in page order.
pub const CHARTS: [&str; 5] = [
    "order2-heatmap",
    "higher-order",
    "dims-per-field",
    "learning-curves",
    "params-auc",
];

/// Higher-order interactions drawn; the rest are counted under the chart.
const TOP_HIGHER: usize = 40;

const STYLE: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}\
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin:28px 0 6px;border-bottom:1px solid #ddd;padding-bottom:4px}\
p.sub{color:#555;margin-top:0}table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}\
th{color:#555;font-weight:normal}figure{margin:8px 0 0}figcaption{color:#555;font-size:13px;margin:4px 0 10px;max-width:900px}\
svg text{fill:#222}footer{color:#888;font-size:12px;margin-top:32px}";

/// The report page of `arch`, read from `source` (named in the footer).
pub fn page(arch: &Architecture, source: &str) -> String {
    let mut o = String::new();
    let title = format!("aim report: {}", arch.spec);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta charset=\"utf-8\"/>\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = write!(
        o,
        "<h1>{}</h1><p class=\"sub\">seed {}, spec hash {}, data {}</p>",
        escape(&title),
        arch.seed,
        escape(&arch.spec_hash),
        escape(&arch.data)
    );
    summary(&mut o, arch);

    figure(
        &mut o,
        CHARTS[0],
        "Order-2 interactions",
        &charts::order2_heatmap(arch),
        "Each cell is a pair of fields: its colour the strongest kept interaction function, its \
         depth that function's |α| against the largest; grey pairs were pruned. Hover a cell for \
         every kept function and its α.",
    );
    let (bars, total) = charts::higher_order_bars(arch, TOP_HIGHER);
    let caption = if total == 0 {
        "The search kept no interaction of order 3 or more (or searched none: `max_order`)."
            .to_string()
    } else if total > TOP_HIGHER {
        format!("The {TOP_HIGHER} strongest of {total} kept interactions of order 3 and up, by their strongest |α|, coloured by its function.")
    } else {
        format!("The {total} kept interactions of order 3 and up, by their strongest |α|, coloured by its function.")
    };
    figure(
        &mut o,
        CHARTS[1],
        "Higher-order interactions",
        &bars,
        &caption,
    );
    figure(
        &mut o,
        CHARTS[2],
        "Embedding dimensions per field",
        &charts::dims_per_field(arch),
        "The dimensions the embedding-dimension search kept for each field (left) beside the \
         field's vocabulary (right, log scale): the paper's Table 6 as a picture.",
    );
    match charts::learning_curves(arch) {
        Some(svg) => figure(
            &mut o,
            CHARTS[3],
            "Learning curves",
            &svg,
            "Per stage and epoch: the mean training loss and the validation AUC and log loss. \
             With c = auto each search stage shows the run of the chosen threshold.",
        ),
        None => {
            let mut svg = svg::Svg::new(600.0, 40.0, "learning curves");
            svg.text(
                10.0,
                24.0,
                "this architecture records no epochs (written by an older aim): run it again to see the curves",
                svg::Anchor::Start,
                12.0,
            );
            figure(&mut o, CHARTS[3], "Learning curves", &svg.finish(), "")
        }
    }
    figure(
        &mut o,
        CHARTS[4],
        "Found model against the base models",
        &charts::compare(arch),
        "Trained parameters of each model, and the test AUC of the found model and of any \
         baselines trained on the same seeds (`aim run --seeds N --baseline …`).",
    );
    let _ = writeln!(
        o,
        "<footer>written by aim {} from {}</footer></body></html>",
        env!("CARGO_PKG_VERSION"),
        escape(source)
    );
    o
}

fn figure(o: &mut String, id: &str, heading: &str, svg: &str, caption: &str) {
    let _ = write!(
        o,
        "<section id=\"{id}\"><h2>{}</h2><figure>{svg}<figcaption>{}</figcaption></figure></section>",
        escape(heading),
        escape(caption)
    );
}

/// The numbers a reader looks for first, as a table.
fn summary(o: &mut String, arch: &Architecture) {
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Some(r) = &arch.metrics.retrain {
        rows.push((
            "test AUC / log loss".into(),
            format!(
                "{:.5} / {:.5} (best epoch {})",
                r.test_auc, r.test_logloss, r.best_epoch
            ),
        ));
        rows.push((
            "validation AUC / log loss".into(),
            format!("{:.5} / {:.5}", r.valid_auc, r.valid_logloss),
        ));
    }
    if let Some(s) = &arch.metrics.seeds {
        rows.push((
            format!("over {} seeds", s.seeds.len()),
            format!(
                "test AUC {:.5} ± {:.5}, log loss {:.5} ± {:.5}",
                s.auc.mean, s.auc.std, s.logloss.mean, s.logloss.std
            ),
        ));
    }
    for b in &arch.metrics.baselines {
        rows.push((
            format!("baseline {}", b.base),
            format!(
                "test AUC {:.5} ± {:.5} (p = {:.2e}), log loss {:.5} ± {:.5} (p = {:.2e})",
                b.metrics.auc.mean,
                b.metrics.auc.std,
                b.p_auc,
                b.metrics.logloss.mean,
                b.metrics.logloss.std,
                b.p_logloss
            ),
        ));
    }
    rows.push((
        "parameters".into(),
        format!(
            "{} found, {} base, {} base with function-wise embeddings",
            arch.params.after, arch.params.base, arch.params.base_function_wise
        ),
    ));
    for ord in &arch.orders {
        rows.push((
            format!("order {}", ord.order),
            format!(
                "kept {} of {} candidates ({} interaction-function pairs)",
                ord.kept, ord.candidates, ord.kept_pairs
            ),
        ));
    }
    let kept: usize = arch.fields.iter().map(|f| f.dim).sum();
    rows.push((
        "embedding dimensions".into(),
        format!(
            "{kept} of {} kept over {} fields (d = {}{})",
            arch.fields.len() * arch.embedding_dim,
            arch.fields.len(),
            arch.embedding_dim,
            if arch.function_wise {
                ", one table per function"
            } else {
                ""
            }
        ),
    ));
    let seconds: f64 = arch.stages.iter().map(|s| s.seconds).sum();
    rows.push((
        "stages".into(),
        format!("{} in {:.0} s", arch.stages.len(), seconds),
    ));
    if let Some(m) = &arch.model {
        rows.push(("saved model".into(), format!("{} ({})", m.file, m.hash)));
    }
    o.push_str("<table>");
    for (k, v) in rows {
        let _ = write!(o, "<tr><th>{}</th><td>{}</td></tr>", escape(&k), escape(&v));
    }
    o.push_str("</table>");
}
