//! Vocabularies: the tag set and the word forms seen often enough in training.
//!
//! Words are normalised (lower case, every ASCII digit mapped to `0`) before lookup, so `Apple`
//! and `apple`, `1999` and `2024` share an entry. Id 0 is padding and id 1 the unknown word; the
//! case and the exact form survive in the hashed character features ([`crate::features`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::conllu::Sentence;
use crate::error::TagError;

/// The padding id of [`Vocab::word_id`].
pub const PAD: usize = 0;
/// The unknown-word id of [`Vocab::word_id`].
pub const UNK: usize = 1;

/// The normalised form a word is looked up by: lower case, ASCII digits replaced by `0`.
pub fn normalise(form: &str) -> String {
    form.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}

/// The word and tag vocabularies of a tagger.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Vocab {
    /// Word entries by id; ids 0 and 1 are `<pad>` and `<unk>`.
    pub words: Vec<String>,
    /// The tag set, sorted; a tag's id is its index.
    pub tags: Vec<String>,
    #[serde(skip)]
    word_index: HashMap<String, usize>,
    #[serde(skip)]
    tag_index: HashMap<String, usize>,
}

impl Vocab {
    /// Builds the vocabularies from training sentences: every normalised form seen at least
    /// `min_count` times, and every tag seen.
    pub fn build(sentences: &[Sentence], min_count: usize) -> Result<Self, TagError> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut tags: Vec<String> = Vec::new();
        for s in sentences {
            for (form, tag) in s.forms.iter().zip(&s.tags) {
                *counts.entry(normalise(form)).or_default() += 1;
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
        }
        if tags.is_empty() {
            return Err(TagError::invalid(
                "training data",
                "no tagged tokens to build a vocabulary from",
            ));
        }
        tags.sort();
        let mut words: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(_, c)| *c >= min_count.max(1))
            .collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let words = ["<pad>".to_string(), "<unk>".to_string()]
            .into_iter()
            .chain(words.into_iter().map(|(w, _)| w))
            .collect();
        Ok(Self::from_parts(words, tags))
    }

    /// A vocabulary from its word and tag lists (as serialised), rebuilding the indices.
    pub fn from_parts(words: Vec<String>, tags: Vec<String>) -> Self {
        let word_index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i))
            .collect();
        let tag_index = tags
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i))
            .collect();
        Self {
            words,
            tags,
            word_index,
            tag_index,
        }
    }

    /// Rebuilds the lookup indices after deserialising.
    pub fn reindex(self) -> Self {
        Self::from_parts(self.words, self.tags)
    }

    /// The id of a word form ([`UNK`] if unseen).
    pub fn word_id(&self, form: &str) -> usize {
        self.word_index
            .get(&normalise(form))
            .copied()
            .unwrap_or(UNK)
    }

    /// The id of a tag, or `None` for a tag outside the set.
    pub fn tag_id(&self, tag: &str) -> Option<usize> {
        self.tag_index.get(tag).copied()
    }

    /// The number of word ids (including padding and unknown).
    pub fn n_words(&self) -> usize {
        self.words.len()
    }

    /// The number of tags `K`.
    pub fn n_tags(&self) -> usize {
        self.tags.len()
    }

    /// The tag ids of a sentence; a tag outside the set is an error naming it.
    pub fn tag_ids(&self, sentence: &Sentence) -> Result<Vec<usize>, TagError> {
        sentence
            .tags
            .iter()
            .map(|t| {
                self.tag_id(t)
                    .ok_or_else(|| TagError::invalid("tag", format!("{t:?} is not in the tag set")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(forms: &[&str], tags: &[&str]) -> Sentence {
        Sentence {
            forms: forms.iter().map(|s| s.to_string()).collect(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn counts_normalised_forms_and_maps_rare_to_unknown() {
        let data = [
            sent(&["The", "cat", "1999"], &["DET", "NOUN", "NUM"]),
            sent(&["the", "dog", "2024"], &["DET", "NOUN", "NUM"]),
        ];
        let v = Vocab::build(&data, 2).unwrap();
        assert_eq!(v.tags, ["DET", "NOUN", "NUM"]);
        assert_eq!(v.word_id("THE"), v.word_id("the"));
        assert!(v.word_id("the") > UNK);
        assert_eq!(v.word_id("cat"), UNK);
        assert_eq!(v.word_id("7777"), v.word_id("1999"));
        let back: Vocab = serde_json::from_str::<Vocab>(&serde_json::to_string(&v).unwrap())
            .unwrap()
            .reindex();
        assert_eq!(back.word_id("the"), v.word_id("the"));
        assert!(v.tag_ids(&sent(&["x"], &["VERB"])).is_err());
    }
}
