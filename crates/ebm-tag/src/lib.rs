//! # ebm-tag
//!
//! Sequence labeling with a structured energy: part-of-speech tagging with a linear-chain energy
//!
//! ```text
//! E(x, y) = -sum_t u(x, t)[y_t] - start[y_0] - sum_t T[y_(t-1), y_t] - end[y_(n-1)]
//! ```
//!
//! over a neural unary network `u`, where `log Z(x)` is exact, so exact maximum likelihood and
//! contrastive divergence can be compared on the same model.
//!
//! - Reading treebanks: [`conllu`] (CoNLL-U, `.gz` or plain, errors with file and line).
//! - Vocabularies of words and tags: [`vocab`].
//! - Token features (word ids, hashed affixes and shape) and padded batches: [`features`].
//! - The unary network (embeddings, token layer, window of context): [`network`].
//! - The chain energy: batched forward algorithm in tensor ops, path scores, and on the host
//!   Viterbi, forward-backward marginals and forward-filtering backward-sampling: [`crf`].
//! - Block Gibbs sampling of tags given their neighbours: [`gibbs`].
//! - The tagger (network + chain) and prediction: [`tagger`].
//! - Training by exact ML, CD with FFBS or Gibbs negatives, or per-token softmax: [`train`];
//!   its checkpoints and its place in the one training loop ([`ebm_train::Learner`]):
//!   [`train_io`].
//! - The most-frequent-tag baseline: [`baseline`].
//! - Typed errors: [`error`].

pub mod baseline;
pub mod conllu;
pub mod crf;
pub mod error;
pub mod features;
pub mod gibbs;
pub mod network;
pub mod tagger;
pub mod train;
pub mod train_io;
pub mod vocab;

pub use baseline::MostFrequentTag;
pub use conllu::{Sentence, parse_conllu, read_conllu};
pub use crf::{Crf, PathIndicators, Transitions};
pub use error::TagError;
pub use features::{Batch, Corpus};
pub use network::{NetConfig, UnaryNet};
pub use tagger::{Tagger, TaggerConfig};
pub use train::{Objective, StepReport, TagTrainer, TrainSettings, load_model, save_model};
pub use vocab::Vocab;
