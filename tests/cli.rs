//! The `aim` binary: exit codes, output, and the shipped specs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn aim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("aim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SPECS: [&str; 5] = ["synthetic", "frappe", "adult", "criteo", "avazu"];

fn spec(name: &str) -> String {
    format!("specs/{name}.aim")
}

#[test]
fn every_shipped_spec_checks() {
    for name in SPECS {
        let o = aim(&["check", &spec(name)]);
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
    for name in SPECS {
        let o = aim(&["fmt", "--check", &spec(name)]);
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
