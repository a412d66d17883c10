//! "Did you mean …?" for misspelt keys, values and blocks.

/// Edit distance (insertions, deletions, substitutions, adjacent swaps) between two words.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely misspelling.
pub fn did_you_mean<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let lower = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&lower, c), *c))
        .filter(|(d, c)| *d <= (c.chars().count().max(3) / 3).max(1) || c.starts_with(&lower))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("embeding_dim", "embedding_dim"), 1);
        assert_eq!(distance("lr", "rl"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        let keys = ["base", "embedding_dim", "mlp", "batch_size"];
        assert_eq!(did_you_mean("embeding_dim", &keys), Some("embedding_dim"));
        assert_eq!(did_you_mean("batchsize", &keys), Some("batch_size"));
        assert_eq!(did_you_mean("Base", &keys), Some("base"));
        assert_eq!(did_you_mean("zzzzzz", &keys), None);
    }
}
