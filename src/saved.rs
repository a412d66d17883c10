//! A saved model: one safetensors file that holds everything needed to score raw rows — the
//! weights, the model's configuration, and the preprocessing (format, numeric bucketing, each
//! field's vocabulary and its missing-value id). `aim run`, `aim train` and `aim transfer`
//! write one; `aim predict` and `examples/score.py` read it. The layout is documented in
//! README (Saved models).
//!
//! Tensors (all little-endian): every dense parameter by its name (`bias`, `mlp.in0`, …,
//! `order2.inner.alpha`), `emb{t}.{field}` `(vocab, kept dims)` per embedding table `t` and
//! field, `linear.{field}` `(vocab, 1)`, `{name}.running_mean` / `.running_var` per batch norm,
//! and `vocab.{field}.offsets` (u64, vocab + 1) with `vocab.{field}.bytes` (u8): the text of
//! id `k` is `bytes[offsets[k]..offsets[k+1]]` (id 0 is `<oov>`). The header's `aim` metadata
//! entry is the JSON of [`Header`].

use crate::data::meta::SplitMetrics;
use crate::data::read::FieldKind;
use crate::model::{Model, ModelConfig};
use crate::spec::{Bucketing, FileFormat, OnError};
use anyhow::{bail, Context, Result};
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Bumped whenever the file's layout or meaning changes.
pub const VERSION: u32 = 1;

/// The largest embedding length a saved model may declare.
const MAX_D: usize = 4096;

/// A field as preprocessing sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedField {
    /// Its name (a column name, or the format's).
    pub name: String,
    /// How its raw values are read.
    pub kind: FieldKind,
    /// Ids 0..vocab; 0 is out-of-vocabulary.
    pub vocab: usize,
    /// The id of a missing value, if it has its own (else missing values are OOV).
    pub missing: Option<u32>,
}

/// How raw rows become ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// The input format (`None` for synthetic data, which has no raw rows).
    pub format: Option<FileFormat>,
    /// How numbers become categories.
    pub numeric: Bucketing,
    /// What a malformed row does.
    pub on_error: OnError,
    /// The fields, in the model's order.
    pub fields: Vec<SavedField>,
}

/// The metadata of a saved model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// [`VERSION`] when written.
    pub version: u32,
    /// What wrote it: `aim run`, `aim train`, `aim transfer`.
    pub written_by: String,
    /// The spec's experiment name.
    pub spec: String,
    /// The model's shape.
    pub config: ModelConfig,
    /// The preprocessing of raw rows.
    pub preprocess: Preprocess,
    /// Platt scaling of the logit, when the model is calibrated.
    pub calibration: Option<crate::calibration::Platt>,
    /// Test AUC and log loss as the writer reported them.
    pub test: Option<SplitMetrics>,
}

/// A saved model, read back: the model, its header, and the text of every id.
pub struct Saved {
    /// The model, in evaluation mode.
    pub model: Model,
    /// Its metadata.
    pub header: Header,
    /// Per field, the text of each id (index 0 is `<oov>`).
    pub vocab: Vec<Vec<Vec<u8>>>,
}

/// The preprocessing of a dataset's cache: fields, vocabularies (read from `vocab.ron`) and
/// the spec's format settings.
pub fn preprocess(
    spec: &crate::spec::Spec,
    ds: &crate::data::Dataset,
) -> Result<(Preprocess, Vec<Vec<Vec<u8>>>)> {
    let format = match &spec.data.source {
        crate::spec::DataSource::Files { format, .. } => Some(format.clone()),
        crate::spec::DataSource::Synthetic(_) => None,
    };
    let vocab = ds.vocab()?;
    let pre = Preprocess {
        format,
        numeric: spec.data.numeric,
        on_error: spec.data.on_error,
        fields: ds
            .meta
            .fields
            .iter()
            .map(|f| SavedField {
                name: f.name.clone(),
                kind: f.kind,
                vocab: f.vocab,
                missing: f.missing,
            })
            .collect(),
    };
    Ok((pre, vocab.into_iter().map(|(_, v)| v).collect()))
}

/// Writes `model` with its preprocessing to `path` (atomically) and returns the file's content
/// hash (FNV-1a of its bytes, hex), which an architecture file records.
pub fn write(
    path: &Path,
    model: &Model,
    written_by: &str,
    spec: &str,
    pre: &Preprocess,
    vocab: &[Vec<Vec<u8>>],
    test: Option<SplitMetrics>,
) -> Result<String> {
    let header = Header {
        version: VERSION,
        written_by: written_by.into(),
        spec: spec.into(),
        config: model.cfg.clone(),
        preprocess: pre.clone(),
        calibration: model.calibration,
        test,
    };
    let mut f32s: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    for p in model.params() {
        f32s.push((p.name.clone(), p.shape.clone(), p.values()));
    }
    let tables = model
        .tables
        .iter()
        .enumerate()
        .map(|(t, tb)| (format!("emb{t}"), tb))
        .chain(model.linear.iter().map(|tb| ("linear".to_string(), tb)));
    for (prefix, tb) in tables {
        for (f, slot) in tb.fields.iter().enumerate() {
            let w = slot.positions.len();
            let mut v = Vec::with_capacity(slot.vocab * w);
            for id in 0..slot.vocab as u32 {
                v.extend_from_slice(tb.row_weights(f, id));
            }
            f32s.push((
                format!("{prefix}.{}", model.cfg.fields[f].name),
                vec![slot.vocab, w],
                v,
            ));
        }
    }
    for (r, name) in model.running().iter().zip(model.running_names()) {
        f32s.push((
            format!("{name}.running_mean"),
            vec![r.mean.len()],
            r.mean.clone(),
        ));
        f32s.push((
            format!("{name}.running_var"),
            vec![r.var.len()],
            r.var.clone(),
        ));
    }
    let mut bytes_tensors: Vec<(String, Vec<u64>, Vec<u8>)> = Vec::new();
    for (field, texts) in pre.fields.iter().zip(vocab) {
        let mut offsets = Vec::with_capacity(texts.len() + 1);
        let mut all = Vec::new();
        offsets.push(0u64);
        for t in texts {
            all.extend_from_slice(t);
            offsets.push(all.len() as u64);
        }
        bytes_tensors.push((field.name.clone(), offsets, all));
    }
    let mut names = std::collections::HashSet::new();
    let mut views: Vec<(String, safetensors::tensor::TensorView<'_>)> = Vec::new();
    for (n, s, v) in &f32s {
        views.push((
            n.clone(),
            safetensors::tensor::TensorView::new(Dtype::F32, s.clone(), as_bytes(v))?,
        ));
    }
    for (field, offsets, all) in &bytes_tensors {
        views.push((
            format!("vocab.{field}.offsets"),
            safetensors::tensor::TensorView::new(
                Dtype::U64,
                vec![offsets.len()],
                as_bytes(offsets),
            )?,
        ));
        views.push((
            format!("vocab.{field}.bytes"),
            safetensors::tensor::TensorView::new(Dtype::U8, vec![all.len()], all)?,
        ));
    }
    for (n, _) in &views {
        if !names.insert(n.clone()) {
            bail!("two tensors of the model are both named `{n}`");
        }
    }
    let meta: HashMap<String, String> =
        [("aim".to_string(), serde_json::to_string(&header)?)].into();
    let bytes = safetensors::serialize(views, &Some(meta))?;
    crate::data::cache::write_atomically(path, &bytes)?;
    Ok(content_hash(&bytes))
}

/// Writes a model trained on a spec's data beside the spec's output as `file` (a file name);
/// returns its path and content hash.
pub fn save_beside_output(
    spec: &crate::spec::Spec,
    ds: &crate::data::Dataset,
    model: &Model,
    written_by: &str,
    file: &str,
    test: Option<SplitMetrics>,
) -> Result<(std::path::PathBuf, String)> {
    let dir = spec
        .output
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = dir.join(file);
    let (pre, vocab) = preprocess(spec, ds)?;
    let hash = write(&path, model, written_by, &spec.name, &pre, &vocab, test)?;
    Ok((path, hash))
}

/// The content hash of a saved model's bytes.
pub fn content_hash(bytes: &[u8]) -> String {
    crate::data::hash::Fnv::default().bytes(bytes).hex()
}

fn as_bytes<T: crate::data::npy::Element>(v: &[T]) -> &[u8] {
    crate::data::npy::as_bytes(v)
}

/// Whether `bytes` look like a safetensors file (its 8-byte header length, then `{`).
pub fn looks_saved(bytes: &[u8]) -> bool {
    bytes.len() > 9 && bytes[8] == b'{'
}

/// Reads a saved model from `bytes` (the contents of `path`, named in errors), checking
/// everything before it is used: the header, the configuration, every tensor's presence,
/// dtype, shape and finiteness, and every vocabulary.
pub fn read(path: &Path, bytes: &[u8]) -> Result<Saved> {
    let at = |what: String| anyhow::anyhow!("{}: {what}", path.display());
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| {
        at(format!(
            "not an aim model file, or a truncated one ({e}); `aim run`, `aim train` and `aim transfer` write them"
        ))
    })?;
    let json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("aim"))
        .ok_or_else(|| at("a safetensors file, but not an aim model (no `aim` metadata)".into()))?;
    let version: serde_json::Value =
        serde_json::from_str(json).map_err(|e| at(format!("damaged model metadata: {e}")))?;
    match version.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(at(format!(
                "written in model format {v}; this aim reads format {VERSION} (re-run the command that wrote it)"
            )))
        }
        None => return Err(at("damaged model metadata: no version".into())),
    }
    let header: Header =
        serde_json::from_str(json).map_err(|e| at(format!("damaged model metadata: {e}")))?;
    validate(&header).map_err(|e| at(format!("not a valid model: {e}")))?;
    let st =
        SafeTensors::deserialize(bytes).map_err(|e| at(format!("truncated or damaged ({e})")))?;
    let tensor = |name: &str, dtype: Dtype, shape: &[usize]| -> Result<&[u8]> {
        let t = st
            .tensor(name)
            .map_err(|_| at(format!("no tensor `{name}`: the file is damaged")))?;
        if t.dtype() != dtype || t.shape() != shape {
            return Err(at(format!(
                "tensor `{name}` is {:?} {:?}, the model needs {dtype:?} {shape:?}",
                t.dtype(),
                t.shape()
            )));
        }
        Ok(t.data())
    };
    let floats = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
        let v: Vec<f32> = tensor(name, Dtype::F32, shape)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(k) = v.iter().position(|x| !x.is_finite()) {
            return Err(at(format!("tensor `{name}`: value {k} is {}", v[k])));
        }
        Ok(v)
    };
    let cfg = &header.config;
    let table_count = cfg.table_functions().len();
    // The embedding tables are by far the largest part: their shapes are checked against the
    // file before the model (which allocates them) is built, so a damaged configuration cannot
    // make it allocate more than the file holds.
    let mut tables: Vec<Vec<f32>> = Vec::new();
    for t in 0..table_count {
        let mut w = Vec::new();
        for f in &cfg.fields {
            w.extend(floats(
                &format!("emb{t}.{}", f.name),
                &[f.vocab, f.positions.len()],
            )?);
        }
        tables.push(w);
    }
    let linear = if cfg.linear {
        let mut w = Vec::new();
        for f in &cfg.fields {
            w.extend(floats(&format!("linear.{}", f.name), &[f.vocab, 1])?);
        }
        Some(w)
    } else {
        None
    };
    let dense = cfg.dense_params();
    if dense > bytes.len() / 4 {
        return Err(at(format!(
            "its configuration has {dense} dense parameters, more than the file's {} bytes hold",
            bytes.len()
        )));
    }
    let mut model = Model::new(cfg.clone(), 0);
    for p in model.params_mut() {
        let v = floats(&p.name.clone(), &p.shape.clone())?;
        p.set(&v);
    }
    for (t, w) in model.tables.iter_mut().zip(&tables) {
        t.set_weights(w);
    }
    if let (Some(t), Some(w)) = (model.linear.as_mut(), &linear) {
        t.set_weights(w);
    }
    let names = model.running_names();
    for (r, name) in model.running_mut().into_iter().zip(names) {
        let n = r.mean.len();
        r.mean = floats(&format!("{name}.running_mean"), &[n])?;
        r.var = floats(&format!("{name}.running_var"), &[n])?;
        if let Some(k) = r.var.iter().position(|&v| v < 0.0) {
            return Err(at(format!("`{name}.running_var`: value {k} is negative")));
        }
    }
    if let Some(p) = header.calibration {
        if !(p.scale.is_finite() && p.scale > 0.0 && p.shift.is_finite()) {
            return Err(at(format!(
                "calibration scale {} and shift {} (the scale must be positive, both finite)",
                p.scale, p.shift
            )));
        }
    }
    model.calibration = header.calibration;
    let mut vocab = Vec::new();
    for f in &header.preprocess.fields {
        let offsets: Vec<u64> = tensor(
            &format!("vocab.{}.offsets", f.name),
            Dtype::U64,
            &[f.vocab + 1],
        )?
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect();
        let name = format!("vocab.{}.bytes", f.name);
        let t = st
            .tensor(&name)
            .map_err(|_| at(format!("no tensor `{name}`: the file is damaged")))?;
        if t.dtype() != Dtype::U8 || t.shape().len() != 1 {
            return Err(at(format!("tensor `{name}` is not a u8 vector")));
        }
        let all = t.data();
        let ok = offsets.first() == Some(&0)
            && offsets.windows(2).all(|w| w[0] <= w[1])
            && offsets.last().map(|&o| o as usize) == Some(all.len());
        if !ok {
            return Err(at(format!(
                "`vocab.{}.offsets` do not index its {} bytes",
                f.name,
                all.len()
            )));
        }
        vocab.push(
            offsets
                .windows(2)
                .map(|w| all[w[0] as usize..w[1] as usize].to_vec())
                .collect(),
        );
    }
    Ok(Saved {
        model,
        header,
        vocab,
    })
}

/// Checks a header's configuration and preprocessing before anything is built from them.
pub fn validate(h: &Header) -> Result<(), String> {
    let c = &h.config;
    let n = c.fields.len();
    if n == 0 {
        return Err("no fields".into());
    }
    if c.d == 0 || c.d > MAX_D {
        return Err(format!("embedding length {} (1..={MAX_D})", c.d));
    }
    if h.preprocess.fields.len() != n {
        return Err(format!(
            "{} fields in the model, {} in its preprocessing",
            n,
            h.preprocess.fields.len()
        ));
    }
    for (f, p) in c.fields.iter().zip(&h.preprocess.fields) {
        if f.name != p.name || f.vocab != p.vocab {
            return Err(format!(
                "field `{}` ({} ids) is `{}` ({} ids) in the preprocessing",
                f.name, f.vocab, p.name, p.vocab
            ));
        }
        if f.vocab == 0 || f.vocab > u32::MAX as usize {
            return Err(format!("field `{}`: vocabulary of {} ids", f.name, f.vocab));
        }
        if f.multi != matches!(p.kind, FieldKind::Multi { .. }) {
            return Err(format!(
                "field `{}`: multi-valued in one place only",
                f.name
            ));
        }
        if p.missing.is_some_and(|m| m == 0 || m as usize >= f.vocab) {
            return Err(format!(
                "field `{}`: missing id {:?} outside 1..{}",
                f.name, p.missing, f.vocab
            ));
        }
        if f.positions.is_empty()
            || f.positions.windows(2).any(|w| w[0] >= w[1])
            || f.positions.iter().any(|&k| k >= c.d)
        {
            return Err(format!(
                "field `{}`: positions {:?} (ascending, below {})",
                f.name, f.positions, c.d
            ));
        }
        if c.fields.iter().filter(|g| g.name == f.name).count() > 1 {
            return Err(format!("field `{}` appears twice", f.name));
        }
    }
    for o in &c.orders {
        if !(2..=4).contains(&o.order) {
            return Err(format!("order {} (2..=4)", o.order));
        }
        for (func, tuples) in &o.functions {
            for t in tuples {
                let distinct = t.iter().enumerate().all(|(i, a)| !t[..i].contains(a));
                if t.len() != o.order || !distinct || t.iter().any(|&f| f >= n) {
                    return Err(format!(
                        "order {} {}: tuple {t:?} ({} distinct fields below {n})",
                        o.order,
                        func.name(),
                        o.order
                    ));
                }
            }
        }
    }
    if let Some(m) = &c.mlp {
        if m.hidden.is_empty() || m.hidden.iter().any(|&h| h == 0 || h > 1 << 16) {
            return Err(format!("MLP widths {:?}", m.hidden));
        }
        if !(0.0..1.0).contains(&m.dropout) {
            return Err(format!("dropout {}", m.dropout));
        }
    }
    if !(c.bn_eps.is_finite() && c.bn_eps > 0.0) {
        return Err(format!("batch-norm ε {}", c.bn_eps));
    }
    if !(c.alpha_init.is_finite() && c.beta_init.is_finite()) {
        return Err("non-finite initial gates".into());
    }
    Ok(())
}

/// Reads the model a user names: a model file, or the architecture file that names one (its
/// content hash must match).
pub fn open(path: &Path) -> Result<Saved> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if looks_saved(&bytes) {
        return read(path, &bytes);
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        anyhow::anyhow!(
            "{}: neither an aim model file nor an architecture file",
            path.display()
        )
    })?;
    let arch: crate::arch::Architecture = ron::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "{}: neither an aim model file nor an architecture file ({e})",
            path.display()
        )
    })?;
    let Some(m) = &arch.model else {
        bail!(
            "{}: this architecture names no saved model (written by an older aim, or without a `retrain` block): re-run `aim run`",
            path.display()
        );
    };
    let file = path.parent().unwrap_or(Path::new("")).join(&m.file);
    let bytes = std::fs::read(&file).with_context(|| {
        format!(
            "cannot read {}, the model {} names",
            file.display(),
            path.display()
        )
    })?;
    let hash = content_hash(&bytes);
    if hash != m.hash {
        bail!(
            "{}: its content hash is {hash}, but {} names hash {}: the model was replaced or damaged after `aim run` wrote both (re-run `aim run`)",
            file.display(),
            path.display(),
            m.hash
        );
    }
    read(&file, &bytes)
}
