//! The `aim` binary: exit codes, output, and the shipped specs.

use std::path::{Path, PathBuf};

use std::process::Output;

mod common;
use common::{stderr, stdout};

fn aim(args: &[&str]) -> Output {
    common::aim_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// Every spec in `specs/`, by name (a new one is covered without listing it).
fn shipped_specs() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("specs")
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "aim").then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    names
}

fn spec(name: &str) -> String {
    format!("specs/{name}.aim")
}

#[test]
fn every_shipped_spec_checks() {
    for name in shipped_specs() {
        let o = aim(&["check", &spec(&name)]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains(&format!("experiment \"{name}\"")), "{out}");
        assert!(
            out.contains("stage 1") && out.contains("stage 2") && out.contains("stage 3"),
            "{out}"
        );
    }
}

#[test]
fn every_shipped_spec_is_canonical() {
    for name in shipped_specs() {
        let o = aim(&["fmt", "--check", &spec(&name)]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
    }
}

#[test]
fn check_prints_the_plan_of_the_synthetic_spec() {
    let o = aim(&["check", "specs/synthetic.aim"]);
    let out = stdout(&o);
    // 12 fields: C(12,2) = 66 pairs × 4 functions; order 3: top_k 6 × (12 − 2) = 60 candidates.
    assert!(out.contains("order 2  66 candidates, 264 gates"), "{out}");
    assert!(out.contains("order 3  ≤ 60 candidates, 240 gates"), "{out}");
    // 504,000 training rows / 2000 per batch = 252 steps; 2 epochs → T = 504.
    assert!(out.contains("T = 504 steps"), "{out}");
    assert!(
        out.contains("GRDA threshold l1(T) = 2.0914 vs α init 0.6"),
        "{out}"
    );
    assert!(out.contains("inner(f0, f1, f8) strength 1.5"), "{out}");
}

fn temp_spec(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.aim");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn an_invalid_spec_exits_2_with_every_error_located() {
    let (_d, p) = temp_spec("experiment \"x\" {\n  data {\n    format = synthetc\n  }\n  model {\n    embedding_dim = 0\n  }\n}\n");
    let o = aim(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains(&format!("{}:3:14", p.display())), "{err}");
    assert!(err.contains(&format!("{}:6:21", p.display())), "{err}");
    assert!(err.contains("did you mean `synthetic`?"), "{err}");
    assert!(err.contains("2 errors"), "{err}");
    assert!(stdout(&o).is_empty(), "no plan for an invalid spec");
}

#[test]
fn a_missing_spec_exits_1() {
    let o = aim(&["check", "no/such/spec.aim"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read no/such/spec.aim"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_bad_flag_is_refused() {
    let o = aim(&["check", "--frobnicate", "specs/synthetic.aim"]);
    assert_eq!(o.status.code(), Some(2), "clap's usage error");
    assert!(stderr(&o).contains("--frobnicate"));
}

#[test]
fn fmt_keeps_comments_and_fixes_layout() {
    let messy = "# top\nexperiment   \"x\"{ # after brace\n seed=1 # trailing\n\n\n  data{\nformat=synthetic\n   split=[0.8,0.1,0.1]\n  }\n}\n";
    let (_d, p) = temp_spec(messy);
    let o = aim(&["fmt", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let expected = "# top\nexperiment \"x\" {  # after brace\n  seed = 1  # trailing\n\n  data {\n    format = synthetic\n    split = [0.8, 0.1, 0.1]\n  }\n}\n";
    assert_eq!(stdout(&o), expected);

    let o = aim(&["fmt", "--check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("s.aim:2: not in canonical form"),
        "{}",
        stderr(&o)
    );

    let o = aim(&["fmt", "--write", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&p).unwrap(), expected);
    assert_eq!(
        aim(&["fmt", "--check", p.to_str().unwrap()]).status.code(),
        Some(0)
    );
}

#[test]
fn fmt_refuses_unparsable_text_and_leaves_it_alone() {
    let (_d, p) = temp_spec("experiment \"x\" {\n  seed = \n");
    let o = aim(&["fmt", "--write", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        "experiment \"x\" {\n  seed = \n"
    );
    assert!(Path::new(&p).exists());
}

#[test]
fn data_json_has_the_documented_fields() {
    let (dir, p) = temp_spec(
        "experiment \"s\" {\n  seed = 3\n  data {\n    format = synthetic\n    rows = 20_000\n    fields = 5\n    vocab = 20\n    planted = [inner(f0, f1), outer(f1, f2, f3)]\n  }\n}\n",
    );
    let o = aim(&["data", p.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["splits"]["train"]["rows"], 16_000);
    assert_eq!(v["splits"]["valid"]["rows"], 2_000);
    assert_eq!(v["splits"]["test"]["rows"], 2_000);
    let rate = v["splits"]["test"]["positive_rate"].as_f64().unwrap();
    assert!(rate > 0.05 && rate < 0.95, "{rate}");
    assert!(v["splits"]["test"]["bayes_auc"].as_f64().unwrap() > 0.6);
    assert_eq!(v["fields"][4]["name"], "f4");
    assert_eq!(v["fields"][4]["vocab"], 21, "20 categories and the OOV id");
    assert_eq!(
        v["truth"]["planted"][1]["fields"],
        serde_json::json!(["f1", "f2", "f3"])
    );
    assert_eq!(v["truth"]["planted"][1]["function"], "outer");
    assert_eq!(v["truth"]["noise_fields"], serde_json::json!(["f4"]));
    assert_eq!(v["reused"], false);
    let again = aim(&["data", p.to_str().unwrap(), "--json"]);
    let w: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(w["reused"], true);
    assert_eq!(w["splits"], v["splits"]);
    drop(dir);
}

#[test]
fn data_text_summary() {
    let (_dir, p) = temp_spec(
        "experiment \"s\" {\n  data {\n    format = synthetic\n    rows = 1_000\n    fields = 3\n    planted = [inner(f0, f1)]\n  }\n}\n",
    );
    let o = aim(&["data", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let train: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("train"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(train[1], "800", "{out}");
    assert!(out.contains("inner(f0, f1) strength 1"), "{out}");
    assert!(out.contains("noise fields: f2"), "{out}");
}

#[test]
fn a_malformed_row_exits_1_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.libfm");
    let mut rows: String = (0..30).map(|i| format!("{} {}:1\n", i % 2, i)).collect();
    rows.push_str("7 1:1\n");
    std::fs::write(&data, rows).unwrap();
    let spec = dir.path().join("s.aim");
    std::fs::write(
        &spec,
        "experiment \"s\" {\n  data {\n    format = libfm\n    train = \"d.libfm\"\n  }\n}\n",
    )
    .unwrap();
    let o = aim(&["data", spec.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "error: {}:31: label `7` is not 0, 1 or -1",
            data.display()
        )),
        "{err}"
    );
    assert!(err.contains("on_error = skip"), "{err}");
    assert!(stdout(&o).is_empty());
    let cache = dir.path().join(".aim-cache/s");
    let left: Vec<_> = std::fs::read_dir(&cache)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "nothing is left in the cache folder: {left:?}"
    );
}

#[test]
fn run_writes_an_architecture_that_show_prints_as_json() {
    let (dir, p) = temp_spec(
        "experiment \"tiny\" {\n  seed = 1\n  data {\n    format = synthetic\n    rows = 20_000\n    fields = 5\n    vocab = 10\n    planted = [inner(f0, f1, strength = 2.0)]\n  }\n  model {\n    embedding_dim = 4\n    batch_size = 500\n  }\n  search interactions {\n    functions = [inner, outer]\n    optimizer = grda(lr = 1.0, c = 0.05, mu = 0.6)\n    weights = adam(lr = 0.01)\n  }\n  search embedding_dims {\n    optimizer = grda(lr = 1.0, c = 0.01, mu = 0.51)\n  }\n  retrain {\n    mlp = [16]\n    epochs = 2\n  }\n  output = \"out/tiny.ron\"\n}\n",
    );
    let o = aim(&["run", p.to_str().unwrap(), "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("re-trained: test AUC"),
        "{}",
        stdout(&o)
    );
    let arch = dir.path().join("out/tiny.ron");
    assert!(arch.exists());
    let o = aim(&["show", arch.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["fields"][0]["name"], "f0");
    assert_eq!(v["fields"][0]["vocab"], 11);
    assert!(v["fields"][0]["dim"].as_u64().unwrap() <= 4);
    let first = &v["interactions"][0];
    assert_eq!(first["order"], 2);
    assert!(first["fields"].is_array() && first["functions"].is_array());
    let f0 = first["functions"][0].as_str().unwrap();
    assert!(
        first["alphas"][f0].as_f64().unwrap() != 0.0,
        "alphas maps function names to α"
    );
    let data = aim(&["data", p.to_str().unwrap(), "--json", "-q"]);
    let data: serde_json::Value = serde_json::from_slice(&data.stdout).unwrap();
    let bayes = data["splits"]["test"]["bayes_auc"].as_f64().unwrap();
    let auc = v["metrics"]["retrain"]["test_auc"].as_f64().unwrap();
    eprintln!("test AUC {auc}, Bayes {bayes}");
    // Two re-train epochs on 16k rows (0.725 against the Bayes 0.835): the bound asks for at
    // least half of what is learnable above chance, and nothing above the ceiling.
    assert!(
        auc > 0.5 + (bayes - 0.5) / 2.0 && auc <= bayes + 0.01,
        "test AUC {auc} against the Bayes AUC {bayes}"
    );
    assert!(v["metrics"]["retrain"]["test_logloss"].as_f64().is_some());
    assert!(
        v["params"]["before"].as_u64().unwrap() > 0 && v["params"]["after"].as_u64().unwrap() > 0
    );
    let o = aim(&["show", arch.to_str().unwrap()]);
    assert!(stdout(&o).contains("order 2: kept"), "{}", stdout(&o));
    let o = aim(&["show", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not an architecture file"),
        "{}",
        stderr(&o)
    );
    // Hand-edited architectures: a clear error and exit 1 from show and transfer, no panic.
    let text = std::fs::read_to_string(&arch).unwrap();
    let at = text.find("interactions:").unwrap();
    let (head, tail) = text.split_at(at);
    let f0 = f0.to_string();
    for (edited, why) in [
        (
            format!("{head}{}", tail.replacen("order: 2,", "order: 3,", 1)),
            "order 3 with 2 fields",
        ),
        (
            format!(
                "{head}{}",
                tail.replacen(&format!("\"{f0}\":"), "\"other\":", 1)
            ),
            "has no α",
        ),
    ] {
        assert_ne!(edited, text, "the edit applies");
        let bad = dir.path().join("out/edited.ron");
        std::fs::write(&bad, &edited).unwrap();
        for args in [
            vec!["show", bad.to_str().unwrap()],
            vec![
                "transfer",
                bad.to_str().unwrap(),
                p.to_str().unwrap(),
                "--base",
                "deepfm",
                "-q",
            ],
        ] {
            let o = aim(&args);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
            assert!(
                stderr(&o).contains("not a valid architecture") && stderr(&o).contains(why),
                "{args:?}: {}",
                stderr(&o)
            );
        }
    }
}

#[test]
fn train_resumes_from_the_checkpoint_of_an_interrupted_run() {
    let text = "experiment \"r\" {\n  seed = 4\n  data {\n    format = synthetic\n    rows = 6_000\n    fields = 4\n    vocab = 10\n    planted = [inner(f0, f1)]\n  }\n  model {\n    base = deepfm\n    embedding_dim = 4\n    mlp = [8]\n    batch_size = 500\n    epochs = 3\n    patience = 5\n  }\n  output = \"out/r.ron\"\n}\n";
    let (dir, p) = temp_spec(text);
    // An interrupted run: the library trains one epoch, checkpoints, then "crashes".
    let l = aim::spec::load(&p).unwrap();
    let spec = l.spec.unwrap();
    let ds = aim::data::prepare(&spec, false, &aim::data::progress::Progress::hidden())
        .unwrap()
        .0;
    let cfg =
        aim::model::ModelConfig::base(&spec.model, aim::train::fields(&ds, 4).unwrap()).unwrap();
    let mut model = aim::model::Model::new(cfg, spec.seed);
    let mut opt = aim::model::Optimizers::new(spec.model.optimizer.lr, spec.model.optimizer.l2);
    // `aim train` checkpoints as the stage named after its base model.
    let key = format!(
        "{}/deepfm",
        aim::checkpoint::train_key(&spec, &l.source.text, &ds.meta.key)
    );
    let ckpt = aim::checkpoint::train_path(&spec);
    let o = aim::train::TrainOptions::for_model(&spec.model, spec.seed);
    let quiet = aim::data::progress::Progress::hidden();
    let crashed = aim::train::Trainer::new(&ds, &o, &quiet).fit(
        &mut model,
        &mut opt,
        Default::default(),
        &mut aim::train::OnCheckpoint::new(|m, opt, s| {
            aim::checkpoint::save(&ckpt, &key, m, opt, s)?;
            anyhow::bail!("crash")
        }),
    );
    assert!(crashed.is_err() && ckpt.exists());

    let resumed = aim(&["train", p.to_str().unwrap()]);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains("resuming from epoch 1"),
        "{}",
        stderr(&resumed)
    );
    assert!(!ckpt.exists(), "a finished run removes its checkpoint");
    let fresh = aim(&["train", p.to_str().unwrap(), "--fresh"]);
    assert!(!stderr(&fresh).contains("resuming"));
    let auc = |o: &Output| {
        stdout(o)
            .split("test AUC ")
            .nth(1)
            .unwrap()
            .split(',')
            .take(2)
            .collect::<Vec<_>>()
            .join(",")
    };
    assert_eq!(
        auc(&resumed),
        auc(&fresh),
        "the resumed run ends as the uninterrupted one"
    );
    drop(dir);
}

#[test]
fn run_reuses_finished_stages_and_reruns_from_a_chosen_one() {
    let (dir, p) = temp_spec(
        "experiment \"st\" {\n  seed = 2\n  data {\n    format = synthetic\n    rows = 8_000\n    fields = 4\n    vocab = 8\n    planted = [inner(f0, f1, strength = 2.0)]\n  }\n  model {\n    embedding_dim = 4\n    batch_size = 500\n  }\n  search interactions {\n    functions = [inner]\n    optimizer = grda(lr = 1.0, c = 0.05, mu = 0.6)\n    weights = adam(lr = 0.01)\n  }\n  search embedding_dims {\n    optimizer = grda(lr = 1.0, c = 0.01, mu = 0.51)\n  }\n  retrain {\n    mlp = [8]\n    epochs = 1\n  }\n  output = \"out/st.ron\"\n}\n",
    );
    let spec = p.to_str().unwrap();
    let first = aim(&["run", spec, "-q"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(!stderr(&first).contains("reusing"));
    assert!(dir.path().join("out/st.stages.ron").exists());
    // An interrupted run would find its finished stages: the second run reuses both searches.
    let second = aim(&["run", spec, "-q"]);
    assert!(
        stderr(&second).contains("search interactions: reusing the finished stage"),
        "{}",
        stderr(&second)
    );
    assert!(stderr(&second).contains("search embedding_dims: reusing the finished stage"));
    let arch = |o: &Output| {
        stdout(o)
            .lines()
            .filter(|l| l.starts_with("  ("))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(arch(&first), arch(&second), "the same architecture");
    // --from embedding_dims reuses stage 1 only; --from interactions reruns everything.
    let from_dims = aim(&["run", spec, "-q", "--from", "embedding-dims"]);
    assert!(
        stderr(&from_dims).contains("search interactions: reusing")
            && !stderr(&from_dims).contains("embedding_dims: reusing"),
        "{}",
        stderr(&from_dims)
    );
    let all = aim(&["run", spec, "-q", "--from", "interactions"]);
    assert!(!stderr(&all).contains("reusing"), "{}", stderr(&all));
    // A changed spec is another run: nothing is reused.
    std::fs::write(
        &p,
        std::fs::read_to_string(&p)
            .unwrap()
            .replace("seed = 2", "seed = 3"),
    )
    .unwrap();
    let changed = aim(&["run", spec, "-q"]);
    assert!(
        !stderr(&changed).contains("reusing"),
        "{}",
        stderr(&changed)
    );
}

#[test]
fn transfer_retrains_another_base_with_the_found_interactions() {
    let (dir, p) = temp_spec(
        "experiment \"tr\" {\n  seed = 5\n  data {\n    format = synthetic\n    rows = 8_000\n    fields = 5\n    vocab = 8\n    planted = [inner(f0, f1, strength = 2.0)]\n  }\n  model {\n    embedding_dim = 4\n    mlp = [8]\n    batch_size = 500\n    epochs = 2\n  }\n  search interactions {\n    functions = [inner, outer]\n    optimizer = grda(lr = 1.0, c = 0.05, mu = 0.6)\n    weights = adam(lr = 0.01)\n  }\n  retrain {\n    mlp = [8]\n    epochs = 1\n  }\n  output = \"out/tr.ron\"\n}\n",
    );
    assert_eq!(
        aim(&["run", p.to_str().unwrap(), "-q"]).status.code(),
        Some(0)
    );
    let arch_path = dir.path().join("out/tr.ron");
    let arch: aim::arch::Architecture =
        ron::from_str(&std::fs::read_to_string(&arch_path).unwrap()).unwrap();
    for base in ["ipnn", "deepfm"] {
        let o = aim(&[
            "transfer",
            arch_path.to_str().unwrap(),
            p.to_str().unwrap(),
            "--base",
            base,
            "-q",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.starts_with(&format!(
                "{base} with the {} interactions of",
                arch.interactions.len()
            )),
            "{out}"
        );
        assert!(out.contains("test AUC"), "{out}");
    }
    // The transferred model has one gate per found interaction-function pair.
    let l = aim::spec::load(&p).unwrap();
    let spec = l.spec.unwrap();
    let ds = aim::data::prepare(&spec, false, &aim::data::progress::Progress::hidden())
        .unwrap()
        .0;
    let cfg = aim::stages::transfer::config(
        &arch,
        &spec.model,
        aim::spec::BaseModel::Ipnn,
        aim::train::fields(&ds, 4).unwrap(),
    )
    .unwrap();
    let pairs: usize = cfg
        .orders
        .iter()
        .flat_map(|o| o.functions.iter().map(|(_, t)| t.len()))
        .sum();
    assert_eq!(
        pairs,
        arch.interactions
            .iter()
            .map(|i| i.functions.len())
            .sum::<usize>()
    );
    let o = aim(&[
        "transfer",
        arch_path.to_str().unwrap(),
        p.to_str().unwrap(),
        "--base",
        "fm",
    ]);
    assert_eq!(o.status.code(), Some(2), "only deepfm or ipnn");
}

#[test]
fn run_with_seeds_reports_mean_std_and_a_t_test_against_a_baseline() {
    let (dir, p) = temp_spec(
        "experiment \"sd\" {\n  seed = 7\n  data {\n    format = synthetic\n    rows = 8_000\n    fields = 4\n    vocab = 8\n    planted = [inner(f0, f1, strength = 2.0)]\n  }\n  model {\n    embedding_dim = 4\n    batch_size = 500\n    epochs = 2\n  }\n  search interactions {\n    functions = [inner]\n    optimizer = grda(lr = 1.0, c = 0.05, mu = 0.6)\n    weights = adam(lr = 0.01)\n  }\n  retrain {\n    mlp = [8]\n    epochs = 2\n  }\n  output = \"out/sd.ron\"\n}\n",
    );
    let o = aim(&[
        "run",
        p.to_str().unwrap(),
        "-q",
        "--seeds",
        "3",
        "--baseline",
        "fm",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("over 3 seeds: test AUC"), "{out}");
    assert!(
        out.contains("baseline fm: test AUC") && out.contains("Welch's t-test p ="),
        "{out}"
    );
    let arch: aim::arch::Architecture =
        ron::from_str(&std::fs::read_to_string(dir.path().join("out/sd.ron")).unwrap()).unwrap();
    let s = arch.metrics.seeds.unwrap();
    assert_eq!(s.seeds, vec![7, 8, 9]);
    assert_eq!(s.test_auc.len(), 3);
    assert!(
        s.test_auc.windows(2).any(|w| w[0] != w[1]),
        "different seeds, different runs"
    );
    let b = &arch.metrics.baselines[0];
    // The p-values are Welch's test of exactly these per-seed numbers, in either order.
    assert_eq!(
        b.p_auc,
        aim::stats::welch_p(&s.test_auc, &b.metrics.test_auc)
    );
    assert_eq!(
        b.p_auc,
        aim::stats::welch_p(&b.metrics.test_auc, &s.test_auc)
    );
    assert_eq!(
        b.p_logloss,
        aim::stats::welch_p(&s.test_logloss, &b.metrics.test_logloss)
    );
    assert_eq!(b.metrics.seeds, s.seeds);
    assert!(b.p_auc > 0.0 && b.p_auc < 1.0);
    // Without a `retrain` block there is nothing to repeat: said at once, before any search.
    let text = std::fs::read_to_string(&p).unwrap();
    let start = text.find("  retrain {").unwrap();
    let end = start + text[start..].find("  }\n").unwrap() + 4;
    let no_retrain = dir.path().join("no_retrain.aim");
    std::fs::write(&no_retrain, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let t0 = std::time::Instant::now();
    let o = aim(&["run", no_retrain.to_str().unwrap(), "-q", "--seeds", "2"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("has no `retrain` block"),
        "{}",
        stderr(&o)
    );
    assert!(
        t0.elapsed().as_secs_f64() < 1.0,
        "refused before the searches"
    );
    let o = aim(&["run", p.to_str().unwrap(), "-q", "--baseline", "fm"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("needs at least 2 seeds"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bench_prints_one_json_object_with_the_contracted_fields() {
    for model in ["deepfm", "search", "retrain"] {
        let o = aim(&[
            "bench", "--model", model, "--fields", "6", "--vocab", "600", "-d", "4", "--mlp",
            "16,8", "--batch", "64", "--warmup", "1", "--steps", "3", "--json",
        ]);
        assert!(o.status.success(), "{model}: {}", stderr(&o));
        let v: serde_json::Value =
            serde_json::from_str(stdout(&o).trim()).expect("one JSON object");
        for key in [
            "train_samples_per_s",
            "infer_samples_per_s",
            "peak_rss_mb",
            "data_wait_ms",
        ] {
            let x = v[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{model}: {key} in {v}"));
            assert!(x.is_finite() && x >= 0.0, "{model}: {key} = {x}");
        }
        assert!(v["train_samples_per_s"].as_f64().unwrap() > 0.0);
        assert_eq!(v["options"]["model"], model);
        assert_eq!(v["options"]["batch"], 64);
    }
}

#[test]
fn bench_refuses_an_impossible_shape() {
    let o = aim(&["bench", "--threads", "0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--threads"), "{}", stderr(&o));
    let o = aim(&["bench", "--mlp", "400,0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--mlp"), "{}", stderr(&o));
    let o = aim(&["bench", "--fields", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("fields"), "{}", stderr(&o));
}
