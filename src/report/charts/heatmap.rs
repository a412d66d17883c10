//! The order-2 gate heat map: fields × fields, the strongest |α| and its function per cell.

use super::*;

/// Fields × fields: each cell is the pair's strongest kept function, its opacity |α| over the
/// largest; pruned pairs are grey.
pub fn order2_heatmap(arch: &Architecture) -> String {
    let names: Vec<&str> = arch.fields.iter().map(|f| f.name.as_str()).collect();
    let nf = names.len();
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut cell: BTreeMap<(usize, usize), &ArchInteraction> = BTreeMap::new();
    for i in arch.interactions.iter().filter(|i| i.order == 2) {
        if let [a, b] = i.fields.as_slice() {
            if let (Some(&a), Some(&b)) = (index.get(a.as_str()), index.get(b.as_str())) {
                cell.insert((a, b), i);
                cell.insert((b, a), i);
            }
        }
    }
    let max = cell
        .values()
        .filter_map(|i| strongest(i).map(|s| s.1))
        .fold(0.0f64, f64::max);
    let size = (560.0 / nf.max(1) as f64).clamp(10.0, 36.0);
    let font = (size * 0.6).clamp(8.0, 12.0);
    let margin = text_width(label_chars(names.iter().copied(), 1, 18), font) + 10.0;
    let grid = size * nf as f64;
    let (width, height) = (margin + grid + 20.0, margin + grid + 40.0);
    let mut svg = Svg::new(width.max(420.0), height, "order-2 gate heat map");
    for (r, name) in names.iter().enumerate() {
        let y = margin + size * r as f64;
        svg.text_titled(
            margin - 6.0,
            y + size * 0.5 + font * 0.35,
            &clip(name, 18),
            Anchor::End,
            font,
            name,
        );
        let x = margin + size * r as f64 + size * 0.5 + font * 0.35;
        svg.text_rotated(
            (x, margin - 6.0),
            &clip(name, 18),
            Anchor::Start,
            font,
            -90.0,
            name,
        );
        for c in 0..nf {
            let x = margin + size * c as f64;
            let title;
            match cell.get(&(r, c)).and_then(|i| strongest(i).map(|s| (i, s))) {
                Some((i, (f, a))) => {
                    title = format!("{} × {}: {}", i.fields[0], i.fields[1], alphas_text(i));
                    let strength = if max > 0.0 { a / max } else { 1.0 };
                    svg.rect(x, y, size, size, "#ffffff", None);
                    svg.square_opacity(
                        x,
                        y,
                        size - 1.0,
                        function_colour(f),
                        0.15 + 0.85 * strength,
                        Some(&title),
                    );
                }
                None if r == c => svg.rect(x, y, size - 1.0, size - 1.0, "#ffffff", None),
                None => {
                    title = format!("{} × {}: pruned", names[r], names[c]);
                    svg.rect(x, y, size - 1.0, size - 1.0, "#eeeeee", Some(&title));
                }
            }
        }
    }
    let mut used = functions_used(arch);
    used.push("pruned".into());
    let y = margin + grid + 24.0;
    let mut at = 10.0;
    for f in &used {
        let colour = if f == "pruned" {
            "#eeeeee"
        } else {
            function_colour(f)
        };
        svg.rect(at, y - 10.0, 12.0, 12.0, colour, None);
        svg.text(at + 16.0, y, f, Anchor::Start, 12.0);
        at += 28.0 + 7.0 * f.chars().count() as f64;
    }
    svg.finish()
}
