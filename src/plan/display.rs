//! The plan as `aim check` prints it.

use super::*;

fn grda(g: &Grda) -> String {
    let c = if g.auto { "auto".into() } else { float(g.c) };
    format!("grda(lr = {}, c = {c}, mu = {})", float(g.lr), float(g.mu))
}

fn adam(a: &Adam) -> String {
    if a.l2 > 0.0 {
        format!("adam(lr = {}, l2 = {})", float(a.lr), float(a.l2))
    } else {
        format!("adam(lr = {})", float(a.lr))
    }
}

/// A spec's `reason = "…"`, word-wrapped under its stage at about 100 columns.
fn reason(text: &str) -> String {
    let mut out = String::from("  reason  ");
    let mut col = out.chars().count();
    for word in text.split_whitespace() {
        if col > 12 && col + 1 + word.chars().count() > 100 {
            out.push_str("\n           ");
            col = 11;
        } else {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += word.chars().count();
    }
    out.push('\n');
    out
}

fn num(n: usize) -> String {
    crate::text::thousands(n as u64)
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.spec;
        let d = &s.data;
        let mut out = String::new();
        let _ = writeln!(out, "experiment \"{}\"   seed {}", s.name, s.seed);
        let split = d.split.map(|[a, b, c]| {
            format!(
                "split {a}/{b}/{c}{}",
                if d.shuffle {
                    ", shuffled"
                } else {
                    " in file order"
                }
            )
        });
        match &d.source {
            DataSource::Synthetic(syn) => {
                let _ = writeln!(
                    out,
                    "data      synthetic: {} rows × {} fields (vocab {}, rank {}), {}; {} planted interaction{}",
                    num(syn.rows), syn.fields, vocab_words(&syn.vocab), syn.rank, split.unwrap_or_default(),
                    syn.planted.len(), if syn.planted.len() == 1 { "" } else { "s" }
                );
                if syn.zipf > 0.0 || syn.missing > 0.0 {
                    let _ = writeln!(
                        out,
                        "            categories drawn {}; {}% of values missing",
                        if syn.zipf > 0.0 {
                            format!("from a Zipf law of exponent {}", syn.zipf)
                        } else {
                            "uniformly".to_string()
                        },
                        syn.missing * 100.0
                    );
                }
                for p in &syn.planted {
                    let names: Vec<String> = p.fields.iter().map(|i| format!("f{i}")).collect();
                    let _ = writeln!(
                        out,
                        "            {}({}) strength {}",
                        p.function,
                        names.join(", "),
                        p.strength
                    );
                }
            }
            DataSource::Files {
                format,
                train,
                valid,
                test,
            } => {
                let files: Vec<String> = [Some(train), valid.as_ref(), test.as_ref()]
                    .into_iter()
                    .zip(["train", "valid", "test"])
                    .filter_map(|(p, k)| p.map(|p| format!("{k} {}", p.display())))
                    .collect();
                let _ = writeln!(out, "data      {}: {}", format.name(), files.join(", "));
                if let Some(sp) = split {
                    let _ = writeln!(out, "          the files are pooled, then {sp}");
                }
                if let FileFormat::Csv(c) | FileFormat::Parquet(c) = format {
                    let cols: Vec<String> = c
                        .columns
                        .iter()
                        .map(|c| match c.role {
                            ColumnRole::Categorical => c.name.clone(),
                            ColumnRole::Numeric => format!("{} (numeric)", c.name),
                            ColumnRole::Multi { sep } => format!("{} (multi '{sep}')", c.name),
                        })
                        .collect();
                    let _ = writeln!(
                        out,
                        "          label `{}`, columns: {}",
                        c.label,
                        cols.join(", ")
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "          fields {}, training rows {}, min_count {}, numeric {}, on_error {}",
            opt(self.fields, |n| n.to_string()),
            match self.train_rows {
                Rows::Exact(n) => num(n),
                Rows::Unknown => "? (known after `aim data`)".into(),
            },
            d.min_count,
            match d.numeric {
                Bucketing::LogSquare => "log_square",
                Bucketing::Identity => "identity",
            },
            match d.on_error {
                OnError::Fail => "fail",
                OnError::Skip => "skip",
            },
        );
        let _ = writeln!(out, "          cache {}", d.cache.display());
        let m = &s.model;
        let _ = writeln!(
            out,
            "model     {}  d = {}{}  batch {}  {}  ≤ {} epochs, patience {}{}",
            m.base.name(),
            m.embedding_dim,
            if m.base.has_mlp() {
                format!("  mlp {:?}", m.mlp)
            } else {
                String::new()
            },
            m.batch_size,
            adam(&m.optimizer),
            m.epochs,
            m.patience,
            opt(self.steps_per_epoch, |n| format!(
                ", {} steps/epoch",
                num(n as usize)
            )),
        );
        let search_std = crate::model::search_init_std(m);
        let _ = writeln!(
            out,
            "          embeddings start normal(0, {}){}",
            crate::model::base_init_std(m),
            match m.init_std {
                Some(_) => " (`init_std`) in every model but the dimension search's (xavier-uniform)".into(),
                None => format!(
                    " ({}'s default, chosen on validation AUC; the search and re-train start normal(0, {search_std}))",
                    m.base.name()
                ),
            }
        );
        match &s.search_interactions {
            None => {
                let _ = writeln!(out, "stage 1   search interactions: skipped (no block)");
            }
            Some(si) => {
                let fns: Vec<&str> = si.functions.iter().map(|f| f.name()).collect();
                let _ = writeln!(
                    out,
                    "stage 1   search interactions: orders 2..={}, functions [{}], {} embeddings, top_k {}, α init {}, bn ε {}",
                    si.max_order, fns.join(", "),
                    match si.embeddings { EmbeddingSharing::FunctionWise => "function-wise", EmbeddingSharing::Shared => "shared" },
                    si.top_k.map_or_else(|| format!("⌊fields/2⌋ = {}", opt(self.fields, |n| (n / 2).to_string())), |k| k.to_string()),
                    si.alpha_init, sci(si.bn_eps),
                );
                for o in &self.orders {
                    let _ = writeln!(
                        out,
                        "  order {}  {}{} candidates, {} gates; {} epoch{}, T = {} steps; gates {}, weights {}",
                        o.search.order,
                        if o.exact { "" } else { "≤ " },
                        opt(o.candidates, num),
                        opt(o.gates, num),
                        o.search.epochs, if o.search.epochs == 1 { "" } else { "s" },
                        opt(o.schedule.steps, |t| num(t as usize)),
                        grda(&o.search.optimizer),
                        adam(&o.search.weights),
                    );
                    let _ = writeln!(out, "           {}", o.schedule.describe("α"));
                }
                if let Some(r) = &si.reason {
                    out.push_str(&reason(r));
                }
            }
        }
        match (&s.search_dims, &self.dims) {
            (Some(ds), Some((gates, sch))) => {
                let _ = writeln!(
                    out,
                    "stage 2   search embedding_dims: {} gates β; {} epoch{}, T = {} steps; gates {}, weights {}, α {}",
                    opt(*gates, num), ds.epochs, if ds.epochs == 1 { "" } else { "s" },
                    opt(sch.steps, |t| num(t as usize)), grda(&ds.optimizer), adam(&ds.weights),
                    match ds.alpha { AlphaDuringEds::Frozen => "frozen", AlphaDuringEds::Adam => "trained by Adam" },
                );
                let _ = writeln!(out, "           {}", sch.describe("β"));
                if let Some(r) = &ds.reason {
                    out.push_str(&reason(r));
                }
            }
            _ => {
                let _ = writeln!(out, "stage 2   search embedding_dims: skipped (no block)");
            }
        }
        match &s.retrain {
            None => {
                let _ = writeln!(out, "stage 3   retrain: skipped (no block)");
            }
            Some(r) => {
                let _ = writeln!(
                    out,
                    "stage 3   retrain: mlp {:?} over {}, {}, ≤ {} epochs, patience {}",
                    r.mlp,
                    r.input.name(),
                    adam(&r.optimizer),
                    r.epochs,
                    r.patience
                );
            }
        }
        let _ = writeln!(out, "output    {}", s.output.display());
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        f.write_str(&out)
    }
}

/// "50" when every field has 50 categories, else "10 to 1,000,000 per field, 2,345,678 in all".
fn vocab_words(vocab: &[usize]) -> String {
    let (lo, hi) = (
        vocab.iter().copied().min().unwrap_or(0),
        vocab.iter().copied().max().unwrap_or(0),
    );
    if lo == hi {
        num(lo)
    } else {
        let total: usize = vocab.iter().sum();
        format!(
            "{} to {} per field, {} in all",
            num(lo),
            num(hi),
            num(total)
        )
    }
}
