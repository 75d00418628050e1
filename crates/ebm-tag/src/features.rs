//! Token features and padded batches.
//!
//! Each token gets a word id ([`crate::vocab::Vocab::word_id`]) and [`N_FEATURES`] hashed
//! character features: prefixes of length 1-3 and suffixes of length 1-4 of the lower-cased form,
//! the collapsed word shape (`Xxxx` -> `Xx`, `1,999.00` -> `d,d.d`), and the exact cased form.
//! Each feature string, prefixed by its kind, is hashed (FNV-1a, 64 bit) into one of `buckets - 1`
//! rows of an embedding table (row 0 is padding). Unknown words are thus tagged from their
//! spelling: `-ly`, `-tion`, a capital letter or digits carry most of the evidence.
//!
//! A [`Batch`] holds `B` sentences padded to the longest, `S`, with a mask: position `t` of
//! sentence `b` is real iff `t < len_b`.

use crate::conllu::Sentence;
use crate::error::TagError;
use crate::vocab::{PAD, Vocab};

/// Hashed features per token.
pub const N_FEATURES: usize = 9;

fn fnv1a(kind: u8, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(kind).chain(text.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The collapsed shape of a form: upper case -> `X`, lower case -> `x`, digits -> `d`, other
/// characters kept, runs of the same class collapsed to one.
pub fn shape(form: &str) -> String {
    let mut out = String::new();
    let mut last = None;
    for c in form.chars() {
        let k = if c.is_uppercase() {
            'X'
        } else if c.is_lowercase() {
            'x'
        } else if c.is_numeric() {
            'd'
        } else {
            c
        };
        if last != Some(k) {
            out.push(k);
            last = Some(k);
        }
    }
    out
}

/// The [`N_FEATURES`] hashed feature rows of a form, each in `1..buckets`.
pub fn hashed_features(form: &str, buckets: usize) -> [usize; N_FEATURES] {
    let lower: Vec<char> = form.chars().flat_map(char::to_lowercase).collect();
    let prefix = |n: usize| lower.iter().take(n).collect::<String>();
    let suffix = |n: usize| {
        lower[lower.len().saturating_sub(n)..]
            .iter()
            .collect::<String>()
    };
    let feats = [
        fnv1a(1, &prefix(1)),
        fnv1a(2, &prefix(2)),
        fnv1a(3, &prefix(3)),
        fnv1a(4, &suffix(1)),
        fnv1a(5, &suffix(2)),
        fnv1a(6, &suffix(3)),
        fnv1a(7, &suffix(4)),
        fnv1a(8, &shape(form)),
        fnv1a(9, form),
    ];
    let rows = (buckets.max(2) - 1) as u64;
    feats.map(|h| (h % rows) as usize + 1)
}

/// `B` sentences padded to length `S`, as flat row-major index arrays ready for tensors.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Sentences `B`.
    pub batch: usize,
    /// Padded length `S` (the longest sentence).
    pub seq: usize,
    /// The length of each sentence.
    pub lens: Vec<usize>,
    /// Word ids `[B, S]` ([`PAD`] past the end).
    pub words: Vec<i64>,
    /// Hashed feature rows `[B, S, N_FEATURES]` (0 past the end).
    pub feats: Vec<i64>,
    /// Gold tag ids `[B, S]` (0 past the end), when the sentences are tagged.
    pub tags: Option<Vec<usize>>,
}

impl Batch {
    /// A batch from token lists (and their gold tag ids, if known). Fails on an empty batch or
    /// an empty sentence.
    pub fn new(
        forms: &[&[String]],
        tags: Option<&[Vec<usize>]>,
        vocab: &Vocab,
        buckets: usize,
    ) -> Result<Self, TagError> {
        if forms.is_empty() || forms.iter().any(|f| f.is_empty()) {
            return Err(TagError::invalid(
                "batch",
                "a batch needs at least one sentence and every sentence at least one token",
            ));
        }
        let batch = forms.len();
        let seq = forms.iter().map(|f| f.len()).max().unwrap_or(1);
        let mut words = vec![PAD as i64; batch * seq];
        let mut feats = vec![0i64; batch * seq * N_FEATURES];
        for (b, sentence) in forms.iter().enumerate() {
            for (t, form) in sentence.iter().enumerate() {
                words[b * seq + t] = vocab.word_id(form) as i64;
                let f = hashed_features(form, buckets);
                let o = (b * seq + t) * N_FEATURES;
                for (k, &v) in f.iter().enumerate() {
                    feats[o + k] = v as i64;
                }
            }
        }
        let tags = tags.map(|tags| {
            let mut out = vec![0usize; batch * seq];
            for (b, ts) in tags.iter().enumerate() {
                out[b * seq..b * seq + ts.len()].copy_from_slice(ts);
            }
            out
        });
        Ok(Self {
            batch,
            seq,
            lens: forms.iter().map(|f| f.len()).collect(),
            words,
            feats,
            tags,
        })
    }

    /// The number of real tokens.
    pub fn n_tokens(&self) -> usize {
        self.lens.iter().sum()
    }

    /// The mask `[B, S]` as `0.0 / 1.0`.
    pub fn mask(&self) -> Vec<f32> {
        let mut m = vec![0.0; self.batch * self.seq];
        for (b, &l) in self.lens.iter().enumerate() {
            m[b * self.seq..b * self.seq + l].fill(1.0);
        }
        m
    }
}

/// A tagged corpus converted to ids once: forms and tag ids per sentence.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The word forms of each sentence.
    pub forms: Vec<Vec<String>>,
    /// The gold tag ids of each sentence.
    pub tags: Vec<Vec<usize>>,
}

impl Corpus {
    /// Converts sentences; a tag outside the vocabulary's set is an error.
    pub fn new(sentences: &[Sentence], vocab: &Vocab) -> Result<Self, TagError> {
        let tags = sentences
            .iter()
            .map(|s| vocab.tag_ids(s))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            forms: sentences.iter().map(|s| s.forms.clone()).collect(),
            tags,
        })
    }

    /// The number of sentences.
    pub fn len(&self) -> usize {
        self.forms.len()
    }

    /// Whether there are no sentences.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// The number of tokens.
    pub fn n_tokens(&self) -> usize {
        self.forms.iter().map(Vec::len).sum()
    }

    /// Sentence indices grouped into batches of at most `batch_size` sentences of similar length
    /// (sorted by length, then chunked), so padding is small.
    pub fn length_batches(&self, batch_size: usize) -> Vec<Vec<usize>> {
        length_batches(&self.forms, batch_size)
    }

    /// The [`Batch`] of the sentences `idx`.
    pub fn batch(&self, idx: &[usize], vocab: &Vocab, buckets: usize) -> Result<Batch, TagError> {
        let forms: Vec<&[String]> = idx.iter().map(|&i| self.forms[i].as_slice()).collect();
        let tags: Vec<Vec<usize>> = idx.iter().map(|&i| self.tags[i].clone()).collect();
        Batch::new(&forms, Some(&tags), vocab, buckets)
    }
}

/// Indices of non-empty sentences grouped into batches of similar length.
pub fn length_batches(forms: &[Vec<String>], batch_size: usize) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..forms.len()).filter(|&i| !forms[i].is_empty()).collect();
    idx.sort_by_key(|&i| (forms[i].len(), i));
    idx.chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_features_are_deterministic_and_in_range() {
        assert_eq!(shape("Apple"), "Xx");
        assert_eq!(shape("1,999.00"), "d,d.d");
        let a = hashed_features("Running", 1 << 12);
        assert_eq!(a, hashed_features("Running", 1 << 12));
        assert!(a.iter().all(|&r| (1..1 << 12).contains(&r)));
        // Same suffix "-ing" gives the same suffix rows.
        let b = hashed_features("walking", 1 << 12);
        assert_eq!(a[3..6], b[3..6]); // suffixes -g, -ng, -ing
        assert_ne!(a[6], b[6]); // -ning vs -king
        assert_ne!(a[8], b[8]);
    }

    #[test]
    fn batches_pad_and_mask() {
        let vocab = Vocab::from_parts(vec!["<pad>".into(), "<unk>".into()], vec!["X".into()]);
        let s1: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
        let s2: Vec<String> = vec!["d".into()];
        let batch = Batch::new(&[&s1, &s2], Some(&[vec![0, 0, 0], vec![0]]), &vocab, 64).unwrap();
        assert_eq!((batch.batch, batch.seq, batch.n_tokens()), (2, 3, 4));
        assert_eq!(batch.mask(), [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
        assert_eq!(batch.words[4], PAD as i64);
        assert!(Batch::new(&[], None, &vocab, 64).is_err());
        let forms = vec![s1.clone(), s2.clone(), vec![], s1];
        assert_eq!(length_batches(&forms, 2), vec![vec![1, 0], vec![3]]);
    }
}
