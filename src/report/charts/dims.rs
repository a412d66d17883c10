//! Kept embedding dimensions per field, beside the field's vocabulary.

use super::*;

/// Per field: the kept embedding dimensions out of d, beside the vocabulary on a log scale.
pub fn dims_per_field(arch: &Architecture) -> String {
    let names: Vec<&str> = arch.fields.iter().map(|f| f.name.as_str()).collect();
    let margin = text_width(label_chars(names.iter().copied(), 1, 24), 11.0) + 12.0;
    let (dim_w, vocab_w, gap, row) = (240.0, 240.0, 70.0, 18.0);
    let d = arch.embedding_dim.max(1) as f64;
    let max_vocab = arch
        .fields
        .iter()
        .map(|f| f.vocab)
        .max()
        .unwrap_or(1)
        .max(10) as f64;
    let decades = max_vocab.log10().ceil().max(1.0);
    let top = 40.0;
    let height = top + row * names.len() as f64 + 20.0;
    let mut svg = Svg::new(
        margin + dim_w + gap + vocab_w + 60.0,
        height,
        "embedding dimensions per field",
    );
    svg.text(
        margin,
        16.0,
        &format!("kept dimensions (of d = {})", arch.embedding_dim),
        Anchor::Start,
        12.0,
    );
    let vx = margin + dim_w + gap;
    let bottom = top + row * names.len() as f64;
    // A grid line over every row with its label above, for both axes.
    let grid = |svg: &mut Svg, x: f64, label: &str| {
        svg.line(x, top - 4.0, x, bottom, "#e4e4e4", 1.0);
        svg.text(x, top - 8.0, label, Anchor::Middle, 9.0);
    };
    svg.text(vx, 16.0, "vocabulary (log scale)", Anchor::Start, 12.0);
    for k in 0..=arch.embedding_dim {
        if arch.embedding_dim <= 20 || k % 5 == 0 {
            grid(&mut svg, margin + dim_w * k as f64 / d, &k.to_string());
        }
    }
    for e in 0..=decades as usize {
        let label = match e {
            0 => "1".to_string(),
            1..=2 => format!("{}", 10usize.pow(e as u32)),
            _ => format!("1e{e}"),
        };
        grid(&mut svg, vx + vocab_w * e as f64 / decades, &label);
    }
    for (k, f) in arch.fields.iter().enumerate() {
        let y = top + row * k as f64;
        let title = format!(
            "{}: {} of {} dimensions kept, vocabulary {}",
            f.name, f.dim, arch.embedding_dim, f.vocab
        );
        svg.text_titled(
            margin - 6.0,
            y + 13.0,
            &clip(&f.name, 24),
            Anchor::End,
            11.0,
            &title,
        );
        svg.rect(
            margin,
            y + 3.0,
            dim_w * f.dim as f64 / d,
            row - 5.0,
            "#1f77b4",
            Some(&title),
        );
        svg.text(
            margin + dim_w * f.dim as f64 / d + 4.0,
            y + 13.0,
            &f.dim.to_string(),
            Anchor::Start,
            10.0,
        );
        let v = (f.vocab.max(1) as f64).log10() / decades;
        svg.rect(vx, y + 3.0, vocab_w * v, row - 5.0, "#bcbd22", Some(&title));
        svg.text(
            vx + vocab_w * v + 4.0,
            y + 13.0,
            &f.vocab.to_string(),
            Anchor::Start,
            10.0,
        );
    }
    svg.finish()
}
