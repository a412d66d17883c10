//! Every kind of spec error: the line, column and message it reports.

use aim::spec::{load_source, Severity, Source};

/// (line, column, message) of every diagnostic of `severity`, in source order.
fn diags(text: &str, severity: Severity) -> Vec<(usize, usize, String)> {
    let loaded = load_source(Source::new("t.aim", text));
    let mut out: Vec<_> = loaded
        .diagnostics
        .0
        .iter()
        .filter(|d| d.severity == severity)
        .map(|d| {
            let (l, c) = loaded.source.line_col(d.span.start);
            (l, c, d.message.clone())
        })
        .collect();
    out.sort();
    out
}

fn errors(text: &str) -> Vec<(usize, usize, String)> {
    diags(text, Severity::Error)
}

/// The single error of `text`, asserted to be at `line:col` with a message containing `msg`.
#[track_caller]
fn one_error(text: &str, line: usize, col: usize, msg: &str) {
    let e = errors(text);
    assert_eq!(e.len(), 1, "expected one error, got {e:#?}");
    let (l, c, m) = &e[0];
    assert_eq!((*l, *c), (line, col), "position of `{m}`");
    assert!(m.contains(msg), "message `{m}` lacks `{msg}`");
}

/// A valid spec with `extra` spliced into the block `block` (as its last lines).
fn with(block: &str, extra: &str) -> String {
    let mut blocks = vec![
        ("data", "    format = synthetic\n".to_string()),
        ("model", "    base = deepfm\n".to_string()),
        ("search interactions", "    max_order = 2\n".to_string()),
        ("search embedding_dims", "    epochs = 1\n".to_string()),
        ("retrain", "    epochs = 1\n".to_string()),
    ];
    let mut top = String::new();
    if block == "experiment" {
        top = extra.to_string();
    }
    for (name, body) in blocks.iter_mut() {
        if *name == block {
            body.push_str(extra);
        }
    }
    let mut s = String::from("experiment \"t\" {\n  seed = 1\n");
    s.push_str(&top);
    for (name, body) in blocks {
        s.push_str(&format!("  {name} {{\n{body}  }}\n"));
    }
    s.push_str("}\n");
    s
}

#[test]
fn the_base_spec_is_valid() {
    assert_eq!(errors(&with("", "")), vec![]);
}

// Line numbers below: the extra lines of `data` start on line 5, of `model` on 8, of
// `search interactions` on 11, of `search embedding_dims` on 14 and of `retrain` on 17.

#[test]
fn syntax_error_points_at_the_token() {
    one_error(
        "experiment \"x\" {\n  seed = = 2\n}\n",
        2,
        10,
        "syntax error: unexpected `=`",
    );
    let e = load_source(Source::new(
        "t.aim",
        "experiment \"x\" {\n  seed = = 2\n}\n",
    ));
    let d = &e.diagnostics.0[0];
    assert_eq!(d.label, "expected a value");
}

#[test]
fn unclosed_block_says_so() {
    let e = load_source(Source::new("t.aim", "experiment \"x\" {\n  seed = 2\n"));
    let d = &e.diagnostics.0[0];
    assert_eq!(e.source.line_col(d.span.start), (3, 1));
    assert!(
        d.message.contains("unexpected end of file"),
        "{}",
        d.message
    );
    assert!(d.help.as_deref().unwrap().contains("closed"));
}

#[test]
fn unterminated_string() {
    one_error(
        "experiment \"x\" {\n  output = \"a\n}\n",
        2,
        12,
        "unterminated string",
    );
}

#[test]
fn integer_too_large() {
    one_error(
        "experiment \"x\" {\n  seed = 99999999999999999999\n}\n",
        2,
        10,
        "integer too large",
    );
}

#[test]
fn no_experiment() {
    one_error("# nothing\n", 1, 1, "no `experiment` block");
}

#[test]
fn assignment_outside_experiment() {
    let e = errors("seed = 1\nexperiment \"x\" {\n  data {\n    format = synthetic\n  }\n}\n");
    assert_eq!(e[0], (1, 1, "`seed` outside `experiment`".into()));
}

#[test]
fn second_experiment() {
    let text = format!("{}experiment \"y\" {{\n}}\n", with("", ""));
    let e = errors(&text);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].2, "a second `experiment` block");
}

#[test]
fn experiment_without_name() {
    one_error(
        "experiment {\n  data {\n    format = synthetic\n  }\n}\n",
        1,
        1,
        "the experiment has no name",
    );
}

#[test]
fn unknown_key_with_suggestion() {
    let text = with("model", "    embeding_dim = 10\n");
    one_error(&text, 8, 5, "unknown key `embeding_dim` in `model`");
    let l = load_source(Source::new("t.aim", text));
    assert_eq!(
        l.diagnostics.0[0].help.as_deref(),
        Some("did you mean `embedding_dim`?")
    );
}

#[test]
fn unknown_key_without_close_match_lists_the_valid_ones() {
    let l = load_source(Source::new("t.aim", with("retrain", "    zzz = 1\n")));
    let help = l.diagnostics.0[0].help.clone().unwrap();
    assert!(
        help.contains("`optimizer`") && help.contains("`patience`"),
        "{help}"
    );
}

#[test]
fn duplicate_key() {
    one_error(
        &with("model", "    base = fm\n"),
        8,
        5,
        "duplicate key `base` in `model`",
    );
}

#[test]
fn unknown_block() {
    one_error(
        &with("experiment", "  modle {\n  }\n"),
        3,
        3,
        "unknown block `modle` in `experiment`",
    );
}

#[test]
fn duplicate_block() {
    // The second block is the one reported: the first is taken as meant.
    one_error(
        &with("experiment", "  retrain {\n  }\n"),
        17,
        3,
        "duplicate block `retrain`",
    );
}

#[test]
fn unknown_search() {
    let text = with("experiment", "  search interaction {\n  }\n");
    one_error(&text, 3, 10, "unknown search `search interaction`");
    let l = load_source(Source::new("t.aim", text));
    assert_eq!(
        l.diagnostics.0[0].help.as_deref(),
        Some("did you mean `search interactions`?")
    );
}

#[test]
fn missing_format() {
    one_error(
        "experiment \"x\" {\n  data {\n  }\n}\n",
        2,
        3,
        "missing key `format` in `data`",
    );
}

#[test]
fn missing_data_block() {
    one_error(
        "experiment \"x\" {\n  seed = 1\n}\n",
        1,
        1,
        "missing block `data`",
    );
}

#[test]
fn missing_train_file() {
    one_error(
        "experiment \"x\" {\n  data {\n    format = libfm\n  }\n}\n",
        2,
        3,
        "missing key `train` in `data`",
    );
}

#[test]
fn wrong_type() {
    one_error(
        &with("model", "    embedding_dim = \"ten\"\n"),
        8,
        21,
        "expected an integer, found a string",
    );
}

#[test]
fn float_where_integer() {
    let text = with("model", "    embedding_dim = 10.0\n");
    one_error(&text, 8, 21, "expected an integer, found a number");
    let l = load_source(Source::new("t.aim", text));
    assert!(l.diagnostics.0[0].help.as_deref().unwrap().contains("`10`"));
}

#[test]
fn ranges() {
    one_error(
        &with("", "").replace("max_order = 2", "max_order = 5"),
        10,
        17,
        "5 is out of range",
    );
    one_error(
        &with("model", "    embedding_dim = 0\n"),
        8,
        21,
        "0 is out of range",
    );
    one_error(
        &with("retrain", "    optimizer = adam(lr = 0)\n"),
        17,
        27,
        "0 is out of range",
    );
    one_error(
        &with("search embedding_dims", "    optimizer = grda(c = -0.1)\n"),
        14,
        26,
        "-0.1 is out of range",
    );
    one_error(
        &with("search embedding_dims", "    optimizer = grda(mu = 1.0)\n"),
        14,
        27,
        "1.0 is out of range",
    );
    one_error(
        &with("data", "    min_count = 0\n"),
        5,
        17,
        "0 is out of range",
    );
    one_error(
        &with("model", "    dropout = 1\n"),
        8,
        15,
        "1 is out of range",
    );
}

#[test]
fn range_labels_say_what_is_valid() {
    let l = load_source(Source::new(
        "t.aim",
        with("", "").replace("max_order = 2", "max_order = 5"),
    ));
    assert_eq!(l.diagnostics.0[0].label, "expected an integer in 2..=4");
    let l = load_source(Source::new(
        "t.aim",
        with("search embedding_dims", "    optimizer = grda(mu = 0)\n"),
    ));
    assert_eq!(l.diagnostics.0[0].label, "expected a number in (0, 1)");
}

#[test]
fn split_must_sum_to_one() {
    one_error(
        &with("data", "    split = [0.8, 0.1, 0.2]\n"),
        5,
        13,
        "`split` sums to 1.1",
    );
}

#[test]
fn split_fractions_in_open_unit_interval() {
    one_error(
        &with("data", "    split = [1.0, 0.0, 0.0]\n"),
        5,
        14,
        "1.0 is out of range",
    );
}

#[test]
fn split_needs_three() {
    one_error(
        &with("data", "    split = [0.5, 0.5]\n"),
        5,
        13,
        "`split` has 2 fractions",
    );
}

#[test]
fn split_with_three_files() {
    let text = "experiment \"x\" {\n  data {\n    format = libfm\n    train = \"a\"\n    valid = \"b\"\n    test = \"c\"\n    split = [0.8, 0.1, 0.1]\n  }\n}\n";
    one_error(text, 7, 13, "`split` with three files");
}

#[test]
fn unknown_function() {
    let text = with("search interactions", "    functions = [inner, outr]\n");
    one_error(&text, 11, 25, "unknown interaction function `outr`");
    let l = load_source(Source::new("t.aim", text));
    assert_eq!(
        l.diagnostics.0[0].help.as_deref(),
        Some("did you mean `outer`?")
    );
}

#[test]
fn duplicate_function() {
    one_error(
        &with("search interactions", "    functions = [inner, inner]\n"),
        11,
        25,
        "`inner` listed twice",
    );
}

#[test]
fn empty_function_list() {
    one_error(
        &with("search interactions", "    functions = []\n"),
        11,
        17,
        "no interaction functions",
    );
}

#[test]
fn quoted_choice_gets_a_hint() {
    let text = with("model", "    dropout = 0.1\n    batch_norm = true\n")
        .replace("base = deepfm", "base = \"fm\"");
    let e = errors(&text);
    assert_eq!(
        e,
        vec![(7, 12, "expected a bare word, found a string".into())]
    );
}

#[test]
fn wrong_optimizer() {
    one_error(
        &with("search interactions", "    optimizer = adam(lr = 0.1)\n"),
        11,
        17,
        "expected `grda(…)`, found `adam(…)`",
    );
}

#[test]
fn unknown_optimizer_argument() {
    let text = with(
        "search interactions",
        "    optimizer = grda(lr = 0.1, cc = 0.1)\n",
    );
    one_error(&text, 11, 32, "unknown argument `cc` of `grda`");
}

#[test]
fn positional_optimizer_argument() {
    one_error(
        &with("retrain", "    optimizer = adam(0.1)\n"),
        17,
        22,
        "`adam` takes only named arguments",
    );
}

#[test]
fn duplicate_argument() {
    one_error(
        &with("retrain", "    optimizer = adam(lr = 0.1, lr = 0.2)\n"),
        17,
        32,
        "argument `lr` given twice",
    );
}

#[test]
fn file_keys_with_synthetic() {
    one_error(
        &with("data", "    train = \"a.csv\"\n"),
        5,
        5,
        "`train` does not apply here",
    );
}

#[test]
fn csv_keys_without_csv() {
    let text = "experiment \"x\" {\n  data {\n    format = libfm\n    train = \"a\"\n    label = \"y\"\n  }\n}\n";
    one_error(text, 5, 5, "`label` does not apply here");
}

#[test]
fn synthetic_keys_without_synthetic() {
    let text = "experiment \"x\" {\n  data {\n    format = libfm\n    train = \"a\"\n    rows = 10\n  }\n}\n";
    one_error(text, 5, 5, "`rows` does not apply here");
}

#[test]
fn planted_field_out_of_range() {
    one_error(
        &with("data", "    fields = 4\n    planted = [inner(f0, f4)]\n"),
        6,
        26,
        "field `f4` does not exist",
    );
}

#[test]
fn planted_field_twice() {
    one_error(
        &with("data", "    planted = [inner(f1, f1)]\n"),
        5,
        26,
        "field `f1` appears twice",
    );
}

#[test]
fn planted_arity() {
    one_error(
        &with("data", "    planted = [inner(f1)]\n"),
        5,
        16,
        "a planted interaction of 1 fields",
    );
}

#[test]
fn planted_unknown_function() {
    one_error(
        &with("data", "    planted = [iner(f1, f2)]\n"),
        5,
        16,
        "unknown interaction function `iner`",
    );
}

#[test]
fn planted_twice() {
    one_error(
        &with("data", "    planted = [inner(f1, f2), outer(f2, f1)]\n"),
        5,
        31,
        "the same fields are planted twice",
    );
}

fn csv(columns: &str) -> String {
    format!("experiment \"x\" {{\n  data {{\n    format = csv\n    train = \"a.csv\"\n    label = \"y\"\n    columns {{\n{columns}    }}\n  }}\n}}\n")
}

#[test]
fn csv_is_valid() {
    assert_eq!(
        errors(&csv(
            "      a = numeric\n      \"b-c\" = categorical\n      d = multi(sep = \";\")\n"
        )),
        vec![]
    );
}

#[test]
fn csv_label_as_feature() {
    one_error(&csv("      y = numeric\n"), 7, 7, "`y` is the label column");
}

#[test]
fn csv_duplicate_column() {
    one_error(
        &csv("      a = numeric\n      a = categorical\n"),
        8,
        7,
        "column `a` listed twice",
    );
}

#[test]
fn csv_unknown_role() {
    one_error(
        &csv("      a = numerc\n"),
        7,
        11,
        "unknown column role `numerc`",
    );
}

#[test]
fn csv_bad_separator() {
    one_error(
        &csv("      a = multi(sep = \"ab\")\n"),
        7,
        23,
        "invalid separator",
    );
}

#[test]
fn csv_needs_columns() {
    one_error(
        "experiment \"x\" {\n  data {\n    format = csv\n    train = \"a.csv\"\n    label = \"y\"\n  }\n}\n",
        2,
        3,
        "missing key `columns` in `data`",
    );
}

#[test]
fn order_blocks() {
    one_error(
        &with("search interactions", "    order 3 {\n    }\n"),
        11,
        11,
        "order 3 is not searched",
    );
    let text = with("search interactions", "    order {\n    }\n");
    one_error(&text, 11, 5, "`order` needs its number");
    let text = with(
        "search interactions",
        "    max_order = 3\n    order 3 {\n    }\n    order 3 {\n    }\n",
    )
    .replace("    max_order = 2\n", "");
    one_error(&text, 13, 5, "duplicate block `order 3`");
}

#[test]
fn every_error_is_reported() {
    let text = with(
        "model",
        "    embeding_dim = 10\n    batch_size = 0\n    mlp = [400, 0]\n",
    );
    let e = errors(&text);
    assert_eq!(
        e,
        vec![
            (8, 5, "unknown key `embeding_dim` in `model`".to_string()),
            (9, 18, "0 is out of range".to_string()),
            (10, 17, "0 is out of range".to_string()),
        ]
    );
}

#[test]
fn warnings_do_not_invalidate() {
    let text = with("model", "    mlp = [10]\n").replace("base = deepfm", "base = fm");
    assert_eq!(errors(&text), vec![]);
    let w = diags(&text, Severity::Warning);
    assert_eq!(w, vec![(8, 5, "`mlp` is unused by `fm`".into())]);
    assert!(load_source(Source::new("t.aim", text)).spec.is_some());
}

#[test]
fn planted_order_above_max_order_warns() {
    let text = with("data", "    planted = [inner(f0, f1, f2)]\n");
    let w = diags(&text, Severity::Warning);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].2
            .contains("order-3 interaction is planted but max_order = 2"),
        "{w:?}"
    );
}

#[test]
fn rendering_is_rustc_like() {
    let l = load_source(Source::new(
        "specs/x.aim",
        with("model", "    embeding_dim = 10\n"),
    ));
    let r = l.diagnostics.render(&l.source);
    let expected = "error: unknown key `embeding_dim` in `model`
 --> specs/x.aim:8:5
  |
8 |     embeding_dim = 10
  |     ^^^^^^^^^^^^ not a key of `model`
  |
  = help: did you mean `embedding_dim`?

error: specs/x.aim is invalid: 1 error
";
    assert_eq!(r, expected);
}

#[test]
fn defaults_need_no_tuning() {
    let l = load_source(Source::new("t.aim", with("", "")));
    let s = l.spec.unwrap();
    assert_eq!(s.model.batch_size, 2000);
    assert_eq!(s.model.optimizer.lr, 1e-3);
    let r = s.retrain.unwrap();
    assert_eq!(r.mlp, s.model.mlp, "the re-train's MLP is the base model's");
    assert_eq!(r.patience, s.model.patience);
    assert_eq!(r.input, aim::spec::RetrainInput::Embeddings);
    let si = s.search_interactions.unwrap();
    let g = si.orders[0].optimizer;
    assert!(g.auto, "c = auto");
    assert_eq!((g.lr, g.mu), (1.0, 0.9));
    assert_eq!(si.orders[0].epochs, 10);
    assert_eq!(
        si.top_k, None,
        "top_k defaults to floor(fields/2), decided by the plan"
    );
    let sd = s.search_dims.unwrap();
    assert!(sd.optimizer.auto);
    assert_eq!((sd.optimizer.lr, sd.optimizer.mu), (1.0, 0.51));
}

#[test]
fn c_is_auto_or_a_number() {
    for (c, auto) in [("auto", true), ("0.05", false)] {
        let text = format!("    optimizer = grda(lr = 1.0, c = {c}, mu = 0.6)\n");
        let l = load_source(Source::new("t.aim", with("search interactions", &text)));
        let g = l.spec.unwrap().search_interactions.unwrap().orders[0].optimizer;
        assert_eq!(g.auto, auto, "{c}");
        if !auto {
            assert_eq!(g.c, 0.05);
        }
    }
}

#[test]
fn relative_paths_resolve_against_the_spec_folder() {
    let text = "experiment \"x\" {\n  data {\n    format = libfm\n    train = \"../d/a.libfm\"\n  }\n  output = \"out/a.ron\"\n}\n";
    let l = load_source(Source::new("specs/x.aim", text));
    let s = l.spec.unwrap();
    match s.data.source {
        aim::spec::DataSource::Files { train, .. } => {
            assert_eq!(train, std::path::Path::new("specs/../d/a.libfm"))
        }
        _ => panic!("files expected"),
    }
    assert_eq!(s.output, std::path::Path::new("specs/out/a.ron"));
}

#[test]
fn init_std_is_optional_and_positive() {
    let s = load_source(Source::new("t.aim", with("", "")))
        .spec
        .unwrap();
    assert_eq!(s.model.init_std, None, "the base model's default");
    assert_eq!(
        aim::model::default_init_std(aim::spec::BaseModel::Ipnn),
        0.01
    );
    assert_eq!(
        aim::model::default_init_std(aim::spec::BaseModel::Deepfm),
        0.03
    );
    let s = load_source(Source::new(
        "t.aim",
        with("model", "    init_std = 0.002\n"),
    ))
    .spec
    .unwrap();
    assert_eq!(s.model.init_std, Some(0.002));
    assert_eq!(
        aim::model::search_init(&s.model),
        aim::nn::embedding::Init::Normal(0.002),
        "an explicit init_std reaches the search too"
    );
    let text = with("model", "    init_std = 0\n");
    let line = text.lines().position(|l| l.contains("init_std")).unwrap() + 1;
    one_error(&text, line, 16, "0 is out of range");
}

#[test]
fn planted_rank_out_of_range_or_not_an_integer() {
    one_error(
        &with("data", "    planted = [inner(f0, f1, rank = 0)]\n"),
        5,
        37,
        "0 is out of range",
    );
    one_error(
        &with("data", "    planted = [inner(f0, f1, rank = 2.5)]\n"),
        5,
        37,
        "an integer",
    );
    assert!(errors(&with("data", "    planted = [inner(f0, f1, rank = 64)]\n")).is_empty());
}
