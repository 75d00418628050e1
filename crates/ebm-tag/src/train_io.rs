//! How a [`TagTrainer`] saves and loads its state, and its place in the one training loop
//! ([`ebm_train::Learner`]).
//!
//! A checkpoint directory holds `model.bpk` (the tagger's parameters), `optimizer.bpk` (Adam's
//! moments) and `state.json` (steps done, the random stream, the settings and the tagger's
//! shape): everything needed to continue a run exactly.

use std::path::Path;

use burn::tensor::Device;
use ebm_core::SeededRng;
use ebm_train::fit::durable::write_synced;
use ebm_train::{Learner, TrainError, load_optimizer};
use serde::{Deserialize, Serialize};

use crate::error::TagError;
use crate::features::Batch;
use crate::tagger::{Tagger, TaggerConfig};
use crate::train::{StepReport, TagTrainer, TrainSettings, adam, load_model, save_model};

/// What `state.json` of a checkpoint holds besides the tensors.
#[derive(Debug, Serialize, Deserialize)]
struct TagTrainerState {
    steps: usize,
    rng: SeededRng,
    settings: TrainSettings,
    config: TaggerConfig,
}

impl TagTrainer {
    /// Writes the trainer's state into the directory `dir` (see the module docs).
    pub fn save_to(&self, dir: &Path) -> Result<(), TagError> {
        std::fs::create_dir_all(dir).map_err(|e| TagError::checkpoint(dir, e))?;
        save_model(&self.model, &dir.join("model.bpk"))?;
        let optim_path = dir.join("optimizer.bpk");
        self.optim
            .save(&optim_path)
            .map_err(|e| TagError::checkpoint(&optim_path, e))?;
        let state = TagTrainerState {
            steps: self.steps,
            rng: self.rng.clone(),
            settings: self.settings.clone(),
            config: self.config.clone(),
        };
        let json = serde_json::to_vec_pretty(&state)
            .map_err(|e| TagError::checkpoint(dir, format!("state does not serialise: {e}")))?;
        write_synced(&dir.join("state.json"), &json).map_err(|e| TagError::checkpoint(dir, e))
    }

    /// The trainer saved in `dir` by [`TagTrainer::save_to`], on `device` (the autodiff device
    /// is derived from it).
    pub fn load_from(dir: &Path, device: &Device) -> Result<Self, TagError> {
        let state_path = dir.join("state.json");
        let text = std::fs::read_to_string(&state_path)
            .map_err(|e| TagError::checkpoint(&state_path, e))?;
        let state: TagTrainerState = serde_json::from_str(&text)
            .map_err(|e| TagError::checkpoint(&state_path, format!("corrupt: {e}")))?;
        state.settings.validate()?;
        let device = device.clone().autodiff();
        let model: Tagger = load_model(&state.config, &dir.join("model.bpk"), &device)?;
        let optim_path = dir.join("optimizer.bpk");
        let optim = load_optimizer(adam(&state.settings), &optim_path)
            .map_err(|e| TagError::checkpoint(&optim_path, e))?;
        Ok(Self {
            model,
            optim,
            settings: state.settings,
            config: state.config,
            rng: state.rng,
            device,
            steps: state.steps,
        })
    }
}

/// A tagging error as the loop sees it: a non-finite loss is a divergence.
fn train_error(what: &str, error: TagError) -> TrainError {
    match error {
        TagError::Diverged { step, loss } => TrainError::Diverged {
            step,
            what: "loss".into(),
            value: loss,
        },
        other => TrainError::hook(what.to_string(), other),
    }
}

impl Learner for TagTrainer {
    type Batch = Batch;
    type Metrics = StepReport;

    fn step(&mut self, batch: Batch) -> Result<StepReport, TrainError> {
        TagTrainer::step(self, &batch).map_err(|e| train_error("tagger step", e))
    }

    fn save(&self, dir: &Path) -> Result<(), TrainError> {
        self.save_to(dir)
            .map_err(|e| train_error("saving the tagger", e))
    }

    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        *self = Self::load_from(dir, &self.device.clone())
            .map_err(|e| train_error("loading the tagger", e))?;
        Ok(())
    }

    fn summary(&self, m: &StepReport) -> String {
        format!("loss {:.4} ({} tokens)", m.loss, m.tokens)
    }

    fn scale_learning_rate(&mut self, factor: f64) -> Result<(), TrainError> {
        self.settings.lr *= factor;
        Ok(())
    }

    fn reseed(&mut self, salt: u64) -> Result<(), TrainError> {
        self.rng = SeededRng::new(self.settings.seed ^ salt.wrapping_mul(0xa076_1d64_78bd_642f));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::conllu::Sentence;
    use crate::features::Corpus;
    use crate::network::NetConfig;
    use crate::train::Objective;
    use crate::vocab::Vocab;

    fn sentences() -> Vec<Sentence> {
        let s = |f: &str, t: &str| Sentence {
            forms: f.split(' ').map(str::to_string).collect(),
            tags: t.split(' ').map(str::to_string).collect(),
        };
        vec![
            s("the cat sat", "DET NOUN VERB"),
            s("a dog ran fast", "DET NOUN VERB ADV"),
            s("cats sat", "NOUN VERB"),
        ]
    }

    fn trainer(objective: Objective, vocab: &Vocab) -> TagTrainer {
        let mut net = NetConfig::new(vocab.n_words(), vocab.n_tags());
        (net.buckets, net.hidden, net.d_word, net.d_token) = (64, 8, 8, 8);
        let config = TaggerConfig {
            net,
            structured: objective.structured(),
        };
        let settings = TrainSettings {
            objective,
            word_dropout: 0.2,
            ..TrainSettings::default()
        };
        TagTrainer::new(config, settings, &Device::default()).unwrap()
    }

    fn weights(t: &TagTrainer, dir: &Path) -> Vec<u8> {
        save_model(&t.model, &dir.join("w.bpk")).unwrap();
        std::fs::read(dir.join("w.bpk")).unwrap()
    }

    /// Two steps, a save, a load into a fresh trainer, two more steps: the same weights as four
    /// steps straight, for every objective (the random stream and Adam's moments are restored).
    /// The negative control: a trainer that did not load the checkpoint ends elsewhere.
    #[test]
    fn save_then_load_continues_exactly() {
        let sents = sentences();
        let vocab = Vocab::build(&sents, 1).unwrap();
        let corpus = Corpus::new(&sents, &vocab).unwrap();
        let batch = corpus.batch(&[0, 1, 2], &vocab, 64).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        for objective in [
            Objective::Ml,
            Objective::CdFfbs,
            Objective::CdGibbs,
            Objective::Softmax,
        ] {
            let mut straight = trainer(objective, &vocab);
            let mut first = trainer(objective, &vocab);
            for _ in 0..2 {
                Learner::step(&mut straight, batch.clone()).unwrap();
                Learner::step(&mut first, batch.clone()).unwrap();
            }
            let ckpt = tmp.path().join(format!("{objective:?}"));
            first.save_to(&ckpt).unwrap();
            let mut resumed = trainer(objective, &vocab);
            let mut fresh = trainer(objective, &vocab);
            resumed.load(&ckpt).unwrap();
            assert_eq!(resumed.steps(), 2);
            for t in [&mut straight, &mut resumed, &mut fresh] {
                for _ in 0..2 {
                    Learner::step(t, batch.clone()).unwrap();
                }
            }
            let w = weights(&straight, tmp.path());
            assert!(
                w == weights(&resumed, tmp.path()),
                "{objective:?}: resumed differs"
            );
            assert!(
                w != weights(&fresh, tmp.path()),
                "{objective:?}: control matches"
            );
        }
    }

    #[test]
    fn a_missing_or_corrupt_checkpoint_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let err = TagTrainer::load_from(tmp.path(), &Device::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("state.json"), "{err}");
        std::fs::write(tmp.path().join("state.json"), b"{").unwrap();
        let err = TagTrainer::load_from(tmp.path(), &Device::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("corrupt"), "{err}");
    }

    #[test]
    fn a_divergence_is_one_for_the_loop() {
        let e = train_error(
            "step",
            TagError::Diverged {
                step: 3,
                loss: f64::NAN,
            },
        );
        assert!(e.is_divergence(), "{e}");
        assert!(!train_error("step", TagError::invalid("x", "y")).is_divergence());
    }
}
