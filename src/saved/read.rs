//! Reading a saved model back: a file on disk is input, so every part is checked before use.

use super::*;

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
    let mut model = Model::try_new(cfg.clone(), 0).map_err(|e| at(e.to_string()))?;
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
