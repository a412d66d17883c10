//! Checkpoints of a training run, written atomically after every epoch, so that a run can
//! resume from its last finished epoch after a crash and end exactly as the uninterrupted run.
//!
//! One safetensors file: every dense parameter (`p.{i}`) with its Adam moments (`m.{i}`,
//! `v.{i}`), every table's interleaved weights and moments (`t{i}.data`) and last-update steps
//! (`t{i}.touched`), batch-norm statistics (`bn{i}.mean`, `bn{i}.var`), the best epoch's values
//! (`b.…`), and as metadata the run's key, counters, GRDA state and epoch logs.

use crate::model::{Model, Optimizers, Snapshot};
use crate::optim::grda::Grda;
use crate::train::{EpochLog, FitState};
use anyhow::{bail, Context, Result};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

#[derive(Serialize, Deserialize)]
struct Meta {
    key: String,
    adam_t: i32,
    step: u32,
    grda: HashMap<String, Grda>,
    epochs_done: usize,
    logs: Vec<EpochLog>,
    best: Option<(f64, usize)>,
    step_secs: f64,
    step_rows: usize,
}

/// A tensor to write: borrowed where the model holds it whole (the tables, the best snapshot),
/// so that a checkpoint of a 4 GB model does not first copy it.
enum Data<'a> {
    F32(std::borrow::Cow<'a, [f32]>),
    U32(&'a [u32]),
}

/// The key of an `aim train` run (see [`crate::io::run_key`]).
pub fn train_key(spec: &crate::spec::Spec, spec_text: &str, data_key: &str) -> String {
    crate::io::run_key("train", spec, spec_text, data_key)
}

/// Where `aim train` keeps its checkpoint: beside the spec's output.
pub fn train_path(spec: &crate::spec::Spec) -> std::path::PathBuf {
    spec.beside_output("train.ckpt")
}

/// Writes a checkpoint of `model`, `opt` and `state` for the run identified by `key`.
pub fn save(
    path: &Path,
    key: &str,
    model: &Model,
    opt: &Optimizers,
    state: &FitState,
) -> Result<()> {
    use std::borrow::Cow;
    let mut out: Vec<(String, Data)> = Vec::new();
    for (i, p) in model.params().iter().enumerate() {
        out.push((format!("p.{i}"), Data::F32(Cow::Owned(p.values()))));
        if let Some((m, v)) = opt.adam.moments(p) {
            out.push((format!("m.{i}"), Data::F32(Cow::Owned(m))));
            out.push((format!("v.{i}"), Data::F32(Cow::Owned(v))));
        }
    }
    for (i, t) in model.tables.iter().chain(model.linear.iter()).enumerate() {
        let (data, touched) = t.raw();
        out.push((format!("t{i}.data"), Data::F32(Cow::Borrowed(data))));
        out.push((format!("t{i}.touched"), Data::U32(touched)));
    }
    let running = model.running();
    for (i, r) in running.iter().enumerate() {
        out.push((format!("bn{i}.mean"), Data::F32(Cow::Borrowed(&r.mean))));
        out.push((format!("bn{i}.var"), Data::F32(Cow::Borrowed(&r.var))));
    }
    if let Some((_, _, snap)) = &state.best {
        for (i, p) in snap.params.iter().enumerate() {
            out.push((format!("b.p.{i}"), Data::F32(Cow::Borrowed(p))));
        }
        for (i, t) in snap.tables.iter().enumerate() {
            out.push((format!("b.t{i}"), Data::F32(Cow::Borrowed(t))));
        }
        for (i, (m, v)) in snap.running.iter().enumerate() {
            out.push((format!("b.bn{i}.mean"), Data::F32(Cow::Borrowed(m))));
            out.push((format!("b.bn{i}.var"), Data::F32(Cow::Borrowed(v))));
        }
    }
    let meta = Meta {
        key: key.to_string(),
        adam_t: opt.adam.steps(),
        step: opt.step,
        grda: opt.grda.clone(),
        epochs_done: state.epochs_done,
        logs: state.logs.clone(),
        best: state.best.as_ref().map(|(auc, epoch, _)| (*auc, *epoch)),
        step_secs: state.step_secs,
        step_rows: state.step_rows,
    };
    let views: Vec<(String, TensorView<'_>)> = out
        .iter()
        .map(|(name, d)| {
            let (dtype, bytes, n) = match d {
                Data::F32(v) => (Dtype::F32, crate::data::npy::as_bytes(v), v.len()),
                Data::U32(v) => (Dtype::U32, crate::data::npy::as_bytes(v), v.len()),
            };
            (
                name.clone(),
                TensorView::new(dtype, vec![n], bytes).expect("shape matches data"),
            )
        })
        .collect();
    let mut info = HashMap::new();
    info.insert("aim".to_string(), serde_json::to_string(&meta)?);
    // Streamed into the temporary file tensor by tensor: no second copy of the whole state.
    let tmp = crate::io::temp_beside(path)?;
    safetensors::serialize_to_file(views, &Some(info), tmp.path())
        .map_err(anyhow::Error::from)
        .and_then(|_| Ok(tmp.as_file().sync_all()?))
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn f32s(st: &SafeTensors<'_>, name: &str) -> Result<Vec<f32>> {
    let t = st
        .tensor(name)
        .with_context(|| format!("the checkpoint has no `{name}`"))?;
    if t.dtype() != Dtype::F32 {
        bail!("`{name}` is not f32 in the checkpoint");
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn u32s(st: &SafeTensors<'_>, name: &str) -> Result<Vec<u32>> {
    let t = st
        .tensor(name)
        .with_context(|| format!("the checkpoint has no `{name}`"))?;
    Ok(t.data()
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Restores a checkpoint into a model and optimizer built from the same configuration. Returns
/// `None` when there is no checkpoint, or when it belongs to another run (another key).
pub fn load(
    path: &Path,
    key: &str,
    model: &mut Model,
    opt: &mut Optimizers,
) -> Result<Option<FitState>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read the checkpoint {}", path.display()))
        }
    };
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .with_context(|| format!("{}: not a checkpoint", path.display()))?;
    let meta: Meta = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("aim"))
        .map(|s| serde_json::from_str(s))
        .transpose()?
        .with_context(|| format!("{}: not an aim checkpoint", path.display()))?;
    if meta.key != key {
        return Ok(None);
    }
    let st = SafeTensors::deserialize(&bytes)
        .with_context(|| format!("{}: a damaged checkpoint", path.display()))?;
    let mut moments = Vec::new();
    let n_params = model.params().len();
    for (i, p) in model.params_for_test().into_iter().enumerate() {
        let v = f32s(&st, &format!("p.{i}"))?;
        if v.len() != p.len() {
            bail!(
                "the checkpoint does not match the model (parameter {})",
                p.name
            );
        }
        p.set(&v);
    }
    for i in 0..n_params {
        if st.tensor(&format!("m.{i}")).is_ok() {
            moments.push((
                i,
                (f32s(&st, &format!("m.{i}"))?, f32s(&st, &format!("v.{i}"))?),
            ));
        }
    }
    let params = model.params();
    opt.adam.restore(
        meta.adam_t,
        moments.into_iter().map(|(i, mv)| (params[i], mv)),
    )?;
    let tables: Vec<usize> =
        (0..model.tables.len() + usize::from(model.linear.is_some())).collect();
    for i in tables {
        let (data, touched) = (
            f32s(&st, &format!("t{i}.data"))?,
            u32s(&st, &format!("t{i}.touched"))?,
        );
        let t = if i < model.tables.len() {
            &mut model.tables[i]
        } else {
            model.linear.as_mut().expect("linear table")
        };
        t.set_raw(&data, &touched)?;
    }
    for (i, r) in model.running_mut().into_iter().enumerate() {
        r.mean = f32s(&st, &format!("bn{i}.mean"))?;
        r.var = f32s(&st, &format!("bn{i}.var"))?;
    }
    let best = match meta.best {
        None => None,
        Some((auc, epoch)) => {
            let params = (0..n_params)
                .map(|i| f32s(&st, &format!("b.p.{i}")))
                .collect::<Result<Vec<_>>>()?;
            let n_tables = model.tables.len() + usize::from(model.linear.is_some());
            let tables = (0..n_tables)
                .map(|i| f32s(&st, &format!("b.t{i}")))
                .collect::<Result<Vec<_>>>()?;
            let running = (0..model.running().len())
                .map(|i| {
                    Ok((
                        f32s(&st, &format!("b.bn{i}.mean"))?,
                        f32s(&st, &format!("b.bn{i}.var"))?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            Some((
                auc,
                epoch,
                Snapshot {
                    params,
                    tables,
                    running,
                },
            ))
        }
    };
    opt.step = meta.step;
    opt.grda = meta.grda;
    Ok(Some(FitState {
        epochs_done: meta.epochs_done,
        logs: meta.logs,
        best,
        step_secs: meta.step_secs,
        step_rows: meta.step_rows,
    }))
}
