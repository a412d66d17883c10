//! Vocabularies: raw values → provisional ids while reading, then final ids from the training
//! split's counts (frequent first, rare ones merged into the out-of-vocabulary id 0).

use super::read::FieldKind;
use crate::hash::FxHashMap;
use crate::spec::Bucketing;

/// The id every field reserves for categories that are rare in, or absent from, training.
pub const OOV: u32 = 0;

/// The key of a missing number (a missing category is the empty string).
const MISSING_NUMBER: i64 = i64::MIN;

/// A number's category: x > 2 → ⌊ln(x)²⌋, else ⌊x⌋ (the Criteo convention), or ⌊x⌋.
pub fn bucket(x: f64, how: Bucketing) -> i64 {
    match how {
        Bucketing::LogSquare if x > 2.0 => (x.ln() * x.ln()).floor() as i64,
        _ => x.floor() as i64,
    }
}

/// One field's raw values → provisional ids, in order of first appearance.
///
/// Categories of up to 15 bytes (nearly all in CTR data: Criteo's are 8 hex digits) are keyed
/// by a `u128` holding their bytes and length: no allocation per key and no `memcmp` per probe,
/// which together were half the ingest time.
pub struct Interner {
    short: FxHashMap<u128, u32>,
    cats: FxHashMap<Box<[u8]>, u32>,
    nums: FxHashMap<i64, u32>,
    len: u32,
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Self {
        Interner {
            short: FxHashMap::default(),
            cats: FxHashMap::default(),
            nums: FxHashMap::default(),
            len: 0,
        }
    }

    /// The provisional id of a category (the empty string stands for "missing").
    #[inline]
    pub fn cat(&mut self, value: &[u8]) -> u32 {
        if value.len() < 16 {
            let len = &mut self.len;
            return *self.short.entry(pack(value)).or_insert_with(|| {
                *len += 1;
                *len - 1
            });
        }
        if let Some(&id) = self.cats.get(value) {
            return id;
        }
        let id = self.len;
        self.len += 1;
        self.cats.insert(value.into(), id);
        id
    }

    /// The provisional id of a bucketed number (`None` for "missing").
    #[inline]
    pub fn num(&mut self, bucket: Option<i64>) -> u32 {
        let key = bucket.unwrap_or(MISSING_NUMBER);
        let len = &mut self.len;
        *self.nums.entry(key).or_insert_with(|| {
            *len += 1;
            *len - 1
        })
    }

    /// The provisional id of the missing value, if one was seen (numeric fields key it apart
    /// from the numbers, the others as the empty category).
    pub fn missing(&self, kind: FieldKind) -> Option<u32> {
        match kind {
            FieldKind::Numeric => self.nums.get(&MISSING_NUMBER).copied(),
            _ => self.short.get(&pack(b"")).copied(),
        }
    }

    /// Distinct values seen.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether nothing was seen.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The text of each final id (index 0 is `<oov>`), given the provisional → final mapping.
    pub fn names(&self, mapping: &[u32], vocab: usize, kind: FieldKind) -> Vec<String> {
        let mut names = vec![String::new(); vocab];
        names[0] = "<oov>".into();
        let short = self.short.iter().map(|(&k, &p)| (unpack(k), p));
        let long = self.cats.iter().map(|(k, &p)| (k.to_vec(), p));
        for (k, p) in short.chain(long) {
            let id = mapping[p as usize] as usize;
            if id != 0 {
                names[id] = if k.is_empty() {
                    "<missing>".into()
                } else {
                    String::from_utf8_lossy(&k).into_owned()
                };
            }
        }
        for (&k, &p) in &self.nums {
            let id = mapping[p as usize] as usize;
            if id != 0 {
                names[id] = if k == MISSING_NUMBER {
                    "<missing>".into()
                } else {
                    k.to_string()
                };
            }
        }
        debug_assert!(kind == FieldKind::Numeric || self.nums.is_empty());
        names
    }
}

impl Default for Interner {
    fn default() -> Self {
        Self::new()
    }
}

/// A short value (< 16 bytes) as a number: its bytes, and its length in the top byte.
#[inline]
fn pack(v: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    b[..v.len()].copy_from_slice(v);
    b[15] = v.len() as u8;
    u128::from_le_bytes(b)
}

fn unpack(k: u128) -> Vec<u8> {
    let b = k.to_le_bytes();
    b[..b[15] as usize].to_vec()
}

/// Final ids from training counts: values seen at least `min_count` times get ids 1.. (most
/// frequent first, ties by first appearance); the rest map to [`OOV`]. Returns the mapping and
/// the vocabulary size (OOV included).
pub fn assign(train_counts: &[u32], min_count: u32) -> (Vec<u32>, usize) {
    let mut kept: Vec<u32> = (0..train_counts.len() as u32)
        .filter(|&p| train_counts[p as usize] >= min_count.max(1))
        .collect();
    kept.sort_by_key(|&p| (std::cmp::Reverse(train_counts[p as usize]), p));
    let mut mapping = vec![OOV; train_counts.len()];
    for (i, &p) in kept.iter().enumerate() {
        mapping[p as usize] = i as u32 + 1;
    }
    (mapping, kept.len() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_criteo_convention() {
        assert_eq!(bucket(2.0, Bucketing::LogSquare), 2);
        assert_eq!(bucket(-1.0, Bucketing::LogSquare), -1);
        assert_eq!(bucket(3.0, Bucketing::LogSquare), 1); // ln(3)² = 1.207
        assert_eq!(bucket(100.0, Bucketing::LogSquare), 21); // ln(100)² = 21.2
        assert_eq!(bucket(260.0, Bucketing::LogSquare), 30); // ln(260)² = 30.9
        assert_eq!(bucket(260.0, Bucketing::Identity), 260);
    }

    #[test]
    fn rare_values_share_oov_and_frequent_ones_come_first() {
        // provisional ids 0..4 with training counts
        let (map, vocab) = assign(&[3, 1, 0, 5, 3], 2);
        assert_eq!(vocab, 4);
        assert_eq!(map, vec![2, OOV, OOV, 1, 3]);
        let (map, vocab) = assign(&[3, 1, 0], 1);
        assert_eq!(
            (map, vocab),
            (vec![1, 2, OOV], 3),
            "unseen in training is OOV even at min_count 1"
        );
    }

    #[test]
    fn interning() {
        let mut i = Interner::new();
        assert_eq!(i.cat(b"a"), 0);
        assert_eq!(i.cat(b"b"), 1);
        assert_eq!(i.cat(b"a"), 0);
        assert_eq!(i.cat(b""), 2);
        // short keys differing only in length or trailing zero bytes stay distinct
        assert_eq!(i.cat(b"a\0"), 3);
        let long = [b'x'; 40];
        assert_eq!(i.cat(&long), 4);
        assert_eq!(i.cat(&long), 4);
        assert_eq!(i.len(), 5);
        let names = i.names(&[2, 0, 1, 0, 0], 3, FieldKind::Categorical);
        assert_eq!(names, vec!["<oov>", "<missing>", "a"]);
    }
}
