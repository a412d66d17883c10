//! `format = parquet` and `aim data --export parquet`: files written by the parquet crate and by
//! pyarrow read as the same rows in CSV would, and every refusal names the file, the row or the
//! column, and what would be valid.

use aim::data::progress::Progress;
use aim::data::{prepare, Dataset};
use aim::spec::{load_source, Source, Spec};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A spec in `dir` with the given `data` block body.
fn spec_in(dir: &Path, data: &str) -> Spec {
    let text = format!("experiment \"t\" {{\n  seed = 7\n  data {{\n{data}\n  }}\n}}\n");
    let l = load_source(Source::new(dir.join("t.aim"), text));
    match l.spec {
        Some(s) => s,
        None => panic!("{}", l.diagnostics.render(&l.source)),
    }
}

fn prep(spec: &Spec) -> anyhow::Result<Dataset> {
    prepare(spec, false, &Progress::hidden()).map(|r| r.0)
}

fn err(spec: &Spec) -> String {
    match prep(spec) {
        Ok(_) => panic!("expected an error"),
        Err(e) => format!("{e:#}"),
    }
}

/// One column's values, row by row (`None`: null).
enum Col {
    /// A required INT32 (the label).
    Label(Vec<i32>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    F64(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Str(Vec<Option<String>>),
    /// Optional bytes that may not be UTF-8.
    Raw(Vec<Option<Vec<u8>>>),
    /// An optional list of optional strings: `None` a null list, `Some(vec![])` an empty one.
    List(Vec<Option<Vec<Option<String>>>>),
}

/// Writes `cols` (matching `schema`) to `path` in row groups of `group` rows, with small pages
/// so that batches cross page boundaries too.
fn write_parquet(path: &Path, schema: &str, group: usize, cols: &[Col]) {
    write_parquet_with(path, schema, group, cols, WriterProperties::builder());
}

/// [`write_parquet`] with the writer's other settings from `props`.
fn write_parquet_with(
    path: &Path,
    schema: &str,
    group: usize,
    cols: &[Col],
    props: parquet::file::properties::WriterPropertiesBuilder,
) {
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let props = Arc::new(
        props
            .set_data_page_row_count_limit(1000)
            .set_write_batch_size(500)
            .build(),
    );
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    let rows = match &cols[0] {
        Col::Label(v) => v.len(),
        _ => panic!("the label first"),
    };
    for r0 in (0..rows).step_by(group) {
        let rr = r0..(r0 + group).min(rows);
        let mut g = w.next_row_group().unwrap();
        for c in cols {
            let mut col = g.next_column().unwrap().unwrap();
            fn flat<T: Clone>(v: &[Option<T>]) -> (Vec<T>, Vec<i16>) {
                let vals = v.iter().flatten().cloned().collect();
                let def = v.iter().map(|x| i16::from(x.is_some())).collect();
                (vals, def)
            }
            match c {
                Col::Label(v) => {
                    col.typed::<Int32Type>()
                        .write_batch(&v[rr.clone()], None, None)
                        .unwrap();
                }
                Col::I32(v) => {
                    let (vals, def) = flat(&v[rr.clone()]);
                    col.typed::<Int32Type>()
                        .write_batch(&vals, Some(&def), None)
                        .unwrap();
                }
                Col::I64(v) => {
                    let (vals, def) = flat(&v[rr.clone()]);
                    col.typed::<Int64Type>()
                        .write_batch(&vals, Some(&def), None)
                        .unwrap();
                }
                Col::F64(v) => {
                    let (vals, def) = flat(&v[rr.clone()]);
                    col.typed::<DoubleType>()
                        .write_batch(&vals, Some(&def), None)
                        .unwrap();
                }
                Col::Bool(v) => {
                    let (vals, def) = flat(&v[rr.clone()]);
                    col.typed::<BoolType>()
                        .write_batch(&vals, Some(&def), None)
                        .unwrap();
                }
                Col::Str(v) => {
                    let (vals, def) = flat(&v[rr.clone()]);
                    let vals: Vec<ByteArray> = vals
                        .iter()
                        .map(|s: &String| ByteArray::from(s.as_str()))
                        .collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&vals, Some(&def), None)
                        .unwrap();
                }
                Col::Raw(v) => {
                    let (vals, def) = flat(&v[rr.clone()]);
                    let vals: Vec<ByteArray> = vals.into_iter().map(ByteArray::from).collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&vals, Some(&def), None)
                        .unwrap();
                }
                Col::List(v) => {
                    let (mut vals, mut def, mut rep) = (Vec::new(), Vec::new(), Vec::new());
                    for row in &v[rr.clone()] {
                        match row {
                            None => (def.push(0), rep.push(0)),
                            Some(items) if items.is_empty() => (def.push(1), rep.push(0)),
                            Some(items) => {
                                for (i, it) in items.iter().enumerate() {
                                    rep.push(i16::from(i > 0));
                                    match it {
                                        None => def.push(2),
                                        Some(s) => {
                                            def.push(3);
                                            vals.push(ByteArray::from(s.as_str()));
                                        }
                                    }
                                }
                                ((), ())
                            }
                        };
                    }
                    col.typed::<ByteArrayType>()
                        .write_batch(&vals, Some(&def), Some(&rep))
                        .unwrap();
                }
            }
            col.close().unwrap();
        }
        g.close().unwrap();
    }
    w.close().unwrap();
}

const SCHEMA: &str = "message t {
    required int32 y;
    optional binary color (STRING);
    optional int64 code;
    optional int32 small (INTEGER(32, false));
    optional double price;
    optional boolean flag;
    optional group tags (LIST) { repeated group list { optional binary element (STRING); } }
    optional binary pipe (STRING);
}";

/// Rows with every kind of value and null, as Parquet columns and as the CSV text that holds
/// the same values (an empty cell for a null).
fn rows(n: usize) -> (Vec<Col>, String) {
    let colors = ["red", "blue", "green", "gr\u{e9}y"];
    let mut cols = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    let mut csv = String::from("y,color,code,small,price,flag,tags,pipe\n");
    for i in 0..n {
        let y = (i % 3 == 0) as i32;
        let color = (i % 7 != 3).then(|| colors[i % 4].to_string());
        let code = (i % 5 != 1).then_some(-(i as i64 % 11) * 1_000_000_007);
        let small = (i % 9 != 2).then_some((3_000_000_000u32 + (i % 4) as u32) as i32);
        let price = (i % 6 != 4).then_some((i % 13) as f64 * 2.5);
        let flag = (i % 8 != 5).then_some(i % 2 == 0);
        let tags: Option<Vec<Option<String>>> = match i % 6 {
            0 => None,
            1 => Some(vec![]),
            2 => Some(vec![Some("a".into()), None]),
            3 => Some(vec![Some("b".into()), Some("a".into())]),
            4 => Some(vec![None]),
            _ => Some(vec![Some(format!("t{}", i % 17))]),
        };
        let pipe = (i % 4 != 0).then(|| ["x|y", "y", "z|x|y"][i % 3].to_string());
        let cell = |s: &Option<String>| s.clone().unwrap_or_default();
        let tags_text = tags
            .as_ref()
            .map(|t| t.iter().flatten().cloned().collect::<Vec<_>>().join("|"))
            .unwrap_or_default();
        csv += &format!(
            "{y},{},{},{},{},{},{tags_text},{}\n",
            cell(&color),
            code.map(|c| c.to_string()).unwrap_or_default(),
            small.map(|s| (s as u32).to_string()).unwrap_or_default(),
            price.map(|p| p.to_string()).unwrap_or_default(),
            flag.map(|f| f.to_string()).unwrap_or_default(),
            cell(&pipe),
        );
        cols.0.push(y);
        cols.1.push(color);
        cols.2.push(code);
        cols.3.push(small);
        cols.4.push(price);
        cols.5.push(flag);
        cols.6.push(tags);
        cols.7.push(pipe);
    }
    (
        vec![
            Col::Label(cols.0),
            Col::Str(cols.1),
            Col::I64(cols.2),
            Col::I32(cols.3),
            Col::F64(cols.4),
            Col::Bool(cols.5),
            Col::List(cols.6),
            Col::Str(cols.7),
        ],
        csv,
    )
}

const COLUMNS: &str = "color = categorical\ncode = categorical\nsmall = categorical\n\
                       price = numeric\nflag = categorical\ntags = multi\npipe = multi(sep = \"|\")";

fn parquet_spec(dir: &Path, file: &str, columns: &str, extra: &str) -> Spec {
    spec_in(
        dir,
        &format!(
            "format = parquet\ntrain = \"{file}\"\nlabel = \"y\"\nshuffle = false\n{extra}\ncolumns {{\n{columns}\n}}"
        ),
    )
}

fn export_all(ds: &Dataset, dir: &Path, tag: &str) -> Vec<String> {
    ["train", "valid", "test"]
        .iter()
        .map(|s| {
            let out = dir.join(format!("{tag}.{s}.tsv"));
            aim::data::export::tsv(ds, s, &out).unwrap();
            std::fs::read_to_string(&out).unwrap()
        })
        .collect()
}

/// Strings, signed and unsigned integers, doubles, booleans, lists (with null and empty lists
/// and null elements) and `|`-joined strings, with nulls everywhere, over several row groups
/// and batches: the cache holds exactly what the same rows as CSV give. Written four ways:
/// dictionary-encoded (the writers' default), PLAIN, dictionary pages that overflow into PLAIN
/// within a column chunk, and v2 data pages; string columns are read page by page, the rest
/// through the crate.
#[test]
fn parquet_rows_read_as_the_same_rows_in_csv() {
    use parquet::file::properties::WriterVersion;
    let dir = tempfile::tempdir().unwrap();
    let n = aim::data::read::parquet::BATCH_ROWS + 4_321;
    let (cols, csv) = rows(n);
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    let csv_spec = spec_in(
        dir.path(),
        &format!("format = csv\ntrain = \"d.csv\"\nlabel = \"y\"\nshuffle = false\ncolumns {{\n{COLUMNS}\n}}"),
    );
    let cs = prep(&csv_spec).unwrap();
    let b = export_all(&cs, dir.path(), "csv");
    let writers = [
        ("dictionary", WriterProperties::builder()),
        (
            "plain",
            WriterProperties::builder().set_dictionary_enabled(false),
        ),
        (
            "overflow",
            WriterProperties::builder().set_dictionary_page_size_limit(64),
        ),
        (
            "v2",
            WriterProperties::builder().set_writer_version(WriterVersion::PARQUET_2_0),
        ),
    ];
    for (name, props) in writers {
        // A spec of its own folder: one experiment keeps one cache.
        let sub = dir.path().join(name);
        std::fs::create_dir(&sub).unwrap();
        // A first row group larger than a batch: it is read in several.
        write_parquet_with(&sub.join("d.parquet"), SCHEMA, 20_000, &cols, props);
        let pq = prep(&parquet_spec(&sub, "d.parquet", COLUMNS, "")).unwrap();
        assert_eq!(pq.meta.splits.iter().map(|s| s.rows).sum::<usize>(), n);
        for (f, c) in pq.meta.fields.iter().zip(&cs.meta.fields) {
            assert_eq!(f.vocab, c.vocab, "{name}: {}", f.name);
            assert_eq!(f.missing, c.missing, "{name}: {}", f.name);
        }
        let a = export_all(&pq, &sub, "pq");
        assert_eq!(a, b, "{name}");
        // Spot checks of the text: an unsigned value past i32::MAX, a negative 64-bit code.
        assert!(a[0].contains("\t3000000001\t"), "{}", &a[0][..300]);
        assert!(a[0].contains("\t-1000000007\t"));
        // Row 3 holds the list [a, null], row 4 [b, a].
        assert!(a[0].lines().nth(3).unwrap().ends_with("\ta\tz|x|y"));
        assert!(a[0].lines().nth(4).unwrap().contains("\tb|a\t"));
    }
}

/// `AIM_PARQUET_GENERIC` reads string columns through the crate's decoders instead of page by
/// page: the same cache either way.
#[test]
fn both_string_readers_give_the_same_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (cols, _) = rows(5_000);
    write_parquet_with(
        &dir.path().join("d.parquet"),
        SCHEMA,
        2_000,
        &cols,
        WriterProperties::builder().set_dictionary_page_size_limit(200),
    );
    let spec = format!(
        "experiment \"g\" {{\n  data {{\n    format = parquet\n    train = \"d.parquet\"\n    label = \"y\"\n    columns {{\n{COLUMNS}\n    }}\n  }}\n}}\n"
    );
    std::fs::write(dir.path().join("g.aim"), spec).unwrap();
    let export = |generic: bool, out: &str| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_aim"));
        c.args([
            "data",
            "g.aim",
            "-q",
            "--rebuild",
            "--export",
            "tsv",
            "--split",
            "train",
            "-o",
            out,
        ])
        .current_dir(dir.path());
        if generic {
            c.env("AIM_PARQUET_GENERIC", "1");
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(dir.path().join(out)).unwrap()
    };
    let pages = export(false, "a.tsv");
    assert_eq!(pages.lines().count(), 4_001);
    assert_eq!(pages, export(true, "b.tsv"));
}

/// `aim data --export parquet` writes what `format = parquet` reads back as the same rows:
/// a CSV's cache, exported and read again, exports the same TSV.
#[test]
fn an_exported_split_reads_back_as_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (_, csv) = rows(3_000);
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    let cols = "color = categorical\ncode = categorical\nflag = categorical\n\
                tags = multi\npipe = multi(sep = \"|\")";
    let spec = spec_in(
        dir.path(),
        &format!("format = csv\ntrain = \"d.csv\"\nlabel = \"y\"\nshuffle = false\nsplit = [0.5, 0.25, 0.25]\ncolumns {{\n{cols}\n}}"),
    );
    let ds = prep(&spec).unwrap();
    let out = dir.path().join("train.parquet");
    let n = aim::data::export::parquet(&ds, "train", &out).unwrap();
    assert_eq!(n, 1_500);
    let back_cols = "label = \"label\"\ncolumns {\ncolor = categorical\ncode = categorical\n\
                     flag = categorical\ntags = multi\npipe = multi\n}";
    let sub = dir.path().join("back");
    std::fs::create_dir(&sub).unwrap();
    let back = spec_in(
        &sub,
        &format!("format = parquet\ntrain = \"../train.parquet\"\nsplit = [0.5, 0.25, 0.25]\nshuffle = false\n{back_cols}"),
    );
    let again = prep(&back).unwrap();
    let tsv = |ds: &Dataset, s: &str, name: &str| {
        let p = dir.path().join(name);
        aim::data::export::tsv(ds, s, &p).unwrap();
        std::fs::read_to_string(p).unwrap()
    };
    let original = tsv(&ds, "train", "a.tsv");
    let mut read_back = tsv(&again, "train", "b.tsv");
    read_back += &tsv(&again, "valid", "c.tsv")[original.find('\n').unwrap() + 1..];
    read_back += &tsv(&again, "test", "d.tsv")[original.find('\n').unwrap() + 1..];
    assert_eq!(original, read_back);
}

/// A small file written by pyarrow 26 (`tests/fixtures/make_parquet.py`): dictionary-encoded
/// strings, int64 and float columns with nulls, a list column and a boolean label, Snappy.
#[test]
fn a_pyarrow_file_reads_as_written() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures.join("pyarrow.parquet"),
        dir.path().join("p.parquet"),
    )
    .unwrap();
    let spec = spec_in(
        dir.path(),
        "format = parquet\ntrain = \"p.parquet\"\nlabel = \"clicked\"\nshuffle = false\n\
         split = [0.5, 0.25, 0.25]\nunlisted = reject\n\
         columns {\nsite = categorical\nuser = categorical\nprice = numeric\nhour = categorical\ngenres = multi\n}",
    );
    let ds = prep(&spec).unwrap();
    let got = export_all(&ds, dir.path(), "p").concat();
    let want = std::fs::read_to_string(fixtures.join("pyarrow.tsv")).unwrap();
    assert_eq!(got, want);
}

/// Every refusal names the file and what would be valid.
#[test]
fn bad_parquet_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (cols, _) = rows(50);
    let path = dir.path().join("d.parquet");
    write_parquet(&path, SCHEMA, 20, &cols);
    let shown = path.display().to_string();
    let e = err(&parquet_spec(
        dir.path(),
        "d.parquet",
        "colr = categorical",
        "",
    ));
    assert!(
        e.contains(&format!("{shown}: no column `colr`; did you mean `color`?")),
        "{e}"
    );
    let e = err(&parquet_spec(
        dir.path(),
        "d.parquet",
        "tags = categorical",
        "",
    ));
    assert!(
        e.contains("column `tags` is a list") && e.contains("`tags = multi`"),
        "{e}"
    );
    let e = err(&parquet_spec(
        dir.path(),
        "d.parquet",
        "color = categorical",
        "unlisted = reject",
    ));
    assert!(
        e.contains("columns not listed in the spec: code, small, price, flag, tags, pipe"),
        "{e}"
    );
    // A string column read as numbers: the row that is not one.
    let e = err(&parquet_spec(
        dir.path(),
        "d.parquet",
        "color = numeric",
        "",
    ));
    assert!(
        e.contains(&format!("{shown}: row 1: color: `red` is not a number")),
        "{e}"
    );

    // A decimal column, and a file that is not Parquet.
    let p = dir.path().join("dec.parquet");
    write_parquet(
        &p,
        "message t { required int32 y; optional int32 d (DECIMAL(5,2)); }",
        10,
        &[Col::Label(vec![1, 0]), Col::I32(vec![Some(1), None])],
    );
    let e = err(&parquet_spec(dir.path(), "dec.parquet", "d = numeric", ""));
    assert!(
        e.contains("column `d` has type INT32") && e.contains("cast it"),
        "{e}"
    );
    std::fs::write(dir.path().join("text.parquet"), "y,a\n1,2\n").unwrap();
    let e = err(&parquet_spec(dir.path(), "text.parquet", "a = numeric", ""));
    assert!(
        e.contains("text.parquet: not a readable Parquet file"),
        "{e}"
    );

    // A label that is not 0/1: its row, 1-based.
    let p = dir.path().join("lab.parquet");
    write_parquet(
        &p,
        "message t { required int32 y; optional binary c (STRING); }",
        10,
        &[
            Col::Label(vec![1, 0, 2, 1]),
            Col::Str(vec![
                Some("a".into()),
                Some("b".into()),
                Some("c".into()),
                None,
            ]),
        ],
    );
    let e = err(&parquet_spec(
        dir.path(),
        "lab.parquet",
        "c = categorical",
        "",
    ));
    assert!(
        e.contains(&format!(
            "{}: row 3: label `2` is not 0, 1 or -1",
            p.display()
        )),
        "{e}"
    );
}

/// A null label is a malformed row: an error naming it, or with `on_error = skip` a skipped
/// row, counted and listed by row number.
#[test]
fn null_labels_are_malformed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let n = 400;
    // An optional label holding nulls at rows 7 and 250 (1-based).
    let p2 = dir.path().join("m.parquet");
    let schema = Arc::new(
        parse_message_type("message t { optional int32 y; optional binary c (STRING); }").unwrap(),
    );
    let mut w = SerializedFileWriter::new(
        std::fs::File::create(&p2).unwrap(),
        schema,
        Arc::new(WriterProperties::builder().build()),
    )
    .unwrap();
    let mut g = w.next_row_group().unwrap();
    let labels: Vec<Option<i32>> = (0..n)
        .map(|i| (i != 6 && i != 249).then_some((i % 2) as i32))
        .collect();
    let mut c = g.next_column().unwrap().unwrap();
    let vals: Vec<i32> = labels.iter().flatten().copied().collect();
    let def: Vec<i16> = labels.iter().map(|l| i16::from(l.is_some())).collect();
    c.typed::<Int32Type>()
        .write_batch(&vals, Some(&def), None)
        .unwrap();
    c.close().unwrap();
    let mut c = g.next_column().unwrap().unwrap();
    let vals: Vec<ByteArray> = (0..n)
        .map(|i| ByteArray::from(format!("c{}", i % 5).as_str()))
        .collect();
    c.typed::<ByteArrayType>()
        .write_batch(&vals, Some(&vec![1; n]), None)
        .unwrap();
    c.close().unwrap();
    g.close().unwrap();
    w.close().unwrap();
    let e = err(&parquet_spec(
        dir.path(),
        "m.parquet",
        "c = categorical",
        "",
    ));
    assert!(
        e.contains(&format!("{}: row 7: the label is null", p2.display())),
        "{e}"
    );
    let ds = prep(&parquet_spec(
        dir.path(),
        "m.parquet",
        "c = categorical",
        "on_error = skip",
    ))
    .unwrap();
    assert_eq!(ds.meta.skipped.count, 2);
    let listed: Vec<String> = ds
        .meta
        .skipped
        .first
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert_eq!(
        listed,
        [
            format!("{}: row 7: the label is null", p2.display()),
            format!("{}: row 250: the label is null", p2.display()),
        ]
    );
    assert_eq!(ds.meta.splits.iter().map(|s| s.rows).sum::<usize>(), n - 2);
}

/// `delimiter` means nothing to a Parquet file: the spec is refused, pointing at it.
#[test]
fn a_delimiter_is_refused_for_parquet() {
    let text = "experiment \"t\" {\n  data {\n    format = parquet\n    train = \"a.parquet\"\n    label = \"y\"\n    delimiter = \";\"\n    columns {\n      a = categorical\n    }\n  }\n}\n";
    let l = load_source(Source::new(PathBuf::from("t.aim"), text.to_string()));
    assert!(l.spec.is_none());
    let shown = l.diagnostics.render(&l.source);
    assert!(shown.contains("a Parquet file has no delimiter"), "{shown}");
    assert!(shown.contains("t.aim:6:5"), "{shown}");
}

/// A damaged file is an error, never a crash: every byte of a small file flipped in turn.
#[test]
fn damaged_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (cols, _) = rows(300);
    let good = dir.path().join("good.parquet");
    write_parquet(&good, SCHEMA, 100, &cols);
    let bytes = std::fs::read(&good).unwrap();
    let mut errors = 0;
    for (i, at) in (0..bytes.len()).step_by(11).enumerate() {
        let mut bad = bytes.clone();
        bad[at] ^= 0x5a;
        let sub = dir.path().join(format!("d{i}"));
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("d.parquet"), &bad).unwrap();
        let spec = parquet_spec(&sub, "d.parquet", COLUMNS, "");
        match prep(&spec) {
            Ok(ds) => assert!(ds.meta.splits.iter().map(|s| s.rows).sum::<usize>() <= 300),
            Err(e) => {
                let e = format!("{e:#}");
                assert!(e.contains("d.parquet"), "{e}");
                errors += 1;
            }
        }
    }
    assert!(errors > 0);
}

/// `aim data SPEC --export parquet`: the file, whole; an unknown format listed with the valid
/// ones; an unwritable path an error that leaves nothing behind.
#[test]
fn the_cli_exports_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "experiment \"s\" {\n  data {\n    format = synthetic\n    rows = 2000\n    fields = 3\n  }\n}\n";
    std::fs::write(dir.path().join("s.aim"), spec).unwrap();
    let aim = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_aim"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = aim(&[
        "data",
        "s.aim",
        "-q",
        "--export",
        "parquet",
        "--split",
        "test",
        "-o",
        "t.parquet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(dir.path().join("t.parquet")).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    // Read back: 200 test rows, three fields.
    let back = spec_in(
        dir.path(),
        "format = parquet\ntrain = \"t.parquet\"\nlabel = \"label\"\nsplit = [0.5, 0.25, 0.25]\n\
         unlisted = reject\ncolumns {\nf0 = categorical\nf1 = categorical\nf2 = categorical\n}",
    );
    let ds = prep(&back).unwrap();
    assert_eq!(ds.meta.splits.iter().map(|s| s.rows).sum::<usize>(), 200);
    let out = aim(&["data", "s.aim", "--export", "xml", "-o", "t.xml"]);
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("[possible values: tsv, parquet]"), "{e}");
    // A path below a file cannot be written.
    let out = aim(&[
        "data",
        "s.aim",
        "-q",
        "--export",
        "parquet",
        "-o",
        "s.aim/t.parquet",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("cannot create s.aim"), "{e}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "s.aim" && n != "t.parquet" && n != ".aim-cache")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Text that is not UTF-8 is a malformed row, found even where the column's values together
/// are valid UTF-8 (a character split across two values), and named by its row.
#[test]
fn invalid_utf8_names_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let schema = "message t { required int32 y; optional binary c; }";
    for ((values, row, at), dictionary) in [
        (
            vec![b"ok".to_vec(), b"\xc3".to_vec(), b"\xa9x".to_vec()],
            2,
            1,
        ),
        (
            vec![b"ok".to_vec(), b"fine".to_vec(), b"ab\xffc".to_vec()],
            3,
            3,
        ),
    ]
    .into_iter()
    .flat_map(|case| [(case.clone(), true), (case, false)])
    {
        // Dictionary entries are checked one by one, PLAIN values as one buffer.
        let p = dir.path().join("u.parquet");
        let n = values.len();
        write_parquet_with(
            &p,
            schema,
            10,
            &[
                Col::Label(vec![1; n]),
                Col::Raw(values.into_iter().map(Some).collect()),
            ],
            WriterProperties::builder().set_dictionary_enabled(dictionary),
        );
        let e = err(&parquet_spec(
            dir.path(),
            "u.parquet",
            "c = categorical",
            "",
        ));
        assert!(
            e.contains(&format!(
                "{}: row {row}: c: invalid UTF-8 at byte {at} of",
                p.display()
            )),
            "{e}"
        );
    }
}

/// A model trained from Parquet scores text rows with the same columns; handed a Parquet file,
/// `aim predict` says what it reads instead of misparsing binary as text.
#[test]
fn a_parquet_model_scores_csv_rows_and_refuses_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let (cols, csv) = rows(3_000);
    write_parquet(&dir.path().join("d.parquet"), SCHEMA, 1_000, &cols);
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    let spec = "experiment \"p\" {\n  data {\n    format = parquet\n    train = \"d.parquet\"\n    label = \"y\"\n    columns {\n      color = categorical\n      code = categorical\n      tags = multi\n    }\n  }\n  model {\n    base = fm\n    embedding_dim = 4\n    epochs = 1\n  }\n}\n";
    std::fs::write(dir.path().join("p.aim"), spec).unwrap();
    let aim = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_aim"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = aim(&["train", "p.aim", "-q"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let model = "out/p.train.safetensors";
    let out = aim(&["predict", model, "d.parquet", "-q", "-o", "s.csv"]);
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("d.parquet: a Parquet file; aim predict reads text rows"),
        "{e}"
    );
    assert!(!dir.path().join("s.csv").exists());
    let out = aim(&["predict", model, "d.csv", "-q", "-o", "s.csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scores = std::fs::read_to_string(dir.path().join("s.csv")).unwrap();
    assert_eq!(scores.lines().count(), 3_001);
}
