//! Writing a saved model: the weights, configuration and preprocessing as one safetensors file,
//! written atomically.

use super::*;

fn as_bytes<T: crate::data::npy::Element>(v: &[T]) -> &[u8] {
    crate::data::npy::as_bytes(v)
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
    crate::io::write_atomically(path, &bytes)?;
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
