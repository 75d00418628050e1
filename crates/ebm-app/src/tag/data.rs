//! Where the treebank is: the `--data` folder and the split files, and seeded subsets.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use ebm_core::SeededRng;
use ebm_tag::{Sentence, read_conllu};

/// The default treebank folder.
const DEFAULT_DATA: &str = "datasets/ud-en-ewt";

/// Where the treebank is.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// Folder with `*-train.conllu[.gz]`, `*-dev.conllu[.gz]`, `*-test.conllu[.gz]`
    /// [default: datasets/ud-en-ewt].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The training file (overrides the one in `--data`).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// The development file (overrides the one in `--data`).
    #[arg(long)]
    pub dev: Option<PathBuf>,
    /// The test file (overrides the one in `--data`).
    #[arg(long)]
    pub test: Option<PathBuf>,
}

impl DataArgs {
    /// The file given for `name` (`train`, `dev`, `test`), if any.
    pub fn given(&self, name: &str) -> Option<&PathBuf> {
        match name {
            "train" => self.train.as_ref(),
            "dev" => self.dev.as_ref(),
            _ => self.test.as_ref(),
        }
    }

    /// The file of the split `name`: as given, or the one in the `--data` folder.
    pub fn split(&self, name: &str) -> Result<PathBuf> {
        if let Some(p) = self.given(name) {
            return Ok(p.clone());
        }
        let folder = self.data.as_deref().unwrap_or(Path::new(DEFAULT_DATA));
        find_split(folder, name)
    }
}

/// The `*-<name>.conllu[.gz]` file in `folder` (the first by name).
fn find_split(folder: &Path, name: &str) -> Result<PathBuf> {
    let entries = std::fs::read_dir(folder).with_context(|| {
        format!(
            "reading the treebank folder {} (give --data or --{name})",
            folder.display()
        )
    })?;
    let matches = |n: &str| {
        n.ends_with(&format!("-{name}.conllu")) || n.ends_with(&format!("-{name}.conllu.gz"))
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(matches))
        .collect();
    found.sort();
    found.into_iter().next().with_context(|| {
        format!(
            "no *-{name}.conllu[.gz] in {} (give --{name} FILE)",
            folder.display()
        )
    })
}

/// The sentences of a treebank file; an empty file is an error.
pub fn read_sentences(path: &Path, name: &str) -> Result<Vec<Sentence>> {
    let sentences = read_conllu(path).with_context(|| format!("reading the {name} split"))?;
    if sentences.is_empty() {
        bail!("{} has no sentences", path.display());
    }
    Ok(sentences)
}

/// A seeded sample of `limit` sentences (all of them if there are no more), in corpus order:
/// the first `limit` of a Fisher-Yates permutation drawn from `seed`, never a prefix.
pub fn sample_sentences(sentences: Vec<Sentence>, limit: usize, seed: u64) -> Vec<Sentence> {
    if limit >= sentences.len() {
        return sentences;
    }
    let mut rng = SeededRng::new(seed ^ 0x7a61_5e7e_11c3_0001);
    let mut order: Vec<usize> = (0..sentences.len()).collect();
    for i in 0..limit {
        let j =
            i + ((rng.uniform_f64() * (order.len() - i) as f64) as usize).min(order.len() - i - 1);
        order.swap(i, j);
    }
    let mut keep = vec![false; sentences.len()];
    for &i in &order[..limit] {
        keep[i] = true;
    }
    sentences
        .into_iter()
        .zip(keep)
        .filter_map(|(s, k)| k.then_some(s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_seeded_in_order_and_not_a_prefix() {
        let sents: Vec<Sentence> = (0..50)
            .map(|i| Sentence {
                forms: vec![format!("w{i}")],
                tags: vec!["X".into()],
            })
            .collect();
        let a = sample_sentences(sents.clone(), 10, 1);
        assert_eq!(a.len(), 10);
        assert_eq!(a, sample_sentences(sents.clone(), 10, 1));
        assert_ne!(a, sample_sentences(sents.clone(), 10, 2));
        assert_ne!(a, sents[..10].to_vec());
        let ids: Vec<usize> = a.iter().map(|s| s.forms[0][1..].parse().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert_eq!(sample_sentences(sents.clone(), 60, 1).len(), 50);
    }
}
