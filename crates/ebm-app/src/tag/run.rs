//! The tagging run: its settings (`config.json`), its summary, and how commands load its model.
//!
//! ```text
//! runs/<name>/
//!   config.json     TagRunConfig: tagger shape, vocabularies, training settings, data, loop
//!   baseline.json   the most-frequent-tag tables (from the same training data)
//!   metrics.jsonl   one line per parameter step: loss, tokens, sampling seconds
//!   dev.jsonl       one line per epoch: dev accuracy
//!   checkpoints/    step-XXXXXXXX/ (model, optimiser, random state) and `latest`
//!   best/           the checkpoint of the best epoch on dev: what `tag eval` and `tag` use
//!   summary.json    best dev accuracy, its epoch, steps, training time
//!   eval.json       written by `ebm tag eval`
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use ebm_tag::{Objective, Tagger, TaggerConfig, TrainSettings, Vocab, load_model};
use ebm_train::{FitConfig, RunDir};
use serde::{Deserialize, Serialize};

/// Every setting of a tagging run, and the vocabularies the model was built on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagRunConfig {
    /// The tagger's shape.
    pub tagger: TaggerConfig,
    /// The objective and optimisation settings; their seed is the loop's.
    pub settings: TrainSettings,
    /// The training file.
    pub train: PathBuf,
    /// The development file (selection of the best epoch).
    pub dev: PathBuf,
    /// Words seen fewer times than this in training are unknown.
    pub min_count: usize,
    /// Train on a seeded sample of this many sentences, if set.
    pub limit: Option<usize>,
    /// Training sentences used.
    pub train_sentences: usize,
    /// Training tokens used.
    pub train_tokens: usize,
    /// The word and tag vocabularies.
    pub vocab: Vocab,
    /// The loop. Its items are the length-bucketed batches of `settings.batch_size` sentences
    /// (so its own batch size is 1); its seed is `settings.seed`.
    pub fit: FitConfig,
}

/// `summary.json` of a run.
#[derive(Debug, Serialize, Deserialize)]
pub struct Summary {
    /// The objective.
    pub objective: Objective,
    /// The best dev accuracy (the `best/` checkpoint).
    pub best_dev_accuracy: Option<f64>,
    /// Its epoch (1-based).
    pub best_epoch: Option<usize>,
    /// Parameter steps done.
    pub steps: usize,
    /// Why training returned: finished, interrupted or budget.
    pub stopped: String,
    /// Seconds of training over every session.
    pub train_seconds: f64,
}

/// Reads JSON from `path`; the error names the file.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// A trained run read back.
pub struct LoadedRun {
    /// Its settings (vocabulary re-indexed).
    pub config: TagRunConfig,
    /// The tagger of its best epoch on dev (or, before the first epoch ended, its latest).
    pub model: Tagger,
}

impl LoadedRun {
    /// The vocabularies.
    pub fn vocab(&self) -> &Vocab {
        &self.config.vocab
    }
}

/// Reads the settings of the tagging run in `dir`, the vocabulary re-indexed.
pub fn read_run_config(dir: &RunDir) -> Result<TagRunConfig> {
    let mut config: TagRunConfig = dir.read_config().with_context(|| {
        format!(
            "reading the tagging run {} (train one with `ebm tag train`)",
            dir.root().display()
        )
    })?;
    config.vocab = config.vocab.reindex();
    Ok(config)
}

/// The run in `dir` with the tagger of its best checkpoint on `device`.
pub fn load_run(dir: &RunDir, device: &Device) -> Result<LoadedRun> {
    if !dir.root().is_dir() {
        bail!(
            "run folder {} does not exist (train one with `ebm tag train`)",
            dir.root().display()
        );
    }
    let config = read_run_config(dir)?;
    let ckpt = match dir.best().latest() {
        Some(best) => best,
        None => {
            let latest = dir
                .checkpoints()
                .latest()
                .with_context(|| format!("run {} has no checkpoint yet", dir.root().display()))?;
            eprintln!(
                "note: run {} has no best epoch on dev yet; using its latest checkpoint",
                dir.root().display()
            );
            latest
        }
    };
    let model = load_model(&config.tagger, &ckpt.join("model.bpk"), device)
        .with_context(|| format!("loading the tagger of {}", dir.root().display()))?;
    Ok(LoadedRun { config, model })
}
