//! `aim predict` and the saved model: scores that reproduce the model's own evaluation, the
//! same preprocessing (OOV, missing values, multi-valued cells, quoted cells), columns found by
//! name, and a clear error (exit 1, no panic) for every kind of bad input.

use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::stderr;

fn aim(dir: &Path, args: &[&str]) -> Output {
    common::aim_in(dir, args)
}

const COLUMNS: [&str; 7] = ["id", "y", "color", "size", "age", "tags", "user"];

/// Rows with a planted signal, and every preprocessing case: a quoted category with the
/// delimiter in it, a category that reads `<missing>`, empty (missing) cells in every kind of
/// field, a multi-valued field, and a user field whose rare values are out-of-vocabulary.
fn rows(rng: &mut impl Rng, n: usize, first_id: usize) -> Vec<[String; 7]> {
    let colors = ["red", "green", "blue", "", "\"a,b\"", "<missing>"];
    let sizes = ["S", "M", "L", "XL", ""];
    let tags = ["x", "y", "z", "w"];
    (0..n)
        .map(|i| {
            let c = colors[rng.gen_range(0..colors.len())];
            let s = sizes[rng.gen_range(0..sizes.len())];
            let age = if rng.gen_bool(0.1) {
                String::new()
            } else {
                format!("{:.1}", rng.gen_range(0.0..90.0))
            };
            let k = rng.gen_range(0..3);
            let t: Vec<&str> = (0..k).map(|_| tags[rng.gen_range(0..4)]).collect();
            let t = t.join("|");
            let user = format!("u{}", rng.gen_range(0..400));
            let z = 0.8 * f64::from(u8::from(c == "red" && s == "L"))
                + 0.5 * t.matches('x').count() as f64
                - 0.4 * f64::from(u8::from(c == "blue"))
                + age.parse::<f64>().map_or(-0.3, |a| 0.02 * a)
                - 1.0;
            let y = u8::from(rng.gen::<f64>() < 1.0 / (1.0 + (-3.0 * z).exp()));
            [
                (first_id + i).to_string(),
                y.to_string(),
                c.to_string(),
                s.to_string(),
                age,
                t,
                user,
            ]
        })
        .collect()
}

/// Writes rows with the given columns (by name, in this order).
fn write_csv(path: &Path, rows: &[[String; 7]], columns: &[&str]) {
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| COLUMNS.iter().position(|x| x == c).unwrap())
        .collect();
    let mut text = columns.join(",") + "\n";
    for r in rows {
        let cells: Vec<&str> = idx.iter().map(|&i| r[i].as_str()).collect();
        text += &(cells.join(",") + "\n");
    }
    std::fs::write(path, text).unwrap();
}

const SPEC: &str = r#"experiment "p" {
  seed = 3
  data {
    format = csv
    train = "train.csv"
    valid = "valid.csv"
    test = "test.csv"
    label = "y"
    min_count = 3
    columns {
      color = categorical
      size = categorical
      age = numeric
      tags = multi(sep = "|")
      user = categorical
    }
  }
  model {
    embedding_dim = 4
    batch_size = 256
    mlp = [16]
    epochs = 2
    calibrate = true
  }
  search interactions {
    functions = [inner, outer, vector_kernel, scalar_kernel]
  }
  retrain {
    mlp = [16]
    epochs = 3
  }
  output = "out/p.arch.ron"
}
"#;

/// A trained run in a temporary folder: the spec, its data and `aim run`'s outputs.
struct Run {
    dir: tempfile::TempDir,
    test_rows: Vec<[String; 7]>,
}

impl Run {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut test_rows = vec![];
        for (name, n) in [("train", 5000), ("valid", 1500), ("test", 1500)] {
            let r = rows(&mut rng, n, 0);
            write_csv(&dir.path().join(format!("{name}.csv")), &r, &COLUMNS);
            if name == "test" {
                test_rows = r;
            }
        }
        std::fs::write(dir.path().join("p.aim"), SPEC).unwrap();
        let o = aim(dir.path(), &["run", "p.aim", "-q"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        Run { dir, test_rows }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn predict(&self, model: &str, data: &str, extra: &[&str]) -> Output {
        let mut args = vec!["predict", model, data, "-q"];
        args.extend_from_slice(extra);
        aim(self.dir.path(), &args)
    }
}

/// The probabilities of a scores file (its last column), in row order.
fn probabilities(path: &Path) -> Vec<f32> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().ends_with("probability"));
    lines
        .map(|l| l.rsplit(',').next().unwrap().parse::<f32>().unwrap())
        .collect()
}

#[test]
fn predict_reproduces_the_models_own_evaluation() {
    let run = Run::new();
    let arch = aim::arch::Architecture::load(&run.path("out/p.arch.ron")).unwrap();
    let named = arch
        .model
        .as_ref()
        .expect("the architecture names its model");
    assert_eq!(named.file, "p.model.safetensors");
    assert!(run.path("out/p.model.safetensors").is_file());
    let test_auc = arch.metrics.retrain.unwrap().test_auc;

    // Scoring the test split's file: the model's own evaluation, bit for bit, and its AUC.
    let o = run.predict("out/p.arch.ron", "test.csv", &["-o", "scores.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("AUC {test_auc:.5}")),
        "{} (test AUC {test_auc})",
        stderr(&o)
    );
    let scored = probabilities(&run.path("scores.csv"));
    let l = aim::spec::load(&run.path("p.aim")).unwrap();
    let spec = l.spec.unwrap();
    let (ds, _) =
        aim::data::prepare(&spec, false, &aim::data::progress::Progress::hidden()).unwrap();
    let mut saved = aim::saved::open(&run.path("out/p.arch.ron")).unwrap();
    let split = &ds.splits[2];
    let mut own = vec![];
    let mut b = aim::data::Batch::default();
    let mut r = 0;
    while r < split.rows() {
        let n = aim::predict::BATCH.min(split.rows() - r);
        b.fill(split, r..r + n);
        own.extend(saved.model.predict(&b));
        r += n;
    }
    assert_eq!(scored.len(), run.test_rows.len());
    assert_eq!(scored, own, "the scores are the evaluation's");
    let auc = aim::metrics::auc(&scored, split.labels.data()).unwrap();
    assert_eq!(auc, test_auc, "the reported test AUC, exactly");

    // No labels, columns in another order, an extra column: the same scores, found by name,
    // and kept columns copied in front (quoted cells stay quoted).
    write_csv(
        &run.path("new.csv"),
        &run.test_rows,
        &["user", "tags", "id", "age", "size", "color"],
    );
    let o = run.predict(
        "out/p.model.safetensors",
        "new.csv",
        &["-o", "new_scores.csv", "--keep", "id,color"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("AUC"), "{}", stderr(&o));
    assert_eq!(probabilities(&run.path("new_scores.csv")), scored);
    let text = std::fs::read_to_string(run.path("new_scores.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,color,probability"));
    for (line, row) in lines.zip(&run.test_rows) {
        assert!(
            line.starts_with(&format!("{},{},", row[0], row[2])),
            "{line} for {row:?}"
        );
    }

    // Past one block: the rows again and again (12 × 1,500 > BATCH), with blank lines
    // between, come out as the same scores in the same order, the line numbers of errors
    // stay right in later blocks, and `aim bench --saved` times this very model.
    let copies = aim::predict::BATCH / run.test_rows.len() + 2;
    let many: Vec<[String; 7]> = (0..copies).flat_map(|_| run.test_rows.clone()).collect();
    write_csv(&run.path("many.csv"), &many, &COLUMNS);
    let text = std::fs::read_to_string(run.path("many.csv")).unwrap();
    let spaced = text.replacen("\n", "\n\n", 7);
    std::fs::write(run.path("many.csv"), &spaced).unwrap();
    let o = run.predict("out/p.arch.ron", "many.csv", &["-o", "many_scores.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let again = probabilities(&run.path("many_scores.csv"));
    assert_eq!(again.len(), many.len());
    for (k, chunk) in again.chunks(scored.len()).enumerate() {
        assert_eq!(chunk, &scored[..], "copy {k}");
    }
    let mut bad_rows = many.clone();
    let bad = bad_rows.len() - 3;
    bad_rows[bad][4] = "old".into();
    write_csv(&run.path("many_bad.csv"), &bad_rows, &COLUMNS);
    let o = run.predict(
        "out/p.arch.ron",
        "many_bad.csv",
        &["-o", "many_bad_scores.csv"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "many_bad.csv:{}: age: `old` is not a number",
            bad + 2
        )),
        "{}",
        stderr(&o)
    );
    assert!(
        !run.path("many_bad_scores.csv").exists(),
        "no partial output"
    );
    let o = aim(
        run.dir.path(),
        &[
            "bench",
            "--saved",
            "out/p.arch.ron",
            "--batch",
            "64",
            "--warmup",
            "1",
            "--steps",
            "2",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["params"], serde_json::json!(saved.model.num_params()));
    assert_eq!(j["batch"], serde_json::json!(64));
    assert!(j["infer_samples_per_s"].as_f64().unwrap() > 0.0, "{j}");
    let o = aim(run.dir.path(), &["bench", "--saved", "nowhere.arch.ron"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("nowhere.arch.ron"), "{}", stderr(&o));

    // To standard output when no file is named.
    let o = run.predict("out/p.arch.ron", "new.csv", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().count(), scored.len() + 1);

    // The numpy reference scorer reads the same file to the same probabilities.
    reference_scorer_agrees(&run, "out/p.model.safetensors", "new.csv", &scored);

    // A missing column is an error naming it.
    write_csv(
        &run.path("short.csv"),
        &run.test_rows,
        &["id", "y", "color", "size", "tags", "user"],
    );
    let o = run.predict("out/p.arch.ron", "short.csv", &["-o", "short_scores.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("short.csv:1: no column `age` in the header"),
        "{}",
        stderr(&o)
    );
    assert!(!run.path("short_scores.csv").exists(), "no partial output");
}

#[test]
fn bad_input_to_predict_is_a_clear_error() {
    let run = Run::new();
    let model = std::fs::read(run.path("out/p.model.safetensors")).unwrap();
    let check = |o: Output, what: &str| {
        assert_eq!(o.status.code(), Some(1), "{what}: {}", stderr(&o));
        assert!(stderr(&o).contains(what), "wanted `{what}`: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    };
    // Not a model at all, and a truncated one.
    std::fs::write(run.path("junk.bin"), b"\x00\x01\x02not a model at all").unwrap();
    check(
        run.predict("junk.bin", "test.csv", &[]),
        "neither an aim model file nor an architecture file",
    );
    std::fs::write(run.path("half.safetensors"), &model[..model.len() / 2]).unwrap();
    check(
        run.predict("half.safetensors", "test.csv", &[]),
        "truncated",
    );
    // An architecture whose model was replaced: its hash no longer matches.
    let arch = std::fs::read_to_string(run.path("out/p.arch.ron")).unwrap();
    let hash = aim::saved::content_hash(&model);
    let edited = arch.replace(&hash, "0123456789abcdef");
    assert_ne!(edited, arch);
    std::fs::write(run.path("out/edited.ron"), edited).unwrap();
    check(
        run.predict("out/edited.ron", "test.csv", &[]),
        "content hash",
    );
    // A hand-edited header: parsed, then refused before anything is built from it.
    let len = u64::from_le_bytes(model[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&model[8..8 + len]).unwrap();
    for (from, to, what) in [
        ("\\\"d\\\":4", "\\\"d\\\":0", "embedding length 0"),
        ("\\\"version\\\":1", "\\\"version\\\":99", "model format 99"),
        ("\\\"order\\\":2", "\\\"order\\\":7", "order 7"),
    ] {
        assert!(header.contains(from), "{from} in {header}");
        let h = header.replacen(from, to, 1);
        let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(h.as_bytes());
        bytes.extend_from_slice(&model[8 + len..]);
        std::fs::write(run.path("edited.safetensors"), bytes).unwrap();
        check(run.predict("edited.safetensors", "test.csv", &[]), what);
    }
    // Rows in another format, and a malformed row: `FILE:LINE: what`.
    std::fs::write(run.path("rows.libfm"), "1 0:1 1:1 2:1\n").unwrap();
    check(
        run.predict("out/p.arch.ron", "rows.libfm", &[]),
        "rows.libfm:1: no column `color` in the header",
    );
    let mut bad = run.test_rows[..3].to_vec();
    bad[1][4] = "old".into();
    write_csv(&run.path("bad.csv"), &bad, &COLUMNS);
    check(
        run.predict("out/p.arch.ron", "bad.csv", &["-o", "bad_scores.csv"]),
        "bad.csv:3: age: `old` is not a number",
    );
    assert!(!run.path("bad_scores.csv").exists(), "no partial output");
    check(
        run.predict("out/p.arch.ron", "none.csv", &[]),
        "none.csv: no such file",
    );
    check(
        run.predict("out/p.arch.ron", "test.csv", &["--keep", "nope"]),
        "`--keep nope`: no such column",
    );
}

/// `examples/score.py` (numpy only) on a model and rows: within 1e-5 of `aim predict`'s
/// probabilities. Says so and returns when python3 or numpy is not installed.
fn reference_scorer_agrees(run: &Run, model: &str, data: &str, expected: &[f32]) {
    let has_numpy = Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_numpy {
        eprintln!("skipped: examples/score.py needs python3 with numpy, which is not installed");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/score.py");
    let o = Command::new("python3")
        .arg(&script)
        .args([model, data, "-o", "py_scores.csv"])
        .current_dir(run.dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let py = probabilities(&run.path("py_scores.csv"));
    assert_eq!(py.len(), expected.len());
    let worst = py
        .iter()
        .zip(expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-5,
        "score.py differs from aim predict by up to {worst}"
    );
}
