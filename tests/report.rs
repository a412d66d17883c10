//! `aim report`: the page parses (as XML, so as HTML too), holds every chart with the
//! architecture's own numbers in it, escapes what came from the data, and bad input is a clear
//! error.

use std::path::Path;
use std::process::Output;

mod common;
use common::stderr;

fn aim(dir: &Path, args: &[&str]) -> Output {
    common::aim_in(dir, args)
}

/// Small planted data with a triple, so that every chart has something to draw, and two seeds
/// against a baseline, so that the comparison has a spread.
const SPEC: &str = r#"experiment "r" {
  seed = 5
  data {
    format = synthetic
    rows = 24_000
    fields = 6
    vocab = 20
    rank = 4
    planted = [
      inner(f0, f1, strength = 1.5),
      scalar_kernel(f2, f3, strength = 1.5),
      inner(f0, f1, f4, strength = 1.5),
    ]
  }
  model {
    embedding_dim = 4
    mlp = [16]
    batch_size = 500
    epochs = 2
  }
  search interactions {
    max_order = 3
    top_k = 3
    functions = [inner, outer, vector_kernel, scalar_kernel]
    epochs = 2
  }
  search embedding_dims {
    epochs = 1
  }
  retrain {
    mlp = [16]
    epochs = 2
  }
  output = "out/r.arch.ron"
}
"#;

/// The page as XML (its `<!DOCTYPE html>` is a DTD to roxmltree).
fn parse(html: &str) -> Result<roxmltree::Document<'_>, roxmltree::Error> {
    roxmltree::Document::parse_with_options(
        html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
}

/// The element with `id`, and every element under it named `tag`.
fn section<'a>(doc: &'a roxmltree::Document, id: &str) -> roxmltree::Node<'a, 'a> {
    doc.descendants()
        .find(|n| n.attribute("id") == Some(id))
        .unwrap_or_else(|| panic!("the page has no #{id}"))
}

fn count(node: roxmltree::Node, tag: &str) -> usize {
    node.descendants()
        .filter(|n| n.tag_name().name() == tag)
        .count()
}

fn titles(node: roxmltree::Node) -> Vec<String> {
    node.descendants()
        .filter(|n| n.tag_name().name() == "title")
        .filter_map(|n| n.text().map(str::to_string))
        .collect()
}

#[test]
fn the_report_has_every_chart_with_the_architectures_numbers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.aim"), SPEC).unwrap();
    let o = aim(
        dir.path(),
        &["run", "r.aim", "-q", "--seeds", "2", "--baseline", "fm"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = aim(dir.path(), &["report", "out/r.arch.ron"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("out/r.report.html"), "{}", stderr(&o));
    let html = std::fs::read_to_string(dir.path().join("out/r.report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Self-contained: nothing fetched, nothing run.
    for banned in ["<script", "https://", "src=", "href="] {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    let namespaces = html.matches("xmlns=\"http://www.w3.org/").count();
    assert_eq!(
        html.matches("http://").count(),
        namespaces,
        "only XML namespaces"
    );
    let doc = parse(&html).expect("the page is well-formed");
    let arch: serde_json::Value = {
        let o = aim(dir.path(), &["show", "out/r.arch.ron", "--json"]);
        assert_eq!(o.status.code(), Some(0));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    for id in aim::report::CHARTS {
        let s = section(&doc, id);
        assert_eq!(count(s, "svg"), 1, "#{id} has one chart");
    }

    // Heat map: every off-diagonal cell, kept pairs with their α, the rest pruned.
    let fields = arch["fields"].as_array().unwrap().len();
    let heat = titles(section(&doc, "order2-heatmap"));
    let interactions = arch["interactions"].as_array().unwrap();
    let pairs: Vec<_> = interactions.iter().filter(|i| i["order"] == 2).collect();
    let kept_cells = heat.iter().filter(|t| t.contains(" α = ")).count();
    let pruned_cells = heat.iter().filter(|t| t.ends_with(": pruned")).count();
    assert_eq!(kept_cells, 2 * pairs.len());
    assert_eq!(kept_cells + pruned_cells, fields * (fields - 1));
    let first = &pairs[0];
    let f = first["functions"][0].as_str().unwrap();
    let a = first["alphas"][f].as_f64().unwrap();
    let expected = format!(
        "{} × {}: {f} α = {a:.3}",
        first["fields"][0].as_str().unwrap(),
        first["fields"][1].as_str().unwrap()
    );
    assert!(
        heat.iter().any(|t| t.starts_with(&expected)),
        "{expected} in {heat:?}"
    );

    // Higher orders: one bar per kept triple, the planted one among them.
    let triples: Vec<_> = interactions.iter().filter(|i| i["order"] == 3).collect();
    let higher = section(&doc, "higher-order");
    let bars = higher
        .descendants()
        .filter(|n| n.tag_name().name() == "rect" && n.has_children())
        .count();
    assert_eq!(bars, triples.len());
    let text: String = higher.descendants().filter_map(|n| n.text()).collect();
    assert_eq!(
        triples.is_empty(),
        text.contains("no interaction of order 3 or more was kept")
    );

    // Dimensions: a row per field with its kept count and vocabulary.
    let dims = titles(section(&doc, "dims-per-field"));
    for f in arch["fields"].as_array().unwrap() {
        let line = format!(
            "{}: {} of 4 dimensions kept, vocabulary {}",
            f["name"].as_str().unwrap(),
            f["dim"],
            f["vocab"]
        );
        assert!(dims.contains(&line), "{line} in {dims:?}");
    }

    // Learning curves: three panels, a line per stage in each, a point per epoch.
    let stages = arch["stages"].as_array().unwrap();
    let curves = section(&doc, "learning-curves");
    assert_eq!(count(curves, "polyline"), 3 * stages.len());
    let epochs: usize = stages
        .iter()
        .map(|s| s["epochs"].as_array().unwrap().len())
        .sum();
    assert_eq!(count(curves, "circle"), 3 * epochs);

    // The comparison: both seeds of the found model and of the baseline.
    let cmp = titles(section(&doc, "params-auc"));
    let seeds = &arch["metrics"]["seeds"]["test_auc"];
    for s in seeds.as_array().unwrap() {
        let t = format!(
            "found by aim run (re-trained): test AUC {:.5}",
            s.as_f64().unwrap()
        );
        assert!(cmp.iter().any(|c| c.starts_with(&t)), "{t} in {cmp:?}");
    }
    assert_eq!(
        cmp.iter()
            .filter(|c| c.starts_with("baseline fm: test AUC"))
            .count(),
        2
    );
    let after = arch["params"]["after"].as_u64().unwrap();
    assert!(cmp.contains(&format!(
        "found by aim run (re-trained): {after} parameters"
    )));

    // Names from the data are escaped: rename a field everywhere in the architecture.
    let ron = std::fs::read_to_string(dir.path().join("out/r.arch.ron")).unwrap();
    let odd = "f<1>&\"x'";
    let ron = ron.replace("\"f1\"", &format!("{odd:?}"));
    std::fs::write(dir.path().join("odd.arch.ron"), ron).unwrap();
    let o = aim(dir.path(), &["report", "odd.arch.ron", "-o", "odd.html"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = std::fs::read_to_string(dir.path().join("odd.html")).unwrap();
    let doc = parse(&html).expect("the page with odd names is well-formed");
    assert!(titles(section(&doc, "dims-per-field"))
        .iter()
        .any(|t| t.starts_with(odd)));
}

#[test]
fn bad_input_to_report_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = aim(dir.path(), &["report", "missing.arch.ron"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing.arch.ron"), "{}", stderr(&o));
    std::fs::write(dir.path().join("junk.arch.ron"), "(spec: 3,").unwrap();
    let o = aim(dir.path(), &["report", "junk.arch.ron"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("junk.arch.ron: not an architecture file: 1:8"),
        "{}",
        stderr(&o)
    );
    assert!(
        !dir.path().join("junk.report.html").exists(),
        "no partial page"
    );
    let o = aim(
        dir.path(),
        &["report", "junk.arch.ron", "-o", "junk.arch.ron"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("would overwrite"), "{}", stderr(&o));
}
