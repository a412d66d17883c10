//! What `aim data` prints: per split (rows, positive rate) and per field (vocabulary, OOV rate),
//! skipped rows, and for synthetic data the planted truth and the Bayes metrics.

use super::meta::{Meta, SPLITS};
use super::read::FieldKind;
use super::CacheUse;
use crate::text::thousands;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::path::Path;

fn rate(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The summary as JSON.
pub fn json(meta: &Meta, dir: &Path, used: CacheUse) -> Value {
    let mut splits = Map::new();
    for (t, s) in meta.splits.iter().enumerate() {
        let mut o = json!({
            "rows": s.rows,
            "positives": s.positives,
            "positive_rate": rate(s.positives as u64, s.rows as u64),
        });
        if let Some(b) = meta.bayes.as_ref().and_then(|b| b.get(t)) {
            o["bayes_auc"] = json!(b.auc);
            o["bayes_logloss"] = json!(b.logloss);
        }
        splits.insert(s.name.clone(), o);
    }
    let fields: Vec<Value> = meta
        .fields
        .iter()
        .enumerate()
        .map(|(f, d)| {
            let oov: Map<String, Value> = meta
                .splits
                .iter()
                .map(|s| (s.name.clone(), json!(rate(s.oov[f], s.values[f]))))
                .collect();
            json!({
                "name": d.name,
                "kind": match d.kind { FieldKind::Categorical => "categorical", FieldKind::Numeric => "numeric", FieldKind::Multi { .. } => "multi" },
                "vocab": d.vocab,
                "oov_rate": oov,
            })
        })
        .collect();
    let mut out = json!({
        "cache": dir.display().to_string(),
        "key": meta.key,
        "reused": used == CacheUse::Reused,
        "input_bytes": meta.input_bytes,
        "build_seconds": meta.build_seconds,
        "splits": splits,
        "fields": fields,
        "skipped": {
            "count": meta.skipped.count,
            "first": meta.skipped.first.iter().map(|r| json!({"file": r.file, "line": r.line, "parquet_row": r.parquet, "error": r.error})).collect::<Vec<_>>(),
        },
    });
    if let Some(t) = &meta.truth {
        out["truth"] = serde_json::to_value(t).expect("truth serialises");
    }
    out
}

/// The summary as text.
pub fn text(meta: &Meta, dir: &Path, used: CacheUse) -> String {
    let mut o = String::new();
    let how = match used {
        CacheUse::Reused => "reused".to_string(),
        CacheUse::Built if meta.input_bytes > 0 => format!(
            "built in {:.2} s, {:.1} MB read at {:.1} MB/s",
            meta.build_seconds,
            meta.input_bytes as f64 / 1e6,
            meta.input_bytes as f64 / 1e6 / meta.build_seconds.max(1e-9)
        ),
        CacheUse::Built => format!("generated in {:.2} s", meta.build_seconds),
    };
    let _ = writeln!(o, "cache  {} ({how})", dir.display());
    let _ = writeln!(
        o,
        "\n{:<6} {:>12} {:>9}{}",
        "split",
        "rows",
        "positive",
        if meta.bayes.is_some() {
            "   Bayes AUC  Bayes logloss"
        } else {
            ""
        }
    );
    for (t, s) in meta.splits.iter().enumerate() {
        let _ = write!(
            o,
            "{:<6} {:>12} {:>8.2}%",
            s.name,
            thousands(s.rows as u64),
            100.0 * rate(s.positives as u64, s.rows as u64)
        );
        if let Some(b) = meta.bayes.as_ref().and_then(|b| b.get(t)) {
            let _ = write!(o, "   {:>9.4}  {:>13.4}", b.auc, b.logloss);
        }
        o.push('\n');
    }
    let _ = writeln!(
        o,
        "\n{:<20} {:<11} {:>10}   {}",
        "field",
        "kind",
        "vocab",
        SPLITS
            .map(|s| format!("{:>7}", format!("oov {s}")))
            .join(" ")
    );
    for (f, d) in meta.fields.iter().enumerate() {
        let kind = match d.kind {
            FieldKind::Categorical => "categorical".to_string(),
            FieldKind::Numeric => "numeric".to_string(),
            FieldKind::Multi { sep } => format!("multi '{}'", sep as char),
        };
        let oov: Vec<String> = meta
            .splits
            .iter()
            .map(|s| format!("{:>8.2}%", 100.0 * rate(s.oov[f], s.values[f])))
            .collect();
        let _ = writeln!(
            o,
            "{:<20} {:<11} {:>10}   {}",
            d.name,
            kind,
            thousands(d.vocab as u64),
            oov.join(" ")
        );
    }
    if meta.skipped.count > 0 {
        let _ = writeln!(
            o,
            "\nskipped {} malformed rows; the first:",
            thousands(meta.skipped.count)
        );
        for r in &meta.skipped.first {
            let _ = writeln!(o, "  {r}");
        }
    }
    if let Some(t) = &meta.truth {
        let _ = writeln!(o, "\nplanted (truth.ron):");
        for p in &t.planted {
            let _ = writeln!(
                o,
                "  {}({}) strength {}",
                p.function,
                p.fields.join(", "),
                p.strength
            );
        }
        let _ = writeln!(
            o,
            "noise fields: {}",
            if t.noise_fields.is_empty() {
                "none".into()
            } else {
                t.noise_fields.join(", ")
            }
        );
    }
    o
}
