//! The tagger: the unary network plus the chain scores, and prediction.
//!
//! With transitions (`structured`), tags are `argmin_y E(x, y)` by Viterbi ([`crate::crf`]).
//! Without, the same network is read as independent per-token softmaxes,
//! `p(y_t = j | x) = softmax(u(x, t))_j`, and tags are the per-token argmax: the baseline the
//! structured energy must beat.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use ebm_core::SeededRng;
use serde::{Deserialize, Serialize};

use crate::crf::{Crf, Transitions};
use crate::error::TagError;
use crate::features::{Batch, Corpus};
use crate::network::{NetConfig, UnaryNet};
use crate::vocab::Vocab;

/// What a tagger is: its network shape and whether it has transitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaggerConfig {
    /// The unary network.
    pub net: NetConfig,
    /// Whether the chain scores `T`, `start`, `end` are used (the structured energy) or not
    /// (independent per-token softmax).
    pub structured: bool,
}

/// A tagger's parameters (see the module docs).
#[derive(Module, Debug)]
pub struct Tagger {
    /// The unary network `u(x, t)`.
    pub net: UnaryNet,
    /// The chain scores (zero and unused when not structured).
    pub crf: Crf,
}

impl TaggerConfig {
    /// A fresh tagger on `device`, weights from `seed`.
    pub fn init(&self, device: &Device, seed: u64) -> Result<Tagger, TagError> {
        let mut rng = SeededRng::new(seed);
        Ok(Tagger {
            net: self.net.init(device, &mut rng)?,
            crf: Crf::new(self.net.n_tags, device).with_seeded_ids(&mut rng),
        })
    }
}

/// Copies a `[B, S, K]` tensor to the host as `f64`, one `[len_b, K]` table per sentence.
pub fn host_unary(unary: Tensor<3>, lens: &[usize]) -> Vec<Vec<f64>> {
    let [_, s, k] = unary.dims();
    let flat = unary.into_data().try_to_vec::<f32>().unwrap_or_default();
    lens.iter()
        .enumerate()
        .map(|(b, &len)| {
            flat[b * s * k..(b * s + len) * k]
                .iter()
                .map(|&v| f64::from(v))
                .collect()
        })
        .collect()
}

impl Tagger {
    /// The chain scores on the host, or zeros when not `structured`.
    pub fn transitions(&self, structured: bool) -> Transitions {
        if structured {
            self.crf.to_host()
        } else {
            Transitions::zeros(self.net.n_tags())
        }
    }

    /// The predicted tag ids of each sentence of a batch: Viterbi with the chain scores when
    /// `structured`, the per-token argmax otherwise.
    pub fn predict_batch(
        &self,
        batch: &Batch,
        device: &Device,
        structured: bool,
    ) -> Vec<Vec<usize>> {
        let tr = self.transitions(structured);
        let unary = host_unary(self.net.forward(batch, device, None), &batch.lens);
        unary.iter().map(|u| tr.viterbi(u)).collect()
    }

    /// Predicted tag ids for raw token lists, in input order (empty sentences give empty tags).
    pub fn predict(
        &self,
        forms: &[Vec<String>],
        vocab: &Vocab,
        device: &Device,
        structured: bool,
        batch_size: usize,
    ) -> Result<Vec<Vec<usize>>, TagError> {
        let mut out = vec![Vec::new(); forms.len()];
        for idx in crate::features::length_batches(forms, batch_size) {
            let refs: Vec<&[String]> = idx.iter().map(|&i| forms[i].as_slice()).collect();
            let batch = Batch::new(&refs, None, vocab, self.buckets())?;
            for (i, tags) in idx
                .iter()
                .zip(self.predict_batch(&batch, device, structured))
            {
                out[*i] = tags;
            }
        }
        Ok(out)
    }

    /// Rows of the hashed feature table.
    pub fn buckets(&self) -> usize {
        self.net.feats.dims()[0]
    }

    /// Token accuracy on a tagged corpus: `(correct, total)`.
    pub fn accuracy(
        &self,
        corpus: &Corpus,
        vocab: &Vocab,
        device: &Device,
        structured: bool,
    ) -> Result<(usize, usize), TagError> {
        let pred = self.predict(&corpus.forms, vocab, device, structured, 256)?;
        let mut correct = 0;
        for (p, g) in pred.iter().zip(&corpus.tags) {
            correct += p.iter().zip(g).filter(|(a, b)| a == b).count();
        }
        Ok((correct, corpus.n_tokens()))
    }
}
