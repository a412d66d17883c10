//! A model's layers from its configuration.

use super::*;
use crate::nn::embedding::Table;
use crate::nn::gate::{Gate, GateKind};
use crate::nn::interaction::{FunctionBlock, Tuples};
use crate::nn::mlp::Mlp;
use crate::nn::{Backend, Param, Update};
use crate::spec::InteractionFn;
use rand::SeedableRng;

impl Model {
    /// [`Model::new`], or an error when the embedding tables (weights and Adam moments) would
    /// not fit in this machine's memory. A vocabulary past what memory holds, from a corrupt
    /// cache or a mistaken spec, would otherwise end in an allocation failure (an abort) or
    /// the kernel's OOM killer, without a word about which field.
    pub fn try_new(cfg: ModelConfig, seed: u64) -> anyhow::Result<Self> {
        let need = cfg.table_bytes();
        if let Some(have) = total_memory() {
            if need > have {
                let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
                let big = cfg.fields.iter().max_by_key(|f| f.vocab);
                anyhow::bail!(
                    "the model's embedding tables need {:.1} GiB (weights and Adam moments, {} \
                     table(s) of {} fields at d = {}), more than this machine's {:.1} GiB of \
                     memory{}",
                    gib(need),
                    cfg.table_functions().len(),
                    cfg.fields.len(),
                    cfg.d,
                    gib(have),
                    big.map_or(String::new(), |f| format!(
                        "; the largest field is `{}` with {} ids",
                        f.name, f.vocab
                    )),
                );
            }
        }
        Ok(Self::new(cfg, seed))
    }

    /// A model of `cfg`, initialised from `seed`. It allocates its tables unchecked: callers
    /// that read sizes from files or specs use [`Model::try_new`].
    pub fn new(cfg: ModelConfig, seed: u64) -> Self {
        let dev: Backend = Default::default();
        // dfdx's buffer cache stays off: it keeps every freed buffer for reuse by dfdx's own
        // allocations of the same size, and the kernels' buffers (allocated outside it) then pile
        // up step after step (memory grew without bound). Freed buffers are reused through the
        // allocator instead (`crate::tune_allocator`).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let d = cfg.d;
        let fields: Vec<(usize, Vec<usize>)> = cfg
            .fields
            .iter()
            .map(|f| (f.vocab, f.positions.clone()))
            .collect();
        let table_fns = cfg.table_functions();
        let multi: Vec<bool> = cfg.fields.iter().map(|f| f.multi).collect();
        let tables = table_fns
            .iter()
            .map(|_| {
                let mut t = Table::with_init(d, &fields, cfg.init, &mut rng);
                t.set_multi(&multi);
                t
            })
            .collect();
        let linear = cfg.linear.then(|| {
            let lin: Vec<(usize, Vec<usize>)> =
                cfg.fields.iter().map(|f| (f.vocab, vec![0])).collect();
            let mut t = Table::new(1, &lin, &mut rng);
            t.set_multi(&multi);
            t
        });
        let dim_gates = match cfg.dim_gates {
            Some(update) => table_fns
                .iter()
                .map(|_| {
                    Gate::new(
                        &dev,
                        "beta",
                        if cfg.dims_batch_norm {
                            GateKind::BatchNorm
                        } else {
                            GateKind::Scale
                        },
                        (cfg.fields.len(), d),
                        cfg.beta_init,
                        cfg.bn_eps,
                        update,
                    )
                })
                .collect(),
            None => vec![],
        };
        let table_of = |f: InteractionFn| table_fns.iter().position(|t| *t == Some(f)).unwrap_or(0);
        let orders: Vec<OrderBlock> = cfg
            .orders
            .iter()
            .map(|o| {
                let blocks = o
                    .functions
                    .iter()
                    .filter(|(_, tuples)| !tuples.is_empty())
                    .map(|(f, tuples)| {
                        let f = *f;
                        let tuples = Tuples::new(&dev, o.order, tuples.clone());
                        let name = format!("order{}.{}", o.order, f.name());
                        let function = FunctionBlock::new(&dev, &name, f, &tuples, d, &mut rng);
                        let init = if o.gate == GateKind::Scale {
                            1.0
                        } else {
                            cfg.alpha_init
                        };
                        let gate = Gate::new(
                            &dev,
                            &format!("{name}.alpha"),
                            o.gate,
                            (tuples.len(), 1),
                            init,
                            cfg.bn_eps,
                            o.gate_update,
                        );
                        Block {
                            table: table_of(f),
                            tuples,
                            function,
                            gate,
                        }
                    })
                    .collect();
                OrderBlock {
                    order: o.order,
                    blocks,
                    to_logit: o.to_logit,
                }
            })
            .collect();
        let mlp = cfg.mlp.as_ref().map(|m| {
            let groups = cfg.mlp_groups();
            let mut mlp = Mlp::new(
                &dev,
                "mlp",
                &groups,
                &m.hidden,
                m.batch_norm,
                cfg.bn_eps.max(1e-5),
                &mut rng,
            );
            mlp.dropout = m.dropout as f32;
            mlp
        });
        let bias = Param::new(&dev, "bias", vec![1], vec![0.0], Update::Adam);
        Model {
            cfg,
            dev,
            tables,
            linear,
            dim_gates,
            orders,
            mlp,
            bias,
            calibration: None,
        }
    }
}

/// This machine's physical memory in bytes (`MemTotal` of /proc/meminfo; None elsewhere or if
/// unreadable).
fn total_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}
