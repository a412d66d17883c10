//! Train/valid/test splits of pooled rows.

/// Row counts of the train, valid and test splits of `n` rows by `fractions` (which sum to 1):
/// train and valid are rounded, test takes the rest, so no row is lost or counted twice.
pub fn split_sizes(n: usize, fractions: [f64; 3]) -> [usize; 3] {
    let train = ((n as f64) * fractions[0]).round() as usize;
    let valid = (((n as f64) * fractions[1]).round() as usize).min(n - train.min(n));
    let train = train.min(n);
    [train, valid, n - train - valid]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_add_up() {
        assert_eq!(split_sizes(100, [0.8, 0.1, 0.1]), [80, 10, 10]);
        assert_eq!(split_sizes(86_582, [0.8, 0.1, 0.1]), [69_266, 8_658, 8_658]);
        for n in 0..200 {
            let s = split_sizes(n, [0.7, 0.2, 0.1]);
            assert_eq!(s.iter().sum::<usize>(), n);
        }
    }
}
