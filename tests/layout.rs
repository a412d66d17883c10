//! The house rules of `src/`, checked on the source: no file imports, through `crate::` paths,
//! a file that imports it back (directly or around a longer loop); no file over ~400 lines
//! without its reason written at its top; `main.rs` a thin layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are the module `a::b`; `lib.rs` and `main.rs` the root.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .filter(|c| c != "mod")
        .collect();
    match parts.as_slice() {
        [one] if one == "lib" || one == "main" => String::new(),
        _ => parts.join("::"),
    }
}

/// The source of a file without its unit tests (a `#[cfg(test)]` module at the end may use
/// anything).
fn non_test(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap()
}

/// The modules a file names through `crate::a::b…` paths and `use crate::{a, b::c}` groups.
fn references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect::<String>()
            .trim_end_matches(':')
            .to_string()
    };
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(group.split(',').map(|g| ident(g.trim())));
        } else {
            out.push(ident(rest));
        }
    }
    out
}

/// The longest prefix of `path` that is a module with a file.
fn resolve(modules: &BTreeSet<String>, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    while !parts.is_empty() {
        let m = parts.join("::");
        if modules.contains(&m) {
            return Some(m);
        }
        parts.pop();
    }
    None
}

fn sources() -> (PathBuf, Vec<(PathBuf, String)>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let texts = files
        .into_iter()
        .map(|f| {
            let t = std::fs::read_to_string(&f).unwrap();
            (f, t)
        })
        .collect();
    (src, texts)
}

/// File-level import graph: module → the modules it names (not itself, not its ancestors).
fn graph(src: &Path, files: &[(PathBuf, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = files.iter().map(|(f, _)| module_of(src, f)).collect();
    let mut g = BTreeMap::new();
    for (f, text) in files {
        let m = module_of(src, f);
        let mut to = BTreeSet::new();
        for r in references(non_test(text)) {
            if let Some(r) = resolve(&modules, &r) {
                let ancestor = m.starts_with(&format!("{r}::"));
                if r != m && !ancestor && !r.is_empty() {
                    to.insert(r);
                }
            }
        }
        g.insert(m, to);
    }
    g
}

/// The files on an import cycle, each with one loop it is on.
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for start in g.keys() {
        // Breadth-first from `start`'s imports, keeping each module's predecessor.
        let mut prev: BTreeMap<String, String> = BTreeMap::new();
        let mut queue: std::collections::VecDeque<String> = g[start]
            .iter()
            .map(|n| {
                prev.insert(n.clone(), start.clone());
                n.clone()
            })
            .collect();
        while let Some(x) = queue.pop_front() {
            if &x == start {
                let mut path = vec![start.clone()];
                let mut at = prev[start].clone();
                while &at != start {
                    path.push(at.clone());
                    at = prev[&at].clone();
                }
                path.push(start.clone());
                path.reverse();
                found.push(path);
                break;
            }
            for n in g.get(&x).into_iter().flatten() {
                if !prev.contains_key(n) {
                    prev.insert(n.clone(), x.clone());
                    queue.push_back(n.clone());
                }
            }
        }
    }
    found
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let (src, files) = sources();
    let g = graph(&src, &files);
    // The check sees real edges: the pipeline writes the architecture, the trainer reads batches.
    assert!(g["stages::pipeline"].contains("arch"), "{g:?}");
    assert!(g["train::trainer"].contains("nn::embedding"), "{g:?}");
    assert_eq!(cycles(&g), Vec::<Vec<String>>::new());
}

#[test]
fn the_cycle_check_finds_a_planted_loop() {
    let files = vec![
        (PathBuf::from("src/a.rs"), "use crate::b::x;".to_string()),
        (
            PathBuf::from("src/b/mod.rs"),
            "use crate::{c, d};".to_string(),
        ),
        (
            PathBuf::from("src/c.rs"),
            "fn f() { crate::a::g() }".to_string(),
        ),
        (
            PathBuf::from("src/d.rs"),
            "#[cfg(test)] use crate::a;".to_string(),
        ),
    ];
    let g = graph(Path::new("src"), &files);
    assert_eq!(
        cycles(&g)[0],
        vec!["a", "b", "c", "a"],
        "a → b → c → a, and d's test-only import is no edge: {g:?}"
    );
}

#[test]
fn long_files_say_why_at_their_top() {
    let (src, files) = sources();
    let mut unexplained = Vec::new();
    for (f, text) in &files {
        let lines = text.lines().count();
        // "~400 lines": a few over is a file that grew a little, not a second concept.
        let top: String = text.lines().take(12).collect::<Vec<_>>().join("\n");
        if lines > 420 && !top.contains("Longer than") {
            unexplained.push(format!(
                "{} ({lines} lines)",
                f.strip_prefix(&src).unwrap().display()
            ));
        }
    }
    assert!(
        unexplained.is_empty(),
        "over ~400 lines with no reason at the top: {unexplained:?}"
    );
    let main = files.iter().find(|(f, _)| f.ends_with("main.rs")).unwrap();
    assert!(main.1.lines().count() < 150, "main.rs is the clap layer");
}
