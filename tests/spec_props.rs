//! Properties of the spec language, over many random inputs:
//! (a) any syntax tree → `fmt` → parse gives the same tree, and `fmt` is idempotent;
//!     random *valid* specs check, and their formatted text checks to the same spec;
//! (b) random byte edits and truncations of valid specs give diagnostics with spans inside the
//!     text, never a panic.

use aim::spec::ast::*;
use aim::spec::{fmt, load_source, parse, Source};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Random syntax trees.

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,7}"
        .prop_filter("booleans are not names", |s| s != "true" && s != "false")
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{0,10}", "[aé∑\t\n\"\\\\ #{}]{0,6}"]
}

fn sp() -> Span {
    Span::default()
}

fn id(name: String) -> Ident {
    Ident { name, span: sp() }
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(ValueKind::Str),
        any::<i64>().prop_map(ValueKind::Int),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(ValueKind::Float),
        any::<bool>().prop_map(ValueKind::Bool),
        ident().prop_map(ValueKind::Ident),
    ]
    .prop_map(|kind| Value { kind, span: sp() });
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|xs| Value {
                kind: ValueKind::List(xs),
                span: sp()
            }),
            (
                ident(),
                prop::collection::vec((prop::option::of(ident()), inner), 0..4)
            )
                .prop_map(|(name, args)| Value {
                    kind: ValueKind::Call(Call {
                        name: id(name),
                        args: args
                            .into_iter()
                            .map(|(n, value)| Argument {
                                name: n.map(id),
                                value
                            })
                            .collect(),
                    }),
                    span: sp(),
                }),
        ]
    })
}

fn comment(trailing: bool) -> impl Strategy<Value = Item> {
    "[ -~]{0,12}".prop_map(move |t| Item {
        blank_before: false,
        kind: ItemKind::Comment(Comment {
            text: t.trim_end().to_string(),
            trailing,
            span: sp(),
        }),
    })
}

fn label() -> impl Strategy<Value = Option<Label>> {
    prop::option::of(prop_oneof![
        ident().prop_map(|i| Label::Ident(id(i))),
        any::<u64>().prop_map(|n| Label::Int(n, sp())),
    ])
}

/// An item list: entries, each maybe followed by a trailing comment, with blank lines between.
fn items(depth: u32) -> BoxedStrategy<Vec<Item>> {
    let assignment = (prop_oneof![ident(), "[ -~]{1,8}"], value()).prop_map(|(k, v)| Item {
        blank_before: false,
        kind: ItemKind::Assignment(Assignment {
            key: id(k),
            value: v,
            span: sp(),
        }),
    });
    let entry: BoxedStrategy<Item> = if depth == 0 {
        prop_oneof![3 => assignment, 1 => comment(false)].boxed()
    } else {
        let block = (ident(), label(), prop::option::of(text()), items(depth - 1)).prop_map(
            |(kind, label, name, items)| Item {
                blank_before: false,
                kind: ItemKind::Block(Block {
                    kind: id(kind),
                    label,
                    name: name.map(|n| (n, sp())),
                    items,
                    header: sp(),
                    span: sp(),
                }),
            },
        );
        prop_oneof![3 => assignment, 1 => comment(false), 2 => block].boxed()
    };
    prop::collection::vec(
        (entry, any::<bool>(), prop::option::of(comment(true))),
        0..5,
    )
    .prop_map(|entries| {
        let mut out: Vec<Item> = Vec::new();
        for (mut e, blank, trailing) in entries {
            e.blank_before = blank && !out.is_empty();
            let is_code = !matches!(e.kind, ItemKind::Comment(_));
            out.push(e);
            if let (true, Some(t)) = (is_code, trailing) {
                out.push(t);
            }
        }
        out
    })
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn fmt_then_parse_gives_the_same_tree(items in items(2)) {
        let doc = Document { items };
        let text = fmt::format(&doc);
        let back = parse::parse(&text).map_err(|d| TestCaseError::fail(format!("{d:?}\n{text}")))?;
        prop_assert_eq!(&back, &doc, "text:\n{}", text);
        prop_assert_eq!(fmt::format(&back), text);
    }
}

// ---------------------------------------------------------------------------------------------
// Random valid specs.

fn float_in(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    (lo..hi)
        .prop_map(|x| (x * 1e4).round() / 1e4)
        .prop_filter("in range", move |x| *x > lo && *x < hi)
}

fn grda() -> impl Strategy<Value = String> {
    (float_in(0.0, 2.0), float_in(0.0, 0.5), float_in(0.0, 1.0))
        .prop_map(|(lr, c, mu)| format!("grda(lr = {lr:?}, c = {c:?}, mu = {mu:?})"))
}

fn adam() -> impl Strategy<Value = String> {
    float_in(0.0, 0.1).prop_map(|lr| format!("adam(lr = {lr:?})"))
}

fn data_block() -> impl Strategy<Value = String> {
    let synthetic = (2usize..30, 2usize..200, 100usize..1_000_000, 1usize..8, any::<u64>())
        .prop_map(|(fields, vocab, rows, rank, seed)| {
            // A few planted interactions on distinct field tuples.
            let fns = ["inner", "outer", "vector_kernel", "scalar_kernel"];
            let mut planted = Vec::new();
            for k in 0..(seed % 4) as usize {
                let a = k % fields;
                let b = (a + 1 + k) % fields;
                if a != b && !planted.iter().any(|p: &(usize, usize, &str)| (p.0.min(p.1), p.0.max(p.1)) == (a.min(b), a.max(b))) {
                    planted.push((a, b, fns[k % 4]));
                }
            }
            let planted: Vec<String> = planted
                .iter()
                .map(|(a, b, f)| format!("{f}(f{a}, f{b}, strength = 1.5)"))
                .collect();
            format!(
                "  data {{\n    format = synthetic\n    rows = {rows}\n    fields = {fields}\n    vocab = {vocab}\n    rank = {rank}\n    planted = [{}]\n  }}\n",
                planted.join(", ")
            )
        });
    let files = (prop::sample::select(vec!["libfm", "criteo", "avazu"]), 1u32..20, any::<bool>())
        .prop_map(|(format, min_count, shuffle)| {
            format!(
                "  data {{\n    format = {format}\n    train = \"data/train.txt\"\n    split = [0.7, 0.2, 0.1]\n    shuffle = {shuffle}\n    min_count = {min_count}\n    on_error = skip\n  }}\n"
            )
        });
    let csv = prop::collection::vec(prop::sample::select(vec!["numeric", "categorical", "multi(sep = \";\")"]), 1..6)
        .prop_map(|roles| {
            let cols: String = roles.iter().enumerate().map(|(i, r)| format!("      \"col-{i}\" = {r}\n")).collect();
            format!(
                "  data {{\n    format = csv\n    train = \"a.csv\"\n    valid = \"b.csv\"\n    test = \"c.csv\"\n    label = \"y\"\n    columns {{\n{cols}    }}\n  }}\n"
            )
        });
    prop_oneof![synthetic, files, csv]
}

fn valid_spec() -> impl Strategy<Value = String> {
    let model = (
        prop::sample::select(vec!["fm", "fwfm", "deepfm", "ipnn"]),
        1usize..64,
        prop::collection::vec(1usize..1000, 0..4),
        1usize..5000,
        adam(),
    )
        .prop_map(|(base, d, mlp, batch, opt)| {
            let mlp = if matches!(base, "deepfm" | "ipnn") { format!("    mlp = {mlp:?}\n") } else { String::new() };
            format!("  model {{\n    base = {base}\n    embedding_dim = {d}\n{mlp}    batch_size = {batch}\n    optimizer = {opt}\n  }}\n")
        });
    let search = prop::option::of((
        2usize..=4,
        prop::sample::subsequence(vec!["inner", "outer", "vector_kernel", "scalar_kernel"], 1..=4),
        prop::sample::select(vec!["function_wise", "shared"]),
        grda(),
        adam(),
        1usize..5,
        prop::option::of(grda()),
    ))
    .prop_map(|s| match s {
        None => String::new(),
        Some((max_order, fns, emb, g, w, epochs, order_g)) => {
            let order = match order_g {
                Some(og) if max_order >= 3 => format!("\n    order 3 {{\n      epochs = {}\n      optimizer = {og}\n    }}\n", epochs + 1),
                _ => String::new(),
            };
            format!(
                "  search interactions {{\n    max_order = {max_order}\n    functions = [{}]\n    embeddings = {emb}\n    optimizer = {g}\n    weights = {w}\n    epochs = {epochs}\n{order}  }}\n",
                fns.join(", ")
            )
        }
    });
    let dims =
        prop::option::of((grda(), prop::sample::select(vec!["frozen", "adam"]))).prop_map(|d| {
            match d {
                None => String::new(),
                Some((g, a)) => format!(
                    "  search embedding_dims {{\n    optimizer = {g}\n    alpha = {a}\n  }}\n"
                ),
            }
        });
    let retrain = prop::option::of((
        adam(),
        prop::collection::vec(1usize..1000, 1..6),
        1usize..30,
    ))
    .prop_map(|r| match r {
        None => String::new(),
        Some((o, mlp, e)) => format!(
            "  retrain {{\n    optimizer = {o}\n    mlp = {mlp:?}\n    epochs = {e}\n  }}\n"
        ),
    });
    ("[a-z][a-z0-9-]{0,10}", any::<u32>(), data_block(), model, search, dims, retrain).prop_map(
        |(name, seed, data, model, search, dims, retrain)| {
            format!("# generated\nexperiment \"{name}\" {{\n  seed = {seed}  # the seed\n\n{data}\n{model}\n{search}{dims}{retrain}}}\n")
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn valid_specs_check_and_survive_fmt(text in valid_spec()) {
        let a = load_source(Source::new("specs/t.aim", text.clone()));
        prop_assert!(a.spec.is_some(), "{}\n{}", a.diagnostics.render(&a.source), text);
        let doc = parse::parse(&text).expect("valid");
        let formatted = fmt::format(&doc);
        prop_assert_eq!(&parse::parse(&formatted).expect("formatted parses"), &doc);
        let b = load_source(Source::new("specs/t.aim", formatted));
        prop_assert_eq!(a.spec, b.spec);
    }
}

// ---------------------------------------------------------------------------------------------
// Random damage.

#[derive(Debug, Clone)]
enum Edit {
    Truncate(usize),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Replace(usize, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    let interesting =
        prop::sample::select(b"{}[]()=,\"#\n\\-.e_ 0123456789abcxyz\xff\xc3".to_vec());
    prop_oneof![
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1usize..20).prop_map(|(a, n)| Edit::Delete(a, n)),
        (
            any::<usize>(),
            prop::collection::vec(interesting.clone(), 1..6)
        )
            .prop_map(|(a, b)| Edit::Insert(a, b)),
        (any::<usize>(), interesting).prop_map(|(a, b)| Edit::Replace(a, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = bytes.len().max(1);
        match e {
            Edit::Truncate(a) => bytes.truncate(a % n),
            Edit::Delete(a, k) => {
                let a = a % n;
                let b = (a + k).min(bytes.len());
                if a < b {
                    bytes.drain(a..b);
                }
            }
            Edit::Insert(a, ins) => {
                let a = a % (bytes.len() + 1);
                bytes.splice(a..a, ins.iter().copied());
            }
            Edit::Replace(a, b) => {
                if !bytes.is_empty() {
                    let a = a % bytes.len();
                    bytes[a] = *b;
                }
            }
        }
    }
    bytes
}

fn corpus() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .expect("specs/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "aim"))
        .map(|e| std::fs::read_to_string(e.path()).expect("readable"))
        .collect();
    out.sort();
    assert!(out.len() >= 5, "specs/ holds the five dataset specs");
    out
}

/// Checks damaged text: it must not panic, and every diagnostic must point inside the text and
/// render. Returns whether the text was UTF-8.
fn survive(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            // Not text: the reader refuses it with a message, never a panic.
            let err = Source::from_bytes("t.aim", e.into_bytes()).expect_err("invalid UTF-8");
            prop_assert!(err.to_string().contains("not UTF-8"));
            return Ok(());
        }
    };
    let loaded = load_source(Source::new("t.aim", text.clone()));
    for d in &loaded.diagnostics.0 {
        prop_assert!(
            d.span.start <= d.span.end && d.span.end <= text.len(),
            "{d:?} outside {} bytes",
            text.len()
        );
        prop_assert!(text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end));
        let r = d.render(&loaded.source);
        prop_assert!(r.contains("t.aim:"));
    }
    prop_assert!(loaded.spec.is_some() || loaded.diagnostics.has_errors());
    if let Ok(doc) = parse::parse(&text) {
        let f = fmt::format(&doc);
        prop_assert_eq!(parse::parse(&f).ok().map(|d| fmt::format(&d)), Some(f));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn damaged_dataset_specs_never_panic(i in 0usize..5, edits in prop::collection::vec(edit(), 1..4)) {
        let specs = corpus();
        let text = &specs[i % specs.len()];
        survive(apply(text.clone().into_bytes(), &edits))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn damaged_random_specs_never_panic(text in valid_spec(), edits in prop::collection::vec(edit(), 1..4)) {
        survive(apply(text.into_bytes(), &edits))?;
    }
}
