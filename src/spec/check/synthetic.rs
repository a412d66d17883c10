//! `data { format = synthetic }`: the generator's table and its planted terms.

use super::*;

pub(super) fn synthetic(sink: &mut Sink, t: &Table) -> SyntheticSpec {
    let vocab_list = t.value("vocab").and_then(|v| match &v.kind {
        ValueKind::List(xs) => Some((v, xs)),
        _ => None,
    });
    // A list of vocabularies says how many fields there are; `fields` may repeat it.
    let fields = match vocab_list {
        Some((_, xs)) if t.value("fields").is_none() => xs.len().max(2),
        _ => t.count(sink, "fields", 12, 2),
    };
    let vocab = match vocab_list {
        Some((v, xs)) => {
            let each: Vec<usize> = xs
                .iter()
                .map(|x| sink.ok(int_in(x, 2, u32::MAX as i64 - 1)).unwrap_or(2) as usize)
                .collect();
            if each.len() != fields {
                sink.push(
                    Diagnostic::error(
                        v.span,
                        format!("{} vocabularies for {fields} fields", each.len()),
                        "expected one per field",
                    )
                    .with_help("give one number for every field, or one number for all"),
                );
            }
            let mut each = each;
            each.resize(fields, 2);
            each
        }
        None => vec![t.count(sink, "vocab", 50, 2); fields],
    };
    let zipf = t.num(sink, "zipf", 0.0, Range::NON_NEGATIVE);
    let missing = t.num(sink, "missing", 0.0, Range::RATE);
    let rows = t.count(sink, "rows", 100_000, 10);
    let rank = t.count(sink, "rank", 4, 1);
    let first_order = t.num(sink, "first_order", 0.1, Range::NON_NEGATIVE);
    let mut planted = Vec::new();
    if let Some(v) = t.value("planted") {
        match &v.kind {
            ValueKind::List(xs) => {
                for x in xs {
                    if let Some(p) = plant(sink, x, fields) {
                        if planted.iter().any(|q: &Planted| q.fields == p.fields) {
                            sink.push(
                                Diagnostic::error(
                                    x.span,
                                    "the same fields are planted twice",
                                    "already planted above",
                                )
                                .with_help("plant each field tuple once; raise `strength` instead"),
                            );
                        } else {
                            planted.push(p);
                        }
                    }
                }
            }
            k => sink.push(expected(
                v,
                "a list like `[inner(f0, f1), outer(f2, f3, strength = 2.0)]`",
                k,
            )),
        }
    }
    SyntheticSpec {
        rows,
        fields,
        vocab,
        zipf,
        missing,
        rank,
        first_order,
        planted,
    }
}

pub(super) const FUNCTIONS: &[&str] = &["inner", "outer", "vector_kernel", "scalar_kernel"];

pub(super) fn plant(sink: &mut Sink, v: &Value, fields: usize) -> Option<Planted> {
    let ValueKind::Call(c) = &v.kind else {
        sink.push(expected(
            v,
            "a planted interaction like `inner(f0, f1)`",
            &v.kind,
        ));
        return None;
    };
    let fname = Value {
        kind: ValueKind::Ident(c.name.name.clone()),
        span: c.name.span,
    };
    let function = sink.ok(choice(&fname, FUNCTIONS, "interaction function"))?;
    let function = InteractionFn::from_name(function).expect("checked against FUNCTIONS");
    let mut idx = Vec::new();
    let mut strength = 1.0;
    let mut rank = None;
    let mut ok = true;
    for a in &c.args {
        match &a.name {
            Some(n) if n.name == "strength" => match sink.ok(num_in(&a.value, Range::ANY)) {
                Some(s) => strength = s,
                None => ok = false,
            },
            Some(n) if n.name == "rank" => match sink.ok(int_in(&a.value, 1, 64)) {
                Some(r) => rank = Some(r as usize),
                None => ok = false,
            },
            Some(n) => {
                sink.push(Diagnostic::error(
                    n.span,
                    format!("unknown argument `{}`", n.name),
                    "expected fields like `f0`, then `strength = …` or `rank = …`",
                ));
                ok = false;
            }
            None => {
                let f = match &a.value.kind {
                    ValueKind::Ident(s) => {
                        s.strip_prefix('f').and_then(|n| n.parse::<usize>().ok())
                    }
                    _ => None,
                };
                match f {
                    Some(i) if i < fields => idx.push((i, a.value.span)),
                    Some(i) => {
                        sink.push(Diagnostic::error(
                            a.value.span,
                            format!("field `f{i}` does not exist"),
                            format!("the data has fields f0..f{}", fields - 1),
                        ));
                        ok = false;
                    }
                    None => {
                        sink.push(expected(
                            &a.value,
                            "a synthetic field name like `f3`",
                            &a.value.kind,
                        ));
                        ok = false;
                    }
                }
            }
        }
    }
    if !ok {
        return None;
    }
    if !(2..=4).contains(&idx.len()) {
        sink.push(Diagnostic::error(
            v.span,
            format!("a planted interaction of {} fields", idx.len()),
            "expected 2, 3 or 4 fields",
        ));
        return None;
    }
    let mut fields: Vec<usize> = idx.iter().map(|(i, _)| *i).collect();
    fields.sort_unstable();
    if let Some(w) = fields.windows(2).find(|w| w[0] == w[1]) {
        let sp = idx
            .iter()
            .filter(|(i, _)| *i == w[0])
            .nth(1)
            .map_or(v.span, |(_, s)| *s);
        sink.push(Diagnostic::error(
            sp,
            format!("field `f{}` appears twice", w[0]),
            "an interaction's fields are distinct",
        ));
        return None;
    }
    Some(Planted {
        fields,
        function,
        strength,
        rank,
    })
}
