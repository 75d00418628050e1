//! The most-frequent-tag baseline.
//!
//! Each word is tagged with the tag it carries most often in training, looked up by its exact
//! form, else by its normalised form ([`crate::vocab::normalise`]); a word never seen gets the
//! most frequent tag of the training set. No context, no learning: the floor a tagger must clear.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::conllu::Sentence;
use crate::vocab::normalise;

/// Most-frequent-tag lookup tables.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MostFrequentTag {
    exact: HashMap<String, String>,
    normalised: HashMap<String, String>,
    default: String,
}

fn argmax_table(counts: HashMap<String, HashMap<String, usize>>) -> HashMap<String, String> {
    counts
        .into_iter()
        .map(|(w, tags)| {
            let best = tags
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                .map(|(t, _)| t)
                .unwrap_or_default();
            (w, best)
        })
        .collect()
}

impl MostFrequentTag {
    /// Counts tags per word in the training sentences.
    pub fn fit(sentences: &[Sentence]) -> Self {
        let mut exact: HashMap<String, HashMap<String, usize>> = HashMap::new();
        let mut normalised: HashMap<String, HashMap<String, usize>> = HashMap::new();
        let mut all: HashMap<String, usize> = HashMap::new();
        for s in sentences {
            for (f, t) in s.forms.iter().zip(&s.tags) {
                *exact
                    .entry(f.clone())
                    .or_default()
                    .entry(t.clone())
                    .or_default() += 1;
                *normalised
                    .entry(normalise(f))
                    .or_default()
                    .entry(t.clone())
                    .or_default() += 1;
                *all.entry(t.clone()).or_default() += 1;
            }
        }
        let default = all
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map(|(t, _)| t)
            .unwrap_or_default();
        Self {
            exact: argmax_table(exact),
            normalised: argmax_table(normalised),
            default,
        }
    }

    /// The tag of one word form.
    pub fn tag(&self, form: &str) -> &str {
        self.exact
            .get(form)
            .or_else(|| self.normalised.get(&normalise(form)))
            .unwrap_or(&self.default)
    }

    /// Token accuracy on tagged sentences: `(correct, total)`.
    pub fn accuracy(&self, sentences: &[Sentence]) -> (usize, usize) {
        let mut correct = 0;
        let mut total = 0;
        for s in sentences {
            for (f, t) in s.forms.iter().zip(&s.tags) {
                correct += usize::from(self.tag(f) == t);
                total += 1;
            }
        }
        (correct, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_per_word_and_default_for_unknown() {
        let s = |f: &[&str], t: &[&str]| Sentence {
            forms: f.iter().map(|x| x.to_string()).collect(),
            tags: t.iter().map(|x| x.to_string()).collect(),
        };
        let train = [
            s(&["run", "fast"], &["VERB", "ADV"]),
            s(&["a", "run"], &["DET", "NOUN"]),
            s(&["run", "home"], &["VERB", "NOUN"]),
        ];
        let m = MostFrequentTag::fit(&train);
        assert_eq!(m.tag("run"), "VERB");
        assert_eq!(m.tag("Run"), "VERB");
        assert_eq!(m.tag("zebra"), "NOUN");
        assert_eq!(m.accuracy(&[s(&["run", "a"], &["NOUN", "DET"])]), (1, 2));
    }
}
