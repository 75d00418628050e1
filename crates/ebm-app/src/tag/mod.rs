//! `ebm tag`: part-of-speech tagging with a linear-chain energy (crate `ebm-tag`).
//!
//! - `ebm tag train` ([`train`]): trains on the train split through the one training loop,
//!   keeps the best epoch on dev, writes a run folder; `--resume` continues it exactly.
//! - `ebm tag eval` ([`eval`]): UPOS accuracy on the test split beside the most-frequent-tag
//!   baseline and, given their runs, the per-token softmax baseline and other objectives.
//! - `ebm tag [FILE]` ([`raw`]): tags raw text, one sentence a line, whitespace-tokenised
//!   (stdin without `FILE`), and prints `token/TAG` pairs.
//!
//! The run folder is described in [`run`](mod@run).

mod data;
mod eval;
mod raw;
mod run;

pub use run::{TagRunConfig, load_run};
mod train;

use anyhow::Result;
use clap::{Args, Subcommand};

/// `ebm tag`: a subcommand, or raw text to tag.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TagArgs {
    #[command(subcommand)]
    command: Option<TagCommand>,
    #[command(flatten)]
    raw: raw::RawArgs,
}

#[derive(Debug, Subcommand)]
// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
enum TagCommand {
    /// Train a tagger on the train split, keep the best epoch on dev, write a run folder.
    Train(train::TagTrainArgs),
    /// UPOS accuracy on the test split beside the baselines.
    Eval(eval::EvalArgs),
}

/// Runs `ebm tag ...`.
pub fn run(args: TagArgs) -> Result<()> {
    match args.command {
        Some(TagCommand::Train(a)) => train::train(a),
        Some(TagCommand::Eval(a)) => eval::eval(a),
        None => raw::tag_raw(args.raw),
    }
}
