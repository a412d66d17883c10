//! The data layer: readers, preprocessing, cache and the synthetic generator.

use aim::data::progress::Progress;
use aim::data::read::{self, Cell, Reader};
use aim::data::vocab::Interner;
use aim::data::{prepare, CacheUse, Dataset};
use aim::spec::{load_source, Source, Spec};
use std::path::{Path, PathBuf};

/// A spec in `dir` with the given `data` block body.
fn spec_in(dir: &Path, data: &str) -> Spec {
    let text = format!("experiment \"t\" {{\n  seed = 7\n  data {{\n{data}\n  }}\n}}\n");
    let l = load_source(Source::new(dir.join("t.aim"), text));
    match l.spec {
        Some(s) => s,
        None => panic!("{}", l.diagnostics.render(&l.source)),
    }
}

fn prep(spec: &Spec) -> anyhow::Result<(Dataset, CacheUse)> {
    prepare(spec, false, &Progress::hidden())
}

fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The message of a failed prepare, with its causes.
fn err(spec: &Spec) -> String {
    match prep(spec) {
        Ok(_) => panic!("expected an error"),
        Err(e) => format!("{e:#}"),
    }
}

/// Nothing but finished caches may be left in the cache folder.
fn assert_no_partial_cache(spec: &Spec) {
    if let Ok(entries) = std::fs::read_dir(&spec.data.cache) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with(".building"),
                "a half-built cache was left: {name}"
            );
            assert!(
                e.path().join("meta.ron").exists(),
                "{name} is not a finished cache"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Real fixtures in ../shared/data (run with `cargo test -- --ignored`; CI does).

fn shared(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(path)
}

/// Reads a whole file with a reader: (rows, positives, distinct values over all fields).
fn read_all(reader: &mut dyn Reader, path: &Path) -> (usize, usize, usize, usize) {
    let text = std::fs::read(path).unwrap();
    let mut lines = text.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let first = lines.next().unwrap();
    let header = reader.start_file(first).unwrap();
    let mut interners: Vec<Interner> = reader.fields().iter().map(|_| Interner::new()).collect();
    let (mut rows, mut pos) = (0, 0);
    let mut cells: Vec<Cell> = Vec::new();
    let all = if header { None } else { Some(first) };
    for line in all.into_iter().chain(lines) {
        let y = reader.parse(line, &mut cells).unwrap();
        rows += 1;
        pos += y as usize;
        for (i, c) in cells.iter().enumerate() {
            match c {
                Cell::Cat(v) => interners[i].cat(v),
                _ => interners[i].cat(b""),
            };
        }
    }
    let distinct = interners.iter().map(Interner::len).sum();
    (rows, pos, reader.fields().len(), distinct)
}

#[test]
#[ignore = "reads ../shared/data"]
fn frappe_files_have_the_known_shape() {
    let mut r = read::Libfm::default();
    let (rows, pos, fields, _) = read_all(&mut r, &shared("frappe/frappe.validation.libfm"));
    assert_eq!((rows, pos, fields), (57_722, 19_063, 10));
    let (rows, pos, _, _) = read_all(&mut r, &shared("frappe/frappe.test.libfm"));
    assert_eq!((rows, pos), (28_860, 9_536));
    // The dataset's id space is 0..=5381 (5,382 ids); these two of its three files use 5,328.
    let mut both = std::fs::read(shared("frappe/frappe.validation.libfm")).unwrap();
    both.extend(std::fs::read(shared("frappe/frappe.test.libfm")).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "both.libfm", &both);
    let (rows, _, _, distinct) = read_all(&mut read::Libfm::default(), &p);
    assert_eq!((rows, distinct), (86_582, 5_328));
    let text = String::from_utf8(both).unwrap();
    let max_id = text
        .split_whitespace()
        .filter_map(|t| t.split_once(':'))
        .map(|(i, _)| i.parse::<usize>().unwrap())
        .max();
    assert_eq!(max_id, Some(5_381));
}

#[test]
#[ignore = "reads ../shared/data"]
fn frappe_spec_resplits_both_files() {
    let l =
        aim::spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/frappe.aim")).unwrap();
    let mut spec = l.spec.unwrap();
    let dir = tempfile::tempdir().unwrap();
    spec.data.cache = dir.path().to_path_buf();
    let (ds, used) = prep(&spec).unwrap();
    assert_eq!(used, CacheUse::Built);
    let rows: Vec<usize> = ds.meta.splits.iter().map(|s| s.rows).collect();
    assert_eq!(rows, vec![69_266, 8_658, 8_658]);
    let pos: usize = ds.meta.splits.iter().map(|s| s.positives).sum();
    assert_eq!(pos, 19_063 + 9_536);
    assert_eq!(ds.meta.fields.len(), 10);
    assert_eq!(ds.splits[0].ids.shape, vec![69_266, 10]);
}

#[test]
#[ignore = "reads ../shared/data"]
fn adult_has_the_known_shape() {
    let l =
        aim::spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/adult.aim")).unwrap();
    let mut spec = l.spec.unwrap();
    let dir = tempfile::tempdir().unwrap();
    spec.data.cache = dir.path().to_path_buf();
    let (ds, _) = prep(&spec).unwrap();
    let rows: usize = ds.meta.splits.iter().map(|s| s.rows).sum();
    let pos: usize = ds.meta.splits.iter().map(|s| s.positives).sum();
    assert_eq!(rows, 48_842);
    assert!(
        (pos as f64 / rows as f64 - 0.239).abs() < 0.001,
        "{pos}/{rows}"
    );
    assert_eq!(ds.meta.fields.len(), 14);
    let numeric = ds
        .meta
        .fields
        .iter()
        .filter(|f| f.kind == read::FieldKind::Numeric)
        .count();
    assert_eq!(numeric, 6);
}

#[test]
#[ignore = "reads ../shared/data"]
fn criteo_and_avazu_samples() {
    let mut c = read::Criteo::default();
    let (rows, pos, fields, _) = read_all(&mut c, &shared("criteo_sample/criteo_sample.txt"));
    assert_eq!((rows, pos, fields), (200, 49, 39));
    let mut a = read::Avazu::default();
    let (rows, pos, fields, _) = read_all(&mut a, &shared("avazu_sample/avazu_sample.txt"));
    assert_eq!((rows, pos, fields), (100, 20, 23));
}

// ---------------------------------------------------------------------------------------------
// Malformed input: `FILE:LINE: what`, or counted and skipped; never a panic, never half a cache.

const CRITEO_OK: &str = "0\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t13\ta\tb\tc\td\te\tf\tg\th\ti\tj\tk\tl\tm\tn\to\tp\tq\tr\ts\tt\tu\tv\tw\tx\ty\tz";

fn criteo_file(bad: &str, at: usize, rows: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 1..=rows {
        out.push_str(if i == at { bad } else { CRITEO_OK });
        out.push('\n');
    }
    out.into_bytes()
}

#[test]
fn criteo_bad_rows_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            CRITEO_OK.replacen("\ta", "", 1),
            "expected 40 columns, found 39",
        ),
        (
            format!("{CRITEO_OK}\textra"),
            "expected 40 columns, found more",
        ),
        (
            CRITEO_OK.replacen("\t3\t", "\tthree\t", 1),
            "I3: `three` is not a number",
        ),
        (
            CRITEO_OK.replacen('0', "2", 1),
            "label `2` is not 0, 1 or -1",
        ),
    ];
    for (bad, msg) in cases {
        let p = write(dir.path(), "c.tsv", &criteo_file(&bad, 7, 30));
        let spec = spec_in(dir.path(), "format = criteo\ntrain = \"c.tsv\"");
        let e = err(&spec);
        assert!(e.contains(&format!("{}:7: {msg}", p.display())), "{e}");
        assert_no_partial_cache(&spec);
    }
}

#[test]
fn skipped_rows_are_counted_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 1..=40 {
        text.push_str(if i % 5 == 0 { "1\tbroken" } else { CRITEO_OK });
        text.push('\n');
    }
    write(dir.path(), "c.tsv", text.as_bytes());
    let spec = spec_in(
        dir.path(),
        "format = criteo\ntrain = \"c.tsv\"\non_error = skip",
    );
    let (ds, _) = prep(&spec).unwrap();
    assert_eq!(ds.meta.skipped.count, 8);
    let lines: Vec<usize> = ds.meta.skipped.first.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![5, 10, 15, 20, 25]);
    assert_eq!(
        ds.meta.splits.iter().map(|s| s.rows).sum::<usize>(),
        32,
        "every good row is kept"
    );
}

#[test]
fn avazu_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let header = "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21";
    let ok = "1,0,14102100,1005,0,a,b,c,d,e,f,g,h,i,1,2,3,4,5,6,7,8,9,10";
    let mk = |bad: &str| {
        format!("{header}\n{ok}\n{ok}\n{bad}\n{ok}\n{ok}\n{ok}\n{ok}\n{ok}\n{ok}\n{ok}\n")
    };
    for (bad, msg) in [
        (
            ok.replace("14102100", "14132100"),
            "hour `14132100` is not YYMMDDHH",
        ),
        (
            ok.strip_suffix(",10").unwrap().to_string(),
            "expected 24 columns, found 23",
        ),
        (
            ok.replacen(",0,", ",yes,", 1),
            "label `yes` is not 0, 1 or -1",
        ),
    ] {
        let p = write(dir.path(), "a.csv", mk(&bad).as_bytes());
        let spec = spec_in(dir.path(), "format = avazu\ntrain = \"a.csv\"");
        let e = err(&spec);
        assert!(e.contains(&format!("{}:4: {msg}", p.display())), "{e}");
    }
    let p = write(dir.path(), "a.csv", format!("{ok}\n{ok}\n").as_bytes());
    let e = err(&spec_in(dir.path(), "format = avazu\ntrain = \"a.csv\""));
    assert!(
        e.contains(&format!("{}:1: expected the Avazu header", p.display())),
        "{e}"
    );
}

#[test]
fn avazu_hour_becomes_hour_and_weekday() {
    let dir = tempfile::tempdir().unwrap();
    let header = "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21";
    let mut text = format!("{header}\n");
    for i in 0..30 {
        // 2014-10-21 was a Tuesday; rows alternate between 07:00 on the 21st and 23:00 on the 26th.
        let hour = if i % 2 == 0 { "14102107" } else { "14102623" };
        text.push_str(&format!(
            "{i},{},{hour},1005,0,a,b,c,d,e,f,g,h,i,1,2,3,4,5,6,7,8,9,10\n",
            i % 3 == 0
        ));
    }
    let text = text.replace(",true,", ",1,").replace(",false,", ",0,");
    write(dir.path(), "a.csv", text.as_bytes());
    let spec = spec_in(
        dir.path(),
        "format = avazu\ntrain = \"a.csv\"\nsplit = [0.6, 0.2, 0.2]",
    );
    let (ds, _) = prep(&spec).unwrap();
    assert_eq!(ds.meta.fields[0].name, "hour_of_day");
    assert_eq!(ds.meta.fields[1].name, "weekday");
    let vocab: Vec<(String, Vec<String>)> =
        ron::from_str(&std::fs::read_to_string(ds.dir.join("vocab.ron")).unwrap()).unwrap();
    let mut hours = vocab[0].1.clone();
    hours.sort();
    assert_eq!(hours, vec!["07", "23", "<oov>"]);
    let mut days = vocab[1].1.clone();
    days.sort();
    assert_eq!(days, vec!["<oov>", "sun", "tue"]);
}

#[test]
fn libfm_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let ok = "1 3:1 17:1 22:1";
    for (bad, msg) in [
        ("1 3:1 17:1", "expected 3 features, found 2"),
        ("1 3:1 17 22:1", "`17` is not `index:value`"),
        ("2 3:1 17:1 22:1", "label `2` is not 0, 1 or -1"),
        ("1 3:1 17:x 22:1", "entry 2: `x` is not a number"),
    ] {
        let text = format!("{ok}\n{ok}\n{bad}\n{ok}\n");
        let p = write(dir.path(), "f.libfm", text.as_bytes());
        let e = err(&spec_in(dir.path(), "format = libfm\ntrain = \"f.libfm\""));
        assert!(e.contains(&format!("{}:3: {msg}", p.display())), "{e}");
    }
}

#[test]
fn libfm_labels_map_minus_one_to_zero() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..50)
        .map(|i| {
            format!(
                "{} {}:1 {}:1\n",
                if i % 2 == 0 { "-1" } else { "1" },
                i % 7,
                100 + i % 3
            )
        })
        .collect();
    write(dir.path(), "f.libfm", text.as_bytes());
    let (ds, _) = prep(&spec_in(dir.path(), "format = libfm\ntrain = \"f.libfm\"")).unwrap();
    let pos: usize = ds.meta.splits.iter().map(|s| s.positives).sum();
    assert_eq!(pos, 25);
    assert!(ds
        .splits
        .iter()
        .all(|s| s.labels.data().iter().all(|&y| y <= 1)));
}

fn csv_spec(dir: &Path, columns: &str, extra: &str) -> Spec {
    spec_in(
        dir,
        &format!(
            "format = csv\ntrain = \"d.csv\"\nlabel = \"y\"\n{extra}\ncolumns {{\n{columns}\n}}"
        ),
    )
}

#[test]
fn csv_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = "y,age,color,tags\n1,30,red,a|b\n0,40,blue,b\n";
    let p = write(dir.path(), "d.csv", good.as_bytes());
    let e = err(&csv_spec(dir.path(), "agee = numeric", ""));
    assert!(
        e.contains(&format!(
            "{}:1: no column `agee` in the header; did you mean `age`?",
            p.display()
        )),
        "{e}"
    );
    let e = err(&csv_spec(dir.path(), "age = numeric", "unlisted = reject"));
    assert!(
        e.contains("columns not listed in the spec: color, tags"),
        "{e}"
    );
    let rows: String = (0..20)
        .map(|i| format!("{},{},red,a\n", i % 2, 20 + i))
        .collect();
    let p = write(
        dir.path(),
        "d.csv",
        format!("y,age,color,tags\n{rows}1,old,red,a\n").as_bytes(),
    );
    let e = err(&csv_spec(
        dir.path(),
        "age = numeric\ncolor = categorical",
        "",
    ));
    assert!(
        e.contains(&format!("{}:22: age: `old` is not a number", p.display())),
        "{e}"
    );
    let p = write(
        dir.path(),
        "d.csv",
        format!("y,age,color,tags\n{rows}1,3,red\n").as_bytes(),
    );
    let e = err(&csv_spec(dir.path(), "age = numeric", ""));
    assert!(
        e.contains(&format!("{}:22: expected 4 columns, found 3", p.display())),
        "{e}"
    );
    let p = write(
        dir.path(),
        "d.csv",
        format!("y,age,color,tags\n{rows}1,3,\"red,a\n").as_bytes(),
    );
    let e = err(&csv_spec(dir.path(), "age = numeric", ""));
    assert!(
        e.contains(&format!(
            "{}:22: a quoted cell is not closed on its line",
            p.display()
        )),
        "{e}"
    );
}

#[test]
fn invalid_utf8_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = b"y,color\n".to_vec();
    for i in 0..20 {
        text.extend_from_slice(format!("{},red\n", i % 2).as_bytes());
    }
    text.extend_from_slice(b"1,r\xffd\n");
    let p = write(dir.path(), "d.csv", &text);
    let e = err(&csv_spec(dir.path(), "color = categorical", ""));
    assert!(
        e.contains(&format!(
            "{}:22: invalid UTF-8 at byte 4 of the line",
            p.display()
        )),
        "{e}"
    );
}

#[test]
fn empty_header_only_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.csv", b"");
    let spec = csv_spec(dir.path(), "color = categorical", "");
    assert!(err(&spec).contains(&format!("{}: the file is empty", p.display())));
    write(dir.path(), "d.csv", b"y,color\n");
    assert!(
        err(&spec).contains("no data rows (only a header)"),
        "{}",
        err(&spec)
    );
    std::fs::remove_file(dir.path().join("d.csv")).unwrap();
    assert!(err(&spec).contains("d.csv: no such file"), "{}", err(&spec));
    assert_no_partial_cache(&spec);
}

#[test]
fn a_split_too_small_is_an_error_not_an_empty_split() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d.csv", b"y,color\n1,red\n0,blue\n1,red\n");
    let e = err(&csv_spec(dir.path(), "color = categorical", ""));
    assert!(e.contains("split is empty"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Preprocessing.

#[test]
fn vocabulary_is_built_on_training_rows_only_with_min_count() {
    let dir = tempfile::tempdir().unwrap();
    // Three files, used as they are: categories seen only in valid/test are OOV, as are those
    // seen fewer than min_count = 2 times in training.
    write(dir.path(), "tr.csv", b"y,c\n1,a\n0,a\n1,b\n0,rare\n1,a\n");
    write(dir.path(), "va.csv", b"y,c\n1,a\n0,new\n");
    write(dir.path(), "te.csv", b"y,c\n1,b\n0,rare\n");
    let spec = spec_in(
        dir.path(),
        "format = csv\ntrain = \"tr.csv\"\nvalid = \"va.csv\"\ntest = \"te.csv\"\nlabel = \"y\"\nmin_count = 2\ncolumns {\nc = categorical\n}",
    );
    let (ds, _) = prep(&spec).unwrap();
    assert_eq!(
        ds.meta.fields[0].vocab, 2,
        "OOV + `a` (3 times); `b` and `rare` are seen once"
    );
    let ids = |t: usize| ds.splits[t].ids.data().to_vec();
    assert_eq!(ids(0), vec![1, 1, 0, 0, 1]);
    assert_eq!(ids(1), vec![1, 0]);
    assert_eq!(ids(2), vec![0, 0]);
    assert_eq!(ds.meta.splits[1].oov, vec![1]);
}

#[test]
fn missing_values_are_their_own_category_and_numbers_are_bucketed() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..40)
        .map(|i| match i % 4 {
            0 => format!("{},,1\n", i % 2),
            1 => format!("{},x,100\n", i % 2),
            2 => format!("{},x,\n", i % 2),
            _ => format!("{},y,120\n", i % 2),
        })
        .collect();
    write(dir.path(), "d.csv", format!("y,c,n\n{rows}").as_bytes());
    let spec = csv_spec(
        dir.path(),
        "c = categorical\nn = numeric",
        "split = [0.5, 0.25, 0.25]",
    );
    let (ds, _) = prep(&spec).unwrap();
    let vocab: Vec<(String, Vec<String>)> =
        ron::from_str(&std::fs::read_to_string(ds.dir.join("vocab.ron")).unwrap()).unwrap();
    let mut c = vocab[0].1.clone();
    c.sort();
    assert_eq!(c, vec!["<missing>", "<oov>", "x", "y"]);
    // 100 and 120 share the bucket ⌊ln(x)²⌋ = 21 and 22? ln(100)² = 21.2, ln(120)² = 22.9.
    let mut n = vocab[1].1.clone();
    n.sort();
    assert_eq!(n, vec!["1", "21", "22", "<missing>", "<oov>"]);
    let spec = csv_spec(
        dir.path(),
        "c = categorical\nn = numeric",
        "split = [0.5, 0.25, 0.25]\nnumeric = identity",
    );
    let (ds, _) = prep(&spec).unwrap();
    let vocab: Vec<(String, Vec<String>)> =
        ron::from_str(&std::fs::read_to_string(ds.dir.join("vocab.ron")).unwrap()).unwrap();
    let mut n = vocab[1].1.clone();
    n.sort();
    assert_eq!(n, vec!["1", "100", "120", "<missing>", "<oov>"]);
}

#[test]
fn multi_valued_fields_are_ragged() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..20)
        .map(|i| format!("{},{}\n", i % 2, ["a|b", "b", "", "c|a|b"][i % 4]))
        .collect();
    write(dir.path(), "d.csv", format!("y,tags\n{rows}").as_bytes());
    let spec = csv_spec(dir.path(), "tags = multi(sep = \"|\")", "shuffle = false");
    let (ds, _) = prep(&spec).unwrap();
    assert_eq!(ds.meta.columns(), 0);
    assert_eq!(ds.meta.fields[0].column, None);
    let (offsets, ids) = &ds.splits[0].multi[0];
    let offsets = offsets.data();
    // train = the first 16 rows in file order; row 0 has 2 values, row 1 one, row 2 is missing
    // (one value, the missing category), row 3 three.
    assert_eq!(&offsets[..5], &[0, 2, 3, 4, 7]);
    assert_eq!(offsets.len(), 17);
    assert_eq!(*offsets.last().unwrap() as usize, ids.data().len());
    assert_eq!(ds.splits[0].labels.data().len(), 16);
}

#[test]
fn splits_are_deterministic_and_follow_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..500)
        .map(|i| format!("{} {}:1 {}:1\n", i % 2, i, 1000 + i % 13))
        .collect();
    write(dir.path(), "f.libfm", rows.as_bytes());
    let spec = spec_in(dir.path(), "format = libfm\ntrain = \"f.libfm\"");
    let (a, _) = prepare(&spec, true, &Progress::hidden()).unwrap();
    let first = a.splits[1].ids.data().to_vec();
    let (b, used) = prepare(&spec, true, &Progress::hidden()).unwrap();
    assert_eq!(used, CacheUse::Built);
    assert_eq!(b.splits[1].ids.data(), &first[..], "same seed, same split");
    let mut other = spec.clone();
    other.seed = 8;
    let (c, _) = prep(&other).unwrap();
    assert_ne!(
        c.splits[1].ids.data(),
        &first[..],
        "another seed, another split"
    );
    let mut ordered = spec.clone();
    ordered.data.shuffle = false;
    let (d, _) = prep(&ordered).unwrap();
    // Without shuffling, the test split is the last 50 rows of the file, in order: field 0 holds
    // the row number, so its ids are consecutive and the labels alternate.
    assert_eq!(d.splits[2].rows(), 50);
    let labels = d.splits[2].labels.data();
    assert!(labels.windows(2).all(|w| w[0] != w[1]));
}

// ---------------------------------------------------------------------------------------------
// The cache.

#[test]
fn the_cache_is_reused_and_invalidated() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..100)
        .map(|i| format!("{} {}:1 {}:1\n", i % 2, i % 10, 50 + i % 7))
        .collect();
    let p = write(dir.path(), "f.libfm", rows.as_bytes());
    let spec = spec_in(dir.path(), "format = libfm\ntrain = \"f.libfm\"");
    let (a, used) = prep(&spec).unwrap();
    assert_eq!(used, CacheUse::Built);
    assert_eq!(prep(&spec).unwrap().1, CacheUse::Reused);

    // A changed setting means another key and a rebuild; the old cache is removed.
    let mut s2 = spec.clone();
    s2.data.min_count = 3;
    let (b, used) = prep(&s2).unwrap();
    assert_eq!(used, CacheUse::Built);
    assert_ne!(a.meta.key, b.meta.key);
    assert!(!a.dir.exists(), "the stale cache was removed");

    // A changed input file, too.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&p, format!("{rows}1 3:1 51:1\n")).unwrap();
    let (c, used) = prep(&s2).unwrap();
    assert_eq!(used, CacheUse::Built);
    assert_ne!(b.meta.key, c.meta.key);
    assert_eq!(c.meta.splits.iter().map(|s| s.rows).sum::<usize>(), 101);
    assert_no_partial_cache(&spec);
}

#[test]
fn an_unreadable_cache_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..100)
        .map(|i| format!("{} {}:1\n", i % 2, i % 10))
        .collect();
    write(dir.path(), "f.libfm", rows.as_bytes());
    let spec = spec_in(dir.path(), "format = libfm\ntrain = \"f.libfm\"");
    let (ds, _) = prep(&spec).unwrap();
    let ids = ds.dir.join("valid.ids.npy");
    let bytes = std::fs::read(&ids).unwrap();
    std::fs::write(&ids, &bytes[..bytes.len() - 3]).unwrap();
    let e = err(&spec);
    assert!(
        e.contains("the cache is unreadable") && e.contains("valid.ids.npy"),
        "{e}"
    );
    // --rebuild repairs it.
    let (_, used) = prepare(&spec, true, &Progress::hidden()).unwrap();
    assert_eq!(used, CacheUse::Built);
    assert!(prep(&spec).is_ok());
}

/// A spec over 100 libfm rows of two fields (10 and 7 categories) written into `dir`.
fn two_field_libfm(dir: &Path) -> Spec {
    let rows: String = (0..100)
        .map(|i| format!("{} {}:1 {}:1\n", i % 2, i % 10, 50 + i % 7))
        .collect();
    write(dir, "f.libfm", rows.as_bytes());
    spec_in(dir, "format = libfm\ntrain = \"f.libfm\"")
}

/// Ids past a field's vocabulary (just past it, and huge) in a cached split: a clear error naming
/// the file, the row and the field, before anything trains on them.
#[test]
fn a_cache_with_ids_past_the_vocabulary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = two_field_libfm(dir.path());
    let (ds, _) = prep(&spec).unwrap();
    let vocab = ds.meta.fields[1].vocab as u32;
    let ids = ds.dir.join("train.ids.npy");
    let good = std::fs::read(&ids).unwrap();
    for bad in [vocab, u32::MAX] {
        // The last four bytes are the last row's second field.
        let mut bytes = good.clone();
        let n = bytes.len();
        bytes[n - 4..].copy_from_slice(&bad.to_le_bytes());
        std::fs::write(&ids, &bytes).unwrap();
        let e = err(&spec);
        assert!(
            e.contains("the cache is corrupt")
                && e.contains("train.ids.npy")
                && e.contains("row 79")
                && e.contains("`field1`")
                && e.contains(&format!("id {bad}"))
                && e.contains("aim data --rebuild"),
            "{e}"
        );
    }
    let (_, used) = prepare(&spec, true, &Progress::hidden()).unwrap();
    assert_eq!(used, CacheUse::Built);
    assert!(prep(&spec).is_ok());
}

/// Two fields with the same column in meta.ron (found by tests/mutation.rs): a clear error
/// naming both, not a panic over the column no field owns.
#[test]
fn a_cache_with_two_fields_on_one_column_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = two_field_libfm(dir.path());
    let (ds, _) = prep(&spec).unwrap();
    let meta = ds.dir.join("meta.ron");
    let text = std::fs::read_to_string(&meta).unwrap();
    let edited = text.replace("column: Some(1)", "column: Some(0)");
    assert_ne!(edited, text, "meta.ron names column 1: {text}");
    std::fs::write(&meta, edited).unwrap();
    let e = err(&spec);
    assert!(
        e.contains("the cache is corrupt")
            && e.contains("meta.ron")
            && e.contains("fields `field0` and `field1` both have column 0"),
        "{e}"
    );
}

#[test]
fn the_cache_is_plain_npy() {
    let dir = tempfile::tempdir().unwrap();
    let (ds, _) = prep(&two_field_libfm(dir.path())).unwrap();
    let bytes = std::fs::read(ds.dir.join("train.ids.npy")).unwrap();
    let header = String::from_utf8_lossy(&bytes[10..128]);
    assert!(
        header.starts_with("{'descr': '<u4', 'fortran_order': False, 'shape': (80, 2), }"),
        "{header}"
    );
}

// ---------------------------------------------------------------------------------------------
// Readers never panic.

mod never_panic {
    use super::*;
    use proptest::prelude::*;

    fn readers() -> Vec<Box<dyn Reader>> {
        let csv = aim::spec::CsvSpec {
            label: "y".into(),
            delimiter: b',',
            columns: vec![
                aim::spec::Column {
                    name: "a".into(),
                    role: aim::spec::ColumnRole::Numeric,
                },
                aim::spec::Column {
                    name: "b".into(),
                    role: aim::spec::ColumnRole::Multi { sep: '|' },
                },
            ],
            unlisted: aim::spec::Unlisted::Ignore,
        };
        let mut c = read::Csv::new(csv);
        c.start_file(b"y,a,b").unwrap();
        let mut l = read::Libfm::default();
        l.start_file(b"1 1:1 2:1 3:1").unwrap();
        let mut a = read::Avazu::default();
        a.start_file(b"id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21").unwrap();
        vec![
            Box::new(read::Criteo::default()),
            Box::new(l),
            Box::new(a),
            Box::new(c),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn random_lines(line in prop::collection::vec(prop::sample::select(b"0123456789-.:,|\t \"abe\xff".to_vec()), 0..80)) {
            for mut r in readers() {
                let mut cells = Vec::new();
                let _ = r.parse(&line, &mut cells);
                let _ = r.start_file(&line);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Synthetic data.

fn synthetic(dir: &Path, extra: &str) -> Spec {
    spec_in(
        dir,
        &format!("format = synthetic\nrows = 200_000\nfields = 6\nvocab = 10\nrank = 4\n{extra}"),
    )
}

/// Mean squared interaction residual of the label over the cells of fields (a, b): what the
/// cell means leave unexplained after the two fields' own effects. Large for a planted pair.
fn interaction_strength(ds: &Dataset, a: usize, b: usize) -> f64 {
    let s = &ds.splits[0];
    let v = 12; // ids 1..=10
    let (mut sum, mut n) = (vec![0.0f64; v * v], vec![0.0f64; v * v]);
    for i in 0..s.rows() {
        let r = s.row(i);
        let k = r[a] as usize * v + r[b] as usize;
        sum[k] += s.labels.data()[i] as f64;
        n[k] += 1.0;
    }
    let mean = |k: usize| sum[k] / n[k].max(1.0);
    let total = s.labels.data().iter().map(|&y| y as f64).sum::<f64>() / s.rows() as f64;
    let row_mean = |x: usize| (1..=10).map(|y| mean(x * v + y)).sum::<f64>() / 10.0;
    let col_mean = |y: usize| (1..=10).map(|x| mean(x * v + y)).sum::<f64>() / 10.0;
    let mut ss = 0.0;
    for x in 1..=10 {
        for y in 1..=10 {
            let r = mean(x * v + y) - row_mean(x) - col_mean(y) + total;
            ss += r * r;
        }
    }
    ss / 100.0
}

#[test]
fn synthetic_truth_matches_what_was_planted() {
    let dir = tempfile::tempdir().unwrap();
    let spec = synthetic(
        dir.path(),
        "planted = [inner(f0, f1, strength = 1.5), outer(f2, f3, strength = 1.5)]",
    );
    let (ds, used) = prep(&spec).unwrap();
    assert_eq!(used, CacheUse::Built);
    let truth = ds.meta.truth.as_ref().unwrap();
    assert_eq!(truth.planted[0].fields, vec!["f0", "f1"]);
    assert_eq!(truth.planted[0].function, "inner");
    assert_eq!(truth.planted[1].function, "outer");
    assert_eq!(truth.noise_fields, vec!["f4", "f5"]);
    assert!(ds.dir.join("truth.ron").exists());
    let planted = interaction_strength(&ds, 0, 1).min(interaction_strength(&ds, 2, 3));
    let noise = interaction_strength(&ds, 4, 5)
        .max(interaction_strength(&ds, 0, 4))
        .max(interaction_strength(&ds, 1, 5));
    assert!(
        planted > 5.0 * noise,
        "planted {planted:.5} vs noise {noise:.5}"
    );
    // The Bayes AUC is well above chance, and a sane probability model.
    let b = ds.meta.bayes.as_ref().unwrap();
    assert!(
        b.iter()
            .all(|m| m.auc > 0.7 && m.auc < 1.0 && m.logloss < 0.69),
        "{b:?}"
    );
}

#[test]
fn synthetic_data_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let spec = synthetic(dir.path(), "planted = [inner(f0, f1)]");
    let (a, _) = prepare(&spec, true, &Progress::hidden()).unwrap();
    let ids = a.splits[0].ids.data().to_vec();
    let labels = a.splits[0].labels.data().to_vec();
    let (b, _) = prepare(&spec, true, &Progress::hidden()).unwrap();
    assert_eq!(b.splits[0].ids.data(), &ids[..]);
    assert_eq!(b.splits[0].labels.data(), &labels[..]);
    assert_eq!(a.meta.bayes, b.meta.bayes);
    let mut other = spec.clone();
    other.seed = 99;
    let (c, _) = prep(&other).unwrap();
    assert_ne!(c.splits[0].labels.data(), &labels[..]);
}

#[test]
fn an_unwritable_cache_is_a_clear_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f.libfm", b"1 1:1 2:1\n0 3:1 2:1\n1 1:1 4:1\n0 3:1 4:1\n1 1:1 2:1\n0 3:1 2:1\n1 1:1 4:1\n0 3:1 4:1\n1 1:1 2:1\n0 3:1 2:1\n");
    // A regular file where the cache folder should be: nothing can be created under it (this
    // fails for root too, unlike permission bits).
    let blocker = write(dir.path(), "blocker", b"not a folder");
    let mut spec = spec_in(dir.path(), "format = libfm\ntrain = \"f.libfm\"");
    spec.data.cache = blocker.join("cache");
    let e = err(&spec);
    assert!(
        e.contains("cannot create the cache folder") && e.contains("blocker"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(&blocker).unwrap(),
        b"not a folder",
        "nothing was written"
    );
}

/// Outputs are readable as any program's: a new file gets 0666 less the umask (the mode that
/// `File::create` gets in the same folder), and a rewritten file keeps its mode.
#[cfg(unix)]
#[test]
fn written_files_follow_the_umask_and_keep_their_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let plain = dir.path().join("plain");
    std::fs::File::create(&plain).unwrap();
    let ours = dir.path().join("ours.ron");
    aim::io::write_atomically(&ours, b"x").unwrap();
    assert_eq!(mode(&ours), mode(&plain), "{:o}", mode(&ours));
    std::fs::set_permissions(&ours, std::fs::Permissions::from_mode(0o640)).unwrap();
    aim::io::write_atomically(&ours, b"y").unwrap();
    assert_eq!(mode(&ours), 0o640);
    assert_eq!(std::fs::read(&ours).unwrap(), b"y");
    // The cache folder, as `mkdir` makes one.
    let plain_dir = dir.path().join("plain_dir");
    std::fs::create_dir(&plain_dir).unwrap();
    let rows: String = (0..100)
        .map(|i| format!("{} {}:1\n", i % 2, i % 10))
        .collect();
    write(dir.path(), "f.libfm", rows.as_bytes());
    let (ds, _) = prep(&spec_in(dir.path(), "format = libfm\ntrain = \"f.libfm\"")).unwrap();
    assert_eq!(mode(&ds.dir), mode(&plain_dir), "{:o}", mode(&ds.dir));
    assert_eq!(mode(&ds.dir.join("meta.ron")), mode(&plain));
}

/// `aim data --export tsv` writes a split back as the rows it came from: the label, each
/// categorical value, an out-of-vocabulary value as an empty cell, and a multi-valued field's
/// values joined by `|` (its missing cell empty).
#[test]
fn a_split_exports_back_to_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let colors = ["red", "blue", "green"];
    let tags = ["a|b", "b", "", "c|a|b"];
    let rows: Vec<(usize, String, &str)> = (0..40)
        .map(|i| {
            // One rare color (seen once in training): out of vocabulary under min_count = 2.
            let c = if i == 5 {
                "rare".to_string()
            } else {
                colors[i % 3].to_string()
            };
            (i % 2, c, tags[i % 4])
        })
        .collect();
    let text: String = rows
        .iter()
        .map(|(y, c, t)| format!("{y},{c},{t}\n"))
        .collect();
    write(
        dir.path(),
        "d.csv",
        format!("y,color,tags\n{text}").as_bytes(),
    );
    let spec = csv_spec(
        dir.path(),
        "color = categorical\ntags = multi(sep = \"|\")",
        "shuffle = false\nmin_count = 2",
    );
    let (ds, _) = prep(&spec).unwrap();
    let out = dir.path().join("train.tsv");
    let n = aim::data::export::tsv(&ds, "train", &out).unwrap();
    let got = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], "label\tcolor\ttags");
    assert_eq!(n, ds.splits[0].rows());
    assert_eq!(lines.len(), n + 1);
    for (i, line) in lines[1..].iter().enumerate() {
        let (y, c, t) = &rows[i];
        let color = if c == "rare" { "" } else { c.as_str() };
        assert_eq!(*line, format!("{y}\t{color}\t{t}"), "row {i}");
    }
    let e = aim::data::export::tsv(&ds, "training", &out).unwrap_err();
    assert!(
        format!("{e}").contains("expected one of train, valid, test"),
        "{e}"
    );
}

/// Synthetic rows export as their category indices, a missing value as an empty cell, with the
/// labels of the cache.
#[test]
fn synthetic_rows_export_with_missing_values_empty() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_in(
        dir.path(),
        "format = synthetic\nrows = 3000\nvocab = [5, 7, 1000]\nzipf = 1.2\nmissing = 0.1\n\
         planted = [inner(f0, f2)]",
    );
    let (ds, _) = prep(&spec).unwrap();
    let out = dir.path().join("test.tsv");
    let n = aim::data::export::tsv(&ds, "test", &out).unwrap();
    let got = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], "label\tf0\tf1\tf2");
    assert_eq!(lines.len(), n + 1);
    let split = &ds.splits[2];
    let mut empty = 0;
    for (r, line) in lines[1..].iter().enumerate() {
        let cells: Vec<&str> = line.split('\t').collect();
        assert_eq!(cells[0], split.labels.data()[r].to_string());
        for (f, cell) in cells[1..].iter().enumerate() {
            let id = split.row(r)[f];
            if id == 0 {
                assert_eq!(*cell, "");
                empty += 1;
            } else {
                assert_eq!(*cell, (id - 1).to_string());
            }
        }
    }
    let rate = empty as f64 / (3 * n) as f64;
    assert!((0.05..0.15).contains(&rate), "missing rate {rate}");
}
