//! Raw cells → ids, as a saved model's preprocessing and vocabularies say.

use crate::data::read::{self, Cell, FieldKind};
use crate::data::vocab::{bucket, OOV};
use crate::hash::FxHashMap;
use crate::saved::Preprocess;
use crate::spec::Bucketing;

/// One field's raw value → id map.
enum Keys {
    /// Category text → id.
    Cat(CatKeys),
    /// A number's bucket → id.
    Num(FxHashMap<i64, u32>),
}

/// Category text → id, with texts of up to 15 bytes (hex hashes, integer codes: nearly every
/// CTR category) packed into one integer, so a lookup hashes and compares 16 bytes in
/// registers instead of following a pointer to compare slices.
#[derive(Default)]
struct CatKeys {
    short: FxHashMap<u128, u32>,
    long: FxHashMap<Box<[u8]>, u32>,
}

impl CatKeys {
    /// The packed form of a text of at most 15 bytes: its bytes, then its length in the last
    /// byte, so two texts pack alike only when they are equal.
    fn pack(v: &[u8]) -> Option<u128> {
        (v.len() < 16).then(|| {
            let mut b = [0u8; 16];
            b[..v.len()].copy_from_slice(v);
            b[15] = v.len() as u8;
            u128::from_le_bytes(b)
        })
    }

    /// Adds a text; false if it was there already.
    fn insert(&mut self, v: &[u8], id: u32) -> bool {
        match Self::pack(v) {
            Some(k) => self.short.insert(k, id).is_none(),
            None => self.long.insert(v.into(), id).is_none(),
        }
    }

    fn get(&self, v: &[u8]) -> Option<u32> {
        match Self::pack(v) {
            Some(k) => self.short.get(&k).copied(),
            None => self.long.get(v).copied(),
        }
    }
}

/// A field's lookup.
struct FieldLookup {
    kind: FieldKind,
    keys: Keys,
    /// The id of an empty cell.
    missing: u32,
}

/// Raw cells → ids, as the saved preprocessing says.
pub struct Lookup {
    fields: Vec<FieldLookup>,
    numeric: Bucketing,
}

impl Lookup {
    /// The lookup of a saved model's preprocessing and vocabularies.
    pub fn new(pre: &Preprocess, vocab: &[Vec<Vec<u8>>]) -> Result<Self, String> {
        let mut fields = Vec::with_capacity(pre.fields.len());
        for (f, texts) in pre.fields.iter().zip(vocab) {
            let missing = f.missing.unwrap_or(OOV);
            let real = (1..texts.len()).filter(|&k| k as u32 != missing);
            let keys = match f.kind {
                FieldKind::Numeric => {
                    let mut m = FxHashMap::default();
                    for k in real {
                        let b = std::str::from_utf8(&texts[k])
                            .ok()
                            .and_then(|s| s.parse::<i64>().ok())
                            .ok_or_else(|| {
                                format!(
                                    "field `{}`: id {k} is `{}`, not a numeric bucket",
                                    f.name,
                                    read::show(&texts[k])
                                )
                            })?;
                        if m.insert(b, k as u32).is_some() {
                            return Err(format!("field `{}`: bucket {b} has two ids", f.name));
                        }
                    }
                    Keys::Num(m)
                }
                _ => {
                    let mut m = CatKeys::default();
                    for k in real {
                        if !m.insert(&texts[k], k as u32) {
                            return Err(format!(
                                "field `{}`: `{}` has two ids",
                                f.name,
                                read::show(&texts[k])
                            ));
                        }
                    }
                    Keys::Cat(m)
                }
            };
            fields.push(FieldLookup {
                kind: f.kind,
                keys,
                missing,
            });
        }
        Ok(Lookup {
            fields,
            numeric: pre.numeric,
        })
    }

    /// Field `f`'s ids for a cell: one, or a multi-valued cell's values (the missing id when
    /// it has none), as ingest assigns them.
    pub(super) fn ids(&self, f: usize, cell: Cell<'_>, out: &mut Vec<u32>) {
        let l = &self.fields[f];
        let cat = |v: &[u8]| match &l.keys {
            Keys::Cat(m) => m.get(v).unwrap_or(OOV),
            Keys::Num(_) => OOV,
        };
        match (l.kind, cell) {
            (FieldKind::Numeric, Cell::Num(x)) => out.push(match &l.keys {
                Keys::Num(m) => m.get(&bucket(x, self.numeric)).copied().unwrap_or(OOV),
                Keys::Cat(_) => OOV,
            }),
            (FieldKind::Multi { sep }, c @ (Cell::Multi(_) | Cell::List(_))) => {
                let before = out.len();
                for v in c.items(sep) {
                    out.push(cat(v));
                }
                if out.len() == before {
                    out.push(l.missing);
                }
            }
            (_, Cell::Cat(v)) | (_, Cell::Multi(v)) => out.push(cat(v)),
            (_, Cell::Missing) | (_, Cell::Num(_)) | (_, Cell::List(_)) => out.push(l.missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packed and unpacked texts never collide: a text, its NUL-padded forms and a longer
    /// text with the same prefix are all different keys; texts past 15 bytes still resolve.
    #[test]
    fn category_keys_keep_every_text_apart() {
        let texts: Vec<&[u8]> = vec![
            b"",
            b"a",
            b"a\0",
            b"a\0\0",
            b"\0",
            b"\x01",
            b"abcdefghijklmno",
            b"abcdefghijklmn\x0f",
            b"abcdefghijklmnop",
            b"abcdefghijklmnopq",
            b"68fd1e64",
        ];
        let mut k = CatKeys::default();
        for (i, t) in texts.iter().enumerate() {
            assert!(k.insert(t, i as u32), "{t:?} collided");
        }
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(k.get(t), Some(i as u32), "{t:?}");
        }
        assert!(!k.insert(b"a", 99), "a repeat is reported");
        assert_eq!(k.get(b"b"), None);
        assert_eq!(k.get(b"abcdefghijklmnopqr"), None);
        assert_eq!((k.short.len(), k.long.len()), (9, 2));
    }
}
