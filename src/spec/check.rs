//! Syntax tree → typed [`Spec`], or every error found, each with its span.

use super::ast::*;
use super::diagnostic::{Diagnostic, Diagnostics};
use super::table::{choice, expected, int_in, named_args, num_in, Range, Sink, Table};
use super::types::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Checks a parsed spec. Relative paths resolve against `spec_dir`. Returns the spec when there
/// is no error, and all diagnostics (warnings too) either way.
pub fn check(doc: &Document, spec_dir: &Path) -> (Option<Spec>, Diagnostics) {
    let mut sink = Sink::default();
    let mut experiments = Vec::new();
    for item in &doc.items {
        match &item.kind {
            ItemKind::Comment(_) => {}
            ItemKind::Block(b) if b.kind.name == "experiment" => experiments.push(b),
            ItemKind::Block(b) => sink.push(
                Diagnostic::error(
                    b.kind.span,
                    format!("unexpected block `{}` at the top level", b.kind.name),
                    "not inside `experiment`",
                )
                .with_help(
                    "a spec is one `experiment \"name\" { … }` block holding everything else",
                ),
            ),
            ItemKind::Assignment(a) => sink.push(
                Diagnostic::error(
                    a.key.span,
                    format!("`{}` outside `experiment`", a.key.name),
                    "not inside a block",
                )
                .with_help(
                    "a spec is one `experiment \"name\" { … }` block holding everything else",
                ),
            ),
        }
    }
    let spec = match experiments.as_slice() {
        [] => {
            sink.push(
                Diagnostic::error(
                    Span::new(0, 0),
                    "no `experiment` block",
                    "the spec is empty",
                )
                .with_help("start with `experiment \"name\" {` and close it with `}`"),
            );
            None
        }
        [e, rest @ ..] => {
            for r in rest {
                sink.push(
                    Diagnostic::error(
                        r.header,
                        "a second `experiment` block",
                        "one spec, one experiment",
                    )
                    .with_help("put each experiment in its own .aim file"),
                );
            }
            Some(experiment(&mut sink, e, spec_dir))
        }
    };
    let diags = Diagnostics(sink.diags);
    let spec = if diags.has_errors() { None } else { spec };
    (spec, diags)
}

const EXPERIMENT_KEYS: &[&str] = &["seed", "output"];
const EXPERIMENT_BLOCKS: &[&str] = &["data", "model", "search", "retrain"];

fn experiment(sink: &mut Sink, b: &Block, dir: &Path) -> Spec {
    if let Some(l) = &b.label {
        sink.push(
            Diagnostic::error(
                l.span(),
                "unexpected label",
                "an experiment has a quoted name, not a label",
            )
            .with_help(format!("write `experiment \"{l}\" {{`")),
        );
    }
    let name = match &b.name {
        Some((n, sp)) if n.trim().is_empty() => {
            sink.push(Diagnostic::error(
                *sp,
                "empty experiment name",
                "name it, e.g. \"frappe\"",
            ));
            "experiment".to_string()
        }
        Some((n, _)) => n.clone(),
        None => {
            sink.push(
                Diagnostic::error(
                    b.header,
                    "the experiment has no name",
                    "expected a quoted name here",
                )
                .with_help("write `experiment \"my-experiment\" {`"),
            );
            "experiment".to_string()
        }
    };
    let t = Table::new(
        sink,
        "experiment".into(),
        b.header,
        &b.items,
        EXPERIMENT_KEYS,
        EXPERIMENT_BLOCKS,
    );
    let seed = t.int(sink, "seed", 0, 0, i64::MAX) as u64;
    let output = match t.string(sink, "output") {
        Some(s) if s.trim().is_empty() => {
            let a = t.get("output").expect("present");
            sink.push(Diagnostic::error(
                a.value.span,
                "empty output path",
                "name a file, e.g. \"out/arch.ron\"",
            ));
            dir.join(format!("out/{name}.arch.ron"))
        }
        Some(s) => dir.join(s),
        None => dir.join(format!("out/{}.arch.ron", file_stem(&name))),
    };

    let mut data = None;
    let mut model = None;
    let mut searches: BTreeMap<String, &Block> = BTreeMap::new();
    let mut retrain = None;
    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
    for sb in t.blocks() {
        let title = sb.title();
        if seen.insert(title.clone(), sb.header).is_some() {
            sink.push(
                Diagnostic::error(
                    sb.header,
                    format!("duplicate block `{title}`"),
                    "given a second time here",
                )
                .with_help("merge the two blocks into one"),
            );
            continue;
        }
        match sb.kind.name.as_str() {
            "data" => {
                no_label(sink, sb);
                data = Some(*sb);
            }
            "model" => {
                no_label(sink, sb);
                model = Some(*sb);
            }
            "retrain" => {
                no_label(sink, sb);
                retrain = Some(*sb);
            }
            "search" => match &sb.label {
                Some(Label::Ident(i)) if i.name == "interactions" || i.name == "embedding_dims" => {
                    searches.insert(i.name.clone(), sb);
                }
                other => {
                    let (sp, found) = match other {
                        Some(l) => (l.span(), format!("`search {l}`")),
                        None => (sb.header, "`search` without a label".to_string()),
                    };
                    let d = Diagnostic::error(
                        sp,
                        format!("unknown search {found}"),
                        "expected `interactions` or `embedding_dims`",
                    );
                    let word = other.as_ref().map(|l| l.to_string()).unwrap_or_default();
                    sink.push(match super::suggest::did_you_mean(&word, &["interactions", "embedding_dims"]) {
                        Some(s) => d.with_help(format!("did you mean `search {s}`?")),
                        None => d.with_help("write `search interactions { … }` or `search embedding_dims { … }`"),
                    });
                }
            },
            _ => unreachable!("Table admits only the listed blocks"),
        }
    }
    let data = match data {
        Some(d) => data_block(sink, d, dir, &name),
        None => {
            sink.push(
                Diagnostic::error(
                    b.header,
                    "missing block `data`",
                    "the experiment needs `data { … }`",
                )
                .with_help("add `data { format = synthetic }` for a first try without files"),
            );
            default_data(dir, &name)
        }
    };
    let model = match model {
        Some(m) => model_block(sink, m),
        None => model_block(
            sink,
            &Block {
                kind: Ident {
                    name: "model".into(),
                    span: b.header,
                },
                label: None,
                name: None,
                items: vec![],
                header: b.header,
                span: b.header,
            },
        ),
    };
    let fields = known_field_count(&data);
    let search_interactions = searches
        .get("interactions")
        .map(|s| interaction_block(sink, s, fields, &data));
    let search_dims = searches.get("embedding_dims").map(|s| dims_block(sink, s));
    let retrain = retrain.map(|r| retrain_block(sink, r, &model));
    if search_dims.is_some() && search_interactions.is_none() {
        let sb = searches["embedding_dims"];
        sink.push(Diagnostic::warning(
            sb.header,
            "`search embedding_dims` without `search interactions`",
            "searches dimensions for the base model's pairwise interactions",
        ));
    }
    Spec {
        name,
        seed,
        data,
        model,
        search_interactions,
        search_dims,
        retrain,
        output,
    }
}

fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn no_label(sink: &mut Sink, b: &Block) {
    if let Some(l) = &b.label {
        sink.push(
            Diagnostic::error(
                l.span(),
                format!("`{}` takes no label", b.kind.name),
                "unexpected label",
            )
            .with_help(format!("write `{} {{`", b.kind.name)),
        );
    }
    if let Some((_, sp)) = &b.name {
        sink.push(Diagnostic::error(
            *sp,
            format!("`{}` takes no name", b.kind.name),
            "unexpected name",
        ));
    }
}

fn default_data(dir: &Path, name: &str) -> DataSpec {
    DataSpec {
        source: DataSource::Synthetic(SyntheticSpec {
            rows: 100_000,
            fields: 12,
            vocab: 50,
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
            format: FileFormat::Csv(c),
            ..
        } => Some(c.columns.len()),
        DataSource::Files {
            format: FileFormat::Libfm,
            ..
        } => None,
    }
}

const FORMATS: &[&str] = &["criteo", "avazu", "libfm", "csv", "synthetic"];
const DATA_KEYS: &[&str] = &[
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
    "rank",
    "first_order",
    "planted",
];
const CSV_KEYS: &[&str] = &["label", "delimiter", "unlisted"];
const SYNTHETIC_KEYS: &[&str] = &["rows", "fields", "vocab", "rank", "first_order", "planted"];
const FILE_KEYS: &[&str] = &["train", "valid", "test"];

fn data_block(sink: &mut Sink, b: &Block, dir: &Path, name: &str) -> DataSpec {
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
    if !is("csv") {
        for k in CSV_KEYS {
            t.forbid(sink, k, "only for `format = csv`");
        }
        for sb in t.blocks() {
            sink.push(Diagnostic::error(
                sb.kind.span,
                "`columns` does not apply here",
                "only for `format = csv`",
            ));
        }
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

fn split_fractions(v: &Value) -> Result<[f64; 3], Diagnostic> {
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
            format!("`split` sums to {}", super::fmt::float(sum)),
            "the fractions must sum to 1",
        ));
    }
    Ok(out)
}

fn synthetic(sink: &mut Sink, t: &Table) -> SyntheticSpec {
    let fields = t.count(sink, "fields", 12, 2);
    let vocab = t.count(sink, "vocab", 50, 2);
    let rows = t.count(sink, "rows", 100_000, 10);
    let rank = t.count(sink, "rank", 4, 1);
    let first_order = t.num(sink, "first_order", 0.1, Range::NON_NEGATIVE);
    let mut planted = Vec::new();
    if let Some(v) = t.value("planted") {
        match &v.kind {
            ValueKind::List(xs) => {
                for x in xs {
                    if let Some(p) = plant(sink, x, fields) {
                        if planted.iter().any(|q: &Planted| q.fields == p.fields) {
                            sink.push(
                                Diagnostic::error(
                                    x.span,
                                    "the same fields are planted twice",
                                    "already planted above",
                                )
                                .with_help("plant each field tuple once; raise `strength` instead"),
                            );
                        } else {
                            planted.push(p);
                        }
                    }
                }
            }
            k => sink.push(expected(
                v,
                "a list like `[inner(f0, f1), outer(f2, f3, strength = 2.0)]`",
                k,
            )),
        }
    }
    SyntheticSpec {
        rows,
        fields,
        vocab,
        rank,
        first_order,
        planted,
    }
}

const FUNCTIONS: &[&str] = &["inner", "outer", "vector_kernel", "scalar_kernel"];

fn plant(sink: &mut Sink, v: &Value, fields: usize) -> Option<Planted> {
    let ValueKind::Call(c) = &v.kind else {
        sink.push(expected(
            v,
            "a planted interaction like `inner(f0, f1)`",
            &v.kind,
        ));
        return None;
    };
    let fname = Value {
        kind: ValueKind::Ident(c.name.name.clone()),
        span: c.name.span,
    };
    let function = sink.ok(choice(&fname, FUNCTIONS, "interaction function"))?;
    let function = InteractionFn::from_name(function).expect("checked against FUNCTIONS");
    let mut idx = Vec::new();
    let mut strength = 1.0;
    let mut ok = true;
    for a in &c.args {
        match &a.name {
            Some(n) if n.name == "strength" => match sink.ok(num_in(&a.value, Range::ANY)) {
                Some(s) => strength = s,
                None => ok = false,
            },
            Some(n) => {
                sink.push(Diagnostic::error(
                    n.span,
                    format!("unknown argument `{}`", n.name),
                    "expected fields like `f0`, then `strength = …`",
                ));
                ok = false;
            }
            None => {
                let f = match &a.value.kind {
                    ValueKind::Ident(s) => {
                        s.strip_prefix('f').and_then(|n| n.parse::<usize>().ok())
                    }
                    _ => None,
                };
                match f {
                    Some(i) if i < fields => idx.push((i, a.value.span)),
                    Some(i) => {
                        sink.push(Diagnostic::error(
                            a.value.span,
                            format!("field `f{i}` does not exist"),
                            format!("the data has fields f0..f{}", fields - 1),
                        ));
                        ok = false;
                    }
                    None => {
                        sink.push(expected(
                            &a.value,
                            "a synthetic field name like `f3`",
                            &a.value.kind,
                        ));
                        ok = false;
                    }
                }
            }
        }
    }
    if !ok {
        return None;
    }
    if !(2..=4).contains(&idx.len()) {
        sink.push(Diagnostic::error(
            v.span,
            format!("a planted interaction of {} fields", idx.len()),
            "expected 2, 3 or 4 fields",
        ));
        return None;
    }
    let mut fields: Vec<usize> = idx.iter().map(|(i, _)| *i).collect();
    fields.sort_unstable();
    if let Some(w) = fields.windows(2).find(|w| w[0] == w[1]) {
        let sp = idx
            .iter()
            .filter(|(i, _)| *i == w[0])
            .nth(1)
            .map_or(v.span, |(_, s)| *s);
        sink.push(Diagnostic::error(
            sp,
            format!("field `f{}` appears twice", w[0]),
            "an interaction's fields are distinct",
        ));
        return None;
    }
    Some(Planted {
        fields,
        function,
        strength,
    })
}

fn csv(sink: &mut Sink, t: &Table) -> CsvSpec {
    let label = t.string(sink, "label").unwrap_or_else(|| {
        if t.get("label").is_none() {
            t.missing(sink, "label", "\"label\"");
        }
        "label".into()
    });
    let delimiter = match (t.string(sink, "delimiter"), t.value("delimiter")) {
        (Some(s), Some(v)) => {
            let d = if s == "\\t" { "\t".to_string() } else { s };
            if d.len() == 1 && d != "\"" && d != "\n" {
                d.as_bytes()[0]
            } else {
                sink.push(Diagnostic::error(
                    v.span,
                    "invalid delimiter",
                    "expected one ASCII character, e.g. \",\" or \"\\t\"",
                ));
                b','
            }
        }
        _ => b',',
    };
    let unlisted = match t.choice(sink, "unlisted", &["ignore", "reject"]).as_deref() {
        Some("reject") => Unlisted::Reject,
        _ => Unlisted::Ignore,
    };
    let mut columns = Vec::new();
    match t.blocks() {
        [] => t.missing(sink, "columns", "{ age = numeric }` block, i.e. `columns"),
        [cb, ..] => {
            no_label(sink, cb);
            let mut seen = std::collections::HashSet::new();
            for item in &cb.items {
                match &item.kind {
                    ItemKind::Comment(_) => {}
                    ItemKind::Block(x) => sink.push(Diagnostic::error(
                        x.kind.span,
                        "unexpected block in `columns`",
                        "expected `name = role` lines",
                    )),
                    ItemKind::Assignment(a) => {
                        if !seen.insert(a.key.name.clone()) {
                            sink.push(Diagnostic::error(
                                a.key.span,
                                format!("column `{}` listed twice", a.key.name),
                                "listed again here",
                            ));
                            continue;
                        }
                        if a.key.name == label {
                            sink.push(Diagnostic::error(
                                a.key.span,
                                format!("`{label}` is the label column"),
                                "the label cannot also be a feature",
                            ));
                            continue;
                        }
                        if let Some(role) = column_role(sink, &a.value) {
                            columns.push(Column {
                                name: a.key.name.clone(),
                                role,
                            });
                        }
                    }
                }
            }
            if columns.is_empty() && !sink.diags.iter().any(|d| d.is_error()) {
                sink.push(Diagnostic::error(
                    cb.header,
                    "no feature columns",
                    "list at least one column",
                ));
            }
        }
    }
    CsvSpec {
        label,
        delimiter,
        columns,
        unlisted,
    }
}

fn column_role(sink: &mut Sink, v: &Value) -> Option<ColumnRole> {
    const ROLES: &[&str] = &["categorical", "numeric", "multi"];
    match &v.kind {
        ValueKind::Call(c) if c.name.name == "multi" => {
            let args = named_args(sink, c, &["sep"]);
            let sep = match args.get("sep") {
                Some(s) => match &s.kind {
                    ValueKind::Str(x) if x.chars().count() == 1 => x.chars().next()?,
                    _ => {
                        sink.push(Diagnostic::error(
                            s.span,
                            "invalid separator",
                            "expected one character, e.g. \"|\"",
                        ));
                        return None;
                    }
                },
                None => '|',
            };
            Some(ColumnRole::Multi { sep })
        }
        ValueKind::Ident(s) if s == "multi" => Some(ColumnRole::Multi { sep: '|' }),
        _ => match sink.ok(choice(v, ROLES, "column role"))? {
            "categorical" => Some(ColumnRole::Categorical),
            _ => Some(ColumnRole::Numeric),
        },
    }
}

const MODEL_KEYS: &[&str] = &[
    "base",
    "embedding_dim",
    "mlp",
    "batch_size",
    "optimizer",
    "epochs",
    "patience",
    "dropout",
    "batch_norm",
    "init_std",
    "calibrate",
];

fn model_block(sink: &mut Sink, b: &Block) -> ModelSpec {
    let t = Table::new(sink, "model".into(), b.header, &b.items, MODEL_KEYS, &[]);
    let names: Vec<&str> = BaseModel::ALL.iter().map(|m| m.name()).collect();
    let base = t
        .choice(sink, "base", &names)
        .and_then(|n| BaseModel::ALL.into_iter().find(|m| m.name() == n))
        .unwrap_or(BaseModel::Deepfm);
    let mlp = t.int_list(sink, "mlp", &[400, 400, 400], 1);
    if !base.has_mlp() {
        if let Some(a) = t.get("mlp") {
            sink.push(
                Diagnostic::warning(
                    a.key.span,
                    format!("`mlp` is unused by `{}`", base.name()),
                    "this base model has no MLP",
                )
                .with_help("use `base = deepfm` or `base = ipnn` for a model with an MLP"),
            );
        }
    }
    ModelSpec {
        base,
        embedding_dim: t.count(sink, "embedding_dim", 10, 1),
        mlp,
        batch_size: t.count(sink, "batch_size", 2000, 1),
        optimizer: adam(sink, &t, "optimizer", Adam::default()),
        epochs: t.count(sink, "epochs", 10, 1),
        patience: t.count(sink, "patience", 2, 1),
        dropout: t.num(sink, "dropout", 0.0, Range::RATE),
        batch_norm: t.boolean(sink, "batch_norm", false),
        init_std: t
            .get("init_std")
            .map(|_| t.num(sink, "init_std", 0.0, Range::POSITIVE)),
        calibrate: t.boolean(sink, "calibrate", true),
    }
}

fn optimizer_call<'v>(sink: &mut Sink, v: &'v Value, want: &str) -> Option<&'v Call> {
    match &v.kind {
        ValueKind::Call(c) if c.name.name == want => Some(c),
        ValueKind::Call(c) => {
            sink.push(
                Diagnostic::error(c.name.span, format!("expected `{want}(…)`, found `{}(…)`", c.name.name), format!("this is trained by {want}"))
                    .with_help(if want == "grda" {
                        "gates are trained by GRDA, which drives useless ones to exactly zero; the other weights' Adam is `weights = adam(…)`"
                    } else {
                        "these weights are trained by Adam"
                    }),
            );
            None
        }
        ValueKind::Ident(s) if s == want => None,
        k => {
            sink.push(expected(v, &format!("`{want}(…)`"), k));
            None
        }
    }
}

fn adam(sink: &mut Sink, t: &Table, key: &str, default: Adam) -> Adam {
    let Some(v) = t.value(key) else {
        return default;
    };
    let Some(c) = optimizer_call(sink, v, "adam") else {
        return default;
    };
    let args = named_args(sink, c, &["lr", "l2"]);
    Adam {
        lr: args
            .get("lr")
            .and_then(|v| sink.ok(num_in(v, Range::POSITIVE)))
            .unwrap_or(default.lr),
        l2: args
            .get("l2")
            .and_then(|v| sink.ok(num_in(v, Range::NON_NEGATIVE)))
            .unwrap_or(default.l2),
    }
}

fn grda(sink: &mut Sink, t: &Table, key: &str, default: Grda) -> Grda {
    let Some(v) = t.value(key) else {
        return default;
    };
    let Some(c) = optimizer_call(sink, v, "grda") else {
        return default;
    };
    let args = named_args(sink, c, &["lr", "c", "mu"]);
    let (c, auto) = match args.get("c") {
        None => (default.c, default.auto),
        Some(v) if matches!(&v.kind, ValueKind::Ident(s) if s == "auto") => (0.0, true),
        Some(v) => (
            sink.ok(num_in(v, Range::NON_NEGATIVE)).unwrap_or(default.c),
            false,
        ),
    };
    Grda {
        c,
        auto,
        lr: args
            .get("lr")
            .and_then(|v| sink.ok(num_in(v, Range::POSITIVE)))
            .unwrap_or(default.lr),
        mu: args
            .get("mu")
            .and_then(|v| sink.ok(num_in(v, Range::OPEN_UNIT)))
            .unwrap_or(default.mu),
    }
}

/// A search's epochs at most: it stops early, as the model does, after the model's `patience`
/// epochs without a better validation AUC. One epoch (the paper's, on 45M rows) left the gates
/// of a small dataset where they started (Frappe: 68 steps).
pub const SEARCH_EPOCHS: usize = 10;

/// GRDA on the interaction gates: the paper's μ, with `c = auto`. γ = 1: at the paper's 0.1 the
/// gates of a few thousand steps hardly leave their initial value and their order says nothing
/// (Frappe: every |α| within 0.47–0.69 after 10 epochs).
pub const GRDA_INTERACTIONS: Grda = Grda {
    lr: 1.0,
    c: 0.0,
    mu: 0.9,
    auto: true,
};
/// GRDA on the dimension gates: the paper's EDS μ, with `c = auto` and γ = 1 (as for α).
pub const GRDA_DIMS: Grda = Grda {
    lr: 1.0,
    c: 0.0,
    mu: 0.51,
    auto: true,
};

const SEARCH_KEYS: &[&str] = &[
    "max_order",
    "functions",
    "embeddings",
    "top_k",
    "optimizer",
    "weights",
    "epochs",
    "alpha_init",
    "bn_eps",
];

fn interaction_block(
    sink: &mut Sink,
    b: &Block,
    fields: Option<usize>,
    data: &DataSpec,
) -> InteractionSearch {
    let t = Table::new(
        sink,
        "search interactions".into(),
        b.header,
        &b.items,
        SEARCH_KEYS,
        &["order"],
    );
    let max_order = t.int(sink, "max_order", 2, 2, 4) as usize;
    let mut functions = Vec::new();
    match t.value("functions") {
        None => functions = InteractionFn::ALL.to_vec(),
        Some(v) => match &v.kind {
            ValueKind::List(xs) if xs.is_empty() => {
                sink.push(
                    Diagnostic::error(v.span, "no interaction functions", "list at least one")
                        .with_help(
                            "e.g. `functions = [inner, outer, vector_kernel, scalar_kernel]`",
                        ),
                );
            }
            ValueKind::List(xs) => {
                for x in xs {
                    if let Some(f) = sink.ok(choice(x, FUNCTIONS, "interaction function")) {
                        let f = InteractionFn::from_name(f).expect("checked");
                        if functions.contains(&f) {
                            sink.push(Diagnostic::error(
                                x.span,
                                format!("`{f}` listed twice"),
                                "already listed",
                            ));
                        } else {
                            functions.push(f);
                        }
                    }
                }
            }
            k => sink.push(expected(v, "a list like `[inner, outer]`", k)),
        },
    }
    let embeddings = match t
        .choice(sink, "embeddings", &["function_wise", "shared"])
        .as_deref()
    {
        Some("shared") => EmbeddingSharing::Shared,
        _ => EmbeddingSharing::FunctionWise,
    };
    let top_k = t
        .value("top_k")
        .and_then(|v| sink.ok(int_in(v, 1, i64::MAX)))
        .map(|k| k as usize);
    if let (Some(k), Some(n), Some(a)) = (top_k, fields, t.get("top_k")) {
        if k > n * (n - 1) / 2 {
            sink.push(Diagnostic::warning(
                a.value.span,
                format!(
                    "top_k = {k} exceeds the {} pairs of {n} fields",
                    n * (n - 1) / 2
                ),
                "every kept interaction seeds the next order",
            ));
        }
    }
    let epochs = t.count(sink, "epochs", SEARCH_EPOCHS, 1);
    let optimizer = grda(sink, &t, "optimizer", GRDA_INTERACTIONS);
    let weights = adam(sink, &t, "weights", Adam::default());
    let mut orders: Vec<OrderSearch> = (2..=max_order)
        .map(|order| OrderSearch {
            order,
            epochs,
            optimizer,
            weights,
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for ob in t.blocks() {
        let n = match &ob.label {
            Some(Label::Int(n, sp)) => {
                if !(2..=max_order as u64).contains(n) {
                    sink.push(Diagnostic::error(
                        *sp,
                        format!("order {n} is not searched"),
                        format!("max_order = {max_order}: orders 2..={max_order}"),
                    ));
                    continue;
                }
                *n as usize
            }
            _ => {
                sink.push(Diagnostic::error(
                    ob.header,
                    "`order` needs its number",
                    "expected e.g. `order 3 {`",
                ));
                continue;
            }
        };
        if !seen.insert(n) {
            sink.push(Diagnostic::error(
                ob.header,
                format!("duplicate block `order {n}`"),
                "given a second time here",
            ));
            continue;
        }
        let ot = Table::new(
            sink,
            format!("order {n}"),
            ob.header,
            &ob.items,
            &["epochs", "optimizer", "weights"],
            &[],
        );
        let o = &mut orders[n - 2];
        o.epochs = ot.count(sink, "epochs", epochs, 1);
        o.optimizer = grda(sink, &ot, "optimizer", optimizer);
        o.weights = adam(sink, &ot, "weights", weights);
    }
    if let DataSource::Synthetic(s) = &data.source {
        if let Some(p) = s.planted.iter().find(|p| p.fields.len() > max_order) {
            let sp = t.get("max_order").map_or(b.header, |a| a.value.span);
            sink.push(Diagnostic::warning(
                sp,
                format!(
                    "an order-{} interaction is planted but max_order = {max_order}",
                    p.fields.len()
                ),
                "the search will not look for it",
            ));
        }
    }
    InteractionSearch {
        max_order,
        functions,
        embeddings,
        top_k,
        alpha_init: t.num(sink, "alpha_init", 0.6, Range::POSITIVE),
        bn_eps: t.num(sink, "bn_eps", 1e-10, Range::POSITIVE),
        orders,
    }
}

fn dims_block(sink: &mut Sink, b: &Block) -> DimSearch {
    let keys = [
        "optimizer",
        "weights",
        "epochs",
        "beta_init",
        "bn_eps",
        "alpha",
    ];
    let t = Table::new(
        sink,
        "search embedding_dims".into(),
        b.header,
        &b.items,
        &keys,
        &[],
    );
    DimSearch {
        optimizer: grda(sink, &t, "optimizer", GRDA_DIMS),
        weights: adam(sink, &t, "weights", Adam::default()),
        epochs: t.count(sink, "epochs", SEARCH_EPOCHS, 1),
        beta_init: t.num(sink, "beta_init", 0.6, Range::POSITIVE),
        bn_eps: t.num(sink, "bn_eps", 1e-10, Range::POSITIVE),
        alpha: match t.choice(sink, "alpha", &["frozen", "adam"]).as_deref() {
            Some("adam") => AlphaDuringEds::Adam,
            _ => AlphaDuringEds::Frozen,
        },
    }
}

/// The re-train defaults to the base model's MLP and budget: the comparison with the base is
/// then about the architecture alone.
fn retrain_block(sink: &mut Sink, b: &Block, model: &ModelSpec) -> Retrain {
    let t = Table::new(
        sink,
        "retrain".into(),
        b.header,
        &b.items,
        &["optimizer", "mlp", "input", "epochs", "patience"],
        &[],
    );
    let names: Vec<&str> = RetrainInput::ALL.iter().map(|(n, _)| *n).collect();
    Retrain {
        optimizer: adam(sink, &t, "optimizer", model.optimizer),
        mlp: t.int_list(sink, "mlp", &model.mlp, 1),
        input: t
            .choice(sink, "input", &names)
            .and_then(|n| RetrainInput::ALL.iter().find(|(m, _)| *m == n))
            .map_or(RetrainInput::default(), |(_, i)| *i),
        epochs: t.count(sink, "epochs", model.epochs, 1),
        patience: t.count(sink, "patience", model.patience, 1),
    }
}
