//! The `data { … }` block: format, files, splits, fields.

use super::*;

pub(super) fn default_data(dir: &Path, name: &str) -> DataSpec {
    DataSpec {
        source: DataSource::Synthetic(SyntheticSpec {
            rows: 100_000,
            fields: 12,
            vocab: vec![50; 12],
            zipf: 0.0,
            missing: 0.0,
            rank: 4,
            first_order: 0.1,
            planted: vec![],
        }),
        split: Some([0.8, 0.1, 0.1]),
        shuffle: true,
        min_count: 1,
        numeric: Bucketing::LogSquare,
        on_error: OnError::Fail,
        cache: dir.join(".aim-cache").join(file_stem(name)),
    }
}

/// Fields of the data when the spec alone says how many (all formats but libfm).
pub fn known_field_count(data: &DataSpec) -> Option<usize> {
    match &data.source {
        DataSource::Synthetic(s) => Some(s.fields),
        DataSource::Files {
            format: FileFormat::Criteo,
            ..
        } => Some(39),
        DataSource::Files {
            format: FileFormat::Avazu,
            ..
        } => Some(crate::spec::formats::AVAZU_FIELDS.len()),
        DataSource::Files {
            format: FileFormat::Csv(c) | FileFormat::Parquet(c),
            ..
        } => Some(c.columns.len()),
        DataSource::Files {
            format: FileFormat::Libfm,
            ..
        } => None,
    }
}

pub(super) const FORMATS: &[&str] = &["criteo", "avazu", "libfm", "csv", "parquet", "synthetic"];
pub(super) const DATA_KEYS: &[&str] = &[
    "format",
    "train",
    "valid",
    "test",
    "split",
    "shuffle",
    "min_count",
    "numeric",
    "on_error",
    "cache", // csv
    "label",
    "delimiter",
    "unlisted", // synthetic
    "rows",
    "fields",
    "vocab",
    "zipf",
    "missing",
    "rank",
    "first_order",
    "planted",
];
pub(super) const CSV_KEYS: &[&str] = &["label", "delimiter", "unlisted"];
pub(super) const SYNTHETIC_KEYS: &[&str] = &[
    "rows",
    "fields",
    "vocab",
    "zipf",
    "missing",
    "rank",
    "first_order",
    "planted",
];
pub(super) const FILE_KEYS: &[&str] = &["train", "valid", "test"];

pub(super) fn data_block(sink: &mut Sink, b: &Block, dir: &Path, name: &str) -> DataSpec {
    let t = Table::new(
        sink,
        "data".into(),
        b.header,
        &b.items,
        DATA_KEYS,
        &["columns"],
    );
    let mut out = default_data(dir, name);
    let format = t.choice(sink, "format", FORMATS);
    if t.get("format").is_none() {
        t.missing(sink, "format", "synthetic");
    }
    // With no valid format, the keys that depend on it cannot be judged: say nothing of them
    // rather than guess a format and report errors the user did not make.
    let Some(format) = format else { return out };
    out.min_count = t.int(sink, "min_count", 1, 1, u32::MAX as i64) as u32;
    out.shuffle = t.boolean(sink, "shuffle", true);
    out.numeric = match t
        .choice(sink, "numeric", &["log_square", "identity"])
        .as_deref()
    {
        Some("identity") => Bucketing::Identity,
        _ => Bucketing::LogSquare,
    };
    out.on_error = match t.choice(sink, "on_error", &["fail", "skip"]).as_deref() {
        Some("skip") => OnError::Skip,
        _ => OnError::Fail,
    };
    if let Some(c) = t.string(sink, "cache") {
        out.cache = dir.join(c);
    }

    let is = |f: &str| format == f;
    if !is("csv") && !is("parquet") {
        for k in CSV_KEYS {
            t.forbid(sink, k, "only for `format = csv` or `parquet`");
        }
        for sb in t.blocks() {
            sink.push(Diagnostic::error(
                sb.kind.span,
                "`columns` does not apply here",
                "only for `format = csv` or `parquet`",
            ));
        }
    }
    if is("parquet") {
        t.forbid(sink, "delimiter", "a Parquet file has no delimiter");
    }
    if !is("synthetic") {
        for k in SYNTHETIC_KEYS {
            t.forbid(sink, k, "only for `format = synthetic`");
        }
    }
    let split_value = t.value("split");
    let mut split = split_value.and_then(|v| sink.ok(split_fractions(v)));

    if is("synthetic") {
        for k in FILE_KEYS {
            t.forbid(sink, k, "synthetic data is generated, not read: remove it");
        }
        out.source = DataSource::Synthetic(synthetic(sink, &t));
        out.split = Some(split.unwrap_or([0.8, 0.1, 0.1]));
        return out;
    }

    let path = |k: &str, sink: &mut Sink| {
        let s = t.string(sink, k)?;
        if s.trim().is_empty() {
            sink.push(Diagnostic::error(
                t.get(k).expect("present").value.span,
                "empty path",
                "name a file",
            ));
            return None;
        }
        Some(dir.join(s))
    };
    let train = path("train", sink);
    let valid = path("valid", sink);
    let test = path("test", sink);
    if t.get("train").is_none() {
        t.missing(sink, "train", "\"data/train.csv\"");
    }
    let files = [&train, &valid, &test]
        .iter()
        .filter(|p| p.is_some())
        .count();
    if files == 3 {
        if let Some(v) = split_value {
            sink.push(
                Diagnostic::error(
                    v.span,
                    "`split` with three files",
                    "train, valid and test are all given",
                )
                .with_help("remove `split`, or one of the files to split the others"),
            );
            split = None;
        }
    } else {
        split = Some(split.unwrap_or([0.8, 0.1, 0.1]));
    }
    out.split = split;
    let format = match format.as_str() {
        "criteo" => FileFormat::Criteo,
        "avazu" => FileFormat::Avazu,
        "libfm" => FileFormat::Libfm,
        "parquet" => FileFormat::Parquet(csv(sink, &t)),
        _ => FileFormat::Csv(csv(sink, &t)),
    };
    out.source = DataSource::Files {
        format,
        train: train.unwrap_or_default(),
        valid,
        test,
    };
    out
}

pub(super) fn split_fractions(v: &Value) -> Result<[f64; 3], Diagnostic> {
    let ValueKind::List(xs) = &v.kind else {
        return Err(expected(
            v,
            "a list of three fractions like `[0.8, 0.1, 0.1]`",
            &v.kind,
        ));
    };
    if xs.len() != 3 {
        return Err(Diagnostic::error(
            v.span,
            format!("`split` has {} fractions", xs.len()),
            "expected three: train, valid, test",
        )
        .with_help("write e.g. `split = [0.8, 0.1, 0.1]`"));
    }
    let mut out = [0.0; 3];
    for (o, x) in out.iter_mut().zip(xs) {
        *o = num_in(x, Range::OPEN_UNIT)?;
    }
    let sum: f64 = out.iter().sum();
    if (sum - 1.0).abs() > 1e-9 {
        return Err(Diagnostic::error(
            v.span,
            format!("`split` sums to {}", crate::spec::fmt::float(sum)),
            "the fractions must sum to 1",
        ));
    }
    Ok(out)
}
