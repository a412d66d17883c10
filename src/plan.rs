//! Spec (+ what is known of the data) → the plan of a run: fields, candidate interactions, gates,
//! steps and GRDA thresholds per stage. `aim check` prints it.

use crate::data::split::split_sizes;
use crate::spec::fmt::float;
use crate::spec::*;
use std::fmt::{self, Write as _};
use std::path::Path;

/// How many training rows there are, and how sure we are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rows {
    /// Known exactly (synthetic data, or counted lines).
    Exact(usize),
    /// Not known before reading the data.
    Unknown,
}

/// One order of the interaction search.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderPlan {
    /// The settings of this order.
    pub search: OrderSearch,
    /// Candidate tuples (order 2: all pairs; higher: an upper bound of the pool).
    pub candidates: Option<usize>,
    /// Whether `candidates` is exact or an upper bound.
    pub exact: bool,
    /// Gates α (candidates × functions).
    pub gates: Option<usize>,
    /// GRDA schedule.
    pub schedule: Schedule,
}

/// Planned GRDA steps and the threshold they end at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    /// Steps T (epochs × steps per epoch), when the row count is known.
    pub steps: Option<u64>,
    /// l1(T).
    pub final_threshold: Option<f64>,
    /// The gates' initial value.
    pub init: f64,
    /// `c = auto`: the threshold is chosen on validation data (`stages::prune`).
    pub auto: bool,
}

impl Schedule {
    fn new(grda: &Grda, epochs: usize, steps_per_epoch: Option<u64>, init: f64) -> Self {
        let steps = steps_per_epoch.map(|s| s * epochs as u64);
        Schedule {
            steps,
            // With `c = auto` every rung's run ends at its own threshold: none is final.
            final_threshold: steps.filter(|_| !grda.auto).map(|t| grda.threshold(t)),
            init,
            auto: grda.auto,
        }
    }

    /// What `aim check` says of the threshold.
    fn describe(&self, gate: &str) -> String {
        if self.auto {
            use crate::stages::prune::{EXTRA_RUNGS, LADDER, TOLERANCE};
            let ladder: Vec<String> = LADDER.iter().map(|t| t.to_string()).collect();
            // The dimension ladder's tolerance is one standard error of the validation AUC
            // (stages::prune::Tolerance), known only once the best rung is.
            let within = if gate == "β" {
                format!("one standard error (Hanley–McNeil, at least {TOLERANCE})")
            } else {
                TOLERANCE.to_string()
            };
            format!(
                "GRDA threshold: c = auto: one search per final threshold l1(T) in [{}] (c solved \
                 for T; up to {EXTRA_RUNGS} doublings more while the sparsest is the best), \
                 keeping the sparsest whose search model is within {within} validation AUC of \
                 the best (a gated term is batch-normed, so τ is its logit std on any dataset; \
                 {gate} init {})",
                ladder.join(", "),
                self.init
            )
        } else {
            format!(
                "GRDA threshold l1(T) = {} vs {gate} init {}",
                opt(self.final_threshold, sci),
                self.init
            )
        }
    }

    /// A warning when the threshold would close every gate or none.
    pub fn warning(&self, what: &str) -> Option<String> {
        if self.auto {
            return None;
        }
        let l1 = self.final_threshold?;
        let t = self.steps?;
        if l1 >= self.init {
            Some(format!(
                "{what}: GRDA's final threshold l1(T={t}) = {} reaches the gates' initial value {}: \
                 every gate whose gradient does not push it away closes; lower `c` or `mu`, or train fewer steps",
                sci(l1),
                self.init
            ))
        } else if l1 < 0.01 * self.init {
            Some(format!(
                "{what}: GRDA's final threshold l1(T={t}) = {} is under 1% of the gates' initial value {}: \
                 almost nothing will be pruned; raise `c` or `mu`, or train more steps",
                sci(l1),
                self.init
            ))
        } else {
            None
        }
    }
}

/// The plan of a run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The checked spec.
    pub spec: Spec,
    /// Fields, when the spec or a quick look at the data tells.
    pub fields: Option<usize>,
    /// Training rows.
    pub train_rows: Rows,
    /// Steps per epoch at the model's batch size.
    pub steps_per_epoch: Option<u64>,
    /// Stage 1, per order.
    pub orders: Vec<OrderPlan>,
    /// Stage 2's schedule and gate count.
    pub dims: Option<(Option<usize>, Schedule)>,
    /// Things worth a second look.
    pub warnings: Vec<String>,
}

impl Plan {
    /// Plans a run of `spec`, counting training rows in its files when they exist and are small
    /// enough to count quickly.
    pub fn new(spec: Spec) -> Self {
        let (fields, train_rows) = data_shape(&spec);
        Self::with_data(spec, fields, train_rows)
    }

    /// Plans a run when the field count and training rows are already known.
    pub fn with_data(spec: Spec, fields: Option<usize>, train_rows: Rows) -> Self {
        let steps_per_epoch = match train_rows {
            Rows::Exact(n) => Some(n.div_ceil(spec.model.batch_size) as u64),
            Rows::Unknown => None,
        };
        let mut warnings = Vec::new();
        let mut orders = Vec::new();
        if let Some(s) = &spec.search_interactions {
            let top_k = s.top_k.or(fields.map(|n| n / 2));
            for o in &s.orders {
                let (candidates, exact) = match (o.order, fields, top_k) {
                    (2, Some(n), _) => (Some(n * (n - 1) / 2), true),
                    (p, Some(n), Some(k)) => (Some(k * (n + 1 - p)), false),
                    _ => (None, false),
                };
                let schedule = Schedule::new(&o.optimizer, o.epochs, steps_per_epoch, s.alpha_init);
                if let Some(w) =
                    schedule.warning(&format!("search interactions, order {}", o.order))
                {
                    warnings.push(w);
                }
                orders.push(OrderPlan {
                    search: o.clone(),
                    candidates,
                    exact,
                    gates: candidates.map(|c| c * s.functions.len()),
                    schedule,
                });
            }
        }
        let dims = spec.search_dims.as_ref().map(|d| {
            let schedule = Schedule::new(&d.optimizer, d.epochs, steps_per_epoch, d.beta_init);
            if let Some(w) = schedule.warning("search embedding_dims") {
                warnings.push(w);
            }
            (fields.map(|n| n * spec.model.embedding_dim), schedule)
        });
        Plan {
            spec,
            fields,
            train_rows,
            steps_per_epoch,
            orders,
            dims,
            warnings,
        }
    }
}

/// Fields and training rows as far as they can be known without processing the data.
fn data_shape(spec: &Spec) -> (Option<usize>, Rows) {
    let fields = check::known_field_count(&spec.data);
    let rows = match &spec.data.source {
        DataSource::Synthetic(s) => {
            Rows::Exact(split_sizes(s.rows, spec.data.split.expect("synthetic data is split"))[0])
        }
        DataSource::Files {
            format,
            train,
            valid,
            test,
        } => {
            let header = !matches!(format, FileFormat::Libfm);
            let count = |p: &Path| count_rows(p, header);
            match spec.data.split {
                None => count(train).map_or(Rows::Unknown, Rows::Exact),
                Some(split) => {
                    let all = [Some(train), valid.as_ref(), test.as_ref()]
                        .into_iter()
                        .flatten()
                        .map(|p| count(p))
                        .sum::<Option<usize>>();
                    all.map_or(Rows::Unknown, |n| Rows::Exact(split_sizes(n, split)[0]))
                }
            }
        }
    };
    let fields = fields.or_else(|| match &spec.data.source {
        DataSource::Files {
            format: FileFormat::Libfm,
            train,
            ..
        } => libfm_fields(train),
        _ => None,
    });
    (fields, rows)
}

/// Non-empty lines of a file (minus a header line), if it is small enough to count quickly.
/// Criteo's raw TSV has no header, which the count cannot tell apart: it is then off by one,
/// which matters to nothing that is planned from it.
fn count_rows(path: &Path, header: bool) -> Option<usize> {
    const QUICK: u64 = 512 << 20;
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() > QUICK {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let lines = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count();
    Some(lines.saturating_sub(usize::from(header)))
}

/// Fields of a libFM file: the number of entries on its first line.
fn libfm_fields(path: &Path) -> Option<usize> {
    use std::io::BufRead;
    let f = std::fs::File::open(path).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(f).read_line(&mut line).ok()?;
    let n = line.split_whitespace().count();
    (n > 1).then_some(n - 1)
}

fn sci(x: f64) -> String {
    if x == 0.0 || (1e-3..1e4).contains(&x.abs()) {
        format!("{x:.4}")
    } else {
        format!("{x:.3e}")
    }
}

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

fn num(n: usize) -> String {
    crate::text::thousands(n as u64)
}

fn opt<T>(x: Option<T>, f: impl Fn(T) -> String) -> String {
    x.map_or("?".to_string(), f)
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
                    num(syn.rows), syn.fields, syn.vocab, syn.rank, split.unwrap_or_default(),
                    syn.planted.len(), if syn.planted.len() == 1 { "" } else { "s" }
                );
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
                if let FileFormat::Csv(c) = format {
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
