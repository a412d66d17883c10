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
            let parquet = matches!(format, FileFormat::Parquet(_));
            let count = |p: &Path| match parquet {
                true => parquet_rows(p),
                false => count_rows(p, header),
            };
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

/// Rows of a Parquet file, from its footer.
fn parquet_rows(path: &Path) -> Option<usize> {
    use ::parquet::file::reader::{FileReader, SerializedFileReader};
    let r = SerializedFileReader::new(std::fs::File::open(path).ok()?).ok()?;
    usize::try_from(r.metadata().file_metadata().num_rows()).ok()
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

fn opt<T>(x: Option<T>, f: impl Fn(T) -> String) -> String {
    x.map_or("?".to_string(), f)
}

mod display;
